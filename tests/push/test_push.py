"""wsbridge-push end to end: the real daemon, the test ntfy server, a private
session bus with activation, and connector apps written from the UnifiedPush
D-Bus specification."""

import base64
import re
import subprocess
import uuid

import dbus
import pytest

from pushtest import PUSH
from wsbtest import SLOW, wait_for

ENDPOINT = re.compile(r"^http://127\.0\.0\.1:\d+/up[A-Za-z0-9]{12}\?up=1$")


def topic_of(endpoint):
    return endpoint.split("/")[-1].split("?")[0]


def registered(desk, daemon, app, version=2, description="Chat"):
    """A running distributor with APP registered; returns (distributor, token, endpoint)."""
    dist = desk.distributor(daemon)
    token = str(uuid.uuid4())
    answer = desk.register(app, token, description, version=version)
    if version == 1:
        assert answer == ("REGISTRATION_SUCCEEDED", "")
    else:
        assert answer == {"success": "REGISTRATION_SUCCEEDED"}
    call = app.wait_calls("NewEndpoint")[-1]
    assert call["token"] == token
    endpoint = call["endpoint"]
    assert ENDPOINT.match(endpoint), endpoint
    desk.ntfy.wait_stream(lambda t: topic_of(endpoint) in t, "the stream to have the topic")
    return dist, token, endpoint


def test_push_register_endpoint_and_message(wsb, desk):
    daemon = wsb.daemon()
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app)
    assert app.calls("NewEndpoint")[0]["iface"] == "org.unifiedpush.Connector2"
    # The endpoint works: ntfy answers UnifiedPush discovery on it.
    assert desk.ntfy.get(endpoint) == {"unifiedpush": {"version": 1}}
    bodies = [b"hello", "h\u00e9llo \u2603".encode(), bytes(range(256)), b"\x00\xff\xfe"]
    ids = [desk.ntfy.publish(endpoint, b)["id"] for b in bodies]
    app.wait_calls("Message", len(bodies))
    assert app.messages() == list(zip(ids, bodies))
    for c in app.calls("Message"):
        assert c["token"] == token and not c["invalid"]
    # One session in the daemon carries it.
    assert "unifiedpush" in daemon.status()


def test_push_register_v1(wsb, desk):
    daemon = wsb.daemon()
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app, version=1)
    assert app.calls("NewEndpoint")[0]["iface"] == "org.unifiedpush.Connector1"
    msg = desk.ntfy.publish(endpoint, b"v1 body \x01")
    app.wait_calls("Message")
    c = app.calls("Message")[0]
    assert c["iface"] == "org.unifiedpush.Connector1"
    assert (c["token"], base64.b64decode(c["message"]), c["id"]) == (
        token, b"v1 body \x01", msg["id"])
    desk.unregister(token, version=1)
    un = app.wait_calls("Unregistered")[0]
    # Connector1 confirms an unregistration with an empty token (the spec).
    assert un["token"] == "" and un["iface"] == "org.unifiedpush.Connector1"


def test_push_two_apps_one_stream(wsb, desk):
    daemon = wsb.daemon()
    a, b = desk.app("org.example.A"), desk.app("org.example.B")
    dist, ta, ea = registered(desk, daemon, a)
    tb = str(uuid.uuid4())
    assert desk.register(b, tb)["success"] == "REGISTRATION_SUCCEEDED"
    eb = b.wait_calls("NewEndpoint")[0]["endpoint"]
    assert topic_of(ea) != topic_of(eb)
    desk.ntfy.wait_stream(lambda t: set(t) == {topic_of(ea), topic_of(eb)}, "one stream, 2 topics")
    desk.ntfy.publish(ea, b"for a")
    desk.ntfy.publish(eb, b"for b")
    a.wait_calls("Message")
    b.wait_calls("Message")
    assert [m for _, m in a.messages()] == [b"for a"]
    assert [m for _, m in b.messages()] == [b"for b"]
    # One stream is left: the URL was switched, not doubled.
    wait_for(lambda: len(desk.ntfy.open_streams()) == 1, 10.0 * SLOW, "one stream")


