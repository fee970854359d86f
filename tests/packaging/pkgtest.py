"""Helpers for the packaging tests: a staged install of the build tree, the
units as installed, private mount namespaces, and the readers of what a
service manager would receive (sd_notify datagrams, journal entries)."""

import ctypes
import json
import os
import pathlib
import pwd
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time

import wsbtest

BUILD_ROOT = wsbtest.BUILD_ROOT
SERVICE_USER = "wsbridge"

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18


def _check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(source.encode() if source else None, str(target).encode(),
                       fstype.encode() if fstype else None, flags,
                       data.encode() if data else None),
           f"mount {source} on {target}")


def private_mounts():
    """Give this test process (and what it starts) its own mount namespace.
    Meson runs every test case in its own pytest process, so nothing else sees it."""
    if os.geteuid() == 0:
        _check(_libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    else:
        uid, gid = os.geteuid(), os.getegid()
        _check(_libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS), "unshare(CLONE_NEWUSER|CLONE_NEWNS)")
        pathlib.Path("/proc/self/setgroups").write_text("deny")
        pathlib.Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
        pathlib.Path("/proc/self/gid_map").write_text(f"0 {gid} 1")
    _mount("none", "/", None, _MS_REC | _MS_PRIVATE)


def empty_dir_at(path):
    """In the private namespace: an empty directory at PATH (a tmpfs on it, or on
    its nearest existing ancestor, in which PATH is then made)."""
    path = pathlib.Path(path)
    base = path
    while not base.exists():
        base = base.parent
    _mount("tmpfs", base, "tmpfs", 0, "mode=0755")
    path.mkdir(parents=True, exist_ok=True)
    return path


def bind(source, target):
    _mount(str(source), target, None, _MS_BIND | _MS_REC)


# ---------------------------------------------------------------- install

def build_options():
    options = json.loads((BUILD_ROOT / "meson-info" / "intro-buildoptions.json").read_text())
    return {o["name"]: o["value"] for o in options}


class Install:
    """meson install --destdir of this build tree into DESTDIR."""

    def __init__(self, destdir):
        self.destdir = pathlib.Path(destdir)
        r = subprocess.run(["meson", "install", "-C", str(BUILD_ROOT), "--no-rebuild", "--quiet",
                            "--destdir", str(self.destdir)], capture_output=True, text=True)
        assert r.returncode == 0, f"meson install failed:\n{r.stdout}\n{r.stderr}"
        self.options = build_options()
        self.prefix = pathlib.Path(self.options["prefix"])

    def files(self):
        """Every file and symlink installed, as absolute paths on the target system."""
        return sorted("/" + str(p.relative_to(self.destdir))
                      for p in self.destdir.rglob("*") if p.is_file() or p.is_symlink())

    def path(self, target_path):
        """Where the file installed as TARGET_PATH is in the destdir."""
        return self.destdir / str(target_path).lstrip("/")

    def find(self, pattern):
        """The one installed file whose target path matches the regex PATTERN."""
        found = [f for f in self.files() if re.search(pattern, f)]
        assert len(found) == 1, f"expected one installed file matching {pattern!r}: {found}"
        return found[0]

    def mount_prefix(self):
        """In a private namespace: make the installed prefix appear at its real
        place, so installed files work under the paths they name."""
        assert self.prefix not in (pathlib.Path("/"), pathlib.Path("/usr")), (
            f"the build's prefix is {self.prefix}: binding the staged install over it would "
            "hide the system; configure the build with the default prefix /usr/local")
        self.prefix.mkdir(parents=True, exist_ok=True)
        bind(self.path(self.prefix), self.prefix)


def unit_settings(path):
    """The settings of a unit file: {(section, key): [values]}."""
    settings, section = {}, None
    for line in pathlib.Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault((section, key.strip()), []).append(value.strip())
    return settings


# ---------------------------------------------------------------- service manager

def pid1_is_systemd():
    try:
        return pathlib.Path("/proc/1/comm").read_text().strip() == "systemd"
    except OSError:
        return False


