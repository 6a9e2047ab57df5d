// faiss-proxy-sandbox: reads one FAISS index from untrusted bytes in a process of
// its own, so that whatever FAISS 1.7.3's reader does with a crafted file (it
// trusts every size in it: divides by them, allocates them, indexes with them)
// can only end this process. The addon runs it (native/sandbox_client.h) and
// turns a signal, a timeout or a refusal into ERR_CORRUPT_INDEX / ERR_UNSUPPORTED.
//
//   faiss-proxy-sandbox --max-memory BYTES --max-cpu SECONDS [--input-bytes N] [--mmap] [--check-only] [--binary]
//   faiss-proxy-sandbox --trace-reads [--binary]
//
// --binary: the bytes hold a binary index (read_index_binary's format), checked
// by binary_validate.h and tried by exerciseBinaryIndex.
//
// stdin: the index (a pipe, or the file itself: --mmap maps its IVF lists as the
// addon will). It checks the index's invariants (native/validate.h), exercises a
// copy (trial.h), and writes FAISS's canonical serialization of it to stdout
// (not with --check-only). Exit 0: accepted; 1: refused, with one line
// "ERR_CODE message" on stderr; anything else (a signal) is a crash.
// --trace-reads prints, for a valid index, each read FAISS makes ("offset
// itemSize count"), one a line: the file fuzzer's map of field boundaries.
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "../alloc_guard.h"
#include "../binary_validate.h"
#include "../coded_error.h"
#include "../idmap2_guard.h"
#include "../newer_faiss.h"
#include "../validate.h"
#include "trial.h"

namespace {

constexpr int kRefused = 1;

struct Options {
  size_t maxMemory = 0;
  unsigned maxCpu = 0;
  bool mmap = false;
  bool checkOnly = false;
  bool traceReads = false;
  bool binary = false;
  size_t inputBytes = 0;  // expected size of stdin, to read it without regrowing
};

[[noreturn]] void refuse(const char* code, const std::string& message) {
  std::fprintf(stderr, "%s %s\n", code, message.c_str());
  std::fflush(stderr);
  std::_Exit(kRefused);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--mmap") o.mmap = true;
    else if (a == "--check-only") o.checkOnly = true;
    else if (a == "--trace-reads") o.traceReads = true;
    else if (a == "--binary") o.binary = true;
    else if (a == "--max-memory" && i + 1 < argc) o.maxMemory = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--max-cpu" && i + 1 < argc) o.maxCpu = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    else if (a == "--input-bytes" && i + 1 < argc) o.inputBytes = std::strtoull(argv[++i], nullptr, 10);
    else refuse(fp::code::kInvalidArgument, "faiss-proxy-sandbox: unknown argument " + a);
  }
  return o;
}

// Limits are set here, first thing, because posix_spawn cannot set them for the
// child. No core files: a crash here is an expected outcome, not a bug report.
void limitResources(const Options& o) {
  auto set = [](int resource, rlim_t value) {
    struct rlimit l = {value, value};
    setrlimit(resource, &l);
  };
  set(RLIMIT_CORE, 0);
  set(RLIMIT_FSIZE, 0);
  if (o.maxMemory) set(RLIMIT_AS, o.maxMemory);
  if (o.maxCpu) set(RLIMIT_CPU, o.maxCpu);
}

