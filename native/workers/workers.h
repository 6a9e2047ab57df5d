// Entry points of the asynchronous operations: each validates its JS arguments,
// queues a worker on the libuv pool and returns a Promise.
#pragma once

#include <napi.h>

namespace fp {

class IndexWrap;

Napi::Value startTrain(IndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startAdd(IndexWrap& wrap, const Napi::CallbackInfo& info);  // (x, ids?)
Napi::Value startSearch(IndexWrap& wrap, const Napi::CallbackInfo& info);
// Synchronous: the search's result, or undefined when it should be queued instead.
Napi::Value searchInline(IndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value searchSubsetInline(IndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startRangeSearch(IndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startRemoveIds(IndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startReconstruct(IndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startReconstructN(IndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startReset(IndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startMergeFrom(IndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startMakeDirectMap(IndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startSerialize(IndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startWriteFile(IndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startExtractAll(IndexWrap& wrap, const Napi::CallbackInfo& info);
// (x, k, nprobe?, efSearch?) -> { distances, labels, vectors }.
Napi::Value startSearchAndReconstruct(IndexWrap& wrap, const Napi::CallbackInfo& info);
// (x, k, labels: increasing BigInt64Array) -> { distances, labels }: the exact k nearest among those labels.
Napi::Value startSearchSubset(IndexWrap& wrap, const Napi::CallbackInfo& info);

// Module-level functions that produce a new index.
Napi::Value startDeserialize(const Napi::CallbackInfo& info);
Napi::Value startReadFile(const Napi::CallbackInfo& info);

}  // namespace fp
