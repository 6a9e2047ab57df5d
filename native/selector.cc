#include "selector.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "args.h"
#include "errors.h"
#include "memory_limits.h"
#include "selector_prefetch.h"
#include "value_column.h"

namespace fp {
namespace {

// Marks the objects newSelector made, so that selectorArg trusts no other object's
// wrapped pointer (as IndexWrap's tag does for indexes).
constexpr napi_type_tag kSelectorTag = {0x3d5e1a7c94b2f608ULL, 0xb71c4e29d06a8f53ULL};

[[noreturn]] void invalid(const std::string& msg) { throw ArgumentError(code::kInvalidArgument, msg); }

// IDSelectorArray's membership (an id is selected if it is in the list), looked up
// in a sorted copy of the list.
struct SortedIds : faiss::IDSelector {
  std::vector<int64_t> ids;
  bool is_member(idx_t id) const final { return std::binary_search(ids.begin(), ids.end(), id); }
};

// FAISS 1.7.4's IDSelectorAnd / Or / XOr.
struct AndSelector : faiss::IDSelector {
  const faiss::IDSelector *a, *b;
  AndSelector(const faiss::IDSelector* a, const faiss::IDSelector* b) : a(a), b(b) {}
  bool is_member(idx_t id) const final { return a->is_member(id) && b->is_member(id); }
};
struct OrSelector : faiss::IDSelector {
  const faiss::IDSelector *a, *b;
  OrSelector(const faiss::IDSelector* a, const faiss::IDSelector* b) : a(a), b(b) {}
  bool is_member(idx_t id) const final { return a->is_member(id) || b->is_member(id); }
};
struct XOrSelector : faiss::IDSelector {
  const faiss::IDSelector *a, *b;
  XOrSelector(const faiss::IDSelector* a, const faiss::IDSelector* b) : a(a), b(b) {}
  bool is_member(idx_t id) const final { return a->is_member(id) != b->is_member(id); }
};

class IdListSelector : public Selector {
 public:
  // `batch`: FAISS's IDSelectorBatch (a hash set); else the addon's IDSelectorArray.
  IdListSelector(const IdArray& in, bool batch) {
    ids_.assign(in.data, in.data + in.n);
    if (batch) {
      sel_ = std::make_unique<faiss::IDSelectorBatch>(ids_.size(), ids_.data());
      ids_.clear();
      ids_.shrink_to_fit();
      return;
    }
    auto sorted = std::make_unique<SortedIds>();
    sorted->ids = ids_;
    std::sort(sorted->ids.begin(), sorted->ids.end());
    sorted->ids.erase(std::unique(sorted->ids.begin(), sorted->ids.end()), sorted->ids.end());
    sel_ = std::move(sorted);
    isArray_ = true;
  }
  const std::vector<int64_t>* idList() const override { return isArray_ ? &ids_ : nullptr; }

 private:
  std::vector<int64_t> ids_;
  bool isArray_ = false;
};

class RangeSelector : public Selector {
 public:
  RangeSelector(int64_t min, int64_t max) { sel_ = std::make_unique<faiss::IDSelectorRange>(min, max); }
};

class BitmapSelector : public Selector {
 public:
  explicit BitmapSelector(const Napi::Uint8Array& bits) : bits_(bits.Data(), bits.Data() + bits.ElementLength()) {
    sel_ = std::make_unique<faiss::IDSelectorBitmap>(bits_.size(), bits_.data());
  }

 private:
  std::vector<uint8_t> bits_;
};

// The labels whose value in a column (value_column.h) is within bounds, as
// lib/collections/match.ts withinBounds has it (an absent bound is an infinite
// one); a label outside the column, or without a value (NaN), is not selected.
struct ValueRange : PrefetchingSelector {
  ValueColumnRef column;
  double gt, gte, lt, lte;
  bool is_member(idx_t id) const final {
    const int64_t i = id - column->base;
    if (i < 0 || i >= column->length) return false;
    const double v = column->values[i];
    return v > gt && v >= gte && v < lt && v <= lte;
  }
  void prefetch(idx_t id) const final {
    const int64_t i = id - column->base;
    if (i >= 0 && i < column->length) __builtin_prefetch(column->values.get() + i, 0, 3);
  }
};

class ValueRangeSelector : public Selector {
 public:
  ValueRangeSelector(ValueColumnRef column, double gt, double gte, double lt, double lte) {
    auto sel = std::make_unique<ValueRange>();
    sel->column = std::move(column);
    sel->gt = gt;
    sel->gte = gte;
    sel->lt = lt;
    sel->lte = lte;
    sel_ = std::move(sel);
  }
};

// Not, And, Or, XOr: hold their operands, whose FAISS selectors they point to.
class CompoundSelector : public Selector {
 public:
  CompoundSelector(const std::string& kind, std::vector<SelectorRef> operands) : operands_(std::move(operands)) {
    for (const auto& o : operands_) terms_ += o->terms();
    if (terms_ > kMaxTerms + kReservedTerms)
      invalid("Expected a selector of at most " + std::to_string(kMaxTerms) + " terms but this one has " +
              std::to_string(terms_));
    const faiss::IDSelector* a = &operands_[0]->faiss();
    if (kind == "not") {
      sel_ = std::make_unique<faiss::IDSelectorNot>(a);
      return;
    }
    const faiss::IDSelector* b = &operands_[1]->faiss();
    if (kind == "and") sel_ = std::make_unique<AndSelector>(a, b);
    else if (kind == "or") sel_ = std::make_unique<OrSelector>(a, b);
    else sel_ = std::make_unique<XOrSelector>(a, b);
  }

