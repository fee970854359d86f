"""Helpers for the chaos tests, on top of wsbtest (tests/harness):

  LONG, scale()  the short form (make check) or the long one (WSB_CHAOS_LONG=1)
  Worker         a thread whose exception fails the test
  Sender         sends "c<i>" steadily over the socket API and collects outcomes
  Subscriber     a live subscriber of a session's "*" that records every event
  check_sends    no send lost (outside the fault windows), none twice, in order
  Traffic        a Sender and a Subscriber on one session, and the fault cycle
  NetPair        two network namespaces joined by a veth pair, whose link can
                 be cut and whose packets can be dropped
  Tmpfs          a small tmpfs mount
"""

import itertools
import os
import subprocess
import threading
import time

from wsbtest import SLOW, ApiClient, pb, state_name, wait_for

LONG = os.environ.get("WSB_CHAOS_LONG", "") not in ("", "0")


def scale(short, long):
    """SHORT in the short form, LONG with WSB_CHAOS_LONG=1."""
    return long if LONG else short


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}"
    return r.stdout


class Worker(threading.Thread):
    """A thread whose exception fails the test (see result())."""

    def __init__(self, target, name=None):
        super().__init__(daemon=True, name=name)
        self._target_fn = target
        self.error = None
        self.stop = threading.Event()

    def run(self):
        try:
            self._target_fn(self)
        except BaseException as e:  # noqa: BLE001 (re-raised in result())
            self.error = e

    def result(self, timeout):
        self.join(timeout)
        assert not self.is_alive(), f"{self.name} did not finish within {timeout} s"
        if self.error:
            raise self.error


class Sender(Worker):
    """Sends "c0", "c1", ... to SESSION every INTERVAL s until stopped, then
    waits for every outcome. sent[i] = (send id, monotonic time of its
    reply); outcomes[id] = (result, reason), each recorded once."""

    def __init__(self, socket_path, session, interval=0.02):
        super().__init__(self._run, name=f"sender to {session}")
        self.socket_path, self.session, self.interval = socket_path, session, interval
        self.sent = []
        self.outcomes = {}
        self.repeated = []  # send ids whose outcome came more than once

    def _take(self, api):
        while api.pending_events:
            self._outcome(api.pending_events.popleft())

    def _outcome(self, ev):
        if ev.WhichOneof("event") != "outcome":
            return
        o = ev.outcome
        if o.send_id in self.outcomes:
            self.repeated.append(o.send_id)
        self.outcomes[o.send_id] = (o.result, o.reason)

    def _run(self, worker):
        api = ApiClient(self.socket_path)
        api.hello()
        while not self.stop.is_set():
            self.sent.append((api.send_ok(self.session, f"c{len(self.sent)}"), time.monotonic()))
            self._take(api)
            time.sleep(self.interval)
        deadline = time.monotonic() + 30 * SLOW
        while len(self.outcomes) < len(self.sent) and time.monotonic() < deadline:
            ev = api.next_event(0.5)
            if ev is not None:
                self._outcome(ev)
        api.close()

    def finish(self, timeout=60 * SLOW):
        self.stop.set()
        self.result(timeout)


