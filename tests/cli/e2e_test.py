#!/usr/bin/env python3
"""End-to-end tests of the kpthin binary against kpclientd-sim, one scenario per invocation:

    e2e_test.py --kpthin PATH --sim PATH SCENARIO

Every wait is a bounded poll on a condition (harness.wait_for); no sleep stands in for one."""
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_scenarios, Failure, Kpthin, Output, Sim, Workdir, check, expect, json_results, snapshot, unchanged,  # noqa: E402
                     wait_for)

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def read_all_no_wait(kp, channel):
    """Reads every box already written, until exit 6; returns the concatenated bytes."""
    code, out, err = kp.run("read", "--no-wait", "--count", "100000", channel)
    check(code == 6, "reading until the end should stop with 6, got %d: %s" % (code, err))
    return out


def saved_copy_state(path, condition):
    """The copy state file's content once it parses and meets `condition`, else None."""
    try:
        s = json.load(open(path))
    except (OSError, ValueError):
        return None
    return s if condition(s) else None


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def restore(path, content):
    """Puts an older content back into a channel file (a stale position), keeping its mode."""
    with open(path, "wb") as f:
        f.write(content)


@contextlib.contextmanager
def stale_position(path):
    """Whatever the block writes through the channel file `path`, its saved position is put back
    afterwards: the boxes are written, the file is left behind them (a stale position)."""
    content = file_bytes(path)
    yield
    restore(path, content)


def to_old_format(path):
    """Rewrites a channel file as kpthin wrote it before read_capability and first_index existed
    (kind, capability, index and the v1 checksum)."""
    fields = dict(line.split(" = ", 1) for line in open(path).read().splitlines()
                  if " = " in line and not line.startswith("#"))
    fields = {k: v.strip('"') for k, v in fields.items()}
    data = (b"kpthin-channel-v1\0" + fields["kind"].encode() + b"\0" + base64.b64decode(fields["capability"]) +
            base64.b64decode(fields["index"]))
    text = 'kind = "%s"\ncapability = "%s"\nindex = "%s"\nchecksum = "%s"\n' % (
        fields["kind"], fields["capability"], fields["index"], hashlib.blake2b(data, digest_size=32).hexdigest()[:16])
    restore(path, text.encode())


def run_with_file_size_limit(kp, limit, *args):
    """Runs kpthin unable to write files larger than `limit` bytes (saving a channel file fails
    like on a full disk: EFBIG instead of ENOSPC, the same path in kpthin)."""
    def limit_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    p = subprocess.run(kp.argv(args), cwd=kp.cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=60, preexec_fn=limit_files)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


# ---------------------------------------------------------------------------------------------

@scenario
def keypair(ctx):
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "chat")
    for suffix, kind in ((".write", "write"), (".read", "read")):
        path = os.path.join(d, "chat" + suffix)
        check(os.stat(path).st_mode & 0o777 == 0o600, "%s must be mode 0600" % path)
        text = open(path).read()
        check('kind = "%s"' % kind in text, "%s must say kind %s" % (path, kind))
        check("first_index = " in text, "%s must keep the channel's first index" % path)
        check(("read_capability = " in text) == (kind == "write"), "only %s keeps the read capability" % path)
    expect(kp.run("keypair", "chat"), 2, "already exists")
    # pigeonhole-cp text: print without files, export/import round trip.
    printed = kp.ok("keypair", "--print", "--no-files", "tmp").decode()
    check(printed.startswith("Read Capability (share with recipient):\n"), printed)
    check("Write Capability (keep secret):" in printed and "First Index:" in printed, printed)
    check(not os.path.exists(os.path.join(d, "tmp.write")), "--no-files must not create files")
    exported = kp.ok("keypair", "--export", "chat").decode()
    kp.ok("keypair", "--import", "-", "copy", stdin=exported.encode())
    check(kp.ok("keypair", "--export", "copy").decode() == exported, "export/import must round-trip")
    check("read_capability = " in open(os.path.join(d, "copy.write")).read(), "import keeps the read capability")
    # Deterministic seeds give the same channel.
    with open(os.path.join(d, "seed"), "wb") as f:
        f.write(bytes(range(32)))
    kp.ok("keypair", "--seed-file", "seed", "s1")
    kp.ok("keypair", "--seed-file", "seed", "s2")
    check(kp.ok("keypair", "--export", "s1") == kp.ok("keypair", "--export", "s2"), "same seed, same caps")
    # A channel created by import is usable end to end.
    kp.ok("write", "copy.write", "via import")
    check(kp.ok("read", "chat.read") == b"via import", "imported write cap writes the original channel")
    # --export NAME.write carries the writer's position (where pigeonhole-cp send goes on),
    # NAME.read the reader's, NAME alone the writer's.
    kp.ok("keypair", "e")
    kp.ok("write", "--split", "lines", "e.write", stdin=b"a\nb\n")
    kp.ok("read", "e.read")

    def position(text):
        lines = text.splitlines()
        return base64.b64decode(lines[lines.index("First Index:") + 1])

    def saved(name):
        index = [l for l in open(os.path.join(d, name)).read().splitlines() if l.startswith("index = ")][0]
        return base64.b64decode(index.split('"')[1])

    by_writer = kp.ok("keypair", "--export", "e.write").decode()
    check(position(by_writer) == saved("e.write") and "Write Capability" in by_writer, by_writer)
    by_reader = kp.ok("keypair", "--export", "e.read").decode()
    check(position(by_reader) == saved("e.read") and "Write Capability" not in by_reader, by_reader)
    check(saved("e.read") != saved("e.write"), "the reader is behind the writer here")
    check(kp.ok("keypair", "--export", "e").decode() == by_writer, "NAME alone exports the writer's position")
    expect(kp.run("keypair", "--export", "none.write"), 3, "none.write does not exist")


@scenario
def write_read(ctx):
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    before = file_bytes(os.path.join(d, "c.write"))
    kp.ok("write", "c.write", "hello")
    check(file_bytes(os.path.join(d, "c.write")) != before, "the write position must advance")
    kp.ok("write", "c.write", stdin=b"from stdin\n")
    with open(os.path.join(d, "msg"), "wb") as f:
        f.write(b"\x00\x01binary\xff")
    kp.ok("write", "--file", "msg", "c.write")
    check(kp.ok("read", "c.read") == b"hello", "first box")
    check(kp.ok("read", "c.read") == b"from stdin\n", "second box, bytes unmodified")
    check(kp.ok("read", "c.read") == b"\x00\x01binary\xff", "third box, binary")
    expect(kp.run("read", "--no-wait", "c.read"), 6, "not been written yet")
    # Delimiters for line-oriented consumers.
    kp.ok("write", "c.write", "a")
    kp.ok("write", "c.write", "b")
    check(kp.ok("read", "-n", "2", "-d", "\\n", "c.read") == b"a\nb\n", "--delimiter")


@scenario
def read_ahead_ramp(ctx):
    """Reading to the end of a short channel must not prepare a whole window of reads: each
    costs the real daemon seconds of CPU. The reads allowed in flight start at 2 and double per
    delivered box."""
    kp = ctx.kp
    kp.ok("keypair", "c")
    kp.ok("write", "c.write", "one")
    kp.ok("write", "c.write", "two")
    before = ctx.sim.stats().get("req.encrypt_read", 0)
    check(read_all_no_wait(kp, "c.read") == b"onetwo", "both boxes, then the end")
    prepared = ctx.sim.stats().get("req.encrypt_read", 0) - before
    # At most 2 + 3 + 5 = 10: two in flight at first, up to 4 after box 1, up to 8 after box 2
    # (a full window would be 32).
    check(3 <= prepared <= 10, "2 boxes and the end took %d prepared reads (expected 3..10)" % prepared)


@scenario
def split_lines_1000(ctx):
    kp = ctx.kp
    kp.ok("keypair", "c")
    data = subprocess.run(["seq", "1", "1000"], stdout=subprocess.PIPE, check=True).stdout
    kp.ok("write", "--split", "lines", "c.write", stdin=data)
    out = kp.ok("read", "--count", "1000", "c.read")
    check(out == data, "read --count 1000 must reproduce seq 1 1000 byte for byte (%d vs %d bytes)" % (len(out), len(data)))
    expect(kp.run("read", "--no-wait", "c.read"), 6)
    # Chunks: a binary input through --split SIZE.
    blob = random.Random(1).randbytes(10_000)
    kp.ok("write", "--split", "1000", "c.write", stdin=blob)
    check(kp.ok("read", "--count", "10", "c.read") == blob, "--split 1000 round trip")
    leftovers = [n for n in os.listdir(ctx.dir) if ".tmp." in n]
    check(not leftovers, "temporary files left behind: %s" % leftovers)
    # Progress goes to stderr only when it is a terminal (at once with KPTHIN_PROGRESS_DELAY=0;
    # by default only after a second).
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen(kp.argv(["write", "--split", "lines", "c.write"]), cwd=ctx.dir, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=slave, env=dict(os.environ, KPTHIN_PROGRESS_DELAY="0"))
    os.close(slave)
    out, _ = p.communicate(data, timeout=60)
    shown = b""
    try:
        while True:
            chunk = os.read(master, 65536)
            if not chunk:
                break
            shown += chunk
    except OSError:
        pass
    os.close(master)
    check(p.returncode == 0 and out == b"", "write under a terminal")
    check(b"boxes written: " in shown, "no progress on a terminal stderr: %r" % shown[:200])
    _, _, err = kp.run("write", "--split", "lines", "c.write", stdin=data)
    check("boxes written" not in err, "progress must not go to a non-terminal stderr")


