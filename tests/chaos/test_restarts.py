"""Upstream restarts with traffic both ways: no send is lost or duplicated,
and a resuming subscriber accounts for every inbound seq exactly once.

Short form 10 graceful restarts and 8 SIGKILLs; WSB_CHAOS_LONG=1: 100 each."""

import random
import time

from chaostest import Worker, scale
from wsbtest import SLOW, ApiClient, pb, session_conf

CYCLES = scale(10, 100)
SENDS = 100 * CYCLES
KILL_CYCLES = scale(8, 100)
KILL_SENDS = 70 * KILL_CYCLES
UP_TIME = 0.4          # seconds the server runs in each cycle
HISTORY = 40           # messages the "*" history keeps
SERVER_INTERVAL = 0.01  # the server sends "msg <n>" this often
HELLO = '{"op":"hello"}'
SUB = '{"op":"subscribe","channel":"chaos"}'


def _sender(socket_path, sends, duration, record):
    """Sends "c0".."c<SENDS-1>" over the socket API, paced over DURATION
    seconds, then waits for every outcome."""
    def run(worker):
        api = ApiClient(socket_path)
        api.hello()
        start = time.monotonic()
        for i in range(sends):
            ahead = start + i * duration / sends - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            record["ids"].append(api.send_ok("c", f"c{i}"))
        record["sent_all"] = time.monotonic()
        deadline = time.monotonic() + 60 * SLOW
        outcomes = record["outcomes"]
        while len(outcomes) < sends and time.monotonic() < deadline:
            ev = api.next_event(max(0.0, deadline - time.monotonic()))
            if ev is None:
                break
            if ev.WhichOneof("event") == "outcome":
                outcomes.append((ev.outcome.send_id, ev.outcome.result, ev.outcome.reason))
        api.close()
    return Worker(run)


def _resumer(socket_path, epoch, record):
    """A subscriber of "*" that keeps disconnecting and resuming from the
    last seq it accounted for; some absences outlast the history."""
    rng = random.Random(4)
    covered = record["covered"]  # seqs, as messages or inside gaps, in order
    events = record["events"]

    def last():
        return covered[-1] if covered else 0

    def last_seq(api):
        return api.list_sessions()["c"].last_seq

    def run(worker):
        resumes = 0
        while True:
            api = ApiClient(socket_path)
            api.hello()
            reply = api.subscribe("c", "*", last(), epoch)
            assert reply.WhichOneof("result") == "subscribe", (
                f"resume {resumes} since {last()}: {reply}")
            resumes += 1
            final = worker.stop.is_set()
            until = record.get("final_seq") if final else None
            deadline = time.monotonic() + rng.uniform(0.2, 0.8)
            while (last() < until) if final else time.monotonic() < deadline:
                ev = api.next_event(0.05 if not final else 10 * SLOW)
                if ev is None:
                    assert not final, f"the final catch-up stalled at {last()} of {until}"
                    continue
                kind = ev.WhichOneof("event")
                if kind == "message":
                    m = ev.message
                    events.append(("msg", m.seq, m.data.decode(), m.epoch))
                    covered.append(m.seq)
                elif kind == "gap":
                    g = ev.gap
                    events.append(("gap", g.from_seq, g.to_seq, g.epoch))
                    covered.extend(range(g.from_seq, g.to_seq + 1))
            api.close()
            if final:
                record["resumes"] = resumes
                return
            # Away for a while: every third time long enough for the
            # history to lose messages this subscriber has not seen.
            probe = ApiClient(socket_path)
            probe.hello()
            want = last() + (HISTORY + 20 if resumes % 3 == 0 else 5)
            while last_seq(probe) < want and not worker.stop.is_set():
                time.sleep(0.02)
            probe.close()
    return Worker(run)


