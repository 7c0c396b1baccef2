// libFuzzer's entry point for one target, chosen at build time (KPTHIN_FUZZ_TARGET=<name>).
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return kpthin::fuzz::KPTHIN_FUZZ_TARGET(data, size);
}
