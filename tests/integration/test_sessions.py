"""Sessions at runtime (add, remove, connect, disconnect, get) and access
control: the user instance serves only its own uid; the system instance
checks allow_users/allow_groups and create_allow_groups."""

import json
import os
import shutil
import subprocess

import wsbridge_pb2 as pb
from wsbtest import CTL, SLOW, ApiClient, needs_root, session_conf, wait_for

NOBODY = 65534


def _error_code(reply):
    assert reply.WhichOneof("result") == "error", reply
    return reply.error.code


def test_add_connect_disconnect_remove_through_the_cli(wsb):
    server = wsb.server("--send-interval", "0.05")
    daemon = wsb.daemon("")

    daemon.ctl_ok("add", "live", server.url, "--header", "X-Token: a;b\\c",
                  "-o", "history_messages=5", "-o", "backoff_initial_ms=50")
    daemon.wait_state("live", "open")
    headers = server.events("handshake")[0]["headers"]
    assert headers.get("x-token") == "a;b\\c", headers

    daemon.ctl_ok("disconnect", "live")
    st = daemon.wait_state("live", "disconnected")
    assert st["reason"] == "disconnected by request", st
    wait_for(lambda: server.close_codes()[-1:] == [1000], 5 * SLOW, "close code 1000")
    daemon.ctl_ok("connect", "live")
    daemon.wait_state("live", "open", check=lambda s: s["reconnects"] >= 1)

    # A reload keeps a runtime session although no file defines it.
    daemon.reload("")
    daemon.wait_log("SIGHUP")
    assert daemon.status()["live"]["state"] == "open"

    daemon.ctl_ok("remove", "live")
    wait_for(lambda: "live" not in daemon.status(), 5 * SLOW, "the session to go")
    wait_for(lambda: server.close_codes()[-1:] == [1001], 5 * SLOW, "close code 1001")


def test_add_refuses_bad_input_with_clear_errors(wsb):
    daemon = wsb.daemon(session_conf("fixed", "ws://127.0.0.1:9/", autoconnect="false"))
    cases = [
        (("add", "../x", "ws://h/"), "invalid session name"),
        (("add", "Upper", "ws://h/"), "invalid session name"),
        (("add", "ok", "http://h/"), "ws:// or wss://"),
        (("add", "ok", "ws://h/", "-o", "nope=1"), "unknown session option 'nope'"),
        (("add", "ok", "ws://h/", "-o", "url=ws://other/"), "unknown session option 'url'"),
        (("add", "ok", "ws://h/", "-o", "ping_interval=forever"), "ping_interval"),
        (("add", "ok", "ws://h/", "-o", "channel_key=nope"), "channel_key"),
        (("add", "ok", "ws://h/", "-o", "noequals"), "KEY=VALUE"),
        (("add", "fixed", "ws://h/"), "already exists"),
        (("remove", "fixed"), "remove it there and reload"),
        (("remove", "ghost"), "no session named 'ghost'"),
        (("connect", "ghost"), "no session named 'ghost'"),
    ]
    for args, needle in cases:
        r = daemon.ctl(*args)
        assert r.returncode in (1, 2) and needle in r.stderr, (args, r.returncode, r.stderr)
    # A header's value never shows in an error.
    r = daemon.ctl("add", "ok", "ws://h/", "--header", "Authorization: Bearer s3cr3t\r\nX: y")
    assert r.returncode == 1 and "s3cr3t" not in r.stderr, r.stderr
    assert "s3cr3t" not in daemon.log_text()
    assert set(daemon.status()) == {"fixed"}


def test_persisted_session_survives_restart_and_remove_deletes_it(wsb):
    server = wsb.server("--send-interval", "0.05")
    daemon = wsb.daemon("")
    daemon.ctl_ok("add", "kept", server.url, "--persist", "-o", "backoff_initial_ms=50")
    path = daemon.config_dir / "sessions.d" / "kept.conf"
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    daemon.wait_state("kept", "open")

    daemon.stop()
    daemon.start(config="")
    daemon.wait_state("kept", "open")
    # A reload reads the file it wrote and leaves the session alone.
    reconnects = daemon.status()["kept"]["reconnects"]
    daemon.reload("")
    daemon.wait_log("SIGHUP")
    assert daemon.status()["kept"]["reconnects"] == reconnects

    daemon.ctl_ok("remove", "kept")
    assert not path.exists()
    daemon.stop()
    daemon.start(config="")
    assert "kept" not in daemon.status()


