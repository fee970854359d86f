"""Bad frames on the socket API: each gets a clear error or a clean close, and
nobody else notices (robustness_rig.Rig: a watcher on a steady feed must miss
nothing, and the upstream connection must never drop).
"""

import pytest
import time

from wsbtest import encode_varint, pb, wait_for
from wsbtest.robustness_rig import (expect_error_then_eof, expect_reply_error, fd_count, field_len,
    field_varint, framed, GiB, hello_frame, KiB, MALFORMED, MiB, PROTOCOL, raw_reply,
    raw_request, request_frame, Rig, rss_bytes, rss_meaningful, TOO_LARGE, VERSION, WAIT,
    wait_fds_back)


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

    # Before the hello, the prefix announcing 1 GiB alone: the error comes
    # without the body.
    c = rig.client(False)
    c.send_raw(encode_varint(GiB))
    err = expect_error_then_eof(c, TOO_LARGE, "1 GiB prefix alone (no hello)")
    assert "65536" in err.message or "64" in err.message, err.message
    c.close()

    # After it, a request announcing 64 MiB: refused as soon as its id is
    # known (its first bytes), by itself; its body is skipped as it comes,
    # never kept, and the connection goes on after it (issue 25).
    c = rig.client()
    head = pb.ClientFrame(request=pb.Request(
        id=9, send=pb.SendRequest(session="feed", data=b"h" * 64))).SerializeToString()[:24]
    c.send_raw(encode_varint(64 * MiB) + head)
    err = expect_reply_error(raw_reply(c, b"", 9), TOO_LARGE, "a request announcing 64 MiB")
    assert "over max_frame_bytes (65536)" in err.message, err.message
    left = 64 * MiB - len(head)
    while left:
        left -= c.sock.send(b"\x00" * min(left, 64 * KiB))
    assert "feed" in c.list_sessions()
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
    err = expect_reply_error(raw_reply(c, send_frame_of(64 * KiB + 1, b"over-64K:"), 7),
                             TOO_LARGE, "frame of max_frame_bytes + 1")
    assert "over max_frame_bytes (65536)" in err.message, err.message
    assert "feed" in c.list_sessions()
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
