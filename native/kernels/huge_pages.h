// Huge pages under the memory an HNSW search reads at random. Each step of the
// search reads one neighbour list and about ten stored vectors from anywhere in
// tens of megabytes: with 4 KiB pages nearly every such read also misses the
// TLB, and a prefetch that misses it does not hide the miss. FAISS keeps that
// memory in plain std::vectors, which get no huge pages where transparent huge
// pages are on "madvise" (Debian's default) unless glibc is told to ask for
// them (GLIBC_TUNABLES=glibc.malloc.hugetlb=1: `npm start` sets it, an
// embedding application or a bench may not). So the kernel asks itself:
// madvise(MADV_HUGEPAGE), then MADV_COLLAPSE (Linux 6.1) to move what the
// region already holds onto huge pages now (figures: bench/RESULTS.md, under
// bench:kernel-hnsw).
//
// Only whole 2 MiB pages inside the region are advised, so no memory is added,
// and the data are unchanged (the OS copies them). Collapsing copies, and may
// compact memory first, so a call collapses at most one huge page of each
// region: the first searches of an index (and the first after an add moved its
// arrays) each pay a bounded share until the region is done, rather than one
// search paying for all of it. Where the system refuses
// (THP "never", an older kernel, no free huge page) the pages stay as they were.
#pragma once

#include <cstddef>

namespace fp {

// Asks for huge pages under [data, data + bytes) (regions under 4 MiB are left
// as they are), continuing where the last call on the same region stopped.
void adviseHugePages(const void* data, size_t bytes);

// The same for the whole region at once, for a call that then reads it at
// random for seconds (an HNSW build, kernels/hnsw_build.h): collapsing tens of
// megabytes costs milliseconds there.
void adviseHugePagesNow(const void* data, size_t bytes);

}  // namespace fp
