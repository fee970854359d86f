"""What a new user meets in the first hour: every error names the problem
and the fix, and nothing hangs."""

import os
import signal
import socket
import subprocess
import time

from wsbtest import CTL, DAEMON, SLOW, session_conf, wait_for


def _stuck_listener(path):
    """A socket that accepts connections and never answers (a stuck daemon,
    or another program at the socket path)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.listen(16)
    return s


def _ctl(*args, input=None, timeout=30):
    return subprocess.run([str(CTL), *args], capture_output=True, text=True, input=input,
                          timeout=timeout)


def test_status_on_a_stuck_socket_gives_up_in_seconds(tmp_path):
    path = tmp_path / "stuck.sock"
    listener = _stuck_listener(path)
    for args, wait in ((("status",), 5), (("--timeout", "1", "status"), 1),
                       (("watch", "demo", "--timeout", "1"), 1)):
        start = time.monotonic()
        r = _ctl("--socket", str(path), *args)
        elapsed = time.monotonic() - start
        assert r.returncode == 3, (args, r.returncode, r.stderr)
        assert f"wsbridged at {path} did not answer the hello within {wait} s" in r.stderr, r.stderr
        assert "--timeout" in r.stderr, r.stderr
        assert wait - 0.2 < elapsed < wait + 2 * SLOW, (args, elapsed)
    listener.close()


def test_watch_waits_for_events_without_limit_once_subscribed(wsb):
    """--timeout bounds the hello and the subscribe reply, not the wait for
    messages."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("quiet", server.url))
    daemon.wait_state("quiet", "open")
    watch = subprocess.Popen([str(CTL), "--socket", str(daemon.socket), "--timeout", "0.5",
                              "watch", "quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        time.sleep(2)  # four timeouts long: the watch must still be there
        assert watch.poll() is None, watch.communicate()
    finally:
        watch.send_signal(signal.SIGINT)
        out, err = watch.communicate(timeout=10)
    assert watch.returncode == 0, err


def test_unreachable_daemon_says_how_to_start_it(tmp_path):
    r = _ctl("--socket", str(tmp_path / "none.sock"), "status")
    assert r.returncode == 3, r
    assert "No such file or directory" in r.stderr, r.stderr
    assert "systemctl --user start wsbridge" in r.stderr and "make run" in r.stderr, r.stderr


def test_wss_to_a_plain_server_is_named(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("s", server.url.replace("ws://", "wss://")))
    line = daemon.wait_log(r"s: backoff \(TLS handshake failed")[0]
    assert "is it a ws:// server?" in line, line


def test_config_key_outside_a_group_names_the_line(wsb):
    daemon = wsb.daemon("# a comment\n\nurl=ws://x/\n[session a]\nurl=ws://x/\n", wait=False)
    assert daemon.wait_exit() == 2
    assert "wsbridge.conf:3: key outside any [group]" in daemon.log(), daemon.log()


def test_config_unclosed_group_header_names_the_line(wsb):
    daemon = wsb.daemon("[session a]\nurl=ws://x/\n[session t\nurl=ws://y/\n", wait=False)
    assert daemon.wait_exit() == 2
    assert "wsbridge.conf:3: unclosed group header" in daemon.log(), daemon.log()


def test_config_unknown_key_suggests_the_known_one(wsb):
    daemon = wsb.daemon(session_conf("t", "ws://127.0.0.1:9/", autoconnect="false",
                                     ping_intervall="5"))
    daemon.wait_log(r"unknown key 'ping_intervall' in \[session t\] ignored "
                    r"\(did you mean 'ping_interval'\?\)")


def test_config_boolean_error_lists_what_is_accepted(wsb):
    daemon = wsb.daemon(session_conf("t", "ws://127.0.0.1:9/", autoconnect="maybe"), wait=False)
    assert daemon.wait_exit() == 2
    assert "expected a boolean (true/false, yes/no, on/off or 1/0), got 'maybe'" in daemon.log()


def test_explicit_config_dir_must_exist(tmp_path):
    r = subprocess.run([str(DAEMON), "--config", str(tmp_path / "nope"), "--socket",
                        str(tmp_path / "s.sock"), "--bus", "none"],
                       capture_output=True, text=True, timeout=10 * SLOW)
    assert r.returncode == 2, r
    assert f"--config {tmp_path / 'nope'}: no such directory" in r.stderr, r.stderr


def test_missing_default_config_dir_is_a_notice(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
           "XDG_RUNTIME_DIR": str(tmp_path / "run"), "XDG_STATE_HOME": str(tmp_path / "state")}
    (tmp_path / "run").mkdir(mode=0o700)
    log = tmp_path / "daemon.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([str(DAEMON), "--bus", "none"], stderr=err, env=env)
    try:
        # Terminated once it serves (before that, SIGTERM is not handled yet).
        wait_for(lambda: "listening on" in log.read_text(), 10 * SLOW, "the daemon to serve")
        assert "no configuration directory" in log.read_text(), log.read_text()
        assert str(tmp_path / "xdg" / "wsbridge") in log.read_text()
    finally:
        proc.terminate()
        assert proc.wait(timeout=10 * SLOW) == 0


def test_empty_send_is_refused_unless_asked_for(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("up", server.url))
    daemon.wait_state("up", "open")
    for args, stdin, how in ((("send", "up", ""), None, "an empty TEXT argument"),
                             (("send", "up", "-"), "", "nothing on standard input")):
        r = daemon.ctl(*args, input=stdin)
        assert r.returncode == 2, r
        assert f"the message is empty ({how}); use --allow-empty" in r.stderr, r.stderr
    daemon.ctl_ok("send", "up", "", "--allow-empty", "--wait")
    wait_for(lambda: [e["len"] for e in server.events("message")] == [0], 5 * SLOW,
             "the empty message at the server")


def test_add_errors_name_the_session(wsb):
    daemon = wsb.daemon("")
    r = daemon.ctl("add", "prices", "ws://h/", "-o", "ping_interval=soon")
    assert r.returncode == 1, r
    assert r.stderr.startswith("wsbridgectl: session 'prices': ping_interval: "), r.stderr


def test_since_beyond_last_seq_speaks_of_the_option(wsb):
    server = wsb.server("--send-interval", "0.01", "--send-count", "3")
    daemon = wsb.daemon(session_conf("s", server.url))
    st = daemon.wait_state("s", "open", check=lambda s: s["last_seq"] >= 3)
    r = daemon.ctl("watch", "s", "--since", "999999", "--epoch", str(st["epoch"]))
    assert r.returncode == 1, r
    assert r.stderr.startswith("wsbridgectl: --since 999999 is beyond"), r.stderr


def test_cli_typos_get_suggestions(wsb):
    daemon = wsb.daemon("")
    r = daemon.ctl("status", "--jsno")
    assert r.returncode == 2 and "unknown option --jsno (did you mean --json?)" in r.stderr, r
    r = daemon.ctl("stauts")
    assert r.returncode == 2 and "unknown command 'stauts' (did you mean 'status'?)" in r.stderr
    r = daemon.ctl("frobnicate")
    assert r.returncode == 2 and "unknown command 'frobnicate'\n" in r.stderr, r.stderr


def test_oversized_send_speaks_of_the_message_and_its_limit(wsb):
    server = wsb.server()
    daemon = wsb.daemon("[daemon]\nmax_frame_bytes=1M\n" + session_conf("up", server.url))
    daemon.wait_state("up", "open")
    r = daemon.ctl("send", "up", "-", input="x" * (1 << 20))
    assert r.returncode == 1, r
    assert "message of 1048576 bytes is too large" in r.stderr, r.stderr
    assert "at most 1048576 bytes ([daemon] max_frame_bytes)" in r.stderr, r.stderr
    assert "frame of" not in r.stderr, r.stderr
    daemon.ctl_ok("status")  # the daemon, and the connection rules, are fine


def test_send_larger_than_the_queue_says_why_the_queue_applies(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("up", server.url, queue_max_bytes="1M"))
    daemon.wait_state("up", "open")
    r = daemon.ctl("send", "up", "-", input="y" * (2 << 20))
    assert r.returncode == 1, r
    assert "larger than the session's queue_max_bytes (1048576): every send passes through " \
        "the send queue" in r.stderr, r.stderr
