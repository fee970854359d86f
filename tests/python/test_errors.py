"""Every error class from a real daemon's answer, and an unreachable daemon."""

import os
import pathlib
import subprocess
import sys

from pyclient import run
from wsbtest import SLOW, needs_root, session_conf

import wsbridge

NOBODY = 65534


def _expect(cls, code, call):
    try:
        call()
    except cls as e:
        assert type(e) is cls and e.code == code and e.message, (type(e), e.code, e.message)
        assert isinstance(e, wsbridge.Error)
        return e
    raise AssertionError(f"expected {cls.__name__}")


def test_error_classes_from_the_daemon(wsb):
    down = wsb.server()
    down.kill()
    daemon = wsb.daemon(session_conf("q", down.url, queue_max_messages=1)
                        + "[daemon]\nmax_subscriptions_per_client=2\n")
    with wsbridge.Client(daemon.socket) as c:
        e = _expect(wsbridge.NotFound, "NOT_FOUND", lambda: c.status("ghost"))
        assert "ghost" in e.message
        _expect(wsbridge.InvalidArgument, "INVALID_ARGUMENT",
                lambda: c.create_session("Bad Name", "ws://127.0.0.1:9/"))
        _expect(wsbridge.InvalidArgument, "INVALID_ARGUMENT",
                lambda: c.subscribe("q", since_seq=99, epoch=c.status("q").epoch))
        _expect(wsbridge.AlreadyExists, "ALREADY_EXISTS",
                lambda: c.create_session("q", "ws://127.0.0.1:9/"))
        c.send("q", "fills the queue")
        _expect(wsbridge.QueueFull, "QUEUE_FULL", lambda: c.send("q", "one too many"))
        kept = [c.subscribe("q"), c.subscribe("q", "other")]  # dropping one unsubscribes
        _expect(wsbridge.LimitExceeded, "LIMIT_EXCEEDED", lambda: c.subscribe("q", "third"))
        del kept

    async def main():
        async with wsbridge.connect(daemon.socket) as c:
            try:
                await c.remove_session("ghost")
            except wsbridge.NotFound as e:
                assert e.code == "NOT_FOUND"
            else:
                raise AssertionError("NotFound expected")
    run(main())


# As another user, against a system instance whose session only root may use
# and where it may not create sessions.
_AS_NOBODY = """
import sys, wsbridge
with wsbridge.Client(sys.argv[1]) as c:
    try:
        c.send("closed", "hi")
    except wsbridge.NotFound as e:
        print(type(e).__name__, e.code, e.message)
    try:
        c.create_session("mine", "ws://127.0.0.1:9/")
    except wsbridge.AccessDenied as e:
        print(type(e).__name__, e.code, e.message)
"""


def test_access_denied_from_a_system_instance(wsb):
    needs_root("runs a client as another uid (nobody)")
    daemon = wsb.daemon(start=False, env={"STATE_DIRECTORY": None})
    daemon.args = ["--system"]
    daemon.env["STATE_DIRECTORY"] = str(daemon.workdir / "state")
    daemon.start(session_conf("closed", "ws://127.0.0.1:9/", autoconnect="false"))
    for d in (daemon.socket.parent.parent, daemon.socket.parent):
        os.chmod(d, 0o755)
    # nobody imports a copy of the package: the build tree may be out of its reach.
    modules = wsb.readable_copy(pathlib.Path(wsbridge.__file__).parent, name="python")
    r = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                        sys.executable, "-c", _AS_NOBODY, str(daemon.socket)],
                       capture_output=True, text=True, timeout=20 * SLOW,
                       env={**os.environ, "HOME": "/", "PYTHONPATH": str(modules)}, cwd="/")
    assert r.returncode == 0, r.stderr
    # A session it may not use is, to it, one that does not exist; creating
    # is for create_allow_groups.
    hidden, denied = r.stdout.splitlines()
    assert hidden == "NotFound NOT_FOUND no session named 'closed'", r
    assert denied.startswith("AccessDenied ACCESS_DENIED ") and "may not create" in denied, r


def test_unreachable_daemon_names_socket_and_reason(wsb, tmp_path):
    missing = tmp_path / "no-daemon.sock"
    try:
        wsbridge.Client(missing)
    except wsbridge.DaemonUnreachable as e:
        assert e.socket == str(missing) and "No such file" in e.reason, (e.socket, e.reason)
        assert str(missing) in str(e) and e.code == "UNREACHABLE"
    else:
        raise AssertionError("DaemonUnreachable expected")
    # A socket nobody listens on.
    import socket
    dead = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(dead))
    s.close()

    async def main():
        try:
            await wsbridge.connect(dead)
        except wsbridge.DaemonUnreachable as e:
            assert "refused" in e.reason, e.reason
        else:
            raise AssertionError("DaemonUnreachable expected")
    run(main())


def test_protocol_error_for_a_version_the_daemon_does_not_speak(wsb, monkeypatch):
    daemon = wsb.daemon("")
    monkeypatch.setattr(wsbridge.protocol, "API_MAJOR", 2)
    try:
        wsbridge.Client(daemon.socket)
    except wsbridge.ProtocolError as e:
        assert e.code == "VERSION_MISMATCH" and e.message, (e.code, e.message)
    else:
        raise AssertionError("ProtocolError expected")
