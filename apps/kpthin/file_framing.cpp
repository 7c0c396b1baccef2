#include "file_framing.hpp"

namespace kpthin::cli {
namespace {

void put_head(Bytes& out, std::uint8_t major, std::uint64_t value) {
  std::uint8_t m = static_cast<std::uint8_t>(major << 5);
  if (value < 24) {
    out.push_back(m | static_cast<std::uint8_t>(value));
  } else if (value <= 0xff) {
    out.push_back(m | 24);
    out.push_back(static_cast<std::uint8_t>(value));
  } else if (value <= 0xffff) {
    out.push_back(m | 25);
    for (int s = 8; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(value >> s));
  } else if (value <= 0xffffffffULL) {
    out.push_back(m | 26);
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(value >> s));
  } else {
    out.push_back(m | 27);
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(value >> s));
  }
}

void put_text(Bytes& out, std::string_view text) {
  put_head(out, 3, text.size());
  out.insert(out.end(), text.begin(), text.end());
}

// Reads one head (major type + argument); false on truncation or indefinite length.
bool get_head(ByteView in, std::size_t& pos, std::uint8_t& major, std::uint64_t& value) {
  if (pos >= in.size()) return false;
  std::uint8_t byte = in[pos++];
  major = byte >> 5;
  std::uint8_t info = byte & 31;
  if (info < 24) {
    value = info;
    return true;
  }
  int width = info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : info == 27 ? 8 : 0;
  if (width == 0 || in.size() - pos < static_cast<std::size_t>(width)) return false;
  value = 0;
  for (int i = 0; i < width; ++i) value = (value << 8) | in[pos++];
  return true;
}

bool get_text(ByteView in, std::size_t& pos, std::string& text) {
  std::uint8_t major;
  std::uint64_t length;
  if (!get_head(in, pos, major, length) || major != 3 || length > in.size() - pos) return false;
  text.assign(reinterpret_cast<const char*>(in.data() + pos), static_cast<std::size_t>(length));
  pos += static_cast<std::size_t>(length);
  return true;
}

}  // namespace

Bytes encode_file_header(const FileHeader& header) {
  Bytes out;
  put_head(out, 5, 2);
  put_text(out, "name");
  put_text(out, header.name);
  put_text(out, "size");
  put_head(out, 0, header.size);
  return out;
}

std::optional<FileHeader> decode_file_header(ByteView box, std::size_t& header_length) {
  std::size_t pos = 0;
  std::uint8_t major;
  std::uint64_t entries;
  if (!get_head(box, pos, major, entries) || major != 5 || entries != 2) return std::nullopt;
  FileHeader header;
  bool have_name = false, have_size = false;
  for (int i = 0; i < 2; ++i) {
    std::string key;
    if (!get_text(box, pos, key)) return std::nullopt;
    if (key == "name" && !have_name) {
      if (!get_text(box, pos, header.name)) return std::nullopt;
      have_name = true;
    } else if (key == "size" && !have_size) {
      if (!get_head(box, pos, major, header.size) || major != 0) return std::nullopt;
      have_size = true;
    } else {
      return std::nullopt;
    }
  }
  header_length = pos;
  return header;
}

Bytes encode_cbor_byte_string(ByteView payload) {
  Bytes out;
  put_head(out, 2, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::optional<Bytes> decode_cbor_byte_string(ByteView reply) {
  std::size_t pos = 0;
  std::uint8_t major;
  std::uint64_t length;
  if (!get_head(reply, pos, major, length) || major != 2 || length > reply.size() - pos) return std::nullopt;
  return Bytes(reply.begin() + static_cast<std::ptrdiff_t>(pos),
               reply.begin() + static_cast<std::ptrdiff_t>(pos + length));
}

std::string unsafe_file_name_reason(const std::string& name) {
  if (name.empty()) return "the file name is empty";
  if (name.size() > 255) return "the file name is longer than 255 bytes";
  if (name == "." || name == "..") return "the file name \"" + name + "\" is reserved";
  for (unsigned char c : name) {
    if (c == '/' || c == '\\') return "the file name contains a path separator";
    if (c < 0x20 || c == 0x7f) return "the file name contains a control character";
  }
  return {};
}

}  // namespace kpthin::cli
