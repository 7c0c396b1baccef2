#!/usr/bin/env python3
"""Side-by-side benchmark of kpthin and the upstream thin clients against one kpclientd-sim
(zero latency, unix socket). Run it through `scripts/bench --peers`, which builds and installs
everything and passes the paths; by hand:

  peerbench.py --sim SIM --peak-rss LAUNCHER --kpthin KPTHIN --client NAME VERSION CMD... [--client ...]
               [--pigeonhole-cp BIN] [--reps 3] [--quick] [--no-callgrind] [--json FILE] [--timeout S]
               [--strict]

Each --client names a driver (tests/bench/peers/*: same arguments, same output line; the one
named kpthin is the reference of the ratio columns). Workloads, all against one simulator:
  connect    connect (config + handshake) to the first new_keypair reply, then close
  keypair1   new_keypair round trips, one in flight
  keypair64  new_keypair round trips, 64 in flight
  pair       box write + read pairs (encrypt, start_resending, for a write and for a read)
  cli        a whole CLI process making a keypair: `kpthin keypair --print --no-files` vs
             `pigeonhole-cp genkey` (which sleeps a fixed 2 s after connecting)
Per workload and client: the rate (per wall second; the machine is shared, so this one varies),
the client CPU per operation (user + system of the driver process in the measured phase, all its
threads), instructions per operation (valgrind --tool=callgrind, the difference of two runs of
different length, so start-up and warm-up cancel out; for `cli` a whole process) and the peak
RSS of the process. Medians over --reps runs. A client that hangs (past --timeout), crashes or
fails is reported in its cell and the run goes on. Prints a Markdown table; --json writes one JSON
object per client and workload (JSON lines, '-' for stdout) so runs can be compared.
"""
import argparse
import datetime
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "cli"))
from harness import Sim  # noqa: E402  (kpclientd-sim on a private unix socket, as the CLI tests run it)

WORKLOADS = {
    # name: (operations per timed run, (short, long) callgrind runs, label). A timed run lasts
    # about a second for the fast clients: shorter ones (0.1 s) put per-run noise such as the
    # first connection's page faults and scheduler placement ahead of the per-operation cost.
    "connect": (300, (2, 6), "connect to first reply"),
    "keypair1": (10000, (50, 250), "new_keypair, 1 in flight"),
    "keypair64": (30000, (200, 800), "new_keypair, 64 in flight"),
    "pair": (2000, (10, 40), "box write + read pair"),
    "cli": (5, None, "whole CLI process making a keypair"),
}
QUICK = {"connect": 3, "keypair1": 200, "keypair64": 400, "pair": 20, "cli": 2}
QUICK_CALLGRIND = {"connect": (1, 2), "keypair1": (20, 60), "keypair64": (40, 120), "pair": (4, 12)}


class Outcome:
    """One process run: stdout, stderr, wall seconds, CPU seconds and peak RSS (KiB) when
    measured, and why it did not finish well (`failure`, None if it exited 0)."""

    def __init__(self):
        self.failure = None
        self.stdout = ""
        self.stderr = ""
        self.cpu_s = 0.0
        self.rss_kib = 0
        self.wall_s = 0.0


PEAK_RSS = None   # the kpthin_peak_rss launcher (--peak-rss)


def run_process(argv, timeout, env=None, measure=False):
    """Runs argv in its own process group; kills the group after `timeout` seconds. With
    `measure`, runs it through the kpthin_peak_rss launcher for its own CPU time and peak RSS
    (the rusage wait4 gives here would include this harness's memory, see peak_rss.cpp)."""
    out = Outcome()
    with tempfile.TemporaryFile() as so, tempfile.TemporaryFile() as se, \
            tempfile.NamedTemporaryFile(prefix="kpthin-peak-rss-") as usage_file:
        if measure:
            env = dict(env or os.environ, KPTHIN_PEAK_RSS_OUT=usage_file.name)
            argv = [PEAK_RSS] + argv
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(argv, stdout=so, stderr=se, stdin=subprocess.DEVNULL, env=env,
                                 start_new_session=True)
        except OSError as e:
            out.failure = "cannot start: %s" % e
            return out
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        p.wait()
        timer.cancel()
        try:
            os.killpg(p.pid, signal.SIGKILL)   # leftovers of the group (none expected)
        except (ProcessLookupError, PermissionError):
            pass
        out.wall_s = time.monotonic() - t0
        if measure and not timed_out.is_set():
            fields = open(usage_file.name).read().split()
            if len(fields) == 2:
                out.rss_kib, out.cpu_s = int(fields[0]), float(fields[1])
        so.seek(0)
        se.seek(0)
        out.stdout = so.read().decode(errors="replace")
        out.stderr = se.read().decode(errors="replace")
    last = (out.stderr.strip().splitlines() or [""])[-1][:120]
    if timed_out.is_set():
        out.failure = "hang (killed after %d s)" % timeout
    elif p.returncode < 0:
        out.failure = "crash (%s)" % signal.Signals(-p.returncode).name
    elif p.returncode != 0:
        panic = "panic" in out.stderr
        out.failure = "%s (exit %d): %s" % ("panic" if panic else "error", p.returncode, last)
    return out


