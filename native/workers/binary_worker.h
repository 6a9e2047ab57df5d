// The worker base of every binary index operation: WrapWorker over BinaryIndexWrap.
#pragma once

#include "../binary_index.h"
#include "promise_worker.h"

namespace fp {

class BinaryWorker : public WrapWorker<BinaryIndexWrap> {
 public:
  using WrapWorker::WrapWorker;

 protected:
  int64_t codeSize() { return index().code_size; }
};

}  // namespace fp
