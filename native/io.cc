#include "io.h"

#include <faiss/impl/FaissAssert.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "alloc_guard.h"
#include "device_index.h"
#include "errors.h"
#include "idmap2_guard.h"
#include "sandbox_client.h"
#include "validate.h"

namespace fp {
namespace {

// BoundedMemoryReader, with the IndexIDMap2 guard.
struct MemoryReader : BoundedMemoryReader {
  IdMap2Guard guard;
  using BoundedMemoryReader::BoundedMemoryReader;
  size_t operator()(void* ptr, size_t itemSize, size_t nitems) override {
    const size_t n = BoundedMemoryReader::operator()(ptr, itemSize, nitems);
    guard.onRead(ptr, itemSize, n);
    return n;
  }
};

// A FileIOReader still (FAISS maps IVF lists only from one), with the same guard.
struct GuardedFileReader : faiss::FileIOReader {
  IdMap2Guard guard;
  explicit GuardedFileReader(const char* path) : faiss::FileIOReader(path) {}
  explicit GuardedFileReader(FILE* f) : faiss::FileIOReader(f) {}
  size_t operator()(void* ptr, size_t itemSize, size_t nitems) override {
    const size_t n = faiss::FileIOReader::operator()(ptr, itemSize, nitems);
    guard.onRead(ptr, itemSize, n);
    return n;
  }
};

}  // namespace

size_t BoundedMemoryReader::operator()(void* ptr, size_t itemSize, size_t nitems) {
  if (itemSize == 0 || pos >= size) return 0;
  const size_t available = (size - pos) / itemSize;
  const size_t n = nitems < available ? nitems : available;
  std::memcpy(ptr, data + pos, n * itemSize);
  pos += n * itemSize;
  return n;
}

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

namespace {

// The file opened once: the sandbox checks, and the addon then maps, the same
// inode even if something renames another file over the path meanwhile.
struct OpenFile {
  int fd = -1;
  size_t size = 0;
  ~OpenFile() {
    if (fd >= 0) close(fd);
  }
};

void openReadableFile(const std::string& path, OpenFile& file) {
  file.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (file.fd < 0 || fstat(file.fd, &st) != 0) {
    const int e = errno;
    throw ArgumentError(e == ENOENT ? code::kNotFound : code::kIo,
                        "read_index: cannot open '" + path + "': " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) throw ArgumentError(code::kIo, "read_index: '" + path + "' is not a regular file");
  file.size = static_cast<size_t>(st.st_size);
}

}  // namespace

std::vector<uint8_t> sandboxedFile(const std::string& path, const std::string& context, bool binary) {
  OpenFile file;
  openReadableFile(path, file);
  return runSandbox({nullptr, file.fd, file.size}, false, false, context, binary);
}

namespace {

std::unique_ptr<faiss::Index> readTrusted(faiss::IOReader& reader, IdMap2Guard& guard, size_t size, int flags) {
  std::unique_ptr<faiss::Index> index;
  {
    AllocationBudget budget(readBudget(size));
    index.reset(faiss::read_index(&reader, flags));
  }
  return guard.finish(std::move(index));
}

// Memory-mapped and untrusted: the sandbox reads the file as the addon will
// (mapping its lists), then the addon maps that same open file and checks the
// structure it got, which is cheap (the lists' extents, not their contents).
std::unique_ptr<faiss::Index> readMappedChecked(const std::string& path) {
  OpenFile file;
  openReadableFile(path, file);
  runSandbox({nullptr, file.fd, file.size}, /*mmap=*/true, /*checkOnly=*/true, "read_index");
  if (lseek(file.fd, 0, SEEK_SET) != 0) throw ArgumentError(code::kIo, "read_index: cannot rewind '" + path + "'");
  const int fd = dup(file.fd);
  FILE* f = fd < 0 ? nullptr : fdopen(fd, "rb");
  if (!f) {
    if (fd >= 0) close(fd);
    throw ArgumentError(code::kIo, "read_index: cannot open '" + path + "': " + std::strerror(errno));
  }
  std::unique_ptr<FILE, int (*)(FILE*)> closer(f, fclose);
  GuardedFileReader reader(f);
  auto index = readTrusted(reader, reader.guard, file.size, faiss::IO_FLAG_MMAP | faiss::IO_FLAG_READ_ONLY);
  validateIndex(*index);
  return index;
}

}  // namespace

size_t serializedSize(const faiss::Index& index) {
  if (auto* gpu = dynamic_cast<const DeviceIndex*>(&index)) return gpu->deviceBytes();
  CountingWriter w;
  try {
    faiss::write_index(&index, &w);
  } catch (...) {
    return 0;  // some index types cannot be written; their size stays unknown
  }
  return w.total;
}

namespace {

// What FAISS's writer is given for `index`: a GPU index's standard CPU copy
// (device_index.h), so that what is written is a file any FAISS reads; `copy` holds it.
const faiss::Index& writable(const faiss::Index& index, std::unique_ptr<faiss::Index>& copy) {
  auto* gpu = dynamic_cast<const DeviceIndex*>(&index);
  if (!gpu) return index;
  copy = gpu->toCpu();
  return *copy;
}

}  // namespace

std::unique_ptr<std::vector<uint8_t>> serialize(const faiss::Index& index) {
  faiss::VectorIOWriter w;
  std::unique_ptr<faiss::Index> copy;
  faiss::write_index(&writable(index, copy), &w);
  return std::make_unique<std::vector<uint8_t>>(std::move(w.data));
}

std::unique_ptr<faiss::Index> deserialize(const uint8_t* data, size_t size, bool trusted) {
  if (size < 4) throw ArgumentError(code::kCorruptIndex, "deserialize_index: buffer too small to hold an index");
  if (!trusted) {
    const auto canonical = runSandbox({data, -1, size}, false, false, "deserialize_index");
    return deserialize(canonical.data(), canonical.size(), true);
  }
  MemoryReader r(data, size);
  auto index = readTrusted(r, r.guard, size, 0);
  if (r.pos != size)
    throw ArgumentError(code::kCorruptIndex, "deserialize_index: " + std::to_string(size - r.pos) +
                                                 " trailing bytes after the index");
  return index;
}

// A new file renamed over the path: never truncated in place, because an index
// memory-mapped from the old file (readIndex with mmap) would die of SIGBUS on
// its next search; the mapping keeps the old file's pages instead.
void writeFile(const faiss::Index& index, const std::string& path) {
  std::unique_ptr<faiss::Index> copy;
  const faiss::Index& cpu = writable(index, copy);
  writeFileAtomically(path, [&](faiss::IOWriter& writer) { faiss::write_index(&cpu, &writer); });
}

void writeFileAtomically(const std::string& path, const std::function<void(faiss::IOWriter&)>& write) {
  std::random_device entropy;
  const std::string temp = path + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(entropy());
  FILE* f = std::fopen(temp.c_str(), "wbx");
  if (!f) {
    throw ArgumentError(code::kIo, "write_index: cannot create '" + temp + "': " + std::strerror(errno));
  }
  bool written = false;
  try {
    faiss::FileIOWriter writer(f);
    write(writer);
    written = std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  } catch (...) {
    std::fclose(f);
    std::remove(temp.c_str());
    throw;
  }
  const int e = errno;
  if (std::fclose(f) != 0 || !written) {
    std::remove(temp.c_str());
    throw ArgumentError(code::kIo, "write_index: cannot write '" + temp + "': " + std::strerror(written ? errno : e));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int re = errno;
    std::remove(temp.c_str());
    throw ArgumentError(code::kIo, "write_index: cannot replace '" + path + "': " + std::strerror(re));
  }
}

std::unique_ptr<faiss::Index> readFile(const std::string& path, bool mmap, bool trusted) {
  if (!trusted && mmap) return readMappedChecked(path);
  if (!trusted) {
    const auto canonical = sandboxedFile(path, "read_index", false);
    return deserialize(canonical.data(), canonical.size(), true);
  }
  const size_t size = requireReadableFile(path);
  GuardedFileReader reader(path.c_str());
  return readTrusted(reader, reader.guard, size, mmap ? faiss::IO_FLAG_MMAP | faiss::IO_FLAG_READ_ONLY : 0);
}

}  // namespace fp
