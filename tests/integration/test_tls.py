"""wss:// sessions check the server as configured and say exactly why they refuse it."""

import re

from wsbtest import Certs, SLOW, session_conf, wait_for


def _failing_reason(daemon, name):
    """The reason of the first backoff, which must name the TLS failure."""
    status = daemon.wait_state(name, "backoff", check=lambda s: s["reason"])
    return status["reason"]


def _assert_refused(wsb, daemon, server, name, want):
    reason = _failing_reason(daemon, name)
    assert reason.startswith("TLS: ") and want in reason, (
        f"reason {reason!r}, want it to start with 'TLS: ' and contain {want!r}")
    # The handshake reached the server and was refused, on every try.
    wait_for(lambda: len(server.events("tls_hello")) >= 2, 5 * SLOW,
             lambda: f"the daemon to try again; TLS hellos: {server.events('tls_hello')}")
    assert not server.connects(), f"a refused server got a WebSocket: {server.connects()}"
    assert daemon.status()[name]["state"] != "open"


def test_tls_ca_file_trusts_server_by_name(wsb, certs):
    server = wsb.server(*Certs.server_args(certs.server), "--send-interval", "0.05")
    daemon = wsb.daemon(session_conf("s", server.url_for("localhost"), tls_ca_file=certs.ca))

    daemon.wait_state("s", "open")

    rc, msgs = wsb.watch(daemon, "s", 2).wait()
    assert rc == 0 and len(msgs) == 2, msgs
    hellos = server.events("tls_hello")
    assert hellos and hellos[-1]["sni"] == "localhost", f"SNI sent: {hellos}"


def test_tls_ca_file_trusts_server_by_ip(wsb, certs):
    server = wsb.server(*Certs.server_args(certs.server))
    daemon = wsb.daemon(session_conf("s", server.url_for("127.0.0.1"), tls_ca_file=certs.ca))

    daemon.wait_state("s", "open")

    wait_for(server.connects, 5 * SLOW, "the server to see the WebSocket")


def test_tls_unknown_ca_is_refused(wsb, certs):
    """Without tls_ca_file the system store is used, and it does not know the test CA."""
    server = wsb.server(*Certs.server_args(certs.server))
    daemon = wsb.daemon(session_conf("s", server.url_for("localhost")))

    _assert_refused(wsb, daemon, server, "s", "unable to get local issuer certificate")


def test_tls_self_signed_is_refused(wsb, certs):
    server = wsb.server(*Certs.server_args(certs.self_signed))
    daemon = wsb.daemon(session_conf("s", server.url_for("localhost"), tls_ca_file=certs.ca))

    _assert_refused(wsb, daemon, server, "s", "self-signed certificate")


def test_tls_hostname_mismatch_is_refused(wsb, certs):
    server = wsb.server(*Certs.server_args(certs.other_host))
    daemon = wsb.daemon(session_conf("s", server.url_for("localhost"), tls_ca_file=certs.ca))

    _assert_refused(wsb, daemon, server, "s", "hostname mismatch")


def test_tls_expired_certificate_is_refused(wsb, certs):
    server = wsb.server(*Certs.server_args(certs.expired))
    daemon = wsb.daemon(session_conf("s", server.url_for("localhost"), tls_ca_file=certs.ca))

    _assert_refused(wsb, daemon, server, "s", "certificate has expired")


def test_tls_pin_any_of_list_matches(wsb, certs):
    server = wsb.server(*Certs.server_args(certs.server))
    pins = f"{Certs.pin(certs.other_host)};{Certs.pin(certs.server)}"
    daemon = wsb.daemon(session_conf("s", server.url_for("localhost"), tls_ca_file=certs.ca,
                                     tls_pin_sha256=pins))

    daemon.wait_state("s", "open")

    wait_for(server.connects, 5 * SLOW, "the server to see the WebSocket")


def test_tls_pin_mismatch_is_refused(wsb, certs):
    """A valid chain is not enough when the server's key is not pinned."""
    server = wsb.server(*Certs.server_args(certs.server))
    pins = f"{Certs.pin(certs.other_host)};{Certs.pin(certs.client)}"
    daemon = wsb.daemon(session_conf("s", server.url_for("localhost"), tls_ca_file=certs.ca,
                                     tls_pin_sha256=pins))

    _assert_refused(wsb, daemon, server, "s", "TLS: certificate pin mismatch")


def test_tls_insecure_accepts_anything_and_warns_every_connect(wsb, certs):
    # Neither server's CA is trusted; one certificate is expired, the other
    # is for another host.
    expired = wsb.server(*Certs.server_args(certs.expired))
    other = wsb.server(*Certs.server_args(certs.other_host))
    daemon = wsb.daemon(session_conf("s", expired.url_for("localhost"), tls_insecure="true") +
                        session_conf("h", other.url_for("localhost"), tls_insecure="true"))

    daemon.wait_state("h", "open")
    daemon.wait_state("s", "open")
    first = daemon.wait_log(r"tls_insecure")
    expired.kill()
    daemon.wait_state("s", ("backoff", "connecting"))
    expired.restart()
    daemon.wait_state("s", "open", check=lambda s: s["reconnects"] >= 1)

    lines = daemon.wait_log(r"tls_insecure", count=len(first) + 1)
    assert all("warn" in line.lower() for line in lines), (
        f"tls_insecure must be logged as a warning: {lines}")


def test_tls_required_client_certificate_missing_fails(wsb, certs):
    server = wsb.server(*Certs.server_args(certs.server, client_ca=certs.ca))
    daemon = wsb.daemon(session_conf("s", server.url_for("localhost"), tls_ca_file=certs.ca))

    reason = _failing_reason(daemon, "s")

    assert reason, "backoff without a reason"
    wait_for(lambda: len(server.events("tls_hello")) >= 3, 5 * SLOW,
             lambda: f"the daemon to keep retrying; TLS hellos: {server.events('tls_hello')}")
    assert not server.connects(), server.connects()
    assert daemon.status()["s"]["state"] != "open"


