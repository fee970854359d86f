"""A session is freed only once nothing of the connection layer points at it
any more, on every path: removed or disconnected while lws still holds a
connection that failed at once, or one whose close is still in progress."""

import time

import wsbridge_pb2 as pb
from wsbtest import SLOW, ApiClient, session_conf, wait_for

LONG_PATH = "?" + "a" * 5000


def _alive(daemon, name="ok"):
    """The daemon answers and session NAME is still open."""
    assert daemon.proc.poll() is None, f"wsbridged died:\n{daemon.log()}"
    st = daemon.status()
    assert st[name]["state"] == "open", st[name]


def test_remove_and_disconnect_of_long_url_sessions_never_crash(wsb):
    """The probe's crash: a session whose connect failed inside lws (a 5000
    byte path did not fit lws' header buffer) was removed, and lws freed the
    lingering connection ~30 s later, calling back into the freed session.
    Such paths now connect; the daemon must stay up well past that window."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("ok", server.url))
    daemon.wait_state("ok", "open")
    daemon.ctl_ok("add", "long", server.url + LONG_PATH)
    daemon.ctl_ok("add", "long2", server.url + LONG_PATH)
    wait_for(lambda: daemon.status()["long"]["reason"] != "starting", 5 * SLOW, "a first try")
    daemon.ctl_ok("remove", "long")
    daemon.ctl_ok("disconnect", "long2")
    deadline = time.monotonic() + 35
    while time.monotonic() < deadline:
        _alive(daemon)
        time.sleep(1)
    daemon.ctl_ok("remove", "long2")
    _alive(daemon)


def test_url_path_too_long_is_refused_at_add(wsb):
    server = wsb.server()
    daemon = wsb.daemon("")
    r = daemon.ctl("add", "huge", server.url + "?" + "a" * 100_000)
    assert r.returncode == 1, r
    assert "url: path of 100002 bytes is longer than the 8192 the connection can send" \
        in r.stderr, r.stderr
    assert "huge" not in daemon.status()
    # The same rule for configuration files.
    bad = wsb.daemon(session_conf("huge", server.url + "?" + "a" * 9000), wait=False)
    assert bad.wait_exit() == 2
    assert "path of 9002 bytes is longer than the 8192" in bad.log()


def _create(api, name, url, **options):
    reply = api.request(create_session=pb.CreateSessionRequest(
        name=name, url=url,
        options=[pb.SessionOption(key=k, value=str(v)) for k, v in options.items()]))
    assert reply.WhichOneof("result") == "session", reply
    return reply


def test_sessions_whose_connect_fails_at_once_are_removed_cleanly(wsb):
    """Out of file descriptors, lws fails a connect inside
    lws_client_connect_via_info. Removing and disconnecting those sessions
    (while others still hold connections) must be clean, and the daemon
    must recover once descriptors are free again."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("ok", server.url), start=False)
    daemon.prefix = ["prlimit", "--nofile=40:40", "--"]
    daemon.start(session_conf("ok", server.url))
    daemon.wait_state("ok", "open")
    api = ApiClient(daemon.socket)
    api.hello()
    names = [f"s{i}" for i in range(45)]
    for name in names:
        _create(api, name, server.url, backoff_initial_ms=50, backoff_max_ms=200)

    def some_failed():
        st = api.request(list_sessions=pb.ListSessionsRequest()).list_sessions.sessions
        return [s.reason for s in st if "cannot start a connection" in s.reason
                or "Too many open files" in s.reason]
    reasons = wait_for(some_failed, 10 * SLOW, "connects failing for want of descriptors")
    assert any("Too many open files" in r for r in reasons), reasons
    for i, name in enumerate(names):
        op = ({"remove_session": pb.RemoveSessionRequest(session=name)} if i % 2 == 0 else
              {"disconnect": pb.DisconnectRequest(session=name)})
        reply = api.request(**op)
        assert reply.WhichOneof("result") == "ok", reply
    for name in names[1::2]:
        assert api.request(remove_session=pb.RemoveSessionRequest(
            session=name)).WhichOneof("result") == "ok"
    api.close()
    # Descriptors are back: a new session connects, the old one stayed up.
    daemon.ctl_ok("add", "again", server.url)
    daemon.wait_state("again", "open", timeout=10 * SLOW)
    _alive(daemon)