class Subscriber(Worker):
    """A live subscriber of SESSION's "*" on the socket API, recording every
    event: messages (seq, data), gaps (from, to) and states (state, reason,
    monotonic time of arrival)."""

    def __init__(self, socket_path, session):
        super().__init__(self._run, name=f"subscriber of {session}")
        self.api = ApiClient(socket_path)
        self.api.hello()
        self.api.subscribe_ok(session)
        self.messages, self.gaps, self.states = [], [], []
        self.times = []  # monotonic arrival time of each message

    def _run(self, worker):
        while not self.stop.is_set():
            ev = self.api.next_event(0.1)
            if ev is None:
                continue
            kind = ev.WhichOneof("event")
            if kind == "message":
                self.messages.append((ev.message.seq, ev.message.data.decode()))
                self.times.append(time.monotonic())
            elif kind == "gap":
                self.gaps.append((ev.gap.from_seq, ev.gap.to_seq))
            elif kind == "state":
                st = ev.state.status
                self.states.append((state_name(st.state), st.reason, time.monotonic()))
        self.api.close()

    def count(self):
        return len(self.messages)

    def wait_left_open(self, after, timeout):
        """The first state event after AFTER (monotonic) that is not open:
        (state, reason, when)."""
        def left():
            return next((s for s in list(self.states) if s[2] > after and s[0] != "open"), None)
        return wait_for(left, timeout, lambda: f"the session to leave open; states {self.states}")

    def finish(self, timeout=10 * SLOW):
        self.stop.set()
        self.result(timeout)

    def check(self, gaps_ok=False):
        """Every seq once, in order, each a distinct server message in order
        ("msg <n>", n increasing); gaps (with GAPS_OK) cover what is missing."""
        seqs = [s for s, _ in self.messages]
        covered = sorted(seqs + [s for a, b in self.gaps for s in range(a, b + 1)])
        assert seqs == sorted(set(seqs)), "inbound seqs repeated or out of order"
        if not gaps_ok:
            assert not self.gaps, f"gaps: {self.gaps[:5]}"
        assert covered == list(range(covered[0], covered[0] + len(covered))), (
            "a hole in the seqs that no gap accounts for")
        numbers = [int(d.split()[1]) for _, d in self.messages]
        assert numbers == sorted(set(numbers)), "server messages repeated or out of order"


def check_sends(sender, server, windows=()):
    """What SENDER sent against what SERVER received ("c<i>" texts): every
    send has one outcome, SENT; nothing arrives twice; the daemon never
    sends an older message after a newer one (each connection's messages
    in order, and each connection's newer than the one before: the server
    may read two connections interleaved); and everything arrives, except
    sends whose reply came inside one of WINDOWS ((start, end) monotonic
    times: a fault, when handed-over bytes may die in the network).
    Returns the lost indices."""
    ids = [i for i, _ in sender.sent]
    assert len(set(ids)) == len(ids), "send ids repeat"
    assert not sender.repeated, f"outcomes reported twice: {sender.repeated[:5]}"
    assert len(sender.outcomes) == len(ids), (
        f"{len(sender.outcomes)} outcomes for {len(ids)} sends")
    bad = {i: o for i, o in sender.outcomes.items() if o[0] != pb.SEND_RESULT_SENT}
    assert not bad, f"{len(bad)} sends not SENT, e.g. {list(bad.items())[:5]}"
    by_conn = {c["conn"]: [] for c in server.connects()}
    for e in server.events("message"):
        if e["type"] == "text" and e["data"].startswith("c"):
            by_conn[e["conn"]].append(int(e["data"][1:]))
    numbers = [n for conn in by_conn.values() for n in conn]
    if numbers != sorted(set(numbers)):
        i = next(i for i in range(1, len(numbers)) if numbers[i] <= numbers[i - 1])
        raise AssertionError(f"client messages repeated or out of order at #{i} (by "
                             f"connection): {numbers[max(0, i - 5):i + 5]}")
    got = set(numbers)
    lost = [i for i in range(len(ids)) if i not in got]
    unexcused = [i for i in lost
                 if not any(a <= sender.sent[i][1] <= b for a, b in windows)]
    assert not unexcused, (f"{len(unexcused)} sends lost outside the fault windows, "
                           f"e.g. c{unexcused[:10]}")
    return lost


class Traffic:
    """A Sender and a Subscriber on SESSION, running; faults the daemon must
    detect within BOUND s (ping_interval + pong_timeout + 1), each recorded
    with its window for check_sends."""

    def __init__(self, daemon, session, bound):
        self.subscriber = Subscriber(daemon.socket, session)
        self.sender = Sender(daemon.socket, session)
        self.bound = bound
        self.windows, self.detections = [], []
        self.subscriber.start()
        self.sender.start()

    def flowing(self, what, n=20):
        """Wait for N more inbound messages."""
        mark = self.subscriber.count()
        wait_for(lambda: self.subscriber.count() > mark + n, 5 * SLOW,
                 f"the subscriber to receive {what}")

    def fault(self, cause):
        """Messages flow, then CAUSE(); the session must leave open naming
        pong_timeout within the bound. Returns when it was detected."""
        self.flowing("before the fault")
        cause()
        start = time.monotonic()
        state, reason, detected = self.subscriber.wait_left_open(start, (self.bound + 5) * SLOW)
        self.detections.append(detected - start)
        # Bytes handed to the socket meanwhile may die with the connection.
        self.windows.append((start - 0.5, detected))
        assert "pong_timeout" in reason, (state, reason)
        assert detected - start <= self.bound + 0.5 * SLOW, (
            f"the fault took {detected - start:.2f} s to detect, want <= {self.bound} s "
            "(ping_interval + pong_timeout + 1)")
        return detected

    def finish(self, server):
        """Stop; check every send and every inbound seq. Returns the sends
        lost inside the fault windows."""
        self.flowing("after the last fault")
        self.sender.finish()
        last = f"c{len(self.sender.sent) - 1}"
        wait_for(lambda: last in server.received(), 10 * SLOW, f"{last} at the server")
        self.subscriber.finish()
        lost = check_sends(self.sender, server, self.windows)
        self.subscriber.check()
        return lost

    def summary(self, what):
        return (f"{len(self.detections)} {what} detected in "
                f"{', '.join(f'{d:.2f}' for d in self.detections)} s; "
                f"{len(self.sender.sent)} sends; {self.subscriber.count()} messages received")


