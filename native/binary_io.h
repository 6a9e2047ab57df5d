// Binary index serialization, in FAISS's binary-index format (Python's
// serialize_index_binary / read_index_binary / write_index_binary), with the same
// rules as io.h: untrusted bytes are read, checked and tried in the sandbox
// process first (its --binary mode), trusted ones are read here from memory.
#pragma once

#include <faiss/IndexBinary.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fp {

// Size in bytes of the index once serialized; also our estimate of its memory use.
size_t binarySerializedSize(const faiss::IndexBinary& index);

std::unique_ptr<std::vector<uint8_t>> serializeBinary(const faiss::IndexBinary& index);

std::unique_ptr<faiss::IndexBinary> deserializeBinary(const uint8_t* data, size_t size, bool trusted);

// Writes a new file next to `path`, then renames it over `path`.
void writeBinaryFile(const faiss::IndexBinary& index, const std::string& path);

std::unique_ptr<faiss::IndexBinary> readBinaryFile(const std::string& path, bool trusted);

}  // namespace fp
