#include "metrics.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexPreTransform.h>

#include <typeinfo>


namespace fp {

bool isFaissMetric(int64_t m) {
  return m == faiss::METRIC_INNER_PRODUCT || m == faiss::METRIC_L2 || isExtraMetric(m);
}

bool isExtraMetric(int64_t m) {
  return m == faiss::METRIC_L1 || m == faiss::METRIC_Linf || m == faiss::METRIC_Lp || m == faiss::METRIC_Canberra ||
         m == faiss::METRIC_BrayCurtis || m == faiss::METRIC_JensenShannon;
}

std::string metricName(int64_t m) {
  switch (m) {
    case faiss::METRIC_INNER_PRODUCT: return "METRIC_INNER_PRODUCT";
    case faiss::METRIC_L2: return "METRIC_L2";
    case faiss::METRIC_L1: return "METRIC_L1";
    case faiss::METRIC_Linf: return "METRIC_Linf";
    case faiss::METRIC_Lp: return "METRIC_Lp";
    case faiss::METRIC_Canberra: return "METRIC_Canberra";
    case faiss::METRIC_BrayCurtis: return "METRIC_BrayCurtis";
    case faiss::METRIC_JensenShannon: return "METRIC_JensenShannon";
    default: return "metric " + std::to_string(m);
  }
}

bool extraMetricSafe(const faiss::Index& index) {
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index)) return extraMetricSafe(*m->index);
  if (auto* p = dynamic_cast<const faiss::IndexPreTransform*>(&index)) return extraMetricSafe(*p->index);
  if (auto* h = dynamic_cast<const faiss::IndexHNSW*>(&index))
    return typeid(*h) == typeid(faiss::IndexHNSWFlat) && h->storage && extraMetricSafe(*h->storage);
  const auto& type = typeid(index);
  return type == typeid(faiss::IndexFlat) || type == typeid(faiss::IndexFlatL2) || type == typeid(faiss::IndexFlatIP);
}

}  // namespace fp
