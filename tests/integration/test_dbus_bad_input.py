"""Bad input on D-Bus: every method called with the wrong signature (wrong
types, missing or extra arguments), properties written or unknown, objects
and methods that do not exist, and huge arrays (a 24 MiB SendBinary,
100 000 CreateSession options, megabyte names and URLs; header limits and
echoes are in test_bad_input_limits.py). Each gets a named D-Bus
error with a message, and nobody else notices: a socket-API subscriber
gets every seq without a gap, another D-Bus caller is served, and the
daemon's D-Bus side still works afterwards."""

import time

import dbus
import pytest

from test_dbus import (ERR, MANAGER, MANAGER_PATH, PROPS, SESSION, Client, bus, dbus_daemon,
                       session_path)
from wsbtest import CPU_SLOW, SLOW, ApiClient, session_conf, wait_for

assert bus  # the fixture, imported for the tests below

INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"
MiB = 1 << 20


class Bystander:
    """A socket-API subscriber of "feed" reading in the background (polled)."""

    def __init__(self, daemon):
        self.api = ApiClient(daemon.socket)
        self.api.hello()
        self.api.subscribe_ok("feed")
        self.seqs, self.gaps = [], []

    def pump(self, timeout=0.05):
        while True:
            ev = self.api.next_event(timeout)
            if ev is None:
                return
            kind = ev.WhichOneof("event")
            if kind == "message":
                self.seqs.append(ev.message.seq)
            elif kind == "gap":
                self.gaps.append((ev.gap.from_seq, ev.gap.to_seq))
            timeout = 0

    def check(self, what):
        mark = len(self.seqs)
        wait_for(lambda: self.pump() or len(self.seqs) > mark + 5, 5 * SLOW,
                 f"the socket-API subscriber to keep receiving after {what}")
        assert not self.gaps, f"the subscriber saw gaps: {self.gaps}"
        assert self.seqs == list(range(self.seqs[0], self.seqs[0] + len(self.seqs))), (
            "the subscriber's seqs are not consecutive")


def _rig(wsb, bus):
    server = wsb.server("--send-interval", "0.02")
    daemon = dbus_daemon(wsb, bus, session_conf("feed", server.url)
                         + session_conf("quiet", "ws://127.0.0.1:9/", autoconnect="false"))
    daemon.wait_state("feed", "open")
    return server, daemon, Bystander(daemon), Client(bus)


def _named_error(what, call, *args, want=None, **kw):
    try:
        call(*args, **kw)
    except dbus.exceptions.DBusException as e:
        name, text = str(e.get_dbus_name()), str(e.get_dbus_message())
    else:
        raise AssertionError(f"{what}: the call succeeded")
    assert name.startswith(("org.freedesktop.DBus.Error.", ERR)), (what, name, text)
    if want:
        assert name == want, (what, name, text)
    assert text, f"{what}: {name} without a message"
    return name, text


