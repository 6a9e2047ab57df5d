// A numeric payload field's value per label (lib/collections/value-column.ts),
// in memory this addon owns and the JS thread writes through a Float64Array
// over it (an external ArrayBuffer: no copy either way). A selector over it
// (newSelector('valueRange', column, gt, gte, lt, lte)) tests a label's value
// when a search meets the label, so that a filter of one range is not first
// evaluated to a bitmap of every label (bench:collections, 10% cold). The
// memory is shared: the selector, the JS array and the wrapper each hold it, so a
// search keeps reading it after the collection moved to a larger column.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>

namespace fp {

struct ValueColumnData {
  // values[i] is label base + i's value, NaN where the label has none.
  int64_t base = 0;
  int64_t length = 0;
  std::unique_ptr<double[]> values;
};

using ValueColumnRef = std::shared_ptr<const ValueColumnData>;

// The column behind a JS value made by newValueColumn; ERR_INVALID_ARGUMENT otherwise.
ValueColumnRef valueColumnArg(const Napi::Value& v, const char* name);

// Adds newValueColumn(base, length) to `exports`.
void defineValueColumns(Napi::Env env, Napi::Object exports);

}  // namespace fp
