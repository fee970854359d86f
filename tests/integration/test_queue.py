"""The send queue: bounded, with a TTL, journaled when asked; every accepted
send ends in exactly one outcome, reported to the connection that sent it."""

import re
import subprocess
import time

import wsbtest
from wsbtest import SLOW, ApiClient, pb, session_conf, wait_for

SENT = pb.SEND_RESULT_SENT
EXPIRED = pb.SEND_RESULT_EXPIRED
CANCELLED = pb.SEND_RESULT_CANCELLED


def _down_server(wsb):
    """A server that is not running (its port is known, nothing listens)."""
    server = wsb.server()
    server.kill()
    return server


def _api(daemon):
    api = ApiClient(daemon.socket)
    api.hello()
    return api


def _outcomes(api, n, timeout=5.0 * SLOW):
    """The next N SendOutcome events of API (state events skipped; nothing
    else may come), as (session, send_id, result, reason)."""
    out = []
    while len(out) < n:
        ev = api.next_event(timeout)
        assert ev is not None, f"got {len(out)} of {n} outcomes: {out}"
        kind = ev.WhichOneof("event")
        if kind == "state":
            continue
        assert kind == "outcome" and ev.subscription_id == 0, f"unexpected event {ev}"
        o = ev.outcome
        out.append((o.session, o.send_id, o.result, o.reason))
    return out


def test_full_queue_rejects_send(wsb):
    server = _down_server(wsb)
    daemon = wsb.daemon(session_conf("q", server.url, queue_max_messages=2) +
                        session_conf("b", server.url, queue_max_bytes="1K"))
    daemon.wait_state("q", ("backoff", "connecting"))
    daemon.wait_state("b", ("backoff", "connecting"))

    daemon.ctl_ok("send", "q", "one")
    daemon.ctl_ok("send", "q", "two")
    r = daemon.ctl("send", "q", "three")
    assert r.returncode == 1 and "send queue is full" in r.stderr, r
    # --wait has nothing to wait for: the refusal is the outcome.
    r = daemon.ctl("send", "q", "three", "--wait")
    assert r.returncode == 1 and "send queue is full" in r.stderr, r
    api = _api(daemon)
    reply = api.send("q", "four")
    assert reply.WhichOneof("result") == "error", reply
    assert reply.error.code == pb.ERROR_CODE_QUEUE_FULL and reply.error.message, reply.error

    big = "x" * 600
    daemon.ctl_ok("send", "b", "b" + big)
    r = daemon.ctl("send", "b", "c" + big)
    assert r.returncode == 1 and "send queue is full" in r.stderr, r
    status = daemon.status()
    assert status["q"]["queued"] == 2 and status["b"]["queued"] == 1, status

    server.restart()
    daemon.wait_state("q", "open", check=lambda s: s["queued"] == 0)
    daemon.wait_state("b", "open", check=lambda s: s["queued"] == 0)
    # A rejected send has no outcome event: the first one api gets is this.
    after = api.send_ok("q", "after")
    assert _outcomes(api, 1) == [("q", after, SENT, "")]
    wait_for(lambda: "after" in server.received(), 5 * SLOW, "the last send")
    got = server.received()
    assert [m for m in got if not m.startswith(("b", "c"))] == ["one", "two", "after"], got
    assert [m for m in got if m.startswith(("b", "c"))] == ["b" + big], got
    api.close()


def test_send_wait_expires_after_queue_ttl(wsb):
    server = _down_server(wsb)
    daemon = wsb.daemon(session_conf("t", server.url, queue_ttl_ms=300))
    daemon.wait_state("t", ("backoff", "connecting"))

    start = time.monotonic()
    r = daemon.ctl("send", "t", "too late", "--wait")
    elapsed = time.monotonic() - start
    assert r.returncode == 1, r
    assert re.fullmatch(r"wsbridgectl: send \d+ expired: .+\n", r.stderr), r.stderr
    assert 0.25 <= elapsed < 3 * SLOW, f"expired after {elapsed:.2f} s with queue_ttl_ms=300"
    assert daemon.status()["t"]["queued"] == 0

    server.restart()
    daemon.wait_state("t", "open")
    daemon.ctl_ok("send", "t", "in time", "--wait")
    wait_for(lambda: server.received() == ["in time"], 5 * SLOW,
             lambda: f"only the second message at the server; it has {server.received()}")


