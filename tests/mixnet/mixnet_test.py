#!/usr/bin/env python3
"""kpthin CLI against a real local Katzenpost mixnet (scripts/mixnet, started by the ctest fixture).
One scenario per run: mixnet_test.py --scripts DIR --kpthin BIN SCENARIO.

Scenarios re-express thin_client's tests/test_new_pigeonhole_api.py and katzenpost's
client/pigeonhole_docker_test.go where a CLI applies: write/read round trip, maximum box size,
many boxes in order, tombstones, copy commands to one and two channels, atomic tombstone ranges,
echo, PKI readiness, read timeout with a cancel at the daemon, daemon restart mid-write.
Every wait is bounded (mixnet operations take seconds to minutes); nothing sleeps blindly.
"""
import os
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tools"))
import kpwire  # noqa: E402
from scenario import Failure, check, run_one, wait_for  # noqa: E402

OP_TIMEOUT = 600   # seconds for one kpthin process (a box write/read is seconds; allow epochs)


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

    def argv(self, args):
        return [self.kpthin, "-c", self.config] + list(args)

    def run(self, *args, stdin=None, timeout=OP_TIMEOUT):
        """Runs kpthin; returns (exit code, stdout bytes, stderr text) and records its wall time."""
        t0 = time.monotonic()
        p = subprocess.run(self.argv(args), input=stdin, cwd=self.dir, capture_output=True, timeout=timeout)
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
    ctx.ok("tombstone", "c.write")
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
    check(read_to_end(ctx, "a.read") == ctx.file("pa"), "destination a")
    check(read_to_end(ctx, "b.read") == ctx.file("pb"), "destination b")


def atomic_tombstone_range(ctx):
    ctx.ok("keypair", "c")
    ctx.ok("write", "c.write", "kept")
    ctx.ok("tombstone", "--atomic", "--count", "3", "c.write")
    check(ctx.ok("read", "c.read") == b"kept", "the box before the range")
    for i in range(3):
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


SCENARIOS = (watch_pki, write_read, max_size_box, split_lines, tombstone, read_timeout, copy_one,
             copy_two, atomic_tombstone_range, send_echo, restart_mid_write)


def print_status(args):
    subprocess.run([os.path.join(args.scripts, "mixnet"), "status"])


if __name__ == "__main__":
    sys.exit(run_one(SCENARIOS, lambda args: (Ctx(args),), print_status))
