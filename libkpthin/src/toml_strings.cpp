#include "kpthin/toml.hpp"

#include "kpthin/bytes.hpp"
#include "toml_reader.hpp"

namespace kpthin {

TomlStrings read_toml_strings(std::string_view text) {
  using Outcome = TomlStrings::Outcome;
  TomlStrings result;
  detail::TomlDocument doc = detail::read_toml(text);
  if (!doc.ok) {
    result.outcome = doc.unsupported ? Outcome::kNotString : Outcome::kSyntax;
    result.line = doc.line;
    result.error = std::move(doc.error);
    return result;
  }
  for (auto& [key, node] : doc.root.members) {
    if (node->kind != detail::TomlNode::Kind::kString) {
      result.outcome = Outcome::kNotString;
      result.line = node->line;
      result.error = "key \"" + key + "\" must be a string, not " + node->kind_name();
      break;
    }
    result.values.emplace(key, std::move(node->string));  // keys are unique: read_toml refuses duplicates
  }
  if (result.outcome != Outcome::kOk) {
    for (auto& [key, value] : result.values) wipe(value.data(), value.size());
    result.values.clear();
  }
  wipe_strings(doc.root);  // the strings not moved out
  return result;
}

}  // namespace kpthin
