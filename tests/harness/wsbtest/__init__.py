"""Helpers for the wsbridge integration tests.

A Harness (the `wsb` fixture) starts real processes and cleans them up:
  Daemon     wsbridged from the build tree with its own config dir and socket
  Server     ws_server.py, a real WebSocket server (ws:// or wss://) in its own process
  Proxy      connect_proxy.py, a real HTTP CONNECT proxy in its own process
  Watch      a running `wsbridgectl watch` subprocess
  SystemBus  a private dbus-daemon standing in for the system bus, with
             python-dbusmock templates (logind, NetworkManager) on it
ApiClient speaks the socket protocol directly (for tests about framing).
Certs makes a small PKI (CA, server, client, expired, ... certificates).
"""


import base64
import collections
import json
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

# Shared constants and helpers, and the PKI and bus helpers, live in their
# own modules; tests import them all from here.
from .base import (  # noqa: E402,F401
    BAD_LOG_LINE, BUILD_ROOT, CONNECT_PROXY, CPU_SLOW, CTL, DAEMON, EXIT_TIMEOUT, FAST, PYTHON,
    RAW_SERVER, SLOW, START_TIMEOUT, WRAPPER, WS_SERVER, needs_root, pb, read_jsonl, session_conf,
    tail, wait_for)
from .bus import (  # noqa: E402,F401
    ALLOW_ALL_POLICY, BUS_CONFIG, MOCK_IFACE, MOCK_TEMPLATES, DBusMock, SessionBus, SystemBus)
from .certs import CertFiles, Certs  # noqa: E402,F401

# ---------------------------------------------------------------- servers

class Server:
    """ws_server.py in its own process; restartable on the same port."""

    script = WS_SERVER

    def __init__(self, workdir, name, args, host, prefix=()):
        self.name, self.args, self.host = name, list(args), host
        self.prefix = list(prefix)  # e.g. ["ip", "netns", "exec", NS]: must exec the server
        self.record = workdir / f"{name}.jsonl"
        self.log = workdir / f"{name}.stderr"
        self.inject_path = workdir / f"{name}.inject"
        self.port = 0
        self.proc = None

    @property
    def url(self):
        return self.url_for(self.host)

    def url_for(self, host):
        """The URL naming the server as HOST (e.g. "localhost" for a 127.0.0.1 server)."""
        scheme = "wss" if "--tls-cert" in self.args else "ws"
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}:{self.port}/"

    def start(self):
        inject = ["--inject", str(self.inject_path)] if self.script == WS_SERVER else []
        cmd = [*self.prefix, PYTHON, str(self.script), "--host", self.host, "--port",
               str(self.port),
               "--record", str(self.record), *inject, *self.args]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log)
        line = self._read_port_line(10.0 * SLOW)
        self.port = int(line.split()[1])
        return self

    def _read_port_line(self, timeout):
        result = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        line = result[0].decode() if result else ""
        assert line.startswith("PORT "), (
            f"server {self.name} printed no port line within {timeout} s "
            f"(got {line!r}, exit {self.proc.poll()}):\n{tail(self.log)}")
        return line

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def terminate(self, timeout=10.0 * SLOW):
        """SIGTERM: the server closes its connections (1012 by default), records
        what arrives until each closing handshake ends, and exits 0."""
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"server {self.name} did not finish its graceful shutdown "
                                 f"within {timeout} s:\n{tail(self.log, 20)}") from None
        assert rc == 0, f"server {self.name} exited {rc} at SIGTERM:\n{tail(self.log, 20)}"

    def inject(self, *items):
        """Make the server send ITEMS (str: text, bytes: binary) to every open
        connection (they wait while none is open)."""
        with open(self.inject_path, "a", encoding="utf-8") as f:
            for item in items:
                if isinstance(item, bytes):
                    item = {"b64": base64.b64encode(item).decode()}
                f.write(json.dumps(item) + "\n")

    def sent(self):
        """What the server sent, as text or bytes, in order."""
        return [e["data"] if "data" in e else base64.b64decode(e["data_b64"])
                for e in self.events("sent") if "data" in e or "data_b64" in e]

    def stop(self):
        self.proc.send_signal(signal.SIGSTOP)

    def cont(self):
        self.proc.send_signal(signal.SIGCONT)

    def restart(self):
        """Start again on the same port (after kill())."""
        assert self.proc.poll() is not None, "restart() needs a dead server"
        return self.start()

    def events(self, kind=None):
        events = read_jsonl(self.record)
        return [e for e in events if kind is None or e["event"] == kind]

    def received(self, conn=None):
        """Messages received from the daemon (on connection CONN, or on any),
        as text or bytes, in order."""
        return [e["data"] if e["type"] == "text" else base64.b64decode(e["data_b64"])
                for e in self.events("message") if conn is None or e["conn"] == conn]

    def close_codes(self):
        return [e["code"] for e in self.events("close")]

    def connects(self):
        """Accepted WebSocket connections, in order."""
        return self.events("connect")

    def wait_connects(self, n=1, timeout=5.0 * SLOW):
        """The accepted connections once there are at least N. The server records
        a connection after its 101 has gone out, so a daemon can report "open"
        before the record is there."""
        def enough():
            connects = self.connects()
            return connects if len(connects) >= n else None
        return wait_for(enough, timeout, f"server {self.name} to record {n} connection(s)")

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Proxy(Server):
    """connect_proxy.py in its own process."""

    script = CONNECT_PROXY

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def requests(self):
        return self.events("request")


