#!/usr/bin/env python3
"""Checks `kpthin completion bash|zsh|fish`: the build's generated scripts are the binary's output;
each shell loads its script; bash and fish complete every subcommand, every option each
subcommand's --help lists, channel files by kind and option values; zsh, driven on a
pseudo-terminal, completes subcommands and flags.
Usage: check_completion.py KPTHIN GENERATED_DIR"""
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

SCRIPT_NAMES = {"bash": "kpthin.bash", "zsh": "_kpthin", "fish": "kpthin.fish"}


def generated(kpthin, shell):
    return subprocess.run([kpthin, "completion", shell], stdout=subprocess.PIPE, check=True).stdout


def subcommands_and_options(kpthin):
    """{subcommand: options its --help lists} from the binary's help."""
    main_help = subprocess.run([kpthin, "--help"], stdout=subprocess.PIPE, check=True).stdout.decode()
    subs = re.findall(r"^  (\w+)\s{2,}", main_help.split("Subcommands:")[1].split("Examples:")[0], re.M)
    result = {}
    for sub in subs:
        help_text = subprocess.run([kpthin, sub, "--help"], stdout=subprocess.PIPE, check=True).stdout.decode()
        opts = set()
        for m in re.finditer(r"^\s+((?:-\w,)?--[\w-]+)", help_text, re.M):
            opts.update(o for o in m.group(1).split(",") if o not in ("-h", "--help"))
        result[sub] = opts
    return result


# --- bash -------------------------------------------------------------------------------------

def bash_complete(script, words, cwd):
    """Runs the completion function for the command line `words` (last word = being completed)."""
    line = " ".join(words)
    program = (
        'source %s\n'
        'COMP_WORDS=(%s)\nCOMP_CWORD=%d\nCOMP_LINE="%s"\nCOMP_POINT=${#COMP_LINE}\n'
        '_kpthin\nprintf "%%s\\n" "${COMPREPLY[@]}"\n'
    ) % (script, " ".join("'%s'" % w for w in words), len(words) - 1, line)
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    if r.returncode != 0 or r.stderr:
        raise AssertionError("bash completion failed for %r: %s" % (words, r.stderr.decode()))
    return set(l for l in r.stdout.decode().splitlines() if l)


def check_bash(script, subs, work, problems):
    if subprocess.run(["bash", "-n", script]).returncode != 0:
        problems.append("bash -n reports a syntax error")
    r = subprocess.run(["bash", "--norc", "-c", "source %s; complete -p kpthin" % script], stdout=subprocess.PIPE)
    if r.stdout.decode().strip() != "complete -F _kpthin kpthin":
        problems.append("bash: sourcing does not register the completion: %r" % r.stdout)
    got = bash_complete(script, ["kpthin", ""], work)
    problems.extend("bash: subcommand %s is not completed" % s for s in subs if s not in got)
    if bash_complete(script, ["kpthin", "re"], work) != {"read"}:
        problems.append("bash: 're' should complete to read")
    for sub, opts in subs.items():
        offered = bash_complete(script, ["kpthin", sub, "-"], work)
        problems.extend("bash: kpthin %s: option %s is not completed" % (sub, o) for o in sorted(opts - offered))
    expectations = [
        (["kpthin", "write", ""], {"a.write", "b.write", "sub/"}),
        (["kpthin", "-c", "x.toml", "read", ""], {"a.read", "sub/"}),
        (["kpthin", "--timeout", "5s", "tombstone", "--last", "1", ""], {"a.write", "b.write", "sub/"}),
        (["kpthin", "copy", "--to", ""], {"a.write", "b.write", "sub/"}),
        (["kpthin", "write", "-f", "n"], {"notes.txt"}),          # write's -f is --file
        (["kpthin", "keypair", "-f", ""], set()),                  # keypair's -f is --force, then NAME
        (["kpthin", "read", "-n", ""], set()),                     # a count: nothing to offer
        (["kpthin", "write", "a.write", ""], set()),               # the MESSAGE positional
        (["kpthin", "watch", "--until", ""], {"connected", "pki"}),
        (["kpthin", "write", "--split", ""], {"lines", "box"}),
        (["kpthin", "completion", ""], {"bash", "zsh", "fish"}),
        (["kpthin", "help", "w"], {"write", "watch"}),
        (["kpthin", "read", "--output-dir", ""], {"sub"}),
        (["kpthin", "--t"], {"--timeout"}),
        (["kpthin", "read", "--ti"], {"--timeout"}),               # global options after the subcommand
    ]
    for words, want in expectations:
        got = bash_complete(script, words, work)
        if got != want:
            problems.append("bash: %r completes %s, expected %s" % (" ".join(words), sorted(got), sorted(want)))


