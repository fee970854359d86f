"""What a connection opens with, and how it ends, for clients that come
later (API 1.2): a subscription with `opening` starts with the first
opening_messages messages of the session's current upstream connection (a
server's greeting), as a connection of its own would have; the session's
status tells how its last connection ended (the server's close code and
reason, 1006 for a drop)."""

from wsbtest import SLOW, ApiClient, pb, session_conf, wait_for


def events(api, n):
    out = []
    while len(out) < n:
        ev = api.next_event()
        assert ev is not None, f"only {len(out)} of {n} events: {out}"
        if ev.WhichOneof("event") == "message":
            out.append(ev.message)
    return out


def test_opening_messages_reach_a_subscriber_that_comes_later(wsb):
    server = wsb.server("--greeting", "welcome {conn}", "--send-interval", "0.02")
    daemon = wsb.daemon(session_conf("s", server.url, opening_messages="3"))
    api = ApiClient(daemon.socket)
    api.hello()
    wait_for(lambda: api.list_sessions()["s"].last_seq >= 10, 10 * SLOW, "ten messages")
    conn = server.connects()[0]["conn"]

    reply = api.request(subscribe=pb.SubscribeRequest(session="s", channel="*", opening=True))
    assert reply.WhichOneof("result") == "subscribe", reply
    got = events(api, 5)
    assert [m.data.decode() for m in got[:3]] == [f"welcome {conn}", "msg 1", "msg 2"]
    assert [m.seq for m in got[:3]] == [1, 2, 3]
    # Then live ones, after what the session had when the subscription began.
    assert got[3].seq > 10 and got[4].seq == got[3].seq + 1, [m.seq for m in got]

    # Without `opening`: live only.
    plain = ApiClient(daemon.socket)
    plain.hello()
    plain.subscribe_ok("s")
    first = events(plain, 1)[0]
    assert not first.data.startswith(b"welcome") and first.seq > 10
    plain.close()
    api.close()


def test_opening_messages_follow_the_connection(wsb):
    """After a reconnect, the new connection's greeting replaces the old."""
    server = wsb.server("--greeting", "welcome {conn}", "--send-interval", "0.05",
                        "--close-after", "0.5", "--close-code", "4001")
    daemon = wsb.daemon(session_conf("s", server.url, opening_messages="1",
                                     backoff_initial_ms="50", backoff_max_ms="100"))
    daemon.wait_state("s", "open")
    server.wait_connects(2)
    daemon.wait_state("s", "open")
    second = server.connects()[1]["conn"]
    api = ApiClient(daemon.socket)
    api.hello()
    wait_for(lambda: api.list_sessions()["s"].state == pb.SESSION_STATE_OPEN
             and server.connects()[-1]["conn"] == second, 5 * SLOW, "the second connection")
    reply = api.request(subscribe=pb.SubscribeRequest(session="s", opening=True))
    assert reply.WhichOneof("result") == "subscribe", reply
    assert events(api, 1)[0].data.decode() == f"welcome {second}"
    api.close()


def test_status_tells_how_the_last_connection_ended(wsb):
    server = wsb.server("--close-after", "0.3", "--close-code", "4001")
    daemon = wsb.daemon(session_conf("s", server.url, backoff_initial_ms="5000",
                                     backoff_max_ms="10000"))
    api = ApiClient(daemon.socket)
    api.hello()
    assert api.list_sessions()["s"].close_code == 0
    wait_for(lambda: api.list_sessions()["s"].close_code == 4001, 10 * SLOW,
             "the server's close code")
    st = api.list_sessions()["s"]
    assert st.close_reason == "server says bye", st
    # A subscriber hears it with the state change.
    api.request(connect=pb.ConnectRequest(session="s"))
    daemon.wait_state("s", "open")
    sub = ApiClient(daemon.socket)
    sub.hello()
    sub.subscribe_ok("s")
    wait_for(lambda: any(e.WhichOneof("event") == "state"
                         and e.state.status.state == pb.SESSION_STATE_BACKOFF
                         and e.state.status.close_code == 4001
                         for e in [sub.next_event(timeout=0.5)] if e), 10 * SLOW,
             "a state change with the close code")
    # Our own close: 1000 and why.
    api.request(disconnect=pb.DisconnectRequest(session="s"))
    daemon.wait_state("s", "disconnected")
    st = api.list_sessions()["s"]
    assert (st.close_code, st.close_reason) in ((1000, "disconnected by request"),
                                                (4001, "server says bye")), st
    sub.close()
    api.close()


def test_a_dropped_connection_ends_with_1006(wsb):
    server = wsb.server("--send-interval", "0.05")
    daemon = wsb.daemon(session_conf("s", server.url, backoff_initial_ms="5000",
                                     backoff_max_ms="10000"))
    daemon.wait_state("s", "open")
    server.kill()
    api = ApiClient(daemon.socket)
    api.hello()
    wait_for(lambda: api.list_sessions()["s"].close_code == 1006, 10 * SLOW, "1006")
    api.close()


def test_only_what_came_in_the_opening_window_counts(wsb):
    server = wsb.server("--greeting", "welcome {conn}", "--send-interval", "0.3")
    daemon = wsb.daemon(session_conf("s", server.url, opening_window_ms="150"))
    api = ApiClient(daemon.socket)
    api.hello()
    wait_for(lambda: api.list_sessions()["s"].last_seq >= 3, 10 * SLOW, "three messages")
    reply = api.request(subscribe=pb.SubscribeRequest(session="s", opening=True))
    assert reply.WhichOneof("result") == "subscribe", reply
    got = events(api, 2)
    # The greeting, then live messages: msg 1 came 300 ms after the open.
    assert got[0].data.decode().startswith("welcome") and got[0].seq == 1
    assert got[1].seq > 3, [m.seq for m in got]
    api.close()


def test_closing_says_our_code_and_no_opening_messages_outlive_their_connection(wsb):
    server = wsb.server("--greeting", "welcome {conn}", "--send-interval", "0.05")
    daemon = wsb.daemon(session_conf("s", server.url, backoff_initial_ms="5000",
                                     backoff_max_ms="10000"))
    daemon.wait_state("s", "open")
    sub = ApiClient(daemon.socket)
    sub.hello()
    sub.subscribe_ok("s")
    api = ApiClient(daemon.socket)
    api.hello()
    api.request(disconnect=pb.DisconnectRequest(session="s"))
    # The closing state already carries the daemon's own close code.
    wait_for(lambda: any(e.WhichOneof("event") == "state"
                         and e.state.status.state == pb.SESSION_STATE_CLOSING
                         and e.state.status.close_code == 1000
                         for e in [sub.next_event(timeout=0.5)] if e), 10 * SLOW,
             "a closing state with code 1000")
    daemon.wait_state("s", "disconnected")
    # No connection now: an opening subscription gets nothing of the last one.
    reply = api.request(subscribe=pb.SubscribeRequest(session="s", opening=True))
    assert reply.WhichOneof("result") == "subscribe", reply
    assert api.next_event(timeout=0.5) is None
    sub.close()
    api.close()
