// /docs: the OpenAPI document (/v1/openapi.json) rendered by Swagger UI, from
// the swagger-ui-dist package's files (no CDN: the service works air-gapped),
// under a strict Content-Security-Policy: only this origin's scripts, styles and
// requests, no inline script, no framing.
import * as path from 'node:path';
import express from 'express';

const PAGE = path.resolve(__dirname, '..', '..', '..', 'service', 'docs-page');
const SWAGGER_UI = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/**
 * img-src data: for the icons swagger-ui.css embeds; style attributes that
 * Swagger UI sets from script (CSSOM) are not inline styles to CSP.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The files the page needs, and nothing else of the package (its index.html would load a petstore). */
const FILES: Record<string, string> = {
  '/': path.join(PAGE, 'index.html'),
  '/init.js': path.join(PAGE, 'init.js'),
  '/vendor/swagger-ui-bundle.js': path.join(SWAGGER_UI, 'swagger-ui-bundle.js'),
  '/vendor/swagger-ui.css': path.join(SWAGGER_UI, 'swagger-ui.css'),
};

export function docsPage(): express.Router {
  const router = express.Router({ strict: true });
  for (const [route, file] of Object.entries(FILES)) {
    router.get(route, (_req, res, next) => {
      res.setHeader('Content-Security-Policy', DOCS_CSP);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.sendFile(file, { maxAge: route.startsWith('/vendor/') ? 3_600_000 : 0 }, (e) => e && next(e));
    });
  }
  return router;
}