def test_push_app_not_running_is_activated(wsb, desk):
    daemon = wsb.daemon()
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app)
    assert len(app.starts()) == 1  # NewEndpoint started it
    app.kill()
    desk.ntfy.publish(endpoint, b"wake up")
    app.wait_calls("Message")
    assert len(app.starts()) == 2
    assert app.messages()[-1][1] == b"wake up"
    assert app.calls("Message")[-1]["pid"] == app.starts()[-1]["pid"]


def test_push_unregister_removes_topic(wsb, desk):
    daemon = wsb.daemon()
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app)
    keep = desk.app("org.example.Keep")
    tk = str(uuid.uuid4())
    desk.register(keep, tk)
    ek = keep.wait_calls("NewEndpoint")[0]["endpoint"]
    desk.ntfy.wait_stream(lambda t: topic_of(ek) in t and topic_of(endpoint) in t, "both topics")
    assert desk.unregister(token) == {}
    un = app.wait_calls("Unregistered")[0]
    assert un["token"] == token and un["iface"] == "org.unifiedpush.Connector2"
    desk.ntfy.wait_stream(lambda t: t == [topic_of(ek)], "the stream without the topic")
    desk.ntfy.publish(endpoint, b"to nobody")
    desk.ntfy.publish(ek, b"to keep")
    keep.wait_calls("Message")
    assert app.calls("Message") == []
    dist.wait_log(r"no longer registered|unregistered")
    # Unregistering the last one ends the stream and the session.
    desk.unregister(tk)
    keep.wait_calls("Unregistered")
    wait_for(lambda: desk.ntfy.open_streams() == [], 10.0 * SLOW, "no stream")
    wait_for(lambda: "unifiedpush" not in daemon.status(), 10.0 * SLOW, "no session")


def test_push_registrations_persist_and_reregister(wsb, desk):
    daemon = wsb.daemon()
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app)
    dist.stop()
    desk.distributor(daemon)
    desk.ntfy.wait_stream(lambda t: topic_of(endpoint) in t, "the stream again")
    desk.ntfy.publish(endpoint, b"after restart")
    app.wait_calls("Message")
    # Registering again with the same token gives the same endpoint.
    assert desk.register(app, token)["success"] == "REGISTRATION_SUCCEEDED"
    calls = app.wait_calls("NewEndpoint", 2)
    assert calls[-1]["endpoint"] == endpoint


def publish_series(desk, endpoint, label, n):
    return [desk.ntfy.publish(endpoint, f"{label} {i}".encode())["id"] for i in range(n)]


def check_exactly_once(app, ids):
    app.wait_calls("Message", len(ids), timeout=30.0 * SLOW)
    got = [i for i, _ in app.messages()]
    assert sorted(got) == sorted(ids), f"got {got}, want {ids}"
    assert len(got) == len(set(got)), f"duplicates in {got}"


def test_push_distributor_restart_mid_stream(wsb, desk):
    daemon = wsb.daemon()
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app)
    ids = publish_series(desk, endpoint, "before", 5)
    app.wait_calls("Message", 5)
    dist.stop()
    ids += publish_series(desk, endpoint, "while down", 5)
    desk.distributor(daemon)
    ids += publish_series(desk, endpoint, "after", 5)
    check_exactly_once(app, ids)
    # The replay asked for what came after a message taken before the stop
    # (the last one, unless its answer came after the 2 s a stop waits).
    streams = desk.ntfy.events("stream")
    assert streams[-1]["since"] in ids[:5], streams[-1]


def test_push_daemon_restart_mid_stream(wsb, desk):
    daemon = wsb.daemon()
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app)
    ids = publish_series(desk, endpoint, "before", 5)
    app.wait_calls("Message", 5)
    daemon.stop()
    ids += publish_series(desk, endpoint, "daemon down", 5)
    daemon.start()
    dist.wait_log(r"wsbridged reached again")
    ids += publish_series(desk, endpoint, "after", 5)
    check_exactly_once(app, ids)


def test_push_daemon_killed_mid_stream(wsb, desk):
    daemon = wsb.daemon()
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app)
    ids = publish_series(desk, endpoint, "before", 3)
    daemon.proc.kill()
    daemon.proc.wait()
    daemon.returncode = -9
    ids += publish_series(desk, endpoint, "daemon gone", 3)
    daemon.start()
    ids += publish_series(desk, endpoint, "after", 3)
    check_exactly_once(app, ids)


