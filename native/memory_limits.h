// The memory one call may make this process allocate: results and temporary
// buffers of a search or range search, the tables of an index being built.
// FAISS sizes its buffers from the call's parameters (k, nprobe, efSearch, code
// sizes) and allocates without asking, so one request can take gigabytes, and an
// allocation that fails on one of its OpenMP threads aborts the process. Each
// operation estimates what it will allocate (search_memory.h, factory_check.h)
// and is refused with ERR_RESOURCE_LIMIT before anything is allocated when the
// estimate passes the limit. Process-wide; the embedder (the service: per
// request) sets it with setMemoryLimits.
#pragma once

#include <cstdint>
#include <string>

namespace fp {

// Default: 1 GiB per call, a third of what the old fixed bound on nq * k alone
// allowed (2^28 results = 3 GiB), and far above what ordinary calls need.
constexpr int64_t kDefaultPerCallBytes = int64_t{1} << 30;
// The limit cannot be set outside these: below, nothing useful fits; above, the
// estimates (int64 byte counts) would stop meaning anything.
constexpr int64_t kMinPerCallBytes = int64_t{1} << 20;
constexpr int64_t kMaxPerCallBytes = int64_t{1} << 50;

void setPerCallBytes(int64_t bytes);
int64_t perCallBytes();

// Throws ERR_RESOURCE_LIMIT when `bytes` (what `operation` would allocate,
// described by `what`) passes the per-call limit.
void requireWithinLimit(const char* operation, int64_t bytes, const std::string& what);

// Throws ERR_RESOURCE_LIMIT when the process cannot allocate `bytes` now (an
// address-space limit, a container's memory): FAISS allocates a search's
// temporary buffers on its OpenMP threads, where a std::bad_alloc cannot be
// caught and aborts the process, so a large one is tried first (malloc and
// free: reserved address space, no page touched) on the calling thread.
void requireAllocatable(const char* operation, int64_t bytes);

// Saturating arithmetic for estimates built from untrusted sizes.
int64_t addBytes(int64_t a, int64_t b);
int64_t mulBytes(int64_t a, int64_t b);

// "1.5 GiB", for messages.
std::string formatBytes(int64_t bytes);

}  // namespace fp
