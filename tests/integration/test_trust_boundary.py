"""The trust boundary of the system instance, attacked from another uid.

Each test runs its clients as uid 65534 (nobody) with setpriv, through the
socket API (wsbridgectl, or a raw protobuf connection nobody opened) and
through D-Bus on a system bus with a real system bus's default policy (a
python-dbus client as nobody, bus_relay.py): a non-root creator may not set
the keys that make the daemon run a command or read a file, nor grant
others; it may not hold more than its share of sessions; it learns nothing
of the sessions it may not use, neither by asking nor by signals; and both
frontends decide by the same identity (the user database, not the
process's current gid)."""

import grp
import json
import os
import pathlib
import shutil
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

import pytest

import wsbtest
from wsbtest.bus_relay import Relay, RelayError
from test_dbus import SYSTEM_LIKE_POLICY, Client, opts, session_path, wait_until
from wsbtest import CPU_SLOW, CTL, SLOW, ApiClient, pb, session_conf, wait_for

NOBODY = 65534
OTHER = 1  # "daemon" on Debian: neither root nor nobody, in no allow list here
BUS_NAME = "io.github.WsBridge1"
MANAGER_PATH = "/io/github/WsBridge1"
SESSIONS_PATH = "/io/github/WsBridge1/session"
MANAGER = "io.github.WsBridge1.Manager"
SESSION = "io.github.WsBridge1.Session"
PROPS = "org.freedesktop.DBus.Properties"
INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
ERR = "io.github.WsBridge1.Error."
START = 10.0 * SLOW
CREATE_AS_NOBODY = f"[daemon]\ncreate_allow_groups={NOBODY}\n"

RUN = "(it makes the daemon run a command)"
READ = "(it makes the daemon read a file)"


# ---------------------------------------------------------------- helpers

# The CLI as the other uid runs it: a copy it can read (the checkout may be
# out of its reach), made for each test.
_ctl = CTL


@pytest.fixture(autouse=True)
def _readable_ctl(wsb):
    global _ctl
    _ctl = wsb.readable_copy(CTL) / CTL.name
    yield
    _ctl = CTL


def _as_uid(uid, gid, *args, socket):
    """wsbridgectl ARGS as UID, with real gid GID and no supplementary groups."""
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run a client as another uid"
    return subprocess.run([setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                           str(_ctl), "--socket", str(socket), *map(str, args)],
                          capture_output=True, text=True, timeout=10 * SLOW, cwd="/")


def _as_nobody(*args, socket):
    return _as_uid(NOBODY, NOBODY, *args, socket=socket)


def _public_system_bus(wsb):
    """A private system bus with a real system bus's default policy and the
    project's policy file, whose socket any uid may reach."""
    policy = pathlib.Path(os.environ["WSB_SOURCE_ROOT"]) / "dbus" / "io.github.WsBridge1.conf"
    os.chmod(wsb.rundir, 0o755)
    bus = wsbtest.SystemBus(wsb.tmp / f"system-bus{len(wsb.buses) + 1}", wsb.rundir,
                            body=SYSTEM_LIKE_POLICY.format(policy=policy))
    wsb.buses.append(bus)
    bus.start()
    bus.sockdir.chmod(0o755)
    return bus


def _system_daemon(wsb, config, bus=None):
    """wsbridged --system (serving BUS as its system bus, if given), its
    socket reachable by any uid (the daemon decides)."""
    env = {"STATE_DIRECTORY": None, **(bus.env() if bus else {})}
    daemon = wsb.daemon(start=False, env=env)
    daemon.args = ["--system", *(["--bus", "system"] if bus else [])]
    daemon.env["STATE_DIRECTORY"] = str(daemon.workdir / "state")
    daemon.start(config)
    for d in (daemon.socket.parent.parent, daemon.socket.parent):
        os.chmod(d, 0o755)
    if bus:
        conn = bus.connection()
        wait_until(lambda: conn.name_has_owner(BUS_NAME), START, f"wsbridged to own {BUS_NAME}")
    return daemon


@pytest.fixture
def relays(wsb):
    """relays(bus, uid, gid): a bus_relay client as UID/GID; closed at teardown
    (before the harness stops the daemon and the bus)."""
    started = []

    def start(bus, uid=NOBODY, gid=NOBODY):
        relay = Relay(bus.address, uid, gid, wsb.tmp / f"relay{len(started) + 1}.stderr")
        started.append(relay)
        return relay
    yield start
    for relay in started:
        relay.close()


