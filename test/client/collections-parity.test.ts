// The same bad call gives the same FaissError code from the embedded collections
// (openCollections()) and the remote client (connect()), or succeeds on both: a
// table of calls the contract suite does not make, run on both side by side.
// (The remote half alone, without the native addon: no-addon.test.ts.)
/* eslint-disable @typescript-eslint/no-explicit-any */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { connect } from '../../lib/client';
import type { CollectionsApi } from '../../lib/collections/types';
import { makeTenant, startServer, type ServerProcess } from '../support/server';

type Call = (db: any) => Promise<unknown>;

const cases: [string, Call][] = [
  ['a handle on a name with a slash', (db) => db.collection('a/b').info()],
  ['a handle on an empty name', (db) => db.collection('').count()],
  ['a handle on a name of 65 characters', (db) => db.collection('x'.repeat(65)).info()],
  ['a handle on a number', (db) => db.collection(5).info()],
  ['a collection named with a space', (db) => db.createCollection({ name: 'a b', dimension: 2 })],
  ['a dimension given as a string', (db) => db.createCollection({ name: 'dimstr', dimension: '2' })],
  ['a spec with an unknown key', (db) => db.createCollection({ name: 'extra', dimension: 2, replicas: 2 })],
  ['an alias with a slash', (db) => db.createAlias('a/b', 'base')],
  ['an alias of a collection named with a space', (db) => db.createAlias('ok-alias', 'a b')],
  ['switching an alias named with a slash', (db) => db.switchAlias('a/b', 'base')],
  ['switching an alias to a name with a space', (db) => db.switchAlias('base-alias', 'a b')],
  ['deleting an alias named with a space', (db) => db.deleteAlias('a b')],
  ['deleting a collection named with a space', (db) => db.deleteCollection('a b')],
  ['an upsert of no points', (db) => db.collection('base').upsert([])],
  ['get of no ids', (db) => db.collection('base').get([])],
  ['get of a string instead of ids', (db) => db.collection('base').get('p1')],
  ['a search option that does not exist', (db) => db.collection('base').search([0, 0], 1, { limit: 3 })],
  ['withPayload as a string', (db) => db.collection('base').search([0, 0], 1, { withPayload: 'yes' })],
  ['count with an unknown option', (db) => db.collection('base').count({ filter: {}, where: 1 })],
  ['scroll from a numeric offset', (db) => db.collection('base').scroll({ offset: 5 })],
  ['a search vector with NaN', (db) => db.collection('base').search([NaN, 0], 1)],
  ['searchBatch of no vectors', (db) => db.collection('base').searchBatch([], 1)],
  ['searchBatch of 3 floats at dimension 2', (db) => db.collection('base').searchBatch(new Float32Array(3), 1)],
  ['k of 2^21', (db) => db.collection('base').search([0, 0], 2 ** 21)],
  ['nprobe on a flat collection', (db) => db.collection('base').search([0, 0], 1, { nprobe: 2 })],
  ['deleting a payload index that is not there', (db) => db.collection('base').deletePayloadIndex('nope')],
  ['upsert options that are a number', (db) => db.collection('base').upsert([{ id: 'p9', vector: [0, 0] }], 5)],
];

/** The call's outcome as the two sides must agree on it: its error code, or 'ok'. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (e) {
    const err = e as { name?: string; code?: string; message?: string };
    assert.equal(err.name, 'FaissError', `a FaissError, not ${String(e)}`);
    return `${err.code}`;
  }
}

describe('client: collections, embedded and remote give the same codes', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  let remote: CollectionsApi;
  let embedded: CollectionsApi & { close(): Promise<void> };

  before(async () => {
    s = await startServer();
    remote = connect({ url: s.url, apiKey: (await makeTenant(s, 'parity')).write });
    // Loaded here: the rest of the client tests run without the native addon.
    embedded = await (require('../../lib') as typeof import('../../lib')).openCollections(); // eslint-disable-line @typescript-eslint/no-require-imports
    for (const db of [remote, embedded]) {
      const base = await db.createCollection({ name: 'base', dimension: 2 });
      await base.upsert([{ id: 'p1', vector: [1, 0] }]);
      await db.createAlias('base-alias', 'base');
    }
  });
  after(async () => {
    await embedded?.close();
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  for (const [name, call] of cases) {
    it(name, async () => {
      const [e, r] = [await outcome(() => call(embedded)), await outcome(() => call(remote))];
      assert.equal(r, e, `embedded: ${e}, remote: ${r}`);
    });
  }
});
