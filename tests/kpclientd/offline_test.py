#!/usr/bin/env python3
"""Tests against the real kpclientd with no network (scripts/kpclientd-offline, started by the
ctest fixture). One scenario per run: offline_test.py --scripts DIR --kpthin BIN SCENARIO.

Every wait is bounded; every check names what it expected. Findings these tests pin down (the
real daemon, katzenpost v0.0.99, no PKI document ever):
  * the handshake frames come only after the daemon's 30 s PKI wait (see handshake);
  * local requests work; those needing a PKI document answer error 4, get_pki_document 10;
  * accepts are serialised behind that wait: N clients connecting at once wait 30 s each, in turn.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tools"))
import kpwire  # noqa: E402
from scenario import Failure, check, run_one  # noqa: E402

SEED = bytes(range(32))
HANDSHAKE_BOUND = 100.0  # 30 s PKI wait per connection; the first one after a daemon start takes 60 s


def offline_env(scripts):
    out = subprocess.run([os.path.join(scripts, "kpclientd-offline"), "env"], check=True,
                         capture_output=True, text=True).stdout
    env = dict(line.split("=", 1) for line in out.split())
    check(os.path.exists(env["KPTHIN_OFFLINE_CONFIG"]), "no thinclient.toml; is the fixture up?")
    return env


def connect(env, token=None):
    conn = kpwire.ThinConnection(env["KPTHIN_OFFLINE_CONFIG"], timeout=HANDSHAKE_BOUND, client_token=token)
    frames = conn.handshake()
    return conn, frames


# ------------------------------------------------------------------------------------ scenarios
def handshake(args, env):
    t0 = time.monotonic()
    conn, (status, pki, token) = connect(env)
    elapsed = time.monotonic() - t0
    s = status["connection_status_event"]
    check(len(s["instance_token"]) == 16, "instance_token is not 16 bytes")
    check(s["sphinx_geometry"]["UserForwardPayloadLength"] == 2000, "unexpected Sphinx geometry %r" % s["sphinx_geometry"])
    pg = s["pigeonhole_geometry"]
    check(pg["SignatureSchemeName"] == "Ed25519", "pigeonhole signature scheme %r" % pg["SignatureSchemeName"])
    check(pg["MaxPlaintextPayloadLength"] > 0, "no MaxPlaintextPayloadLength")
    check(pki["new_pki_document_event"]["payload"] in (None, b""), "an offline daemon sent a PKI document")
    reply = token["session_token_reply"]
    check(len(reply["app_id"]) == 16 and reply["resumed"] is False, "bad session_token_reply %r" % reply)
    conn.close()
    print("handshake: %.1fs until both frames; is_connected=%s; MaxPlaintextPayloadLength=%d" % (
        elapsed, s["is_connected"], pg["MaxPlaintextPayloadLength"]))


def session_resume(args, env):
    token = os.urandom(16)
    conn, frames = connect(env, token)
    app_id = frames[2]["session_token_reply"]["app_id"]
    conn.close(thin_close=False)            # a drop: the daemon keeps the session
    conn, frames = connect(env, token)
    reply = frames[2]["session_token_reply"]
    check(reply["resumed"] is True and reply["app_id"] == app_id,
          "reconnect with the same token did not resume the session: %r" % reply)
    conn.close(thin_close=True)             # a goodbye: the daemon forgets the token
    conn, frames = connect(env, token)
    reply = frames[2]["session_token_reply"]
    check(reply["resumed"] is False, "after thin_close the session was resumed: %r" % reply)
    conn.close()


def local_requests(args, env):
    conn, _ = connect(env)
    kind, kp = conn.call("new_keypair", {"seed": SEED})
    check(kind == "new_keypair_reply" and kp["error_code"] == 0, "new_keypair failed: %r" % kp)
    check((len(kp["write_cap"]), len(kp["read_cap"]), len(kp["first_message_index"])) == (168, 136, 104),
          "unexpected cap sizes")
    _, again = conn.call("new_keypair", {"seed": SEED})
    check(again["write_cap"] == kp["write_cap"], "the same seed gave different caps")
    _, short = conn.call("new_keypair", {"seed": SEED[:16]})
    check(short["error_code"] == 3 and short["write_cap"] is None, "a 16-byte seed was accepted: %r" % short)
    index = kp["first_message_index"]
    _, c0 = conn.call("get_message_box_index_counter", {"message_box_index": index})
    _, nxt = conn.call("next_message_box_index", {"message_box_index": index})
    check(nxt["error_code"] == 0 and len(nxt["next_message_box_index"]) == 104, "next index failed: %r" % nxt)
    _, c1 = conn.call("get_message_box_index_counter", {"message_box_index": nxt["next_message_box_index"]})
    check(c0["error_code"] == 0 and c1["counter"] == c0["counter"] + 1,
          "counter did not advance by one: %r -> %r" % (c0.get("counter"), c1.get("counter")))
    for key, hashname in (("cancel_resending_encrypted_message", "envelope_hash"),
                          ("cancel_resending_copy_command", "write_cap_hash")):
        kind, r = conn.call(key, {hashname: os.urandom(32)})
        check(kind == key + "_reply" and r["error_code"] == 0, "%s of an unknown hash: %r" % (key, r))
    kind, r = conn.call("get_directory_authorities", {})
    check(kind == "get_directory_authorities_reply" and r["error_code"] == 0 and r["authorities"],
          "get_directory_authorities: %r" % r)
    conn.close()


def offline_errors(args, env):
    conn, _ = connect(env)
    _, kp = conn.call("new_keypair", {"seed": SEED})
    wc, rc, idx = kp["write_cap"], kp["read_cap"], kp["first_message_index"]
    expectations = [
        ("encrypt_write", {"plaintext": b"hello", "write_cap": wc, "message_box_index": idx}, 4),
        ("encrypt_read", {"read_cap": rc, "message_box_index": idx}, 4),
        ("get_pki_document", {"epoch": 0}, 10),
        ("create_courier_envelopes_from_payload",
         {"payload": b"x" * 100, "dest_write_cap": wc, "dest_start_index": idx, "is_start": True, "is_last": True}, 4),
        ("create_courier_envelopes_from_tombstone_range",
         {"dest_write_cap": wc, "dest_start_index": idx, "max_count": 2, "is_start": True, "is_last": True}, 4),
        ("encrypt_write", {"plaintext": None, "write_cap": wc, "message_box_index": idx}, 3),
    ]
    for key, fields, code in expectations:
        kind, r = conn.call(key, fields)
        check(kind == key + "_reply", "%s answered with %s" % (key, kind))
        check(r["error_code"] == code, "%s: expected error_code %d offline, got %r" % (key, code, r["error_code"]))
    conn.close()


def run_kpthin(args, env, *argv, timeout=120, cwd=None):
    cmd = [args.kpthin, "-c", env["KPTHIN_OFFLINE_CONFIG"]] + list(argv)
    return subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=cwd)


def cli_offline(args, env):
    """kpthin against the offline daemon: keypair works (files 0600, same seed gives the same
    capabilities); what needs the network fails with its documented exit code and changes no
    file. Few processes on purpose: the daemon admits one handshake per 30 s PKI wait."""
    with tempfile.TemporaryDirectory() as d:
        seed = os.path.join(d, "seed")
        with open(seed, "wb") as f:
            f.write(SEED)
        p1 = run_kpthin(args, env, "keypair", "--seed-file", seed, "--print", "ch", cwd=d)
        check(p1.returncode == 0, "kpthin keypair exited %d: %s" % (p1.returncode, p1.stderr.decode()))
        for name in ("ch.write", "ch.read"):
            path = os.path.join(d, name)
            check(os.path.exists(path), "kpthin keypair wrote no %s" % name)
            check(os.stat(path).st_mode & 0o777 == 0o600, "%s is not mode 0600" % name)
        p2 = run_kpthin(args, env, "keypair", "--seed-file", seed, "--print", "--no-files", "again", cwd=d)
        check(p2.returncode == 0 and p1.stdout and p1.stdout == p2.stdout,
              "the same seed file did not print the same capabilities (exit %d): %s" % (p2.returncode, p2.stderr.decode()))
        before = {n: open(os.path.join(d, n), "rb").read() for n in ("ch.write", "ch.read")}
        # Exit codes from kpthin(1): 5 timeout, 10 the daemon refused the request. Offline, the
        # daemon answers encrypt_write with an internal error after about 4 s, and has no PKI
        # document to list services from.
        cases = [
            (["--timeout", "5s", "watch", "--until", "pki"], 5, "handshake"),
            (["--timeout", "60s", "write", "ch.write", "hello"], 10, "no connection to the mixnet"),
            (["--timeout", "60s", "services"], 5, "no PKI document"),
        ]
        for argv, code, needle in cases:
            p = run_kpthin(args, env, *argv, cwd=d)
            err = p.stderr.decode().strip()
            print("kpthin %s -> exit %d: %s" % (" ".join(argv), p.returncode, err))
            check(p.returncode == code, "kpthin %s: expected exit %d, got %d" % (" ".join(argv), code, p.returncode))
            check(needle in err, "kpthin %s: the message should mention %r: %s" % (" ".join(argv), needle, err))
            check(len(err.splitlines()) == 1, "one line of error expected: %r" % err)
        after = {n: open(os.path.join(d, n), "rb").read() for n in before}
        check(after == before, "a failed command changed a channel file")


def restart_wire(args, env):
    """kill -9 and restart of the daemon: a new connection sees a new instance token and the
    session is gone (resumed false), though the client presents the same token."""
    token = os.urandom(16)
    conn, frames = connect(env, token)
    first = frames[0]["connection_status_event"]["instance_token"]
    subprocess.run([os.path.join(args.scripts, "kpclientd-offline"), "restart"], check=True,
                   capture_output=True, timeout=90)
    try:
        conn.next_message()
        raise Failure("the old connection survived kill -9 of the daemon")
    except (EOFError, OSError):
        pass
    conn, frames = connect(env, token)
    second = frames[0]["connection_status_event"]["instance_token"]
    check(second != first, "the restarted daemon kept its instance token %s" % first.hex())
    check(frames[2]["session_token_reply"]["resumed"] is False, "a restarted daemon resumed a session")
    conn.close()
    print("instance %s then %s" % (first.hex(), second.hex()))


def restart_new_instance(args, env):
    watch = subprocess.Popen([args.kpthin, "-c", env["KPTHIN_OFFLINE_CONFIG"], "--json", "watch"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = read_json_line(watch, "connection status", HANDSHAKE_BOUND + 15, lambda e: "instance_token" in json.dumps(e))
        token_a = find_token(first)
        subprocess.run([os.path.join(args.scripts, "kpclientd-offline"), "restart"], check=True,
                       capture_output=True, timeout=90)
        second = read_json_line(watch, "a new instance token", 2 * HANDSHAKE_BOUND + 60,
                                lambda e: find_token(e) not in (None, token_a))
        print("watch saw instance %s then %s" % (token_a, find_token(second)))
    finally:
        watch.terminate()
        watch.wait(timeout=30)


def find_token(event):
    if isinstance(event, dict):
        for k, v in event.items():
            if k == "instance_token":
                return v
            found = find_token(v)
            if found:
                return found
    return None


def read_json_line(proc, what, timeout, predicate):
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    buf = getattr(proc, "_kp_buf", b"")  # what the previous call read past its line
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            event = json.loads(line)
            if predicate(event):
                proc._kp_buf = buf
                return event
        left = deadline - time.monotonic()
        check(left > 0 and sel.select(left), "timed out after %.0fs waiting for %s from kpthin watch" % (timeout, what))
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:  # stderr is read only here: it blocks until kpthin exits
            raise Failure("kpthin watch exited (%s) before %s: %s" % (proc.wait(), what, proc.stderr.read().decode()))
        buf += chunk


SCENARIOS = (handshake, session_resume, local_requests, offline_errors, restart_wire, cli_offline,
             restart_new_instance)


if __name__ == "__main__":
    sys.exit(run_one(SCENARIOS, lambda args: (args, offline_env(args.scripts))))
