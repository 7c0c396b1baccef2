// Length-prefixed framing (spec §1.3): uint32 big-endian length, then that many bytes of CBOR.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "kpthin/bytes.hpp"
#include "kpthin/status.hpp"

namespace kpthin {

inline constexpr std::size_t kMaxFrameSize = 40u * 1024u * 1024u;  // 41 943 040, both directions
inline constexpr std::size_t kFramePrefixSize = 4;

// Returns prefix || body. The caller guarantees body.size() <= kMaxFrameSize.
Bytes make_frame(ByteView body);

// Incremental frame reader: feed bytes as they arrive, take whole frame bodies out. The length is
// checked against kMaxFrameSize before anything is allocated for the body; a zero or oversize
// length is a sticky error (the stream cannot be resynchronised).
class FrameDecoder {
 public:
  void feed(ByteView bytes);
  // A complete frame body, std::nullopt if more bytes are needed, or an error.
  Result<std::optional<Bytes>> next();
  // Like next(), without a copy: the body inside the decoder's buffer, valid (and writable, e.g.
  // to wipe it) until the next call of feed(), next() or next_view().
  Result<std::optional<std::span<std::uint8_t>>> next_view();
  std::size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  Bytes buffer_;
  std::size_t consumed_ = 0;
  bool failed_ = false;
};

}  // namespace kpthin
