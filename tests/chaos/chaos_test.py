#!/usr/bin/env python3
"""Chaos scenarios (issue 9): kpthin against kpclientd-sim through tests/tools/fault_proxy.py,
with connections cut at each request, frames injected, kpthin and the sim killed with SIGKILL,
the disk filled and channel files behind symlinks. After the faults every scenario checks the
channel with a fresh reader (invariants.py): nothing reported written is lost or replaced, no
read position skips a box.

    chaos_test.py --kpthin PATH --sim PATH SCENARIO

Random fault points come from a seed printed at the start; CHAOS_SEED=N reproduces a run. Every
wait is a bounded poll on a condition; the only timed thing is the fault itself (a blackout).
The simulator drops Pigeonhole replies that complete while the client is away, as kpclientd
does (spec §2.3; its default), and runs with --store (its boxes survive its death)."""
import argparse
import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "cli"))
sys.path.insert(0, os.path.join(here, "..", "tools"))
from harness import Failure, Kpthin, Output, Sim, Workdir, check, wait_for  # noqa: E402
from fault_proxy import DOWN, UP, FaultProxy, garbage_frame, unknown_key_frame  # noqa: E402
from invariants import check_reads, check_writes, parse_boxes, read_channel  # noqa: E402

SCENARIOS = {}
BLACKOUT = 0.3       # seconds without service after a cut: far below the sim's grace period
TIMEOUT = "20s"      # kpthin --timeout for runs under faults: a hang becomes exit 5, not a stall
SKIP = 77            # exit status ctest reports as skipped (SKIP_RETURN_CODE)
BOX_PAYLOAD = 1549 - 4  # what copy puts in one destination box (kpthin-copy(1)); Max as kpclientd-sim announces it
SREM = "start_resending_encrypted_message"


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


class Channel:
    """A channel made by `kpthin keypair`, with a copy of its read file as created (the fresh
    reader's starting point)."""

    def __init__(self, ctx, name):
        ctx.direct.ok("keypair", name)
        self.write = os.path.join(ctx.dir, name + ".write")
        self.read = os.path.join(ctx.dir, name + ".read")
        self.pristine = os.path.join(ctx.dir, "pristine-" + name + ".read")
        shutil.copy2(self.read, self.pristine)


class Context:
    def __init__(self, args, workdir, seed):
        self.args = args
        self.dir = workdir
        self.seed = seed
        self.rng = random.Random(seed)
        self.sim_dir = os.path.join(workdir, "sim")
        os.mkdir(self.sim_dir)
        self.store = os.path.join(self.sim_dir, "boxes")
        self.sim = None
        self.proxy = None
        self.start_sim()
        self.proxy = FaultProxy(os.path.join(workdir, "proxy.sock"), self.sim.socket).start()
        # kp goes through the proxy (the faults); direct is for setup and the fresh reader.
        self.kp = Kpthin(args.kpthin, self.proxy.write_config(os.path.join(workdir, "proxy.toml")), workdir)
        self.direct = Kpthin(args.kpthin, self.sim.config, workdir)

    def start_sim(self, *extra):
        self.sim = Sim(self.args.sim, self.sim_dir, "--store", self.store, *extra)

    def channel(self, name):
        return Channel(self, name)

    def check_channel(self, ch, reported, attempted, **kw):
        summary = check_writes(read_channel(self.direct, ch.pristine, self.dir), reported, attempted, **kw)
        print("  %s: %s" % (os.path.basename(ch.write), summary))

    def close(self):
        try:
            if self.proxy:
                self.proxy.stop()
        finally:
            if self.sim:
                self.sim.stop()  # even if stopping the proxy failed: no simulator outlives the test


def run_json(kp, *args, stdin=None, timeout=60):
    """kpthin --json ARGS; returns (exit code, stdout, stderr)."""
    return kp.run("--json", *args, stdin=stdin, timeout=timeout)


def confirmed(stdout):
    """How many boxes a `kpthin --json write` reported as confirmed (complete lines only; the
    error object a failure ends with is no box)."""
    return sum(1 for line in stdout.split(b"\n") if line.startswith(b"{") and not line.startswith(b'{"error"'))


def frames_of(ctx, *args, stdin=None):
    """Runs kpthin ARGS through the proxy without faults; returns the client->daemon frames it
    sent as (key, size) pairs (the points a sweep cuts at) and its standard output."""
    before = len(ctx.proxy.snapshot().keys[UP])
    code, out, err = ctx.kp.run(*args, stdin=stdin, timeout=60)
    check(code == 0, "calibration run kpthin %s exited %d: %s" % (" ".join(args), code, err.strip()))
    ctx.proxy.wait_for(lambda s: s.open == 0, "the calibration connection to close")
    s = ctx.proxy.snapshot()
    return list(zip(s.keys[UP][before:], s.sizes[UP][before:])), out


