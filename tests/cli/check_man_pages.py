#!/usr/bin/env python3
"""Checks kpthin's manual pages against the program: groff -man -z -ww reports nothing for any of
them, every subcommand has its page, every option a subcommand's --help lists is documented in its
page and every option a page names exists (in that subcommand, or in the command the line runs),
kpthin(1) lists every exit code with its --json kind, and, given kpclientd-sim, every JSON key a
page names is one the binary prints (run against the simulator).
Usage: check_man_pages.py MANDIR KPTHIN [KPCLIENTD_SIM]"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Kpthin, Sim, Workdir, wait_for  # noqa: E402

# Other programs whose options the pages show in examples and comparisons.
OTHER_TOOLS = {"tail", "jq", "grep", "sort", "head", "journalctl", "pigeonhole-cp", "chmod", "sha256sum", "seq",
               "cmp", "ssh", "git", "curl", "xargs", "base64", "ls", "rm", "cp", "cmake"}
# Names kpthin-watch(1) gives that the simulator cannot make `kpthin watch` print, and why.
NOT_PRODUCIBLE_IN_WATCH = {
    "message_sent": "an event of the watching connection's own sends; kpthin watch sends nothing",
    "message_reply": "likewise",
    "surbid": "a key of those two events",
    "bytes": "a key of message_reply",
    "data": "a key of message_reply",
    "error_code": "a key of message_reply",
    "message_id_garbage_collected": "kpclientd's garbage collection of its own message ids",
    "message_id": "a key of that event",
    "shutdown": "the daemon's own shutdown event; the simulator closes without one",
}

EXIT_KINDS = {"0": "ok", "1": "other", "2": "usage", "3": "config", "4": "daemon_unreachable", "5": "timeout",
              "6": "box_not_found", "7": "tombstone", "8": "box_already_exists", "9": "copy_failed",
              "10": "protocol", "130": "interrupted", "141": "output_closed"}
EXIT_CODES = list(EXIT_KINDS)


def options_in_help(text):
    """The options a --help lists as its own (a subcommand's help also lists the global options,
    after a "Global options" heading: those belong to kpthin(1))."""
    found = set()
    for line in text.split("\nGlobal options")[0].splitlines():
        m = re.match(r"\s+((?:-\w,)?--[\w-]+)", line)
        if m:
            for opt in m.group(1).split(","):
                if opt not in ("-h", "--help"):
                    found.add(opt)
    return found


def flag_owner(line, at, page_sub, subcommands):
    """The command a flag at `at` in `line` belongs to: the nearest kpthin subcommand or other
    tool named before it on the line, else the page's own subcommand (None: kpthin itself)."""
    owner = page_sub
    for m in re.finditer(r"(?<![\w./-])([a-z][\w-]*)(?![\w./-])", line[:at]):
        if m.group(1) in subcommands or m.group(1) in OTHER_TOOLS:
            owner = m.group(1)
    return owner


