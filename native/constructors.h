// Synchronous constructors of the index classes (IndexFlatL2(d), IndexIVFPQ(...),
// indexFactory(d, "..."), ...). Building an empty index is cheap, so these do not
// go through the thread pool.
#pragma once

#include <napi.h>

namespace fp {

// Adds newFlat, newIVFFlat, newIVFPQ, newHNSWFlat, newPQ, newScalarQuantizer,
// newIDMap, newIDMap2, newPreTransform, newRefineFlat and indexFactory to `exports`.
void defineConstructors(Napi::Env env, Napi::Object exports);

}  // namespace fp
