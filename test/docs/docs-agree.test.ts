// The docs say what is: what README.md and docs/*.md name that the code defines
// is checked against the code, so that a renamed option, route, code, script,
// file or heading fails here rather than misleading a reader. Each check reads
// the Markdown as a newcomer would (tables, `code`, links), outside fenced blocks
// only where a fence would hold something else (shell sessions, JSON).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorCodes } from '../../lib/errors';
import { allCommands, buildProgram } from '../../service/cli/program';
import { defaults, OPTIONS } from '../../service/config';
import { allRoutes } from '../../service/http/app';
import { STATUS } from '../../service/http/errors';
import { Activity } from '../../service/observability/activity';
import { createLogger } from '../../service/observability/logger';
import { Metrics } from '../../service/observability/metrics';
import { openServices } from '../../service/server';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DOCS = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const text = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
/** Every match of `re` (global) in every doc, with the file and line it is on. */
function found(re: RegExp): { file: string; line: number; m: RegExpMatchArray }[] {
  return DOCS.flatMap((file) =>
    text(file)
      .split('\n')
      .flatMap((line, i) => [...line.matchAll(re)].map((m) => ({ file, line: i + 1, m }))),
  );
}
const where = (f: { file: string; line: number }) => `${f.file}:${f.line}`;

/** The source files a name may be defined in (the service's, the library's, the scripts'). */
function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|js|cc|h|sh|py)$/.test(e.name) ? [fs.readFileSync(path.join(ROOT, p), 'utf8')] : [];
  });
}

