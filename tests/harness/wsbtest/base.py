"""What every wsbtest module shares: where the build tree is, the generated
protobuf module, the programs under test, deadlines, and small helpers."""

import json
import os
import pathlib
import re
import shlex
import sys
import time

if "WSB_BUILD_ROOT" not in os.environ:
    raise RuntimeError("set WSB_BUILD_ROOT to the Meson build directory (meson test does)")
BUILD_ROOT = pathlib.Path(os.environ["WSB_BUILD_ROOT"])
if str(BUILD_ROOT / "proto") not in sys.path:
    sys.path.append(str(BUILD_ROOT / "proto"))
import wsbridge_pb2 as pb  # noqa: E402,F401  (generated into the build tree; wsbtest re-exports it)

PYTHON = "/usr/bin/python3"
DAEMON = BUILD_ROOT / "daemon" / "wsbridged"
CTL = BUILD_ROOT / "clients" / "wsbridgectl" / "wsbridgectl"
WS_SERVER = pathlib.Path(__file__).with_name("ws_server.py")
CONNECT_PROXY = pathlib.Path(__file__).with_name("connect_proxy.py")
RAW_SERVER = pathlib.Path(__file__).with_name("raw_server.py")

WRAPPER = shlex.split(os.environ.get("WSB_DAEMON_WRAPPER", ""))
# Deadlines for things the contract does not time (startup, "eventually"
# conditions) stretch under a slow wrapper such as valgrind.
SLOW = 5.0 if WRAPPER else 1.0
# Bounds on work that is all CPU (unmarshalling a huge D-Bus message, say)
# stretch by what valgrind costs such code: 20 to 50 times.
CPU_SLOW = 40.0 if WRAPPER else 1.0
START_TIMEOUT = 10.0 * SLOW
EXIT_TIMEOUT = 60.0 if WRAPPER else 10.0

# Fast reconnects so the suite stays short.
FAST = {"backoff_initial_ms": 100, "backoff_max_ms": 1000}

BAD_LOG_LINE = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer"
                          r"|runtime error:|CRITICAL|g_critical")


def needs_root(why):
    """Skip the calling test, unless root, with the one line "needs root: WHY".

    conftest.py turns such a skip into exit status 77 (Meson's SKIP) when not
    root; as root the test runs, and every skip still counts as a failure.
    """
    if os.geteuid() != 0:
        import pytest
        pytest.skip(f"needs root: {why}")


def wait_for(predicate, timeout, what, interval=0.02):
    """Poll predicate() until it returns something truthy; return that value.

    WHAT describes the condition; it may be a callable, evaluated on timeout
    so that the message can show the state reached.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            what = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


def session_conf(name, url, **keys):
    """A [session NAME] group with the FAST backoff unless overridden."""
    lines = [f"[session {name}]", f"url={url}"]
    lines += [f"{k}={v}" for k, v in {**FAST, **keys}.items()]
    return "\n".join(lines) + "\n"


def read_jsonl(path):
    """Parse a JSON-lines file; a torn last line (writer killed) is ignored."""
    try:
        text = pathlib.Path(path).read_text()
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def tail(path, max_lines=300):
    try:
        lines = pathlib.Path(path).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no file)"
    skipped = len(lines) - max_lines
    head = [f"... {skipped} earlier lines in {path} ..."] if skipped > 0 else []
    return "\n".join(head + lines[-max_lines:])
