"""Inbound messages are routed to channels by channel_key; the daemon manages
upstream subscriptions (on_connect, subscribe and unsubscribe frames) from
local interest."""

import base64
import json

from wsbtest import SLOW, ApiClient, session_conf, wait_for

# (what the server sends, channel with channel_key=/channel, with /a~1b/c~0d)
ROUTED = [
    ('{"channel":"btc","p":1}', "btc", "*"),
    ('{"channel":"eth","p":2}', "eth", "*"),
    ('{"channel":42,"p":3}', "42", "*"),
    ('not json {"channel":"btc"}', "*", "*"),
    ('{"other":"btc"}', "*", "*"),
    ('{"channel":{"name":"btc"}}', "*", "*"),
    ('{"channel":["btc"]}', "*", "*"),
    ('{"channel":true}', "*", "*"),
    ('{"channel":null}', "*", "*"),
    ('["btc"]', "*", "*"),
    (b'{"channel":"btc"}', "*", "*"),  # binary: never routed
    ('{"channel":"btc/usd","p":4}', "btc/usd", "*"),
    ('{"channel":12345678901}', "12345678901", "*"),
    ('{"a/b":{"c~d":"deep"},"channel":"btc","p":5}', "btc", "deep"),
    # The unescaped readings of the pointer must not match.
    ('{"a":{"b":{"c~d":"wrong"}},"a/b":{"c":"wrong","c/d":"wrong"}}', "*", "*"),
    ('{"a/b":{"c~d":7}}', "*", "7"),
    ('{"channel":"btc","p":6}', "btc", "*"),
]


def _data(m):
    """The payload of a watch line or a Message, as str (text) or bytes (binary)."""
    if isinstance(m, dict):
        return m["data"] if m["type"] == "text" else base64.b64decode(m["data_b64"])
    return bytes(m.data) if m.binary else m.data.decode()


def _api_messages(api, n, timeout=5.0 * SLOW):
    """The next N Message events of API; no gap may come."""
    msgs = []
    while len(msgs) < n:
        ev = api.next_event(timeout)
        assert ev is not None, f"got {len(msgs)} of {n} messages: {[_data(m) for m in msgs]}"
        kind = ev.WhichOneof("event")
        assert kind != "gap", f"unexpected gap {ev.gap} after {[_data(m) for m in msgs]}"
        if kind == "message":
            msgs.append(ev.message)
    return msgs


def test_channel_key_routes_messages(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("flat", server.url, channel_key="/channel") +
                        session_conf("deep", server.url, channel_key="/a~1b/c~0d"))
    epochs = {name: daemon.wait_state(name, "open")["epoch"] for name in ("flat", "deep")}
    wait_for(lambda: len(server.connects()) == 2, 5 * SLOW, "both sessions' connections")

    # The watches replay the whole epoch, so they miss nothing however late
    # their subscription lands.
    targets = {"flat": ("flat", "*"), "flat/btc": ("flat", "btc"), "flat/42": ("flat", "42"),
               "flat/btc/usd": ("flat", "btc/usd"), "flat/12345678901": ("flat", "12345678901"),
               "flat/eth": ("flat", "eth"), "deep": ("deep", "*"), "deep/deep": ("deep", "deep"),
               "deep/7": ("deep", "7")}

    def expected(session, channel):
        col = 1 if session == "flat" else 2
        return [(i + 1, item[0], item[col]) for i, item in enumerate(ROUTED)
                if channel == "*" or item[col] == channel]
    watches = {t: wsb.watch(daemon, t, len(expected(*sc)), ["--epoch", str(epochs[sc[0]])])
               for t, sc in targets.items()}

    server.inject(*(item[0] for item in ROUTED))

    for target, (session, channel) in targets.items():
        rc, msgs = watches[target].wait()
        assert rc == 0, (target, rc)
        got = [(m["seq"], _data(m), m["channel"]) for m in msgs]
        assert got == expected(session, channel), f"watch {target}"
        assert all(m["session"] == session and m["epoch"] == epochs[session] for m in msgs)
        assert not watches[target].events("gap"), (target, watches[target].events("gap"))

    # Each channel's history holds exactly its messages.
    for target, (session, channel) in targets.items():
        r = daemon.ctl_ok("history", target, "--json")
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        got = [(m["seq"], _data(m), m["channel"]) for m in lines]
        assert got == expected(session, channel), f"history {target}"


