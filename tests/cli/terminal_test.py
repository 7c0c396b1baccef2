#!/usr/bin/env python3
"""What a person sees: kpthin on a pseudo-terminal (its controlling terminal, so Ctrl-C typed on
it is a SIGINT), and at the edges of pipelines, against kpclientd-sim. One scenario per run:

    terminal_test.py --kpthin PATH --sim PATH SCENARIO

The screen is rendered from the bytes the terminal received (carriage returns, erase-line,
newlines), so a test sees what was left on the screen, not only what was sent. Every wait is a
bounded poll on a condition."""
import fcntl
import json
import os
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_scenarios, Failure, Kpthin, Sim, Workdir, check, expect, snapshot, unchanged, wait_for  # noqa: E402

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


ERASE_LINE = b"\x1b[K"


def render(raw):
    """The lines a terminal shows after receiving `raw`: CR goes to column 0, LF to the next line,
    ESC [ K erases to the end of the line, printable bytes overwrite. Any other escape sequence is
    a failure (kpthin uses no other). Trailing blanks are dropped, as a person cannot see them."""
    lines, row, col, i = [bytearray()], 0, 0, 0
    while i < len(raw):
        if raw.startswith(ERASE_LINE, i):
            del lines[row][col:]
            i += len(ERASE_LINE)
            continue
        c = raw[i]
        i += 1
        if c == 0x1b:
            raise Failure("unexpected escape sequence on the terminal: %r" % raw[i - 1:i + 8])
        if c == 0x0d:
            col = 0
        elif c == 0x0a:
            row, col = row + 1, 0
            if row == len(lines):
                lines.append(bytearray())
        elif c == 0x08:
            col = max(0, col - 1)
        else:
            line = lines[row]
            if col > len(line):
                line.extend(b" " * (col - len(line)))
            if col == len(line):
                line.append(c)
            else:
                line[col] = c
            col += 1
    shown = [bytes(l).decode(errors="replace").rstrip() for l in lines]
    while shown and not shown[-1]:
        shown.pop()
    return shown


