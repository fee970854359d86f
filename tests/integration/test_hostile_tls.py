"""A misbehaving TLS upstream (raw_server.py speaking TLS through memory
BIOs): a fatal alert from the server's TLS stack in the middle of a stream,
a close_notify without a WebSocket close, and a handshake that stalls
before or inside the server's first flight. Each is named in the state
reason, the session comes back when the server behaves, and a second
session keeps receiving throughout."""

import json
import os
import re

import pytest

from wsbtest.openssl_server import OpenSSLServer
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


def _openssl_session(wsb, certs, *args):
    server = OpenSSLServer(certs.server.cert, certs.server.key, *args)
    daemon = wsb.daemon(session_conf("s", server.url, tls_ca_file=certs.ca, compression="false",
                                     backoff_initial_ms=5000, backoff_max_ms=5000))
    server.accept_upgrade()
    daemon.wait_state("s", "open")
    return server, daemon


def test_tls12_renegotiation_is_refused_by_name(wsb, certs):
    """openssl s_server's `r` (a HelloRequest over TLS 1.2): declined with
    SSL_OP_NO_RENEGOTIATION and the connection ended with a reason that
    says so, not a bare OpenSSL error at the next write."""
    server, daemon = _openssl_session(wsb, certs, "-tls1_2")
    try:
        server.send(frame(0x81, b"before"))
        wait_for(lambda: daemon.status()["s"]["rx_messages"] == 1, 5 * SLOW, "the first message")
        server.command("r", b"SSL_do_handshake -> ")
        daemon.ctl_ok("send", "s", "after")
        line = daemon.wait_log(r"s: backoff \(", timeout=10 * SLOW)[0]
        assert "TLS: the server asked to renegotiate TLS, which wsbridge refuses" in line, line
    finally:
        server.stop()


def test_tls13_key_update_keeps_the_connection(wsb, certs):
    """openssl s_server's `k` and `K` (TLS 1.3 KeyUpdate, the second asking
    for ours in return): messages keep flowing both ways."""
    server, daemon = _openssl_session(wsb, certs, "-tls1_3")
    try:
        for n, letter in enumerate("kK", start=1):
            server.command(letter, b"SSL_do_handshake -> 1")
            server.send(frame(0x81, f"after {letter}".encode()))
            wait_for(lambda: daemon.status()["s"]["rx_messages"] == n, 5 * SLOW,
                     lambda: f"message {n}; {daemon.status()['s']}")
            mark = len(server.output())
            daemon.ctl_ok("send", "s", f"sent {letter}")
            server.client_text(f"sent {letter}", since=mark)
        assert daemon.status()["s"]["state"] == "open"
        assert daemon.status()["s"]["reconnects"] == 0
    finally:
        server.stop()


def _named_cert(certs, name, dns_names, cn):
    """A CA-signed server certificate with DNS_NAMES in its subjectAltName
    (none: no subjectAltName at all) and CN as its common name."""
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    cert = certs._build(cn, key.public_key(), certs._ca_cert, certs._ca_key, names=dns_names)
    return ["--tls-cert", str(certs._write(name, cert)),
            "--tls-key", str(certs._write_key(name, key))]


def _name_refused(wsb, certs, server_args, want_reason):
    """The server's certificate is refused for foo.example.test with WANT_REASON."""
    if os.geteuid() != 0:  # wsbtest.needs_root on main: the same skip, exit 77
        pytest.skip("needs root: a private /etc/hosts (mount namespace) for foo.example.test")
    server = wsb.server(*server_args)
    daemon = wsb.daemon(session_conf("s", f"wss://foo.example.test:{server.port}/",
                                     tls_ca_file=certs.ca),
                        hosts="127.0.0.1 foo.example.test\n")
    line = daemon.wait_log(r"s: backoff \(", timeout=10 * SLOW)[0]
    assert want_reason in line, line
    assert not server.connects()


def test_tls_partial_wildcard_is_refused(wsb, certs):
    """f*.example.test does not match foo.example.test (RFC 9525 §6.3)."""
    _name_refused(wsb, certs, _named_cert(certs, "partial", ["f*.example.test"], "partial"),
                  "TLS: hostname mismatch (the certificate names a partial wildcard")


def test_tls_cn_only_certificate_is_refused(wsb, certs):
    """A certificate without subjectAltName whose CN is the host matches nothing."""
    _name_refused(wsb, certs, _named_cert(certs, "cn-only", [], "foo.example.test"),
                  "TLS: hostname mismatch (the certificate has no DNS name in its subjectAltName")
