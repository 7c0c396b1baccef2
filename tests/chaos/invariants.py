"""The promises every chaos scenario checks after its faults (issue 9), against what a fresh
reader finds on the channel, which is the truth (the replicas), not what the channel files say:

  writes: every message kpthin reported as written reads back, in the order written, and nothing
          replaced it; no box holds anything no writer attempted; duplicates only where the
          scenario allows at-least-once (a rerun after a crash);
  reads:  every box a reader printed is the box the channel holds at that place, and no read
          position ever skips a box that was not printed.
"""
import base64
import json
import os
import shutil

from harness import check


class Box:
    """One box as `kpthin --json read` reports it."""

    def __init__(self, obj):
        self.index = obj.get("index")
        self.tombstone = bool(obj.get("tombstone"))
        self.data = base64.b64decode(obj.get("data", "")) if not self.tombstone else None

    def __repr__(self):
        return "<tombstone>" if self.tombstone else repr(self.data)


def parse_boxes(stdout):
    """The boxes in a `kpthin --json read` output; a torn last line (a killed reader) is not a box."""
    boxes = []
    for line in stdout.split(b"\n"):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue  # only the last line of a killed process can be torn
        if set(obj) != {"error"}:  # a failure's error object (kpthin(1), JSON OUTPUT) is no box
            boxes.append(Box(obj))
    return boxes


def read_channel(kp, pristine_read, scratch_dir):
    """Every box of the channel from its first index, read with a fresh reader: a copy of the
    NAME.read file as keypair created it (`pristine_read`), so no saved position is trusted."""
    fresh = os.path.join(scratch_dir, "fresh-reader.read")
    shutil.copyfile(pristine_read, fresh)
    os.chmod(fresh, 0o600)
    boxes = []
    try:
        while True:
            code, out, err = kp.run("--json", "read", "--no-wait", "--count", "100000", fresh, timeout=120)
            boxes += parse_boxes(out)
            if code == 6:
                return boxes
            # 7: a tombstone, reported and passed; 0: the count was reached. Go on either way.
            check(code in (0, 7), "the fresh reader failed with exit %d: %s" % (code, err.strip()))
    finally:
        os.unlink(fresh)


def check_writes(boxes, reported, attempted, at_least_once=False, exact=False, late=()):
    """boxes: read_channel(); reported: every message the writers reported as written (their
    --json lines or exit 0), in report order across runs; attempted: every message any writer
    was given, in the order first given; late: unreported messages of a killed writer whose
    requests were still on their way (they land when they land, possibly after a later run's
    messages; no writer can wait for them), left out of the order check. Returns a one-line
    summary."""
    data = [b.data for b in boxes if not b.tombstone]
    known = set(attempted)
    for i, d in enumerate(data):
        check(d in known, "box %d holds %r, which no writer was given" % (i + 1, d[:60]))
    # Reported messages read back in report order: a subsequence of the boxes.
    at = 0
    for n, message in enumerate(reported):
        start = at
        while at < len(data) and data[at] != message:
            at += 1
        check(at < len(data), "message %r (report #%d of %d) was reported written but no box after box %d "
              "(where report #%d is) holds it: lost or replaced. Boxes %d-%d: %s" % (
                  message[:60], n + 1, len(reported), start, n, start + 1, start + 6, short(data[start:start + 6])))
        at += 1
    # First occurrences follow the order in which the messages were first given.
    order = {m: i for i, m in reversed(list(enumerate(attempted)))}
    firsts = []
    for d in data:
        if d not in firsts and d not in late:
            firsts.append(d)
    ranks = [order[d] for d in firsts]
    check(ranks == sorted(ranks), "the channel holds the messages out of order: %s" % short(data))
    duplicates = len(data) - len(set(data))
    if not at_least_once:
        check(duplicates == 0, "%d message(s) stored twice where exactly once was expected: %s" % (duplicates, short(data)))
    if exact:
        check(data == list(reported), "the channel must hold exactly the reported messages;\n  channel:  %s\n"
              "  reported: %s" % (short(data), short(reported)))
    return "%d boxes, %d reported, %d duplicate(s)" % (len(data), len(reported), duplicates)


def check_reads(boxes, runs, complete=True):
    """boxes: read_channel(); runs: the boxes each reader run printed (parse_boxes), in run order,
    all runs continuing one saved position. Every printed box must be the channel's box at its
    index, each run must print consecutive boxes starting no later than the box after the last
    one printed before (at-least-once: it may print a box again), and with `complete` every box
    must have been printed. Returns a one-line summary."""
    where = {b.index: i for i, b in enumerate(boxes)}
    printed = set()
    last = -1
    reprinted = 0
    for r, run in enumerate(runs):
        prev = None
        for box in run:
            check(box.index in where, "run %d printed a box the channel does not have: %r" % (r + 1, box))
            i = where[box.index]
            check(boxes[i].tombstone == box.tombstone and boxes[i].data == box.data,
                  "run %d printed %r for box %d, which holds %r" % (r + 1, box, i + 1, boxes[i]))
            if prev is None:
                check(i <= last + 1, "run %d started at box %d, but box %d was never printed: the saved "
                      "read position skipped it" % (r + 1, i + 1, last + 2))
            else:
                check(i == prev + 1, "run %d jumped from box %d to box %d" % (r + 1, prev + 1, i + 1))
            reprinted += i in printed
            printed.add(i)
            last = max(last, i)
            prev = i
    if complete:
        missing = sorted(set(range(len(boxes))) - printed)
        check(not missing, "box(es) %s were never printed by the reader" % [m + 1 for m in missing][:10])
    return "%d boxes printed, %d again after a crash" % (len(printed), reprinted)


def short(items, limit=12):
    """A compact rendering of a list of messages for failure messages."""
    shown = [i if i is None else i[:24] for i in items[:limit]]
    return "%s%s" % (shown, " ... (%d in all)" % len(items) if len(items) > limit else "")
