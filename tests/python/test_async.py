"""The asyncio API against a real daemon: subscribe, resume, gaps, send
outcomes, history, runtime sessions, several subscriptions on one connection."""

import asyncio

from pyclient import TIMEOUT, feed, run, take, texts, wait_received
from wsbtest import session_conf

import wsbridge


def test_async_subscribe_receives_text_and_binary(wsb):
    server, daemon = feed(wsb)

    async def main():
        async with wsbridge.connect(daemon.socket) as c:
            sessions = await c.sessions()
            assert [s.name for s in sessions] == ["s"] and sessions[0].state == "open"
            async with c.subscribe("s") as sub:
                assert sub.status.name == "s" and sub.status.state == "open"
                server.inject("one", b"\x00\xfftwo")
                items = await take(sub, 2)
        first, second = items
        assert (first.session, first.channel, first.data, first.binary) == ("s", "*", "one", False)
        assert second.data == b"\x00\xfftwo" and second.binary
        assert (first.seq, second.seq) == (1, 2) and first.epoch == second.epoch != 0
        assert first.time_us > 0
    run(main())


def test_async_resume_with_since_seq_and_epoch(wsb):
    server, daemon = feed(wsb, history_messages=10)

    async def main():
        async with wsbridge.connect(daemon.socket) as c:
            sub = await c.subscribe("s")
            server.inject("a", "b", "c", "d")
            items = await take(sub, 4)
            await sub.aclose()
            epoch = items[1].epoch
            # From after b: c and d again, from the history; then live.
            async with c.subscribe("s", since_seq=items[1].seq, epoch=epoch) as again:
                replay = await take(again, 2)
                assert texts(replay) == ["c", "d"] and [m.seq for m in replay] == [3, 4]
                server.inject("e")
                live = await take(again, 1)
                assert texts(live) == ["e"] and live[0].seq == 5
            # since_seq 0 with the epoch: the whole history of the epoch.
            async with c.subscribe("s", epoch=epoch) as whole:
                assert texts(await take(whole, 5)) == ["a", "b", "c", "d", "e"]
    run(main())


def test_async_gap_beyond_history(wsb):
    server, daemon = feed(wsb, history_messages=2)

    async def main():
        async with wsbridge.connect(daemon.socket) as c:
            sub = await c.subscribe("s")
            server.inject(*[f"m{i}" for i in range(1, 6)])
            got = await take(sub, 5)
            epoch = got[0].epoch
            async with c.subscribe("s", since_seq=1, epoch=epoch) as late:
                gap, *rest = await take(late, 3)
            assert gap == wsbridge.Gap("s", "*", 2, 3, epoch), gap
            assert texts(rest) == ["m4", "m5"]
            # An epoch that is not the current one: one gap for all of it.
            async with c.subscribe("s", since_seq=3, epoch=epoch ^ 1) as stale:
                first = await stale.get(TIMEOUT)
            assert first == wsbridge.Gap("s", "*", 1, 5, epoch), first
    run(main())


def test_async_send_each_outcome(wsb):
    server = wsb.server()
    down = wsb.server()
    down.kill()
    daemon = wsb.daemon(session_conf("s", server.url)
                        + session_conf("q", down.url, queue_max_messages=1))
    daemon.wait_state("s", "open")

    async def main():
        async with wsbridge.connect(daemon.socket) as c:
            plain = await c.send("s", "no wait")
            assert plain.outcome is None and plain.id > 0
            sent = await c.send("s", b"\x01binary", wait=True)
            assert sent == wsbridge.SendResult(plain.id + 1, "sent", ""), sent
            expired = await c.send("q", "too late", wait=True, ttl_ms=100)
            assert expired.outcome == "expired" and "ttl" in expired.reason, expired
            await c.send("q", "waits")
            try:
                await c.send("q", "rejected", wait=True)
            except wsbridge.QueueFull as e:
                assert e.code == "QUEUE_FULL" and "full" in e.message, e
            else:
                raise AssertionError("a send to a full queue was accepted")
            await c.create_session("r", down.url)
            cancelled = asyncio.create_task(c.send("r", "never", wait=True))
            await until(lambda: cancelled.done() or None, 0.3)  # it waits in the queue
            await c.remove_session("r")
            outcome = await cancelled
            assert outcome.outcome == "cancelled" and outcome.reason, outcome
    run(main())
    assert wait_received(server, 2)[:2] == ["no wait", b"\x01binary"]


