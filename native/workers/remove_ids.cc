#include <faiss/IVFlib.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/invlists/BlockInvertedLists.h>

#include "../args.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

class RemoveIdsWorker : public IndexWorker {
 public:
  RemoveIdsWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info)
      : IndexWorker(env, "remove_ids", wrap) {
    requireWritable();
    ids_ = idArray(info[0], -1, "ids");
  }

 private:
  void Run() override {
    ExclusiveGuard guard(handle().lock());
    ThreadScope threads;
    // IDSelectorBatch, as Python's remove_ids(np.array) uses, except where FAISS
    // insists on IDSelectorArray: an IVF index with a hashtable direct map.
    const auto* ivf = faiss::ivflib::try_extract_index_ivf(&index());
    // A fast-scan IVF's block lists cannot update entries, and FAISS 1.7.3 asks
    // them to inside an OpenMP loop, where the refusal ends the process.
    if (ivf && dynamic_cast<const faiss::BlockInvertedLists*>(ivf->invlists))
      throw ArgumentError(code::kUnsupported, "remove_ids: FAISS 1.7.3 cannot remove from a fast-scan IVF index");
    if (ivf && ivf->direct_map.type == faiss::DirectMap::Hashtable) {
      faiss::IDSelectorArray selector(ids_.n, ids_.data);
      removed_ = index().remove_ids(selector);
    } else {
      faiss::IDSelectorBatch selector(ids_.n, ids_.data);
      removed_ = index().remove_ids(selector);
    }
    handle().refresh(removed_ > 0);
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, static_cast<double>(removed_)); }

  IdArray ids_;
  size_t removed_ = 0;
};

}  // namespace

Napi::Value startRemoveIds(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<RemoveIdsWorker>(info.Env(), wrap, info);
}

}  // namespace fp
