#include "factory_check.h"

#include <algorithm>
#include <regex>
#include <vector>

#include "errors.h"
#include "memory_limits.h"

namespace fp {
namespace {

// Components FAISS's factory knows that this binding does not build.
const std::regex kRefused(
    "(NSG|RQ|LSQ|PRQ|PLSQ|RFlat|Refine|IMI|Residual|ITQ|RR|Pad|MinMax|ZnLattice|FlatDedup).*|.*[()+].*|"
    "IVF[0-9]+_NSG.*");
const std::regex kTransform("(PCA|PCAW|PCAR|PCAWR)([0-9]+)|L2[nN]orm|OPQ([0-9]+)(_([0-9]+))?");
// "np": no polysemous training (FAISS trains 8-bit PQs for Hamming-distance
// filtering by default, which costs seconds on a few thousand vectors).
const std::regex kPQ("PQ([0-9]+)(x([0-9]+))?(np)?");
// Fast-scan PQ: 4-bit codes in blocks of bbs vectors (_<bbs>); "r": an IVF's
// codes encode residuals (FAISS parses it under an IVF only).
const std::regex kPQFastScan("PQ([0-9]+)x4fs(r?)(_([0-9]+))?");
const std::regex kSQ("SQ(4|6|8|fp16)");
const std::regex kHNSW("HNSW([0-9]*)");
const std::regex kHNSWJoined("HNSW([0-9]*)_(.+)");  // FAISS's older spelling of HNSW<M>,<codes>
const std::regex kLSH("LSHr?t?");
const std::regex kIVF("IVF([0-9]+)(_HNSW([0-9]*))?");

// Bytes of HNSW graph per node and unit of M: level 0 holds 2M int32 links (8M
// bytes), the upper levels a fraction of that more.
constexpr int64_t kHnswBytesPerM = 10;

const std::string kAccepted =
    "accepted: [IDMap,|IDMap2,] then PCA<n>, PCAW<n>, PCAR<n>, PCAWR<n>, L2norm, OPQ<M>[_<n>] transforms, then Flat, "
    "PQ<M>[x<nbits>][np], PQ<M>x4fs, SQ4|SQ6|SQ8|SQfp16, LSH, HNSW<M>[,Flat|,PQ<M>[np]|,SQ*] or "
    "IVF<nlist>[_HNSW<M>],Flat|PQ<M>[x<nbits>][np]|PQ<M>x4fs[r]|SQ*, then optionally ,RFlat";

struct Parser {
  const std::string& description;
  int64_t d;
  int64_t bytes = 0;  // what building and training allocates
  int64_t pqM = 0;    // the last PQ's shape, 0 when none
  int64_t pqBits = 0;

  [[noreturn]] void invalid(const std::string& why) const {
    throw ArgumentError(code::kInvalidArgument, "indexFactory(" + std::to_string(d) + ", \"" + description + "\"): " + why);
  }

  // A decimal size; a number too large for FAISS's int is out of range too.
  int64_t size(const std::string& digits, const char* name, int64_t min, int64_t max) const {
    if (digits.size() > 12 || std::stoll(digits) < min || std::stoll(digits) > max)
      invalid(std::string("expected ") + name + " between " + std::to_string(min) + " and " + std::to_string(max) +
              " but it is " + digits);
    return std::stoll(digits);
  }

  void pq(int64_t dim, const std::string& m, const std::string& bits) {
    const int64_t M = size(m, "the PQ's number of sub-quantizers M", 1, dim);
    if (dim % M != 0)
      invalid("PQ" + m + ": M (" + m + ") must divide the dimension it encodes (" + std::to_string(dim) + ")");
    const int64_t nbits = bits.empty() ? 8 : size(bits, "the PQ's bits per code nbits", 1, kMaxPqBits);
    bytes = addBytes(bytes, pqTablesBytes(dim, nbits));
    pqM = M;
    pqBits = nbits;
  }

  // Flat, PQ<M>[x<nbits>], PQ<M>x4fs or SQ*: how vectors are stored (`allowBits`:
  // PQ may choose nbits and fast scan; under HNSW FAISS fixes nbits at 8;
  // `ivf`: under an IVF, whose fast scan may encode residuals).
  void codes(const std::string& token, bool allowBits, bool ivf) {
    std::smatch m;
    if (token == "Flat" || std::regex_match(token, kSQ)) return;
    if (std::regex_match(token, m, kPQ) && (allowBits || !m[2].matched)) return pq(d, m[1], m[3]);
    if (allowBits && std::regex_match(token, m, kPQFastScan) && (ivf || m[2].length() == 0)) {
      // The block size bbs: FAISS 1.7.3 compiles its fast-scan kernels for other
      // sizes than 32 only for some numbers of queries and throws inside an
      // OpenMP region on the others (PQ4x4fs_64 with 20 queries ends the
      // process); 0 divides by zero.
      if (m[4].matched && m[4].str() != "32")
        invalid("PQ fast scan: the block size bbs (" + m[4].str() + ") must be 32, its default");
      return pq(d, m[1], "4");
    }
    unknown(token);
  }

