#include "../args.h"
#include "../merge_compat.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

// FAISS's merge_from moves the other index's vectors into this one (the other is
// left empty), so both indexes are locked exclusively, always in the same order
// to rule out a deadlock between a.mergeFrom(b) and b.mergeFrom(a), and checked
// for compatibility (merge_compat.h) before FAISS touches them.
class MergeFromWorker : public IndexWorker {
 public:
  MergeFromWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info)
      : IndexWorker(env, "merge_from", wrap) {
    requireWritable();
    IndexWrap& other = IndexWrap::FromValue(info[0], "other");
    other_ = other.handle();
    if (other_->readOnly()) throw ArgumentError(code::kUnsupported, "The index to merge from was opened memory-mapped, which is read-only");
    if (other_.get() == &handle()) throw ArgumentError(code::kInvalidArgument, "An index cannot be merged into itself");
    addId_ = info.Length() > 1 && !info[1].IsUndefined() ? integerArg(info[1], "addId", 0, int64_t{1} << 53) : 0;
    otherSlot_ = Keep(other.Value());
    otherWrap_ = &other;
  }

 private:
  void Run() override {
    IndexHandle* first = &handle();
    IndexHandle* second = other_.get();
    if (second < first) std::swap(first, second);
    ExclusiveGuard g1(first->lock());
    ExclusiveGuard g2(second->lock());
    // Checked under both locks: a training of either could change the answer.
    requireMergeable(index(), *other_->index());
    ThreadScope threads;
    index().merge_from(*other_->index(), addId_);
    handle().refresh(true);
    other_->refresh(true);
  }

  Napi::Value Result(Napi::Env env) override {
    otherWrap_->syncExternalMemory(env);
    return env.Undefined();
  }

  std::shared_ptr<IndexHandle> other_;
  IndexWrap* otherWrap_ = nullptr;
  uint32_t otherSlot_ = 0;
  int64_t addId_ = 0;
};

}  // namespace

Napi::Value startMergeFrom(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<MergeFromWorker>(info.Env(), wrap, info);
}

}  // namespace fp
