#include "cli/trial_command.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

#include "cli/output.h"

namespace hpo::cli {

std::string Substitute(const std::string& command, const v1::Trial& trial,
                       const std::map<std::string, std::string>& aliases) {
  std::string out = command;
  // Longest names first, so ${lr} does not eat into ${lr_decay}.
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& [k, v] : trial.parameters()) {
    params.push_back({k, ValueText(v)});
  }
  for (const auto& [alias, ref] : aliases) {
    auto it = trial.parameters().find(ref);
    if (it != trial.parameters().end()) {
      params.push_back({alias, ValueText(it->second)});
    }
  }
  std::sort(params.begin(), params.end(), [](const auto& a, const auto& b) {
    return a.first.size() > b.first.size();
  });
  for (const auto& [k, v] : params) {
    for (const std::string& pattern :
         {"${trialParameters." + k + "}", "${" + k + "}"}) {
      std::size_t pos = 0;
      while ((pos = out.find(pattern, pos)) != std::string::npos) {
        out.replace(pos, pattern.size(), v);
        pos += v.size();
      }
    }
  }
  return out;
}

std::string ParamEnvName(const std::string& name) {
  std::string out;
  for (char c : name) {
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  }
  return out;
}

bool IsEnvName(const std::string& name) {
  bool valid =
      !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') valid = false;
  }
  return valid;
}

std::vector<std::string> UnknownTemplateNames(
    const std::string& command, const v1::Experiment& e,
    const std::map<std::string, std::string>& aliases) {
  std::set<std::string> known;
  for (const auto& p : e.parameters()) known.insert(p.name());
  for (const auto& [alias, ref] : aliases) known.insert(alias);
  std::vector<std::string> unknown;
  const std::string open = "${trialParameters.";
  for (std::size_t pos = command.find(open); pos != std::string::npos;
       pos = command.find(open, pos + 1)) {
    const std::size_t start = pos + open.size();
    const std::size_t close = command.find('}', start);
    if (close == std::string::npos) break;
    const std::string name = command.substr(start, close - start);
    if (!known.count(name) &&
        std::find(unknown.begin(), unknown.end(), name) == unknown.end()) {
      unknown.push_back(name);
    }
  }
  return unknown;
}

}  // namespace hpo::cli
