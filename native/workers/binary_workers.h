// Entry points of the binary indexes' asynchronous operations (BinaryIndexWrap's
// methods), on the same worker machinery as the float ones (promise_worker.h).
#pragma once

#include <napi.h>

namespace fp {

class BinaryIndexWrap;

Napi::Value startBinaryTrain(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startBinaryAdd(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info);  // (x, ids?)
Napi::Value startBinarySearch(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info);  // (x, k, nprobe?, efSearch?)
Napi::Value startBinaryRangeSearch(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info);  // (x, radius, nprobe?, efSearch?)
Napi::Value startBinaryRemoveIds(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startBinaryReconstruct(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startBinaryReset(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startBinarySerialize(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startBinaryWriteFile(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info);

// Module-level functions that produce a new binary index.
Napi::Value startDeserializeBinary(const Napi::CallbackInfo& info);  // (buffer, trusted)
Napi::Value startReadBinaryFile(const Napi::CallbackInfo& info);     // (path, trusted)

}  // namespace fp
