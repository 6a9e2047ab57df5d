// /docs: the OpenAPI document (/v1/openapi.json) rendered by Swagger UI, from
// the swagger-ui-dist package's files (no CDN: the service works air-gapped),
// under the dashboard's Content-Security-Policy (app.ts): only this origin's
// scripts, styles and requests, no inline script, no framing. The style
// attributes Swagger UI sets from script (CSSOM) are not inline styles to CSP;
// swagger-ui.css's icons are data: URLs, which the policy allows as images.
import * as path from 'node:path';
import express from 'express';

const PAGE = path.resolve(__dirname, '..', '..', '..', 'service', 'docs-page');
const SWAGGER_UI = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/** The files the page needs, and nothing else of the package (its index.html would load a petstore). */
const FILES: Record<string, string> = {
  '/': path.join(PAGE, 'index.html'),
  '/init.js': path.join(PAGE, 'init.js'),
  '/vendor/swagger-ui-bundle.js': path.join(SWAGGER_UI, 'swagger-ui-bundle.js'),
  '/vendor/swagger-ui.css': path.join(SWAGGER_UI, 'swagger-ui.css'),
};

/** The page's files, each with `csp` as its Content-Security-Policy. */
export function docsPage(csp: string): express.Router {
  const router = express.Router({ strict: true });
  for (const [route, file] of Object.entries(FILES)) {
    router.get(route, (_req, res, next) => {
      res.setHeader('Content-Security-Policy', csp);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.sendFile(file, { maxAge: route.startsWith('/vendor/') ? 3_600_000 : 0 }, (e) => e && next(e));
    });
  }
  return router;
}
