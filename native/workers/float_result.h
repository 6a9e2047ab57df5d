// A Float32Array answer of `count` floats (transformed vectors, centroids,
// distance matrices), allocated with malloc as search_result.h explains: a
// failed V8 ArrayBuffer allocation aborts the process, a failed malloc is a coded
// ERR_RESOURCE_LIMIT. FAISS writes into it off the JS thread; JS gets it as it is.
#pragma once

#include <napi.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "../errors.h"
#include "../memory_limits.h"

namespace fp {

class FloatResult {
 public:
  FloatResult() = default;
  FloatResult(int64_t count, const char* operation)
      : count_(static_cast<size_t>(count)), data_(static_cast<float*>(std::malloc(std::max<size_t>(1, count_) * sizeof(float)))) {
    if (!data_)
      throw ArgumentError(code::kResourceLimit, std::string(operation) + ": the process could not allocate its " +
                                                    formatBytes(static_cast<int64_t>(count_ * sizeof(float))) + " of results");
  }

  float* data() const { return data_.get(); }
  size_t size() const { return count_; }

  // The Float32Array, which owns the memory from now on.
  Napi::Float32Array release(Napi::Env env) {
    auto buffer = Napi::ArrayBuffer::New(env, data_.get(), count_ * sizeof(float), [](Napi::Env, void* p) { std::free(p); });
    data_.release();
    return Napi::Float32Array::New(env, count_, buffer, 0);
  }

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  size_t count_ = 0;
  std::unique_ptr<float, Free> data_;
};

}  // namespace fp
