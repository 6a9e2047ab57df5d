// What the float and binary constructors (constructors.cc, binary_constructors.cc)
// and the vector transforms' (transform.cc) share: running a builder and wrapping
// what it built for JS, every failure a FaissError.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>

#include "errors.h"

namespace fp {

// Runs `make` and wraps what it built in a new `Wrap` (IndexWrap, BinaryIndexWrap,
// TransformWrap), passing `wrapArgs` on to Wrap::Wrap (a transform's type name).
// FAISS refusing the parameters is the caller's error (ERR_INVALID_ARGUMENT).
template <typename Wrap, typename IndexT, typename... WrapArgs>
Napi::Value buildWrapped(const Napi::CallbackInfo& info, const char* context, const std::function<std::unique_ptr<IndexT>()>& make,
                         const WrapArgs&... wrapArgs) {
  std::unique_ptr<IndexT> index;
  try {
    index = make();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    ErrorInfo e = classifyCurrentException(context);
    if (e.code == code::kFaiss) e.code = code::kInvalidArgument;  // FAISS rejected the parameters
    throw makeError(info.Env(), e);
  }
  return Wrap::Wrap(info.Env(), std::move(index), wrapArgs...);
}

}  // namespace fp
