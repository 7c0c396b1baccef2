// Writes each fuzz target's seed corpus: kpthin_fuzz_seeds GOLDEN_DIR OUT_DIR [TARGET] creates
// OUT_DIR/<target>/seed-<n> for every target (or one).
#include <filesystem>
#include <fstream>
#include <iostream>

#include "fuzz_targets.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: kpthin_fuzz_seeds GOLDEN_DIR OUT_DIR [TARGET]\n";
    return 2;
  }
  for (const auto& target : kpthin::fuzz::targets()) {
    if (argc > 3 && std::string(argv[3]) != target.name) continue;
    std::filesystem::path dir = std::filesystem::path(argv[2]) / target.name;
    std::filesystem::create_directories(dir);
    auto seeds = kpthin::fuzz::seeds(target.name, argv[1]);
    for (std::size_t i = 0; i < seeds.size(); ++i) {
      std::ofstream(dir / ("seed-" + std::to_string(i)), std::ios::binary) << seeds[i];
    }
  }
  return 0;
}
