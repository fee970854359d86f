"""Bad input on the socket API: each gets a clear error or a clean close, and
nobody else notices.

Every test runs one server sending numbered messages steadily, one daemon,
and a `wsbridgectl watch feed --json` that reads throughout. At the end
(Rig.finish) the watcher must have every seq, in order, with no gap (it
reads fast: no gap is legitimate), must still be receiving, and the daemon
must still answer `status` with the upstream connection never dropped.
"""

import hashlib
import os
import pathlib
import threading
import time

import pytest

from wsbtest import SLOW, WRAPPER, ApiClient, encode_varint, pb, session_conf, wait_for

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

MALFORMED = pb.ERROR_CODE_MALFORMED_FRAME
TOO_LARGE = pb.ERROR_CODE_FRAME_TOO_LARGE
PROTOCOL = pb.ERROR_CODE_PROTOCOL
INVALID = pb.ERROR_CODE_INVALID_ARGUMENT
NOT_FOUND = pb.ERROR_CODE_NOT_FOUND
LIMIT = pb.ERROR_CODE_LIMIT_EXCEEDED
VERSION = pb.ERROR_CODE_VERSION_MISMATCH

WAIT = 5.0 * SLOW


def code_name(code):
    return pb.ErrorCode.Name(code)


# ---------------------------------------------------------------- raw protobuf

def field_len(number, data):
    """A length-delimited field, encoded by hand (for bytes the Python
    protobuf library refuses to produce: invalid UTF-8, unknown fields)."""
    return encode_varint(number << 3 | 2) + encode_varint(len(data)) + data


def field_varint(number, value):
    return encode_varint(number << 3) + encode_varint(value)


def framed(body):
    return encode_varint(len(body)) + body


def raw_request(req_id, *fields):
    """A whole ClientFrame{request} holding id and FIELDS (already encoded)."""
    return framed(field_len(2, field_varint(1, req_id) + b"".join(fields)))


def hello_frame(api_major=1, api_minor=0, name="robustness"):
    body = pb.ClientFrame(hello=pb.Hello(api_major=api_major, api_minor=api_minor,
                                         client_name=name)).SerializeToString()
    return framed(body)


def request_frame(req_id, **op):
    return framed(pb.ClientFrame(request=pb.Request(id=req_id, **op)).SerializeToString())


# ---------------------------------------------------------------- process probes

def fd_count(daemon):
    return len(os.listdir(f"/proc/{daemon.proc.pid}/fd"))


def rss_bytes(daemon):
    for line in pathlib.Path(f"/proc/{daemon.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * KiB
    raise AssertionError("no VmRSS in /proc/PID/status")


def rss_meaningful(daemon):
    """RSS says nothing under valgrind or ASan (its quarantine keeps freed memory)."""
    if WRAPPER:
        return False
    maps = pathlib.Path(f"/proc/{daemon.proc.pid}/maps").read_text()
    return "libasan" not in maps and "libclang_rt.asan" not in maps


def wait_fds_back(daemon, baseline, what):
    wait_for(lambda: fd_count(daemon) <= baseline, WAIT,
             lambda: f"the daemon's fds to return to {baseline} after {what} "
                     f"(now {fd_count(daemon)}: {sorted(fd_links(daemon))})")


def fd_links(daemon):
    out = []
    for fd in os.listdir(f"/proc/{daemon.proc.pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{daemon.proc.pid}/fd/{fd}"))
        except OSError:
            pass
    return out


def tree(*roots):
    """Every path (files and directories) under ROOTS."""
    return {str(p) for root in roots for p in pathlib.Path(root).rglob("*")}


# ---------------------------------------------------------------- the rig

