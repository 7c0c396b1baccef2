// The decoding visitor of the message field descriptions (codec_message_fields.hpp), also used
// directly by the PKI document reader; private.
//
// Decoding is strict about types and fixed lengths and lenient about presence: absent == null
// == the zero value, unknown keys are ignored, keys match exactly first and then ignoring case
// (Go's default field-name matching). Writer-only rules (omitempty, always-null fields) read
// like plain fields.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cbor_value.hpp"
#include "kpthin/bytes.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/status.hpp"

namespace kpthin::detail {

// Reads the fields of one decoded map. The first problem is kept; later reads are no-ops, so a
// message reader can read every field and check status() once.
class FieldReader {
 public:
  FieldReader(cbor::Value& map, std::string context) : map_(map), context_(std::move(context)) {}

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  const std::string& context() const { return context_; }

  void fail(std::string_view name, const std::string& what) {
    if (!status_.ok()) return;
    std::string where = context_;
    if (!name.empty()) where += "." + std::string(name);
    status_ = Status(local_errc::malformed_message, where + ": " + what);
  }

  // Takes over the first failure of a reader for a nested map (whose context extends ours).
  void adopt(const Status& nested) {
    if (status_.ok() && !nested.ok()) status_ = nested;
  }

  // The value under `name`, or nullptr when absent or null.
  cbor::Value* find(std::string_view name);

  template <std::size_t N>
  void fixed(std::string_view name, FixedBytes<N>& out) {
    out.fill(0);
    if (cbor::Value* v = byte_string(name, N)) std::copy(v->data.begin(), v->data.end(), out.begin());
  }
  template <std::size_t N>
  void fixed(std::string_view name, std::optional<FixedBytes<N>>& out) {
    out.reset();
    if (cbor::Value* v = byte_string(name, N)) {
      out.emplace();
      std::copy(v->data.begin(), v->data.end(), out->begin());
    }
  }
  // exact == 0: any length.
  void bytes(std::string_view name, Bytes& out, std::size_t exact = 0) {
    out.clear();
    if (cbor::Value* v = byte_string(name, exact)) out = std::move(v->data);
  }
  void bytes(std::string_view name, std::optional<Bytes>& out, std::size_t exact = 0) {
    out.reset();
    if (cbor::Value* v = byte_string(name, exact)) out = std::move(v->data);
  }
  void secret(std::string_view name, SecretBytes& out, std::size_t exact = 0) {
    out.clear();
    if (cbor::Value* v = byte_string(name, exact)) out = SecretBytes(std::move(v->data));
  }
  void secret(std::string_view name, std::optional<SecretBytes>& out, std::size_t exact = 0) {
    out.reset();
    if (cbor::Value* v = byte_string(name, exact)) out = SecretBytes(std::move(v->data));
  }
  template <class T>
  void uint(std::string_view name, T& out) {
    out = 0;
    if (cbor::Value* v = unsigned_integer(name, std::numeric_limits<T>::max())) out = static_cast<T>(v->number);
  }
  template <class T>
  void uint(std::string_view name, std::optional<T>& out) {
    out.reset();
    if (cbor::Value* v = unsigned_integer(name, std::numeric_limits<T>::max())) out = static_cast<T>(v->number);
  }
  void boolean(std::string_view name, bool& out);
  void text(std::string_view name, std::string& out);
  void text(std::string_view name, std::optional<std::string>& out);
  // A nested map or array, nullptr when absent, null or of the wrong kind (then failed).
  cbor::Value* map(std::string_view name) { return of_kind(name, cbor::Kind::kMap); }
  cbor::Value* array(std::string_view name) { return of_kind(name, cbor::Kind::kArray); }

  // Checks an element of an array read with array(); reports "<name>[i]: ...".
  bool element_is(std::string_view name, std::size_t index, const cbor::Value& v, cbor::Kind kind,
                  std::size_t exact_length = 0);

  // --- the visitor interface of codec_message_fields.hpp: one overload per field type ---------

