"""One table of who may do what on the system instance, run over both
frontends: root, a user allowed by name (nobody, in allow_users and in
create_allow_groups), a user allowed by group (uid 1, group daemon), each
doing every operation on three sessions and creating sessions; every answer
is the table's, and the socket API and D-Bus give the same answer, word for
word, to the same user."""

import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

import wsbtest
from wsbtest import SLOW, ApiClient, pb, wait_for

HERE = pathlib.Path(__file__).parent
NOBODY, DAEMON_UID = 65534, 1
SESSIONS = {"mine": {"allow_users": "nobody"}, "grp": {"allow_groups": "1"}, "rootonly": {}}
OPS = ["list", "get", "subscribe", "send", "connect", "disconnect", "remove"]
CREATES = [("made", {}), ("cmd", {"auth_command": "/bin/true"}),
           ("wide", {"allow_groups": "root"})]


def expected(uid):
    """The table: [answer] in the order of plan()."""
    may_use = {0: set(SESSIONS), NOBODY: {"mine"}, DAEMON_UID: {"grp"}}[uid]
    out = []
    for name in SESSIONS:
        for op in OPS:
            if name in may_use:
                out.append("ok")
            else:
                out.append("hidden" if op == "list" else f"NOT_FOUND: no session named '{name}'")
    for name, options in CREATES:
        if uid == 0:
            out.append("ok")
        elif uid == DAEMON_UID:
            out.append("ACCESS_DENIED: uid 1 may not create sessions (root, [daemon] "
                       "create_allow_groups and admin_groups may)")
        elif "auth_command" in options:
            out.append("ACCESS_DENIED: key 'auth_command' may be set at runtime only by root "
                       "or admin_groups (it makes the daemon run a command)")
        elif "allow_groups" in options:
            out.append("ACCESS_DENIED: key 'allow_groups' may name only groups uid 65534 is in "
                       "unless root or admin_groups sets it; 'root' is not one of them")
        else:
            out.append("ok")
    return out


def plan():
    ops = [[op, name, {}] for name in SESSIONS for op in OPS]
    return ops + [["create", name, options] for name, options in CREATES]


@pytest.fixture
def public_dir():
    """A directory every uid may read: the client and its protobuf module."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="wsb-access-"))
    d.chmod(0o755)
    shutil.copy(HERE / "access_table_client.py", d)
    shutil.copy(wsbtest.BUILD_ROOT / "proto" / "wsbridge_pb2.py", d)
    for f in d.iterdir():
        f.chmod(0o644)
    yield d
    shutil.rmtree(d)


def start(wsb, public):
    bus = wsbtest.SystemBus(wsb.tmp / f"system-bus{len(wsb.buses) + 1}", public)
    wsb.buses.append(bus)
    bus.start()
    bus.sockdir.chmod(0o755)
    daemon = wsb.daemon(start=False, env=bus.env(STATE_DIRECTORY=wsb.tmp / "state"))
    daemon.args = ["--system", "--bus", "system"]
    daemon.start("[daemon]\ncreate_allow_groups=65534\n")
    for d in (daemon.socket.parent.parent, daemon.socket.parent):
        os.chmod(d, 0o755)
    conn = bus.connection()
    wait_for(lambda: conn.name_has_owner("io.github.WsBridge1"), 10 * SLOW, "the D-Bus name")
    api = ApiClient(daemon.socket)
    api.hello()
    for name, lists in SESSIONS.items():
        reply = api.request(create_session=pb.CreateSessionRequest(
            name=name, url="ws://127.0.0.1:9/",
            options=[pb.SessionOption(key="autoconnect", value="false")]
            + [pb.SessionOption(key=k, value=v) for k, v in lists.items()]))
        assert reply.WhichOneof("result") == "session", reply
    api.close()
    return daemon, bus


def run_as(uid, public, frontend, where):
    who = [] if uid == 0 else ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    r = subprocess.run([*who, wsbtest.PYTHON, str(public / "access_table_client.py"), frontend,
                        where, json.dumps(plan())],
                       capture_output=True, text=True, timeout=60 * SLOW, cwd="/",
                       env={"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1"})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("uid", [0, NOBODY, DAEMON_UID], ids=["root", "nobody", "uid1"])
def test_access_table_is_the_same_over_both_frontends(wsb, public_dir, uid):
    if os.geteuid() != 0:
        pytest.skip("needs root: runs clients as other uids")
    answers = {}
    for frontend in ("socket", "dbus"):
        daemon, bus = start(wsb, public_dir)
        where = str(daemon.socket) if frontend == "socket" else bus.address
        answers[frontend] = run_as(uid, public_dir, frontend, where)
    want = expected(uid)
    rows = [f"{op} {name}" for op, name, _ in plan()]
    for frontend, got in answers.items():
        wrong = [f"{row}: {g!r}, want {w!r}" for row, g, w in zip(rows, got, want) if g != w]
        assert not wrong, f"{frontend}:\n  " + "\n  ".join(wrong)
    assert answers["socket"] == answers["dbus"]