class Terminal:
    """kpthin started on a fresh pseudo-terminal that is its controlling terminal. `on` names the
    standard streams connected to it ("012" = all, as in an interactive shell); the others are
    pipes (stdout, stderr) or /dev/null (stdin)."""

    def __init__(self, kp, args, on="012", env=None):
        self.master, slave = os.openpty()
        full_env = dict(os.environ)
        full_env.pop("KPTHIN_CONFIG", None)
        full_env.pop("KPTHIN_PROGRESS_DELAY", None)
        full_env.pop("NO_COLOR", None)
        full_env["TERM"] = "xterm"
        full_env.update(env or {})
        tty_fd = int(on[0])

        def take_terminal():
            fcntl.ioctl(tty_fd, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            kp.argv(args), cwd=kp.cwd, env=full_env, start_new_session=True, preexec_fn=take_terminal,
            stdin=slave if "0" in on else subprocess.DEVNULL,
            stdout=slave if "1" in on else subprocess.PIPE,
            stderr=slave if "2" in on else subprocess.PIPE)
        os.close(slave)
        os.set_blocking(self.master, False)
        self.raw = b""

    def poll(self):
        """Everything the terminal has received so far."""
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except BlockingIOError:
                break
            except OSError:  # EIO: every process holding the terminal has gone
                break
            if not chunk:
                break
            self.raw += chunk
        return self.raw

    def screen(self):
        return render(self.poll())

    def shows(self, text):
        return any(text in line for line in self.screen())

    def type(self, data):
        os.write(self.master, data)

    def wait(self, timeout=60):
        """Waits for kpthin to exit; returns (exit code, screen lines, piped stdout, piped stderr)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise Failure("kpthin %s did not exit within %ds; the terminal shows %r"
                          % (" ".join(self.proc.args[1:]), timeout, self.screen()))
        self.poll()
        os.close(self.master)
        return self.proc.returncode, render(self.raw), out, err


def on_terminal(kp, *args, on="012", env=None, timeout=60):
    return Terminal(kp, args, on=on, env=env).wait(timeout)


FORCED = {"KPTHIN_PROGRESS_DELAY": "0"}  # progress at once, so a short test run shows it


@scenario
def progress_single_box(ctx):
    """`write c.write hello; read c.read` on a terminal shows hello: no progress line is drawn for
    one box (nor for a short run), so nothing can erase the data."""
    kp = ctx.kp
    kp.ok("keypair", "c")
    kp.ok("write", "c.write", "hello")
    t = Terminal(kp, ["read", "c.read"])
    code, screen, _, _ = t.wait()
    check(code == 0, "read exited %d: %r" % (code, screen))
    check(screen == ["hello"], "the terminal must show hello, it shows %r (bytes %r)" % (screen, t.raw))
    check(t.raw == b"hello", "nothing but the data on a short read: %r" % t.raw)
    # Even with the progress forced on, one box draws none (it would only flash).
    kp.ok("write", "c.write", "again")
    t = Terminal(kp, ["read", "c.read"], env=FORCED)
    code, screen, _, _ = t.wait()
    check(code == 0 and t.raw == b"again", "one box, forced progress: exit %d, %r" % (code, t.raw))


@scenario
def progress_cleared_before_data(ctx):
    """With the progress line forced on, every line of data lands on a clean line, and the
    progress line is gone at the end: the screen holds exactly the data."""
    kp = ctx.kp
    kp.ok("keypair", "c")
    kp.ok("write", "--split", "lines", "c.write", stdin=b"a\nb\nc\nd\n")
    t = Terminal(kp, ["read", "-n", "4", "c.read"], env=FORCED)
    code, screen, _, _ = t.wait()
    check(code == 0, "read exited %d: %r" % (code, screen))
    check(b"boxes read: " in t.raw, "the forced progress line was never drawn: %r" % t.raw)
    check(screen == ["a", "b", "c", "d"],
          "the screen must hold the data only, one message per line: %r (bytes %r)" % (screen, t.raw))
    # Data without line ends: the progress is never drawn over the open line.
    kp.ok("write", "--split", "1", "c.write", stdin=b"xyz")
    t = Terminal(kp, ["read", "-n", "3", "c.read"], env=FORCED)
    code, screen, _, _ = t.wait()
    check(code == 0 and screen == ["xyz"], "unterminated data must stay on screen: %r (bytes %r)" % (screen, t.raw))
    # Progress never goes to stdout: piped, it holds the data only, and the terminal (stderr) is
    # left clean.
    kp.ok("write", "--split", "lines", "c.write", stdin=b"e\nf\ng\n")
    code, screen, out, _ = on_terminal(kp, "read", "-n", "3", "c.read", on="02", env=FORCED)
    check(code == 0 and out == b"e\nf\ng\n", "stdout must hold the data only: %r" % out)
    check(screen == [], "the progress line must be erased at the end: %r" % screen)


@scenario
def progress_tombstone(ctx):
    """`read -n 2` reaching a tombstone: the box before it stays on screen, and the error starts
    a line of its own instead of being glued to the data or erasing it."""
    kp = ctx.kp
    kp.ok("keypair", "c")
    kp.ok("write", "c.write", "first")
    kp.ok("write", "c.write", "second")
    kp.ok("tombstone", "--last", "1", "c.write")
    t = Terminal(kp, ["read", "-n", "2", "c.read"], env=FORCED)
    code, screen, _, _ = t.wait()
    check(code == 7, "read into a tombstone exits 7, got %d: %r" % (code, screen))
    check(len(screen) == 2 and screen[0] == "first" and screen[1].startswith("kpthin: ") and "tombstone" in screen[1],
          "expected the data, then the error on its own line: %r (bytes %r)" % (screen, t.raw))


@scenario
def progress_follow(ctx):
    """`read --follow -d '\\n'` with the progress forced on: each message on its own line, the
    progress line never mixed into one, the screen clean after Ctrl-C."""
    kp = ctx.kp
    kp.ok("keypair", "c")
    t = Terminal(kp, ["read", "--follow", "-d", "\\n", "c.read"], env=FORCED)
    for i in range(4):
        kp.ok("write", "c.write", "message %d" % i)
        wait_for(lambda: t.shows("message %d" % i), "message %d on the terminal" % i)
    wait_for(lambda: b"boxes read: " in t.poll(), "the forced progress line")
    t.type(b"\x03")  # Ctrl-C
    code, screen, _, _ = t.wait(30)
    check(code == 130, "Ctrl-C ends --follow with 130, got %d: %r" % (code, screen))
    data = [l for l in screen if l.startswith("message")]
    check(data == ["message %d" % i for i in range(4)], "every message on a line of its own: %r" % screen)
    check(not any("boxes read" in l for l in screen), "the progress line must be gone: %r" % screen)


@scenario
def progress_plain_terminal(ctx):
    """TERM=dumb and NO_COLOR: no escape sequence at all; the progress line is drawn and erased
    with carriage returns and spaces."""
    kp = ctx.kp
    kp.ok("keypair", "c")
    for env in ({"TERM": "dumb"}, {"NO_COLOR": "1"}):
        kp.ok("write", "--split", "lines", "c.write", stdin=b"a\nb\nc\n")
        t = Terminal(kp, ["read", "-n", "3", "c.read"], env=dict(FORCED, **env))
        code, screen, _, _ = t.wait()
        check(code == 0, "%s: read exited %d" % (env, code))
        check(b"\x1b" not in t.raw, "%s: escape sequences sent: %r" % (env, t.raw))
        check(b"boxes read: " in t.raw, "%s: the forced progress line was not drawn: %r" % (env, t.raw))
        check(screen == ["a", "b", "c"], "%s: the screen must hold the data only: %r (bytes %r)" % (env, screen, t.raw))


@scenario
def empty_input(ctx):
    """Empty input is refused (exit 2, a hint, nothing written) by write, send and copy; write
    --allow-empty stores an empty box, which readers cannot tell from a tombstone (exit 7)."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    before = snapshot(d)
    expect(kp.run("write", "c.write", ""), 2, "--allow-empty")
    expect(kp.run("write", "c.write", stdin=b""), 2, "--allow-empty")
    open(os.path.join(d, "empty"), "wb").close()
    expect(kp.run("write", "--file", "empty", "c.write"), 2, "empty")
    os.unlink(os.path.join(d, "empty"))
    unchanged(before, d, "refused empty writes")
    expect(kp.run("read", "--no-wait", "c.read"), 6)  # no box was written
    # --split writes one box per line or chunk, so an empty input writes none and succeeds.
    kp.ok("write", "--split", "lines", "c.write", stdin=b"")
    expect(kp.run("read", "--no-wait", "c.read"), 6)
    expect(kp.run("write", "--split", "lines", "--allow-empty", "c.write", stdin=b""), 2, "--split")
    # Asked for: the empty box is what a tombstone is.
    kp.ok("write", "--allow-empty", "c.write", "")
    kp.ok("write", "c.write", "after")
    code, out, err = kp.run("--json", "read", "-n", "2", "c.read")
    check(code == 7 and json.loads(out.decode().splitlines()[0]).get("tombstone") is True,
          "an empty box reads as a tombstone: exit %d, %r, %s" % (code, out, err))
    check(kp.ok("read", "c.read") == b"after", "the box after it")
    # send: refused the same way; --allow-empty sends it (the echo service returns it).
    expect(kp.run("send", ""), 2, "--allow-empty")
    expect(kp.run("send", stdin=b""), 2, "--allow-empty")
    check(kp.ok("send", "--allow-empty", "") == b"", "an empty echo")
    # copy: an empty payload would copy no box at all; as a framed (empty) file it is a header.
    expect(kp.run("copy", "--to", "c.write", stdin=b""), 2, "--framed")
    expect(kp.run("read", "--no-wait", "c.read"), 6)
    kp.ok("copy", "--framed", "--to", "c.write", stdin=b"")
    check(kp.ok("read", "--framed", "c.read") == b"", "an empty framed file")


