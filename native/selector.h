// A user's IDSelector (lib/selectors.ts) as a FAISS selector, built once per JS
// selector object and shared by every call that uses it: the ids are copied into
// it once, and a search holds a reference, so the JS object may be collected
// while a search that uses it runs.
//
// FAISS 1.7.3 has IDSelectorBatch, IDSelectorRange, IDSelectorBitmap and
// IDSelectorNot; the addon adds And, Or and XOr (FAISS 1.7.4's semantics), and
// its own Array selector: FAISS's IDSelectorArray is a linear scan per lookup,
// and IndexFlat's search reads its ids as row numbers without a bounds check
// (knn_L2sqr_by_idx), so an id past ntotal would read outside the index.
#pragma once

#include <faiss/impl/IDSelector.h>
#include <napi.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace fp {

class Selector {
 public:
  // Most terms one selector may hold, counting a shared operand each time it is
  // used (lib/limits.ts LIMITS.selectorTerms): And/Or/XOr of one operand nested
  // n deep would otherwise cost 2^n lookups per id, and the recursion a stack.
  static constexpr int64_t kMaxTerms = 1000;
  // Beyond kMaxTerms, the few the service adds around a caller's selector of its
  // own (lib/limits.ts LIMITS.selectorReservedTerms).
  static constexpr int64_t kReservedTerms = 8;

  virtual ~Selector() = default;
  const faiss::IDSelector& faiss() const { return *sel_; }
  int64_t terms() const { return terms_; }
  // The ids of an IDSelectorArray, or null: an IVF index with a hashtable direct
  // map removes only by a list of ids.
  virtual const std::vector<int64_t>* idList() const { return nullptr; }

 protected:
  std::unique_ptr<faiss::IDSelector> sel_;
  int64_t terms_ = 1;
};

using SelectorRef = std::shared_ptr<const Selector>;

// The selector behind a JS value made by newSelector; ERR_INVALID_ARGUMENT otherwise.
SelectorRef selectorArg(const Napi::Value& v, const char* name);
// As selectorArg, with undefined or null meaning "no selector".
SelectorRef optionalSelectorArg(const Napi::Value& v, const char* name);

// Adds newSelector(kind, ...) and the NativeSelector class to `exports`.
void defineSelectors(Napi::Env env, Napi::Object exports);

}  // namespace fp
