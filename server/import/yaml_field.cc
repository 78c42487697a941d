#include "server/import/yaml_field.h"

#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/number_text.h"
#include "yaml-cpp/depthguard.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/parser.h"

namespace hpo {
namespace import_internal {
namespace {

// Remembers where the last document started; ignores everything else.
class DocumentStarts : public YAML::EventHandler {
 public:
  const YAML::Mark& last() const { return last_; }

  void OnDocumentStart(const YAML::Mark& mark) override { last_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  YAML::Mark last_;
};

// Integers beyond 2^53 do not survive the trip through a double.
constexpr double kMaxExactInt = 9007199254740992.0;
// Far beyond any experiment, and far from overflowing Duration's seconds.
constexpr double kMaxSeconds = 1e11;

const std::string& EmptyString() {
  static const std::string* empty = new std::string();
  return *empty;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsWordChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '-' || c == '/';
}

// "line L, column C: message", 1-based as editors count.
std::string Position(const YAML::Mark& mark, const std::string& message) {
  return absl::StrCat("line ", mark.line + 1, ", column ", mark.column + 1,
                      ": ", message);
}

// YAML aliases share nodes, so a few lines can make a cycle (&a [*a]) or a
// tree of billions of paths. Every importer walks at most the paths this
// check walked, so bounding it bounds them all.
constexpr int kMaxDepth = 64;
constexpr int kMaxNodes = 100000;

absl::Status CheckUniqueKeysIn(const YAML::Node& node, const std::string& path,
                               int depth, int* budget) {
  if (--*budget < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "has more than ", kMaxNodes, " values (counting aliases each time)"));
  }
  if (depth > kMaxDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": nested more than ", kMaxDepth, " levels deep"));
  }
  if (node.IsMap()) {
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
      const std::string child = ChildPath(path, key);
      if (it->first.IsScalar() && !seen.insert(key).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(child, ": duplicate key \"", absl::CHexEscape(key),
                         "\" (line ", it->first.Mark().line + 1, ")"));
      }
      if (absl::Status s =
              CheckUniqueKeysIn(it->second, child, depth + 1, budget);
          !s.ok()) {
        return s;
      }
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      if (absl::Status s = CheckUniqueKeysIn(
              node[i], absl::StrCat(path, "[", i, "]"), depth + 1, budget);
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

// Refuses repeated keys (YAML keeps both; the spec would be ambiguous),
// naming the second occurrence, and documents whose aliases make cycles or
// too many values to walk.
absl::Status CheckDocument(const Field& root) {
  int budget = kMaxNodes;
  return CheckUniqueKeysIn(root.node(), root.path(), 0, &budget);
}

}  // namespace

bool Field::IsSet() const {
  if (!node_.IsDefined() || node_.IsNull()) return false;
  return !(node_.IsScalar() && node_.Scalar().empty());
}

bool Field::IsNumber() const {
  // yaml-cpp tags plain scalars "?" and quoted or block ones "!".
  double unused;
  return node_.IsScalar() && node_.Tag() == "?" &&
         ParseNumberText(node_.Scalar(), &unused);
}

const std::string& Field::Text() const {
  return node_.IsScalar() ? node_.Scalar() : EmptyString();
}

Field Field::Get(absl::string_view key) const {
  const std::string path = ChildPath(path_, key);
  if (!node_.IsMap()) return Field(YAML::Node(YAML::NodeType::Undefined), path);
  // Looking up through a const node never inserts the key.
  const YAML::Node& map = node_;
  const YAML::Node child = map[std::string(key)];
  if (!child.IsDefined()) {
    return Field(YAML::Node(YAML::NodeType::Undefined), path);
  }
  return Field(child, path);
}

Field Field::GetAny(std::initializer_list<absl::string_view> keys) const {
  for (absl::string_view key : keys) {
    Field f = Get(key);
    if (f.IsSet()) return f;
  }
  return Get(*keys.begin());
}

Field Field::At(size_t i) const {
  const YAML::Node& list = node_;
  return Field(list[i], absl::StrCat(path_, "[", i, "]"));
}

std::vector<std::pair<std::string, Field>> Field::Entries() const {
  std::vector<std::pair<std::string, Field>> entries;
  if (!node_.IsMap()) return entries;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
    entries.emplace_back(key, Field(it->second, ChildPath(path_, key)));
  }
  return entries;
}

