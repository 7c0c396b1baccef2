// thinclient.toml parsing (spec §8.1): the accepted shapes and every rejection.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "kpthin/config.hpp"
#include "kpthin/errors.hpp"

using namespace kpthin;

namespace {

// Parses text expected to be rejected; returns the error message for further checks.
std::string rejection(const std::string& text) {
  auto r = parse_config(text);
  REQUIRE_MESSAGE(!r.ok(), "accepted: " << text);
  CHECK(r.status().code() == make_error_code(local_errc::config_invalid));
  return r.status().message();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("config: the example of spec 8.1") {
  auto r = parse_config("[Dial]\n  [Dial.Tcp]\n    Address = \"localhost:64331\"\n    Network = \"tcp\"\n");
  REQUIRE(r.ok());
  CHECK(r->kind == TransportKind::kTcp);
  CHECK(r->address == "localhost:64331");
  CHECK(r->network == "tcp");
}

TEST_CASE("config: unix path, abstract @name, tcp defaults, tcp4/tcp6, ws") {
  auto unix_path = parse_config("[Dial.Unix]\nAddress = \"/run/kpclientd.sock\"\n");
  REQUIRE(unix_path.ok());
  CHECK(unix_path->kind == TransportKind::kUnix);
  CHECK(unix_path->address == "/run/kpclientd.sock");

  auto abstract = parse_config("[Dial]\n[Dial.Unix]\nAddress = \"@kpclientd\"\n");
  REQUIRE(abstract.ok());
  CHECK(abstract->address == "@kpclientd");

  auto tcp_default = parse_config("[Dial.Tcp]\nAddress = \"127.0.0.1:1\"\n");
  REQUIRE(tcp_default.ok());
  CHECK(tcp_default->network == "tcp");

  auto tcp6 = parse_config("[Dial.Tcp]\nAddress = \"[::1]:64331\"\nNetwork = \"tcp6\"\n");
  REQUIRE(tcp6.ok());
  CHECK(tcp6->network == "tcp6");
  CHECK(tcp6->address == "[::1]:64331");

  auto tcp4 = parse_config("[Dial.Tcp]\nAddress = \"127.0.0.1:1\"\nNetwork = \"tcp4\"\n");
  REQUIRE(tcp4.ok());
  CHECK(tcp4->network == "tcp4");

  auto ws = parse_config("[Dial.Ws]\nAddress = \"ws://127.0.0.1:8080/\"\n");
  REQUIRE(ws.ok());
  CHECK(ws->kind == TransportKind::kWebSocket);

  auto inline_table = parse_config("Dial = { Unix = { Address = \"/tmp/s\" } }\n");
  REQUIRE(inline_table.ok());
  CHECK(inline_table->address == "/tmp/s");
}

TEST_CASE("config: keys match case-insensitively as a fallback, like BurntSushi/toml") {
  auto r = parse_config("[dial.tcp]\naddress = \"h:1\"\nnetwork = \"tcp4\"\n");
  REQUIRE(r.ok());
  CHECK(r->network == "tcp4");
}

TEST_CASE("config: rejections name the offending key") {
  CHECK(contains(rejection(""), "missing required section [Dial]"));
  CHECK(contains(rejection("[Dial]\n"), "no transport table"));
  CHECK(contains(rejection("Network = \"tcp\"\n[Dial.Tcp]\nAddress = \"h:1\"\n"), "unknown key Network"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = \"h:1\"\n[SphinxGeometry]\nNrHops = 5\n"),
                 "unknown key SphinxGeometry"));
  CHECK(contains(rejection("[Dial]\nFoo = 1\n[Dial.Tcp]\nAddress = \"h:1\"\n"), "unknown key Dial.Foo"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = \"h:1\"\nPort = 5\n"), "unknown key Dial.Tcp.Port"));
  CHECK(contains(rejection("[Dial.Unix]\nAddress = \"/s\"\nNetwork = \"unix\"\n"), "unknown key Dial.Unix.Network"));
  CHECK(contains(rejection("[Dial.Ws]\nAddress = \"ws://h:1\"\nNetwork = \"tcp\"\n"), "unknown key Dial.Ws.Network"));
  CHECK(contains(rejection("[Dial.Ssh]\nAddress = \"h\"\n"), "unknown key Dial.Ssh"));
  CHECK(contains(rejection("[Dial.Unix]\nAddress = \"/s\"\n[Dial.Tcp]\nAddress = \"h:1\"\n"), "exactly one transport"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = 64331\n"), "Dial.Tcp.Address must be a string"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = \"h:1\"\nNetwork = true\n"), "Dial.Tcp.Network must be a string"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = \"h:1\"\nNetwork = \"udp\"\n"), "Network must be"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = \"\"\n"), "Dial.Tcp.Address is missing or empty"));
  CHECK(contains(rejection("[Dial.Tcp]\nNetwork = \"tcp\"\n"), "Dial.Tcp.Address is missing or empty"));
  CHECK(contains(rejection("Dial = \"unix\"\n"), "Dial must be a table"));
  CHECK(contains(rejection("[Dial]\nTcp = \"h:1\"\n"), "Dial.Tcp must be a table"));
  CHECK(contains(rejection("[[Dial.Tcp]]\nAddress = \"h:1\"\n"), "Dial.Tcp must be a table"));
  CHECK(contains(rejection("[Dial.Tcp\nAddress = \"h:1\"\n"), "thinclient.toml:1"));
}

