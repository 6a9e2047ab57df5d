#include "errors.h"

#include "addon_data.h"
#include "newer_faiss.h"

#include <faiss/impl/FaissException.h>

#include <new>

namespace fp {
namespace {

bool contains(const std::string& s, const char* needle) {
  return s.find(needle) != std::string::npos;
}

// read_index, deserialize_index and their binary-index twins (read_index_binary, ...).
bool isReading(const std::string& context) {
  return context.rfind("read_index", 0) == 0 || context.rfind("deserialize_index", 0) == 0;
}

// FAISS messages look like "Error in <signature> at <file>:<line>: <what happened>".
// Users need the last part; the C++ signature only adds noise.
std::string stripLocation(const std::string& msg) {
  const auto at = msg.find(" at ");
  if (msg.rfind("Error in ", 0) != 0 || at == std::string::npos) return msg;
  const auto sep = msg.find(": ", at);
  return sep == std::string::npos ? msg : msg.substr(sep + 2);
}

// FAISS's GPU code reports these as FaissExceptions with CUDA's words in them
// (StandardGpuResources: "alloc fail ... (cudaMalloc error out of memory [2])";
// GpuIndex: "Invalid GPU device 3"; CUDA: "CUDA driver version is insufficient for
// CUDA runtime version"). Only the CUDA build makes them; the text is all there is.
const char* gpuFault(const std::string& msg) {
  if (contains(msg, "out of memory") && (contains(msg, "cuda") || contains(msg, "CUDA") || contains(msg, "GPU")))
    return code::kGpuOutOfMemory;
  if (contains(msg, "Invalid GPU device") || contains(msg, "invalid device ordinal")) return code::kNoSuchDevice;
  if (contains(msg, "driver version is insufficient") || contains(msg, "CUDA driver") ||
      contains(msg, "no CUDA-capable device"))
    return code::kGpuDriver;
  return nullptr;
}

ErrorInfo classifyFaissMessage(const std::string& raw, const std::string& context) {
  const std::string msg = stripLocation(raw);
  const std::string full = context + ": " + msg;
  if (const char* gpu = gpuFault(msg)) return {gpu, full};
  if (contains(msg, "is_trained") || contains(msg, "not trained"))
    return {code::kNotTrained, context + ": the index must be trained before this operation (" + msg + ")"};
  if (contains(msg, "not implemented") || contains(msg, "not supported") ||
      contains(msg, "direct map") || contains(msg, "Hashtable"))
    return {code::kUnsupported, full};
  if (contains(msg, "could not open")) {
    const bool reading = contains(msg, "for reading");
    return {reading && contains(msg, "No such file") ? code::kNotFound : code::kIo, full};
  }
  if ((contains(msg, "key") && contains(msg, "not found")) || contains(msg, "invalid key"))
    return {code::kNotFound, full};
  if (isReading(context)) {
    if (auto newer = newerFaissRefusal(msg)) return {code::kUnsupported, context + ": " + *newer};
    return {code::kCorruptIndex, context + ": not a valid FAISS index (" + msg + ")"};
  }
  if (contains(msg, "could not parse index string") || contains(msg, "parse"))
    return {code::kInvalidArgument, full};
  return {code::kFaiss, full};
}

}  // namespace

ErrorInfo classifyCurrentException(const char* context) {
  try {
    throw;
  } catch (const ArgumentError& e) {
    return e.info;
  } catch (const faiss::FaissException& e) {
    return classifyFaissMessage(e.what(), context);
  } catch (const std::bad_alloc&) {
    // While reading an index, an allocation past the read budget means a size
    // field in the input is absurd (see alloc_guard.h).
    const std::string c(context);
    if (isReading(c))
      return {code::kCorruptIndex, c + ": not a valid FAISS index (it declares sizes far beyond its length)"};
    // Elsewhere it is a limit of this process (an address-space limit, the
    // machine's memory) that the call's estimate did not foresee: the call is
    // refused like one over the per-call limit (memory_limits.h).
    return {code::kResourceLimit, c + ": out of memory (an allocation failed; the process's memory is the limit)"};
  } catch (const std::length_error& e) {
    // std::vector throws this when a size read from a corrupt file is absurd.
    const bool reading = std::string(context).find("index") != std::string::npos;
    return {reading ? code::kCorruptIndex : code::kResourceLimit,
            std::string(context) + ": " + e.what()};
  } catch (const std::exception& e) {
    return classifyFaissMessage(e.what(), context);
  } catch (...) {
    return {code::kFaiss, std::string(context) + ": unknown native error"};
  }
}

void setErrorClass(Napi::Env env, Napi::Function ctor) {
  addonData(env).errorClass = Napi::Persistent(ctor);
}

Napi::Error makeError(Napi::Env env, const ErrorInfo& info) {
  Napi::Object obj;
  auto& errorClass = addonData(env).errorClass;
  if (!errorClass.IsEmpty()) {
    obj = errorClass.New({Napi::String::New(env, info.message),
                            Napi::String::New(env, info.code)});
  } else {
    obj = Napi::Error::New(env, info.message).Value();
    obj.Set("code", info.code);
  }
  return Napi::Error(env, obj);
}

Napi::Value throwError(Napi::Env env, const ErrorInfo& info) {
  makeError(env, info).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace fp