def test_send_with_its_own_ttl_expires_alone(wsb):
    """--ttl (SendRequest.ttl_ms) expires that send only; the one queued
    before it without a TTL still goes out."""
    server = _down_server(wsb)
    daemon = wsb.daemon(session_conf("t", server.url, backoff_max_ms=300))
    daemon.wait_state("t", ("backoff", "connecting"))

    daemon.ctl_ok("send", "t", "patient")
    start = time.monotonic()
    r = daemon.ctl("send", "t", "hasty", "--ttl", "200", "--wait")
    elapsed = time.monotonic() - start
    assert r.returncode == 1 and "expired: not sent within its ttl_ms (200 ms)" in r.stderr, r
    assert 0.15 <= elapsed < 3 * SLOW, elapsed
    assert daemon.ctl("send", "t", "x", "--ttl", "0").returncode == 2

    server.restart()
    wait_for(lambda: server.received() == ["patient"], 5 * SLOW,
             lambda: f"only 'patient' at the server; it has {server.received()}")


def test_send_wait_while_open(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("w", server.url))
    daemon.wait_state("w", "open")

    r = daemon.ctl_ok("send", "w", "hello", "--wait", "-v")
    assert re.fullmatch(r"\d+\n", r.stdout), r.stdout
    wait_for(lambda: server.received() == ["hello"], 5 * SLOW,
             lambda: f"the server to have 'hello'; it has {server.received()}")
    second = daemon.ctl_ok("send", "w", "again", "--wait", "-v")
    assert int(second.stdout) > int(r.stdout), (r.stdout, second.stdout)
    wait_for(lambda: server.received() == ["hello", "again"], 5 * SLOW,
             lambda: f"the server to have both; it has {server.received()}")


def test_send_outcomes_go_to_the_sender(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("o", server.url))
    daemon.wait_state("o", "open")
    a, b = _api(daemon), _api(daemon)

    b_id = b.send_ok("o", "from b")
    assert _outcomes(b, 1) == [("o", b_id, SENT, "")]
    ids = [a.send_ok("o", f"from a {i}") for i in range(3)]
    assert len(set(ids)) == 3 and b_id not in ids, (b_id, ids)
    # b's outcome went out before these: had it reached a, it would come first.
    assert _outcomes(a, 3) == [("o", i, SENT, "") for i in ids]

    reply = a.send("o", b"\xff\xfe not UTF-8")
    assert reply.WhichOneof("result") == "error", reply
    assert reply.error.code == pb.ERROR_CODE_INVALID_ARGUMENT, reply.error
    binary_id = a.send_ok("o", b"\xff\xfe", binary=True)

    before = ["from b", "from a 0", "from a 1", "from a 2", b"\xff\xfe"]
    wait_for(lambda: server.received() == before, 5 * SLOW,
             lambda: f"the server to have {before}; it has {server.received()}")

    # Queued while the server is down: SENT once they go out, in order.
    server.kill()
    daemon.wait_state("o", ("backoff", "connecting"))
    queued = [a.send_ok("o", f"queued {i}") for i in range(2)]
    server.restart()
    got = _outcomes(a, 3)
    assert got == [("o", i, SENT, "") for i in [binary_id] + queued], got
    wait_for(lambda: server.received()[-2:] == ["queued 0", "queued 1"], 5 * SLOW,
             lambda: f"the queued sends at the server; it has {server.received()}")
    assert server.received() == before + ["queued 0", "queued 1"]
    a.close()
    b.close()


