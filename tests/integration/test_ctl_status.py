"""wsbridgectl status NAME…: only the named sessions, in the order given; a
name the daemon does not know is reported and makes the exit status 1."""

import json

from wsbtest import session_conf

URL = "ws://127.0.0.1:9/"
KEYS = {"name", "url", "state", "reason", "epoch", "last_seq", "reconnects", "rx_messages",
        "tx_messages", "queued", "rtt_us"}


def _daemon(wsb):
    return wsb.daemon("".join(session_conf(n, URL, autoconnect="false")
                              for n in ("alpha", "beta", "gamma")))


def _names(table):
    lines = table.splitlines()
    assert lines and lines[0].split()[:2] == ["NAME", "STATE"], table
    return [line.split()[0] for line in lines[1:]]


def test_status_names_only_those_sessions_in_order(wsb):
    daemon = _daemon(wsb)

    assert _names(daemon.ctl_ok("status").stdout) == ["alpha", "beta", "gamma"]
    assert _names(daemon.ctl_ok("status", "gamma", "alpha").stdout) == ["gamma", "alpha"]
    out = json.loads(daemon.ctl_ok("status", "--json", "beta").stdout)
    assert [s["name"] for s in out] == ["beta"] and set(out[0]) == KEYS, out
    assert out[0]["state"] == "disconnected" and out[0]["url"] == URL, out
    # The same object as in the full list.
    full = {s["name"]: s for s in json.loads(daemon.ctl_ok("status", "--json").stdout)}
    assert out[0] == full["beta"], (out, full)


def test_status_of_an_unknown_name_exits_1_after_the_others(wsb):
    daemon = _daemon(wsb)

    r = daemon.ctl("status", "beta", "ghost", "alpha")

    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert _names(r.stdout) == ["beta", "alpha"], r.stdout
    assert "ghost" in r.stderr and r.stderr.startswith("wsbridgectl: "), r.stderr

    r = daemon.ctl("status", "--json", "ghost")
    assert r.returncode == 1 and json.loads(r.stdout) == [], (r.returncode, r.stdout)
    assert "ghost" in r.stderr, r.stderr


def test_status_of_a_name_without_a_daemon_exits_3(wsb):
    daemon = _daemon(wsb)
    daemon.stop()

    r = daemon.ctl("status", "alpha")

    assert r.returncode == 3 and "cannot reach wsbridged" in r.stderr, (r.returncode, r.stderr)