class Rig:
    """A server sending "msg <n>" every 10 ms, a daemon with session feed
    on it, and a watcher on feed reading everything."""

    def __init__(self, wsb, daemon_keys="", extra_sessions="", **session_keys):
        """DAEMON_KEYS go in [daemon]; EXTRA_SESSIONS ("{url}": the server's)
        follow feed's group, which has SESSION_KEYS."""
        self.wsb = wsb
        self.server = wsb.server("--send-interval", "0.01")
        config = ("[daemon]\n" + daemon_keys + "\n\n"
                  + session_conf("feed", self.server.url, **session_keys)
                  + extra_sessions.replace("{url}", self.server.url))
        self.daemon = wsb.daemon(config)
        self.daemon.wait_state("feed", "open")
        self.watch = wsb.watch(self.daemon, "feed", 10 ** 7)
        self.watch.wait_messages(3)
        self.held = []  # connections left open until teardown

    def client(self, hello=True):
        c = ApiClient(self.daemon.socket)
        if hello:
            c.hello()
        return c

    def watch_progresses(self, n=10, what="the bad input"):
        """The watcher gets N more messages from now on."""
        mark = time.monotonic()
        wait_for(lambda: len(self.watch.messages(after=mark)) >= n, WAIT,
                 lambda: f"the watcher to get {n} messages after {what} "
                         f"(got {len(self.watch.messages(after=mark))}; "
                         f"watch exit {self.watch.proc.poll()})")

    def finish(self):
        self.watch_progresses(10, "the test")
        assert self.watch.proc.poll() is None, (
            f"the watcher exited with {self.watch.proc.returncode}")
        gaps = self.watch.events("gap")
        assert not gaps, f"the watcher saw gaps: {gaps[:5]}"
        states = self.watch.events("state")
        assert not states, f"the session changed state: {states[:5]}"
        msgs = self.watch.messages()
        seqs = [m["seq"] for m in msgs]
        missing = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (
            f"watcher seqs not consecutive: {len(seqs)} messages {seqs[0]}..{seqs[-1]}, "
            f"missing {missing[:20]}")
        times = [t for t, line in list(self.watch.lines) if line.get("type") == "text"]
        worst = max(b - a for a, b in zip(times, times[1:]))
        assert worst < 2.0 * SLOW, f"the watcher stalled for {worst:.2f} s"
        status = self.daemon.status()
        assert status["feed"]["state"] == "open" and status["feed"]["reconnects"] == 0, status
        assert self.daemon.proc.poll() is None, "the daemon died"
        return msgs


def expect_error_then_eof(client, code, what, needles=()):
    """The next frame is a connection-level error CODE, then EOF."""
    try:
        frame = client.recv_frame(timeout=WAIT)
        # Events (a send's outcome) may come first.
        while frame is not None and frame.WhichOneof("frame") == "event":
            frame = client.recv_frame(timeout=WAIT)
    except TimeoutError:
        raise AssertionError(f"{what}: the daemon neither answered nor closed") from None
    assert frame is not None, f"{what}: EOF without an error frame"
    assert frame.WhichOneof("frame") == "error", f"{what}: want an error frame, got {frame}"
    assert frame.error.code == code, (
        f"{what}: error {code_name(frame.error.code)} ({frame.error.message!r}), "
        f"want {code_name(code)}")
    assert frame.error.message, f"{what}: error without a message"
    for needle in needles:
        assert needle in frame.error.message, (
            f"{what}: error message {frame.error.message!r} does not mention {needle!r}")
    try:
        extra = client.recv_frame(timeout=WAIT)
    except TimeoutError:
        raise AssertionError(f"{what}: the connection stayed open after the error") from None
    assert extra is None, f"{what}: want EOF after the error, got {extra}"
    return frame.error


def expect_reply_error(reply, codes, what):
    assert reply.WhichOneof("result") == "error", (
        f"{what}: want an error reply, got {' '.join(str(reply).split())}")
    codes = (codes,) if isinstance(codes, int) else tuple(codes)
    assert reply.error.code in codes, (
        f"{what}: error {code_name(reply.error.code)} ({reply.error.message!r}), "
        f"want {' or '.join(map(code_name, codes))}")
    assert reply.error.message, f"{what}: error reply without a message"
    return reply.error


def raw_reply(client, data, req_id):
    """Send the raw bytes of one request; return its Reply."""
    client.send_raw(data)
    while True:
        frame = client.recv_frame(timeout=WAIT)
        assert frame is not None, "EOF while waiting for a reply"
        kind = frame.WhichOneof("frame")
        assert kind in ("reply", "event"), f"unexpected frame {frame}"
        if kind == "reply":
            assert frame.reply.id == req_id, f"reply for {frame.reply.id}, want {req_id}"
            return frame.reply
        client.pending_events.append(frame.event)


def pipeline(client, requests):
    """Send REQUESTS (dicts of Request ops) in one write; return their replies in order."""
    first = client.next_id
    data = b"".join(request_frame(first + i, **op) for i, op in enumerate(requests))
    client.next_id += len(requests)
    client.send_raw(data)
    replies = {}
    while len(replies) < len(requests):
        frame = client.recv_frame(timeout=WAIT)
        assert frame is not None, f"EOF after {len(replies)} of {len(requests)} replies"
        if frame.WhichOneof("frame") == "event":
            client.pending_events.append(frame.event)
            continue
        assert frame.WhichOneof("frame") == "reply", f"unexpected frame {frame}"
        replies[frame.reply.id] = frame.reply
    return [replies[first + i] for i in range(len(requests))]