def test_dbus_wrong_signatures_get_named_errors(wsb, bus):
    server, daemon, bystander, c = _rig(wsb, bus)
    s = c.obj(session_path("feed"))
    m = c.obj(MANAGER_PATH)

    def method(obj, iface, name):
        return obj.get_dbus_method(name, iface)

    wrong = [
        ("Send(i)", method(s, SESSION, "Send"), (dbus.Int32(1),)),
        ("Send()", method(s, SESSION, "Send"), ()),
        ("Send(s, s)", method(s, SESSION, "Send"), ("a", "b")),
        ("SendBinary(s)", method(s, SESSION, "SendBinary"), ("not bytes",)),
        ("SendBinary(ai)", method(s, SESSION, "SendBinary"),
         (dbus.Array([1, 2], signature="i"),)),
        ("Subscribe(s, s, s)", method(s, SESSION, "Subscribe"), ("*", "0", "0")),
        ("Subscribe(s)", method(s, SESSION, "Subscribe"), ("*",)),
        ("Subscribe(s, i, i)", method(s, SESSION, "Subscribe"),
         ("*", dbus.Int32(0), dbus.Int32(0))),
        ("Unsubscribe(u)", method(s, SESSION, "Unsubscribe"), (dbus.UInt32(1),)),
        ("Connect(s)", method(s, SESSION, "Connect"), ("now",)),
        ("Disconnect(b)", method(s, SESSION, "Disconnect"), (True,)),
        ("GetSession(as)", method(m, MANAGER, "GetSession"), (["feed"],)),
        ("ListSessions(s)", method(m, MANAGER, "ListSessions"), ("all",)),
        ("RemoveSession()", method(m, MANAGER, "RemoveSession"), ()),
        ("CreateSession(s, s)", method(m, MANAGER, "CreateSession"), ("x", "ws://h/")),
        ("CreateSession(s, s, as)", method(m, MANAGER, "CreateSession"),
         ("x", "ws://h/", dbus.Array(["ping_interval=5"], signature="s"))),
        ("CreateSession(s, s, a{ss})", method(m, MANAGER, "CreateSession"),
         ("x", "ws://h/", dbus.Dictionary({"ping_interval": "5"}, signature="ss"))),
    ]
    for what, call, args in wrong:
        _named_error(what, call, *args, want=INVALID_ARGS)
    # GDBus answers a Properties call of the wrong signature itself.
    _named_error("Get(s, i)", method(s, PROPS, "Get"), SESSION, dbus.Int32(1))
    bystander.check("calls with wrong signatures")

    # Option values of types a configuration file cannot hold: named.
    for value in (dbus.Struct((1, 2), signature="ii"), dbus.Array(["a"], signature="s"),
                  dbus.Double(1.5), dbus.Byte(3), dbus.ObjectPath("/x"),
                  dbus.Dictionary({"a": "b"}, signature="ss")):
        _, text = _named_error(f"ping_interval of type {value.__class__.__name__}",
                               c.manager, "CreateSession", "x", "ws://h/",
                               dbus.Dictionary({"ping_interval": value}, signature="sv"),
                               want=ERR + "InvalidArgument")
        assert "ping_interval" in text, text
    # Properties: read-only, unknown, of an unknown interface.
    _named_error("Set State", method(s, PROPS, "Set"), SESSION, "State", "open")
    _named_error("Get Nope", method(s, PROPS, "Get"), SESSION, "Nope")
    _named_error("GetAll of an unknown interface", method(s, PROPS, "GetAll"), "org.example.X")
    # Methods, interfaces and objects that do not exist.
    _named_error("an unknown method", method(s, SESSION, "Frobnicate"))
    _named_error("an unknown interface", method(s, "org.example.Nope", "Send"), "x")
    _named_error("an unknown session object", method(c.obj(session_path("ghost")), SESSION,
                                                     "Send"), "x")
    _named_error("an object outside the tree", method(c.obj("/io/github/WsBridge1/x/y"),
                                                      SESSION, "Send"), "x")
    bystander.check("calls of what does not exist")
    assert set(daemon.status()) == {"feed", "quiet"}, "a session appeared"
    # Still served, over D-Bus too.
    c.session("feed", "Send", "still here")
    wait_for(lambda: "still here" in server.received(), 5 * SLOW, "the send after the errors")


def test_dbus_huge_arrays_are_refused_quickly(wsb, bus):
    server, daemon, bystander, c = _rig(wsb, bus)
    slow = {"timeout": 30 * CPU_SLOW}  # dbus-python's default, 25 s, is short under valgrind
    cases = [
        ("a 24 MiB SendBinary", lambda: c.session("feed", "SendBinary",
                                                  dbus.ByteArray(b"\xab" * (24 * MiB)), **slow)),
        ("a 24 MiB Send", lambda: c.session("feed", "Send", "t" * (24 * MiB), **slow)),
        ("100 000 CreateSession options", lambda: c.manager(
            "CreateSession", "many", "ws://127.0.0.1:9/",
            dbus.Dictionary({f"opt{i}": "1" for i in range(100000)}, signature="sv"), **slow)),
        ("a 1 MiB session name to create", lambda: c.manager(
            "CreateSession", "n" * MiB, "ws://127.0.0.1:9/", dbus.Dictionary({}, signature="sv"),
            **slow)),
        ("a 1 MiB url", lambda: c.manager(
            "CreateSession", "longurl", "ws://h/" + "u" * MiB,
            dbus.Dictionary({}, signature="sv"), **slow)),
    ]
    for what, call in cases:
        start = time.monotonic()
        name, text = _named_error(what, call, want=None)
        took = time.monotonic() - start
        assert name.startswith(ERR), (what, name, text)
        assert len(text) < 4096, f"{what}: a {len(text)}-byte error message"
        assert took < 15 * CPU_SLOW, f"{what}: the error took {took:.1f} s"
        bystander.check(what)
    # Subscribing to a 1 MiB channel name works or is refused, never breaks anything.
    try:
        c.session("feed", "Subscribe", "c" * MiB, dbus.UInt64(0), dbus.UInt64(0))
    except dbus.exceptions.DBusException as e:
        assert str(e.get_dbus_name()).startswith(ERR), e
    bystander.check("a 1 MiB channel name")
    assert set(daemon.status()) == {"feed", "quiet"}, "a session appeared"
    assert not [m for m in server.received() if len(m) > MiB], "a huge send went out"
    c.session("feed", "Send", "still here")
    wait_for(lambda: "still here" in server.received(), 5 * SLOW, "the send after the errors")


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
