// Strict decoding of every request and response (spec §1.4, §3, §4): the envelope around the
// fields that codec_message_fields.hpp lists.
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "cbor_reader.hpp"
#include "cbor_value.hpp"
#include "codec_fields.hpp"
#include "codec_message_fields.hpp"
#include "kpthin/codec.hpp"
#include "message_keys.hpp"

namespace kpthin {

namespace {

using cbor::Kind;
using detail::FieldReader;

template <class Variant, std::size_t I>
Result<Variant> read_alternative(ByteView input, std::size_t at, const char* key) {
  std::variant_alternative_t<I, Variant> message;
  FieldReader f(input, at, key);
  detail::fields(f, message);
  if (!f.ok()) return f.status();
  return Variant(std::in_place_index<I>, std::move(message));
}

template <class Variant, std::size_t... I>
Result<Variant> read_by_index(std::size_t index, ByteView input, std::size_t at, const char* key,
                              std::index_sequence<I...>) {
  using Reader = Result<Variant> (*)(ByteView, std::size_t, const char*);
  static constexpr Reader kReaders[] = {&read_alternative<Variant, I>...};
  return kReaders[index](input, at, key);
}

// The envelope is checked whole first (cbor::validate), so a malformed frame is refused before
// any field is looked at, then read in place.
template <class Variant, std::size_t N>
Result<Variant> decode_envelope(ByteView body, const std::array<const char*, N>& keys, const char* what) {
  if (Status s = cbor::validate(body); !s.ok()) return s;
  const cbor::Head root = cbor::read_head(body, 0);
  if (root.kind != Kind::kMap) {
    return Status(local_errc::malformed_message,
                  std::string(what) + ": expected a map, got " + cbor::kind_name(root.kind));
  }
  int chosen = -1;
  std::size_t chosen_at = 0;
  std::string joined;  // a key sent in chunks
  std::size_t offset = root.size;
  for (std::uint64_t i = 0; root.indefinite ? body[offset] != 0xff : i < root.argument; ++i) {
    const std::size_t key_at = offset;
    const cbor::Head key = cbor::read_head(body, key_at);
    const std::size_t value_at = key.kind == Kind::kText && !key.indefinite
                                     ? key_at + key.size + static_cast<std::size_t>(key.argument)
                                     : cbor::skip(body, key_at);
    // Go sends every message key of the envelope, all but one with a null value.
    if (const std::uint8_t initial = body[value_at]; initial == 0xf6 || initial == 0xf7) {
      offset = value_at + 1;
      continue;
    }
    offset = cbor::skip(body, value_at);
    if (key.kind != Kind::kText) continue;
    std::string_view text;
    if (key.indefinite) {
      joined.clear();
      cbor::append_string(body, key_at, joined);
      text = joined;
    } else {
      text = {reinterpret_cast<const char*>(body.data() + key_at + key.size), static_cast<std::size_t>(key.argument)};
    }
    const int index = detail::match_key(text, keys.data(), N);
    if (index < 0) continue;  // unknown keys are ignored, as Go does
    if (chosen >= 0) {
      return Status(local_errc::malformed_message, std::string(what) + ": two messages in one frame (" +
                                                       keys[static_cast<std::size_t>(chosen)] + " and " +
                                                       keys[static_cast<std::size_t>(index)] + ")");
    }
    chosen = index;
    chosen_at = value_at;
  }
  if (chosen < 0) {
    // Not malformed: a newer peer's message this side does not know (Go ignores unknown keys).
    return Status(local_errc::unknown_message, std::string(what) + ": no known message key with a non-null value");
  }
  const char* key = keys[static_cast<std::size_t>(chosen)];
  if (const Kind kind = cbor::read_head(body, chosen_at).kind; kind != Kind::kMap) {
    return Status(local_errc::malformed_message, std::string(key) + ": expected a map, got " + cbor::kind_name(kind));
  }
  return read_by_index<Variant>(static_cast<std::size_t>(chosen), body, chosen_at, key, std::make_index_sequence<N>{});
}

}  // namespace

Result<Request> decode_request(ByteView body) {
  return decode_envelope<Request>(body, detail::kRequestKeys, "request");
}

Result<Response> decode_response(ByteView body) {
  return decode_envelope<Response>(body, detail::kResponseKeys, "response");
}

}  // namespace kpthin
