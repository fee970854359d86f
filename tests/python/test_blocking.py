"""The blocking API (wsbridge.Client) against a real daemon: the same
operations as the asyncio API, from plain code and from threads."""

import threading

from pyclient import TIMEOUT, feed, take_blocking, texts, wait_received
from wsbtest import session_conf

import wsbridge


def test_blocking_subscribe_resume_and_gap(wsb):
    server, daemon = feed(wsb, history_messages=2)
    with wsbridge.Client(daemon.socket) as c:
        assert [s.name for s in c.sessions()] == ["s"]
        sub = c.subscribe("s")
        assert sub.status.state == "open"
        server.inject("a", "b", "c", b"\x00d")
        got = take_blocking(sub, 4)
        assert [m.data for m in got] == ["a", "b", "c", b"\x00d"] and got[3].binary
        epoch = got[0].epoch
        with c.subscribe("s", since_seq=3, epoch=epoch) as resumed:
            assert texts(take_blocking(resumed, 1)) == [b"\x00d"]
        with c.subscribe("s", since_seq=1, epoch=epoch) as late:
            gap, *rest = take_blocking(late, 3)
        assert gap == wsbridge.Gap("s", "*", 2, 2, epoch) and texts(rest) == ["c", b"\x00d"]
        sub.close()
        try:
            sub.get(TIMEOUT)
        except StopIteration:
            pass
        else:
            raise AssertionError("a closed subscription yielded an item")


def test_blocking_send_outcomes_history_and_sessions(wsb):
    server = wsb.server()
    down = wsb.server()
    down.kill()
    daemon = wsb.daemon(session_conf("s", server.url, history_messages=5)
                        + session_conf("q", down.url, queue_max_messages=1))
    daemon.wait_state("s", "open")
    with wsbridge.Client(daemon.socket) as c:
        assert c.send("s", "hello", wait=True).outcome == "sent"
        assert c.send("q", "late", wait=True, ttl_ms=100).outcome == "expired"
        c.send("q", "waits")
        try:
            c.send("q", "refused")
        except wsbridge.QueueFull as e:
            assert e.code == "QUEUE_FULL"
        else:
            raise AssertionError("a send to a full queue was accepted")
        st = c.create_session("r", down.url, {"queue_max_messages": 5})
        assert st.name == "r"
        result = []
        waiter = threading.Thread(target=lambda: result.append(c.send("r", "x", wait=True)))
        waiter.start()
        wsbtest_wait(lambda: c.status("r").queued_messages == 1, "the send to be queued")
        c.remove_session("r")
        waiter.join(TIMEOUT)
        assert result and result[0].outcome == "cancelled", result
        c.disconnect_session("s")
        assert c.status("s").state in ("closing", "disconnected")
        c.connect_session("s")
        daemon.wait_state("s", "open")
        sub = c.subscribe("s")
        server.inject("kept")
        take_blocking(sub, 1)
        assert texts(c.history("s")) == ["kept"]
    assert wait_received(server, 1) == ["hello"]


def wsbtest_wait(predicate, what):
    import wsbtest
    return wsbtest.wait_for(predicate, TIMEOUT, what)


def test_blocking_client_is_shared_by_threads(wsb):
    """One thread iterates while others send and ask for status."""
    server, daemon = feed(wsb)
    with wsbridge.Client(daemon.socket) as c:
        sub = c.subscribe("s")
        errors = []

        def sender(n):
            try:
                for i in range(10):
                    c.send("s", f"t{n}-{i}")
                    c.status("s")
            except Exception as e:  # reported below
                errors.append(e)
        threads = [threading.Thread(target=sender, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        server.inject(*[f"in{i}" for i in range(20)])
        assert texts(take_blocking(sub, 20)) == [f"in{i}" for i in range(20)]
        for t in threads:
            t.join(TIMEOUT)
        assert not errors, errors
    assert sorted(wait_received(server, 30)) == sorted(f"t{n}-{i}" for n in range(3)
                                                       for i in range(10))
