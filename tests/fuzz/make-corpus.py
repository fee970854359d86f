#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/.

  corpus/frames/  client byte streams for fuzz-frames (wsbridge.v1 frames
                  with varint length prefixes, valid and broken)
  corpus/config/  configuration file texts for fuzz-config
  corpus/server-frames/  server byte streams after the upgrade for
                  fuzz-server-frames (setup byte, chunk sizes, frames)
  corpus/handshake/  upgrade and proxy replies for fuzz-handshake
  corpus/journal/  journal scripts and raw journal files for fuzz-journal
  corpus/routing/  channel_key pointer, NUL, message for fuzz-routing
  corpus/dbus/    D-Bus call scripts for fuzz-dbus (GVariant arguments)
  corpus/ring/    shared-memory ring images and honest-writer scripts for
                  fuzz-ring

Run it again after changing wsbridge.proto or the configuration keys, with
the Python bindings Meson generates:

  PYTHONPATH=build/proto /usr/bin/python3 tests/fuzz/make-corpus.py

and commit the result. Every file it made before is replaced; files named
regress-* (reproducers of fixed bugs, added by hand) and grown-* (inputs
fuzz runs found, kept by tests/fuzz/keep-corpus) are kept.
"""

import ctypes
import pathlib
import struct

import wsbridge_pb2 as pb

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"

# Sessions of the daemon inside fuzz-frames.c; its system instance lets
# its peer use only the first.
SESSION = "demo"
OTHER = "b"


def demo_epoch():
    """The epoch of session "demo" in fuzz-frames: the hub draws it with
    g_random_int() twice (masked to 53 bits) after g_random_set_seed (1)."""
    glib = ctypes.CDLL("libglib-2.0.so.0")
    glib.g_rand_new_with_seed.restype = ctypes.c_void_p
    glib.g_rand_new_with_seed.argtypes = [ctypes.c_uint32]
    glib.g_rand_int.restype = ctypes.c_uint32
    glib.g_rand_int.argtypes = [ctypes.c_void_p]
    glib.g_rand_free.argtypes = [ctypes.c_void_p]
    rand = glib.g_rand_new_with_seed(1)
    hi = glib.g_rand_int(rand)
    lo = glib.g_rand_int(rand)
    glib.g_rand_free(rand)
    return ((hi << 32) | lo) & ((1 << 53) - 1)


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def frame(msg):
    body = msg.SerializeToString()
    return varint(len(body)) + body


def frame_raw(body):
    return varint(len(body)) + body


def hello(major=1, name="fuzz"):
    return frame(pb.ClientFrame(hello=pb.Hello(api_major=major, api_minor=0, client_name=name)))


def request(req_id, **op):
    return frame(pb.ClientFrame(request=pb.Request(id=req_id, **op)))


def has_op(name):
    return name in pb.Request.DESCRIPTOR.fields_by_name


def frames_corpus():
    epoch = demo_epoch()
    h = hello()
    seeds = {
        "hello": h,
        "hello-list": h + request(1, list_sessions=pb.ListSessionsRequest()),
        "hello-subscribe-live": h
        + request(1, subscribe=pb.SubscribeRequest(session=SESSION, channel="*")),
        "hello-ring-subscribe": frame(pb.ClientFrame(hello=pb.Hello(
            api_major=1, api_minor=2, client_name="fuzz", ring_version=1)))
        + request(1, subscribe=pb.SubscribeRequest(session=SESSION, ring=True))
        + request(2, subscribe=pb.SubscribeRequest(session=SESSION, channel="news", ring=True))
        + request(3, unsubscribe=pb.UnsubscribeRequest(subscription_id=1)),
        "hello-subscribe-channel": h
        + request(1, subscribe=pb.SubscribeRequest(session=SESSION, channel="status"))
        + request(2, subscribe=pb.SubscribeRequest(session=SESSION, channel="news"))
        + request(3, subscribe=pb.SubscribeRequest(session=SESSION)),
        "hello-subscribe-since": h
        + request(1, subscribe=pb.SubscribeRequest(session=SESSION, channel="*", since_seq=0,
                                                    epoch=epoch))
        + request(2, subscribe=pb.SubscribeRequest(session=SESSION, channel="status",
                                                    since_seq=5, epoch=epoch)),
        "hello-subscribe-old-epoch": h
        + request(1, subscribe=pb.SubscribeRequest(session=SESSION, channel="*", since_seq=3,
                                                    epoch=12345)),
        "hello-subscribe-since-no-epoch": h
        + request(1, subscribe=pb.SubscribeRequest(session=SESSION, since_seq=3)),
        "hello-subscribe-bad": h
        + request(1, subscribe=pb.SubscribeRequest(session="nosuch", channel="*"))
        + request(2, subscribe=pb.SubscribeRequest(session=SESSION, channel="a b\n"))
        + request(3, subscribe=pb.SubscribeRequest(session=SESSION, channel="x" * 300))
        + request(4, subscribe=pb.SubscribeRequest(session="", channel="*")),
        "hello-subscribe-over-limit": h
        + b"".join(request(i, subscribe=pb.SubscribeRequest(session=SESSION, channel=f"c{i}"))
                   for i in range(1, 11)),
        "hello-unsubscribe": h
        + request(1, subscribe=pb.SubscribeRequest(session=SESSION, channel="status"))
        + request(2, unsubscribe=pb.UnsubscribeRequest(subscription_id=1))
        + request(3, unsubscribe=pb.UnsubscribeRequest(subscription_id=1))
        + request(4, unsubscribe=pb.UnsubscribeRequest(subscription_id=99)),
        "hello-send-text": h
        + request(1, send=pb.SendRequest(session=SESSION, data='{"op":"hi","é":1}'.encode())),
        "hello-send-binary": h
        + request(1, send=pb.SendRequest(session=SESSION, data=b"\x00\xff\xfe", binary=True)),
        "hello-send-bad": h
        + request(1, send=pb.SendRequest(session=SESSION, data=b"\xc3\x28"))
        + request(2, send=pb.SendRequest(session="nosuch", data=b"x"))
        + request(3, send=pb.SendRequest(session=OTHER, data=b"y" * 2000, binary=True)),
        "hello-send-queue-full": h
        + b"".join(request(i, send=pb.SendRequest(session=SESSION, data=b"m%d" % i))
                   for i in range(1, 7)),
        "hello-history": h
        + request(1, history=pb.HistoryRequest(session=SESSION))
        + request(2, history=pb.HistoryRequest(session=SESSION, channel="status", last=2))
        + request(3, history=pb.HistoryRequest(session="nosuch", channel="*", last=1))
        + request(4, history=pb.HistoryRequest(session=SESSION, channel="{bad}")),
        "hello-all-requests": h
        + request(1, list_sessions=pb.ListSessionsRequest())
        + request(2, subscribe=pb.SubscribeRequest(session=SESSION, channel="*", epoch=epoch))
        + request(3, send=pb.SendRequest(session=SESSION, data=b"x"))
        + request(4, history=pb.HistoryRequest(session=SESSION, last=1))
        + request(5, unsubscribe=pb.UnsubscribeRequest(subscription_id=1)),
        # Session b is not the system instance's peer's to use.
        "hello-session-b": h
        + request(1, subscribe=pb.SubscribeRequest(session=OTHER, channel="*"))
        + request(2, history=pb.HistoryRequest(session=OTHER))
        + request(3, send=pb.SendRequest(session=OTHER, data=b"x")),
        "hello-empty-request": h + request(7),
        "hello-many-lists": h
        + b"".join(request(i, list_sessions=pb.ListSessionsRequest()) for i in range(64)),
        # Over the daemon's 64 KiB read size: the frame takes several reads.
        "hello-large-send": h
        + request(1, send=pb.SendRequest(session=SESSION, data=bytes(range(256)) * 260,
                                         binary=True)),
        "hello-twice": h + h,
        "hello-bad-major": hello(major=2),
        "hello-long-name": hello(name="n\u00e9\xff" * 40),
        "request-before-hello": request(1, list_sessions=pb.ListSessionsRequest()),
        "empty-frame": b"\x00",
        "hello-then-empty-frame": h + b"\x00",
        "truncated-varint": h + b"\x80\x80",
        "truncated-frame": h + varint(100) + b"\x12\x05",
        "varint-11-bytes": h + b"\xff" * 10 + b"\x01",
        "varint-10th-byte-high": h + b"\xff" * 9 + b"\x02",
        "varint-max": b"\xff" * 9 + b"\x01",
        "oversize-length": h + varint(1 << 31),
        "oversize-just-over": h + varint(16 * 1024 * 1024 + 1),
        "garbage-protobuf": h + varint(5) + b"\xff\xff\xff\xff\xff",
        "garbage-wire-type": h + varint(3) + b"\x0f\x01\x02",
        "wrong-message-type": frame(pb.ServerFrame(error=pb.Error(code=1, message="x"))),
        "hello-split-prefix": h + request(1, list_sessions=pb.ListSessionsRequest())[:1],
        "empty": b"",
    }
    # Fields the message does not know: readers must skip them.
    unknown = pb.Hello(api_major=1).SerializeToString() + b"\xf8\x07\x2a" + b"\xa2\x06\x02hi"
    seeds["hello-unknown-fields"] = frame_raw(b"\x0a" + varint(len(unknown)) + unknown)

    # Requests of newer API minors, when this wsbridge.proto has them.
    if has_op("get_session"):
        seeds["hello-get-session"] = h + request(
            1, get_session=pb.GetSessionRequest(session=SESSION)) + request(
            2, get_session=pb.GetSessionRequest(session="nosuch"))
    if has_op("create_session"):
        opts = [pb.SessionOption(key="autoconnect", value="false"),
                pb.SessionOption(key="proxy", value="none"),
                pb.SessionOption(key="channels", value="a;b"),
                pb.SessionOption(key="queue_max_bytes", value="2K")]
        seeds["hello-create-session"] = h + request(1, create_session=pb.CreateSessionRequest(
            name="made", url="ws://127.0.0.1:9/x", options=opts)) + request(
            2, create_session=pb.CreateSessionRequest(name="made", url="ws://127.0.0.1:9/x",
                                                      options=opts)) + request(
            3, create_session=pb.CreateSessionRequest(name="Bad Name", url="http://x")) + request(
            4, create_session=pb.CreateSessionRequest(name="other", url="http://x"))
        seeds["hello-create-session-bad-option"] = h + request(
            1, create_session=pb.CreateSessionRequest(
                name="made", url="ws://127.0.0.1:9/",
                options=[pb.SessionOption(key="ping_interval", value="-1"),
                         pb.SessionOption(key="nosuch", value="1"),
                         pb.SessionOption(key="url", value="ws://x/")]))
        seeds["hello-create-persist"] = h + request(1, create_session=pb.CreateSessionRequest(
            name="kept", url="ws://127.0.0.1:9/", persist=True,
            options=opts + [pb.SessionOption(key="queue_persist", value="true")])) + request(
            2, send=pb.SendRequest(session="kept", data=b"journaled"))
    if has_op("create_session") and has_op("remove_session"):
        made = pb.CreateSessionRequest(name="made", url="ws://127.0.0.1:9/",
                                       options=[pb.SessionOption(key="autoconnect",
                                                                 value="false"),
                                                pb.SessionOption(key="proxy", value="none")])
        seeds["hello-remove-session"] = h + request(
            1, subscribe=pb.SubscribeRequest(session=SESSION, channel="*")) + request(
            2, remove_session=pb.RemoveSessionRequest(session=SESSION)) + request(
            3, remove_session=pb.RemoveSessionRequest(session="nosuch"))
        seeds["hello-create-remove"] = h + request(1, create_session=made) + request(
            2, subscribe=pb.SubscribeRequest(session="made", channel="*")) + request(
            3, send=pb.SendRequest(session="made", data=b"x")) + request(
            4, remove_session=pb.RemoveSessionRequest(session="made")) + request(
            5, list_sessions=pb.ListSessionsRequest())
    if has_op("create_session") and has_op("connect") and has_op("disconnect"):
        seeds["hello-disconnect"] = h + request(
            1, disconnect=pb.DisconnectRequest(session=SESSION)) + request(
            2, disconnect=pb.DisconnectRequest(session="nosuch"))
        # The port is closed: the attempt fails, or is still under way when
        # the connection ends and the hub goes.
        seeds["hello-connect"] = h + request(1, create_session=made) + request(
            2, connect=pb.ConnectRequest(session="made")) + request(
            3, disconnect=pb.DisconnectRequest(session="made")) + request(
            4, connect=pb.ConnectRequest(session="made")) + request(
            5, connect=pb.ConnectRequest(session="nosuch"))
        # A host name: the fuzz target has no DNS, the lookup fails at once.
        seeds["hello-connect-name"] = h + request(1, create_session=pb.CreateSessionRequest(
            name="named", url="wss://feed.example.com/")) + request(
            2, list_sessions=pb.ListSessionsRequest())
    # Issue 25: URLs as written (refused with a position, or kept encoded),
    # an origin that is not a header value, and requests over max_frame_bytes
    # (16 MiB here) refused by themselves: only their head is sent, the
    # announced rest never comes (or a next request follows a short one).
    if has_op("create_session"):
        seeds["hello-create-urls"] = h + b"".join(
            request(i + 1, create_session=pb.CreateSessionRequest(name=f"u{i}", url=url))
            for i, url in enumerate([
                "ws://127.0.0.1:9/a%0d%0aX:%20y?t=a%2Bb%3D",
                "ws://127.0.0.1:9/a b", "ws://127.0.0.1:9/\x7f", "ws://127.0.0.1:0/",
                "ws://[fe80::1%25eth0]:9/", "ws://evil%0d%0aX-Inj%3a%20y:9/",
                "ws://[::1]:9/#frag", "ws://h!x:9/", "ws://127.0.0.1:99999/"]))
        seeds["hello-create-origin"] = h + request(1, create_session=pb.CreateSessionRequest(
            name="o", url="ws://127.0.0.1:9/",
            options=[pb.SessionOption(key="origin", value="https://o\x01x")]))
    big = pb.ClientFrame(request=pb.Request(id=7, send=pb.SendRequest(
        session=SESSION, data=b"d" * 40))).SerializeToString()
    seeds["hello-oversized-request-head"] = h + varint(17 << 20) + big[:30]
    seeds["hello-oversized-then-list"] = (h + varint((16 << 20) + 1) + big[:24]
                                          + b"\x00" * 64)
    seeds["hello-oversized-not-a-request"] = h + varint(17 << 20) + b"\x0a\x02\x08\x01"
    return seeds


ALL_KEYS = """\
# Every key, each of every type.
[daemon]
max_clients=64
max_frame_bytes=1MiB
client_buffer_bytes=512K
slow_client_policy=disconnect
max_subscriptions_per_client=100
max_requests_per_client=32
create_allow_groups=wheel;staff
admin_groups=adm
max_sessions=500
max_sessions_per_user=4

