#include "newer_faiss.h"

namespace fp {
namespace {

struct NewerType {
  const char* fourcc;
  const char* what;
};

// From FAISS's impl/index_read.cpp after 1.7.3 (to 1.15): the codes its reader
// knows that 1.7.3's does not. Several are one class's successive layouts.
constexpr NewerType kNewerTypes[] = {
    {"Ixrq", "IndexRaBitQ"},
    {"Ixrr", "IndexRaBitQ (multi-bit)"},
    {"Iwrq", "IndexIVFRaBitQ"},
    {"Iwrr", "IndexIVFRaBitQ (multi-bit)"},
    {"Irfs", "IndexRaBitQFastScan"},
    {"Irfn", "IndexRaBitQFastScan"},
    {"Iwrf", "IndexIVFRaBitQFastScan"},
    {"Iwrn", "IndexIVFRaBitQFastScan"},
    {"IHNc", "IndexHNSWCagra"},
    {"IHc2", "IndexHNSWCagra"},
    {"IHfP", "IndexHNSWFlatPanorama"},
    {"IH00", "IndexHNSW without storage"},
    {"IxFP", "IndexFlatPanorama"},
    {"IxFp", "IndexFlatPanorama"},
    {"IwPn", "IndexIVFFlatPanorama"},
    {"IwP2", "IndexIVFFlatPanorama"},
    {"IxRP", "IndexRefinePanorama"},
    {"ilpn", "Panorama inverted lists"},
    {"ilp2", "Panorama inverted lists"},
    {"IxEd", "IndexEDEN"},
    {"IxEe", "IndexEDEN"},
    {"IwEd", "IndexIVFEDEN"},
    {"IwEe", "IndexIVFEDEN"},
    {"IwIQ", "IndexIVFIndependentQuantizer"},
    {"ISVF", "IndexSVSFlat"},
    {"ISVD", "IndexSVSVamana"},
    {"ISV2", "IndexSVSVamana"},
    {"ISVL", "IndexSVSVamanaLVQ / LeanVec"},
    {"ILVQ", "IndexSVSVamanaLVQ"},
    {"ISID", "IndexSVSIVF"},
    {"ISIQ", "IndexSVSIVFLVQ"},
    {"ISIL", "IndexSVSIVFLeanVec"},
    {"HRot", "HadamardRotation (a vector transform)"},
    {"null", "an absent sub-index"},
};

// The code FAISS's message quotes: `("Iwrq") not recognized` for an index type
// or a vector transform, `as 71727749 ("ilpn")` for inverted lists.
std::string quotedCode(const std::string& message) {
  if (message.find("not recognized") == std::string::npos && message.find("could not load") == std::string::npos)
    return "";
  const auto open = message.find("(\"");
  if (open == std::string::npos) return "";
  const auto close = message.find("\")", open + 2);
  return close == std::string::npos ? "" : message.substr(open + 2, close - open - 2);
}

}  // namespace

std::optional<std::string> newerFaissRefusal(const std::string& message) {
  const std::string fourcc = quotedCode(message);
  for (const auto& t : kNewerTypes) {
    if (fourcc == t.fourcc)
      return std::string("the file was written by a newer FAISS than 1.7.3 (the version this library is built on): it ") +
             "holds " + t.what + " (type \"" + fourcc + "\"), which FAISS 1.7.3 cannot read";
  }
  return std::nullopt;
}

}  // namespace fp