def service_user():
    """The user wsbridge, made from the installed sysusers.d file when it is missing."""
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return None


def create_service_user(install):
    assert os.geteuid() == 0, "running the daemon as user wsbridge (setpriv) needs root"
    sysusers = install.path(install.find(r"/sysusers\.d/wsbridge\.conf$"))
    if service_user() is None:
        r = subprocess.run(["systemd-sysusers", str(sysusers)], capture_output=True, text=True)
        assert r.returncode == 0, f"systemd-sysusers {sysusers} failed: {r.stderr}"
    user = service_user()
    assert user, f"systemd-sysusers {sysusers} did not create the user {SERVICE_USER}"
    return user


class NotifySocket:
    """The datagram socket a service manager reads sd_notify() messages from."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)  # the service runs as another user
        self.messages = []  # (monotonic time, {key: value})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append((time.monotonic(), fields))

    def times(self, key, value):
        return [t for t, m in list(self.messages) if m.get(key) == value]

    def close(self):
        self.sock.close()


JOURNAL_DIR = pathlib.Path("/run/systemd/journal")


def parse_journal_entry(data):
    """One datagram of the journal's native protocol: KEY=value lines, or KEY,
    newline, a 64-bit little-endian length and that many bytes, newline."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = nl + 1
        else:
            key = line
            (size,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            value = data[nl + 9:nl + 9 + size]
            i = nl + 9 + size + 1
        fields[key.decode()] = value.decode(errors="replace")
    return fields


class Journal:
    """Stands in for journald in a private mount namespace: the datagram socket
    /run/systemd/journal/socket, and the stream socket .../stdout that a
    service's stderr is connected to (its peer name is how GLib knows that
    stderr is the journal)."""

    def __init__(self):
        empty_dir_at(JOURNAL_DIR)
        self.entries = []
        self.stream = bytearray()
        self.dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.dgram.bind(str(JOURNAL_DIR / "socket"))
        self.dgram.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(JOURNAL_DIR / "stdout"))
        listener.listen(1)
        self.stderr = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.stderr.connect(str(JOURNAL_DIR / "stdout"))
        self._stream_end, _ = listener.accept()
        listener.close()
        threading.Thread(target=self._read_entries, daemon=True).start()
        threading.Thread(target=self._read_stream, daemon=True).start()

    def _read_entries(self):
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self.dgram, 1 << 20, 4)
            except OSError:
                return
            for fd in fds:  # a large entry comes as a sealed memfd
                with os.fdopen(fd, "rb") as f:
                    data = f.read()
            self.entries.append(parse_journal_entry(data))

    def _read_stream(self):
        while True:
            chunk = self._stream_end.recv(65536)
            if not chunk:
                return
            self.stream += chunk


class ScratchDir:
    """A temp dir that users other than root may enter (pytest's are 0700)."""

    def __init__(self):
        self.path = pathlib.Path(tempfile.mkdtemp(prefix="wsb-pkg-"))
        self.path.chmod(0o755)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def setpriv(user):
    """Run as USER the way systemd's User= does (its groups, no new privileges)."""
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups",
            "--no-new-privs", "--"]


def proc_ids(pid):
    """(real uid, effective uid, real gid, effective gid) of process PID."""
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    uid = re.search(r"^Uid:\s+(\d+)\s+(\d+)", status, re.M)
    gid = re.search(r"^Gid:\s+(\d+)\s+(\d+)", status, re.M)
    return int(uid[1]), int(uid[2]), int(gid[1]), int(gid[2])


def launch(daemon, command, env):
    """Start COMMAND as DAEMON's process (the harness stops it and checks its log)."""
    with open(daemon.stderr_path, "ab") as err, open(daemon.stdout_path, "ab") as out:
        daemon.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                       env=env)
    return daemon.proc


def make_dir(path, mode, owner=None):
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


def write_file(path, text, mode, uid=0, gid=0):
    path = pathlib.Path(path)
    path.write_text(text)
    os.chown(path, uid, gid)
    path.chmod(mode)
    return path

