// Strict decoding of every request and response (spec §1.4, §3, §4): the envelope around the
// fields that codec_message_fields.hpp lists.
#include <utility>
#include <variant>

#include "cbor_value.hpp"
#include "codec_fields.hpp"
#include "codec_message_fields.hpp"
#include "kpthin/codec.hpp"
#include "message_keys.hpp"

namespace kpthin {

namespace {

using cbor::Kind;
using cbor::Value;
using detail::FieldReader;

template <class Variant, std::size_t I>
Result<Variant> read_alternative(Value& body, const char* key) {
  std::variant_alternative_t<I, Variant> message;
  FieldReader f(body, key);
  detail::fields(f, message);
  if (!f.ok()) return f.status();
  return Variant(std::in_place_index<I>, std::move(message));
}

template <class Variant, std::size_t... I>
Result<Variant> read_by_index(std::size_t index, Value& body, const char* key, std::index_sequence<I...>) {
  using Reader = Result<Variant> (*)(Value&, const char*);
  static constexpr Reader kReaders[] = {&read_alternative<Variant, I>...};
  return kReaders[index](body, key);
}

template <class Variant, std::size_t N>
Result<Variant> decode_envelope(ByteView body, const std::array<const char*, N>& keys, const char* what) {
  Result<Value> root = cbor::decode(body);
  if (!root.ok()) return root.status();
  Value& map = root.value();
  if (map.kind != Kind::kMap) {
    return Status(local_errc::malformed_message,
                  std::string(what) + ": expected a map, got " + cbor::kind_name(map.kind));
  }
  int chosen = -1;
  Value* chosen_body = nullptr;
  for (std::size_t i = 0; i + 1 < map.items.size(); i += 2) {
    const Value& key = map.items[i];
    Value& value = map.items[i + 1];
    if (key.kind != Kind::kText || value.is_null()) continue;
    const int index = detail::match_key(key.text(), keys.data(), N);
    if (index < 0) continue;  // unknown keys are ignored, as Go does
    if (chosen >= 0) {
      return Status(local_errc::malformed_message, std::string(what) + ": two messages in one frame (" +
                                                       keys[static_cast<std::size_t>(chosen)] + " and " +
                                                       keys[static_cast<std::size_t>(index)] + ")");
    }
    chosen = index;
    chosen_body = &value;
  }
  if (chosen < 0) {
    // Not malformed: a newer peer's message this side does not know (Go ignores unknown keys).
    return Status(local_errc::unknown_message, std::string(what) + ": no known message key with a non-null value");
  }
  const char* key = keys[static_cast<std::size_t>(chosen)];
  if (chosen_body->kind != Kind::kMap) {
    return Status(local_errc::malformed_message,
                  std::string(key) + ": expected a map, got " + cbor::kind_name(chosen_body->kind));
  }
  return read_by_index<Variant>(static_cast<std::size_t>(chosen), *chosen_body, key, std::make_index_sequence<N>{});
}

}  // namespace

Result<Request> decode_request(ByteView body) {
  return decode_envelope<Request>(body, detail::kRequestKeys, "request");
}

Result<Response> decode_response(ByteView body) {
  return decode_envelope<Response>(body, detail::kResponseKeys, "response");
}

}  // namespace kpthin
