// read_toml_strings (kpthin/toml.hpp): the channel-file shape of TOML, through the strict reader.
#include <doctest/doctest.h>

#include <string>

#include "kpthin/toml.hpp"

using namespace kpthin;
using Outcome = TomlStrings::Outcome;

TEST_CASE("toml strings: every string form, comments, CRLF and a byte order mark") {
  TomlStrings r = read_toml_strings(
      "\xEF\xBB\xBF# c\r\nbare = \"a\\tb\" # c\n\"q k\" = 'lit'\n'l' = \"\"\"\nx\\\n   y\"\"\"\nm = '''z\n'''\n");
  REQUIRE(r.outcome == Outcome::kOk);
  CHECK(r.values == std::map<std::string, std::string>{{"bare", "a\tb"}, {"q k", "lit"}, {"l", "xy"}, {"m", "z\n"}});
}

TEST_CASE("toml strings: a value that is not a string is kNotString at its line, and no values") {
  auto check = [](const std::string& text, std::size_t line, const char* what) {
    TomlStrings r = read_toml_strings(text);
    CHECK_MESSAGE(r.outcome == Outcome::kNotString, text);
    CHECK_MESSAGE(r.line == line, text);
    CHECK_MESSAGE(r.error.find(what) != std::string::npos, r.error);
    CHECK(r.values.empty());
  };
  check("a = \"x\"\n\n[t]\n", 3, "key \"t\" must be a string, not a table");
  check("a = \"x\"\nb.c = \"y\"\n", 2, "key \"b\" must be a string, not a table");
  check("a = \"x\"\nn = 5\n", 2, "not an integer");
  check("a = [\"x\"]\n", 1, "not an array");
  // TOML, but not what the reader takes: still "not a string", not "not TOML".
  check("a = \"x\"\nd = 1979-05-27\n", 2, "a date or time");
  check("a = " + std::string(40, '[') + std::string(40, ']') + "\n", 1, "nested too deeply");
}

TEST_CASE("toml strings: text TOML refuses is kSyntax at the defect's line") {
  auto check = [](const std::string& text, std::size_t line, const char* what) {
    TomlStrings r = read_toml_strings(text);
    CHECK_MESSAGE(r.outcome == Outcome::kSyntax, text);
    CHECK_MESSAGE(r.line == line, text);
    CHECK_MESSAGE(r.error.find(what) != std::string::npos, r.error);
    CHECK(r.values.empty());
  };
  check("a = \"x\"\na = \"y\"\n", 2, "defined twice");
  check("a = \"x\n", 1, "line break inside a string");
  check("a = \"x\"\nb = \"\xff\"\n", 2, "invalid UTF-8");
  check("a = \"x\"\nb\n", 2, "expected '='");
  check("a = \"x\" y\n", 1, "unexpected text");
  check("a = \"x\"\nkind = write\n", 2, "a string needs quotes");
  check("a = 1.e5\n", 1, "a malformed number");
}
