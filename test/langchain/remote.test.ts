// FaissProxyStore against a real faiss-proxy server: the same behaviours as
// embedded, and the tenant's roles (a read key searches, and cannot add).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { Document } from '@langchain/core/documents';
import { FaissProxyStore } from '../../lib/langchain';
import { makeTenant, startServer, type ServerProcess } from '../support/server';
import { storeSuite } from './store-suite';
import { chunks, HashEmbeddings, nearest } from './support';

describe('FaissProxyStore remote', function () {
  this.timeout(120_000);
  let server: ServerProcess;
  let keys: { admin: string; write: string; read: string };

  before(async () => {
    server = await startServer();
    keys = await makeTenant(server, 'langchain');
  });
  after(async () => {
    await server?.stop();
    if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  storeSuite(() => ({ options: (collection) => ({ collection, url: server.url, apiKey: keys.write }), shared: true }));

  it('a read key retrieves with a filter, and cannot add', async () => {
    const docs = await chunks();
    const writer = await FaissProxyStore.fromDocuments(docs, new HashEmbeddings(), { collection: 'roles', url: server.url, apiKey: keys.write });
    await writer.close();
    const reader = await FaissProxyStore.fromExistingCollection(new HashEmbeddings(), { collection: 'roles', url: server.url, apiKey: keys.read });
    const filter = { must: [{ key: 'source', match: { value: 'wiki' } }] };
    const got = await reader.asRetriever({ k: 2, filter }).invoke('the capital of Germany');
    assert.deepEqual(got.map((d) => d.pageContent), nearest(docs, 'the capital of Germany', 2, (d) => d.metadata.source === 'wiki').map((w) => w.text));
    await assert.rejects(reader.addDocuments([new Document({ pageContent: 'no' })]), (e: { code?: string }) => e.code === 'ERR_FORBIDDEN');
  });
});