  void hnswM(const std::string& digits) {
    if (!digits.empty()) size(digits, "HNSW's M (neighbours per node)", kMinHnswM, kMaxHnswM);
  }

  [[noreturn]] void unknown(const std::string& token) const {
    if (std::regex_match(token, kRefused))
      throw ArgumentError(code::kUnsupported,
                          "indexFactory: \"" + token + "\" in \"" + description + "\" is not supported (" + kAccepted + ")");
    invalid("could not parse \"" + token + "\" (" + kAccepted + ")");
  }

  void parse() {
    std::vector<std::string> tokens;
    size_t start = 0;
    for (;;) {
      const size_t comma = description.find(',', start);
      tokens.push_back(description.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    // ",RFlat": the whole index refined by a flat copy of the vectors (FAISS
    // parses it first). Not over an IDMap: the refine step looks vectors up by
    // the ids it is handed, which must be positions (it aborted on others).
    if (tokens.size() > 1 && tokens.back() == "RFlat") {
      tokens.pop_back();
      if (tokens[0] == "IDMap" || tokens[0] == "IDMap2")
        throw ArgumentError(code::kUnsupported, "indexFactory: \"" + description +
                                                    "\": RFlat cannot refine an IDMap");
    }
    size_t i = 0;
    if (tokens.size() > 1 && (tokens[0] == "IDMap" || tokens[0] == "IDMap2")) i++;
    std::smatch m;
    for (; i + 1 < tokens.size() && std::regex_match(tokens[i], m, kTransform); i++) {
      if (m[2].matched) {
        d = size(m[2], "the PCA's output dimension", 1, d);
      } else if (m[3].matched) {
        const int64_t out = m[5].matched ? size(m[5], "the OPQ's output dimension", 1, d) : d;
        const int64_t M = size(m[3], "the OPQ's number of sub-quantizers M", 1, out);
        if (out % M != 0) invalid("OPQ" + m[3].str() + ": M must divide the output dimension (" + std::to_string(out) + ")");
        d = out;
      }
    }
    const std::vector<std::string> rest(tokens.begin() + static_cast<std::ptrdiff_t>(i), tokens.end());
    if (rest.empty() || rest[0].empty()) invalid("expected an index after the transforms");
    const std::string& head = rest[0];
    if (rest.size() == 1 && std::regex_match(head, m, kHNSW)) return hnswM(m[1]);
    if (rest.size() == 1 && std::regex_match(head, m, kHNSWJoined)) {
      hnswM(m[1]);
      return codes(m[2], false, false);
    }
    if (rest.size() == 1 && std::regex_match(head, kLSH)) return;
    if (rest.size() == 1) return codes(head, true, false);
    if (rest.size() == 2 && std::regex_match(head, m, kHNSW)) {
      hnswM(m[1]);
      return codes(rest[1], false, false);
    }
    if (rest.size() == 2 && std::regex_match(head, m, kIVF)) {
      const int64_t nlist = size(m[1], "IVF's number of lists nlist", 1, kMaxNlist);
      if (m[2].matched) hnswM(m[3]);
      bytes = addBytes(bytes, ivfBytes(d, nlist));
      if (m[2].matched) bytes = addBytes(bytes, mulBytes(nlist, kHnswBytesPerM * (m[3].length() ? std::stoll(m[3]) : 32)));
      codes(rest[1], true, true);
      if (pqM > 0) bytes = addBytes(bytes, ivfpqTableBytes(nlist, pqM, pqBits));
      return;
    }
    for (const auto& token : rest)
      if (std::regex_match(token, kRefused)) unknown(token);
    unknown(rest.size() == 1 ? head : description);
  }
};

}  // namespace

int64_t pqTablesBytes(int64_t d, int64_t nbits) {
  // The codebook: d floats for each of the 2^nbits centroids of a sub-quantizer.
  return mulBytes(mulBytes(d, int64_t{1} << nbits), 4);
}

int64_t ivfBytes(int64_t d, int64_t nlist) {
  // Trained centroids (nlist x d floats) and the empty inverted lists (two
  // std::vectors, 48 bytes, per list).
  return mulBytes(nlist, addBytes(mulBytes(d, 4), 48));
}

int64_t ivfpqTableBytes(int64_t nlist, int64_t M, int64_t nbits) {
  return std::min(mulBytes(mulBytes(nlist, M), mulBytes(int64_t{1} << nbits, 4)), int64_t{2} << 30);
}

void checkFactory(int64_t d, const std::string& description) {
  Parser parser{description, d};
  parser.parse();
  requireWithinLimit("indexFactory", parser.bytes, "codebooks, centroids and inverted lists of \"" + description + "\"");
}

}  // namespace fp