def test_push_invalid_calls_refused(wsb, desk):
    daemon = wsb.daemon()
    app = desk.app()
    dist = desk.distributor(daemon)
    obj = desk.distributor_object()
    d2 = "org.unifiedpush.Distributor2"

    def refused(args, iface=d2, method="Register"):
        with pytest.raises(dbus.DBusException) as e:
            obj.get_dbus_method(method, iface)(*args)
        assert e.value.get_dbus_name() == "org.freedesktop.DBus.Error.InvalidArgs", e.value
    sv = lambda d: dbus.Dictionary(d, signature="sv")  # noqa: E731
    refused([sv({"service": app.name, "token": ""})])
    refused([sv({"service": app.name, "token": "t" * 101})])
    refused([sv({"service": app.name})])
    refused([sv({"token": "abc"})])
    refused([sv({"service": ":1.42", "token": "abc"})])
    refused([sv({"service": "not a name", "token": "abc"})])
    refused([sv({"service": app.name, "token": dbus.ByteArray(b"\xff\xfe")})])
    refused([sv({"service": app.name, "token": "abc", "description": "d" * 1001})])
    refused([sv({"service": app.name, "token": dbus.Int32(5)})])
    refused([app.name, "", "desc"], iface="org.unifiedpush.Distributor1")
    refused([app.name, "x" * 101, "desc"], iface="org.unifiedpush.Distributor1")
    refused([sv({"token": dbus.ByteArray(b"\xff")})], method="Unregister")
    # A wrong signature is refused by the bus binding.
    with pytest.raises(dbus.DBusException) as e:
        desk.bus.connection().call_blocking("org.unifiedpush.Distributor.wsbridge",
                                            "/org/unifiedpush/Distributor", d2, "Register", "s",
                                            ("just a string",))
    assert e.value.get_dbus_name() == "org.freedesktop.DBus.Error.InvalidArgs"
    # An unknown token is ignored.
    assert desk.unregister("no-such-token") == {}
    desk.unregister("no-such-token", version=1)
    # Nothing of that reached the app or the state; the distributor serves on.
    assert app.entries() == []
    token = str(uuid.uuid4())
    assert desk.register(app, token, "ok")["success"] == "REGISTRATION_SUCCEEDED"
    endpoint = app.wait_calls("NewEndpoint")[0]["endpoint"]
    desk.ntfy.publish(endpoint, b"still serving")
    app.wait_calls("Message")
    # A token taken by another app is not handed over.
    other = desk.app("org.example.Other")
    assert desk.register(other, token) == {"success": "REGISTRATION_FAILED",
                                           "reason": "INTERNAL_ERROR"}


def test_push_no_server_configured(wsb, desk):
    daemon = wsb.daemon()
    desk.conf.write_text("[push]\n")
    app = desk.app()
    desk.distributor(daemon)
    assert desk.register(app, "tok") == {"success": "REGISTRATION_FAILED",
                                         "reason": "ACTION_REQUIRED"}
    res = desk.register(app, "tok", version=1)
    assert res[0] == "REGISTRATION_FAILED" and res[1]


def test_push_undeliverable_retried_then_dropped(wsb, desk):
    daemon = wsb.daemon()
    desk.write_conf("retry_initial_ms=100\nretry_attempts=3\nmax_pending_messages=2\n")
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app)
    app.kill()
    # The app can no longer be started: its activation fails.
    (desk.services / f"{app.name}.service").write_text(
        f"[D-BUS Service]\nName={app.name}\nExec=/bin/false\n")
    desk.bus.connection().call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "ReloadConfig", "", ())
    ids = publish_series(desk, endpoint, "lost", 3)
    # The bound per app: the oldest waiting one goes when a third comes.
    dist.wait_log(r"message \w+ for org\.example\.App dropped: 2 messages")
    dist.wait_log(r"not delivered .*trying again in \d+ ms")
    dist.wait_log(r"message \w+ for org\.example\.App dropped after 3 attempts", count=2)
    assert app.calls("Message") == []
    # It serves on: the app comes back, new messages arrive.
    desk.app(app.name)
    desk.bus.connection().call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "ReloadConfig", "", ())
    desk.ntfy.publish(endpoint, b"back")
    app.wait_calls("Message")
    assert [m for _, m in app.messages()] == [b"back"]
    assert not set(ids) & {i for i, _ in app.messages()}


