#include "binary_io.h"

#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include "alloc_guard.h"
#include "errors.h"
#include "io.h"
#include "sandbox_client.h"

namespace fp {
namespace {

std::unique_ptr<faiss::IndexBinary> readTrusted(faiss::IOReader& reader, size_t size) {
  AllocationBudget budget(readBudget(size));
  return std::unique_ptr<faiss::IndexBinary>(faiss::read_index_binary(&reader));
}

}  // namespace

size_t binarySerializedSize(const faiss::IndexBinary& index) {
  CountingWriter w;
  try {
    faiss::write_index_binary(&index, &w);
  } catch (...) {
    return 0;  // a type FAISS cannot write
  }
  return w.total;
}

std::unique_ptr<std::vector<uint8_t>> serializeBinary(const faiss::IndexBinary& index) {
  faiss::VectorIOWriter w;
  faiss::write_index_binary(&index, &w);
  return std::make_unique<std::vector<uint8_t>>(std::move(w.data));
}

std::unique_ptr<faiss::IndexBinary> deserializeBinary(const uint8_t* data, size_t size, bool trusted) {
  if (size < 4) throw ArgumentError(code::kCorruptIndex, "deserialize_index_binary: buffer too small to hold an index");
  if (!trusted) {
    const auto canonical = runSandbox({data, -1, size}, false, false, "deserialize_index_binary", /*binary=*/true);
    return deserializeBinary(canonical.data(), canonical.size(), true);
  }
  BoundedMemoryReader r(data, size);
  auto index = readTrusted(r, size);
  if (r.pos != size)
    throw ArgumentError(code::kCorruptIndex, "deserialize_index_binary: " + std::to_string(size - r.pos) +
                                                 " trailing bytes after the index");
  return index;
}

void writeBinaryFile(const faiss::IndexBinary& index, const std::string& path) {
  writeFileAtomically(path, [&](faiss::IOWriter& writer) { faiss::write_index_binary(&index, &writer); });
}

std::unique_ptr<faiss::IndexBinary> readBinaryFile(const std::string& path, bool trusted) {
  if (!trusted) {
    const auto canonical = sandboxedFile(path, "read_index_binary", /*binary=*/true);
    return deserializeBinary(canonical.data(), canonical.size(), true);
  }
  const size_t size = requireReadableFile(path);
  faiss::FileIOReader reader(path.c_str());
  return readTrusted(reader, size);
}

}  // namespace fp
