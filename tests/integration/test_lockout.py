"""Local connections that never say hello cannot lock other clients out:
hello_timeout_ms closes them, at max_clients the oldest of them makes room
for a new client, and on the system instance one user holds at most
max_clients_per_user connections."""

import contextlib
import os
import time

import wsbridge_pb2 as pb
from wsbtest import SLOW, ApiClient, needs_root, session_conf, wait_for

NOBODY = 65534


def _connect(path):
    """An ApiClient, once the daemon's listen backlog has room for it."""
    def attempt():
        try:
            return ApiClient(path)
        except BlockingIOError:
            return None
    return wait_for(attempt, 5 * SLOW, "room in the daemon's listen backlog", interval=0.005)


def _idle(path, n):
    """N connections that say nothing."""
    return [_connect(path) for _ in range(n)]


def _error_then_eof(client, timeout):
    """The error frame the daemon sends CLIENT before closing its connection."""
    frame = client.recv_frame(timeout=timeout)
    assert frame.WhichOneof("frame") == "error", frame
    assert client.recv_frame(timeout=timeout) is None, "the daemon did not close the connection"
    return frame.error


def test_connection_without_hello_is_closed_after_hello_timeout(wsb):
    daemon = wsb.daemon("[daemon]\nhello_timeout_ms=500\n")
    (idle,) = _idle(daemon.socket, 1)
    start = time.monotonic()
    err = _error_then_eof(idle, 5 * SLOW)
    elapsed = time.monotonic() - start
    assert err.code == pb.ERROR_CODE_PROTOCOL, err
    assert err.message == "no hello within hello_timeout_ms (500 ms)", err
    assert 0.3 < elapsed < 3 * SLOW, elapsed
    daemon.ctl_ok("status")


def test_idle_connections_at_max_clients_make_room(wsb):
    """The probe's lock-out: 256 connections (the default max_clients) that
    never send a hello; a real client must still be served at once, well
    before any hello timeout."""
    daemon = wsb.daemon("[daemon]\nhello_timeout_ms=60000\n")
    idle = _idle(daemon.socket, 256)
    start = time.monotonic()
    r = daemon.ctl("status", "--json")
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - start < 3 * SLOW
    # The oldest idle connection was the one closed to make room.
    err = _error_then_eof(idle[0], 5 * SLOW)
    assert err.code == pb.ERROR_CODE_LIMIT_EXCEEDED and "making room" in err.message, err
    daemon.wait_log("max_clients reached and no hello sent yet")
    for c in idle:
        c.close()


def test_clients_that_said_hello_are_not_evicted(wsb):
    """At max_clients with every client past its hello, a new one is refused
    with a reason; nobody who is being served is dropped."""
    daemon = wsb.daemon("[daemon]\nmax_clients=4\n")
    clients = []
    for _ in range(4):
        c = ApiClient(daemon.socket)
        c.hello()
        clients.append(c)
    r = daemon.ctl("status")
    assert r.returncode == 3 and "max_clients" in r.stderr, (r.returncode, r.stderr)
    for c in clients:
        assert c.request(list_sessions=pb.ListSessionsRequest()).WhichOneof("result") \
            == "list_sessions"
        c.close()


@contextlib.contextmanager
def _as_uid(uid):
    """Connections made inside carry UID in SO_PEERCRED."""
    os.setegid(uid)
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_system_instance_caps_connections_per_user(wsb):
    needs_root("connects as another uid (nobody)")
    daemon = wsb.daemon(start=False, env={"STATE_DIRECTORY": None})
    daemon.args = ["--system"]
    daemon.env["STATE_DIRECTORY"] = str(daemon.workdir / "state")
    daemon.start("[daemon]\nmax_clients=10\nmax_clients_per_user=3\n"
                 + session_conf("s", "ws://127.0.0.1:9/", autoconnect="false",
                                allow_users="nobody"))
    for d in (daemon.socket.parent.parent, daemon.socket.parent):
        os.chmod(d, 0o755)
    held = []
    with _as_uid(NOBODY):
        for _ in range(3):
            c = ApiClient(daemon.socket)
            held.append(c)
        extra = ApiClient(daemon.socket)
    for c in held:
        c.hello()
    err = _error_then_eof(extra, 5 * SLOW)
    assert err.code == pb.ERROR_CODE_LIMIT_EXCEEDED, err
    assert "max_clients_per_user" in err.message, err
    daemon.wait_log(rf"uid {NOBODY} already has max_clients_per_user \(3\) connections")
    # Others (here root) are served, and so are the three of nobody.
    daemon.ctl_ok("status")
    for c in held:
        reply = c.request(list_sessions=pb.ListSessionsRequest())
        assert [s.name for s in reply.list_sessions.sessions] == ["s"], reply
        c.close()
    # Once nobody's connections are gone, nobody may connect again.
    with _as_uid(NOBODY):
        again = ApiClient(daemon.socket)
    again.hello()
    again.close()
