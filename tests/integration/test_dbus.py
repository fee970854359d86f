"""The D-Bus frontend (DESIGN §4) on a private session bus: the manager and
session objects, their signals and properties, unicast message signals and
the subscriptions they share with the socket API, named errors."""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time

import dbus
import dbus.mainloop.glib
import pytest
from gi.repository import GLib

import wsbtest
from wsbtest import SLOW, session_conf, wait_for
from wsbtest.bus import SYSTEM_LIKE_POLICY

BUS_NAME = "io.github.WsBridge1"
MANAGER_PATH = "/io/github/WsBridge1"
MANAGER = "io.github.WsBridge1.Manager"
SESSION = "io.github.WsBridge1.Session"
PROPS = "org.freedesktop.DBus.Properties"
ERR = "io.github.WsBridge1.Error."

SUB = '{{"op":"subscribe","channel":"{}"}}'
UNSUB = '{{"op":"unsubscribe","channel":"{}"}}'

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)


def pump():
    ctx = GLib.MainContext.default()
    while ctx.pending():
        ctx.iteration(False)


def wait_until(predicate, timeout=5.0 * SLOW, what="a condition"):
    """wait_for, dispatching D-Bus signals while it polls."""
    def check():
        pump()
        return predicate()
    return wait_for(check, timeout, what, interval=0.01)


def session_path(name):
    return "/io/github/WsBridge1/session/" + "".join(
        c if c.isalnum() else f"_{ord(c):02x}" for c in name)


class Client:
    """One connection to the bus, recording every signal it receives
    (broadcast ones and those sent to it alone)."""

    def __init__(self, bus):
        self.conn = dbus.bus.BusConnection(bus.address)
        self.signals = []
        self.conn.add_signal_receiver(self._record, path_keyword="path", byte_arrays=True,
                                      member_keyword="member", interface_keyword="iface")

    def _record(self, *args, path=None, member=None, iface=None):
        self.signals.append((iface, member, str(path), [_plain(a) for a in args]))

    def obj(self, path):
        return self.conn.get_object(BUS_NAME, path, introspect=False)

    def manager(self, method, *args, **kw):
        return self.obj(MANAGER_PATH).get_dbus_method(method, MANAGER)(*args, **kw)

    def session(self, name, method, *args, **kw):
        return self.obj(session_path(name)).get_dbus_method(method, SESSION)(*args, **kw)

    def prop(self, name, prop):
        return _plain(self.obj(session_path(name)).Get(SESSION, prop, dbus_interface=PROPS))

    def got(self, member, iface=None):
        """The signals received named member (None: all) of iface (None: any)."""
        pump()
        return [s for s in self.signals
                if member in (None, s[1]) and (iface is None or s[0] == iface)]

    def messages(self):
        """(channel, seq, text) of every text message received, in Message
        signals or in batched Messages signals."""
        out = []
        for _, member, _, a in self.got(None, SESSION):
            if member == "Message":
                out.append((a[0], a[1], a[3]))
            elif member == "Messages":
                out += [(a[0], seq, data.decode()) for seq, _, binary, data in a[1] if not binary]
        return out

    def close(self):
        self.conn.close()


def _plain(v):
    if isinstance(v, (dbus.ByteArray, dbus.Array)) and getattr(v, "signature", "y") == "y":
        return bytes(v)
    if isinstance(v, (dbus.Array, dbus.Struct, list)):
        return [_plain(x) for x in v]
    if isinstance(v, dbus.Dictionary):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.String, dbus.ObjectPath)):
        return str(v)
    if isinstance(v, (dbus.Int16, dbus.Int32, dbus.Int64, dbus.UInt16, dbus.UInt32,
                      dbus.UInt64, dbus.Byte)):
        return int(v)
    return v


def opts(d=None, **kw):
    """CreateSession options (a{sv})."""
    return dbus.Dictionary({**(d or {}), **kw}, signature="sv")


def dbus_error(call, *args, **kw):
    """The D-Bus error name and text that CALL(*ARGS) fails with."""
    try:
        call(*args, **kw)
    except dbus.exceptions.DBusException as e:
        return str(e.get_dbus_name()), str(e.get_dbus_message())
    raise AssertionError(f"the call succeeded: {args}")


@pytest.fixture
def bus(wsb):
    """A private session bus; the harness stops it after the daemons."""
    b = wsbtest.SessionBus(wsb.tmp / "session-bus", wsb.rundir)
    wsb.buses.append(b)
    return b.start()


def dbus_daemon(wsb, bus, config="", **kw):
    """wsbridged serving BUS as its session bus, once it owns its name."""
    daemon = wsb.daemon(config, start=False, env=bus.env(), **kw)
    daemon.args = ["--bus", "session"]
    daemon.start(config)
    conn = bus.connection()
    wait_until(lambda: conn.name_has_owner(BUS_NAME), START, f"wsbridged to own {BUS_NAME}")
    return daemon


