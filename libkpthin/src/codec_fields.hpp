// The decoding visitor of the message field descriptions (codec_message_fields.hpp), also used
// directly by the PKI document reader; private. It reads validated CBOR bytes in place.
//
// Decoding is strict about types and fixed lengths and lenient about presence: absent == null
// == the zero value, unknown keys are ignored, keys match exactly first and then ignoring case
// (Go's default field-name matching). Writer-only rules (omitempty, always-null fields) read
// like plain fields.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cbor_reader.hpp"
#include "cbor_value.hpp"
#include "kpthin/bytes.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/status.hpp"

namespace kpthin::detail {

// Reads the fields of one map of validated CBOR (cbor::validate) in place: byte strings are
// copied once, into the struct; nothing else is allocated unless a map has more than
// kInlineEntries keys or a key in chunks. The first problem is kept; later reads are no-ops, so
// a message reader can read every field and check status() once.
class FieldReader {
 public:
  // The map item at `offset` of `input`; `context` names it in errors ("new_keypair_reply") and
  // must outlive the reader.
  FieldReader(ByteView input, std::size_t offset, std::string_view context);
  FieldReader(const FieldReader&) = delete;
  FieldReader& operator=(const FieldReader&) = delete;

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  std::string context() const;

  void fail(std::string_view name, const std::string& what);

  // Takes over the first failure of a reader for a nested map (whose context extends ours).
  void adopt(const Status& nested) {
    if (status_.ok() && !nested.ok()) status_ = nested;
  }

  // Offset of the value under `name`, or kAbsent when absent or null.
  static constexpr std::size_t kAbsent = static_cast<std::size_t>(-1);
  std::size_t find(std::string_view name);
  // The value under `name` as a tree (for the PKI document's loosely typed parts).
  std::optional<cbor::Value> value(std::string_view name);

  template <std::size_t N>
  void fixed(std::string_view name, FixedBytes<N>& out) {
    out.fill(0);
    if (const std::size_t at = byte_string(name, N); at != kAbsent) copy_string(at, out.data());
  }
  template <std::size_t N>
  void fixed(std::string_view name, std::optional<FixedBytes<N>>& out) {
    out.reset();
    if (const std::size_t at = byte_string(name, N); at != kAbsent) copy_string(at, out.emplace().data());
  }
  // exact == 0: any length.
  void bytes(std::string_view name, Bytes& out, std::size_t exact = 0) {
    out.clear();
    if (const std::size_t at = byte_string(name, exact); at != kAbsent) cbor::append_string(input_, at, out);
  }
  void bytes(std::string_view name, std::optional<Bytes>& out, std::size_t exact = 0) {
    out.reset();
    if (const std::size_t at = byte_string(name, exact); at != kAbsent) cbor::append_string(input_, at, out.emplace());
  }
  void secret(std::string_view name, SecretBytes& out, std::size_t exact = 0) {
    out.clear();
    if (const std::size_t at = byte_string(name, exact); at != kAbsent) out = secret_at(at);
  }
  void secret(std::string_view name, std::optional<SecretBytes>& out, std::size_t exact = 0) {
    out.reset();
    if (const std::size_t at = byte_string(name, exact); at != kAbsent) out = secret_at(at);
  }
  template <class T>
  void uint(std::string_view name, T& out) {
    out = 0;
    if (const std::size_t at = unsigned_integer(name, std::numeric_limits<T>::max()); at != kAbsent) {
      out = static_cast<T>(cbor::read_head(input_, at).argument);
    }
  }
  template <class T>
  void uint(std::string_view name, std::optional<T>& out) {
    out.reset();
    if (const std::size_t at = unsigned_integer(name, std::numeric_limits<T>::max()); at != kAbsent) {
      out = static_cast<T>(cbor::read_head(input_, at).argument);
    }
  }
  void boolean(std::string_view name, bool& out);
  void text(std::string_view name, std::string& out);
  void text(std::string_view name, std::optional<std::string>& out);
  // A nested map or array as a tree, nullopt when absent, null or of the wrong kind (then
  // failed). For the PKI document; messages read nested maps with nested() / nested_list().
  std::optional<cbor::Value> map(std::string_view name) { return tree_of_kind(name, cbor::Kind::kMap); }
  std::optional<cbor::Value> array(std::string_view name) { return tree_of_kind(name, cbor::Kind::kArray); }

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
    if (const std::size_t at = of_kind(name, cbor::Kind::kMap); at != kAbsent) struct_map(at, name, -1, out.emplace());
  }
  template <class Struct>
  void nested_list(std::string_view name, std::vector<Struct>& out) {
    out.clear();
    if (const std::size_t at = of_kind(name, cbor::Kind::kArray); at != kAbsent) struct_maps(name, at, out);
  }
  template <class Struct>
  void nested_list(std::string_view name, std::optional<std::vector<Struct>>& out) {
    out.reset();
    if (const std::size_t at = of_kind(name, cbor::Kind::kArray); at != kAbsent) struct_maps(name, at, out.emplace());
  }
  // [][]byte / []*MessageBoxIndex: null elements decode as empty; exact as for bytes().
  void byte_list(std::string_view name, std::optional<std::vector<Bytes>>& out, std::size_t exact = 0);
  void text_list(std::string_view name, std::vector<std::string>& out);

