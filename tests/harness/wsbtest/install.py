"""Installing this build as a user would: the meson that configured it, its
options, and running a tool that must succeed (test_libwsbridge.py and the
clients' install tests)."""

import json
import os
import shlex
import shutil
import subprocess

from .base import BUILD_ROOT


def tool(name):
    path = shutil.which(name)
    assert path, f"{name} is not installed; this test needs it"
    return path


def meson_command():
    """The meson that configured this build (meson test exports it), else PATH's."""
    introspect = shlex.split(os.environ.get("MESONINTROSPECT", ""))
    if introspect and introspect[-1] == "introspect":
        return introspect[:-1]
    return [tool("meson")]


def build_options():
    path = BUILD_ROOT / "meson-info" / "intro-buildoptions.json"
    return {o["name"]: o["value"] for o in json.loads(path.read_text())}


def run(cmd, **kwargs):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kwargs)
    assert r.returncode == 0, (f"{shlex.join(map(str, cmd))} exited {r.returncode}:\n"
                               f"{r.stdout}{r.stderr}")
    return r.stdout