# ---------------------------------------------------------------- tests

def test_truncated_varint_closes_cleanly_and_stalls_nobody(wsb):
    rig = Rig(wsb)
    baseline = fd_count(rig.daemon)

    # A prefix cut mid-varint (or a body cut short), then closed: nothing to
    # answer, the connection just goes.
    cuts = [b"\x80", b"\xff" * 5, b"\xff" * 9, encode_varint(300) + b"\x0a\x05",
            hello_frame(name="x" * 200)[:1]]
    for hello in (False, True):
        for cut in cuts:
            c = rig.client(hello)
            c.send_raw(cut)
            c.close()
    wait_fds_back(rig.daemon, baseline, "truncated frames then close")

    # A hello cut in its two-byte prefix, held open: the daemon waits for
    # the rest without answering and without holding up anyone else.
    whole = hello_frame(name="y" * 200)
    assert whole[0] & 0x80 and not whole[1] & 0x80, "want a two-byte prefix"
    held = rig.client(hello=False)
    held.send_raw(whole[:1])
    other = rig.client()
    assert "feed" in other.list_sessions()
    sub = other.subscribe_ok("feed")
    assert other.next_event().subscription_id == sub
    other.close()
    rig.watch_progresses(30, "a connection stuck mid-varint")
    with pytest.raises(TimeoutError):
        held.recv_frame(timeout=0.2)
    # The rest arrives byte by byte: the hello goes through.
    for i in range(1, len(whole), 50):
        held.send_raw(whole[i:i + 50])
    frame = held.recv_frame(timeout=WAIT)
    assert frame is not None and frame.WhichOneof("frame") == "hello", frame
    assert "feed" in held.list_sessions()
    # Then a request with a two-byte prefix, cut after its first byte, and
    # another connection stuck mid-body: others go on meanwhile.
    request = request_frame(99, send=pb.SendRequest(session="feed", data=b"r" * 200))
    assert request[0] & 0x80 and not request[1] & 0x80, "want a two-byte prefix"
    held.send_raw(request[:1])
    stuck = rig.client(hello=False)
    stuck.send_raw(encode_varint(1000) + b"\x12")
    rig.watch_progresses(20, "connections stuck mid-frame")
    assert "feed" in rig.client().list_sessions()
    with pytest.raises(TimeoutError):
        held.recv_frame(timeout=0.2)
    held.send_raw(request[1:])
    frame = held.recv_frame(timeout=WAIT)
    assert frame is not None and frame.WhichOneof("frame") == "reply", frame
    assert frame.reply.id == 99 and frame.reply.WhichOneof("result") == "send", frame
    held.close()
    wait_for(lambda: "r" * 200 in rig.server.received(), WAIT, "the reassembled send upstream")
    # The stuck one stays open through teardown: SIGTERM must still end the
    # daemon cleanly.
    rig.held.append(stuck)
    rig.finish()


def test_varint_over_10_bytes_is_malformed_then_closed(wsb):
    rig = Rig(wsb)
    cases = [
        # (what, bytes, expected code)
        ("10 continuation bytes, nothing more", b"\x80" * 10, MALFORMED),
        ("11-byte zero", b"\x80" * 10 + b"\x00", MALFORMED),
        ("10th byte past bit 64", b"\xff" * 9 + b"\x7f", MALFORMED),
        ("20 bytes of 0xff", b"\xff" * 20, MALFORMED),
        ("16-byte varint of 1", b"\x81" + b"\x80" * 14 + b"\x00", MALFORMED),
        # The longest valid varint, 2^64-1: a frame over any limit.
        ("10-byte varint 2^64-1", b"\xff" * 9 + b"\x01", TOO_LARGE),
    ]
    for hello in (False, True):
        for what, data, code in cases:
            c = rig.client(hello)
            c.send_raw(data)
            expect_error_then_eof(c, code, f"{what} (hello {hello})")
            c.close()
    # Byte by byte: the daemon decides at the tenth byte.
    c = rig.client()
    for _ in range(10):
        c.send_raw(b"\xff")
        time.sleep(0.01)  # separate reads, not a readiness wait
    expect_error_then_eof(c, MALFORMED, "0xff sent byte by byte")
    c.close()
    # After a good request on the same connection.
    c = rig.client()
    assert "feed" in c.list_sessions()
    c.send_raw(b"\xff" * 11)
    expect_error_then_eof(c, MALFORMED, "bad varint after a request")
    c.close()
    rig.finish()


