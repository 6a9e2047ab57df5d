// Huge pages under the memory an HNSW search reads at random. Each step of the
// search reads one neighbour list and about ten stored vectors from anywhere in
// tens of megabytes: with 4 KiB pages nearly every such read also misses the
// TLB, and a prefetch that misses it does not hide the miss. FAISS keeps that
// memory in plain std::vectors, which get no huge pages where transparent huge
// pages are on "madvise" (Debian's default) unless glibc is told to ask for
// them (GLIBC_TUNABLES=glibc.malloc.hugetlb=1: `npm start` sets it, an
// embedding application or a bench may not). So the kernel asks itself:
// madvise(MADV_HUGEPAGE), then MADV_COLLAPSE (Linux 6.1) to move what the
// region already holds onto huge pages now (bench:faiss: 12-20% less CPU per
// HNSW batch on this machine).
//
// Only whole 2 MiB pages inside the region are advised, so no memory is added,
// and the data are unchanged (the kernel copies them). Collapsing copies, so a
// call collapses at most one huge page of each region: the first searches of
// an index (and the first after an add moved its arrays) each pay a bounded
// share, 1-20 ms, until the region is done. Where the system refuses
// (THP "never", an older kernel, no free huge page) the pages stay as they were.
#pragma once

#include <cstddef>

namespace fp {

// Asks for huge pages under [data, data + bytes) (regions under 4 MiB are left
// as they are), continuing where the last call on the same region stopped.
void adviseHugePages(const void* data, size_t bytes);

}  // namespace fp
