// Destroys index handles on a thread of its own. Freeing a large index takes long
// (a 512 MB flat index: ~0.1 s, `npm run bench:js-thread`), and the last reference
// to a handle is usually dropped on the JS thread: by dispose(), by the garbage
// collection of its wrapper, or when the last operation on a disposed index
// settles. The event loop must not wait for that.
#pragma once

#include <memory>

namespace fp {

class IndexHandle;

// Owns `handle`; when the last copy goes, `handle` is deleted on the release thread
// (inline only while the process exits, or if that thread cannot start).
std::shared_ptr<IndexHandle> releasedOffThread(IndexHandle* handle);

}  // namespace fp