def test_channel_key_routes_live_api_subscribers(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("flat", server.url, channel_key="/channel"))
    daemon.wait_state("flat", "open")
    apis = {}
    for channel in ("*", "btc", "42"):
        api = ApiClient(daemon.socket)
        api.hello()
        api.subscribe_ok("flat", channel)
        apis[channel] = api

    # One last message per channel: what a subscriber gets before its own
    # shows whether anything of another channel leaked in.
    ends = ['{"channel":"btc","end":1}', '{"channel":42,"end":1}']
    server.inject(*(item[0] for item in ROUTED), *ends)

    for channel, api in apis.items():
        items = [(text, ch) for text, ch, _ in ROUTED] + [(ends[0], "btc"), (ends[1], "42")]
        want = [(i + 1, text, ch) for i, (text, ch) in enumerate(items)
                if channel == "*" or ch == channel]
        msgs = _api_messages(api, len(want))
        assert [(m.seq, _data(m), m.channel) for m in msgs] == want, f"subscriber of {channel}"
        assert all(m.session == "flat" for m in msgs)
        api.close()


SUB = '{{"op":"subscribe","channel":"{}"}}'
UNSUB = '{{"op":"unsubscribe","channel":"{}"}}'
LOGIN = '{"op":"login","user":"test"}'
NOTE = '{"op":"note","text":"a;b"}'
# on_connect is a list: ";" separates frames, "\;" is a ";" inside one.
ON_CONNECT = LOGIN + ';{"op":"note","text":"a\\;b"}'


def _managed_conf(name, url, **keys):
    return session_conf(name, url, channel_key="/channel",
                        subscribe_template=SUB.format("{channel}"),
                        unsubscribe_template=UNSUB.format("{channel}"), **keys)


def _conns(server):
    return [c["conn"] for c in server.connects()]


def _wait_frames(server, conn, want, what):
    """Wait until connection CONN has received exactly WANT (a list of
    frames, or of sets of frames whose order is free)."""
    def flat():
        out = []
        for w in want:
            out += sorted(w) if isinstance(w, (set, frozenset)) else [w]
        return out

    def matches():
        got = server.received(conn)
        if len(got) < len(flat()):
            return False
        i = 0
        for w in want:
            if isinstance(w, (set, frozenset)):
                if set(got[i:i + len(w)]) != set(w) or len(got[i:i + len(w)]) != len(w):
                    return False
                i += len(w)
            else:
                if got[i] != w:
                    return False
                i += 1
        return True
    wait_for(matches, 5 * SLOW,
             lambda: f"{what}: connection {conn} to have received {want}; it has "
                     f"{server.received(conn)}")
    got = server.received(conn)
    assert len(got) == len(flat()), f"{what}: extra frames on {conn}: {got}"


def _probe_until_seen(server, watch, channel):
    """Send messages on CHANNEL until the (live-only) watch prints one: then
    its subscription is in place."""
    def seen():
        server.inject(json.dumps({"channel": channel, "probe": True}))
        return _within(lambda: watch.messages(), 0.2)
    wait_for(seen, 5 * SLOW, f"the watch of {channel} to receive a probe", interval=0)


def _within(predicate, timeout):
    """predicate()'s value if it turns truthy within TIMEOUT, else None."""
    try:
        return wait_for(predicate, timeout, "")
    except AssertionError:
        return None


