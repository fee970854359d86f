"""Fan-out to many socket API clients, and clients that do not read: a
stalled subscriber loses its oldest messages (gap events say which) or is
disconnected, and never slows the others; a client that pipelines requests
without reading stops being read but loses nothing."""

import fcntl
import json
import selectors
import termios
import threading
import time

import pytest

import wsbtest
from wsbtest import ApiClient, encode_varint, pb, session_conf

KiB = 1 << 10
BUFFER = 256 * KiB
# The daemon under valgrind or a sanitizer runs at a fraction of its speed
# and counts memory its own way: rates and RSS are only compared without.
SANITIZED = bool(wsbtest.WRAPPER)
try:
    options = json.loads((wsbtest.BUILD_ROOT / "meson-info" / "intro-buildoptions.json")
                         .read_text())
    SANITIZED |= any(o["name"] == "b_sanitize" and o["value"] not in ("none", "", [])
                     for o in options)
except (OSError, ValueError):
    pass
# Paced upstream bursts: the daemon keeps this pace easily, so a slower
# receive rate shows a daemon held up, not the noise of a busy machine.
RATE = 4000 if wsbtest.WRAPPER else 20000
# More messages than a stalled client's socket and BUFFER hold together.
FILL = 20000


class Reader:
    """A subscriber of SESSION that only collects the bytes while it reads,
    so that one Python thread keeps up with the daemon for many of them;
    events() decodes them afterwards with its ApiClient's framing."""

    def __init__(self, daemon, session="feed"):
        self.api = ApiClient(daemon.socket)
        self.api.hello()
        self.sub_id = self.api.subscribe_ok(session)
        assert not self.api.pending_events, self.api.pending_events
        # What ApiClient has read beyond the subscribe reply.
        self.chunks = [bytes(self.api._buf)]
        self.api._buf.clear()
        self.tail = b""
        self.first_at = self.last_at = None
        self.eof = False

    def feed(self, data, now):
        self.first_at = self.first_at or now
        self.last_at = now
        self.chunks.append(data)
        self.tail = (self.tail + data[-32:])[-32:]

    def has_message(self, n):
        """Whether the last bytes read end the message "msg N" (data is a
        Message's last field, and a Message the last field of its frame)."""
        return self.tail.endswith(b"msg %d" % n)

    def events(self):
        """Every Event read so far, decoded (and the bytes forgotten)."""
        self.api._buf += b"".join(self.chunks)
        self.chunks = []
        self.api._eof = self.eof
        out = []
        while True:
            parsed = self.api._parse_buffered()
            if not parsed:
                return out
            body, used = parsed
            del self.api._buf[:used]
            frame = pb.ServerFrame()
            frame.ParseFromString(body)
            assert frame.WhichOneof("frame") == "event", frame
            out.append(frame.event)

    def close(self):
        self.api.close()


def read_until(readers, done, timeout):
    """Read every reader until done(reader) holds for each (or EOF)."""
    sel = selectors.DefaultSelector()
    for r in readers:
        r.first_at = r.last_at = None
        r.api.sock.setblocking(False)
        sel.register(r.api.sock, selectors.EVENT_READ, r)
    left = set(readers)
    deadline = time.monotonic() + timeout
    try:
        while left:
            assert time.monotonic() < deadline, (
                f"{len(left)} of {len(readers)} readers still waiting after {timeout} s")
            for key, _ in sel.select(0.5):
                r = key.data
                try:
                    data = r.api.sock.recv(1 << 18)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    data = b""
                if data:
                    r.feed(data, time.monotonic())
                else:
                    r.eof = True
                if r.eof or done(r):
                    left.discard(r)
                    sel.unregister(r.api.sock)
    finally:
        sel.close()
        for r in readers:
            r.api.sock.setblocking(True)


class Feed:
    """A server bursting "msg <n>" to the daemon's session "feed"."""

    def __init__(self, wsb, daemon_keys="", server_args=()):
        self.server = wsb.server(*server_args)
        # Uncompressed: the test server's deflate would be what sets the pace.
        self.daemon = wsb.daemon(f"[daemon]\n{daemon_keys}\n"
                                 + session_conf("feed", self.server.url, compression="false"))
        self.epoch = self.daemon.wait_state("feed", "open")["epoch"]
        self.sent = 0

    def burst(self, count, rate=0):
        """Numbers of the messages the server sends next."""
        self.server.inject({"burst": count, "rate": rate})
        first, self.sent = self.sent + 1, self.sent + count
        return range(first, self.sent + 1)

    def rss(self):
        with open(f"/proc/{self.daemon.proc.pid}/status", encoding="ascii") as f:
            return next(int(line.split()[1]) * KiB for line in f if line.startswith("VmRSS:"))


