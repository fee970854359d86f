"""Sessions come up, show their status and send what the config asks for."""

import os
import stat
import time

from wsbtest import session_conf, wait_for

STATUS_KEYS = {"name", "url", "state", "reason", "epoch", "last_seq", "reconnects",
               "rx_messages", "tx_messages", "queued", "rtt_us"}


def test_connect_shows_open(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("echo", server.url))

    status = daemon.wait_state("echo", "open")

    assert STATUS_KEYS <= set(status), f"status lacks {STATUS_KEYS - set(status)}: {status}"
    assert status["url"] == server.url
    assert status["reconnects"] == 0 and status["last_seq"] == 0, status
    wait_for(lambda: server.events("connect"), 5, "the server to see the connection")
    assert len(server.events("connect")) == 1


def test_sessions_d_file_defines_session(wsb):
    server = wsb.server()
    body = session_conf("x", server.url).replace("[session x]", "[session]")
    daemon = wsb.daemon("", sessions_d={"feed": body})

    status = daemon.wait_state("feed", "open")

    assert status["url"] == server.url


def test_socket_dir_and_socket_are_private(wsb):
    server = wsb.server()
    daemon = wsb.daemon(start=False)
    daemon.socket = daemon.socket.parent / "new-dir" / "wsbridge.sock"
    old_umask = os.umask(0o022)
    try:
        daemon.start(session_conf("s", server.url))
    finally:
        os.umask(old_umask)

    dir_mode = os.stat(daemon.socket.parent).st_mode
    sock_mode = os.stat(daemon.socket).st_mode
    assert stat.S_ISSOCK(sock_mode)
    assert stat.S_IMODE(dir_mode) == 0o700, f"socket dir mode {oct(stat.S_IMODE(dir_mode))}"
    assert stat.S_IMODE(sock_mode) == 0o600, f"socket mode {oct(stat.S_IMODE(sock_mode))}"


def test_headers_subprotocol_and_origin_are_sent(wsb):
    server = wsb.server("--subprotocol", "chat.v1")
    daemon = wsb.daemon(session_conf(
        "h", server.url + "feed?x=1",
        headers="X-Wsb-Test: one;X-Other: two words",
        subprotocols="chat.v1",
        origin="http://origin.test"))

    daemon.wait_state("h", "open")

    connect = wait_for(lambda: server.events("connect"), 5, "the server to see the connection")[0]
    headers = connect["headers"]
    assert connect["path"] == "/feed?x=1"
    assert headers.get("x-wsb-test") == "one", headers
    assert headers.get("x-other") == "two words", headers
    assert headers.get("origin") == "http://origin.test", headers
    assert connect["subprotocol"] == "chat.v1", headers


def test_keepalive_keeps_healthy_connection_open(wsb):
    """Pings are answered, so the session stays up and learns its round trip time."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("ka", server.url, ping_interval=1, pong_timeout=1))
    daemon.wait_state("ka", "open")

    wait_for(lambda: len(server.events("ping")) >= 2, 4,
             "the daemon to ping the idle connection (ping_interval=1)")
    # Watch for longer than ping_interval + pong_timeout: nothing may drop.
    end = time.monotonic() + 3
    while time.monotonic() < end:
        status = daemon.status()["ka"]
        assert status["state"] == "open" and status["reconnects"] == 0, status
        time.sleep(0.1)
    assert len(server.events("connect")) == 1, server.events("connect")
    status = daemon.status()["ka"]
    assert status["rtt_us"] > 0, (f"rtt_us is still 0 after {len(server.events('ping'))} "
                                  f"answered pings: {status}")
