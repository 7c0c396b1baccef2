#!/usr/bin/env python3
"""Seconds per `kpthin write` run on the real local mixnet, to price the first-box check (issue 9):
since 8a502ca every write run confirms its first box with no_idempotent_box_already_exists, so
it waits for the replica's verdict instead of the courier's ACK.

  first_box_check.py --scripts DIR --kpthin NEW [--before OLD] [--runs 5] [--lines 1]

NEW is a kpthin with the check; OLD (optional) one from before it, e.g. built from cfe32cc:
  git worktree add --detach /tmp/kpthin-old cfe32cc
  cmake -S /tmp/kpthin-old -B /tmp/kpthin-old/build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build /tmp/kpthin-old/build --target kpthin_bin
With OLD, three variants run: OLD plain (courier ACK only), OLD --box-exists-error (every box
waits for the replica's verdict: what the check adds to one box) and NEW plain. Runs are
interleaved so load drifts hit every variant alike; each run writes --lines lines (one box each)
to a channel of its own variant. Needs the mixnet up (scripts/mixnet up); prints the median,
min and max seconds per run and the difference of the medians.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def mixnet_config(scripts):
    out = subprocess.run([os.path.join(scripts, "mixnet"), "env"], check=True, capture_output=True, text=True).stdout
    config = dict(line.split("=", 1) for line in out.split())["KPTHIN_MIXNET_CONFIG"]
    if not os.path.exists(config):
        sys.exit("no %s: start the mixnet first (scripts/mixnet up)" % config)
    return config


class Variant:
    def __init__(self, name, kpthin, extra, config, workdir):
        self.name = name
        self.argv = [os.path.abspath(kpthin), "-c", config]
        self.extra = extra
        self.dir = os.path.join(workdir, name.replace(" ", "_").replace("-", ""))
        os.makedirs(self.dir)
        self.seconds = []
        self.run("keypair", "c")

    def run(self, *args, stdin=None):
        p = subprocess.run(self.argv + list(args), input=stdin, cwd=self.dir, capture_output=True, timeout=600)
        if p.returncode != 0:
            sys.exit("%s: kpthin %s exited %d: %s" % (self.name, " ".join(args), p.returncode, p.stderr.decode().strip()))

    def write(self, n, lines):
        text = b"".join(b"run %d line %d\n" % (n, i) for i in range(lines))
        args = ["write"] + self.extra + (["--split", "lines"] if lines > 1 else []) + ["c.write"]
        t0 = time.monotonic()
        self.run(*args, stdin=text)
        self.seconds.append(time.monotonic() - t0)
        print("  run %d %-32s %6.1fs" % (n + 1, self.name, self.seconds[-1]), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scripts", required=True, help="the repository's scripts/ directory")
    ap.add_argument("--kpthin", required=True, help="kpthin with the first-box check")
    ap.add_argument("--before", help="kpthin from before the check (e.g. commit cfe32cc)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--lines", type=int, default=1, help="boxes per run (--split lines when more than 1)")
    args = ap.parse_args()
    config = mixnet_config(args.scripts)
    workdir = tempfile.mkdtemp(prefix="kpthin-bench-first-box-")
    variants = []
    if args.before:
        variants.append(Variant("before: plain", args.before, [], config, workdir))
        variants.append(Variant("before: --box-exists-error", args.before, ["--box-exists-error"], config, workdir))
    variants.append(Variant("after: plain (first-box check)", args.kpthin, [], config, workdir))
    for n in range(args.runs):
        for v in variants:
            v.write(n, args.lines)
    print("\nseconds per `kpthin write` run of %d box(es), %d runs each:" % (args.lines, args.runs))
    print("  %-32s %7s %7s %7s" % ("variant", "median", "min", "max"))
    for v in variants:
        print("  %-32s %7.1f %7.1f %7.1f" % (v.name, statistics.median(v.seconds), min(v.seconds), max(v.seconds)))
    if args.before:
        cost = statistics.median(variants[-1].seconds) - statistics.median(variants[0].seconds)
        print("first-box check: %+.1f s per run (median after - median before)" % cost)
    return 0


if __name__ == "__main__":
    sys.exit(main())