def test_push_status(wsb, desk):
    daemon = wsb.daemon()
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app, description="My chat")
    out = subprocess.run([str(PUSH), "--status", "--config", str(desk.conf), "--state",
                          str(desk.state)], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert lines[0] == f"push server: {desk.ntfy.base}"
    assert lines[1].split() == ["APP", "DESCRIPTION", "ENDPOINT", "LAST", "MESSAGE"]
    assert lines[2].split() == [app.name, "My", "chat", endpoint, "never"]
    desk.ntfy.publish(endpoint, b"x")
    app.wait_calls("Message")

    def stamped():
        out = subprocess.run([str(PUSH), "--status", "--config", str(desk.conf), "--state",
                              str(desk.state)], capture_output=True, text=True,
                             check=True).stdout
        # The state is written once the app has answered.
        return re.search(r" \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", out.splitlines()[2])
    wait_for(stamped, 10.0 * SLOW, "--status to show the last message's time")


def test_push_distributor_activated(wsb, desk):
    daemon = wsb.daemon()
    args = " ".join(desk.push_args(daemon))
    log = desk.dir / "activated.log"
    (desk.services / "org.unifiedpush.Distributor.wsbridge.service").write_text(
        "[D-BUS Service]\nName=org.unifiedpush.Distributor.wsbridge\n"
        f"Exec=/bin/sh -c 'exec {PUSH} -v {args} 2>>{log}'\n")
    app = desk.app()
    token = str(uuid.uuid4())
    assert desk.register(app, token)["success"] == "REGISTRATION_SUCCEEDED"
    endpoint = app.wait_calls("NewEndpoint")[0]["endpoint"]
    desk.ntfy.publish(endpoint, b"via activation")
    app.wait_calls("Message")
    conn = desk.bus.connection()
    pid = int(conn.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "GetConnectionUnixProcessID", "s",
                                 ("org.unifiedpush.Distributor.wsbridge",)))
    import os
    import signal
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not conn.name_has_owner("org.unifiedpush.Distributor.wsbridge"),
             10.0 * SLOW, "the activated distributor to exit")
    text = log.read_text()
    assert "CRITICAL" not in text and "serving org.unifiedpush.Distributor.wsbridge" in text


def test_push_uninstalled_app_loses_registration(wsb, desk):
    daemon = wsb.daemon()
    desk.write_conf("retry_initial_ms=100\nretry_attempts=2\n")
    app, keep = desk.app(), desk.app("org.example.Keep")
    dist, token, endpoint = registered(desk, daemon, app)
    desk.register(keep, "keep-token")
    ek = keep.wait_calls("NewEndpoint")[0]["endpoint"]
    app.kill()
    (desk.services / f"{app.name}.service").unlink()
    desk.bus.connection().call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "ReloadConfig", "", ())
    desk.ntfy.publish(endpoint, b"nobody home")
    dist.wait_log(r"org\.example\.App can no longer be reached or started: its registration")
    desk.ntfy.wait_stream(lambda t: t == [topic_of(ek)], "the stream without the app's topic")
    out = subprocess.run([str(PUSH), "--status", "--config", str(desk.conf), "--state",
                          str(desk.state)], capture_output=True, text=True, check=True).stdout
    assert app.name not in out and keep.name in out


def test_push_token_file_and_session_life(wsb, desk):
    daemon = wsb.daemon()
    token_file = desk.dir / "ntfy.token"
    token_file.write_text("tk_secret123\n")
    token_file.chmod(0o600)
    desk.write_conf(f"token_file={token_file}\n")
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app)
    assert desk.ntfy.events("stream")[-1]["auth"] == "Bearer tk_secret123"
    assert "tk_secret123" not in dist.log()
    session = daemon.status()["unifiedpush"]
    assert session["state"] == "open", session
    # A clean stop takes the session out of the daemon; no stream is left.
    dist.stop()
    assert "unifiedpush" not in daemon.status()
    wait_for(lambda: desk.ntfy.open_streams() == [], 10.0 * SLOW, "no stream")


