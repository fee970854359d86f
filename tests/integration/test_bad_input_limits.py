"""Limits on what a session's settings may hold, and errors that never echo
what they refuse: a header of a megabyte or with control characters is
refused everywhere (CreateSession on D-Bus and the socket API, `wsbridgectl
add --header`, configuration files); a configuration value that is not
UTF-8 is named by its key, never quoted (it may be a proxy password or an
auth_command argument); D-Bus GetSession of an unknown name quotes at most
80 bytes of it."""

import dbus

from test_dbus import ERR, Client, bus, dbus_daemon
from wsbtest import session_conf

assert bus  # the fixture

MiB = 1 << 20


def _error(call, *args):
    try:
        call(*args)
    except dbus.exceptions.DBusException as e:
        return str(e.get_dbus_name()), str(e.get_dbus_message())
    raise AssertionError(f"the call succeeded with {sum(len(str(a)) for a in args)} bytes")


def test_a_megabyte_header_is_refused_everywhere(wsb, bus):
    daemon = dbus_daemon(wsb, bus, session_conf("quiet", "ws://127.0.0.1:9/",
                                                autoconnect="false"))
    big = "X-Big: " + "h" * MiB
    name, text = _error(Client(bus).manager, "CreateSession", "hdr", "ws://127.0.0.1:9/",
                        dbus.Dictionary({"headers": big}, signature="sv"))
    assert name == ERR + "InvalidArgument" and "headers" in text, (name, text[:200])
    # (A command line argument may hold at most 128 KiB.)
    r = daemon.ctl("add", "hdr2", "ws://127.0.0.1:9/", "--header", big[:100_000])
    assert r.returncode == 1 and "headers" in r.stderr, (r.returncode, r.stderr[:200])
    bad = wsb.daemon(session_conf("hdr3", "ws://127.0.0.1:9/", headers=big), wait=False)
    assert bad.wait_exit() == 2 and "headers" in bad.log()[:2000]
    assert set(daemon.status()) == {"quiet"}


def test_a_header_with_a_control_character_is_refused(wsb):
    daemon = wsb.daemon("")
    for value in ("X-Key: a\x01b", "X-Key: a\x7fb", "X-Key: a\x1bb"):
        r = daemon.ctl("add", "ctl", "ws://127.0.0.1:9/", "--header", value)
        assert r.returncode == 1 and "headers" in r.stderr, (value, r.returncode, r.stderr)
    assert daemon.status() == {}


def test_a_config_value_that_is_not_utf8_is_not_echoed(wsb):
    for key, value in (("proxy", b"http://user:TOPSECRET\xff@127.0.0.1:3128"),
                       ("auth_command", b"/bin/echo --password TOPSECRET\xff")):
        daemon = wsb.daemon(start=False)
        (daemon.config_dir / "sessions.d").mkdir()
        (daemon.config_dir / "sessions.d" / "a.conf").write_bytes(
            b"[session]\nurl=ws://127.0.0.1:9/\n" + key.encode() + b"=" + value + b"\n")
        daemon.start("", wait=False)
        assert daemon.wait_exit() == 2
        assert key in daemon.log() and "TOPSECRET" not in daemon.log_text(), daemon.log()


def test_dbus_get_session_error_does_not_echo_a_megabyte_name(wsb, bus):
    dbus_daemon(wsb, bus)
    name, text = _error(Client(bus).manager, "GetSession", "n" * MiB)
    assert name == ERR + "NotFound", name
    assert len(text) < 4096, f"a {len(text)}-byte error message"
