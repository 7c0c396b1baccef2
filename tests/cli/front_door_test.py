#!/usr/bin/env python3
"""What a script or a person at the front door of kpthin sees when something is wrong: usage
mistakes named with the nearest correct name, `kpthin help`, -V, the global options in every
subcommand's --help, the --json error object, and hints in the user's words. One scenario per
invocation:

    front_door_test.py --kpthin PATH --sim PATH SCENARIO

Every wait is a bounded poll on a condition (harness.wait_for); no sleep stands in for one."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_scenarios, Failure, Kpthin, Sim, Workdir, check, expect, wait_for  # noqa: E402

SCENARIOS = {}

# kpthin(1)'s EXIT STATUS: the code and the stable "kind" of the --json error object.
KINDS = {1: "other", 2: "usage", 3: "config", 4: "daemon_unreachable", 5: "timeout", 6: "box_not_found",
         7: "tombstone", 8: "box_already_exists", 9: "copy_failed", 10: "protocol", 130: "interrupted"}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def usage_error(kp, args, needle, absent=None):
    """kpthin ARGS is a usage error (exit 2) whose one stderr line says `needle`."""
    code, out, err = kp.run(*args, config=False)
    check(code == 2, "kpthin %s: expected exit 2, got %d: %s" % (" ".join(args), code, err.strip()))
    lines = err.strip().splitlines()
    check(len(lines) == 1, "kpthin %s: one line on stderr expected, got %r" % (" ".join(args), err))
    check(needle in lines[0], "kpthin %s: stderr should say %r; it says %r" % (" ".join(args), needle, lines[0]))
    if absent is not None:
        check(absent not in lines[0], "kpthin %s: stderr should not say %r: %r" % (" ".join(args), absent, lines[0]))
    check(out == b"", "a usage error prints nothing on stdout without --json: %r" % out)


@scenario
def usage_errors(ctx):
    """Issue 11 item 4: each kind of mistake is named, with the nearest correct name; none is
    reported as "A subcommand is required"."""
    kp = ctx.kp
    usage_error(kp, ["foo"], "unknown subcommand 'foo'", absent="did you mean")
    usage_error(kp, ["rea", "x"], "unknown subcommand 'rea'; did you mean read?")
    usage_error(kp, ["sned", "hi"], "did you mean send?")
    usage_error(kp, ["tomb", "c.write"], "did you mean tombstone?")
    usage_error(kp, ["-X"], "unknown option -X")
    usage_error(kp, ["--timout", "2s", "read", "c.read"], "unknown option --timout; did you mean --timeout?")
    usage_error(kp, ["read", "--folow", "c.read"], "unknown option --folow for `kpthin read`; did you mean --follow?")
    usage_error(kp, ["read", "--jsno", "c.read"], "did you mean --json?")
    usage_error(kp, ["--follow", "read", "c.read"], "--follow is an option of `kpthin read`")
    usage_error(kp, ["-v"], "no subcommand given")
    usage_error(kp, [], "no subcommand given")
    usage_error(kp, ["-c", "x.toml", "wrtie", "c.write"], "did you mean write?")
    for args in (["foo"], ["rea", "x"], ["-X"], ["read", "--folow", "x"]):
        code, _, err = kp.run(*args, config=False)
        check("A subcommand is required" not in err, "kpthin %s still says %r" % (" ".join(args), err.strip()))


@scenario
def help_and_version(ctx):
    """`kpthin help` and `kpthin help SUBCOMMAND` print the help (exit 0) the same as --help does;
    an unknown one is a usage error with a suggestion; -V is --version."""
    kp = ctx.kp
    main_help = kp.ok("--help", config=False)
    check(kp.ok("help", config=False) == main_help, "kpthin help differs from kpthin --help")
    for sub in ("read", "write", "send", "copy"):
        check(kp.ok("help", sub, config=False) == kp.ok(sub, "--help", config=False),
              "kpthin help %s differs from kpthin %s --help" % (sub, sub))
    check(b"Usage: kpthin read" in kp.ok("help", "read", config=False), "help read shows read's usage")
    usage_error(kp, ["help", "rea"], "did you mean read?")
    version = kp.ok("--version", config=False)
    check(version.startswith(b"kpthin "), "--version: %r" % version)
    check(kp.ok("-V", config=False) == version, "-V must print what --version prints")


@scenario
def one_subcommand_tree(ctx):
    """A command line naming one subcommand is parsed against that subcommand alone (start-up,
    issue 13); whatever it cannot parse there (help, version, an option of another subcommand)
    must come out as from the whole command line: nothing here may tell the two apart."""
    kp = ctx.kp
    version = kp.ok("--version", config=False)
    for args in (["keypair", "-V"], ["read", "--version", "c.read"], ["write", "-vV", "c.write"]):
        check(kp.ok(*args, config=False) == version, "kpthin %s must print the version" % " ".join(args))
    check(kp.ok("keypair", "-h", config=False) == kp.ok("help", "keypair", config=False),
          "kpthin keypair -h differs from kpthin help keypair")
    check(kp.ok("-h", "send", config=False) == kp.ok("help", "send", config=False),
          "kpthin -h send differs from kpthin help send")
    usage_error(kp, ["--follow", "keypair", "x"], "--follow is an option of `kpthin read`")
    usage_error(kp, ["--to", "write", "c.write"], "--to is an option of `kpthin copy`")
    # An option's value that looks like a flag is still taken as the value.
    code, _, err = kp.run("-c", "-h", "keypair", "--print", "--no-files", "x", config=False)
    check(code == 3 and "-h" in err, "kpthin -c -h keypair: a config error naming -h expected: %d %r" % (code, err))


@scenario
def subcommand_help_globals(ctx):
    """Issue 11 item 11: every subcommand's --help lists the global options its examples use."""
    kp = ctx.kp
    main_help = kp.ok("--help", config=False).decode()
    subs = re.findall(r"^  (\w+)\s{2,}", main_help.split("Subcommands:")[1].split("\n\n")[0], re.M)
    check("read" in subs and len(subs) >= 8, "subcommands in --help: %r" % subs)
    for sub in subs:
        text = kp.ok(sub, "--help", config=False).decode()
        check("Global options" in text, "kpthin %s --help has no global options section" % sub)
        globals_part = text.split("Global options")[1]
        for opt in ("-c,--config", "--timeout", "--json", "-v,--verbose", "-q,--quiet"):
            check(opt in globals_part, "kpthin %s --help does not list %s" % (sub, opt))


