"""Without an explicit socket the client talks to the socket wsbridgectl
would: $WSBRIDGE_SOCKET, else the user instance's, with GLib's fallback when
XDG_RUNTIME_DIR is not set. Checked against wsbridgectl itself."""

import os
import re
import subprocess
import sys

from pyclient import feed
from wsbtest import CTL, SLOW

import wsbridge

BASE = {k: v for k, v in os.environ.items()
        if k not in ("WSBRIDGE_SOCKET", "XDG_RUNTIME_DIR", "XDG_CACHE_HOME", "HOME")}


def _ctl_path(env):
    """The socket wsbridgectl tries with ENV (it names it when it cannot reach it)."""
    r = subprocess.run([str(CTL), "status"], capture_output=True, text=True, env=env,
                       timeout=10 * SLOW)
    m = re.match(r"wsbridgectl: cannot reach wsbridged at (.*): ", r.stderr)
    assert r.returncode == 3 and m, (r.returncode, r.stderr)
    return m.group(1)


def _py_path(env):
    return subprocess.run([sys.executable, "-c", "import wsbridge; print(wsbridge.default_socket())"],
                          capture_output=True, text=True, env=env, check=True).stdout.rstrip("\n")


def test_default_socket_is_the_one_wsbridgectl_uses(tmp_path):
    t = str(tmp_path)
    cases = [
        {"WSBRIDGE_SOCKET": f"{t}/explicit.sock", "XDG_RUNTIME_DIR": f"{t}/run"},
        {"WSBRIDGE_SOCKET": "", "XDG_RUNTIME_DIR": f"{t}/run"},
        {"XDG_RUNTIME_DIR": f"{t}/run/"},
        {"XDG_RUNTIME_DIR": f"{t}//run//"},
        {"XDG_RUNTIME_DIR": "", "XDG_CACHE_HOME": f"{t}/cache", "HOME": f"{t}/home"},
        {"HOME": f"{t}/home"},
        {"HOME": f"{t}/home/", "XDG_CACHE_HOME": ""},
        {},  # HOME from the passwd entry
    ]
    for case in cases:
        env = {**BASE, **case}
        os.makedirs(f"{t}/home/.cache", exist_ok=True)  # GLib creates the fallback dir
        assert _py_path(env) == _ctl_path(env), case


def test_connects_to_the_user_instance_socket_by_default(wsb, tmp_path, monkeypatch):
    server, daemon = feed(wsb)
    runtime = tmp_path / "xdg"
    (runtime / "wsbridge").mkdir(parents=True)
    (runtime / "wsbridge" / "wsbridge.sock").symlink_to(daemon.socket)
    monkeypatch.delenv("WSBRIDGE_SOCKET", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    with wsbridge.Client() as c:
        assert c.socket == str(runtime / "wsbridge" / "wsbridge.sock")
        assert [s.name for s in c.sessions()] == ["s"]
    monkeypatch.setenv("WSBRIDGE_SOCKET", str(daemon.socket))
    with wsbridge.Client() as c:
        assert c.socket == str(daemon.socket) and c.sessions()
