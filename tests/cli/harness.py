"""Shared helpers for the kpthin CLI tests: start kpclientd-sim, run kpthin, wait for conditions
with bounded deadlines (never bare sleeps), snapshot directories to prove nothing changed."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


class Failure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def wait_for(predicate, what, timeout=20.0, interval=0.01):
    """Polls predicate() until it returns something truthy; fails naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


class Output:
    """What a spawned process has written to stdout so far, read without blocking."""

    def __init__(self, proc):
        self.proc = proc
        self.data = b""
        os.set_blocking(proc.stdout.fileno(), False)

    def poll(self):
        try:
            chunk = self.proc.stdout.read()
        except BlockingIOError:
            chunk = None
        self.data += chunk or b""
        return self.data

    def lines(self):
        return self.poll().count(b"\n")


class Sim:
    """One kpclientd-sim on a private unix socket, with a control socket."""

    def __init__(self, binary, workdir, *extra):
        self.dir = workdir
        self.socket = os.path.join(workdir, "sim.sock")
        self.control_path = os.path.join(workdir, "ctl.sock")
        self.config = os.path.join(workdir, "thinclient.toml")
        self.log = open(os.path.join(workdir, "sim.log"), "ab")
        self.args = [os.path.abspath(binary), "--listen-unix", self.socket, "--control", self.control_path,
                     "--write-config", self.config, "--log-level", "warn"] + list(extra)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.log)
        line = self._read_ready_line(20.0)
        check(line.startswith(b"ready "), "kpclientd-sim did not start: %r" % line)

    def _read_ready_line(self, timeout):
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise Failure("kpclientd-sim printed no ready line within %.0fs" % timeout)
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise Failure("kpclientd-sim exited before it was ready (exit %s)" % self.proc.wait())
            buf += chunk
        return buf.split(b"\n")[0]

    def control(self, command):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.control_path)
        s.sendall(command.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        return data.decode().strip()

    def stats(self):
        fields = {}
        for part in self.control("stats").split()[1:]:
            if "=" in part:
                k, v = part.split("=", 1)
                fields[k] = int(v) if v.isdigit() else v
        return fields

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Kpthin:
    def __init__(self, binary, config, cwd):
        self.binary = os.path.abspath(binary)
        self.config = config
        self.cwd = cwd

    def argv(self, args, config=True):
        return [self.binary] + (["-c", self.config] if config and self.config else []) + list(args)

    def run(self, *args, stdin=None, timeout=60, config=True, env=None, stdout=None):
        """Runs kpthin to completion; returns (code, stdout bytes, stderr text)."""
        full_env = dict(os.environ)
        full_env.pop("KPTHIN_CONFIG", None)
        if env:
            full_env.update(env)
        # No input means none at all: a terminal inherited from whoever runs the tests would make
        # commands that ask on a terminal (tombstone) wait for an answer.
        p = subprocess.run(self.argv(args, config), input=stdin, cwd=self.cwd, env=full_env,
                           stdin=subprocess.DEVNULL if stdin is None else None,
                           stdout=stdout if stdout is not None else subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return p.returncode, p.stdout, p.stderr.decode(errors="replace")

    def ok(self, *args, **kw):
        code, out, err = self.run(*args, **kw)
        check(code == 0, "kpthin %s exited %d: %s" % (" ".join(args), code, err.strip()))
        return out

    def spawn(self, *args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL):
        env = dict(os.environ)
        env.pop("KPTHIN_CONFIG", None)
        return subprocess.Popen(self.argv(args), cwd=self.cwd, stdout=stdout, stderr=subprocess.PIPE,
                                stdin=stdin, env=env)


def expect(result, code, needle=None):
    got, out, err = result
    check(got == code, "expected exit %d, got %d; stderr: %s" % (code, got, err.strip()))
    if code != 0:
        lines = [l for l in err.splitlines() if l.strip()]
        check(len(lines) >= 1, "a failure must print a message on stderr")
        check(lines[-1].startswith("kpthin: "), "failure message must start with 'kpthin: ': %r" % lines[-1])
    if needle is not None:
        check(needle in err, "stderr should mention %r; it says: %s" % (needle, err.strip()))
    return out


def json_results(out):
    """The result objects of a `kpthin --json` stdout, without the error object a failure ends
    with (kpthin(1), JSON OUTPUT); fails if an error object is anywhere but last."""
    objects = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    errors = [i for i, o in enumerate(objects) if set(o) == {"error"}]
    check(errors in ([], [len(objects) - 1]), "an error object may only end the output: %r" % objects)
    return objects[:-1] if errors else objects


def snapshot(directory):
    """Path -> (bytes, mode) of every file below directory; a symbolic link -> (its target, None),
    so a link that was replaced by a file counts as a change (and a dangling one can be listed)."""
    state = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            if name.endswith((".log", ".sock")):
                continue
            if os.path.islink(path):
                state[os.path.relpath(path, directory)] = (os.readlink(path), None)
                continue
            with open(path, "rb") as f:
                state[os.path.relpath(path, directory)] = (f.read(), os.stat(path).st_mode & 0o777)
    return state


def unchanged(before, directory, what):
    after = snapshot(directory)
    check(before == after, "%s changed files: %s" % (what, sorted(
        set(k for k in set(before) | set(after) if before.get(k) != after.get(k)))))


class Workdir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="kpthin-cli-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def run_scenarios(scenarios, make_context, close=lambda ctx: ctx.sim.stop(), on_failure=lambda ctx: None,
                  failures=(Failure, subprocess.TimeoutExpired)):
    """The command line of a scenario script: --kpthin, --sim and one scenario name (or all).
    Runs each in a fresh Workdir with make_context(args, workdir); prints PASS/FAIL lines and
    returns the exit status (1 if any failed). on_failure(ctx) may print what helps debugging."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--kpthin", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("scenario", choices=sorted(scenarios) + ["all"])
    args = ap.parse_args()
    names = sorted(scenarios) if args.scenario == "all" else [args.scenario]
    failed = 0
    for name in names:
        with Workdir() as workdir:
            ctx = make_context(args, workdir)
            started = time.monotonic()
            try:
                scenarios[name](ctx)
                print("PASS %s (%.2fs)" % (name, time.monotonic() - started))
            except failures as e:
                failed += 1
                print("FAIL %s: %s" % (name, e))
                on_failure(ctx)
            finally:
                close(ctx)
    return 1 if failed else 0