def callgrind_instructions(argv, timeout, directory):
    """Total instructions (Ir) of one process under callgrind, or a failure text."""
    out_file = os.path.join(directory, "callgrind.out")
    if os.path.exists(out_file):
        os.unlink(out_file)
    # Go's asynchronous preemption signals trip an assertion in callgrind 3.19; without them the
    # Go client runs unchanged (goroutines still yield at calls). Other clients ignore GODEBUG.
    env = dict(os.environ, GODEBUG="asyncpreemptoff=1")
    run = run_process(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_file] + argv, timeout, env)
    if run.failure:
        # The cause, not valgrind's closing statistics: an assertion of valgrind's, or the Go
        # runtime's first complaint (it can mistake valgrind's stack for a corrupt one).
        why = [line.strip() for line in run.stderr.splitlines()
               if "Assertion" in line or line.startswith(("valgrind:", "panic:", "runtime:", "fatal error:"))]
        return None, "callgrind: the run failed under valgrind: " + (why[0][:100] if why else run.failure.split(":")[0])
    try:
        with open(out_file) as f:
            for line in f:
                m = re.match(r"(?:summary|totals):\s+(\d+)", line)
                if m:
                    return int(m.group(1)), None
    except OSError as e:
        return None, "callgrind: %s" % e
    return None, "callgrind: no totals in its output"


