// The addon's own IndexIVFFlat k-NN search (switch: KernelSwitches::ivfScan): for
// batches, and for one query (filtered by a selector too) split across two cores (ivf_scan.cc, "One query").
//
// FAISS 1.7.3 scans a batch query by query: each query reads every list it probes,
// so a list probed by many queries of the batch is read from memory as many times
// (the scan is bound by memory, not arithmetic: ~85% of an IVF1024,Flat batch is
// fvec_L2sqr waiting on loads). This search takes IndexIVF::search's steps with
// parallel_mode 0 (the same slices of queries, each assigned by the quantizer's
// own search; the same lists per query, nprobe and max_codes honoured alike) but
// computes the distances list by list: every query of a block that probes a list
// meets its vectors while they are in cache (exact_distances.h: FAISS's values,
// bit for bit). Then each query's heap takes its distances in FAISS's order, list
// after list as the query probes them, so its answers are FAISS's: labels and
// distances, ties included.
#pragma once

#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/IDSelector.h>

#include <cstdint>

#include "stats.h"

namespace fp {

// Whether the kernel searches `index` (kAnswers; `index` is then an
// IndexIVFFlat): the switch is on and `index` is an IndexIVFFlat (exactly: no
// subclass; else kNotItsSearch) with L2 or inner-product metric (else kMetric),
// parallel_mode 0 and in-memory or memory-mapped lists (else kSettings),
// distances exact_distances.h reproduces exactly (else kDistances), and either
// one query or a batch large enough that each thread's slice of queries probes
// every list twice on average (n / threads * nprobe >= 2 * nlist; else
// kSmallBatch). `nprobe` the call's
// (negative: the index's own). A k or nprobe FAISS refuses is kNotItsSearch.
// With a selector (FAISS's SearchParameters::sel): one query only (a filtered batch is kNotItsSearch), and not a
// sorted IDSelectorRange (FAISS narrows each list to its range of ids). Its answers are FAISS's too: each row's id
// asked about in order, the distances of the rows selected only.
Fit ivfScanFit(const faiss::Index& index, int64_t nprobe, int64_t n, int64_t k, const faiss::IDSelector* sel = nullptr);

// What IndexIVF::search answers for an index ivfScanFit takes, with the call's
// nprobe (negative: the index's own) and the index's max_codes.
void ivfScan(const faiss::IndexIVFFlat& index, int64_t nprobe, int64_t n, const float* x, int64_t k, float* distances,
             int64_t* labels, const faiss::IDSelector* sel = nullptr);

// The most the kernel allocates per OpenMP thread besides FAISS's own buffers
// (its distance buffer), for the per-call memory estimate.
int64_t ivfScanBufferBytes();

}  // namespace fp
