// Pigeonhole operations spelled out in raw requests, shared by the raw-frame sim tests.
#pragma once

#include "sim_harness.hpp"

namespace kpsim_test {

struct Encrypted {
  kpthin::Bytes ciphertext;
  kpthin::SecretBytes descriptor;
  kpthin::Hash256 hash{};
  kpthin::Bytes next_index;
};

inline Encrypted encrypt_write(RawClient& c, const RawChannel& ch, const kpthin::Bytes& index, const kpthin::Bytes& plaintext) {
  kpthin::EncryptWrite r;
  r.plaintext = plaintext;
  r.write_cap = ch.write_cap;
  r.message_box_index = index;
  auto reply = c.call<kpthin::EncryptWriteReply>(std::move(r));
  if (!reply || reply->error_code != 0) throw std::runtime_error("encrypt_write failed");
  return {std::move(reply->message_ciphertext), std::move(reply->envelope_descriptor), *reply->envelope_hash,
          std::move(reply->next_message_box_index)};
}

inline Encrypted encrypt_read(RawClient& c, const RawChannel& ch, const kpthin::Bytes& index) {
  kpthin::EncryptRead r;
  r.read_cap = ch.read_cap;
  r.message_box_index = index;
  auto reply = c.call<kpthin::EncryptReadReply>(std::move(r));
  if (!reply || reply->error_code != 0) throw std::runtime_error("encrypt_read failed");
  return {std::move(reply->message_ciphertext), std::move(reply->envelope_descriptor), *reply->envelope_hash,
          std::move(reply->next_message_box_index)};
}

inline kpthin::StartResendingEncryptedMessage write_request(const RawChannel& ch, const Encrypted& e, bool no_idempotent = false) {
  kpthin::StartResendingEncryptedMessage r;
  r.query_id = fresh_query_id();
  r.write_cap = ch.write_cap;
  r.envelope_descriptor = e.descriptor;
  r.message_ciphertext = e.ciphertext;
  r.envelope_hash = e.hash;
  r.no_idempotent_box_already_exists = no_idempotent;
  return r;
}

inline kpthin::StartResendingEncryptedMessage read_request(const RawChannel& ch, const Encrypted& e, const kpthin::Bytes& index,
                                                           bool no_retry = false) {
  kpthin::StartResendingEncryptedMessage r;
  r.query_id = fresh_query_id();
  r.read_cap = ch.read_cap;
  r.message_box_index = index;
  r.envelope_descriptor = e.descriptor;
  r.message_ciphertext = e.ciphertext;
  r.envelope_hash = e.hash;
  r.no_retry_on_box_id_not_found = no_retry;
  return r;
}

inline std::optional<kpthin::StartResendingEncryptedMessageReply> resend(RawClient& c, kpthin::StartResendingEncryptedMessage r,
                                                                        std::chrono::milliseconds timeout = 5s) {
  return c.call<kpthin::StartResendingEncryptedMessageReply>(std::move(r), timeout);
}

// Writes `plaintext` to box `index` and returns the SREM reply's error code.
inline int write_box(RawClient& c, const RawChannel& ch, const kpthin::Bytes& index, const kpthin::Bytes& plaintext,
                     bool no_idempotent = false) {
  auto reply = resend(c, write_request(ch, encrypt_write(c, ch, index, plaintext), no_idempotent));
  return reply ? reply->error_code : -1;
}

// Reads box `index`: the SREM reply (error code and plaintext).
inline std::optional<kpthin::StartResendingEncryptedMessageReply> read_box(RawClient& c, const RawChannel& ch,
                                                                          const kpthin::Bytes& index, bool no_retry = true,
                                                                          std::chrono::milliseconds timeout = 5s) {
  return resend(c, read_request(ch, encrypt_read(c, ch, index), index, no_retry), timeout);
}

inline kpthin::Bytes bytes_of(std::string_view text) { return kpthin::Bytes(text.begin(), text.end()); }

inline kpthin::InstanceToken token_of(std::uint8_t byte) {
  kpthin::InstanceToken t;
  t.fill(byte);
  return t;
}

// Writes copy-stream elements to consecutive boxes of a temporary channel.
inline void write_stream(RawClient& c, const RawChannel& temp, const std::vector<kpthin::Bytes>& elements) {
  kpthin::Bytes index = temp.first_index;
  for (const auto& element : elements) {
    const Encrypted e = encrypt_write(c, temp, index, element);
    auto reply = resend(c, write_request(temp, e));
    if (!reply || reply->error_code != 0) throw std::runtime_error("writing a copy-stream element failed");
    index = e.next_index;
  }
}

// The copy-stream elements that carry `payload` to the boxes of `dest` from its first index (one
// create_courier_envelopes_from_payload call, start and last).
inline std::vector<kpthin::Bytes> copy_elements(RawClient& c, const RawChannel& dest, const kpthin::Bytes& payload) {
  kpthin::CreateCourierEnvelopesFromPayload r;
  r.payload = payload;
  r.dest_write_cap = dest.write_cap;
  r.dest_start_index = dest.first_index;
  r.is_start = true;
  r.is_last = true;
  auto reply = c.call<kpthin::CreateCourierEnvelopesFromPayloadReply>(std::move(r));
  if (!reply || reply->error_code != 0 || !reply->envelopes) throw std::runtime_error("create_courier_envelopes_from_payload failed");
  return std::move(*reply->envelopes);
}

inline std::optional<kpthin::StartResendingCopyCommandReply> copy_command(RawClient& c, const RawChannel& temp,
                                                                          std::chrono::milliseconds timeout = 5s) {
  kpthin::StartResendingCopyCommand r;
  r.write_cap = temp.write_cap;
  return c.call<kpthin::StartResendingCopyCommandReply>(std::move(r), timeout);
}

}  // namespace kpsim_test