def _chaos(wsb, capsys, cycles, sends, restart):
    """CYCLES server restarts (RESTART(server)) while a client sends SENDS
    messages and the server sends continuously. Returns what was seen."""
    counter = wsb.tmp / "server-counter"
    server = wsb.server("--send-interval", str(SERVER_INTERVAL), "--counter-file", str(counter))
    daemon = wsb.daemon(session_conf(
        "c", server.url, backoff_initial_ms=20, backoff_max_ms=200, history_messages=HISTORY,
        queue_max_messages=sends * 2, queue_max_bytes="16M", on_connect=HELLO,
        subscribe_template='{"op":"subscribe","channel":"{channel}"}'))
    epoch = daemon.wait_state("c", "open")["epoch"]
    holder = ApiClient(daemon.socket)  # keeps "chaos" subscribed upstream
    holder.hello()
    holder.subscribe_ok("c", "chaos")

    sent = {"ids": [], "outcomes": []}
    seen = {"covered": [], "events": []}
    # Paced to last about as long as the restarts (each takes UP_TIME and a
    # few tenths of a second to stop, start and reconnect).
    sender = _sender(daemon.socket, sends, cycles * (UP_TIME + 0.2), sent)
    resumer = _resumer(daemon.socket, epoch, seen)
    start = time.monotonic()
    sender.start()
    resumer.start()

    reconnects = -1
    for _ in range(cycles):
        reconnects = daemon.wait_state("c", "open", timeout=10 * SLOW,
                                       check=lambda s, r=reconnects: s["reconnects"] > r
                                       )["reconnects"]
        time.sleep(UP_TIME)  # traffic both ways for a while, then a restart
        assert sender.error is None and resumer.error is None, (sender.error, resumer.error)
        restart(server)
    cycles_done = time.monotonic()

    sender.result(90 * SLOW)
    # The server stops for good: last_seq stops too, and the resumer catches up.
    daemon.wait_state("c", "open", timeout=10 * SLOW, check=lambda s: s["reconnects"] > reconnects)
    server.terminate()
    daemon.wait_state("c", ("backoff", "connecting"))
    final_seq = daemon.status()["c"]["last_seq"]
    seen["final_seq"] = final_seq
    resumer.stop.set()
    resumer.result(30 * SLOW)
    holder.close()
    with capsys.disabled():
        print(f"\n{cycles} restarts in {cycles_done - start:.1f} s; all sent "
              f"{sent['sent_all'] - start:.1f} s in; {final_seq} inbound messages; "
              f"{seen['resumes']} resumes, {sum(e[0] == 'gap' for e in seen['events'])} gaps")

    # Every send ends SENT, once.
    ids = sent["ids"]
    assert len(set(ids)) == sends, "send ids repeat"
    outcomes = sent["outcomes"]
    assert len(outcomes) == sends, f"{len(outcomes)} outcomes for {sends} sends"
    assert sorted(o[0] for o in outcomes) == sorted(ids), "outcomes do not match the send ids"
    bad = [o for o in outcomes if o[1] != pb.SEND_RESULT_SENT]
    assert not bad, f"{len(bad)} sends not SENT, e.g. {bad[:5]}"
    # Every connection starts with on_connect, then the resubscribe, then sends.
    for c in server.connects():
        frames = server.received(c["conn"])
        head = [f for f in frames if not f.startswith("c")]
        assert head == [HELLO, SUB][:len(head)], (c["conn"], frames[:5])
        if any(f.startswith("c") for f in frames):
            assert frames[:2] == [HELLO, SUB], (c["conn"], frames[:5])
    assert len(server.connects()) >= cycles + 1

    # The resumer accounted for every seq once, in order, as a message or in a gap.
    covered = seen["covered"]
    if covered != list(range(1, final_seq + 1)):
        dup = next((s for i, s in enumerate(covered) if s in covered[:i]), None)
        order = next((i for i in range(1, len(covered)) if covered[i] <= covered[i - 1]), None)
        raise AssertionError(
            f"the resumer accounted for {len(covered)} seqs of 1..{final_seq}; first repeat "
            f"{dup}; order breaks at #{order}: "
            f"{covered[order - 3:order + 3] if order else None}; events near it: "
            f"{[e for e in seen['events'] if order and abs(e[1] - covered[order]) < 5]}")
    assert all(e[3] == epoch for e in seen["events"]), "an event of another epoch"
    gaps = [e for e in seen["events"] if e[0] == "gap"]
    assert gaps, "no resume found the history too short: the test did not test that"
    assert any(e[0] == "msg" for e in seen["events"])
    client_msgs = [m for m in server.received() if m.startswith("c")]
    return client_msgs, seen, final_seq, int(counter.read_text())


def test_chaos_restarts_lose_and_duplicate_nothing(wsb, capsys):
    """The acceptance test: graceful server restarts (close 1012, the server
    reads until the closing handshake ends), so nothing may be lost."""
    got, seen, final_seq, server_sent = _chaos(wsb, capsys, CYCLES, SENDS,
                                               lambda server: (server.terminate(),
                                                               server.restart()))

    want = [f"c{i}" for i in range(SENDS)]
    if got != want:
        dups = len(got) - len(set(got))
        missing = sorted(set(want) - set(got), key=lambda m: int(m[1:]))
        first = next((i for i, (g, w) in enumerate(zip(got + [None] * SENDS, want)) if g != w),
                     SENDS)
        raise AssertionError(f"the server got {len(got)} client messages for {SENDS}: "
                             f"{dups} duplicates, missing {missing[:20]}; first difference at "
                             f"#{first}: {got[max(0, first - 2):first + 3]}")
    # The server closed cleanly each time, so the daemon got every message
    # it sent: seq n is "msg n".
    assert final_seq == server_sent, (final_seq, server_sent)
    for kind, a, b, _ in seen["events"]:
        if kind == "msg":
            assert b == f"msg {a}", f"seq {a} carries {b!r}"


def test_chaos_server_killed_nothing_duplicated(wsb, capsys):
    """SIGKILL restarts: what was in flight is lost without a trace (TCP), but
    nothing arrives twice or out of order, every send gets its one outcome,
    and the resumer still accounts for every seq."""
    got, seen, _, _ = _chaos(wsb, capsys, KILL_CYCLES, KILL_SENDS,
                             lambda server: (server.kill(), server.restart()))

    numbers = [int(m[1:]) for m in got]
    assert numbers == sorted(set(numbers)), "client messages repeated or out of order"
    # Each inbound message the resumer saw is a distinct server message, in order.
    server_numbers = [int(e[2].split()[1]) for e in seen["events"] if e[0] == "msg"]
    assert server_numbers == sorted(set(server_numbers)), "inbound repeated or out of order"
