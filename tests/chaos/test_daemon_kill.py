"""The daemon SIGKILLed and restarted with queue_persist=true, with a client
sending all along: sometimes while the upstream is down (the sends wait in
the journal), sometimes while they stream out. Nothing accepted is lost, a
send whose `sent` outcome was reported is never sent again, and the order
holds. Only a send caught by the kill between leaving for the socket and
its outcome may go out once more after the restart (the journal could not
know it had left).

The server goes down gracefully (it reads everything before it exits) and
sends nothing to the daemon, so a kill of the daemon never finds unread
bytes that would turn its close into a reset dropping what the socket
still holds: whatever was handed over arrives.

Short form 4 kills; WSB_CHAOS_LONG=1: 30."""

import collections
import random
import time

from chaostest import Worker, scale
from wsbtest import SLOW, ApiClient, pb, session_conf, wait_for

KILLS = scale(4, 30)


class RestartingSender(Worker):
    """Sends "k0", "k1", ... through whichever daemon runs, one request at a
    time, reconnecting after each kill. Per index: accepted (a reply came),
    unknown (the request went, the daemon died before its reply), sent (its
    outcome SENT came)."""

    def __init__(self, socket_path, interval=0.005):
        super().__init__(self._run, name="restarting sender")
        self.socket_path, self.interval = socket_path, interval
        self.next = 0
        self.accepted, self.unknown, self.sent = set(), set(), set()
        self.other_outcomes = []
        self.connections = 0

    def _connect(self):
        deadline = time.monotonic() + 30 * SLOW
        while True:
            try:
                api = ApiClient(self.socket_path)
                api.hello()
                self.connections += 1
                return api
            except (OSError, AssertionError):
                assert time.monotonic() < deadline, "no daemon to send to for 30 s"
                time.sleep(0.02)

    def _event(self, ev, ids):
        if ev.WhichOneof("event") != "outcome":
            return
        o = ev.outcome
        i = ids.pop(o.send_id)  # a second outcome for an id fails here
        if o.result == pb.SEND_RESULT_SENT:
            self.sent.add(i)
        else:
            self.other_outcomes.append((i, pb.SendResult.Name(o.result), o.reason))

    def _session(self, api):
        """Send until the daemon goes away (or stop); FALSE when it went."""
        ids = {}  # send id -> index, for this connection
        req_id = 0
        while not self.stop.is_set():
            i, req_id = self.next, req_id + 1
            frame = pb.ClientFrame(request=pb.Request(id=req_id, send=pb.SendRequest(
                session="q", data=f"k{i}".encode())))
            try:
                api.send_frame(frame)
            except OSError:
                return False  # not sent: k<i> goes again on the next connection
            self.next += 1
            while True:
                try:
                    reply = api.recv_frame()
                except OSError:
                    reply = None
                if reply is None:
                    self.unknown.add(i)
                    return False
                if reply.WhichOneof("frame") == "event":
                    self._event(reply.event, ids)
                    continue
                assert reply.WhichOneof("frame") == "reply" and reply.reply.id == req_id, reply
                assert reply.reply.WhichOneof("result") == "send", f"k{i}: {reply.reply}"
                ids[reply.reply.send.send_id] = i
                self.accepted.add(i)
                break
            time.sleep(self.interval)
        deadline = time.monotonic() + 20 * SLOW
        while ids and time.monotonic() < deadline:
            ev = api.next_event(0.5)
            if ev is not None:
                self._event(ev, ids)
        assert not ids, f"no outcome for {len(ids)} sends of the last connection"
        return True

    def _run(self, worker):
        while True:
            api = self._connect()
            try:
                if self._session(api):
                    return
            finally:
                api.close()


def test_chaos_daemon_sigkill_keeps_persisted_queue(wsb, capsys):
    rng = random.Random(18)
    server = wsb.server()
    config = session_conf("q", server.url, queue_persist="true", queue_max_messages=100000,
                          queue_max_bytes="64M")
    daemon = wsb.daemon(config)
    daemon.wait_state("q", "open")
    sender = RestartingSender(daemon.socket)
    sender.start()
    restored = 0
    for kill in range(KILLS):
        upstream_down = kill % 2 == 0
        if upstream_down:
            server.terminate()  # graceful: it reads all the daemon sent
            daemon.wait_state("q", ("backoff", "connecting"))
        mark = sender.next
        wait_for(lambda: sender.next > mark + 50, 10 * SLOW, "the sender to send")
        time.sleep(rng.uniform(0, 0.3))
        assert sender.error is None, sender.error
        daemon.proc.kill()
        daemon.returncode = daemon.proc.wait()
        daemon.start(config)
        if upstream_down:
            line = daemon.wait_log(r"q: \d+ queued messages? restored from", count=restored + 1)
            restored = len(line)
            server.restart()
        daemon.wait_state("q", "open", timeout=10 * SLOW)
    mark = sender.next
    wait_for(lambda: sender.next > mark + 50, 10 * SLOW, "the sender to send after the kills")
    sender.stop.set()
    sender.result(60 * SLOW)
    last = max(sender.accepted)
    wait_for(lambda: f"k{last}" in server.received(), 10 * SLOW, f"k{last} at the server")
    daemon.wait_state("q", "open", check=lambda s: s["queued"] == 0)

    got = [int(m[1:]) for m in server.received()]
    count = collections.Counter(got)
    with capsys.disabled():
        print(f"\n{KILLS} kills, {restored} restores; {sender.next} sends over "
              f"{sender.connections} connections: {len(sender.accepted)} accepted, "
              f"{len(sender.unknown)} cut off by a kill, {len(sender.sent)} sent outcomes; "
              f"the server got {len(got)} messages, {sum(n - 1 for n in count.values())} again")
    assert not sender.other_outcomes, sender.other_outcomes[:5]
    assert set(count) <= set(range(sender.next)), "the server got a message nobody sent"
    lost = sorted(sender.accepted - set(count))
    assert not lost, f"{len(lost)} accepted sends never arrived: k{lost[:10]}"
    again = sorted(i for i, n in count.items() if n > 1)
    assert not set(again) & sender.sent, (
        f"sends whose `sent` outcome was reported went out again: "
        f"k{sorted(set(again) & sender.sent)[:10]}")
    assert all(count[i] <= 2 for i in again), "a send went out three times"
    first = list(dict.fromkeys(got))
    assert first == sorted(first), "sends out of order"
    assert restored >= 1, "no kill found sends waiting in the journal: the test did not test that"
