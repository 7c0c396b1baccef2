#include "copy_state.hpp"

#include <nlohmann/json.hpp>

#include "channel_file.hpp"
#include "exit_codes.hpp"
#include "kpthin/pki.hpp"

namespace kpthin::cli {
namespace {

std::string elements_digest(std::string_view data) {
  Hash256 digest = blake2b_256(ByteView(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
  return to_hex(view(digest));
}

std::string encode_elements(const std::vector<Bytes>& elements) {
  std::string out;
  for (const Bytes& e : elements) {
    std::uint32_t n = static_cast<std::uint32_t>(e.size());
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((n >> s) & 0xff));
    out.append(reinterpret_cast<const char*>(e.data()), e.size());
  }
  return out;
}

[[noreturn]] void bad_state(const std::filesystem::path& path, const std::string& what) {
  fail(ExitCode::kUsage, "copy state " + path.string() + " is unusable: " + what +
                             "; start the copy again without --resume");
}

Bytes b64(const nlohmann::json& j, const char* key, const std::filesystem::path& path) {
  Bytes out;
  if (!j.contains(key) || !j[key].is_string() || !from_base64(j[key].get<std::string>(), out)) {
    bad_state(path, std::string("\"") + key + "\" is missing or not base64");
  }
  return out;
}

}  // namespace

std::filesystem::path elements_path(const std::filesystem::path& state_path) {
  return state_path.string() + ".elements";
}

void save_copy_elements(const std::filesystem::path& state_path, const std::vector<Bytes>& elements,
                        CopyState& state) {
  std::string data = encode_elements(elements);
  state.elements_blake2b = elements_digest(data);
  atomic_replace(elements_path(state_path), data, 0600);
}

void save_copy_state(const std::filesystem::path& state_path, const CopyState& state) {
  nlohmann::json j;
  j["version"] = 1;
  j["phase"] = state.phase == CopyState::Phase::kWriting ? "writing" : "copying";
  j["temp_write_capability"] = to_base64(state.temp_write_cap.reveal());
  j["temp_start_index"] = to_base64(view(state.temp_start_index));
  j["temp_next_index"] = to_base64(view(state.temp_next_index));
  j["elements_written"] = state.written;
  j["elements_total"] = state.total;
  j["buffer"] = state.buffer ? nlohmann::json(to_base64(view(*state.buffer))) : nlohmann::json(nullptr);
  j["elements_blake2b"] = state.elements_blake2b;
  j["destinations"] = nlohmann::json::array();
  for (const CopyDestinationState& d : state.destinations) {
    j["destinations"].push_back({{"channel", d.channel},
                                 {"start_index", to_base64(view(d.start_index))},
                                 {"next_index", to_base64(view(d.next_index))}});
  }
  std::string text = j.dump(2) + "\n";
  atomic_replace(state_path, text, 0600);
  wipe(text.data(), text.size());
}

CopyState load_copy_state(const std::filesystem::path& state_path, std::vector<Bytes>& elements) {
  std::string text = read_text_file(state_path, ExitCode::kUsage);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  wipe(text.data(), text.size());
  if (j.is_discarded() || !j.is_object()) bad_state(state_path, "not a JSON object");
  if (j.value("version", 0) != 1) bad_state(state_path, "unknown version");
  CopyState state;
  std::string phase = j.value("phase", "");
  if (phase == "writing") {
    state.phase = CopyState::Phase::kWriting;
  } else if (phase == "copying") {
    state.phase = CopyState::Phase::kCopying;
  } else {
    bad_state(state_path, "unknown phase");
  }
  state.temp_write_cap = SecretBytes(b64(j, "temp_write_capability", state_path));
  state.temp_start_index = b64(j, "temp_start_index", state_path);
  state.temp_next_index = b64(j, "temp_next_index", state_path);
  if (!j["elements_written"].is_number_unsigned() || !j["elements_total"].is_number_unsigned()) {
    bad_state(state_path, "element counts missing");
  }
  state.written = j["elements_written"].get<std::size_t>();
  state.total = j["elements_total"].get<std::size_t>();
  if (j.contains("buffer") && j["buffer"].is_string()) state.buffer = b64(j, "buffer", state_path);
  if (!j["destinations"].is_array() || j["destinations"].empty()) bad_state(state_path, "no destinations");
  for (const auto& d : j["destinations"]) {
    if (!d.is_object() || !d.contains("channel") || !d["channel"].is_string()) bad_state(state_path, "bad destination");
    state.destinations.push_back({d["channel"].get<std::string>(), b64(d, "start_index", state_path),
                                  b64(d, "next_index", state_path)});
  }
  std::string raw = read_text_file(elements_path(state_path), ExitCode::kUsage);
  state.elements_blake2b = j.value("elements_blake2b", "");
  if (elements_digest(raw) != state.elements_blake2b) {
    bad_state(state_path, elements_path(state_path).string() + " does not match the state");
  }
  elements.clear();
  std::size_t pos = 0;
  while (pos < raw.size()) {
    if (raw.size() - pos < 4) bad_state(state_path, "truncated elements file");
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<std::uint8_t>(raw[pos++]);
    if (raw.size() - pos < n) bad_state(state_path, "truncated elements file");
    elements.emplace_back(raw.begin() + static_cast<std::ptrdiff_t>(pos),
                          raw.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
  }
  if (elements.size() != state.total || state.written > state.total) {
    bad_state(state_path, "element counts do not match");
  }
  return state;
}

void remove_copy_state(const std::filesystem::path& state_path) {
  std::error_code ec;
  std::filesystem::remove(state_path, ec);
  std::filesystem::remove(elements_path(state_path), ec);
}

}  // namespace kpthin::cli
