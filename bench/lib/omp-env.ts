// Imported first by bench/harness.ts, before anything loads the addon (and with it
// libgomp, which reads its environment once, when loaded). On a shared 2-core
// machine OpenMP's default spin-waiting makes FAISS builds several times slower
// whenever another process holds a core (an HNSW build of 5k x 128 took 3 s with
// OMP_WAIT_POLICY=passive and 9 s without, same library, same load). The setting
// is inherited by every process the harness starts (binding worker, python3-faiss,
// the server), so all sides run alike; set OMP_WAIT_POLICY yourself to override.
export const ompWaitPolicyDefaulted = process.env.OMP_WAIT_POLICY === undefined;
if (ompWaitPolicyDefaulted) process.env.OMP_WAIT_POLICY = 'passive';
