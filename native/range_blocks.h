// A range search's result size is only known as it runs (an unbounded radius
// matches every vector for every query), so the queries run in blocks and the
// call stops with ERR_RESOURCE_LIMIT once the results found so far pass
// `maxResults`. A block holds as many queries as could each match every vector
// within what is left of that bound. Shared by float (search_dispatch.h) and
// binary (binary_search.h) range searches.
#pragma once

#include <faiss/impl/AuxIndexStructures.h>

#include <cstdint>
#include <functional>

namespace fp {

// `searchBlock(i0, nb, part)` range-searches queries i0 .. i0 + nb - 1 into
// `part` (a RangeSearchResult of nb queries); the blocks are joined into `result`.
void rangeSearchInBlocks(int64_t n, int64_t ntotal, int64_t maxResults, faiss::RangeSearchResult* result,
                         const std::function<void(int64_t i0, int64_t nb, faiss::RangeSearchResult* part)>& searchBlock);

}  // namespace fp
