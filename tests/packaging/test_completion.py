"""Shell completion of wsbridgectl: the bash function driven as bash drives it
(COMP_WORDS/COMP_CWORD, with bash-completion loaded) against a running
daemon, and the zsh function loaded by compinit."""

import os
import pathlib
import re
import shlex
import subprocess

import wsbtest
from wsbtest import session_conf

COMPLETIONS = pathlib.Path(os.environ["WSB_SOURCE_ROOT"]) / "packaging" / "completions"
BASH_COMPLETION = pathlib.Path("/usr/share/bash-completion/bash_completion")
COMMANDS = ["add", "connect", "disconnect", "history", "remove", "send", "status", "watch"]


def complete(*words):
    """COMPREPLY for the command line WORDS, the last one being completed."""
    assert BASH_COMPLETION.exists(), "bash-completion (package bash-completion) is needed"
    words = [str(wsbtest.CTL), *words]
    script = "\n".join([
        f"source {BASH_COMPLETION}",
        f"source {COMPLETIONS / 'wsbridgectl.bash'}",
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})",
        f"COMP_CWORD={len(words) - 1}",
        # The line as typed, the cursor at its end.
        f"COMP_LINE={shlex.quote(' '.join(words))}",
        "COMP_POINT=${#COMP_LINE}",
        f"_wsbridgectl wsbridgectl {shlex.quote(words[-1])} {shlex.quote(words[-2])}",
        'printf "%s\\n" "${COMPREPLY[@]}"',
    ])
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and not r.stderr, f"bash exited {r.returncode}: {r.stderr}"
    return sorted(w for w in r.stdout.splitlines() if w)


def help_options(*command):
    """The long options that `wsbridgectl [COMMAND] --help` lists, NAME= for
    those that take a value."""
    r = subprocess.run([str(wsbtest.CTL), *command, "--help"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    options = set()
    for m in re.finditer(r"^\s+(?:-\w, )?(--[a-z-]+)(=)?", r.stdout, re.M):
        options.add(m.group(1) + (m.group(2) or ""))
    return sorted(options)


def test_bash_completion_commands():
    assert complete("") == COMMANDS
    assert complete("s") == ["send", "status"]
    assert complete("--system", "di") == ["disconnect"]


def test_bash_completion_options_match_help():
    """Each command offers exactly the options its --help lists."""
    assert complete("--") == help_options()
    for command in COMMANDS:
        assert complete(command, "--") == help_options(command), command
    assert complete("watch", "--c") == ["--count="]


def test_bash_completion_session_names(wsb):
    """Session names come from the daemon the command line names (--socket)."""
    daemon = wsb.daemon(session_conf("prices", "ws://127.0.0.1:9/", autoconnect="false")
                        + session_conf("pings", "ws://127.0.0.1:9/", autoconnect="false")
                        + session_conf("chat", "ws://127.0.0.1:9/", autoconnect="false"))
    sock = str(daemon.socket)
    assert complete("--socket", sock, "connect", "") == ["chat", "pings", "prices"]
    assert complete("--socket", sock, "watch", "p") == ["pings", "prices"]
    assert complete("--socket", sock, "watch", "chat", "--count", "3", "pr") == ["prices"]
    assert complete("--socket", sock, "status", "--json", "chat", "p") == ["pings", "prices"]
    assert complete("--socket", sock, "send", "prices", "") == []
    assert complete("--socket", sock, "add", "") == []
    # No daemon there: nothing, and no error.
    assert complete("--socket", str(wsb.tmp / "none.sock"), "connect", "") == []


def test_zsh_completion_loads(tmp_path):
    """zsh parses _wsbridgectl and compinit binds it to wsbridgectl from its
    directory in fpath."""
    r = subprocess.run(["zsh", "-n", str(COMPLETIONS / "_wsbridgectl")], capture_output=True,
                       text=True)
    assert r.returncode == 0 and not r.stderr, r.stderr
    script = (f"fpath=({COMPLETIONS} $fpath); autoload -Uz compinit; "
              f"compinit -u -d {tmp_path}/zcompdump; print -r -- $_comps[wsbridgectl]")
    r = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True,
                       env={**os.environ, "HOME": str(tmp_path)})
    assert r.returncode == 0 and r.stdout.strip() == "_wsbridgectl", (r.stdout, r.stderr)
