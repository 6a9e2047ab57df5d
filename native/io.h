// Index serialization: to and from memory (Buffers) and files, through FAISS's own
// reader and writer so files are interchangeable with Python faiss.
#pragma once

#include <faiss/Index.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fp {

// Size in bytes of the index once serialized; also our estimate of its memory use.
size_t serializedSize(const faiss::Index& index);

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

}  // namespace fp
