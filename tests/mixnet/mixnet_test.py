#!/usr/bin/env python3
"""kpthin CLI against a real local Katzenpost mixnet (scripts/mixnet, started by the ctest fixture).
One scenario per run: mixnet_test.py --scripts DIR --kpthin BIN SCENARIO.

Scenarios re-express thin_client's tests/test_new_pigeonhole_api.py and katzenpost's
client/pigeonhole_docker_test.go where a CLI applies: write/read round trip, maximum box size,
many boxes in order, tombstones (ahead, the last N written, all atomically), copy commands to
one and two channels, atomic tombstone ranges, pigeonhole-cp writing a channel kpthin continues,
echo, PKI readiness, read timeout with a cancel at the daemon, daemon restart mid-write.
Issue 9's faults against the real replicas: a blackout between kpthin and kpclientd (through
tests/tools/fault_proxy.py) while a write, a read and a copy wait for their reply, and a kill -9
of `write --split lines` followed by a rerun; each is checked by reading the channel from its start.
Every wait is bounded (mixnet operations take seconds to minutes); nothing sleeps blindly.
"""
import base64
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tools"))
import kpwire  # noqa: E402
from fault_proxy import DOWN, UP, FaultProxy  # noqa: E402
from scenario import Failure, check, run_one, wait_for  # noqa: E402

OP_TIMEOUT = 600   # seconds for one kpthin process (a box write/read is seconds; allow epochs)
# Issue 9's blackout: longer than the Pigeonhole ARQ round trip (the reply comes back while kpthin
# is away and kpclientd drops it), shorter than the mixnet's 30 s SessionGracePeriod (the session
# resumes with the same instance: kpclientd replays nothing).
BLACKOUT = 20
# A command that straddles the blackout finishes in ARQ + blackout + ARQ (about a minute); one
# still running after this waits for a reply that will never come.
HANG = 150