describe('docs agree with the code', function () {
  this.timeout(30_000);

  it('every option row (flag, variable, default) is an option of serve with that variable and default; every option has a row', () => {
    const rows = found(/^\| `(--[a-z0-9-]+)[^`]*` \| `(FAISS_PROXY_[A-Z0-9_]+)` \| ([^|]*) \|/g);
    assert.ok(rows.length >= OPTIONS.length, `${rows.length} option rows`);
    for (const r of rows) {
      const [, flag, env, cell] = r.m;
      const o = OPTIONS.find((x) => x.flag === flag);
      assert.ok(o, `${where(r)}: ${flag} is no option of serve`);
      assert.equal(env, o.env, `${where(r)}: ${flag}'s variable`);
      // A default written as a literal (`8080`, `./data`, 3) is the option's; prose ("none", "cores") is not checked.
      const literal = /^`([^`]+)`/.exec(cell.trim())?.[1] ?? /^(\d+)$/.exec(cell.trim())?.[1];
      if (literal === undefined) continue;
      const value = o.defaultHelp?.split(' ')[0] ?? String(typeof o.default === 'function' ? o.default() : o.default);
      assert.equal(literal, value, `${where(r)}: ${flag}'s default`);
    }
    for (const o of OPTIONS) assert.ok(rows.some((r) => r.m[1] === o.flag), `${o.flag} has no row in the docs`);
  });

  it('every FAISS_PROXY_ variable named is read by the code', () => {
    const code = [...sources('service'), ...sources('lib'), ...sources('scripts'), ...sources('bench'), ...sources('test')].join('\n');
    for (const f of found(/\bFAISS_PROXY_[A-Z0-9_]+\b/g)) {
      const name = f.m[0];
      assert.ok(OPTIONS.some((o) => o.env === name) || code.includes(name), `${where(f)}: ${name} is read nowhere`);
    }
  });

  it('every error code named exists, and an HTTP status given with it is the one the service answers', () => {
    const code = [...sources('service'), ...sources('lib')].join('\n');
    for (const f of found(/\bERR_[A-Z0-9_]+\b/g)) {
      const name = f.m[0];
      assert.ok((ErrorCodes as readonly string[]).includes(name) || code.includes(`'${name}'`), `${where(f)}: ${name} is raised nowhere`);
    }
    // "404 ERR_X", "| 404 | `ERR_X` |": the status of the code's answer.
    for (const f of found(/\b([1-5]\d\d)(?: \| )?`? ?(ERR_[A-Z0-9_]+)/g)) {
      const [, status, name] = f.m;
      if (STATUS[name] !== undefined) assert.equal(Number(status), STATUS[name], `${where(f)}: the status of ${name}`);
    }
  });

  describe('routes', () => {
    let routes: Set<string>;
    const key = (method: string, p: string) => `${method.toUpperCase()} ${p.replace(/\{[^}]+\}|:[A-Za-z]+/g, '{}').replace(/\/$/, '')}`;

    before(() => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-docs-'));
      const config = { ...defaults(), dataDir, fsync: false };
      const services = openServices(config);
      try {
        const observability = { logger: createLogger('silent'), metrics: new Metrics({ maxTenants: 1, maxIndexSeries: 1 }), activity: new Activity() };
        routes = new Set(allRoutes({ config, ...services, isReady: () => true, version: 'docs', observability }).map((r) => key(r.method, r.path)));
      } finally {
        services.catalog.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('every route named (GET /v1/indexes/{name}, a table row) is served', () => {
      // The static pages: served by the app's static handler, not a route of the table.
      const pages = new Set(['GET /dashboard', 'GET /docs']);
      const named = [
        ...found(/\b(GET|POST|PUT|PATCH|DELETE) (\/[A-Za-z0-9_{}/.:-]*[A-Za-z0-9_}/])/g),
        ...found(/^\| (GET|POST|PUT|PATCH|DELETE) \| `(\/[^`]+)` \|/g),
      ];
      assert.ok(named.length > 40, `${named.length} routes named`);
      for (const f of named) {
        const k = key(f.m[1], f.m[2]);
        assert.ok(routes.has(k) || pages.has(k), `${where(f)}: ${f.m[1]} ${f.m[2]} is no route`);
      }
    });

    it('every route is in docs/http-api.md', () => {
      const doc = text('docs/http-api.md');
      const named = new Set(
        [...doc.matchAll(/\b(GET|POST|PUT|PATCH|DELETE) `?(\/[A-Za-z0-9_{}/.:-]*[A-Za-z0-9_}/])/g), ...doc.matchAll(/^\| (GET|POST|PUT|PATCH|DELETE) \| `(\/[^`]+)` \|/gm)].map((m) => key(m[1], m[2])),
      );
      for (const r of routes) assert.ok(named.has(r), `${r} is not in docs/http-api.md`);
    });
  });

  it('every `npm run` script named is one of package.json', () => {
    const scripts = JSON.parse(text('package.json')).scripts as Record<string, string>;
    for (const f of found(/\bnpm run ([a-z0-9:_-]+)/g)) assert.ok(f.m[1] in scripts, `${where(f)}: npm run ${f.m[1]} is no script`);
  });

  it('every faiss-proxy command named in a command line is one of the CLI', () => {
    const commands = new Set(
      allCommands(buildProgram()).map((c) => {
        const names: string[] = [];
        for (let x = c; x.parent; x = x.parent) names.unshift(x.name());
        return names.join(' ');
      }),
    );
    commands.add('help'); // commander's own
    // `faiss-proxy serve --port 0`, `$ faiss-proxy keys create acme read`: the words after it, in code
    for (const f of found(/`(?:\$ )?(?:[A-Z_]+=\S+ )*faiss-proxy ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?/g)) {
      const [, one, two] = f.m;
      assert.ok(commands.has(one) || commands.has(`${one} ${two}`), `${where(f)}: faiss-proxy ${one} is no command`);
    }
  });

  it('every file or folder of this repository named exists', () => {
    // Made by a command, not kept in git: the bench's JSON and the tests' screenshots.
    const made = ['bench/results/', 'test-artifacts/'];
    const named = found(/`((?:\.ci|bench|clients|docs|lib|native|scripts|service|test)\/[A-Za-z0-9_./-]*)`/g).filter((f) => !made.some((m) => f.m[1].startsWith(m)));
    assert.ok(named.length > 50, `${named.length} paths named`);
    for (const f of named) assert.ok(fs.existsSync(path.join(ROOT, f.m[1])), `${where(f)}: ${f.m[1]} does not exist`);
  });

  it('every link to a file of the repository and its heading resolves', () => {
    // GitHub's anchor of a heading: lower case, punctuation dropped but - and _, a space a -; repeats get -1, -2.
    const cache = new Map<string, Set<string>>();
    const anchors = (file: string): Set<string> => {
      if (cache.has(file)) return cache.get(file)!;
      const out = new Set<string>();
      cache.set(file, out);
      const seen = new Map<string, number>();
      let fence = false;
      for (const line of text(file).split('\n')) {
        if (/^```/.test(line)) fence = !fence;
        const h = fence ? null : /^#{1,6} (.*)$/.exec(line);
        if (!h) continue;
        const slug = h[1].trim().toLowerCase().replace(/\\/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
        const n = seen.get(slug) ?? 0;
        seen.set(slug, n + 1);
        out.add(n ? `${slug}-${n}` : slug);
      }
      return out;
    };
    const links = found(/\]\(([^)\s#]*)(?:#([^)\s]+))?\)/g).filter((f) => !/^[a-z]+:/.test(f.m[1]));
    assert.ok(links.length > 50, `${links.length} links`);
    for (const f of links) {
      const [, target, anchor] = f.m;
      const file = target ? path.posix.normalize(path.posix.join(path.posix.dirname(f.file), target)) : f.file;
      assert.ok(fs.existsSync(path.join(ROOT, file)), `${where(f)}: ${target} does not exist`);
      if (anchor && file.endsWith('.md')) assert.ok(anchors(file).has(decodeURIComponent(anchor)), `${where(f)}: ${file} has no heading #${anchor}`);
    }
  });
});