TEST_CASE("config: format_config round-trips through parse_config, with escaping") {
  for (const DialTarget& t : {DialTarget{TransportKind::kUnix, "@kpclientd", ""},
                              DialTarget{TransportKind::kUnix, "/tmp/a \"quoted\" \\path", ""},
                              DialTarget{TransportKind::kTcp, "[::1]:64331", "tcp6"},
                              DialTarget{TransportKind::kWebSocket, "ws://127.0.0.1:1/", ""}}) {
    const std::string text = format_config(t);
    auto r = parse_config(text);
    REQUIRE_MESSAGE(r.ok(), text);
    CHECK(r->kind == t.kind);
    CHECK(r->address == t.address);
    CHECK(r->network == t.network);
  }
}

TEST_CASE("config: load_config reads a file and names it in errors") {
  const auto dir = std::filesystem::temp_directory_path() / ("kpthin-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto good = dir / "thinclient.toml";
  std::ofstream(good) << "[Dial.Tcp]\nAddress = \"localhost:64331\"\n";
  auto r = load_config(good);
  REQUIRE(r.ok());
  CHECK(r->address == "localhost:64331");

  const auto bad = dir / "bad.toml";
  std::ofstream(bad) << "[Dial.Tcp]\nAddress = \"h:1\"\nBogus = 1\n";
  auto b = load_config(bad);
  REQUIRE(!b.ok());
  CHECK(contains(b.status().message(), bad.string() + ":3"));

  auto missing = load_config(dir / "absent.toml");
  REQUIRE(!missing.ok());
  CHECK(missing.status().code() == make_error_code(local_errc::config_invalid));

  // A directory opens but cannot be read: say so, rather than parse it as an empty file.
  auto directory = load_config(dir);
  REQUIRE(!directory.ok());
  CHECK(directory.status().code() == make_error_code(local_errc::config_invalid));
  CHECK_MESSAGE(contains(directory.status().message(), "read error"), directory.status().message());
  std::filesystem::remove_all(dir);
}

TEST_CASE("config: the strict reader takes the TOML a thinclient.toml may use") {
  auto r = parse_config("\xEF\xBB\xBF# generated\r\n[Dial]   # comment\r\n  [ Dial . 'Tcp' ]\r\n"
                        "    \"Address\" = '''h:1'''\r\n    Network = \"\"\"tcp\\\n       4\"\"\"\r\n");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->address == "h:1");
  CHECK(r->network == "tcp4");
  auto dotted = parse_config("Dial.Unix.Address = \"/s\\u00e9\"\n");
  REQUIRE(dotted.ok());
  CHECK(dotted->address == "/s\xC3\xA9");
  // Values of other kinds are read, so the error can say what they are.
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = [\"a\", # c\n 'b',]\n"), "Dial.Tcp.Address must be a string, not an array"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = 0x_1\n"), "thinclient.toml:2: a malformed number"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = -1.5e3\n"), "not a float"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = { a = 1 }\n"), "not a table"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = 1979-05-27\n"), "a date or time"));
}

TEST_CASE("config: the strict reader refuses what TOML refuses, with the line") {
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = \"h:1\"\nAddress = \"h:2\"\n"), ":3: the key \"Address\" is defined twice"));
  CHECK(contains(rejection("[Dial.Tcp]\n[Dial.Tcp]\n"), ":2: the table \"Tcp\" is defined twice"));
  CHECK(contains(rejection("Dial = { Tcp = { Address = \"h:1\" } }\n[Dial.Unix]\n"), "not a table"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = 99999999999999999999\n"), "too large"));
  CHECK(contains(rejection("D=5e445"), "a float out of range"));  // found by fuzz_config
  CHECK(contains(rejection("D=0x" + std::string(30, '0')), "a number longer"));  // found by fuzz_config
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = \"a\\qb\"\n"), "unknown escape"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = \"a\xFF\"\n"), "invalid UTF-8"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = { a = 1, }\n"), "expected a key"));
  CHECK(contains(rejection("[\n"), "thinclient.toml:1"));
  CHECK(contains(rejection("[Dial.Tcp]\nAddress = \"h:1\" x\n"), "unexpected text"));
  CHECK(contains(rejection("a = " + std::string(100, '[') + "\n"), "nested too deeply"));
}

TEST_CASE("config: text that made toml++ 3.3.0 fail an assertion is refused without it") {
  // Each of these reached a failed assertion (undefined behaviour in a release build) in the
  // toml++ parser kpthin used before; tests/fuzz/regressions/config keeps them all.
  for (const char* text : {"De=554%-51-=0 0", "[\n", "a=[}", "[[]]\n", "x = 1 = \"\xC2\xA1\"\n"}) {
    CHECK(!parse_config(text).ok());
  }
}
