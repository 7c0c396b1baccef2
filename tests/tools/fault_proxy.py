#!/usr/bin/env python3
"""A fault-injecting proxy between a thin client (kpthin) and its daemon (kpclientd or the sim).

It understands the thin-client framing (4-byte big-endian length + one CBOR item, spec §1.3) so
faults can be placed at protocol points, not just at byte counts:

  * cut the connection (both sides closed) after N client->daemon frames, after N bytes of one
    direction, or right after forwarding the first frame whose top-level key is a given name
    (e.g. start_resending_encrypted_message: the daemon has the request, the reply is lost);
  * after a cut, a blackout of T seconds: new connections are refused (the listening socket is
    closed, as if the daemon were down) or held (accepted but not connected upstream);
  * stall one direction (bytes are buffered, not forwarded) until released;
  * inject raw garbage or a well-formed frame with an unknown top-level key toward the client,
    immediately or right after a given client->daemon frame, and add an unknown field to the next
    reply of a given kind.

Library use (one thread runs the proxy; every method is thread-safe):

    proxy = FaultProxy(listen="/tmp/p.sock", upstream="/tmp/sim.sock").start()
    proxy.cut_after_key("start_resending_encrypted_message", blackout=2.0)
    ...run kpthin with a thinclient.toml that dials /tmp/p.sock (proxy.write_config(path))...
    proxy.wait_for(lambda s: s.cuts == 1, "the cut", timeout=20)
    proxy.stop()

CLI (prints `ready ADDRESS`, then one line per event; runs until SIGINT/SIGTERM):

    fault_proxy.py --listen PATH --upstream PATH --cut-after-key start_resending_encrypted_message \\
                   --blackout 20

Addresses: a unix socket PATH, @NAME for an abstract unix socket, or HOST:PORT for tcp.
Only python3's standard library is used.
"""
import argparse
import errno
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kpwire import cbor_decode, cbor_encode, frame  # noqa: E402

UP, DOWN = "up", "down"  # client->daemon, daemon->client
MAX_FRAME = 40 * 1024 * 1024
READ_CHUNK = 65536


# ------------------------------------------------------------------------------------ addresses
def parse_address(text):
    """(family, sockaddr) for PATH, @NAME (abstract unix) or HOST:PORT (tcp)."""
    if text.startswith("@"):
        return socket.AF_UNIX, "\0" + text[1:]
    if "/" not in text and ":" in text:
        host, port = text.rsplit(":", 1)
        host = host.strip("[]")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return family, (host, int(port))
    return socket.AF_UNIX, text


def frame_key(body):
    """The one non-null top-level key of a frame body, '?garbage' if it does not decode, or
    '?several' if it has more than one (the Go encoder writes every key, mostly null)."""
    try:
        message = cbor_decode(body)
    except (ValueError, TypeError, UnicodeDecodeError, IndexError):
        return "?garbage"
    if not isinstance(message, dict):
        return "?garbage"
    keys = [k for k, v in message.items() if v is not None]
    return keys[0] if len(keys) == 1 else "?several"


def unknown_key_frame(key="future_event_from_a_newer_daemon", fields=None):
    """A well-formed frame whose only top-level key is one no client knows."""
    return frame(cbor_encode({key: fields if fields is not None else {"query_id": os.urandom(16), "value": 7}}))


def garbage_frame():
    """A correctly length-prefixed frame whose body is not CBOR (0xff is a stray 'break')."""
    return frame(b"\xff\xfe\xfd")


