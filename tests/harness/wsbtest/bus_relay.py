"""A D-Bus client run as another uid (setpriv), driven over stdin/stdout.

The test runs this file's text with `python3 -c` (so the other uid needs no
access to the checkout) and the bus address as its argument. It connects,
adds a match rule for every signal of the daemon's bus name, and prints
JSON lines:
  {"ready": UNIQUE_NAME}
  {"signal": {"sender", "dest", "path", "iface", "member", "args"}}
      for every signal the bus delivers to it (broadcast or unicast),
      except the bus's own (org.freedesktop.DBus)
  {"id": N, "ok": VALUE} or {"id": N, "error": [NAME, TEXT]}
      the answer to the call with that id (VALUE: null for no value, the
      value for one, a list for more)
Each stdin line is one call: {"id", "dest", "path", "iface", "method",
"sig", "args"} (args in JSON, marshalled by python-dbus against sig). It
exits when stdin closes.

Relay (below, for the test process) starts it and waits for answers.
"""

RELAY_MAIN = r'''
import json
import os
import sys

import dbus
import dbus.lowlevel
import dbus.mainloop.glib
from gi.repository import GLib

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
DAEMON_NAME = "io.github.WsBridge1"


def plain(v):
    if isinstance(v, dbus.Array) and v.signature == "y":
        return list(bytes(v))
    if isinstance(v, (dbus.Array, dbus.Struct, list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dbus.Dictionary):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.String, dbus.ObjectPath, dbus.Signature)):
        return str(v)
    if isinstance(v, (dbus.Int16, dbus.Int32, dbus.Int64, dbus.UInt16, dbus.UInt32,
                      dbus.UInt64, dbus.Byte)):
        return int(v)
    if isinstance(v, dbus.Double):
        return float(v)
    return v


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


conn = dbus.bus.BusConnection(sys.argv[1])


def on_message(_conn, msg):
    if msg.get_type() == dbus.lowlevel.MESSAGE_TYPE_SIGNAL \
            and msg.get_sender() != "org.freedesktop.DBus":
        out({"signal": {"sender": msg.get_sender(), "dest": msg.get_destination(),
                        "path": msg.get_path(), "iface": msg.get_interface(),
                        "member": msg.get_member(),
                        "args": [plain(a) for a in msg.get_args_list()]}})


conn.add_message_filter(on_message)
conn.add_match_string("type='signal',sender='%s'" % DAEMON_NAME)
loop = GLib.MainLoop()
pending = bytearray()


def call(req):
    rid = req["id"]
    conn.call_async(req.get("dest", DAEMON_NAME), req["path"], req["iface"], req["method"],
                    req.get("sig", ""), tuple(req.get("args", ())),
                    lambda *r: out({"id": rid, "ok": None if not r else plain(r[0])
                                    if len(r) == 1 else [plain(x) for x in r]}),
                    lambda e: out({"id": rid, "error": [str(e.get_dbus_name()),
                                                        str(e.get_dbus_message())]}),
                    timeout=30.0)


def on_stdin(fd, _cond):
    data = os.read(fd, 65536)
    if not data:
        loop.quit()
        return False
    pending.extend(data)
    while b"\n" in pending:
        line, _, rest = bytes(pending).partition(b"\n")
        pending[:] = rest
        if line.strip():
            call(json.loads(line))
    return True


GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP, on_stdin)
out({"ready": conn.get_unique_name()})
loop.run()
'''

import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402

from .base import PYTHON, SLOW, tail, wait_for  # noqa: E402

BUS_NAME = "io.github.WsBridge1"


class RelayError(Exception):
    """A call the relay made failed with the D-Bus error NAME, TEXT."""

    def __init__(self, name, text):
        super().__init__(f"{name}: {text}")
        self.name, self.text = name, text


class Relay:
    """bus_relay running as UID with real and effective gid GID and no
    supplementary groups, on the bus at ADDRESS."""

    def __init__(self, address, uid, gid, stderr_path):
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to run a client as another uid"
        self.stderr_path = stderr_path
        self.signals = []
        self._replies = {}
        self._cond = threading.Condition()
        self._next_id = 1
        self.unparsed = []
        with open(stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", PYTHON,
                 "-c", RELAY_MAIN, address],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
                env={"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1"}, cwd="/")
        self.unique_name = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_for(lambda: self.unique_name or self._dead(), 10.0 * SLOW,
                 lambda: f"bus_relay to connect; stderr:\n{tail(self.stderr_path, 30)}")
        assert self.unique_name, f"bus_relay exited:\n{tail(self.stderr_path, 30)}"

    def _dead(self):
        return self.proc.poll() is not None

    def _read(self):
        for line in self.proc.stdout:
            try:
                obj = json.loads(line)
            except ValueError:
                self.unparsed.append(line)
                continue
            with self._cond:
                if "ready" in obj:
                    self.unique_name = obj["ready"]
                elif "signal" in obj:
                    self.signals.append(obj["signal"])
                else:
                    self._replies[obj["id"]] = obj
                self._cond.notify_all()

    def call(self, path, iface, method, sig="", args=(), timeout=15.0 * SLOW):
        """The call's value; a D-Bus error raises RelayError."""
        with self._cond:
            rid, self._next_id = self._next_id, self._next_id + 1
        self.proc.stdin.write(json.dumps({"id": rid, "path": path, "iface": iface,
                                          "method": method, "sig": sig,
                                          "args": list(args)}) + "\n")
        self.proc.stdin.flush()
        with self._cond:
            ok = self._cond.wait_for(lambda: rid in self._replies or self._dead(), timeout)
            assert ok and rid in self._replies, (
                f"no answer to {method} on {path} within {timeout} s "
                f"(relay exit {self.proc.poll()}); stderr:\n{tail(self.stderr_path, 30)}")
            reply = self._replies.pop(rid)
        if "error" in reply:
            raise RelayError(*reply["error"])
        return reply["ok"]

    def error(self, path, iface, method, sig="", args=()):
        """(name, text) of the D-Bus error the call fails with."""
        try:
            value = self.call(path, iface, method, sig, args)
        except RelayError as e:
            return e.name, e.text
        raise AssertionError(f"{method} on {path} succeeded: {value!r}")

    def got(self):
        """The signals received so far."""
        with self._cond:
            return list(self.signals)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(5 * SLOW)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