def test_session_operations_over_the_socket_api(wsb):
    server = wsb.server("--send-interval", "0.05")
    daemon = wsb.daemon("")
    api = ApiClient(daemon.socket)
    api.hello()

    reply = api.request(create_session=pb.CreateSessionRequest(
        name="api", url=server.url,
        options=[pb.SessionOption(key="channel_key", value="/channel"),
                 pb.SessionOption(key="queue_max_messages", value="2")]))
    assert reply.WhichOneof("result") == "session" and reply.session.name == "api", reply
    again = api.request(create_session=pb.CreateSessionRequest(name="api", url=server.url))
    assert _error_code(again) == pb.ERROR_CODE_ALREADY_EXISTS
    twice = api.request(create_session=pb.CreateSessionRequest(
        name="b", url=server.url, options=[pb.SessionOption(key="origin", value="x"),
                                           pb.SessionOption(key="origin", value="y")]))
    assert _error_code(twice) == pb.ERROR_CODE_INVALID_ARGUMENT

    wait_for(lambda: api.request(get_session=pb.GetSessionRequest(session="api")).session.state
             == pb.SESSION_STATE_OPEN, 5 * SLOW, "api to open")
    missing = api.request(get_session=pb.GetSessionRequest(session="nope"))
    assert _error_code(missing) == pb.ERROR_CODE_NOT_FOUND

    assert api.request(disconnect=pb.DisconnectRequest(session="api")).WhichOneof("result") == "ok"
    wait_for(lambda: api.request(get_session=pb.GetSessionRequest(session="api")).session.state
             == pb.SESSION_STATE_DISCONNECTED, 5 * SLOW, "api to close")
    # Disconnected, sends wait in the queue (its limit came from the options).
    api.send_ok("api", "one")
    api.send_ok("api", "two")
    assert _error_code(api.send("api", "three")) == pb.ERROR_CODE_QUEUE_FULL
    assert api.request(connect=pb.ConnectRequest(session="api")).WhichOneof("result") == "ok"
    wait_for(lambda: server.received() == ["one", "two"], 5 * SLOW,
             "the queued sends")

    sub = api.subscribe_ok("api")
    assert api.request(remove_session=pb.RemoveSessionRequest(session="api")) \
        .WhichOneof("result") == "ok"
    assert "api" not in daemon.status()
    # The subscription ended with the session: unsubscribing it is NOT_FOUND.
    gone = api.request(unsubscribe=pb.UnsubscribeRequest(subscription_id=sub))
    assert _error_code(gone) == pb.ERROR_CODE_NOT_FOUND
    api.close()


def _world_reachable(daemon):
    """Let another uid reach the socket itself (the daemon decides)."""
    for d in (daemon.socket.parent.parent, daemon.socket.parent):
        os.chmod(d, 0o755)


def _as_uid(wsb, uid, *args, socket):
    """wsbridgectl ARGS as UID; it runs a copy of the CLI that UID can read."""
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run a client as another uid"
    ctl = wsb.readable_copy(CTL) / CTL.name
    return subprocess.run([setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                           str(ctl), "--socket", str(socket), *args],
                          capture_output=True, text=True, timeout=10 * SLOW, cwd="/")


def _as_nobody(wsb, *args, socket):
    return _as_uid(wsb, NOBODY, *args, socket=socket)


def _system_daemon(wsb, config):
    daemon = wsb.daemon(start=False, env={"STATE_DIRECTORY": None})
    daemon.args = ["--system"]
    daemon.env["STATE_DIRECTORY"] = str(daemon.workdir / "state")
    daemon.start(config)
    _world_reachable(daemon)
    return daemon


def test_user_instance_refuses_another_uid(wsb):
    needs_root("runs a client as another uid")
    daemon = wsb.daemon(session_conf("s", "ws://127.0.0.1:9/", autoconnect="false"))
    _world_reachable(daemon)
    os.chmod(daemon.socket, 0o666)

    r = _as_nobody(wsb, "status", socket=daemon.socket)
    assert r.returncode == 3 and "serves only its own user" in r.stderr, (r.returncode, r.stderr)
    daemon.wait_log(f"uid {NOBODY} is not this instance's user")
    # Its own user is still served.
    assert "s" in daemon.status()


def test_system_instance_applies_allow_lists(wsb):
    needs_root("runs a client as another uid")
    daemon = _system_daemon(wsb, session_conf("open", "ws://127.0.0.1:9/", autoconnect="false",
                                              allow_users="nobody")
                            + session_conf("closed", "ws://127.0.0.1:9/", autoconnect="false")
                            + session_conf("bygroup", "ws://127.0.0.1:9/", autoconnect="false",
                                           allow_groups=str(NOBODY)))
    assert (daemon.socket.stat().st_mode & 0o777) == 0o666

    r = _as_nobody(wsb, "status", "--json", socket=daemon.socket)
    assert r.returncode == 0, r.stderr
    assert sorted(s["name"] for s in json.loads(r.stdout)) == ["bygroup", "open"]
    # A session it may not use is to it as one that does not exist.
    r = _as_nobody(wsb, "send", "closed", "hi", socket=daemon.socket)
    assert r.returncode == 1 and "no session named 'closed'" in r.stderr, r.stderr
    missing = _as_nobody(wsb, "send", "nosuch", "hi", socket=daemon.socket)
    assert missing.stderr.replace("nosuch", "closed") == r.stderr
    r = _as_nobody(wsb, "history", "closed", socket=daemon.socket)
    assert r.returncode == 1 and "no session named 'closed'" in r.stderr, r.stderr
    r = _as_nobody(wsb, "send", "open", "hi", socket=daemon.socket)
    assert r.returncode == 0, r.stderr
    r = _as_nobody(wsb, "add", "mine", "ws://127.0.0.1:9/", socket=daemon.socket)
    assert r.returncode == 1 and "may not create sessions" in r.stderr, r.stderr
    daemon.wait_log(r"closed: denied: uid 65534 \(pid \d+\) may not send on it: not in its "
                    r"allow_users or allow_groups")
    # Root may do everything.
    daemon.ctl_ok("add", "rootmade", "ws://127.0.0.1:9/", "--no-connect")
    daemon.ctl_ok("send", "closed", "hi")


