"""wsbridged --check-config: validates the configuration start-up would load
and exits, 0 when it is valid, 2 with start-up's file:line message when it
is not; it starts nothing, so it may run beside the daemon (ExecReload=)."""

import os
import subprocess

import pytest

from test_config import BAD
from wsbtest import DAEMON, SLOW, WRAPPER, session_conf

URL = "ws://127.0.0.1:9/"


def _check(*args, env=None):
    return subprocess.run([*WRAPPER, str(DAEMON), "--check-config", *args],
                          capture_output=True, text=True, timeout=30 * SLOW,
                          env={**os.environ, **(env or {})})


def _error_lines(text):
    return [line for line in text.splitlines() if "configuration error" in line]


@pytest.mark.parametrize("case", sorted(BAD))
def test_check_config_reports_what_start_up_reports(wsb, case):
    daemon = wsb.daemon(BAD[case], wait=False)
    assert daemon.wait_exit() == 2
    at_start = _error_lines(daemon.stderr_path.read_text())
    assert len(at_start) == 1, daemon.stderr_path.read_text()

    r = _check("--config", str(daemon.config_dir))

    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert _error_lines(r.stderr) == at_start, r.stderr
    assert f"{daemon.config_dir}/wsbridge.conf:" in r.stderr, r.stderr
    assert r.stdout == "", r.stdout


def test_check_config_names_the_sessions_d_file(wsb):
    daemon = wsb.daemon(session_conf("ok", URL), start=False)
    daemon.write_config(session_conf("ok", URL),
                        sessions_d={"broken": "[session]\nurl=ws://127.0.0.1:9/\nping_interval=x\n"})

    r = _check("--config", str(daemon.config_dir))

    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"{daemon.config_dir}/sessions.d/broken.conf:" in r.stderr and "ping_interval" in r.stderr, \
        r.stderr


def test_valid_config_exits_0_with_its_warnings_and_starts_nothing(wsb):
    daemon = wsb.daemon(start=False)
    daemon.write_config("[daemon]\nfrobnicate=1\n\n" + session_conf("a", URL)
                        + session_conf("b", URL, pign_interval=5))

    r = _check("--config", str(daemon.config_dir), "--socket", str(daemon.socket))

    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout == f"wsbridged: configuration {daemon.config_dir} is valid (2 sessions)\n", \
        r.stdout
    for key, line in (("frobnicate", 2), ("pign_interval", 12)):
        assert f"warning: {daemon.config_dir}/wsbridge.conf:{line}: unknown key '{key}'" in r.stderr, \
            r.stderr
    assert not daemon.socket.exists(), "--check-config made the socket"
    assert "starting" not in r.stderr


def test_missing_config_dir_is_a_usage_error(wsb):
    missing = wsb.tmp / "no-such-dir"

    r = _check("--config", str(missing))

    assert r.returncode == 2
    assert f"--config {missing}: no such directory" in r.stderr, r.stderr


def test_system_check_config_reads_configuration_directory(wsb):
    """--system reads what the unit's ExecReload= gets: $CONFIGURATION_DIRECTORY."""
    conf = wsb.tmp / "etc-wsbridge"
    conf.mkdir()
    (conf / "wsbridge.conf").write_text(session_conf("s", URL))

    ok = _check("--system", env={"CONFIGURATION_DIRECTORY": str(conf)})
    (conf / "wsbridge.conf").write_text(session_conf("s", URL, ping_interval="soon"))
    bad = _check("--system", env={"CONFIGURATION_DIRECTORY": str(conf)})

    assert ok.returncode == 0 and f"configuration {conf} is valid (1 session)" in ok.stdout, ok
    assert bad.returncode == 2, bad
    assert f"{conf}/wsbridge.conf:" in bad.stderr and "ping_interval" in bad.stderr, bad.stderr


def test_a_bad_edit_is_reported_and_the_running_daemon_keeps_serving(wsb):
    """What "systemctl reload" does: --check-config first; a bad edit fails it,
    so no SIGHUP is sent and the daemon keeps its sessions."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("live", server.url))
    daemon.wait_state("live", "open")
    daemon.write_config(session_conf("live", server.url, backoff_initial_ms=1000,
                                     backoff_max_ms=100))

    r = _check("--config", str(daemon.config_dir))

    assert r.returncode == 2 and "backoff_" in r.stderr, (r.returncode, r.stderr)
    assert daemon.status()["live"]["state"] == "open"
    assert daemon.proc.poll() is None
