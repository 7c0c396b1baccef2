"""What the real-daemon test scripts (tests/kpclientd, tests/mixnet) share: failures that name
what was expected, bounded polling instead of sleeps, and the one-scenario-per-run entry point
that ctest calls (`SCRIPT --scripts DIR --kpthin BIN SCENARIO`)."""
import argparse
import sys
import time


class Failure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def wait_for(predicate, what, timeout, interval=0.2):
    """Polls predicate() until it returns something truthy; fails naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        check(time.monotonic() < deadline, "timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def run_one(scenarios, setup, on_failure=None):
    """Parses the command line, runs the named scenario with the arguments setup(args) returns
    (a tuple), prints PASS/FAIL with the duration and returns the process exit code."""
    by_name = {f.__name__: f for f in scenarios}
    ap = argparse.ArgumentParser()
    ap.add_argument("--scripts", required=True, help="the repository's scripts/ directory")
    ap.add_argument("--kpthin", required=True, help="the kpthin binary under test")
    ap.add_argument("scenario", choices=sorted(by_name))
    args = ap.parse_args()
    t0 = time.monotonic()
    try:
        by_name[args.scenario](*setup(args))
    except Failure as e:
        print("FAIL %s: %s" % (args.scenario, e), file=sys.stderr)
        if on_failure:
            on_failure(args)
        return 1
    print("PASS %s (%.1fs)" % (args.scenario, time.monotonic() - t0))
    return 0
