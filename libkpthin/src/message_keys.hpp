// The top-level CBOR keys of every request and response, indexed like the Request / Response
// variants (which follow Go's declaration order, spec §3.0 and §4.0).
#pragma once

#include <array>
#include <cstddef>
#include <variant>

#include "kpthin/messages.hpp"

namespace kpthin::detail {

inline constexpr std::array<const char*, std::variant_size_v<Request>> kRequestKeys{
    "session_token",
    "thin_close",
    "send_message",
    "new_keypair",
    "encrypt_read",
    "encrypt_write",
    "start_resending_encrypted_message",
    "cancel_resending_encrypted_message",
    "start_resending_copy_command",
    "cancel_resending_copy_command",
    "next_message_box_index",
    "get_message_box_index_counter",
    "get_pki_document",
    "get_directory_authorities",
    "create_courier_envelopes_from_payload",
    "create_courier_envelopes_from_multi_payload",
    "create_courier_envelopes_from_tombstone_range",
    "voucher_mint",
    "voucher_induct",
    "voucher_open",
    "voucher_derive_stream",
};

inline constexpr std::array<const char*, std::variant_size_v<Response>> kResponseKeys{
    "session_token_reply",
    "shutdown_event",
    "connection_status_event",
    "new_pki_document_event",
    "message_sent_event",
    "message_reply_event",
    "message_id_garbage_collected",
    "new_keypair_reply",
    "encrypt_read_reply",
    "encrypt_write_reply",
    "start_resending_encrypted_message_reply",
    "cancel_resending_encrypted_message_reply",
    "start_resending_copy_command_reply",
    "cancel_resending_copy_command_reply",
    "next_message_box_index_reply",
    "get_message_box_index_counter_reply",
    "get_pki_document_reply",
    "get_directory_authorities_reply",
    "create_courier_envelopes_from_payload_reply",
    "create_courier_envelopes_from_multi_payload_reply",
    "create_courier_envelopes_from_tombstone_range_reply",
    "voucher_mint_reply",
    "voucher_induct_reply",
    "voucher_open_reply",
    "voucher_derive_stream_reply",
};

static_assert(kRequestKeys.size() == 21, "Go's Request envelope has 21 keys");
static_assert(kResponseKeys.size() == 25, "Go's Response envelope has 25 keys");

}  // namespace kpthin::detail