@scenario
def interrupt_import(ctx):
    """The first Ctrl-C stops `keypair --import -` waiting on a terminal: exit 130, no file."""
    kp, d = ctx.kp, ctx.dir
    before = snapshot(d)
    t = Terminal(kp, ["keypair", "--import", "-", "shared"])
    wait_for(lambda: t.shows("Ctrl-D"), "the hint that keypair --import - reads the terminal")
    t.type(b"\x03")
    code, screen, _, _ = t.wait(10)
    check(code == 130, "the first Ctrl-C must end the import with 130, got %d: %r" % (code, screen))
    check(not any("without cleanup" in l for l in screen), "one Ctrl-C was enough: %r" % screen)
    unchanged(before, d, "an interrupted import")


@scenario
def stdin_hints(ctx):
    """On a terminal stdin, write, send and keypair --import - say they read it and how to end
    it; typed input ended with Ctrl-D is the message. From a pipe there is no hint."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    t = Terminal(kp, ["write", "c.write"])
    wait_for(lambda: t.shows("reading the message from the terminal") and t.shows("Ctrl-D"), "write's hint")
    t.type(b"typed\n\x04")
    code, screen, _, _ = t.wait(30)
    check(code == 0, "write from the terminal exited %d: %r" % (code, screen))
    check(kp.ok("read", "c.read") == b"typed\n", "the typed line is the message")
    t = Terminal(kp, ["write", "--split", "lines", "c.write"])
    wait_for(lambda: t.shows("reading the messages from the terminal"), "write --split's hint")
    t.type(b"one\ntwo\n\x04")
    code, screen, _, _ = t.wait(30)
    check(code == 0 and kp.ok("read", "-n", "2", "c.read") == b"one\ntwo\n", "write --split from the terminal")
    t = Terminal(kp, ["send"])
    wait_for(lambda: t.shows("reading the message from the terminal"), "send's hint")
    t.type(b"ping\n\x04")
    code, screen, _, _ = t.wait(30)
    check(code == 0 and "ping" in screen, "send from the terminal: exit %d, %r" % (code, screen))
    exported = kp.ok("keypair", "--export", "c")
    t = Terminal(kp, ["keypair", "--import", "-", "imported"])
    wait_for(lambda: t.shows("reading pigeonhole-cp genkey text from the terminal"), "keypair --import -'s hint")
    t.type(exported + b"\x04")
    code, screen, _, _ = t.wait(30)
    check(code == 0 and os.path.exists(os.path.join(d, "imported.write")), "import from the terminal: %r" % screen)
    # From a pipe: no hint.
    code, _, err = kp.run("write", "c.write", stdin=b"piped")
    check(code == 0 and err == "", "no hint when stdin is a pipe: %r" % err)


@scenario
def keypair_reports(ctx):
    """`keypair NAME` says which two files it made (stderr); --json says it on stdout only."""
    kp, d = ctx.kp, ctx.dir
    code, out, err = kp.run("keypair", "chat")
    check(code == 0 and out == b"", "keypair: exit %d, stdout %r" % (code, out))
    check("chat.write" in err and "chat.read" in err and "created" in err, "keypair must name its files: %r" % err)
    code, out, err = kp.run("--json", "keypair", "talk")
    obj = json.loads(out)
    check(code == 0 and obj["write_channel"] == "talk.write" and obj["read_channel"] == "talk.read", out)
    check(err == "", "with --json, the object is the report: %r" % err)
    code, out, err = kp.run("-q", "keypair", "quiet")
    check(code == 0 and err == "", "-q silences the report: %r" % err)


@scenario
def follow_head(ctx):
    """`read --follow | head` ends quietly with 141 (128 + SIGPIPE, as tail and git) once head has
    gone: nothing on stderr, whether kpthin was waiting or writing when it noticed."""
    kp = ctx.kp
    kp.ok("keypair", "c")
    for i in range(3):
        kp.ok("write", "c.write", "line %d" % i)
    follow = kp.spawn("read", "--follow", "-d", "\\n", "c.read")
    head = subprocess.Popen(["head", "-n", "2"], stdin=follow.stdout, stdout=subprocess.PIPE)
    follow.stdout.close()
    head_out, _ = head.communicate(timeout=60)
    check(head_out == b"line 0\nline 1\n", "head's lines: %r" % head_out)
    try:
        _, err = follow.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        follow.kill()
        raise Failure("read --follow kept running after head closed the pipe")
    check(follow.returncode == 141, "a closed pipe ends --follow with 141, got %d: %s" % (follow.returncode, err))
    check(err == b"", "nothing on stderr: %r" % err)
    # -v says why.
    follow = kp.spawn("-v", "read", "--follow", "c.read")
    follow.stdout.close()
    _, err = follow.communicate(timeout=20)
    check(follow.returncode == 141 and b"standard output" in err, "-v: %d %r" % (follow.returncode, err))


@scenario
def keypair_short_f(ctx):
    """-f means --file (write, copy); keypair's --force has no short form, and `keypair -f` says so."""
    kp, d = ctx.kp, ctx.dir
    kp.ok("keypair", "c")
    before = snapshot(d)
    expect(kp.run("keypair", "-f", "c"), 2, "--force")
    unchanged(before, d, "keypair -f")
    kp.ok("keypair", "--force", "c")
    code, out, _ = kp.run("keypair", "--help")
    check(code == 0 and b" -f" not in out and b"--force" in out, "keypair --help must not offer -f: %r" % out)
    with open(os.path.join(d, "m"), "wb") as f:
        f.write(b"from a file")
    kp.ok("write", "-f", "m", "c.write")
    check(kp.ok("read", "c.read") == b"from a file", "write -f FILE")


@scenario
def timeout_bare_number(ctx):
    """--timeout 1 is one second (documented in --help and kpthin(1)), not a millisecond or a
    minute."""
    kp = ctx.kp
    kp.ok("keypair", "c")
    started = time.monotonic()
    expect(kp.run("--timeout", "1", "read", "c.read"), 5, "within 1s")
    waited = time.monotonic() - started
    check(waited >= 0.9, "--timeout 1 waited only %.2fs" % waited)
    code, out, _ = kp.run("--help")
    check(code == 0 and b"bare number is seconds" in out, "--help must say what a bare number means")
    code, _, err = kp.run("--timeout", "5x", "read", "c.read")
    check(code == 2 and "bare number is seconds" in err, "a bad --timeout says what is accepted: %s" % err)


# ---------------------------------------------------------------------------------------------

class Context:
    def __init__(self, args, workdir):
        self.dir = workdir
        self.sim_dir = os.path.join(workdir, "sim")
        os.mkdir(self.sim_dir)
        self.sim = Sim(args.sim, self.sim_dir)
        self.kp = Kpthin(args.kpthin, self.sim.config, workdir)


def main():
    return run_scenarios(SCENARIOS, Context)


if __name__ == "__main__":
    sys.exit(main())