def _root_only_files(wsb):
    """Files only root may read, named by the keys that would make the daemon read them."""
    files = {}
    for key, body in (("token_file", "s3cr3t-token\n"), ("tls_ca_file", "not a CA\n"),
                      ("tls_cert_file", "not a certificate\n"),
                      ("tls_key_file", "not a private key\n")):
        path = wsb.tmp / f"root-only-{key}"
        path.write_text(body)
        path.chmod(0o600)
        files[key] = str(path)
    return files


def _refused_options(wsb):
    """(key, value, the exact refusal) for a creator that is neither root nor admin."""
    files = _root_only_files(wsb)
    return [
        ("token_file", files["token_file"],
         f"key 'token_file' may be set at runtime only by root or admin_groups {READ}"),
        ("auth_command", "/bin/cat /etc/hostname",
         f"key 'auth_command' may be set at runtime only by root or admin_groups {RUN}"),
        *[(key, files[key],
           f"key '{key}' may be set at runtime only by root or admin_groups {READ}")
          for key in ("tls_ca_file", "tls_cert_file", "tls_key_file")],
        ("allow_groups", "root",
         f"key 'allow_groups' may name only groups uid {NOBODY} is in unless root or "
         "admin_groups sets it; 'root' is not one of them"),
        ("allow_groups", "0",
         f"key 'allow_groups' may name only groups uid {NOBODY} is in unless root or "
         "admin_groups sets it; '0' is not one of them"),
        ("allow_users", "root",
         f"key 'allow_users' may name only yourself (uid {NOBODY}) unless root or "
         "admin_groups sets it; 'root' is another user"),
        ("allow_users", "0",
         f"key 'allow_users' may name only yourself (uid {NOBODY}) unless root or "
         "admin_groups sets it; '0' is another user"),
    ]


def _assert_nothing_created(daemon, server, names):
    """None of NAMES exists (root's status), none persisted, and SERVER saw
    nothing but the control session's connection (path /control)."""
    assert not set(names) & set(daemon.status()), daemon.status()
    stored = daemon.config_dir / "sessions.d"
    files = sorted(p.name for p in stored.iterdir()) if stored.exists() else []
    assert set(files) <= {"control.conf"}, files
    server.wait_connects(1)
    assert [h["path"] for h in server.events("handshake")] == ["/control"], \
        server.events("handshake")
    assert [c["path"] for c in server.connects()] == ["/control"], server.connects()


def _introspected_nodes(xml):
    return sorted(n.get("name") for n in ET.fromstring(xml).findall("node"))


# ---------------------------------------------------------------- 1. keys

