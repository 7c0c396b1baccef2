#include "cbor_reader.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kpthin/errors.hpp"
#include "kpthin/utf8.hpp"

namespace kpthin::cbor {

namespace {

// Whether all n bytes are ASCII.
bool ascii(const std::uint8_t* p, std::size_t n) {
  constexpr std::uint64_t kHigh = 0x8080808080808080u;
  std::uint64_t word;
  if (n >= 8) {
    // Whole words, the last one overlapping the one before it.
    std::uint64_t any = 0;
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      std::memcpy(&word, p + i, sizeof word);
      any |= word;
    }
    std::memcpy(&word, p + n - 8, sizeof word);
    return ((any | word) & kHigh) == 0;
  }
  std::uint8_t any = 0;
  for (std::size_t i = 0; i < n; ++i) any |= p[i];
  return any < 0x80;
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), as Go's decoder
// demands for text strings.
bool valid_utf8(const std::uint8_t* p, std::size_t n) {
  // Keys and most text are ASCII: settled a word at a time.
  if (ascii(p, n)) return true;
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
  // Scaling by a power of two built from its bits is exact, as ldexp is, and keeps libm out of
  // the programs (ldexp was the only function they took from it).
  const auto power_of_two = [](int e) { return std::bit_cast<double>(static_cast<std::uint64_t>(1023 + e) << 52); };
  double value;
  if (exponent == 0) value = mantissa * power_of_two(-24);
  else if (exponent != 31) value = (mantissa + 1024) * power_of_two(exponent - 25);
  else value = mantissa == 0 ? INFINITY : NAN;
  return static_cast<float>((half & 0x8000) != 0 ? -value : value);
}

using detail::big_endian;

Kind simple_kind(unsigned info) {
  switch (info) {
    case 20:
    case 21: return Kind::kBool;
    case 22: return Kind::kNull;
    case 23: return Kind::kUndefined;
    default: return Kind::kFloat;
  }
}

// An open container or indefinite-length string while validating.
enum class Mode : std::uint8_t { kDefinite, kIndefinite, kString };
struct Open {
  std::uint64_t n;  // kDefinite: items still expected; otherwise items so far
  Mode mode;
  Kind kind;
};

// Open items on the stack when the depth limit allows it (the common case: no allocation).
constexpr std::size_t kInlineOpen = 40;

// The messages for the nesting limits (cold).
[[gnu::noinline]] Status too_many_items(std::size_t offset, std::size_t limit) {
  return malformed(offset, "more than " + std::to_string(limit) + " data items");
}
[[gnu::noinline]] Status too_deep(std::size_t offset, std::size_t limit) {
  return malformed(offset, "nesting deeper than " + std::to_string(limit) + " levels");
}
[[gnu::noinline]] Status too_long(std::size_t offset, std::uint64_t limit) {
  return malformed(offset, "indefinite-length container exceeds the limit of " + std::to_string(limit) + " elements");
}
[[gnu::noinline]] Status too_large(std::size_t offset, Kind kind, std::uint64_t size, std::uint64_t limit) {
  return malformed(offset, std::string(kind_name(kind)) + " of " + std::to_string(size) +
                               " elements exceeds the limit of " + std::to_string(limit));
}
[[gnu::noinline]] Status truncated_head(std::size_t offset, std::size_t needed, std::size_t available) {
  return malformed(offset, "truncated: head needs " + std::to_string(needed) + " bytes, " +
                               std::to_string(available) + " left");
}
[[gnu::noinline]] Status beyond_input(std::size_t offset, unsigned major, std::uint64_t argument, std::uint64_t rest) {
  if (major == 4) {
    return malformed(offset, "array declares " + std::to_string(argument) + " elements but only " +
                                 std::to_string(rest) + " bytes are left");
  }
  if (major == 5) {
    return malformed(offset, "map declares " + std::to_string(argument) + " pairs but only " +
                                 std::to_string(rest) + " bytes are left");
  }
  return malformed(offset, "declared length " + std::to_string(argument) + " exceeds the " + std::to_string(rest) +
                               " bytes left");
}

}  // namespace

