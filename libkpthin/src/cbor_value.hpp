// Private CBOR layer: a small value tree (decoded under the strict rules of cbor_reader.hpp, for
// the PKI document and tests; replies are read without it), and a writer that emits the
// shortest heads (like Go's fxamacker/cbor).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kpthin/bytes.hpp"
#include "kpthin/status.hpp"

namespace kpthin::cbor {

enum class Kind : std::uint8_t { kUnsigned, kNegative, kBytes, kText, kArray, kMap, kBool, kNull, kUndefined, kFloat };

// Name of a kind for error messages ("byte string", "map", ...).
const char* kind_name(Kind kind);

struct Value {
  Kind kind = Kind::kNull;
  bool boolean = false;
  std::uint64_t number = 0;  // kUnsigned: the value; kNegative: n where the value is -1 - n
  double real = 0;           // kFloat
  Bytes data;                // kBytes and kText (text is valid UTF-8)
  std::vector<Value> items;  // kArray; kMap as key, value, key, value, ...

  bool is_null() const { return kind == Kind::kNull || kind == Kind::kUndefined; }
  std::size_t map_size() const { return items.size() / 2; }
  std::string_view text() const { return {reinterpret_cast<const char*>(data.data()), data.size()}; }
};

struct DecodeLimits {
  std::size_t max_depth = 32;               // nested arrays/maps (Go's default)
  std::size_t max_container_items = 131072;  // elements of one array / pairs of one map (Go's default)
  std::size_t max_total_items = 1u << 20;    // data items in the whole input
};

// Decodes exactly one data item spanning all of `input`. Errors (local_errc::malformed_message)
// name the byte offset and the problem. Tags are rejected; indefinite-length strings, arrays and
// maps are accepted and stored like definite ones.
Result<Value> decode(ByteView input, const DecodeLimits& limits = {});

// The item at `offset` of input that cbor::validate (cbor_reader.hpp) accepted, as a tree.
Value materialize(ByteView validated, std::size_t offset);

// Appends CBOR items to a growing buffer. Heads always use the shortest form.
class Writer {
 public:
  Writer() = default;
  explicit Writer(std::size_t reserve) { out_.reserve(reserve); }

  void uint(std::uint64_t value);
  void negative(std::uint64_t n);  // encodes -1 - n
  void bytes(ByteView value);
  void text(std::string_view value);
  void array(std::size_t size);
  void map(std::size_t pairs);
  void boolean(bool value);
  void null();
  void float16(float value);
  void float32(float value);
  void float64(double value);
  void value(const Value& value);  // re-encodes a decoded tree (floats as float64)

  // A one-byte map head for fewer than 24 pairs, patched by end_small_map once the pairs are
  // written; this lets omitempty fields be counted as they are emitted.
  std::size_t begin_small_map() {
    out_.push_back(0xa0);
    return out_.size() - 1;
  }
  void end_small_map(std::size_t position, std::size_t pairs) {
    out_[position] = static_cast<std::uint8_t>(0xa0 | pairs);
  }

  // Four placeholder bytes for a frame's length prefix (spec §1.3), written first; take_framed()
  // fills them in with the length of everything after them.
  void begin_frame() { out_.insert(out_.end(), 4, 0); }
  Bytes take_framed() {
    const auto length = static_cast<std::uint32_t>(out_.size() - 4);
    for (std::size_t i = 0; i < 4; ++i) out_[i] = static_cast<std::uint8_t>(length >> (24 - 8 * i));
    return std::move(out_);
  }

  const Bytes& data() const { return out_; }
  Bytes take() { return std::move(out_); }

 private:
  void head(std::uint8_t major, std::uint64_t argument);  // shortest form
  Bytes out_;
};

}  // namespace kpthin::cbor