class RawServer(Server):
    """raw_server.py: answers each connection with exactly the bytes its
    script says (see that file) and records what the client sends."""

    script = RAW_SERVER

    def frames(self, conn=None, opcode=None):
        """Frames the daemon sent, in order (on connection CONN, of OPCODE)."""
        return [e for e in self.events("frame") if (conn is None or e["conn"] == conn)
                and (opcode is None or e["opcode"] == opcode)]

    def requests(self):
        return self.events("request")


# ---------------------------------------------------------------- daemon

class Daemon:
    def __init__(self, workdir, rundir):
        self.workdir = workdir
        self.config_dir = workdir / "config"
        self.config_dir.mkdir(parents=True)
        rundir.mkdir(mode=0o700, exist_ok=True)
        self.socket = rundir / "wsbridge.sock"
        self.stderr_path = workdir / "daemon.stderr"
        self.stdout_path = workdir / "daemon.stdout"
        self.proc = None
        self.returncode = None
        self.prefix = []
        self.args = []  # more wsbridged arguments, e.g. --system
        self.env = dict(os.environ)
        # Proxies and desktop settings come from the test alone (GIO picks
        # the desktop's proxy resolver when it sees a desktop session).
        for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY",
                    "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "NOTIFY_SOCKET", "LISTEN_FDS",
                    "LISTEN_PID", "JOURNAL_STREAM", "DBUS_SESSION_BUS_ADDRESS",
                    "GIO_USE_NETWORK_MONITOR", "GIO_USE_PROXY_RESOLVER", "XDG_CURRENT_DESKTOP",
                    "DESKTOP_SESSION", "GNOME_DESKTOP_SESSION_ID", "KDE_FULL_SESSION"):
            self.env.pop(var, None)
        # The host's system bus (logind, NetworkManager) must not reach in:
        # tests that need one start their own (Harness.system_bus).
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = f"unix:path={rundir}/no-system-bus"
        for var, sub in (("XDG_CONFIG_HOME", "xdg-config"), ("XDG_STATE_HOME", "xdg-state"),
                         ("HOME", "home")):
            (workdir / sub).mkdir()
            self.env[var] = str(workdir / sub)
        self.env["XDG_RUNTIME_DIR"] = str(rundir)
        self.env["GSETTINGS_BACKEND"] = "memory"

    def write_config(self, text="", sessions_d=None):
        """Write wsbridge.conf and sessions.d files; a None body removes that file."""
        (self.config_dir / "wsbridge.conf").write_text(text)
        for name, body in (sessions_d or {}).items():
            path = self.config_dir / "sessions.d" / f"{name}.conf"
            if body is None:
                path.unlink()
                continue
            path.parent.mkdir(exist_ok=True)
            path.write_text(body)

    def reload(self, config, sessions_d=None):
        """Rewrite the config, then SIGHUP."""
        self.write_config(config, sessions_d)
        self.proc.send_signal(signal.SIGHUP)

    def command(self):
        return [*self.prefix, *WRAPPER, str(DAEMON), "--config", str(self.config_dir),
                "--socket", str(self.socket), "--bus", "none", "-v", *self.args]

    def start(self, config="", sessions_d=None, wait=True):
        """Start (also again after stop(), with the same config and state dirs)."""
        self.write_config(config, sessions_d)
        self.returncode = None
        with open(self.stderr_path, "ab") as err, open(self.stdout_path, "ab") as out:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=self.env)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=START_TIMEOUT):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"wsbridged exited with {self.proc.returncode} during "
                                     f"startup:\n{self.log()}")
            if not self.socket.exists():
                return False
            r = self.ctl("status", "--json")
            return r.returncode == 0 and isinstance(json.loads(r.stdout), list)
        wait_for(ready, timeout, f"wsbridged to answer on {self.socket}", interval=0.05)

    def log(self):
        return tail(self.stderr_path)

    def journal_path(self, name):
        """Where the send queue of session NAME is journaled (queue_persist=true)."""
        return pathlib.Path(self.env["XDG_STATE_HOME"]) / "wsbridge" / "queues" / f"{name}.journal"

    def log_text(self):
        """Everything the daemon wrote (GLib sends debug output to stdout), with
        the test's temp dir shown as TMP: its name, from the test's, must not
        satisfy a search of the log."""
        text = "".join(path.read_text(errors="replace") for path in
                       (self.stderr_path, self.stdout_path) if path.exists())
        return text.replace(str(self.workdir.parent), "TMP")

    def wait_log(self, pattern, timeout=5.0 * SLOW, count=1):
        """Poll until COUNT lines of the log match the regex PATTERN; return them."""
        regex = re.compile(pattern)

        def found():
            lines = [line for line in self.log_text().splitlines() if regex.search(line)]
            return lines if len(lines) >= count else None
        return wait_for(found, timeout, lambda: (
            f"{count} daemon log line(s) matching {pattern!r}; log:\n{self.log()}"))

    def ctl(self, *args, input=None, timeout=10.0 * SLOW):
        cmd = [str(CTL), "--socket", str(self.socket), *map(str, args)]
        try:
            return subprocess.run(cmd, input=input, capture_output=True, timeout=timeout,
                                  text=not isinstance(input, bytes))
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"{shlex.join(cmd)} did not finish within {timeout} s") from e

    def ctl_ok(self, *args, input=None):
        r = self.ctl(*args, input=input)
        assert r.returncode == 0, (f"wsbridgectl {' '.join(map(str, args))} exited "
                                   f"{r.returncode}: stdout={r.stdout!r} stderr={r.stderr!r}")
        return r

    def status(self):
        """Session status from `status --json`, by name."""
        r = self.ctl_ok("status", "--json")
        return {s["name"]: s for s in json.loads(r.stdout)}

    def wait_state(self, name, states, timeout=5.0 * SLOW, check=None):
        """Poll until session NAME is in one of STATES (and check(status) holds)."""
        states = (states,) if isinstance(states, str) else tuple(states)
        seen = []

        def reached():
            s = self.status().get(name)
            if s and (not seen or seen[-1] != (s["state"], s["reason"])):
                seen.append((s["state"], s["reason"]))
            return s if s and s["state"] in states and (check is None or check(s)) else None
        try:
            return wait_for(reached, timeout, f"session {name} to be in {states}")
        except AssertionError as e:
            raise AssertionError(f"{e}; states seen (state, reason): {seen}") from None

    def wait_retry_far(self, name, at_least, timeout=40.0 * SLOW):
        """Poll the socket API until session NAME is in backoff with its next
        try at least AT_LEAST seconds away; return how far away it is.

        With full jitter the next try may come soon; then the test waits for
        that try to fail and the next, longer, backoff."""
        api = ApiClient(self.socket)
        try:
            api.hello()

            def far():
                s = api.list_sessions()[name]
                left = s.next_retry_us / 1e6 - time.time()
                return left if state_name(s.state) == "backoff" and left >= at_least else None
            return wait_for(far, timeout, f"session {name} in backoff with its next try "
                                          f">= {at_least} s away", interval=0.05)
        finally:
            api.close()

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"wsbridged did not exit within {timeout} s") from None
        return self.returncode

    def stop(self, timeout=EXIT_TIMEOUT):
        """SIGTERM; return the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def bad_log_lines(self):
        """Sanitizer reports and criticals (GLib sends debug output to stdout)."""
        lines = []
        for path in (self.stderr_path, self.stdout_path):
            if path.exists():
                lines += path.read_text(errors="replace").splitlines()
        return [line for line in lines if BAD_LOG_LINE.search(line)]


# ---------------------------------------------------------------- watch

class Watch:
    """`wsbridgectl watch ... --json` running in the background."""

    def __init__(self, daemon, stderr_path, target, count, extra=()):
        self.stderr_path = stderr_path
        cmd = [str(CTL), "--socket", str(daemon.socket), "watch", target, "--count", str(count),
               "--json", *extra]
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=err)
        self.lines = []  # (monotonic time, parsed line)
        self.unparsed = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                self.lines.append((time.monotonic(), json.loads(raw)))
            except ValueError:
                self.unparsed.append(raw)

    def messages(self, after=None):
        return [line for t, line in list(self.lines)
                if line.get("type") in ("text", "binary") and (after is None or t > after)]

    def events(self, *types):
        """Lines of these types ("text", "binary", "gap", "state"), or all lines."""
        return [line for _, line in list(self.lines) if not types or line.get("type") in types]

    def wait_messages(self, n, timeout=5.0 * SLOW):
        return wait_for(lambda: len(self.messages()) >= n and self.messages(), timeout,
                        f"{n} messages from watch (stderr: {self.stderr_path})")

    def wait(self, timeout=10.0 * SLOW):
        """Wait for exit; return (status, message lines)."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"watch did not exit within {timeout} s; got {len(self.messages())} messages; "
                f"stderr: {tail(self.stderr_path, 20)}") from None
        self._reader.join(5)
        assert not self.unparsed, f"watch printed lines that are not JSON: {self.unparsed[:3]}"
        return rc, self.messages()

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------- socket API

