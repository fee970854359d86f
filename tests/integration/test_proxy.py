"""Sessions reach servers through HTTP CONNECT proxies, configured or from the environment."""

import base64
import json

from wsbtest import Certs, SLOW, session_conf, wait_for

PROXY_USER, PROXY_PASSWORD = "wsb-user", "pRoXy-PaSs-789"


def _connects_to(proxy, target, status=200):
    """Requests the proxy answered with STATUS for TARGET ("host:port")."""
    return [r for r in proxy.requests() if r["target"] == target and r["status"] == status]


def _assert_tunnelled(proxy, server, host):
    """PROXY was asked to CONNECT to SERVER by the name in the URL, and the
    WebSocket came through the tunnel."""
    target = f"{host}:{server.port}"
    wait_for(lambda: _connects_to(proxy, target), 5 * SLOW,
             lambda: f"CONNECT {target} at the proxy; it saw {proxy.requests()}")
    requests = proxy.requests()
    assert all(r["method"] == "CONNECT" for r in requests), requests
    assert requests[0]["line"] == f"CONNECT {target} HTTP/1.1", requests[0]
    wait_for(server.connects, 5 * SLOW, "the server to see the WebSocket")


def test_proxy_setting_tunnels_ws(wsb):
    server = wsb.server("--send-interval", "0.05")
    proxy = wsb.proxy()
    daemon = wsb.daemon(session_conf("s", server.url, proxy=proxy.url))

    daemon.wait_state("s", "open")

    _assert_tunnelled(proxy, server, "127.0.0.1")
    rc, msgs = wsb.watch(daemon, "s", 2).wait()
    assert rc == 0 and len(msgs) == 2, msgs


def test_proxy_setting_tunnels_wss(wsb, certs):
    server = wsb.server(*Certs.server_args(certs.server), "--send-interval", "0.05")
    proxy = wsb.proxy()
    daemon = wsb.daemon(session_conf("s", server.url_for("localhost"), proxy=proxy.url,
                                     tls_ca_file=certs.ca))

    daemon.wait_state("s", "open")

    _assert_tunnelled(proxy, server, "localhost")
    assert server.events("tls_hello")[-1]["sni"] == "localhost", server.events("tls_hello")
    rc, msgs = wsb.watch(daemon, "s", 2).wait()
    assert rc == 0 and len(msgs) == 2, msgs


def test_https_proxy_env_used_for_wss(wsb, certs):
    server = wsb.server(*Certs.server_args(certs.server))
    https_proxy, http_proxy = wsb.proxy(), wsb.proxy()
    daemon = wsb.daemon(session_conf("s", server.url_for("localhost"), tls_ca_file=certs.ca),
                        env={"https_proxy": https_proxy.url, "http_proxy": http_proxy.url})

    daemon.wait_state("s", "open")

    _assert_tunnelled(https_proxy, server, "localhost")
    assert not http_proxy.requests(), f"wss:// went to http_proxy: {http_proxy.requests()}"


def test_http_proxy_env_used_for_ws(wsb):
    server = wsb.server()
    https_proxy, http_proxy = wsb.proxy(), wsb.proxy()
    daemon = wsb.daemon(session_conf("s", server.url_for("localhost")),
                        env={"https_proxy": https_proxy.url, "http_proxy": http_proxy.url})

    daemon.wait_state("s", "open")

    _assert_tunnelled(http_proxy, server, "localhost")
    assert not https_proxy.requests(), f"ws:// went to https_proxy: {https_proxy.requests()}"


def test_no_proxy_env_bypasses_proxy(wsb, certs):
    plain = wsb.server()
    tls = wsb.server(*Certs.server_args(certs.server))
    proxy = wsb.proxy()
    daemon = wsb.daemon(
        session_conf("by-ip", plain.url_for("127.0.0.1")) +
        session_conf("by-name", plain.url_for("localhost")) +
        session_conf("tls", tls.url_for("localhost"), tls_ca_file=certs.ca),
        env={"http_proxy": proxy.url, "https_proxy": proxy.url,
             "no_proxy": "127.0.0.1,localhost"})

    for name in ("by-ip", "by-name", "tls"):
        daemon.wait_state(name, "open")

    wait_for(lambda: len(plain.connects()) >= 2 and tls.connects(), 5 * SLOW,
             "both servers to see their direct connections")
    assert not proxy.requests(), f"no_proxy hosts went through the proxy: {proxy.requests()}"


def test_proxy_none_overrides_environment(wsb):
    server = wsb.server()
    proxy = wsb.proxy()
    daemon = wsb.daemon(session_conf("s", server.url, proxy="none"),
                        env={"http_proxy": proxy.url, "https_proxy": proxy.url})

    daemon.wait_state("s", "open")

    wait_for(server.connects, 5 * SLOW, "the server to see the direct connection")
    assert not proxy.requests(), proxy.requests()


def _secrets(text):
    """Forms in which the proxy password could leak."""
    token = base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
    return [s for s in (PROXY_PASSWORD, token) if s in text]


def test_proxy_basic_auth_sent_and_kept_secret(wsb):
    server = wsb.server()
    proxy = wsb.proxy("--require-auth", f"{PROXY_USER}:{PROXY_PASSWORD}")
    proxy_url = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{proxy.port}"
    daemon = wsb.daemon(session_conf("s", server.url, proxy=proxy_url))
    statuses = []

    def state():
        statuses.append(daemon.ctl_ok("status", "--json").stdout)
        return json.loads(statuses[-1])[0]["state"]
    wait_for(lambda: state() == "open", 5 * SLOW, "the session to open through the proxy")
    # A failure through the proxy (the target is gone: 502) must not show it either.
    server.kill()
    wait_for(lambda: _connects_to(proxy, f"127.0.0.1:{server.port}", 502), 5 * SLOW,
             lambda: f"a retry through the proxy to fail; it saw {proxy.requests()}")
    wait_for(lambda: state() == "backoff", 5 * SLOW, "backoff after the proxy's 502")
    server.restart()
    wait_for(lambda: state() == "open", 5 * SLOW, "the session to reopen through the proxy")

    requests = proxy.requests()
    assert all(r["status"] != 407 for r in requests), requests
    scheme, _, token = requests[0]["proxy_authorization"].partition(" ")
    assert scheme.lower() == "basic", requests[0]
    assert base64.b64decode(token).decode() == f"{PROXY_USER}:{PROXY_PASSWORD}"
    assert not _secrets(daemon.log_text()), [
        line for line in daemon.log_text().splitlines() if _secrets(line)][:5]
    assert not any(_secrets(s) for s in statuses), [s for s in statuses if _secrets(s)][:1]


def test_proxy_auth_refused_407_backs_off(wsb):
    server = wsb.server()
    proxy = wsb.proxy("--require-auth", f"{PROXY_USER}:other-password")
    proxy_url = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{proxy.port}"
    daemon = wsb.daemon(session_conf("s", server.url, proxy=proxy_url))

    status = daemon.wait_state("s", "backoff", check=lambda s: s["reason"])

    wait_for(lambda: len(proxy.requests()) >= 2, 5 * SLOW, "the daemon to try the proxy again")
    assert all(r["status"] == 407 for r in proxy.requests()), proxy.requests()
    assert not server.connects()
    assert not _secrets(status["reason"]), status
    assert not _secrets(daemon.log_text())