START = 10.0 * SLOW


def test_dbus_introspection(wsb, bus):
    daemon = dbus_daemon(wsb, bus, session_conf("feed.a-b_c", "ws://127.0.0.1:9/",
                                                autoconnect="false"))
    c = Client(bus)
    xml = c.obj(MANAGER_PATH).Introspect(dbus_interface="org.freedesktop.DBus.Introspectable")
    assert f'<interface name="{MANAGER}">' in xml
    assert '<method name="CreateSession">' in xml
    assert '<node name="session"/>' in xml
    path = session_path("feed.a-b_c")
    assert path == "/io/github/WsBridge1/session/feed_2ea_2db_5fc"
    xml = c.obj(path).Introspect(dbus_interface="org.freedesktop.DBus.Introspectable")
    assert f'<interface name="{SESSION}">' in xml
    for member in ('<signal name="Message">', '<signal name="Gap">',
                   '<property type="x" name="NextRetryUsec" access="read"/>'):
        assert member in xml
    props = _plain(c.obj(path).GetAll(SESSION, dbus_interface=PROPS))
    assert props["Name"] == "feed.a-b_c"
    assert props["Url"] == "ws://127.0.0.1:9/"
    assert props["State"] == "disconnected"
    assert props["Epoch"] == daemon.status()["feed.a-b_c"]["epoch"]
    assert set(props) == {"Name", "Url", "State", "StateReason", "Epoch", "LastSeq",
                          "Reconnects", "RxMessages", "TxMessages", "QueuedMessages",
                          "RoundTripUsec", "NextRetryUsec"}


def test_dbus_manager_sessions_and_signals(wsb, bus):
    daemon = dbus_daemon(wsb, bus, session_conf("conf", "ws://127.0.0.1:9/",
                                                autoconnect="false"))
    c = Client(bus)
    assert c.manager("ListSessions") == [session_path("conf")]
    assert c.manager("GetSession", "conf") == session_path("conf")

    path = c.manager("CreateSession", "made.here", "ws://127.0.0.1:9/x",
                     opts(autoconnect="false", queue_max_messages=dbus.UInt32(5),
                          compression=dbus.Boolean(False)))
    assert path == session_path("made.here")
    wait_until(lambda: c.got("SessionAdded"), what="SessionAdded")
    assert c.got("SessionAdded")[0][2:] == (MANAGER_PATH, ["made.here", path])
    assert daemon.status()["made.here"]["url"] == "ws://127.0.0.1:9/x"
    assert c.prop("made.here", "State") == "disconnected"
    assert sorted(c.manager("ListSessions")) == sorted([session_path("conf"), path])

    # persist writes the session to sessions.d.
    c.manager("CreateSession", "kept", "ws://127.0.0.1:9/", opts(persist=True,
                                                                 autoconnect="false"))
    assert (daemon.config_dir / "sessions.d" / "kept.conf").exists()
    c.manager("RemoveSession", "kept")
    assert not (daemon.config_dir / "sessions.d" / "kept.conf").exists()

    c.manager("RemoveSession", "made.here")
    wait_until(lambda: [s for s in c.got("SessionRemoved") if s[3][0] == "made.here"],
               what="SessionRemoved of made.here")
    assert "made.here" not in daemon.status()
    # A path with no session answers as one the caller may not use would.
    name, text = dbus_error(c.session, "made.here", "Connect")
    assert name == "io.github.WsBridge1.Error.NotFound"
    assert text == "no session named 'made.here'"

    # Sessions made and removed over the socket API or by a reload.
    daemon.ctl_ok("add", "by-socket", "ws://127.0.0.1:9/")
    # The signal comes by itself (the hub tells the frontend), not at the
    # next D-Bus call.
    wait_until(lambda: [s for s in c.got("SessionAdded") if s[3][0] == "by-socket"],
               what="SessionAdded of by-socket")
    assert session_path("by-socket") in c.manager("ListSessions")
    daemon.ctl_ok("remove", "by-socket")
    wait_until(lambda: [s for s in c.got("SessionRemoved") if s[3][0] == "by-socket"],
               what="SessionRemoved of by-socket")
    daemon.reload("")
    wait_until(lambda: [s for s in c.got("SessionRemoved") if s[3][0] == "conf"],
               what="SessionRemoved of conf after the reload")
    assert c.manager("ListSessions") == []

    # Errors: named, and the daemon goes on serving.
    assert dbus_error(c.manager, "GetSession", "nope")[0] == ERR + "NotFound"
    assert dbus_error(c.manager, "RemoveSession", "nope")[0] == ERR + "NotFound"
    assert dbus_error(c.manager, "CreateSession", "Bad Name", "ws://x/", opts())[0] == \
        ERR + "InvalidArgument"
    assert dbus_error(c.manager, "CreateSession", "ok", "http://x/", opts())[0] == \
        ERR + "InvalidArgument"
    assert dbus_error(c.manager, "CreateSession", "ok", "ws://x/", opts(no_such_key="1"))[0] == \
        ERR + "InvalidArgument"
    assert dbus_error(c.manager, "CreateSession", "ok", "ws://x/", opts(persist="yes"))[0] == \
        ERR + "InvalidArgument"
    assert dbus_error(c.manager, "CreateSession", "ok", "ws://x/",
                      opts(headers=dbus.Dictionary({"a": "b"}, signature="ss")))[0] == \
        ERR + "InvalidArgument"
    c.manager("CreateSession", "twice", "ws://127.0.0.1:9/", opts(autoconnect="false"))
    assert dbus_error(c.manager, "CreateSession", "twice", "ws://127.0.0.1:9/", opts())[0] == \
        ERR + "AlreadyExists"
    # Wrong argument types are refused by GDBus against the XML.
    assert dbus_error(c.manager, "GetSession", dbus.Int32(4))[0] == \
        "org.freedesktop.DBus.Error.InvalidArgs"
    assert dbus_error(c.manager, "CreateSession", "x", "ws://x/")[0] == \
        "org.freedesktop.DBus.Error.InvalidArgs"
    assert c.manager("ListSessions") == [session_path("twice")]


