"""Bad command lines and configuration files, next to a daemon that is
serving: wsbridgectl's usage errors exit 2 with a message and a pointer to
--help; a second wsbridged started with bad arguments or a broken
configuration (not UTF-8, NUL bytes, a session defined twice) exits with a
message naming the problem, and the running daemon notices nothing (its
socket, its session, its watcher)."""

import subprocess
import time

from wsbtest import CTL, DAEMON, SLOW, session_conf, wait_for


def _serving(wsb):
    server = wsb.server("--send-interval", "0.02")
    daemon = wsb.daemon(session_conf("feed", server.url))
    daemon.wait_state("feed", "open")
    watch = wsb.watch(daemon, "feed", 10 ** 6)
    watch.wait_messages(3)
    return daemon, watch


def _still_serving(daemon, watch):
    mark = time.monotonic()
    wait_for(lambda: len(watch.messages(after=mark)) >= 5, 5 * SLOW,
             "the watcher to keep receiving")
    status = daemon.status()["feed"]
    assert status["state"] == "open" and status["reconnects"] == 0, status
    assert not watch.events("gap", "state"), watch.events("gap", "state")


def test_ctl_usage_errors_exit_2_and_name_the_problem(wsb):
    daemon, watch = _serving(wsb)
    cases = [
        (("watch", "feed", "--count", "abc"), "invalid value 'abc' for --count"),
        (("watch", "feed", "--since", "5"), "--since needs --epoch"),
        (("history", "feed", "--last", "-3"), "invalid value '-3' for --last"),
        (("history", "feed", "--last", "99999999999999999999"), "for --last"),
        (("send",), "missing session name"),
        (("send", "feed", "a", "b"), "unexpected argument 'b' (quote the text to send)"),
        (("--bogus", "status"), "unknown option --bogus"),
        (("status", "--count", "1"), "unknown option --count"),
        (("watch",), "missing NAME[/CHANNEL]"),
        (("add", "x"), "missing NAME or URL"),
        (("send", "feed", "--ttl-ms", "5"), "unknown option --ttl-ms"),
    ]
    for args, needle in cases:
        r = daemon.ctl(*args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert needle in r.stderr and "--help" in r.stderr, (args, r.stderr)
    _still_serving(daemon, watch)


def _second_daemon(wsb, daemon, args=(), config=None, config_bytes=None, sessions_d=None):
    """wsbridged ARGS on DAEMON's socket with its own config: must exit, with
    the status and stderr returned."""
    other = wsb.daemon(start=False)
    if config_bytes is not None:
        (other.config_dir / "sessions.d").mkdir()
        (other.config_dir / "sessions.d" / "bad.conf").write_bytes(config_bytes)
    other.write_config(config or "", sessions_d)
    cmd = [str(DAEMON), "--config", str(other.config_dir), "--socket", str(daemon.socket),
           "--bus", "none", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=10 * SLOW, env=other.env,
                       errors="replace")
    return r.returncode, r.stderr.replace(str(other.config_dir), "CONFIG")


def test_daemon_bad_arguments_and_configs_exit_with_a_message(wsb, tmp_path):
    daemon, watch = _serving(wsb)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    cases = [
        ({"args": ["--frobnicate"]}, 2, "Unknown option --frobnicate"),
        ({"args": ["--user", "--system"]}, 2, "--user and --system exclude each other"),
        ({"args": ["--bus", "sideways"]}, 2, "--bus must be session, system or none"),
        ({"args": ["--config", str(a_file)]}, 2, "not a directory"),
        ({"config_bytes": b"[session]\nurl=ws://h/\n\x00\x01\x02"}, 2,
         "CONFIG/sessions.d/bad.conf: contains a NUL byte (not a text file?)"),
        ({"config_bytes": b"[session]\nurl=ws://h\xff\xfe/\n"}, 2,
         "CONFIG/sessions.d/bad.conf:2: [session] url:"),
        ({"config": session_conf("twice", "ws://h/"),
          "sessions_d": {"twice": "[session]\nurl=ws://h2/\n"}}, 2,
         "CONFIG/sessions.d/twice.conf:1: [session]: session 'twice' is already "
         "defined in CONFIG/wsbridge.conf"),
    ]
    for kwargs, want_rc, needle in cases:
        rc, stderr = _second_daemon(wsb, daemon, **kwargs)
        assert rc == want_rc and needle in stderr, (kwargs, rc, stderr)
        assert daemon.socket.exists(), f"{kwargs} removed the running daemon's socket"
    # The running daemon owns its socket: a second one with a good config says so.
    rc, stderr = _second_daemon(wsb, daemon)
    assert rc != 0 and str(daemon.socket) in stderr, (rc, stderr)
    _still_serving(daemon, watch)
    r = daemon.ctl("status")
    assert r.returncode == 0 and "feed" in r.stdout, r
    assert CTL.exists()
