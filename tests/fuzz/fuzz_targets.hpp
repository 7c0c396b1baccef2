// The libFuzzer targets, one per parser of bytes kpthin does not control. Each entry function
// takes any bytes, runs the parser, and for what parses checks the re-encode round trip. A
// defect (a parser that throws what it promised not to, a round trip that changes the value)
// throws Failure, which is a crash to libFuzzer and a failed test in the unit replay
// (tests/fuzz/replay_test.cpp). Sanitizer findings abort in both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace kpthin::fuzz {

struct Failure : std::logic_error {
  using std::logic_error::logic_error;
};

// Throws Failure(what) unless `ok`.
inline void expect(bool ok, const std::string& what) {
  if (!ok) throw Failure(what);
}

using Entry = int (*)(const std::uint8_t* data, std::size_t size);

#define KPTHIN_FUZZ_TARGETS(X) \
  X(frame)                     \
  X(request)                   \
  X(response)                  \
  X(cbor)                      \
  X(pki)                       \
  X(config)                    \
  X(channel_file)              \
  X(genkey_text)               \
  X(copy_state)                \
  X(duration)                  \
  X(split_spec)                \
  X(input_splitter)            \
  X(file_header)

#define KPTHIN_FUZZ_DECLARE(name) int name(const std::uint8_t* data, std::size_t size);
KPTHIN_FUZZ_TARGETS(KPTHIN_FUZZ_DECLARE)
#undef KPTHIN_FUZZ_DECLARE

struct Target {
  const char* name;
  Entry entry;
};
// Every target, by the name of its binary (fuzz_<name>) and its directories under tests/fuzz.
const std::vector<Target>& targets();

// Seed inputs for `target`, made with the project's own encoders and the golden frames under
// `golden_dir` (tests/golden): each is a valid or nearly valid input the fuzzer mutates from.
std::vector<std::string> seeds(const std::string& target, const std::string& golden_dir);

}  // namespace kpthin::fuzz