absl::Status Field::Error(absl::string_view problem) const {
  if (path_.empty()) return absl::InvalidArgumentError(problem);
  return absl::InvalidArgumentError(absl::StrCat(path_, ": ", problem));
}

absl::Status Field::CheckMap() const {
  if (!IsSet()) return Required();
  if (!node_.IsMap()) {
    return Error(absl::StrCat("must be an object, got ", Describe()));
  }
  return absl::OkStatus();
}

absl::Status Field::CheckNonEmptyList() const {
  if (!IsSet()) return Required();
  if (!node_.IsSequence()) {
    return Error(absl::StrCat("must be a list, got ", Describe()));
  }
  if (node_.size() == 0) return Error("must not be empty");
  return absl::OkStatus();
}

absl::StatusOr<std::string> Field::String() const {
  if (!IsSet()) return Required();
  if (!node_.IsScalar()) {
    return Error(absl::StrCat("must be a string, got ", Describe()));
  }
  return node_.Scalar();
}

absl::StatusOr<double> Field::Number() const {
  if (!IsSet()) return Required();
  if (!node_.IsScalar()) {
    return Error(absl::StrCat("must be a number, got ", Describe()));
  }
  double v;
  if (!ParseNumberText(node_.Scalar(), &v)) {
    return Error(absl::StrCat(Describe(), " is not a number"));
  }
  return v;
}

absl::StatusOr<int64_t> Field::Integer() const {
  absl::StatusOr<double> v = Number();
  if (!v.ok()) return v.status();
  if (*v != std::floor(*v)) {
    return Error(absl::StrCat(Describe(), " is not a whole number"));
  }
  if (std::fabs(*v) > kMaxExactInt) {
    return Error(absl::StrCat(Describe(), " is beyond +-2^53"));
  }
  return static_cast<int64_t>(*v);
}

absl::StatusOr<int32_t> Field::Count() const {
  absl::StatusOr<int64_t> v = Integer();
  if (!v.ok()) return v.status();
  if (*v < 0 || *v > std::numeric_limits<int32_t>::max()) {
    return Error(absl::StrCat("must be between 0 and 2147483647, got ", *v));
  }
  return static_cast<int32_t>(*v);
}

std::string Field::Describe() const {
  if (!node_.IsDefined() || node_.IsNull()) return "null";
  if (node_.IsMap()) return "an object";
  if (node_.IsSequence()) return "a list";
  if (IsNumber()) return node_.Scalar();
  return absl::StrCat("\"", absl::CHexEscape(node_.Scalar()), "\"");
}

std::string ChildPath(absl::string_view path, absl::string_view key) {
  bool word = !key.empty();
  for (char c : key) word = word && IsWordChar(c);
  if (!word) {
    return absl::StrCat(path, "[\"", absl::CHexEscape(key), "\"]");
  }
  if (path.empty()) return std::string(key);
  return absl::StrCat(path, ".", key);
}

