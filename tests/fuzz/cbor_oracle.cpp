// The reference decoder for the cbor fuzz target and the unit replay: libkpthin's CBOR reader
// as it was before issue 13, a value tree assembled from libcbor's streaming callbacks. The
// reader that replaced it (libkpthin/src/cbor_reader.cpp) must accept and refuse the same
// inputs with the same messages and read the same values; this keeps it honest.
#include "cbor_oracle.hpp"

#include <cbor.h>

#include <algorithm>
#include <string>

#include "kpthin/errors.hpp"

namespace kpthin::fuzz {

using cbor::DecodeLimits;
using cbor::Kind;
using cbor::Value;
using cbor::kind_name;

namespace {

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), as Go's decoder
// demands for text strings.
bool valid_utf8(const std::uint8_t* p, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    const std::uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra;
    std::uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const std::uint8_t cc = p[i + k];
      if ((cc & 0xc0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3f);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff))) return false;
    if (cp >= 0xd800 && cp <= 0xdfff) return false;
    i += extra + 1;
  }
  return true;
}

// Receives libcbor's streaming callbacks and assembles the tree. The first problem is recorded
// in `error` and every later callback is ignored.
class Builder {
 public:
  explicit Builder(const DecodeLimits& limits) : limits_(limits) {}

  bool done() const { return root_set_ && stack_.empty(); }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  Value take_root() { return std::move(root_); }

  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }

  void scalar(Value&& v) { add(std::move(v), 0, false); }

  void string_chunk(Kind kind, const unsigned char* data, std::size_t length) {
    if (failed()) return;
    if (kind == Kind::kText && !valid_utf8(data, length)) return fail("text string is not valid UTF-8");
    if (!stack_.empty() && stack_.back().is_string) {
      Frame& top = stack_.back();
      if (top.value->kind != kind) return fail("indefinite-length string has a chunk of another type");
      top.value->data.insert(top.value->data.end(), data, data + length);
      return;
    }
    Value v;
    v.kind = kind;
    v.data.assign(data, data + length);
    scalar(std::move(v));
  }

  void string_start(Kind kind) {
    if (failed()) return;
    if (!stack_.empty() && stack_.back().is_string) return fail("nested indefinite-length string");
    Value v;
    v.kind = kind;
    add(std::move(v), 0, true, /*is_string=*/true);
  }

  void container(Kind kind, std::uint64_t size, bool indefinite) {
    if (failed()) return;
    if (!indefinite && size > limits_.max_container_items) {
      return fail(std::string(kind_name(kind)) + " of " + std::to_string(size) + " elements exceeds the limit of " +
                  std::to_string(limits_.max_container_items));
    }
    Value v;
    v.kind = kind;
    const std::uint64_t slots = kind == Kind::kMap ? size * 2 : size;
    add(std::move(v), slots, indefinite);
  }

  void indefinite_break() {
    if (failed()) return;
    if (stack_.empty() || !stack_.back().indefinite) return fail("break outside an indefinite-length item");
    Frame& top = stack_.back();
    if (top.value->kind == Kind::kMap && top.value->items.size() % 2 != 0) {
      return fail("indefinite-length map ends after a key without a value");
    }
    stack_.pop_back();
    close_finished();
  }

 private:
  struct Frame {
    Value* value;
    std::uint64_t remaining;  // definite containers: items still expected
    bool indefinite;
    bool is_string;
  };

  void add(Value&& v, std::uint64_t slots, bool indefinite, bool is_string = false) {
    if (failed()) return;
    if (++total_items_ > limits_.max_total_items) {
      return fail("more than " + std::to_string(limits_.max_total_items) + " data items");
    }
    const bool opens = is_string || indefinite || ((v.kind == Kind::kArray || v.kind == Kind::kMap) && slots > 0);
    if ((v.kind == Kind::kArray || v.kind == Kind::kMap) && depth() + 1 > limits_.max_depth) {
      return fail("nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    Value* placed;
    if (stack_.empty()) {
      if (root_set_) return fail("more than one data item");
      root_ = std::move(v);
      root_set_ = true;
      placed = &root_;
    } else {
      Frame& top = stack_.back();
      if (top.is_string) return fail("indefinite-length string has a non-string chunk");
      const std::size_t per_container =
          limits_.max_container_items * (top.value->kind == Kind::kMap ? 2 : 1);
      if (top.indefinite && top.value->items.size() >= per_container) {
        return fail("indefinite-length container exceeds the limit of " +
                    std::to_string(limits_.max_container_items) + " elements");
      }
      top.value->items.push_back(std::move(v));
      placed = &top.value->items.back();
      if (!top.indefinite) --top.remaining;
    }
    if (opens) {
      // Declared sizes were checked against the remaining input; still reserve only a little,
      // because nested containers can all claim the same tail of the input.
      if (!is_string) placed->items.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(slots, 256)));
      stack_.push_back(Frame{placed, slots, indefinite, is_string});
      return;
    }
    close_finished();
  }

  void close_finished() {
    while (!stack_.empty() && !stack_.back().indefinite && stack_.back().remaining == 0) stack_.pop_back();
  }

  std::size_t depth() const {
    std::size_t d = 0;
    for (const Frame& f : stack_) d += f.is_string ? 0 : 1;
    return d;
  }

  const DecodeLimits& limits_;
  std::vector<Frame> stack_;
  Value root_;
  bool root_set_ = false;
  std::size_t total_items_ = 0;
  std::string error_;
};

