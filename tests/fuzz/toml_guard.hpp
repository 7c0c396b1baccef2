// Debian's toml++ 3.3.0 reaches undefined behaviour (a failed assertion, which is an assumption
// in a release build, or __builtin_unreachable) on things no valid thinclient.toml contains: a
// table header whose name does not start right after `[` / `[[` (`[` then a line break), a
// non-ASCII character where it tests for whitespace, malformed arrays. Text must pass this check
// before toml++ sees it; the cases were found by tests/fuzz (config, channel_file) and are kept
// in tests/fuzz/regressions.
#pragma once

#include <cstddef>
#include <string_view>

namespace kpthin::detail {

// The 1-based line of the first such defect, or 0 if toml++ may parse the text. A scanner that
// allows non-ASCII bytes only in comments and in strings opened where TOML has a key or a value;
// it may refuse text toml++ would merely reject, never pass text toml++ cannot take (the fuzz
// targets for thinclient.toml and channel files check that with toml++'s assertions on).
std::size_t line_toml_cannot_take(std::string_view text);

}  // namespace kpthin::detail
