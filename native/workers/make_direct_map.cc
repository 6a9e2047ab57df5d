#include <faiss/IVFlib.h>

#include "../args.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

// IVF indexes need a direct map (id -> list position) before reconstruct(id)
// works, exactly as in Python faiss: makeDirectMap() is make_direct_map(), and
// makeDirectMap("hashtable") is set_direct_map_type(DirectMap.Hashtable), which
// also works when ids were given by the caller rather than assigned in order.
class MakeDirectMapWorker : public IndexWorker {
 public:
  MakeDirectMapWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info)
      : IndexWorker(env, "make_direct_map", wrap) {
    requireWritable();
    // (Not an IVF under a refine index, which reconstructs from its refine copy.)
    if (!faiss::ivflib::try_extract_index_ivf(&index()))
      throw ArgumentError(code::kUnsupported, wrap.typeName() + " has no direct map (only IVF indexes do)");
    const std::string type = info[0].IsUndefined() ? "array" : stringArg(info[0], "type");
    if (type != "array" && type != "hashtable")
      throw ArgumentError(code::kInvalidArgument, "Expected \"array\" or \"hashtable\" for type but received \"" + type + "\"");
    type_ = type == "array" ? faiss::DirectMap::Array : faiss::DirectMap::Hashtable;
  }

 private:
  void Run() override {
    ExclusiveGuard guard(handle().lock());
    faiss::ivflib::extract_index_ivf(&index())->set_direct_map_type(type_);
    handle().refresh(false);
  }

  faiss::DirectMap::Type type_ = faiss::DirectMap::Array;
};

}  // namespace

Napi::Value startMakeDirectMap(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<MakeDirectMapWorker>(info.Env(), wrap, info);
}

}  // namespace fp
