// The encoding visitor of the message field descriptions (codec_message_fields.hpp); private.
//
// Encoding follows Go's fxamacker/cbor defaults: struct fields in declaration order, nil
// pointers and nil slices as null, fixed arrays and byte slices as byte strings. Bytes and
// SecretBytes fields stand for Go pointers or nil-able slices, so empty ones encode as null;
// std::optional<Bytes> keeps the nil-versus-empty distinction where the protocol needs it.
// Expected sizes given to field() are for the decoder; the encoder sends what it is given.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cbor_value.hpp"
#include "kpthin/bytes.hpp"

namespace kpthin::detail {

// Go's omitempty test. false, 0, "" and empty slices are empty; std::optional stands for a Go
// pointer (only nil is empty) unless it wraps a slice or string, where nil and empty both are.
template <class T>
bool go_empty(const T& value) {
  if constexpr (requires { value.has_value(); }) {
    if (!value) return true;
    if constexpr (requires { value->empty(); }) return value->empty();
    else return false;
  } else if constexpr (requires { value.empty(); }) {
    return value.empty();
  } else {
    return value == T{};
  }
}

class FieldWriter {
 public:
  explicit FieldWriter(std::size_t reserve = 256) : w_(reserve) {}

  cbor::Writer& writer() { return w_; }
  Bytes take() { return w_.take(); }
  Bytes take_framed() { return w_.take_framed(); }

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
  void field(std::string_view name, const FixedBytes<N>& value) {
    key(name);
    w_.bytes(view(value));
  }
  template <std::size_t N>
  void field(std::string_view name, const std::optional<FixedBytes<N>>& value) {
    key(name);
    if (value) w_.bytes(view(*value));
    else w_.null();
  }
  void field(std::string_view name, const Bytes& value, std::size_t /*decoder's size*/ = 0) {
    key(name);
    if (value.empty()) w_.null();
    else w_.bytes(value);
  }
  void field(std::string_view name, const std::optional<Bytes>& value, std::size_t /*decoder's size*/ = 0) {
    key(name);
    if (value) w_.bytes(*value);
    else w_.null();
  }
  void field(std::string_view name, const SecretBytes& value, std::size_t /*decoder's size*/ = 0) {
    key(name);
    if (value.empty()) w_.null();
    else w_.bytes(value.reveal());
  }
  void field(std::string_view name, const std::optional<SecretBytes>& value, std::size_t /*decoder's size*/ = 0) {
    key(name);
    if (value) w_.bytes(value->reveal());
    else w_.null();
  }
  template <std::unsigned_integral T>  // bool picks the non-template overload
  void field(std::string_view name, T value) {
    key(name);
    w_.uint(value);
  }
  template <std::unsigned_integral T>
  void field(std::string_view name, const std::optional<T>& value) {
    key(name);
    if (value) w_.uint(*value);
    else w_.null();
  }
  void field(std::string_view name, bool value) {
    key(name);
    w_.boolean(value);
  }
  void field(std::string_view name, const std::string& value) {
    key(name);
    w_.text(value);
  }
  void field(std::string_view name, const std::optional<std::string>& value) {
    key(name);
    if (value) w_.text(*value);
    else w_.null();
  }

  // Go's `omitempty`: the key is left out when the value is empty (go_empty).
  template <class T>
  void omitempty(std::string_view name, const T& value) {
    if (!go_empty(value)) field(name, value);
  }
  // A Go error interface: nil on every frame the daemon sends.
  void always_null(std::string_view name) {
    key(name);
    w_.null();
  }
  // A Go [N]byte value, which cannot be nil: an absent one goes out as zeros.
  template <std::size_t N>
  void zero_if_absent(std::string_view name, const std::optional<FixedBytes<N>>& value) {
    field(name, value.value_or(FixedBytes<N>{}));
  }

  // A Go struct pointer: null, or the struct as a map.
  template <class Struct>
  void nested(std::string_view name, const std::optional<Struct>& value) {
    key(name);
    if (value) struct_map(*value);
    else w_.null();
  }
  // A Go slice of structs: nil (empty here) as null.
  template <class Struct>
  void nested_list(std::string_view name, const std::vector<Struct>& list) {
    key(name);
    if (list.empty()) w_.null();
    else struct_maps(list);
  }
  // A Go slice of structs where nil and empty differ.
  template <class Struct>
  void nested_list(std::string_view name, const std::optional<std::vector<Struct>>& list) {
    key(name);
    if (list) struct_maps(*list);
    else w_.null();
  }
  // [][]byte: nil slice as null; elements are never nil in practice, so always byte strings.
  void byte_list(std::string_view name, const std::optional<std::vector<Bytes>>& list,
                 std::size_t /*decoder's size*/ = 0) {
    key(name);
    if (!list) {
      w_.null();
      return;
    }
    w_.array(list->size());
    for (const Bytes& b : *list) w_.bytes(b);
  }
  // []string: nil (empty here) as null.
  void text_list(std::string_view name, const std::vector<std::string>& list) {
    key(name);
    if (list.empty()) {
      w_.null();
      return;
    }
    w_.array(list.size());
    for (const std::string& text : list) w_.text(text);
  }

  // The fields of one struct as a map (found by argument-dependent lookup).
  template <class Struct>
  void struct_map(const Struct& value) {
    begin_map();
    fields(*this, value);
    end_map();
  }

 private:
  template <class Struct>
  void struct_maps(const std::vector<Struct>& list) {
    w_.array(list.size());
    for (const Struct& value : list) struct_map(value);
  }

  struct OpenMap {
    std::size_t position;
    std::size_t pairs;
  };
  cbor::Writer w_;
  std::vector<OpenMap> maps_;
};

}  // namespace kpthin::detail
