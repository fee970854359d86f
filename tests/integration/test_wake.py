"""Network up and resume from suspend: retry at once, and probe open connections.

Each test runs its own system bus with python-dbusmock's logind and
NetworkManager templates; the daemon watches them through GIO's
NetworkManager network monitor and logind's PrepareForSleep signal.
"""

import time

from wsbtest import SLOW, session_conf, wait_for

LOGIND_MANAGER = "org.freedesktop.login1.Manager"
NM_STATE_DISCONNECTED, NM_STATE_CONNECTED_GLOBAL = 20, 70
NM_CONNECTIVITY_NONE, NM_CONNECTIVITY_FULL = 1, 4

# Backoff so long that only a wake-up can explain a quick reconnect.
SLOW_BACKOFF = {"backoff_initial_ms": 30000, "backoff_max_ms": 60000}
NOT_OPEN = ("connecting", "backoff", "closing", "disconnected")


def _wake_daemon(wsb, system_bus, config):
    """logind and NetworkManager mocks on SYSTEM_BUS, and a daemon watching them."""
    logind = system_bus.mock("logind")
    nm = system_bus.mock("networkmanager")
    daemon = wsb.daemon(config, env=system_bus.env(GIO_USE_NETWORK_MONITOR="networkmanager"))
    return daemon, logind, nm


def _set_network(nm, up):
    """What NetworkManager shows when the link goes away or comes back."""
    if up:
        nm.call("SetGlobalConnectionState", NM_STATE_CONNECTED_GLOBAL)
        nm.call("SetConnectivity", NM_CONNECTIVITY_FULL)
    else:
        nm.call("SetConnectivity", NM_CONNECTIVITY_NONE)
        nm.call("SetGlobalConnectionState", NM_STATE_DISCONNECTED)


def _prepare_for_sleep(logind, sleeping):
    logind.emit(LOGIND_MANAGER, "PrepareForSleep", "b", [sleeping])


def _into_long_backoff(daemon, server, name):
    """Kill SERVER and wait until NAME's next try is far away; restart SERVER."""
    server.kill()
    daemon.wait_state(name, ("backoff", "connecting"))
    daemon.wait_retry_far(name, 6)
    server.restart()


def _reopens_at_once(daemon, name, trigger, capsys):
    start = time.monotonic()
    trigger()
    status = daemon.wait_state(name, "open", timeout=3)
    with capsys.disabled():
        print(f"\nreopened {time.monotonic() - start:.2f} s after the wake-up")
    return status


def test_resume_from_suspend_retries_at_once(wsb, system_bus, capsys):
    server = wsb.server()
    daemon, logind, _ = _wake_daemon(wsb, system_bus, session_conf("s", server.url,
                                                                   **SLOW_BACKOFF))
    daemon.wait_state("s", "open")
    _prepare_for_sleep(logind, True)
    _into_long_backoff(daemon, server, "s")

    _reopens_at_once(daemon, "s", lambda: _prepare_for_sleep(logind, False), capsys)

    daemon.wait_log(r"resumed from suspend")


def test_network_up_retries_at_once(wsb, system_bus, capsys):
    server = wsb.server()
    daemon, _, nm = _wake_daemon(wsb, system_bus, session_conf("s", server.url,
                                                               **SLOW_BACKOFF))
    daemon.wait_state("s", "open")
    _set_network(nm, up=False)
    _into_long_backoff(daemon, server, "s")

    _reopens_at_once(daemon, "s", lambda: _set_network(nm, up=True), capsys)

    daemon.wait_log(r"network is up")


def _check_probe(daemon, server, trigger, capsys):
    before = daemon.wait_state("s", "open")
    server.stop()
    start = time.monotonic()
    trigger()
    status = daemon.wait_state("s", NOT_OPEN, timeout=5 * SLOW)
    elapsed = time.monotonic() - start
    with capsys.disabled():
        print(f"\nleft open {elapsed:.2f} s after the wake-up ({status['reason']!r})")
    assert elapsed < 2.5, (f"a dead connection took {elapsed:.2f} s to be noticed after the "
                           f"wake-up with pong_timeout=1 (want < 2.5 s)")
    server.cont()
    daemon.wait_state("s", "open", timeout=10 * SLOW,
                      check=lambda s: s["reconnects"] > before["reconnects"])


def test_resume_probes_open_connection(wsb, system_bus, capsys):
    server = wsb.server()
    daemon, logind, _ = _wake_daemon(wsb, system_bus, session_conf(
        "s", server.url, ping_interval=60, pong_timeout=1, connect_timeout=2))
    daemon.wait_state("s", "open")
    _prepare_for_sleep(logind, True)

    _check_probe(daemon, server, lambda: _prepare_for_sleep(logind, False), capsys)


def test_network_up_probes_open_connection(wsb, system_bus, capsys):
    server = wsb.server()
    daemon, _, nm = _wake_daemon(wsb, system_bus, session_conf(
        "s", server.url, ping_interval=60, pong_timeout=1, connect_timeout=2))
    daemon.wait_state("s", "open")
    _set_network(nm, up=False)

    _check_probe(daemon, server, lambda: _set_network(nm, up=True), capsys)


def test_healthy_connection_survives_wake_up(wsb, system_bus):
    """The probe is a ping: a connection that answers it is kept."""
    server = wsb.server()
    daemon, logind, nm = _wake_daemon(wsb, system_bus, session_conf(
        "s", server.url, ping_interval=60, pong_timeout=1))
    daemon.wait_state("s", "open")

    _prepare_for_sleep(logind, True)
    _prepare_for_sleep(logind, False)
    daemon.wait_log(r"resumed from suspend")
    wait_for(lambda: server.events("ping"), 3 * SLOW, "the probe ping after resume")
    _set_network(nm, up=False)
    _set_network(nm, up=True)
    daemon.wait_log(r"network is up")
    wait_for(lambda: len(server.events("ping")) >= 2, 3 * SLOW, "the probe ping after network up")

    # Both probes were answered; nothing was replaced.
    end = time.monotonic() + 1.5  # > pong_timeout: a missed pong would show by now
    while time.monotonic() < end:
        status = daemon.status()["s"]
        assert status["state"] == "open" and status["reconnects"] == 0, status
        time.sleep(0.1)
    assert len(server.connects()) == 1, server.connects()


def test_runs_without_system_bus(wsb):
    server = wsb.server("--send-interval", "0.05")
    daemon = wsb.daemon(session_conf("s", server.url),
                        env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"})
    daemon.wait_state("s", "open")

    rc, msgs = wsb.watch(daemon, "s", 2).wait()
    assert rc == 0 and len(msgs) == 2
    server.kill()
    daemon.wait_state("s", ("backoff", "connecting"))
    server.restart()
    daemon.wait_state("s", "open", check=lambda s: s["reconnects"] >= 1)
