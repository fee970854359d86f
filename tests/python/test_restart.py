"""A subscription outlives a daemon restart: it reconnects with backoff,
resubscribes from the last message it received, and the hole shows as one
Gap; nothing is yielded twice.

The client reaches the daemon through a symlink, so the test decides when
the restarted daemon becomes reachable: only after it has received messages
of its new epoch, which the subscriber cannot have seen."""

import asyncio

from pyclient import (FAST_BACKOFF, TIMEOUT, next_event, next_event_blocking, run, take,
                      take_blocking, texts)
from wsbtest import session_conf, wait_for

import wsbridge


def _setup(wsb):
    server = wsb.server()
    conf = session_conf("s", server.url, history_messages=10)
    first = wsb.daemon(conf)
    first.wait_state("s", "open")
    link = wsb.rundir / "client.sock"
    link.symlink_to(first.socket)
    return server, conf, first, link


def _restart(wsb, server, conf, first, link):
    """Stop FIRST, start a second daemon, let it receive two messages of
    its new epoch, then point LINK at it."""
    assert first.stop() == 0
    server.inject("lost-1", "lost-2")  # go out when the new daemon connects
    second = wsb.daemon(conf)
    second.wait_state("s", "open", check=lambda s: s["last_seq"] == 2)
    link.unlink()
    link.symlink_to(second.socket)
    return second


def test_async_subscription_survives_daemon_restart(wsb):
    server, conf, first, link = _setup(wsb)

    async def main():
        async with wsbridge.connect(link, reconnect=FAST_BACKOFF) as c:
            sub = await c.subscribe("s")
            server.inject("a", "b")
            before = await take(sub, 2)
            await asyncio.to_thread(_restart, wsb, server, conf, first, link)
            gap = await next_event(sub)
            server.inject("c")
            after = [await next_event(sub)]
            # A request on the same connection works again.
            assert [s.name for s in await c.sessions()] == ["s"]
            return before, gap, after
    before, gap, after = run(main())
    assert texts(before) == ["a", "b"] and [m.seq for m in before] == [1, 2]
    assert isinstance(gap, wsbridge.Gap) and (gap.from_seq, gap.to_seq) == (1, 2), gap
    assert gap.epoch != before[0].epoch
    assert texts(after) == ["c"] and after[0].seq == 3 and after[0].epoch == gap.epoch


def test_blocking_subscription_survives_daemon_restart(wsb):
    server, conf, first, link = _setup(wsb)
    with wsbridge.Client(link, reconnect=FAST_BACKOFF) as c:
        sub = c.subscribe("s")
        server.inject("a")
        before = take_blocking(sub, 1)
        _restart(wsb, server, conf, first, link)
        gap = next_event_blocking(sub)
        server.inject("b")
        after = [next_event_blocking(sub)]
    assert isinstance(gap, wsbridge.Gap) and (gap.from_seq, gap.to_seq) == (1, 2), gap
    assert texts(before + after) == ["a", "b"] and after[0].epoch == gap.epoch


def test_restart_resumes_without_repeating_what_was_received(wsb):
    """A daemon restarted with nothing new: the subscription goes on from
    the new epoch's first message, nothing repeated, no gap invented. (The
    daemon subscribes upstream when the client resubscribes to channel x.)"""
    server = wsb.server()
    conf = session_conf("s", server.url, channel_key="/ch",
                        subscribe_template='{"sub":"{channel}"}')
    first = wsb.daemon(conf)
    first.wait_state("s", "open")
    link = wsb.rundir / "client.sock"
    link.symlink_to(first.socket)
    with wsbridge.Client(link, reconnect=FAST_BACKOFF) as c:
        sub = c.subscribe("s", "x")
        server.inject('{"ch":"x","n":1}', '{"ch":"x","n":2}')
        before = take_blocking(sub, 2)
        assert first.stop() == 0
        second = wsb.daemon(conf)
        second.wait_state("s", "open")
        link.unlink()
        link.symlink_to(second.socket)
        wait_for(lambda: server.received().count('{"sub":"x"}') == 2, TIMEOUT,
                 lambda: f"the client to resubscribe: {server.received()}")
        server.inject('{"ch":"x","n":3}')
        after = next_event_blocking(sub)
    assert [m.seq for m in before] == [1, 2]
    assert isinstance(after, wsbridge.Message) and after.data == '{"ch":"x","n":3}', after
    assert after.seq == 1 and after.epoch != before[0].epoch


def test_subscription_gives_up_after_its_backoff(wsb):
    server, conf, first, link = _setup(wsb)
    backoff = wsbridge.Backoff(initial=0.05, maximum=0.1, give_up_after=1.0)
    with wsbridge.Client(link, reconnect=backoff) as c:
        sub = c.subscribe("s")
        assert first.stop() == 0
        try:
            next_event_blocking(sub)
        except wsbridge.DaemonUnreachable as e:
            assert "gave up reconnecting" in e.reason and e.socket == str(link), e
        else:
            raise AssertionError("the subscription did not give up")
        try:
            c.sessions()
        except wsbridge.DaemonUnreachable:
            pass
        else:
            raise AssertionError("a request after giving up did not fail")


def test_repeated_restarts_under_traffic_lose_nothing_silently(wsb):
    """The daemon restarted three times while the server keeps sending: in
    every epoch the messages and gaps the subscriber gets cover the seqs
    contiguously, each once (from 1 in every epoch after the first)."""
    server = wsb.server("--send-interval", "0.01")
    conf = session_conf("s", server.url, history_messages=1000)
    daemon = wsb.daemon(conf)
    daemon.wait_state("s", "open")
    with wsbridge.Client(daemon.socket, reconnect=FAST_BACKOFF) as c:
        sub = c.subscribe("s")
        start = sub.status.last_seq
        items = []

        def collect(n):
            for _ in range(n):
                items.append(next_event_blocking(sub))
        collect(20)
        for _ in range(3):
            assert daemon.stop() == 0
            daemon.start(conf)
            collect(30)
    epochs = []
    for item in items:
        if not epochs or epochs[-1][0] != item.epoch:
            epochs.append((item.epoch, []))
        epochs[-1][1].append(item)
    assert len(epochs) == 4, [(e, len(i)) for e, i in epochs]
    for n, (epoch, its) in enumerate(epochs):
        expected = start + 1 if n == 0 else 1
        for item in its:
            first, last = ((item.seq, item.seq) if isinstance(item, wsbridge.Message)
                           else (item.from_seq, item.to_seq))
            assert first == expected, (n, expected, item)
            expected = last + 1
