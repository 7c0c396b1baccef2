// Frames recorded from the real kpclientd (katzenpost v0.0.99) through scripts/record-frames
// decode with libkpthin's codec, and re-encoding a daemon frame in the Go form gives the recorded
// bytes back. File names are <seq>-<c2d|d2c>-<top-level key>.hex (see tests/golden/real/README).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kpthin/codec.hpp"
#include "kpthin/pki.hpp"

using namespace kpthin;
namespace fs = std::filesystem;

namespace {

struct Recorded {
  fs::path path;
  bool from_daemon = false;
  std::string key;
  Bytes body;
};

Bytes unhex_file(const fs::path& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.erase(std::remove_if(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }),
             text.end());
  Bytes out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(text.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::vector<Recorded> recorded_frames() {
  std::vector<Recorded> frames;
  for (const auto& entry : fs::recursive_directory_iterator(KPTHIN_REAL_GOLDEN_DIR)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".hex") continue;
    // <seq>-<dir>-<key>.hex
    const auto first = name.find('-');
    const auto second = name.find('-', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    Recorded r;
    r.path = entry.path();
    r.from_daemon = name.substr(first + 1, second - first - 1) == "d2c";
    r.key = name.substr(second + 1, name.size() - second - 1 - 4);
    r.body = unhex_file(entry.path());
    frames.push_back(std::move(r));
  }
  std::sort(frames.begin(), frames.end(), [](const Recorded& a, const Recorded& b) { return a.path < b.path; });
  return frames;
}

}  // namespace

TEST_CASE("recorded real frames exist: handshake, keypair, PKI document") {
  const auto frames = recorded_frames();
  auto has = [&](const std::string& key) {
    return std::any_of(frames.begin(), frames.end(), [&](const Recorded& r) { return r.key == key; });
  };
  CHECK(has("connection_status_event"));
  CHECK(has("new_pki_document_event"));
  CHECK(has("session_token_reply"));
  CHECK(has("new_keypair_reply"));
  CHECK(has("next_message_box_index_reply"));
}

TEST_CASE("every recorded daemon frame decodes to the response its key names") {
  for (const auto& r : recorded_frames()) {
    if (!r.from_daemon) continue;
    INFO(r.path.string());
    auto decoded = decode_response(r.body);
    REQUIRE_MESSAGE(decoded.ok(), decoded.status().message());
    CHECK(std::string(response_key(*decoded)) == r.key);
  }
}

TEST_CASE("re-encoding a recorded daemon frame in the Go form reproduces its bytes") {
  for (const auto& r : recorded_frames()) {
    if (!r.from_daemon) continue;
    INFO(r.path.string());
    auto decoded = decode_response(r.body);
    REQUIRE(decoded.ok());
    CHECK(encode_response(*decoded, EnvelopeForm::kGoFull) == r.body);
  }
}

TEST_CASE("every recorded client frame decodes to the request its key names") {
  for (const auto& r : recorded_frames()) {
    if (r.from_daemon) continue;
    INFO(r.path.string());
    auto decoded = decode_request(r.body);
    REQUIRE_MESSAGE(decoded.ok(), decoded.status().message());
    CHECK(std::string(request_key(*decoded)) == r.key);
  }
}

TEST_CASE("recorded PKI documents parse and list the echo and courier services") {
  int documents = 0;
  for (const auto& r : recorded_frames()) {
    if (r.key != "new_pki_document_event") continue;
    auto decoded = decode_response(r.body);
    REQUIRE(decoded.ok());
    const auto& event = std::get<NewPkiDocumentEvent>(*decoded);
    if (!event.payload || event.payload->empty()) continue;
    INFO(r.path.string());
    auto doc = parse_pki_document(*event.payload);
    REQUIRE_MESSAGE(doc.ok(), doc.status().message());
    CHECK(doc->epoch > 0);
    CHECK_FALSE(doc->services("echo").empty());
    CHECK_FALSE(doc->services("courier").empty());
    ++documents;
  }
  MESSAGE(documents << " recorded PKI documents");
}