@scenario
def binary_copy(ctx):
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    blob = random.Random(2).randbytes(50_000)
    with open(os.path.join(d, "blob"), "wb") as f:
        f.write(blob)
    kp.ok("copy", "--to", "c.write", "--file", "blob")
    check(read_all_no_wait(kp, "c.read") == blob, "copy round trip of a binary file")
    # stdin works as the payload too, and the destination position moved past the copy.
    kp.ok("copy", "--to", "c.write", stdin=b"second payload")
    check(read_all_no_wait(kp, "c.read") == b"second payload", "copy from stdin lands after the first copy")


@scenario
def multi_copy(ctx):
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "a")
    kp.ok("keypair", "b")
    pa, pb = random.Random(3).randbytes(7000), b"short payload for b"
    open(os.path.join(d, "pa"), "wb").write(pa)
    open(os.path.join(d, "pb"), "wb").write(pb)
    kp.ok("copy", "--to", "a.write", "--file", "pa", "--to", "b.write", "--file", "pb")
    check(read_all_no_wait(kp, "a.read") == pa, "destination a")
    check(read_all_no_wait(kp, "b.read") == pb, "destination b")
    expect(kp.run("copy", "--to", "a.write", "--to", "b.write", "--file", "pa"), 2, "one --file per --to")
    expect(kp.run("copy", "--to", "a.write", "--file", "pa", "--to", "a.write", "--file", "pb"), 2, "twice")


@scenario
def until_empty(ctx):
    """`read --until-empty` is the clean end of a copied payload: exit 0 at the first box not
    written yet, after at least one box; exit 6 when there is nothing to read; -n caps it."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "a")
    kp.ok("keypair", "b")
    pa, pb = random.Random(5).randbytes(9000), b"the payload for b"
    open(os.path.join(d, "pa"), "wb").write(pa)
    open(os.path.join(d, "pb"), "wb").write(pb)
    kp.ok("copy", "--to", "a.write", "--file", "pa", "--to", "b.write", "--file", "pb")
    code, out, err = kp.run("read", "--until-empty", "a.read")
    check(code == 0 and out == pa and "kpthin:" not in err,
          "read --until-empty of a copied payload: exit %d, %d of %d bytes, %s" % (code, len(out), len(pa), err))
    check(kp.ok("read", "--until-empty", "b.read") == pb, "the second destination")
    # Nothing new: the first box is not written, which is a failure a script can see (exit 6).
    expect(kp.run("read", "--until-empty", "a.read"), 6, "not been written yet")
    # -n caps the count; the rest is still there; skipped tombstones count as boxes read.
    kp.ok("write", "--split", "lines", "b.write", stdin=b"1\n2\n3\n")
    kp.ok("tombstone", "--last", "1", "b.write")
    check(kp.ok("read", "--until-empty", "-n", "1", "-d", ",", "b.read") == b"1\n,", "-n 1 caps the read")
    code, out, err = kp.run("--json", "read", "--until-empty", "--skip-tombstones", "b.read")
    got = [json.loads(l) for l in out.decode().splitlines()]
    check(code == 0 and [(o["box"], o.get("tombstone", False)) for o in got] == [(3, False), (4, True)],
          "json lines up to the end: exit %d, %s, %s" % (code, got, err))
    expect(kp.run("read", "--until-empty", "b.read"), 6)
    kp.ok("write", "b.write", "x")
    kp.ok("tombstone", "--last", "1", "b.write")
    check(kp.run("read", "--until-empty", "--skip-tombstones", "b.read")[0] == 0,
          "a skipped tombstone is a box read: the end after it is clean")
    expect(kp.run("read", "--until-empty", "--follow", "b.read"), 2, "--follow")
    expect(kp.run("read", "--until-empty", "--framed", "b.read"), 2, "--until-empty")


@scenario
def copy_resume(ctx):
    kp, d = ctx.kp, ctx.dir
    # A slow simulator so the copy is interrupted half-way through its stream.
    ctx.restart_sim("--pacing", "20")
    kp.ok("keypair", "c")
    blob = random.Random(4).randbytes(60_000)  # 42 stream boxes
    open(os.path.join(d, "blob"), "wb").write(blob)
    dest_before = file_bytes(os.path.join(d, "c.write"))
    state = os.path.join(d, "copy.state")
    # The mixnet goes away after 32 of the 42 stream boxes are answered, so the copy cannot finish
    # before the Ctrl-C however slow this machine is. Replies come in any order (each write is
    # its own request), but the first box is among any 32 answered: a window of 32 boxes is in
    # flight until it is confirmed.
    check(ctx.sim.control("offline-after-writes 32") == "ok", "sim control offline-after-writes")
    p = kp.spawn("copy", "--state", state, "--to", "c.write", "--file", "blob")
    # The background saver may skip a partial state, so wait for the saved progress.
    wait_for(lambda: saved_copy_state(state, lambda s: s["elements_written"] > 0) and sim_offline(ctx),
             "the copy to confirm some stream boxes", timeout=60)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    ctx.sim.control("online")
    check(p.returncode == 130, "Ctrl-C during copy must exit 130, got %d: %s" % (p.returncode, err.decode()))
    check(b"--resume" in err, "the interrupted copy must say how to resume")
    s = json.load(open(state))
    written, total = s["elements_written"], s["elements_total"]
    check(0 < written < total, "state must record partial progress (%d/%d)" % (written, total))
    check(file_bytes(os.path.join(d, "c.write")) == dest_before, "destination must not move before the copy")
    check(os.stat(state).st_mode & 0o777 == 0o600, "the state file holds a write cap: mode 0600")
    saved_files = {path: file_bytes(path) for path in (state, state + ".elements")}
    # A `tombstone --next` on the destination died meanwhile: its tombstones may still land where
    # the copy goes, so the resume refuses (a new copy would tombstone those boxes first).
    marker = os.path.join(d, "c.write.unfinished")
    open(marker, "w").write("tombstones-through-box 3\n")
    code, _, err = kp.run("copy", "--resume", "--state", state)
    check(code == 9 and "tombstone --next" in err and "start it again" in err, "exit %d: %s" % (code, err))
    os.unlink(marker)
    sends_before = ctx.sim.stats().get("req.start_resending_encrypted_message", 0)
    kp.ok("copy", "--resume", "--state", state)
    sends = ctx.sim.stats().get("req.start_resending_encrypted_message", 0) - sends_before
    check(sends == total - written, "resume must send exactly the %d unconfirmed boxes, sent %d" % (total - written, sends))
    check(not os.path.exists(state), "state file removed after success")
    check(read_all_no_wait(kp, "c.read") == blob, "resumed copy delivers the payload")
    # The state of a copy that finished (as left by a crash after the courier's verdict): the
    # resume says so and succeeds without copying again.
    for path, data in saved_files.items():
        open(path, "wb").write(data)
    copies = ctx.sim.stats()["copies_applied"]
    code, _, err = kp.run("copy", "--resume", "--state", state)
    check(code == 0 and "already finished" in err, "resuming a finished copy: exit %d, %s" % (code, err))
    check(ctx.sim.stats()["copies_applied"] == copies, "a finished copy is not sent to the courier again")
    check(not os.path.exists(state) and not os.path.exists(state + ".elements"), "the finished state is removed")
    # No state at all: nothing to resume (exit 3), and how to start a copy.
    code, _, err = kp.run("copy", "--resume", "--state", state)
    expect((code, b"", err), 3, "there is no interrupted copy to resume")
    check("cannot read" not in err and "kpthin copy --state " + state in err, "missing state: %s" % err)


@scenario
def copy_resume_stale(ctx):
    """The copy state is saved in the background, so after a crash it may lag behind the
    confirmed boxes. Resuming from an older state rewrites confirmed temporary boxes with the same
    content, which the daemon accepts (a default write is idempotent); the payload arrives once."""
    kp, d = ctx.kp, ctx.dir
    ctx.restart_sim("--pacing", "20")
    kp.ok("keypair", "c")
    blob = random.Random(6).randbytes(60_000)  # 42 stream boxes
    open(os.path.join(d, "blob"), "wb").write(blob)
    state = os.path.join(d, "copy.state")
    # The mixnet goes away after 32 of the 42 stream boxes are answered (the first among them, as
    # in copy_resume), so the copy cannot finish before the kill however slow this machine is;
    # the kill leaves no chance to save anything more.
    check(ctx.sim.control("offline-after-writes 32") == "ok", "sim control offline-after-writes")
    p = kp.spawn("copy", "--state", state, "--to", "c.write", "--file", "blob")

    def progressed():
        return saved_copy_state(state, lambda s: s["elements_written"] > 0) and sim_offline(ctx)

    wait_for(progressed, "the copy to confirm some stream boxes", timeout=60)
    p.kill()
    p.communicate(timeout=30)
    ctx.sim.control("online")
    later = json.load(open(state))
    check(0 < later["elements_written"] < later["elements_total"], "partial progress: %r" % later["elements_written"])
    # The oldest state the command wrote (before the first box), as if every background save had
    # been lost: nothing confirmed, the temporary stream starting at its first box.
    first = dict(later, elements_written=0, temp_next_index=later["temp_start_index"])
    with open(state, "w") as f:
        json.dump(first, f)
    sends_before = ctx.sim.stats().get("req.start_resending_encrypted_message", 0)
    kp.ok("copy", "--resume", "--state", state)
    sends = ctx.sim.stats().get("req.start_resending_encrypted_message", 0) - sends_before
    check(sends == first["elements_total"], "the resume rewrites from box 0: %d sends" % sends)
    check(read_all_no_wait(kp, "c.read") == blob, "the payload arrives exactly once after rewriting confirmed boxes")


def sim_offline(ctx):
    return ctx.sim.stats().get("offline") == 1


def full_pipe():
    """A pipe whose buffer is full: a process writing to its write end blocks until the read end
    is drained. Returns (read_fd, write_fd)."""
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    os.set_blocking(w, False)
    try:
        while True:
            os.write(w, b"." * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(w, True)
    return r, w


def drain(fd):
    data = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return data
        data += chunk


def interrupted_while_reporting(kp, args, done, what, sig=signal.SIGINT):
    """Runs kpthin `args` with --json and stdout a full pipe, waits until done() (its work is
    complete, so it is blocked writing its result), sends `sig`, drains the pipe. Returns
    (exit code, the JSON result, stderr)."""
    r, w = full_pipe()
    p = kp.spawn("--json", *args, stdout=w)
    os.close(w)
    try:
        wait_for(done, what, timeout=60)
        check(p.poll() is None, "kpthin must still be writing its result to the full pipe")
        p.send_signal(sig)
        out = drain(r)
    finally:
        os.close(r)
    err = p.stderr.read().decode()
    p.wait(timeout=30)
    try:
        result = json.loads(out.lstrip(b".").decode())
    except ValueError:
        result = None
    return p.returncode, result, err


@scenario
def copy_interrupt_after_done(ctx):
    """Ctrl-C that arrives once the courier has applied the copy cannot undo it: kpthin reports
    the completion and exits 0. The interrupt point is deterministic: stdout is a full pipe, so
    kpthin blocks writing its --json result, after the copy completed and its state was removed."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    payload = random.Random(8).randbytes(4000)
    open(os.path.join(d, "blob"), "wb").write(payload)
    state = os.path.join(d, "copy.state")
    code, result, err = interrupted_while_reporting(
        kp, ("copy", "--state", state, "--to", "c.write", "--file", "blob"),
        lambda: ctx.sim.stats()["copies_applied"] == 1 and not os.path.exists(state),
        "the copy to be applied and its state removed")
    check(code == 0, "Ctrl-C after the copy completed must exit 0, got %d: %s" % (code, err))
    check("the copy had already completed" in err and "nothing to resume" in err, "stderr: %s" % err)
    check(result and result["destinations"] == [{"channel": "c.write"}], "the --json result is still printed: %r" % result)
    check(read_all_no_wait(kp, "c.read") == payload, "the copy was delivered")
    expect(kp.run("copy", "--resume", "--state", state), 3, "no interrupted copy to resume")

    # tombstone --atomic goes through the courier the same way; SIGTERM is handled as SIGINT.
    before = file_bytes(os.path.join(d, "c.write"))
    code, result, err = interrupted_while_reporting(
        kp, ("tombstone", "--atomic", "--next", "2", "c.write"),
        lambda: file_bytes(os.path.join(d, "c.write")) != before, "the tombstones to be applied and saved",
        signal.SIGTERM)
    check(code == 0, "SIGTERM after the atomic tombstones were written must exit 0, got %d: %s" % (code, err))
    check("already written the tombstones" in err, "stderr: %s" % err)
    check(result and result["tombstoned"] == 2, "the --json result is still printed: %r" % result)