def test_frame_over_max_frame_bytes_refused_before_its_body(wsb):
    rig = Rig(wsb, "max_frame_bytes=64K")
    rss_before = rss_bytes(rig.daemon)

    # Only the prefix announcing 1 GiB: the error comes without the body.
    for hello in (False, True):
        c = rig.client(hello)
        c.send_raw(encode_varint(GiB))
        err = expect_error_then_eof(c, TOO_LARGE, f"1 GiB prefix alone (hello {hello})")
        assert "65536" in err.message or "64" in err.message, err.message
        c.close()

    # 1 GiB announced and its body streaming in: the daemon closes long
    # before it has read the body.
    c = rig.client()
    c.send_raw(encode_varint(GiB))
    chunk, sent = b"\x00" * (64 * KiB), 0
    with pytest.raises((BrokenPipeError, ConnectionResetError)):
        while sent < 256 * MiB:
            sent += c.sock.send(chunk)
    assert sent < 16 * MiB, f"the daemon read {sent} bytes of a frame it must refuse"
    expect_error_then_eof(c, TOO_LARGE, "1 GiB frame with its body streaming")
    c.close()
    assert rss_bytes(rig.daemon) < rss_before + 32 * MiB or not rss_meaningful(rig.daemon), (
        "the daemon buffered the body")

    # The boundary: a frame of exactly max_frame_bytes is taken, one byte more is not.
    def send_frame_of(size, marker):
        req = pb.Request(id=7, send=pb.SendRequest(session="feed", data=b""))
        pad = size
        while True:
            req.send.data = marker + b"p" * max(0, pad - len(marker))
            body = pb.ClientFrame(request=req).SerializeToString()
            if len(body) == size:
                return framed(body)
            pad += size - len(body)

    c = rig.client()
    c.send_raw(send_frame_of(64 * KiB, b"exactly-64K:"))
    reply = c.recv_frame(timeout=WAIT)
    assert reply is not None and reply.WhichOneof("frame") == "reply", reply
    assert reply.reply.WhichOneof("result") == "send", f"a 64 KiB frame was refused: {reply}"
    c.send_raw(send_frame_of(64 * KiB + 1, b"over-64K:"))
    expect_error_then_eof(c, TOO_LARGE, "frame of max_frame_bytes + 1")
    c.close()
    wait_for(lambda: any(m.startswith("exactly-64K:") for m in rig.server.received()), WAIT,
             "the server to receive the 64 KiB send")
    assert not any(m.startswith("over-64K:") for m in rig.server.received())
    rig.finish()


# Each is rejected by protobuf's own parser (checked below), so no decoder
# may accept it.
UNDECODABLE = [
    ("ClientFrame.request claims 5 bytes, holds 2", b"\x12\x05\x08\x01"),
    ("varint cut at the end of a nested request", b"\x12\x02\x08\xff"),
    ("varint cut at the end of the frame", b"\x12\x00\x08"),
    ("field number 0", b"\x02\x00"),
    ("wire type 7", b"\x0f\x00"),
    ("hello whose client_name runs past the hello", b"\x0a\x03\x1a\x09abc"),
]


def test_undecodable_protobuf_is_malformed_then_closed(wsb):
    rig = Rig(wsb)
    for what, body in UNDECODABLE:
        try:
            pb.ClientFrame().ParseFromString(body)
        except Exception:  # noqa: BLE001 (DecodeError, by implementation)
            continue
        raise AssertionError(f"protobuf itself accepts {what!r}: not a test of decoding")
    for hello in (False, True):
        for what, body in UNDECODABLE:
            c = rig.client(hello)
            c.send_raw(framed(body))
            expect_error_then_eof(c, MALFORMED, f"{what} (hello {hello})")
            c.close()
    # A good frame, then a bad one in the same write: the good one is answered first.
    c = rig.client()
    c.send_raw(request_frame(5, list_sessions=pb.ListSessionsRequest())
               + framed(UNDECODABLE[0][1]))
    frame = c.recv_frame(timeout=WAIT)
    assert frame is not None and frame.WhichOneof("frame") == "reply" and frame.reply.id == 5, (
        frame)
    expect_error_then_eof(c, MALFORMED, "bad frame right after a good one")
    c.close()
    rig.finish()


