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
import datetime
import hashlib
import ipaddress
import json
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

if "WSB_BUILD_ROOT" not in os.environ:
    raise RuntimeError("set WSB_BUILD_ROOT to the Meson build directory (meson test does)")
BUILD_ROOT = pathlib.Path(os.environ["WSB_BUILD_ROOT"])
if str(BUILD_ROOT / "proto") not in sys.path:
    sys.path.append(str(BUILD_ROOT / "proto"))
import wsbridge_pb2 as pb  # noqa: E402  (generated into the build tree)

PYTHON = "/usr/bin/python3"
DAEMON = BUILD_ROOT / "daemon" / "wsbridged"
CTL = BUILD_ROOT / "clients" / "wsbridgectl" / "wsbridgectl"
WS_SERVER = pathlib.Path(__file__).with_name("ws_server.py")
CONNECT_PROXY = pathlib.Path(__file__).with_name("connect_proxy.py")
RAW_SERVER = pathlib.Path(__file__).with_name("raw_server.py")

WRAPPER = shlex.split(os.environ.get("WSB_DAEMON_WRAPPER", ""))
# Deadlines for things the contract does not time (startup, "eventually"
# conditions) stretch under a slow wrapper such as valgrind.
SLOW = 5.0 if WRAPPER else 1.0
START_TIMEOUT = 10.0 * SLOW
EXIT_TIMEOUT = 60.0 if WRAPPER else 10.0

# Fast reconnects so the suite stays short.
FAST = {"backoff_initial_ms": 100, "backoff_max_ms": 1000}

BAD_LOG_LINE = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer"
                          r"|runtime error:|CRITICAL|g_critical")


def wait_for(predicate, timeout, what, interval=0.02):
    """Poll predicate() until it returns something truthy; return that value.

    WHAT describes the condition; it may be a callable, evaluated on timeout
    so that the message can show the state reached.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            what = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


def session_conf(name, url, **keys):
    """A [session NAME] group with the FAST backoff unless overridden."""
    lines = [f"[session {name}]", f"url={url}"]
    lines += [f"{k}={v}" for k, v in {**FAST, **keys}.items()]
    return "\n".join(lines) + "\n"


def read_jsonl(path):
    """Parse a JSON-lines file; a torn last line (writer killed) is ignored."""
    try:
        text = pathlib.Path(path).read_text()
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def tail(path, max_lines=300):
    try:
        lines = pathlib.Path(path).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no file)"
    skipped = len(lines) - max_lines
    head = [f"... {skipped} earlier lines in {path} ..."] if skipped > 0 else []
    return "\n".join(head + lines[-max_lines:])


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


# ---------------------------------------------------------------- certificates

CertFiles = collections.namedtuple("CertFiles", "cert key")


class Certs:
    """A PKI made at test time in DIRECTORY, as PEM files:
      ca           the test CA (ca.pem)
      server       signed by the CA for DNS:localhost and IP:127.0.0.1
      self_signed  self-signed, for the same names
      expired      signed by the CA, same names, expired yesterday
      other_host   signed by the CA for DNS:other.test only
      client       signed by the CA, for client authentication
    """

    def __init__(self, directory):
        from cryptography.hazmat.primitives.asymmetric import ec
        self._ec = ec
        self.dir = pathlib.Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        self._now = now
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        self._ca_cert = self._build("wsbridge test CA", self._ca_key.public_key(), None,
                                    self._ca_key, ca=True)
        self.ca = self._write("ca", self._ca_cert)
        names = ["localhost", ipaddress.ip_address("127.0.0.1")]
        self.server = self._leaf("server", names)
        self.self_signed = self._leaf("self-signed", names, self_signed=True)
        self.expired = self._leaf("expired", names, not_before=now - datetime.timedelta(days=30),
                                  not_after=now - datetime.timedelta(days=1))
        self.other_host = self._leaf("other-host", ["other.test"])
        self.client = self._leaf("client", [], client=True)

    def _build(self, cn, public_key, issuer_cert, signing_key, ca=False, names=(),
               client=False, not_before=None, not_after=None):
        """A certificate for CN; issued by ISSUER_CERT, or self-issued when None."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        builder = (x509.CertificateBuilder()
                   .subject_name(subject)
                   .issuer_name(issuer_cert.subject if issuer_cert else subject)
                   .public_key(public_key)
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(not_before or self._now - datetime.timedelta(days=1))
                   .not_valid_after(not_after or self._now + datetime.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                                  critical=False))
        if issuer_cert:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),
                critical=False)
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
        else:
            usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(n) if isinstance(n, str) else x509.IPAddress(n) for n in names]),
                critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    def _leaf(self, name, names, self_signed=False, **kwargs):
        key = self._ec.generate_private_key(self._ec.SECP256R1())
        issuer, signing_key = (None, key) if self_signed else (self._ca_cert, self._ca_key)
        cert = self._build(f"wsbridge test {name}", key.public_key(), issuer, signing_key,
                           names=names, **kwargs)
        return CertFiles(self._write(name, cert), self._write_key(name, key))

    def _write(self, name, cert):
        from cryptography.hazmat.primitives.serialization import Encoding
        path = self.dir / f"{name}.pem"
        path.write_bytes(cert.public_bytes(Encoding.PEM))
        return path

    def _write_key(self, name, key):
        from cryptography.hazmat.primitives import serialization
        path = self.dir / f"{name}.key"
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
        return path

    @staticmethod
    def server_args(files, client_ca=None):
        """ws_server.py options serving FILES (a CertFiles), optionally requiring
        client certificates signed by CLIENT_CA."""
        args = ["--tls-cert", str(files.cert), "--tls-key", str(files.key)]
        return args + (["--tls-client-ca", str(client_ca)] if client_ca else [])

    @staticmethod
    def pin(files):
        """base64 SHA-256 of the certificate's SubjectPublicKeyInfo (DER)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        cert = x509.load_pem_x509_certificate(pathlib.Path(files.cert).read_bytes())
        spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(hashlib.sha256(spki).digest()).decode()


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
