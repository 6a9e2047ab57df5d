// Runs native/sandbox (the faiss-proxy-sandbox executable, built next to the addon)
// on untrusted index bytes, from a worker thread: the bytes are read, checked and
// exercised in that process, so a file that crashes FAISS's reader only ends the
// sandbox. Its verdict comes back as the canonical bytes of the index, or as an
// ArgumentError: ERR_CORRUPT_INDEX (refused, crashed, ran out of time or memory),
// ERR_UNSUPPORTED (a type the checks do not cover), ERR_IO (no sandbox to run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fp {

struct SandboxInput {
  // Either bytes in memory, or an open file descriptor of a regular file
  // (read from offset 0; for --mmap the sandbox maps it, as the addon then will).
  const uint8_t* data = nullptr;
  int fd = -1;
  size_t size = 0;
};

// `context` names the operation in messages ("read_index", "deserialize_index").
// Returns the canonical bytes, or nothing when `checkOnly` (the memory-mapped path).
// `binary`: the bytes hold a binary index (faiss::read_index_binary's format).
std::vector<uint8_t> runSandbox(const SandboxInput& input, bool mmap, bool checkOnly, const std::string& context,
                                bool binary = false);

}  // namespace fp