Builder& builder(void* context) { return *static_cast<Builder*>(context); }

void on_uint(Builder& b, std::uint64_t n) {
  Value v;
  v.kind = Kind::kUnsigned;
  v.number = n;
  b.scalar(std::move(v));
}

void on_negint(Builder& b, std::uint64_t n) {
  Value v;
  v.kind = Kind::kNegative;
  v.number = n;
  b.scalar(std::move(v));
}

void on_float(Builder& b, double d) {
  Value v;
  v.kind = Kind::kFloat;
  v.real = d;
  b.scalar(std::move(v));
}

void on_simple(Builder& b, Kind kind, bool flag = false) {
  Value v;
  v.kind = kind;
  v.boolean = flag;
  b.scalar(std::move(v));
}

cbor_callbacks make_callbacks() {
  cbor_callbacks cb = cbor_empty_callbacks;
  cb.uint8 = [](void* c, uint8_t n) { on_uint(builder(c), n); };
  cb.uint16 = [](void* c, uint16_t n) { on_uint(builder(c), n); };
  cb.uint32 = [](void* c, uint32_t n) { on_uint(builder(c), n); };
  cb.uint64 = [](void* c, uint64_t n) { on_uint(builder(c), n); };
  cb.negint8 = [](void* c, uint8_t n) { on_negint(builder(c), n); };
  cb.negint16 = [](void* c, uint16_t n) { on_negint(builder(c), n); };
  cb.negint32 = [](void* c, uint32_t n) { on_negint(builder(c), n); };
  cb.negint64 = [](void* c, uint64_t n) { on_negint(builder(c), n); };
  // libcbor's field names are crossed: byte_string_start is the indefinite-length opener and
  // byte_string delivers a definite string (or one chunk of an indefinite one).
  cb.byte_string = [](void* c, cbor_data d, size_t n) { builder(c).string_chunk(Kind::kBytes, d, n); };
  cb.byte_string_start = [](void* c) { builder(c).string_start(Kind::kBytes); };
  cb.string = [](void* c, cbor_data d, size_t n) { builder(c).string_chunk(Kind::kText, d, n); };
  cb.string_start = [](void* c) { builder(c).string_start(Kind::kText); };
  cb.array_start = [](void* c, size_t n) { builder(c).container(Kind::kArray, n, false); };
  cb.indef_array_start = [](void* c) { builder(c).container(Kind::kArray, 0, true); };
  cb.map_start = [](void* c, size_t n) { builder(c).container(Kind::kMap, n, false); };
  cb.indef_map_start = [](void* c) { builder(c).container(Kind::kMap, 0, true); };
  cb.tag = [](void* c, uint64_t) { builder(c).fail("CBOR tags are not used by this protocol"); };
  cb.float2 = [](void* c, float f) { on_float(builder(c), f); };
  cb.float4 = [](void* c, float f) { on_float(builder(c), f); };
  cb.float8 = [](void* c, double d) { on_float(builder(c), d); };
  cb.undefined = [](void* c) { on_simple(builder(c), Kind::kUndefined); };
  cb.null = [](void* c) { on_simple(builder(c), Kind::kNull); };
  cb.boolean = [](void* c, bool f) { on_simple(builder(c), Kind::kBool, f); };
  cb.indef_break = [](void* c) { builder(c).indefinite_break(); };
  return cb;
}