_IDS = itertools.count(1)

# The only rules of the server side's packet filter: while "drop" is set,
# everything the server's namespace sends or receives is dropped. (The
# kernel here has no sch_netem, so nftables drops the packets, in the
# namespace only.)
NFT_RULESET = """\
table inet wsbchaos {
  chain input { type filter hook input priority 0; policy accept; }
  chain output { type filter hook output priority 0; policy accept; }
}
"""


class NetPair:
    """Network namespaces for the client (the daemon) and the server, joined
    by a veth pair, CLIENT_ADDR on one end and SERVER_ADDR on the other.
    Nothing else is in them (no route anywhere else), and nothing of them
    shows in the host's namespace, so tests in parallel never meet. Start a
    process in one with prefix("client") or prefix("server")."""

    CLIENT_ADDR, SERVER_ADDR = "198.18.0.1", "198.18.0.2"
    DEV = "wsb0"

    def __init__(self):
        tag = f"wsb-chaos-{os.getpid()}-{next(_IDS)}"
        self.ns = {"client": f"{tag}-c", "server": f"{tag}-s"}
        self.created = []
        for ns in self.ns.values():
            run("ip", "netns", "add", ns)
            self.created.append(ns)
        run("ip", "link", "add", self.DEV, "netns", self.ns["client"], "type", "veth", "peer",
            "name", self.DEV, "netns", self.ns["server"])
        for side, addr in (("client", self.CLIENT_ADDR), ("server", self.SERVER_ADDR)):
            self.ip(side, "addr", "add", f"{addr}/24", "dev", self.DEV)
            self.ip(side, "link", "set", self.DEV, "up")
            self.ip(side, "link", "set", "lo", "up")
        self.exec("server", "nft", "-f", "-", input=NFT_RULESET)

    def prefix(self, side):
        return ["ip", "netns", "exec", self.ns[side]]

    def ip(self, side, *args):
        return run("ip", "-n", self.ns[side], *args)

    def exec(self, side, *cmd, input=None):
        r = subprocess.run([*self.prefix(side), *cmd], input=input, capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, f"{' '.join(cmd)} in {side}: {r.stderr.strip()}"
        return r.stdout

    def cut(self):
        """Take the server's end of the link down (the client's loses carrier)."""
        self.ip("server", "link", "set", self.DEV, "down")

    def restore(self):
        self.ip("server", "link", "set", self.DEV, "up")

    def drop(self):
        """Drop every packet the server's namespace sends or receives: the
        server vanishes without a FIN or a reset, as behind a dead NAT."""
        for chain in ("input", "output"):
            self.exec("server", "nft", "add", "rule", "inet", "wsbchaos", chain, "drop")

    def undrop(self):
        for chain in ("input", "output"):
            self.exec("server", "nft", "flush", "chain", "inet", "wsbchaos", chain)

    def cleanup(self):
        for ns in self.created:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


class Tmpfs:
    """A tmpfs of SIZE mounted at PATH (made here), mode 0700."""

    def __init__(self, path, size):
        self.path = path
        path.mkdir()
        run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "wsb-chaos", str(path))
        self.mounted = True

    def cleanup(self):
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=30)
            self.mounted = False