std::vector<uint8_t> readAll(int fd, size_t expected) {
  std::vector<uint8_t> data(expected + 1);  // one more byte, so the EOF read needs no regrowth
  size_t used = 0;
  for (;;) {
    if (used == data.size()) data.resize(data.size() + std::max<size_t>(data.size(), 1 << 20));
    const ssize_t n = read(fd, data.data() + used, data.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) refuse(fp::code::kIo, std::string("cannot read the input: ") + std::strerror(errno));
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  data.resize(used);
  return data;
}

// FAISS's vector reader, with the IndexIDMap2 guard and an optional trace.
struct GuardedVectorReader : faiss::IOReader {
  const std::vector<uint8_t>& data;
  size_t pos = 0;
  bool trace = false;
  fp::IdMap2Guard guard;
  explicit GuardedVectorReader(const std::vector<uint8_t>& d) : data(d) {}
  size_t operator()(void* ptr, size_t itemSize, size_t nitems) override {
    if (itemSize == 0 || pos >= data.size()) return 0;
    const size_t available = (data.size() - pos) / itemSize;
    const size_t n = nitems < available ? nitems : available;
    if (trace) std::printf("%zu %zu %zu\n", pos, itemSize, nitems);
    std::memcpy(ptr, data.data() + pos, n * itemSize);
    pos += n * itemSize;
    guard.onRead(ptr, itemSize, n);
    return n;
  }
};

struct GuardedFileReader : faiss::FileIOReader {
  fp::IdMap2Guard guard;
  explicit GuardedFileReader(FILE* f) : faiss::FileIOReader(f) {}
  size_t operator()(void* ptr, size_t itemSize, size_t nitems) override {
    const size_t n = faiss::FileIOReader::operator()(ptr, itemSize, nitems);
    guard.onRead(ptr, itemSize, n);
    return n;
  }
};

std::unique_ptr<faiss::Index> readIndex(const Options& o) {
  if (o.mmap) {
    FILE* f = fdopen(STDIN_FILENO, "rb");
    if (!f) refuse(fp::code::kIo, "cannot open the input as a file");
    GuardedFileReader reader(f);
    std::unique_ptr<faiss::Index> index(
        faiss::read_index(&reader, faiss::IO_FLAG_MMAP | faiss::IO_FLAG_READ_ONLY));
    return reader.guard.finish(std::move(index));
  }
  const std::vector<uint8_t> data = readAll(STDIN_FILENO, o.inputBytes);
  if (data.size() < 4) refuse(fp::code::kCorruptIndex, "too small to hold an index");
  GuardedVectorReader reader(data);
  reader.trace = o.traceReads;
  std::unique_ptr<faiss::Index> index;
  {
    fp::AllocationBudget budget(fp::readBudget(data.size()));
    index.reset(faiss::read_index(&reader));
  }
  if (reader.pos != data.size())
    refuse(fp::code::kCorruptIndex, std::to_string(data.size() - reader.pos) + " trailing bytes after the index");
  return reader.guard.finish(std::move(index));
}

// Binary indexes are read from a pipe only (readIndexBinary has no mmap); no
// IndexBinaryIDMap2 is accepted, so no guard is needed (a nested one's reverse
// table is rebuilt in this process, and refused afterwards as unchecked).
std::unique_ptr<faiss::IndexBinary> readBinaryIndex(const Options& o) {
  if (o.mmap) refuse(fp::code::kInvalidArgument, "faiss-proxy-sandbox: --mmap does not apply to binary indexes");
  const std::vector<uint8_t> data = readAll(STDIN_FILENO, o.inputBytes);
  if (data.size() < 4) refuse(fp::code::kCorruptIndex, "too small to hold an index");
  GuardedVectorReader reader(data);
  reader.trace = o.traceReads;
  std::unique_ptr<faiss::IndexBinary> index;
  {
    fp::AllocationBudget budget(fp::readBudget(data.size()));
    index.reset(faiss::read_index_binary(&reader));
  }
  if (reader.pos != data.size())
    refuse(fp::code::kCorruptIndex, std::to_string(data.size() - reader.pos) + " trailing bytes after the index");
  return index;
}

void writeAll(const std::vector<uint8_t>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(STDOUT_FILENO, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::_Exit(3);  // the addon went away or stopped reading
    done += static_cast<size_t>(n);
  }
}

// FAISS messages look like "Error in <signature> at <file>:<line>: <what happened>".
std::string faissReason(const char* raw) {
  const std::string msg(raw);
  const auto at = msg.find(" at ");
  const auto sep = at == std::string::npos ? std::string::npos : msg.find(": ", at);
  return msg.rfind("Error in ", 0) == 0 && sep != std::string::npos ? msg.substr(sep + 2) : msg;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  limitResources(o);
  try {
    if (o.binary) {
      std::unique_ptr<faiss::IndexBinary> index = readBinaryIndex(o);
      if (o.traceReads) return 0;
      fp::validateBinaryIndex(*index);
      faiss::VectorIOWriter w;
      faiss::write_index_binary(index.get(), &w);
      fp::exerciseBinaryIndex(*index);
      writeAll(w.data);
      return 0;
    }
    std::unique_ptr<faiss::Index> index = readIndex(o);
    if (o.traceReads) return 0;
    fp::validateIndex(*index);
    std::vector<uint8_t> canonical;
    if (!o.checkOnly) {
      faiss::VectorIOWriter w;
      faiss::write_index(index.get(), &w);
      canonical = std::move(w.data);
    }
    fp::exerciseIndex(*index, /*mayAdd=*/!o.mmap);
    writeAll(canonical);
    return 0;
  } catch (const fp::ArgumentError& e) {
    refuse(e.info.code.c_str(), e.info.message);
  } catch (const std::bad_alloc&) {
    refuse(fp::code::kCorruptIndex, "it declares sizes far beyond its length");
  } catch (const std::length_error&) {
    refuse(fp::code::kCorruptIndex, "it declares sizes far beyond its length");
  } catch (const faiss::FaissException& e) {
    const std::string reason = faissReason(e.what());
    if (auto newer = fp::newerFaissRefusal(reason)) refuse(fp::code::kUnsupported, *newer);
    refuse(fp::code::kCorruptIndex, reason);
  } catch (const std::exception& e) {
    refuse(fp::code::kCorruptIndex, e.what());
  }
}