def test_trust_creator_may_not_set_admin_keys_over_the_socket_api(wsb):
    """nobody, whom create_allow_groups lets create sessions, asks over the
    socket API for sessions whose keys would make the root daemon read a
    root-only file, run a command, or let others in: each is refused with
    the exact key, and nothing of it exists afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root: runs a client as another uid")
    server = wsb.server()
    daemon = _system_daemon(wsb, CREATE_AS_NOBODY)
    refused = _refused_options(wsb)
    names = []
    for n, (key, value, text) in enumerate(refused):
        name = f"attack{n}"
        names.append(name)
        # Autoconnect (the default) and --persist: had it been created, the
        # server would see it and sessions.d would hold it.
        r = _as_nobody("add", name, server.url + "attack", "--persist", "-o", f"{key}={value}",
                       socket=daemon.socket)
        assert r.returncode == 1 and text in r.stderr, (key, r.returncode, r.stderr)
    # The same creator with a harmless key is served, and connects.
    r = _as_nobody("add", "control", server.url + "control", "--persist",
                   "-o", "history_messages=5", socket=daemon.socket)
    assert r.returncode == 0, r.stderr
    daemon.wait_state("control", "open")
    _assert_nothing_created(daemon, server, names)
    r = _as_nobody("status", "--json", socket=daemon.socket)
    assert r.returncode == 0 and [s["name"] for s in json.loads(r.stdout)] == ["control"], r


def test_trust_creator_may_not_set_admin_keys_over_dbus(wsb, relays):
    """The same attacks through CreateSession on the system bus, as nobody."""
    if os.geteuid() != 0:
        pytest.skip("needs root: runs a D-Bus client as another uid")
    server = wsb.server()
    bus = _public_system_bus(wsb)
    daemon = _system_daemon(wsb, CREATE_AS_NOBODY, bus)
    nobody = relays(bus)
    names = []
    for n, (key, value, text) in enumerate(_refused_options(wsb)):
        name = f"attack{n}"
        names.append(name)
        err = nobody.error(MANAGER_PATH, MANAGER, "CreateSession", "ssa{sv}",
                           [name, server.url + "attack", {key: value, "persist": True}])
        assert err == (ERR + "AccessDenied", text), (key, err)
    path = nobody.call(MANAGER_PATH, MANAGER, "CreateSession", "ssa{sv}",
                       ["control", server.url + "control",
                        {"history_messages": "5", "persist": True}])
    assert path == session_path("control")
    daemon.wait_state("control", "open")
    _assert_nothing_created(daemon, server, names)
    assert nobody.call(MANAGER_PATH, MANAGER, "ListSessions") == [session_path("control")]
    # The bus told nobody of control, and of no attempt.
    wait_for(lambda: [s for s in nobody.got() if s["member"] == "SessionAdded"], 5 * SLOW,
             "nobody's SessionAdded of control")
    assert [s["args"] for s in nobody.got() if s["member"] == "SessionAdded"] == \
        [["control", session_path("control")]], nobody.got()
    assert not [s for s in nobody.got() if "attack" in json.dumps(s)], nobody.got()


# ---------------------------------------------------------------- 2. caps

def test_trust_per_user_cap_over_the_socket_api(wsb):
    """max_sessions_per_user=5: nobody's sixth session is refused with the
    exact LIMIT_EXCEEDED text; what root creates, or grants nobody, does not
    count against it; removing one makes room again."""
    if os.geteuid() != 0:
        pytest.skip("needs root: runs a client as another uid")
    daemon = _system_daemon(wsb, CREATE_AS_NOBODY + "max_sessions_per_user=5\n")
    full = f"uid {NOBODY} holds 5 sessions, its max_sessions_per_user"
    for i in range(1, 6):
        r = _as_nobody("add", f"s{i}", "ws://127.0.0.1:9/", "--no-connect", socket=daemon.socket)
        assert r.returncode == 0, (i, r.stderr)
    r = _as_nobody("add", "s6", "ws://127.0.0.1:9/", "--no-connect", socket=daemon.socket)
    assert r.returncode == 1 and full in r.stderr, r.stderr
    assert "s6" not in daemon.status()
    # Root is not capped; a session root grants nobody is not nobody's.
    daemon.ctl_ok("add", "rootmade", "ws://127.0.0.1:9/", "--no-connect")
    daemon.ctl_ok("add", "granted", "ws://127.0.0.1:9/", "--no-connect",
                  "-o", "allow_users=nobody")
    r = _as_nobody("add", "s6", "ws://127.0.0.1:9/", "--no-connect", socket=daemon.socket)
    assert r.returncode == 1 and full in r.stderr, r.stderr
    r = _as_nobody("remove", "s1", socket=daemon.socket)
    assert r.returncode == 0, r.stderr
    r = _as_nobody("add", "s6", "ws://127.0.0.1:9/", "--no-connect", socket=daemon.socket)
    assert r.returncode == 0, r.stderr
    r = _as_nobody("add", "s7", "ws://127.0.0.1:9/", "--no-connect", socket=daemon.socket)
    assert r.returncode == 1 and full in r.stderr, r.stderr
    assert set(daemon.status()) == {"s2", "s3", "s4", "s5", "s6", "rootmade", "granted"}


def test_trust_per_user_cap_is_one_count_for_both_frontends(wsb, relays):
    """What nobody creates over the socket API and over D-Bus counts against
    one max_sessions_per_user, refused alike on both (LimitExceeded, the same
    text); another user's count is its own."""
    if os.geteuid() != 0:
        pytest.skip("needs root: runs clients as another uid")
    bus = _public_system_bus(wsb)
    daemon = _system_daemon(wsb, f"[daemon]\ncreate_allow_groups={NOBODY};{OTHER}\n"
                                 "max_sessions_per_user=3\n", bus)
    nobody = relays(bus)
    for name in ("a1", "a2"):
        r = _as_nobody("add", name, "ws://127.0.0.1:9/", "--no-connect", socket=daemon.socket)
        assert r.returncode == 0, (name, r.stderr)
    assert nobody.call(MANAGER_PATH, MANAGER, "CreateSession", "ssa{sv}",
                       ["b1", "ws://127.0.0.1:9/", {"autoconnect": "false"}]) == session_path("b1")
    full = f"uid {NOBODY} holds 3 sessions, its max_sessions_per_user"
    assert nobody.error(MANAGER_PATH, MANAGER, "CreateSession", "ssa{sv}",
                        ["b2", "ws://127.0.0.1:9/", {"autoconnect": "false"}]) == \
        (ERR + "LimitExceeded", full)
    r = _as_nobody("add", "a3", "ws://127.0.0.1:9/", "--no-connect", socket=daemon.socket)
    assert r.returncode == 1 and full in r.stderr, r.stderr
    # uid 1 holds none of them.
    for name in ("o1", "o2", "o3"):
        r = _as_uid(OTHER, OTHER, "add", name, "ws://127.0.0.1:9/", "--no-connect",
                    socket=daemon.socket)
        assert r.returncode == 0, (name, r.stderr)
    r = _as_uid(OTHER, OTHER, "add", "o4", "ws://127.0.0.1:9/", "--no-connect",
                socket=daemon.socket)
    assert r.returncode == 1 and f"uid {OTHER} holds 3 sessions, its max_sessions_per_user" \
        in r.stderr, r.stderr
    # Removing one over D-Bus makes room over the socket API.
    assert nobody.call(MANAGER_PATH, MANAGER, "RemoveSession", "s", ["a1"]) is None
    r = _as_nobody("add", "a3", "ws://127.0.0.1:9/", "--no-connect", socket=daemon.socket)
    assert r.returncode == 0, r.stderr
    assert set(daemon.status()) == {"a2", "a3", "b1", "o1", "o2", "o3"}


