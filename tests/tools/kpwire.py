"""Minimal thin-client wire tools for tests that talk to the real kpclientd (python3 stdlib only).

Just enough CBOR to build requests by hand and read any reply (spec protocol.md §1.3-§1.4):
frames are a 4-byte big-endian length followed by one CBOR item; requests are one-key maps.
"""
import os
import socket
import struct
import time

MAX_FRAME = 40 * 1024 * 1024


# ---------------------------------------------------------------------------------------- CBOR
def _head(major, value):
    if value < 24:
        return bytes([major << 5 | value])
    for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if value < (1 << (8 * struct.calcsize(fmt))):
            return bytes([major << 5 | info]) + struct.pack(fmt, value)
    raise ValueError("integer too large for CBOR: %d" % value)


def cbor_encode(value):
    """Encodes None, bool, int, bytes, str, list and dict (keys in insertion order)."""
    if value is None:
        return b"\xf6"
    if value is True:
        return b"\xf5"
    if value is False:
        return b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, (bytes, bytearray)):
        return _head(2, len(value)) + bytes(value)
    if isinstance(value, str):
        raw = value.encode()
        return _head(3, len(raw)) + raw
    if isinstance(value, (list, tuple)):
        return _head(4, len(value)) + b"".join(cbor_encode(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(cbor_encode(k) + cbor_encode(v) for k, v in value.items())
    raise TypeError("cannot CBOR-encode %r" % type(value))


class _Decoder:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated CBOR at offset %d" % self.pos)
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def argument(self, info):
        if info < 24:
            return info
        sizes = {24: 1, 25: 2, 26: 4, 27: 8}
        if info not in sizes:
            raise ValueError("unsupported CBOR additional info %d" % info)
        return int.from_bytes(self.take(sizes[info]), "big")

    def item(self):
        first = self.take(1)[0]
        major, info = first >> 5, first & 31
        if major == 7:
            if info == 20:
                return False
            if info == 21:
                return True
            if info in (22, 23):
                return None
            if info == 25:
                return _half(self.take(2))
            if info == 26:
                return struct.unpack(">f", self.take(4))[0]
            if info == 27:
                return struct.unpack(">d", self.take(8))[0]
            raise ValueError("unsupported CBOR simple value %d" % info)
        if info == 31:
            return self.indefinite(major)
        n = self.argument(info)
        if major == 0:
            return n
        if major == 1:
            return -1 - n
        if major == 2:
            return self.take(n)
        if major == 3:
            return self.take(n).decode()
        if major == 4:
            return [self.item() for _ in range(n)]
        if major == 5:
            out = {}
            for _ in range(n):
                key = self.item()
                out[key] = self.item()
            return out
        if major == 6:
            return self.item()  # tags carry no meaning in this protocol
        raise ValueError("bad CBOR major type %d" % major)

    def indefinite(self, major):
        items = []
        while self.data[self.pos] != 0xFF:
            items.append(self.item())
        self.pos += 1
        if major == 2:
            return b"".join(items)
        if major == 3:
            return "".join(items)
        if major == 4:
            return items
        if major == 5:
            return dict(zip(items[0::2], items[1::2]))
        raise ValueError("bad indefinite CBOR item")


def _half(raw):
    h = int.from_bytes(raw, "big")
    sign = -1.0 if h & 0x8000 else 1.0
    exp, frac = (h >> 10) & 0x1F, h & 0x3FF
    if exp == 0:
        return sign * frac * 2.0 ** -24
    if exp == 31:
        return sign * float("inf") if frac == 0 else float("nan")
    return sign * (1 + frac / 1024.0) * 2.0 ** (exp - 15)


def cbor_decode(data):
    d = _Decoder(bytes(data))
    value = d.item()
    if d.pos != len(d.data):
        raise ValueError("%d trailing bytes after CBOR item" % (len(d.data) - d.pos))
    return value


# -------------------------------------------------------------------------------------- frames
def frame(body):
    return struct.pack(">I", len(body)) + body


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def read_frame(sock):
    (length,) = struct.unpack(">I", read_exact(sock, 4))
    if length > MAX_FRAME:
        raise ValueError("frame length %d exceeds the 40 MiB limit" % length)
    return read_exact(sock, length)


def response_kind(message):
    """The one non-null top-level key of a decoded response."""
    keys = [k for k, v in message.items() if v is not None]
    if len(keys) != 1:
        raise ValueError("response has %d non-null keys: %s" % (len(keys), keys))
    return keys[0]


# ---------------------------------------------------------------------------------- thin config
def dial_address(thinclient_toml):
    """(family, address) from a thinclient.toml [Dial.Unix] or [Dial.Tcp] table (tiny parser)."""
    section = None
    with open(thinclient_toml) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = line.strip("[]").strip()
            elif line.startswith("Address") and "=" in line:
                value = line.split("=", 1)[1].strip().strip('"')
                if section == "Dial.Unix":
                    return socket.AF_UNIX, ("\0" + value[1:]) if value.startswith("@") else value
                if section == "Dial.Tcp":
                    host, port = value.rsplit(":", 1)
                    return socket.AF_INET, (host.strip("[]"), int(port))
    raise ValueError("no [Dial.Unix] or [Dial.Tcp] Address in %s" % thinclient_toml)


# --------------------------------------------------------------------------------------- client
class ThinConnection:
    """One connection to kpclientd: handshake, then request/reply by query_id."""

    def __init__(self, thinclient_toml, timeout=60.0, client_token=None):
        family, address = dial_address(thinclient_toml)
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(address)
        self.client_token = client_token or os.urandom(16)
        self.handshake_frames = []   # raw bodies of the frames before session_token_reply
        self.pending = []            # decoded frames read while waiting for something else

    def handshake(self):
        """Reads the two unsolicited frames, sends session_token, waits for its reply."""
        t0 = time.monotonic()
        for expected in ("connection_status_event", "new_pki_document_event"):
            body = read_frame(self.sock)
            kind = response_kind(cbor_decode(body))
            if kind != expected:
                raise ValueError("handshake: expected %s, got %s" % (expected, kind))
            self.handshake_frames.append(body)
        self.handshake_seconds = time.monotonic() - t0
        self.send({"session_token": {"client_instance_token": self.client_token}})
        reply = self.wait_for(lambda m: response_kind(m) == "session_token_reply")
        return [cbor_decode(b) for b in self.handshake_frames] + [reply]

    def send(self, request):
        self.sock.sendall(frame(cbor_encode(request)))

    def next_message(self):
        if self.pending:
            return self.pending.pop(0)
        return cbor_decode(read_frame(self.sock))

    def wait_for(self, predicate):
        kept = []
        try:
            while True:
                message = cbor_decode(read_frame(self.sock)) if not self.pending else self.pending.pop(0)
                if predicate(message):
                    return message
                kept.append(message)
        finally:
            self.pending = kept + self.pending

    def call(self, key, fields):
        """Sends {key: fields + query_id} and returns the reply map with the same query_id."""
        query_id = os.urandom(16)
        self.send({key: dict(fields, query_id=query_id)})
        reply = self.wait_for(lambda m: any(isinstance(v, dict) and v.get("query_id") == query_id
                                            for v in m.values()))
        return response_kind(reply), reply[response_kind(reply)]

    def close(self, thin_close=True):
        try:
            if thin_close:
                self.send({"thin_close": {}})
        except OSError:
            pass
        self.sock.close()