# ---------------------------------------------------------------------------------------- stats
class Stats:
    """What the proxy has seen and done. Read it inside wait_for() or via snapshot()."""

    def __init__(self):
        self.connections = 0       # accepted and connected upstream
        self.held = 0              # accepted during a 'hold' blackout
        self.upstream_failures = 0  # accepted, but the upstream connect failed
        self.frames = {UP: 0, DOWN: 0}
        self.bytes = {UP: 0, DOWN: 0}      # received and forwarded (or queued to be)
        self.delivered = {UP: 0, DOWN: 0}  # written to the destination socket
        # Received but never to be written: the destination had gone (a client that exited while
        # the daemon still answered) or the connection was cut. bytes == delivered + dropped
        # (+ what is still queued), so "all caught up" stays decidable after any such loss.
        self.dropped = {UP: 0, DOWN: 0}
        self.keys = {UP: [], DOWN: []}  # frame keys in order, across connections
        self.sizes = {UP: [], DOWN: []}  # their sizes in bytes, length prefix included
        self.cuts = 0
        self.stalls = 0            # stall_at_key() faults that fired
        self.holds = 0             # hold_key() faults that fired
        self.injected = 0
        self.rewritten = 0
        self.blackouts_over = 0
        self.in_blackout = False
        self.open = 0              # connection pairs currently open

    def count(self, direction, key):
        return self.keys[direction].count(key)

    def copy(self):
        s = Stats()
        s.__dict__.update({k: (dict(v) if isinstance(v, dict) else v) for k, v in self.__dict__.items()})
        s.keys = {d: list(v) for d, v in self.keys.items()}
        s.sizes = {d: list(v) for d, v in self.sizes.items()}
        return s


# ------------------------------------------------------------------------------------- one pair
class _Half:
    """One direction of a proxied connection: frame scanner plus pending output."""

    def __init__(self, direction):
        self.direction = direction
        self.inbuf = b""     # received, not yet a complete frame
        self.outbuf = b""    # complete frames waiting to be written
        self.eof = False     # the source closed its sending side
        self.shut = False    # we shut the destination's receiving side down
        self.gone = False    # the destination failed: what arrives is counted, then dropped


class _Pair:
    def __init__(self, client, upstream, pair_id):
        self.client = client
        self.upstream = upstream
        self.id = pair_id
        self.halves = {UP: _Half(UP), DOWN: _Half(DOWN)}
        self.stalled = {UP: None, DOWN: None}  # name of the stall_at_key() holding a direction
        self.holding = {UP: None, DOWN: None}  # (key, name) of a hold_key() in force
        self.held = []                          # (direction, frame) set aside by hold_key()
        self.cut_after_flush = False  # the reason, once a cut waits for its frame to go out
        self.cut_direction = UP
        self.pending_blackout = (0.0, "refuse")

    def src(self, direction):
        return self.client if direction == UP else self.upstream

    def dst(self, direction):
        return self.upstream if direction == UP else self.client


