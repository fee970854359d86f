"""The disk under the send-queue journal fills up (a 1 MiB tmpfs as the
state directory). A send that cannot be journaled is refused with a clear
error (queue_persist promises that an accepted send survives a restart);
the daemon keeps serving every client and session; what was accepted goes
out once, also when not even a DONE record fits any more; once there is
room again the journal is brought up to date, and after a SIGKILL and a
restart nothing is replayed, nothing is torn: the journal is not corrupt."""

import os
import pathlib

from wsbtest import SLOW, ApiClient, pb, session_conf, wait_for

CHUNK = 64 << 10


def _fill(path):
    """Write PATH until the file system is full; return the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                written += f.write(b"\0" * 4096)
        except OSError as e:
            assert e.errno == 28, e  # ENOSPC
    return written


def test_chaos_disk_full_under_the_journal(small_tmpfs, wsb):
    server = wsb.server()
    other = wsb.server("--send-interval", "0.02")
    config = (session_conf("q", server.url, queue_persist="true", queue_max_bytes="64M",
                           queue_max_messages=100000)
              + session_conf("other", other.url))
    daemon = wsb.daemon(config, start=False, env={"XDG_STATE_HOME": small_tmpfs.path})
    daemon.start(config)
    daemon.wait_state("q", "open")
    daemon.wait_state("other", "open")
    journal = daemon.journal_path("q")
    assert str(journal).startswith(str(small_tmpfs.path)), journal
    watch = wsb.watch(daemon, "other", 10 ** 7)
    watch.wait_messages(3)

    # The upstream goes away; sends wait in the journal until it is full.
    server.terminate()
    daemon.wait_state("q", ("backoff", "connecting"))
    api = ApiClient(daemon.socket)
    api.hello()
    accepted, refused = [], None
    for i in range(40):
        text = f"m{i}:" + "x" * CHUNK
        reply = api.send("q", text)
        if reply.WhichOneof("result") == "error":
            refused = reply.error
            break
        accepted.append(text)
    assert refused is not None, "every send was accepted: the journal never filled the disk"
    assert 5 < len(accepted) < 16, f"{len(accepted)} sends of 64 KiB fit in 1 MiB?"
    assert refused.code == pb.ERROR_CODE_QUEUE_FULL, refused
    assert "No space left on device" in refused.message, refused.message
    assert "queue_persist" in refused.message and "journal" in refused.message, refused.message
    daemon.wait_log(r"WARNING.*q: queue_persist: .*No space left on device")
    # The daemon keeps serving: other clients, other sessions, small sends
    # for as long as they fit.
    assert set(daemon.status()) == {"q", "other"}
    api.send_ok("other", "to the other session")
    mark = len(watch.messages())
    wait_for(lambda: len(watch.messages()) > mark + 5, 5 * SLOW,
             "the other session's watcher to keep receiving")

    # Now not even a DONE record fits: a filler takes the rest of the file
    # system, and sends of 1 byte, then empty ones, the journal's last page.
    filler = pathlib.Path(small_tmpfs.path) / "filler"
    _fill(filler)
    for text in ("e", ""):
        while api.send("q", text).WhichOneof("result") == "send":
            accepted.append(text)
    server.restart()
    daemon.wait_state("q", "open", timeout=10 * SLOW)
    wait_for(lambda: sorted(server.received()) == sorted(accepted), 10 * SLOW,
             "the accepted sends at the server")
    daemon.wait_state("q", "open", check=lambda s: s["queued"] == 0)
    daemon.wait_log(r"q: queue_persist: Could not write journal .*No space left on device")
    # Room again: the journal catches up by itself (without a new send).
    recovered = len(daemon.wait_log(r"q: queue_persist: the journal .* is written again"))
    os.unlink(filler)
    daemon.wait_log(r"q: queue_persist: the journal .* is written again", count=recovered + 1)
    wait_for(lambda: journal.stat().st_size == 28, 5 * SLOW,
             lambda: f"the journal to hold only its header ({journal.stat().st_size} bytes)")

    # A crash now, and a restart: nothing comes back, nothing is cut.
    api.close()
    daemon.proc.kill()
    daemon.returncode = daemon.proc.wait()
    before = len(daemon.log_text().splitlines())
    daemon.start(config)
    daemon.wait_state("q", "open", timeout=10 * SLOW)
    new_log = "\n".join(daemon.log_text().splitlines()[before:])
    assert "restored" not in new_log and "journal" not in new_log.lower(), new_log
    assert journal.read_bytes()[:8] == b"WSBJRNL\n"
    daemon.ctl_ok("send", "q", "after the restart", "--wait")
    wait_for(lambda: "after the restart" in server.received(), 5 * SLOW, "the last send")
    got = server.received()[:-1]
    assert got == accepted, (
        f"the server got {len(got)} queued sends for {len(accepted)} accepted "
        f"({len(got) - len(set(got))} twice)")
