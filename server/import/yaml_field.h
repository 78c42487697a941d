// Internal to the importers: a parsed YAML or JSON value together with its path
// in the foreign document, and typed readers whose errors name that path, e.g.
// `spec.parameters[2].feasibleSpace.max: "abc" is not a number`.
//
// Foreign specs write numbers both bare (NNI, Kruize) and quoted (Katib keeps
// every bound a string), so the numeric readers accept either. Where the
// difference matters (is an NNI choice option a number or a label?) IsNumber()
// looks only at unquoted scalars.

#ifndef HPO_SERVER_IMPORT_YAML_FIELD_H_
#define HPO_SERVER_IMPORT_YAML_FIELD_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/duration.pb.h"
#include "hpo/v1/hpo.pb.h"
#include "yaml-cpp/yaml.h"

namespace hpo {
namespace import_internal {

class Field {
 public:
  Field(YAML::Node node, std::string path)
      : node_(std::move(node)), path_(std::move(path)) {}
  Field(const Field&) = default;
  // YAML::Node's own assignment writes through to the document; a Field
  // rebinds instead.
  Field& operator=(const Field& other) {
    node_.reset(other.node_);
    path_ = other.path_;
    return *this;
  }

  const std::string& path() const { return path_; }
  const YAML::Node& node() const { return node_; }

  // Given a value: defined, not null, and not an empty string (Katib writes ""
  // for "unset").
  bool IsSet() const;
  bool IsMap() const { return node_.IsMap(); }
  bool IsList() const { return node_.IsSequence(); }
  bool IsScalar() const { return node_.IsScalar(); }
  // An unquoted scalar that reads as a number.
  bool IsNumber() const;
  // A scalar's text as written (without quotes); empty for anything else.
  const std::string& Text() const;

  // The value under `key`, or an unset field if this is not an object or has
  // no such key.
  Field Get(absl::string_view key) const;
  // The first of `keys` that is set, for specs that spell a field several
  // ways (maxTrialNumber, max_trial_number, ...); else the first key, unset.
  Field GetAny(std::initializer_list<absl::string_view> keys) const;
  size_t size() const { return node_.size(); }
  Field At(size_t i) const;
  // An object's entries in document order.
  std::vector<std::pair<std::string, Field>> Entries() const;

  // INVALID_ARGUMENT "<path>: <problem>".
  absl::Status Error(absl::string_view problem) const;
  absl::Status Required() const { return Error("is required"); }

  absl::Status CheckMap() const;
  // A list with at least one element.
  absl::Status CheckNonEmptyList() const;

  // A scalar's text.
  absl::StatusOr<std::string> String() const;
  // A finite number, quoted or not.
  absl::StatusOr<double> Number() const;
  // A whole number within +-2^53, quoted or not.
  absl::StatusOr<int64_t> Integer() const;
  // A whole number in [0, 2^31 - 1]: trial counts.
  absl::StatusOr<int32_t> Count() const;

  // "abc" (quoted), 12, an object, a list or null: for messages.
  std::string Describe() const;

 private:
  YAML::Node node_;
  std::string path_;
};

// `path` extended by an object key: `a.b`, or `a["odd key"]` when the key is
// not a plain word.
std::string ChildPath(absl::string_view path, absl::string_view key);

// Parses one YAML or JSON document, which must be an object. Syntax errors
// read "<where>: line L, column C: <parser message>" (1-based; `where` left
// out when empty). Repeated keys are refused (YAML keeps both, so the spec
// would be ambiguous), and so are documents whose aliases make a cycle or
// too many values to walk.
absl::StatusOr<Field> ParseDocument(const std::string& text,
                                    const std::string& where);

// A string field holding an embedded JSON/YAML document (T9k writes its
// search space and classArgs that way) is parsed in place; anything else is
// returned as it is.
absl::StatusOr<Field> Unwrap(const Field& field);

// Strict number syntax: [+-] digits [. digits] [e [+-] digits]; no inf, nan or
// hex.
bool ParseNumberText(absl::string_view text, double* out);

// A setting's value for Algorithm.settings: a scalar as written, anything
// else as flow YAML text.
std::string SettingText(const Field& field);

// Shared by the importers.

// Sets a trial count (max_trials, ...) from `field` if it is set.
absl::Status SetCount(const Field& field,
                      void (v1::Experiment::*setter)(int32_t),
                      v1::Experiment* experiment);

// The experiment's seed from `field`, a whole number in [0, 2^32 - 1].
absl::Status SetSeed(const Field& field, v1::Experiment* experiment);

// Appends a line to the experiment's description.
void AddNote(absl::string_view note, v1::Experiment* experiment);

// A duration of `seconds` (> 0, at most about 3000 years).
absl::StatusOr<google::protobuf::Duration> SecondsToDuration(
    double seconds, const Field& field);

}  // namespace import_internal
}  // namespace hpo

#endif  // HPO_SERVER_IMPORT_YAML_FIELD_H_
