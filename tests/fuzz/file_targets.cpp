// Targets for the files and texts people pass to kpthin: thinclient.toml, channel files,
// pigeonhole-cp key text and file headers, and the copy state.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <toml++/toml.h>

#include "channel_file.hpp"
#include "copy_state.hpp"
#include "exit_codes.hpp"
#include "file_framing.hpp"
#include "fuzz_targets.hpp"
#include "genkey_text.hpp"
#include "kpthin/config.hpp"
#include "kpthin/toml.hpp"
#include "toml_guard.hpp"
#include "toml_reader.hpp"

namespace kpthin::fuzz {
namespace {

std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// toml++'s reading of `text` as a key -> string map; nullopt if toml++ rejects it or finds
// anything but top-level strings (which no channel file holds).
std::optional<std::map<std::string, std::string>> toml_strings(std::string_view text) {
  toml::table table;
  try {
    table = toml::parse(text);
  } catch (const toml::parse_error&) {
    return std::nullopt;
  }
  std::map<std::string, std::string> values;
  for (const auto& [key, node] : table) {
    if (!node.is_string()) return std::nullopt;
    values.emplace(std::string(key.str()), *node.value<std::string>());
  }
  return values;
}

bool same_channel(const cli::Channel& a, const cli::Channel& b) {
  return a.kind == b.kind && std::ranges::equal(a.capability.reveal(), b.capability.reveal()) && a.index == b.index &&
         a.read_capability == b.read_capability && a.first_index == b.first_index;
}

}  // namespace

// parse_config never hands text to toml++ (toml_reader reads it); what toml_reader accepts
// must be TOML that toml++ reads too, checked where the guard says toml++ can take the text.
int config(const std::uint8_t* data, std::size_t size) {
  std::string_view text = text_of(data, size);
  if (detail::read_toml(text).ok && detail::line_toml_cannot_take(text) == 0) {
    bool toml_reads = true;
    try {
      (void)toml::parse(text);
    } catch (const toml::parse_error&) {
      toml_reads = false;
    }
    expect(toml_reads, "the strict TOML reader accepts text toml++ refuses");
  }
  auto target = parse_config(text);
  if (!target) return 0;
  auto again = parse_config(format_config(*target));
  expect(again.ok(), "format_config output does not parse: " + again.status().message());
  expect(again->kind == target->kind && again->address == target->address && again->network == target->network,
         "thinclient.toml round trip changes the dial target");
  return 0;
}

// The channel-file reader (libkpthin's strict TOML reader, through read_toml_strings) must
// accept exactly what toml++ reads as top-level strings (so no file an older kpthin wrote or
// accepted is refused), and a parsed channel must survive format_channel. toml++ runs here with
// its assertions on (the fuzz build compiles it from its headers), except on text the guard says
// it cannot take: those are the inputs it would crash on, and the reader must refuse them without
// toml++. A refusal of either kind is checked: kNotString (a value that is not a string, or TOML
// the reader does not take, such as a date) is text toml++ refuses or reads as more than strings.
int channel_file(const std::uint8_t* data, std::size_t size) {
  std::string_view text = text_of(data, size);
  TomlStrings strings = read_toml_strings(text);
  bool toml_safe = detail::line_toml_cannot_take(text) == 0;
  if (toml_safe) {
    auto reference = toml_strings(text);
    if (strings.outcome == TomlStrings::Outcome::kOk) {
      expect(reference.has_value(), "channel reader accepts text toml++ refuses");
      expect(*reference == strings.values, "channel reader and toml++ read different strings");
    } else {
      expect(!reference, "channel reader refuses text toml++ reads as strings: " + strings.error);
    }
  }
  cli::Channel channel;
  try {
    channel = cli::parse_channel(text, "fuzz");
  } catch (const cli::CliError&) {
    return 0;
  }
  cli::Channel again = cli::parse_channel(cli::format_channel(channel), "formatted");
  expect(same_channel(channel, again), "channel file round trip changes the channel");
  return 0;
}

int genkey_text(const std::uint8_t* data, std::size_t size) {
  cli::GenkeyText parsed;
  try {
    parsed = cli::parse_genkey_text(text_of(data, size), "fuzz");
  } catch (const cli::CliError&) {
    return 0;
  }
  cli::GenkeyText again = cli::parse_genkey_text(cli::format_genkey_text(parsed), "formatted");
  auto same_secret = [](const std::optional<SecretBytes>& a, const std::optional<SecretBytes>& b) {
    return a.has_value() == b.has_value() && (!a || std::ranges::equal(a->reveal(), b->reveal()));
  };
  expect(again.read_cap == parsed.read_cap && same_secret(again.write_cap, parsed.write_cap) &&
             again.index == parsed.index,
         "genkey text round trip changes a value");
  return 0;
}

// The input is the state file; its elements file is empty. The state is loaded from a private
// directory (load_copy_state reads files), saved back and loaded again.
int copy_state(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("kpthin-fuzz-copy-state-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  std::filesystem::path state = dir / "copy.state";
  {
    std::ofstream(state, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                    static_cast<std::streamsize>(size));
    std::ofstream(cli::elements_path(state), std::ios::binary | std::ios::trunc);
  }
  std::vector<Bytes> elements;
  cli::CopyState loaded;
  try {
    loaded = cli::load_copy_state(state, elements);
  } catch (const cli::CliError&) {
    return 0;
  }
  expect(elements.empty() && loaded.total == 0, "an empty elements file gave elements");
  cli::save_copy_state(state, loaded);
  std::vector<Bytes> again_elements;
  cli::CopyState again = cli::load_copy_state(state, again_elements);
  expect(again.phase == loaded.phase && again.written == loaded.written && again.total == loaded.total &&
             again.buffer == loaded.buffer && again.destinations.size() == loaded.destinations.size() &&
             again.temp_next_index == loaded.temp_next_index,
         "copy state round trip changes the state");
  return 0;
}

int file_header(const std::uint8_t* data, std::size_t size) {
  ByteView box(data, size);
  std::size_t length = 0;
  if (auto header = cli::decode_file_header(box, length)) {
    expect(length <= size, "file header longer than the box");
    Bytes encoded = cli::encode_file_header(*header);
    std::size_t again_length = 0;
    auto again = cli::decode_file_header(view(encoded), again_length);
    expect(again && again->name == header->name && again->size == header->size && again_length == encoded.size(),
           "file header round trip changes the header");
    (void)cli::unsafe_file_name_reason(header->name);
  }
  if (auto payload = cli::decode_cbor_byte_string(box)) {
    Bytes encoded = cli::encode_cbor_byte_string(view(*payload));
    expect(cli::decode_cbor_byte_string(view(encoded)) == payload, "CBOR byte string round trip changes it");
  }
  return 0;
}

}  // namespace kpthin::fuzz
