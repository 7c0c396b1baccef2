#include "kpthin/frame.hpp"

#include <string>

#include "kpthin/errors.hpp"

namespace kpthin {

Bytes make_frame(ByteView body) {
  Bytes frame;
  frame.reserve(kFramePrefixSize + body.size());
  const auto length = static_cast<std::uint32_t>(body.size());
  frame.push_back(static_cast<std::uint8_t>(length >> 24));
  frame.push_back(static_cast<std::uint8_t>(length >> 16));
  frame.push_back(static_cast<std::uint8_t>(length >> 8));
  frame.push_back(static_cast<std::uint8_t>(length));
  frame.insert(frame.end(), body.begin(), body.end());
  return frame;
}

void FrameDecoder::feed(ByteView bytes) {
  if (failed_ || bytes.empty()) return;
  // Drop what was already handed out before growing, so the buffer holds at most one partial
  // frame plus the new bytes.
  if (consumed_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<Bytes>> FrameDecoder::next() {
  auto body = next_view();
  if (!body.ok()) return body.status();
  if (!body->has_value()) return std::optional<Bytes>();
  return std::optional<Bytes>(Bytes((*body)->begin(), (*body)->end()));
}

Result<std::optional<std::span<std::uint8_t>>> FrameDecoder::next_view() {
  using View = std::optional<std::span<std::uint8_t>>;
  if (failed_) return Status(local_errc::malformed_frame, "stream already failed on a bad length prefix");
  if (consumed_ == buffer_.size()) {  // everything handed out: start again at the front
    buffer_.clear();
    consumed_ = 0;
  }
  const std::size_t available = buffer_.size() - consumed_;
  if (available < kFramePrefixSize) return View();
  std::uint8_t* p = buffer_.data() + consumed_;
  const std::uint32_t length = static_cast<std::uint32_t>(p[0]) << 24 |
                               static_cast<std::uint32_t>(p[1]) << 16 |
                               static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
  if (length == 0) {
    failed_ = true;
    return Status(local_errc::malformed_frame, "zero-length frame");
  }
  if (length > kMaxFrameSize) {
    failed_ = true;
    return Status(local_errc::malformed_frame,
                  "frame length " + std::to_string(length) + " exceeds the 40 MiB limit");
  }
  if (available - kFramePrefixSize < length) return View();
  consumed_ += kFramePrefixSize + length;
  return View(std::span<std::uint8_t>(p + kFramePrefixSize, length));
}

}  // namespace kpthin
