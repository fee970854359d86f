"""The system instance started as its installed unit starts it: ExecStart as
the user wsbridge (setpriv, the user made from the installed sysusers.d
file), with the variables systemd sets (RUNTIME_DIRECTORY, STATE_DIRECTORY,
CONFIGURATION_DIRECTORY, CREDENTIALS_DIRECTORY, NOTIFY_SOCKET, WATCHDOG_USEC),
and socket activation of the installed wsbridge.socket through
systemd-socket-activate. PID 1 is not systemd in a container, so the unit's
sandbox itself (ProtectSystem= and the like) is not applied here; the tests
say so in their output."""

import os
import pathlib
import shlex
import shutil
import subprocess

import pkgtest
import wsbtest
from wsbtest.bus import SYSTEM_LIKE_POLICY  # a real system bus's defaults
from wsbtest import session_conf, wait_for

WATCHDOG_USEC = 4_000_000
TOKEN = "cred-token-5f2a"


def say_where(capsys):
    with capsys.disabled():
        if pkgtest.pid1_is_systemd():
            print("\nPID 1 is systemd, but this test starts the unit's command itself "
                  "(the real unit is not started)")
        else:
            print("\nPID 1 is not systemd (a container): the unit's command runs under setpriv "
                  "with systemd's variables; its sandbox settings are not applied")


class SystemInstance:
    """The staged install mounted at its prefix, the user wsbridge, and the
    directories systemd would make for wsbridge.service."""

    def __init__(self, wsb, scratch):
        pkgtest.private_mounts()
        self.install = pkgtest.Install(scratch / "dest")
        self.install.mount_prefix()
        self.user = pkgtest.create_service_user(self.install)
        self.unit = pkgtest.unit_settings(
            self.install.path(self.install.find(r"/systemd/system/wsbridge\.service$")))
        self.socket_unit = pkgtest.unit_settings(
            self.install.path(self.install.find(r"/systemd/system/wsbridge\.socket$")))
        assert self.unit[("Service", "User")] == [pkgtest.SERVICE_USER]
        assert self.unit[("Service", "Type")] == ["notify"]
        self.exec_start = shlex.split(self.unit[("Service", "ExecStart")][0])
        self.scratch = scratch
        self.state = pkgtest.make_dir(scratch / "state",
                                      int(self.unit[("Service", "StateDirectoryMode")][0], 8),
                                      self.user)
        self.config = pkgtest.make_dir(scratch / "etc", 0o755)
        self.credentials = pkgtest.make_dir(scratch / "credentials", 0o500, self.user)
        pkgtest.write_file(self.credentials / "prices-token", TOKEN + "\n", 0o400,
                           self.user.pw_uid, self.user.pw_gid)
        # The server's copy of the token, to check the Authorization header.
        self.server_token = pkgtest.write_file(scratch / "server-token", TOKEN, 0o600)
        self.daemon = wsb.daemon(start=False)

    def write_config(self, text):
        # As an administrator would: readable by the service's group only.
        pkgtest.write_file(self.config / "wsbridge.conf", text, 0o640, 0, self.user.pw_gid)

    def env(self, runtime_dir, **extra):
        env = dict(self.daemon.env)
        env.update(RUNTIME_DIRECTORY=str(runtime_dir), STATE_DIRECTORY=str(self.state),
                   CONFIGURATION_DIRECTORY=str(self.config),
                   CREDENTIALS_DIRECTORY=str(self.credentials), **extra)
        return env


def test_system_unit_runs_as_wsbridge_with_credentials(wsb, capsys):
    wsbtest.needs_root("runs the daemon as the user wsbridge")
    say_where(capsys)
    scratch = pkgtest.ScratchDir()
    try:
        _run_system_unit(wsb, scratch.path)
    finally:
        scratch.cleanup()


