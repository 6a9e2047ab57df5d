// Importing an index opens its log once, and deleting it closes everything it
// opened: before the fix, every import of a new index leaked one log file handle
// (closed only when the garbage collector found it).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { IndexFlatL2, serializeIndex } from '../../lib';
import { randomVectors } from '../support/data';
import { openTestServices, type TestServices } from '../support/services';

const openFiles = (): number => fs.readdirSync('/proc/self/fd').length;

describe('importing indexes: file handles', function () {
  this.timeout(60_000);
  let s: TestServices;
  afterEach(async () => s.cleanup());

  it('importing then deleting 20 new indexes leaves no file open', async () => {
    s = await openTestServices();
    const source = new IndexFlatL2(8);
    await source.add(randomVectors(100, 8, 1));
    const bytes = await serializeIndex(source);
    source.dispose();
    // One round first, so that whatever the services open once (catalog, directories) is open.
    await s.indexes.importIndex('t', 'warm', bytes);
    await s.indexes.delete('t', 'warm');
    const before = openFiles();
    for (let i = 0; i < 20; i++) {
      await s.indexes.importIndex('t', `i${i}`, bytes);
      await s.indexes.delete('t', `i${i}`);
    }
    // Handles close asynchronously after a delete.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(openFiles(), before);
  });
});
