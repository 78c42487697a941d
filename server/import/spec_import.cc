#include "server/import/spec_import.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/import/importers.h"
#include "server/import/yaml_field.h"

namespace hpo {
namespace {

using import_internal::Field;

constexpr char kKnownFormats[] = "katib, kruize, nni";

// Importers name fields by their path in the foreign document; the caller
// needs to know that path is inside import_spec.content.
absl::Status InContent(const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("import_spec.content: ", status.message()));
}

}  // namespace

absl::StatusOr<v1::Experiment> ImportExperiment(const v1::ImportSpec& spec) {
  const std::string& format = spec.format();
  absl::Status (*importer)(const Field&, v1::Experiment*) = nullptr;
  if (format == "nni") {
    importer = &import_internal::ImportNni;
  } else if (format == "katib") {
    importer = &import_internal::ImportKatib;
  } else if (format == "kruize") {
    importer = &import_internal::ImportKruize;
  } else if (format.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "import_spec.format: is required (known: ", kKnownFormats, ")"));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "import_spec.format: unknown format \"", absl::CHexEscape(format),
        "\" (known: ", kKnownFormats, ")"));
  }

  absl::StatusOr<Field> root =
      import_internal::ParseDocument(spec.content(), "");
  if (!root.ok()) return InContent(root.status());

  v1::Experiment experiment;
  if (absl::Status s = importer(*root, &experiment); !s.ok()) {
    return InContent(s);
  }
  if (!spec.name().empty()) experiment.set_name(spec.name());
  return experiment;
}

}  // namespace hpo
