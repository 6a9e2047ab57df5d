// Synchronous constructors of the binary index classes: IndexBinaryFlat(d),
// IndexBinaryIVF(quantizer, d, nlist), IndexBinaryHNSW(d, M) and
// indexBinaryFactory(d, description). d is in bits, a multiple of 8.
#pragma once

#include <napi.h>

namespace fp {

// Adds newBinaryFlat, newBinaryIVF, newBinaryHNSW and indexBinaryFactory to `exports`.
void defineBinaryConstructors(Napi::Env env, Napi::Object exports);

}  // namespace fp
