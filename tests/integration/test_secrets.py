"""Secrets never leave the daemon except in the upgrade request. One session
lives a whole life with a token_file token, a header value and an
auth_command credential, each a known random string: a 401 with a stale
token and the refresh after it, reconnects (the auth_command runs again,
with a fresh credential each time), a reload that changes the header, and
every error a credential can cause (bad headers in a reload, through the
CLI, D-Bus and the socket API; a malformed auth_command line; a token with
a line break; a URL with a password). Then every log line (debug
included), every `status --json`, every D-Bus property, every watch event
and every error text is searched for each of them."""

import json
import os
import secrets
import signal
import textwrap

import dbus

from test_dbus import ERR, Client, bus, dbus_daemon
from wsbtest import SLOW, ApiClient, pb, session_conf, wait_for

assert bus  # the fixture


def _secret(what):
    return f"{what}-{secrets.token_hex(12)}"


class Observer:
    """Collects everything the daemon shows a user, to search it at the end."""

    def __init__(self, daemon, client):
        self.daemon, self.client = daemon, client
        self.seen = []  # (where, text)

    def snapshot(self):
        """Records status --json, the D-Bus properties and the socket API's
        listing; returns the sessions from status --json, by name."""
        r = self.daemon.ctl("status", "--json")
        self.seen.append(("status --json", r.stdout + r.stderr))
        sessions = {s["name"]: s for s in json.loads(r.stdout)} if r.returncode == 0 else {}
        for path in self.client.manager("ListSessions"):
            props = self.client.conn.get_object("io.github.WsBridge1", path, introspect=False)
            values = props.GetAll("io.github.WsBridge1.Session",
                                  dbus_interface="org.freedesktop.DBus.Properties")
            self.seen.append((f"D-Bus properties of {path}", repr(dict(values))))
        api = ApiClient(self.daemon.socket)
        api.hello()
        self.seen.append(("ListSessions over the socket", str(api.list_sessions())))
        api.close()
        return sessions

    def error(self, where, text):
        assert text, f"{where}: no error text"
        self.seen.append((where, text))

    def wait_state(self, name, states, check=None, timeout=30 * SLOW):
        """Eventually-conditions: each state is a retry's, whose backoff and
        auth_command run slowly under ASan on a loaded machine."""
        states = (states,) if isinstance(states, str) else states
        seen = []

        def reached():
            s = self.snapshot().get(name)
            if s and (not seen or seen[-1] != (s["state"], s["reason"])):
                seen.append((s["state"], s["reason"]))
            return s if s and s["state"] in states and (check is None or check(s)) else None
        try:
            return wait_for(reached, timeout, f"session {name} in {states}", interval=0.05)
        except AssertionError as e:
            raise AssertionError(f"{e}; states seen (state, reason): {seen}") from None