@scenario
def copy_state_damaged(ctx):
    """A damaged copy state file is an input error (exit 3) naming the file and the field, never
    an internal error to report."""
    kp, d = ctx.kp, ctx.dir
    ctx.restart_sim("--pacing", "20")
    kp.ok("keypair", "c")
    open(os.path.join(d, "blob"), "wb").write(random.Random(9).randbytes(20_000))
    state = os.path.join(d, "copy.state")
    p = kp.spawn("copy", "--state", state, "--to", "c.write", "--file", "blob")
    wait_for(lambda: saved_copy_state(state, lambda s: s["elements_written"] > 0), "some confirmed boxes", timeout=60)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=30)
    check(p.returncode == 130, "interrupted copy: %d" % p.returncode)
    good = json.load(open(state))
    for field, value, needle in (("version", "1", 'field "version" must be a whole number'),
                                 ("elements_written", "3", 'field "elements_written" must be a whole number'),
                                 ("temp_start_index", None, 'field "temp_start_index" is missing')):
        damaged = dict(good)
        if value is None:
            del damaged[field]
        else:
            damaged[field] = value
        json.dump(damaged, open(state, "w"))
        code, _, err = kp.run("copy", "--resume", "--state", state)
        expect((code, b"", err), 3, needle)
        check(state in err and "please report" not in err, "names the file, not an internal error: %s" % err)
    open(state, "w").write("{not json")
    expect(kp.run("copy", "--resume", "--state", state), 3, "not valid JSON")
    # Restored, the copy resumes and completes.
    json.dump(good, open(state, "w"))
    kp.ok("copy", "--resume", "--state", state)
    check(read_all_no_wait(kp, "c.read") == file_bytes(os.path.join(d, "blob")), "the resumed copy delivers")


@scenario
def symlinked_channel(ctx):
    """A channel file reached through a symbolic link: saving updates the file it points to and
    the link stays a link, so writers using either name continue after each other."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    os.mkdir(os.path.join(d, "keys"))
    real = os.path.join(d, "keys", "c.write")
    os.rename(os.path.join(d, "c.write"), real)
    link = os.path.join(d, "c.write")
    os.symlink("keys/c.write", link)
    before = file_bytes(real)
    kp.ok("write", "c.write", "one")
    check(os.path.islink(link), "the channel file must still be a link after a write")
    check(file_bytes(real) != before, "the file the link points to must advance")
    kp.ok("write", real, "two")
    kp.ok("write", "c.write", "three")
    check(os.path.islink(link) and os.readlink(link) == "keys/c.write", "the link is unchanged")
    check(sorted(os.listdir(os.path.join(d, "keys"))) == ["c.write"], "no temporary file left next to the target")
    check(kp.ok("read", "-n", "3", "-d", "\\n", "c.read") == b"one\ntwo\nthree\n",
          "every message written through either name reads back, in order")


@scenario
def keypair_force_fails_half_way(ctx):
    """keypair --force replaces NAME.write and NAME.read together: when replacing the second one
    fails, the first is put back, so the old pair is intact and still works."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    kp.ok("write", "c.write", "before")
    os.rename(os.path.join(d, "c.read"), os.path.join(d, "old.read"))
    os.mkdir(os.path.join(d, "c.read"))  # the second rename fails: the name is a directory
    write_before = file_bytes(os.path.join(d, "c.write"))
    code, _, err = kp.run("keypair", "--force", "c")
    check(os.path.exists(os.path.join(d, "c.write")) and file_bytes(os.path.join(d, "c.write")) == write_before,
          "the old c.write must be untouched (exit %d: %s)" % (code, err))
    expect((code, b"", err), 1, "nothing was changed")
    check(sorted(os.listdir(d)) == ["c.read", "c.write", "old.read", "sim"], "no temporary or backup files: %s"
          % sorted(os.listdir(d)))
    kp.ok("write", "c.write", "after")
    check(kp.ok("read", "-n", "2", "-d", "\\n", "old.read") == b"before\nafter\n", "the old pair still works")
    # With the obstacle gone, --force replaces both.
    os.rmdir(os.path.join(d, "c.read"))
    kp.ok("keypair", "--force", "c")
    check(file_bytes(os.path.join(d, "c.write")) != write_before, "--force made a new pair")
    kp.ok("write", "c.write", "new")
    check(kp.ok("read", "c.read") == b"new", "the new pair works")


