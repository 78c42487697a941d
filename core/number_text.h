// Doubles as text: the one formatter that messages, logs, metrics and files
// share.

#ifndef HPO_CORE_NUMBER_TEXT_H_
#define HPO_CORE_NUMBER_TEXT_H_

#include <string>

namespace hpo {

// A double as people write it, and exactly: printf's %g with the fewest
// significant digits (at least 6) that read back as the same double. "0.1",
// "0.0001", "1e-05", "100000", "1234567", "0.30000000000000004". NaN and
// infinities are "nan", "inf" and "-inf".
std::string NumberText(double value);

}  // namespace hpo

#endif  // HPO_CORE_NUMBER_TEXT_H_
