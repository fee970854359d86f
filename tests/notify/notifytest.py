"""Helpers for the wsbridge-notify tests, on top of wsbtest (tests/harness):

  Desk        a private session bus (wsbtest.SessionBus) with its notifiers and mocks
  NotifyMock  python-dbusmock's notification_daemon template on that bus; reads
              back every Notify call the server got
  Notifier    a running build/clients/notify/wsbridge-notify
  FeedServer  ntfy_server.py or gotify_server.py: a push server's WebSocket
              stream, published to over HTTP
"""

import json
import os
import pathlib
import re
import signal
import subprocess
import urllib.request

import wsbtest
from wsbtest.clients import ClientProcess
from wsbtest import BUILD_ROOT, PYTHON, SLOW, WRAPPER, tail, wait_for

NOTIFY = BUILD_ROOT / "clients" / "notify" / "wsbridge-notify"
HERE = pathlib.Path(__file__).resolve().parent
SERVER_NAME = "org.freedesktop.Notifications"
SERVER_PATH = "/org/freedesktop/Notifications"
NOTIFY_FIELDS = ("app_name", "replaces_id", "icon", "summary", "body", "actions", "hints",
                 "timeout")


def plain(v):
    """dbus-python values as plain Python ones."""
    import dbus
    if isinstance(v, dbus.Dictionary):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (dbus.Array, dbus.Struct, list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.String, dbus.ObjectPath)):
        return str(v)
    if isinstance(v, (dbus.Byte, dbus.Int16, dbus.Int32, dbus.Int64, dbus.UInt16, dbus.UInt32,
                      dbus.UInt64)):
        return int(v)
    return v


class Mock(wsbtest.DBusMock):
    """`python3 -m dbusmock --session ...` on BUS, owning NAME with its main
    object at PATH; ARGS pick a template or give NAME PATH INTERFACE. The
    rest (start, call, cleanup) is wsbtest.DBusMock's."""

    def __init__(self, bus, name, path, log_path, args):
        self.bus, self.name, self.path, self.log_path, self.args = bus, name, path, log_path, args
        self.template = " ".join(args)
        self.proc = None

    def command(self):
        return [PYTHON, "-m", "dbusmock", "--session", *self.args]

    def environment(self):
        return {**os.environ, "DBUS_SESSION_BUS_ADDRESS": self.bus.address}

    def method_calls(self, method):
        """The arguments of every call of METHOD so far, in order."""
        return [plain(args) for _, args in self.call("GetMethodCalls", method)]

    def stop(self):
        """Stop it, and wait until the bus says its name is free."""
        self.cleanup()
        conn = self.bus.connection()
        wait_for(lambda: not conn.name_has_owner(self.name), 5.0 * SLOW,
                 f"{self.name} to be released")


class NotifyMock(Mock):
    """A notification server (the notification_daemon template)."""

    def __init__(self, bus, log_path, capabilities=None):
        args = ["--template", "notification_daemon"]
        if capabilities is not None:
            args += ["--parameters", json.dumps({"capabilities": " ".join(capabilities)})]
        super().__init__(bus, SERVER_NAME, SERVER_PATH, log_path, args)

    def calls(self):
        """Every Notify call, as dicts of NOTIFY_FIELDS plus "id": the id the
        server answered (the template numbers new notifications 1, 2, …)."""
        out, next_id = [], 1
        for args in self.method_calls("Notify"):
            call = dict(zip(NOTIFY_FIELDS, args))
            if call["replaces_id"]:
                call["id"] = call["replaces_id"]
            else:
                call["id"], next_id = next_id, next_id + 1
            out.append(call)
        return out

    def notifications(self):
        """What is on screen: the last call of each id, in the order they appeared."""
        latest = {}
        for call in self.calls():
            latest[call["id"]] = call
        return list(latest.values())

    def wait_calls(self, predicate, what, timeout=10.0 * SLOW):
        """Poll until PREDICATE(calls()) is truthy; return the calls."""
        def check():
            calls = self.calls()
            return calls if predicate(calls) else None
        return wait_for(check, timeout, lambda: f"{what}; Notify calls: {self.calls()}",
                        interval=0.05)

    def invoke_action(self, notification_id, action="default"):
        """The user clicks the notification (ACTION "default") or one of its buttons."""
        import dbus
        self.call("EmitSignal", SERVER_NAME, "ActionInvoked", "us",
                  dbus.Array([dbus.UInt32(notification_id), action], signature="v"))


