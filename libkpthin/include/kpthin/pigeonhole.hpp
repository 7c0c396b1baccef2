// Typed Pigeonhole and service calls on a ThinClient (spec §3, §7). Each call takes a timeout;
// when a start-resending call times out or is interrupted, it is cancelled at the daemon.
#pragma once

#include <atomic>
#include <optional>
#include <vector>

#include "kpthin/client.hpp"

namespace kpthin {

struct Keypair {
  SecretBytes write_cap;      // 168 bytes, secret
  Bytes read_cap;             // 136 bytes, shareable
  Bytes first_message_index;  // 104 bytes
};

struct EncryptedMessage {     // result of encrypt_read / encrypt_write
  Bytes message_ciphertext;
  SecretBytes envelope_descriptor;
  Hash256 envelope_hash{};
  Bytes next_message_box_index;
};

struct ResendOptions {
  bool no_retry_on_box_id_not_found = false;
  bool no_idempotent_box_already_exists = false;
  // Polled while waiting; when it becomes true the operation is cancelled at the daemon and the
  // call returns local_errc::cancelled (used for Ctrl-C).
  const std::atomic<bool>* interrupt = nullptr;
};

struct ResendResult {
  std::optional<Bytes> plaintext;  // reads; empty = tombstone fallback path
  std::optional<Hash256> courier_identity_hash;
  std::optional<Bytes> courier_queue_id;
};

struct CourierEnvelopes {
  std::vector<Bytes> envelopes;              // copy-stream elements, one box each
  std::optional<Bytes> buffer;               // residual encoder bytes (continuations)
  std::vector<Bytes> next_dest_indices;      // one per destination
};

struct ServiceInfo {
  std::string name;       // capability name ("echo", "courier")
  std::string node;       // MixDescriptor.Name
  Bytes queue_id;         // Kaetzchen endpoint bytes
  Hash256 destination_hash{};  // BLAKE2b-256(IdentityKey)
};

class Pigeonhole {
 public:
  explicit Pigeonhole(ThinClient& client) : client_(client) {}

  Result<Keypair> new_keypair(const SecretBytes& seed, Duration timeout);
  Result<EncryptedMessage> encrypt_write(ByteView plaintext, const SecretBytes& write_cap,
                                         ByteView index, Duration timeout);
  Result<EncryptedMessage> encrypt_tombstone(const SecretBytes& write_cap, ByteView index,
                                             Duration timeout);
  Result<EncryptedMessage> encrypt_read(ByteView read_cap, ByteView index, Duration timeout);

  // Sends an encrypted write (write_cap set) or read (read_cap + index set) and waits for the
  // terminal reply. Errors use start_resending_error() (tombstone, box-not-found and
  // box-already-exists are testable with is_expected_outcome). On timeout/interrupt the
  // operation is cancelled at the daemon before returning.
  Result<ResendResult> start_resending_write(const EncryptedMessage& message,
                                             const SecretBytes& write_cap,
                                             const ResendOptions& options, Duration timeout);
  Result<ResendResult> start_resending_read(const EncryptedMessage& message, ByteView read_cap,
                                            ByteView read_index, const ResendOptions& options,
                                            Duration timeout);
  Status cancel_resending(const Hash256& envelope_hash, Duration timeout);

  // Copy command on a temporary channel's write cap; optionally pinned to a courier.
  Status start_resending_copy_command(const SecretBytes& temp_write_cap,
                                      const std::optional<ServiceInfo>& courier,
                                      const ResendOptions& options, Duration timeout);
  Status cancel_copy_command(const SecretBytes& temp_write_cap, Duration timeout);

  Result<Bytes> next_message_box_index(ByteView index, Duration timeout);
  Result<std::uint64_t> message_box_index_counter(ByteView index, Duration timeout);

  Result<CourierEnvelopes> courier_envelopes_from_payload(ByteView payload,
                                                          const SecretBytes& dest_write_cap,
                                                          ByteView dest_start_index, bool is_start,
                                                          bool is_last, Duration timeout);
  Result<CourierEnvelopes> courier_envelopes_from_multi_payload(
      const std::vector<CourierDestination>& destinations, bool is_start, bool is_last,
      const std::optional<Bytes>& buffer, Duration timeout);
  Result<CourierEnvelopes> courier_envelopes_from_tombstone_range(
      const SecretBytes& dest_write_cap, ByteView dest_start_index, std::uint32_t count,
      bool is_start, bool is_last, const std::optional<Bytes>& buffer, Duration timeout);

  // Client-side tombstone range (spec §7.4): encrypt_write of empty payloads for `count`
  // consecutive boxes. Returns the envelopes and the index after the last.
  struct TombstoneRange {
    std::vector<std::pair<Bytes /*box index*/, EncryptedMessage>> envelopes;
    Bytes next_index;
  };
  Result<TombstoneRange> tombstone_range(const SecretBytes& write_cap, ByteView start_index,
                                         std::uint32_t count, Duration timeout);

  Result<GetPkiDocumentReply> get_pki_document(std::uint64_t epoch, Duration timeout);
  Result<std::vector<DirectoryAuthority>> get_directory_authorities(Duration timeout);

  // Legacy service messages (spec §3.3). send_with_reply blocks until the SURB reply arrives.
  Status send_message(const ServiceInfo& destination, ByteView payload);
  Result<Bytes> send_with_reply(const ServiceInfo& destination, ByteView payload,
                                Duration timeout);

 private:
  ThinClient& client_;
};

// BLAKE2b-256 of the write cap bytes (the cancel handle of a copy command, spec §6).
Hash256 write_cap_hash(const SecretBytes& write_cap);

}  // namespace kpthin
