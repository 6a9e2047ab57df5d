#include "sandbox_client.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "coded_error.h"

extern char** environ;

namespace fp {
namespace {

constexpr const char* kExecutable = "faiss-proxy-sandbox";

// Next to the addon: build-cmake/Release/ (cmake-js) or build/Release/ (node-gyp)
// build both from the same sources.
const std::string& sandboxPath() {
  static const std::string path = [] {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&runSandbox), &info) == 0 || info.dli_fname == nullptr)
      return std::string(kExecutable);
    const std::string addon = info.dli_fname;
    const auto slash = addon.rfind('/');
    return (slash == std::string::npos ? std::string(".") : addon.substr(0, slash)) + "/" + kExecutable;
  }();
  return path;
}

// What one check may use. Address space, not resident memory: the executable,
// its libraries and OpenBLAS take a few hundred MiB of it before any index;
// reading makes the index (about the input's size) and the canonical copy (its
// size again), with room for the derived tables FAISS builds (IVF-PQ's
// precomputed table). CPU time: a check costs a few CPU-seconds per GB
// (bench/read-cost.ts), so the limit only catches a reader that loops. Wall time
// is far looser, because on a loaded machine a check waits for a core far longer
// than it computes; a crafted file can make FAISS compute or allocate, both
// bounded above, not wait.
struct Limits {
  size_t memoryBytes;
  unsigned cpuSeconds;
  std::chrono::milliseconds wall;
};

Limits limitsFor(size_t inputBytes) {
  const unsigned cpu = 10 + static_cast<unsigned>(inputBytes / (size_t{32} << 20));
  return {(size_t{1} << 30) + 4 * inputBytes, cpu, std::chrono::milliseconds((60 + 4 * cpu) * 1000)};
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

void makePipe(Fd& readEnd, Fd& writeEnd) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    throw ArgumentError(code::kIo, std::string("cannot create a pipe for the index sandbox: ") + std::strerror(errno));
  readEnd.reset(p[0]);
  writeEnd.reset(p[1]);
}

void setNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Only what FAISS reads: one thread each for OpenMP and OpenBLAS (a check is one
// file; the pool runs several at once), and the library path if the addon's FAISS
// needs one. Nothing else of the caller's environment reaches the sandbox.
std::vector<std::string> sandboxEnvironment() {
  std::vector<std::string> env = {"OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MALLOC_ARENA_MAX=1"};
  if (const char* p = std::getenv("LD_LIBRARY_PATH")) env.push_back(std::string("LD_LIBRARY_PATH=") + p);
  return env;
}

pid_t spawnSandbox(int stdinFd, int stdoutFd, int stderrFd, const std::vector<std::string>& args) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdinFd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stdoutFd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stderrFd, STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);    // worker threads may block signals
  posix_spawnattr_setsigdefault(&attr, &all);  // Node ignores SIGPIPE
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const auto env = sandboxEnvironment();
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0].c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    throw ArgumentError(code::kIo, "the index sandbox " + args[0] + " cannot be started (" + std::strerror(rc) +
                                       "); it is built with the addon (npm run build:native)");
  return pid;
}

struct Exchange {
  std::vector<uint8_t> out;
  std::string err;
  bool timedOut = false;
  bool outputTooLarge = false;
};

// Feeds the input (when it is in memory) while draining stdout and stderr, so
// neither side blocks on a full pipe, until both close or the deadline passes.
void exchange(Fd& in, Fd& out, Fd& err, const SandboxInput& input, size_t maxOut,
              std::chrono::steady_clock::time_point deadline, Exchange& ex) {
  size_t written = 0;
  if (in.open() && input.size == 0) in.reset();
  uint8_t chunk[1 << 16];
  while (out.open() || err.open()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ex.timedOut = true;
      return;
    }
    pollfd fds[3];
    nfds_t n = 0;
    if (in.open()) fds[n++] = {in.get(), POLLOUT, 0};
    if (out.open()) fds[n++] = {out.get(), POLLIN, 0};
    if (err.open()) fds[n++] = {err.get(), POLLIN, 0};
    const int r = poll(fds, n, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw ArgumentError(code::kIo, std::string("waiting for the index sandbox: ") + std::strerror(errno));
    for (nfds_t i = 0; i < n; i++) {
      if (fds[i].revents == 0) continue;
      if (in.open() && fds[i].fd == in.get()) {
        const ssize_t w = write(in.get(), input.data + written, std::min<size_t>(input.size - written, 1 << 20));
        if (w > 0) written += static_cast<size_t>(w);
        else if (w < 0 && errno != EAGAIN && errno != EINTR) in.reset();  // it stopped reading: its verdict follows
        if (written == input.size) in.reset();
        continue;
      }
      Fd& src = fds[i].fd == out.get() ? out : err;
      const ssize_t got = read(src.get(), chunk, sizeof chunk);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        src.reset();
        continue;
      }
      if (&src == &out) {
        if (ex.out.size() + static_cast<size_t>(got) > maxOut) {
          ex.outputTooLarge = true;
          return;
        }
        ex.out.insert(ex.out.end(), chunk, chunk + got);
      } else if (ex.err.size() < 4096) {
        ex.err.append(reinterpret_cast<char*>(chunk), static_cast<size_t>(got));
      }
    }
  }
}

