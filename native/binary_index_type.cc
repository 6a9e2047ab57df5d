#include "binary_index_type.h"

#include <cxxabi.h>
#include <faiss/IndexIDMap.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

namespace fp {

std::string binaryIndexTypeName(const faiss::IndexBinary& index) {
  // IndexBinaryIDMap is a class template instance in C++; report Python's names.
  if (dynamic_cast<const faiss::IndexBinaryIDMap2*>(&index)) return "IndexBinaryIDMap2";
  if (dynamic_cast<const faiss::IndexBinaryIDMap*>(&index)) return "IndexBinaryIDMap";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(typeid(index).name(), nullptr, nullptr, &status), std::free);
  std::string name = status == 0 ? demangled.get() : typeid(index).name();
  const std::string prefix = "faiss::";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

}  // namespace fp