// Function-local so that decoding from another translation unit's static initialiser is safe.
const cbor_callbacks& callbacks() {
  static const cbor_callbacks instance = make_callbacks();
  return instance;
}

Status malformed(std::size_t offset, const std::string& what) {
  return Status(local_errc::malformed_message, "CBOR at byte " + std::to_string(offset) + ": " + what);
}

// Reads the head at `p` ourselves before libcbor does, so that declared lengths are compared
// with the bytes actually left (libcbor adds the head size to the length, which can overflow for
// hostile 64-bit lengths) and containers cannot claim more elements than bytes remain.
Status check_head(const std::uint8_t* p, std::size_t available, std::size_t offset) {
  const std::uint8_t initial = p[0];
  const unsigned major = initial >> 5;
  const unsigned info = initial & 0x1f;
  if (info >= 28 && info <= 30) return malformed(offset, "reserved additional information value");
  if (info == 31) {
    if (major == 0 || major == 1 || major == 6) return malformed(offset, "indefinite length on an integer or tag");
    return {};
  }
  std::size_t argument_size = info < 24 ? 0 : std::size_t{1} << (info - 24);
  if (available < 1 + argument_size) {
    return malformed(offset, "truncated: head needs " + std::to_string(1 + argument_size) + " bytes, " +
                                 std::to_string(available) + " left");
  }
  std::uint64_t argument = info < 24 ? info : 0;
  for (std::size_t i = 0; i < argument_size; ++i) argument = argument << 8 | p[1 + i];
  const std::uint64_t rest = available - 1 - argument_size;
  switch (major) {
    case 2:
    case 3:
      if (argument > rest) {
        return malformed(offset, "declared length " + std::to_string(argument) + " exceeds the " +
                                     std::to_string(rest) + " bytes left");
      }
      break;
    case 4:
      if (argument > rest) {
        return malformed(offset, "array declares " + std::to_string(argument) + " elements but only " +
                                     std::to_string(rest) + " bytes are left");
      }
      break;
    case 5:
      if (argument > rest / 2) {
        return malformed(offset, "map declares " + std::to_string(argument) + " pairs but only " +
                                     std::to_string(rest) + " bytes are left");
      }
      break;
    case 6:
      return malformed(offset, "CBOR tags are not used by this protocol");
    case 7:
      if (info == 24) return malformed(offset, "unassigned simple value");
      if (info < 20) return malformed(offset, "unassigned simple value");
      break;
    default:
      break;
  }
  return {};
}

}  // namespace

Result<Value> decode_with_libcbor(ByteView input, const DecodeLimits& limits) {
  if (input.empty()) return malformed(0, "empty input");
  Builder b(limits);
  std::size_t offset = 0;
  while (!b.done()) {
    if (offset >= input.size()) return malformed(offset, "truncated: input ends inside an item");
    const std::size_t available = input.size() - offset;
    if (Status s = check_head(input.data() + offset, available, offset); !s.ok()) return s;
    const cbor_decoder_result r = cbor_stream_decode(input.data() + offset, available, &callbacks(), &b);
    if (b.failed()) return malformed(offset, b.error());
    if (r.status == CBOR_DECODER_NEDATA) return malformed(offset, "truncated item");
    if (r.status != CBOR_DECODER_FINISHED || r.read == 0) return malformed(offset, "invalid item");
    offset += r.read;
  }
  if (offset != input.size()) {
    return malformed(offset, std::to_string(input.size() - offset) + " trailing bytes after the data item");
  }
  return b.take_root();
}

}  // namespace kpthin::fuzz
