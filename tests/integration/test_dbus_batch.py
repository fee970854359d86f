"""Batched D-Bus delivery: a subscription made with SubscribeWithOptions
and the batch option gets the messages of each read from upstream in one
Messages signal (seq, time, binary, bytes each), within the signal's
limits, in seq order with its Gap signals; everyone else keeps the plain
Message signals."""

import json
import time

import dbus

from test_dbus import (ERR, SESSION, Client, _managed, assert_in_seq_order,  # noqa: F401
                       bus, dbus_daemon, dbus_error, history_of_four, wait_until)
from test_hostile import frame
from wsbtest import SLOW, session_conf, wait_for

NOW_US = int(time.time() * 1e6)
INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"
# The signal's limits (dbus-batch.c, documented in the interface XML).
BATCH_MAX_MESSAGES, BATCH_MAX_BYTES = 8192, 512 * 1024


def options(**kw):
    return dbus.Dictionary(kw, signature="sv")


def subscribe_batched(client, session, channel="*", since_seq=0, epoch=0, **kw):
    client.session(session, "SubscribeWithOptions", channel, dbus.UInt64(since_seq),
                   dbus.UInt64(epoch), options(batch=True, **kw))


def batches(client):
    """The Messages signals received: [(channel, [(seq, time_usec, binary, bytes)])]."""
    return [(a[0], [tuple(m) for m in a[1]]) for *_, a in client.got("Messages", SESSION)]


def batched(client):
    return [m for _, ms in batches(client) for m in ms]


def flooded_batches(wsb, bus, payload, nbytes, timeout=30):
    """A batched D-Bus subscriber of session s, whose upstream, once
    connected, sends the frame of payload over and over in large writes
    (nbytes in all); returns the subscriber once every message came, and
    how many there were."""
    raw = frame(0x81, payload)
    up = wsb.raw_server([{"flood": {"frame_hex": raw.hex(), "bytes": nbytes}}])
    daemon = dbus_daemon(wsb, bus, session_conf("s", up.url, autoconnect="false",
                                                compression="false"))
    sub = Client(bus)
    subscribe_batched(sub, "s")
    daemon.ctl_ok("connect", "s")
    wait_for(lambda: up.events("flooded"), 30 * SLOW, "the upstream's flood")
    total = up.events("flooded")[0]["bytes"] // len(raw)
    wait_until(lambda: len(batched(sub)) >= total, timeout * SLOW, f"{total} batched messages")
    return sub, total


def test_dbus_batched_messages_come_a_read_at_a_time(wsb, bus):
    payload = b'{"n":1,"pad":"' + b"x" * 80 + b'"}'
    sub, total = flooded_batches(wsb, bus, payload, 400_000)
    got = batched(sub)
    assert [m[0] for m in got] == list(range(1, total + 1))
    assert all(data == payload and not binary for _, _, binary, data in got)
    assert all(NOW_US <= t <= time.time() * 1e6 for _, t, _, _ in got)
    assert {ch for ch, _ in batches(sub)} == {"*"}
    # Reads of up to 64 KiB: hundreds of messages a signal, not one each.
    assert len(batches(sub)) <= total // 50, f"{len(batches(sub))} signals for {total} messages"
    assert sub.got("Message") == [] and sub.got("Gap") == []
    assert sub.messages() == [("*", seq, payload.decode()) for seq, *_ in got]


def test_dbus_batched_and_plain_subscribers_side_by_side(wsb, bus):
    server = wsb.server()
    daemon = dbus_daemon(wsb, bus, _managed("mkt", server.url))
    daemon.wait_state("mkt", "open")
    a, b = Client(bus), Client(bus)
    subscribe_batched(a, "mkt", "btc")
    b.session("mkt", "Subscribe", "btc", dbus.UInt64(0), dbus.UInt64(0))
    unbatched = Client(bus)
    unbatched.session("mkt", "SubscribeWithOptions", "eth", dbus.UInt64(0), dbus.UInt64(0),
                      options(batch=False))
    wait_for(lambda: len([f for f in server.received() if '"op"' in f]) == 2, 5 * SLOW,
             "the subscribe frames of btc and eth")
    server.inject(*[json.dumps({"channel": ch, "n": i})
                    for i, ch in enumerate(["btc", "eth", "btc", "other", "eth"])])
    wait_until(lambda: len(a.messages()) == 2 and len(b.messages()) == 2
               and len(unbatched.messages()) == 2, what="two messages for each subscriber")
    assert [(ch, seq) for ch, seq, _ in a.messages()] == [("btc", 1), ("btc", 3)]
    assert a.messages() == b.messages()
    assert a.got("Message") == [] and b.got("Messages") == []
    assert {ch for ch, _ in batches(a)} == {"btc"}
    # batch=false is the plain Message signal.
    assert [seq for _, seq, _ in unbatched.messages()] == [2, 5]
    assert unbatched.got("Messages") == [] and len(unbatched.got("Message")) == 2

    # Unsubscribe ends a batched subscription as any other.
    a.session("mkt", "Unsubscribe", "btc")
    server.inject(json.dumps({"channel": "btc", "n": 9}))
    wait_until(lambda: len(b.messages()) == 3, what="the next btc message")
    time.sleep(0.2 * SLOW)
    assert len(a.messages()) == 2


