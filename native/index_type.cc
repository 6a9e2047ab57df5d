#include "index_type.h"

#include <cxxabi.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>

#include "device_index.h"

#include <cstdlib>
#include <memory>
#include <typeinfo>

namespace fp {

std::string indexTypeName(const faiss::Index& index) {
  if (auto* gpu = dynamic_cast<const DeviceIndex*>(&index)) return gpu->typeName();
  // IndexIDMap is a class template in C++; report the names Python uses.
  if (dynamic_cast<const faiss::IndexIDMap2*>(&index)) return "IndexIDMap2";
  if (dynamic_cast<const faiss::IndexIDMap*>(&index)) return "IndexIDMap";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(typeid(index).name(), nullptr, nullptr, &status), std::free);
  std::string name = status == 0 ? demangled.get() : typeid(index).name();
  const std::string prefix = "faiss::";
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  if (name == "IndexFlat") {
    // FAISS reads an IndexFlatL2 file back as IndexFlat; name it by its metric.
    if (index.metric_type == faiss::METRIC_L2) return "IndexFlatL2";
    if (index.metric_type == faiss::METRIC_INNER_PRODUCT) return "IndexFlatIP";
  }
  return name;
}

bool gainsFromBatching(const faiss::Index& index) {
  // A GPU answers a batch in about the time of one query, whatever the index type.
  if (dynamic_cast<const DeviceIndex*>(&index)) return true;
  // IndexIDMap2 derives from IndexIDMap: both are seen through here.
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index)) return gainsFromBatching(*m->index);
  // The exact classes: IndexFlat1D, say, derives from IndexFlatL2 but searches otherwise.
  const auto& type = typeid(index);
  return type == typeid(faiss::IndexFlat) || type == typeid(faiss::IndexFlatL2) || type == typeid(faiss::IndexFlatIP);
}

}  // namespace fp
