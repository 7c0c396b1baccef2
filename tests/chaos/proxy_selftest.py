#!/usr/bin/env python3
"""Self-test of tests/tools/fault_proxy.py against kpclientd-sim: every fault the chaos scenarios
rely on does what it says, as seen by a raw thin-client connection (tests/tools/kpwire.py).

    proxy_selftest.py --sim PATH
"""
import argparse
import os
import selectors
import socket
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "cli"))
sys.path.insert(0, os.path.join(here, "..", "tools"))
from harness import Failure, Sim, Workdir, check, wait_for  # noqa: E402
from fault_proxy import DOWN, UP, FaultProxy, garbage_frame, unknown_key_frame  # noqa: E402
from kpwire import ThinConnection, response_kind  # noqa: E402


def connect(config, timeout=10.0):
    conn = ThinConnection(config, timeout=timeout)
    conn.handshake()
    return conn


def has_data(sock):
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    return bool(sel.select(0))


def run(sim_binary):
    with Workdir() as d:
        sim = Sim(sim_binary, d)
        proxy = FaultProxy(os.path.join(d, "proxy.sock"), sim.socket).start()
        try:
            config = proxy.write_config(os.path.join(d, "proxy.toml"))

            # Plain forwarding, with every frame counted by key.
            conn = connect(config)
            kind, reply = conn.call("get_pki_document", {"epoch": 0})
            check(kind == "get_pki_document_reply", "a forwarded request is answered: %s" % kind)
            s = proxy.snapshot()
            check(s.keys[UP] == ["session_token", "get_pki_document"], "client frames seen: %s" % s.keys[UP])
            check(s.keys[DOWN][:3] == ["connection_status_event", "new_pki_document_event", "session_token_reply"],
                  "daemon frames seen: %s" % s.keys[DOWN])

            # Cut right after a request reaches the daemon: its reply never arrives, then a refusing
            # blackout, then service again.
            proxy.cut_after_key("get_pki_document", blackout=1.0)
            conn.send({"get_pki_document": {"query_id": b"q" * 16, "epoch": 0}})
            try:
                while True:
                    m = conn.next_message()
                    check(response_kind(m) != "get_pki_document_reply", "the reply must be lost by the cut")
            except (EOFError, ConnectionError):
                pass
            s = proxy.snapshot()
            check(s.cuts == 1 and s.count(UP, "get_pki_document") == 2, "one cut after the request: %d" % s.cuts)
            check(s.in_blackout, "the blackout runs after the cut")
            try:
                connect(config)
                raise Failure("a connection during a refusing blackout must fail")
            except ConnectionRefusedError:
                pass
            proxy.wait_for(lambda st: st.blackouts_over == 1, "the end of the blackout", timeout=10)
            conn = connect(config)

            # A frame with an unknown key, and garbage, are delivered between two real frames.
            proxy.inject_after_key("get_pki_document", unknown_key_frame("from_the_future"))
            kind, _ = conn.call("get_pki_document", {"epoch": 0})
            check(kind == "get_pki_document_reply", "the reply still comes after the injected frame")
            check(any(response_kind(m) == "from_the_future" for m in conn.pending),
                  "the unknown frame reached the client: %s" % conn.pending)
            proxy.inject_now(garbage_frame())
            body = conn.sock.recv(7)
            check(body == garbage_frame(), "inject_now delivers raw bytes: %r" % body)

            # An unknown field inside a reply, and one beside it at the top level.
            proxy.add_field_to_reply("get_pki_document_reply", field="newer", value=5)
            kind, reply = conn.call("get_pki_document", {"epoch": 0})
            check(reply.get("newer") == 5, "the reply carries the added field: %s" % sorted(reply))
            proxy.add_field_to_reply("get_pki_document_reply", field="sibling", top_level=True)
            conn.send({"get_pki_document": {"query_id": b"r" * 16, "epoch": 0}})
            m = conn.wait_for(lambda m: "get_pki_document_reply" in m)
            check("sibling" in m, "a second top-level key beside the reply: %s" % sorted(m))

            # A stalled direction holds bytes back until released.
            proxy.stall(DOWN)
            before = proxy.snapshot().count(DOWN, "get_pki_document_reply")
            conn.send({"get_pki_document": {"query_id": b"s" * 16, "epoch": 0}})
            proxy.wait_for(lambda st: st.count(DOWN, "get_pki_document_reply") > before, "the stalled reply")
            check(not has_data(conn.sock), "a stalled reply must not reach the client")
            proxy.release(DOWN)
            conn.wait_for(lambda m: "get_pki_document_reply" in m)
            # hold_key sets one request kind aside while the others go on, until released.
            proxy.hold_key("get_pki_document", name="h")
            conn.send({"get_pki_document": {"query_id": b"u" * 16, "epoch": 0}})
            kind, _ = conn.call("get_directory_authorities", {})
            check(kind == "get_directory_authorities_reply", "a request of another kind passes a hold")
            check(not any("get_pki_document_reply" in m for m in conn.pending) and not has_data(conn.sock),
                  "the held request must not have been answered")
            proxy.release(UP, name="h")
            conn.wait_for(lambda m: "get_pki_document_reply" in m)
            check(proxy.snapshot().holds == 1, "one hold fired")

            # A stall armed on a reply key holds exactly that reply (and what follows) back.
            proxy.stall_at_key("get_pki_document_reply")
            conn.send({"get_pki_document": {"query_id": b"t" * 16, "epoch": 0}})
            proxy.wait_for(lambda st: st.stalls == 1, "the stall at the reply")
            check(not has_data(conn.sock), "the reply the stall was armed on must be held")
            proxy.release(DOWN)
            conn.wait_for(lambda m: "get_pki_document_reply" in m)
            conn.close()
            proxy.wait_for(lambda st: st.open == 0, "the proxy to see the close")

            # A byte-count cut falls inside a frame; a 'hold' blackout accepts and waits.
            proxy.cut_after_bytes(7, blackout=1.0, mode="hold")
            raw = ThinConnection(config, timeout=10)
            try:
                raw.handshake()
                raise Failure("a session_token cut after 7 bytes cannot be answered")
            except (EOFError, ConnectionError):
                pass
            held = ThinConnection(config, timeout=10)
            proxy.wait_for(lambda st: st.held == 1, "the held connection")
            check(not has_data(held.sock), "a held connection gets no handshake during the blackout")
            held.handshake()
            check(proxy.snapshot().blackouts_over == 2, "the held connection proceeds after the blackout")
            held.close()

            # A cut after N client frames, over tcp.
            tcp = FaultProxy("127.0.0.1:0", sim.socket).start()
            try:
                tconf = tcp.write_config(os.path.join(d, "tcp.toml"))
                tcp.cut_after_frames(2)
                c = connect(tconf)
                try:
                    c.call("get_pki_document", {"epoch": 0})
                    raise Failure("the second client frame must be cut")
                except (EOFError, ConnectionError):
                    pass
                check(tcp.snapshot().cuts == 1, "tcp proxy cut once")
                connect(tconf).close()
            finally:
                tcp.stop()

            # The command line: ready line, cut, blackout, its end.
            cli = subprocess.Popen([sys.executable, os.path.join(here, "..", "tools", "fault_proxy.py"),
                                    "--listen", os.path.join(d, "cli.sock"), "--upstream", sim.socket,
                                    "--write-config", os.path.join(d, "cli.toml"),
                                    "--cut-after-key", "get_pki_document", "--blackout", "0.5"],
                                   stdout=subprocess.PIPE, text=True)
            try:
                check(cli.stdout.readline().startswith("ready "), "the CLI prints a ready line")
                c = connect(os.path.join(d, "cli.toml"))
                try:
                    c.call("get_pki_document", {"epoch": 0})
                    raise Failure("the CLI proxy must cut after get_pki_document")
                except (EOFError, ConnectionError):
                    pass
                lines = [cli.stdout.readline() for _ in range(4)]
                check(any(l.startswith("cut ") for l in lines) and lines[-1].startswith("blackout over"),
                      "the CLI reports the cut and the blackout: %s" % lines)
                connect(os.path.join(d, "cli.toml")).close()
            finally:
                cli.terminate()
                check(cli.wait(10) == 0, "the CLI exits 0 on SIGTERM")
        finally:
            try:
                proxy.stop()
            finally:
                sim.stop()  # even if stopping the proxy failed: no simulator outlives the test


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", required=True)
    args = ap.parse_args()
    t0 = time.monotonic()
    try:
        run(args.sim)
    except (Failure, TimeoutError) as e:
        print("FAIL proxy_selftest: %s" % e)
        return 1
    print("PASS proxy_selftest (%.1fs)" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
