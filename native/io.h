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

// Reads from memory without copying it first; throws on truncated or corrupt data.
std::unique_ptr<faiss::Index> deserialize(const uint8_t* data, size_t size);

void writeFile(const faiss::Index& index, const std::string& path);

// `mmap` asks FAISS to map inverted lists from the file instead of reading them
// (IO_FLAG_MMAP, which FAISS 1.7.3 applies to IVF indexes only).
std::unique_ptr<faiss::Index> readFile(const std::string& path, bool mmap);

}  // namespace fp