  template <std::size_t N>
  void field(std::string_view name, FixedBytes<N>& out) { fixed(name, out); }
  template <std::size_t N>
  void field(std::string_view name, std::optional<FixedBytes<N>>& out) { fixed(name, out); }
  void field(std::string_view name, Bytes& out, std::size_t exact = 0) { bytes(name, out, exact); }
  void field(std::string_view name, std::optional<Bytes>& out, std::size_t exact = 0) { bytes(name, out, exact); }
  void field(std::string_view name, SecretBytes& out, std::size_t exact = 0) { secret(name, out, exact); }
  void field(std::string_view name, std::optional<SecretBytes>& out, std::size_t exact = 0) {
    secret(name, out, exact);
  }
  template <std::unsigned_integral T>  // bool picks the non-template overload
  void field(std::string_view name, T& out) { uint(name, out); }
  template <std::unsigned_integral T>
  void field(std::string_view name, std::optional<T>& out) { uint(name, out); }
  void field(std::string_view name, bool& out) { boolean(name, out); }
  void field(std::string_view name, std::string& out) { text(name, out); }
  void field(std::string_view name, std::optional<std::string>& out) { text(name, out); }

  // Absent or present, an omitempty field reads like any other.
  template <class T>
  void omitempty(std::string_view name, T& out) { field(name, out); }
  // The encoder's always-nil Go error: nothing of it is kept, whatever arrives.
  void always_null(std::string_view) {}
  // Zeros on the wire from Go, but null or absent is accepted too.
  template <std::size_t N>
  void zero_if_absent(std::string_view name, std::optional<FixedBytes<N>>& out) { fixed(name, out); }

  template <class Struct>
  void nested(std::string_view name, std::optional<Struct>& out) {
    out.reset();
    if (cbor::Value* v = map(name)) struct_map(*v, std::string(name), out.emplace());
  }
  template <class Struct>
  void nested_list(std::string_view name, std::vector<Struct>& out) {
    out.clear();
    if (cbor::Value* list = array(name)) struct_maps(name, *list, out);
  }
  template <class Struct>
  void nested_list(std::string_view name, std::optional<std::vector<Struct>>& out) {
    out.reset();
    if (cbor::Value* list = array(name)) struct_maps(name, *list, out.emplace());
  }
  // [][]byte / []*MessageBoxIndex: null elements decode as empty; exact as for bytes().
  void byte_list(std::string_view name, std::optional<std::vector<Bytes>>& out, std::size_t exact = 0);
  void text_list(std::string_view name, std::vector<std::string>& out);

 private:
  cbor::Value* byte_string(std::string_view name, std::size_t exact);
  cbor::Value* unsigned_integer(std::string_view name, std::uint64_t max);
  cbor::Value* of_kind(std::string_view name, cbor::Kind kind);

  // Reads `map` with the fields of Struct (found by argument-dependent lookup) through a reader
  // whose context extends ours by `where`, and takes over its first failure.
  template <class Struct>
  void struct_map(cbor::Value& map, const std::string& where, Struct& out) {
    FieldReader inner(map, context_ + "." + where);
    fields(inner, out);
    adopt(inner.status());
  }
  template <class Struct>
  void struct_maps(std::string_view name, cbor::Value& list, std::vector<Struct>& out) {
    out.reserve(list.items.size());
    for (std::size_t i = 0; i < list.items.size() && ok(); ++i) {
      cbor::Value& element = list.items[i];
      Struct item;
      if (!element.is_null()) {  // a nil element decodes to the zero value in Go
        if (!element_is(name, i, element, cbor::Kind::kMap)) break;
        struct_map(element, std::string(name) + "[" + std::to_string(i) + "]", item);
      }
      out.push_back(std::move(item));
    }
  }

  cbor::Value& map_;
  std::string context_;
  Status status_;
};

// Index of `key` in `names` (exact match first, then ASCII case-insensitive), or -1.
int match_key(std::string_view key, const char* const* names, std::size_t count);

}  // namespace kpthin::detail
