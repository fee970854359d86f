"""Journal: every log line carries SYSLOG_IDENTIFIER=wsbridged (`journalctl -t
wsbridged`), every line about a session WSBRIDGE_SESSION=NAME, so `journalctl
WSBRIDGE_SESSION=NAME` shows one session; stderr stays plain text when it is
not the journal."""

import re
import subprocess

import pkgtest
import wsbtest
from wsbtest import session_conf, wait_for

NAMES = ("prices", "chat7")


def _exercise(daemon, server):
    """Make the daemon log about its sessions from session.c, auth.c, hub.c,
    outbox.c and ipc-server.c: connects, auth_command, upstream subscribe,
    persisted queue, runtime creation and removal."""
    daemon.wait_state("prices", "open")
    watch = subprocess.Popen([str(wsbtest.CTL), "--socket", str(daemon.socket), "watch",
                              "prices/eu", "--count", "1"], stdout=subprocess.DEVNULL)
    wait_for(lambda: any('"subscribe"' in m for m in server.received()), 5.0 * wsbtest.SLOW,
             "the upstream subscribe frame")
    watch.kill()
    watch.wait()
    daemon.ctl_ok("add", "chat7", server.url)
    daemon.wait_state("chat7", "open")
    daemon.ctl_ok("remove", "chat7")


def _config(server):
    return session_conf("prices", server.url, auth_command="/bin/echo X-Trace: 1",
                        channel_key="/ch", subscribe_template='{"op":"subscribe","ch":"{channel}"}',
                        queue_persist="true")


def test_session_lines_carry_wsbridge_session(wsb):
    """The daemon's stderr is connected to a journal stream socket, as under
    systemd: GLib then writes structured entries to the journal socket, which
    this test reads. Every entry that names a session carries its field."""
    pkgtest.private_mounts()
    journal = pkgtest.Journal()
    server = wsb.server()
    daemon = wsb.daemon(start=False)
    daemon.write_config(_config(server))
    daemon.proc = subprocess.Popen(daemon.command(), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=journal.stderr,
                                   env=daemon.env)
    daemon.wait_ready()
    _exercise(daemon, server)
    wait_for(lambda: any(re.search(r"^chat7: removed by request", e.get("MESSAGE", ""))
                         for e in journal.entries), 5.0 * wsbtest.SLOW,
             lambda: f"the removal in the journal; entries: {journal.entries}")
    daemon.stop()
    entries = list(journal.entries)

    def tagged(name, pattern):
        return [e for e in entries if e.get("WSBRIDGE_SESSION") == name
                and re.search(pattern, e.get("MESSAGE", ""))]

    for name, pattern in (("prices", r"^prices: open"),                  # session.c
                          ("prices", r"^prices: running auth_command"),  # auth.c
                          ("prices", r"^prices: upstream subscribe for channel eu"),  # hub.c
                          ("chat7", r"^chat7: created at runtime"),      # hub.c
                          ("chat7", r"^chat7: removed by request")):        # hub.c
        assert tagged(name, pattern), (f"no journal entry {pattern!r} with WSBRIDGE_SESSION="
                                       f"{name}; entries:\n" + "\n".join(map(str, entries)))
    untagged = []
    for e in entries:
        for name in NAMES:
            if re.search(rf"\b{name}\b", e.get("MESSAGE", "")) and \
                    e.get("WSBRIDGE_SESSION") != name:
                untagged.append(e)
    assert not untagged, "entries naming a session without its WSBRIDGE_SESSION:\n" + \
        "\n".join(map(str, untagged))
    sample = tagged("prices", r"^prices: open")[0]
    assert sample["GLIB_DOMAIN"] == "wsbridge" and sample["PRIORITY"].isdigit(), sample
    # "journalctl -t wsbridged" finds every line, whatever the binary is called.
    strays = [e for e in entries if e.get("SYSLOG_IDENTIFIER") != "wsbridged"]
    assert not strays, "entries without SYSLOG_IDENTIFIER=wsbridged:\n" + "\n".join(map(str, strays))
    # Handled by the journal writer, so nothing of it went to stderr as text.
    assert b"prices: open" not in journal.stream, bytes(journal.stream)


def test_stderr_stays_plain_text(wsb):
    """Without the journal (stderr a file, even with a stale JOURNAL_STREAM) the
    lines are GLib's plain text, each naming its session."""
    server = wsb.server()
    daemon = wsb.daemon(start=False, env={"JOURNAL_STREAM": "8:12345"})
    daemon.start(_config(server))
    _exercise(daemon, server)
    daemon.wait_log(r"chat7: removed by request")
    text = daemon.log_text()
    assert re.search(r"^wsbridge-Message: [0-9:.]+: prices: open", text, re.M), text
    assert "WSBRIDGE_SESSION" not in text and "MESSAGE=" not in text, text