def test_upstream_subscriptions_follow_local_interest(wsb):
    server = wsb.server()
    daemon = wsb.daemon(_managed_conf("up", server.url, on_connect=ON_CONNECT))
    daemon.wait_state("up", "open")
    conn1 = wait_for(lambda: _conns(server), 5 * SLOW, "the first connection")[0]
    _wait_frames(server, conn1, [LOGIN, NOTE], "on_connect")

    a, b = ApiClient(daemon.socket), ApiClient(daemon.socket)
    a.hello()
    b.hello()
    a_x = a.subscribe_ok("up", "X")
    _wait_frames(server, conn1, [LOGIN, NOTE, SUB.format("X")], "first subscriber of X")
    b_x = b.subscribe_ok("up", "X")
    watch = wsb.watch(daemon, "up/X", 1000)
    _probe_until_seen(server, watch, "X")
    a.subscribe_ok("up", "*")  # never a frame
    a.subscribe_ok("up", "Y")
    _wait_frames(server, conn1, [LOGIN, NOTE, SUB.format("X"), SUB.format("Y")],
                 "three subscribers of X and one of Y")

    # Down: interest that changes meanwhile is settled at the reconnect.
    server.kill()
    daemon.wait_state("up", ("backoff", "connecting"))
    a_w = a.subscribe_ok("up", "W")
    a_v = a.subscribe_ok("up", "V")
    a.unsubscribe(a_v)
    daemon.ctl_ok("send", "up", "queued while down")
    assert daemon.status()["up"]["queued"] == 1
    server.restart()
    daemon.wait_state("up", "open", check=lambda s: s["queued"] == 0)
    conn2 = wait_for(lambda: _conns(server)[1:], 5 * SLOW, "the second connection")[0]
    after_connect = [LOGIN, NOTE, {SUB.format(c) for c in "XYW"}, "queued while down"]
    _wait_frames(server, conn2, after_connect, "after the reconnect")

    # The last of three subscribers of X leaving (a watch that exits is one)
    # unsubscribes upstream, once.
    a.unsubscribe(a_x)
    watch.cleanup()
    b.unsubscribe(b_x)
    _wait_frames(server, conn2, after_connect + [UNSUB.format("X")], "X without subscribers")
    a.unsubscribe(a_w)
    _wait_frames(server, conn2, after_connect + [UNSUB.format("X"), UNSUB.format("W")],
                 "W without subscribers")
    # A client that goes away takes its subscriptions along.
    a.close()
    _wait_frames(server, conn2, after_connect + [UNSUB.format("X"), UNSUB.format("W"),
                                                 UNSUB.format("Y")], "the client of Y gone")
    b.subscribe_ok("up", "Z")
    _wait_frames(server, conn2, after_connect + [UNSUB.format("X"), UNSUB.format("W"),
                                                 UNSUB.format("Y"), SUB.format("Z")],
                 "a new subscriber of Z")
    assert server.received(conn1) == [LOGIN, NOTE, SUB.format("X"), SUB.format("Y")]
    b.close()


def test_configured_channels_subscribed_after_every_connect(wsb):
    server = wsb.server()
    daemon = wsb.daemon(_managed_conf("cfg", server.url, channels="fixed1;fixed\\;2"))
    fixed = {SUB.format("fixed1"), SUB.format("fixed;2")}
    daemon.wait_state("cfg", "open")
    conn1 = wait_for(lambda: _conns(server), 5 * SLOW, "the first connection")[0]
    _wait_frames(server, conn1, [fixed], "configured channels")

    # Local interest in a configured channel changes nothing upstream.
    api = ApiClient(daemon.socket)
    api.hello()
    sub = api.subscribe_ok("cfg", "fixed1")
    api.unsubscribe(sub)
    weird = 'we"ird\\ch/ü'
    api.subscribe_ok("cfg", weird)
    escaped = '{"op":"subscribe","channel":"we\\"ird\\\\ch/'
    frames = wait_for(lambda: server.received(conn1)[2:], 5 * SLOW, "the subscribe frame")
    assert frames == [frames[0]] and frames[0].startswith(escaped), frames
    assert json.loads(frames[0]) == {"op": "subscribe", "channel": weird}, frames[0]

    server.terminate()
    server.restart()
    conn2 = wait_for(lambda: _conns(server)[1:], 5 * SLOW, "the second connection")[0]
    _wait_frames(server, conn2, [fixed | {frames[0]}], "after the reconnect")
    api.close()
    unsub = wait_for(lambda: server.received(conn2)[3:], 5 * SLOW, "the unsubscribe frame")
    assert unsub == [unsub[0]] and json.loads(unsub[0]) == {"op": "unsubscribe",
                                                              "channel": weird}, unsub
