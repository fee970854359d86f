"""URLs go on the wire as the user wrote them (issue 25): the request line
and Host header a raw server records, byte for byte, percent-encoding kept;
the proxy's CONNECT names the same validated host; a URL that cannot go on
the wire as written, or an origin that is not a header value, is refused
when the session is added (config file, wsbridgectl, the socket API and
D-Bus), the reason naming the part and the position."""

import os
import subprocess

import pytest

from test_dbus import ERR, Client, bus, dbus_daemon, dbus_error, opts  # noqa: F401 (bus: fixture)
from wsbtest import DAEMON, SLOW, ApiClient, pb, session_conf, wait_for

HOSTS = ("127.0.0.1 feed.example.test UPPER.Example.Test a_b-c.example.test\n"
         "::1 v6.example.test\n")


def _table(port, port6):
    """(url, request line, Host) rows; the raw servers listen on 127.0.0.1:PORT and [::1]:PORT6."""
    h = f"127.0.0.1:{port}"
    rows = [
        (f"ws://{h}/", "/"),
        (f"ws://{h}", "/"),
        (f"ws://{h}?x=1", "/?x=1"),
        (f"ws://{h}?only=query&b=", "/?only=query&b="),
        (f"ws://{h}/a%0d%0aX-Injected:%20yes", "/a%0d%0aX-Injected:%20yes"),
        (f"ws://{h}/a%20HTTP/1.1%0d%0aHost:%20victim%0d%0a%0d%0aGET%20/second",
         "/a%20HTTP/1.1%0d%0aHost:%20victim%0d%0a%0d%0aGET%20/second"),
        (f"ws://{h}/?token=a%2Bb%3D%26admin%3Dtrue", "/?token=a%2Bb%3D%26admin%3Dtrue"),
        (f"ws://{h}/a%2Fb", "/a%2Fb"),
        (f"ws://{h}/%20", "/%20"),
        (f"ws://{h}/%25", "/%25"),
        (f"ws://{h}/%00nul", "/%00nul"),
        (f"ws://{h}/%zz%", "/%zz%"),
        (f"ws://{h}/caf%C3%A9", "/caf%C3%A9"),
        (f"ws://{h}/caf%c3%a9", "/caf%c3%a9"),
        (f"ws://{h}/%7Euser/%2e%2e/", "/%7Euser/%2e%2e/"),
        (f"ws://{h}/a+b", "/a+b"),
        (f"ws://{h}/p;q=1,2", "/p;q=1,2"),
        (f"ws://{h}/!$&'()*=@:~", "/!$&'()*=@:~"),
        (f"ws://{h}//double//slashes", "//double//slashes"),
        (f"ws://{h}/a/../b/./c", "/a/../b/./c"),
        (f"ws://{h}/?q?r=/s", "/?q?r=/s"),
        (f"ws://{h}/?a=1&a=2&b=", "/?a=1&a=2&b="),
        (f'ws://{h}/?json={{"k":[1,2]}}', '/?json={"k":[1,2]}'),
        (f"ws://{h}/a|b^c`d<e>", "/a|b^c`d<e>"),
        (f"ws://{h}/?x=%26%3D%2B%23", "/?x=%26%3D%2B%23"),
        (f"WS://{h}/Case/Kept", "/Case/Kept"),
    ]
    out = [(url, f"GET {target} HTTP/1.1", h) for url, target in rows]
    out += [
        (f"ws://127.0.0.1:0{port}/zero", "GET /zero HTTP/1.1", h),
        (f"ws://feed.example.test:{port}/n", "GET /n HTTP/1.1", f"feed.example.test:{port}"),
        (f"ws://UPPER.Example.Test:{port}/u", "GET /u HTTP/1.1", f"UPPER.Example.Test:{port}"),
        (f"ws://a_b-c.example.test:{port}/", "GET / HTTP/1.1", f"a_b-c.example.test:{port}"),
        (f"ws://[::1]:{port6}/v6?x=%20", "GET /v6?x=%20 HTTP/1.1", f"[::1]:{port6}"),
        (f"ws://[0:0:0:0:0:0:0:1]:{port6}/", "GET / HTTP/1.1", f"[0:0:0:0:0:0:0:1]:{port6}"),
        (f"ws://v6.example.test:{port6}/6", "GET /6 HTTP/1.1", f"v6.example.test:{port6}"),
    ]
    return out


def _seen(server):
    return sorted((r["line"], r["headers"].get("host")) for r in server.requests())


def _needs_root(why):
    """As wsbtest.needs_root (on main): skipped with "needs root: WHY", exit 77."""
    if os.geteuid() != 0:
        pytest.skip(f"needs root: {why}")