// One pass over the input, item by item: the head is checked before anything is read from it
// (reserved values, tags and unassigned simple values refused; declared lengths compared with the
// bytes actually left, so containers cannot claim more elements than bytes remain), then the
// nesting rules (limits, indefinite-length strings made of definite chunks of their own type,
// breaks only where an indefinite item is open, maps with a value for every key). The first
// problem is reported. One loop over a fixed stack, the innermost open item kept at hand: every
// reply goes through here.
Status validate(ByteView input, const DecodeLimits& limits) {
  if (input.empty()) return malformed(0, "empty input");
  const std::uint8_t* const data = input.data();
  const std::size_t size = input.size();
  const std::size_t max_depth = limits.max_depth;
  const std::uint64_t max_items = limits.max_container_items;

  // Containers open only below the depth limit and a string opens nothing, so at most
  // max_depth + 1 items are open at once.
  Open inline_stack[kInlineOpen];
  std::vector<Open> heap_stack;
  Open* bottom = inline_stack;
  if (max_depth + 1 > kInlineOpen) {
    heap_stack.resize(max_depth + 1);
    bottom = heap_stack.data();
  }
  Open* top = nullptr;    // the innermost open item, null when none is open
  std::size_t depth = 0;  // open arrays and maps
  std::size_t items_left = limits.max_total_items;
  std::size_t offset = 0;

  // Closes the definite containers that just received their last item.
  auto close_finished = [&] {
    while (top != nullptr && top->mode == Mode::kDefinite && top->n == 0) {
      --depth;
      top = top == bottom ? nullptr : top - 1;
    }
  };

  do {
    if (offset >= size) return malformed(offset, "truncated: input ends inside an item");
    const std::uint8_t* p = data + offset;
    const std::size_t available = size - offset;
    const unsigned major = p[0] >> 5;
    const unsigned info = p[0] & 0x1f;

    std::uint64_t argument = info;
    std::size_t consumed = 1;  // the head, and a definite string's contents
    if (info >= 24) {
      if (info <= 27) {
        const std::size_t argument_size = std::size_t{1} << (info - 24);
        if (available < 1 + argument_size) return truncated_head(offset, 1 + argument_size, available);
        argument = detail::big_endian(p + 1, argument_size);
        consumed = 1 + argument_size;
      } else if (info != 31) {
        return malformed(offset, "reserved additional information value");
      } else if (major == 0 || major == 1 || major == 6) {
        return malformed(offset, "indefinite length on an integer or tag");
      }
    }
    const bool indefinite = info == 31;
    const std::uint64_t rest = available - consumed;

    // What the item is. A chunk of an open indefinite-length string is not an item of its own;
    // a break closes the innermost indefinite item; everything else takes a slot below.
    Kind kind = Kind::kUnsigned;
    Mode opens = Mode::kDefinite;
    std::uint64_t slots = 0;  // items a definite container expects
    bool container = false;
    switch (major) {
      case 0: break;
      case 1: kind = Kind::kNegative; break;
      case 2:
      case 3:
        kind = major == 2 ? Kind::kBytes : Kind::kText;
        if (indefinite) {
          if (top != nullptr && top->mode == Mode::kString) return malformed(offset, "nested indefinite-length string");
          opens = Mode::kString;
          break;
        }
        if (argument > rest) return beyond_input(offset, major, argument, rest);
        if (major == 3 && !valid_utf8(p + consumed, static_cast<std::size_t>(argument))) {
          return malformed(offset, "text string is not valid UTF-8");
        }
        consumed += static_cast<std::size_t>(argument);
        if (top != nullptr && top->mode == Mode::kString) {
          if (top->kind != kind) return malformed(offset, "indefinite-length string has a chunk of another type");
          offset += consumed;
          continue;
        }
        break;
      case 4:
      case 5:
        kind = major == 4 ? Kind::kArray : Kind::kMap;
        container = true;
        if (indefinite) {
          opens = Mode::kIndefinite;
          break;
        }
        if (major == 4 ? argument > rest : argument > rest / 2) return beyond_input(offset, major, argument, rest);
        if (argument > max_items) return too_large(offset, kind, argument, max_items);
        slots = major == 5 ? argument * 2 : argument;
        break;
      case 6:
        return malformed(offset, "CBOR tags are not used by this protocol");
      default:  // 7
        if (indefinite) {  // a break
          if (top == nullptr || top->mode == Mode::kDefinite) {
            return malformed(offset, "break outside an indefinite-length item");
          }
          if (top->kind == Kind::kMap && top->n % 2 != 0) {
            return malformed(offset, "indefinite-length map ends after a key without a value");
          }
          if (top->mode != Mode::kString) --depth;
          top = top == bottom ? nullptr : top - 1;
          offset += consumed;
          close_finished();
          continue;
        }
        if (info < 20 || info == 24) return malformed(offset, "unassigned simple value");
        break;
    }

    // The item takes a slot of the innermost open item.
    if (items_left-- == 0) return too_many_items(offset, limits.max_total_items);
    if (container && depth + 1 > max_depth) return too_deep(offset, max_depth);
    if (top != nullptr) {
      if (top->mode == Mode::kDefinite) {
        --top->n;
      } else if (top->mode == Mode::kIndefinite) {
        if (top->n >= max_items * (top->kind == Kind::kMap ? 2 : 1)) return too_long(offset, max_items);
        ++top->n;
      } else {
        return malformed(offset, "indefinite-length string has a non-string chunk");
      }
    }
    offset += consumed;
    if (opens != Mode::kDefinite || slots != 0) {
      top = top == nullptr ? bottom : top + 1;
      *top = Open{slots, opens, kind};
      if (opens != Mode::kString) ++depth;
    } else {
      close_finished();
    }
  } while (top != nullptr);

  if (offset != size) {
    return malformed(offset, std::to_string(size - offset) + " trailing bytes after the data item");
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
