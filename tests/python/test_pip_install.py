"""pip installs the package from the source tree into a fresh venv on
Debian's python3, offline, and a plain script then subscribes and sends."""

import os
import pathlib
import shutil
import subprocess
import sys

from pyclient import TIMEOUT, feed, wait_received
from wsbtest import SLOW

SOURCE = pathlib.Path(os.environ["WSB_SOURCE_ROOT"])

SCRIPT = """
import sys, wsbridge
print(wsbridge.__file__)
with wsbridge.Client(sys.argv[1]) as c:
    sub = c.subscribe("s")
    print("sent", c.send("s", "from the venv", wait=True).outcome, flush=True)
    for item in sub:
        if isinstance(item, wsbridge.Message):
            print("got", item.seq, item.data, flush=True)
            break
"""


def _tree(tmp):
    """The client's source as in the tree (clients/python next to proto/),
    copied so that the build leaves nothing in the source tree."""
    src = tmp / "src"
    shutil.copytree(SOURCE / "clients" / "python", src / "clients" / "python",
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    (src / "proto").mkdir()
    shutil.copy(SOURCE / "proto" / "wsbridge.proto", src / "proto")
    return src / "clients" / "python"


def _venv(tmp):
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, capture_output=True, timeout=120 * SLOW)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_INDEX_URL")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1")
    return venv, env


def _pip_install(venv, env, tree):
    return subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index",
                           "--no-build-isolation", str(tree)],
                          capture_output=True, text=True, env=env, timeout=300 * SLOW)


def test_pip_install_offline_into_a_fresh_venv(wsb, tmp_path):
    server, daemon = feed(wsb)
    tree = _tree(tmp_path)
    venv, env = _venv(tmp_path)
    r = _pip_install(venv, env, tree)
    assert r.returncode == 0, f"pip install failed:\n{r.stdout}\n{r.stderr}"
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import wsbridge, wsbridge.wsbridge_pb2 as pb, pathlib; "
                           "print(pathlib.Path(wsbridge.__file__).parent)"],
                          capture_output=True, text=True, env=env, check=True).stdout.strip()
    installed = pathlib.Path(site)
    assert installed.is_relative_to(venv), installed
    assert all((installed / f).exists() for f in ("py.typed", "wsbridge_pb2.py", "wsbridge_pb2.pyi"))
    # The faces' module paths (websockets' are a package of their own).
    faces = ("websocket.py", "websockets/__init__.py", "websockets/exceptions.py",
             "websockets/asyncio/client.py", "websockets/sync/client.py",
             "websockets/legacy/client.py", "websockets/client.py")
    assert [f for f in faces if not (installed / f).exists()] == []

    proc = subprocess.Popen([str(venv / "bin" / "python"), "-c", SCRIPT, str(daemon.socket)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=tmp_path)
    try:
        first = proc.stdout.readline()
        assert pathlib.Path(first.strip()).is_relative_to(venv), first
        assert proc.stdout.readline() == "sent sent\n"
        server.inject("to the venv")
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out == "got 1 to the venv\n", (out, err)
    assert wait_received(server, 1) == ["from the venv"]


def test_pip_install_without_protoc_is_a_clear_error(tmp_path):
    tree = _tree(tmp_path)
    venv, env = _venv(tmp_path)
    env["PATH"] = str(venv / "bin")  # no protoc there
    r = _pip_install(venv, env, tree)
    assert r.returncode != 0
    assert "protoc not found" in r.stdout + r.stderr, r.stdout + r.stderr