def test_unknown_request_gets_protocol_error_and_connection_stays(wsb):
    rig = Rig(wsb)
    c = rig.client()

    # A request with no op.
    reply = c.request()
    expect_reply_error(reply, PROTOCOL, "request without an op")
    # An op the daemon does not know: field 99, as bytes and as a varint.
    reply = raw_reply(c, raw_request(1001, field_len(99, b"\x08\x01future")), 1001)
    expect_reply_error(reply, PROTOCOL, "request field 99 (bytes)")
    reply = raw_reply(c, raw_request(1002, field_varint(99, 5)), 1002)
    expect_reply_error(reply, PROTOCOL, "request field 99 (varint)")
    # The largest id is echoed.
    top = (1 << 64) - 1
    reply = raw_reply(c, raw_request(top, field_len(99, b"")), top)
    expect_reply_error(reply, PROTOCOL, "request id 2^64-1")
    assert "feed" in c.list_sessions(), "the connection is unusable after unknown requests"

    # Unknown fields next to known ones are ignored (readers ignore unknown fields).
    list_op = field_len(10, field_len(77, b"ignored"))
    reply = raw_reply(c, raw_request(1003, list_op, field_varint(98, 1)), 1003)
    assert reply.WhichOneof("result") == "list_sessions", reply
    assert [s.name for s in reply.list_sessions.sessions] == ["feed"], reply
    c.close()
    # ... also in a hello.
    c = rig.client(hello=False)
    hello = pb.Hello(api_major=1, client_name="future").SerializeToString()
    c.send_raw(framed(field_len(1, hello + field_len(50, b"xyz")) + field_varint(9, 1)))
    frame = c.recv_frame(timeout=WAIT)
    assert frame is not None and frame.WhichOneof("frame") == "hello", frame
    assert "feed" in c.list_sessions()
    c.close()
    rig.finish()


def test_request_before_hello_is_protocol_error_then_closed(wsb):
    rig = Rig(wsb)
    ops = [
        ("list_sessions", dict(list_sessions=pb.ListSessionsRequest())),
        ("send", dict(send=pb.SendRequest(session="feed", data=b"sent before hello"))),
        ("create_session", dict(create_session=pb.CreateSessionRequest(
            name="early", url=rig.server.url))),
        ("subscribe", dict(subscribe=pb.SubscribeRequest(session="feed"))),
    ]
    for what, op in ops:
        c = rig.client(hello=False)
        c.send_raw(request_frame(1, **op))
        expect_error_then_eof(c, PROTOCOL, f"{what} before hello", needles=("hello",))
        c.close()
    # Nothing of it happened.
    assert set(rig.daemon.status()) == {"feed"}
    rig.finish()
    assert "sent before hello" not in rig.server.received()


def test_hello_with_unknown_api_major_is_version_mismatch(wsb):
    rig = Rig(wsb)
    for major in (2, 0, 1000):
        c = rig.client(hello=False)
        c.send_raw(hello_frame(api_major=major))
        err = expect_error_then_eof(c, VERSION, f"hello api_major={major}")
        text = err.message.lower()
        assert str(major) in text and "version" in text and "1" in text, (
            f"api_major={major}: the message should name both versions: {err.message!r}")
        c.close()
    # A newer minor version is fine: the daemon speaks its own.
    c = rig.client(hello=False)
    c.send_raw(hello_frame(api_major=1, api_minor=99))
    frame = c.recv_frame(timeout=WAIT)
    assert frame is not None and frame.WhichOneof("frame") == "hello", frame
    assert frame.hello.api_major == 1 and frame.hello.daemon_version, frame
    assert "feed" in c.list_sessions()
    c.close()
    rig.finish()


