"""Credentials: token_file and auth_command are fresh at every connect (that they never
leak is test_secrets.py)."""

import os
import textwrap
import time

from wsbtest import SLOW, session_conf, wait_for

def _script(path, body):
    """An executable /bin/sh script at PATH, replaced whole (never seen half-written)."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    tmp.chmod(0o755)
    os.replace(tmp, path)
    return path


def _counting_token_script(tmp_path):
    """Prints "Authorization: Bearer tok-N" with N = 1, 2, ... per run, and
    "X-Extra: <its first argument>"."""
    counter = tmp_path / "auth-count"
    return _script(tmp_path / "auth.sh", f"""\
        n=$(cat {counter} 2>/dev/null || echo 0)
        n=$((n + 1))
        echo "$n" > {counter}
        echo "Authorization: Bearer tok-$n"
        echo "X-Extra: $1"
        """)


def _handshakes(server):
    return server.events("handshake")


def test_auth_command_runs_again_after_401(wsb, tmp_path):
    script = _counting_token_script(tmp_path)
    server = wsb.server("--reject-first", "1")
    daemon = wsb.daemon(session_conf("s", server.url, auth_command=f"{script} first-arg"))

    daemon.wait_state("s", "open")

    shakes = _handshakes(server)
    assert [h["status"] for h in shakes] == [401, 101], shakes
    tokens = [h["headers"].get("authorization") for h in shakes]
    assert tokens == ["Bearer tok-1", "Bearer tok-2"], (
        f"want a fresh token after the 401, got {tokens}")
    assert all(h["headers"].get("x-extra") == "first-arg" for h in shakes), shakes
    assert server.wait_connects()[0]["headers"]["authorization"] == "Bearer tok-2"


def test_token_file_reread_before_each_connect(wsb, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    server = wsb.server()
    daemon = wsb.daemon(session_conf("s", server.url, token_file=token_file))
    daemon.wait_state("s", "open")
    assert server.wait_connects()[0]["headers"].get("authorization") == "Bearer first-token"

    server.kill()
    daemon.wait_state("s", ("backoff", "connecting"))
    token_file.write_text("  second-token \n")
    server.restart()
    daemon.wait_state("s", "open", check=lambda s: s["reconnects"] >= 1)

    wait_for(lambda: len(server.connects()) >= 2, 5 * SLOW, "the server to see the reconnect")
    assert server.connects()[-1]["headers"].get("authorization") == "Bearer second-token", (
        server.connects()[-1]["headers"])


def test_token_rejected_401_names_status_then_reread_token_opens(wsb, tmp_path):
    server_token = tmp_path / "server-token"
    server_token.write_text("good-token")
    token_file = tmp_path / "token"
    token_file.write_text("stale-token")
    server = wsb.server("--auth-token-file", server_token)
    daemon = wsb.daemon(session_conf("s", server.url, token_file=token_file))

    status = daemon.wait_state("s", "backoff", check=lambda s: s["reason"])
    assert "unauthorized" in status["reason"] and "HTTP 401" in status["reason"], status
    token_file.write_text("good-token\n")

    daemon.wait_state("s", "open")
    connects = wait_for(server.connects, 5 * SLOW, "the server to record the connection")
    assert connects[0]["headers"]["authorization"] == "Bearer good-token"


def test_http_403_reason_names_unauthorized(wsb):
    server = wsb.server("--reject-first", "1000", "--reject-status", "403")
    daemon = wsb.daemon(session_conf("s", server.url, headers="X-Api-Key: wrong"))

    status = daemon.wait_state("s", "backoff", check=lambda s: s["reason"])

    assert "unauthorized" in status["reason"] and "HTTP 403" in status["reason"], status
    wait_for(lambda: len(_handshakes(server)) >= 2, 5 * SLOW, "the daemon to try again")


def test_auth_command_failure_backs_off_and_daemon_lives(wsb, tmp_path):
    runs = tmp_path / "runs"
    script = _script(tmp_path / "auth.sh", f"""\
        echo run >> {runs}
        echo "no credentials today" >&2
        exit 3
        """)
    server = wsb.server()
    daemon = wsb.daemon(session_conf("s", server.url, auth_command=script))

    status = daemon.wait_state("s", "backoff", check=lambda s: s["reason"])
    assert "auth_command" in status["reason"], status
    wait_for(lambda: runs.exists() and len(runs.read_text().splitlines()) >= 2, 5 * SLOW,
             "the daemon to run the failing command again")
    assert daemon.proc.poll() is None
    assert not _handshakes(server), "connected without the credentials"

    # The command runs again before the next try: once it works, so does the session.
    _script(script, 'echo "Authorization: Bearer fixed"\n')
    daemon.wait_state("s", "open")
    assert server.wait_connects()[0]["headers"]["authorization"] == "Bearer fixed"


def test_auth_command_hanging_is_killed_after_10_s(wsb, tmp_path):
    pid_file = tmp_path / "auth.pid"
    script = _script(tmp_path / "auth.sh", f"""\
        echo $$ > {pid_file}.tmp && mv {pid_file}.tmp {pid_file}
        exec sleep 60
        """)
    server = wsb.server()
    started = time.monotonic()  # the command cannot start before the daemon
    daemon = wsb.daemon(session_conf("s", server.url, auth_command=script))
    # The watch sees every state change, however short the backoff.
    watch = wsb.watch(daemon, "s", 100000)
    pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 5 * SLOW,
                       "the auth_command to start"))

    # The daemon keeps serving while the command hangs.
    while time.monotonic() - started < 5:
        assert daemon.status()["s"]["state"] == "connecting"

    def timed_out():
        return [line for _, line in list(watch.lines) if line.get("type") == "state" and
                line.get("state") == "backoff" and "auth_command" in line.get("reason", "")]
    event = wait_for(timed_out, 9 * SLOW, lambda: (
        f"a backoff naming auth_command; watch saw {[line for _, line in watch.lines]}"))[0]
    elapsed = time.monotonic() - started
    assert elapsed > 9.5, f"auth_command stopped after {elapsed:.1f} s, want 10 s: {event}"
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 3 * SLOW,
             f"the hanging auth_command (pid {pid}) to be killed and reaped")
    assert not _handshakes(server)