def test_tls_client_certificate_is_presented(wsb, certs):
    server = wsb.server(*Certs.server_args(certs.server, client_ca=certs.ca))
    daemon = wsb.daemon(session_conf("s", server.url_for("localhost"), tls_ca_file=certs.ca,
                                     tls_cert_file=certs.client.cert,
                                     tls_key_file=certs.client.key))

    daemon.wait_state("s", "open")

    connect = wait_for(server.connects, 5 * SLOW, "the server to see the WebSocket")[0]
    assert connect["client_cert"] == {"commonName": "wsbridge test client"}, connect


def test_tls_errors_belong_to_their_session(wsb, certs):
    """OpenSSL's error queue is shared by the whole daemon: three sessions
    failing at the same time, each in its own way, over and over, each
    showing its own reason and never another's (nor a bare error number)."""
    plain = wsb.server()
    unknown_ca = wsb.server(*Certs.server_args(certs.server))
    missing = certs.dir / "no-such-ca.pem"
    fast = dict(backoff_initial_ms=20, backoff_max_ms=40)
    daemon = wsb.daemon(
        session_conf("plain", plain.url.replace("ws://", "wss://"), **fast)
        + session_conf("unknown", unknown_ca.url_for("localhost"), **fast)
        + session_conf("noca", unknown_ca.url_for("localhost"), tls_ca_file=missing, **fast))
    want = {
        "plain": "TLS handshake failed: the server answered in plain HTTP, not TLS",
        "unknown": "TLS: unable to get local issuer certificate",
        # The log shows the temporary directory as TMP.
        "noca": "TLS: cannot load the CA file TMP/pki/no-such-ca.pem: No such file or directory",
    }
    for name in want:
        daemon.wait_log(rf"{name}: backoff \(", count=5, timeout=30 * SLOW)
    for name, reason in want.items():
        lines = [line for line in daemon.log_text().splitlines()
                 if re.search(rf"{name}: backoff \(", line)]
        wrong = [line for line in lines if reason not in line]
        assert not wrong, f"{name}: want only {reason!r}; got {wrong[:3]}"
    # The state reason too (between tries the session is connecting).
    daemon.wait_state("noca", "backoff", check=lambda s: s["reason"].endswith(
        "no-such-ca.pem: No such file or directory"))


def _spki_pin(cert):
    import base64
    import hashlib

    from cryptography.hazmat.primitives import serialization
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def _chain_files(certs, name, leaf, key, *chain):
    """CertFiles serving LEAF (its KEY) followed by CHAIN, for ws_server.py."""
    from cryptography.hazmat.primitives.serialization import Encoding
    path = certs.dir / f"{name}-chain.pem"
    path.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in (leaf, *chain)))
    return Certs.server_args(type(certs.server)(path, certs._write_key(name, key)))


def _intermediate_pki(certs):
    """The test CA -> an intermediate -> a genuine leaf; and a forged leaf
    that names the intermediate as its issuer but is signed by another key.
    Returns (intermediate, genuine server args, forged server args)."""
    import ipaddress

    from cryptography.hazmat.primitives.asymmetric import ec
    names = ["localhost", ipaddress.ip_address("127.0.0.1")]
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = certs._build("wsbridge test intermediate", inter_key.public_key(), certs._ca_cert,
                         certs._ca_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = certs._build("wsbridge test genuine", leaf_key.public_key(), inter, inter_key,
                        names=names)
    forged_key = ec.generate_private_key(ec.SECP256R1())
    attacker = ec.generate_private_key(ec.SECP256R1())
    forged = certs._build("wsbridge test forged", forged_key.public_key(), inter, attacker,
                          names=names)
    return (inter, _chain_files(certs, "genuine", leaf, leaf_key, inter),
            _chain_files(certs, "forged", forged, forged_key, inter))


def test_tls_pins_count_only_what_is_verified(wsb, certs):
    """RFC 7469 §2.6: a pin on the intermediate holds for a leaf it really
    signed, verified; under tls_insecure only the leaf's own key counts, so
    a leaf signed by any key that names the pinned intermediate as issuer
    (and sends it along) is refused, with the reason, while a pin on that
    leaf's own key holds."""
    inter, genuine_args, forged_args = _intermediate_pki(certs)
    genuine = wsb.server(*genuine_args)
    forged = wsb.server(*forged_args)
    pin = _spki_pin(inter)
    forged_too = wsb.server(*forged_args)
    leaf_pin = Certs.pin(type(certs.server)(forged_args[1], forged_args[3]))
    daemon = wsb.daemon(
        session_conf("leaf", forged_too.url_for("localhost"), tls_insecure="true",
                     tls_pin_sha256=leaf_pin) +
        session_conf("verified", genuine.url_for("localhost"), tls_ca_file=certs.ca,
                     tls_pin_sha256=pin)
        + session_conf("insecure", forged.url_for("localhost"), tls_insecure="true",
                       tls_pin_sha256=pin)
        + session_conf("forged", forged.url_for("localhost"), tls_ca_file=certs.ca,
                       tls_pin_sha256=pin))
    daemon.wait_state("verified", "open")
    daemon.wait_state("leaf", "open")
    _assert_refused(wsb, daemon, forged, "insecure",
                    "TLS: certificate pin mismatch (with tls_insecure only the server's own key "
                    "may be pinned")
    assert "signature failure" in _failing_reason(daemon, "forged")