def _run_system_unit(wsb, scratch):
    inst = SystemInstance(wsb, scratch)
    runtime = pkgtest.make_dir(scratch / "run",
                               int(inst.unit[("Service", "RuntimeDirectoryMode")][0], 8), inst.user)
    server = wsb.server("--auth-token-file", str(inst.server_token))
    inst.write_config(session_conf("prices", server.url,
                                   token_file="${CREDENTIALS_DIRECTORY}/prices-token"))
    # A system bus with the installed policy: only wsbridge (and root) may own the name.
    policy = inst.install.path(inst.install.find(r"/system\.d/io\.github\.WsBridge1\.conf$"))
    bus = wsbtest.SystemBus(wsb.tmp / "system-bus", wsb.rundir,
                            body=SYSTEM_LIKE_POLICY.format(policy=policy))
    wsb.buses.append(bus)
    bus.start()
    for d in (wsb.rundir, bus.sockdir):  # the service user must reach the bus socket
        d.chmod(0o755)
    notify = pkgtest.NotifySocket(scratch / "notify")
    daemon = inst.daemon
    daemon.socket = runtime / "wsbridge.sock"
    env = inst.env(runtime, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC=str(WATCHDOG_USEC),
                   DBUS_SYSTEM_BUS_ADDRESS=bus.address)
    pkgtest.launch(daemon, [*pkgtest.setpriv(inst.user), *wsbtest.WRAPPER, *inst.exec_start], env)

    wait_for(lambda: notify.times("READY", "1"), wsbtest.START_TIMEOUT,
             lambda: f"READY=1 on NOTIFY_SOCKET; got {notify.messages}; log:\n{daemon.log()}")
    ready = notify.times("READY", "1")[0]
    assert daemon.socket.exists(), "READY=1 came before the socket was there"
    assert oct(daemon.socket.stat().st_mode & 0o777) == oct(0o666)
    statuses = [m["STATUS"] for _, m in notify.messages if "STATUS" in m]
    assert "serving 1 session" in statuses, notify.messages
    assert pkgtest.proc_ids(daemon.proc.pid) == (inst.user.pw_uid,) * 2 + (inst.user.pw_gid,) * 2

    s = daemon.wait_state("prices", "open")
    handshakes = server.events("handshake")
    assert handshakes[-1]["status"] == 101
    assert handshakes[-1]["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert s["reconnects"] == 0

    # WATCHDOG=1 every WATCHDOG_USEC/2: the first within the interval, then
    # no gap as long as the interval.
    interval = WATCHDOG_USEC / 1e6
    pings = wait_for(lambda: (lambda t: t if len(t) >= 3 else None)(notify.times("WATCHDOG", "1")),
                     4 * interval, lambda: f"three WATCHDOG=1; got {notify.messages}")
    assert pings[0] - ready <= interval, (ready, pings)
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert all(interval / 4 <= g <= interval for g in gaps), gaps

    conn = bus.connection()
    wait_for(lambda: conn.name_has_owner("io.github.WsBridge1"), wsbtest.START_TIMEOUT,
             "wsbridged to own io.github.WsBridge1 on the system bus")
    owner = conn.get_name_owner("io.github.WsBridge1")
    assert conn.get_unix_user(owner) == inst.user.pw_uid
    daemon.wait_log(r"wsbridged .* starting \(system instance, config .*/etc, 1 session\)")


def test_system_socket_activation(wsb, capsys):
    """The installed wsbridge.socket's ListenStream, through
    systemd-socket-activate: the first client's connection starts the
    daemon (as wsbridge), which serves the socket it is passed."""
    wsbtest.needs_root("runs the daemon as the user wsbridge")
    say_where(capsys)
    activate = shutil.which("systemd-socket-activate")
    assert activate, "systemd-socket-activate (package systemd) is needed"
    scratch = pkgtest.ScratchDir()
    try:
        _run_socket_activation(wsb, scratch.path, activate)
    finally:
        scratch.cleanup()


def _run_socket_activation(wsb, scratch, activate):
    inst = SystemInstance(wsb, scratch)
    listen = pathlib.Path(inst.socket_unit[("Socket", "ListenStream")][0])
    assert listen == pathlib.Path("/run/wsbridge/wsbridge.sock")
    # /run/wsbridge of this test's own mount namespace, made as systemd would.
    runtime = pkgtest.empty_dir_at(listen.parent)
    runtime.chmod(int(inst.socket_unit[("Socket", "DirectoryMode")][0], 8))
    os.chown(runtime, inst.user.pw_uid, inst.user.pw_gid)
    inst.write_config(session_conf("prices", "ws://127.0.0.1:9/", autoconnect="false"))
    daemon = inst.daemon
    daemon.socket = listen
    env = inst.env(runtime)
    passed = ["RUNTIME_DIRECTORY", "STATE_DIRECTORY", "CONFIGURATION_DIRECTORY",
              "CREDENTIALS_DIRECTORY", "DBUS_SYSTEM_BUS_ADDRESS", "GSETTINGS_BACKEND"]
    pkgtest.launch(daemon, [activate, "-l", str(listen), *[f"-E{v}" for v in passed], "--",
                            *pkgtest.setpriv(inst.user), *wsbtest.WRAPPER, *inst.exec_start],
                   env)
    wait_for(lambda: listen.exists() and "Listening on" in daemon.log_text(),
             wsbtest.START_TIMEOUT, lambda: f"systemd-socket-activate to listen:\n{daemon.log()}")
    assert "starting" not in daemon.log_text(), "wsbridged started before the first connection"
    inode = listen.stat().st_ino
    daemon.wait_ready()
    assert "prices" in daemon.status()
    daemon.wait_log(r"using the API socket passed by systemd")
    assert listen.stat().st_ino == inode, "the daemon made its own socket"
    assert pkgtest.proc_ids(daemon.proc.pid)[:2] == (inst.user.pw_uid,) * 2