[session everything]
url=wss://feed.example.com:8443/v1/stream?x=1
autoconnect=off
headers=Authorization: Bearer s3cr3t;X-Client: wsbridge
subprotocols=chat.v2;chat.v1
origin=https://example.com
token_file=/run/secrets/token
auth_command=/usr/bin/get-token --audience "feed example"
tls_ca_file=/etc/ssl/certs/ca.pem
tls_cert_file=/etc/wsbridge/client.pem
tls_key_file=/etc/wsbridge/client.key
tls_pin_sha256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
tls_insecure=no
proxy=http://user:pw@127.0.0.1:3128
compression=false
ping_interval=15
pong_timeout=5
backoff_initial_ms=100
backoff_max_ms=10000
backoff_reset_s=60
connect_timeout=20
max_message_bytes=64M
queue_max_messages=10
queue_max_bytes=4 MiB
queue_ttl_ms=60000
queue_persist=true
channel_key=/data/~1channel~0x/0
subscribe_template={"op":"subscribe","channel":"{channel}"}
unsubscribe_template={"op":"unsubscribe","channel":"{channel}"}
on_connect={"op":"login","token":"abc"};{"op":"hello"}
channels=status;trades.btc-usd
history_messages=256
history_bytes=1G
allow_users=alice;1000
allow_groups=wsbridge;adm
opening_messages=3
opening_window_ms=500
resume_pointer=/id
resume_query=since
resume_filter=/event=message
"""

CONFIGS = {
    # Issue 25: URLs kept as written or refused with a position; origin as a header.
    "url-encoded.conf": "[session s]\nurl=ws://h:8080/a%0d%0aX:%20y?t=a%2Bb%3D%26c#\n",
    "url-kept.conf": "[session s]\nurl=wss://[2001:db8::1]:8443//a/../b?q?r=/s\n"
                     "origin=https://app.example:8443\n",
    "url-crlf.conf": "[session s]\nurl=ws://h/a\\r\\nX-Injected: yes\n",
    "url-zone.conf": "[session s]\nurl=ws://[fe80::1%25eth0]/\n",
    "origin-crlf.conf": "[session s]\nurl=ws://h/\norigin=https://o\\r\\nX: y\n",
    # README and wsbridge.conf(5)
    "readme.conf": """\
