// A TypeScript consumer of the package type-checks `faiss-proxy`, `faiss-proxy/client` and
// `faiss-proxy/langchain` under every module resolution it may use: node10 (`moduleResolution: node`,
// which reads no `exports` map: package.json's `typesVersions` maps the subpaths), node16 and bundler (which
// read `exports`). The consumer's own `@ts-expect-error`s fail the compile if a subpath's types came out as
// `any` (a subpath that resolved to nothing under skipLibCheck).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

const CONSUMER = `import { openCollections, IndexFlatL2 } from 'faiss-proxy';
import { connect, type ConnectOptions } from 'faiss-proxy/client';
import { FaissProxyStore, PAGE_CONTENT_KEY, type FaissProxyStoreOptions } from 'faiss-proxy/langchain';
import type { VectorStore } from '@langchain/core/vectorstores';
import { FakeEmbeddings } from '@langchain/core/utils/testing';

const options: ConnectOptions = { url: 'http://127.0.0.1:1', apiKey: 'k' };
export const client = connect(options);
// @ts-expect-error: connect takes ConnectOptions
connect(42);
const storeOptions: FaissProxyStoreOptions = { collection: 'c' };
export const store: VectorStore = new FaissProxyStore(new FakeEmbeddings(), storeOptions);
// @ts-expect-error: a query is a string
void store.similaritySearch(42);
export const key: string = PAGE_CONTENT_KEY;
export const open: typeof openCollections = openCollections;
// @ts-expect-error: an index takes a dimension
new IndexFlatL2('x');
`;

const SETTINGS: Record<string, { module: string; moduleResolution: string }> = {
  node10: { module: 'commonjs', moduleResolution: 'node' },
  node16: { module: 'node16', moduleResolution: 'node16' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
};

describe('faiss-proxy\'s types in a consumer project', function () {
  this.timeout(180_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-consumer-'));
    fs.mkdirSync(path.join(dir, 'node_modules'));
    // The package as an installed dependency (its package.json, dist/), and its optional peer.
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'faiss-proxy'), 'dir');
    fs.symlinkSync(path.join(root, 'node_modules', '@langchain'), path.join(dir, 'node_modules', '@langchain'), 'dir');
    fs.writeFileSync(path.join(dir, 'consumer.ts'), CONSUMER);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [name, settings] of Object.entries(SETTINGS)) {
    it(`type-checks faiss-proxy, faiss-proxy/client and faiss-proxy/langchain under moduleResolution ${name}`, () => {
      const config = { compilerOptions: { ...settings, target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['consumer.ts'] };
      fs.writeFileSync(path.join(dir, `tsconfig.${name}.json`), JSON.stringify(config));
      const out = spawnSync(process.execPath, [tsc, '-p', `tsconfig.${name}.json`], { cwd: dir, encoding: 'utf8' });
      assert.equal(out.status, 0, `tsc (${name}):\n${out.stdout}${out.stderr}`);
    });
  }
});
