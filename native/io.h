// Index serialization: to and from memory (Buffers) and files, through FAISS's own
// reader and writer so files are interchangeable with Python faiss.
#pragma once

#include <faiss/Index.h>
#include <faiss/impl/io.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fp {

// Size in bytes of the index once serialized; also our estimate of its memory use.
// For a GPU index (device_index.h), what its data takes in device memory.
size_t serializedSize(const faiss::Index& index);

// A GPU index is written as its standard CPU copy (index_gpu_to_cpu), as is writeFile's.
std::unique_ptr<std::vector<uint8_t>> serialize(const faiss::Index& index);

// Untrusted bytes (`trusted` false) are read, checked and exercised in the sandbox
// process first (sandbox_client.h), and what it gives back is read here; trusted
// ones are read here directly, from memory without copying them. Throws on
// truncated, corrupt or crafted data.
std::unique_ptr<faiss::Index> deserialize(const uint8_t* data, size_t size, bool trusted);

// Writes a new file next to `path`, then renames it over `path`.
void writeFile(const faiss::Index& index, const std::string& path);

// `mmap` asks FAISS to map inverted lists from the file instead of reading them
// (IO_FLAG_MMAP, which FAISS 1.7.3 applies to IVF indexes only). Untrusted and
// mapped: the sandbox checks the file, then it is mapped here and its structure
// checked again (validate.h), without reading the lists.
std::unique_ptr<faiss::Index> readFile(const std::string& path, bool mmap, bool trusted);

// Shared with the binary indexes' reading and writing (binary_io.h):

// Reads straight out of the caller's memory and never past its end, so a
// truncated buffer becomes a FAISS read error instead of an out-of-bounds read.
struct BoundedMemoryReader : faiss::IOReader {
  const uint8_t* data;
  size_t size;
  size_t pos = 0;
  BoundedMemoryReader(const uint8_t* d, size_t s) : data(d), size(s) {}
  size_t operator()(void* ptr, size_t itemSize, size_t nitems) override;
};

// Counts the bytes a writer is given: an index's serialized size, nothing written.
struct CountingWriter : faiss::IOWriter {
  size_t total = 0;
  size_t operator()(const void*, size_t size, size_t nitems) override {
    total += size * nitems;
    return nitems;
  }
};

// A regular file's size; ERR_NOT_FOUND / ERR_IO otherwise.
size_t requireReadableFile(const std::string& path);

// An untrusted index file, opened once and read, checked and exercised by the
// sandbox process (sandbox_client.h; `binary`: FAISS's binary-index format): what
// it gives back, the index in canonical form, to read here as trusted bytes.
std::vector<uint8_t> sandboxedFile(const std::string& path, const std::string& context, bool binary);

// Writes a new file next to `path` with `write`, flushes it to disk, and renames
// it over `path`; ERR_IO (nothing left behind) when any step fails.
void writeFileAtomically(const std::string& path, const std::function<void(faiss::IOWriter&)>& write);

}  // namespace fp