def test_system_instance_creator_may_use_what_it_created(wsb):
    """A user whom create_allow_groups lets create sessions joins the new
    session's allow_users (by uid), so it may use and remove what it made;
    nobody else gains anything."""
    needs_root("runs a client as another uid")
    other = 1  # "daemon" on Debian; any uid that is neither root nor nobody
    daemon = _system_daemon(wsb, f"[daemon]\ncreate_allow_groups={NOBODY};{other}\n")

    r = _as_nobody(wsb, "add", "mine", "ws://127.0.0.1:9/", "--no-connect", socket=daemon.socket)
    assert r.returncode == 0, r.stderr
    # Another user in allow_users is for root or admin_groups to grant.
    r = _as_nobody(wsb, "add", "kept", "ws://127.0.0.1:9/", "--no-connect", "--persist",
                   "-o", f"allow_users=root;{other}", socket=daemon.socket)
    assert r.returncode == 1 and "key 'allow_users' may name only yourself" in r.stderr, r.stderr
    r = _as_nobody(wsb, "add", "kept", "ws://127.0.0.1:9/", "--no-connect", "--persist",
                   "-o", "allow_users=nobody", socket=daemon.socket)
    assert r.returncode == 0, r.stderr
    stored = (daemon.config_dir / "sessions.d" / "kept.conf").read_text()
    assert f"allow_users=nobody;{NOBODY};" in stored, stored
    assert f"(created by uid {NOBODY})" in stored.splitlines()[0], stored

    r = _as_nobody(wsb, "status", "--json", socket=daemon.socket)
    assert r.returncode == 0, r.stderr
    assert sorted(s["name"] for s in json.loads(r.stdout)) == ["kept", "mine"]
    r = _as_nobody(wsb, "send", "mine", "queued", socket=daemon.socket)
    assert r.returncode == 0, r.stderr
    # The other creator may not use what nobody made.
    r = _as_uid(wsb, other, "send", "mine", "hi", socket=daemon.socket)
    assert r.returncode == 1 and "no session named 'mine'" in r.stderr, r.stderr
    r = _as_uid(wsb, other, "send", "kept", "hi", socket=daemon.socket)
    assert r.returncode == 1 and "no session named 'kept'" in r.stderr, r.stderr
    # Root's sessions list nobody extra; the creator may remove its own.
    daemon.ctl_ok("add", "rootmade", "ws://127.0.0.1:9/", "--no-connect")
    r = _as_nobody(wsb, "send", "rootmade", "hi", socket=daemon.socket)
    assert r.returncode == 1 and "no session named 'rootmade'" in r.stderr, r.stderr
    r = _as_nobody(wsb, "remove", "mine", socket=daemon.socket)
    assert r.returncode == 0, r.stderr
    assert "mine" not in daemon.status()


def test_socket_activation_uses_the_passed_socket(wsb):
    """Started by systemd's socket activation, the daemon serves the socket it
    is handed (the first client's connection is the one that starts it)."""
    activate = shutil.which("systemd-socket-activate")
    assert activate, "systemd-socket-activate (package systemd) is needed"
    daemon = wsb.daemon(start=False)
    daemon.prefix = [activate, "-l", str(daemon.socket)]
    daemon.start(session_conf("s", "ws://127.0.0.1:9/", autoconnect="false"))
    assert "s" in daemon.status()
    daemon.wait_log("using the API socket passed by systemd")


def test_status_and_logs_show_urls_without_query_values_or_userinfo(wsb):
    """A token in a URL's query is a secret: status, its JSON and the log
    show '…' in its place; the server gets the URL as written."""
    server = wsb.server()
    url = server.url.rstrip("/") + "/feed?token=SECRET-T0KEN&v=2"
    daemon = wsb.daemon(session_conf("s", url))
    daemon.wait_state("s", "open")
    server.wait_connects(1)
    assert "SECRET-T0KEN" in server.connects()[0]["path"]
    shown = daemon.status()["s"]["url"]
    assert shown == server.url.rstrip("/") + "/feed?token=…&v=…", shown
    out = daemon.ctl_ok("status").stdout
    assert "SECRET-T0KEN" not in out and "token=…" in out, out
    # Userinfo is refused outright, and the refusal does not echo it.
    r = daemon.ctl("add", "u", "ws://alice:PASSW0RD@127.0.0.1:9/x", "--no-connect")
    assert r.returncode == 1 and "PASSW0RD" not in r.stderr, r.stderr
    log = daemon.log_text()
    assert "SECRET-T0KEN" not in log and "PASSW0RD" not in log
