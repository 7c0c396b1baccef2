// Streaming split of an input into messages, one per box: lines (each keeps its newline, so the
// boxes concatenate back to the input byte for byte) or fixed-size chunks. Memory stays bounded
// by the box size whatever the input length.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kpthin/bytes.hpp"

namespace kpthin::cli {

// "--split" values: "lines", a size ("1000", "4k", "4KiB", "1M") or "box" (the box limit).
struct SplitMode {
  bool lines = false;
  std::size_t chunk = 0;  // 0 with !lines = "box"
};
// Parses a --split value; nullopt if malformed.
std::optional<SplitMode> parse_split(const std::string& text);

class InputSplitter {
 public:
  // Reads from `fd`. `limit` is the most bytes one message may hold.
  InputSplitter(int fd, SplitMode mode, std::size_t limit);

  // The next message, or nullopt at end of input. Throws CliError(kUsage) for a line longer than
  // the limit (naming the line number and the limit), CliError(kOther) for read errors, and
  // CliError(kInterrupted) when a signal interrupted the read.
  std::optional<Bytes> next();

  std::uint64_t messages() const { return messages_; }

 private:
  bool fill();  // reads more; false at EOF

  int fd_;
  SplitMode mode_;
  std::size_t limit_;
  Bytes buffer_;
  std::size_t start_ = 0;
  bool eof_ = false;
  std::uint64_t messages_ = 0;
};

// Reads a whole input for a single message, refusing (kUsage) more than `limit` bytes without
// reading the rest. `what` names the input in messages.
Bytes read_single_message(int fd, std::size_t limit, const std::string& what);

}  // namespace kpthin::cli
