// pigeonhole-cp's file framing: the first box of a transfer starts with a CBOR map
// {"name": text, "size": uint} (serde's encoding of FileMetaData) immediately followed by file
// bytes; later boxes are raw bytes; a receiver stops after `size` bytes. CBOR is
// self-delimiting, so the header length is known once it is decoded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kpthin/bytes.hpp"

namespace kpthin::cli {

struct FileHeader {
  std::string name;
  std::uint64_t size = 0;
};

Bytes encode_file_header(const FileHeader& header);

// Decodes the header at the start of `box`; nullopt if it is not a well-formed header. On
// success `header_length` is the number of bytes it occupies.
std::optional<FileHeader> decode_file_header(ByteView box, std::size_t& header_length);

// A CBOR byte string holding `payload`: how `kpthin send` (like katzenpost's ping) frames
// service messages, because a SURB reply comes back padded to the full Sphinx payload size.
Bytes encode_cbor_byte_string(ByteView payload);
// The byte string at the start of `reply` (padding after it ignored); nullopt if there is none.
std::optional<Bytes> decode_cbor_byte_string(ByteView reply);

// pigeonhole-cp's receive-side name rules: non-empty, at most 255 bytes, not "." or "..", no '/'
// or '\\', no control characters. Returns "" if acceptable, else why not.
std::string unsafe_file_name_reason(const std::string& name);

}  // namespace kpthin::cli
