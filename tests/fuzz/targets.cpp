#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "channel_file.hpp"
#include "copy_state.hpp"
#include "file_framing.hpp"
#include "fuzz_targets.hpp"
#include "genkey_text.hpp"
#include "kpthin/codec.hpp"
#include "kpthin/config.hpp"
#include "kpthin/frame.hpp"

namespace kpthin::fuzz {

const std::vector<Target>& targets() {
#define KPTHIN_FUZZ_ENTRY(name) Target{#name, &name},
  static const std::vector<Target> all{KPTHIN_FUZZ_TARGETS(KPTHIN_FUZZ_ENTRY)};
#undef KPTHIN_FUZZ_ENTRY
  return all;
}

namespace {

// The bytes of a golden .hex file (whitespace ignored), or nothing if it is not hex.
std::string hex_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream raw;
  raw << in.rdbuf();
  std::string hex;
  for (char c : raw.str()) {
    if (!std::isspace(static_cast<unsigned char>(c))) hex += c;
  }
  Bytes bytes;
  if (!from_hex(hex, bytes)) return {};
  return {bytes.begin(), bytes.end()};
}

// Every golden frame: {is a client frame, body without the length prefix}.
std::vector<std::pair<bool, std::string>> golden_bodies(const std::string& golden_dir) {
  std::vector<std::pair<bool, std::string>> out;
  if (!std::filesystem::is_directory(golden_dir)) return out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(golden_dir)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || entry.path().extension() != ".hex") continue;
    std::string bytes = hex_file(entry.path());
    bool top = entry.path().parent_path() == std::filesystem::path(golden_dir);
    if (top && bytes.size() < 4) continue;
    std::string body = top ? bytes.substr(4) : bytes;  // top-level files are whole frames
    bool client = name.starts_with("req_") || name.find("-c2d-") != std::string::npos ||
                  name == "new_keypair.min.hex";
    out.emplace_back(client, body);
  }
  return out;
}

std::string as_text(const Bytes& b) { return {b.begin(), b.end()}; }

Bytes filled(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

std::vector<std::string> channel_seeds() {
  std::vector<std::string> out;
  cli::Channel write{cli::ChannelKind::kWrite, SecretBytes(filled(kWriteCapSize, 1)), filled(kMessageBoxIndexSize, 2),
                     filled(kReadCapSize, 3), filled(kMessageBoxIndexSize, 4)};
  out.push_back(cli::format_channel(write));
  write.read_capability.reset();
  write.first_index.reset();
  out.push_back(cli::format_channel(write));  // the older format
  cli::Channel read{cli::ChannelKind::kRead, SecretBytes(filled(kReadCapSize, 5)), filled(kMessageBoxIndexSize, 6),
                    std::nullopt, filled(kMessageBoxIndexSize, 7)};
  out.push_back(cli::format_channel(read));
  out.push_back("# comment\n'kind' = \"\"\"\nread\"\"\"\n\"x\\u00e9\" = '''a''' # c\r\n");
  return out;
}

std::string copy_state_seed() {
  auto dir = std::filesystem::temp_directory_path() / ("kpthin-fuzz-seed-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  cli::CopyState state;
  state.temp_write_cap = SecretBytes(filled(kWriteCapSize, 1));
  state.temp_start_index = filled(kMessageBoxIndexSize, 2);
  state.temp_next_index = filled(kMessageBoxIndexSize, 3);
  state.buffer = filled(10, 4);
  state.destinations.push_back({"a.write", filled(kMessageBoxIndexSize, 5), filled(kMessageBoxIndexSize, 6)});
  cli::save_copy_elements(dir / "s", {}, state);
  std::ifstream in(dir / "s");
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove_all(dir);
  return text.str();
}

}  // namespace

std::vector<std::string> seeds(const std::string& target, const std::string& golden_dir) {
  std::vector<std::string> out;
  auto bodies = golden_bodies(golden_dir);
  if (target == "frame") {
    for (std::size_t i = 0; i + 1 < bodies.size() && out.size() < 20; i += 2) {
      std::string stream(1, static_cast<char>(i));
      for (std::size_t k = i; k < i + 2; ++k) stream += as_text(make_frame(ByteView(
          reinterpret_cast<const std::uint8_t*>(bodies[k].second.data()), bodies[k].second.size())));
      out.push_back(stream);
    }
  } else if (target == "request" || target == "response") {
    for (const auto& [client, body] : bodies) {
      if (client == (target == "request")) out.push_back(body);
    }
  } else if (target == "cbor") {
    for (const auto& [client, body] : bodies) out.push_back(body);
    // Corners a reply rarely shows: chunked strings and containers, every float width, simple
    // values, breaks, tags, non-shortest heads, bad UTF-8, trailing bytes.
    for (const char* hex : {"5f4101420203ff", "7f61616162ff", "9f01820203ff", "bf6161f56162f4ff", "f93c00", "f97c00",
                            "f97e00", "fa3fc00000", "fb3ff8000000000000", "f6", "f7", "f0", "f818", "ff", "c101",
                            "1817", "190001", "3bffffffffffffffff", "62c3", "6368c3", "a16161", "a2616101616102",
                            "8101ff", "5f6161ff", "5f5f4100ffff", "bf6161ff", "a1f6f6", "9f9f9fffffff"}) {
      Bytes bytes;
      if (from_hex(hex, bytes)) out.push_back(as_text(bytes));
    }
  } else if (target == "pki") {
    for (const auto& [client, body] : bodies) {
      if (client) continue;
      auto response = decode_response(ByteView(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
      if (!response) continue;
      if (auto* event = std::get_if<NewPkiDocumentEvent>(&*response); event && event->payload) {
        out.push_back(as_text(*event->payload));
      }
    }
  } else if (target == "config") {
    out.push_back(format_config({TransportKind::kUnix, "@katzenpost", ""}));
    out.push_back(format_config({TransportKind::kTcp, "127.0.0.1:64331", "tcp4"}));
    out.push_back(format_config({TransportKind::kWebSocket, "ws://[::1]:80/x", ""}));
    out.push_back("# c\n[Logging]\nLevel = \"DEBUG\"\n[Dial]\n[Dial.Unix]\nAddress = \"/run/x\" # é\n");
  } else if (target == "channel_file") {
    out = channel_seeds();
  } else if (target == "genkey_text") {
    cli::GenkeyText text{filled(kReadCapSize, 1), SecretBytes(filled(kWriteCapSize, 2)), filled(kMessageBoxIndexSize, 3)};
    out.push_back(cli::format_genkey_text(text));
    text.write_cap.reset();
    out.push_back(cli::format_genkey_text(text));
  } else if (target == "copy_state") {
    out.push_back(copy_state_seed());
  } else if (target == "duration") {
    out = {"500ms", "30s", "2m", "1h", "1m30s", "45", "1.5s", "0"};
  } else if (target == "split_spec") {
    out = {"lines", "box", "1000", "4k", "4KiB", "1M", "2MiB"};
  } else if (target == "input_splitter") {
    out = {std::string("\x01one\ntwo\n\nthree", 15), std::string("\x10" "0123456789abcdef"), std::string("\x02xyz")};
  } else if (target == "file_header") {
    out.push_back(as_text(cli::encode_file_header({"report.pdf", 5})) + "hello");
    out.push_back(as_text(cli::encode_cbor_byte_string(filled(40, 9))) + std::string(20, '\0'));
  }
  return out;
}

}  // namespace kpthin::fuzz
