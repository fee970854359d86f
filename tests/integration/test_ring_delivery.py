"""Live messages through the session's shared-memory ring (proto/RING.md),
from a raw client of the socket API that asks for it in the hello and the
subscribe request: the RingStart event brings a read-only ring and an
eventfd (SCM_RIGHTS), the ring carries every message once for all its
readers, a channel subscription keeps its own channel, messages too large
for the ring still come on the socket, clients that did not ask keep the
socket stream, and the ring goes away with its last reader."""

import json
import mmap
import os
import select
import socket
import time

from wsbridge import ring
from wsbtest import SLOW, ApiClient, pb, session_conf, wait_for

KIB = 1024


class FdSock:
    """A socket whose reads keep the descriptors that come with them."""

    def __init__(self, sock):
        self.sock = sock
        self.fds = []

    def recv(self, n):
        data, fds, _, _ = socket.recv_fds(self.sock, n, 8)
        self.fds.extend(fds)
        return data

    def __getattr__(self, name):
        return getattr(self.sock, name)


class RingClient(ApiClient):
    def __init__(self, path, ring_version=1):
        super().__init__(path)
        self.sock = FdSock(self.sock)
        self.send_frame(pb.ClientFrame(hello=pb.Hello(api_major=1, api_minor=2,
                                                      client_name="ring-test",
                                                      ring_version=ring_version)))
        frame = self.recv_frame()
        assert frame.WhichOneof("frame") == "hello", frame
        self.hello_reply = frame.hello

    def subscribe_ring(self, session, channel="*"):
        reply = self.request(subscribe=pb.SubscribeRequest(session=session, channel=channel,
                                                           ring=True))
        assert reply.WhichOneof("result") == "subscribe", reply
        return reply.subscribe.subscription_id

    def ring_start(self, sub_id):
        """The RingStart event of SUB_ID (the events before it are returned
        too), with the ring mapped and the eventfd."""
        before = []
        while True:
            ev = self.next_event()
            assert ev is not None, "no RingStart event"
            if ev.WhichOneof("event") == "ring":
                assert ev.subscription_id == sub_id
                assert len(self.sock.fds) >= 2, f"RingStart came with {self.sock.fds}"
                ring_fd, wake_fd = self.sock.fds[:2]
                del self.sock.fds[:2]
                return ev.ring, ring_fd, wake_fd, before
            before.append(ev)


def _records(reader, wake_fd, want, timeout=10 * SLOW):
    """Reads the ring as a client would: wait for the eventfd, drain, until
    WANT records came; returns them and the number of wake-ups."""
    got, wakeups = [], 0
    deadline = time.monotonic() + timeout
    while len(got) < want:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(got)} of {want} records came through the ring"
        if select.select([wake_fd], [], [], left)[0]:
            os.read(wake_fd, 8)
            wakeups += 1
        for status, rec in reader:
            got.append((status, rec))
    return got, wakeups


def _open_ring(rs, ring_fd):
    reader = ring.RingReader(mmap.mmap(ring_fd, 0, prot=mmap.PROT_READ), rs.start_pos,
                             rs.last_seq)
    assert reader.data_bytes == rs.data_bytes and reader.epoch == rs.epoch
    return reader