def _changed(c, name, prop):
    """Values of PROP in the PropertiesChanged signals of session NAME so far."""
    return [a[1][prop] for iface, m, p, a in c.got("PropertiesChanged", PROPS)
            if p == session_path(name) and prop in a[1]]


def test_dbus_properties_follow_the_session(wsb, bus):
    server = wsb.server()
    daemon = dbus_daemon(wsb, bus, session_conf("live", server.url, autoconnect="false"))
    c = Client(bus)
    assert c.prop("live", "State") == "disconnected"
    c.session("live", "Connect")
    wait_until(lambda: "open" in _changed(c, "live", "State"), what="State open")
    assert c.prop("live", "State") == "open"

    server.inject(*[f"m{i}" for i in range(5)])
    wait_until(lambda: 5 in _changed(c, "live", "RxMessages"), what="RxMessages 5")
    assert c.prop("live", "LastSeq") == 5
    # Counters are coalesced: five messages do not make five signals.
    assert len(_changed(c, "live", "RxMessages")) < 5

    server.kill()
    wait_until(lambda: {"backoff", "connecting"} & set(_changed(c, "live", "State")),
               what="State to leave open")
    wait_until(lambda: [v for v in _changed(c, "live", "NextRetryUsec") if v > 0],
               what="NextRetryUsec set in backoff")
    server.restart()
    wait_until(lambda: _changed(c, "live", "State")[-1] == "open", 10 * SLOW,
               what="State open again")
    assert c.prop("live", "Reconnects") >= 1

    c.session("live", "Disconnect")
    wait_until(lambda: _changed(c, "live", "State")[-1] == "disconnected",
               what="State disconnected")
    assert daemon.status()["live"]["state"] == "disconnected"


def _managed(name, url, **keys):
    return session_conf(name, url, channel_key="/channel",
                        subscribe_template=SUB.format("{channel}"),
                        unsubscribe_template=UNSUB.format("{channel}"), **keys)