@scenario
def write_file_mode(ctx):
    """A NAME.write that group or others can read is refused (exit 3) with the chmod to run, as
    OpenSSH refuses a private key file; NAME.read may be shared."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    path = os.path.join(d, "c.write")
    os.chmod(path, 0o644)
    before = snapshot(d)
    expect(kp.run("write", "c.write", "x"), 3, "`chmod 600 c.write`")
    expect(kp.run("tombstone", "--next", "1", "c.write"), 3, "`chmod 600 c.write`")
    unchanged(before, d, "a refused write")
    os.chmod(os.path.join(d, "c.read"), 0o644)
    os.chmod(path, 0o600)
    kp.ok("write", "c.write", "after chmod")
    check(kp.ok("read", "c.read") == b"after chmod", "works after chmod 600")


@scenario
def framed_interop(ctx):
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    blob = random.Random(5).randbytes(5000)
    open(os.path.join(d, "photo.bin"), "wb").write(blob)
    kp.ok("copy", "--framed", "--to", "c.write", "--file", "photo.bin")
    # What pigeonhole-cp receive expects: the first box starts with the CBOR map {name, size}.
    exported = kp.ok("keypair", "--export", "c.read").decode()  # the reader's position: box 1
    kp.ok("keypair", "--import", "-", "peek", stdin=exported.encode())
    first = kp.ok("read", "peek.read")
    header = b"\xa2\x64name\x69photo.bin\x64size\x19\x13\x88"
    check(first.startswith(header), "first box must start with pigeonhole-cp's header, got %r" % first[:24])
    os.mkdir(os.path.join(d, "in"))
    kp.ok("read", "--framed", "--output-dir", "in", "c.read")
    check(file_bytes(os.path.join(d, "in", "photo.bin")) == blob, "read --framed saves the file under its name")
    # A pigeonhole-cp sender writes the header box by box (--no-copy): emulate it with write.
    kp.ok("keypair", "p")
    payload = b"\xa2\x64name\x65x.txt\x64size\x0b" + b"hello world"
    kp.ok("write", "p.write", stdin=payload)
    check(kp.ok("read", "--framed", "p.read") == b"hello world", "read --framed to stdout")


@scenario
def follow_pipe(ctx):
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    reader = kp.spawn("read", "--follow", "-d", "\\n", "c.read")
    out = Output(reader)
    for i in range(20):
        kp.ok("write", "c.write", "message %d" % i)
        wait_for(lambda: out.lines() >= i + 1, "message %d through read --follow" % i)
    check(out.data == b"".join(b"message %d\n" % i for i in range(20)), "follow output in order: %r" % out.data)
    reader.send_signal(signal.SIGINT)
    reader.wait(20)
    check(reader.returncode == 130, "interrupted follow exits 130, got %d" % reader.returncode)
    expect(kp.run("read", "--no-wait", "c.read"), 6)  # every delivered box was consumed
    # In a pipeline: head takes 3 lines and exits; the follower notices while it waits (no box
    # needs to arrive first), and the box written after that is not consumed.
    for i in range(3):
        kp.ok("write", "c.write", "p%d" % i)
    follow = kp.spawn("read", "--follow", "-d", "\\n", "c.read")
    head = subprocess.Popen(["head", "-n", "3"], stdin=follow.stdout, stdout=subprocess.PIPE)
    follow.stdout.close()  # head holds the only read end
    head_out, _ = head.communicate(timeout=60)
    check(head_out == b"p0\np1\np2\n", "pipeline output: %r" % head_out)
    try:
        follow.wait(10)
    except subprocess.TimeoutExpired:
        follow.kill()
        raise Failure("read --follow kept waiting after head closed the pipe")
    check(follow.returncode not in (0, 130), "kpthin must fail on the closed pipe, got %d" % follow.returncode)
    kp.ok("write", "c.write", "p3")
    check(kp.ok("read", "c.read") == b"p3", "the box the closed pipe did not take is still unread")


@scenario
def follow_timeout(ctx):
    """--timeout with --follow bounds the wait for each next box, not the life of reads issued
    ahead: boxes spaced under the bound keep the reader going well past it in total; once none
    arrives for the bound, the reads are cancelled at the daemon and kpthin exits 5."""
    kp, d = ctx.kp, ctx.dir
    bound = 2.0
    # Spacing of the writes: the sleep IS the scenario (time between boxes), not a stand-in for a
    # condition; well under the bound so a slow `kpthin write` start does not reach it.
    gap = bound / 2
    kp.ok("keypair", "c")
    reader = kp.spawn("--timeout", "%dms" % (bound * 1000), "read", "--follow", "-d", "\\n", "c.read")
    out = Output(reader)
    started = time.monotonic()
    boxes = 5
    last_printed = None
    for i in range(boxes):
        if i:
            time.sleep(gap)
        kp.ok("write", "c.write", "box %d" % i)
        wait_for(lambda: out.lines() >= i + 1, "box %d through read --follow" % i, timeout=10)
        last_printed = time.monotonic()
        check(reader.poll() is None, "the reader must still be waiting after box %d (%.1fs in, bound %.1fs per box): %s"
              % (i, last_printed - started, bound, reader.stderr.read().decode() if reader.poll() is not None else ""))
    check(last_printed - started > 1.5 * bound, "the scenario must outlast one bound in total")
    cancels = ctx.sim.stats()["cancels_matched"]
    reader.wait(bound + 20)
    ended = time.monotonic()
    err = reader.stderr.read().decode()
    check(reader.returncode == 5, "no box within the bound ends --follow with 5, got %d: %s" % (reader.returncode, err))
    check("within 2s" in err, "the message names the bound: %s" % err)
    waited = ended - last_printed
    check(waited >= bound * 0.9, "exited %.2fs after the last box, before the %.1fs bound" % (waited, bound))
    check(ctx.sim.stats()["cancels_matched"] > cancels, "the waiting reads are cancelled at the daemon")
    check(out.poll() == b"".join(b"box %d\n" % i for i in range(boxes)), "follow output in order: %r" % out.data)
    expect(kp.run("read", "--no-wait", "c.read"), 6)  # the position is after the last box printed
    # The same bound per box applies to --count: three boxes, the third one late.
    kp.ok("write", "c.write", "x0")
    kp.ok("write", "c.write", "x1")
    expect(kp.run("--timeout", "500ms", "read", "--count", "3", "c.read"), 5, "(2 read)")
    expect(kp.run("read", "--no-wait", "c.read"), 6)  # x0 and x1 were consumed, nothing else


@scenario
def interrupt_read(ctx):
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    before = file_bytes(os.path.join(d, "c.read"))
    cancels = ctx.sim.stats()["cancels_matched"]
    p = kp.spawn("read", "c.read")
    wait_for(lambda: ctx.sim.stats()["waiting"] >= 1, "the read to wait at the simulator")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=20)
    check(p.returncode == 130, "Ctrl-C during a waiting read exits 130, got %d: %s" % (p.returncode, err.decode()))
    check(out == b"", "nothing on stdout")
    wait_for(lambda: ctx.sim.stats()["cancels_matched"] > cancels, "the simulator to see the cancel", timeout=10)
    wait_for(lambda: ctx.sim.stats()["sessions"] == 0, "the session to be closed (thin_close)", timeout=10)
    check(file_bytes(os.path.join(d, "c.read")) == before, "the channel file must be unchanged")
    # SIGTERM behaves the same.
    p = kp.spawn("read", "c.read")
    wait_for(lambda: ctx.sim.stats()["waiting"] >= 1, "the second read to wait")
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=20)
    check(p.returncode == 130, "SIGTERM exits 130 too, got %d" % p.returncode)
    check(file_bytes(os.path.join(d, "c.read")) == before, "the channel file must be unchanged")
    # The timeout path: cancelled at the daemon, exit 5.
    cancels = ctx.sim.stats()["cancels_matched"]
    expect(kp.run("--timeout", "300ms", "read", "c.read"), 5, "within 300ms")
    check(ctx.sim.stats()["cancels_matched"] > cancels, "a timed-out read is cancelled at the daemon")
    check(file_bytes(os.path.join(d, "c.read")) == before, "the channel file must be unchanged")


@scenario
def interrupt_handshake(ctx):
    """kpclientd may hold the handshake for a minute (no PKI document yet); Ctrl-C must not wait
    for it. The simulator holds it on request and reports held connections in its stats."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    before = snapshot(d)
    check(ctx.sim.control("hold") == "ok", "the simulator should hold handshakes")
    for sig, args in ((signal.SIGINT, ("read", "c.read")), (signal.SIGTERM, ("keypair", "fresh"))):
        p = kp.spawn(*args)
        wait_for(lambda: ctx.sim.stats()["held"] >= 1, "kpthin %s to connect and wait for the handshake" % args[0])
        raised = time.monotonic()
        p.send_signal(sig)
        out, err = p.communicate(timeout=20)
        took = time.monotonic() - raised
        check(p.returncode == 130, "%s during the handshake wait exits 130, got %d: %s"
              % (sig.name, p.returncode, err.decode()))
        check(took < 2.0, "%s during the handshake wait took %.2fs to exit (the wait is 65 s)" % (sig.name, took))
        check(out == b"", "nothing on stdout")
        check("interrupted" in err.decode(), "stderr says interrupted: %s" % err.decode())
        wait_for(lambda: ctx.sim.stats()["connections"] == 0, "kpthin's socket to be closed", timeout=10)
        unchanged(before, d, "an interrupted handshake")
    check(ctx.sim.control("release") == "ok", "the simulator should release handshakes")
    kp.ok("write", "c.write", "after the hold")
    check(kp.ok("read", "c.read") == b"after the hold", "the channel works after the interrupted commands")


