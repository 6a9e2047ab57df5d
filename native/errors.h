// Turns every failure (bad argument, FAISS exception, allocation failure) into a
// JS FaissError with a stable code, so that nothing crosses the N-API boundary as
// a C++ exception and callers can branch on `err.code` rather than on messages.
#pragma once

#include <napi.h>

#include <exception>
#include <string>

#include "coded_error.h"

namespace fp {

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