absl::StatusOr<Field> ParseDocument(const std::string& text,
                                    const std::string& where) {
  const std::string prefix = where.empty() ? "" : absl::StrCat(where, ": ");
  YAML::Node first;
  std::optional<YAML::Mark> second;
  try {
    first = YAML::Load(text);
    // Whether a second document follows, from the parser's events alone,
    // asking for one document past the first and no more: yaml-cpp 0.7's
    // LoadAll never returns on some text (a JSON object with a stray "}"
    // after it yields empty documents at the same place forever, each
    // allocating a node, until the process runs out of memory).
    std::istringstream input(text);
    YAML::Parser parser(input);
    DocumentStarts starts;
    if (parser.HandleNextDocument(starts) &&
        parser.HandleNextDocument(starts)) {
      second = starts.last();
    }
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own message for this is "bad file".
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, Position(e.mark, absl::StrCat("nested too deeply (the YAML "
                                              "parser stops at ",
                                              e.depth(), " levels)"))));
  } catch (const YAML::ParserException& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, Position(e.mark, e.msg)));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, e.what()));
  }
  if (!first.IsDefined() || first.IsNull()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, "is empty"));
  }
  if (second.has_value()) {
    // Also what trailing text after a closed JSON object looks like.
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, Position(*second,
                         "a second document starts here; import one "
                         "JSON object or YAML document")));
  }
  Field root(first, where);
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, "must be a JSON or YAML object, got ", root.Describe()));
  }
  if (absl::Status s = CheckDocument(root); !s.ok()) return s;
  return root;
}

absl::StatusOr<Field> Unwrap(const Field& field) {
  if (!field.IsScalar() || field.IsNumber()) return field;
  return ParseDocument(field.Text(), field.path());
}

bool ParseNumberText(absl::string_view text, double* out) {
  text = absl::StripAsciiWhitespace(text);
  size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  size_t digits = 0;
  while (i < text.size() && IsDigit(text[i])) ++i, ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && IsDigit(text[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    size_t exponent_digits = 0;
    while (i < text.size() && IsDigit(text[i])) ++i, ++exponent_digits;
    if (exponent_digits == 0) return false;
  }
  if (i != text.size()) return false;
  double v;
  if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

std::string SettingText(const Field& field) {
  if (field.IsScalar()) return field.Text();
  YAML::Emitter out;
  out.SetMapFormat(YAML::Flow);
  out.SetSeqFormat(YAML::Flow);
  out << field.node();
  return out.c_str();
}

absl::Status SetCount(const Field& field,
                      void (v1::Experiment::*setter)(int32_t),
                      v1::Experiment* experiment) {
  if (!field.IsSet()) return absl::OkStatus();
  absl::StatusOr<int32_t> n = field.Count();
  if (!n.ok()) return n.status();
  (experiment->*setter)(*n);
  return absl::OkStatus();
}

absl::Status SetSeed(const Field& field, v1::Experiment* experiment) {
  absl::StatusOr<int64_t> seed = field.Integer();
  if (!seed.ok()) return seed.status();
  if (*seed < 0 || *seed > std::numeric_limits<uint32_t>::max()) {
    return field.Error(
        absl::StrCat("must be between 0 and 4294967295, got ", *seed));
  }
  experiment->set_seed(static_cast<uint32_t>(*seed));
  return absl::OkStatus();
}

void AddNote(absl::string_view note, v1::Experiment* experiment) {
  if (experiment->description().empty()) {
    experiment->set_description(std::string(note));
  } else {
    experiment->set_description(
        absl::StrCat(experiment->description(), "\n", note));
  }
}

absl::StatusOr<google::protobuf::Duration> SecondsToDuration(
    double seconds, const Field& field) {
  if (!(seconds > 0)) {
    return field.Error(
        absl::StrCat("must be positive, got ", NumberText(seconds)));
  }
  if (seconds > kMaxSeconds) {
    return field.Error(
        absl::StrCat("is too long (", NumberText(seconds), " s)"));
  }
  google::protobuf::Duration d;
  double whole = std::floor(seconds);
  int32_t nanos = static_cast<int32_t>(std::llround((seconds - whole) * 1e9));
  if (nanos >= 1000000000) {
    whole += 1;
    nanos -= 1000000000;
  }
  d.set_seconds(static_cast<int64_t>(whole));
  d.set_nanos(nanos);
  return d;
}

}  // namespace import_internal
}  // namespace hpo