def test_dbus_subscriptions_are_unicast_and_end_with_the_caller(wsb, bus):
    server = wsb.server()
    daemon = dbus_daemon(wsb, bus, _managed("mkt", server.url))
    daemon.wait_state("mkt", "open")
    a, b, third = Client(bus), Client(bus), Client(bus)
    a.session("mkt", "Subscribe", "btc", dbus.UInt64(0), dbus.UInt64(0))
    b.session("mkt", "Subscribe", "eth", dbus.UInt64(0), dbus.UInt64(0))
    wait_for(lambda: {SUB.format("btc"), SUB.format("eth")} <= set(server.received()),
             5 * SLOW, "subscribe frames for btc and eth")

    # A socket API subscriber of btc shares the upstream subscription.
    api = wsbtest.ApiClient(daemon.socket)
    api.hello()
    api.subscribe_ok("mkt", "btc")

    server.inject(*[json.dumps({"channel": ch, "n": i})
                    for i, ch in enumerate(["btc", "eth", "btc", "other", "eth"])])
    wait_until(lambda: len(a.messages()) == 2 and len(b.messages()) == 2,
               what="two messages each for a and b")
    assert [(ch, json.loads(t)["n"]) for ch, _, t in a.messages()] == [("btc", 0), ("btc", 2)]
    assert [(ch, json.loads(t)["n"]) for ch, _, t in b.messages()] == [("eth", 1), ("eth", 4)]
    assert [seq for _, seq, _ in a.messages()] == [1, 3]
    time.sleep(0.2 * SLOW)  # let anything that should not come, come
    assert a.messages() == a.messages()[:2] and len(b.messages()) == 2
    assert third.got("Message") == [] and third.got("BinaryMessage") == []

    # A caller subscribes to a channel once; Unsubscribe knows what it has.
    name, _ = dbus_error(a.session, "mkt", "Subscribe", "btc", dbus.UInt64(0), dbus.UInt64(0))
    assert name == ERR + "AlreadyExists"
    assert dbus_error(a.session, "mkt", "Unsubscribe", "eth")[0] == ERR + "NotFound"
    for bad in ("", "a\x01b", "x" * 300):
        assert dbus_error(a.session, "mkt", "Subscribe", bad, dbus.UInt64(0),
                          dbus.UInt64(0))[0] == ERR + "InvalidArgument", repr(bad)
    assert dbus_error(a.session, "mkt", "Subscribe", "btc", "0", "0")[0] == \
        "org.freedesktop.DBus.Error.InvalidArgs"

    # b leaves the bus: its eth subscription ends, and eth's upstream one.
    b.close()
    wait_for(lambda: UNSUB.format("eth") in server.received(), 5 * SLOW,
             "the unsubscribe frame of eth after its subscriber left the bus")
    # a leaves btc, but the socket API subscriber keeps it upstream.
    a.session("mkt", "Unsubscribe", "btc")
    api.close()
    wait_for(lambda: UNSUB.format("btc") in server.received(), 5 * SLOW,
             "the unsubscribe frame of btc once its last subscriber left")
    frames = [f for f in server.received() if '"op"' in f]
    assert frames.index(UNSUB.format("btc")) > frames.index(UNSUB.format("eth"))
    assert third.manager("ListSessions") == [session_path("mkt")]


def history_of_four(wsb, bus):
    """Session h with a history of 2, after messages one, two, b"\\x00\\x01bin"
    and four: (its upstream, a client, the epoch)."""
    server = wsb.server()
    daemon = dbus_daemon(wsb, bus, session_conf("h", server.url, history_messages=2))
    daemon.wait_state("h", "open")
    c = Client(bus)
    epoch = c.prop("h", "Epoch")
    server.inject("one", "two", b"\x00\x01bin", "four")
    wait_until(lambda: c.prop("h", "LastSeq") == 4, what="four messages")
    return server, c, epoch


def test_dbus_catch_up_and_binary(wsb, bus):
    server, c, epoch = history_of_four(wsb, bus)
    c.session("h", "Subscribe", "*", dbus.UInt64(1), dbus.UInt64(epoch))
    wait_until(lambda: c.got("BinaryMessage") and c.messages(), what="the catch-up")
    assert [a[1:] for *_, a in c.got("Gap")] == [[2, 2]]
    assert [a[1] for *_, a in c.got("BinaryMessage")] == [3]
    assert c.got("BinaryMessage")[0][3][3] == b"\x00\x01bin"
    assert c.messages() == [("*", 4, "four")]
    server.inject("five")
    wait_until(lambda: len(c.messages()) == 2, what="a live message after the catch-up")
    assert c.messages()[-1] == ("*", 5, "five")

    # since_seq 0 with the epoch replays all the history holds, as over the socket API.
    late = Client(bus)
    late.session("h", "Subscribe", "*", dbus.UInt64(0), dbus.UInt64(epoch))
    wait_until(lambda: len(late.messages()) == 2, what="the late joiner's replay")
    assert [a[1:] for *_, a in late.got("Gap")] == [[1, 3]]
    assert late.messages() == [("*", 4, "four"), ("*", 5, "five")]


def test_dbus_send_and_queue_full(wsb, bus):
    server = wsb.server()
    daemon = dbus_daemon(wsb, bus, session_conf("out", server.url) +
                         session_conf("full", server.url, autoconnect="false",
                                      queue_max_messages=2))
    daemon.wait_state("out", "open")
    c = Client(bus)
    first = c.session("out", "Send", "hello")
    second = c.session("out", "SendBinary", dbus.ByteArray(b"\x00\xffdata"))
    assert second > first
    wait_for(lambda: server.received() == ["hello", b"\x00\xffdata"], 5 * SLOW,
             "the server to receive both sends")
    wait_until(lambda: 2 in _changed(c, "out", "TxMessages"), what="TxMessages 2")

    c.session("full", "Send", "a")
    c.session("full", "Send", "b")
    name, text = dbus_error(c.session, "full", "Send", "c")
    assert name == ERR + "QueueFull", text
    assert dbus_error(c.session, "full", "SendBinary", dbus.ByteArray(b"x"))[0] == \
        ERR + "QueueFull"
    assert c.prop("full", "QueuedMessages") == 2
    assert dbus_error(c.session, "full", "Send", dbus.Int32(1))[0] == \
        "org.freedesktop.DBus.Error.InvalidArgs"
    assert c.session("out", "Send", "still serving") > second