def test_connect_disconnect_cycles_leak_nothing(wsb):
    rig = Rig(wsb, "max_clients=64")
    d = rig.daemon
    bystander = rig.client()
    sub = bystander.subscribe_ok("feed")

    def cycles(n):
        for i in range(n):
            kind = i % 10
            c = ApiClient(d.socket)
            if kind < 6:
                # hello, its reply, close
                c.send_raw(hello_frame(name=f"cycle{i}"))
                frame = c.recv_frame()
                assert frame is not None and frame.WhichOneof("frame") == "hello", (i, frame)
            elif kind == 6:
                pass  # connect, close
            elif kind == 7:
                c.send_raw(b"\x80")  # cut mid-varint
            elif kind == 8:
                # hello and a burst of requests, closed without reading:
                # the daemon's writes hit a closed socket
                c.send_raw(hello_frame() + request_frame(
                    1, list_sessions=pb.ListSessionsRequest()) * 50)
            else:
                # a request before hello, close without reading the error
                c.send_raw(request_frame(1, list_sessions=pb.ListSessionsRequest()))
            c.close()

    fds_before = fd_count(d)
    cycles(100)  # warm up the allocator
    wait_fds_back(d, fds_before, "100 warm-up cycles")
    rss_before = rss_bytes(d)
    start = time.monotonic()
    cycles(1000)
    # And 2000 more from 8 threads at once, so accepts and closes interleave
    # and the daemon's loop stays busy.
    errors = []

    def worker():
        try:
            cycles(250)
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30 * SLOW)
    assert not errors, f"concurrent cycles failed: {errors}"
    took = time.monotonic() - start
    assert took < 15 * SLOW, f"3000 cycles took {took:.1f} s"
    wait_fds_back(d, fds_before, "3000 connect/disconnect cycles")
    rss_after = rss_bytes(d)
    assert rss_after < rss_before + 8 * MiB or not rss_meaningful(d), (
        f"RSS grew from {rss_before >> 10} KiB to {rss_after >> 10} KiB over 3000 cycles")

    # The bystander noticed nothing and is still served.
    assert "feed" in bystander.list_sessions()
    ev = bystander.next_event()
    assert ev is not None and ev.subscription_id == sub, ev

    # The daemon's client count came back too: up to max_clients (64, less
    # the watcher and the bystander) connect at once; one more is refused.
    many = [rig.client() for _ in range(62)]
    extra = rig.client(hello=False)
    expect_error_then_eof(extra, LIMIT, "client over max_clients", needles=("max_clients",))
    extra.close()
    many.pop().close()
    wait_for(lambda: _hello_works(d), WAIT, "a client to be accepted after one left")
    for c in many:
        c.close()
    bystander.close()
    wait_fds_back(d, fds_before - 1, "closing 62 clients and the bystander")
    rig.finish()


def test_idle_clients_hold_no_input_buffer(wsb):
    """A client that sent requests and waits holds no input memory: 300 of
    them, each after a hello, a list and a 60 KiB send (one read's worth),
    cost the daemon well under the 64 KiB read buffer each used to keep
    (19 MiB)."""
    rig = Rig(wsb, "max_clients=600\nmax_clients_per_user=600")
    d = rig.daemon
    warm = [rig.client() for _ in range(20)]  # the allocator's first growth
    for c in warm:
        c.list_sessions()
    rss_before = rss_bytes(d)
    clients = []
    for i in range(300):
        c = rig.client()
        assert "feed" in c.list_sessions()
        c.send_ok("feed", b"x" * (60 * KiB))
        clients.append(c)
    grown = rss_bytes(d) - rss_before
    assert grown < 8 * MiB or not rss_meaningful(d), (
        f"300 idle clients grew the daemon by {grown >> 10} KiB")
    # Each still works, and a frame split across writes still arrives whole.
    for c in clients[::50]:
        frame = request_frame(7, list_sessions=pb.ListSessionsRequest())
        c.send_raw(frame[:3])
        time.sleep(0.01)
        c.send_raw(frame[3:])
        reply = c.recv_frame(timeout=WAIT)
        while reply is not None and reply.WhichOneof("frame") == "event":  # send outcomes
            reply = c.recv_frame(timeout=WAIT)
        assert reply is not None and reply.reply.id == 7, reply
    rig.watch_progresses()
    for c in clients + warm:
        c.close()
    rig.finish()


def _hello_works(daemon):
    c = ApiClient(daemon.socket)
    try:
        c.send_frame(pb.ClientFrame(hello=pb.Hello(api_major=1)))
        frame = c.recv_frame(timeout=WAIT)
        return frame is not None and frame.WhichOneof("frame") == "hello"
    finally:
        c.close()


ODD_NAMES = ["../x", "..", ".", "a/b", "", "x" * 300, "/etc/passwd", "feed/../feed",
             "./feed", "feed/", " feed", "FEED", "feed\x00x", "\u00e9t\u00e9"]


def _session_ops(name):
    return [
        ("get_session", dict(get_session=pb.GetSessionRequest(session=name))),
        ("subscribe", dict(subscribe=pb.SubscribeRequest(session=name, channel="*"))),
        ("send", dict(send=pb.SendRequest(session=name, data=b"odd"))),
        ("history", dict(history=pb.HistoryRequest(session=name))),
        ("connect", dict(connect=pb.ConnectRequest(session=name))),
        ("disconnect", dict(disconnect=pb.DisconnectRequest(session=name))),
        ("remove_session", dict(remove_session=pb.RemoveSessionRequest(session=name))),
    ]


