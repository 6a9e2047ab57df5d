// Preloaded into a server under test (node -r <this file>) by bench/request-alloc.ts:
// V8's sampling heap profiler, counting every sampled allocation, also of objects
// the garbage collector has since freed, between two SIGUSR2s; the second writes
// the profile to $FAISS_PROXY_HEAP_SAMPLES. Allocation per request, unlike CPU time,
// does not move with the machine's load.
import * as fs from 'node:fs';
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
let sampling = false;
process.on('SIGUSR2', () => {
  if (!sampling) {
    sampling = true;
    session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as object);
    return;
  }
  sampling = false;
  session.post('HeapProfiler.stopSampling', (err, r) => {
    if (err) return;
    // Written whole, then renamed: the bench reads the file as soon as it appears.
    const file = process.env.FAISS_PROXY_HEAP_SAMPLES!;
    fs.writeFileSync(`${file}.partial`, JSON.stringify(r.profile));
    fs.renameSync(`${file}.partial`, file);
  });
});
