"""Helpers for the wsbridge-push tests, on top of wsbtest (tests/harness):

  PushDesk     a private session bus with a service directory (D-Bus
               activation), the test ntfy server, connector apps and
               distributors
  NtfyServer   ntfy_server.py in its own process
  ConnectorApp connector_app.py, activatable by its .service file; reads back
               every call it got
  Distributor  a running build/clients/push/wsbridge-push
"""

import base64
import json
import os
import pathlib
import re
import signal
import subprocess
import urllib.request

import wsbtest
from wsbtest.clients import ClientProcess
from wsbtest import BUILD_ROOT, PYTHON, SLOW, WRAPPER, read_jsonl, tail, wait_for

HERE = pathlib.Path(__file__).resolve().parent
PUSH = BUILD_ROOT / "clients" / "push" / "wsbridge-push"
NTFY = HERE / "ntfy_server.py"
CONNECTOR = HERE / "connector_app.py"
DIST_NAME = "org.unifiedpush.Distributor.wsbridge"
DIST_PATH = "/org/unifiedpush/Distributor"
D1 = "org.unifiedpush.Distributor1"
D2 = "org.unifiedpush.Distributor2"


class NtfyServer:
    def __init__(self, workdir, keepalive=2.0, name="ntfy"):
        self.record = workdir / f"{name}.jsonl"
        self.log = workdir / f"{name}.log"
        self.keepalive = keepalive
        self.proc = None
        self.port = None

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [PYTHON, str(NTFY), "--record", str(self.record), "--keepalive",
                 str(self.keepalive)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=log)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("PORT "), f"ntfy_server.py printed {line!r}:\n{tail(self.log)}"
        self.port = int(line.split()[1])
        return self

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def publish(self, url, body):
        """POST BODY (bytes) to URL; return ntfy's answer (the message)."""
        req = urllib.request.Request(url, data=body, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def get(self, url):
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())

    def events(self, kind=None):
        return [e for e in read_jsonl(self.record) if kind is None or e["event"] == kind]

    def open_streams(self):
        """Topics of the streams open now."""
        streams = []
        for e in self.events():
            if e["event"] == "stream":
                streams.append(e["topics"])
            elif e["event"] == "stream_end" and e["topics"] in streams:
                streams.remove(e["topics"])
        return streams

    def wait_stream(self, predicate, what, timeout=15.0 * SLOW):
        return wait_for(lambda: any(predicate(t) for t in self.open_streams()), timeout,
                        lambda: f"{what}; streams: {self.events()}")

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class ConnectorApp:
    """connector_app.py NAME, started by the bus when something calls NAME."""

    def __init__(self, desk, name, exec_line=None):
        self.desk, self.name = desk, name
        self.log_path = desk.dir / f"{name}.jsonl"
        exec_line = exec_line or f"{PYTHON} {CONNECTOR} {name} {self.log_path}"
        (desk.services / f"{name}.service").write_text(
            f"[D-BUS Service]\nName={name}\nExec={exec_line}\n")

    def entries(self):
        return read_jsonl(self.log_path)

    def calls(self, method=None):
        return [e for e in self.entries()
                if "method" in e and (method is None or e["method"] == method)]

    def starts(self):
        return [e for e in self.entries() if "started" in e]

    def wait_calls(self, method, n=1, timeout=15.0 * SLOW):
        def enough():
            calls = self.calls(method)
            return calls if len(calls) >= n else None
        return wait_for(enough, timeout,
                        lambda: f"{n} {method} call(s) at {self.name}; got {self.entries()}")

    def messages(self):
        """(id, bytes) of every Message call, in order."""
        return [(c.get("id"), base64.b64decode(c["message"])) for c in self.calls("Message")]

    def start(self):
        """Start it by activation (a ping to its name)."""
        conn = self.desk.bus.connection()
        conn.activate_name_owner(self.name)
        wait_for(lambda: conn.name_has_owner(self.name), 10.0 * SLOW, f"{self.name} to run")

    def kill(self):
        """Stop the running app; wait until its name is free."""
        conn = self.desk.bus.connection()
        pid = int(conn.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetConnectionUnixProcessID", "s",
                                     (self.name,)))
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not conn.name_has_owner(self.name), 10.0 * SLOW,
                 f"{self.name} to be gone")

    def running(self):
        return self.desk.bus.connection().name_has_owner(self.name)


