// Turns every failure (bad argument, FAISS exception, allocation failure) into a
// JS FaissError with a stable code, so that nothing crosses the N-API boundary as
// a C++ exception and callers can branch on `err.code` rather than on messages.
#pragma once

#include <napi.h>

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
constexpr const char* kOutOfMemory = "ERR_OUT_OF_MEMORY";
constexpr const char* kFaiss = "ERR_FAISS";
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

// Classifies the exception currently being handled. `context` says which operation
// failed ("search", "read_index", ...), so that I/O failures can be told apart.
ErrorInfo classifyCurrentException(const char* context);

// Remembers the JS FaissError constructor (set once by the TS layer at load time).
void setErrorClass(Napi::Env env, Napi::Function ctor);

// Builds a FaissError (or a plain Error with `code` before setErrorClass ran).
Napi::Error makeError(Napi::Env env, const ErrorInfo& info);

// Throws a FaissError into JS and returns undefined; for use in synchronous methods.
Napi::Value throwError(Napi::Env env, const ErrorInfo& info);

}  // namespace fp