async def until(predicate, timeout=TIMEOUT):
    """Poll PREDICATE on the event loop until it returns something truthy
    (then raise, when TIMEOUT is short: it must not); None when it never did."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    return None


def test_async_history_and_status(wsb):
    server, daemon = feed(wsb, history_messages=3)

    async def main():
        async with wsbridge.connect(daemon.socket) as c:
            sub = await c.subscribe("s")
            server.inject("h1", "h2", "h3", "h4")
            await take(sub, 4)
            items = await c.history("s")
            gap, *messages = items
            assert isinstance(gap, wsbridge.Gap) and (gap.from_seq, gap.to_seq) == (1, 1), gap
            assert texts(messages) == ["h2", "h3", "h4"]
            assert texts(await c.history("s", last=2)) == ["h3", "h4"]
            st = await c.status("s")
            assert st.last_seq == 4 and st.rx_messages == 4 and st.state == "open", st
    run(main())


def test_async_create_connect_disconnect_remove(wsb):
    server, daemon = feed(wsb)

    async def main():
        async with wsbridge.connect(daemon.socket) as c:
            st = await c.create_session("made", server.url, {
                "autoconnect": False, "history_messages": 5, "headers": ["X-A: 1", "X-B: 2"]})
            assert st.name == "made" and st.state == "disconnected", st
            states = c.subscribe("made")
            await states.start()
            await c.connect_session("made")
            change = await states.get(TIMEOUT)
            while change.state != "open":
                change = await states.get(TIMEOUT)
            assert isinstance(change, wsbridge.StateChange) and change.session == "made"
            await c.disconnect_session("made")
            assert (await c.status("made")).state in ("closing", "disconnected")
            await c.remove_session("made")
            assert [s.name for s in await c.sessions()] == ["s"]
    run(main())
    headers = server.events("handshake")[-1]["headers"]
    assert headers.get("x-a") == "1" and headers.get("x-b") == "2", headers


def test_async_several_subscriptions_on_one_connection(wsb):
    server, daemon = feed(wsb, channel_key="/ch", subscribe_template='{"sub":"{channel}"}',
                          unsubscribe_template='{"unsub":"{channel}"}')

    async def main():
        async with wsbridge.connect(daemon.socket) as c:
            every = await c.subscribe("s")
            red = await c.subscribe("s", "red")
            blue = await c.subscribe("s", "blue")
            server.inject('{"ch":"red","n":1}', '{"ch":"blue","n":2}', '{"ch":"red","n":3}')
            assert len(await take(every, 3)) == 3
            reds = await take(red, 2)
            assert [m.channel for m in reds] == ["red", "red"] and [m.seq for m in reds] == [1, 3]
            assert [m.seq for m in await take(blue, 1)] == [2]
            await blue.aclose()
            # Breaking out of the loop over a subscription unsubscribes it.
            async def first_green():
                async for item in c.subscribe("s", "green"):
                    return item
            green = asyncio.create_task(first_green())
            assert await until(lambda: '{"sub":"green"}' in server.received())
            server.inject('{"ch":"green","n":4}')
            assert (await green).seq == 4
            assert await until(lambda: '{"unsub":"green"}' in server.received()), (
                f"no upstream unsubscribe for green: {server.received()}")
            assert '{"unsub":"blue"}' in server.received()
            assert '{"unsub":"red"}' not in server.received()
            server.inject('{"ch":"red","n":5}')
            assert [m.seq for m in await take(every, 2)] == [4, 5]
            assert (await red.get(TIMEOUT)).seq == 5
    run(main())


def test_async_messages_the_fast_path_does_not_take_keep_their_order(wsb):
    """Frames over 16 KiB and channel names over 127 bytes are decoded by
    protobuf, the rest by the fast path; the order is the daemon's."""
    long_channel = "c" * 200
    server, daemon = feed(wsb, channel_key="/ch")
    big = "x" * 40000
    batch = [f'{{"ch":"{long_channel}","n":1}}', f'{{"ch":"{long_channel}","n":2,"pad":"{big}"}}',
             f'{{"ch":"{long_channel}","n":3}}']

    async def main():
        async with wsbridge.connect(daemon.socket) as c:
            every = await c.subscribe("s")
            routed = await c.subscribe("s", long_channel)
            server.inject(batch[0], b"\x00" * 30000, batch[1], "small", batch[2])
            all_items = await take(every, 5)
            assert [m.data for m in all_items] == [batch[0], b"\x00" * 30000, batch[1], "small",
                                                   batch[2]]
            assert [m.seq for m in all_items] == [1, 2, 3, 4, 5]
            # A routed message carries its channel, also to subscribers of "*".
            assert [m.channel for m in all_items] == [long_channel, "*", long_channel, "*",
                                                      long_channel]
            assert all_items[1].binary
            on_channel = await take(routed, 3)
            assert [m.data for m in on_channel] == batch and [m.seq for m in on_channel] == [1, 3, 5]
            assert {m.channel for m in on_channel} == {long_channel}
    run(main())


def test_async_star_subscription_over_many_routed_channels(wsb):
    """A "*" subscription learns routed channels into its fast path up to a
    limit; beyond it messages take the protobuf path, in the same order."""
    server, daemon = feed(wsb, channel_key="/ch")
    sent = [f'{{"ch":"c{i % 40}","i":{i}}}' for i in range(120)]

    async def main():
        async with wsbridge.connect(daemon.socket) as c:
            every = await c.subscribe("s")
            server.inject(*sent)
            got = await take(every, len(sent))
            assert [m.data for m in got] == sent
            assert [m.seq for m in got] == list(range(1, len(sent) + 1))
            assert [m.channel for m in got] == [f"c{i % 40}" for i in range(120)]
    run(main())