def unknown_flags(source, page_sub, subcommands, options_of):
    """The options a page names that the command they belong to does not have."""
    bad = set()
    for line in source.splitlines():
        for m in re.finditer(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", line):
            owner = flag_owner(line, m.start(), page_sub, subcommands)
            if owner in OTHER_TOOLS:
                continue
            if m.group(1) not in options_of(owner) | options_of(None) | {"-h", "--help"}:
                bad.add(m.group(1))
    return bad


def named_json_keys(section):
    """Identifiers a page's text sets in bold (.B, .BR, .RB) in its JSON part: the keys and event
    names it promises. Quoted text (examples of plain output) is skipped."""
    keys = set()
    for line in section.splitlines():
        m = re.match(r"\.(B|BR|RB) (.*)", line)
        if not m or '"' in m.group(2):
            continue
        tokens = m.group(2).split()
        bold = tokens if m.group(1) == "B" else tokens[0::2] if m.group(1) == "BR" else tokens[1::2]
        keys.update(t for t in bold if re.fullmatch(r"[a-z][a-z0-9_]*", t))
    return keys


def produced_json(kpthin, sim_binary):
    """Subcommand -> every key and event name the binary prints with --json against
    kpclientd-sim, each subcommand run in its main forms (and failing, for the error object)."""
    produced = {}

    def collect(sub, out):
        for line in out.decode().splitlines():
            obj = json.loads(line)
            stack = [obj]
            while stack:
                o = stack.pop()
                if isinstance(o, dict):
                    produced.setdefault(sub, set()).update(o)
                    if isinstance(o.get("event"), str):
                        produced[sub].add(o["event"])
                    stack.extend(o.values())
                elif isinstance(o, list):
                    stack.extend(o)

    with Workdir() as d:
        sim = Sim(sim_binary, d)
        try:
            kp = Kpthin(kpthin, sim.config, d)
            run = lambda sub, *args, **kw: collect(sub, kp.run("--json", sub, *args, **kw)[1])  # noqa: E731
            run("keypair", "c")
            run("keypair", "--print", "--no-files", "x")
            run("write", "c.write", "one")
            run("read", "c.read")
            open(os.path.join(d, "f"), "wb").write(b"file")
            run("copy", "--framed", "--to", "c.write", "--file", "f")
            os.mkdir(os.path.join(d, "in"))
            run("read", "--framed", "-o", os.path.join(d, "in"), "c.read")
            run("write", "c.write", "two")
            run("tombstone", "--last", "1", "c.write")
            run("read", "c.read")  # the tombstone, then the error object
            run("tombstone", "--next", "1", "c.write")
            run("send", "hi")
            run("send", "-n", "1", "hi")
            run("send", "-n", "1", "-s", "testdest", "--timeout", "300ms", "hi")  # a lost reply
            run("services")
            run("watch", "--until", "pki")
            p = kp.spawn("--json", "watch")
            out = b""
            os.set_blocking(p.stdout.fileno(), False)

            def seen(what):
                nonlocal out
                out += p.stdout.read() or b""
                return what in out
            wait_for(lambda: seen(b'"connection_status"'), "kpthin watch to report its connection")
            sim.control("restart")
            wait_for(lambda: seen(b'"reconnected"'), "watch to see the restart")
            p.send_signal(signal.SIGINT)
            p.wait(20)
            out += p.stdout.read() or b""
            p.stderr.close()
            collect("watch", out)
        finally:
            sim.stop()
    return produced


def main():
    mandir, kpthin = sys.argv[1], sys.argv[2]
    sim_binary = sys.argv[3] if len(sys.argv) > 3 else None
    problems = []
    pages = sorted(f for f in os.listdir(mandir) if f.startswith("kpthin") and f[-2:] in (".1", ".5"))
    for page in pages:
        r = subprocess.run(["groff", "-man", "-z", "-ww", os.path.join(mandir, page)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0 or r.stderr:
            problems.append("%s: groff -ww: %s" % (page, r.stderr.decode().strip() or "exit %d" % r.returncode))
    main_help = subprocess.run([kpthin, "--help"], stdout=subprocess.PIPE, check=True).stdout.decode()
    subcommands = re.findall(r"^  (\w+)\s{2,}", main_help.split("Subcommands:")[1].split("Examples:")[0], re.M)
    if len(subcommands) < 8:
        problems.append("could not find the subcommands in kpthin --help")
    main_page = open(os.path.join(mandir, "kpthin.1")).read().replace("\\-", "-")
    help_options = {}

    def options_of(sub):
        """A subcommand's own options (None: the global ones), from its --help."""
        if sub not in help_options:
            argv = [kpthin, "--help"] if sub is None else [kpthin, sub, "--help"]
            help_options[sub] = options_in_help(subprocess.run(argv, stdout=subprocess.PIPE, check=True).stdout.decode())
        return help_options[sub]

    for opt in sorted(unknown_flags(main_page, None, subcommands, options_of)):
        problems.append("kpthin.1: names option %s, which kpthin does not have" % opt)
    if sim_binary:
        produced = produced_json(kpthin, sim_binary)
        everything = set().union(*produced.values())
        if ".SH JSON OUTPUT" not in main_page:
            problems.append("kpthin.1: no JSON OUTPUT section (the keys shared by all subcommands, the error object)")
        sections = {None: main_page.split(".SH JSON OUTPUT")[-1].split("\n.SH")[0] if ".SH JSON OUTPUT" in main_page else ""}
        for sub in subcommands:
            path = os.path.join(mandir, "kpthin-%s.1" % sub)
            if os.path.exists(path):
                sections[sub] = open(path).read().replace("\\-", "-").split(".SH OUTPUT")[-1].split("\n.SH")[0]
        for sub, section in sections.items():
            have = everything if sub is None else produced.get(sub, set())
            exempt = set(NOT_PRODUCIBLE_IN_WATCH) if sub == "watch" else set()
            for key in sorted(named_json_keys(section) - have - exempt):
                problems.append("%s: names JSON key %s, which `kpthin --json %s` does not print" % (
                    "kpthin.1" if sub is None else "kpthin-%s.1" % sub, key, sub or "..."))
    for sub in subcommands:
        if sub == "help":  # `kpthin help [SUBCOMMAND]` is described in kpthin(1)
            if not re.search(r"^\.BI? help\b", main_page.split(".SH SUBCOMMANDS")[1].split(".SH")[0], re.M):
                problems.append("kpthin.1: `kpthin help` is not described under SUBCOMMANDS")
            continue
        page = "kpthin-%s.1" % sub
        if page not in pages:
            problems.append("%s has no manual page %s" % (sub, page))
            continue
        source = open(os.path.join(mandir, page)).read().replace("\\-", "-")
        sub_help = subprocess.run([kpthin, sub, "--help"], stdout=subprocess.PIPE, check=True).stdout.decode()
        for opt in sorted(options_in_help(sub_help)):
            if opt not in source:
                problems.append("%s: option %s of `kpthin %s --help` is not documented" % (page, opt, sub))
        for opt in sorted(unknown_flags(source, sub, subcommands, options_of)):
            problems.append("%s: names option %s, which kpthin %s does not have" % (page, opt, sub))
    for opt in sorted(options_in_help(main_help)):
        if opt != "--version" and opt not in main_page:
            problems.append("kpthin.1: global option %s is not documented" % opt)
    status = main_page.split(".SH EXIT STATUS")[1].split(".SH")[0]
    for code in EXIT_CODES:
        if not re.search(r"^\.B %s$" % code, status, re.M):
            problems.append("kpthin.1: exit code %s is not listed under EXIT STATUS" % code)
        elif not re.search(r"^\.B %s\n\(%s\)$" % (code, EXIT_KINDS[code]), status, re.M):
            problems.append("kpthin.1: exit code %s does not give its --json kind (%s)" % (code, EXIT_KINDS[code]))
    if "kpthin-channel.5" not in pages:
        problems.append("kpthin-channel.5 is missing")
    for p in problems:
        print("FAIL", p)
    print("%d pages and %d subcommands checked, %d problems" % (len(pages), len(subcommands), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