# --- fish -------------------------------------------------------------------------------------

def fish_complete(script, line, cwd):
    r = subprocess.run(["fish", "--no-config", "-c", "source %s; complete -C '%s'" % (script, line)], cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0 or r.stderr:
        raise AssertionError("fish completion failed for %r: %s" % (line, r.stderr.decode()))
    return set(l.split("\t")[0] for l in r.stdout.decode().splitlines() if l)


def check_fish(script, subs, work, problems):
    got = fish_complete(script, "kpthin ", work)
    problems.extend("fish: subcommand %s is not completed" % s for s in subs if s not in got)
    if fish_complete(script, "kpthin re", work) != {"read"}:
        problems.append("fish: 're' should complete to read: %s" % fish_complete(script, "kpthin re", work))
    for sub, opts in subs.items():
        offered = fish_complete(script, "kpthin %s -" % sub, work)
        offered |= fish_complete(script, "kpthin %s --" % sub, work)
        problems.extend("fish: kpthin %s: option %s is not completed" % (sub, o) for o in sorted(opts - offered))
    expectations = [
        ("kpthin -c x.toml read ", {"a.read", "sub/"}),
        ("kpthin write ", {"a.write", "b.write", "sub/"}),
        ("kpthin watch --until ", {"connected", "pki"}),
        ("kpthin completion ", {"bash", "zsh", "fish"}),
        ("kpthin read --ti", {"--timeout"}),
    ]
    for line, want in expectations:
        got = fish_complete(script, line, work)
        if got != want:
            problems.append("fish: %r completes %s, expected %s" % (line, sorted(got), sorted(want)))


# --- zsh --------------------------------------------------------------------------------------

class Terminal:
    """An interactive zsh on a pseudo-terminal."""

    def __init__(self, cwd, home):
        import pty
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(cwd)
            os.execvpe("zsh", ["zsh", "-f", "-i"], {"HOME": home, "TERM": "dumb", "PATH": os.environ["PATH"]})
        self.buffer = b""

    def send(self, text):
        os.write(self.fd, text.encode())

    def read_until(self, marker, timeout=20.0):
        deadline = time.monotonic() + timeout
        while marker.encode() not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("zsh: no %r within %.0fs; the terminal shows: %r" % (marker, timeout, self.buffer[-2000:]))
            if select.select([self.fd], [], [], left)[0]:
                try:
                    self.buffer += os.read(self.fd, 65536)
                except OSError:
                    raise AssertionError("zsh exited; the terminal showed: %r" % self.buffer[-2000:])
        out, self.buffer = self.buffer.split(marker.encode(), 1)
        return out.decode(errors="replace")

    def close(self):
        import signal
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def check_zsh(script, subs, work, problems):
    r = subprocess.run(["zsh", "-f", "-c", "autoload -U compinit; compinit -u -d %s/zcompdump; source %s; "
                        "print -r -- $_comps[kpthin]" % (work, script)], cwd=work, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if r.returncode != 0 or r.stderr or r.stdout.decode().strip() != "_kpthin":
        problems.append("zsh: loading after compinit: exit %d, %r, %r" % (r.returncode, r.stdout, r.stderr))
        return
    # Completion itself runs in the line editor: a compadd wrapper prints every candidate as
    # <hit:WORD> on the terminal. The markers that end each step are computed ($((...))) so that
    # the echo of what was typed does not match them.
    term = Terminal(work, work)
    try:
        term.send("PS1='READY> '; autoload -U compinit; compinit -u -d %s/zcompdump; source %s\n" % (work, script))
        term.send("compadd() { local -a __hits; builtin compadd -O __hits \"$@\"; "
                  "print -n -- '<hit:'${^__hits}'>' >/dev/tty; builtin compadd \"$@\" }\n")
        # Ctrl-T completes and then prints <done>: the test waits for it before typing on, since
        # the line editor may skip work while more input is waiting.
        term.send("_kpthin_test_complete() { zle complete-word; print -n -- '<done>' >/dev/tty }; "
                  "zle -N _kpthin_test_complete; bindkey '^T' _kpthin_test_complete\n")
        term.send("print -- SETUP-DONE-$((40+2))\n")
        term.read_until("SETUP-DONE-42")
        for n, (line, want, unwanted) in enumerate((
                ("kpthin ", set(subs), set()),
                ("kpthin re", {"read"}, {"write"}),
                ("kpthin read --", {o for o in subs["read"] if o.startswith("--")} | {"--timeout"}, {"--seed-file"}),
                ("kpthin keypair --", {"--seed-file", "--force", "--timeout"}, {"--follow"}),
                ("kpthin watch --until ", {"connected", "pki"}, set()),
                ("kpthin read ", {"a.read"}, {"a.write", "notes.txt"}),
                ("kpthin completion ", {"bash", "zsh", "fish"}, set()))):
            term.send(line + "\x14")
            shown = term.read_until("<done>")
            # Ctrl-U empties the line; the marker command shows the prompt is back.
            term.send("\x15print -- CASE-DONE-$((%d+1000))\n" % n)
            term.read_until("CASE-DONE-%d" % (n + 1000))
            hits = set(re.findall(r"<hit:([^>]*)>", shown))
            missing, extra = want - hits, unwanted & hits
            if missing or extra:
                problems.append("zsh: %r: missing %s, unexpected %s (got %s)" % (line, sorted(missing), sorted(extra),
                                                                                 sorted(hits)))
    except AssertionError as e:
        problems.append(str(e))
    finally:
        term.close()


def main():
    kpthin, generated_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    problems = []
    subs = subcommands_and_options(kpthin)
    if "completion" not in subs:
        problems.append("kpthin --help lists no completion subcommand")
    work = tempfile.mkdtemp()
    try:
        for name in ("a.write", "a.read", "b.write", "notes.txt"):
            open(os.path.join(work, name), "w").close()
        os.mkdir(os.path.join(work, "sub"))
        scripts = {}
        for shell, name in SCRIPT_NAMES.items():
            scripts[shell] = os.path.join(generated_dir, name)
            try:
                if open(scripts[shell], "rb").read() != generated(kpthin, shell):
                    problems.append("%s differs from `kpthin completion %s`" % (scripts[shell], shell))
            except (OSError, subprocess.CalledProcessError) as e:
                problems.append("%s: %s" % (shell, e))
        if not problems:
            check_bash(scripts["bash"], subs, work, problems)
            if shutil.which("fish"):
                check_fish(scripts["fish"], subs, work, problems)
            else:
                problems.append("fish is not installed (scripts/setup installs it)")
            if shutil.which("zsh"):
                check_zsh(scripts["zsh"], subs, work, problems)
            else:
                problems.append("zsh is not installed (scripts/setup installs it)")
    finally:
        shutil.rmtree(work)
    for p in problems:
        print("FAIL", p)
    print("%d problems" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
