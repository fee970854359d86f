"""SIGTERM closes every session with 1001 and exits 0."""

from wsbtest import session_conf, wait_for


def test_sigterm_closes_sessions_with_1001(wsb):
    a, b = wsb.server(), wsb.server()
    daemon = wsb.daemon(session_conf("a", a.url) + session_conf("b", b.url))
    daemon.wait_state("a", "open")
    daemon.wait_state("b", "open")
    wait_for(lambda: a.events("connect") and b.events("connect"), 5,
             "both servers to see their connection")

    assert daemon.stop() == 0

    for server in (a, b):
        codes = wait_for(server.close_codes, 5, f"{server.name} to see the close")
        assert codes == [1001], f"{server.name} saw close codes {codes}, want [1001]"
