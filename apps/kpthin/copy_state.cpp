#include "copy_state.hpp"

#include <nlohmann/json.hpp>

#include "atomic_file.hpp"
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

std::string what_to_do(const std::filesystem::path& path) {
  return "; restore it, or remove " + path.string() + " and " + elements_path(path).string() +
         " and start the copy again without --resume";
}

// Reads the fields of a state file; every defect is exit 3 naming the file and the field, since
// the file is an input like a channel file, not something the user typed wrong.
class StateReader {
 public:
  explicit StateReader(const std::filesystem::path& path) : path_(path) {}

  [[noreturn]] void bad(const std::string& what) const {
    fail(ExitCode::kConfig, "copy state " + path_.string() + " is damaged: " + what + what_to_do(path_));
  }

  const nlohmann::json& field(const nlohmann::json& object, const std::string& where) const {
    std::string key = where.substr(where.rfind('.') + 1);
    auto it = object.find(key);
    if (it == object.end()) bad("field \"" + where + "\" is missing");
    return *it;
  }

  std::string text(const nlohmann::json& object, const std::string& where) const {
    const nlohmann::json& value = field(object, where);
    if (!value.is_string()) bad("field \"" + where + "\" must be a string, not " + value.type_name());
    return value.get<std::string>();
  }

  std::size_t count(const nlohmann::json& object, const std::string& where) const {
    const nlohmann::json& value = field(object, where);
    if (!value.is_number_unsigned()) {
      bad("field \"" + where + "\" must be a whole number, not " +
          (value.is_number() ? std::string("a negative or fractional number") : std::string(value.type_name())));
    }
    return value.get<std::size_t>();
  }

  Bytes base64(const nlohmann::json& object, const std::string& where) const {
    std::string encoded = text(object, where);
    Bytes out;
    if (!from_base64(encoded, out)) bad("field \"" + where + "\" is not valid base64");
    wipe(encoded.data(), encoded.size());
    return out;
  }

 private:
  std::filesystem::path path_;
};

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
  std::error_code ec;
  if (!std::filesystem::exists(state_path, ec) && !ec) {
    fail(ExitCode::kConfig, "there is no interrupted copy to resume: " + state_path.string() +
                                " does not exist (a copy removes its state file when it finishes); start a copy with "
                                "`kpthin copy --state " + state_path.string() + " --to CHANNEL.write --file FILE`");
  }
  StateReader reader(state_path);
  std::string raw_text = read_text_file(state_path, ExitCode::kConfig);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(raw_text);
  } catch (const nlohmann::json::parse_error& e) {
    wipe(raw_text.data(), raw_text.size());
    reader.bad("not valid JSON (at byte " + std::to_string(e.byte) + ")");
  } catch (const nlohmann::json::out_of_range&) {  // a number too large for a double
    wipe(raw_text.data(), raw_text.size());
    reader.bad("not valid JSON (a number out of range)");
  }
  wipe(raw_text.data(), raw_text.size());
  if (!j.is_object()) reader.bad("not a JSON object");
  const nlohmann::json& version = reader.field(j, "version");
  if (!version.is_number_unsigned()) reader.bad("field \"version\" must be a whole number, not " + std::string(version.type_name()));
  if (version.get<std::uint64_t>() != 1) {
    reader.bad("field \"version\" is " + version.dump() + " but this kpthin reads version 1");
  }
  CopyState state;
  std::string phase = reader.text(j, "phase");
  if (phase == "writing") {
    state.phase = CopyState::Phase::kWriting;
  } else if (phase == "copying") {
    state.phase = CopyState::Phase::kCopying;
  } else {
    reader.bad("field \"phase\" must be \"writing\" or \"copying\", not \"" + phase + "\"");
  }
  state.temp_write_cap = SecretBytes(reader.base64(j, "temp_write_capability"));
  state.temp_start_index = reader.base64(j, "temp_start_index");
  state.temp_next_index = reader.base64(j, "temp_next_index");
  state.written = reader.count(j, "elements_written");
  state.total = reader.count(j, "elements_total");
  if (state.written > state.total) reader.bad("field \"elements_written\" is more than \"elements_total\"");
  if (!reader.field(j, "buffer").is_null()) state.buffer = reader.base64(j, "buffer");
  const nlohmann::json& destinations = reader.field(j, "destinations");
  if (!destinations.is_array() || destinations.empty()) {
    reader.bad("field \"destinations\" must be a non-empty array");
  }
  for (std::size_t i = 0; i < destinations.size(); ++i) {
    const nlohmann::json& d = destinations[i];
    std::string where = "destinations[" + std::to_string(i) + "]";
    if (!d.is_object()) reader.bad("field \"" + where + "\" must be an object, not " + std::string(d.type_name()));
    state.destinations.push_back({reader.text(d, where + ".channel"), reader.base64(d, where + ".start_index"),
                                  reader.base64(d, where + ".next_index")});
  }
  state.elements_blake2b = reader.text(j, "elements_blake2b");
  if (!std::filesystem::exists(elements_path(state_path), ec) && !ec) {
    reader.bad("its elements file " + elements_path(state_path).string() + " is missing");
  }
  std::string raw = read_text_file(elements_path(state_path), ExitCode::kConfig);
  if (elements_digest(raw) != state.elements_blake2b) {
    reader.bad(elements_path(state_path).string() + " does not match the field \"elements_blake2b\"");
  }
  elements.clear();
  std::size_t pos = 0;
  while (pos < raw.size()) {
    if (raw.size() - pos < 4) reader.bad(elements_path(state_path).string() + " is truncated");
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<std::uint8_t>(raw[pos++]);
    if (raw.size() - pos < n) reader.bad(elements_path(state_path).string() + " is truncated");
    elements.emplace_back(raw.begin() + static_cast<std::ptrdiff_t>(pos),
                          raw.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
  }
  if (elements.size() != state.total) {
    reader.bad(elements_path(state_path).string() + " holds " + std::to_string(elements.size()) +
               " elements but the field \"elements_total\" says " + std::to_string(state.total));
  }
  return state;
}

void remove_copy_state(const std::filesystem::path& state_path) {
  std::error_code ec;
  std::filesystem::remove(state_path, ec);
  std::filesystem::remove(elements_path(state_path), ec);
}

}  // namespace kpthin::cli