def test_secrets_stay_out_of_logs_status_properties_and_errors(wsb, bus, tmp_path):
    token_old, token = _secret("TOKEN-OLD"), _secret("TOKEN")
    header1, header2 = _secret("HEADER-ONE"), _secret("HEADER-TWO")
    auth_prefix = _secret("AUTH")
    bad = {k: _secret(f"BAD-{k}") for k in ("reload", "cli", "dbus", "api", "auth", "token",
                                            "url")}
    server_token = tmp_path / "server-token"
    server_token.write_text(token)
    token_file = tmp_path / "token"
    token_file.write_text(token_old + "\n")
    counter, mode = tmp_path / "auth-count", tmp_path / "auth-mode"
    script = tmp_path / "auth.sh"
    script.write_text("#!/bin/sh\n" + textwrap.dedent(f"""\
        n=$(cat {counter} 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > {counter}
        if [ "$(cat {mode} 2>/dev/null)" = bad ]; then
            echo "X-Session {bad['auth']}"
        else
            echo "X-Session: {auth_prefix}-$n"
        fi
        """))
    script.chmod(0o755)
    server = wsb.server("--auth-token-file", str(server_token), "--send-interval", "0.2")

    def config(header, extra=""):
        return session_conf("s", server.url, token_file=token_file, auth_command=script,
                            headers=f"X-Api-Key: {header}") + extra
    daemon = dbus_daemon(wsb, bus, config(header1))
    client = Client(bus)
    obs = Observer(daemon, client)
    watch = wsb.watch(daemon, "s", 10 ** 6)

    # A stale token: 401, and the refresh (the file, re-read; the command, run again).
    obs.wait_state("s", "backoff", check=lambda s: "401" in s["reason"])
    token_file.write_text(token + "\n")
    status = obs.wait_state("s", "open")
    # Reconnects: each runs the auth_command again.
    for _ in range(2):
        server.kill()
        obs.wait_state("s", ("backoff", "connecting"))
        server.restart()
        status = obs.wait_state("s", "open", check=lambda s, r=status["reconnects"]:
                                s["reconnects"] > r)
    # A reload that changes the header: the session reconnects with it.
    daemon.reload(config(header2))
    status = obs.wait_state("s", "open", check=lambda s, r=status["reconnects"]:
                            s["reconnects"] > r)
    wait_for(lambda: any(c["headers"].get("x-api-key") == header2 for c in server.connects()),
             5 * SLOW, "a connection with the reloaded header")

    # Errors a credential can cause, each with its text kept.
    daemon.reload(config(header2, "[session t]\nurl=ws://127.0.0.1:9/\n"
                                  f"headers=X-Broken {bad['reload']}\n"))
    obs.error("the rejected reload", daemon.wait_log(
        r"configuration error, keeping the old configuration")[0])
    r = daemon.ctl("add", "t", "ws://127.0.0.1:9/", "--header", f"X-Key: {bad['cli']}\r\nX: y")
    assert r.returncode != 0
    obs.error("wsbridgectl add --header", r.stderr)
    try:
        client.manager("CreateSession", "t", "ws://127.0.0.1:9/", dbus.Dictionary(
            {"headers": f"{bad['dbus']}"}, signature="sv"))
        raise AssertionError("CreateSession with a header that is not 'Name: value' succeeded")
    except dbus.exceptions.DBusException as e:
        assert str(e.get_dbus_name()) == ERR + "InvalidArgument", e
        obs.error("D-Bus CreateSession", str(e.get_dbus_message()))
    api = ApiClient(daemon.socket)
    api.hello()
    for what, url, options in (
            ("a header without a colon", "ws://127.0.0.1:9/", {"headers": f"X-Key {bad['api']}"}),
            ("a URL with a password", f"ws://user:{bad['url']}@127.0.0.1:9/", {})):
        reply = api.request(create_session=pb.CreateSessionRequest(name="t", url=url, options=[
            pb.SessionOption(key=k, value=v) for k, v in options.items()]))
        assert reply.WhichOneof("result") == "error", (what, reply)
        obs.error(f"CreateSession over the socket: {what}", reply.error.message)
    api.close()
    mode.write_text("bad")
    daemon.ctl_ok("disconnect", "s")
    daemon.ctl_ok("connect", "s")
    obs.wait_state("s", "backoff", check=lambda s: "auth_command output" in s["reason"])
    # The token goes bad before the command is fixed, and the command is
    # fixed only once a try has failed on the token (a try reads the token
    # file, then runs the command: one that read the good token just before
    # it went bad would otherwise run the fixed command and open).
    token_file.write_text(f"{bad['token']}\n{bad['token']}-second-line\n")
    obs.wait_state("s", "backoff", check=lambda s: "line break" in s["reason"])
    mode.write_text("good")
    token_file.write_text(token + "\n")
    obs.wait_state("s", "open")
    daemon.proc.send_signal(signal.SIGHUP)  # reloading the same config
    obs.snapshot()

    # The secrets did go where they belong (else this test would prove nothing).
    shakes = server.events("handshake")
    sent = json.dumps(shakes)
    assert token_old in sent and token in sent and header1 in sent and header2 in sent, shakes
    fresh = {h["headers"].get("x-session") for h in shakes}
    assert len(fresh) >= 3 and all(v and v.startswith(auth_prefix) for v in fresh), fresh
    # ... and nowhere else.
    everything = [*obs.seen, ("watch", json.dumps([line for _, line in watch.lines])),
                  ("watch stderr", watch.stderr_path.read_text())]
    log = daemon.log_text()
    assert "auth_command output line 1 is not 'Name: value'" in log
    for secret in [token_old, token, header1, header2, auth_prefix, *bad.values()]:
        leaked = [line for line in log.splitlines() if secret in line]
        assert not leaked, f"{secret} in the daemon's log: {leaked[:3]}"
        leaked = [where for where, text in everything if secret in text]
        assert not leaked, f"{secret} shown in: {leaked[:5]}"
    # The snapshots saw the states where a credential could show: in the
    # status, in the D-Bus properties and in the socket listing alike.
    reasons = ("401", "auth_command output line 1", "line break")
    for where in ("status --json", "D-Bus properties", "ListSessions over the socket"):
        texts = " ".join(text for w, text in obs.seen if w.startswith(where))
        shown = [r for r in reasons if r in texts]
        # status --json decided each wait, so it showed every one of them.
        assert shown == list(reasons) if where == "status --json" else shown, (where, shown)
    assert os.path.exists(daemon.socket)