def test_dbus_without_a_bus_keeps_the_socket_api(wsb, bus):
    daemon = wsb.daemon(session_conf("s", "ws://127.0.0.1:9/", autoconnect="false"),
                        start=False,
                        env={"DBUS_SESSION_BUS_ADDRESS": f"unix:path={wsb.rundir}/no-bus"})
    daemon.args = ["--bus", "session"]
    daemon.start(session_conf("s", "ws://127.0.0.1:9/", autoconnect="false"))
    daemon.wait_log(r"cannot connect to the D-Bus session bus")
    assert "s" in daemon.status()

    # A second daemon on a bus whose name is taken serves its socket anyway.
    dbus_daemon(wsb, bus)
    other = wsb.daemon("", start=False, env=bus.env())
    other.args = ["--bus", "session"]
    other.start("")
    other.wait_log(r"cannot own the D-Bus name io\.github\.WsBridge1")
    assert other.status() == {}


def test_dbus_bus_option_is_checked(wsb):
    daemon = wsb.daemon("", start=False)
    daemon.args = ["--bus", "bogus"]
    daemon.start("", wait=False)
    assert daemon.wait_exit() == 2
    assert "--bus must be session, system or none" in daemon.log()


def test_dbus_on_the_system_bus_checks_callers(wsb, system_bus):
    """--bus system: each call is checked with the caller's uid, asked of
    the bus (the tests run as root, whom every rule admits)."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("sys", server.url), start=False, env=system_bus.env())
    daemon.args = ["--bus", "system"]
    daemon.start(session_conf("sys", server.url))
    conn = system_bus.connection()
    wait_until(lambda: conn.name_has_owner(BUS_NAME), START, f"wsbridged to own {BUS_NAME}")
    daemon.wait_state("sys", "open")
    c = Client(system_bus)
    assert c.manager("ListSessions") == [session_path("sys")]
    assert c.prop("sys", "State") == "open"
    c.session("sys", "Subscribe", "*", dbus.UInt64(0), dbus.UInt64(0))
    c.session("sys", "Send", "over the system bus")
    wait_for(lambda: "over the system bus" in server.received(), 5 * SLOW, "the send")
    server.inject("back")
    wait_until(lambda: c.messages() == [("*", 1, "back")], what="the message")


def test_dbus_replace_takes_the_name_and_the_socket(wsb, bus):
    """--replace: the running instance loses the name, gives up its socket
    and exits 0 as on SIGTERM; the new one serves both."""
    server = wsb.server()
    first = dbus_daemon(wsb, bus, session_conf("old", server.url))
    first.wait_state("old", "open")
    api = wsbtest.ApiClient(first.socket)  # a client of the old one, for its last moments
    api.hello()
    conn = bus.connection()
    old_owner = conn.get_name_owner(BUS_NAME)

    second = wsb.daemon(start=False, env=bus.env())
    second.socket = first.socket  # the same instance, started again
    second.args = ["--bus", "session", "--replace"]
    second.start(session_conf("new", "ws://127.0.0.1:9/", autoconnect="false"), wait=False)
    assert first.wait_exit() == 0
    first.wait_log(r"took over the D-Bus name io\.github\.WsBridge1")
    assert 1001 in server.close_codes()
    second.wait_ready()
    assert second.status().keys() == {"new"}
    wait_until(lambda: conn.get_name_owner(BUS_NAME) != old_owner, START,
               "the name to pass to the new instance")
    c = Client(bus)
    assert c.manager("ListSessions") == [session_path("new")]
    assert second.proc.poll() is None
    second.wait_log(r"serving D-Bus name io\.github\.WsBridge1")


def test_dbus_replace_without_a_running_instance(wsb, bus):
    """--replace with nothing to replace is a plain start."""
    daemon = wsb.daemon(start=False, env=bus.env())
    daemon.args = ["--bus", "session", "--replace"]
    daemon.start(session_conf("only", "ws://127.0.0.1:9/", autoconnect="false"))
    conn = bus.connection()
    wait_until(lambda: conn.name_has_owner(BUS_NAME), START, f"wsbridged to own {BUS_NAME}")
    assert Client(bus).manager("ListSessions") == [session_path("only")]


def _proc_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # An exited child of dbus-daemon not yet reaped is gone too.
    return pathlib.Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"


def test_dbus_activation_starts_the_daemon(wsb):
    """The installed session activation file, pointed at the build tree's
    daemon: the first call to the name starts wsbridged, which answers it."""
    daemon = wsb.daemon(start=False)
    daemon.write_config(session_conf("act", "ws://127.0.0.1:9/", autoconnect="false"))
    installed = (wsbtest.BUILD_ROOT / "dbus" / "io.github.WsBridge1.service").read_text()
    assert "\nName=io.github.WsBridge1\n" in installed
    assert "\nSystemdService=wsbridge.service\n" in installed
    command = [*wsbtest.WRAPPER, str(wsbtest.DAEMON), "--config", str(daemon.config_dir),
               "--socket", str(daemon.socket), "--bus", "session", "-v"]
    if wsbtest.WRAPPER:
        command[0] = shutil.which(command[0])
    services = wsb.tmp / "services"
    services.mkdir()
    (services / "io.github.WsBridge1.service").write_text("".join(
        f"Exec={' '.join(command)}\n" if line.startswith("Exec=") else line
        for line in installed.splitlines(keepends=True)))
    bus = wsbtest.SessionBus(
        wsb.tmp / "session-bus", wsb.rundir,
        body=wsbtest.ALLOW_ALL_POLICY + f"\n  <servicedir>{services}</servicedir>",
        env=daemon.env)
    wsb.buses.append(bus)
    bus.start()
    conn = bus.connection()
    assert not conn.name_has_owner(BUS_NAME)
    assert BUS_NAME in conn.list_activatable_names()

    # python-dbus asks the bus to start the service (auto-start) for the call.
    assert Client(bus).manager("ListSessions") == [session_path("act")]
    pid = int(conn.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus")
              .GetConnectionUnixProcessID(BUS_NAME, dbus_interface="org.freedesktop.DBus"))
    # The process the bus started runs our Exec= line (under valgrind the
    # wrapper script has become valgrind.bin, so compare from the daemon on).
    cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    daemon_args = [c.encode() for c in command[len(wsbtest.WRAPPER):]]
    start = cmdline.index(daemon_args[0])
    assert cmdline[start:start + len(daemon_args)] == daemon_args, cmdline
    # The one it started serves the socket too (made before it took the name).
    assert daemon.status().keys() == {"act"}

    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: _proc_gone(pid), wsbtest.EXIT_TIMEOUT, "the activated wsbridged to exit")
    log = bus.log_path.read_text(errors="replace")
    assert "stopped" in log
    assert not [line for line in log.splitlines() if wsbtest.BAD_LOG_LINE.search(line)]


# Run as nobody: call the daemon on the bus at argv[1]; print what happened.
NOBODY_CLIENT = textwrap.dedent("""\
    import json, sys
    import dbus
    import dbus.mainloop.glib
    from gi.repository import GLib
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    conn = dbus.bus.BusConnection(sys.argv[1])
    out = {}
    def attempt(key, call):
        try:
            out[key] = call()
        except dbus.exceptions.DBusException as e:
            out[key] = "error " + e.get_dbus_name()
    mgr = conn.get_object("io.github.WsBridge1", "/io/github/WsBridge1", introspect=False)
    attempt("list", lambda: [str(p) for p in mgr.ListSessions(
        dbus_interface="io.github.WsBridge1.Manager")])
    path = out["list"][0] if isinstance(out["list"], list) and out["list"] else "/"
    obj = conn.get_object("io.github.WsBridge1", path, introspect=False)
    attempt("introspect", lambda: "<node" in obj.Introspect(
        dbus_interface="org.freedesktop.DBus.Introspectable"))
    attempt("state", lambda: str(obj.Get("io.github.WsBridge1.Session", "State",
                                         dbus_interface="org.freedesktop.DBus.Properties")))
    got = []
    conn.add_signal_receiver(lambda *a: got.append(str(a[3])), "Message",
                             "io.github.WsBridge1.Session")
    attempt("subscribe", lambda: obj.Subscribe("*", dbus.UInt64(0), dbus.UInt64(0),
                                               dbus_interface="io.github.WsBridge1.Session"))
    attempt("send", lambda: int(obj.Send("from nobody",
                                         dbus_interface="io.github.WsBridge1.Session")))
    # A session it creates (create_allow_groups lets it) is its to use.
    attempt("create", lambda: str(mgr.CreateSession(
        "made", "ws://127.0.0.1:9/", dbus.Dictionary({"autoconnect": "false"}, signature="sv"),
        dbus_interface="io.github.WsBridge1.Manager")))
    made = conn.get_object("io.github.WsBridge1", out["create"], introspect=False) \
        if out["create"].startswith("/") else obj
    attempt("made_send", lambda: int(made.Send("queued",
                                               dbus_interface="io.github.WsBridge1.Session")))
    attempt("made_remove", lambda: mgr.RemoveSession(
        "made", dbus_interface="io.github.WsBridge1.Manager"))
    loop = GLib.MainLoop()
    GLib.timeout_add(200, lambda: (loop.quit() if got else True))
    GLib.timeout_add(float(sys.argv[2]) * 1000, loop.quit)
    loop.run()
    out["messages"] = got
    attempt("own", lambda: int(conn.request_name("io.github.WsBridge1",
                                                 dbus.bus.NAME_FLAG_DO_NOT_QUEUE)))
    print(json.dumps(out))
    """)


def test_dbus_system_policy_lets_anyone_call(wsb):
    """dbus/io.github.WsBridge1.conf on a bus with a real system bus's default
    policy: root owns the name; nobody (uid 65534) may call the interfaces
    and receive Message signals, but not own the name; a session it creates
    it may use and remove."""
    wsbtest.needs_root("runs a D-Bus client as another uid (nobody)")
    server = wsb.server("--send-interval", "0.1")
    policy = pathlib.Path(os.environ["WSB_SOURCE_ROOT"]) / "dbus" / "io.github.WsBridge1.conf"
    # nobody must reach the bus socket: a world-searchable directory.
    public = pathlib.Path(tempfile.mkdtemp(prefix="wsb-pub-"))
    try:
        public.chmod(0o755)
        bus = wsbtest.SystemBus(wsb.tmp / "system-bus", public,
                                body=SYSTEM_LIKE_POLICY.format(policy=policy))
        wsb.buses.append(bus)
        bus.start()
        bus.sockdir.chmod(0o755)
        conf = "[daemon]\ncreate_allow_groups=65534\n\n" + session_conf(
            "pub", server.url, allow_users="65534")
        daemon = wsb.daemon(start=False, env=bus.env(STATE_DIRECTORY=wsb.tmp / "state"))
        daemon.args = ["--system", "--bus", "system"]
        daemon.start(conf)
        conn = bus.connection()
        wait_until(lambda: conn.name_has_owner(BUS_NAME), START, f"wsbridged to own {BUS_NAME}")
        daemon.wait_state("pub", "open")

        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", wsbtest.PYTHON,
             "-c", NOBODY_CLIENT, bus.address, str(5 * SLOW)],
            capture_output=True, text=True, timeout=30 * SLOW,
            env={"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1"},
            cwd="/")
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert out["list"] == [session_path("pub")]
        assert out["introspect"] is True
        assert out["state"] == "open"
        assert out["subscribe"] is None
        assert isinstance(out["send"], int)
        assert out["messages"], "nobody got no Message signal"
        assert "from nobody" in server.received()
        assert out["own"] == "error org.freedesktop.DBus.Error.AccessDenied"
        assert out["create"] == session_path("made"), out
        assert isinstance(out["made_send"], int), out
        assert out["made_remove"] is None, out
    finally:
        shutil.rmtree(public, ignore_errors=True)


DBUS_WATCH = wsbtest.BUILD_ROOT / "examples" / "wsbridge-dbus-watch"


def _dbus_watch(wsb, bus, *args):
    """Start wsbridge-dbus-watch ARGS on BUS; return it and its stderr's path."""
    stderr = wsb.tmp / "dbus-watch.stderr"
    with open(stderr, "w") as err:
        proc = subprocess.Popen([str(DBUS_WATCH), *args], stdout=subprocess.PIPE,
                                stderr=err, text=True, env={**os.environ, **bus.env()})
    return proc, stderr


