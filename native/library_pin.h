// Keeps this addon, and the libraries it loaded, mapped for the life of the process.
//
// Node unloads an addon (dlclose) when the last environment that loaded it goes
// away: a worker thread's, when the main thread never loaded it. Threads started
// by the addon's code outlive every environment: the search lanes, and the thread
// pools of libgomp (FAISS's OpenMP) and OpenBLAS, which sleep or spin inside those
// libraries after their first parallel call. Unmapped under them, they crash the
// process at their next instruction (SIGSEGV at an address in no library:
// test/native/search-lanes.test.ts, workers terminated in a process whose main thread
// never loads the addon, with the lanes on or off).
#pragma once

namespace fp {

// Idempotent; called when the addon is loaded into an environment.
void pinLibrary();

}  // namespace fp