def test_dbus_batched_catch_up_and_binary(wsb, bus):
    server, c, epoch = history_of_four(wsb, bus)
    subscribe_batched(c, "h", since_seq=1, epoch=epoch)
    wait_until(lambda: len(batched(c)) == 2, what="the catch-up")
    # What history no longer holds, then what it holds in one signal.
    assert [a[1:] for *_, a in c.got("Gap")] == [[2, 2]]
    assert [(seq, binary, data) for seq, _, binary, data in batched(c)] == \
        [(3, True, b"\x00\x01bin"), (4, False, b"four")]
    assert len(batches(c)) == 1
    server.inject("five")
    wait_until(lambda: len(batched(c)) == 3, what="a live message after the catch-up")
    assert batched(c)[-1][0] == 5 and batched(c)[-1][3] == b"five"
    assert_in_seq_order(c)


def test_dbus_batches_keep_within_their_limits(wsb, bus):
    """A flood of 1 KiB messages comes in signals of at most 512 KiB of
    payload; a message larger than that comes alone."""
    payload = b"y" * 1000
    sub, total = flooded_batches(wsb, bus, payload, 3 << 20, timeout=60)
    assert [m[0] for m in batched(sub)] == list(range(1, total + 1))
    sizes = [(len(ms), sum(len(m[3]) for m in ms)) for _, ms in batches(sub)]
    assert all(n <= BATCH_MAX_MESSAGES and nbytes <= BATCH_MAX_BYTES for n, nbytes in sizes)
    assert len(sizes) >= total * len(payload) // BATCH_MAX_BYTES


def test_dbus_a_message_over_the_batch_limit_comes_alone(wsb, bus):
    server = wsb.server()
    daemon = dbus_daemon(wsb, bus, session_conf("big", server.url,
                                                max_message_bytes=str(2 << 20)))
    daemon.wait_state("big", "open")
    sub = Client(bus)
    subscribe_batched(sub, "big")
    big = b"z" * (BATCH_MAX_BYTES + 4096)
    server.inject("before", big, "after")
    wait_until(lambda: len(batched(sub)) == 3, 10 * SLOW, "three messages")
    assert [m[3] for m in batched(sub)] == [b"before", big, b"after"]
    assert any(len(ms) == 1 and ms[0][3] == big for _, ms in batches(sub))


def test_dbus_subscribe_options_are_checked(wsb, bus):
    server = wsb.server()
    daemon = dbus_daemon(wsb, bus, session_conf("s", server.url))
    daemon.wait_state("s", "open")
    c = Client(bus)

    def subscribe(channel, opts):
        return dbus_error(c.session, "s", "SubscribeWithOptions", channel, dbus.UInt64(0),
                          dbus.UInt64(0), opts)

    assert subscribe("*", options(fast=True)) == \
        (INVALID_ARGS, "unknown option 'fast' (known: batch)")
    assert subscribe("*", options(batch="yes")) == \
        (INVALID_ARGS, "option 'batch' must be a boolean (b), not s")
    assert subscribe("", options(batch=True))[0] == ERR + "InvalidArgument"
    # Nothing was subscribed by the refused calls.
    assert dbus_error(c.session, "s", "Unsubscribe", "*")[0] == ERR + "NotFound"
    subscribe_batched(c, "s")
    assert dbus_error(c.session, "s", "Subscribe", "*", dbus.UInt64(0),
                      dbus.UInt64(0))[0] == ERR + "AlreadyExists"
    assert subscribe("*", options(batch=True))[0] == ERR + "AlreadyExists"
    # Introspection shows the method and the signal.
    xml = c.obj("/io/github/WsBridge1/session/s").Introspect(
        dbus_interface="org.freedesktop.DBus.Introspectable")
    assert '<method name="SubscribeWithOptions">' in xml
    assert '<signal name="Messages">' in xml and 'type="a(txbay)"' in xml
