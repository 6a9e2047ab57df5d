// Destroys index handles on a thread of its own. Freeing a large index takes long
// (a 512 MB flat index: ~0.1 s, `npm run bench:js-thread`), and the last reference
// to a handle is usually dropped on the JS thread: by dispose(), by the garbage
// collection of its wrapper, or when the last operation on a disposed index
// settles. The event loop must not wait for that.
#pragma once

#include <memory>

namespace fp {

class HandleCore;

// Deletes `handle` on the release thread (inline only while the process exits, or
// if that thread cannot start).
void releaseOffThread(HandleCore* handle) noexcept;
// Registers the release thread's exit hook, while nothing is being released.
void prepareRelease();

// Owns `handle` (an IndexHandle, a BinaryIndexHandle); when the last copy goes,
// `handle` is deleted on the release thread.
template <typename Handle>
std::shared_ptr<Handle> releasedOffThread(Handle* handle) {
  prepareRelease();
  return std::shared_ptr<Handle>(handle, [](Handle* h) { releaseOffThread(h); });
}

}  // namespace fp
