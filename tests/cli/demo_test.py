#!/usr/bin/env python3
"""scripts/demo against a built tree: the walk succeeds and says what happened, and neither a
finished nor an interrupted (Ctrl-C) demo leaves a process or a file behind.

    demo_test.py DEMO_SCRIPT BUILD_DIR"""
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, check, wait_for  # noqa: E402


def processes_in(tmp):
    """Command lines of the processes that run in the demo's private TMPDIR `tmp` (working
    directory) or name a path in it (the simulator's socket)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmdline = f.read()
            cwd = os.readlink("/proc/%s/cwd" % pid)
        except OSError:
            continue
        if tmp.encode() in cmdline or cwd == tmp or cwd.startswith(tmp + "/"):
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace").strip())
    return found


def left_behind(tmp):
    """What the demo left in its TMPDIR, and which of its processes still run."""
    files = os.listdir(tmp)
    procs = processes_in(tmp)
    return files, procs


def demo_env(tmp):
    env = dict(os.environ)
    env["TMPDIR"] = tmp
    env.pop("KPTHIN_CONFIG", None)
    env.pop("KPTHIN_DEMO_BUILD_DIR", None)
    return env


def full_walk(demo, build):
    with tempfile.TemporaryDirectory(prefix="kpthin-demo-test-") as tmp:
        p = subprocess.run([demo, "--build-dir", build], env=demo_env(tmp), cwd=tmp, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        out, err = p.stdout.decode(), p.stderr.decode()
        check(p.returncode == 0, "scripts/demo exited %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, out, err))
        for needle in ("$ kpthin keypair demo", "$ kpthin write demo.write 'hello from kpthin'",
                       "    hello from kpthin", "$ kpthin read --follow demo.read | head -n 3 &",
                       "    first line\n    second line\n    third line\n", "$ kpthin tombstone --yes --last 1 demo.write",
                       "is a tombstone", "$ kpthin copy --to alice.write --file alice.txt --to bob.write --file bob.txt",
                       "the same as alice.txt", "    A short note for Bob.", "    ping through the simulator",
                       "What happened:"):
            check(needle in out, "the demo's output lacks %r:\n%s" % (needle, out))
        check(err == "", "a successful demo prints nothing on stderr: %s" % err)
        files, procs = left_behind(tmp)
        check(files == [] and procs == [], "the demo left files %s and processes %s" % (files, procs))


def interrupted(demo, build):
    """Ctrl-C at a terminal signals the whole foreground process group. An offline simulator
    holds the walk at its first write (it waits for the mixnet), with the simulator, a kpthin
    and the demo's files there to clean up."""
    with tempfile.TemporaryDirectory(prefix="kpthin-demo-test-") as tmp:
        env = demo_env(tmp)
        env["KPTHIN_DEMO_SIM_OPTIONS"] = "--offline"
        p = subprocess.Popen([demo, "--build-dir", build], env=env, cwd=tmp, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            line = b""
            while b"$ kpthin write demo.write" not in line:
                line = p.stdout.readline()
                if not line:
                    raise Failure("the demo ended before its first write: %s" % p.stderr.read().decode())
            # The write connects before it waits; the line is printed just before it starts.
            wait_for(lambda: any("kpclientd-sim" in c for c in processes_in(tmp)) and
                     any("write demo.write" in c for c in processes_in(tmp)), "the simulator and kpthin write to run")
            os.killpg(p.pid, signal.SIGINT)
            code = p.wait(timeout=60)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        check(code == 130, "an interrupted demo should exit 130, not %d" % code)
        # The demo waits for its simulator before it exits, so this holds at once.
        files, procs = left_behind(tmp)
        check(files == [] and procs == [], "the interrupted demo left files %s and processes %s" % (files, procs))


def main():
    demo, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    failed = 0
    for test in (full_walk, interrupted):
        try:
            test(demo, build)
            print("PASS %s" % test.__name__)
        except (Failure, subprocess.TimeoutExpired) as e:
            failed += 1
            print("FAIL %s: %s" % (test.__name__, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
