"""Private D-Bus buses and dbusmock templates on them (wsbtest.SystemBus,
SessionBus, DBusMock)."""

import os
import pathlib
import shutil
import subprocess
import tempfile
import threading

from .base import PYTHON, SLOW, tail, wait_for  # noqa: E402

# ---------------------------------------------------------------- system bus

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>{type}</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
{body}
</busconfig>
"""

ALLOW_ALL_POLICY = """\
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>"""

MOCK_IFACE = "org.freedesktop.DBus.Mock"
MOCK_TEMPLATES = {  # template -> (bus name, main object)
    "logind": ("org.freedesktop.login1", "/org/freedesktop/login1"),
    "networkmanager": ("org.freedesktop.NetworkManager", "/org/freedesktop/NetworkManager"),
}


class SystemBus:
    """A private dbus-daemon to pass to the daemon as DBUS_SYSTEM_BUS_ADDRESS,
    and dbusmock templates on it. By default without service activation and
    with everything allowed; BODY replaces that configuration (policies,
    <servicedir>, <include>), ENV the bus's environment (and so that of the
    services it starts)."""

    TYPE = "system"

    def __init__(self, workdir, sockdir, body=ALLOW_ALL_POLICY, env=None):
        self.workdir = workdir
        self.workdir.mkdir()
        # Unix socket paths are limited to 108 bytes: the socket goes in sockdir.
        self.sockdir = pathlib.Path(tempfile.mkdtemp(prefix="bus-", dir=sockdir))
        self.body = body
        self.bus_env = env
        self.log_path = workdir / "dbus-daemon.log"
        self.proc = None
        self.address = None
        self.mocks = []
        self._conn = None

    def start(self):
        conf = self.workdir / "bus.conf"
        conf.write_text(BUS_CONFIG.format(type=self.TYPE, dir=self.sockdir, body=self.body))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                ["dbus-daemon", f"--config-file={conf}", "--nofork", "--print-address=1"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                env=self.bus_env)
        result = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(10.0 * SLOW)
        line = result[0].decode().strip() if result else ""
        assert line.startswith("unix:"), (
            f"dbus-daemon printed no address (got {line!r}, exit {self.proc.poll()}):\n"
            f"{tail(self.log_path)}")
        self.address = line
        return self

    def connection(self):
        """A python-dbus connection to this bus (blocking calls only)."""
        if self._conn is None:
            import dbus
            self._conn = dbus.bus.BusConnection(self.address)
        return self._conn

    def mock(self, template):
        """Start python-dbusmock's TEMPLATE on this bus; return once it owns its name."""
        mock = DBusMock(self, template)
        self.mocks.append(mock)
        return mock.start()

    def env(self, **extra):
        """Daemon environment using this bus as the system bus."""
        return {"DBUS_SYSTEM_BUS_ADDRESS": self.address, **extra}

    def log_sections(self):
        sections = [(f"system bus log ({self.log_path})", tail(self.log_path, 50))]
        for m in self.mocks:
            sections.append((f"dbusmock {m.template} log ({m.log_path})", tail(m.log_path, 60)))
        return sections

    def cleanup(self):
        for m in self.mocks:
            m.cleanup()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.sockdir, ignore_errors=True)


class DBusMock:
    """python3 -m dbusmock --system --template TEMPLATE, on a SystemBus."""

    def __init__(self, bus, template):
        self.bus, self.template = bus, template
        self.name, self.path = MOCK_TEMPLATES[template]
        self.log_path = bus.workdir / f"dbusmock-{template}.log"
        self.proc = None

    def command(self):
        """The dbusmock command line (a subclass may use another bus or template)."""
        return [PYTHON, "-m", "dbusmock", "--system", "--template", self.template]

    def environment(self):
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.bus.address}
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        return env

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=self.environment())
        conn = self.bus.connection()

        def owned():
            if self.proc.poll() is not None:
                raise AssertionError(f"dbusmock {self.template} exited with "
                                     f"{self.proc.returncode}:\n{tail(self.log_path)}")
            return conn.name_has_owner(self.name)
        wait_for(owned, 10.0 * SLOW, f"dbusmock {self.template} to own {self.name}",
                 interval=0.05)
        return self

    def object(self, path=None):
        return self.bus.connection().get_object(self.name, path or self.path)

    def call(self, method, *args, interface=MOCK_IFACE, path=None):
        """Call METHOD on the mock (by default one of the template's Mock methods)."""
        return self.object(path).get_dbus_method(method, interface)(*args)

    def emit(self, interface, signal_name, signature, args, path=None):
        """Make the mock emit a signal from its main object (or PATH)."""
        self.call("EmitSignal", interface, signal_name, signature, args, path=path)

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class SessionBus(SystemBus):
    """A private dbus-daemon to pass to the daemon as DBUS_SESSION_BUS_ADDRESS
    (with --bus session): the same private bus as SystemBus, in the other role.
    Add it to Harness.buses so that it goes after the daemons."""

    TYPE = "session"

    def env(self, **extra):
        return {"DBUS_SESSION_BUS_ADDRESS": self.address, **extra}


# Like the default policy of a real system bus (dbus's system.conf): no one
# owns names or calls methods unless a policy file allows it.
SYSTEM_LIKE_POLICY = """\
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include ignore_missing="no">{policy}</include>"""
