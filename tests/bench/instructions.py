#!/usr/bin/env python3
"""kpthin's instruction counts under valgrind's callgrind (repeatable on a loaded machine, unlike
times): the client's instructions per new_keypair round trip against kpclientd-sim, and a whole
`kpthin keypair --print --no-files` process.

  instructions.py --sim SIM --kpthin KPTHIN --bench-client BENCH [--rounds N]
                  [--max-round-trip I] [--max-process I]

A round trip is priced as the difference of two runs of `BENCH --against CONFIG n` (n = 10 and
10 + N, N default 1000) divided by N, so connecting and start-up cancel out; only the client
process runs under callgrind, the simulator runs natively. --max-* make the run fail when a
figure exceeds the bound (for a CI check with a wide margin; counts move a little between runs
with thread interleavings). Exits 77 when valgrind is missing.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def instructions(argv, directory):
    """Total instructions (Ir) of one process run under callgrind."""
    out = os.path.join(directory, "callgrind.out")
    run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + argv,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
    if run.returncode != 0:
        sys.exit("instructions: %s failed (%d):\n%s" % (" ".join(argv), run.returncode, run.stderr[-2000:]))
    with open(out) as f:
        for line in f:
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                return int(m.group(1))
    sys.exit("instructions: no totals in callgrind's output")


def start_sim(sim, directory):
    config = os.path.join(directory, "thinclient.toml")
    name = "@kpthin-instructions-%d" % os.getpid()
    proc = subprocess.Popen([sim, "--listen-unix", name, "--write-config", config, "--log-level", "warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not os.path.exists(config):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit("instructions: kpclientd-sim did not start")
        time.sleep(0.02)
    return proc, config


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sim", required=True)
    ap.add_argument("--kpthin", required=True)
    ap.add_argument("--bench-client", required=True)
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--max-round-trip", type=int)
    ap.add_argument("--max-process", type=int)
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        print("instructions: valgrind is not installed (scripts/setup installs it); skipped")
        return 77
    with tempfile.TemporaryDirectory(prefix="kpthin-instructions-") as directory:
        sim, config = start_sim(args.sim, directory)
        try:
            base = instructions([args.bench_client, "--against", config, "10"], directory)
            more = instructions([args.bench_client, "--against", config, str(10 + args.rounds)], directory)
            per_round_trip = (more - base) / args.rounds
            process = instructions([args.kpthin, "-c", config, "keypair", "--print", "--no-files", "bench"],
                                   directory)
        finally:
            sim.terminate()
            sim.wait(timeout=30)
    print("kpthin instruction counts (valgrind --tool=callgrind, client process only)")
    print("  new_keypair round trip, 1 in flight:  %10.0f instructions  (goal <= 20000)" % per_round_trip)
    print("  kpthin keypair --print --no-files:    %10d instructions  (goal <= 1400000)" % process)
    failed = False
    if args.max_round_trip is not None and per_round_trip > args.max_round_trip:
        print("instructions: a round trip takes more than %d instructions" % args.max_round_trip)
        failed = True
    if args.max_process is not None and process > args.max_process:
        print("instructions: a keypair process takes more than %d instructions" % args.max_process)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
