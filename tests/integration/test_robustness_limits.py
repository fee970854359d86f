"""Resources and limits on the socket API: connect cycles and idle clients
leak nothing, odd session names create no files, empty and 10 MiB sends, the
subscription limit -- and nobody else notices (robustness_rig.Rig).
"""

import hashlib
import threading
import time

from wsbtest import ApiClient, SLOW, pb, session_conf, wait_for
from wsbtest.robustness_rig import (expect_error_then_eof, expect_reply_error, fd_count, field_len,
    field_varint, hello_frame, INVALID, KiB, LIMIT, MALFORMED, MiB, NOT_FOUND, pipeline,
    raw_reply, raw_request, request_frame, Rig, rss_bytes, rss_meaningful, TOO_LARGE, tree, WAIT,
    wait_fds_back)


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
    # by itself at the frame, its bytes skipped; the connection goes on.
    huge_id = c.next_id
    c.next_id += 1
    huge = request_frame(huge_id, send=pb.SendRequest(session="feed", data=b"z" * (17 * MiB)))
    err = expect_reply_error(raw_reply(c, huge, huge_id), TOO_LARGE, "a 17 MiB send")
    assert "max_frame_bytes" in err.message, err.message
    assert "feed" in c.list_sessions()
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
