// Small text and file helpers shared by the other parts of hpoctl.

#ifndef HPO_CLI_TEXT_H_
#define HPO_CLI_TEXT_H_

#include <string>

namespace hpo::cli {

// The whole file at `path` into `out`; false when it cannot be opened (errno
// says why).
bool ReadFile(const std::string& path, std::string* out);

// The folder of `path`: "a/b" for "a/b/c.yaml", "." for "c.yaml".
std::string Dirname(const std::string& path);

// A plain decimal number as YAML and NNI write it: "1", "-2.5", ".5", "1e-3".
// No inf, nan or hex.
bool LooksNumeric(const std::string& s);

}  // namespace hpo::cli

#endif  // HPO_CLI_TEXT_H_