def test_removed_session_cancels_its_queue(wsb):
    server, keep = _down_server(wsb), wsb.server()
    config = session_conf("keep", keep.url)
    daemon = wsb.daemon(config + session_conf("gone", server.url))
    daemon.wait_state("gone", ("backoff", "connecting"))
    api = _api(daemon)
    ids = [api.send_ok("gone", f"never {i}") for i in range(2)]
    cmd = [str(wsbtest.CTL), "--socket", str(daemon.socket), "send", "gone", "never 3", "--wait"]
    waiting = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        daemon.wait_state("gone", ("backoff", "connecting"), check=lambda s: s["queued"] == 3)

        daemon.reload(config)

        got = _outcomes(api, 2)
        assert got == [("gone", i, CANCELLED, "session removed") for i in ids], got
        out, err = waiting.communicate(timeout=5 * SLOW)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 1, (waiting.returncode, out, err)
    assert re.fullmatch(r"wsbridgectl: send \d+ cancelled: session removed\n", err), err
    assert "gone" not in daemon.status()
    api.close()


def test_stop_without_persist_cancels_queued_sends(wsb):
    server = _down_server(wsb)
    daemon = wsb.daemon(session_conf("s", server.url))
    daemon.wait_state("s", ("backoff", "connecting"))
    api = _api(daemon)
    send_id = api.send_ok("s", "lost")

    assert daemon.stop() == 0

    got = _outcomes(api, 1)
    assert got[0][:3] == ("s", send_id, CANCELLED) and got[0][3], got
    assert api.next_event(5 * SLOW) is None, "more than one outcome"
    api.close()


# ---------------------------------------------------------------- queue_persist

def _persisted_three(wsb):
    """A daemon with queue_persist=true that queued p1..p3 while its server
    was down, then stopped. Returns (server, daemon, config)."""
    server = _down_server(wsb)
    config = session_conf("p", server.url, queue_persist="true")
    daemon = wsb.daemon(config)
    daemon.wait_state("p", ("backoff", "connecting"))
    for i in (1, 2, 3):
        daemon.ctl_ok("send", "p", f"p{i}")
    assert daemon.status()["p"]["queued"] == 3
    assert daemon.stop() == 0, "wsbridged did not exit 0 at SIGTERM"
    journal = daemon.journal_path("p")
    assert journal.is_file() and journal.stat().st_size > 0, journal
    return server, daemon, config


def _deliver_after_restart(server, daemon, config, want):
    """Start the daemon again, then the server: it gets WANT, once, in order."""
    daemon.start(config)
    daemon.wait_state("p", ("backoff", "connecting"), check=lambda s: s["queued"] == len(want))
    server.restart()
    daemon.wait_state("p", "open", check=lambda s: s["queued"] == 0)
    daemon.ctl_ok("send", "p", "marker", "--wait")
    wait_for(lambda: "marker" in server.received(), 5 * SLOW, "the marker at the server")
    assert server.received() == want + ["marker"]

    # Delivered is done: a further restart sends nothing again.
    assert daemon.stop() == 0
    daemon.start(config)
    daemon.wait_state("p", "open", check=lambda s: s["queued"] == 0)
    daemon.ctl_ok("send", "p", "marker 2", "--wait")
    wait_for(lambda: "marker 2" in server.received(), 5 * SLOW, "the second marker")
    assert server.received() == want + ["marker", "marker 2"]


def test_persisted_queue_survives_daemon_restart(wsb):
    server, daemon, config = _persisted_three(wsb)
    _deliver_after_restart(server, daemon, config, ["p1", "p2", "p3"])


def _journal_warning(daemon):
    shown = str(daemon.journal_path("p")).replace(str(daemon.workdir.parent), "TMP")
    lines = daemon.wait_log(re.escape(shown))
    assert any("WARNING" in line for line in lines), (
        f"want a warning naming {shown}; lines naming it: {lines}")


def test_torn_journal_tail_is_cut_with_warning(wsb):
    server, daemon, config = _persisted_three(wsb)
    journal = daemon.journal_path("p")
    with open(journal, "r+b") as f:
        f.truncate(journal.stat().st_size - 3)  # the last record loses its end

    _deliver_after_restart(server, daemon, config, ["p1", "p2"])
    _journal_warning(daemon)


def test_journal_garbage_tail_is_cut_with_warning(wsb):
    server, daemon, config = _persisted_three(wsb)
    with open(daemon.journal_path("p"), "ab") as f:
        f.write(b"\x17garbage that is no record at all\x00\xff" * 3)

    _deliver_after_restart(server, daemon, config, ["p1", "p2", "p3"])
    _journal_warning(daemon)