@scenario
def sim_restart_split(ctx):
    kp = ctx.kp
    ctx.restart_sim("--restart-after", "700", "--latency", "1")
    kp.ok("keypair", "c")
    data = subprocess.run(["seq", "1", "2000"], stdout=subprocess.PIPE, check=True).stdout
    kp.ok("--timeout", "60s", "write", "--split", "lines", "c.write", stdin=data, timeout=120)
    check(ctx.sim.stats()["restarts"] == 1, "the simulator must have restarted during the write")
    out = kp.ok("read", "--count", "2000", "c.read", timeout=120)
    check(out == data, "every line exactly once after a restart (%d vs %d bytes)" % (len(out), len(data)))
    expect(kp.run("read", "--no-wait", "c.read"), 6)


@scenario
def json_output(ctx):
    kp, d = ctx.kp, ctx.dir

    def objects(out):
        lines = out.decode().splitlines()
        check(lines, "--json printed nothing")
        return [json.loads(l) for l in lines]

    k = objects(kp.ok("--json", "keypair", "c"))[0]
    check(k["write_channel"] == "c.write" and len(base64.b64decode(k["read_capability"])) == 136, k)
    w = objects(kp.ok("--json", "write", "--split", "lines", "c.write", stdin=b"x\ny\n"))
    check([o["box"] for o in w] == [1, 2] and all(o["bytes"] == 2 for o in w), w)
    r = objects(kp.ok("--json", "read", "-n", "2", "c.read"))
    check([base64.b64decode(o["data"]) for o in r] == [b"x\n", b"y\n"], r)
    kp.ok("tombstone", "--next", "1", "c.write")
    code, out, err = kp.run("--json", "read", "c.read")
    check(code == 7 and objects(out)[0]["tombstone"] is True and objects(out)[0]["box"] == 3, (code, out, err))
    s = objects(kp.ok("--json", "services"))
    check(any(o["service"] == "echo" for o in s), s)
    e = objects(kp.ok("--json", "send", "hi"))[0]
    check(base64.b64decode(e["data"]) == b"hi", e)
    p = objects(kp.ok("--json", "send", "-n", "2", "-i", "1ms"))
    check(p[-1]["sent"] == 2 and p[-1]["received"] == 2, p)
    wt = objects(kp.ok("--json", "watch", "--until", "pki"))
    check(wt[0]["event"] == "connection_status" and wt[-1]["event"] == "new_pki_document", wt)
    open(os.path.join(d, "f"), "wb").write(b"copy me")
    cp = objects(kp.ok("--json", "copy", "--to", "c.write", "--file", "f"))[0]
    check(cp["destinations"][0]["channel"] == "c.write", cp)
    ts = objects(kp.ok("--json", "tombstone", "--next", "2", "c.write"))[0]
    check(ts["tombstoned"] == 2, ts)
    ex = objects(kp.ok("--json", "keypair", "--export", "c"))[0]
    check(len(base64.b64decode(ex["write_capability"])) == 168, ex)


@scenario
def box_numbers(ctx):
    """write --json and read --json give the same box the same number, across runs, stale
    positions (a box passed over keeps its number) and older channel files."""
    kp, d = ctx.kp, ctx.dir
    w = os.path.join(d, "c.write")

    def boxes(out):
        return [json.loads(l)["box"] for l in out.decode().splitlines()]

    kp.ok("keypair", "c")
    check(boxes(kp.ok("--json", "write", "c.write", "a")) == [1], "the first box is box 1")
    check(boxes(kp.ok("--json", "write", "--split", "lines", "c.write", stdin=b"b\nc\n")) == [2, 3],
          "a second run goes on counting")
    with stale_position(w):
        check(boxes(kp.ok("--json", "write", "c.write", "d")) == [4], "box 4")
    check(boxes(kp.ok("--json", "write", "c.write", "e")) == [5], "box 4 is passed over, e goes to box 5")
    r = [json.loads(l) for l in kp.ok("--json", "read", "-n", "5", "c.read").decode().splitlines()]
    check([(o["box"], base64.b64decode(o["data"])) for o in r] ==
          [(1, b"a"), (2, b"b\n"), (3, b"c\n"), (4, b"d"), (5, b"e")], r)
    kp.ok("tombstone", "--next", "1", "c.write")
    code, out, err = kp.run("--json", "read", "c.read")
    check(code == 7 and json_results(out)[0]["box"] == 6 and json_results(out)[0]["tombstone"] is True, (code, out, err))
    # Files from before first_index: the number comes from the first index the capability embeds.
    to_old_format(w)
    to_old_format(os.path.join(d, "c.read"))
    check(boxes(kp.ok("--json", "write", "c.write", "f")) == [7], "an older write file numbers the same")
    check(boxes(kp.ok("--json", "read", "c.read")) == [7], "an older read file numbers the same")


@scenario
def tombstone(ctx):
    kp = ctx.kp
    kp.ok("keypair", "c")
    kp.ok("write", "c.write", "a")
    kp.ok("tombstone", "--next", "1", "c.write")
    check(kp.ok("read", "c.read") == b"a", "the box before the tombstone")
    expect(kp.run("read", "c.read"), 7, "tombstone")
    expect(kp.run("read", "--no-wait", "c.read"), 6)  # moved past the tombstone
    # A range, atomically, then a follower skipping tombstones.
    kp.ok("tombstone", "--atomic", "--next", "3", "c.write")
    kp.ok("tombstone", "--next", "2", "c.write")
    kp.ok("write", "c.write", "z")
    reader = kp.spawn("read", "--follow", "--skip-tombstones", "c.read")
    out = Output(reader)
    wait_for(lambda: out.poll() == b"z", "the follower to skip 5 tombstones and print z")
    reader.send_signal(signal.SIGINT)
    reader.wait(20)
    # Without --follow too: the tombstones do not count toward --count.
    kp.ok("tombstone", "--next", "2", "c.write")
    kp.ok("write", "c.write", "y")
    check(kp.ok("read", "--skip-tombstones", "c.read") == b"y", "read skips two tombstones, then prints y")


@scenario
def three_line_session(ctx):
    """The issue's session: a message written, then deleted, is gone for the reader (exit 7).
    A bare `tombstone` deletes nothing and lists the forms."""
    kp = ctx.kp
    kp.ok("keypair", "t")
    kp.ok("write", "t.write", "secret")
    code, _, err = kp.run("tombstone", "t.write")
    check(code == 2 and all(f in err for f in ("--last", "--all", "--box", "--from", "--next")), (code, err))
    kp.ok("tombstone", "--last", "1", "t.write")
    code, out, err = kp.run("read", "t.read")
    check(code == 7 and out == b"" and "tombstone" in err, "read after --last 1: exit %d, %r, %s" % (code, out, err))


@scenario
def tombstone_forms(ctx):
    """--box, --from/--count, --last (with and without --atomic) delete written boxes by number;
    the write position never moves back; readers see {"box": K, "tombstone": true} or skip them."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    kp.ok("write", "--split", "lines", "c.write", stdin=b"".join(b"%d\n" % i for i in range(1, 9)))
    position = file_bytes(os.path.join(d, "c.write"))
    ts = json.loads(kp.ok("--json", "tombstone", "--box", "2", "--atomic", "c.write"))
    check((ts["first_box"], ts["last_box"], ts["tombstoned"], ts["atomic"]) == (2, 2, 1, True), ts)
    ts = json.loads(kp.ok("--json", "tombstone", "--from", "4", "--count", "2", "c.write"))
    check((ts["first_box"], ts["last_box"], ts["tombstoned"]) == (4, 5, 2), ts)
    ts = json.loads(kp.ok("--json", "tombstone", "--last", "1", "--atomic", "c.write"))
    check((ts["first_box"], ts["last_box"]) == (8, 8), ts)
    check(file_bytes(os.path.join(d, "c.write")) == position, "deleting written boxes leaves the write position")
    # Usage errors name the problem and change nothing.
    for args, needle in ((("--box", "9"), "reach past"), (("--last", "9"), "only 8"), (("--from", "3"), "--count"),
                         (("--count", "2"), "--from"), (("--box", "1", "--last", "1"), "only one"),
                         (("--box", "0"), "start at 1"), (("--next", "0"), "at least 1")):
        expect(kp.run("tombstone", *args, "c.write"), 2, needle)
    check(file_bytes(os.path.join(d, "c.write")) == position, "usage errors leave the position")
    # A reader with exit 7 per tombstone, and one skipping them.
    code, out, _ = kp.run("--json", "read", "-n", "8", "c.read")
    got = json_results(out)
    check(code == 7 and [(o["box"], o.get("tombstone", False)) for o in got] == [(1, False), (2, True)], got)
    out = kp.ok("--json", "read", "--skip-tombstones", "-n", "3", "c.read")
    got = [(o["box"], o.get("tombstone", False), base64.b64decode(o.get("data", ""))) for o in
           (json.loads(l) for l in out.decode().splitlines())]
    check(got == [(3, False, b"3\n"), (4, True, b""), (5, True, b""), (6, False, b"6\n"), (7, False, b"7\n")], got)
    code, out, _ = kp.run("--json", "read", "c.read")
    check(code == 7 and json_results(out)[0]["box"] == 8 and json_results(out)[0]["tombstone"] is True, (code, out))
    # The next write goes to a fresh box, after the deleted ones.
    check(json.loads(kp.ok("--json", "write", "c.write", "after"))["box"] == 9, "the write after --last 1")
    check(kp.ok("read", "c.read") == b"after", "box 9")
    # --next closes the channel ahead of the position; a write afterwards goes after it.
    ts = json.loads(kp.ok("--json", "tombstone", "--next", "2", "c.write"))
    check((ts["first_box"], ts["last_box"]) == (10, 11), ts)
    kp.ok("write", "c.write", "z")
    check(kp.ok("read", "--skip-tombstones", "c.read") == b"z", "skipping the two closing tombstones")
    # --all --atomic on another channel; --all on a channel with nothing written.
    kp.ok("keypair", "e")
    code, _, err = kp.run("tombstone", "--all", "e.write")
    check(code == 0 and "nothing to delete" in err, (code, err))
    kp.ok("write", "--split", "lines", "e.write", stdin=b"x\ny\nz\n")
    ts = json.loads(kp.ok("--json", "tombstone", "--all", "--atomic", "e.write"))
    check((ts["first_box"], ts["last_box"], ts["atomic"]) == (1, 3, True), ts)
    for _ in range(3):
        expect(kp.run("read", "e.read"), 7, "tombstone")
    expect(kp.run("read", "--no-wait", "e.read"), 6)


@scenario
def tombstone_stale_all(ctx):
    """--all and --last cover boxes past a stale position (the replicas are the truth), and the
    position moves forward to them, never back."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    w = os.path.join(d, "c.write")
    kp.ok("write", "c.write", "one")
    with stale_position(w):
        kp.ok("write", "c.write", "two")
    ts = json.loads(kp.ok("--json", "tombstone", "--last", "1", "c.write"))
    check((ts["first_box"], ts["last_box"]) == (2, 2), "--last 1 is box 2, the last one stored: %s" % ts)
    check(kp.ok("read", "c.read") == b"one", "box 1 stays")
    expect(kp.run("read", "c.read"), 7, "tombstone")
    check(json.loads(kp.ok("--json", "write", "c.write", "three"))["box"] == 3, "the position moved forward")


