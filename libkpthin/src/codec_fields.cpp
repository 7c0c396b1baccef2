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

std::string got(cbor::Kind kind) { return std::string("got ") + cbor::kind_name(kind); }

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

FieldReader::FieldReader(ByteView input, std::size_t offset, std::string_view context)
    : input_(input), name_(context) {
  index_map(offset);
}

FieldReader::FieldReader(const FieldReader& parent, std::size_t offset, std::string_view name, long index)
    : input_(parent.input_), parent_(&parent), name_(name), index_(index) {
  index_map(offset);
}

void FieldReader::index_map(std::size_t offset) {
  const cbor::Head h = cbor::read_head(input_, offset);
  offset += h.size;
  for (std::uint64_t i = 0; h.indefinite ? input_[offset] != 0xff : i < h.argument; ++i) {
    const cbor::Head key = cbor::read_head(input_, offset);
    const std::size_t value = key.kind == cbor::Kind::kText && !key.indefinite
                                  ? offset + key.size + static_cast<std::size_t>(key.argument)
                                  : cbor::skip(input_, offset);
    if (key.kind == cbor::Kind::kText) {  // non-text keys cannot name a struct field
      std::string_view text;
      if (key.indefinite) {
        auto& joined = joined_.emplace_back(std::make_unique<std::string>());
        cbor::append_string(input_, offset, *joined);
        text = *joined;
      } else {
        text = {reinterpret_cast<const char*>(input_.data() + offset + key.size), static_cast<std::size_t>(key.argument)};
      }
      const Entry entry{text.data(), text.size(), value};
      if (entry_count_ < kInlineEntries) inline_entries_[entry_count_] = entry;
      else more_entries_.push_back(entry);
      ++entry_count_;
    }
    offset = cbor::skip(input_, value);
  }
}

std::string FieldReader::context() const {
  std::string where = parent_ != nullptr ? parent_->context() + "." : std::string();
  where += name_;
  if (index_ >= 0) where += "[" + std::to_string(index_) + "]";
  return where;
}

void FieldReader::fail(std::string_view name, const std::string& what) {
  if (!status_.ok()) return;
  std::string where = context();
  if (!name.empty()) where += "." + std::string(name);
  status_ = Status(local_errc::malformed_message, where + ": " + what);
}

std::size_t FieldReader::find(std::string_view name) {
  if (!status_.ok()) return kAbsent;
  std::size_t exact = kAbsent;
  std::size_t folded = kAbsent;
  for (std::size_t i = 0; i < entry_count_; ++i) {
    const Entry& e = i < kInlineEntries ? inline_entries_[i] : more_entries_[i - kInlineEntries];
    if (e.key_size != name.size()) continue;  // most keys differ in length: no compare at all
    const std::string_view key(e.key, e.key_size);
    if (key == name) exact = e.value;
    else if (folded == kAbsent && equal_fold(key, name)) folded = e.value;
  }
  const std::size_t at = exact != kAbsent ? exact : folded;
  if (at == kAbsent || is_null_at(at)) return kAbsent;
  return at;
}

std::optional<cbor::Value> FieldReader::value(std::string_view name) {
  const std::size_t at = find(name);
  if (at == kAbsent) return std::nullopt;
  return cbor::materialize(input_, at);
}

std::size_t FieldReader::byte_string(std::string_view name, std::size_t exact) {
  const std::size_t at = find(name);
  if (at == kAbsent) return kAbsent;
  const cbor::Head head = cbor::read_head(input_, at);
  if (head.kind != cbor::Kind::kBytes) {
    fail(name, "expected byte string, " + got(head.kind));
    return kAbsent;
  }
  if (exact != 0) {
    const std::size_t length =
        head.indefinite ? cbor::string_length(input_, at) : static_cast<std::size_t>(head.argument);
    if (length != exact) {
      fail(name, "expected " + std::to_string(exact) + " bytes, got " + std::to_string(length));
      return kAbsent;
    }
  }
  return at;
}

std::size_t FieldReader::unsigned_integer(std::string_view name, std::uint64_t max) {
  const std::size_t at = find(name);
  if (at == kAbsent) return kAbsent;
  const cbor::Head h = cbor::read_head(input_, at);
  if (h.kind != cbor::Kind::kUnsigned) {
    fail(name, "expected unsigned integer, " + got(h.kind));
    return kAbsent;
  }
  if (h.argument > max) {
    fail(name, "value " + std::to_string(h.argument) + " exceeds the maximum " + std::to_string(max));
    return kAbsent;
  }
  return at;
}

