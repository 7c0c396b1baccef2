// Strict UTF-8 and TOML escapes (kpthin/utf8.hpp), shared by the CBOR reader and the TOML reader.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "kpthin/utf8.hpp"

using namespace kpthin;

namespace {

std::size_t length_of(std::string_view bytes) { return utf8::sequence_length(bytes, 0); }

}  // namespace

TEST_CASE("utf8: sequence_length accepts each encoding length at its bounds") {
  CHECK(length_of(std::string_view("\0", 1)) == 1);
  CHECK(length_of("\x7f") == 1);
  CHECK(length_of("\xc2\x80") == 2);          // U+0080
  CHECK(length_of("\xdf\xbf") == 2);          // U+07FF
  CHECK(length_of("\xe0\xa0\x80") == 3);      // U+0800
  CHECK(length_of("\xed\x9f\xbf") == 3);      // U+D7FF, just below the surrogates
  CHECK(length_of("\xee\x80\x80") == 3);      // U+E000, just above them
  CHECK(length_of("\xef\xbf\xbf") == 3);      // U+FFFF
  CHECK(length_of("\xf0\x90\x80\x80") == 4);  // U+10000
  CHECK(length_of("\xf4\x8f\xbf\xbf") == 4);  // U+10FFFF
  // Only the first character counts; what follows it is not looked at.
  CHECK(length_of("a\xff") == 1);
  CHECK(utf8::sequence_length("x\xc3\xa9", 1) == 2);
}

TEST_CASE("utf8: sequence_length refuses overlong forms, surrogates, big code points and cut sequences") {
  for (std::string_view bad : {"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf",
                               "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
                               "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xc3", "\xe2\x82", "\xf0\x9f\x98",
                               "\xc3\x28", "\xe2\x28\xa1", "\xf0\x9f\x28\x80"}) {
    CAPTURE(bad);
    CHECK(length_of(bad) == 0);
  }
}

TEST_CASE("utf8: append encodes every length, and what it writes reads back as one character") {
  for (std::uint32_t cp : {0x0u, 0x41u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xD7FFu, 0xE000u, 0xFFFFu, 0x10000u, 0x10FFFFu}) {
    CAPTURE(cp);
    std::string out = "x";
    utf8::append(out, cp);
    const std::size_t expected = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    REQUIRE(out.size() == 1 + expected);
    CHECK(utf8::sequence_length(out, 1) == expected);
  }
  std::string euro;
  utf8::append(euro, 0x20AC);
  CHECK(euro == "\xe2\x82\xac");
}

TEST_CASE("utf8: decode_toml_escape decodes TOML's escapes and moves past them") {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {R"(\b)", "\b"},  {R"(\t)", "\t"},       {R"(\n)", "\n"},        {R"(\f)", "\f"},
      {R"(\r)", "\r"},  {R"(\")", "\""},       {R"(\\)", "\\"},        {R"(\u00e9)", "\xc3\xa9"},
      {R"(\u20AC)", "\xe2\x82\xac"},           {R"(\U0001F600)", "\xf0\x9f\x98\x80"},
      {R"(\U0010ffff)", "\xf4\x8f\xbf\xbf"}};
  for (const auto& [escape, decoded] : cases) {
    CAPTURE(escape);
    const std::string text = std::string("ab") + std::string(escape) + "rest";
    std::size_t pos = 2;
    std::string out = "<";
    CHECK(utf8::decode_toml_escape(text, pos, out) == nullptr);
    CHECK(out == "<" + std::string(decoded));
    CHECK(text.substr(pos) == "rest");
  }
}

TEST_CASE("utf8: decode_toml_escape says what is wrong, where, and leaves the output alone") {
  struct Case {
    std::string_view text;
    std::string_view error;
    std::size_t pos;  // where the error is reported
  };
  const Case cases[] = {
      {R"(\q)", "an unknown escape sequence in a string", 2},
      {"\\", "an unknown escape sequence in a string", 2},  // a backslash at the end of the text
      {R"(\u12g4)", "a \\u escape needs hex digits", 4},
      {R"(\u12)", "a \\u escape needs hex digits", 4},      // the text ends inside the escape
      {R"(\U00110000)", "an escape that is no Unicode scalar value", 10},
      {R"(\UFFFFFFFF)", "a \\U escape beyond U+10FFFF", 8},  // refused before the digits overflow
      {R"(\uD800)", "an escape that is no Unicode scalar value", 6},
      {R"(\uDFFF)", "an escape that is no Unicode scalar value", 6},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    std::size_t pos = 0;
    std::string out = "kept";
    const char* error = utf8::decode_toml_escape(c.text, pos, out);
    REQUIRE(error != nullptr);
    CHECK(std::string_view(error) == c.error);
    CHECK(pos == c.pos);
    CHECK(out == "kept");
  }
}
