// Helpers shared by the CLI unit test files: a temporary directory, sample channels, whole-file
// reads and writes, and the exit code or message a CLI call fails with.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include "channel_file.hpp"
#include "exit_codes.hpp"
#include "kpthin/bytes.hpp"

namespace kpthin::cli::test {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kpthin-cli-test.XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

inline Bytes pattern_bytes(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

inline Channel sample_channel(ChannelKind kind) {
  std::size_t cap = kind == ChannelKind::kWrite ? kWriteCapSize : kReadCapSize;
  return Channel{kind, SecretBytes(pattern_bytes(cap, 1)), pattern_bytes(kMessageBoxIndexSize, 9), std::nullopt,
                 std::nullopt};
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

inline void spit(const std::filesystem::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

inline ExitCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const CliError& e) {
    return e.code();
  }
  return ExitCode::kOk;
}

inline std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const CliError& e) {
    return e.what();
  }
  return {};
}

}  // namespace kpthin::cli::test
