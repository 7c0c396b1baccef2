#include "cbor_reader.hpp"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kpthin/errors.hpp"
#include "kpthin/utf8.hpp"

namespace kpthin::cbor {

namespace {

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), as Go's decoder
// demands for text strings.
bool valid_utf8(const std::uint8_t* p, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    // Keys and most text are ASCII: eight bytes at a time while no high bit is set.
    while (n - i >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p + i, sizeof word);
      if ((word & 0x8080808080808080u) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    const std::uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    const std::size_t length = utf8::sequence_length(p + i, n - i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

Status malformed(std::size_t offset, const std::string& what) {
  return Status(local_errc::malformed_message, "CBOR at byte " + std::to_string(offset) + ": " + what);
}

// Half precision as libcbor 0.8 decodes it (NaN payloads are not kept), through float.
double half_to_double(std::uint16_t half) {
  const int exponent = (half >> 10) & 0x1f;
  const int mantissa = half & 0x3ff;
  double value;
  if (exponent == 0) value = std::ldexp(mantissa, -24);
  else if (exponent != 31) value = std::ldexp(mantissa + 1024, exponent - 25);
  else value = mantissa == 0 ? INFINITY : NAN;
  return static_cast<float>((half & 0x8000) != 0 ? -value : value);
}

using detail::big_endian;

// Checks the head at `p` before anything is read from it: reserved values, tags and unassigned
// simple values are refused, and declared lengths are compared with the bytes actually left (so
// containers cannot claim more elements than bytes remain).
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
  const std::uint64_t argument = info < 24 ? info : big_endian(p + 1, argument_size);
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

// The nesting rules, applied item by item in input order: limits, indefinite-length strings made
// of definite chunks of their own type, breaks only where an indefinite item is open, maps with a
// value for every key. The first problem is kept.
class Checker {
 public:
  explicit Checker(const DecodeLimits& limits) : limits_(limits) { stack_.reserve(8); }

  bool done() const { return root_set_ && stack_.empty(); }
  const std::string& error() const { return error_; }

  void string_chunk(Kind kind, const std::uint8_t* data, std::size_t length) {
    if (kind == Kind::kText && !valid_utf8(data, length)) return fail("text string is not valid UTF-8");
    if (!stack_.empty() && stack_.back().is_string) {
      if (stack_.back().kind != kind) return fail("indefinite-length string has a chunk of another type");
      return;  // one more chunk of the open string: not an item of its own
    }
    add(kind, 0, false);
  }

  void string_start(Kind kind) {
    if (!stack_.empty() && stack_.back().is_string) return fail("nested indefinite-length string");
    add(kind, 0, true, /*is_string=*/true);
  }

  void container(Kind kind, std::uint64_t size, bool indefinite) {
    if (!indefinite && size > limits_.max_container_items) {
      return fail(std::string(kind_name(kind)) + " of " + std::to_string(size) + " elements exceeds the limit of " +
                  std::to_string(limits_.max_container_items));
    }
    add(kind, kind == Kind::kMap ? size * 2 : size, indefinite);
  }

  void scalar(Kind kind) { add(kind, 0, false); }

  void indefinite_break() {
    if (stack_.empty() || !stack_.back().indefinite) return fail("break outside an indefinite-length item");
    const Frame& top = stack_.back();
    if (top.kind == Kind::kMap && top.count % 2 != 0) {
      return fail("indefinite-length map ends after a key without a value");
    }
    pop();
    close_finished();
  }

 private:
  struct Frame {
    Kind kind;
    std::uint64_t remaining;  // definite containers: items still expected
    std::uint64_t count;      // items so far (indefinite containers)
    bool indefinite;
    bool is_string;
  };

  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }

  void add(Kind kind, std::uint64_t slots, bool indefinite, bool is_string = false) {
    if (++total_items_ > limits_.max_total_items) {
      return fail("more than " + std::to_string(limits_.max_total_items) + " data items");
    }
    const bool is_container = kind == Kind::kArray || kind == Kind::kMap;
    const bool opens = is_string || indefinite || (is_container && slots > 0);
    if (is_container && depth_ + 1 > limits_.max_depth) {
      return fail("nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    if (stack_.empty()) {
      if (root_set_) return fail("more than one data item");
      root_set_ = true;
    } else {
      Frame& top = stack_.back();
      if (top.is_string) return fail("indefinite-length string has a non-string chunk");
      const std::uint64_t per_container = limits_.max_container_items * (top.kind == Kind::kMap ? 2 : 1);
      if (top.indefinite && top.count >= per_container) {
        return fail("indefinite-length container exceeds the limit of " +
                    std::to_string(limits_.max_container_items) + " elements");
      }
      ++top.count;
      if (!top.indefinite) --top.remaining;
    }
    if (opens) {
      stack_.push_back(Frame{kind, slots, 0, indefinite, is_string});
      if (!is_string) ++depth_;
      return;
    }
    close_finished();
  }

  void close_finished() {
    while (!stack_.empty() && !stack_.back().indefinite && stack_.back().remaining == 0) pop();
  }
  void pop() {
    if (!stack_.back().is_string) --depth_;
    stack_.pop_back();
  }

  const DecodeLimits& limits_;
  std::vector<Frame> stack_;
  std::size_t depth_ = 0;  // open arrays and maps
  bool root_set_ = false;
  std::size_t total_items_ = 0;
  std::string error_;
};

Kind simple_kind(unsigned info) {
  switch (info) {
    case 20:
    case 21: return Kind::kBool;
    case 22: return Kind::kNull;
    case 23: return Kind::kUndefined;
    default: return Kind::kFloat;
  }
}

}  // namespace

Status validate(ByteView input, const DecodeLimits& limits) {
  if (input.empty()) return malformed(0, "empty input");
  Checker c(limits);
  std::size_t offset = 0;
  while (!c.done()) {
    if (offset >= input.size()) return malformed(offset, "truncated: input ends inside an item");
    const std::uint8_t* p = input.data() + offset;
    if (Status s = check_head(p, input.size() - offset, offset); !s.ok()) return s;
    const unsigned major = p[0] >> 5;
    const unsigned info = p[0] & 0x1f;
    const bool indefinite = info == 31;
    const std::size_t argument_size = info < 24 || indefinite ? 0 : std::size_t{1} << (info - 24);
    const std::uint64_t argument = info < 24 ? info : indefinite ? 0 : big_endian(p + 1, argument_size);
    std::size_t consumed = 1 + argument_size;
    switch (major) {
      case 0: c.scalar(Kind::kUnsigned); break;
      case 1: c.scalar(Kind::kNegative); break;
      case 2:
      case 3: {
        const Kind kind = major == 2 ? Kind::kBytes : Kind::kText;
        if (indefinite) {
          c.string_start(kind);
        } else {
          // check_head bounded the length by the bytes left.
          c.string_chunk(kind, p + consumed, static_cast<std::size_t>(argument));
          consumed += static_cast<std::size_t>(argument);
        }
        break;
      }
      case 4: c.container(Kind::kArray, argument, indefinite); break;
      case 5: c.container(Kind::kMap, argument, indefinite); break;
      default:  // 7; tags were refused by check_head
        if (indefinite) c.indefinite_break();
        else c.scalar(simple_kind(info));
        break;
    }
    if (!c.error().empty()) return malformed(offset, c.error());
    offset += consumed;
  }
  if (offset != input.size()) {
    return malformed(offset, std::to_string(input.size() - offset) + " trailing bytes after the data item");
  }
  return {};
}

namespace detail {

void read_simple(unsigned info, Head& h) {
  h.kind = simple_kind(info);
  if (h.kind == Kind::kBool) {
    h.argument = info == 21 ? 1 : 0;
  } else if (info == 25) {
    h.real = half_to_double(static_cast<std::uint16_t>(h.argument));
  } else if (info == 26) {
    const auto bits = static_cast<std::uint32_t>(h.argument);
    float f;
    std::memcpy(&f, &bits, sizeof f);
    h.real = f;
  } else if (info == 27) {
    std::memcpy(&h.real, &h.argument, sizeof h.real);
  }
}

}  // namespace detail

std::size_t skip_container(ByteView input, std::size_t offset, const Head& h) {
  offset += h.size;
  if (h.indefinite) {
    while (input[offset] != 0xff) offset = skip(input, offset);
    return offset + 1;
  }
  const std::uint64_t items = h.kind == Kind::kMap ? h.argument * 2 : h.argument;
  for (std::uint64_t i = 0; i < items; ++i) offset = skip(input, offset);
  return offset;
}

namespace {

template <class Out>
void append_chunks(ByteView input, std::size_t offset, Out& out) {
  const Head h = read_head(input, offset);
  offset += h.size;
  if (!h.indefinite) {
    const auto* p = input.data() + offset;
    out.insert(out.end(), p, p + h.argument);
    return;
  }
  while (input[offset] != 0xff) {
    const Head chunk = read_head(input, offset);
    const auto* p = input.data() + offset + chunk.size;
    out.insert(out.end(), p, p + chunk.argument);
    offset += chunk.size + static_cast<std::size_t>(chunk.argument);
  }
}

}  // namespace

void append_string(ByteView input, std::size_t offset, Bytes& out) { append_chunks(input, offset, out); }
void append_string(ByteView input, std::size_t offset, std::string& out) { append_chunks(input, offset, out); }

std::size_t string_length(ByteView input, std::size_t offset) {
  const Head h = read_head(input, offset);
  if (!h.indefinite) return static_cast<std::size_t>(h.argument);
  std::size_t total = 0;
  offset += h.size;
  while (input[offset] != 0xff) {
    const Head chunk = read_head(input, offset);
    total += static_cast<std::size_t>(chunk.argument);
    offset += chunk.size + static_cast<std::size_t>(chunk.argument);
  }
  return total;
}

}  // namespace kpthin::cbor
