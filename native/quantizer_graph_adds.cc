#include "quantizer_graph_adds.h"

#include <faiss/IndexBinaryHNSW.h>
#include <faiss/IndexHNSW.h>
#include <omp.h>

#include <algorithm>

#include "graph_adds.h"
#include "tuned_index.h"

namespace fp {
namespace {

using idx_t = faiss::Index::idx_t;

// The calling thread's OpenMP team for one add: at most the graph-add cap.
class CappedTeam {
 public:
  CappedTeam() : outer_(omp_get_max_threads()) { omp_set_num_threads(std::max(1, std::min(outer_, graphAddThreads()))); }
  ~CappedTeam() { omp_set_num_threads(outer_); }
  CappedTeam(const CappedTeam&) = delete;
  CappedTeam& operator=(const CappedTeam&) = delete;

 private:
  const int outer_;
};

// Whether adds to graphs are capped and a train adds to this graph quantizer
// (it does not when the quantizer already holds the nlist centroids).
template <typename Quantizer>
bool capsTrainAdds(const Quantizer* quantizer, bool graph, size_t nlist) {
  return graph && graphAddThreads() > 0 && !(quantizer->is_trained && quantizer->ntotal == static_cast<idx_t>(nlist));
}

// What both stand-ins do alike: train and reset forwarded, adds forwarded under
// the graph-add cap, and the counters kept in step with the real quantizer.
// Base: faiss::Index or faiss::IndexBinary; Component: what a vector is made of.
template <typename Base, typename Component>
class StandIn : public Base {
 public:
  void train(idx_t n, const Component* x) override {
    real_->train(n, x);
    sync();
  }
  void add(idx_t n, const Component* x) override {
    {
      CappedTeam team;
      real_->add(n, x);
    }
    sync();
  }
  void add_with_ids(idx_t n, const Component* x, const idx_t* ids) override {
    {
      CappedTeam team;
      real_->add_with_ids(n, x, ids);
    }
    sync();
  }
  void reset() override {
    real_->reset();
    sync();
  }
  void reconstruct(idx_t key, Component* out) const override { real_->reconstruct(key, out); }

  Base* real() const { return real_; }

 protected:
  explicit StandIn(Base* real) : Base(real->d, real->metric_type), real_(real) {
    this->verbose = real->verbose;
    sync();
  }
  Base* const real_;

 private:
  void sync() {
    this->ntotal = real_->ntotal;
    this->is_trained = real_->is_trained;
  }
};

// Every call the IVF's train and residual training make on the quantizer
// (train_q1: train, add; IVFPQ, IVFSQ, fast scan: assign, search,
// compute_residual(_n), reconstruct), forwarded.
class StandInQuantizer final : public StandIn<faiss::Index, float> {
 public:
  explicit StandInQuantizer(faiss::Index* real) : StandIn(real) { metric_arg = real->metric_arg; }
  void search(idx_t n, const float* x, idx_t k, float* D, idx_t* I, const faiss::SearchParameters* p) const override {
    real_->search(n, x, k, D, I, p);
  }
  void range_search(idx_t n, const float* x, float radius, faiss::RangeSearchResult* r,
                    const faiss::SearchParameters* p) const override {
    real_->range_search(n, x, radius, r, p);
  }
  void assign(idx_t n, const float* x, idx_t* labels, idx_t k) const override { real_->assign(n, x, labels, k); }
  void reconstruct_n(idx_t i0, idx_t ni, float* out) const override { real_->reconstruct_n(i0, ni, out); }
  void compute_residual(const float* x, float* residual, idx_t key) const override {
    real_->compute_residual(x, residual, key);
  }
  void compute_residual_n(idx_t n, const float* xs, float* residuals, const idx_t* keys) const override {
    real_->compute_residual_n(n, xs, residuals, keys);
  }
  faiss::DistanceComputer* get_distance_computer() const override { return real_->get_distance_computer(); }
};

// IndexBinaryIVF::train's calls on its quantizer (reset, add) and its add's
// (assign, by search), forwarded.
class StandInBinaryQuantizer final : public StandIn<faiss::IndexBinary, uint8_t> {
 public:
  explicit StandInBinaryQuantizer(faiss::IndexBinary* real) : StandIn(real) {}
  void search(idx_t n, const uint8_t* x, idx_t k, int32_t* D, idx_t* I, const faiss::SearchParameters* p) const override {
    real_->search(n, x, k, D, I, p);
  }
};

}  // namespace

QuantizerGraphAdds::QuantizerGraphAdds(faiss::Index& index) {
  auto* ivf = findTuned<faiss::IndexIVF>(&index);
  if (!ivf || !capsTrainAdds(ivf->quantizer, dynamic_cast<faiss::IndexHNSW*>(ivf->quantizer), ivf->nlist)) return;
  standIn_ = std::make_unique<StandInQuantizer>(ivf->quantizer);
  ivf_ = ivf;
  ivf_->quantizer = standIn_.get();
}

QuantizerGraphAdds::QuantizerGraphAdds(faiss::IndexBinary& index) {
  auto* ivf = dynamic_cast<faiss::IndexBinaryIVF*>(&index);
  if (!ivf || !capsTrainAdds(ivf->quantizer, dynamic_cast<faiss::IndexBinaryHNSW*>(ivf->quantizer), ivf->nlist)) return;
  binaryStandIn_ = std::make_unique<StandInBinaryQuantizer>(ivf->quantizer);
  binaryIvf_ = ivf;
  binaryIvf_->quantizer = binaryStandIn_.get();
}

QuantizerGraphAdds::~QuantizerGraphAdds() {
  // train_q1 marks the quantizer trained (quantizer->is_trained = true): on the stand-in.
  if (ivf_) {
    auto* real = static_cast<StandInQuantizer*>(standIn_.get())->real();
    real->is_trained = real->is_trained || standIn_->is_trained;
    ivf_->quantizer = real;
  }
  if (binaryIvf_) {
    auto* real = static_cast<StandInBinaryQuantizer*>(binaryStandIn_.get())->real();
    real->is_trained = real->is_trained || binaryStandIn_->is_trained;
    binaryIvf_->quantizer = real;
  }
}

}  // namespace fp
