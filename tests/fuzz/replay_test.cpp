// Replays, through the same entry functions libFuzzer calls, every regression input under
// tests/fuzz/regressions/<target>/ and every generated seed, in the normal build (label unit):
// an input a fuzzer once crashed on stays fixed even where no clang is installed.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fuzz_targets.hpp"

namespace {

void replay(const kpthin::fuzz::Target& target, const std::string& input, const std::string& what) {
  INFO(target.name << ": " << what);
  CHECK_NOTHROW(target.entry(reinterpret_cast<const std::uint8_t*>(input.data()), input.size()));
}

}  // namespace

TEST_CASE("fuzz regressions: every saved input still passes its target") {
  std::filesystem::path root = KPTHIN_FUZZ_DIR "/regressions";
  std::size_t replayed = 0;
  for (const auto& target : kpthin::fuzz::targets()) {
    std::filesystem::path dir = root / target.name;
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().extension() == ".md") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      replay(target, bytes.str(), entry.path().filename().string());
      ++replayed;
    }
  }
  // Each directory's README-less files count; the channel-file one proves the toml++ guard.
  CHECK(replayed >= 1);
  CHECK(std::filesystem::exists(root / "channel_file" / "table_header_cut_by_newline"));
}

TEST_CASE("fuzz seeds: every target accepts its own seeds (round trips hold)") {
  for (const auto& target : kpthin::fuzz::targets()) {
    auto seeds = kpthin::fuzz::seeds(target.name, KPTHIN_GOLDEN_DIR);
    INFO(target.name);
    CHECK(!seeds.empty());
    for (std::size_t i = 0; i < seeds.size(); ++i) replay(target, seeds[i], "seed " + std::to_string(i));
  }
}
