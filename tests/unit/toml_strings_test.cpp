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

TEST_CASE("toml strings: a refusal says which kind, at which line, and gives no values") {
  struct Case {
    std::string text;
    Outcome outcome;
    std::size_t line;
    const char* what;
  };
  const Outcome kNotString = Outcome::kNotString, kSyntax = Outcome::kSyntax;
  const Case cases[] = {
      // A value that is not a string, at the line it is defined.
      {"a = \"x\"\n\n[t]\n", kNotString, 3, "key \"t\" must be a string, not a table"},
      {"a = \"x\"\nb.c = \"y\"\n", kNotString, 2, "key \"b\" must be a string, not a table"},
      {"a = \"x\"\nn = 5\n", kNotString, 2, "not an integer"},
      {"a = [\"x\"]\n", kNotString, 1, "not an array"},
      // TOML, but not what the reader takes: still "not a string", not "not TOML".
      {"a = \"x\"\nd = 1979-05-27\n", kNotString, 2, "a date or time"},
      {"a = " + std::string(40, '[') + std::string(40, ']') + "\n", kNotString, 1, "nested too deeply"},
      // Text TOML refuses, at the defect's line.
      {"a = \"x\"\na = \"y\"\n", kSyntax, 2, "defined twice"},
      {"a = \"x\n", kSyntax, 1, "line break inside a string"},
      {"a = \"x\"\nb = \"\xff\"\n", kSyntax, 2, "invalid UTF-8"},
      {"a = \"x\"\nb\n", kSyntax, 2, "expected '='"},
      {"a = \"x\" y\n", kSyntax, 1, "unexpected text"},
      {"a = \"x\"\nkind = write\n", kSyntax, 2, "a string needs quotes"},
      {"a = 1.e5\n", kSyntax, 1, "a malformed number"},
  };
  for (const Case& c : cases) {
    TomlStrings r = read_toml_strings(c.text);
    CHECK_MESSAGE(r.outcome == c.outcome, c.text);
    CHECK_MESSAGE(r.line == c.line, c.text);
    CHECK_MESSAGE(r.error.find(c.what) != std::string::npos, r.error);
    CHECK(r.values.empty());
  }
}