def cut_sweep(ctx, frames, run_one):
    """For each client frame of a calibrated run, twice: the connection cut right after the frame
    (the daemon has it, its reply is lost) with new connections refused for a blackout, and cut
    in the middle of the frame (the daemon never sees it) with new connections held for the
    blackout; the blackout is far shorter than the grace period, so the session resumes. Calls
    run_one(label, key) for each, which runs kpthin."""
    for point, (key, size) in enumerate(frames, 1):
        offset = sum(sz for _, sz in frames[:point - 1])
        for label, arm in (
                ("after frame %d (%s)" % (point, key),
                 lambda: ctx.proxy.cut_after_frames(point, blackout=BLACKOUT)),
                ("inside frame %d (%s)" % (point, key),
                 lambda: ctx.proxy.cut_after_bytes(offset + size // 2, blackout=BLACKOUT, mode="hold"))):
            cuts = ctx.proxy.snapshot().cuts
            arm()
            run_one(label, key)
            service_back(ctx)
            ctx.proxy.disarm()  # a run that sent fewer frames leaves its fault armed
            # kpthin may exit without its closing frame; every other frame must have been cut.
            check(ctx.proxy.snapshot().cuts == cuts + 1 or key == "thin_close", "no cut happened " + label)


def service_back(ctx):
    """Waits until the proxy has seen the last connection close (a cut armed on its last frame
    fires only then) and any blackout is over: the daemon 'is back'."""
    ctx.proxy.wait_for(lambda s: s.open == 0 and not s.in_blackout, "the blackout to end")


def expect_done(result, what, key):
    """A run cut after client frame `key`: it must complete (exit 0). Only a cut during the
    handshake (after session_token) may instead fail cleanly as 'daemon unreachable' (exit 4):
    nothing was sent, and kpthin says so. Returns True if the run reported success."""
    code, out, err = result
    if key == "session_token" and code == 4:
        return False
    expect_ok(result, what)
    return True


def expect_ok(result, what):
    code, out, err = result
    check(code == 0, "%s exited %d (5 = timeout: a reply lost with the connection was never "
          "re-requested): %s" % (what, code, err.strip()[-600:]))
    return out


# --------------------------------------------------------------------- connection cuts (item 1)

@scenario
def cut_write(ctx):
    """The connection cut at each client frame of `write` and of a three-line `write --split
    lines` (the reply to a write is lost, or the request never arrives), then the next write:
    every message is there, once, in order."""
    ch = ctx.channel("c")
    reported, attempted = [b"calibration"], [b"calibration"]
    frames, _ = frames_of(ctx, "write", ch.write, "calibration")
    print("  write sends %s" % [k for k, _ in frames])
    runs = [0]

    def after_fault(label):
        after = b"written after the cut %s, run %d" % (label.encode(), runs[0])
        attempted.append(after)
        service_back(ctx)
        expect_ok(ctx.kp.run("--timeout", TIMEOUT, "write", ch.write, after, timeout=60), "the write after the cut")
        reported.append(after)

    def one(label, key):
        runs[0] += 1
        msg = b"cut %s, run %d" % (label.encode(), runs[0])
        attempted.append(msg)
        if expect_done(ctx.kp.run("--timeout", TIMEOUT, "write", ch.write, msg, timeout=60), "write cut " + label, key):
            reported.append(msg)
        after_fault(label)

    cut_sweep(ctx, frames, one)

    def split_lines():
        return [b"split run %d line %d\n" % (runs[0], i) for i in range(3)]

    frames, _ = frames_of(ctx, "write", "--split", "lines", ch.write, stdin=b"".join(split_lines()))
    attempted += split_lines()
    reported += split_lines()
    print("  write --split lines (3) sends %s" % [k for k, _ in frames])

    def split(label, key):
        runs[0] += 1
        lines = split_lines()
        attempted.extend(lines)
        result = run_json(ctx.kp, "--timeout", TIMEOUT, "write", "--split", "lines", ch.write, stdin=b"".join(lines))
        if expect_done(result, "write --split cut " + label, key):
            check(confirmed(result[1]) == 3, "a finished write --split reported %d of 3 lines" % confirmed(result[1]))
            reported.extend(lines)
        after_fault(label)

    cut_sweep(ctx, frames, split)
    ctx.check_channel(ch, reported, attempted, exact=True)


@scenario
def cut_read(ctx):
    """The connection cut at each client frame of `read --count 2`: every run prints the next
    two boxes, none skipped, none twice."""
    ch = ctx.channel("c")
    ctx.direct.ok("write", "--split", "lines", ch.write, stdin=b"".join(b"box %02d\n" % i for i in range(80)))
    frames, out = frames_of(ctx, "--json", "read", "--count", "2", ch.read)
    runs = [parse_boxes(out)]
    print("  read --count 2 sends %s" % [k for k, _ in frames])
    check(len(frames) * 4 + 2 <= 80, "too few boxes for the sweep")

    def one(label, key):
        result = run_json(ctx.kp, "--timeout", TIMEOUT, "read", "--count", "2", ch.read)
        if expect_done(result, "read cut " + label, key):
            runs.append(parse_boxes(result[1]))
            check(len(runs[-1]) == 2, "read --count 2 printed %d boxes" % len(runs[-1]))

    cut_sweep(ctx, frames, one)
    code, out, err = run_json(ctx.direct, "read", "--no-wait", "--count", "1000", ch.read)
    check(code == 6, "reading the rest should end with 6, got %d: %s" % (code, err))
    runs.append(parse_boxes(out))
    summary = check_reads(read_channel(ctx.direct, ch.pristine, ctx.dir), runs)
    check(summary.endswith(" 0 again after a crash"), "a cut must not make a reader print a box twice: " + summary)
    print("  " + summary)


@scenario
def cut_copy(ctx):
    """The connection cut at each client frame of `copy` (a one-box payload), each followed by a
    write; then a three-box payload cut right after the copy command. Nothing lost, nothing twice."""
    ch = ctx.channel("c")
    reported, attempted = [b"calibration"], [b"calibration"]
    frames, _ = frames_of(ctx, "copy", "--to", ch.write, stdin=b"calibration")
    print("  copy sends %s" % [k for k, _ in frames])
    runs = [0]

    def one(label, key):
        runs[0] += 1
        msg, after = b"copy cut %s, run %d" % (label.encode(), runs[0]), b"written after copy run %d" % runs[0]
        attempted.extend([msg, after])
        if expect_done(ctx.kp.run("--timeout", TIMEOUT, "copy", "--to", ch.write, stdin=msg, timeout=60),
                       "copy cut " + label, key):
            reported.append(msg)
        service_back(ctx)
        expect_ok(ctx.kp.run("--timeout", TIMEOUT, "write", ch.write, after, timeout=60), "the write after the cut")
        reported.append(after)

    cut_sweep(ctx, frames, one)
    payload = bytes(ctx.rng.getrandbits(8) for _ in range(3 * BOX_PAYLOAD))
    chunks = [payload[i:i + BOX_PAYLOAD] for i in range(0, len(payload), BOX_PAYLOAD)]
    attempted += chunks + [b"after the big copy"]
    ctx.proxy.cut_after_key("start_resending_copy_command", blackout=BLACKOUT)
    expect_ok(ctx.kp.run("--timeout", TIMEOUT, "copy", "--to", ch.write, stdin=payload, timeout=60),
              "a 3-box copy cut after the copy command")
    reported += chunks
    service_back(ctx)
    expect_ok(ctx.kp.run("write", ch.write, "after the big copy"), "the write after the big copy")
    reported.append(b"after the big copy")
    ctx.check_channel(ch, reported, attempted, exact=True)


@scenario
def tombstone_faults(ctx):
    """Tombstones at a remembered position: the connection cut at each client frame of
    `tombstone` and of `tombstone --atomic -n 2`, each followed by a write; then kill -9 of a
    `write --split lines` (the saved position lags the boxes written) followed by a tombstone. A
    tombstone never replaces a message, and each tombstone run deletes exactly its boxes."""
    ctx.sim.stop()
    ctx.start_sim("--latency", "5:5")
    ch = ctx.channel("c")
    reported, attempted = [], []
    tombstones = [0]
    runs = [0]

    def sweep(args, per_run):
        frames, _ = frames_of(ctx, "tombstone", *args, ch.write)
        tombstones[0] += per_run
        print("  tombstone %s sends %s" % (" ".join(args), [k for k, _ in frames]))

        def one(label, key):
            runs[0] += 1
            if expect_done(ctx.kp.run("--timeout", TIMEOUT, "tombstone", *args, ch.write, timeout=60),
                           "tombstone %s cut %s" % (" ".join(args), label), key):
                tombstones[0] += per_run
            service_back(ctx)
            after = b"after tombstone run %d" % runs[0]
            attempted.append(after)
            expect_ok(ctx.kp.run("--timeout", TIMEOUT, "write", ch.write, after, timeout=60), "the write after")
            reported.append(after)

        cut_sweep(ctx, frames, one)

    sweep(["--next", "1"], 1)
    sweep(["--atomic", "--next", "2"], 2)
    for rnd in range(3):
        lines = [b"round %d line %02d\n" % (rnd, i) for i in range(40)]
        attempted += lines
        path = os.path.join(ctx.dir, "input")
        with open(path, "wb") as f:
            f.write(b"".join(lines))
        proc = ctx.kp.spawn("--json", "--timeout", TIMEOUT, "write", "--split", "lines", ch.write, stdin=open(path, "rb"))
        out = Output(proc)
        kill_after(proc, out, ctx.rng.randrange(1, 30))
        proc.stderr.close()
        reported += lines[:confirmed(out.data)]
        expect_ok(ctx.kp.run("--timeout", TIMEOUT, "tombstone", "--next", "1", ch.write, timeout=60), "the tombstone after kill -9")
        tombstones[0] += 1
    boxes = read_channel(ctx.direct, ch.pristine, ctx.dir)
    ctx.check_channel(ch, reported, attempted, at_least_once=True)
    found = sum(b.tombstone for b in boxes)
    check(found == tombstones[0], "%d tombstone runs succeeded (counting boxes) but the channel holds %d tombstones"
          % (tombstones[0], found))


# ---------------------------------------------------------------- frames from a newer daemon (2)

@scenario
def unknown_frames(ctx):
    """A frame with an unknown top-level key, an unknown field inside a reply and an unknown
    top-level key beside one arrive during writes: kpthin ignores them (same connection, exit 0).
    Then a garbage frame: only that drops the connection, and the write still completes."""
    ch = ctx.channel("c")
    reported = []
    faults = [
        ("a frame with an unknown key", lambda: ctx.proxy.inject_after_key(SREM, unknown_key_frame())),
        ("an unknown field in the reply", lambda: ctx.proxy.add_field_to_reply(SREM + "_reply")),
        ("an unknown key beside the reply", lambda: ctx.proxy.add_field_to_reply(SREM + "_reply", top_level=True)),
    ]
    for what, arm in faults:
        connections = ctx.proxy.snapshot().connections
        arm()
        msg = b"written despite " + what.encode()
        expect_ok(ctx.kp.run("--timeout", TIMEOUT, "write", ch.write, msg, timeout=60), "write with " + what)
        reported.append(msg)
        s = ctx.proxy.snapshot()
        check(s.injected + s.rewritten >= len(reported), "the proxy did not deliver " + what)
        check(s.connections == connections + 1, "kpthin reconnected after %s: it must ignore it, "
              "not drop the connection (%d connections)" % (what, s.connections - connections))
    ctx.proxy.inject_after_key(SREM, garbage_frame())
    msg = b"written despite a garbage frame"
    expect_ok(ctx.kp.run("--timeout", TIMEOUT, "write", ch.write, msg, timeout=60), "write with a garbage frame")
    reported.append(msg)
    expect_ok(ctx.kp.run("write", ch.write, "the next one"), "the write after the garbage")
    reported.append(b"the next one")
    ctx.check_channel(ch, reported, list(reported), exact=True)


# --------------------------------------------------------------------- kill -9 of kpthin (item 6)

def kill_after(proc, out, lines):
    """SIGKILLs proc once it has printed `lines` complete lines (or has exited)."""
    wait_for(lambda: out.poll().count(b"\n") >= lines or proc.poll() is not None,
             "%d lines of output" % lines, timeout=60)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    out.poll()


@scenario
def kill_write_split(ctx):
    """kill -9 of `write --split lines` at seeded points; after each kill the user either resumes
    with the lines not reported or goes on with new lines (alternately). Every reported line must
    read back in order; a line may be stored twice only where it was given twice. A killed run's
    unreported lines are late: its requests leave in no fixed order, so it may fill a box after
    one it left empty, and the rerun writes into the empty box first (kpthin-write(1))."""
    ctx.sim.stop()
    ctx.start_sim("--latency", "5:10")
    ch = ctx.channel("c")
    reported, attempted, late = [], [], []
    for rnd in range(4):
        pending = [b"round %d line %03d\n" % (rnd, i) for i in range(60)]
        attempted += pending
        kills = 0
        while pending:
            path = os.path.join(ctx.dir, "input")
            with open(path, "wb") as f:
                f.write(b"".join(pending))
            proc = ctx.kp.spawn("--json", "--timeout", TIMEOUT, "write", "--split", "lines", ch.write,
                                stdin=open(path, "rb"))
            out = Output(proc)
            if kills < 2:
                kill_after(proc, out, ctx.rng.randrange(0, len(pending)))
            else:
                proc.wait(60)
                out.poll()
            n = confirmed(out.data)
            reported += pending[:n]
            if kills < 2:
                late += pending[n:]
            print("  round %d run %d: %d of %d lines reported, exit %d" % (rnd, kills + 1, n, len(pending), proc.returncode))
            if kills >= 2:
                check(proc.returncode == 0, "write --split exited %d: %s" % (proc.returncode, proc.stderr.read()))
                check(n == len(pending), "a finished write reported %d of %d lines" % (n, len(pending)))
                pending = []
            elif (rnd + kills) % 2:
                pending = pending[n:]          # resume with what was not reported
            else:
                pending = []                   # abandon the rest: the next round's lines come next
            proc.stderr.close()
            kills += 1
    ctx.check_channel(ch, reported, attempted, at_least_once=True, late=late)


@scenario
def stale_inflight(ctx):
    """kill -9 of `write --split lines` while some of its write requests are still on their way
    (the proxy holds them, as kpclientd's ARQ may for seconds); a rerun with new lines starts; the
    old requests land in boxes the rerun has not written yet, then the rerun goes on. No line the
    rerun reports written may be lost in a box an old request filled."""
    ch = ctx.channel("c")
    old = [b"old line %d\n" % i for i in range(6)]
    new = [b"new line %d\n" % i for i in range(6)]
    path = os.path.join(ctx.dir, "input")
    with open(path, "wb") as f:
        f.write(b"".join(old))
    saved = open(ch.write, "rb").read()
    # The old run's write requests from the second on stay in the proxy.
    ctx.proxy.hold_key(SREM, nth=2, name="old")
    proc = ctx.kp.spawn("--json", "--timeout", TIMEOUT, "write", "--split", "lines", ch.write, stdin=open(path, "rb"))
    out = Output(proc)
    ctx.proxy.wait_for(lambda s: s.count(UP, SREM) >= len(old) or proc.poll() is not None,
                       "the old run to send its write requests")
    wait_for(lambda: open(ch.write, "rb").read() != saved or proc.poll() is not None,
             "the old run to save its first box")
    proc.kill()
    proc.wait()
    out.poll()
    proc.stderr.close()
    reported = old[:confirmed(out.data)]
    held = ctx.proxy.snapshot().count(UP, SREM) - 1
    print("  old run killed: %d line(s) reported, %d write request(s) held" % (len(reported), held))
    check(os.path.exists(ch.write + ".unfinished"), "the killed run left no c.write.unfinished marker")
    # The rerun: its first write request reaches the daemon, the later ones wait.
    ctx.proxy.hold_key(SREM, nth=2, name="new")
    with open(path, "wb") as f:
        f.write(b"".join(new))
    start = len(ctx.proxy.snapshot().keys[UP])
    proc = ctx.kp.spawn("--json", "--timeout", TIMEOUT, "write", "--split", "lines", ch.write, stdin=open(path, "rb"))
    out = Output(proc)
    ctx.proxy.wait_for(lambda s: s.holds == 2 or proc.poll() is not None, "the rerun's second write request")
    boxes = ctx.sim.stats()["boxes"]
    ctx.proxy.release(UP, name="old")
    wait_for(lambda: ctx.sim.stats()["boxes"] > boxes, "an old request to land")
    ctx.proxy.release(UP, name="new")
    code = proc.wait(60)
    out.poll()
    err = proc.stderr.read().decode(errors="replace").strip()
    proc.stderr.close()
    print("  rerun sent %s" % ctx.proxy.snapshot().keys[UP][start:])
    check(code == 0, "the rerun exited %d: %s" % (code, err))
    reported += new[:confirmed(out.data)]
    # The old run's unreported lines land after new line 0 (the rerun found their first box free
    # and wrote it): out of order, but never over a reported line.
    ctx.check_channel(ch, reported, old + new, late=old[len(old) - held:])


def kill_with_requests_held(ctx, name, requests, *args, stdin=subprocess.DEVNULL):
    """Spawns kpthin ARGS through the proxy with every write/read request from its second on held
    (name `name`), waits until it has sent `requests` of them in all (or exited), and kills it
    with SIGKILL. Returns its --json output."""
    before = ctx.proxy.snapshot().count(UP, SREM)
    ctx.proxy.hold_key(SREM, nth=2, name=name)
    proc = ctx.kp.spawn("--json", "--timeout", TIMEOUT, *args, stdin=stdin)
    out = Output(proc)
    ctx.proxy.wait_for(lambda s: s.count(UP, SREM) - before >= requests or proc.poll() is not None,
                       "%s to send %d requests" % (name, requests))
    return proc, out


def land_held(ctx, name, requests):
    """Releases the requests held under `name` and waits until the simulator has received them
    all and has nothing left to do (each one landed, or was refused)."""
    before = int(ctx.sim.stats().get("req." + SREM, 0))
    ctx.proxy.release(UP, name=name)
    wait_for(lambda: int(ctx.sim.stats().get("req." + SREM, 0)) >= before + requests and
             int(ctx.sim.stats()["pending"]) == 0, "the %d held request(s) of %s to land" % (requests, name))


def reap(proc, out):
    proc.kill()
    proc.wait()
    out.poll()
    proc.stderr.close()


@scenario
def stale_tombstones(ctx):
    """kill -9 of `tombstone --next 3` while its tombstones are still on their way (the proxy holds
    them, as kpclientd's queue may for seconds); then a `write --split lines` (channel a) and a
    `copy` (channel b) at the same remembered position; only then do the old tombstones land. A
    tombstone replaces whatever a box holds, so none may land in a box the later run reports.
    Last (channel c), the other way round: kill -9 of `write --split lines` with its requests
    held, `tombstone --next 2`, the old writes landing after the tombstone run's first check,
    then a write: nothing reported is lost."""
    for name, later in (("a", "write"), ("b", "copy")):
        ch = ctx.channel(name)
        expect_ok(ctx.kp.run("write", ch.write, "first"), "the first write")
        proc, out = kill_with_requests_held(ctx, "tombstone " + name, 4, "tombstone", "--next", "3", ch.write)
        reap(proc, out)
        check(not os.path.exists(ch.write + ".unfinished") or
              b"tombstone" in open(ch.write + ".unfinished", "rb").read(),
              "the killed tombstone run left a marker that does not say so")
        if later == "write":
            new = [b"new line %d\n" % i for i in range(6)]
            code, out, err = run_json(ctx.kp, "--timeout", TIMEOUT, "write", "--split", "lines", ch.write,
                                      stdin=b"".join(new))
            check(code == 0, "the write after the killed tombstone run exited %d: %s" % (code, err.strip()))
            reported = [b"first"] + new[:confirmed(out)]
        else:
            payload = bytes(ctx.rng.getrandbits(8) for _ in range(2 * BOX_PAYLOAD + 10))
            new = [payload[i:i + BOX_PAYLOAD] for i in range(0, len(payload), BOX_PAYLOAD)]
            expect_ok(ctx.kp.run("--timeout", TIMEOUT, "copy", "--to", ch.write, stdin=payload),
                      "the copy after the killed tombstone run")
            reported = [b"first"] + new
        land_held(ctx, "tombstone " + name, 3)
        print("  %s after a killed tombstone --next 3:" % later)
        ctx.check_channel(ch, reported, reported)
        tombstones = sum(b.tombstone for b in read_channel(ctx.direct, ch.pristine, ctx.dir))
        check(tombstones == 3, "the channel holds %d tombstones; the killed run's 3 belong before the %s"
              % (tombstones, later))

    ch = ctx.channel("c")
    old = [b"old line %d\n" % i for i in range(6)]
    saved = open(ch.write, "rb").read()
    path = os.path.join(ctx.dir, "input")
    with open(path, "wb") as f:
        f.write(b"".join(old))
    proc, out = kill_with_requests_held(ctx, "old write", len(old), "write", "--split", "lines", ch.write,
                                        stdin=open(path, "rb"))
    wait_for(lambda: open(ch.write, "rb").read() != saved or proc.poll() is not None,
             "the old run to save its first box")
    ctx.proxy.wait_for(lambda s: s.holds >= 1, "the old run's requests to be held")
    reap(proc, out)
    reported = old[:confirmed(out.data)]
    # The tombstone run's first request (its check of the box at the saved position) goes through.
    ctx.proxy.hold_key(SREM, nth=2, name="tombstone c")
    holds = ctx.proxy.snapshot().holds
    proc = ctx.kp.spawn("--json", "--timeout", TIMEOUT, "tombstone", "--next", "2", ch.write)
    tout = Output(proc)
    ctx.proxy.wait_for(lambda s: s.holds > holds or proc.poll() is not None, "the tombstone run's second request")
    land_held(ctx, "old write", len(old) - 1)
    ctx.proxy.release(UP, name="tombstone c")
    code = proc.wait(60)
    tout.poll()
    err = proc.stderr.read().decode(errors="replace").strip()
    proc.stderr.close()
    check(code == 0, "the tombstone after the killed write exited %d: %s" % (code, err))
    expect_ok(ctx.kp.run("--timeout", TIMEOUT, "write", ch.write, "after"), "the write after the tombstone")
    reported.append(b"after")
    print("  tombstone --next 2 after a killed write --split:")
    ctx.check_channel(ch, reported, old + [b"after"], late=old[len(reported) - 1:])


@scenario
def kill_read_count(ctx):
    """kill -9 of `read --count` at seeded points, then again from the saved position: every box
    is printed, the printed boxes are the channel's, and no saved position skips one."""
    ctx.sim.stop()
    ctx.start_sim("--latency", "5:10")
    ch = ctx.channel("c")
    data = b"".join(b"box %03d\n" % i for i in range(120))
    ctx.direct.ok("write", "--split", "lines", ch.write, stdin=data)
    runs = []
    for _ in range(4):
        proc = ctx.kp.spawn("--json", "--timeout", TIMEOUT, "read", "--count", "120", ch.read)
        out = Output(proc)
        kill_after(proc, out, ctx.rng.randrange(0, 30))
        proc.stderr.close()
        runs.append(parse_boxes(out.data))
    while True:
        code, out, err = run_json(ctx.kp, "--timeout", TIMEOUT, "read", "--no-wait", "--count", "1000", ch.read)
        runs.append(parse_boxes(out))
        if code == 6:
            break
        check(code == 0, "reading the rest exited %d: %s" % (code, err))
    print("  %s" % check_reads(read_channel(ctx.direct, ch.pristine, ctx.dir), runs))


@scenario
def kill_copy_state(ctx):
    """kill -9 of `copy --state` after a seeded number of client frames, then `copy --resume`
    (or, if the state was never written, the copy again) until it succeeds; then a write. The
    payload arrives exactly once, whole, before the write."""
    ctx.sim.stop()
    ctx.start_sim("--latency", "5:10")
    ch = ctx.channel("c")
    size = 6 * BOX_PAYLOAD + 100
    calibration = bytes(ctx.rng.getrandbits(8) for _ in range(size))
    attempted = [calibration[i:i + BOX_PAYLOAD] for i in range(0, size, BOX_PAYLOAD)]
    reported = list(attempted)
    keys, _ = frames_of(ctx, "copy", "--state", os.path.join(ctx.dir, "cal.state"), "--to", ch.write,
                        stdin=calibration)
    for rnd in range(3):
        payload = bytes(ctx.rng.getrandbits(8) for _ in range(size))
        chunks = [payload[i:i + BOX_PAYLOAD] for i in range(0, size, BOX_PAYLOAD)]
        attempted += chunks + [b"after copy %d" % rnd]
        state = os.path.join(ctx.dir, "copy%d.state" % rnd)
        src = os.path.join(ctx.dir, "payload%d" % rnd)
        with open(src, "wb") as f:
            f.write(payload)
        args = ["--state", state, "--to", ch.write, "--file", src]
        for attempt in range(4):
            before = ctx.proxy.snapshot()
            start = len(before.keys[UP])
            proc = ctx.kp.spawn("--timeout", TIMEOUT, "copy", *args, stdout=subprocess.DEVNULL)
            if attempt < 2:
                # The first kill anywhere, the second in the later half (stream boxes, copy command).
                point = ctx.rng.randrange(1 if attempt == 0 else len(keys) // 2, len(keys))
                ctx.proxy.wait_for(lambda s: len(s.keys[UP]) - start >= point or proc.poll() is not None,
                                   "client frame %d of the copy" % point, timeout=60)
                if proc.poll() is None:
                    proc.kill()
            proc.wait(60)
            err = proc.stderr.read().decode(errors="replace")
            proc.stderr.close()
            print("  copy %d attempt %d (%s): %d client frames, exit %d" % (
                rnd, attempt + 1, args[0], len(ctx.proxy.snapshot().keys[UP]) - start, proc.returncode))
            if proc.returncode == 0:
                break
            sent_copy = "start_resending_copy_command" in ctx.proxy.snapshot().keys[UP][start:]
            if not os.path.exists(state):
                # No state: either it was never written (nothing copied yet: start again) or the
                # copy succeeded and removed it just before the kill.
                if sent_copy:
                    break
                args = ["--state", state, "--to", ch.write, "--file", src]
            else:
                args = ["--resume", "--state", state]
            check(attempt < 3, "copy --resume kept failing: exit %d: %s" % (proc.returncode, err.strip()))
        reported += chunks
        expect_ok(ctx.kp.run("write", ch.write, b"after copy %d" % rnd), "the write after copy %d" % rnd)
        reported.append(b"after copy %d" % rnd)
    ctx.check_channel(ch, reported, attempted, exact=True)


@scenario
def interrupt_copy(ctx):
    """Ctrl-C (SIGINT) during `copy --state`: after each client frame, while the copy command's
    reply is held back, and the moment that reply has reached kpthin (the last phase: positions
    saved, state removed). kpthin either reports success (exit 0) or exits 130 keeping the state
    whenever the copy command may have been applied, and `copy --resume` then finishes it; the
    payload arrives exactly once, and the next write after it."""
    ctx.sim.stop()
    ctx.start_sim("--latency", "5")
    ch = ctx.channel("c")
    size = 2 * BOX_PAYLOAD + 10
    reported, attempted = [], []
    keys, _ = frames_of(ctx, "copy", "--to", ch.write, stdin=b"calibration")
    reported.append(b"calibration")
    attempted.append(b"calibration")
    reply = "start_resending_copy_command_reply"
    points = [("after client frame %d (%s)" % (k, key), k) for k, (key, _) in enumerate(keys[:-1], 1)]
    points += [("while the copy reply is held", "held"), ("as the copy reply arrives", "arrived")]
    for n, (when, point) in enumerate(points):
        payload = bytes(ctx.rng.getrandbits(8) for _ in range(size))
        chunks = [payload[i:i + BOX_PAYLOAD] for i in range(0, size, BOX_PAYLOAD)]
        after = b"after interrupt %d" % n
        attempted += chunks + [after]
        state, src = os.path.join(ctx.dir, "copy%d.state" % n), os.path.join(ctx.dir, "payload%d" % n)
        with open(src, "wb") as f:
            f.write(payload)
        start, stalls = len(ctx.proxy.snapshot().keys[UP]), ctx.proxy.snapshot().stalls
        if point in ("held", "arrived"):
            ctx.proxy.stall_at_key(reply)
        proc = ctx.kp.spawn("--timeout", TIMEOUT, "copy", "--state", state, "--to", ch.write, "--file", src,
                            stdout=subprocess.DEVNULL)
        if point == "held":
            ctx.proxy.wait_for(lambda s: s.stalls > stalls, "the held copy reply", timeout=60)
            proc.send_signal(signal.SIGINT)
            # kpthin answers Ctrl-C by cancelling at the daemon; then let the held frames go.
            ctx.proxy.wait_for(lambda s: "cancel_resending_copy_command" in s.keys[UP][start:]
                               or proc.poll() is not None, "kpthin to react to SIGINT", timeout=60)
            ctx.proxy.release(DOWN)
        elif point == "arrived":
            ctx.proxy.wait_for(lambda s: s.stalls > stalls, "the held copy reply", timeout=60)
            ctx.proxy.release(DOWN)
            # Counted over the whole scenario, so bytes an earlier, already exited kpthin never took
            # (a reply the daemon sent after it closed) are dropped, not delivered.
            ctx.proxy.wait_for(lambda s: s.delivered[DOWN] + s.dropped[DOWN] >= s.bytes[DOWN],
                               "the reply to reach kpthin")
            proc.send_signal(signal.SIGINT)
        else:
            ctx.proxy.wait_for(lambda s: len(s.keys[UP]) - start >= point or proc.poll() is not None,
                               "client frame %d" % point, timeout=60)
            proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
        err = proc.stderr.read().decode(errors="replace").strip()
        proc.stderr.close()
        ctx.proxy.disarm()
        ctx.proxy.release(DOWN)
        service_back(ctx)
        sent_copy = "start_resending_copy_command" in ctx.proxy.snapshot().keys[UP][start:]
        print("  SIGINT %s: exit %d, state %s" % (when, code, "kept" if os.path.exists(state) else "gone"))
        if code == 130:
            check(err.startswith("kpthin: ") or "\nkpthin: " in err, "exit 130 %s without a message" % when)
            if sent_copy:
                check(os.path.exists(state), "interrupted %s after the copy command was sent, kpthin exited 130 "
                      "and removed the state: nothing can tell whether the copy was applied" % when)
            if os.path.exists(state):
                expect_ok(ctx.kp.run("--timeout", TIMEOUT, "copy", "--resume", "--state", state, timeout=60),
                          "copy --resume after SIGINT %s" % when)
                reported += chunks
        else:
            check(code == 0, "copy interrupted %s exited %d: %s" % (when, code, err))
            check(not os.path.exists(state), "a finished copy must remove its state")
            reported += chunks
        expect_ok(ctx.kp.run("write", ch.write, after), "the write after the interrupted copy")
        reported.append(after)
    ctx.check_channel(ch, reported, attempted, exact=True)


# --------------------------------------------------------------- kill -9 and restart of the sim

def kill_sim(ctx, what):
    """SIGKILLs the simulator and starts it again on the same socket and --store file."""
    ctx.sim.proc.kill()
    ctx.sim.proc.wait()
    print("  killed the sim %s" % what)
    ctx.sim.start()


def finish(proc, out=None):
    """Waits for a spawned kpthin; returns (exit code, stderr text)."""
    code = proc.wait(120)
    if out:
        out.poll()
    err = proc.stderr.read().decode(errors="replace").strip()
    proc.stderr.close()
    return code, err


@scenario
def sim_kill_restart(ctx):
    """The simulator (with --store) is killed with SIGKILL and started again: twice during a
    `write --split lines`, once during a `read --count`, once during a `copy --state` (at a
    seeded client frame). kpthin reconnects to the new instance and finishes (the copy, if it
    gives up, by --resume): every line once, every box printed once, the payload once."""
    ctx.sim.stop()
    ctx.start_sim("--latency", "5:10")
    ch = ctx.channel("c")
    lines = [b"line %03d\n" % i for i in range(150)]
    path = os.path.join(ctx.dir, "input")
    with open(path, "wb") as f:
        f.write(b"".join(lines))
    proc = ctx.kp.spawn("--json", "--timeout", "60s", "write", "--split", "lines", ch.write, stdin=open(path, "rb"))
    out = Output(proc)
    for at in sorted(ctx.rng.sample(range(5, 140), 2)):
        wait_for(lambda: confirmed(out.poll()) >= at or proc.poll() is not None, "%d confirmed lines" % at, timeout=60)
        kill_sim(ctx, "after %d confirmed lines" % confirmed(out.data))
    code, err = finish(proc, out)
    check(code == 0, "write --split across two sim crashes exited %d: %s" % (code, err[-600:]))
    check(confirmed(out.data) == len(lines), "reported %d of %d lines" % (confirmed(out.data), len(lines)))
    check(ctx.sim.stats()["boxes"] >= len(lines), "the restarted sim must have the boxes from its store")
    reported = list(lines)

    proc = ctx.kp.spawn("--json", "--timeout", "60s", "read", "--count", str(len(lines)), ch.read)
    out = Output(proc)
    at = ctx.rng.randrange(5, 100)
    wait_for(lambda: out.lines() >= at or proc.poll() is not None, "%d printed boxes" % at, timeout=60)
    kill_sim(ctx, "after %d printed boxes" % out.lines())
    code, err = finish(proc, out)
    check(code == 0, "read --count across a sim crash exited %d: %s" % (code, err[-600:]))
    summary = check_reads(read_channel(ctx.direct, ch.pristine, ctx.dir), [parse_boxes(out.data)])
    check(summary.endswith(" 0 again after a crash"), "one reader run must print each box once: " + summary)

    payload = bytes(ctx.rng.getrandbits(8) for _ in range(6 * BOX_PAYLOAD))
    chunks = [payload[i:i + BOX_PAYLOAD] for i in range(0, len(payload), BOX_PAYLOAD)]
    src, state = os.path.join(ctx.dir, "payload"), os.path.join(ctx.dir, "copy.state")
    with open(src, "wb") as f:
        f.write(payload)
    start = len(ctx.proxy.snapshot().keys[UP])
    point = ctx.rng.randrange(2, 14)
    proc = ctx.kp.spawn("--timeout", "60s", "copy", "--state", state, "--to", ch.write, "--file", src,
                        stdout=subprocess.DEVNULL)
    ctx.proxy.wait_for(lambda s: len(s.keys[UP]) - start >= point or proc.poll() is not None,
                       "client frame %d of the copy" % point, timeout=60)
    kill_sim(ctx, "after client frame %d of copy --state" % point)
    code, err = finish(proc)
    if code != 0:
        check(os.path.exists(state), "a copy that failed across a sim crash must keep its state: %s" % err)
        expect_ok(ctx.kp.run("--timeout", "60s", "copy", "--resume", "--state", state, timeout=120),
                  "copy --resume after the sim crash")
    reported += chunks
    expect_ok(ctx.kp.run("write", ch.write, "after the copy"), "the write after the copy")
    reported.append(b"after the copy")
    ctx.check_channel(ch, reported, list(reported), exact=True)


# ------------------------------------------------------------------------ full disk (item 3)

def in_private_mount_namespace(ctx):
    """Re-runs this scenario in a private mount namespace (so it can mount a tmpfs) and returns
    its exit status; None if this already is that run."""
    if os.environ.get("KPTHIN_CHAOS_NS") == "1":
        return None
    env = dict(os.environ, KPTHIN_CHAOS_NS="1", CHAOS_SEED=str(ctx.seed))
    argv = [sys.executable, os.path.abspath(__file__), "--kpthin", ctx.args.kpthin, "--sim", ctx.args.sim,
            ctx.args.scenario]
    unshare = shutil.which("unshare")
    if not unshare:
        print("SKIP: unshare(1) is not installed; a private tmpfs cannot be mounted")
        return SKIP
    for flags in ([] if os.geteuid() else [["-m"]]) + [["-r", "-m"]]:
        probe = subprocess.run([unshare] + flags + ["sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=64k "
                               "tmpfs \"$d\" && umount \"$d\"; s=$?; rmdir \"$d\"; exit $s"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if probe.returncode == 0:
            return subprocess.run([unshare] + flags + argv, env=env).returncode
        why = probe.stderr.decode(errors="replace").strip()
    print("SKIP: cannot mount a private tmpfs (unshare -m as root or unshare -rm): %s" % why)
    return SKIP


def fill(directory):
    """Fills the filesystem of `directory`; returns the filler's path."""
    path = os.path.join(directory, "filler")
    chunk = b"\0" * 4096
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as e:
            check(e.errno == errno.ENOSPC, "filling the tmpfs failed with %s" % e)
    return path


@scenario
def enospc_save(ctx):
    """The disk holding the channel files is full at each position save (a 256 KiB tmpfs, filled
    while the proxy holds back the reply that precedes the save): of a write, of each box of a
    `write --split lines`, of each box of a `read --count`. kpthin fails, the disk is freed, and
    the next write loses nothing; the next read skips nothing."""
    status = in_private_mount_namespace(ctx)
    if status is not None:
        raise SystemExit(status)
    fs = os.path.join(ctx.dir, "fs")
    os.mkdir(fs)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", fs], check=True)
    try:
        ctx.direct.ok("keypair", os.path.join(fs, "c"))
        ch = Channel.__new__(Channel)
        ch.write, ch.read = os.path.join(fs, "c.write"), os.path.join(fs, "c.read")
        ch.pristine = os.path.join(ctx.dir, "pristine-c.read")
        shutil.copy2(ch.read, ch.pristine)
        reported, attempted = [], []

        def full_at(nth_reply, args, stdin=None):
            """Runs kpthin ARGS with the disk filled just before the nth start-resending reply."""
            ctx.proxy.stall_at_key(SREM + "_reply", nth=nth_reply)
            proc = ctx.kp.spawn("--json", "--timeout", TIMEOUT, *args,
                                stdin=open(stdin, "rb") if stdin else subprocess.DEVNULL)
            out = Output(proc)
            stalls = ctx.proxy.snapshot().stalls
            ctx.proxy.wait_for(lambda s: s.stalls > stalls or proc.poll() is not None, "the reply to hold", timeout=60)
            filler = fill(fs)
            ctx.proxy.release(DOWN)
            code = proc.wait(60)
            out.poll()
            err = proc.stderr.read().decode(errors="replace")
            proc.stderr.close()
            os.unlink(filler)
            ctx.proxy.disarm()
            return code, out.data, err

        # One write: its only save fails.
        code, out, err = full_at(1, ["write", ch.write, "saved on a full disk"])
        attempted.append(b"saved on a full disk")
        check(code != 0 and "kpthin:" in err, "a write whose save failed must fail (exit %d): %s" % (code, err))
        print("  full disk, write: exit %d: %s" % (code, err.strip().splitlines()[-1]))
        for m in (b"after the full disk", b"and one more"):
            attempted.append(m)
            expect_ok(ctx.kp.run("write", ch.write, m), "the write after the full disk")
            reported.append(m)
        # write --split lines: the save after the nth box.
        for nth in range(1, 5):
            lines = [b"split %d line %d\n" % (nth, i) for i in range(4)]
            attempted += lines
            src = os.path.join(ctx.dir, "input")
            with open(src, "wb") as f:
                f.write(b"".join(lines))
            code, out, err = full_at(nth, ["write", "--split", "lines", ch.write], stdin=src)
            reported += lines[:confirmed(out)]  # a box reported confirmed is written, whatever follows
            after = b"after split full at box %d" % nth
            attempted.append(after)
            expect_ok(ctx.kp.run("write", ch.write, after), "the write after a full disk at box %d" % nth)
            reported.append(after)
        ctx.check_channel(ch, reported, attempted, at_least_once=True)

        # read --count 3: the save after the nth box fails; the next read goes on from the box
        # after the last one whose position was saved (it may print a box again, never skip one).
        runs = []
        for nth in range(1, 4):
            code, out, err = full_at(nth, ["read", "--count", "3", ch.read])
            runs.append(parse_boxes(out))
            check(code != 0 or len(runs[-1]) == 3, "read exit %d: %s" % (code, err))
        while True:
            code, out, err = run_json(ctx.kp, "read", "--no-wait", "--count", "1000", ch.read)
            runs.append(parse_boxes(out))
            if code == 6:
                break
            check(code in (0, 7), "reading the rest exited %d: %s" % (code, err))
        print("  %s" % check_reads(read_channel(ctx.direct, ch.pristine, ctx.dir), runs))
    finally:
        subprocess.run(["umount", "-l", fs])


# ----------------------------------------------------------------- symlinked channels (item 4)

@scenario
def symlinked_channel(ctx):
    """Channel files reached through symlinks (relative, and a chain of two): writes and reads
    alternate between a link and the file it points to. The links stay links, and every message
    and box is seen once, in order."""
    ch = ctx.channel("c")
    real = os.path.join(ctx.dir, "real")
    os.mkdir(real)
    for f in (ch.write, ch.read):
        os.rename(f, os.path.join(real, os.path.basename(f)))
        os.symlink(os.path.join("real", os.path.basename(f)), f)
    os.symlink("c.write", os.path.join(ctx.dir, "chain.write"))
    ways = [ch.write, os.path.join(real, "c.write"), os.path.join(ctx.dir, "chain.write")]
    reported = []
    for i in range(6):
        m = b"message %d via %s" % (i, os.path.relpath(ways[i % 3], ctx.dir).encode())
        expect_ok(ctx.kp.run("write", ways[i % 3], m), "write via %s" % ways[i % 3])
        reported.append(m)
    ctx.check_channel(ch, reported, list(reported), exact=True)
    check(os.path.islink(ch.write) and os.readlink(ch.write) == "real/c.write",
          "saving through the link must keep it a link to real/c.write")
    check(os.path.islink(os.path.join(ctx.dir, "chain.write")), "the chained link must stay a link")
    runs = []
    for path in (ch.read, os.path.join(real, "c.read"), ch.read):
        code, out, err = run_json(ctx.kp, "read", "--count", "2", path)
        check(code == 0, "read via %s exited %d: %s" % (path, code, err))
        runs.append(parse_boxes(out))
    check(os.path.islink(ch.read), "saving the read position through the link must keep it a link")
    print("  %s" % check_reads(read_channel(ctx.direct, ch.pristine, ctx.dir), runs))


# ------------------------------------------------------- damaged or unsafe local files (5, 8, 9)

@scenario
def file_faults(ctx):
    """Local files in a bad state, each followed by writes that must lose nothing:
    a NAME.write others can read (0644) is refused (exit 3, `chmod 600`), not used; a
    `keypair --force` that fails half way (NAME.read cannot be replaced) keeps the old pair; a copy
    state file with a wrong-typed field is refused naming it (exit 3) and resumes once repaired."""
    ch = ctx.channel("c")
    reported = [b"before"]
    expect_ok(ctx.kp.run("write", ch.write, "before"), "the first write")

    os.chmod(ch.write, 0o644)
    before = open(ch.write, "rb").read()
    code, _, err = ctx.kp.run("write", ch.write, "through a 0644 file")
    check(code == 3 and "chmod 600" in err, "a NAME.write readable by others must be refused with exit 3 and "
          "the chmod to run; got exit %d: %s" % (code, err.strip()))
    check(open(ch.write, "rb").read() == before, "the refused channel file must be unchanged")
    os.chmod(ch.write, 0o600)
    expect_ok(ctx.kp.run("write", ch.write, "after chmod 600"), "the write after chmod 600")
    reported.append(b"after chmod 600")

    before = open(ch.write, "rb").read()
    os.rename(ch.read, ch.read + ".aside")
    os.mkdir(ch.read)
    open(os.path.join(ch.read, "occupied"), "w").close()
    code, _, err = ctx.kp.run("keypair", "--force", os.path.join(ctx.dir, "c"))
    check(code != 0, "keypair --force must fail when c.read cannot be replaced")
    check(os.path.exists(ch.write) and open(ch.write, "rb").read() == before,
          "a keypair --force that failed half way must keep the old c.write: %s" % err.strip())
    shutil.rmtree(ch.read)
    os.rename(ch.read + ".aside", ch.read)
    expect_ok(ctx.kp.run("write", ch.write, "after the failed --force"), "the write after the failed --force")
    reported.append(b"after the failed --force")

    state, src = os.path.join(ctx.dir, "copy.state"), os.path.join(ctx.dir, "payload")
    payload = bytes(ctx.rng.getrandbits(8) for _ in range(2 * BOX_PAYLOAD))
    with open(src, "wb") as f:
        f.write(payload)
    # The copy command reaches the daemon, then the daemon is away for longer than --timeout.
    ctx.proxy.cut_after_key("start_resending_copy_command", blackout=3.0)
    code, _, err = ctx.kp.run("--timeout", "1s", "copy", "--state", state, "--to", ch.write, "--file", src)
    check(code != 0 and os.path.exists(state), "a copy cut off by a long blackout must fail and keep its state: "
          "exit %d: %s" % (code, err.strip()))
    ctx.proxy.disarm()
    good = open(state, "rb").read()
    broken = json.loads(good)
    broken["elements_written"] = "four"
    with open(state, "w") as f:
        json.dump(broken, f)
    service_back(ctx)
    code, _, err = ctx.kp.run("copy", "--resume", "--state", state)
    check(code == 3 and "elements_written" in err, "a state file with a wrong-typed field must be refused with "
          "exit 3 naming the field; got exit %d: %s" % (code, err.strip()))
    with open(state, "wb") as f:
        f.write(good)
    expect_ok(ctx.kp.run("copy", "--resume", "--state", state), "the resume of the repaired state")
    reported += [payload[i:i + BOX_PAYLOAD] for i in range(0, len(payload), BOX_PAYLOAD)]
    expect_ok(ctx.kp.run("write", ch.write, "the end"), "the last write")
    reported.append(b"the end")
    ctx.check_channel(ch, reported, list(reported), exact=True)


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kpthin", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    args = ap.parse_args()
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1 << 32))
    print("%s: seed %d (CHAOS_SEED=%d reproduces it)" % (args.scenario, seed, seed), flush=True)
    with Workdir() as workdir:
        ctx = Context(args, workdir, seed)
        started = time.monotonic()
        try:
            SCENARIOS[args.scenario](ctx)
            print("PASS %s (%.1fs)" % (args.scenario, time.monotonic() - started))
            return 0
        except (Failure, TimeoutError, subprocess.TimeoutExpired) as e:
            print("FAIL %s (seed %d): %s" % (args.scenario, seed, e))
            try:
                print(open(os.path.join(ctx.sim_dir, "sim.log")).read()[-2000:])
            except OSError:
                pass
            return 1
        finally:
            ctx.close()


if __name__ == "__main__":
    sys.exit(main())