[daemon]
max_clients=64

[session prices]
url=wss://feed.example.com/v1/stream
headers=Authorization: Bearer s3cr3t
ping_interval=15
pong_timeout=5
""",
    "readme-channels.conf": """\
[session prices]
url=wss://feed.example.com/v1/stream
channel_key=/channel
subscribe_template={"op":"subscribe","channel":"{channel}"}
unsubscribe_template={"op":"unsubscribe","channel":"{channel}"}
on_connect={"op":"login","token":"…"}
channels=status
history_messages=256
queue_ttl_ms=60000
queue_persist=true
""",
    "sessions-d-chat.conf": """\
[session]
url=ws://chat.internal:8080/socket
subprotocols=chat.v2
backoff_max_ms=10000
queue_max_bytes=1M
""",
    "all-keys.conf": ALL_KEYS,
    "two-sessions.conf": """\
[session a]
url=ws://[::1]:9000/
proxy=none

[session b.2-x_y]
url=WSS://Example.COM
compression=yes
""",
    "escapes-and-comments.conf": """\
# comment
[session esc]
 url = ws://example.com/a%20b
on_connect=line one\\nline two\\;still one;\\sspace
headers = X-A: 1 ; X-B: two words
origin=\\tTabbed
""",
    "locale-keys.conf": """\
