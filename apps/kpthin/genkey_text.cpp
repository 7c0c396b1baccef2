#include "genkey_text.hpp"

#include <vector>

#include "exit_codes.hpp"

namespace kpthin::cli {
namespace {

constexpr std::string_view kReadLabel = "Read Capability";
constexpr std::string_view kWriteLabel = "Write Capability";
constexpr std::string_view kIndexLabel = "First Index";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

Bytes index_embedded_in(ByteView capability) {
  if (capability.size() < kMessageBoxIndexSize) return {};
  return Bytes(capability.end() - kMessageBoxIndexSize, capability.end());
}

std::string format_genkey_text(const GenkeyText& values) {
  std::string text;
  auto paragraph = [&](std::string_view label, ByteView bytes) {
    if (!text.empty()) text += "\n";
    text += label;
    text += "\n";
    text += to_base64(bytes);
    text += "\n";
  };
  if (values.read_cap) paragraph("Read Capability (share with recipient):", view(*values.read_cap));
  if (values.write_cap) paragraph("Write Capability (keep secret):", values.write_cap->reveal());
  if (values.index) paragraph("First Index:", view(*values.index));
  return text;
}

GenkeyText parse_genkey_text(std::string_view text, const std::string& source) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    lines.push_back(trim(text.substr(0, nl)));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  GenkeyText out;
  auto decode = [&](std::size_t label_line, std::string_view label, std::size_t size) {
    if (label_line + 1 >= lines.size() || lines[label_line + 1].empty()) {
      fail(ExitCode::kUsage, source + ": \"" + std::string(label) + "\" has no value on the next line");
    }
    Bytes bytes;
    if (!from_base64(lines[label_line + 1], bytes)) {
      fail(ExitCode::kUsage, source + ": the " + std::string(label) + " is not valid base64");
    }
    if (bytes.size() != size) {
      std::size_t got = bytes.size();
      wipe(bytes.data(), bytes.size());
      fail(ExitCode::kUsage, source + ": a " + std::string(label) + " has " + std::to_string(size) +
                                 " bytes, this one " + std::to_string(got));
    }
    return bytes;
  };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].starts_with(kReadLabel)) {
      out.read_cap = decode(i, kReadLabel, kReadCapSize);
    } else if (lines[i].starts_with(kWriteLabel)) {
      out.write_cap = SecretBytes(decode(i, kWriteLabel, kWriteCapSize));
    } else if (lines[i].starts_with(kIndexLabel)) {
      out.index = decode(i, kIndexLabel, kMessageBoxIndexSize);
    }
  }
  if (!out.read_cap && !out.write_cap) {
    fail(ExitCode::kUsage, source + " holds no \"Read Capability\" or \"Write Capability\"; "
                                    "give the output of `pigeonhole-cp genkey` or `kpthin keypair --print`");
  }
  if (!out.index) {
    out.index = out.write_cap ? index_embedded_in(out.write_cap->reveal()) : index_embedded_in(view(*out.read_cap));
  }
  return out;
}

}  // namespace kpthin::cli