@scenario
def tombstone_confirm(ctx):
    """On a terminal, deleting written boxes asks first; n keeps them, y deletes, --yes does not
    ask. (Every other scenario runs with stdin not a terminal: no question.)"""
    import pty
    kp = ctx.kp
    kp.ok("keypair", "c")
    kp.ok("write", "--split", "lines", "c.write", stdin=b"a\nb\nc\n")
    r = os.path.join(ctx.dir, "c.read")
    fresh = file_bytes(r)

    def on_terminal(answer, *args):
        master, slave = pty.openpty()
        try:
            os.write(master, answer)  # the terminal keeps it until kpthin reads its answer
            p = subprocess.run(kp.argv(("tombstone",) + args + ("c.write",)), cwd=kp.cwd, stdin=slave,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        finally:
            os.close(master)
            os.close(slave)
        return p.returncode, p.stderr.decode(errors="replace")

    code, err = on_terminal(b"n\n", "--from", "2", "--count", "2")
    check(code == 1 and "delete boxes 2-3 of c.write? [y/N]" in err and "nothing was deleted" in err, (code, err))
    check(kp.ok("read", "-n", "3", "c.read") == b"a\nb\nc\n", "n deletes nothing")
    restore(r, fresh)
    code, err = on_terminal(b"y\n", "--box", "3")
    check(code == 0 and "delete box 3 of c.write? [y/N]" in err, (code, err))
    code, err = on_terminal(b"", "--yes", "--box", "2", "--atomic")
    check(code == 0 and "[y/N]" not in err, (code, err))
    restore(r, fresh)
    code, out, _ = kp.run("--json", "read", "-n", "3", "c.read")
    got = [(o["box"], o.get("tombstone", False)) for o in json_results(out)]
    check(code == 7 and got == [(1, False), (2, True)], "y and --yes deleted boxes 2 and 3: %s" % got)
    expect(kp.run("read", "c.read"), 7, "tombstone")


@scenario
def stale_position_write(ctx):
    """A position left behind the channel (a crash or lost reply after the send) must not make the
    next write overwrite: the box is passed over and the message goes after it."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    w = os.path.join(d, "c.write")
    with stale_position(w):
        kp.ok("write", "c.write", "first")
    code, _, err = kp.run("write", "c.write", "second")
    check(code == 0, "the write after a stale position exited %d: %s" % (code, err))
    check(read_all_no_wait(kp, "c.read") == b"firstsecond", "both messages, in order")
    check("passed over 1 box" in err, "the user is told a box was passed over: %s" % err)
    # A streamed write behind three stored boxes.
    with stale_position(w):
        kp.ok("write", "--split", "lines", "c.write", stdin=b"l1\nl2\nl3\n")
    kp.ok("write", "--split", "lines", "c.write", stdin=b"m1\nm2\n")
    check(read_all_no_wait(kp, "c.read") == b"l1\nl2\nl3\nm1\nm2\n", "the stream goes after the stored boxes")
    kp.ok("write", "c.write", "last")
    check(read_all_no_wait(kp, "c.read") == b"last", "the position was saved past everything")


@scenario
def stale_position_same_message(ctx):
    """Rerunning a write whose position was lost stores each message once, not twice."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    w = os.path.join(d, "c.write")
    with stale_position(w):
        kp.ok("write", "--split", "lines", "c.write", stdin=b"a\nb\n")
    out = kp.ok("--json", "write", "--split", "lines", "c.write", stdin=b"a\nb\nc\n")
    check(len(out.decode().splitlines()) == 3, "every message is reported written: %r" % out)
    check(read_all_no_wait(kp, "c.read") == b"a\nb\nc\n", "a and b once each, then c")
    # The sim stores identical bytes again silently; a replica may answer BoxAlreadyExists
    # instead (as it does for a re-issued write): kpthin reads the box back and counts it.
    with stale_position(w):
        kp.ok("write", "c.write", "again")
    ctx.sim.control("fail start_resending_encrypted_message 10 1")
    code, _, err = kp.run("write", "c.write", "again")
    check(code == 0 and "already stored" in err, "exit %d: %s" % (code, err))
    kp.ok("write", "c.write", "next")
    check(read_all_no_wait(kp, "c.read") == b"againnext", "the box holding it is counted, not passed over")


@scenario
def full_disk_save(ctx):
    """The box was sent but the position could not be saved: the message says so, and the next
    write does not overwrite the box."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    w = os.path.join(d, "c.write")
    before = file_bytes(w)
    code, _, err = run_with_file_size_limit(kp, 200, "write", "c.write", "first")
    check(code == 1, "a failed save exits 1, got %d: %s" % (code, err))
    check("may already hold it" in err and "never over them" in err, "the message says what happens next: %s" % err)
    check(file_bytes(w) == before, "the old position is still in place")
    kp.ok("write", "c.write", "second")
    check(read_all_no_wait(kp, "c.read") == b"firstsecond", "nothing lost")


@scenario
def old_format_channel(ctx):
    """Channel files written before read_capability/first_index still work, stay in their format,
    and a stale position is still never overwritten (the box cannot be read back: passed over)."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    w = os.path.join(d, "c.write")
    to_old_format(w)
    to_old_format(os.path.join(d, "c.read"))
    kp.ok("write", "c.write", "one")
    check("read_capability" not in open(w).read(), "saving keeps the old format")
    with stale_position(w):
        kp.ok("write", "c.write", "two")
    kp.ok("write", "c.write", "three")
    check(read_all_no_wait(kp, "c.read") == b"onetwothree", "nothing overwritten")


def kill_split_write_with_window_on_its_way(ctx, channel):
    """Starts `write --split lines` of the lines 1..400 on `channel` and kills it (kill -9) once
    its first box is confirmed and the 32 after it (its whole window) have reached the daemon;
    then waits until the daemon is done with them.

    The mixnet goes away right after that first box (written alone, with the replica's verdict),
    so the window waits at the daemon, and the kill races nothing: all 32 requests are there,
    whatever order the run's threads sent them in. Which of them land after the client died is
    the daemon's business (queued while offline, they die with the connection in kpclientd
    v0.0.99 and in the simulator, see kpclientd-sim(1) LOST CONNECTIONS; a daemon that had sent
    some would land those), so the callers check only what kpthin-write(1) promises, with
    check_after_killed_run."""
    check(ctx.sim.control("offline-after-writes 1") == "ok", "sim control offline-after-writes")
    p = ctx.kp.spawn("write", "--split", "lines", channel, stdin=subprocess.PIPE)
    p.stdin.write(b"".join(b"%d\n" % i for i in range(1, 401)))
    p.stdin.close()
    wait_for(lambda: ctx.sim.stats()["pending"] == 32, "the run's window of 32 boxes to reach the daemon", timeout=60)
    check(p.poll() is None, "the run waits for its window, it does not end (exit %s)" % p.poll())
    p.kill()
    p.wait(timeout=30)
    p.stdout.close()
    p.stderr.close()
    check(ctx.sim.control("online") == "ok", "sim control online")
    wait_for(lambda: ctx.sim.stats()["pending"] == 0, "the killed run's requests to be answered", timeout=60)


def check_after_killed_run(got, first_dead_box, reported):
    """Checks the boxes `got` of a channel against kpthin-write(1)'s promise after a run killed by
    kill_split_write_with_window_on_its_way whose first box is `first_dead_box`: the messages of
    the runs that reported success read back exactly once, in the order written, and every other
    box holds the killed run's line N in its own box (first_dead_box + N - 1: nothing moved or
    overwritten). Its line 1 was confirmed before the kill, so it is there; whether the lines on
    their way landed, and so whether a later run wrote into a box before one of them, is not
    promised."""
    def dead_line(box, data):
        return data == b"%d" % (box - first_dead_box + 1)

    check(len(got) > first_dead_box and got[first_dead_box] == b"1",
          "the killed run's confirmed box holds its line 1: %r" % got[first_dead_box:first_dead_box + 1])
    rest = [data for box, data in enumerate(got) if not dead_line(box, data)]
    at = next((i for i, (x, y) in enumerate(zip(rest, reported)) if x != y), min(len(rest), len(reported)))
    check(rest == reported, "apart from the killed run's lines, each in its own box, every reported message reads "
          "back once, in order; from message %d on got %r, expected %r" % (at, rest[at:at + 3], reported[at:at + 3]))


@scenario
def kill_split_then_write(ctx):
    """kill -9 of a streamed write leaves the saved position behind the boxes it stored; the next
    write neither overwrites nor loses anything."""
    kp = ctx.kp
    ctx.restart_sim("--pacing", "2")
    kp.ok("keypair", "c")
    kill_split_write_with_window_on_its_way(ctx, "c.write")
    kp.ok("write", "c.write", "after")
    check_after_killed_run(read_all_no_wait(kp, "c.read").split(b"\n"), 0, [b"after"])


@scenario
def unfinished_write_marker(ctx):
    """A write run keeps NAME.write.unfinished (beside the file a link points to) only while boxes
    may be on their way: a run that finishes removes it, a killed run leaves it, and the next run
    checks the boxes one by one, keeping the marker until it has stored 64 boxes past the first
    free one."""
    kp, d = ctx.kp, ctx.dir
    ctx.restart_sim("--pacing", "2")
    kp.ok("keypair", "c")
    os.mkdir(os.path.join(d, "keys"))
    os.rename(os.path.join(d, "c.write"), os.path.join(d, "keys", "c.write"))
    os.symlink("keys/c.write", os.path.join(d, "c.write"))
    marker = os.path.join(d, "keys", "c.write.unfinished")
    kp.ok("write", "--split", "lines", "c.write", stdin=b"a\nb\n")
    kp.ok("write", "c.write", "c\n")
    check(sorted(os.listdir(os.path.join(d, "keys"))) == ["c.write"] and not os.path.exists(d + "/c.write.unfinished"),
          "finished runs leave no marker: %s" % os.listdir(os.path.join(d, "keys")))
    kill_split_write_with_window_on_its_way(ctx, "c.write")
    check(os.path.exists(marker), "a killed run leaves the marker")
    code, _, err = kp.run("write", "--split", "lines", "c.write", stdin=b"short 1\nshort 2\n")
    check(code == 0 and "did not finish" in err and "checking the next 64 boxes one by one" in err,
          "the rerun says it checks (exit %d): %s" % (code, err))
    check(os.path.exists(marker), "two boxes are not the 64 the dead run may still fill: the marker stays")
    long = [b"long %d" % i for i in range(70)]
    code, _, err = kp.run("write", "--split", "lines", "c.write", stdin=b"".join(x + b"\n" for x in long))
    check(code == 0 and "did not finish" in err, "exit %d: %s" % (code, err))
    check(not os.path.exists(marker), "a run that stored 64 boxes past the first free one removes the marker")
    code, _, err = kp.run("write", "c.write", "last")
    check(code == 0 and "did not finish" not in err, "no check after the recovery (exit %d): %s" % (code, err))
    check_after_killed_run(read_all_no_wait(kp, "c.read").split(b"\n"), 3,
                           [b"a", b"b", b"c", b"short 1", b"short 2"] + long + [b"last"])


def channel_boxes(kp, pristine):
    """Every box of a channel from its first index, as a fresh reader (a copy of the read file as
    keypair made it) finds it: message bytes, or None for a tombstone."""
    fresh = pristine + ".fresh"
    shutil.copyfile(pristine, fresh)
    boxes = []
    while True:
        code, out, err = kp.run("--json", "read", "--no-wait", "--count", "1000", fresh)
        boxes += [None if b.get("tombstone") else base64.b64decode(b["data"]) for b in json_results(out)
                  if "error" not in b]
        if code == 6:
            os.unlink(fresh)
            return boxes
        check(code in (0, 7), "the fresh reader exited %d: %s" % (code, err))


@scenario
def unfinished_tombstone_marker(ctx):
    """`tombstone --next` records in NAME.write.unfinished the last box its tombstones may reach
    while they are on their way, and removes the marker when all are confirmed. A run that finds
    the record of one that died (here written by hand) tombstones up to that box before anything
    else: tombstone --next covers it, write and copy tombstone it first."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    shutil.copyfile(os.path.join(d, "c.read"), os.path.join(d, "pristine.read"))
    marker = os.path.join(d, "c.write.unfinished")
    kp.ok("write", "c.write", "a")
    kp.ok("tombstone", "--next", "2", "c.write")                      # boxes 2-3
    check(not os.path.exists(marker), "a finished tombstone run leaves no marker")
    open(marker, "w").write("tombstones-through-box 5\n")
    code, out, err = kp.run("--json", "tombstone", "--next", "1", "c.write")
    check(code == 0 and "up to box 5" in err, "tombstone --next covers the dead run's boxes (exit %d): %s" % (code, err))
    check(json_results(out)[0]["tombstoned"] == 2 and json_results(out)[0]["last_box"] == 5, "out: %r" % out)
    check(b"tombstones-through-box" not in open(marker, "rb").read(), "the record goes once the boxes are done")
    open(marker, "w").write("tombstones-through-box 7\n")
    code, _, err = kp.run("write", "c.write", "b")                     # box 8
    check(code == 0 and "tombstoning those 2 box(es) first" in err, "exit %d: %s" % (code, err))
    open(marker, "w").write("tombstones-through-box 9\n")
    code, _, err = kp.run("copy", "--to", "c.write", stdin=b"c")       # box 10
    check(code == 0 and "tombstoning those 1 box(es) first" in err, "exit %d: %s" % (code, err))
    open(marker, "w").write("tombstones-through-box 4\n")               # a range already passed
    code, _, err = kp.run("write", "c.write", "d")                     # box 11
    check(code == 0 and "tombstoning" not in err, "exit %d: %s" % (code, err))
    got = channel_boxes(kp, os.path.join(d, "pristine.read"))
    want = [b"a", None, None, None, None, None, None, b"b", None, b"c", b"d"]
    check(got == want, "boxes %r, expected %r" % (got, want))


@scenario
def stale_position_tombstone(ctx):
    """tombstone at a stale position never deletes the message there; tombstones already in
    place count toward --count."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    w = os.path.join(d, "c.write")
    with stale_position(w):
        kp.ok("write", "c.write", "keep")
    code, _, err = kp.run("tombstone", "--next", "1", "c.write")
    check(code == 0 and "1 box(es) after it already held a message" in err, "exit %d: %s" % (code, err))
    check(kp.ok("read", "c.read") == b"keep", "the message survives")
    expect(kp.run("read", "c.read"), 7, "tombstone")
    with stale_position(w):
        kp.ok("tombstone", "--next", "2", "c.write")
    out = kp.ok("--json", "tombstone", "--next", "3", "c.write")
    check(json.loads(out)["tombstoned"] == 3, out)
    kp.ok("write", "c.write", "after")
    for _ in range(3):
        expect(kp.run("read", "c.read"), 7, "tombstone")
    check(kp.ok("read", "c.read") == b"after", "three tombstones, then the message")


@scenario
def stale_position_copy(ctx):
    """A copy into a destination whose position is stale goes after the stored boxes."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    w = os.path.join(d, "c.write")
    with stale_position(w):
        kp.ok("write", "c.write", "keep")
    code, _, err = kp.run("copy", "--to", "c.write", stdin=b"payload")
    check(code == 0 and "passed over 1 box" in err, "exit %d: %s" % (code, err))
    check(read_all_no_wait(kp, "c.read") == b"keeppayload", "both, in order")


@scenario
def send_ping(ctx):
    kp = ctx.kp
    check(kp.ok("send", "hello") == b"hello", "echo service returns the payload")
    check(kp.ok("send", stdin=b"from stdin") == b"from stdin", "payload from stdin")
    out = kp.ok("send", "--count", "3", "--interval", "5ms").decode()
    check("3 sent, 3 received, 0.0% loss" in out and "rtt min/avg/max" in out, out)
    expect(kp.run("send", "--service", "nonesuch", "x"), 1, "no service")


@scenario
def watch(ctx):
    kp = ctx.kp
    out = kp.ok("watch", "--until", "connected").decode()
    check(out.startswith("connection connected"), out)
    check("pki epoch=" in kp.ok("watch", "--until", "pki").decode(), "watch --until pki")
    # Events as they happen: a restart shows a disconnect and a reconnect. Every stdout line is
    # an event (the library's own log lines belong on stderr).
    p = kp.spawn("--json", "watch")
    events = Output(p)
    wait_for(lambda: b'"connection_status"' in events.poll(), "the initial status line")
    ctx.sim.control("restart")
    wait_for(lambda: b'"graceful":false' in events.poll(), "a disconnect event")
    wait_for(lambda: b'"instance_changed":true' in events.poll(), "a reconnect event")
    p.send_signal(signal.SIGINT)
    p.wait(20)
    check(p.returncode == 130, "watch ends with 130 on Ctrl-C, got %d" % p.returncode)
    # Every line is an event (fails on any other line), then the error object of the Ctrl-C.
    objects = json_results(events.poll())
    kinds = [o["event"] for o in objects]
    check(kinds[0] == "connection_status" and "disconnected" in kinds and "reconnected" in kinds, kinds)
    back = [o for o in objects if o["event"] == "reconnected"][0]
    check(back["resumed"] is False and back["replayed"] == 0 and back.get("reissued") == 0,
          "a reconnect says what the library re-sent: %r" % back)
    # A dropped connection to a daemon that keeps the session: resumed, and the counts in text.
    p = kp.spawn("watch")
    events = Output(p)
    wait_for(lambda: b"connection connected" in events.poll(), "the initial status line")
    ctx.sim.control("drop")
    wait_for(lambda: b"reconnected resumed=true" in events.poll(), "a resumed reconnect")
    p.send_signal(signal.SIGINT)
    p.wait(20)
    line = [l for l in events.poll().splitlines() if l.startswith(b"reconnected")][0]
    check(line == b"reconnected resumed=true replayed=0 reissued=0", "the reconnect line: %r" % line)
    ctx.sim.control("offline")
    expect(kp.run("--timeout", "300ms", "watch", "--until", "connected"), 5, "mixnet connection")


@scenario
def services(ctx):
    out = ctx.kp.ok("services").decode()
    names = [l.split("\t")[0] for l in out.splitlines()]
    check("echo" in names and "courier" in names, out)
    check(all(len(l.split("\t")) == 3 for l in out.splitlines()), "NAME<TAB>NODE<TAB>QUEUE: %r" % out)
    check(ctx.kp.ok("services", "echo").decode().startswith("echo\t"), "filter by name")


@scenario
def exit_codes(ctx):
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")                                                     # 0
    kp.ok("write", "c.write", "x")
    expect(kp.run("read", "c.read", stdout=open("/dev/full", "wb")), 1, "standard output")
    expect(kp.run("read", "--bogus", "c.read"), 2)
    expect(kp.run("-c", os.path.join(d, "absent.toml"), "read", "c.read", config=False), 3, "does not exist")
    open(os.path.join(d, "nowhere.toml"), "w").write('[Dial]\n  [Dial.Unix]\n    Address = "%s/none.sock"\n' % d)
    expect(kp.run("-c", "nowhere.toml", "services", config=False), 4, "kpclientd")
    expect(kp.run("--timeout", "200ms", "read", "-n", "2", "c.read"), 5)   # one box, then waits
    expect(kp.run("read", "--no-wait", "c.read"), 6)
    kp.ok("tombstone", "--next", "1", "c.write")
    expect(kp.run("read", "c.read"), 7)
    # 8: rewrite a box with --box-exists-error (restore the old position first).
    saved = file_bytes(os.path.join(d, "c.write"))
    kp.ok("write", "c.write", "first")
    open(os.path.join(d, "c.write"), "wb").write(saved)
    expect(kp.run("write", "--box-exists-error", "c.write", "again"), 8)
    check(file_bytes(os.path.join(d, "c.write")) == saved, "exit 8 leaves the position")
    kp.ok("write", "c.write", "again")  # without the flag: after the occupied box
    saved = file_bytes(os.path.join(d, "c.write"))
    # 9: the courier fails the copy.
    ctx.sim.control("fail start_resending_copy_command 26 1")
    code, _, err = kp.run("copy", "--to", "c.write", stdin=b"clash")
    expect((code, b"", err), 9, "copy")
    check("start_resending" not in err, "the copy failure names no protocol request: %s" % err)
    check(file_bytes(os.path.join(d, "c.write")) == saved, "a failed copy leaves the destination position")
    # 10: the daemon refuses a request.
    ctx.sim.control("fail encrypt_write 3 1")
    expect(kp.run("write", "c.write", "refused"), 10, "daemon")
    # 130: covered with stats in interrupt_read; here the plain code.
    p = kp.spawn("read", "--follow", "c.read")
    wait_for(lambda: ctx.sim.stats()["waiting"] >= 1, "the follower to wait")
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=20)
    check(p.returncode == 130, "exit 130, got %d" % p.returncode)
    # A timeout while the daemon has no mixnet connection names that as the cause.
    ctx.sim.control("offline")
    expect(kp.run("--timeout", "300ms", "write", "c.write", "later"), 5, "no connection to the mixnet")
    ctx.sim.control("online")


@scenario
def bad_inputs(ctx):
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    kp.ok("write", "c.write", "one")

    def refused(args, code, needle, config=True, stdin=None, stdout=None, **kw):
        before = snapshot(d)
        expect(kp.run(*args, config=config, stdin=stdin, stdout=stdout, **kw), code, needle)
        unchanged(before, d, "kpthin %s" % " ".join(args))

    refused(["-c", "missing.toml", "read", "c.read"], 3, "does not exist", config=False)
    refused(["read", "c.read"], 3, "no thinclient.toml found", config=False,
            env={"XDG_CONFIG_HOME": d, "HOME": d})
    open(os.path.join(d, "bad.toml"), "w").write("[Dial\n")
    refused(["-c", "bad.toml", "read", "c.read"], 3, "bad.toml", config=False)
    open(os.path.join(d, "unknown.toml"), "w").write(open(ctx.sim.config).read() + "Extra = 1\n")
    refused(["-c", "unknown.toml", "read", "c.read"], 3, "Extra", config=False)
    open(os.path.join(d, "nosock.toml"), "w").write('[Dial]\n  [Dial.Unix]\n    Address = "%s/gone.sock"\n' % d)
    refused(["-c", "nosock.toml", "read", "c.read"], 4, "cannot reach kpclientd", config=False)
    refused(["write", "c.read", "x"], 2, "is a read channel")
    good = file_bytes(os.path.join(d, "c.read"))
    open(os.path.join(d, "trunc.read"), "wb").write(good[: len(good) // 2])
    refused(["read", "trunc.read"], 3, "trunc.read")
    tampered = bytearray(good)
    at = good.index(b'capability = "') + 30
    tampered[at] = ord("A") if tampered[at] != ord("A") else ord("B")
    open(os.path.join(d, "tampered.read"), "wb").write(bytes(tampered))
    refused(["read", "tampered.read"], 3, "checksum")
    short_cap = good.replace(good[good.index(b'capability = "') + 14: good.index(b'"\nindex')],
                             base64.b64encode(b"\x01" * 100))
    open(os.path.join(d, "short.read"), "wb").write(short_cap)
    refused(["read", "short.read"], 3, "136 bytes, this one 100")
    refused(["write", "c.write", "x" * 100_000], 2, "box limit")
    refused(["write", "c.write"], 2, "box limit", stdin=b"y" * 100_000)
    refused(["copy", "--to", "c.write"], 2, "10 MiB", stdin=b"z" * (10 * 1024 * 1024 + 1))
    refused(["read", "c.read"], 1, "cannot write to standard output", stdout=open("/dev/full", "wb"))
    check(kp.ok("read", "c.read") == b"one", "the box refused by /dev/full is still there")
    os.symlink("loop.write", os.path.join(d, "loop.write"))
    refused(["write", "loop.write", "x"], 3, "symbolic links")
    refused(["copy", "--to", "loop.write"], 3, "symbolic links", stdin=b"x")
    os.unlink(os.path.join(d, "loop.write"))
    refused(["--timeout", "soon", "read", "c.read"], 2, "not a duration")
    refused(["write", "--split", "words", "c.write"], 2, "--split")


# ---------------------------------------------------------------------------------------------

class Context:
    def __init__(self, args, workdir):
        self.args = args
        self.dir = workdir
        self.sim_dir = os.path.join(workdir, "sim")
        os.mkdir(self.sim_dir)
        self.sim = Sim(args.sim, self.sim_dir)
        self.kp = Kpthin(args.kpthin, self.sim.config, workdir)

    def restart_sim(self, *extra):
        """Replaces the simulator with one started with `extra` flags (a fresh store)."""
        self.sim.stop()
        self.sim = Sim(self.args.sim, self.sim_dir, *extra)
        self.kp.config = self.sim.config


def print_sim_log(ctx):
    try:
        print(open(os.path.join(ctx.sim_dir, "sim.log")).read()[-3000:])
    except OSError:
        pass


def main():
    return run_scenarios(SCENARIOS, Context, on_failure=print_sim_log)


if __name__ == "__main__":
    sys.exit(main())
