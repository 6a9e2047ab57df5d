#include "io.h"

#include <faiss/impl/FaissAssert.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "alloc_guard.h"
#include "errors.h"
#include "idmap2_guard.h"

namespace fp {
namespace {

struct CountingWriter : faiss::IOWriter {
  size_t total = 0;
  size_t operator()(const void*, size_t size, size_t nitems) override {
    total += size * nitems;
    return nitems;
  }
};

// Reads straight out of the caller's memory and never past its end, so a
// truncated buffer becomes a FAISS read error instead of an out-of-bounds read.
struct MemoryReader : faiss::IOReader {
  const uint8_t* data;
  size_t size;
  size_t pos = 0;
  IdMap2Guard guard;
  MemoryReader(const uint8_t* d, size_t s) : data(d), size(s) {}
  size_t operator()(void* ptr, size_t itemSize, size_t nitems) override {
    if (itemSize == 0 || pos >= size) return 0;
    const size_t available = (size - pos) / itemSize;
    const size_t n = nitems < available ? nitems : available;
    std::memcpy(ptr, data + pos, n * itemSize);
    pos += n * itemSize;
    guard.onRead(ptr, itemSize, n);
    return n;
  }
};

// A FileIOReader still (FAISS maps IVF lists only from one), with the same guard.
struct GuardedFileReader : faiss::FileIOReader {
  IdMap2Guard guard;
  explicit GuardedFileReader(const char* path) : faiss::FileIOReader(path) {}
  size_t operator()(void* ptr, size_t itemSize, size_t nitems) override {
    const size_t n = faiss::FileIOReader::operator()(ptr, itemSize, nitems);
    guard.onRead(ptr, itemSize, n);
    return n;
  }
};

size_t requireReadableFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    const int e = errno;
    throw ArgumentError(e == ENOENT ? code::kNotFound : code::kIo,
                        "read_index: cannot open '" + path + "': " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode))
    throw ArgumentError(code::kIo, "read_index: '" + path + "' is not a regular file");
  return static_cast<size_t>(st.st_size);
}

}  // namespace

size_t serializedSize(const faiss::Index& index) {
  CountingWriter w;
  try {
    faiss::write_index(&index, &w);
  } catch (...) {
    return 0;  // some index types cannot be written; their size stays unknown
  }
  return w.total;
}

std::unique_ptr<std::vector<uint8_t>> serialize(const faiss::Index& index) {
  faiss::VectorIOWriter w;
  faiss::write_index(&index, &w);
  return std::make_unique<std::vector<uint8_t>>(std::move(w.data));
}

std::unique_ptr<faiss::Index> deserialize(const uint8_t* data, size_t size) {
  if (size < 4) throw ArgumentError(code::kCorruptIndex, "deserialize_index: buffer too small to hold an index");
  MemoryReader r(data, size);
  std::unique_ptr<faiss::Index> index;
  {
    AllocationBudget budget(readBudget(size));
    index.reset(faiss::read_index(&r));
  }
  if (r.pos != size)
    throw ArgumentError(code::kCorruptIndex, "deserialize_index: " + std::to_string(size - r.pos) +
                                                 " trailing bytes after the index");
  return r.guard.finish(std::move(index));
}

void writeFile(const faiss::Index& index, const std::string& path) {
  faiss::write_index(&index, path.c_str());
}

std::unique_ptr<faiss::Index> readFile(const std::string& path, bool mmap) {
  const size_t size = requireReadableFile(path);
  const int flags = mmap ? faiss::IO_FLAG_MMAP | faiss::IO_FLAG_READ_ONLY : 0;
  GuardedFileReader reader(path.c_str());
  std::unique_ptr<faiss::Index> index;
  {
    AllocationBudget budget(readBudget(size));
    index.reset(faiss::read_index(&reader, flags));
  }
  return reader.guard.finish(std::move(index));
}

}  // namespace fp
