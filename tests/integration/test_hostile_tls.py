"""A misbehaving TLS upstream (raw_server.py speaking TLS through memory
BIOs): a fatal alert from the server's TLS stack in the middle of a stream,
a close_notify without a WebSocket close, and a handshake that stalls
before or inside the server's first flight. Each is named in the state
reason, the session comes back when the server behaves, and a second
session keeps receiving throughout."""

import json
import re

from test_hostile import frame
from wsbtest import SLOW, session_conf, wait_for


def _tls_misbehave(wsb, certs, step, want_reason, **session_keys):
    bad = wsb.raw_server([step], args=["--tls-cert", str(certs.server.cert),
                                       "--tls-key", str(certs.server.key)])
    good = wsb.server("--send-interval", "0.02")
    daemon = wsb.daemon(session_conf("bad", bad.url, tls_ca_file=certs.ca, compression="false",
                                     **session_keys)
                        + session_conf("good", good.url))
    daemon.wait_state("good", "open")
    rx_before = daemon.status()["good"]["rx_messages"]
    line = daemon.wait_log(r"bad: backoff \(.*" + re.escape(want_reason), timeout=10 * SLOW)[0]
    daemon.wait_state("bad", "open", timeout=10 * SLOW)
    wait_for(lambda: daemon.status()["good"]["rx_messages"] > rx_before + 10, 5 * SLOW,
             "the bystander session to keep receiving")
    assert daemon.status()["good"]["reconnects"] == 0
    return daemon, bad, line


def test_tls_fatal_alert_mid_stream(wsb, certs):
    """Two messages, then the server's TLS stack sends a fatal alert
    (bad_record_mac, encrypted like any record after the handshake)."""
    daemon, _, _ = _tls_misbehave(wsb, certs, {
        "after": (frame(0x81, b"one") + frame(0x81, b"two")).hex(), "tls_alert": True},
        "TLS: sslv3 alert bad record mac")
    assert [m["data"] for m in _history(daemon)][:2] == ["one", "two"]


def test_tls_close_notify_without_a_close_frame(wsb, certs):
    _tls_misbehave(wsb, certs, {"after": frame(0x81, b"one").hex(), "tls_close_notify": True},
                   "connection lost (TLS closed by the server)")


def test_tls_handshake_stalls_before_the_server_hello(wsb, certs):
    _tls_misbehave(wsb, certs, {"tls_stall": 0}, "no WebSocket connection within "
                   "connect_timeout (1 s): stuck in the TLS handshake", connect_timeout=1)


def test_tls_handshake_stalls_inside_the_server_flight(wsb, certs):
    """The ServerHello and part of what follows, then nothing."""
    _, bad, _ = _tls_misbehave(wsb, certs, {"tls_stall": 150}, "no WebSocket connection "
                               "within connect_timeout (1 s): stuck in the TLS handshake",
                               connect_timeout=1)
    assert bad.events("tls_stalled"), "the server never stalled"


def _history(daemon):
    r = daemon.ctl_ok("history", "bad", "--json")
    return [json.loads(line) for line in r.stdout.splitlines()]
