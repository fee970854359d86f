"""Bad configuration stops the daemon with status 2; unknown keys only warn."""

import pytest

from wsbtest import session_conf

URL = "ws://127.0.0.1:9/"

BAD = {
    "ping_interval": session_conf("s", URL, ping_interval="banana"),
    "backoff_max_ms": session_conf("s", URL, backoff_initial_ms=1000, backoff_max_ms=100),
    "url": session_conf("s", "http://x"),
    "url-missing": "[session s]\nping_interval=5\n",
    "max_message_bytes": session_conf("s", URL, max_message_bytes="12Q"),
    "max_frame_bytes": "[daemon]\nmax_frame_bytes=lots\n\n" + session_conf("s", URL),
}
# What stderr must name; the ordering error may name either key.
NAMES = {"backoff_max_ms": ("backoff_max_ms", "backoff_initial_ms"), "url-missing": ("url",)}


def _stderr(daemon):
    """The daemon's stderr with its config dir shown as CONFIG, so that a key
    name inside the temp path cannot satisfy an assertion."""
    return daemon.stderr_path.read_text().replace(str(daemon.config_dir), "CONFIG")


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_value_exits_2(wsb, case):
    daemon = wsb.daemon(BAD[case], wait=False)

    rc = daemon.wait_exit()

    stderr = _stderr(daemon)
    assert rc == 2, f"exit status {rc}, want 2; stderr:\n{stderr}"
    assert any(name in stderr for name in NAMES.get(case, (case,))), stderr
    assert "CONFIG/wsbridge.conf" in stderr, f"stderr does not name the file:\n{stderr}"


def test_bad_value_in_sessions_d_names_file(wsb):
    body = "[session]\nurl=ws://127.0.0.1:9/\nping_interval=banana\n"
    daemon = wsb.daemon("", sessions_d={"broken": body}, wait=False)

    rc = daemon.wait_exit()

    stderr = _stderr(daemon)
    assert rc == 2, f"exit status {rc}, want 2; stderr:\n{stderr}"
    assert "ping_interval" in stderr and "CONFIG/sessions.d/broken.conf" in stderr, stderr


def test_unknown_key_warns_and_daemon_runs(wsb):
    server = wsb.server()
    daemon = wsb.daemon("[daemon]\nfrobnicate=1\n\n" +
                        session_conf("s", server.url, pign_interval=5))

    daemon.wait_state("s", "open")

    stderr = _stderr(daemon)
    for key in ("pign_interval", "frobnicate"):
        lines = [line for line in stderr.splitlines() if key in line]
        assert lines, f"no warning naming {key}:\n{stderr}"
        assert any("CONFIG/wsbridge.conf" in line for line in lines), (
            f"the warning does not name the file: {lines}")
