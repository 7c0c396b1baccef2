#include "nearest_name.hpp"

#include <algorithm>
#include <limits>

namespace kpthin::cli {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::vector<std::string> nearest_names(std::string_view typed, const std::vector<std::string>& candidates) {
  const std::size_t allowed = typed.size() <= 4 ? 1 : 2;
  std::size_t best = std::numeric_limits<std::size_t>::max();
  std::vector<std::string> found;
  for (const std::string& candidate : candidates) {
    const std::size_t d = edit_distance(typed, candidate);
    if (d > allowed || d > best) continue;
    if (d < best) found.clear();
    best = d;
    found.push_back(candidate);
  }
  if (!found.empty() || typed.size() < 3) return found;
  for (const std::string& candidate : candidates) {
    if (candidate.size() > typed.size() && candidate.compare(0, typed.size(), typed) == 0) found.push_back(candidate);
  }
  if (found.size() > 1) found.clear();
  return found;
}

std::string did_you_mean(std::string_view typed, const std::vector<std::string>& candidates,
                         std::string_view shown_prefix) {
  std::vector<std::string> names = nearest_names(typed, candidates);
  if (names.empty()) return {};
  std::string text = " did you mean ";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += shown_prefix;
    text += names[i];
  }
  return text + "?";
}

}  // namespace kpthin::cli