def measure_driver(cmd, config, workload, ops, calls, reps, timeout, directory, callgrind):
    """Medians of `reps` timed runs of one driver workload, plus instructions per operation."""
    rates, cpus, rsss = [], [], []
    result = {"status": "ok"}
    for _ in range(reps):
        run = run_process(cmd + [config, workload, str(ops)], timeout, measure=True)
        if run.failure:
            result["status"] = run.failure
            return result
        try:
            line = json.loads(run.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            result["status"] = "error: no result line (%r)" % run.stdout[-80:]
            return result
        rates.append(line["ops"] / line["wall_s"] if line["wall_s"] > 0 else float("inf"))
        cpus.append(line["cpu_s"] / line["ops"] * 1e6)
        rsss.append(run.rss_kib)
    result.update(rate_per_s=statistics.median(rates), cpu_us_per_op=statistics.median(cpus),
                  peak_rss_kib=statistics.median(rsss))
    if callgrind and calls:
        short, long_ = calls
        counts = []
        for n in (short, long_):
            for _ in range(2):   # the Go runtime fails under valgrind now and then: one retry
                ir, failure = callgrind_instructions(cmd + [config, workload, str(n)], timeout * 5, directory)
                if not failure:
                    break
            if failure:
                result["instr_note"] = failure
                break
            counts.append(ir)
        if len(counts) == 2:
            result["instr_per_op"] = (counts[1] - counts[0]) / (long_ - short)
    return result


def measure_cli(argv, runs, reps, timeout, directory, callgrind):
    """A whole CLI process: CPU and wall per process, peak RSS, instructions."""
    rates, cpus, rsss = [], [], []
    result = {"status": "ok"}
    for _ in range(reps):
        wall = cpu = 0.0
        rss = 0
        for _ in range(runs):
            run = run_process(argv, timeout, measure=True)
            if run.failure:
                result["status"] = run.failure
                return result
            wall += run.wall_s
            cpu += run.cpu_s
            rss = max(rss, run.rss_kib)
        rates.append(runs / wall)
        cpus.append(cpu / runs * 1e6)
        rsss.append(rss)
    result.update(rate_per_s=statistics.median(rates), cpu_us_per_op=statistics.median(cpus),
                  peak_rss_kib=statistics.median(rsss))
    if callgrind:
        ir, failure = callgrind_instructions(argv, timeout * 5, directory)
        if failure:
            result["instr_note"] = failure
        else:
            result["instr_per_op"] = ir
    return result


METRICS = (  # key, label, formatter, lower is better
    ("rate_per_s", "rate /s", lambda v: "%.0f" % v if v >= 10 else "%.2f" % v, False),
    ("cpu_us_per_op", "CPU µs/op", lambda v: "%.0f" % v if v >= 100 else "%.1f" % v, True),
    ("instr_per_op", "instructions/op", lambda v: "%.2fM" % (v / 1e6) if v >= 1e6 else "%.1fk" % (v / 1e3), True),
    ("peak_rss_kib", "peak RSS MB", lambda v: "%.1f" % (v / 1024), True),
)


def table(clients, results, workloads):
    """A Markdown table: a row per workload and metric, a column per client, then kpthin/peer."""
    names = [c[0] for c in clients]
    peers = [n for n in names if n != "kpthin"]
    head = ["workload", "metric"] + ["%s %s" % (c[0], c[1]) for c in clients]
    if "kpthin" in names:
        head += ["kpthin/%s" % p for p in peers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in workloads:
        label = WORKLOADS[w][2]
        for key, metric, fmt, _ in METRICS:
            row = [label, metric]
            for n in names:
                r = results.get((n, w))
                if r is None:
                    row.append("–")
                elif r["status"] != "ok":
                    row.append(r["status"] if key == "rate_per_s" else "–")
                elif key in r:
                    row.append(fmt(r[key]))
                else:
                    row.append("n/a" if key == "instr_per_op" and r.get("instr_note") else "–")
            if "kpthin" in names:
                mine = results.get(("kpthin", w), {}).get(key)
                for p in peers:
                    theirs = results.get((p, w), {}).get(key)
                    row.append("%.2f" % (mine / theirs) if mine and theirs else "–")
            lines.append("| " + " | ".join(row) + " |")
            label = ""
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sim", required=True)
    ap.add_argument("--peak-rss", required=True, help="the kpthin_peak_rss launcher (tests/bench/peers/peak_rss.cpp)")
    ap.add_argument("--kpthin", help="the kpthin CLI (for the cli workload)")
    ap.add_argument("--pigeonhole-cp", help="pigeonhole-cp (the Rust client's CLI, for the cli workload)")
    ap.add_argument("--client", nargs="+", action="append", default=[], metavar="NAME VERSION CMD",
                    help="a driver: name, version, command (repeatable)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="few operations, one repetition (a smoke test)")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--timeout", type=int, default=120, help="seconds per driver run before it counts as a hang")
    ap.add_argument("--json", help="write JSON lines to FILE ('-': stdout, after the table)")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 if any client failed a workload or gave no instruction count (for tests)")
    args = ap.parse_args()

    global PEAK_RSS
    PEAK_RSS = args.peak_rss
    clients = [(c[0], c[1], c[2:]) for c in args.client]
    if any(len(c[2]) == 0 for c in clients):
        ap.error("--client needs NAME VERSION CMD...")
    workloads = args.workloads.split(",")
    reps = 1 if args.quick else args.reps
    callgrind = not args.no_callgrind
    if callgrind and subprocess.run(["sh", "-c", "command -v valgrind"], capture_output=True).returncode != 0:
        print("peerbench: valgrind not found: no instruction counts", file=sys.stderr)
        callgrind = False

    results = {}
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with tempfile.TemporaryDirectory(prefix="kpthin-peerbench-") as directory:
        sim = Sim(args.sim, directory)
        try:
            for w in workloads:
                ops, calls, label = WORKLOADS[w]
                if args.quick:
                    ops, calls = QUICK[w], QUICK_CALLGRIND.get(w)
                for name, version, cmd in clients:
                    if w == "cli":
                        if name == "kpthin" and args.kpthin:
                            argv = [args.kpthin, "-c", sim.config, "keypair", "--print", "--no-files", "x"]
                        elif name == "rust" and args.pigeonhole_cp:
                            argv = [args.pigeonhole_cp, "genkey", "-c", sim.config]
                        else:
                            continue   # the other peers ship no CLI that makes a keypair
                        r = measure_cli(argv, ops, reps, args.timeout, directory, callgrind)
                    else:
                        r = measure_driver(cmd, sim.config, w, ops, calls, reps, args.timeout, directory, callgrind)
                    results[(name, w)] = r
                    print("peerbench: %-9s %-8s %s" % (w, name, json.dumps(r)), file=sys.stderr, flush=True)
        finally:
            sim.stop()

    print("kpthin and its peers against one kpclientd-sim (unix socket, zero latency), %s, %d core(s), "
          "median of %d run(s); ratio = kpthin ÷ peer (below 1 is better, except for the rate)"
          % (stamp, os.cpu_count() or 0, reps))
    print()
    print(table(clients, results, workloads))
    if args.json:
        sink = sys.stdout if args.json == "-" else open(args.json, "a")
        for (name, w), r in results.items():
            version = next(c[1] for c in clients if c[0] == name)
            line = dict(time=stamp, client=name, version=version, workload=w, quick=args.quick, reps=reps, **r)
            sink.write(json.dumps(line) + "\n")
        if sink is not sys.stdout:
            sink.close()
    if args.strict:
        bad = [(n, w, r.get("instr_note") or r["status"]) for (n, w), r in results.items()
               if r["status"] != "ok" or (callgrind and "instr_note" in r)]
        for n, w, why in bad:
            print("peerbench: %s %s: %s" % (n, w, why), file=sys.stderr)
        return 1 if bad or not results else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
