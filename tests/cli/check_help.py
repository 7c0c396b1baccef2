#!/usr/bin/env python3
"""Checks the text of `kpthin --help` and of every subcommand's --help, as a person reads it:

  - it ends with exactly one newline (a shell prompt must not start on its last line, and no
    blank lines trail);
  - brackets and backquotes balance within each paragraph (a stray ")" is a slipped edit);
  - example command lines ("  kpthin ...") stand together under "Examples:", not after prose;
  - no control characters or trailing blanks.

    check_help.py KPTHIN"""
import re
import subprocess
import sys

PAIRS = {")": "(", "]": "[", "}": "{"}


def subcommands(kpthin):
    text = subprocess.run([kpthin, "--help"], stdout=subprocess.PIPE, check=True).stdout.decode()
    names, inside = [], False
    for line in text.splitlines():
        if line.rstrip().endswith(":") and not line.startswith(" "):
            inside = line.startswith("Subcommands")
            continue
        if inside and line.startswith("  ") and line.strip():
            names.append(line.split()[0])
    return names


def problems(text):
    found = []
    if not text.endswith("\n"):
        found.append("does not end with a newline (ends %r)" % text[-20:])
    elif text.endswith("\n\n"):
        found.append("ends with blank lines")
    for n, line in enumerate(text.splitlines(), 1):
        if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line):
            found.append("line %d has a control character: %r" % (n, line))
        if line != line.rstrip():
            found.append("line %d has trailing blanks: %r" % (n, line))
    for paragraph in re.split(r"\n\s*\n", text):
        stack = []
        for c in paragraph:
            if c in "([{":
                stack.append(c)
            elif c in PAIRS:
                if not stack or stack[-1] != PAIRS[c]:
                    found.append("a stray %r in: %r" % (c, paragraph[-160:]))
                    break
                stack.pop()
        else:
            if stack:
                found.append("unclosed %r in: %r" % (stack[-1], paragraph[-160:]))
        for line in paragraph.splitlines():
            if line.count("`") % 2:
                found.append("unbalanced backquote: %r" % line)
    # Example lines belong to the paragraph that starts with "Examples:".
    for paragraph in re.split(r"\n\s*\n", text):
        lines = paragraph.splitlines()
        if lines and lines[0].startswith("Examples:"):
            continue
        for line in lines:
            if line.startswith("  kpthin "):
                found.append("an example outside the Examples: block: %r" % line)
    return found


def main():
    kpthin = sys.argv[1]
    names = subcommands(kpthin)
    if len(names) < 8:
        print("FAIL: found only %r as subcommands in kpthin --help" % names)
        return 1
    failed = 0
    for args in [[]] + [[name] for name in names]:
        p = subprocess.run([kpthin] + args + ["--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        what = " ".join(["kpthin"] + args + ["--help"])
        text = p.stdout.decode(errors="replace")
        found = problems(text) if p.returncode == 0 else ["exit %d: %s" % (p.returncode, p.stderr.decode())]
        for problem in found:
            failed += 1
            print("FAIL %s: %s" % (what, problem))
        if not found:
            print("ok   %s" % what)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
