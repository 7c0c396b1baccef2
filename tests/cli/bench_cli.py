#!/usr/bin/env python3
"""Benchmarks of the kpthin binary against kpclientd-sim (zero simulated latency):

  * median wall time of a whole `kpthin keypair` process (start, connect, handshake, request,
    two channel files, exit); goal < 15 ms
  * boxes per second of `write --split lines` and of `read --count`; goal > 2,000 each way

Usage: bench_cli.py --kpthin PATH --sim PATH [--runs N] [--boxes N] [--enforce]
Prints the figures; with --enforce exits 1 when a goal is missed."""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Kpthin, Sim, Workdir, check  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kpthin", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--boxes", type=int, default=5000)
    ap.add_argument("--enforce", action="store_true")
    args = ap.parse_args()
    with Workdir() as d:
        os.mkdir(os.path.join(d, "sim"))
        sim = Sim(args.sim, os.path.join(d, "sim"))
        try:
            kp = Kpthin(args.kpthin, sim.config, d)
            argv = kp.argv([])
            times = []
            for i in range(args.runs + 3):
                start = time.perf_counter()
                r = subprocess.run(argv + ["keypair", "k%d" % i], cwd=d, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
                elapsed = time.perf_counter() - start
                check(r.returncode == 0, "keypair failed: %s" % r.stderr.decode())
                if i >= 3:  # the first runs warm the page cache
                    times.append(elapsed * 1000)
            keypair_ms = statistics.median(times)

            data = b"".join(b"%d\n" % i for i in range(1, args.boxes + 1))
            kp.ok("keypair", "c")
            start = time.perf_counter()
            kp.ok("write", "--split", "lines", "c.write", stdin=data, timeout=600)
            write_s = time.perf_counter() - start
            start = time.perf_counter()
            out = kp.ok("read", "--count", str(args.boxes), "c.read", timeout=600)
            read_s = time.perf_counter() - start
            check(out == data, "read back differs from what was written")
        finally:
            sim.stop()
    write_rate, read_rate = args.boxes / write_s, args.boxes / read_s
    print("kpthin keypair process: median %.2f ms over %d runs (p10 %.2f, p90 %.2f); goal < 15 ms" % (
        keypair_ms, len(times), statistics.quantiles(times, n=10)[0], statistics.quantiles(times, n=10)[-1]))
    print("write --split lines: %d boxes in %.3f s = %.0f boxes/s; goal > 2000" % (args.boxes, write_s, write_rate))
    print("read --count:        %d boxes in %.3f s = %.0f boxes/s; goal > 2000" % (args.boxes, read_s, read_rate))
    missed = keypair_ms >= 15 or write_rate <= 2000 or read_rate <= 2000
    if missed:
        print("at least one goal missed%s" % ("" if args.enforce else " (not enforced)"))
    return 1 if (missed and args.enforce) else 0


if __name__ == "__main__":
    sys.exit(main())
