// The environment this benchmark was started with, before the library adjusted it
// (lib/native.ts sets OPENBLAS_THREAD_TIMEOUT when it loads). Import it before
// '../lib' so the snapshot is taken first: comparison processes (python3-faiss)
// then run with their own defaults, not with ours.
export const callerEnv: NodeJS.ProcessEnv = { ...process.env };
