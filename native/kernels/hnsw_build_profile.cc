#include "hnsw_build_profile.h"

#include <time.h>

#include <cstdio>
#include <cstdlib>

namespace fp {

int64_t HnswBuildProfile::nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t HnswBuildProfile::threadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

std::unique_ptr<HnswBuildProfile> HnswBuildProfile::startIfAsked(int64_t n, int64_t ntotalBefore, int team) {
  const char* path = std::getenv("FAISS_PROXY_HNSW_BUILD_PROFILE");
  if (!path || !*path) return nullptr;
  return std::unique_ptr<HnswBuildProfile>(new HnswBuildProfile(path, n, ntotalBefore, team));
}

HnswBuildProfile::HnswBuildProfile(std::string path, int64_t n, int64_t ntotalBefore, int team)
    : path_(std::move(path)), n_(n), ntotalBefore_(ntotalBefore), team_(team), startNs_(nowNs()), markNs_(startNs_), markCpuNs_(threadCpuNs()) {}

void HnswBuildProfile::endPhase(const char* name) {
  const int64_t now = nowNs(), cpu = threadCpuNs();
  phases_.push_back({name, now - markNs_, cpu - markCpuNs_});
  markNs_ = now;
  markCpuNs_ = cpu;
}

void HnswBuildProfile::beginLevel(int level, int nodes, int team) {
  Level l{level, nodes, team, nowNs()};
  l.threads.resize(static_cast<size_t>(team));
  levels_.push_back(std::move(l));
}

void HnswBuildProfile::endLevel() {
  Level& l = levels_.back();
  l.wallNs = nowNs() - l.startNs;
  markNs_ = nowNs();
  markCpuNs_ = threadCpuNs();
}

namespace {
double ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }
}  // namespace

HnswBuildProfile::~HnswBuildProfile() {
  FILE* f = std::fopen(path_.c_str(), "a");
  if (!f) return;
  std::fprintf(f, "{\"n\":%lld,\"ntotalBefore\":%lld,\"team\":%d,\"wallMs\":%.3f,\"phases\":{", static_cast<long long>(n_),
               static_cast<long long>(ntotalBefore_), team_, ms(nowNs() - startNs_));
  for (size_t i = 0; i < phases_.size(); i++)
    std::fprintf(f, "%s\"%s\":{\"wallMs\":%.3f,\"cpuMs\":%.3f}", i ? "," : "", phases_[i].name.c_str(),
                 ms(phases_[i].wallNs), ms(phases_[i].cpuNs));
  std::fprintf(f, "},\"levels\":[");
  for (size_t i = 0; i < levels_.size(); i++) {
    const Level& l = levels_[i];
    std::fprintf(f, "%s{\"level\":%d,\"nodes\":%d,\"team\":%d,\"wallMs\":%.3f,\"threads\":[", i ? "," : "", l.level, l.nodes,
                 l.team, ms(l.wallNs));
    for (size_t t = 0; t < l.threads.size(); t++) {
      const HnswBuildThreadTimes& x = l.threads[t];
      std::fprintf(f,
                   "%s{\"nodes\":%lld,\"busyMs\":%.3f,\"cpuMs\":%.3f,\"idleAtEndMs\":%.3f,\"lockWaits\":%lld,"
                   "\"lockWaitMs\":%.3f,\"entryWaits\":%lld,\"entryWaitMs\":%.3f}",
                   t ? "," : "", static_cast<long long>(x.nodes), ms(x.busyNs), ms(x.cpuNs), ms(l.wallNs - x.busyNs),
                   static_cast<long long>(x.lockWaits), ms(x.lockWaitNs), static_cast<long long>(x.entryWaits),
                   ms(x.entryWaitNs));
    }
    std::fprintf(f, "]}");
  }
  std::fprintf(f, "]}\n");
  std::fclose(f);
}

}  // namespace fp
