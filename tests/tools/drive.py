#!/usr/bin/env python3
"""Drives the real kpclientd with hand-built requests (through kpwire) and prints what came back.

  drive.py offline THINCLIENT_TOML   every local request against an offline daemon
  drive.py mixnet  THINCLIENT_TOML   one Pigeonhole write/read, courier envelopes, PKI document

Prints one line per request: name, reply kind, error_code, seconds. Exits 1 on a protocol
surprise (wrong reply kind, missing field). Used to record tests/golden/real/ through
scripts/record-frames, and by the kpclientd/mixnet ctest suites.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kpwire  # noqa: E402

SEED = bytes(range(32))   # fixed, so recorded new_keypair replies are reproducible


class Driver:
    def __init__(self, config, timeout=60.0):
        self.conn = kpwire.ThinConnection(config, timeout=timeout)
        self.handshake = self.conn.handshake()
        status = self.handshake[0]["connection_status_event"]
        self.geometry = status["pigeonhole_geometry"]
        self.results = []

    def call(self, name, key, fields, expect_error=None):
        t0 = time.monotonic()
        kind, reply = self.conn.call(key, fields)
        seconds = time.monotonic() - t0
        code = reply.get("error_code")
        print("%-48s %-52s error_code=%s %.3fs" % (name, kind, code, seconds), flush=True)
        if kind != key + "_reply" and not (key == "create_courier_envelopes_from_payloads"):
            raise SystemExit("%s: unexpected reply kind %s" % (name, kind))
        if expect_error is not None and code != expect_error:
            raise SystemExit("%s: expected error_code %s, got %s" % (name, expect_error, code))
        self.results.append((name, kind, code, seconds))
        return reply


def offline(config):
    d = Driver(config)
    status, pki, token = d.handshake
    s = status["connection_status_event"]
    print("handshake: is_connected=%s instance_token=%s pki_payload=%s resumed=%s (%.1fs)" % (
        s["is_connected"], s["instance_token"].hex(), 
        None if pki["new_pki_document_event"]["payload"] is None else len(pki["new_pki_document_event"]["payload"]),
        token["session_token_reply"]["resumed"], d.conn.handshake_seconds))
    kp = d.call("new_keypair", "new_keypair", {"seed": SEED}, expect_error=0)
    write_cap, read_cap, index = kp["write_cap"], kp["read_cap"], kp["first_message_index"]
    if (len(write_cap), len(read_cap), len(index)) != (168, 136, 104):
        raise SystemExit("new_keypair_reply: unexpected cap sizes")
    d.call("new_keypair short seed", "new_keypair", {"seed": SEED[:16]}, expect_error=3)
    nxt = d.call("next_message_box_index", "next_message_box_index", {"message_box_index": index}, expect_error=0)
    d.call("get_message_box_index_counter", "get_message_box_index_counter", {"message_box_index": nxt["next_message_box_index"]}, expect_error=0)
    d.call("encrypt_write", "encrypt_write", {"plaintext": b"hello", "write_cap": write_cap, "message_box_index": index})
    d.call("encrypt_read", "encrypt_read", {"read_cap": read_cap, "message_box_index": index})
    d.call("get_pki_document", "get_pki_document", {"epoch": 0})
    d.call("get_directory_authorities", "get_directory_authorities", {})
    d.call("create_courier_envelopes_from_payload", "create_courier_envelopes_from_payload",
           {"payload": b"x" * 100, "dest_write_cap": write_cap, "dest_start_index": index, "is_start": True, "is_last": True})
    d.call("create_courier_envelopes_from_tombstone_range", "create_courier_envelopes_from_tombstone_range",
           {"dest_write_cap": write_cap, "dest_start_index": index, "max_count": 2, "is_start": True, "is_last": True})
    d.call("cancel_resending_encrypted_message (unknown)", "cancel_resending_encrypted_message", {"envelope_hash": bytes(32)}, expect_error=0)
    d.call("cancel_resending_copy_command (unknown)", "cancel_resending_copy_command", {"write_cap_hash": bytes(32)}, expect_error=0)
    d.conn.close()


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("offline", "mixnet"):
        raise SystemExit(__doc__)
    {"offline": offline, "mixnet": mixnet}[sys.argv[1]](sys.argv[2])


def services(document, name):
    """(destination hash, queue id) of every service node offering `name` (spec §4.22)."""
    import hashlib
    found = []
    for raw in document.get("ServiceNodes") or []:
        node = kpwire.cbor_decode(raw)
        cap = (node.get("Kaetzchen") or {}).get(name)
        if cap:
            found.append((hashlib.blake2b(node["IdentityKey"], digest_size=32).digest(),
                          cap["endpoint"].encode()))
    return found


def resend(d, name, fields, timeout=600.0):
    """start_resending_encrypted_message, waiting (bounded) for its single terminal reply."""
    d.conn.sock.settimeout(timeout)
    try:
        return d.call(name, "start_resending_encrypted_message", fields)
    finally:
        d.conn.sock.settimeout(60.0)


def mixnet(config):
    d = Driver(config)
    status, pki, token = d.handshake
    payload = pki["new_pki_document_event"]["payload"]
    if not payload:
        raise SystemExit("mixnet: the handshake carried no PKI document")
    document = kpwire.cbor_decode(payload)
    print("handshake: is_connected=%s epoch=%s replicas=%d (%.1fs)" % (
        status["connection_status_event"]["is_connected"], document["Epoch"],
        len(document.get("StorageReplicas") or []), d.conn.handshake_seconds))
    d.call("get_pki_document", "get_pki_document", {"epoch": 0}, expect_error=0)
    kp = d.call("new_keypair", "new_keypair", {"seed": os.urandom(32)}, expect_error=0)
    wc, rc, idx = kp["write_cap"], kp["read_cap"], kp["first_message_index"]
    message = b"kpthin real mixnet golden frame"
    w = d.call("encrypt_write", "encrypt_write", {"plaintext": message, "write_cap": wc, "message_box_index": idx}, expect_error=0)
    resend(d, "start_resending_encrypted_message (write)", {
        "write_cap": wc, "envelope_descriptor": w["envelope_descriptor"],
        "message_ciphertext": w["message_ciphertext"], "envelope_hash": w["envelope_hash"]})
    r = d.call("encrypt_read", "encrypt_read", {"read_cap": rc, "message_box_index": idx}, expect_error=0)
    got = resend(d, "start_resending_encrypted_message (read)", {
        "read_cap": rc, "message_box_index": idx, "envelope_descriptor": r["envelope_descriptor"],
        "message_ciphertext": r["message_ciphertext"], "envelope_hash": r["envelope_hash"]})
    if got.get("plaintext") != message:
        raise SystemExit("mixnet: read back %r, wrote %r" % (got.get("plaintext"), message))
    dest = d.call("new_keypair", "new_keypair", {"seed": os.urandom(32)}, expect_error=0)
    d.call("create_courier_envelopes_from_payload", "create_courier_envelopes_from_payload",
           {"payload": b"y" * 3000, "dest_write_cap": dest["write_cap"], "dest_start_index": dest["first_message_index"],
            "is_start": True, "is_last": True}, expect_error=0)
    d.call("create_courier_envelopes_from_multi_payload", "create_courier_envelopes_from_multi_payload",
           {"destinations": [{"payload": b"z" * 100, "write_cap": dest["write_cap"], "start_index": dest["first_message_index"]}],
            "is_start": True, "is_last": False}, expect_error=0)
    d.call("create_courier_envelopes_from_tombstone_range", "create_courier_envelopes_from_tombstone_range",
           {"dest_write_cap": dest["write_cap"], "dest_start_index": dest["first_message_index"], "max_count": 2,
            "is_start": True, "is_last": True}, expect_error=0)
    echo = services(document, "echo")
    if not echo:
        raise SystemExit("mixnet: no echo service in the PKI document")
    surbid = os.urandom(16)
    d.conn.send({"send_message": {"id": None, "with_surb": True, "surbid": surbid, "destination_id_hash": echo[0][0],
                                  "recipient_queue_id": echo[0][1], "payload": b"ping"}})
    t0 = time.monotonic()
    d.conn.sock.settimeout(300)
    sent = d.conn.wait_for(lambda m: (m.get("message_sent_event") or {}).get("surbid") == surbid)
    reply = d.conn.wait_for(lambda m: (m.get("message_reply_event") or {}).get("surbid") == surbid)
    print("%-48s %-52s %.3fs (sent err=%s)" % ("send_message (echo)", "message_reply_event", time.monotonic() - t0,
                                              sent["message_sent_event"].get("err")), flush=True)
    if not reply["message_reply_event"]["payload"].startswith(b"ping"):
        raise SystemExit("mixnet: echo replied %r" % reply["message_reply_event"]["payload"][:16])
    d.conn.close()


if __name__ == "__main__":
    main()
