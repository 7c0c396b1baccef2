#include "codec_fields.hpp"

#include <string>
#include <utility>

namespace kpthin::detail {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_fold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string got(const cbor::Value& v) { return std::string("got ") + cbor::kind_name(v.kind); }

}  // namespace

int match_key(std::string_view key, const char* const* names, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    if (key == names[i]) return static_cast<int>(i);
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (equal_fold(key, names[i])) return static_cast<int>(i);
  }
  return -1;
}

cbor::Value* FieldReader::find(std::string_view name) {
  if (!status_.ok()) return nullptr;
  cbor::Value* exact = nullptr;
  cbor::Value* folded = nullptr;
  auto& items = map_.items;
  for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
    const cbor::Value& k = items[i];
    if (k.kind != cbor::Kind::kText) continue;  // non-text keys cannot name a struct field
    if (k.text() == name) exact = &items[i + 1];
    else if (folded == nullptr && equal_fold(k.text(), name)) folded = &items[i + 1];
  }
  cbor::Value* v = exact != nullptr ? exact : folded;
  if (v == nullptr || v->is_null()) return nullptr;
  return v;
}

cbor::Value* FieldReader::byte_string(std::string_view name, std::size_t exact) {
  cbor::Value* v = find(name);
  if (v == nullptr) return nullptr;
  if (v->kind != cbor::Kind::kBytes) {
    fail(name, "expected byte string, " + got(*v));
    return nullptr;
  }
  if (exact != 0 && v->data.size() != exact) {
    fail(name, "expected " + std::to_string(exact) + " bytes, got " + std::to_string(v->data.size()));
    return nullptr;
  }
  return v;
}

cbor::Value* FieldReader::unsigned_integer(std::string_view name, std::uint64_t max) {
  cbor::Value* v = find(name);
  if (v == nullptr) return nullptr;
  if (v->kind != cbor::Kind::kUnsigned) {
    fail(name, "expected unsigned integer, " + got(*v));
    return nullptr;
  }
  if (v->number > max) {
    fail(name, "value " + std::to_string(v->number) + " exceeds the maximum " + std::to_string(max));
    return nullptr;
  }
  return v;
}

cbor::Value* FieldReader::of_kind(std::string_view name, cbor::Kind kind) {
  cbor::Value* v = find(name);
  if (v == nullptr) return nullptr;
  if (v->kind != kind) {
    fail(name, std::string("expected ") + cbor::kind_name(kind) + ", " + got(*v));
    return nullptr;
  }
  return v;
}

void FieldReader::boolean(std::string_view name, bool& out) {
  out = false;
  if (cbor::Value* v = of_kind(name, cbor::Kind::kBool)) out = v->boolean;
}

void FieldReader::text(std::string_view name, std::string& out) {
  out.clear();
  if (cbor::Value* v = of_kind(name, cbor::Kind::kText)) out.assign(v->text());
}

void FieldReader::text(std::string_view name, std::optional<std::string>& out) {
  out.reset();
  if (cbor::Value* v = of_kind(name, cbor::Kind::kText)) out.emplace(v->text());
}

bool FieldReader::element_is(std::string_view name, std::size_t index, const cbor::Value& v, cbor::Kind kind,
                             std::size_t exact_length) {
  if (!status_.ok()) return false;
  const std::string where = std::string(name) + "[" + std::to_string(index) + "]";
  if (v.kind != kind) {
    fail(where, std::string("expected ") + cbor::kind_name(kind) + ", " + got(v));
    return false;
  }
  if (exact_length != 0 && v.data.size() != exact_length) {
    fail(where, "expected " + std::to_string(exact_length) + " bytes, got " + std::to_string(v.data.size()));
    return false;
  }
  return true;
}

void FieldReader::byte_list(std::string_view name, std::optional<std::vector<Bytes>>& out, std::size_t exact) {
  out.reset();
  cbor::Value* list = array(name);
  if (list == nullptr) return;
  auto& result = out.emplace();
  result.reserve(list->items.size());
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    cbor::Value& element = list->items[i];
    if (element.is_null()) {
      result.emplace_back();
      continue;
    }
    if (!element_is(name, i, element, cbor::Kind::kBytes, exact)) return;
    result.push_back(std::move(element.data));
  }
}

void FieldReader::text_list(std::string_view name, std::vector<std::string>& out) {
  out.clear();
  cbor::Value* list = array(name);
  if (list == nullptr) return;
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    if (!element_is(name, i, list->items[i], cbor::Kind::kText)) return;
    out.emplace_back(list->items[i].text());
  }
}

}  // namespace kpthin::detail