 private:
  // A reader for the map at `offset`, an element or field of `parent`'s map: "<name>" or
  // "<name>[index]" extends the parent's context.
  FieldReader(const FieldReader& parent, std::size_t offset, std::string_view name, long index);
  void index_map(std::size_t offset);

  std::size_t byte_string(std::string_view name, std::size_t exact);
  std::size_t unsigned_integer(std::string_view name, std::uint64_t max);
  std::size_t of_kind(std::string_view name, cbor::Kind kind);
  std::optional<cbor::Value> tree_of_kind(std::string_view name, cbor::Kind kind);
  // Checks an array element of `kind` (and length); reports "<name>[i]: ...".
  bool element_at_is(std::string_view name, std::size_t index, std::size_t at, cbor::Kind kind,
                     std::size_t exact_length = 0);
  // Copies the string at `at`, whose length was checked, to `out`.
  void copy_string(std::size_t at, std::uint8_t* out) const;
  SecretBytes secret_at(std::size_t at) const;
  // The elements of the array at `at`, as offsets.
  template <class Visit>
  void for_each_element(std::size_t at, Visit&& visit) const {
    const cbor::Head h = cbor::read_head(input_, at);
    std::size_t offset = at + h.size;
    for (std::size_t i = 0; h.indefinite ? input_[offset] != 0xff : i < h.argument; ++i) {
      if (!visit(i, offset)) return;
      offset = cbor::skip(input_, offset);
    }
  }

  // Reads the map at `at` with the fields of Struct (found by argument-dependent lookup) through
  // a reader whose context extends ours by `name` (and `[index]`), and takes over its first
  // failure.
  template <class Struct>
  void struct_map(std::size_t at, std::string_view name, long index, Struct& out) {
    FieldReader inner(*this, at, name, index);
    fields(inner, out);
    adopt(inner.status());
  }
  template <class Struct>
  void struct_maps(std::string_view name, std::size_t at, std::vector<Struct>& out) {
    for_each_element(at, [&](std::size_t i, std::size_t element) {
      Struct item;
      if (!is_null_at(element)) {  // a nil element decodes to the zero value in Go
        if (!element_at_is(name, i, element, cbor::Kind::kMap)) return false;
        struct_map(element, name, static_cast<long>(i), item);
      }
      out.push_back(std::move(item));
      return ok();
    });
  }
  bool is_null_at(std::size_t at) const {
    const cbor::Kind kind = cbor::read_head(input_, at).kind;
    return kind == cbor::Kind::kNull || kind == cbor::Kind::kUndefined;
  }

  // Trivially constructible, so the inline array costs nothing until used.
  struct Entry {
    const char* key;
    std::size_t key_size;
    std::size_t value;  // offset of the value
  };
  static constexpr std::size_t kInlineEntries = 24;

  ByteView input_;
  const FieldReader* parent_ = nullptr;
  std::string_view name_;  // the root's context, or this map's name in its parent
  long index_ = -1;        // this map's index in the parent's list, or -1
  Status status_;
  std::array<Entry, kInlineEntries> inline_entries_;
  std::vector<Entry> more_entries_;                    // maps with more text keys
  std::vector<std::unique_ptr<std::string>> joined_;   // keys sent in chunks, joined
  std::size_t entry_count_ = 0;
};

// Index of `key` in `names` (exact match first, then ASCII case-insensitive), or -1.
int match_key(std::string_view key, const char* const* names, std::size_t count);

}  // namespace kpthin::detail
