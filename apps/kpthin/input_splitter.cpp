#include "input_splitter.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "exit_codes.hpp"
#include "interrupt.hpp"

namespace kpthin::cli {
namespace {

constexpr std::size_t kReadSize = 64 * 1024;

// One read(2); returns bytes read, 0 at EOF; throws on error or interruption.
std::size_t read_some(int fd, std::uint8_t* data, std::size_t size) {
  ssize_t n = read_unless_interrupted(fd, data, size);
  if (n >= 0) return static_cast<std::size_t>(n);
  int err = errno;
  fail(ExitCode::kOther, std::string("cannot read the input: ") + std::strerror(err));
}

}  // namespace

std::optional<SplitMode> parse_split(const std::string& text) {
  if (text == "lines") return SplitMode{true, 0};
  if (text == "box") return SplitMode{false, 0};
  std::size_t pos = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
  if (pos == 0 || pos > 12) return std::nullopt;
  std::uint64_t value = std::stoull(text.substr(0, pos));
  std::string unit = text.substr(pos);
  std::uint64_t factor;
  if (unit.empty() || unit == "b" || unit == "B") {
    factor = 1;
  } else if (unit == "k" || unit == "K" || unit == "KiB") {
    factor = 1024;
  } else if (unit == "M" || unit == "MiB") {
    factor = 1024 * 1024;
  } else {
    return std::nullopt;
  }
  if (value == 0) return std::nullopt;
  return SplitMode{false, static_cast<std::size_t>(value * factor)};
}

InputSplitter::InputSplitter(int fd, SplitMode mode, std::size_t limit) : fd_(fd), mode_(mode), limit_(limit) {
  if (!mode_.lines && mode_.chunk == 0) mode_.chunk = limit_;
}

bool InputSplitter::fill() {
  if (eof_) return false;
  // Drop what was consumed so the buffer never grows beyond one message plus one read.
  if (start_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  std::size_t old = buffer_.size();
  buffer_.resize(old + kReadSize);
  std::size_t n = read_some(fd_, buffer_.data() + old, kReadSize);
  buffer_.resize(old + n);
  if (n == 0) eof_ = true;
  return n > 0;
}

std::optional<Bytes> InputSplitter::next() {
  std::size_t scanned = 0;  // bytes after start_ already known to hold no newline
  for (;;) {
    std::size_t available = buffer_.size() - start_;
    if (mode_.lines) {
      auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(start_ + scanned);
      auto nl = std::find(begin, buffer_.end(), std::uint8_t{'\n'});
      if (nl != buffer_.end()) {
        std::size_t length = static_cast<std::size_t>(nl - buffer_.begin()) + 1 - start_;
        if (length > limit_) {
          fail(ExitCode::kUsage, "line " + std::to_string(messages_ + 1) + " is " + std::to_string(length) +
                                     " bytes, more than the box limit of " + std::to_string(limit_) +
                                     " bytes; use --split SIZE to cut it into chunks");
        }
        Bytes line(buffer_.begin() + static_cast<std::ptrdiff_t>(start_), nl + 1);
        start_ += length;
        ++messages_;
        return line;
      }
      scanned = available;
      if (available > limit_) {
        fail(ExitCode::kUsage, "line " + std::to_string(messages_ + 1) + " is more than the box limit of " +
                                   std::to_string(limit_) + " bytes; use --split SIZE to cut it into chunks");
      }
    } else if (available >= mode_.chunk) {
      Bytes chunk(buffer_.begin() + static_cast<std::ptrdiff_t>(start_),
                  buffer_.begin() + static_cast<std::ptrdiff_t>(start_ + mode_.chunk));
      start_ += mode_.chunk;
      ++messages_;
      return chunk;
    }
    if (!fill()) {
      // End of input: what is left is the last (unterminated) line or short chunk.
      if (buffer_.size() == start_) return std::nullopt;
      Bytes rest(buffer_.begin() + static_cast<std::ptrdiff_t>(start_), buffer_.end());
      start_ = buffer_.size();
      ++messages_;
      return rest;
    }
  }
}

Bytes read_single_message(int fd, std::size_t limit, const std::string& what) {
  Bytes data;
  for (;;) {
    std::size_t old = data.size();
    data.resize(old + kReadSize);
    std::size_t n = read_some(fd, data.data() + old, kReadSize);
    data.resize(old + n);
    if (n == 0) return data;
    if (data.size() > limit) {
      fail(ExitCode::kUsage, what + " is more than the box limit of " + std::to_string(limit) +
                                 " bytes; use --split SIZE (one box per chunk) or `kpthin copy`");
    }
  }
}

}  // namespace kpthin::cli