class Ctx:
    def __init__(self, args):
        self.scripts = args.scripts
        self.kpthin = os.path.abspath(args.kpthin)
        out = subprocess.run([os.path.join(args.scripts, "mixnet"), "env"], check=True,
                             capture_output=True, text=True).stdout
        self.env = dict(line.split("=", 1) for line in out.split())
        self.config = self.env["KPTHIN_MIXNET_CONFIG"]
        check(os.path.exists(self.config), "no %s: is the mixnet fixture up?" % self.config)
        self.dir = tempfile.mkdtemp(prefix="kpthin-mixnet-")
        self.timings = []

    def argv(self, args, config=None):
        return [self.kpthin, "-c", config or self.config] + list(args)

    def run(self, *args, stdin=None, timeout=OP_TIMEOUT, config=None):
        """Runs kpthin (dialling `config`, default the mixnet's kpclientd); returns (exit code,
        stdout bytes, stderr text) and records its wall time. Fails if it runs past `timeout`."""
        t0 = time.monotonic()
        try:
            p = subprocess.run(self.argv(args, config), input=stdin, cwd=self.dir, capture_output=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise Failure("kpthin %s still ran after %ds (killed); it waits for a reply that will never come: %s"
                          % (" ".join(args), timeout, (e.stderr or b"").decode(errors="replace").strip()))
        seconds = time.monotonic() - t0
        self.timings.append((" ".join(a if len(a) < 40 else a[:37] + "..." for a in args), seconds))
        print("  %6.1fs exit %d: kpthin %s" % (seconds, p.returncode, self.timings[-1][0]), flush=True)
        return p.returncode, p.stdout, p.stderr.decode(errors="replace")

    def ok(self, *args, **kw):
        code, out, err = self.run(*args, **kw)
        check(code == 0, "kpthin %s exited %d: %s" % (" ".join(args), code, err.strip()))
        return out

    def expect(self, code, *args, **kw):
        got, out, err = self.run(*args, **kw)
        check(got == code, "kpthin %s: expected exit %d, got %d: %s" % (" ".join(args), code, got, err.strip()))
        return out, err

    def spawn(self, *args):
        return subprocess.Popen(self.argv(args), cwd=self.dir, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def spawn_run(self, *args, **kw):
        """Starts self.ok(*args, **kw) in the background (or, if args[0] is callable,
        args[0](*args[1:], **kw)); returns a function that waits for it and returns its result."""
        call = args[0] if callable(args[0]) else self.ok
        args = args[1:] if callable(args[0]) else args
        pool = concurrent.futures.ThreadPoolExecutor(1)
        future = pool.submit(call, *args, **kw)
        pool.shutdown(wait=False)
        return future.result

    def path(self, name):
        return os.path.join(self.dir, name)

    def file(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def write_file(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)

    def daemon_log_size(self):
        return os.path.getsize(self.env["KPTHIN_MIXNET_KPCLIENTD_LOG"])

    def daemon_log_since(self, offset):
        with open(self.env["KPTHIN_MIXNET_KPCLIENTD_LOG"], "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")


def read_to_end(ctx, channel):
    """Every box written so far, until the first one not written (exit 6)."""
    code, out, err = ctx.run("read", "--no-wait", "--count", "1000", channel)
    check(code == 6, "reading to the end of %s should stop with exit 6, got %d: %s" % (channel, code, err.strip()))
    return out


def read_until_empty(ctx, channel):
    """A copied payload as its reader gets it (kpthin-copy(1)): every box written so far, ending
    with exit 0 at the first box kpclientd reports as not written (no_retry_on_box_id_not_found)."""
    code, out, err = ctx.run("read", "--until-empty", channel)
    check(code == 0, "read --until-empty of %s should end with exit 0, got %d: %s" % (channel, code, err.strip()))
    return out


def in_parallel(*calls):
    """Runs the zero-argument callables at once (independent mixnet round trips overlap their
    waits) and returns their results in order; the first exception is raised."""
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(c) for c in calls]]


def channel_index(ctx, name):
    """The MessageBoxIndex saved in a channel file (kpthin-channel(5))."""
    for line in ctx.file(name).decode().splitlines():
        if line.startswith("index"):
            return base64.b64decode(line.split("=", 1)[1].strip().strip('"'))
    raise Failure("no index in %s" % name)


def boxes_between(ctx, first, index, limit):
    """How many next_message_box_index steps lead from `first` to `index` (None past `limit`)."""
    conn = kpwire.ThinConnection(ctx.config, timeout=60)
    conn.handshake()
    try:
        for steps in range(limit + 1):
            if first == index:
                return steps
            first = conn.call("next_message_box_index", {"message_box_index": first})[1]["next_message_box_index"]
        return None
    finally:
        conn.close()


class Blackout:
    """A fault proxy (tests/tools/fault_proxy.py) between kpthin and kpclientd that cuts the
    connection while kpthin waits for the reply to the first client frame `key`, then refuses
    connections for BLACKOUT seconds. kpthin dials it through `config`.

    Where the cut falls decides what kpclientd v0.0.99 loses (client/incoming_conn.go,
    client/listener.go PickNextRequest, client/daemon.go handleReply):
      sent=None: right after forwarding the frame. The request still sits in the closed
        connection's send queue and is dropped with it: kpclientd never sends it.
      sent=TEXT: once kpclientd's log shows TEXT (the request went into the mixnet). The reply
        comes back while kpthin is away and kpclientd drops it ("no connection for AppID"):
        the box is written (or read, the copy applied) and kpthin does not know. Replies are
        held in the proxy from the forwarded frame on, so none reaches kpthin before the cut."""

    def __init__(self, ctx, key, sent=None):
        _, daemon = kpwire.dial_address(ctx.config)
        self.t0 = time.monotonic()
        self.ctx = ctx
        self.key = key
        self.sent = sent
        self.proxy = FaultProxy(ctx.path("proxy.sock"), daemon, log=self.note)
        if sent is None:
            self.proxy.cut_after_key(key, blackout=BLACKOUT)
        self.config = self.proxy.write_config(ctx.path("proxy.toml"))
        self.log_offset = ctx.daemon_log_size()

    def note(self, line):
        print("  %6.1fs proxy: %s" % (time.monotonic() - self.t0, line), flush=True)

    def __enter__(self):
        self.proxy.start()
        return self

    def __exit__(self, *exc):
        self.proxy.stop()

    def ok(self, *args):
        """Runs kpthin through the proxy and cuts as configured; returns its stdout. kpthin must
        exit 0 within HANG seconds."""
        done = self.ctx.spawn_run(*args, config=self.config, timeout=HANG)
        if self.sent is not None:
            self.proxy.wait_for(lambda st: st.count(UP, self.key) >= 1, "kpthin to send %s" % self.key, timeout=HANG)
            self.proxy.stall(DOWN)
            wait_for(lambda: self.sent in self.ctx.daemon_log_since(self.log_offset),
                     "kpclientd to log %r" % self.sent, 120, interval=0.02)
            self.note("kpclientd sent the request into the mixnet")
            self.proxy.cut_now(blackout=BLACKOUT)
            self.proxy.wait_for(lambda st: st.cuts >= 1, "the cut", timeout=10)
            self.proxy.release(DOWN)   # for the connections after the blackout
        return done()

    def check_hit(self):
        """The fault happened as designed: one cut after `key`, the whole blackout, kpclientd
        resumed the session and, for a cut after the request was sent, dropped the reply."""
        stats = self.proxy.snapshot()
        check(stats.cuts == 1, "the proxy cut %d connections, expected 1 (after %s)" % (stats.cuts, self.key))
        check(stats.blackouts_over == 1, "kpthin finished before the blackout ended")
        log = self.ctx.daemon_log_since(self.log_offset)
        check("Session resumed" in log, "kpclientd did not resume the session after the %ds blackout" % BLACKOUT)
        dropped = log.count("handlePigeonholeARQReply: no connection for AppID")
        print("  kpclientd dropped %d Pigeonhole repl%s while kpthin was away"
              % (dropped, "y" if dropped == 1 else "ies"), flush=True)
        check(self.sent is None or dropped >= 1,
              "kpclientd dropped no reply: it did not come back within the %ds blackout" % BLACKOUT)


def geometry(ctx):
    conn = kpwire.ThinConnection(ctx.config, timeout=120)
    status = conn.handshake()[0]["connection_status_event"]
    conn.close()
    return status["pigeonhole_geometry"]


# ------------------------------------------------------------------------------------ scenarios
def watch_pki(ctx):
    out = ctx.ok("--timeout", "120s", "watch", "--until", "pki").decode()
    check("pki" in out, "watch --until pki printed no PKI event: %r" % out)
    ctx.ok("--timeout", "120s", "watch", "--until", "connected")


def write_read(ctx):
    ctx.ok("keypair", "c")
    ctx.ok("write", "c.write", "hello, real mixnet")
    check(ctx.ok("read", "c.read") == b"hello, real mixnet", "read returned other bytes than written")
    ctx.expect(6, "read", "--no-wait", "c.read")


def max_size_box(ctx):
    limit = geometry(ctx)["MaxPlaintextPayloadLength"]
    ctx.ok("keypair", "c")
    payload = os.urandom(limit)
    ctx.write_file("max", payload)
    ctx.write_file("over", payload + b"!")
    before = ctx.file("c.write")
    code, _, err = ctx.run("write", "c.write", "--file", "over")
    check(code != 0 and str(limit) in err, "a %d-byte message must be refused naming the limit %d: exit %d %s" % (
        limit + 1, limit, code, err.strip()))
    check(ctx.file("c.write") == before, "a refused write moved the channel")
    ctx.ok("write", "c.write", "--file", "max")
    check(ctx.ok("read", "c.read") == payload, "the %d-byte box did not read back intact" % limit)


def split_lines(ctx):
    lines = b"".join(b"line %02d of twenty\n" % i for i in range(1, 21))
    ctx.ok("keypair", "c")
    ctx.ok("write", "--split", "lines", "c.write", stdin=lines)
    check(ctx.ok("read", "--count", "20", "c.read") == lines, "20 lines did not read back in order")
    ctx.expect(6, "read", "--no-wait", "c.read")


def tombstone(ctx):
    ctx.ok("keypair", "c")
    ctx.ok("write", "c.write", "before the tombstone")
    ctx.ok("tombstone", "--next", "1", "c.write")
    check(ctx.ok("read", "c.read") == b"before the tombstone", "the box before the tombstone")
    ctx.expect(7, "read", "c.read")


def read_timeout(ctx):
    ctx.ok("keypair", "c")
    before = ctx.file("c.read")
    offset = ctx.daemon_log_size()
    t0 = time.monotonic()
    ctx.expect(5, "--timeout", "20s", "read", "c.read")
    check(time.monotonic() - t0 < 120, "read --timeout 20s took %.0fs" % (time.monotonic() - t0))
    check(ctx.file("c.read") == before, "a timed-out read moved the channel")
    wait_for(lambda: "Sending cancellation to original query" in ctx.daemon_log_since(offset),
             "the daemon log to show the cancel", 60)


def copy_one(ctx):
    ctx.ok("keypair", "a")
    blob = os.urandom(3000)   # two boxes
    ctx.write_file("blob", blob)
    ctx.ok("copy", "--to", "a.write", "--file", "blob")
    check(read_to_end(ctx, "a.read") == blob, "the copied payload did not read back")


def copy_two(ctx):
    ctx.ok("keypair", "a")
    ctx.ok("keypair", "b")
    ctx.write_file("pa", b"first destination " * 10)
    ctx.write_file("pb", b"second destination " * 10)
    ctx.ok("copy", "--to", "a.write", "--file", "pa", "--to", "b.write", "--file", "pb")
    check(read_until_empty(ctx, "a.read") == ctx.file("pa"), "destination a")
    check(read_until_empty(ctx, "b.read") == ctx.file("pb"), "destination b")
    # Nothing more: the real daemon's "not written" for the first box is exit 6.
    code, _, err = ctx.run("read", "--until-empty", "b.read")
    check(code == 6, "read --until-empty with nothing new should exit 6, got %d: %s" % (code, err.strip()))


def atomic_tombstone_range(ctx):
    ctx.ok("keypair", "c")
    ctx.ok("write", "c.write", "kept")
    ctx.ok("tombstone", "--atomic", "--next", "3", "c.write")
    check(ctx.ok("read", "c.read") == b"kept", "the box before the range")
    for i in range(3):
        ctx.expect(7, "read", "c.read")
    ctx.expect(6, "read", "--no-wait", "c.read")


def tombstone_last(ctx):
    """The issue's workflow: three boxes written, the last two deleted; a reader from the start
    gets the first message, then two tombstones (with their box numbers), and the next write
    goes to a fresh box."""
    ctx.ok("keypair", "c")
    ctx.ok("write", "--split", "lines", "c.write", stdin=b"one\ntwo\nthree\n")
    ts = json.loads(ctx.ok("--json", "tombstone", "--last", "2", "c.write"))
    check((ts["first_box"], ts["last_box"]) == (2, 3), ts)
    check(ctx.ok("read", "c.read") == b"one\n", "the first message stays")
    for box in (2, 3):
        out, _ = ctx.expect(7, "--json", "read", "c.read")
        got = json.loads(out.splitlines()[0])  # then the error object of exit 7
        check(got["box"] == box and got["tombstone"] is True, got)
    check(json.loads(ctx.ok("--json", "write", "c.write", "four"))["box"] == 4, "the write after --last 2")
    check(ctx.ok("read", "c.read") == b"four", "box 4")


def tombstone_all_atomic(ctx):
    """tombstone --all --atomic on a channel of three boxes: all three become tombstones."""
    ctx.ok("keypair", "c")
    ctx.ok("write", "--split", "lines", "c.write", stdin=b"x\ny\nz\n")
    ts = json.loads(ctx.ok("--json", "tombstone", "--all", "--atomic", "c.write"))
    check((ts["first_box"], ts["last_box"], ts["atomic"]) == (1, 3, True), ts)
    for _ in range(3):
        ctx.expect(7, "read", "c.read")
    ctx.expect(6, "read", "--no-wait", "c.read")


def send_echo(ctx):
    check(ctx.ok("send", "hello echo") == b"hello echo", "the echo service did not return the payload")


def restart_mid_write(ctx):
    lines = b"".join(b"restart line %d\n" % i for i in range(1, 9))
    ctx.ok("keypair", "c")
    start_index = ctx.file("c.write")
    offset = ctx.daemon_log_size()
    writer = ctx.spawn("write", "--split", "lines", "c.write")
    writer.stdin.write(lines)
    writer.stdin.close()
    writer.stdin = None   # so communicate() below does not flush it again
    # Restart once the writer has handed at least one box to the daemon and not finished.
    wait_for(lambda: ctx.file("c.write") != start_index or writer.poll() is not None,
             "the first box to be confirmed", 300)
    check(writer.poll() is None, "the writer finished before the restart: make the input longer")
    subprocess.run([os.path.join(ctx.scripts, "mixnet"), "restart-kpclientd"], check=True, timeout=120)
    print("  kpclientd restarted mid-write", flush=True)
    try:
        _, err = writer.communicate(timeout=OP_TIMEOUT)
    except subprocess.TimeoutExpired:
        writer.kill()
        raise Failure("the writer did not finish within %ds after the restart" % OP_TIMEOUT)
    check(writer.returncode == 0, "write --split across a restart exited %d: %s" % (writer.returncode, err.decode()))
    check(ctx.ok("read", "--count", "8", "c.read") == lines, "8 lines did not arrive exactly once, in order")
    ctx.expect(6, "read", "--no-wait", "c.read")


SENT_MESSAGE = "startResendingEncryptedMessage: isRead="   # kpclientd's debug log (pigeonhole.go)
SENT_COPY = "startResendingCopyCommand: Sending copy command"


def blackout_write(ctx):
    ctx.ok("keypair", "c")
    # The request lost in kpclientd's queue, then the reply lost while away (box written).
    with Blackout(ctx, "start_resending_encrypted_message") as blackout:
        blackout.ok("write", "c.write", "first")
        blackout.check_hit()
    with Blackout(ctx, "start_resending_encrypted_message", sent=SENT_MESSAGE) as blackout:
        blackout.ok("write", "c.write", "second")
        blackout.check_hit()
    ctx.ok("write", "c.write", "third")
    got = read_to_end(ctx, "c.read")
    check(got == b"firstsecondthird", "a fresh reader got %r, not first, second, third" % got)


def blackout_read(ctx):
    ctx.ok("keypair", "c")
    ctx.write_file("fresh.read", ctx.file("c.read"))
    ctx.ok("write", "c.write", "first")
    with Blackout(ctx, "start_resending_encrypted_message", sent=SENT_MESSAGE) as blackout:
        # While the reader is away, the writer writes the next box: the read must still
        # return the first one, and the next read the second.
        reader = ctx.spawn_run(blackout.ok, "read", "c.read")
        blackout.proxy.wait_for(lambda st: st.cuts >= 1, "the cut", timeout=HANG)
        ctx.ok("write", "c.write", "second")
        check(reader() == b"first", "the read across the blackout did not return the first box")
        blackout.check_hit()
    after, fresh = in_parallel(lambda: ctx.ok("read", "c.read"), lambda: read_to_end(ctx, "fresh.read"))
    check(after == b"second", "the read after the blackout returned %r, not the second box" % after)
    check(fresh == b"firstsecond", "a fresh reader did not get first, then second: %r" % fresh)


def blackout_copy(ctx):
    ctx.ok("keypair", "a")
    blob = b"copied across a blackout " * 4   # one destination box
    ctx.write_file("blob", blob)
    with Blackout(ctx, "start_resending_copy_command", sent=SENT_COPY) as blackout:
        blackout.ok("copy", "--to", "a.write", "--file", "blob")
        blackout.check_hit()
    ctx.ok("write", "a.write", "after the copy")
    got = read_to_end(ctx, "a.read")
    check(got == blob + b"after the copy", "a fresh reader got %r, not the copy, then the write" % got)


def kill_split_rerun(ctx):
    lines = [b"kill line %02d\n" % i for i in range(1, 7)]
    ctx.ok("keypair", "c")
    first_index = channel_index(ctx, "c.write")
    offset = ctx.daemon_log_size()
    writer = ctx.spawn("write", "--split", "lines", "c.write")
    writer.stdin.write(b"".join(lines))
    writer.stdin.close()
    writer.stdin = None
    # Kill once a position is saved and kpclientd has sent boxes past it into the mixnet: those
    # land on the replicas although the channel file does not count them (issue 9 item 6).
    sends = lambda: ctx.daemon_log_since(offset).count(SENT_MESSAGE + "false")  # noqa: E731
    wait_for(lambda: (channel_index(ctx, "c.write") != first_index and sends() >= 3) or writer.poll() is not None,
             "a saved position and three boxes sent", 300, interval=0.05)
    check(writer.poll() is None, "the writer finished before the kill: make the input longer")
    writer.kill()
    writer.communicate()
    saved = boxes_between(ctx, first_index, channel_index(ctx, "c.write"), len(lines))
    print("  kill -9 with the position saved after box %s; kpclientd had logged %d sends" % (saved, sends()), flush=True)
    ctx.ok("write", "--split", "lines", "c.write", stdin=b"".join(lines))
    # At least once, never replaced: the killed run's first k lines, then the whole rerun.
    got = read_to_end(ctx, "c.read")
    boxes = got.splitlines(keepends=True)
    k = len(boxes) - len(lines)
    check(0 <= k <= len(lines) and boxes == lines[:k] + lines,
          "the channel does not hold a prefix of the input followed by the whole rerun: %r" % got.decode())
    print("  the killed run left %d boxes (%s past the saved position); the rerun added all %d"
          % (k, "?" if saved is None else k - saved, len(lines)), flush=True)


def demo_walk(ctx):
    """scripts/demo --mixnet, the newcomer's walk, on the running network: it finds the network
    up, uses it, and leaves it running (it stops only a network it booted itself)."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(ctx.kpthin)))   # BUILD/apps/kpthin/kpthin
    t0 = time.monotonic()
    try:
        p = subprocess.run([os.path.join(ctx.scripts, "demo"), "--mixnet", "--build-dir", build], cwd=ctx.dir,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=900)
    except subprocess.TimeoutExpired as e:
        raise Failure("scripts/demo --mixnet still ran after 900 s: %s" % (e.stdout or b"").decode()[-2000:])
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    print("  %6.1fs exit %d: scripts/demo --mixnet" % (time.monotonic() - t0, p.returncode), flush=True)
    check(p.returncode == 0, "scripts/demo --mixnet exited %d:\n%s\n%s" % (p.returncode, out[-3000:], err[-2000:]))
    for needle in ("One is running already", "    ping through the local mixnet", "the same as alice.txt",
                   "What happened:"):
        check(needle in out, "the demo's output lacks %r:\n%s" % (needle, out))
    check(subprocess.run([os.path.join(ctx.scripts, "mixnet"), "status"], capture_output=True).returncode == 0,
          "the demo must leave a network it did not start running")


def pigeonhole_cp(ctx):
    """The pigeonhole-cp that scripts/install-daemons builds beside the daemons. scripts/test
    starts that build in the background; this waits for it (or builds it) under its lock."""
    bin_dir = subprocess.run([os.path.join(ctx.scripts, "install-daemons"), "--pigeonhole-cp-only"], check=True,
                             stdout=subprocess.PIPE, text=True).stdout.strip()
    path = os.path.join(bin_dir, "pigeonhole-cp")
    check(os.access(path, os.X_OK), "no %s: run scripts/install-daemons" % path)
    return path


def run_pigeonhole_cp(ctx, *args):
    """Runs pigeonhole-cp against the mixnet's kpclientd; returns its stdout text."""
    argv = [pigeonhole_cp(ctx), args[0], "-c", ctx.config] + list(args[1:])
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, cwd=ctx.dir, capture_output=True, timeout=OP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure("pigeonhole-cp %s still ran after %ds (killed)" % (args[0], OP_TIMEOUT))
    print("  %6.1fs exit %d: pigeonhole-cp %s" % (time.monotonic() - t0, p.returncode, args[0]), flush=True)
    check(p.returncode == 0, "pigeonhole-cp %s exited %d: %s" % (args[0], p.returncode, p.stderr.decode(errors="replace")))
    return p.stdout.decode()


def genkey_value(text, label):
    """The base64 value on the line after `label` in pigeonhole-cp's genkey text."""
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.startswith(label):
            return lines[i + 1].strip()
    raise Failure("no %r in %r" % (label, text))


def pigeonhole_cp_then_kpthin(ctx):
    """Issue 10's interop: pigeonhole-cp makes the channel (kpthin imports its caps) and sends a
    file into the first box with the position `keypair --export` gives; kpthin's channel file
    still points at that box, so its write must find the next free one instead of losing the
    message; a reader then gets the file, then kpthin's message, in order (about 2.5 minutes)."""
    caps = run_pigeonhole_cp(ctx, "genkey")
    ctx.write_file("genkey.txt", caps.encode())
    ctx.ok("keypair", "--import", "genkey.txt", "c")
    exported = ctx.ok("keypair", "--export", "c.write").decode()
    for label in ("Write Capability", "Read Capability", "First Index"):
        check(genkey_value(exported, label) == genkey_value(caps, label),
              "keypair --export c.write gives another %s than pigeonhole-cp genkey did" % label)
    ctx.write_file("note.txt", b"sent by pigeonhole-cp\n")
    run_pigeonhole_cp(ctx, "send", "-w", genkey_value(exported, "Write Capability"),
                      "-i", genkey_value(exported, "First Index"), "-f", "note.txt", "--no-copy")
    written = json.loads(ctx.ok("--json", "write", "c.write", "written by kpthin"))
    check(written["box"] == 2, "kpthin wrote box %s, not box 2 after pigeonhole-cp's file" % written["box"])
    os.mkdir(ctx.path("got"))
    ctx.ok("read", "--framed", "--output-dir", "got", "c.read")
    check(ctx.file("got/note.txt") == b"sent by pigeonhole-cp\n", "the file pigeonhole-cp sent did not read back")
    check(ctx.ok("read", "c.read") == b"written by kpthin", "kpthin's message after the file")


SCENARIOS = (watch_pki, write_read, max_size_box, split_lines, tombstone, read_timeout, copy_one,
             copy_two, atomic_tombstone_range, tombstone_last, tombstone_all_atomic, send_echo,
             restart_mid_write, blackout_write, blackout_read, blackout_copy, kill_split_rerun, demo_walk,
             pigeonhole_cp_then_kpthin)


def print_status(args):
    subprocess.run([os.path.join(args.scripts, "mixnet"), "status"])


if __name__ == "__main__":
    sys.exit(run_one(SCENARIOS, lambda args: (Ctx(args),), print_status))
