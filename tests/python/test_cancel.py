"""Cancellation: a task cancelled while it waits never corrupts the
connection; the other tasks sharing it go on, and nothing is lost."""

import asyncio

from pyclient import TIMEOUT, feed, run, take, texts
from test_async import until
from wsbtest import SLOW, wait_for

import wsbridge


def test_cancelled_recv_leaves_the_connection_usable(wsb):
    server, daemon = feed(wsb, channel_key="/ch")

    async def main():
        async with wsbridge.connect(daemon.socket) as c:
            a = await c.subscribe("s", "a")
            b = await c.subscribe("s", "b")
            waiting = asyncio.create_task(a.get())
            other = asyncio.create_task(take(b, 2))
            await asyncio.sleep(0.05)
            waiting.cancel()
            try:
                await waiting
            except asyncio.CancelledError:
                pass
            server.inject('{"ch":"b","n":1}', '{"ch":"a","n":2}', '{"ch":"b","n":3}')
            assert [m.seq for m in await other] == [1, 3]
            # The cancelled subscription lost nothing and goes on.
            assert (await a.get(TIMEOUT)).seq == 2
            assert [s.name for s in await c.sessions()] == ["s"]
    run(main())


def test_cancelled_requests_and_subscribe_are_undone_cleanly(wsb):
    server, daemon = feed(wsb, channel_key="/ch", subscribe_template='{"sub":"{channel}"}',
                          unsubscribe_template='{"unsub":"{channel}"}')

    async def main():
        async with wsbridge.connect(daemon.socket) as c:
            live = await c.subscribe("s")
            # Requests cancelled before their replies arrive: the late replies are
            # dropped and the next requests get their own.
            for _ in range(20):
                task = asyncio.create_task(c.status("s"))
                await asyncio.sleep(0)
                task.cancel()
            # A subscribe cancelled before its reply: the daemon's subscription is
            # undone, so the upstream sees it subscribed and unsubscribed.
            sub = c.subscribe("s", "gone")
            task = asyncio.create_task(sub.start())
            await asyncio.sleep(0)
            task.cancel()
            assert await until(lambda: '{"unsub":"gone"}' in server.received()), (
                server.received())
            st = await c.status("s")
            assert st.name == "s"
            # A send cancelled while it waits for its outcome is still sent, once.
            send = asyncio.create_task(c.send("s", "once", wait=True))
            await asyncio.sleep(0)
            send.cancel()
            await c.send("s", "after", wait=True)
            server.inject("still here")
            assert texts(await take(live, 1)) == ["still here"]
    run(main())
    # "sent" is handed to the socket: the server records it a moment later.
    wait_for(lambda: "after" in server.received(), 5 * SLOW, "the server to record 'after'")
    received = server.received()
    assert received.count("once") == 1 and received.index("once") < received.index("after"), (
        received)