def test_dbus_watch_example_prints_messages(wsb, bus):
    """examples/wsbridge-dbus-watch (plain libdbus): one line per Message signal
    of the channel it subscribed, exit 0 on SIGINT, 1 on a D-Bus error."""
    server = wsb.server()
    daemon = dbus_daemon(wsb, bus, _managed("mkt", server.url))
    daemon.wait_state("mkt", "open")
    proc, stderr = _dbus_watch(wsb, bus, "mkt", "btc")
    try:
        wait_for(lambda: "watching mkt, channel btc" in stderr.read_text()
                 or proc.poll() is not None, 5 * SLOW, "wsbridge-dbus-watch to subscribe")
        assert proc.poll() is None, stderr.read_text()
        server.inject(*[json.dumps({"channel": ch, "n": i})
                        for i, ch in enumerate(["btc", "eth", "btc", "btc"])])
        lines = [proc.stdout.readline() for _ in range(3)]
        assert [line.rstrip("\n").split("\t") for line in lines] == [
            ["btc", str(seq), json.dumps({"channel": "btc", "n": n})]
            for seq, n in ((1, 0), (3, 2), (4, 3))]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10 * SLOW) == 0
        assert proc.stdout.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    # Named D-Bus errors, and the daemon going away.
    proc, stderr = _dbus_watch(wsb, bus, "nope")
    assert proc.wait(10 * SLOW) == 1
    assert "io.github.WsBridge1.Error.NotFound" in stderr.read_text()
    proc, stderr = _dbus_watch(wsb, bus, "mkt")
    wait_for(lambda: "watching mkt" in stderr.read_text()
             or proc.poll() is not None, 5 * SLOW, "wsbridge-dbus-watch to subscribe")
    assert daemon.stop() == 0
    assert proc.wait(10 * SLOW) == 1
    assert "wsbridged left the bus" in stderr.read_text()
    assert subprocess.run([str(DBUS_WATCH)], capture_output=True).returncode == 2