std::size_t FieldReader::of_kind(std::string_view name, cbor::Kind kind) {
  const std::size_t at = find(name);
  if (at == kAbsent) return kAbsent;
  if (const cbor::Kind actual = cbor::read_head(input_, at).kind; actual != kind) {
    fail(name, std::string("expected ") + cbor::kind_name(kind) + ", " + got(actual));
    return kAbsent;
  }
  return at;
}

std::optional<cbor::Value> FieldReader::tree_of_kind(std::string_view name, cbor::Kind kind) {
  const std::size_t at = of_kind(name, kind);
  if (at == kAbsent) return std::nullopt;
  return cbor::materialize(input_, at);
}

void FieldReader::copy_string(std::size_t at, std::uint8_t* out) const {
  const cbor::Head h = cbor::read_head(input_, at);
  if (!h.indefinite) {
    std::copy_n(input_.data() + at + h.size, static_cast<std::size_t>(h.argument), out);
    return;
  }
  Bytes joined;
  cbor::append_string(input_, at, joined);
  std::copy(joined.begin(), joined.end(), out);
  wipe(joined.data(), joined.size());
}

SecretBytes FieldReader::secret_at(std::size_t at) const {
  const cbor::Head h = cbor::read_head(input_, at);
  if (!h.indefinite) return SecretBytes(input_.subspan(at + h.size, static_cast<std::size_t>(h.argument)));
  Bytes joined;
  cbor::append_string(input_, at, joined);
  return SecretBytes(std::move(joined));
}

void FieldReader::boolean(std::string_view name, bool& out) {
  out = false;
  if (const std::size_t at = of_kind(name, cbor::Kind::kBool); at != kAbsent) {
    out = cbor::read_head(input_, at).argument != 0;
  }
}

void FieldReader::text(std::string_view name, std::string& out) {
  out.clear();
  if (const std::size_t at = of_kind(name, cbor::Kind::kText); at != kAbsent) cbor::append_string(input_, at, out);
}

void FieldReader::text(std::string_view name, std::optional<std::string>& out) {
  out.reset();
  if (const std::size_t at = of_kind(name, cbor::Kind::kText); at != kAbsent) {
    cbor::append_string(input_, at, out.emplace());
  }
}

bool FieldReader::element_is(std::string_view name, std::size_t index, const cbor::Value& v, cbor::Kind kind,
                             std::size_t exact_length) {
  if (!status_.ok()) return false;
  const std::string where = std::string(name) + "[" + std::to_string(index) + "]";
  if (v.kind != kind) {
    fail(where, std::string("expected ") + cbor::kind_name(kind) + ", " + got(v.kind));
    return false;
  }
  if (exact_length != 0 && v.data.size() != exact_length) {
    fail(where, "expected " + std::to_string(exact_length) + " bytes, got " + std::to_string(v.data.size()));
    return false;
  }
  return true;
}

bool FieldReader::element_at_is(std::string_view name, std::size_t index, std::size_t at, cbor::Kind kind,
                                std::size_t exact_length) {
  if (!status_.ok()) return false;
  const cbor::Kind actual = cbor::read_head(input_, at).kind;
  const std::string where = std::string(name) + "[" + std::to_string(index) + "]";
  if (actual != kind) {
    fail(where, std::string("expected ") + cbor::kind_name(kind) + ", " + got(actual));
    return false;
  }
  if (exact_length != 0) {
    if (const std::size_t length = cbor::string_length(input_, at); length != exact_length) {
      fail(where, "expected " + std::to_string(exact_length) + " bytes, got " + std::to_string(length));
      return false;
    }
  }
  return true;
}

void FieldReader::byte_list(std::string_view name, std::optional<std::vector<Bytes>>& out, std::size_t exact) {
  out.reset();
  const std::size_t list = of_kind(name, cbor::Kind::kArray);
  if (list == kAbsent) return;
  auto& result = out.emplace();
  for_each_element(list, [&](std::size_t i, std::size_t element) {
    if (is_null_at(element)) {
      result.emplace_back();
      return true;
    }
    if (!element_at_is(name, i, element, cbor::Kind::kBytes, exact)) return false;
    cbor::append_string(input_, element, result.emplace_back());
    return true;
  });
}

void FieldReader::text_list(std::string_view name, std::vector<std::string>& out) {
  out.clear();
  const std::size_t list = of_kind(name, cbor::Kind::kArray);
  if (list == kAbsent) return;
  for_each_element(list, [&](std::size_t i, std::size_t element) {
    if (!element_at_is(name, i, element, cbor::Kind::kText)) return false;
    cbor::append_string(input_, element, out.emplace_back());
    return true;
  });
}

}  // namespace kpthin::detail
