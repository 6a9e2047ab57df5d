// A search with no row to answer, over HTTP and through the remote client: label
// -1 and the fill distance at every k, also at k = 1, where FAISS 1.7.3's own L2
// search over flat vectors answers +inf and label 0 (lib/id-policy.ts
// searchVisible; test/embedded/visible-no-result has the python3-faiss oracle).
// Label 0 (or an IDMap's first id) would be a removed vector or one the filter left
// out, and JSON wrote the +inf as null.
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';
import { connect } from '../../lib/client';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';

const D = 4;
const FLT_MAX = 3.4028234663852886e38;
const vectors = [
  [0, 0, 0, 0],
  [1, 1, 1, 1],
  [2, 2, 2, 2],
  [3, 3, 3, 3],
  [4, 4, 4, 4],
];

describe('service: a search with no row to answer', function () {
  this.timeout(60_000);
  let server: ServerProcess;
  let keys: { admin: string; write: string; read: string };
  before(async () => {
    server = await startServer();
    keys = await makeTenant(server, 'none');
  });
  after(async () => {
    await server?.stop();
  });

  for (const [name, spec, ids] of [
    ['flat', { type: 'IndexFlatL2' }, undefined],
    ['idmap', { factory: 'IDMap2,Flat' }, [10, 11, 12, 13, 14]],
  ] as const) {
    it(`${name}: a filter nothing passes, then every id removed: label -1 at FLT_MAX for k = 1 and 2, over JSON and the remote client`, async () => {
      const api = client(server.url, keys.write);
      assert.equal((await api.post('/v1/indexes', { name, dimension: D, ...spec })).status, 201);
      const added = await api.post(`/v1/indexes/${name}/add`, { vectors, ...(ids && { ids }) });
      assert.equal(added.status, 200, JSON.stringify(added.json));
      const remote = await connect({ url: server.url, apiKey: keys.write }).openIndex(name);
      const none = (k: number) => ({ distances: Array.from({ length: 2 }, () => Array(k).fill(FLT_MAX)), labels: Array.from({ length: 2 }, () => Array(k).fill(-1)) });
      const check = async (what: string, filter?: unknown) => {
        for (const k of [1, 2]) {
          const found = await api.post(`/v1/indexes/${name}/search`, { vectors: [vectors[1], vectors[3]], k, ...(filter !== undefined && { filter }) });
          assert.equal(found.status, 200, JSON.stringify(found.json));
          assert.deepEqual(found.json, none(k), `${what}, JSON, k=${k}`);
          const params = filter !== undefined ? { sel: new faiss.IDSelectorRange(1000, 2000) } : undefined;
          const r = await remote.search([vectors[1], vectors[3]], k, params);
          assert.deepEqual({ distances: Array.from(r.distances), labels: Array.from(r.labels, Number) }, { distances: Array(2 * k).fill(FLT_MAX), labels: Array(2 * k).fill(-1) }, `${what}, remote, k=${k}`);
        }
      };
      await check('a filter nothing passes', { idRange: [1000, 2000] });
      const removed = await api.post(`/v1/indexes/${name}/remove`, { ids: ids ?? [0, 1, 2, 3, 4] });
      assert.equal(removed.json.removed, 5);
      await check('every id removed');
    });
  }
});