def test_odd_session_names_get_errors_and_create_no_files(wsb):
    rig = Rig(wsb)
    d = rig.daemon
    before = tree(wsb.tmp, wsb.rundir)
    c = rig.client()

    problems = []

    def check(fn, *args):
        try:
            return fn(*args)
        except AssertionError as e:
            problems.append(str(e).splitlines()[0])
            return None

    for name in ODD_NAMES:
        for what, op in _session_ops(name):
            check(expect_reply_error, c.request(**op), (NOT_FOUND, INVALID), f"{what} {name!r}")
    c.pending_events.clear()

    # Invalid UTF-8 in a session or channel name: an error reply, or (a
    # proto3 string must be UTF-8) the frame is undecodable; never a crash,
    # and never an error message that is itself invalid UTF-8 (the parse
    # would fail here).
    bad = b"\xff\xfe../x\xc3"
    for what, field, op in (
            ("get_session", 15, field_len(1, bad)),
            ("subscribe", 11, field_len(1, bad)),
            ("send", 13, field_len(1, bad) + field_len(2, b"odd")),
            ("history", 14, field_len(1, bad)),
            ("connect", 18, field_len(1, bad)),
            ("remove_session", 17, field_len(1, bad)),
            ("create_session", 16, field_len(1, bad) + field_len(2, rig.server.url.encode())
             + field_varint(4, 1)),
            ("subscribe to a channel", 11, field_len(1, b"feed") + field_len(2, bad)),
            ("history of a channel", 14, field_len(1, b"feed") + field_len(2, bad))):
        req_id = c.next_id
        c.next_id += 1
        c.send_raw(raw_request(req_id, field_len(field, op)))
        frame = c.recv_frame(timeout=WAIT)
        while frame is not None and frame.WhichOneof("frame") == "event":
            frame = c.recv_frame(timeout=WAIT)
        assert frame is not None, f"{what} with invalid UTF-8: EOF without an answer"
        if frame.WhichOneof("frame") == "error":
            assert frame.error.code == MALFORMED, f"{what} with invalid UTF-8: {frame}"
            assert c.recv_frame(timeout=WAIT) is None
            c.close()
            c = rig.client()
        else:
            assert frame.WhichOneof("frame") == "reply" and frame.reply.id == req_id, frame
            check(expect_reply_error, frame.reply, (NOT_FOUND, INVALID),
                  f"{what} with invalid UTF-8")

    # CreateSession with a path for a name, persisted or not: refused, no file.
    for name in ["../x", "../../escape", "..", ".", "a/b", "", ".hidden", "-dash", "x" * 65,
                 str(wsb.tmp / "abs"), "ok\x00/../../x", "Feed2"]:
        for persist in (True, False):
            reply = c.request(create_session=pb.CreateSessionRequest(
                name=name, url=rig.server.url, persist=persist))
            err = check(expect_reply_error, reply, INVALID,
                        f"create_session {name!r} persist={persist}")
            if err and "name" not in err.message:
                problems.append(f"create_session {name!r}: {err.message!r} names no name")
    # The same through the CLI.
    for args in (("add", "../x", "ws://h/"), ("add", "../x", "ws://h/", "--persist"),
                 ("add", "../../escape", rig.server.url, "--persist"),
                 ("add", "a/b", rig.server.url, "--persist")):
        r = d.ctl(*args)
        if r.returncode != 1 or "invalid session name" not in r.stderr:
            problems.append(f"wsbridgectl {' '.join(args)}: exit {r.returncode}, {r.stderr!r}")

    sessions = set(d.status())
    if sessions != {"feed"}:
        problems.append(f"sessions now: {sorted(sessions)}")
    assert "feed" in c.list_sessions()
    c.close()
    new = sorted(tree(wsb.tmp, wsb.rundir) - before)
    if new:
        problems.append(f"files appeared: {new}")
    assert not problems, "odd names were not refused cleanly:\n  " + "\n  ".join(problems)
    rig.finish()


def _outcomes(client, n, by_session=False):
    """The next N send outcomes, by send id (ids are per session: by
    (session, id) with by_session); other events are skipped."""
    outcomes = {}
    while len(outcomes) < n:
        ev = client.next_event(timeout=10 * SLOW)
        assert ev is not None, f"outcomes so far: {outcomes}"
        if ev.WhichOneof("event") == "outcome":
            key = (ev.outcome.session, ev.outcome.send_id) if by_session else ev.outcome.send_id
            outcomes[key] = pb.SendResult.Name(ev.outcome.result)
    return outcomes