// Waits for the sandbox to exit, killing it at the deadline (or at once).
int reap(pid_t pid, std::chrono::steady_clock::time_point deadline, bool killNow, bool& timedOut) {
  if (killNow) kill(pid, SIGKILL);
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    // Someone else reaped it (a waitpid(-1) elsewhere in the process): its verdict
    // is lost, so its output cannot be trusted either.
    if (r < 0 && errno != EINTR)
      throw ArgumentError(code::kIo, std::string("lost track of the index sandbox: ") + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline) {
      timedOut = true;
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return status;
    }
    usleep(1000);
  }
}

// "ERR_CODE message" from the sandbox; only the codes a refusal may carry.
ArgumentError refusal(const std::string& err, const std::string& context) {
  std::string line = err.substr(0, err.find('\n'));
  const auto space = line.find(' ');
  const std::string c = line.substr(0, space);
  const std::string message = space == std::string::npos ? "refused" : line.substr(space + 1);
  if (c == code::kUnsupported) return ArgumentError(code::kUnsupported, context + ": " + message);
  return ArgumentError(code::kCorruptIndex, context + ": not a valid FAISS index (" + message + ")");
}

}  // namespace

std::vector<uint8_t> runSandbox(const SandboxInput& input, bool mmap, bool checkOnly, const std::string& context,
                                bool binary) {
  const Limits limits = limitsFor(input.size);
  std::vector<std::string> args = {sandboxPath(), "--max-memory", std::to_string(limits.memoryBytes), "--max-cpu",
                                   std::to_string(limits.cpuSeconds), "--input-bytes", std::to_string(input.size)};
  if (mmap) args.push_back("--mmap");
  if (checkOnly) args.push_back("--check-only");
  if (binary) args.push_back("--binary");

  Fd inRead, inWrite, outRead, outWrite, errRead, errWrite;
  if (input.fd < 0) makePipe(inRead, inWrite);
  makePipe(outRead, outWrite);
  makePipe(errRead, errWrite);
  const pid_t pid = spawnSandbox(input.fd >= 0 ? input.fd : inRead.get(), outWrite.get(), errWrite.get(), args);
  inRead.reset();
  outWrite.reset();
  errWrite.reset();
  if (inWrite.open()) setNonBlocking(inWrite.get());
  setNonBlocking(outRead.get());
  setNonBlocking(errRead.get());

  const auto deadline = std::chrono::steady_clock::now() + limits.wall;
  Exchange ex;
  if (!checkOnly) ex.out.reserve(input.size + 4096);  // the canonical form is about the input's size
  try {
    exchange(inWrite, outRead, errRead, input, 2 * input.size + (size_t{1} << 20), deadline, ex);
  } catch (...) {
    bool ignored = false;
    reap(pid, deadline, true, ignored);
    throw;
  }
  inWrite.reset();
  outRead.reset();
  errRead.reset();
  const int status = reap(pid, deadline, ex.timedOut || ex.outputTooLarge, ex.timedOut);

  const std::string refused = context + ": not a valid FAISS index (";
  if (ex.timedOut)
    throw ArgumentError(code::kCorruptIndex, refused + "reading it took longer than " +
                                                 std::to_string(limits.wall.count() / 1000) + " s)");
  if (ex.outputTooLarge) throw ArgumentError(code::kCorruptIndex, refused + "its canonical form is larger than expected)");
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGXCPU)
      throw ArgumentError(code::kCorruptIndex, refused + "reading it took more than " + std::to_string(limits.cpuSeconds) +
                                                   " s of CPU)");
    const char* abbrev = sigabbrev_np(sig);
    throw ArgumentError(code::kCorruptIndex, refused + "FAISS's reader crashed on it with SIG" +
                                                 (abbrev ? abbrev : std::to_string(sig)) + ", in the sandbox process)");
  }
  const int exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (exitCode == 1) throw refusal(ex.err, context);
  if (exitCode != 0)
    throw ArgumentError(code::kCorruptIndex, refused + "the sandbox exited with status " + std::to_string(exitCode) + ")");
  if (!checkOnly && ex.out.empty()) throw ArgumentError(code::kCorruptIndex, refused + "the sandbox returned no index)");
  return std::move(ex.out);
}

}  // namespace fp