def json_error(kp, args, code, stdin=None, before=0, config=True):
    """kpthin --json ARGS fails with `code` and its last stdout line is the error object;
    `before` result objects may come first. Returns the error's message."""
    got, out, err = kp.run("--json", *args, stdin=stdin, config=config)
    check(got == code, "kpthin --json %s: expected exit %d, got %d: %s" % (" ".join(args), code, got, err.strip()))
    lines = out.decode().splitlines()
    check(len(lines) == before + 1, "kpthin --json %s: expected %d stdout lines, got %r" % (" ".join(args), before + 1, out))
    obj = json.loads(lines[-1])
    check(set(obj) == {"error"} and set(obj["error"]) == {"code", "kind", "message"},
          "the error object has exactly error.code, error.kind, error.message: %r" % obj)
    e = obj["error"]
    check(e["code"] == code and e["kind"] == KINDS[code], "error object %r for exit %d" % (e, code))
    stderr_line = err.strip().splitlines()[-1]
    check(stderr_line == "kpthin: " + e["message"], "the message is stderr's line: %r vs %r" % (e["message"], stderr_line))
    return e["message"]


@scenario
def json_errors(ctx):
    """Issue 11 item 7: with --json every failure also prints one error object on stdout, whose
    code is the exit code and whose kind is its stable name."""
    kp = ctx.kp
    sim = ctx.sim
    kp.ok("keypair", "c")
    json_error(kp, ["rea", "c.read"], 2)                         # usage, caught by the parser
    json_error(kp, ["write", "c.read", "x"], 2)                  # usage, found by the command
    json_error(kp, ["-c", os.path.join(ctx.dir, "none.toml"), "read", "c.read"], 3, config=False)
    json_error(kp, ["read", "--no-wait", "c.read"], 6)
    json_error(kp, ["--timeout", "300ms", "read", "c.read"], 5)
    kp.ok("write", "c.write", "one")
    kp.ok("tombstone", "--next", "1", "c.write")
    json_error(kp, ["read", "-n", "2", "c.read"], 7, before=2)   # box 1, the tombstone, then why
    # Nothing listening: exit 4.
    broken = os.path.join(ctx.dir, "broken.toml")
    with open(sim.config) as f:
        text = f.read()
    with open(broken, "w") as f:
        f.write(text.replace(sim.socket, os.path.join(ctx.dir, "nobody.sock")))
    json_error(kp, ["-c", broken, "read", "c.read"], 4, config=False)
    # Without --json, stdout stays empty on failure.
    code, out, _ = kp.run("read", "--no-wait", "c.read")
    check(code == 6 and out == b"", "without --json nothing goes to stdout on failure: %r" % out)