def test_ring_carries_live_messages_once_for_every_reader(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("feed", server.url, ring_bytes="64K"))
    daemon.wait_state("feed", "open")
    a, b, plain = RingClient(daemon.socket), RingClient(daemon.socket), ApiClient(daemon.socket)
    assert a.hello_reply.ring_version == 1
    plain.hello()
    sub_a, sub_b = a.subscribe_ring("feed"), b.subscribe_ring("feed")
    plain_sub = plain.subscribe_ok("feed")
    rs_a, ring_fd, wake_a, _ = a.ring_start(sub_a)
    rs_b, ring_fd_b, wake_b, _ = b.ring_start(sub_b)
    # One ring for the session: the same file behind both descriptors.
    assert os.fstat(ring_fd).st_ino == os.fstat(ring_fd_b).st_ino
    assert os.fstat(ring_fd).st_size == 4096 + 64 * KIB
    # Read-only for the subscriber.
    try:
        mmap.mmap(ring_fd, 0, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        raise AssertionError("the ring could be mapped writable")
    except PermissionError:
        pass
    reader_a, reader_b = _open_ring(rs_a, ring_fd), _open_ring(rs_b, ring_fd_b)

    texts = [f"m{i}" for i in range(300)]
    server.inject(*texts)
    got_a, wakeups = _records(reader_a, wake_a, 300)
    got_b, _ = _records(reader_b, wake_b, 300)
    for got in (got_a, got_b):
        assert [r.data.decode() for _, r in got] == texts
        assert [r.seq for _, r in got] == list(range(rs_a.last_seq + 1, rs_a.last_seq + 301))
        assert all(status == ring.MESSAGE and r.channel == "" for status, r in got)
    assert wakeups < 300, "a wake-up per message, not per batch"
    # Nothing of it came on the ring readers' sockets; the plain client got all.
    assert a.next_event(timeout=0.3) is None
    plain_msgs = []
    while len(plain_msgs) < 300:
        ev = plain.next_event()
        assert ev is not None
        if ev.WhichOneof("event") == "message":
            assert ev.subscription_id == plain_sub
            plain_msgs.append(ev.message.data.decode())
    assert plain_msgs == texts


def test_channel_subscription_and_messages_too_large_for_the_ring(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("feed", server.url, ring_bytes="64K",
                                     channel_key="/channel"))
    daemon.wait_state("feed", "open")
    c = RingClient(daemon.socket)
    sub = c.subscribe_ring("feed", "x")
    rs, ring_fd, wake_fd, _ = c.ring_start(sub)
    reader = _open_ring(rs, ring_fd)

    big = json.dumps({"channel": "x", "pad": "z" * (20 * KIB)})  # over a quarter of 64 KiB
    big_y = json.dumps({"channel": "y", "pad": "w" * (20 * KIB)})
    items = [json.dumps({"channel": "x", "n": 1}), json.dumps({"channel": "y", "n": 2}),
             big_y, big, json.dumps({"channel": "x", "n": 3})]
    server.inject(*items)
    got, _ = _records(reader, wake_fd, 5)
    kinds = [(status, r.channel) for status, r in got]
    assert kinds == [(ring.MESSAGE, "x"), (ring.MESSAGE, "y"), (ring.ELSEWHERE, "y"),
                     (ring.ELSEWHERE, "x"), (ring.MESSAGE, "x")], kinds
    # The client keeps its channel's records; the large one of its channel
    # comes on the socket, that of another channel does not.
    ev = c.next_event()
    assert ev.WhichOneof("event") == "message" and ev.message.seq == got[3][1].seq
    assert ev.message.data.decode() == big
    assert c.next_event(timeout=0.3) is None


def test_clients_that_do_not_ask_keep_the_socket(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("feed", server.url))
    daemon.wait_state("feed", "open")
    old = RingClient(daemon.socket, ring_version=0)  # an older client
    assert old.hello_reply.ring_version == 0
    sub = old.subscribe_ring("feed")  # asks, but its hello did not
    server.inject("hello")
    ev = old.next_event()
    assert ev.WhichOneof("event") == "message" and ev.subscription_id == sub
    assert not old.sock.fds
    future = RingClient(daemon.socket, ring_version=9)  # a layout the daemon does not have
    assert future.hello_reply.ring_version == 0


def test_no_ring_under_slow_client_policy_disconnect(wsb):
    """A ring cannot disconnect a reader that falls behind: under
    slow_client_policy=disconnect, subscriptions stay on the socket."""
    server = wsb.server()
    daemon = wsb.daemon("[daemon]\nslow_client_policy=disconnect\n"
                        + session_conf("feed", server.url))
    daemon.wait_state("feed", "open")
    c = RingClient(daemon.socket)
    sub = c.subscribe_ring("feed")
    server.inject("on the socket")
    ev = c.next_event()
    assert ev.WhichOneof("event") == "message" and ev.subscription_id == sub
    assert ev.message.data == b"on the socket" and not c.sock.fds


def _ring_fds(daemon):
    out = []
    for fd in os.listdir(f"/proc/{daemon.proc.pid}/fd"):
        try:
            if "wsbridge-ring" in os.readlink(f"/proc/{daemon.proc.pid}/fd/{fd}"):
                out.append(fd)
        except OSError:
            pass
    return out


def test_the_ring_goes_with_its_last_reader(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("feed", server.url))
    daemon.wait_state("feed", "open")
    assert not _ring_fds(daemon)
    a, b = RingClient(daemon.socket), RingClient(daemon.socket)
    a.ring_start(a.subscribe_ring("feed"))
    b.ring_start(b.subscribe_ring("feed"))
    # The daemon keeps the memfd; the descriptors it sent go once written.
    wait_for(lambda: len(_ring_fds(daemon)) == 1, 5 * SLOW,
             lambda: f"one ring descriptor in the daemon, not {_ring_fds(daemon)}")
    a.close()
    time.sleep(0.3 * SLOW)
    assert len(_ring_fds(daemon)) == 1, "the ring went while b still reads it"
    b.close()
    wait_for(lambda: not _ring_fds(daemon), 5 * SLOW, "the ring to go with its last reader")
    # A ring session keeps delivering to a new reader afterwards.
    c = RingClient(daemon.socket)
    rs, ring_fd, wake_fd, _ = c.ring_start(c.subscribe_ring("feed"))
    server.inject("after")
    got, _ = _records(_open_ring(rs, ring_fd), wake_fd, 1)
    assert got[0][1].data == b"after"


def test_libwsbridge_reads_rings_unseen_by_the_app(wsb):
    """wsbridgectl watch (libwsbridge, which asks for rings on its own) gets
    every message in order through the ring, a message too large for it
    from the socket in its place, and its channel only."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("feed", server.url, ring_bytes="64K",
                                     channel_key="/channel"))
    daemon.wait_state("feed", "open")
    big = json.dumps({"channel": "x", "pad": "z" * (20 * KIB)})
    items = ([json.dumps({"channel": "x", "n": i}) for i in range(100)]
             + [json.dumps({"channel": "y", "n": 0}), big]
             + [json.dumps({"channel": "x", "n": i}) for i in range(100, 200)])
    watch = wsb.watch(daemon, "feed/x", 201)
    wait_for(lambda: _ring_fds(daemon), 5 * SLOW, "the watch's ring")
    server.inject(*items)
    rc, msgs = watch.wait()
    assert rc == 0
    want = [i for i in items if json.loads(i)["channel"] == "x"]
    assert [m["data"] for m in msgs] == want
    seqs = [m["seq"] for m in msgs]
    assert seqs == sorted(seqs) and all(m["channel"] == "x" for m in msgs)


def test_libwsbridge_without_rings_when_told(wsb, monkeypatch):
    server = wsb.server("--send-interval", "0.02")
    daemon = wsb.daemon(session_conf("feed", server.url))
    daemon.wait_state("feed", "open")
    monkeypatch.setenv("WSBRIDGE_NO_RING", "1")
    watch = wsb.watch(daemon, "feed", 5)
    rc, msgs = watch.wait()
    assert rc == 0 and len(msgs) == 5
    assert not _ring_fds(daemon), "WSBRIDGE_NO_RING=1 still made a ring"


def _eventfd_count(fd):
    """The eventfd's counter, read (and so reset): 0 if it was not signalled."""
    try:
        return int.from_bytes(os.read(fd, 8), "little")
    except BlockingIOError:
        return 0


def test_a_reader_is_not_woken_again_before_it_reads_its_eventfd(wsb):
    """proto/RING.md, wake-ups: a reader reads its eventfd before the ring,
    so the daemon does not signal an eventfd that is still readable (that
    reader will find the new batch anyway); one that read it is signalled
    for the next batch."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("feed", server.url))
    daemon.wait_state("feed", "open")
    busy, idle = RingClient(daemon.socket), RingClient(daemon.socket)
    rs, busy_ring, busy_wake, _ = busy.ring_start(busy.subscribe_ring("feed"))
    rs_idle, idle_ring, idle_wake, _ = idle.ring_start(idle.subscribe_ring("feed"))
    os.set_blocking(busy_wake, False)
    os.set_blocking(idle_wake, False)
    reader = _open_ring(rs, busy_ring)
    idle_reader = _open_ring(rs_idle, idle_ring)
    batches = 5
    for i in range(batches):
        server.inject(f"batch {i}")
        # The idle reader takes each batch before the next comes.
        _records(idle_reader, idle_wake, 1)
    # The busy one, which never read its eventfd, was signalled once.
    assert _eventfd_count(busy_wake) == 1
    assert [r.data.decode() for _, r in reader] == [f"batch {i}" for i in range(batches)]
    server.inject("after")
    wait_for(lambda: select.select([busy_wake], [], [], 0)[0], 5 * SLOW,
             "a wake-up for the reader that read its eventfd")
    assert [r.data.decode() for _, r in reader] == ["after"]


def test_a_reader_that_stops_reading_costs_nothing(wsb):
    """A subscriber that maps the ring and never reads it: the session
    streams 24 MiB through a 4 MiB ring past it without the daemon growing
    by what passed, waiting, or queueing anything for it on its socket;
    a reader that reads gets every message; the stopped one, reading at
    last, is told by a gap what the ring no longer holds."""
    from test_hostile import frame
    from wsbtest.robustness_rig import rss_meaningful
    payload = b'{"pad":"' + b"p" * 1000 + b'"}'
    flood = 24 << 20
    flen = len(frame(0x81, payload))
    up = wsb.raw_server([{"flood": {"frame_hex": frame(0x81, payload).hex(), "bytes": flood}}])
    daemon = wsb.daemon(session_conf("s", up.url, autoconnect="false", compression="false"))
    stopped, reading = RingClient(daemon.socket), RingClient(daemon.socket)
    rs_stopped, stopped_ring, stopped_wake, _ = stopped.ring_start(stopped.subscribe_ring("s"))
    rs, ring_fd, wake_fd, _ = reading.ring_start(reading.subscribe_ring("s"))
    os.set_blocking(stopped_wake, False)
    before = int(next(line for line in open(f"/proc/{daemon.proc.pid}/status")
                      if line.startswith("VmRSS:")).split()[1]) << 10
    daemon.ctl_ok("connect", "s")
    reader = _open_ring(rs, ring_fd)
    # This Python reader may be lapped too: every seq is a record or a gap.
    covered, deadline, total = [], time.monotonic() + 60 * SLOW, None
    while total is None or not covered or covered[-1] < total:
        assert time.monotonic() < deadline, f"the ring got to seq {covered[-1:]} of {total}"
        if total is None and up.events("flooded"):
            total = up.events("flooded")[0]["bytes"] // flen
        if select.select([wake_fd], [], [], 1)[0]:
            os.read(wake_fd, 8)
        for _, r in reader:
            covered += list(range(r.lost[0], r.lost[1] + 1)) if r.lost else []
            covered.append(r.seq)
    assert covered == list(range(1, total + 1))
    grown = (int(next(line for line in open(f"/proc/{daemon.proc.pid}/status")
                      if line.startswith("VmRSS:")).split()[1]) << 10) - before
    if rss_meaningful(daemon):
        # The ring's 4 MiB of shared memory, touched once, the history and
        # the heap's churn: not the 24 MiB that queueing them would take.
        assert grown < 12 << 20, f"the daemon grew by {grown >> 20} MiB"
    # No message waits for the stopped reader on its socket (state changes
    # do), and its eventfd was signalled once (the daemon does not signal a
    # readable one again).
    events = iter(lambda: stopped.next_event(timeout=0.3), None)
    assert {ev.WhichOneof("event") for ev in events} <= {"state"}
    assert _eventfd_count(stopped_wake) == 1
    # Reading at last: what the writer lapped is one gap, then the rest.
    late = _open_ring(rs_stopped, stopped_ring)
    first_status, first = next(iter(late))
    assert first_status == ring.MESSAGE and first.lost == (1, first.seq - 1)
    assert first.seq > total - (4 << 20) // len(payload)