class Distributor(ClientProcess):
    def __init__(self, desk, daemon, args=()):
        n = len(desk.distributors) + 1
        self.desk = desk
        self.log_path = desk.dir / f"push{n}.log"
        self.cmd = [*WRAPPER, str(PUSH), "-v", *desk.push_args(daemon), *args]
        self.env = {**daemon.env, "DBUS_SESSION_BUS_ADDRESS": desk.bus.address}
        self.proc = None
        self.returncode = None

    def start(self, wait=True):
        self.returncode = None
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=self.env)
        if wait:
            conn = self.desk.bus.connection()

            def owned():
                if self.proc.poll() is not None:
                    raise AssertionError(f"wsbridge-push exited with {self.proc.returncode}:\n"
                                         f"{tail(self.log_path)}")
                return conn.name_has_owner(DIST_NAME)
            wait_for(owned, 10.0 * SLOW, f"wsbridge-push to own {DIST_NAME}", interval=0.05)
        return self

    def wait_log(self, pattern, count=1, timeout=15.0 * SLOW):
        regex = re.compile(pattern)

        def found():
            lines = [line for line in self.log().splitlines() if regex.search(line)]
            return lines if len(lines) >= count else None
        return wait_for(found, timeout, lambda: (
            f"{count} wsbridge-push log line(s) matching {pattern!r}:\n{tail(self.log_path)}"))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(wsbtest.EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError("wsbridge-push did not exit on SIGTERM") from None
        conn = self.desk.bus.connection()
        wait_for(lambda: not conn.name_has_owner(DIST_NAME), 5.0 * SLOW, "the name to be free")
        return self.returncode


class PushDesk:
    """A private session bus with activation, an ntfy server, apps and
    distributors; close() stops the distributors and the apps."""

    def __init__(self, wsb, conf_extra=""):
        self.wsb = wsb
        self.dir = wsb.tmp / "push"
        self.dir.mkdir()
        self.services = self.dir / "services"
        self.services.mkdir()
        body = wsbtest.ALLOW_ALL_POLICY + f"\n  <servicedir>{self.services}</servicedir>"
        env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
        self.bus = wsbtest.SessionBus(wsb.tmp / "session-bus", wsb.rundir, body=body, env=env)
        wsb.buses.append(self.bus)
        self.bus.start()
        self.ntfy = NtfyServer(self.dir).start()
        self.conf = self.dir / "push.conf"
        self.state = self.dir / "state" / "registrations.json"
        self.write_conf(conf_extra)
        self.distributors, self.apps, self.more_ntfy = [], [], []

    def write_conf(self, extra="", ntfy=None):
        self.conf.write_text(f"[push]\nserver={(ntfy or self.ntfy).base}\n{extra}")

    def another_ntfy(self):
        server = NtfyServer(self.dir, name=f"ntfy{len(self.more_ntfy) + 2}").start()
        self.more_ntfy.append(server)
        return server

    def push_args(self, daemon):
        return ["--config", str(self.conf), "--state", str(self.state), "--socket",
                str(daemon.socket)]

    def app(self, name="org.example.App", exec_line=None):
        app = ConnectorApp(self, name, exec_line)
        self.apps.append(app)
        return app

    def distributor(self, daemon, *args, start=True):
        d = Distributor(self, daemon, args)
        self.distributors.append(d)
        return d.start() if start else d

    def distributor_object(self):
        return self.bus.connection().get_object(DIST_NAME, DIST_PATH)

    def register(self, app, token, description="", version=2, extra=None):
        """Register APP's TOKEN; return the answer (v2: a dict, v1: a pair)."""
        import dbus
        obj = self.distributor_object()
        if version == 1:
            res = obj.Register(app.name, token, description, dbus_interface=D1)
            return (str(res[0]), str(res[1]))
        args = {"service": app.name, "token": token}
        if description:
            args["description"] = description
        args.update(extra or {})
        res = obj.Register(dbus.Dictionary(args, signature="sv"), dbus_interface=D2)
        return {str(k): str(v) for k, v in res.items()}

    def unregister(self, token, version=2):
        import dbus
        obj = self.distributor_object()
        if version == 1:
            return obj.Unregister(token, dbus_interface=D1)
        return obj.Unregister(dbus.Dictionary({"token": token}, signature="sv"),
                              dbus_interface=D2)

    def log_sections(self):
        sections = [(f"wsbridge-push #{i} ({d.log_path})", tail(d.log_path, 200))
                    for i, d in enumerate(self.distributors, 1)]
        sections += [(f"app {a.name}", tail(a.log_path, 40)) for a in self.apps]
        sections += [("ntfy record", tail(self.ntfy.record, 60)),
                     ("ntfy log", tail(self.ntfy.log, 40))]
        return sections

    def close(self):
        problems = []
        for i, d in enumerate(self.distributors, 1):
            problems += d.finish(f"wsbridge-push #{i}")
        for a in self.apps:
            if a.running():
                try:
                    a.kill()
                except Exception as e:  # noqa: BLE001 - teardown goes on
                    problems.append(f"app {a.name}: {e}")
        for server in [self.ntfy, *self.more_ntfy]:
            server.cleanup()
        return problems
