#!/usr/bin/env python3
"""kpthin behaviour that needs no daemon: usage errors, help, version, config resolution,
channel-file validation, pigeonhole-cp text import/export. Usage: offline_test.py KPTHIN"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, Kpthin, Workdir, check, expect, snapshot, unchanged  # noqa: E402

SUBCOMMANDS = ["keypair", "write", "read", "tombstone", "copy", "send", "watch", "services"]

GENKEY = None  # filled from an import fixture below


def sample_genkey():
    import base64
    read_cap = bytes(range(136))
    write_cap = bytes((i * 3) % 256 for i in range(168))
    index = bytes((i * 5) % 256 for i in range(104))
    return ("Read Capability (share with recipient):\n%s\n\nWrite Capability (keep secret):\n%s\n\n"
            "First Index:\n%s\n" % (base64.b64encode(read_cap).decode(), base64.b64encode(write_cap).decode(),
                                    base64.b64encode(index).decode()))


def main():
    binary = sys.argv[1]
    failures = 0
    with Workdir() as d:
        kp = Kpthin(binary, None, d)
        tests = []

        def test(fn):
            tests.append(fn)
            return fn

        @test
        def help_and_version():
            code, out, _ = kp.run("--help")
            check(code == 0 and b"Exit codes" in out and b"Examples" in out, "main --help")
            for sub in SUBCOMMANDS:
                code, out, _ = kp.run(sub, "--help")
                check(code == 0 and b"Examples" in out, "%s --help must show examples" % sub)
            code, out, _ = kp.run("--version")
            check(code == 0 and out.startswith(b"kpthin "), "--version: %r" % out)

        @test
        def usage_errors():
            expect(kp.run(), 2)
            expect(kp.run("frobnicate"), 2)
            expect(kp.run("read"), 2, "CHANNEL")
            expect(kp.run("read", "--count", "x", "c.read"), 2)
            expect(kp.run("--timeout", "5 minutes", "services"), 2, "not a duration")
            expect(kp.run("read", "--count", "2", "--follow", "c.read"), 2)

        @test
        def import_export_offline():
            text = sample_genkey()
            before = snapshot(d)
            kp.ok("keypair", "--import", "-", "imp", stdin=text.encode())
            check(os.stat(os.path.join(d, "imp.write")).st_mode & 0o777 == 0o600, "mode 0600")
            check(kp.ok("keypair", "--export", "imp").decode() == text, "export reproduces the imported text")
            # Read capability only: only a .read file.
            only_read = text.split("\n\nWrite")[0] + "\n"
            kp.ok("keypair", "--import", "-", "reader", stdin=only_read.encode())
            check(os.path.exists(os.path.join(d, "reader.read")) and not os.path.exists(os.path.join(d, "reader.write")),
                  "a read-only import makes only NAME.read")
            before = snapshot(d)
            expect(kp.run("keypair", "--import", "-", "bad", stdin=b"Read Capability:\nAAAA\n"), 2, "136 bytes")
            expect(kp.run("keypair", "--import", "-", "imp", stdin=text.encode()), 2, "already exists")
            unchanged(before, d, "refused imports")

        @test
        def channel_validation_before_connecting():
            # No daemon anywhere: the channel file is checked first, so damage is exit 3 / wrong kind 2.
            open(os.path.join(d, "thinclient.toml"), "w").write('[Dial]\n  [Dial.Unix]\n    Address = "%s/none.sock"\n' % d)
            good = open(os.path.join(d, "imp.read"), "rb").read()
            open(os.path.join(d, "t.read"), "wb").write(good[:40])
            before = snapshot(d)
            expect(kp.run("read", "t.read"), 3, "t.read")
            expect(kp.run("write", "imp.read", "x"), 2, "is a read channel")
            expect(kp.run("read", "missing.read"), 3, "does not exist")
            # A good channel gets as far as the daemon: exit 4, and the file is untouched.
            expect(kp.run("read", "imp.read"), 4, "cannot reach kpclientd")
            unchanged(before, d, "refused commands")
            os.remove(os.path.join(d, "thinclient.toml"))

        @test
        def config_resolution_chain():
            cfg = '[Dial]\n  [Dial.Unix]\n    Address = "%s/%s.sock"\n'
            env = {"HOME": d, "XDG_CONFIG_HOME": os.path.join(d, "xdg")}
            expect(kp.run("services", env=env), 3, "no thinclient.toml found")
            os.makedirs(os.path.join(d, "xdg", "kpthin"))
            open(os.path.join(d, "xdg", "kpthin", "thinclient.toml"), "w").write(cfg % (d, "xdg"))
            expect(kp.run("-v", "services", env=env), 4, "xdg.sock")
            open(os.path.join(d, "thinclient.toml"), "w").write(cfg % (d, "cwd"))
            expect(kp.run("services", env=env), 4, "cwd.sock")
            open(os.path.join(d, "env.toml"), "w").write(cfg % (d, "env"))
            expect(kp.run("services", env=dict(env, KPTHIN_CONFIG=os.path.join(d, "env.toml"))), 4, "env.sock")
            expect(kp.run("services", env=dict(env, KPTHIN_CONFIG=os.path.join(d, "nope.toml"))), 3, "KPTHIN_CONFIG")
            open(os.path.join(d, "flag.toml"), "w").write(cfg % (d, "flag"))
            expect(kp.run("-c", "flag.toml", "services", env=dict(env, KPTHIN_CONFIG=os.path.join(d, "env.toml"))),
                   4, "flag.sock")
            open(os.path.join(d, "old.toml"), "w").write('Network = "unix"\nAddress = "x"\n')
            expect(kp.run("-c", "old.toml", "services"), 3, "old.toml")
            os.remove(os.path.join(d, "thinclient.toml"))

        for fn in tests:
            try:
                fn()
                print("PASS %s" % fn.__name__)
            except (Failure, subprocess.TimeoutExpired) as e:
                failures += 1
                print("FAIL %s: %s" % (fn.__name__, e))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
