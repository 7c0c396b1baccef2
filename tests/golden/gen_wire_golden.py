#!/usr/bin/env python3
"""Writes the wire golden vectors (tests/golden/{req,resp}_<key>.{min,go}.hex).

CBOR comes from the test tools' own tiny encoder (tests/tools/kpwire.py, independent of the
C++ codec), which follows spec §1.4 (Go fxamacker/cbor defaults: shortest heads, struct fields
in declaration order, nil -> null); omitempty fields are simply left out of the dicts below. Field order and values are transcribed from spec §3/§4 and the Go structs of
client/thin/thin_messages.go and thin_events.go (katzenpost v0.0.99). tests/unit/codec_test.cpp
builds the same messages with libkpthin and compares bytes.

Run: python3 tests/golden/gen_wire_golden.py  (from the repository root)
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from kpwire import cbor_encode as enc  # noqa: E402


def frame(body):
    return struct.pack(">I", len(body)) + body


def counting(n, first):
    return bytes((first + i) & 0xFF for i in range(n))


# Shared values (mirrored in codec_test.cpp).
QID = counting(16, 0x00)
INDEX = bytes.fromhex("0100000000000000") + b"\xaa" * 32 + b"\xbb" * 32 + b"\xcc" * 32
PUB = bytes.fromhex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")
WCAP = counting(32, 0x00) + PUB + INDEX
RCAP = PUB + INDEX
NEXT = bytes.fromhex("0200000000000000") + b"\xdd" * 96
H32 = counting(32, 0x40)
H32B = counting(32, 0x60)
TOKEN = b"\x11" * 16
SURB = counting(16, 0x80)
MID = counting(16, 0x90)
CT = counting(300, 0x05)   # message ciphertext (> 255 bytes: two-byte length head)
DESC = bytes.fromhex("a3") + b"Epoch"  # opaque; content irrelevant to the codec
PAYLOAD = b"hello mixnet"

REQUESTS = [
    ("session_token", {"client_instance_token": TOKEN}),
    ("thin_close", {}),
    ("send_message", {"id": None, "with_surb": True, "surbid": SURB, "destination_id_hash": H32,
                      "recipient_queue_id": b"+echo", "payload": PAYLOAD}),
    ("new_keypair", {"query_id": QID, "seed": counting(32, 0x20)}),
    ("encrypt_read", {"query_id": QID, "read_cap": RCAP, "message_box_index": INDEX}),
    ("encrypt_write", {"query_id": QID, "plaintext": b"", "write_cap": WCAP, "message_box_index": INDEX}),
    ("start_resending_encrypted_message", {
        "query_id": QID, "read_cap": RCAP, "write_cap": None, "message_box_index": INDEX,
        "reply_index": 0, "envelope_descriptor": DESC, "message_ciphertext": CT, "envelope_hash": H32,
        "no_retry_on_box_id_not_found": True}),
    ("cancel_resending_encrypted_message", {"query_id": QID, "envelope_hash": H32}),
    ("start_resending_copy_command", {"query_id": QID, "write_cap": WCAP, "courier_identity_hash": H32B,
                                      "courier_queue_id": b"courier"}),
    ("cancel_resending_copy_command", {"query_id": QID, "write_cap_hash": H32B}),
    ("next_message_box_index", {"query_id": QID, "message_box_index": INDEX}),
    ("get_message_box_index_counter", {"query_id": QID, "message_box_index": INDEX}),
    ("get_pki_document", {"query_id": QID, "epoch": 123456}),
    ("get_directory_authorities", {"query_id": QID}),
    ("create_courier_envelopes_from_payload", {"query_id": QID, "payload": PAYLOAD, "dest_write_cap": WCAP,
                                               "dest_start_index": INDEX, "is_start": True, "is_last": False}),
    ("create_courier_envelopes_from_multi_payload", {
        "query_id": QID,
        "destinations": [{"payload": PAYLOAD, "write_cap": WCAP, "start_index": INDEX},
                         {"payload": b"second", "write_cap": WCAP, "start_index": NEXT}],
        "is_start": False, "is_last": True, "buffer": b"\x01\x02\x03"}),
    ("create_courier_envelopes_from_tombstone_range", {
        "query_id": QID, "dest_write_cap": WCAP, "dest_start_index": INDEX, "max_count": 70000,
        "is_start": True, "is_last": True, "buffer": None}),
    ("voucher_mint", {"query_id": QID, "message_write_cap": WCAP, "display_name": "Alice ✓"}),
    ("voucher_induct", {"query_id": QID, "voucher": counting(32, 0xa0), "voucher_payload": b"vp",
                        "who_reply": b"who"}),
    ("voucher_open", {"query_id": QID, "voucher_secret_key": counting(32, 0xb0), "sealed_reply": b"sealed",
                      "message_write_cap": WCAP}),
    ("voucher_derive_stream", {"query_id": QID, "voucher": counting(32, 0xa0)}),
]

SPHINX = {"PacketLength": 3082, "NrHops": 5, "HeaderLength": 476, "RoutingInfoLength": 410,
          "PerHopRoutingInfoLength": 82, "SURBLength": 572, "SphinxPlaintextHeaderLength": 2,
          "PayloadTagLength": 32, "ForwardPayloadLength": 2574, "UserForwardPayloadLength": 2000,
          "NextNodeHopLength": 65, "SPRPKeyMaterialLength": 64, "NIKEName": "x25519", "KEMName": ""}
PIGEONHOLE = {"MaxPlaintextPayloadLength": 1549, "CourierQueryReadLength": 1700, "CourierQueryWriteLength": 1700,
              "CourierQueryReplyReadLength": 1650, "CourierQueryReplyWriteLength": 1650, "NIKEName": "CTIDH1024-X25519",
              "SignatureSchemeName": "Ed25519"}

RESPONSES = [
    ("session_token_reply", {"app_id": counting(16, 0x30), "resumed": True}),
    ("shutdown_event", {}),
    ("connection_status_event", {"is_connected": True, "err": None, "instance_token": counting(16, 0x70),
                                 "sphinx_geometry": SPHINX, "pigeonhole_geometry": PIGEONHOLE}),
    ("new_pki_document_event", {"payload": bytes.fromhex("a1654570")}),
    ("message_sent_event", {"message_id": None, "surbid": SURB, "sent_at": 1700000000,
                            "reply_eta": 4500000000, "err": "send failed"}),
    ("message_reply_event", {"message_id": MID, "surbid": SURB, "payload": PAYLOAD, "error_code": 0}),
    ("message_id_garbage_collected", {"message_id": MID}),
    ("new_keypair_reply", {"query_id": QID, "write_cap": None, "read_cap": None, "first_message_index": None,
                           "error_code": 3}),
    ("encrypt_read_reply", {"query_id": QID, "message_ciphertext": CT, "envelope_descriptor": DESC,
                            "envelope_hash": H32, "next_message_box_index": NEXT, "error_code": 0}),
    ("encrypt_write_reply", {"query_id": QID, "message_ciphertext": CT, "envelope_descriptor": DESC,
                             "envelope_hash": H32, "next_message_box_index": NEXT, "error_code": 0}),
    ("start_resending_encrypted_message_reply", {"query_id": QID, "plaintext": b"", "error_code": 11,
                                                 "courier_identity_hash": H32B, "courier_queue_id": b"courier"}),
    ("cancel_resending_encrypted_message_reply", {"query_id": QID, "error_code": 0}),
    ("start_resending_copy_command_reply", {"query_id": QID, "error_code": 26, "replica_error_code": 6,
                                            "failed_envelope_index": 3}),
    ("cancel_resending_copy_command_reply", {"query_id": QID, "error_code": 0}),
    ("next_message_box_index_reply", {"query_id": QID, "next_message_box_index": NEXT, "error_code": 0}),
    ("get_message_box_index_counter_reply", {"query_id": QID, "counter": 2**40 + 7, "error_code": 0}),
    ("get_pki_document_reply", {"query_id": QID, "payload": None, "epoch": 123456, "error_code": 10}),
    ("get_directory_authorities_reply", {"query_id": QID, "authorities": [
        {"identifier": "auth1", "pki_signature_scheme": "Ed25519 Sphincs+", "wire_kem_scheme": "xwing",
         "addresses": ["tcp://127.0.0.1:30001", "tcp://[::1]:30001"],
         "identity_public_key_pem": "-----BEGIN ED25519 PUBLIC KEY-----\nAAAA\n-----END ED25519 PUBLIC KEY-----\n",
         "link_public_key_pem": "", "identity_key_hash": H32}], "error_code": 0}),
    ("create_courier_envelopes_from_payload_reply", {"query_id": QID, "envelopes": [CT, b"\x07" * 24],
                                                     "next_dest_index": NEXT, "error_code": 0}),
    ("create_courier_envelopes_from_multi_payload_reply", {"query_id": QID, "envelopes": [],
                                                           "buffer": b"\x09" * 10, "next_dest_indices": [NEXT, INDEX],
                                                           "error_code": 0}),
    ("create_courier_envelopes_from_tombstone_range_reply", {"query_id": QID, "envelopes": [CT], "buffer": None,
                                                             "next_dest_index": NEXT, "error_code": 0}),
    ("voucher_mint_reply", {"query_id": QID, "voucher": counting(32, 0xa0), "voucher_payload": b"vp",
                            "voucher_write_cap": WCAP, "voucher_read_cap": RCAP,
                            "voucher_secret_key": counting(32, 0xb0), "voucher_public_key": counting(32, 0xc0),
                            "error_code": 0}),
    ("voucher_induct_reply", {"query_id": QID, "display_name": "Bob", "mutated_message_read_cap": RCAP,
                              "sealed_reply": b"sealed", "voucher_write_cap": WCAP, "voucher_read_cap": RCAP,
                              "salt": counting(16, 0xd0), "error_code": 0}),
    ("voucher_open_reply", {"query_id": QID, "who_reply": b"who", "salt": counting(16, 0xd0),
                            "mutated_message_write_cap": WCAP, "error_code": 0}),
    ("voucher_derive_stream_reply", {"query_id": None, "voucher_write_cap": None, "voucher_read_cap": None,
                                     "error_code": 28}),
]


def write(name, body):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(frame(body).hex() + "\n")


def envelopes(prefix, messages, go_keys):
    assert len(messages) == go_keys
    keys = [k for k, _ in messages]
    for key, inner in messages:
        write(f"{prefix}_{key}.min.hex", enc({key: inner}))
        write(f"{prefix}_{key}.go.hex", enc({k: (inner if k == key else None) for k in keys}))


envelopes("req", REQUESTS, 21)
envelopes("resp", RESPONSES, 25)
