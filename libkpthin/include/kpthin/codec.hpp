// CBOR encoding and strict decoding of every request and response (spec §1.4, §3, §4).
#pragma once

#include "kpthin/bytes.hpp"
#include "kpthin/messages.hpp"
#include "kpthin/status.hpp"

namespace kpthin {

// Which envelope shape to emit. kMinimal = a one-key map {"<key>": {...}} (what Python/Rust
// send); kGoFull = every envelope key in Go declaration order, unused ones null (what the Go
// client and daemon send: 21 keys for a request, 25 for a response).
enum class EnvelopeForm { kMinimal, kGoFull };

// Encodes the CBOR body (no length prefix) of a request / response. Inner maps follow Go's
// field order and omitempty rules, so kGoFull output matches the Go encoder byte for byte.
Bytes encode_request(const Request& request, EnvelopeForm form = EnvelopeForm::kMinimal);
Bytes encode_response(const Response& response, EnvelopeForm form = EnvelopeForm::kGoFull);
// A request as a whole frame: the length prefix (spec §1.3), then encode_request's body, built in
// one buffer. The caller keeps requests within kMaxFrameSize, as for make_frame.
Bytes encode_request_frame(const Request& request, EnvelopeForm form = EnvelopeForm::kMinimal);

// Decodes one CBOR body. Strict and total: any input yields a value or an error naming the
// offending key and what was wrong (local_errc::malformed_message). Accepts both envelope forms,
// absent == null inside sub-messages, unknown keys ignored, at most one non-null known envelope
// key. A well-formed map with none is local_errc::unknown_message: a message kind this side does
// not know, which a receiver may skip.
Result<Request> decode_request(ByteView body);
Result<Response> decode_response(ByteView body);

}  // namespace kpthin
