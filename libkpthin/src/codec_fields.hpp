// Field-level helpers shared by the message encoder and decoder (private).
//
// Encoding follows Go's fxamacker/cbor defaults: struct fields in declaration order, nil
// pointers and nil slices as null, fixed arrays and byte slices as byte strings. Bytes and
// SecretBytes fields stand for Go pointers or nil-able slices, so empty ones encode as null;
// std::optional<Bytes> keeps the nil-versus-empty distinction where the protocol needs it.
//
// Decoding is strict about types and fixed lengths and lenient about presence: absent == null
// == the zero value, unknown keys are ignored, keys match exactly first and then ignoring case
// (Go's default field-name matching).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cbor_value.hpp"
#include "kpthin/bytes.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/status.hpp"

namespace kpthin::detail {

class FieldWriter {
 public:
  explicit FieldWriter(std::size_t reserve = 256) : w_(reserve) {}

  cbor::Writer& writer() { return w_; }
  Bytes take() { return w_.take(); }

  // Inner maps always have fewer than 24 pairs, so their head is one byte patched at the end.
  void begin_map() { maps_.push_back({w_.begin_small_map(), 0}); }
  void end_map() {
    w_.end_small_map(maps_.back().position, maps_.back().pairs);
    maps_.pop_back();
  }

  void key(std::string_view name) {
    if (!maps_.empty()) ++maps_.back().pairs;
    w_.text(name);
  }

  template <std::size_t N>
  void fixed(std::string_view name, const FixedBytes<N>& value) {
    key(name);
    w_.bytes(view(value));
  }
  template <std::size_t N>
  void fixed(std::string_view name, const std::optional<FixedBytes<N>>& value) {
    key(name);
    if (value) w_.bytes(view(*value));
    else w_.null();
  }
  void bytes(std::string_view name, const Bytes& value) {
    key(name);
    if (value.empty()) w_.null();
    else w_.bytes(value);
  }
  void bytes(std::string_view name, const std::optional<Bytes>& value) {
    key(name);
    if (value) w_.bytes(*value);
    else w_.null();
  }
  void secret(std::string_view name, const SecretBytes& value) {
    key(name);
    if (value.empty()) w_.null();
    else w_.bytes(value.reveal());
  }
  void secret(std::string_view name, const std::optional<SecretBytes>& value) {
    key(name);
    if (value) w_.bytes(value->reveal());
    else w_.null();
  }
  void uint(std::string_view name, std::uint64_t value) {
    key(name);
    w_.uint(value);
  }
  void uint(std::string_view name, const std::optional<std::uint64_t>& value) {
    key(name);
    if (value) w_.uint(*value);
    else w_.null();
  }
  void boolean(std::string_view name, bool value) {
    key(name);
    w_.boolean(value);
  }
  void text(std::string_view name, std::string_view value) {
    key(name);
    w_.text(value);
  }
  void null(std::string_view name) {
    key(name);
    w_.null();
  }

 private:
  struct OpenMap {
    std::size_t position;
    std::size_t pairs;
  };
  cbor::Writer w_;
  std::vector<OpenMap> maps_;
};

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

 private:
  cbor::Value* byte_string(std::string_view name, std::size_t exact);
  cbor::Value* unsigned_integer(std::string_view name, std::uint64_t max);
  cbor::Value* of_kind(std::string_view name, cbor::Kind kind);

  cbor::Value& map_;
  std::string context_;
  Status status_;
};

// Index of `key` in `names` (exact match first, then ASCII case-insensitive), or -1.
int match_key(std::string_view key, const char* const* names, std::size_t count);

}  // namespace kpthin::detail