def test_trust_max_sessions_caps_everyone(wsb):
    """max_sessions counts every session, the configured ones too, and holds
    for root as well."""
    daemon = wsb.daemon("[daemon]\nmax_sessions=3\n"
                        + session_conf("conf", "ws://127.0.0.1:9/", autoconnect="false"))
    daemon.ctl_ok("add", "a", "ws://127.0.0.1:9/", "--no-connect")
    daemon.ctl_ok("add", "b", "ws://127.0.0.1:9/", "--no-connect")
    r = daemon.ctl("add", "c", "ws://127.0.0.1:9/", "--no-connect")
    assert r.returncode == 1 and "the daemon holds 3 sessions, its max_sessions" in r.stderr, r
    assert set(daemon.status()) == {"conf", "a", "b"}


# Run as another uid: connect to the API socket at argv[1] and hand the
# connection to the test over the socket inherited as fd argv[2]. The daemon
# knows a client by the credentials of the process that connected.
CONNECT_AND_PASS = """\
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
socket.send_fds(socket.socket(fileno=int(sys.argv[2])), [b"x"], [s.fileno()])
"""


def _api_client_as(uid, gid, path):
    """An ApiClient whose connection was made by a process of UID/GID."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs:
        r = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                            wsbtest.PYTHON, "-c", CONNECT_AND_PASS, str(path),
                            str(theirs.fileno())],
                           pass_fds=[theirs.fileno()], capture_output=True, text=True,
                           timeout=10 * SLOW, cwd="/")
        assert r.returncode == 0, r.stderr
        _, fds, _, _ = socket.recv_fds(ours, 1, 1)
    assert len(fds) == 1
    api = ApiClient(path)  # root's connection, replaced by the other uid's
    api.sock.close()
    api.sock = socket.socket(fileno=fds[0])
    api.sock.settimeout(api.timeout)
    return api


def test_trust_create_flood_over_one_connection_stops_at_the_cap(wsb):
    """10,000 pipelined CreateSession requests on one socket API connection
    of nobody, with the default max_sessions_per_user: exactly 32 succeed,
    every other is LIMIT_EXCEEDED with the exact text, and the daemon still
    answers root quickly."""
    if os.geteuid() != 0:
        pytest.skip("needs root: runs a client as another uid")
    daemon = _system_daemon(wsb, CREATE_AS_NOBODY)
    api = _api_client_as(NOBODY, NOBODY, daemon.socket)
    api.hello()
    total = 10_000
    frames = []
    for i in range(total):
        body = pb.ClientFrame(request=pb.Request(id=i + 1, create_session=pb.CreateSessionRequest(
            name=f"f{i:05d}", url="ws://127.0.0.1:9/",
            options=[pb.SessionOption(key="autoconnect", value="false")]))).SerializeToString()
        frames.append(wsbtest.encode_varint(len(body)) + body)
    sent = []

    def write():
        # The daemon stops reading while our replies wait (max_requests_per_client):
        # the writer blocks meanwhile; the reader below drains.
        for start in range(0, total, 200):
            api.send_raw(b"".join(frames[start:start + 200]))
        sent.append(True)
    started = time.monotonic()
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    ok, limited, other = [], [], []
    deadline = started + 80 * CPU_SLOW
    while len(ok) + len(limited) + len(other) < total:
        assert time.monotonic() < deadline, (
            f"{len(ok) + len(limited) + len(other)} of {total} replies in "
            f"{deadline - started:.0f} s")
        frame = api.recv_frame(timeout=30 * CPU_SLOW)
        assert frame is not None, "EOF before every reply"
        if frame.WhichOneof("frame") != "reply":
            continue
        reply = frame.reply
        if reply.WhichOneof("result") == "session":
            ok.append(reply.session.name)
        elif (reply.WhichOneof("result") == "error"
              and reply.error.code == pb.ERROR_CODE_LIMIT_EXCEEDED):
            limited.append(reply.error.message)
        else:
            other.append(str(reply))
    writer.join(10)
    assert sent and not other, other[:3]
    assert len(ok) == 32, ok
    assert len(limited) == total - 32
    assert set(limited) == {f"uid {NOBODY} holds 32 sessions, its max_sessions_per_user"}, \
        set(limited)
    began = time.monotonic()
    status = daemon.status()
    took = time.monotonic() - began
    assert took < 2.0 * CPU_SLOW, f"status took {took:.2f} s after the flood"
    assert set(status) == set(ok)
    # The flooding connection is still served.
    assert set(api.list_sessions()) == set(ok)
    api.close()
    # Its denials are logged once a minute, not 9,968 times.
    denials = [line for line in daemon.log_text().splitlines() if "denied: uid 65534" in line]
    assert len(denials) == 1, denials[:3]


def test_trust_persisted_sessions_count_against_the_cap_at_start(wsb):
    """Sessions nobody persisted count against its cap when the daemon loads
    them: with max_sessions_per_user lowered to 2 only 2 of its 3 load, and
    the log names the file it did not load."""
    if os.geteuid() != 0:
        pytest.skip("needs root: runs a client as another uid")
    daemon = _system_daemon(wsb, CREATE_AS_NOBODY + "max_sessions_per_user=5\n")
    for name in ("p1", "p2", "p3"):
        r = _as_nobody("add", name, "ws://127.0.0.1:9/", "--no-connect", "--persist",
                       socket=daemon.socket)
        assert r.returncode == 0, (name, r.stderr)
        assert (daemon.config_dir / "sessions.d" / f"{name}.conf").exists()
    assert daemon.stop() == 0
    daemon.start(CREATE_AS_NOBODY + "max_sessions_per_user=2\n")
    loaded = set(daemon.status())
    assert len(loaded) == 2 and loaded < {"p1", "p2", "p3"}, loaded
    (missing,) = {"p1", "p2", "p3"} - loaded
    daemon.wait_log(rf"{missing}\.conf not loaded: uid {NOBODY} holds 2 sessions, its "
                    r"max_sessions_per_user")
    # Those it loaded are nobody's and count: it may not create another.
    r = _as_nobody("add", "p4", "ws://127.0.0.1:9/", "--no-connect", socket=daemon.socket)
    assert r.returncode == 1 and \
        f"uid {NOBODY} holds 2 sessions, its max_sessions_per_user" in r.stderr, r.stderr
    r = _as_nobody("status", "--json", socket=daemon.socket)
    assert r.returncode == 0 and {s["name"] for s in json.loads(r.stdout)} == loaded, r


def _socket_ops(name):
    """Every socket API request that names session NAME."""
    return {
        "get": dict(get_session=pb.GetSessionRequest(session=name)),
        "subscribe": dict(subscribe=pb.SubscribeRequest(session=name, channel="*")),
        "send": dict(send=pb.SendRequest(session=name, data=b"x")),
        "history": dict(history=pb.HistoryRequest(session=name, channel="*")),
        "connect": dict(connect=pb.ConnectRequest(session=name)),
        "disconnect": dict(disconnect=pb.DisconnectRequest(session=name)),
        "remove": dict(remove_session=pb.RemoveSessionRequest(session=name)),
    }


def test_trust_socket_api_answers_for_hidden_sessions_as_for_missing_ones(wsb):
    """nobody's connection to the socket API: every request naming a session
    it may not use (root-only, from the configuration file or made at
    runtime) answers exactly as for a name that never existed, and changes
    nothing."""
    if os.geteuid() != 0:
        pytest.skip("needs root: runs a client as another uid")
    server = wsb.server()
    daemon = _system_daemon(wsb, session_conf("rootonly", server.url + "rootonly",
                                              autoconnect="false")
                            + session_conf("mine", server.url + "mine", autoconnect="false",
                                           allow_users="nobody"))
    daemon.ctl_ok("add", "rootmade", server.url + "rootmade", "--no-connect")
    api = _api_client_as(NOBODY, NOBODY, daemon.socket)
    api.hello()
    assert set(api.list_sessions()) == {"mine"}
    for op, request in _socket_ops("ghost").items():
        reply = api.request(**request)
        assert reply.WhichOneof("result") == "error", (op, reply)
        want = (reply.error.code, reply.error.message)
        assert want == (pb.ERROR_CODE_NOT_FOUND, "no session named 'ghost'"), (op, reply)
        for name in ("rootonly", "rootmade"):
            reply = api.request(**_socket_ops(name)[op])
            assert reply.WhichOneof("result") == "error", (op, name, reply)
            got = (reply.error.code, reply.error.message.replace(name, "ghost"))
            assert got == want, (op, name, reply)
    # Its own session answers (so the requests above were well formed).
    for op in ("get", "history", "send", "disconnect"):
        reply = api.request(**_socket_ops("mine")[op])
        assert reply.WhichOneof("result") != "error", (op, reply)
    status = daemon.status()
    assert {n: (s["state"], s["queued"]) for n, s in status.items() if n != "mine"} == {
        "rootonly": ("disconnected", 0), "rootmade": ("disconnected", 0)}, status
    assert server.connects() == []
    api.close()


# ---------------------------------------------------------------- 3. bus

def _mentions(signal, names):
    text = json.dumps(signal)
    return [n for n in names if n in text or session_path(n) in text]


def test_trust_system_bus_signals_and_errors_stay_with_their_users(wsb, relays):
    """nobody on the system bus, known to the daemon, with a match rule for
    every signal of its name: root works a root-only session (connect,
    disconnect, create, remove) and then nobody's own; nobody receives the
    signals of its own sessions only. Asking about a root-only session is
    answered as about one that never existed, and introspection shows only
    nobody's node."""
    if os.geteuid() != 0:
        pytest.skip("needs root: runs a D-Bus client as another uid")
    server = wsb.server()
    bus = _public_system_bus(wsb)
    daemon = _system_daemon(
        wsb, session_conf("mine", server.url + "mine", autoconnect="false", allow_users="nobody")
        + session_conf("rootonly", server.url + "rootonly", autoconnect="false"), bus)
    root = Client(bus)
    assert sorted(root.manager("ListSessions")) == [session_path("mine"),
                                                   session_path("rootonly")]
    # A first call that is an introspection never shows the root-only node.
    first = relays(bus)
    xml = first.call(SESSIONS_PATH, INTROSPECTABLE, "Introspect")
    assert set(_introspected_nodes(xml)) <= {"mine"}, xml
    # nobody, known to the daemon; another user (uid 1, in none of the
    # allow lists), known too; and nobody again, never calling (unknown).
    nobody = relays(bus)
    assert nobody.call(MANAGER_PATH, MANAGER, "ListSessions") == [session_path("mine")]
    other = relays(bus, OTHER, OTHER)
    assert other.call(MANAGER_PATH, MANAGER, "ListSessions") == []
    silent = relays(bus)

    # Introspection: nobody sees its node only; root sees both.
    xml = nobody.call(SESSIONS_PATH, INTROSPECTABLE, "Introspect")
    assert _introspected_nodes(xml) == ["mine"], xml
    assert _introspected_nodes(other.call(SESSIONS_PATH, INTROSPECTABLE, "Introspect")) == []
    xml = root.obj(SESSIONS_PATH).Introspect(dbus_interface=INTROSPECTABLE)
    assert _introspected_nodes(xml) == ["mine", "rootonly"], xml
    # The root-only node itself introspects exactly as a node that never
    # existed does (whatever that is: the daemon may describe the interface).
    try:
        hidden = nobody.call(session_path("rootonly"), INTROSPECTABLE, "Introspect")
    except RelayError as e:
        hidden = (e.name, e.text.replace("rootonly", "NAME"))
    try:
        ghost = nobody.call(session_path("ghost"), INTROSPECTABLE, "Introspect")
    except RelayError as e:
        ghost = (e.name, e.text.replace("ghost", "NAME"))
    assert hidden == ghost, (hidden, ghost)

    # Asking about rootonly is like asking about a session that never existed.
    not_found = ERR + "NotFound"
    for name in ("rootonly", "ghost"):
        want = (not_found, f"no session named '{name}'")
        assert nobody.error(MANAGER_PATH, MANAGER, "GetSession", "s", [name]) == want
        assert nobody.error(session_path(name), PROPS, "Get", "ss", [SESSION, "State"]) == want
        assert nobody.error(session_path(name), PROPS, "GetAll", "s", [SESSION]) == want
        assert nobody.error(session_path(name), SESSION, "Connect") == want
        assert nobody.error(session_path(name), SESSION, "Send", "s", ["x"]) == want
        assert nobody.error(MANAGER_PATH, MANAGER, "RemoveSession", "s", [name]) == want
    assert daemon.status()["rootonly"]["state"] == "disconnected"
    assert nobody.call(session_path("mine"), PROPS, "Get", "ss", [SESSION, "State"]) == \
        "disconnected"

    # Root works the root-only sessions, and root's client sees it all.
    daemon.ctl_ok("connect", "rootonly")
    daemon.wait_state("rootonly", "open")
    daemon.ctl_ok("disconnect", "rootonly")
    daemon.wait_state("rootonly", "disconnected")
    daemon.ctl_ok("add", "secret", server.url + "secret")
    daemon.wait_state("secret", "open")
    daemon.ctl_ok("remove", "secret")
    root.manager("CreateSession", "secret2", "ws://127.0.0.1:9/", opts(autoconnect="false"))
    root.manager("RemoveSession", "secret2")
    for member, name in (("SessionAdded", "secret"), ("SessionRemoved", "secret"),
                         ("SessionAdded", "secret2"), ("SessionRemoved", "secret2")):
        wait_until(lambda: [s for s in root.got(member) if s[3][0] == name],
                   what=f"root's {member} of {name}")
    for name in ("rootonly", "secret"):
        wait_until(lambda: [s for s in root.got("PropertiesChanged")
                            if s[2] == session_path(name) and "open" in json.dumps(s[3])],
                   what=f"root's PropertiesChanged (State open) of {name}")

    # Then nobody's own: its signals come, and after them nothing else.
    daemon.ctl_ok("connect", "mine")
    daemon.wait_state("mine", "open")
    daemon.ctl_ok("disconnect", "mine")
    daemon.wait_state("mine", "disconnected")
    daemon.ctl_ok("add", "shared", "ws://127.0.0.1:9/", "--no-connect", "-o",
                  "allow_users=nobody")
    daemon.ctl_ok("remove", "shared")

    def own(member, path=None, arg0=None):
        return [s for s in nobody.got() if s["member"] == member
                and (path is None or s["path"] == path)
                and (arg0 is None or s["args"][:1] == [arg0])]
    wait_for(lambda: own("SessionRemoved", MANAGER_PATH, "shared"), 5 * SLOW,
             lambda: f"nobody's SessionRemoved of shared; it got {nobody.got()}")
    wait_for(lambda: [s for s in own("PropertiesChanged", session_path("mine"))
                      if s["args"][1].get("State") == "disconnected"], 5 * SLOW,
             lambda: f"nobody's PropertiesChanged (State disconnected) of mine; "
                     f"it got {nobody.got()}")
    time.sleep(1.0)  # bounded: anything about the root-only sessions would be here by now
    got = nobody.got()
    assert own("SessionAdded", MANAGER_PATH, "shared"), got
    assert [s for s in own("PropertiesChanged", session_path("mine"))
            if s["args"][1].get("State") == "open"], got
    leaked = [s for s in got if _mentions(s, ("rootonly", "secret", "secret2"))]
    assert not leaked, f"nobody received signals of sessions it may not use: {leaked}"
    assert {s["path"] for s in got} <= {MANAGER_PATH, session_path("mine"),
                                        session_path("shared")}, got
    # Every one of them was sent to nobody alone.
    assert {s["dest"] for s in got} == {nobody.unique_name}, got
    assert {s["sender"] for s in got} == {bus.connection().get_name_owner(BUS_NAME)}, got
    # The other user may use none of them, and a peer that never called is
    # not known: neither received anything.
    assert other.got() == [], other.got()
    assert silent.got() == [], silent.got()
    assert not [s for s in first.got() if _mentions(s, ("rootonly", "secret", "secret2"))], \
        first.got()


