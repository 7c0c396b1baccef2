#!/usr/bin/env python3
"""Checks kpthin's manual pages: groff -man -z -ww reports nothing for any of them, every
subcommand has its page, every option a subcommand's --help lists is documented in its page, and
kpthin(1) lists every exit code. Usage: check_man_pages.py MANDIR KPTHIN"""
import os
import re
import subprocess
import sys

EXIT_KINDS = {"0": "ok", "1": "other", "2": "usage", "3": "config", "4": "daemon_unreachable", "5": "timeout",
              "6": "box_not_found", "7": "tombstone", "8": "box_already_exists", "9": "copy_failed",
              "10": "protocol", "130": "interrupted"}
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


def main():
    mandir, kpthin = sys.argv[1], sys.argv[2]
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
