// Collections as operators see them: the admin overview (the dashboard's data)
// lists them with their aliases, and /metrics has their series and the
// durations of their operations (docs/operations.md).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaults } from '../../../service/config';
import { Metrics } from '../../../service/observability/metrics';
import { openServices, type Services } from '../../../service/server';
import { randomVectors } from '../../support/data';
import { client, startServer } from '../../support/server';

/** A data directory holding tenant "docs-team" with collection "kb" (2 points with payloads) and alias "kb-live". */
async function seed(dataDir: string, hooks: Parameters<typeof openServices>[1] = {}): Promise<Services> {
  const s = openServices({ ...defaults(), dataDir }, hooks);
  await s.indexes.open();
  await s.collections.open();
  s.tenants.create('docs-team');
  await s.collections.create('docs-team', { name: 'kb', dimension: 8 });
  await s.collections.upsert('docs-team', 'kb', { ids: ['a', 'b'], x: randomVectors(2, 8, 1), payloads: [{ source: 'faq' }, { source: 'wiki', tags: ['x'] }] });
  await s.collections.createAlias('docs-team', 'kb-live', 'kb');
  return s;
}

describe('service: collections in the admin overview and the metrics', function () {
  this.timeout(60_000);

  it('the overview lists each collection with its aliases, points and payload bytes; /metrics has its series', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-test-'));
    const seeded = await seed(dataDir);
    await seeded.indexes.close();
    seeded.catalog.close();
    const s = await startServer({ dataDir });
    try {
      const api = client(s.url, s.adminKey);
      const overview = await api.get('/v1/admin/overview');
      assert.equal(overview.status, 200);
      const [kb] = overview.json.collections;
      assert.equal(overview.json.collections.length, 1);
      assert.equal(kb.tenant, 'docs-team');
      assert.equal(kb.name, 'kb');
      assert.deepEqual(kb.aliases, ['kb-live']);
      assert.equal(kb.points, 2);
      assert.equal(kb.dimension, 8);
      assert.ok(kb.payloadBytes > 20 && kb.bytes > kb.payloadBytes, JSON.stringify(kb));
      assert.deepEqual(overview.json.indexes, []);
      const metrics = (await api.get('/metrics')).bytes.toString();
      assert.match(metrics, /faiss_proxy_collection_points\{tenant="docs-team",collection="kb"\} 2/);
      assert.match(metrics, /faiss_proxy_collection_loaded\{tenant="docs-team",collection="kb"\} 0/);
      assert.match(metrics, new RegExp(`faiss_proxy_collection_payload_bytes\\{tenant="docs-team",collection="kb"\\} ${kb.payloadBytes}`));
      assert.match(metrics, /faiss_proxy_collections 1/);
    } finally {
      await s.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("a collection's FAISS operations are timed as collection_<op>", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-test-'));
    const metrics = new Metrics({ maxTenants: 10, maxIndexSeries: 10 });
    const s = await seed(dataDir, { observer: metrics.observer });
    try {
      await s.collections.search('docs-team', 'kb-live', randomVectors(1, 8, 2), 1, 2, { withPayload: true, withVector: false });
      const text = await metrics.registry.metrics();
      for (const op of ['collection_upsert', 'collection_search']) {
        assert.match(text, new RegExp(`faiss_proxy_faiss_operation_duration_seconds_count\\{operation="${op}",index_type="IndexIDMap2"\\} 1`));
      }
    } finally {
      await s.indexes.close();
      s.catalog.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