def _rss(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) << 10
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("batch", [False, True], ids=["plain", "batched"])
def test_dbus_stalled_bus_costs_bounded_memory_then_gaps(wsb, bus, batch):
    """A dbus-daemon that stops reading (SIGSTOP) while a session streams to
    a D-Bus subscriber: the daemon does not queue signals without limit (at
    most client_buffer_bytes of them, then the D-Bus subscribers lose
    messages), the session and the socket API go on, and once the bus reads
    again the D-Bus subscriber is told what it lost by a Gap. The same with
    batched Messages signals."""
    from test_hostile import frame
    from test_robustness import rss_meaningful
    payload = b'{"n":0,"pad":"' + b"p" * 1000 + b'"}'
    flood = 48 << 20
    up = wsb.raw_server([{"flood": {"frame_hex": frame(0x81, payload).hex(), "bytes": flood}}])
    total = flood // len(frame(0x81, payload))
    daemon = dbus_daemon(wsb, bus, session_conf("s", up.url, autoconnect="false",
                                                compression="false"))
    sub = Client(bus)
    sub.session("s", "SubscribeWithOptions", "*", dbus.UInt64(0), dbus.UInt64(0),
                dbus.Dictionary({"batch": batch}, signature="sv"))
    api = wsbtest.ApiClient(daemon.socket)
    api.hello()
    before = _rss(daemon.proc.pid)

    bus.proc.send_signal(signal.SIGSTOP)
    try:
        daemon.ctl_ok("connect", "s")
        wait_for(lambda: up.events("flooded"), 60 * SLOW, "the upstream's flood")
        wait_for(lambda: api.list_sessions()["s"].last_seq >= total, 60 * SLOW,
                 "the daemon to take the whole flood")
        grown = _rss(daemon.proc.pid) - before
        status = daemon.status()["s"]
        # The flood was 48 MiB; without the bound the daemon holds all of it
        # that it turned into signals (over 100 MiB with GDBus's copies).
        if rss_meaningful(daemon):
            assert grown < 24 << 20, f"the daemon grew by {grown >> 20} MiB, the bus stalled"
        assert status["state"] == "open"
        daemon.wait_log(r"D-Bus: the bus has not taken the last \d+ bytes of signals "
                        r"\(over client_buffer_bytes\); D-Bus subscribers lose messages")
    finally:
        bus.proc.send_signal(signal.SIGCONT)
    # The D-Bus subscriber: what came, then one Gap for the rest.
    wait_until(lambda: sub.got("Gap"), 60 * SLOW, "a Gap signal once the bus reads again")
    daemon.wait_log(r"D-Bus: the bus has caught up; D-Bus subscribers lost \d+ messages")
    wait_until(lambda: len(sub.messages()) + sum(a[2] - a[1] + 1 for *_, a in sub.got("Gap"))
               >= total, 60 * SLOW, "every message in a Message signal or a Gap")
    seqs = [seq for _, seq, _ in sub.messages()]
    gaps = [(a[1], a[2]) for *_, a in sub.got("Gap")]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert gaps and all(not (lo <= s <= hi) for lo, hi in gaps for s in seqs)
    assert_in_seq_order(sub)


def assert_in_seq_order(client):
    """Messages and gaps reached client in seq order: every seq of a
    Message, Messages or Gap signal after those of the signals before it."""
    last = 0
    for _, member, _, a in client.got(None, SESSION):
        ranges = {"Message": lambda: [(a[1], a[1])], "Gap": lambda: [(a[1], a[2])],
                  "Messages": lambda: [(m[0], m[0]) for m in a[1]]}.get(member, list)()
        for lo, hi in ranges:
            assert lo > last and hi >= lo, f"{member} of seqs {lo}..{hi} after seq {last}"
            last = hi