class Notifier(ClientProcess):
    """wsbridge-notify TARGET ARGS against DAEMON, on the desk's bus."""

    def __init__(self, desk, daemon, target, args, env):
        n = len(desk.notifiers) + 1
        self.log_path = desk.dir / f"notify{n}.log"
        self.env = {**daemon.env, "DBUS_SESSION_BUS_ADDRESS": desk.bus.address,
                    "NOTIFY_IGNORE_PORTAL": "1", **(env or {})}
        # TARGET None: the options (a --config file) name the session.
        self.cmd = [*WRAPPER, str(NOTIFY), "--socket", str(daemon.socket), "-v", *args,
                    *([target] if target is not None else [])]
        self.proc = None
        self.returncode = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=self.env)
        return self

    def wait_log(self, pattern, count=1, timeout=10.0 * SLOW):
        """Poll until COUNT lines of the log match the regex PATTERN; return them."""
        regex = re.compile(pattern)

        def found():
            if self.proc.poll() is not None and self.returncode is None:
                self.returncode = self.proc.returncode
                raise AssertionError(f"wsbridge-notify exited with {self.returncode}:\n"
                                     f"{tail(self.log_path, 60)}")
            lines = [line for line in self.log().splitlines() if regex.search(line)]
            return lines if len(lines) >= count else None
        return wait_for(found, timeout, lambda: (
            f"{count} wsbridge-notify log line(s) matching {pattern!r}:\n{tail(self.log_path)}"))

    def wait_exit(self, timeout=wsbtest.EXIT_TIMEOUT):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"wsbridge-notify did not exit within {timeout} s") from None
        return self.returncode

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        """SIGCONT, SIGTERM; return the exit status."""
        self.proc.send_signal(signal.SIGCONT)
        self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit()


class Desk:
    """A private session bus and what runs on it; close() stops it all, the
    notifiers first (a bus that vanished under them would make them fail)."""

    def __init__(self, wsb):
        self.wsb = wsb
        self.dir = wsb.tmp / "desk"
        self.dir.mkdir()
        # Empty until activatable_server() puts a service file there.
        self.services = self.dir / "services"
        self.services.mkdir()
        body = f"{wsbtest.ALLOW_ALL_POLICY}\n  <servicedir>{self.services}</servicedir>"
        self.bus = wsbtest.SessionBus(wsb.tmp / "session-bus", wsb.rundir, body=body)
        wsb.buses.append(self.bus)
        self.bus.start()
        self.notifiers, self.mocks = [], []

    def server(self, capabilities=None):
        """A running notification server."""
        mock = NotifyMock(self.bus, self.dir / f"server{len(self.mocks) + 1}.log", capabilities)
        self.mocks.append(mock)
        return mock.start()

    def activatable_server(self):
        """Make the bus able to start a notification server (the
        notification_daemon template) when asked; return a NotifyMock handle
        for reading whichever instance owns the name (not started here)."""
        log = self.dir / "activated-servers.log"
        (self.services / f"{SERVER_NAME}.service").write_text(
            f"[D-BUS Service]\nName={SERVER_NAME}\n"
            f"Exec=/bin/sh -c 'exec {PYTHON} -m dbusmock --session --template "
            f"notification_daemon >>{log} 2>&1'\n")
        self.bus.connection().get_object("org.freedesktop.DBus", "/org/freedesktop/DBus") \
            .ReloadConfig(dbus_interface="org.freedesktop.DBus")
        return NotifyMock(self.bus, log)

    def server_pid(self):
        """The process that owns the notification server's name."""
        conn = self.bus.connection()
        return int(conn.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus")
                   .GetConnectionUnixProcessID(SERVER_NAME, dbus_interface="org.freedesktop.DBus"))

    def mock(self, name, path, interface):
        """A bare dbusmock object owning NAME, for AddMethod calls."""
        mock = Mock(self.bus, name, path, self.dir / f"mock{len(self.mocks) + 1}.log",
                    [name, path, interface])
        self.mocks.append(mock)
        return mock.start()

    def notifier(self, daemon, target="demo", *args, env=None, start=True):
        n = Notifier(self, daemon, target, args, env)
        self.notifiers.append(n)
        return n.start() if start else n

    def log_sections(self):
        sections = [(f"wsbridge-notify #{i} ({n.log_path})", tail(n.log_path, 200))
                    for i, n in enumerate(self.notifiers, 1)]
        return sections + [(f"dbusmock ({m.log_path})", tail(m.log_path, 40)) for m in self.mocks]

    def close(self):
        problems = []
        for i, n in enumerate(self.notifiers, 1):
            problems += n.finish(f"wsbridge-notify #{i}")
        for m in self.mocks:
            m.cleanup()
        return problems


class FeedServer(wsbtest.Server):
    """ntfy_server.py or gotify_server.py (KIND) with ARGS, restartable on the
    same two ports with the same messages (they are kept in a store file)."""

    def __init__(self, wsb, kind, args=()):
        n = len(wsb.servers) + 1
        self.script = HERE / f"{kind}_server.py"
        super().__init__(wsb.tmp, f"{kind}{n}", [*args, "--store", str(wsb.tmp / f"{kind}{n}.store")],
                         "127.0.0.1")
        self.http_port = 0
        wsb.servers.append(self)

    def start(self):
        cmd = [PYTHON, str(self.script), "--host", self.host, "--port", str(self.port),
               "--http-port", str(self.http_port), "--record", str(self.record), *self.args]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log)
        self.port = int(self._read_port_line(10.0 * SLOW).split()[1])
        self.http_port = int(self.proc.stdout.readline().decode().split()[1])
        return self

    def inject(self, *items):
        raise AssertionError("publish to a push server with publish()")

    def publish(self, path, body, headers=None):
        """POST BODY (bytes, str, or a dict sent as JSON) to PATH; return the JSON answer."""
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", data=body,
                                     headers=headers or {}, method="POST")
        with urllib.request.urlopen(req, timeout=10.0 * SLOW) as r:
            return json.loads(r.read())

    def connections(self):
        """The WebSocket connections so far, as recorded ({"path", "since"})."""
        return self.events("connected")
