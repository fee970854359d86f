"""KNOWN FAILURES of the bad-input catalogue. This file is not named
test_*.py, so list-tests.py does not register it with Meson and `make
check` stays green while these cannot pass; run it by hand (HACKING.md,
"Bad-input catalogue"), and once a test passes, move it into a test_*.py
file. Each needs a fix in a file being refactored on another branch
(daemon/config.c, daemon/dbus-server.c), so they wait for those.

- A `headers` value has no size limit: CreateSession (D-Bus and the socket
  API), `wsbridgectl add --header` and configuration files all accept a
  header of a megabyte, which the daemon then sends in every upgrade
  request (servers refuse it, typically with 431). The url's path has a
  limit named at add time ("url: path of N bytes is longer than the 8192
  the connection can send"); `headers` needs the same in daemon/config.c
  (check_header), e.g. 8 KiB per header.
- A `headers` value may hold control characters other than CR and LF
  (e.g. 0x01, DEL), which go out in the upgrade request as they are
  (servers answer 400). An auth_command's output lines are already checked
  for them (daemon/auth.c, is_clean); daemon/config.c (wsb_header_check)
  needs the same rule.
- A configuration value that is not valid UTF-8 is echoed whole in the
  error: GLib's message ("Key file contains key "proxy" with value "..."
  which is not UTF-8") goes out as it is, so a proxy password or an
  auth_command argument lands in the log (daemon/config.c passes
  g_key_file_get_string's error on; it must name the key and the line only,
  as it does for headers).
- GetSession over D-Bus echoes the whole name it did not find: a 1 MiB name
  gets a 1 MiB error message. daemon/dbus-server.c (get_session) formats
  "no session named '%s'" itself; the hub's own lookup error cuts the name
  at 80 bytes (hub_lookup) and is the one to use."""

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
    r = daemon.ctl("add", "hdr2", "ws://127.0.0.1:9/", "--header", big)
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
