#include "value_column.h"

#include <algorithm>
#include <limits>
#include <string>

#include "args.h"
#include "errors.h"
#include "memory_limits.h"

namespace fp {
namespace {

// Marks the objects newValueColumn made (as selector.cc's tag does for selectors).
constexpr napi_type_tag kValueColumnTag = {0x6a1f0c3b87d24e95ULL, 0xc2e85b7410f93ad6ULL};

// Labels a column may span: lib/collections/label-bitmap.ts MAX_FRAME_LABELS (16 GiB of doubles at most).
constexpr int64_t kMaxLength = int64_t{1} << 31;

[[noreturn]] void invalid(const std::string& msg) { throw ArgumentError(code::kInvalidArgument, msg); }

// newValueColumn(base, length): { values: Float64Array } of `length` NaNs, label `base` first.
Napi::Value newValueColumn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const int64_t base = integerArg(info[0], "base", 0, int64_t{1} << 53);
    const int64_t length = integerArg(info[1], "length", 1, kMaxLength);
    const int64_t bytes = length * static_cast<int64_t>(sizeof(double));
    requireWithinLimit("value column", bytes, "a column of " + std::to_string(length) + " values");
    auto data = std::make_shared<ValueColumnData>();
    data->base = base;
    data->length = length;
    data->values.reset(new double[length]);
    std::fill(data->values.get(), data->values.get() + length, std::numeric_limits<double>::quiet_NaN());
    // The array's hold and the wrapper's, each released by its own finalizer.
    auto* arrayHold = new ValueColumnRef(data);
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
        env, data->values.get(), static_cast<size_t>(bytes),
        [](Napi::Env, void*, ValueColumnRef* hold) { delete hold; }, arrayHold);
    Napi::Object out = Napi::Object::New(env);
    out.Set("values", Napi::Float64Array::New(env, static_cast<size_t>(length), buffer, 0));
    auto* wrapperHold = new ValueColumnRef(data);
    napi_status s = napi_wrap(env, out, wrapperHold, [](napi_env, void* p, void*) { delete static_cast<ValueColumnRef*>(p); },
                              nullptr, nullptr);
    if (s != napi_ok) {
      delete wrapperHold;
      throw ArgumentError(code::kFaiss, "newValueColumn: could not wrap the column");
    }
    out.TypeTag(&kValueColumnTag);
    out.Freeze();
    return out;
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw makeError(env, classifyCurrentException("value column"));
  }
}

}  // namespace

ValueColumnRef valueColumnArg(const Napi::Value& v, const char* name) {
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kValueColumnTag))
    invalid(std::string("Expected a value column for ") + name);
  void* p = nullptr;
  if (napi_unwrap(v.Env(), v, &p) != napi_ok || p == nullptr) invalid(std::string("Expected a value column for ") + name);
  return *static_cast<ValueColumnRef*>(p);
}

void defineValueColumns(Napi::Env env, Napi::Object exports) {
  exports.Set("newValueColumn", Napi::Function::New<newValueColumn>(env));
}

}  // namespace fp