def test_empty_sends_reach_the_server(wsb):
    # feed negotiates permessage-deflate (the default), plain does not.
    rig = Rig(wsb, extra_sessions=session_conf("plain", "{url}", compression="false"))
    rig.daemon.wait_state("plain", "open")
    c = rig.client()

    sends = [("feed", b"", False), ("feed", b"", True), ("feed", b"after", False),
             ("feed", b"", False), ("plain", b"", False), ("plain", b"", True),
             ("plain", b"", False)]
    for session, data, binary in sends:
        c.send_ok(session, data, binary)
    outcomes = _outcomes(c, len(sends), by_session=True)
    assert set(outcomes.values()) == {"SEND_RESULT_SENT"}, outcomes

    def received():
        return [(e["type"], e["len"]) for e in rig.server.events("message")]
    want = [("binary" if b else "text", len(d)) for _, d, b in sends]
    wait_for(lambda: sorted(received()) == sorted(want), WAIT,
             lambda: f"the server to receive {want}; it has {received()}")
    assert "feed" in c.list_sessions()
    c.close()
    rig.finish()


def test_10_mib_send_arrives_intact_and_over_limit_send_refused(wsb):
    head = ("caf\u00e9 \u2603 " * 100000).encode()
    big = head + b"x" * (10 * MiB - len(head) - 8) + b"the-end!"
    assert len(big) == 10 * MiB
    rig = Rig(wsb, queue_max_bytes="64M",
              extra_sessions=session_conf("small", "ws://127.0.0.1:9/", autoconnect="false",
                                          queue_max_bytes="1M"))
    c = rig.client()

    mark = time.monotonic()
    big_id = c.send_ok("feed", big)
    # Larger than the session's queue: refused with a reply, connection kept.
    reply = c.send("small", b"y" * (2 * MiB))
    err = expect_reply_error(reply, INVALID, "a send over queue_max_bytes")
    assert "queue_max_bytes" in err.message, err.message
    assert _outcomes(c, 1) == {big_id: "SEND_RESULT_SENT"}

    def received():
        return rig.server.events("message")
    got = wait_for(received, 10 * SLOW, "the 10 MiB message at the server", interval=0.1)
    assert [(e["type"], e["len"]) for e in got] == [("text", 10 * MiB)], (
        [(e["type"], e["len"]) for e in got])
    assert got[0]["sha256"] == hashlib.sha256(big).hexdigest(), "the 10 MiB message changed"
    # The watcher kept receiving while 10 MiB went out.
    assert len(rig.watch.messages(after=mark)) >= 1
    assert "feed" in c.list_sessions()

    # A send whose frame is over max_frame_bytes (16M by default): refused
    # at the frame, the connection closed.
    huge = request_frame(c.next_id, send=pb.SendRequest(session="feed", data=b"z" * (17 * MiB)))
    try:
        c.send_raw(huge)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the daemon closed before taking it all
    expect_error_then_eof(c, TOO_LARGE, "a 17 MiB send", needles=("max_frame_bytes",))
    c.close()
    rig.finish()
    assert len(rig.server.events("message")) == 1, "the 17 MiB send went out"


def test_subscription_limit_per_client(wsb):
    rig = Rig(wsb, "max_subscriptions_per_client=100")
    c = rig.client()
    ops = [dict(subscribe=pb.SubscribeRequest(session="feed", channel="*" if i == 0
                                              else f"quiet/{i}")) for i in range(5000)]
    replies = []
    for i in range(0, len(ops), 200):
        replies += pipeline(c, ops[i:i + 200])
    kinds = [r.WhichOneof("result") for r in replies]
    assert kinds[:100] == ["subscribe"] * 100, kinds[:100]
    for i, r in enumerate(replies[100:], 100):
        expect_reply_error(r, LIMIT, f"subscribe #{i + 1}")
    ids = [r.subscribe.subscription_id for r in replies[:100]]
    assert len(set(ids)) == 100
    assert "max_subscriptions_per_client" in replies[100].error.message, replies[100]

    # Still usable: the "*" subscription delivers, one freed slot is usable again.
    assert "feed" in c.list_sessions()
    c.unsubscribe(ids[50])
    again = c.subscribe_ok("feed", "quiet/again")
    expect_reply_error(c.subscribe("feed", "quiet/more"), LIMIT, "subscribe after refilling")
    c.pending_events.clear()
    ev = c.next_event()
    assert ev is not None and ev.subscription_id == ids[0], ev
    assert again not in ids
    # The limit is per connection.
    other = rig.client()
    other.subscribe_ok("feed")
    other.close()
    c.close()
    rig.finish()
