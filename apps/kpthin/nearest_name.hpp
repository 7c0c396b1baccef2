// "Did you mean ...?" for a mistyped subcommand or option name: the known names closest to what
// was typed, by edit distance (git and cargo do the same).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kpthin::cli {

// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
// adjacent characters each cost 1 ("sned" is 1 from "send").
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidates close enough to `typed` to be what was meant, nearest first (all those at the
// smallest distance, in the candidates' order): within 1 edit for names of up to 4 characters,
// 2 for longer ones, or the only candidate `typed` (3+ characters) is a prefix of. Empty when
// nothing is close, so a wild guess is not suggested.
std::vector<std::string> nearest_names(std::string_view typed, const std::vector<std::string>& candidates);

// " did you mean read?" / " did you mean read or send?" for nearest_names, "" when there is none.
// Each name is shown after `shown_prefix` (option names are compared without their "--").
std::string did_you_mean(std::string_view typed, const std::vector<std::string>& candidates,
                         std::string_view shown_prefix = "");

}  // namespace kpthin::cli