# ---------------------------------------------------------------------------------------- proxy
class FaultProxy:
    def __init__(self, listen, upstream, log=None):
        """listen/upstream: PATH, @NAME or HOST:PORT. log(line) receives one line per event."""
        self.listen_text = listen
        self.upstream_text = upstream
        self.log = log or (lambda line: None)
        self._lock = threading.Condition()
        self._stats = Stats()
        self._pairs = {}
        self._next_id = 0
        self._faults = []          # armed one-shot faults (dicts), checked in order
        self._stall = {UP: False, DOWN: False}
        self._rewrites = []        # (reply_key, field, value, top_level)
        self._blackout_until = None
        self._blackout_mode = "refuse"
        self._held = []            # client sockets accepted during a 'hold' blackout
        self._cut_now = None       # (blackout, mode) requested by cut_now()
        self._listener = None
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._sel.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._stop = False
        self._thread = None
        self._bind()

    # ------------------------------------------------------------------- lifecycle
    def start(self):
        """Starts the proxy thread; returns self."""
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Closes every connection and the listener and joins the thread."""
        with self._lock:
            self._stop = True
        self._wake()
        if self._thread:
            self._thread.join(10)
        with self._lock:
            self._close_listener(unlink=True)
            for pair in list(self._pairs.values()):
                self._close_pair(pair)
            for sock in self._held:
                sock.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def address(self):
        """The listening address as a thinclient.toml would give it (tcp port resolved)."""
        family, addr = parse_address(self.listen_text)
        if family == socket.AF_UNIX:
            return self.listen_text
        host, port = self._bound_addr[:2]
        return ("[%s]:%d" if family == socket.AF_INET6 else "%s:%d") % (host, port)

    def write_config(self, path):
        """Writes a thinclient.toml that makes a client dial this proxy."""
        family, _ = parse_address(self.listen_text)
        if family == socket.AF_UNIX:
            body = '[Dial]\n  [Dial.Unix]\n    Address = "%s"\n' % self.address
        else:
            body = '[Dial]\n  [Dial.Tcp]\n    Address = "%s"\n    Network = "tcp"\n' % self.address
        with open(path, "w") as f:
            f.write(body)
        return path

    # ------------------------------------------------------------------- arming faults
    def cut_after_frames(self, n, blackout=0.0, mode="refuse"):
        """Cuts the connection right after forwarding the n-th client->daemon frame counted from
        now (across connections), then a blackout of `blackout` seconds."""
        self._arm(dict(kind="frames", direction=UP, left=n, blackout=blackout, mode=mode))

    def cut_after_key(self, key, nth=1, blackout=0.0, mode="refuse", direction=UP):
        """Cuts right after forwarding the nth frame (counted from now) whose top-level key is
        `key` in `direction`, then a blackout."""
        self._arm(dict(kind="key", direction=direction, key=key, left=nth, blackout=blackout, mode=mode))

    def cut_after_bytes(self, n, blackout=0.0, mode="refuse", direction=UP):
        """Cuts after forwarding exactly n more bytes in `direction` (mid-frame if it falls there)."""
        self._arm(dict(kind="bytes", direction=direction, left=n, blackout=blackout, mode=mode))

    def inject_after_key(self, key, data, nth=1):
        """Sends `data` (raw bytes, e.g. unknown_key_frame() or garbage_frame()) toward the client
        right after forwarding the nth client->daemon frame with top-level key `key`."""
        self._arm(dict(kind="inject", direction=UP, key=key, left=nth, data=data))

    def inject_now(self, data):
        """Sends `data` toward the client of every open connection, between two frames."""
        with self._lock:
            for pair in self._pairs.values():
                pair.halves[DOWN].outbuf += data
                self._stats.injected += 1
            self._lock.notify_all()
        self._wake()

    def add_field_to_reply(self, reply_key, field="field_from_a_newer_daemon", value=1, top_level=False):
        """Adds an unknown field to the next daemon->client frame whose key is reply_key: inside
        its map, or (top_level) as a second top-level key next to it."""
        with self._lock:
            self._rewrites.append((reply_key, field, value, top_level))

    def cut_now(self, blackout=0.0, mode="refuse"):
        """Cuts every open connection now, then a blackout."""
        with self._lock:
            self._cut_now = (blackout, mode)
        self._wake()

    def stall(self, direction):
        """Stops forwarding `direction` (UP or DOWN); bytes are buffered until release()."""
        with self._lock:
            self._stall[direction] = True

    def stall_at_key(self, key, nth=1, direction=DOWN, name="stall"):
        """Stalls `direction` of the connection that is about to forward its nth frame (counted
        from now, across connections) with top-level key `key`: that frame and everything after
        it on that connection wait for release() (other connections go on). E.g. hold a reply
        back, change the world (fill a disk), then let the client see the reply; or hold a
        client's requests after it was killed. `name` lets release() pick this stall."""
        self._arm(dict(kind="stall", direction=direction, key=key, left=nth, name=name))

    def hold_key(self, key, nth=1, direction=UP, name="hold"):
        """From the nth frame (counted from now, across connections) with top-level key `key` in
        `direction` on, that connection's frames with that key are set aside while its other
        frames go on (the daemon answers requests independently, so this is a delay, not a
        reordering it could notice); release() sends them, in order."""
        self._arm(dict(kind="hold", direction=direction, key=key, left=nth, name=name))

    def release(self, direction=None, name=None):
        """Resumes forwarding a stalled direction (both if None): the global stall(), the
        connections stalled by stall_at_key() and the frames set aside by hold_key() (only those
        under `name`, if given)."""
        with self._lock:
            for d in ([direction] if direction else [UP, DOWN]):
                if name is None:
                    self._stall[d] = False
                for pair in self._pairs.values():
                    if name is None or pair.stalled[d] == name:
                        pair.stalled[d] = None
                    if pair.holding[d] is not None and (name is None or pair.holding[d][1] == name):
                        pair.holding[d] = None
                        for held_direction, raw in [h for h in pair.held if h[0] == d]:
                            pair.halves[d].outbuf += raw
                        pair.held = [h for h in pair.held if h[0] != d]
        self._wake()

    def disarm(self):
        """Forgets every armed fault and rewrite (a running blackout still ends on time)."""
        with self._lock:
            self._faults.clear()
            self._rewrites.clear()

    def armed(self):
        """How many one-shot faults have not fired yet."""
        with self._lock:
            return len(self._faults)

    # ------------------------------------------------------------------- observing
    def snapshot(self):
        with self._lock:
            return self._stats.copy()

    def wait_for(self, predicate, what, timeout=20.0):
        """Blocks until predicate(stats) is truthy; raises TimeoutError naming `what`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value = predicate(self._stats)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("fault proxy: timed out after %.1fs waiting for %s" % (timeout, what))
                self._lock.wait(min(left, 0.5))

    # ------------------------------------------------------------------- internals
    def _arm(self, fault):
        with self._lock:
            self._faults.append(fault)

    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _bind(self):
        family, addr = parse_address(self.listen_text)
        sock = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_UNIX:
            if not addr.startswith("\0"):
                try:
                    os.unlink(addr)
                except FileNotFoundError:
                    pass
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if getattr(self, "_bound_addr", None):
                addr = (addr[0], self._bound_addr[1])  # port 0: keep the port first picked
        sock.bind(addr)
        sock.listen(64)
        sock.setblocking(False)
        if family != socket.AF_UNIX:
            self._bound_addr = sock.getsockname()
        self._listener = sock
        self._sel.register(sock, selectors.EVENT_READ, ("listen", None))

    def _close_listener(self, unlink):
        if self._listener is None:
            return
        try:
            self._sel.unregister(self._listener)
        except (KeyError, ValueError):
            pass
        self._listener.close()
        self._listener = None
        family, addr = parse_address(self.listen_text)
        # Keeping the socket file while nobody listens gives ECONNREFUSED, as a dead daemon does.
        if unlink and family == socket.AF_UNIX and not addr.startswith("\0"):
            try:
                os.unlink(addr)
            except FileNotFoundError:
                pass

    def _begin_blackout(self, seconds, mode):
        if seconds <= 0:
            return
        self._blackout_until = time.monotonic() + seconds
        self._blackout_mode = mode
        self._stats.in_blackout = True
        if mode == "refuse":
            self._close_listener(unlink=False)
        self.log("blackout %.1fs (%s)" % (seconds, mode))
        self._lock.notify_all()

    def _end_blackout(self):
        self._blackout_until = None
        if self._listener is None:
            self._bind()
        held, self._held = self._held, []
        for sock in held:
            self._connect_upstream(sock)
        self._stats.in_blackout = False
        self._stats.blackouts_over += 1
        self.log("blackout over")
        self._lock.notify_all()

    def _accept(self):
        try:
            client, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        if self._blackout_until is not None and self._blackout_mode == "hold":
            self._held.append(client)
            self._stats.held += 1
            self.log("held a connection")
            self._lock.notify_all()
            return
        self._connect_upstream(client)

    def _connect_upstream(self, client):
        family, addr = parse_address(self.upstream_text)
        up = socket.socket(family, socket.SOCK_STREAM)
        up.settimeout(10)
        try:
            up.connect(addr)
        except OSError as e:
            # The daemon is down: the client sees what it would see on a direct connection
            # soon after (a closed socket).
            self.log("upstream connect failed: %s" % e)
            self._stats.upstream_failures += 1
            up.close()
            client.close()
            self._lock.notify_all()
            return
        client.setblocking(False)
        up.setblocking(False)
        pair = _Pair(client, up, self._next_id)
        self._next_id += 1
        self._pairs[pair.id] = pair
        self._stats.connections += 1
        self._stats.open += 1
        self.log("connection %d" % pair.id)
        self._lock.notify_all()

    def _close_pair(self, pair):
        if self._pairs.pop(pair.id, None) is None:
            return
        for direction, half in pair.halves.items():
            self._stats.dropped[direction] += len(half.outbuf)
            half.outbuf = b""
        for direction, raw in pair.held:
            self._stats.dropped[direction] += len(raw)
        pair.held = []
        for sock in (pair.client, pair.upstream):
            try:
                self._sel.unregister(sock)
            except (KeyError, ValueError):
                pass
            sock.close()
        self._stats.open -= 1
        self._lock.notify_all()

    def _cut(self, pair, why):
        self.log("cut connection %d: %s" % (pair.id, why))
        self._stats.cuts += 1
        self._close_pair(pair)

    def _rewrite(self, body):
        """Applies a pending rewrite to a daemon->client frame body; returns the new body."""
        if not self._rewrites:
            return body
        key = frame_key(body)
        for i, (reply_key, field, value, top_level) in enumerate(self._rewrites):
            if key != reply_key:
                continue
            message = cbor_decode(body)
            if top_level:
                message[field] = {"value": value}
            else:
                message[key][field] = value
            del self._rewrites[i]
            self._stats.rewritten += 1
            self.log("added %s to %s" % (field, key))
            return cbor_encode(message)
        return body

    def _receive(self, pair, direction):
        """Reads from the source of `direction`; scans frames, applies faults, queues output."""
        half = pair.halves[direction]
        try:
            data = pair.src(direction).recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            half.eof = True
            return
        half.inbuf += data
        while half.inbuf:
            # A byte-count cut falls wherever it falls, even inside a frame.
            for fault in self._faults:
                if fault["kind"] == "bytes" and fault["direction"] == direction and fault["left"] <= len(half.inbuf):
                    half.outbuf += half.inbuf[:fault["left"]]
                    self._stats.bytes[direction] += fault["left"]
                    self._faults.remove(fault)
                    self._fire_cut(pair, fault, "after %s bytes" % direction)
                    return
            if len(half.inbuf) < 4:
                return
            (length,) = struct.unpack(">I", half.inbuf[:4])
            if length > MAX_FRAME:
                self._cut(pair, "%s frame length %d exceeds 40 MiB" % (direction, length))
                return
            if len(half.inbuf) < 4 + length:
                return
            raw, half.inbuf = half.inbuf[:4 + length], half.inbuf[4 + length:]
            body = raw[4:]
            key = frame_key(body)
            if direction == DOWN and self._rewrites:
                body = self._rewrite(body)
                raw = frame(body)
            if self._holds(pair, direction, key):
                pair.held.append((direction, raw))
            else:
                half.outbuf += raw
            for fault in self._faults:
                if fault["kind"] == "bytes" and fault["direction"] == direction:
                    fault["left"] -= len(raw)
            self._stats.frames[direction] += 1
            self._stats.bytes[direction] += len(raw)
            self._stats.keys[direction].append(key)
            self._stats.sizes[direction].append(len(raw))
            if half.gone:
                self._stats.dropped[direction] += len(half.outbuf)
                half.outbuf = b""
            self._lock.notify_all()
            if self._frame_faults(pair, direction, key):
                return

    def _holds(self, pair, direction, key):
        """True if this frame is to be held aside (hold_key()); arms the hold on its nth frame."""
        for fault in list(self._faults):
            if fault["kind"] == "hold" and fault["direction"] == direction and fault["key"] == key:
                fault["left"] -= 1
                if fault["left"] <= 0:
                    self._faults.remove(fault)
                    pair.holding[direction] = (key, fault["name"])
                    self._stats.holds += 1
                    self.log("holding %s frames %s" % (direction, key))
        holding = pair.holding[direction]
        return holding is not None and holding[0] == key

    def _frame_faults(self, pair, direction, key):
        """Fires the faults this forwarded frame triggers; True if the pair is now cut."""
        for fault in list(self._faults):
            if fault["direction"] != direction or fault["kind"] == "bytes":
                continue
            if fault["kind"] == "hold":
                continue
            if fault["kind"] in ("key", "inject", "stall") and fault["key"] != key:
                continue
            fault["left"] -= 1
            if fault["left"] > 0:
                continue
            self._faults.remove(fault)
            if fault["kind"] == "stall":
                # The frame is queued but not yet written: flushing happens after this returns.
                pair.stalled[direction] = fault["name"]
                self._stats.stalls += 1
                self.log("stalled %s before %s" % (direction, key))
                self._lock.notify_all()
                continue
            if fault["kind"] == "inject":
                pair.halves[DOWN].outbuf += fault["data"]
                self._stats.injected += 1
                self.log("injected %d bytes toward the client after %s" % (len(fault["data"]), key))
                self._lock.notify_all()
                continue
            self._fire_cut(pair, fault, "after %s %s" % (direction, key))
            return True
        return False

    def _fire_cut(self, pair, fault, why):
        # The triggering frame must reach its destination before the cut: flush it first.
        pair.cut_after_flush = why
        pair.cut_direction = fault["direction"]
        pair.pending_blackout = (fault.get("blackout", 0.0), fault.get("mode", "refuse"))
        self._flush(pair)

    def _flush(self, pair):
        """Writes queued output; closes what is finished. Returns False if the pair is gone."""
        for direction, half in pair.halves.items():
            if self._stalled(pair, direction) and not (pair.cut_after_flush and direction == pair.cut_direction):
                continue
            while half.outbuf:
                try:
                    n = pair.dst(direction).send(half.outbuf)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    # The destination is gone (a killed client): drop what was queued for it, but
                    # keep the other direction, whose held requests may still be released.
                    half.gone = True
                    self._stats.dropped[direction] += len(half.outbuf)
                    half.outbuf = b""
                    break
                half.outbuf = half.outbuf[n:]
                self._stats.delivered[direction] += n
            if half.eof and not half.outbuf and not half.shut and not any(d == direction for d, _ in pair.held):
                try:
                    pair.dst(direction).shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                half.shut = True
        if pair.cut_after_flush:
            if pair.halves[pair.cut_direction].outbuf:
                return True  # wait until the triggering frame is out
            self._cut(pair, pair.cut_after_flush)
            self._begin_blackout(*pair.pending_blackout)
            return False
        if all(h.shut for h in pair.halves.values()):
            self._close_pair(pair)
            return False
        return True

    def _stalled(self, pair, direction):
        return self._stall[direction] or pair.stalled[direction] is not None

    def _interest(self, pair):
        events = {pair.client: 0, pair.upstream: 0}
        if not pair.cut_after_flush:
            if not pair.halves[UP].eof:
                events[pair.client] |= selectors.EVENT_READ
            if not pair.halves[DOWN].eof:
                events[pair.upstream] |= selectors.EVENT_READ
        for direction, half in pair.halves.items():
            if half.outbuf and (not self._stalled(pair, direction) or
                                (pair.cut_after_flush and direction == pair.cut_direction)):
                events[pair.dst(direction)] |= selectors.EVENT_WRITE
        for sock, ev in events.items():
            try:
                if ev:
                    self._sel.modify(sock, ev, ("pair", pair.id)) if sock in self._sel.get_map() else \
                        self._sel.register(sock, ev, ("pair", pair.id))
                elif sock in self._sel.get_map():
                    self._sel.unregister(sock)
            except (KeyError, ValueError, OSError):
                pass

    def _run(self):
        while True:
            with self._lock:
                if self._stop:
                    return
                timeout = None
                if self._blackout_until is not None:
                    timeout = max(0.0, self._blackout_until - time.monotonic())
                for pair in list(self._pairs.values()):
                    self._interest(pair)
            events = self._sel.select(timeout)
            with self._lock:
                if self._stop:
                    return
                for key, mask in events:
                    kind, pair_id = key.data
                    if kind == "wake":
                        try:
                            self._wake_r.recv(4096)
                        except BlockingIOError:
                            pass
                    elif kind == "listen" and self._listener is not None:
                        self._accept()
                    elif kind == "pair" and pair_id in self._pairs:
                        pair = self._pairs[pair_id]
                        if mask & selectors.EVENT_READ:
                            direction = UP if key.fileobj is pair.client else DOWN
                            self._receive(pair, direction)
                if self._cut_now is not None:
                    for pair in list(self._pairs.values()):
                        self._cut(pair, "cut now")
                    self._begin_blackout(*self._cut_now)
                    self._cut_now = None
                for pair in list(self._pairs.values()):
                    self._flush(pair)
                if self._blackout_until is not None and time.monotonic() >= self._blackout_until:
                    self._end_blackout()
                self._lock.notify_all()


# ------------------------------------------------------------------------------------------ CLI
def main(argv=None):
    ap = argparse.ArgumentParser(description="Fault-injecting proxy for the thin-client protocol.")
    ap.add_argument("--listen", required=True, help="PATH, @NAME or HOST:PORT the client dials")
    ap.add_argument("--upstream", required=True, help="PATH, @NAME or HOST:PORT of the daemon")
    ap.add_argument("--write-config", metavar="FILE", help="write a thinclient.toml that dials the proxy")
    what = ap.add_mutually_exclusive_group()
    what.add_argument("--cut-after-key", metavar="KEY", help="cut right after forwarding a client frame KEY")
    what.add_argument("--cut-after-frames", type=int, metavar="N", help="cut after N client->daemon frames")
    what.add_argument("--cut-after-bytes", type=int, metavar="N", help="cut after N client->daemon bytes")
    ap.add_argument("--nth", type=int, default=1, help="with --cut-after-key: the Nth such frame (default 1)")
    ap.add_argument("--blackout", type=float, default=0.0, metavar="T", help="after the cut, T seconds without service")
    ap.add_argument("--blackout-mode", choices=["refuse", "hold"], default="refuse",
                    help="refuse new connections (default) or accept and hold them")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="arm the cut again after each blackout, N times in all (0 = forever)")
    ap.add_argument("--inject-unknown-after-key", metavar="KEY",
                    help="send a frame with an unknown top-level key to the client after client frame KEY")
    ap.add_argument("--inject-garbage-after-key", metavar="KEY",
                    help="send a non-CBOR frame to the client after client frame KEY")
    ap.add_argument("--add-field-to-reply", metavar="KEY", help="add an unknown field to the next reply KEY")
    args = ap.parse_args(argv)

    def log(line):
        print(line, flush=True)

    proxy = FaultProxy(args.listen, args.upstream, log=log)
    remaining = [args.repeat]

    def arm():
        if args.cut_after_key:
            proxy.cut_after_key(args.cut_after_key, args.nth, args.blackout, args.blackout_mode)
        elif args.cut_after_frames:
            proxy.cut_after_frames(args.cut_after_frames, args.blackout, args.blackout_mode)
        elif args.cut_after_bytes:
            proxy.cut_after_bytes(args.cut_after_bytes, args.blackout, args.blackout_mode)
        else:
            return False
        return True

    cutting = arm()
    if args.inject_unknown_after_key:
        proxy.inject_after_key(args.inject_unknown_after_key, unknown_key_frame())
    if args.inject_garbage_after_key:
        proxy.inject_after_key(args.inject_garbage_after_key, garbage_frame())
    if args.add_field_to_reply:
        proxy.add_field_to_reply(args.add_field_to_reply)
    if args.write_config:
        proxy.write_config(args.write_config)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    proxy.start()
    log("ready %s" % proxy.address)
    done = 0
    while not stopping.is_set():
        if cutting:
            # Re-arm once the previous cut and its blackout are over.
            try:
                proxy.wait_for(lambda s: s.cuts > done and not s.in_blackout, "the cut", timeout=0.5)
            except TimeoutError:
                continue
            done += 1
            remaining[0] -= 1
            if remaining[0] != 0:
                arm()
            else:
                cutting = False
        else:
            stopping.wait(0.5)
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
