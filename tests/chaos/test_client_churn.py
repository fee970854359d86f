"""1 000 API clients churning (connecting, resuming from history, sending,
leaving mid-frame or without a word, idling) while a live subscriber must
miss nothing: every seq, in order, no gap, no stall, the upstream never
dropped; every churner's accepted send reaches the server, every resume
gets consecutive seqs; afterwards the daemon's descriptors are back.

Short form 1 000 clients, at most 100 open at once; WSB_CHAOS_LONG=1:
10 000 clients, up to 1 000 open at once."""

import collections
import os
import threading
import time

from chaostest import Subscriber, Worker, scale
from wsbtest import SLOW, ApiClient, session_conf, wait_for

CLIENTS = scale(1000, 10000)
OPEN_AT_ONCE = scale(100, 1000)
THREADS = 8


def fd_count(daemon):
    return len(os.listdir(f"/proc/{daemon.proc.pid}/fd"))


class Churner(Worker):
    """Runs client lives number N, N + THREADS, ... below CLIENTS, keeping up to
    HOLD of them open (the oldest closes when a new one is held)."""

    def __init__(self, daemon, first, hold, record):
        super().__init__(self._run, name=f"churner {first}")
        self.daemon, self.first, self.hold, self.record = daemon, first, hold, record
        self.held = collections.deque()

    def _keep(self, client):
        self.held.append(client)
        while len(self.held) > self.hold:
            self.held.popleft().close()

    def _resume(self, c, status):
        since = max(1, status.last_seq - 10)
        c.subscribe_ok("churn", "*", since, status.epoch)
        seqs = []
        while len(seqs) < 5:
            ev = c.next_event(5 * SLOW)
            assert ev is not None, f"a resume since {since} got {seqs} and then nothing"
            kind = ev.WhichOneof("event")
            if kind == "message":
                seqs.append(ev.message.seq)
            else:
                assert kind != "gap", f"a resume since {since} (history 64) got a gap"
        assert seqs == list(range(since + 1, since + 6)), (since, seqs)

    def _life(self, i):
        c = ApiClient(self.daemon.socket)
        kind = i % 6
        if kind == 3:  # connect and go
            c.close()
            return
        if kind == 5:  # half a varint, then go
            c.send_raw(b"\x80")
            c.close()
            return
        c.hello()
        if kind == 0:  # a live subscription, one message, gone
            c.subscribe_ok("churn")
            assert c.next_event(5 * SLOW) is not None, "a live subscriber got nothing"
            c.close()
        elif kind == 1:  # resume from history, then stay (never reading again)
            self._resume(c, c.list_sessions()["churn"])
            self._keep(c)
        elif kind == 2:  # send and go without waiting for the outcome
            text = f"churn{i}"
            c.send_ok("churn", text)
            self.record.append(text)
            c.close()
        else:  # idle, open
            assert "churn" in c.list_sessions()
            self._keep(c)

    def _run(self, worker):
        try:
            for i in range(self.first, CLIENTS, THREADS):
                self._life(i)
        finally:
            while self.held:
                self.held.popleft().close()


def test_chaos_api_client_churn_misses_nothing(wsb, capsys):
    server = wsb.server("--send-interval", "0.005")
    daemon = wsb.daemon(f"[daemon]\nmax_clients={OPEN_AT_ONCE + 50}\n\n"
                        + session_conf("churn", server.url))
    daemon.wait_state("churn", "open")
    subscriber = Subscriber(daemon.socket, "churn")
    subscriber.start()
    wait_for(lambda: subscriber.count() >= 10, 5 * SLOW, "the subscriber's first messages")
    fds_before = fd_count(daemon)
    lock = threading.Lock()

    class Record(list):
        def append(self, item):
            with lock:
                super().append(item)
    record = Record()
    start = time.monotonic()
    churners = [Churner(daemon, n, OPEN_AT_ONCE // THREADS, record) for n in range(THREADS)]
    for c in churners:
        c.start()
    for c in churners:
        c.result(300 * SLOW)
    took = time.monotonic() - start
    sends = list(record)

    mark = subscriber.count()
    wait_for(lambda: subscriber.count() > mark + 20, 5 * SLOW, "the subscriber after the churn")
    subscriber.finish()
    subscriber.check()
    assert not subscriber.states, f"the session changed state: {subscriber.states[:3]}"
    times = subscriber.times
    worst = max(b - a for a, b in zip(times, times[1:]))
    assert worst < 2.0 * SLOW, f"the subscriber stalled for {worst:.2f} s"
    wait_for(lambda: set(sends) <= set(server.received()), 10 * SLOW,
             lambda: f"the churners' {len(sends)} sends at the server "
                     f"({len(set(sends) - set(server.received()))} missing)")
    wait_for(lambda: fd_count(daemon) <= fds_before, 5 * SLOW,
             lambda: f"the daemon's fds to return to {fds_before} (now {fd_count(daemon)})")
    status = daemon.status()["churn"]
    assert status["state"] == "open" and status["reconnects"] == 0, status
    with capsys.disabled():
        print(f"\n{CLIENTS} clients (up to {OPEN_AT_ONCE} open) in {took:.1f} s; "
              f"{len(sends)} sends; the subscriber got {subscriber.count()} messages, "
              f"longest wait {worst * 1000:.0f} ms")
