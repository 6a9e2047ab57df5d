// Coded errors as plain C++ data, with nothing of N-API: shared by the addon and
// the sandbox executable (native/sandbox/), which reports them on its stderr.
#pragma once

#include <exception>
#include <string>

namespace fp {

// Stable error codes; the TypeScript layer exports the same list.
namespace code {
constexpr const char* kInvalidArgument = "ERR_INVALID_ARGUMENT";
constexpr const char* kDimension = "ERR_DIMENSION";
constexpr const char* kNotTrained = "ERR_NOT_TRAINED";
constexpr const char* kUnsupported = "ERR_UNSUPPORTED";
constexpr const char* kDisposed = "ERR_DISPOSED";
constexpr const char* kBusy = "ERR_BUSY";
constexpr const char* kCorruptIndex = "ERR_CORRUPT_INDEX";
constexpr const char* kNotFound = "ERR_NOT_FOUND";
constexpr const char* kIo = "ERR_IO";
constexpr const char* kResourceLimit = "ERR_RESOURCE_LIMIT";
constexpr const char* kFaiss = "ERR_FAISS";
// Faults only a GPU has (the CUDA build: native/gpu*.cc).
constexpr const char* kGpuOutOfMemory = "ERR_GPU_OUT_OF_MEMORY";
constexpr const char* kNoSuchDevice = "ERR_NO_SUCH_DEVICE";
constexpr const char* kGpuDriver = "ERR_GPU_DRIVER";
}  // namespace code

// An error as plain C++ data: built on a worker thread, thrown on the main thread.
struct ErrorInfo {
  std::string code;
  std::string message;
};

// Thrown by argument checks inside native code; caught at the N-API boundary.
struct ArgumentError : std::exception {
  ErrorInfo info;
  ArgumentError(const char* c, std::string m) : info{c, std::move(m)} {}
  const char* what() const noexcept override { return info.message.c_str(); }
};

}  // namespace fp
