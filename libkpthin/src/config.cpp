// thinclient.toml (spec §8.1). As strict as the Go loader (BurntSushi's md.Undecoded() check
// plus DialConfig.Validate), with keys matched exactly first and then ignoring case, as
// BurntSushi does.
#include "kpthin/config.hpp"

#include <toml++/toml.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "kpthin/errors.hpp"
#include "toml_guard.hpp"

namespace kpthin {

namespace {

bool equal_fold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Which of `names` the key means, or -1 (exact match preferred over a case-insensitive one).
int which(std::string_view key, std::initializer_list<std::string_view> names) {
  int i = 0;
  for (std::string_view n : names) {
    if (key == n) return i;
    ++i;
  }
  i = 0;
  for (std::string_view n : names) {
    if (equal_fold(key, n)) return i;
    ++i;
  }
  return -1;
}

const char* type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

class Checker {
 public:
  explicit Checker(std::string_view source) : source_(source) {}

  Status fail(const toml::node& node, const std::string& what) const {
    std::string where(source_);
    const auto& begin = node.source().begin;
    if (begin.line > 0) where += ":" + std::to_string(begin.line);
    return Status(local_errc::config_invalid, where + ": " + what);
  }
  Status fail(const std::string& what) const {
    return Status(local_errc::config_invalid, std::string(source_) + ": " + what);
  }

 private:
  std::string_view source_;
};

// Reads the string keys of a [Dial.*] table; only `allowed` keys may appear.
Status read_dial_table(const Checker& check, const std::string& name, const toml::table& table, bool with_network,
                       DialTarget& out) {
  for (const auto& [key, node] : table) {
    const std::string key_name(key.str());
    const std::string path = name + "." + key_name;
    const int index = with_network ? which(key_name, {"Address", "Network"}) : which(key_name, {"Address"});
    if (index < 0) return check.fail(node, "unknown key " + path);
    const auto* value = node.as_string();
    if (value == nullptr) return check.fail(node, path + " must be a string, not " + type_name(node));
    (index == 0 ? out.address : out.network) = value->get();
  }
  if (out.address.empty()) return check.fail(table, name + ".Address is missing or empty");
  if (with_network && !out.network.empty() && out.network != "tcp" && out.network != "tcp4" &&
      out.network != "tcp6") {
    return check.fail(table, name + ".Network must be \"tcp\", \"tcp4\" or \"tcp6\", not \"" + out.network + "\"");
  }
  return {};
}

std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace

Result<DialTarget> parse_config(std::string_view toml_text, std::string_view source_name) {
  const Checker check(source_name);
  toml::table root;
  if (std::size_t line = detail::line_toml_cannot_take(toml_text)) {
    return Status(local_errc::config_invalid,
                  std::string(source_name) + ":" + std::to_string(line) +
                      ": kpthin cannot read this line safely: it has a table header without a name, an array, or "
                      "a non-ASCII character outside quotes and comments; write it as "
                      "[Dial.Unix] then Address = \"...\" on its own line");
  }
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    std::string where(source_name);
    if (e.source().begin.line > 0) where += ":" + std::to_string(e.source().begin.line);
    return Status(local_errc::config_invalid, where + ": " + std::string(e.description()));
  }

  const toml::table* dial = nullptr;
  for (const auto& [key, node] : root) {
    const std::string key_name(key.str());
    if (which(key_name, {"Dial"}) != 0) return check.fail(node, "unknown key " + key_name);
    dial = node.as_table();
    if (dial == nullptr) return check.fail(node, std::string("Dial must be a table, not ") + type_name(node));
  }
  if (dial == nullptr) return check.fail("missing required section [Dial] with one of [Dial.Unix] or [Dial.Tcp]");

  DialTarget target;
  int transports = 0;
  for (const auto& [key, node] : *dial) {
    const std::string key_name(key.str());
    const std::string path = "Dial." + key_name;
    const int index = which(key_name, {"Unix", "Tcp", "Ws"});
    if (index < 0) return check.fail(node, "unknown key " + path);
    const toml::table* table = node.as_table();
    if (table == nullptr) return check.fail(node, path + " must be a table, not " + type_name(node));
    if (++transports > 1) return check.fail(node, "[Dial] must have exactly one transport table, found a second: " + path);
    static constexpr TransportKind kKinds[] = {TransportKind::kUnix, TransportKind::kTcp, TransportKind::kWebSocket};
    target.kind = kKinds[index];
    static constexpr const char* kNames[] = {"Dial.Unix", "Dial.Tcp", "Dial.Ws"};
    if (Status s = read_dial_table(check, kNames[index], *table, index == 1, target); !s.ok()) return s;
  }
  if (transports == 0) return check.fail(*dial, "[Dial] has no transport table: add [Dial.Unix] or [Dial.Tcp]");
  if (target.kind == TransportKind::kTcp && target.network.empty()) target.network = "tcp";
  return target;
}

Result<DialTarget> load_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(local_errc::config_invalid, path.string() + ": cannot read: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status(local_errc::config_invalid, path.string() + ": read error");
  return parse_config(text.str(), path.string());
}

std::string format_config(const DialTarget& target) {
  std::string out = "[Dial]\n";
  switch (target.kind) {
    case TransportKind::kUnix:
      out += "  [Dial.Unix]\n    Address = " + toml_string(target.address) + "\n";
      break;
    case TransportKind::kTcp:
      out += "  [Dial.Tcp]\n    Address = " + toml_string(target.address) + "\n";
      out += "    Network = " + toml_string(target.network.empty() ? "tcp" : target.network) + "\n";
      break;
    case TransportKind::kWebSocket:
      out += "  [Dial.Ws]\n    Address = " + toml_string(target.address) + "\n";
      break;
  }
  return out;
}

}  // namespace kpthin
