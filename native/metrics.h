// FAISS 1.7.3's metrics (faiss/MetricType.h): which values name one, and which
// index types can search with the ones beyond L2 and inner product. Those
// ("extra" metrics: L1, Linf, Lp, Canberra, BrayCurtis, JensenShannon) are
// computed by FAISS's extra_distances, which only the flat index uses, alone, as
// HNSW's storage, or under an IDMap. Elsewhere FAISS throws "metric type not
// supported" from inside an OpenMP region (an IVF scanner, an SQ or PQ distance
// computer), which aborts the process: so they are refused before FAISS sees them
// (args.h: metricOf), and in files (validate.cc). No N-API here: the sandbox
// executable links this file too.
#pragma once

#include <faiss/Index.h>

#include <string>

namespace fp {

// Whether m is one of FAISS 1.7.3's MetricType values.
bool isFaissMetric(int64_t m);
// L1, Linf, Lp, Canberra, BrayCurtis or JensenShannon.
bool isExtraMetric(int64_t m);
// "METRIC_L1", ... for messages.
std::string metricName(int64_t m);

// Whether an index (and what it wraps) searches an extra metric without FAISS
// throwing inside a parallel region: a flat index, alone, under IDMap/IDMap2 or
// a pre-transform, or as the storage of an HNSW index.
bool extraMetricSafe(const faiss::Index& index);

}  // namespace fp
