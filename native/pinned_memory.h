// The memory behind a JS typed array, held for native code that reads or writes it
// off the JS thread. A typed array's ArrayBuffer can lose its memory while a worker
// uses it: transferring it (structuredClone, postMessage) detaches it and hands the
// memory to another owner, which may free it at once. Holding V8's BackingStore
// keeps that memory allocated until the pin is released, without a copy. A
// resizable ArrayBuffer can shrink in place (V8 decommits the pages), which no pin
// prevents, so its views are refused.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace fp {

struct PinnedMemory {
  std::shared_ptr<void> owner;  // the ArrayBuffer's v8::BackingStore
  uint8_t* data = nullptr;
  size_t bytes = 0;
  bool shared = false;  // a SharedArrayBuffer's: other threads may write it meanwhile
};

// Pins the bytes a typed array views (or a whole ArrayBuffer). Throws an
// ArgumentError (ERR_INVALID_ARGUMENT) naming `name` for a value that is neither,
// or whose buffer is resizable.
PinnedMemory pinMemory(const Napi::Value& value, const char* name);

}  // namespace fp
