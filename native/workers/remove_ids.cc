#include <faiss/IVFlib.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/invlists/BlockInvertedLists.h>

#include "../args.h"
#include "../selector.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

// removeIds(ids) or removeIds(selector).
class RemoveIdsWorker : public IndexWorker {
 public:
  RemoveIdsWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info)
      : IndexWorker(env, "remove_ids", wrap) {
    requireWritable();
    if (info[0].IsTypedArray()) {
      ids_ = idArray(info[0], -1, "ids");
    } else {
      selector_ = selectorArg(info[0], "ids");
    }
  }

 private:
  void Run() override {
    ExclusiveGuard guard(handle().lock());
    ThreadScope threads;
    // A fast-scan IVF's block lists cannot update entries, and FAISS 1.7.3 asks
    // them to inside an OpenMP loop, where the refusal ends the process.
    const auto* ivf = faiss::ivflib::try_extract_index_ivf(&index());
    if (ivf && dynamic_cast<const faiss::BlockInvertedLists*>(ivf->invlists))
      throw ArgumentError(code::kUnsupported, "remove_ids: FAISS 1.7.3 cannot remove from a fast-scan IVF index");
    removed_ = selector_ ? removeSelected() : removeListed(ids_.data, ids_.n);
    handle().refresh(removed_ > 0);
  }

  // IDSelectorBatch, as Python's remove_ids(np.array) uses, except where FAISS
  // insists on IDSelectorArray: an IVF index with a hashtable direct map.
  size_t removeListed(const int64_t* ids, int64_t n) {
    if (hashtableIvf()) {
      faiss::IDSelectorArray selector(n, ids);
      return index().remove_ids(selector);
    }
    faiss::IDSelectorBatch selector(n, ids);
    return index().remove_ids(selector);
  }

  size_t removeSelected() {
    if (!hashtableIvf()) return index().remove_ids(selector_->faiss());
    if (const auto* ids = selector_->idList()) return removeListed(ids->data(), static_cast<int64_t>(ids->size()));
    // The hashtable knows every stored id: the selected ones become the list.
    auto* ivf = dynamic_cast<faiss::IndexIVF*>(&index());
    if (!ivf)
      throw ArgumentError(code::kUnsupported,
                          "removeIds: an IVF index with a hashtable direct map inside another index removes only by "
                          "a list of ids (an array or IDSelectorArray)");
    std::vector<int64_t> selected;
    for (const auto& entry : ivf->direct_map.hashtable) {
      if (selector_->faiss().is_member(entry.first)) selected.push_back(entry.first);
    }
    return removeListed(selected.data(), static_cast<int64_t>(selected.size()));
  }

  bool hashtableIvf() {
    const auto* ivf = faiss::ivflib::try_extract_index_ivf(&index());
    return ivf && ivf->direct_map.type == faiss::DirectMap::Hashtable;
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, static_cast<double>(removed_)); }

  IdArray ids_;
  SelectorRef selector_;
  size_t removed_ = 0;
};

}  // namespace

Napi::Value startRemoveIds(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<RemoveIdsWorker>(info.Env(), wrap, info);
}

}  // namespace fp
