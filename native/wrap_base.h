// What the JS-visible index wrappers share (IndexWrap over faiss::Index,
// BinaryIndexWrap over faiss::IndexBinary): the handle that outlives dispose() for
// the operations in flight, V8's account of the memory it holds, and the
// properties every index has (d, ntotal, isTrained, typeName, bytes, version,
// disposed, the tunables) with dispose(). Each wrapper adds its own to
// commonProperties() in its DefineClass.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "errors.h"
#include "tunable_accessors.h"

namespace fp {

template <typename Derived, typename HandleT>
class WrapBase : public Napi::ObjectWrap<Derived> {
 public:
  using Handle = HandleT;

  // The live handle, or an ERR_DISPOSED error once dispose() ran.
  std::shared_ptr<HandleT> handle() const {
    if (!handle_) throw makeError(this->Env(), {code::kDisposed, "This index has been disposed; it cannot be used any more"});
    return handle_;
  }
  // Tells V8 how much memory the index holds, so GC pressure reflects it.
  void syncExternalMemory(Napi::Env env) {
    const int64_t now = handle_ ? handle_->bytes() : 0;
    if (now != reportedBytes_) {
      Napi::MemoryManagement::AdjustExternalMemory(env, now - reportedBytes_);
      reportedBytes_ = now;
    }
  }
  const std::string& typeName() const { return typeName_; }

 protected:
  using Properties = std::vector<Napi::ClassPropertyDescriptor<Derived>>;

  explicit WrapBase(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {}
  // The V8 heap may be gone at teardown; only adjust memory while the handle lives.
  ~WrapBase() override { handle_.reset(); }

  // The accessors and dispose() of every index wrapper. (Runtime descriptors: a
  // member of this base cannot be a template argument naming Derived's members.)
  static Properties commonProperties() {
    using W = Napi::ObjectWrap<Derived>;
    return {
        W::InstanceAccessor("d", &WrapBase::GetD, nullptr),
        W::InstanceAccessor("ntotal", &WrapBase::GetNtotal, nullptr),
        W::InstanceAccessor("isTrained", &WrapBase::GetIsTrained, nullptr),
        W::InstanceAccessor("typeName", &WrapBase::GetTypeName, nullptr),
        W::InstanceAccessor("bytes", &WrapBase::GetBytes, nullptr),
        W::InstanceAccessor("version", &WrapBase::GetVersion, nullptr),
        W::InstanceAccessor("disposed", &WrapBase::GetDisposed, nullptr),
        W::InstanceAccessor("nprobe", &WrapBase::GetNprobe, &WrapBase::SetNprobe),
        W::InstanceAccessor("efSearch", &WrapBase::GetEfSearch, &WrapBase::SetEfSearch),
        W::InstanceAccessor("efConstruction", &WrapBase::GetEfConstruction, &WrapBase::SetEfConstruction),
        W::InstanceAccessor("kmeansSeed", &WrapBase::GetKmeansSeed, &WrapBase::SetKmeansSeed),
        W::InstanceAccessor("nlist", &WrapBase::GetNlist, nullptr),
        W::InstanceMethod("dispose", &WrapBase::Dispose),
    };
  }

  std::shared_ptr<HandleT> handle_;
  int d_ = 0;
  std::string typeName_;

 private:
  Napi::Value GetD(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), d_); }
  Napi::Value GetTypeName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), typeName_); }
  Napi::Value GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !handle_); }
  Napi::Value GetNtotal(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(handle()->ntotal()));
  }
  Napi::Value GetIsTrained(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), handle()->isTrained()); }
  Napi::Value GetBytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(handle()->bytes()));
  }
  Napi::Value GetVersion(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(handle()->version()));
  }

  Napi::Value GetNprobe(const Napi::CallbackInfo& info) { return getTunable(info.Env(), *handle(), Tunable::kNprobe); }
  void SetNprobe(const Napi::CallbackInfo& info, const Napi::Value& v) {
    setTunable(info.Env(), *handle(), Tunable::kNprobe, typeName_, v);
  }
  Napi::Value GetEfSearch(const Napi::CallbackInfo& info) { return getTunable(info.Env(), *handle(), Tunable::kEfSearch); }
  void SetEfSearch(const Napi::CallbackInfo& info, const Napi::Value& v) {
    setTunable(info.Env(), *handle(), Tunable::kEfSearch, typeName_, v);
  }
  Napi::Value GetEfConstruction(const Napi::CallbackInfo& info) {
    return getTunable(info.Env(), *handle(), Tunable::kEfConstruction);
  }
  void SetEfConstruction(const Napi::CallbackInfo& info, const Napi::Value& v) {
    setTunable(info.Env(), *handle(), Tunable::kEfConstruction, typeName_, v);
  }

  Napi::Value GetKmeansSeed(const Napi::CallbackInfo& info) { return getKmeansSeed(info.Env(), *handle()); }
  Napi::Value GetNlist(const Napi::CallbackInfo& info) {
    const int64_t n = handle()->nlist();
    return n > 0 ? Napi::Number::New(info.Env(), static_cast<double>(n)) : info.Env().Undefined();
  }
  void SetKmeansSeed(const Napi::CallbackInfo& info, const Napi::Value& v) {
    setKmeansSeed(info.Env(), *handle(), typeName_, v);
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    // Operations in flight keep their own reference; the memory goes when they end.
    handle_.reset();
    syncExternalMemory(info.Env());
    return info.Env().Undefined();
  }

  int64_t reportedBytes_ = 0;
};

}  // namespace fp