PROTOCOL_WORDS = ("start_resending", "send_message", "SURB", "cancelled at the daemon", "encrypt_", "_reply")


def one_line_in_user_words(err, what):
    """stderr of a failure: one line, no protocol request names. Returns the line."""
    lines = [l for l in err.splitlines() if l.strip()]
    check(len(lines) == 1, "%s: one stderr line expected, got %r" % (what, err))
    for word in PROTOCOL_WORDS:
        check(word not in lines[0], "%s: the message leaks %r: %r" % (what, word, lines[0]))
    return lines[0]


@scenario
def hints(ctx):
    """Issue 11 item 6: hints name options that exist, the resume command keeps -c FILE, and
    failures are said in the user's words, not the protocol's."""
    kp, d, sim = ctx.kp, ctx.dir, ctx.sim
    code, _, err = kp.run("services", "nope")
    check(code == 1 and "--service" not in err and "testdest" in err, "services nope: %d %s" % (code, err))
    code, _, err = kp.run("send", "-s", "nope", "hi")
    check(code == 1 and "-s/--service" in err, "send -s nope names -s/--service: %s" % err)
    # Ctrl-C of a waiting read.
    kp.ok("keypair", "c")
    p = kp.spawn("read", "c.read")
    wait_for(lambda: sim.stats()["waiting"] >= 1, "the read to wait at the simulator")
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=20)
    check(p.returncode == 130, "Ctrl-C exits 130, got %d" % p.returncode)
    line = one_line_in_user_words(err.decode(), "interrupted read")
    check("reading c.read: interrupted" in line, line)
    # A service that never answers (the sim's testdest swallows messages).
    code, _, err = kp.run("--timeout", "500ms", "send", "-s", "testdest", "hi")
    check(code == 5, "send to a silent service times out with 5, got %d: %s" % (code, err))
    line = one_line_in_user_words(err, "send timeout")
    check("no answer within 500ms" in line and "--timeout" in line, line)
    # With -v the library's detail is still there for whoever wants it.
    code, _, err = kp.run("-v", "--timeout", "500ms", "send", "-s", "testdest", "hi")
    check(code == 5 and "send_message" in err, "-v shows the detail: %s" % err)
    # An interrupted copy: one line, with the command that continues it, -c FILE included.
    blob = os.urandom(60_000)
    open(os.path.join(d, "blob"), "wb").write(blob)
    state = os.path.join(d, "copy state")
    check(sim.control("offline-after-writes 8") == "ok", "sim control offline-after-writes")
    p = kp.spawn("copy", "--state", state, "--to", "c.write", "--file", "blob")
    wait_for(lambda: sim.stats().get("offline") == 1, "the sim to go offline after 8 writes", timeout=60)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    sim.control("online")
    check(p.returncode == 130, "Ctrl-C of a copy exits 130, got %d: %s" % (p.returncode, err.decode()))
    line = one_line_in_user_words(err.decode(), "interrupted copy")
    want = "kpthin -c %s copy --resume --state '%s'" % (sim.config, state)
    check(line.endswith(want), "the resume command keeps -c FILE and quotes the state: %r, want %r" % (line, want))
    # The command as printed works.
    code, _, err = subprocess.run(["bash", "-c", line.split("continue the copy with: ")[1].replace(
        "kpthin", kp.binary, 1)], cwd=d, capture_output=True).returncode, None, None
    check(code == 0, "the printed resume command finishes the copy, exit %d" % code)


# ---------------------------------------------------------------------------------------------

class Context:
    """A work directory and kpthin; kpclientd-sim is started on first use only, so scenarios
    about the command line alone need none."""

    def __init__(self, args, workdir):
        self.args = args
        self.dir = workdir
        self._sim = None
        self.kp = Kpthin(args.kpthin, None, workdir)

    @property
    def sim(self):
        if self._sim is None:
            sim_dir = os.path.join(self.dir, "sim")
            os.mkdir(sim_dir)
            self._sim = Sim(self.args.sim, sim_dir)
            self.kp.config = self._sim.config
        return self._sim

    def close(self):
        if self._sim is not None:
            self._sim.stop()


def main():
    return run_scenarios(SCENARIOS, Context, close=lambda ctx: ctx.close(),
                         failures=(Failure, subprocess.TimeoutExpired, ValueError))


if __name__ == "__main__":
    sys.exit(main())
