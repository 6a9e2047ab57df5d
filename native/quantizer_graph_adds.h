// The graph an IVF's train builds: with a coarse quantizer that is an HNSW graph
// (IVF<nlist>_HNSW<M>, BIVF<nlist>_HNSW<M>), FAISS's train runs k-means and then
// adds the centroids to the quantizer (IndexIVF::train_q1, IndexBinaryIVF::train).
// That add is an add to a graph like any other (graph_adds.h): with several
// threads its neighbour lists depend on which thread got where first, so two
// replicas trained on the same vectors hold different graphs, and then assign
// added vectors to different lists. Everything else in the train (k-means,
// residual training) gives the same bytes on any thread count
// (test/native/train-threads.test.ts) and keeps its threads.
//
// For the length of a train, the IVF's quantizer is a stand-in that forwards
// every call to the real quantizer and runs the adds on the graph-add cap
// (setGraphAddThreads). The trained index holds the real quantizer again, as
// FAISS's train would have left it on that many threads.
#pragma once

#include <faiss/Index.h>
#include <faiss/IndexBinary.h>
#include <faiss/IndexBinaryIVF.h>
#include <faiss/IndexIVF.h>

#include <memory>

namespace fp {

class QuantizerGraphAdds {
 public:
  // Puts the stand-in in place where `index` (or the IVF under its IDMap,
  // transforms or refine) is an IVF whose untrained quantizer is an HNSW graph
  // and adds to graphs are capped; otherwise does nothing.
  explicit QuantizerGraphAdds(faiss::Index& index);
  explicit QuantizerGraphAdds(faiss::IndexBinary& index);
  // Puts the real quantizer back, also when the train threw.
  ~QuantizerGraphAdds();
  QuantizerGraphAdds(const QuantizerGraphAdds&) = delete;
  QuantizerGraphAdds& operator=(const QuantizerGraphAdds&) = delete;

 private:
  faiss::IndexIVF* ivf_ = nullptr;
  faiss::IndexBinaryIVF* binaryIvf_ = nullptr;
  std::unique_ptr<faiss::Index> standIn_;
  std::unique_ptr<faiss::IndexBinary> binaryStandIn_;
};

}  // namespace fp
