// thinclient.toml (spec §8.1). As strict as the Go loader (BurntSushi's md.Undecoded() check
// plus DialConfig.Validate), with keys matched exactly first and then ignoring case, as
// BurntSushi does. The text is read by toml_reader, never by toml++ (whose 3.3.0 release has
// undefined behaviour on some malformed text, and a config may come from anywhere).
#include "kpthin/config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "kpthin/errors.hpp"
#include "toml_reader.hpp"

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

using detail::TomlNode;

class Checker {
 public:
  explicit Checker(std::string_view source) : source_(source) {}

  Status fail(const TomlNode& node, const std::string& what) const { return fail_at(node.line, what); }
  Status fail_at(std::size_t line, const std::string& what) const {
    std::string where(source_);
    if (line > 0) where += ":" + std::to_string(line);
    return Status(local_errc::config_invalid, where + ": " + what);
  }
  Status fail(const std::string& what) const {
    return Status(local_errc::config_invalid, std::string(source_) + ": " + what);
  }

 private:
  std::string_view source_;
};

// Reads the string keys of a [Dial.*] table; only `allowed` keys may appear.
Status read_dial_table(const Checker& check, const std::string& name, const TomlNode& table, bool with_network,
                       DialTarget& out) {
  for (const auto& [key_name, node] : table.members) {
    const std::string path = name + "." + key_name;
    const int index = with_network ? which(key_name, {"Address", "Network"}) : which(key_name, {"Address"});
    if (index < 0) return check.fail(*node, "unknown key " + path);
    if (node->kind != TomlNode::Kind::kString) {
      return check.fail(*node, path + " must be a string, not " + node->kind_name());
    }
    (index == 0 ? out.address : out.network) = node->string;
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
  const detail::TomlDocument doc = detail::read_toml(toml_text);
  if (!doc.ok) return check.fail_at(doc.line, doc.error);

  const TomlNode* dial = nullptr;
  for (const auto& [key_name, node] : doc.root.members) {
    if (which(key_name, {"Dial"}) != 0) return check.fail(*node, "unknown key " + key_name);
    if (node->kind != TomlNode::Kind::kTable) {
      return check.fail(*node, std::string("Dial must be a table, not ") + node->kind_name());
    }
    dial = node.get();
  }
  if (dial == nullptr) return check.fail("missing required section [Dial] with one of [Dial.Unix] or [Dial.Tcp]");

  DialTarget target;
  int transports = 0;
  for (const auto& [key_name, node] : dial->members) {
    const std::string path = "Dial." + key_name;
    const int index = which(key_name, {"Unix", "Tcp", "Ws"});
    if (index < 0) return check.fail(*node, "unknown key " + path);
    if (node->kind != TomlNode::Kind::kTable) return check.fail(*node, path + " must be a table, not " + node->kind_name());
    if (++transports > 1) {
      return check.fail(*node, "[Dial] must have exactly one transport table, found a second: " + path);
    }
    static constexpr TransportKind kKinds[] = {TransportKind::kUnix, TransportKind::kTcp, TransportKind::kWebSocket};
    target.kind = kKinds[index];
    static constexpr const char* kNames[] = {"Dial.Unix", "Dial.Tcp", "Dial.Ws"};
    if (Status s = read_dial_table(check, kNames[index], *node, index == 1, target); !s.ok()) return s;
  }
  if (transports == 0) return check.fail(*dial, "[Dial] has no transport table: add [Dial.Unix] or [Dial.Tcp]");
  if (target.kind == TransportKind::kTcp && target.network.empty()) target.network = "tcp";
  return target;
}

Result<DialTarget> load_config(const std::filesystem::path& path) {
  // Plain open/read: an ifstream and a stringstream cost more than parsing the file does, and
  // every connect of a short-lived client loads it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status(local_errc::config_invalid, path.string() + ": cannot read: " + std::strerror(errno));
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Status(local_errc::config_invalid, path.string() + ": read error: " + std::strerror(err));
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return parse_config(text, path.string());
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
