#include "pinned_memory.h"

#include <v8.h>

#include <cstring>
#include <string>

#include "errors.h"

namespace fp {
namespace {

// N-API hands out napi_value as a v8::Local<v8::Value> (node's js_native_api_v8.h,
// V8LocalValueFromJsValue): the addon is built against this Node's own headers.
v8::Local<v8::Value> toV8(napi_value value) {
  static_assert(sizeof(v8::Local<v8::Value>) == sizeof(napi_value), "napi_value is a v8::Local");
  v8::Local<v8::Value> local;
  std::memcpy(static_cast<void*>(&local), &value, sizeof(value));
  return local;
}

[[noreturn]] void invalid(const std::string& message) { throw ArgumentError(code::kInvalidArgument, message); }

}  // namespace

PinnedMemory pinMemory(const Napi::Value& value, const char* name) {
  const v8::Local<v8::Value> v = toV8(value);
  std::shared_ptr<v8::BackingStore> store;
  size_t offset = 0;
  size_t bytes = 0;
  if (v->IsArrayBufferView()) {
    const auto view = v.As<v8::ArrayBufferView>();
    store = view->Buffer()->GetBackingStore();
    offset = view->ByteOffset();
    bytes = view->ByteLength();
  } else if (v->IsArrayBuffer()) {
    store = v.As<v8::ArrayBuffer>()->GetBackingStore();
    bytes = store->ByteLength();
  } else if (v->IsSharedArrayBuffer()) {
    store = v.As<v8::SharedArrayBuffer>()->GetBackingStore();
    bytes = store->ByteLength();
  } else {
    invalid(std::string("Expected a typed array or an ArrayBuffer for ") + name);
  }
  if (store->IsResizableByUserJavaScript())
    invalid(std::string("Expected ") + name +
            " in a fixed-length buffer but it views a resizable ArrayBuffer, which could shrink while FAISS uses it;"
            " copy it first (new Float32Array(x) or x.slice())");
  PinnedMemory pinned;
  pinned.data = bytes == 0 ? nullptr : static_cast<uint8_t*>(store->Data()) + offset;
  pinned.bytes = bytes;
  pinned.shared = store->IsShared();
  pinned.owner = std::move(store);
  return pinned;
}

}  // namespace fp
