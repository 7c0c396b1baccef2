// Every message of the kpclientd thin-client protocol as a typed struct (spec §3 requests, §4
// replies and events). Field names are the CBOR keys. std::optional marks fields the wire can
// carry as null/absent where that differs in meaning from an empty value (Go pointers, and
// nil-vs-empty byte strings such as a tombstone's plaintext).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "kpthin/bytes.hpp"

namespace kpthin {

// ---------------------------------------------------------------------------------------------
// Requests (thin client -> daemon), spec §3. Declaration order of the variant = Go order.

struct SessionToken {                       // §3.1
  InstanceToken client_instance_token{};
};
struct ThinClose {};                        // §3.2
struct SendMessage {                        // §3.3 (legacy)
  std::optional<MessageId> id;
  bool with_surb = false;
  std::optional<MessageId> surbid;
  std::optional<Hash256> destination_id_hash;
  Bytes recipient_queue_id;
  Bytes payload;
};
struct NewKeypair {                         // §3.4
  std::optional<QueryId> query_id;
  SecretBytes seed;
};
struct EncryptRead {                        // §3.5
  std::optional<QueryId> query_id;
  Bytes read_cap;
  Bytes message_box_index;
};
struct EncryptWrite {                       // §3.6
  std::optional<QueryId> query_id;
  std::optional<Bytes> plaintext;           // empty (not null) = tombstone
  SecretBytes write_cap;
  Bytes message_box_index;
};
struct StartResendingEncryptedMessage {     // §3.7
  std::optional<QueryId> query_id;
  std::optional<Bytes> read_cap;            // exactly one of read_cap / write_cap
  std::optional<SecretBytes> write_cap;
  std::optional<Bytes> message_box_index;   // reads: the index given to encrypt_read
  std::optional<std::uint8_t> reply_index;  // omitempty; ignored by the daemon
  SecretBytes envelope_descriptor;
  Bytes message_ciphertext;
  std::optional<Hash256> envelope_hash;
  bool no_retry_on_box_id_not_found = false;     // omitempty
  bool no_idempotent_box_already_exists = false; // omitempty
};
struct CancelResendingEncryptedMessage {    // §3.8
  std::optional<QueryId> query_id;
  std::optional<Hash256> envelope_hash;
};
struct StartResendingCopyCommand {          // §3.9
  std::optional<QueryId> query_id;
  SecretBytes write_cap;
  std::optional<Hash256> courier_identity_hash;  // omitempty
  std::optional<Bytes> courier_queue_id;         // omitempty
};
struct CancelResendingCopyCommand {         // §3.10
  std::optional<QueryId> query_id;
  std::optional<Hash256> write_cap_hash;
};
struct NextMessageBoxIndex {                // §3.11
  std::optional<QueryId> query_id;
  Bytes message_box_index;
};
struct GetMessageBoxIndexCounter {          // §3.12
  std::optional<QueryId> query_id;
  Bytes message_box_index;
};
struct GetPkiDocument {                     // §3.13
  std::optional<QueryId> query_id;
  std::uint64_t epoch = 0;
};
struct GetDirectoryAuthorities {            // §3.14
  std::optional<QueryId> query_id;
};
struct CreateCourierEnvelopesFromPayload {  // §3.15
  std::optional<QueryId> query_id;
  Bytes payload;
  SecretBytes dest_write_cap;
  Bytes dest_start_index;
  bool is_start = false;
  bool is_last = false;
};
struct CourierDestination {                 // element of §3.16 destinations
  Bytes payload;
  SecretBytes write_cap;
  Bytes start_index;
};
struct CreateCourierEnvelopesFromMultiPayload {  // §3.16 (key "..._multi_payload")
  std::optional<QueryId> query_id;
  std::vector<CourierDestination> destinations;
  bool is_start = false;
  bool is_last = false;
  std::optional<Bytes> buffer;
};
struct CreateCourierEnvelopesFromTombstoneRange {  // §3.17
  std::optional<QueryId> query_id;
  SecretBytes dest_write_cap;
  Bytes dest_start_index;
  std::uint32_t max_count = 0;
  bool is_start = false;
  bool is_last = false;
  std::optional<Bytes> buffer;
};
struct VoucherMint {                        // §3.18
  std::optional<QueryId> query_id;
  SecretBytes message_write_cap;
  std::string display_name;
};
struct VoucherInduct {
  std::optional<QueryId> query_id;
  Bytes voucher;
  Bytes voucher_payload;
  Bytes who_reply;
};
struct VoucherOpen {
  std::optional<QueryId> query_id;
  SecretBytes voucher_secret_key;
  Bytes sealed_reply;
  SecretBytes message_write_cap;
};
struct VoucherDeriveStream {
  std::optional<QueryId> query_id;
  Bytes voucher;
};

using Request = std::variant<SessionToken, ThinClose, SendMessage, NewKeypair, EncryptRead,
                             EncryptWrite, StartResendingEncryptedMessage,
                             CancelResendingEncryptedMessage, StartResendingCopyCommand,
                             CancelResendingCopyCommand, NextMessageBoxIndex,
                             GetMessageBoxIndexCounter, GetPkiDocument, GetDirectoryAuthorities,
                             CreateCourierEnvelopesFromPayload,
                             CreateCourierEnvelopesFromMultiPayload,
                             CreateCourierEnvelopesFromTombstoneRange, VoucherMint, VoucherInduct,
                             VoucherOpen, VoucherDeriveStream>;

// The top-level CBOR key of a request ("new_keypair", ...).
const char* request_key(const Request& request);
// The query_id of a request, if it has one (SessionToken, ThinClose and SendMessage do not).
std::optional<QueryId> request_query_id(const Request& request);

// ---------------------------------------------------------------------------------------------
// Replies and events (daemon -> thin client), spec §4.

struct SphinxGeometry {                     // §4.3, PascalCase keys
  std::uint64_t PacketLength = 0;
  std::uint64_t NrHops = 0;
  std::uint64_t HeaderLength = 0;
  std::uint64_t RoutingInfoLength = 0;
  std::uint64_t PerHopRoutingInfoLength = 0;
  std::uint64_t SURBLength = 0;
  std::uint64_t SphinxPlaintextHeaderLength = 0;
  std::uint64_t PayloadTagLength = 0;
  std::uint64_t ForwardPayloadLength = 0;
  std::uint64_t UserForwardPayloadLength = 0;
  std::uint64_t NextNodeHopLength = 0;
  std::uint64_t SPRPKeyMaterialLength = 0;
  std::string NIKEName;
  std::string KEMName;
};
struct PigeonholeGeometry {
  std::uint64_t MaxPlaintextPayloadLength = 0;
  std::uint64_t CourierQueryReadLength = 0;
  std::uint64_t CourierQueryWriteLength = 0;
  std::uint64_t CourierQueryReplyReadLength = 0;
  std::uint64_t CourierQueryReplyWriteLength = 0;
  std::string NIKEName;
  std::string SignatureSchemeName;
};

struct SessionTokenReply {                  // §4.1
  InstanceToken app_id{};
  bool resumed = false;
};
struct ShutdownEvent {};                    // §4.2
struct ConnectionStatusEvent {              // §4.3
  bool is_connected = false;
  InstanceToken instance_token{};
  std::optional<SphinxGeometry> sphinx_geometry;
  std::optional<PigeonholeGeometry> pigeonhole_geometry;
};
struct NewPkiDocumentEvent {                // §4.4
  std::optional<Bytes> payload;             // stripped document CBOR (§4.22)
};
struct MessageSentEvent {                   // §4.5
  std::optional<MessageId> message_id;
  MessageId surbid{};
  std::optional<std::uint64_t> sent_at;     // unix seconds
  std::uint64_t reply_eta = 0;              // nanoseconds
  std::optional<std::string> err;
};
struct MessageReplyEvent {                  // §4.6
  std::optional<MessageId> message_id;
  MessageId surbid{};
  Bytes payload;
  std::optional<std::uint8_t> reply_index;
  std::uint8_t error_code = 0;
};
struct MessageIdGarbageCollected {          // §4.7
  MessageId message_id{};
};
struct NewKeypairReply {                    // §4.8
  std::optional<QueryId> query_id;
  SecretBytes write_cap;
  Bytes read_cap;
  Bytes first_message_index;
  std::uint8_t error_code = 0;
};
struct EncryptReadReply {                   // §4.9
  std::optional<QueryId> query_id;
  Bytes message_ciphertext;
  SecretBytes envelope_descriptor;
  std::optional<Hash256> envelope_hash;
  Bytes next_message_box_index;
  std::uint8_t error_code = 0;
};
struct EncryptWriteReply {                  // §4.10
  std::optional<QueryId> query_id;
  Bytes message_ciphertext;
  SecretBytes envelope_descriptor;
  std::optional<Hash256> envelope_hash;
  Bytes next_message_box_index;
  std::uint8_t error_code = 0;
};
struct StartResendingEncryptedMessageReply {  // §4.11; error_code mixes namespaces (§5.4)
  std::optional<QueryId> query_id;
  std::optional<Bytes> plaintext;
  std::uint8_t error_code = 0;
  std::optional<Hash256> courier_identity_hash;
  std::optional<Bytes> courier_queue_id;
};
struct CancelResendingEncryptedMessageReply {  // §4.12
  std::optional<QueryId> query_id;
  std::uint8_t error_code = 0;
};
struct StartResendingCopyCommandReply {     // §4.13
  std::optional<QueryId> query_id;
  std::uint8_t error_code = 0;
  std::uint8_t replica_error_code = 0;      // omitempty
  std::uint64_t failed_envelope_index = 0;  // omitempty; 1-based
};
struct CancelResendingCopyCommandReply {    // §4.14
  std::optional<QueryId> query_id;
  std::uint8_t error_code = 0;
};
struct NextMessageBoxIndexReply {           // §4.15
  std::optional<QueryId> query_id;
  Bytes next_message_box_index;
  std::uint8_t error_code = 0;
};
struct GetMessageBoxIndexCounterReply {
  std::optional<QueryId> query_id;
  std::uint64_t counter = 0;
  std::uint8_t error_code = 0;
};
struct GetPkiDocumentReply {                // §4.16
  std::optional<QueryId> query_id;
  std::optional<Bytes> payload;             // signed cert.Certificate
  std::uint64_t epoch = 0;
  std::uint8_t error_code = 0;
};
struct DirectoryAuthority {
  std::string identifier;
  std::string pki_signature_scheme;
  std::string wire_kem_scheme;
  std::vector<std::string> addresses;
  std::string identity_public_key_pem;
  std::string link_public_key_pem;
  std::optional<Hash256> identity_key_hash;
};
struct GetDirectoryAuthoritiesReply {
  std::optional<QueryId> query_id;
  std::optional<std::vector<DirectoryAuthority>> authorities;
  std::uint8_t error_code = 0;
};
struct CreateCourierEnvelopesFromPayloadReply {       // §4.17
  std::optional<QueryId> query_id;
  std::optional<std::vector<Bytes>> envelopes;
  Bytes next_dest_index;
  std::uint8_t error_code = 0;
};
struct CreateCourierEnvelopesFromMultiPayloadReply {  // §4.18
  std::optional<QueryId> query_id;
  std::optional<std::vector<Bytes>> envelopes;
  std::optional<Bytes> buffer;
  std::optional<std::vector<Bytes>> next_dest_indices;
  std::uint8_t error_code = 0;
};
struct CreateCourierEnvelopesFromTombstoneRangeReply {  // §4.19
  std::optional<QueryId> query_id;
  std::optional<std::vector<Bytes>> envelopes;
  std::optional<Bytes> buffer;
  Bytes next_dest_index;
  std::uint8_t error_code = 0;
};
struct VoucherMintReply {                   // §4.20
  std::optional<QueryId> query_id;
  Bytes voucher;
  Bytes voucher_payload;
  SecretBytes voucher_write_cap;
  Bytes voucher_read_cap;
  SecretBytes voucher_secret_key;
  Bytes voucher_public_key;
  std::uint8_t error_code = 0;
};
struct VoucherInductReply {
  std::optional<QueryId> query_id;
  std::string display_name;
  Bytes mutated_message_read_cap;
  Bytes sealed_reply;
  SecretBytes voucher_write_cap;
  Bytes voucher_read_cap;
  Bytes salt;
  std::uint8_t error_code = 0;
};
struct VoucherOpenReply {
  std::optional<QueryId> query_id;
  Bytes who_reply;
  Bytes salt;
  SecretBytes mutated_message_write_cap;
  std::uint8_t error_code = 0;
};
struct VoucherDeriveStreamReply {
  std::optional<QueryId> query_id;
  SecretBytes voucher_write_cap;
  Bytes voucher_read_cap;
  std::uint8_t error_code = 0;
};

using Response = std::variant<
    SessionTokenReply, ShutdownEvent, ConnectionStatusEvent, NewPkiDocumentEvent,
    MessageSentEvent, MessageReplyEvent, MessageIdGarbageCollected, NewKeypairReply,
    EncryptReadReply, EncryptWriteReply, StartResendingEncryptedMessageReply,
    CancelResendingEncryptedMessageReply, StartResendingCopyCommandReply,
    CancelResendingCopyCommandReply, NextMessageBoxIndexReply, GetMessageBoxIndexCounterReply,
    GetPkiDocumentReply, GetDirectoryAuthoritiesReply, CreateCourierEnvelopesFromPayloadReply,
    CreateCourierEnvelopesFromMultiPayloadReply, CreateCourierEnvelopesFromTombstoneRangeReply,
    VoucherMintReply, VoucherInductReply, VoucherOpenReply, VoucherDeriveStreamReply>;

// The top-level CBOR key of a response ("new_keypair_reply", ...).
const char* response_key(const Response& response);
// The query_id a reply answers, if any (events and session_token_reply have none).
std::optional<QueryId> response_query_id(const Response& response);

}  // namespace kpthin
