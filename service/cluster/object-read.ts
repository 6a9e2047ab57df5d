// Reading a whole object from the cluster's object store, bounded. @nats-io/obj's
// getBlob reads an object's metadata, then consumes its chunks until the last;
// an object deleted between the two (its metadata marked deleted, its chunks
// purged: ObjectStore.delete) leaves that consumer with nothing to deliver, and
// the idle heartbeats keep it alive: the read never ends. A replica loading an
// import whose file a shared snapshot had just made unneeded hung there, and so
// did every request waiting for that load (cluster/import's "a node killed
// before an import catches up when restarted" ran past its timeout).
import type { ObjectStore } from '@nats-io/obj';

/** How long a read may go without a chunk before the object is looked at again. */
export const OBJECT_STALL_MS = 10_000;

/**
 * The object's bytes; null when there is none, or it was deleted while read.
 * A read that stalls while the object is still there fails (an Error).
 */
export async function readObject(store: ObjectStore, name: string, stallMs = OBJECT_STALL_MS): Promise<Uint8Array | null> {
  const r = await store.get(name);
  if (r === null) return null;
  const reader = r.data.getReader();
  const chunks: Uint8Array[] = [];
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), stallMs)));
    const next = await Promise.race([reader.read(), stalled]).finally(() => clearTimeout(timer));
    if (next === 'stalled') {
      await reader.cancel().catch(() => undefined); // stops its consumer
      const info = await store.info(name);
      if (info === null || info.deleted) return null;
      throw new Error(`reading ${name} from the object store stalled (no chunk within ${stallMs} ms)`);
    }
    if (next.done) break;
    chunks.push(next.value);
  }
  const error = await r.error;
  if (error) throw error;
  return Buffer.concat(chunks);
}
