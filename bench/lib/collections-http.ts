// The HTTP column of bench:collections (bench/collections.ts): the same points
// in a collection of a real faiss-proxy server, filled and searched through the
// remote client (lib/client: JSON over HTTP, one request per query), so its rows
// are the in-process rows plus the service (routing, auth, JSON, the domain).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '../../lib/client';
import type { Collection, Payload } from '../../lib/collections/types';
import { call, startBenchServer, type BenchServer } from './server';

export interface HttpCollection {
  collection: Collection;
  server: BenchServer;
  close(): Promise<void>;
}

/** A server with one collection holding the points p0..p(n-1) of `xb` (d floats each) with their payloads. */
export async function httpCollection(
  spec: { name: string; dimension: number; factory: string; payloadIndexes: Record<string, 'integer'> },
  xb: Float32Array,
  payloads: Payload[],
  train: Float32Array,
  batch: number,
): Promise<HttpCollection> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-collections-http-'));
  // IVF's training set (50,000 vectors of d 128) is about 80 MB of JSON in one request: over the default body limit.
  const server = await startBenchServer(path.join(tmp, 'data'), ['--fsync', 'false', '--log-level', 'warn', '--body-limit', String(256 * 1024 * 1024)]);
  try {
    await call(`${server.url}/v1/admin/tenants`, 'POST', server.adminKey, { name: 'bench' });
    const key = (await call(`${server.url}/v1/admin/tenants/bench/keys`, 'POST', server.adminKey, { role: 'write' })).key as string;
    const db = connect({ url: server.url, apiKey: key });
    const collection = await db.createCollection(spec);
    if (!(await collection.info()).isTrained) await collection.train(train);
    const d = spec.dimension;
    // Upserts of `batch` points (bench/collections.ts FILL_BATCH: the in-process collection's adds).
    for (let i = 0; i < payloads.length; i += batch) {
      const end = Math.min(payloads.length, i + batch);
      const points = Array.from({ length: end - i }, (_, j) => ({ id: `p${i + j}`, vector: xb.subarray((i + j) * d, (i + j + 1) * d), payload: payloads[i + j] }));
      await collection.upsert(points);
    }
    return {
      collection,
      server,
      close: async () => {
        await server.stop();
        fs.rmSync(tmp, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