def test_urls_go_on_the_wire_as_written(wsb):
    _needs_root("a private /etc/hosts (mount namespace) for the host names")
    v4 = wsb.raw_server()
    v6 = wsb.raw_server(host="::1")
    table = _table(v4.port, v6.port)
    assert len(table) >= 30
    conf = "".join(session_conf(f"u{i}", url.replace("\\", "\\\\"), compression="false")
                   for i, (url, _, _) in enumerate(table))
    daemon = wsb.daemon(conf, hosts=HOSTS)
    for i in range(len(table)):
        daemon.wait_state(f"u{i}", "open")
    want = sorted((line, host) for _, line, host in table)
    wait_for(lambda: sorted(_seen(v4) + _seen(v6)) == want, 5 * SLOW,
             lambda: f"the requests {want}; got {sorted(_seen(v4) + _seen(v6))}")
    for r in v4.requests() + v6.requests():
        assert list(r["headers"]).count("host") == 1


def test_proxy_connect_names_the_validated_host(wsb):
    server = wsb.raw_server()
    proxy = wsb.proxy()
    url = f"ws://127.0.0.1:{server.port}/a%20b?c=%0d%0a"
    daemon = wsb.daemon(session_conf("p", url, proxy=proxy.url, compression="false"))
    daemon.wait_state("p", "open")
    connects = [r["line"] for r in proxy.requests()]
    assert connects == [f"CONNECT 127.0.0.1:{server.port} HTTP/1.1"], connects
    assert [r["line"] for r in server.requests()] == ["GET /a%20b?c=%0d%0a HTTP/1.1"]


BAD = [
    ("ws://h/a\r\nX-Injected: yes", "the URL's path has the control byte 0x0D at position 9"),
    ("ws://h/a b", "the URL's path has a space at position 9"),
    ("ws://h/caf\u00e9", "the URL's path has the non-ASCII byte 0xC3 at position 11"),
    ("ws://h/?q=\t", "the URL's query has the control byte 0x09 at position 11"),
    ("ws://h/#frag", "a WebSocket URL cannot have a #fragment (position 8)"),
    ("ws://h:0/", "the URL's port at position 8 is 0"),
    ("ws://evil%0d%0aX-Inj%3a%20y/", "the URL's host has '%' at position 10"),
    ("ws://h!x/", "the URL's host has '!' at position 7, which a host name cannot have"),
    ("ws://[fe80::1%25eth0]/", "IPv6 zone id (%25…) at position 14"),
]


def _key_file_escaped(text):
    """TEXT as a GKeyFile value: its escapes give back the raw bytes."""
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n") \
        .replace("\t", "\\t")


def _daemon_refuses_config(wsb, conf):
    """wsbridged with CONF must exit 2; its stderr."""
    other = wsb.daemon(start=False)
    other.write_config(conf)
    r = subprocess.run([str(DAEMON), "--config", str(other.config_dir), "--socket",
                        str(other.socket), "--bus", "none"], capture_output=True, text=True,
                       timeout=10 * SLOW, env=other.env, errors="replace")
    assert r.returncode == 2, (conf, r.returncode, r.stderr)
    return r.stderr


def test_bad_urls_are_refused_when_added(wsb, bus):
    daemon = dbus_daemon(wsb, bus)
    c = Client(bus)
    api = ApiClient(daemon.socket)
    api.hello()
    for i, (url, why) in enumerate(BAD):
        # Line breaks never reach the URL check over the APIs: the session
        # store refuses them first, with its own reason.
        api_why = "the URL may not contain line breaks" if "\r" in url else why
        r = daemon.ctl("add", f"c{i}", url)
        assert r.returncode == 1 and api_why in r.stderr, (url, r)
        reply = api.request(create_session=pb.CreateSessionRequest(name=f"a{i}", url=url))
        assert reply.WhichOneof("result") == "error" and api_why in reply.error.message, \
            (url, reply)
        name, text = dbus_error(c.manager, "CreateSession", f"d{i}", url, opts())
        assert name == ERR + "InvalidArgument" and api_why in text, (url, name, text)
        # A key file: the daemon does not start, naming the key and the reason.
        stderr = _daemon_refuses_config(wsb, session_conf("k", _key_file_escaped(url)))
        assert "[session k] url:" in stderr and why in stderr, (url, stderr)
    assert daemon.status() == {}


def test_origin_is_checked_as_a_header(wsb):
    server = wsb.raw_server()
    daemon = wsb.daemon(session_conf("o", server.url, origin="https://app.example:8443",
                                     compression="false"))
    daemon.wait_state("o", "open")
    assert server.requests()[0]["headers"]["origin"] == "https://app.example:8443"
    api = ApiClient(daemon.socket)
    api.hello()
    reply = api.request(create_session=pb.CreateSessionRequest(
        name="bad", url=server.url,
        options=[pb.SessionOption(key="origin", value="https://o\x01X")]))
    assert reply.WhichOneof("result") == "error", reply
    assert "the control byte 0x01 at position 10 cannot go into a header" in \
        reply.error.message, reply
    assert "bad" not in daemon.status()
    stderr = _daemon_refuses_config(wsb, session_conf("k", server.url,
                                                      origin="https://o\\r\\nX-Injected: yes"))
    assert "[session k] origin:" in stderr and \
        "the control byte 0x0D at position 10 cannot go into a header" in stderr, stderr