def encode_varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


class ApiClient:
    """A raw client of the protobuf socket API."""

    def __init__(self, path, timeout=5.0 * SLOW):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.timeout = timeout
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.next_id = 1
        self._buf = bytearray()
        self._eof = False
        # Events that arrived while request() waited for its reply.
        self.pending_events = collections.deque()

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, frame):
        body = frame.SerializeToString()
        self.send_raw(encode_varint(len(body)) + body)

    def _parse_buffered(self):
        """(frame body, bytes used) of the first complete frame buffered, or None."""
        length, shift = 0, 0
        for i, byte in enumerate(self._buf):
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                end = i + 1 + length
                return (bytes(self._buf[i + 1:end]), end) if len(self._buf) >= end else None
        return None

    def recv_frame(self, timeout=None):
        """The next ServerFrame, or None at EOF (a reset counts as EOF).
        With TIMEOUT, raises TimeoutError when no frame comes in time (what
        has arrived of a frame stays buffered)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            parsed = self._parse_buffered()
            if parsed:
                body, used = parsed
                del self._buf[:used]
                frame = pb.ServerFrame()
                frame.ParseFromString(body)
                return frame
            if self._eof:
                assert not self._buf, "EOF inside a frame from the daemon"
                return None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no frame from the daemon in time")
                self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 16)
            except ConnectionResetError:
                chunk = b""
            finally:
                if deadline is not None:
                    self.sock.settimeout(self.timeout)
            if not chunk:
                self._eof = True
            self._buf += chunk

    def hello(self):
        self.send_frame(pb.ClientFrame(hello=pb.Hello(api_major=1, api_minor=0,
                                                      client_name="integration-test")))
        frame = self.recv_frame()
        assert frame is not None and frame.WhichOneof("frame") == "hello", f"hello got {frame}"
        return frame.hello

    def request(self, **op):
        """Send a request; return its Reply. Events that arrive meanwhile are
        kept for next_event()."""
        req_id, self.next_id = self.next_id, self.next_id + 1
        self.send_frame(pb.ClientFrame(request=pb.Request(id=req_id, **op)))
        while True:
            frame = self.recv_frame()
            assert frame is not None, "EOF while waiting for a reply"
            if frame.WhichOneof("frame") == "reply" and frame.reply.id == req_id:
                return frame.reply
            assert frame.WhichOneof("frame") == "event", f"unexpected frame {frame}"
            self.pending_events.append(frame.event)

    def next_event(self, timeout=5.0 * SLOW):
        """The next Event, or None when none comes within TIMEOUT (or at EOF)."""
        if self.pending_events:
            return self.pending_events.popleft()
        try:
            frame = self.recv_frame(timeout)
        except TimeoutError:
            return None
        if frame is None:
            return None
        assert frame.WhichOneof("frame") == "event", f"unexpected frame {frame}"
        return frame.event

    def subscribe(self, session, channel="*", since_seq=0, epoch=0):
        """A SubscribeRequest; returns the Reply (subscribe or error)."""
        return self.request(subscribe=pb.SubscribeRequest(session=session, channel=channel,
                                                          since_seq=since_seq, epoch=epoch))

    def subscribe_ok(self, session, channel="*", since_seq=0, epoch=0):
        """Subscribe; return the subscription id."""
        reply = self.subscribe(session, channel, since_seq, epoch)
        assert reply.WhichOneof("result") == "subscribe", (
            f"subscribe {session}/{channel} since {since_seq} epoch {epoch}: {reply}")
        return reply.subscribe.subscription_id

    def unsubscribe(self, subscription_id):
        reply = self.request(unsubscribe=pb.UnsubscribeRequest(subscription_id=subscription_id))
        assert reply.WhichOneof("result") == "ok", f"unsubscribe {subscription_id}: {reply}"

    def send(self, session, data, binary=False):
        """A SendRequest; returns the Reply (send or error)."""
        if isinstance(data, str):
            data = data.encode()
        return self.request(send=pb.SendRequest(session=session, data=data, binary=binary))

    def send_ok(self, session, data, binary=False):
        """Send; return the send id."""
        reply = self.send(session, data, binary)
        assert reply.WhichOneof("result") == "send", f"send to {session}: {reply}"
        return reply.send.send_id

    def history(self, session, channel="*", last=0):
        reply = self.request(history=pb.HistoryRequest(session=session, channel=channel,
                                                       last=last))
        assert reply.WhichOneof("result") == "history", f"history {session}/{channel}: {reply}"
        return reply.history

    def list_sessions(self):
        reply = self.request(list_sessions=pb.ListSessionsRequest())
        assert reply.WhichOneof("result") == "list_sessions", f"list_sessions got {reply}"
        return {s.name: s for s in reply.list_sessions.sessions}


def state_name(value):
    """SESSION_STATE_BACKOFF -> "backoff"."""
    return pb.SessionState.Name(value).removeprefix("SESSION_STATE_").lower()


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- harness

class Harness:
    """Starts what a test needs and tears it all down afterwards."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        # Unix socket paths are limited to 108 bytes; tmp_path can be longer.
        self.rundir = pathlib.Path(tempfile.mkdtemp(prefix="wsb-"))
        self.daemons, self.servers, self.watches = [], [], []
        self.proxies, self.buses = [], []

    def server(self, *args, host="127.0.0.1", name=None, prefix=()):
        """A running ws_server.py ARGS; PREFIX goes before its command line."""
        name = name or f"server{len(self.servers) + 1}"
        server = Server(self.tmp, name, args, host, prefix)
        self.servers.append(server)
        return server.start()

    def raw_server(self, connections=(), default=None, host="127.0.0.1", args=()):
        """A running raw_server.py: CONNECTIONS (a list of steps) for the first
        connections, DEFAULT (a correct 101 when None) for the rest; ARGS are
        more raw_server.py options (e.g. --tls-cert)."""
        n = len(self.servers) + 1
        script = self.tmp / f"raw{n}.json"
        script.write_text(json.dumps({"connections": list(connections),
                                      "default": default or {}}))
        server = RawServer(self.tmp, f"raw{n}", ["--script", str(script), *args], host)
        self.servers.append(server)
        return server.start()

    def proxy(self, *args, host="127.0.0.1"):
        """A running HTTP CONNECT proxy (connect_proxy.py ARGS)."""
        proxy = Proxy(self.tmp, f"proxy{len(self.proxies) + 1}", args, host)
        self.proxies.append(proxy)
        return proxy.start()

    def system_bus(self):
        """A private bus to give the daemon as its system bus."""
        bus = SystemBus(self.tmp / f"system-bus{len(self.buses) + 1}", self.rundir)
        self.buses.append(bus)
        return bus.start()

    def daemon(self, config="", sessions_d=None, start=True, wait=True, hosts=None, env=None):
        """A wsbridged; with hosts, it runs in a mount namespace seeing that /etc/hosts;
        env adds to (or, with None values, removes from) its environment."""
        n = len(self.daemons) + 1
        daemon = Daemon(self.tmp / f"daemon{n}", self.rundir / f"d{n}")
        for var, value in (env or {}).items():
            if value is None:
                daemon.env.pop(var, None)
            else:
                daemon.env[var] = str(value)
        if hosts is not None:
            daemon.prefix = private_hosts_prefix(self.tmp / f"hosts{n}", hosts)
        self.daemons.append(daemon)
        if start:
            daemon.start(config, sessions_d, wait=wait)
        return daemon

    def watch(self, daemon, target, count, extra=()):
        watch = Watch(daemon, self.tmp / f"watch{len(self.watches) + 1}.stderr", target, count,
                      extra)
        self.watches.append(watch)
        return watch

    def readable_copy(self, *sources, name="shared"):
        """Copies of SOURCES (files and directory trees; (source, name) pairs
        rename) that every uid may read and run, for code a test runs as
        another uid: the checkout and the build tree may sit where that uid
        cannot go (a home directory of mode 0700, a private temporary
        directory). Returns the directory NAME that holds them, in the
        harness's run directory (made world-searchable) and removed with it."""
        self.rundir.chmod(0o755)
        dest = self.rundir / name
        dest.mkdir(exist_ok=True)
        for source in sources:
            source, as_name = source if isinstance(source, tuple) else (source, None)
            source = pathlib.Path(source)
            target = dest / (as_name or source.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                continue
            if source.is_dir():
                shutil.copytree(source, target, symlinks=True)
            else:
                shutil.copy2(source, target)
        # The copies' modes say nothing of the developer's umask.
        for path in [dest, *dest.rglob("*")]:
            if path.is_symlink():
                continue
            executable = path.is_dir() or path.stat().st_mode & 0o100
            path.chmod(0o755 if executable else 0o644)
        return dest

    def log_sections(self):
        sections = []
        for i, d in enumerate(self.daemons, 1):
            sections.append((f"wsbridged #{i} stderr ({d.stderr_path})", tail(d.stderr_path)))
            if d.stdout_path.exists() and d.stdout_path.stat().st_size:
                sections.append((f"wsbridged #{i} stdout", tail(d.stdout_path)))
        for s in self.servers + self.proxies:
            sections.append((f"{s.name} record ({s.record})", tail(s.record, 100)))
            sections.append((f"{s.name} stderr", tail(s.log, 50)))
        for bus in self.buses:
            sections += bus.log_sections()
        for w in self.watches:
            sections.append((f"watch stderr ({w.stderr_path})", tail(w.stderr_path, 50)))
        return sections

    def close(self):
        """Stop everything; return a list of problems found (daemon exit, log)."""
        problems = []
        for w in self.watches:
            w.cleanup()
        for s in self.servers:  # a stopped server would stall the 1001 close
            if s.proc and s.proc.poll() is None:
                s.cont()
        for i, d in enumerate(self.daemons, 1):
            if d.proc is None:
                continue
            if d.proc.poll() is None:
                try:
                    rc = d.stop()
                except AssertionError as e:
                    d.proc.kill()
                    d.proc.wait()
                    problems.append(f"wsbridged #{i}: {e} after SIGTERM")
                else:
                    if rc != 0:
                        problems.append(f"wsbridged #{i} exited with {rc} after SIGTERM")
            elif d.returncode is None:
                problems.append(f"wsbridged #{i} died unexpectedly with {d.proc.returncode}")
            for line in d.bad_log_lines():
                problems.append(f"wsbridged #{i} log: {line}")
        # The bus goes after the daemons, so that they never see it vanish.
        for bus in self.buses:
            bus.cleanup()
        for s in self.servers + self.proxies:
            s.cleanup()
        shutil.rmtree(self.rundir, ignore_errors=True)
        return problems


def private_hosts_prefix(path, hosts):
    """Run a command in a private mount namespace with HOSTS as /etc/hosts."""
    path.write_text(hosts)
    userns = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return ["unshare", *userns, "--mount", "sh", "-c",
            'mount --bind "$0" /etc/hosts && exec "$@"', str(path)]
