#!/usr/bin/env python3
"""Checks completion/kpthin.bash: it parses, completes every subcommand, offers every option a
subcommand's --help lists, and completes channel files by kind.
Usage: check_completion.py COMPLETION_SCRIPT KPTHIN"""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def complete(script, words, cwd):
    """Runs the completion function for the command line `words` (last word = being completed)."""
    line = " ".join(words)
    program = (
        'source %s\n'
        'COMP_WORDS=(%s)\nCOMP_CWORD=%d\nCOMP_LINE="%s"\nCOMP_POINT=${#COMP_LINE}\n'
        '_kpthin\nprintf "%%s\\n" "${COMPREPLY[@]}"\n'
    ) % (script, " ".join("'%s'" % w for w in words), len(words) - 1, line)
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    if r.returncode != 0:
        raise AssertionError("completion failed for %r: %s" % (words, r.stderr.decode()))
    return set(l for l in r.stdout.decode().splitlines() if l)


def main():
    script, kpthin = os.path.abspath(sys.argv[1]), sys.argv[2]
    problems = []
    if subprocess.run(["bash", "-n", script]).returncode != 0:
        problems.append("bash -n reports a syntax error")
    work = tempfile.mkdtemp()
    try:
        for name in ("a.write", "a.read", "b.write", "notes.txt"):
            open(os.path.join(work, name), "w").close()
        main_help = subprocess.run([kpthin, "--help"], stdout=subprocess.PIPE, check=True).stdout.decode()
        subs = re.findall(r"^  (\w+)\s{2,}", main_help.split("Subcommands:")[1].split("Examples:")[0], re.M)
        got = complete(script, ["kpthin", ""], work)
        for sub in subs:
            if sub not in got:
                problems.append("subcommand %s is not completed" % sub)
        for sub in subs:
            help_text = subprocess.run([kpthin, sub, "--help"], stdout=subprocess.PIPE, check=True).stdout.decode()
            offered = complete(script, ["kpthin", sub, "-"], work)
            for m in re.finditer(r"^\s+((?:-\w,)?--[\w-]+)", help_text, re.M):
                for opt in m.group(1).split(","):
                    if opt not in ("-h", "--help") and opt not in offered:
                        problems.append("kpthin %s: option %s is not completed" % (sub, opt))
        if complete(script, ["kpthin", "write", ""], work) != {"a.write", "b.write"}:
            problems.append("write should complete .write files: %s" % complete(script, ["kpthin", "write", ""], work))
        if complete(script, ["kpthin", "-c", "x.toml", "read", ""], work) != {"a.read"}:
            problems.append("read should complete .read files")
        if complete(script, ["kpthin", "watch", "--until", ""], work) != {"connected", "pki"}:
            problems.append("--until values")
        if "--timeout" not in complete(script, ["kpthin", "--t"], work):
            problems.append("global options")
    finally:
        shutil.rmtree(work)
    for p in problems:
        print("FAIL", p)
    print("%d problems" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
