// The result arrays of a k-NN search. They are allocated with malloc, not as V8
// ArrayBuffers: V8 treats a failed ArrayBuffer allocation as a fatal out-of-memory
// error and aborts the process (seen under an address-space limit), where a
// failed malloc is a coded ERR_RESOURCE_LIMIT. FAISS writes into them, and JS
// gets them as they are, as external ArrayBuffers freed by their finalizers (or
// here, when the search fails before they are handed over).
#pragma once

#include <napi.h>

#include <cstdlib>
#include <memory>

#include "../errors.h"
#include "../memory_limits.h"

namespace fp {

// `Distance`: float (Float32Array) for float indexes, int32_t (Int32Array: Hamming
// distances) for binary ones.
template <typename Distance>
class BasicSearchResultArrays {
 public:
  explicit BasicSearchResultArrays(int64_t count)
      : count_(static_cast<size_t>(count)),
        distances_(static_cast<Distance*>(std::malloc(count_ * sizeof(Distance)))),
        labels_(static_cast<int64_t*>(std::malloc(count_ * sizeof(int64_t)))) {
    if (!distances_ || !labels_)
      throw ArgumentError(code::kResourceLimit, "search: the process could not allocate its " +
                                                    formatBytes(static_cast<int64_t>(count_ * (sizeof(Distance) + 8))) + " of results");
  }

  Distance* distances() const { return distances_.get(); }
  int64_t* labels() const { return labels_.get(); }

  // { distances: Float32Array | Int32Array, labels: BigInt64Array } owning the arrays.
  Napi::Object release(Napi::Env env) {
    auto result = Napi::Object::New(env);
    result.Set("distances",
               Napi::TypedArrayOf<Distance>::New(env, count_, adopt(env, distances_, count_ * sizeof(Distance)), 0));
    result.Set("labels", Napi::BigInt64Array::New(env, count_, adopt(env, labels_, count_ * sizeof(int64_t)), 0));
    return result;
  }

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };

  template <typename T>
  static Napi::ArrayBuffer adopt(Napi::Env env, std::unique_ptr<T, Free>& owned, size_t bytes) {
    auto buffer = Napi::ArrayBuffer::New(env, owned.get(), bytes, [](Napi::Env, void* p) { std::free(p); });
    owned.release();  // the ArrayBuffer's finalizer frees it now
    return buffer;
  }

  size_t count_;
  std::unique_ptr<Distance, Free> distances_;
  std::unique_ptr<int64_t, Free> labels_;
};

using SearchResultArrays = BasicSearchResultArrays<float>;

}  // namespace fp
