// Where the wall time of the addon's HNSW construction (kernels/hnsw_build.h)
// goes, for `npm run bench:faiss -- --profile-build`: per level, the region's
// wall time and, per thread, how long it worked, its CPU time, how long it then
// waited for the others at the level's end, and how long it waited for node
// locks and the entry point. The build's CPU time can be below FAISS's while its
// wall time is above; only a split like this one tells where threads sat idle.
//
// Off unless the environment names a file (FAISS_PROXY_HNSW_BUILD_PROFILE, read
// at each build): then each build appends one JSON line to it. Off, the build
// pays one getenv per add call and nothing per vector.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fp {

// What one thread did in one level's parallel region.
struct HnswBuildThreadTimes {
  int64_t nodes = 0;
  int64_t busyNs = 0;         // from the region's start to the end of its share
  int64_t cpuNs = 0;          // its CPU time over its share
  int64_t lockWaits = 0;      // node locks found held by another thread
  int64_t lockWaitNs = 0;     // ... and the time spent waiting for them
  int64_t entryWaits = 0;     // the entry point's mutex found held
  int64_t entryWaitNs = 0;
};

class HnswBuildProfile {
 public:
  // A profile of this call, or null when none is asked for.
  static std::unique_ptr<HnswBuildProfile> startIfAsked(int64_t n, int64_t ntotalBefore, int team);
  ~HnswBuildProfile();  // appends the JSON line (errors writing it are ignored)

  // Ends the serial phase running since the last mark (or the start), naming it:
  // its wall time and the calling thread's CPU time.
  void endPhase(const char* name);
  // A level's region: `team` threads, `nodes` insertions.
  void beginLevel(int level, int nodes, int team);
  // The thread's times for the level begun last (each thread its own slot).
  HnswBuildThreadTimes& thread(int t) { return levels_.back().threads[static_cast<size_t>(t)]; }
  int64_t levelStartNs() const { return levels_.back().startNs; }
  void endLevel();

  static int64_t nowNs();
  static int64_t threadCpuNs();

 private:
  struct Level {
    int level;
    int nodes;
    int team;
    int64_t startNs;
    int64_t wallNs = 0;
    std::vector<HnswBuildThreadTimes> threads;
  };
  HnswBuildProfile(std::string path, int64_t n, int64_t ntotalBefore, int team);

  std::string path_;
  int64_t n_, ntotalBefore_;
  int team_;
  int64_t startNs_, markNs_, markCpuNs_;
  struct Phase {
    std::string name;
    int64_t wallNs, cpuNs;
  };
  std::vector<Phase> phases_;
  std::vector<Level> levels_;
};

}  // namespace fp