def test_push_second_instance_leaves_the_first_alone(wsb, desk):
    daemon = wsb.daemon()
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app)
    streams = len(desk.ntfy.events("stream"))
    second = desk.distributor(daemon, start=False)
    second.start(wait=False)
    assert second.proc.wait(10.0 * SLOW) == 1
    second.returncode = 1
    assert "owned by another process" in second.log()
    assert len(desk.ntfy.events("stream")) == streams  # the session was not made again
    desk.ntfy.publish(endpoint, b"first still serves")
    app.wait_calls("Message")


def test_push_corrupt_state_kept_aside(wsb, desk):
    daemon = wsb.daemon()
    desk.state.parent.mkdir(parents=True)
    desk.state.write_text('{"registrations": [{"token": 5}]}')
    app = desk.app()
    dist = desk.distributor(daemon)
    dist.wait_log(r"registrations\.json: .*; kept as .*registrations\.json\.bad-\d+, starting "
                  r"without registrations")
    aside = list(desk.state.parent.glob("registrations.json.bad-*"))
    assert len(aside) == 1 and aside[0].read_text() == '{"registrations": [{"token": 5}]}'
    assert desk.register(app, "fresh")["success"] == "REGISTRATION_SUCCEEDED"
    app.wait_calls("NewEndpoint")


def test_push_server_change_sends_new_endpoints(wsb, desk):
    daemon = wsb.daemon()
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app)
    desk.ntfy.publish(endpoint, b"on the first server")
    app.wait_calls("Message")
    dist.stop()
    other = desk.another_ntfy()
    desk.write_conf(ntfy=other)
    dist = desk.distributor(daemon)
    calls = app.wait_calls("NewEndpoint", 2)
    moved = calls[-1]["endpoint"]
    assert moved.startswith(other.base + "/") and topic_of(moved) == topic_of(endpoint)
    # The stream starts over on the new server (its ids mean nothing here).
    other.wait_stream(lambda t: t == [topic_of(moved)], "the stream on the new server")
    assert other.events("stream")[0]["since"] == "all"
    other.publish(moved, b"on the second server")
    app.wait_calls("Message", 2)
    assert [m for _, m in app.messages()] == [b"on the first server", b"on the second server"]
    dist.wait_log(r"the push server changed from http://127\.0\.0\.1:\d+ to ")


def test_push_undelivered_survive_a_distributor_restart(wsb, desk):
    daemon = wsb.daemon()
    desk.write_conf("retry_initial_ms=200\nretry_attempts=50\n")
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app)
    app.kill()
    working = (desk.services / f"{app.name}.service").read_text()
    (desk.services / f"{app.name}.service").write_text(
        f"[D-BUS Service]\nName={app.name}\nExec=/bin/false\n")
    reload = lambda: desk.bus.connection().call_blocking(  # noqa: E731
        "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "ReloadConfig",
        "", ())
    reload()
    ids = publish_series(desk, endpoint, "waiting", 3)
    dist.wait_log(r"not delivered .*trying again", count=3)
    dist.stop()
    (desk.services / f"{app.name}.service").write_text(working)
    reload()
    desk.distributor(daemon)
    check_exactly_once(app, ids)


def test_push_distributor_killed_mid_stream(wsb, desk):
    import json
    daemon = wsb.daemon()
    app = desk.app()
    dist, token, endpoint = registered(desk, daemon, app)
    ids = publish_series(desk, endpoint, "before", 4)
    app.wait_calls("Message", 4)
    # Once the answers are in, the position is on disk: no clean stop needed.
    wait_for(lambda: json.loads(desk.state.read_text())["last_id"] == ids[-1], 10.0 * SLOW,
             "the position to be written")
    dist.proc.kill()
    dist.proc.wait()
    dist.returncode = -9
    ids += publish_series(desk, endpoint, "while dead", 4)
    desk.distributor(daemon)
    ids += publish_series(desk, endpoint, "after", 4)
    check_exactly_once(app, ids)