 private:
  std::vector<SelectorRef> operands_;
};

int64_t int64Arg(const Napi::Value& v, const char* name) {
  if (!v.IsBigInt()) invalid(std::string("Expected a bigint for ") + name);
  bool lossless = false;
  const int64_t x = v.As<Napi::BigInt>().Int64Value(&lossless);
  if (!lossless) invalid(std::string("Expected an int64 for ") + name);
  return x;
}

// What a selector of n ids allocates, held to the per-call memory limit before any
// of it is (a filter of millions of ids is built at its first search): FAISS's
// IDSelectorBatch is a hash set (a node and a bucket per id, about 40 bytes) and
// a Bloom filter of 4 to 8 bytes per id, built from a copy of the ids; the
// addon's IDSelectorArray is the ids and their sorted copy.
constexpr int64_t kBatchBytesPerId = 64;
constexpr int64_t kArrayBytesPerId = 16;

SelectorRef build(const Napi::CallbackInfo& info) {
  const std::string kind = stringArg(info[0], "kind");
  if (kind == "batch" || kind == "array") {
    const IdArray ids = idArray(info[1], -1, "ids");
    const bool batch = kind == "batch";
    requireWithinLimit(batch ? "IDSelectorBatch" : "IDSelectorArray",
                       mulBytes(ids.n, batch ? kBatchBytesPerId : kArrayBytesPerId),
                       "a selector of " + std::to_string(ids.n) + " ids");
    return std::make_shared<IdListSelector>(ids, batch);
  }
  if (kind == "range") {
    const int64_t min = int64Arg(info[1], "min"), max = int64Arg(info[2], "max");
    if (min > max) invalid("Expected min <= max for IDSelectorRange but received [" + std::to_string(min) + ", " +
                           std::to_string(max) + ")");
    return std::make_shared<RangeSelector>(min, max);
  }
  if (kind == "bitmap") {
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      invalid("Expected a Uint8Array for bits");
    const int64_t bytes = static_cast<int64_t>(info[1].As<Napi::TypedArray>().ByteLength());
    requireWithinLimit("IDSelectorBitmap", bytes, "a copy of a bitmap of " + std::to_string(bytes) + " bytes");
    return std::make_shared<BitmapSelector>(info[1].As<Napi::Uint8Array>());
  }
  if (kind == "valueRange") {
    ValueColumnRef column = valueColumnArg(info[1], "column");
    double bounds[4];
    const char* names[4] = {"gt", "gte", "lt", "lte"};
    for (int i = 0; i < 4; i++) {
      if (!info[2 + i].IsNumber() || std::isnan(info[2 + i].As<Napi::Number>().DoubleValue()))
        invalid(std::string("Expected a number (or an infinity) for ") + names[i]);
      bounds[i] = info[2 + i].As<Napi::Number>().DoubleValue();
    }
    return std::make_shared<ValueRangeSelector>(std::move(column), bounds[0], bounds[1], bounds[2], bounds[3]);
  }
  if (kind == "not") return std::make_shared<CompoundSelector>(kind, std::vector<SelectorRef>{selectorArg(info[1], "sel")});
  if (kind == "and" || kind == "or" || kind == "xor")
    return std::make_shared<CompoundSelector>(kind, std::vector<SelectorRef>{selectorArg(info[1], "a"), selectorArg(info[2], "b")});
  invalid("Expected a selector kind (batch, array, range, bitmap, valueRange, not, and, or, xor) but received \"" + kind + "\"");
}

Napi::Value newSelector(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    auto* ref = new SelectorRef(build(info));
    Napi::Object out = Napi::Object::New(env);
    napi_status s = napi_wrap(env, out, ref, [](napi_env, void* p, void*) { delete static_cast<SelectorRef*>(p); }, nullptr, nullptr);
    if (s != napi_ok) {
      delete ref;
      throw ArgumentError(code::kFaiss, "newSelector: could not wrap the selector");
    }
    out.TypeTag(&kSelectorTag);
    out.Freeze();
    return out;
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw makeError(env, classifyCurrentException("selector"));
  }
}

Napi::Value isNativeSelector(const Napi::CallbackInfo& info) {
  const Napi::Value v = info[0];
  return Napi::Boolean::New(info.Env(), v.IsObject() && v.As<Napi::Object>().CheckTypeTag(&kSelectorTag));
}

}  // namespace

SelectorRef selectorArg(const Napi::Value& v, const char* name) {
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kSelectorTag))
    invalid(std::string("Expected an IDSelector for ") + name);
  void* p = nullptr;
  if (napi_unwrap(v.Env(), v, &p) != napi_ok || p == nullptr) invalid(std::string("Expected an IDSelector for ") + name);
  return *static_cast<SelectorRef*>(p);
}

SelectorRef optionalSelectorArg(const Napi::Value& v, const char* name) {
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  return selectorArg(v, name);
}

void defineSelectors(Napi::Env env, Napi::Object exports) {
  exports.Set("newSelector", Napi::Function::New<newSelector>(env));
  exports.Set("isNativeSelector", Napi::Function::New<isNativeSelector>(env));
}

}  // namespace fp