# ---------------------------------------------------------------- 4. identity

def _foreign_group():
    """(name, gid, cleanup) of a group nobody is not in per the user database:
    'wsbridge' when it exists, else one made for the test."""
    try:
        g = grp.getgrnam("wsbridge")
        assert "nobody" not in g.gr_mem
        return g.gr_name, g.gr_gid, lambda: None
    except KeyError:
        pass
    name = f"wsbtest{os.getpid()}"
    subprocess.run(["groupadd", name], check=True, capture_output=True)
    return name, grp.getgrnam(name).gr_gid, lambda: subprocess.run(
        ["groupdel", name], capture_output=True)


def _proc_ids(pid):
    fields = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


def test_trust_groups_come_from_the_user_database_on_both_frontends(wsb, relays):
    """nobody running with a foreign real gid and no supplementary groups:
    a session allowing that group is refused (NOT_FOUND, the same text on
    both frontends) since the user database does not put nobody in it, and
    a session allowing nogroup, which it does, is served on both."""
    if os.geteuid() != 0:
        pytest.skip("needs root: runs clients as another uid and gid")
    group, gid, cleanup = _foreign_group()
    try:
        bus = _public_system_bus(wsb)
        url = "ws://127.0.0.1:9/"
        daemon = _system_daemon(
            wsb, session_conf("bygid", url, autoconnect="false", allow_groups=group)
            + session_conf("bynum", url, autoconnect="false", allow_groups=str(gid))
            + session_conf("ng", url, autoconnect="false", allow_groups="nogroup")
            + session_conf("dflt", url, autoconnect="false"), bus)

        # The socket API.
        for name in ("bygid", "bynum", "dflt"):
            r = _as_uid(NOBODY, gid, "send", name, "hi", socket=daemon.socket)
            assert r.returncode == 1 and f"no session named '{name}'" in r.stderr, (name, r)
        r = _as_uid(NOBODY, gid, "send", "ng", "over the socket", socket=daemon.socket)
        assert r.returncode == 0, r.stderr
        r = _as_uid(NOBODY, gid, "status", "--json", socket=daemon.socket)
        assert r.returncode == 0 and [s["name"] for s in json.loads(r.stdout)] == ["ng"], r
        socket_text = _as_uid(NOBODY, gid, "send", "bygid", "hi",
                              socket=daemon.socket).stderr

        # D-Bus, as the same uid and gid; the bus itself reports that gid.
        relay = relays(bus, NOBODY, gid)
        ids = _proc_ids(relay.proc.pid)
        assert ids["Uid"][0] == str(NOBODY) and ids["Gid"][0] == str(gid), ids
        assert ids.get("Groups", []) == [], ids
        creds = bus.connection().call_blocking(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "GetConnectionCredentials", "s", (relay.unique_name,))
        assert int(creds["UnixUserID"]) == NOBODY
        if "UnixGroupIDs" in creds:
            assert [int(g) for g in creds["UnixGroupIDs"]] == [gid], creds
        assert relay.call(MANAGER_PATH, MANAGER, "ListSessions") == [session_path("ng")]
        for name in ("bygid", "bynum", "dflt"):
            err = relay.error(session_path(name), SESSION, "Send", "s", ["hi"])
            assert err == (ERR + "NotFound", f"no session named '{name}'"), (name, err)
            assert err[1] in socket_text.replace("bygid", name), (socket_text, err)
        assert isinstance(relay.call(session_path("ng"), SESSION, "Send", "s", ["over D-Bus"]),
                          int)
        # Both sends on ng are queued (it is not connected); none on the others.
        assert daemon.status()["ng"]["queued"] == 2, daemon.status()["ng"]
        for name in ("bygid", "bynum", "dflt"):
            assert daemon.status()[name]["queued"] == 0, daemon.status()[name]
        daemon.wait_log(rf"bygid: denied: uid {NOBODY} \(pid \d+\) may not send on it")
    finally:
        cleanup()