def check_messages(events, numbers, what):
    """EVENTS are exactly the messages "msg <n>" for NUMBERS, in order, with
    consecutive seqs."""
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds == ["message"] * len(numbers), (
        f"{what}: {len(events)} events, want {len(numbers)} messages; kinds "
        f"{ {k: kinds.count(k) for k in set(kinds)} }")
    data = [e.message.data for e in events]
    want = [b"msg %d" % n for n in numbers]
    if data != want:
        i = next(i for i, (a, b) in enumerate(zip(data, want)) if a != b)
        raise AssertionError(f"{what}: event {i} is {data[i]!r}, want {want[i]!r}")
    seqs = [e.message.seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"{what}: seqs not consecutive"


def run_rate(feed, readers, count):
    """Burst COUNT paced messages; every reader gets them all. Returns the
    slowest reader's receive rate (messages/s)."""
    numbers = feed.burst(count, RATE)
    read_until(readers, lambda r: r.has_message(numbers[-1]), 30 * wsbtest.SLOW)
    for i, r in enumerate(readers):
        check_messages(r.events(), numbers, f"reader {i}")
    return min((count - 1) / (r.last_at - r.first_at) for r in readers)


def test_twenty_subscribers_receive_every_message_in_order(wsb):
    feed = Feed(wsb)
    readers = [Reader(feed.daemon) for _ in range(20)]

    numbers = feed.burst(10000)
    read_until(readers, lambda r: r.has_message(numbers[-1]), 60 * wsbtest.SLOW)

    first_seqs = set()
    for i, r in enumerate(readers):
        events = r.events()
        check_messages(events, numbers, f"subscriber {i}")
        assert {e.subscription_id for e in events} == {r.sub_id}
        first_seqs.add(events[0].message.seq)
    assert len(first_seqs) == 1, f"the subscribers got different seqs: {first_seqs}"
    assert "not keeping up" not in feed.daemon.log_text()


def check_gapped(events, epoch, what):
    """EVENTS account for every seq from the first on, in order, each by a
    message or within a gap, with no hole and no overlap. Returns the last
    seq and the gaps."""
    expect, gaps = None, []
    for e in events:
        kind = e.WhichOneof("event")
        if kind == "message":
            assert expect in (None, e.message.seq), (
                f"{what}: message seq {e.message.seq}, want {expect}")
            assert e.message.data == b"msg %d" % e.message.seq, (what, e.message)
            expect = e.message.seq + 1
        else:
            assert kind == "gap", f"{what}: unexpected {e}"
            g = e.gap
            assert (g.session, g.channel, g.epoch) == ("feed", "*", epoch), f"{what}: {g}"
            assert expect in (None, g.from_seq) and g.to_seq >= g.from_seq, (
                f"{what}: gap {g.from_seq}..{g.to_seq} where seq {expect} was due")
            gaps.append((g.from_seq, g.to_seq))
            expect = g.to_seq + 1
    return expect - 1, gaps


def test_stalled_subscriber_loses_oldest_and_slows_nobody(wsb):
    feed = Feed(wsb, f"client_buffer_bytes={BUFFER // KiB}K")
    readers = [Reader(feed.daemon) for _ in range(4)]
    count = RATE * 3 // 2

    run_rate(feed, readers, count // 4)  # warm-up: buffers and history reach their size
    rate_alone = run_rate(feed, readers, count)
    rss_alone = feed.rss()

    stalled = Reader(feed.daemon)  # subscribes, then reads nothing
    rate_stalled = run_rate(feed, readers, count)
    rss_stalled = feed.rss()
    run_rate(feed, readers, FILL)  # however slow the daemon, the stalled one overflows
    feed.daemon.wait_log("not keeping up", timeout=5 * wsbtest.SLOW)

    print(f"slowest subscriber: {rate_alone:.0f} msg/s alone, {rate_stalled:.0f} msg/s "
          f"beside a stalled one; daemon RSS {rss_alone // KiB} KiB, "
          f"{rss_stalled // KiB} KiB with the stalled one")
    if not SANITIZED:
        assert rate_stalled >= 0.9 * rate_alone, (
            f"a stalled subscriber slowed the others: {rate_stalled:.0f} msg/s beside it, "
            f"{rate_alone:.0f} msg/s alone")
        # client_buffer_bytes counts each queued frame with its bookkeeping;
        # the queue's array may hold about as many slots again.
        assert rss_stalled - rss_alone <= BUFFER + 512 * KiB, (
            f"RSS grew by {(rss_stalled - rss_alone) // KiB} KiB with a stalled client "
            f"(client_buffer_bytes = {BUFFER // KiB} KiB)")

    # It reads again: what it lost comes as gaps, in place; then it keeps up.
    numbers = feed.burst(1000)
    read_until([stalled], lambda r: r.has_message(numbers[-1]), 30 * wsbtest.SLOW)
    events = stalled.events()
    last, gaps = check_gapped(events, feed.epoch, "stalled subscriber")
    assert events[-1].message.data == b"msg %d" % numbers[-1] and last == feed.sent
    assert gaps, "the stalled subscriber lost nothing"
    assert len(gaps) == 1, f"one gap for the one run of drops, not {len(gaps)}: {gaps[:10]}"
    check_messages(events[-1000:], numbers, "stalled subscriber after it reads again")
    # One log line for the episode, not one per drop; nobody else dropped.
    assert len(feed.daemon.wait_log("not keeping up")) == 1, feed.daemon.log()
    assert "disconnecting" not in feed.daemon.log_text()
    for r in readers + [stalled]:
        r.close()


def test_stalled_client_gaps_per_subscription_split_by_state(wsb):
    """Two subscriptions of one stalled client each get their own gaps; a
    state change in between ends a gap (the next drops start another), and
    an unsubscribe ends one without a silent hole before its reply."""
    feed = Feed(wsb, f"client_buffer_bytes={BUFFER // KiB}K",
                ["--counter-file", str(wsb.tmp / "counter")])
    client = ApiClient(feed.daemon.socket)
    client.hello()
    sub_a, sub_b = client.subscribe_ok("feed"), client.subscribe_ok("feed")

    def burst(count):
        numbers = feed.burst(count)
        feed.daemon.wait_state("feed", "open", timeout=30 * wsbtest.SLOW,
                               check=lambda s: s["last_seq"] == numbers[-1])
        return numbers

    before = burst(10000)[-1]
    feed.server.kill()
    feed.daemon.wait_state("feed", ("backoff", "connecting"))
    feed.server.inject_path.unlink()  # a new server would send it all again
    feed.server.restart()
    feed.daemon.wait_state("feed", "open")
    burst(10000)
    client.send_frame(pb.ClientFrame(request=pb.Request(
        id=99, unsubscribe=pb.UnsubscribeRequest(subscription_id=sub_b))))
    last = burst(5000)[-1]

    events = {sub_a: [], sub_b: []}
    unsubscribed = False

    def a_has_last():
        evs = events[sub_a]
        return evs and evs[-1].WhichOneof("event") == "message" and evs[-1].message.seq == last
    while not a_has_last():
        frame = client.recv_frame(timeout=10 * wsbtest.SLOW)
        if frame.WhichOneof("frame") == "reply":
            assert frame.reply.id == 99 and frame.reply.WhichOneof("result") == "ok", frame
            unsubscribed = True
            continue
        assert not (unsubscribed and frame.event.subscription_id == sub_b), frame
        events[frame.event.subscription_id].append(frame.event)
    assert unsubscribed
    for sub, want_last in ((sub_a, last), (sub_b, None)):
        evs = events[sub]
        split = next(i for i, e in enumerate(evs) if e.WhichOneof("event") == "state")
        states = [i for i, e in enumerate(evs) if e.WhichOneof("event") == "state"]
        after = states[-1] + 1
        assert states == list(range(split, after)), f"sub {sub}: state events apart"
        end_before, gaps_before = check_gapped(evs[:split], feed.epoch, f"sub {sub}")
        end_after, gaps_after = check_gapped(evs[after:], feed.epoch, f"sub {sub}")
        assert end_before == before, f"sub {sub}: before the restart ends at {end_before}"
        head = evs[after]
        first_after = head.message.seq if head.WhichOneof("event") == "message" \
            else head.gap.from_seq
        assert first_after == before + 1, f"sub {sub}: after the restart starts at {first_after}"
        assert want_last is None or end_after == want_last
        assert len(gaps_before) == 1 and len(gaps_after) == 1, (
            f"sub {sub}: gaps {gaps_before} before the restart, {gaps_after} after")
    client.close()


def test_stalled_subscriber_disconnected_by_policy(wsb):
    feed = Feed(wsb, f"client_buffer_bytes={BUFFER // KiB}K\nslow_client_policy=disconnect")
    readers = [Reader(feed.daemon) for _ in range(2)]
    stalled = Reader(feed.daemon)

    run_rate(feed, readers, FILL)

    feed.daemon.wait_log(r"disconnecting it \(slow_client_policy = disconnect\)")
    read_until([stalled], lambda r: False, 10 * wsbtest.SLOW)
    assert stalled.eof
    events = stalled.events()
    assert events and all(e.WhichOneof("event") == "message" for e in events), (
        "a disconnected client got something besides messages")
    seqs = [e.message.seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert len(seqs) < FILL
    # The others go on.
    run_rate(feed, readers, RATE // 10)
    assert "not keeping up" not in feed.daemon.log_text()


def test_socket_holds_about_client_buffer_bytes(wsb):
    """The daemon gives a client's socket a send buffer of half of
    client_buffer_bytes (the kernel doubles it), not the system's default of
    about 200 KiB, so that a client that keeps up finds bytes to read while
    the daemon is busy elsewhere: a subscriber that reads nothing has more
    than the default waiting in its socket."""
    with open("/proc/sys/net/core/wmem_max", encoding="ascii") as f:
        wmem_max = int(f.read())
    with open("/proc/sys/net/core/wmem_default", encoding="ascii") as f:
        wmem_default = int(f.read())
    buffer = 4 * wmem_default
    if wmem_max < buffer // 2:
        pytest.skip(f"net.core.wmem_max = {wmem_max} caps a socket's send buffer at "
                    f"about the default ({wmem_default})")
    feed = Feed(wsb, f"client_buffer_bytes={buffer}")
    stalled = Reader(feed.daemon)  # subscribes, then reads nothing
    numbers = feed.burst(3 * buffer // 40)  # frames of about 40 bytes: 3 × the buffer
    feed.daemon.wait_state("feed", "open", timeout=30 * wsbtest.SLOW,
                           check=lambda s: s["last_seq"] == numbers[-1])

    def queued():
        return fcntl.ioctl(stalled.api.sock, termios.FIONREAD, b"\0\0\0\0")
    in_socket = wsbtest.wait_for(
        lambda: (n := int.from_bytes(queued(), "little")) > 2 * wmem_default and n,
        10 * wsbtest.SLOW, "the stalled client's socket to fill")
    assert in_socket <= 2 * buffer, in_socket
    # Reading it all: what did not fit is one gap, nothing is missing.
    read_until([stalled], lambda r: r.has_message(numbers[-1]), 30 * wsbtest.SLOW)
    last, gaps = check_gapped(stalled.events(), feed.epoch, "stalled subscriber")
    assert last == numbers[-1] and len(gaps) == 1, gaps
    stalled.close()


def test_pipelined_requests_wait_and_all_get_replies(wsb):
    server = wsb.server()
    daemon = wsb.daemon("[daemon]\nclient_buffer_bytes=64K\nmax_requests_per_client=16\n\n"
                        + session_conf("feed", server.url))
    daemon.wait_state("feed", "open")
    client = ApiClient(daemon.socket, timeout=30 * wsbtest.SLOW)
    client.hello()
    count = 100000
    frames = b"".join(
        encode_varint(len(body)) + body for body in (
            pb.ClientFrame(request=pb.Request(id=i, list_sessions=pb.ListSessionsRequest()))
            .SerializeToString() for i in range(1, count + 1)))
    sender = threading.Thread(target=client.send_raw, args=(frames,), daemon=True)

    sender.start()
    # Not a readiness wait: the point is that nothing moves while the
    # client does not read. 100000 requests are far more than the socket
    # buffers hold, so the writer must still be blocked.
    time.sleep(0.5)
    assert sender.is_alive(), "the daemon read every request while replies went unread"

    ids = []
    while len(ids) < count:
        frame = client.recv_frame()
        assert frame is not None, f"EOF after {len(ids)} replies"
        assert frame.WhichOneof("frame") == "reply", frame
        assert frame.reply.WhichOneof("result") == "list_sessions", frame.reply
        ids.append(frame.reply.id)
    sender.join(10 * wsbtest.SLOW)
    assert not sender.is_alive()
    assert ids == list(range(1, count + 1))
    assert "feed" in client.list_sessions()
    assert "disconnecting" not in daemon.log_text()
    client.close()
