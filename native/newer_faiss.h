// Index files written by a FAISS newer than 1.7.3. A FAISS file names each index
// type, vector transform and kind of inverted lists in it by a four-character
// code (fourcc); 1.7.3's reader stops at one it does not know with
// `... ("Iwrq") not recognized`. The codes later releases added (up to 1.15:
// RaBitQ, CAGRA graphs, Panorama, EDEN, SVS, ...) are listed with the class that
// writes them, so that such a file is refused as ERR_UNSUPPORTED naming its type;
// any other unknown code is a damaged file (ERR_CORRUPT_INDEX), since a few
// garbage bytes read as a code as easily as a new type does.
#pragma once

#include <optional>
#include <string>

namespace fp {

// Why a file in which FAISS's reader (`message`, the text of its exception)
// stopped at a code a newer FAISS writes is refused (ERR_UNSUPPORTED), naming
// the type; nothing for any other message.
std::optional<std::string> newerFaissRefusal(const std::string& message);

}  // namespace fp