[session loc]
url=ws://example.com/
url[de]=ws://example.de/
origin[en_US.UTF-8@euro]=x
""",
    # Broken: each must be an error (or a warning) naming the problem.
    "bad-syntax.conf": "[session x]\nurl\n",
    "bad-group-line.conf": "[session x\nurl=ws://a/\n",
    "bad-url-scheme.conf": "[session x]\nurl=http://example.com/\n",
    "bad-url-credentials.conf": "[session x]\nurl=ws://user:pw@example.com/#frag\n",
    "bad-url-garbage.conf": "[session x]\nurl=ws://exa mple.com:99999/%zz\n",
    "missing-url.conf": "[session x]\nautoconnect=true\n",
    "bad-uint.conf": "[session x]\nurl=ws://a/\nping_interval=abc\n",
    "uint-with-suffix.conf": "[session x]\nurl=ws://a/\nping_interval=10K\n",
    "out-of-range.conf": "[session x]\nurl=ws://a/\npong_timeout=0\n",
    "uint-overflow.conf": "[session x]\nurl=ws://a/\nhistory_bytes=99999999999999999999G\n",
    "size-overflow.conf": "[session x]\nurl=ws://a/\nhistory_bytes=18014398509481984G\n",
    "bad-bool.conf": "[session x]\nurl=ws://a/\ncompression=maybe\n",
    "bad-header.conf": "[session x]\nurl=ws://a/\nheaders=Host: evil;NoColon;Bad Name: v\n",
    "bad-pin.conf": "[session x]\nurl=ws://a/\ntls_pin_sha256=AAAA;"
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!=\n",
    "bad-proxy.conf": "[session x]\nurl=ws://a/\nproxy=socks5://127.0.0.1:1080\n",
    "bad-path.conf": "[session x]\nurl=ws://a/\ntoken_file=relative/token\n",
    "bad-command.conf": "[session x]\nurl=ws://a/\nauth_command=get-token \"unbalanced\n",
    "bad-pointer.conf": "[session x]\nurl=ws://a/\nchannel_key=channel~2\n",
    "bad-template.conf": "[session x]\nurl=ws://a/\nsubscribe_template={\"op\":\"sub\"}\n",
    "bad-channels.conf": "[session x]\nurl=ws://a/\nchannels=ok;;has space;*\n",
    "bad-policy.conf": "[daemon]\nslow_client_policy=sometimes\n",
    "bad-session-name.conf": "[session Bad_Name]\nurl=ws://a/\n",
    "duplicate-group.conf": "[session x]\nurl=ws://a/\n[session x]\nurl=ws://b/\n",
    "duplicate-key.conf": "[session x]\nurl=ws://a/\nurl=ws://b/\n",
    "unknown-key-and-group.conf": "[session x]\nurl=ws://a/\nurll=ws://b/\n[extra]\nk=v\n"
    "[session]\nurl=ws://c/\n",
    "daemon-in-sessions-d.conf": "[daemon]\nmax_clients=1\n[session]\nurl=ws://a/\n",
    "empty.conf": "",
    "only-comments.conf": "# nothing\n\n   \n",
    "nul-byte.conf": "[session x]\nurl=ws://a/\x00\n",
    "invalid-utf8.conf": b"[session x]\nurl=ws://a/\norigin=\xff\xfe\non_connect=\xc3\x28\n",
    "crlf.conf": "[session x]\r\nurl=ws://a/\r\n",
}


def ws_frame(first, payload=b"", mask=None):
    """A frame as a server sends it (unmasked unless MASK)."""
    n = len(payload)
    head = bytes([first])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n <= 0xFFFF:
        head += bytes([mbit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([mbit | 127]) + n.to_bytes(8, "big")
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        head += mask
    return head + payload


def deflated(text):
    import zlib
    z = zlib.compressobj(wbits=-15)
    out = z.compress(text) + z.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]


def server_frames_corpus():
    """setup byte (bit 0 deflate, bit 1 no context takeover, bit 2 small
    limit), a count byte, chunk sizes, then the stream."""
    def seed(setup, stream, sizes=b"\x00\x03\x10"):
        return bytes([setup, len(sizes) - 1]) + sizes + stream
    close = lambda code, why=b"": ws_frame(0x88, code.to_bytes(2, "big") + why)
    seeds = {
        "text.bin": seed(0, ws_frame(0x81, b"hello") + ws_frame(0x82, b"\x00\x01")),
        "fragmented.bin": seed(0, ws_frame(0x01, b"fr") + ws_frame(0x89, b"p") + ws_frame(0x80, b"ag")),
        "long16.bin": seed(0, ws_frame(0x82, b"x" * 300)),
        "long64.bin": seed(0, ws_frame(0x82, b"y" * 70000)),
        "pong.bin": seed(0, ws_frame(0x8a, b"")),
        "masked.bin": seed(0, ws_frame(0x81, b"hello", mask=b"\x01\x02\x03\x04")),
        "reserved-op.bin": seed(0, ws_frame(0x83, b"x")),
        "rsv.bin": seed(0, ws_frame(0xc1, b"x")),
        "big-ping.bin": seed(0, ws_frame(0x89, b"p" * 126)),
        "frag-ping.bin": seed(0, ws_frame(0x09, b"p")),
        "cont.bin": seed(0, ws_frame(0x80, b"x")),
        "nested.bin": seed(0, ws_frame(0x01, b"a") + ws_frame(0x81, b"b")),
        "len63.bin": seed(0, b"\x82\x7f\x80" + b"\x00" * 7),
        "bad-utf8.bin": seed(0, ws_frame(0x81, b"\xc3\x28")),
        "split-utf8.bin": seed(0, ws_frame(0x01, b"\xc3") + ws_frame(0x80, b"\xa9")),
        "too-large.bin": seed(4, ws_frame(0x82, b"z" * 65)),
        "close-bye.bin": seed(0, close(1000, b"bye") + ws_frame(0x81, b"after")),
        "close-empty.bin": seed(0, ws_frame(0x88)),
        "close-1byte.bin": seed(0, ws_frame(0x88, b"\x03")),
        "close-999.bin": seed(0, close(999)),
        "close-5000.bin": seed(0, close(5000)),
        "close-badtext.bin": seed(0, close(1000, b"\xff")),
        "deflate.bin": seed(1, ws_frame(0xc1, deflated(b"hello hello hello")) + ws_frame(0xc1, deflated(b"hello again"))),
        "deflate-split.bin": seed(3, ws_frame(0x41, deflated(b"wwwwwwwwwwwwwwwwwwwwww")[:2])
                                  + ws_frame(0x80, deflated(b"wwwwwwwwwwwwwwwwwwwwww")[2:])),
        "deflate-bomb.bin": seed(5, ws_frame(0xc1, deflated(b"a" * 100000))),
        "deflate-corrupt.bin": seed(1, ws_frame(0xc1, b"\xff\xff\xff\xff")),
        # Issue 25: ten pings each answered (Autobahn 2.10), text that turns
        # invalid in a fragment before its end (6.4.x), and a slow frame.
        "ten-pings.bin": seed(0, b"".join(ws_frame(0x89, b"payload-%d" % i) for i in range(10))),
        "utf8-invalid-fragment.bin": seed(0, ws_frame(0x01, "κόσμε".encode())
                                          + ws_frame(0x00, b"\xf4\x90\x80\x80edited")),
        "utf8-invalid-inside.bin": seed(0, ws_frame(0x01, b"\xce\xba") + ws_frame(0x00, b"\xed\xa0")),
        "utf8-split-valid.bin": seed(0, ws_frame(0x01, b"\xf0\x9f") + ws_frame(0x00, b"\x98")
                                     + ws_frame(0x80, b"\x80")),
        "deflate-utf8-fragment.bin": seed(1, ws_frame(0x41, deflated(b"ok \xf4\x90 no")[:3])
                                          + ws_frame(0x00, deflated(b"ok \xf4\x90 no")[3:])),
    }
    return seeds


ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
HANDSHAKES = {
    "ok.txt": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Accept: " + ACCEPT + "\r\n\r\n",
    "ok-deflate.txt": "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                      "Sec-WebSocket-Accept: " + ACCEPT + "\r\nSec-WebSocket-Protocol: b\r\n"
                      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
                      "client_max_window_bits=10\r\n\r\nframes",
    "deflate-bad.txt": "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: " + ACCEPT + "\r\n"
                       "Sec-WebSocket-Extensions: permessage-deflate; foo=1, x\r\n\r\n",
    "401.txt": "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n\r\n",
    "302.txt": "HTTP/1.1 302 Found\r\nLocation: wss://elsewhere/\r\n\r\n",
    "proxy-ok.txt": "HTTP/1.0 200 Connection established\r\n\r\n",
    "proxy-407.txt": "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n",
    "lf-only.txt": "HTTP/1.1 101 X\nUpgrade: websocket\nConnection: upgrade\n"
                   "Sec-WebSocket-Accept: " + ACCEPT + "\n\n",
    "folded.txt": "HTTP/1.1 101 X\r\nUpgrade: websocket\r\n folded\r\n\r\n",
    "not-http.txt": "SSH-2.0-OpenSSH_9.2\r\n",
    "tls.txt": b"\x16\x03\x01\x00\x05hello",
    # Issue 25: where RFC 6455, 7692 and 9110 are strict.
    "http10-101.txt": "HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: " + ACCEPT + "\r\n\r\n",
    "two-accepts.txt": "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: " + ACCEPT + "\r\nSec-WebSocket-Accept: " + ACCEPT
                       + "\r\n\r\n",
    "two-protocols.txt": "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Accept: " + ACCEPT + "\r\nSec-WebSocket-Protocol: b\r\n"
                         "Sec-WebSocket-Protocol: b\r\n\r\n",
    "nul-in-value.txt": "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nX-A: a\x00b\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: " + ACCEPT + "\r\n\r\n",
    "bare-cr.txt": "HTTP/1.1 101 OK\r\nUpgrade: web\rsocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: " + ACCEPT + "\r\n\r\n",
    "window-bits-010.txt": "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: " + ACCEPT + "\r\nSec-WebSocket-Extensions: "
                           "permessage-deflate; server_max_window_bits=010\r\n\r\n",
}


def journal_corpus():
    """Scripts (first byte < 0x80): ops 0-3 append LEN BYTES, 4-5 done N,
    6 sync, 7 end; then a damage byte (1 cut, 2 flip) and its offsets."""
    return {
        "appends.bin": bytes([0, 0, 3]) + b"abc" + bytes([1, 2]) + b"de" + bytes([7, 0]),
        "append-done.bin": bytes([0, 0, 4]) + b"abcd" + bytes([2, 1]) + b"x" + bytes([4, 0, 6, 7, 0]),
        "cut.bin": bytes([0, 0, 5]) + b"hello" + bytes([0, 3]) + b"bye" + bytes([7, 1, 0, 40, 0, 0]),
        "flip.bin": bytes([0, 0, 5]) + b"hello" + bytes([0, 3]) + b"bye" + bytes([7, 2, 0, 0, 0, 30]),
        "raw-empty.bin": b"\x80",
        "raw-magic.bin": b"\x80WSBJRNL\n\x01\x00\x00\x00",
    }


ROUTING = {
    "string.bin": b"/ch\x00{\"ch\":\"eu\",\"x\":1}",
    "nested.bin": b"/a/0/b\x00{\"a\":[{\"b\":\"x\"}]}",
    "number.bin": b"/n\x00{\"n\":1.5e300}",
    "escape.bin": b"/~0~1\x00{\"~/\":\"q\\\"u\"}",
    "bad-pointer.bin": b"nope\x00{}",
    "not-json.bin": b"/a\x00[[[[[",
    "unicode.bin": b"/k\x00{\"k\":\"\\u00e9\\u0000\"}",
    # What the scanner must get as jansson did (fuzz-routing compares them).
    "duplicate.bin": b"/a/c\x00{\"a\":{\"c\":\"x\"},\"b\":[1],\"a\":{\"c\":\"y\",\"c\":7}}",
    "escaped-key.bin": b"/\xc3\xa9/1\x00{\"\\u00e9\":[\"a\",\"b\"],\"e\":\"\\ud83d\\ude00\"}",
    "nul-key.bin": b"/c\x00{\"c\":\"x\",\"d\":{\"a\\u0000\":1}}",
    "big-int.bin": b"/c\x00{\"c\":2.0,\"id\":18446744073709551616,\"n\":-9007199254740993}",
    "real-overflow.bin": b"/c\x00{\"c\":\"x\",\"n\":[1e308,1e-400,0.1e309]}",
    "after-channel.bin": b"/c\x00{\"c\":\"x\",\"d\":[true,false,null,-0.5E+3,\"\\ud800\"]}",
    "deep.bin": b"/c\x00{\"c\":\"x\",\"d\":" + b"[" * 2047 + b"]" * 2047 + b"}",
    "too-deep.bin": b"/c\x00{\"c\":\"x\",\"d\":" + b"[" * 2048 + b"]" * 2048 + b"}",
}


# fuzz-dbus.c's method table (the low 4 bits of a call's selector), its
# session objects (bits 4-5) and callers (bit 6).
DBUS_METHODS = [("ListSessions", "()"), ("GetSession", "(s)"), ("CreateSession", "(ssa{sv})"),
                ("RemoveSession", "(s)"), ("Connect", "()"), ("Disconnect", "()"),
                ("Send", "(s)"), ("SendBinary", "(ay)"), ("Subscribe", "(stt)"),
                ("Unsubscribe", "(s)"), ("Get", "(ss)"), ("GetAll", "(s)"),
                ("NameOwnerChanged", "()")]
DBUS_OBJECTS = {"demo": 0, "b": 1, "n": 2}


def dbus_call(method, args=(), obj="demo", caller=0):
    from gi.repository import GLib

    index = [m for m, _ in DBUS_METHODS].index(method)
    body = GLib.Variant(DBUS_METHODS[index][1], tuple(args)).get_data_as_bytes().get_data()
    selector = index | DBUS_OBJECTS[obj] << 4 | caller << 6
    return bytes([selector, len(body) & 0xFF, len(body) >> 8]) + body


def dbus_corpus():
    from gi.repository import GLib

    iface = "io.github.WsBridge1.Session"
    create = dbus_call("CreateSession", ("n", "ws://127.0.0.1:9/x", {
        "channel_key": GLib.Variant("s", "/c"), "autoconnect": GLib.Variant("b", False),
        "ping_interval": GLib.Variant("i", 5), "history_messages": GLib.Variant("t", 8),
        "proxy": GLib.Variant("s", "none")}))
    life = (dbus_call("ListSessions") + dbus_call("GetSession", ("demo",)) + create
            + dbus_call("Subscribe", ("x", 0, 0), obj="n") + dbus_call("Send", ("hi",), obj="n")
            + dbus_call("SendBinary", (b"\x00\xff",), obj="n")
            + dbus_call("Get", (iface, "State"), obj="n") + dbus_call("GetAll", (iface,), obj="b")
            + dbus_call("Unsubscribe", ("x",), obj="n") + dbus_call("Connect", obj="n")
            + dbus_call("Disconnect", obj="n") + dbus_call("RemoveSession", ("n",))
            + dbus_call("Send", ("gone",), obj="n"))
    seeds = {
        "user-life.bin": b"\x00" + life,
        "system-life.bin": b"\x01" + life,
        "system-denied.bin": b"\x01" + dbus_call("GetSession", ("b",))
        + dbus_call("Send", ("no",), obj="b") + dbus_call("Subscribe", ("*", 0, 0), obj="b"),
        "bad-options.bin": b"\x00" + dbus_call("CreateSession", ("n", "ws://h/", {
            "persist": GLib.Variant("s", "yes"), "nosuchkey": GLib.Variant("s", "1")}))
        + dbus_call("CreateSession", ("n", "ws://h/", {"ping_interval": GLib.Variant("d", 1.5)}))
        + dbus_call("CreateSession", ("n", "http://h/", {}))
        + dbus_call("CreateSession", ("N*", "ws://h/", {}))
        + dbus_call("CreateSession", ("demo", "ws://h/", {})),
        "persist.bin": b"\x00" + dbus_call("CreateSession", ("n", "ws://127.0.0.1:9/", {
            "persist": GLib.Variant("b", True), "autoconnect": GLib.Variant("b", False)}))
        + dbus_call("RemoveSession", ("n",)),
        "subscriptions.bin": b"\x00" + b"".join(
            dbus_call("Subscribe", (ch, 1, 7), obj="demo", caller=c)
            for c in (0, 1) for ch in ("a", "b", "c", "d", "e", "a"))
        + dbus_call("Unsubscribe", ("a",), caller=1) + dbus_call("Unsubscribe", ("zz",))
        + dbus_call("NameOwnerChanged", caller=1) + dbus_call("Subscribe", ("a", 0, 0), caller=1),
        "unknown-object.bin": b"\x00" + dbus_call("Connect", obj="n")
        + dbus_call("Get", (iface, "NoSuch"), obj="demo") + dbus_call("GetSession", ("x" * 300,)),
    }
    return seeds


def ring_record(kind, seq, channel=b"", payload=b"", binary=False, size=None):
    """A record of the shared-memory ring (proto/RING.md)."""
    body = channel + payload
    total = size if size is not None else (32 + len(body) + 7) // 8 * 8
    head = (struct.pack("<IHHQqIHH", total, kind, 1 if binary else 0, seq, seq * 10,
                        len(payload), len(channel), 0))
    return (head + body).ljust(total, b"\0")


def ring_corpus():
    """fuzz-ring: even first byte, a hostile image (write, tail, start,
    last seq, then the record area); odd, a script of honest writes."""
    def image(write, tail, start, last, area):
        return b"\0" + struct.pack("<QQQQ", write, tail, start, last) + area

    two = ring_record(1, 1, b"news", b"hello") + ring_record(1, 2, b"", b"\x00\xff", True)
    pad_at_end = ring_record(1, 7, b"", b"x" * 100)
    seeds = {
        "two-messages.bin": image(len(two), 0, 0, 0, two),
        "elsewhere.bin": image(32, 0, 0, 4, ring_record(3, 5)),
        "lagged.bin": image(len(two), 48, 0, 0, two),
        "bad-size.bin": image(64, 0, 0, 0, ring_record(1, 1, size=12)),
        "seq-not-rising.bin": image(len(two), 0, 0, 5, two),
        "reader-ahead.bin": image(64, 0, 4096, 0, two),
        "pad-wraps.bin": image(65536 + len(pad_at_end), 65536 - 8, 65536 - 8, 6,
                               pad_at_end + b"\0" * (65536 - 8 - len(pad_at_end))
                               + struct.pack("<IHH", 8, 2, 0)),
        "honest-small.bin": b"\x01" + bytes([3, 0, 10, 0] * 50),
        "honest-laps.bin": b"\x01" + bytes([5, 0x40, 0x00, 1] * 20 + [0, 0, 1, 0]),
        "honest-elsewhere.bin": b"\x01" + bytes([0, 0x55, 0x00, 0, 2, 0x10, 0, 0] * 4),
    }
    return seeds


def write_dir(name, seeds):
    d = CORPUS / name
    d.mkdir(parents=True, exist_ok=True)
    for old in d.iterdir():
        if not old.name.startswith(("regress-", "grown-")):
            old.unlink()
    for fname, data in sorted(seeds.items()):
        if isinstance(data, str):
            data = data.encode()
        (d / fname).write_bytes(data)
    print(f"{d}: {len(seeds)} seeds")


def main():
    write_dir("frames", frames_corpus())
    write_dir("config", CONFIGS)
    write_dir("server-frames", server_frames_corpus())
    write_dir("handshake", HANDSHAKES)
    write_dir("journal", journal_corpus())
    write_dir("routing", ROUTING)
    write_dir("dbus", dbus_corpus())
    write_dir("ring", ring_corpus())


if __name__ == "__main__":
    main()
