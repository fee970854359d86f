#!/usr/bin/python3
"""A WebSocket server for the wsbridge integration tests.

It runs as its own process so that tests can SIGKILL, SIGSTOP and restart
it. After binding it prints "PORT <n>" on stdout. Every event (start,
connection, message received (with its length and SHA-256), message sent,
ping received, close code received from the client) is appended to the
--record file as one JSON line.

With --tls-cert/--tls-key it speaks TLS (wss://); --tls-client-ca makes it
require a client certificate signed by that CA. Every TLS ClientHello is
recorded as "tls_hello" (with the SNI name), so failed handshakes show too.

Every upgrade request is recorded as "handshake" with its headers and the
HTTP status answered: 401 (or --reject-status) for the first --reject-first
requests, and for any request whose Authorization is not "Bearer <content of
--auth-token-file>" (read at each request); 101 otherwise. The "connect"
event names the extensions negotiated (permessage-deflate).

Modes (applied to the first --mode-connections connections, 0 = all; later
connections behave as "normal"):
  normal      accept the upgrade; every --send-interval s send "msg <n>"
  no-upgrade  accept TCP, read the request, never answer it
  fragment    every --send-interval s send one --message-size message in
              --fragment-size fragments
  oversize    right after the upgrade send one --message-size message of
              random bytes (binary, incompressible)
  big-json    right after the upgrade send one --message-size text message
              of JSON (valid, very compressible), then behave as "normal"

With --counter-file the numbers of "msg <n>" count across all connections
and all incarnations of the server (the file keeps the last one taken), so
they keep increasing when the server restarts (a number is taken before
its message goes out: a server killed in between skips it).

With --inject FILE the server follows FILE (like tail -f): each new line, a
JSON string (a text message) or {"b64": ...} (a binary message), is sent to
every open connection; lines wait while no connection is open. A line
{"burst": N} sends N text messages "msg <n>" (numbered like the
--send-interval messages) as fast as it can, or at "rate": R messages/s,
padded with "." to "size": S bytes if given, and records one "burst" event
(first and last n) instead of one "sent" event per message.

SIGTERM restarts gracefully: the server stops listening, closes every
connection with --term-close-code, keeps reading (and recording) what
arrives until each closing handshake ends, then exits 0. So every message
the client handed to its socket before it saw the close is recorded.
"""

import argparse
import asyncio
import base64
import hashlib
import itertools
import json
import logging
import os
import re
import signal
import ssl
import sys
from http import HTTPStatus

import websockets
from websockets.frames import Opcode
from websockets.legacy.framing import Frame

ARGS = None
RECORD = None
CONN_IDS = itertools.count(1)
CONNS = {}  # websocket -> connection id, for PingRecorder
HANDSHAKES = itertools.count(1)
TERMINATING = False


class PingRecorder(logging.Handler):
    """Records pings from the client; websockets logs each frame it reads at DEBUG."""

    def emit(self, rec):
        frame = rec.args[0] if rec.msg == "< %s" and rec.args else None
        if getattr(frame, "opcode", None) == Opcode.PING:
            record("ping", conn=CONNS.get(getattr(rec, "websocket", None)), len=len(frame.data))


def record(event, **fields):
    fields = {"event": event, "pid": os.getpid(), **fields}
    RECORD.write(json.dumps(fields) + "\n")
    RECORD.flush()


class Counter:
    """Numbers for "msg <n>": per connection, or shared through --counter-file."""

    def __init__(self, path):
        self.path = path
        self.n = 0
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                self.n = int(f.read().strip() or 0)

    def next(self):
        self.n += 1
        return self.n

    def save(self):
        if self.path:
            tmp = f"{self.path}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(f"{self.n}\n")
            os.replace(tmp, self.path)


SHARED_COUNTER = None
BURST_COUNTER = Counter(None)  # numbers burst messages without --counter-file


def mode_for(conn_number):
    limit = ARGS.mode_connections
    if limit and conn_number > limit:
        return "normal"
    return ARGS.mode


def pattern_message(n, size):
    """A recognizable, reproducible payload: "[nnnn:kkkkkkkk]" blocks."""
    text = "".join(f"[{n:04d}:{k:08d}]" for k in range(size // 15 + 1))
    return text[:size]


def json_message(size):
    """A valid, very compressible JSON document of exactly SIZE bytes (>= 256)."""
    items, used = [], 0
    while used < size - 200:
        n = len(items)
        item = json.dumps({"id": n, "name": f"item {n}", "tags": ["alpha", "beta"],
                           "price": n * 7 % 1000, "ok": True}, separators=(",", ":"))
        items.append(item)
        used += len(item) + 1
    body = '{"items":[' + ",".join(items) + '],"pad":"'
    return body + " " * (size - len(body) - 2) + '"}'


def process_request(path, request_headers):
    """Answers 401/403 where the options say so; records every request."""
    number = next(HANDSHAKES)
    headers = {k.lower(): v for k, v in request_headers.raw_items()}
    status = 101
    if number <= ARGS.reject_first:
        status = ARGS.reject_status
    elif ARGS.auth_token_file:
        with open(ARGS.auth_token_file, encoding="utf-8") as f:
            want = "Bearer " + f.read().strip()
        if headers.get("authorization") != want:
            status = ARGS.reject_status
    record("handshake", n=number, path=path, headers=headers, status=status)
    if status != 101:
        return HTTPStatus(status), [("Content-Length", "0")], b""
    return None


def server_ssl_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
    if ARGS.tls_client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(ARGS.tls_client_ca)

    def hello(_sslobj, server_name, _ctx):
        record("tls_hello", sni=server_name)
    ctx.sni_callback = hello
    return ctx


def peer_certificate(ws):
    cert = ws.transport.get_extra_info("peercert") if ws.transport else None
    if not cert:
        return None
    return {k: v for rdn in cert.get("subject", ()) for k, v in rdn}


async def send_loop(ws, conn, mode):
    try:
        await send_messages(ws, conn, mode)
    except websockets.ConnectionClosed:
        pass


def feed_text(n):
    return json.dumps({"event": "message", "id": f"m{n}", "n": n})


async def send_messages(ws, conn, mode):
    counter = SHARED_COUNTER or Counter(None)
    since = re.search(r"[?&]since=m(\d+)(?:&|$)", ws.path) if ARGS.feed_ids else None
    if since:
        k = int(since.group(1))
        for n in range(max(1, k - 1), k + 3):
            await ws.send(feed_text(n))
            record("sent", conn=conn, n=n, data=feed_text(n), replay=True)
        counter.n = max(counter.n, k + 2)
    for sent in itertools.count(1):
        if ARGS.send_count and sent > ARGS.send_count:
            return
        await asyncio.sleep(ARGS.send_interval)
        if TERMINATING:
            return
        n = counter.next()
        if mode == "fragment":
            text = pattern_message(n, ARGS.message_size)
            payload = text.encode() if ARGS.binary else text
            step = ARGS.fragment_size
            fragments = [payload[i:i + step] for i in range(0, len(payload), step)]
            await ws.send(iter(fragments))
            record("sent", conn=conn, n=n, len=len(payload), fragments=len(fragments),
                   sha256=hashlib.sha256(text.encode()).hexdigest())
        else:
            # The number is taken before the send: killed in between, or a
            # send that fails after writing part or all of the frame, the
            # server skips it rather than sending it twice.
            counter.save()
            text = feed_text(n) if ARGS.feed_ids else f"msg {n}"
            await ws.send(text)
            record("sent", conn=conn, n=n, data=text)
            if ARGS.feed_ids and ARGS.keepalive_every and n % ARGS.keepalive_every == 0:
                await ws.send(json.dumps({"event": "keepalive", "id": f"k{n}"}))


async def ws_handler(ws):
    number = next(CONN_IDS)
    conn = f"{os.getpid()}-{number}"
    mode = mode_for(number)
    CONNS[ws] = conn
    record("connect", conn=conn, mode=mode, path=ws.path, subprotocol=ws.subprotocol,
           headers={k.lower(): v for k, v in ws.request_headers.raw_items()},
           extensions=[ext.name for ext in ws.extensions],
           response_extensions=ws.response_headers.get("Sec-WebSocket-Extensions"),
           client_cert=peer_certificate(ws))
    sender = None
    if TERMINATING:  # upgraded while the server was shutting down
        asyncio.get_running_loop().create_task(close_for_restart(ws))
    try:
        if ARGS.greeting is not None:
            text = ARGS.greeting.replace("{conn}", conn)
            await ws.send(text)
            record("sent", conn=conn, n=0, data=text)
        if mode == "big-json":
            text = json_message(ARGS.message_size)
            await ws.send(text)
            record("sent", conn=conn, n=0, len=len(text),
                   sha256=hashlib.sha256(text.encode()).hexdigest())
            mode = "normal"
        if mode == "oversize":
            data = os.urandom(ARGS.message_size)
            await ws.send(data)
            record("sent", conn=conn, n=0, len=len(data),
                   sha256=hashlib.sha256(data).hexdigest())
        elif ARGS.send_interval > 0 and not ARGS.tick_after_subscribe:
            sender = asyncio.create_task(send_loop(ws, conn, mode))
        if ARGS.close_after is not None:
            await asyncio.sleep(ARGS.close_after)
            await ws.close(ARGS.close_code, "server says bye")
        async for msg in ws:
            if (ARGS.tick_after_subscribe and sender is None and isinstance(msg, str)
                    and "subscribe" in msg and ARGS.send_interval > 0):
                sender = asyncio.create_task(send_loop(ws, conn, mode))
            raw = msg.encode() if isinstance(msg, str) else msg
            digest = hashlib.sha256(raw).hexdigest()
            if isinstance(msg, str):
                record("message", conn=conn, type="text", data=msg, len=len(raw), sha256=digest)
            else:
                record("message", conn=conn, type="binary", len=len(raw), sha256=digest,
                       data_b64=base64.b64encode(msg).decode())
    except websockets.ConnectionClosed:
        pass
    finally:
        if sender:
            sender.cancel()
        await ws.wait_closed()
        record("close", conn=conn, code=ws.close_code, reason=ws.close_reason)
        CONNS.pop(ws, None)


async def close_for_restart(ws):
    await ws.close(ARGS.term_close_code, "server restart")


async def burst(ws, count, size, rate):
    """Sends COUNT "msg <n>" messages back to back (at RATE messages/s if
    RATE), packed into large writes as a busy real server's would be: ws.send
    writes and drains each frame alone, which caps the rate far below what
    the daemon takes."""
    counter = SHARED_COUNTER or BURST_COUNTER
    first = counter.n + 1
    packed = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    await ws.ensure_open()
    for i in range(1, count + 1):
        text = f"msg {counter.next()}"
        frame = Frame(True, Opcode.TEXT, (text.ljust(size, ".") if size else text).encode())
        frame.write(packed.append, mask=False, extensions=ws.extensions)
        if len(packed) == 256 or i == count:
            ws.transport.write(b"".join(packed))
            packed.clear()
            await ws.drain()
            if rate:
                await asyncio.sleep(start + i / rate - loop.time())
    counter.save()
    record("burst", conn=CONNS.get(ws), first=first, last=counter.n)


async def inject_loop(path):
    """Sends each new line of PATH to every open connection."""
    offset, pending = 0, []
    while True:
        await asyncio.sleep(0.01)
        if os.path.exists(path):
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
            end = data.rfind(b"\n") + 1
            offset += end
            pending += [json.loads(line) for line in data[:end].splitlines() if line.strip()]
        targets = [ws for ws in CONNS if ws.open]
        if TERMINATING or not pending or not targets:
            continue
        for item in pending:
            for ws in targets:
                try:
                    if isinstance(item, str):
                        await ws.send(item)
                        record("sent", conn=CONNS.get(ws), data=item)
                    elif "burst" in item:
                        await burst(ws, item["burst"], item.get("size", 0), item.get("rate", 0))
                    else:
                        await ws.send(base64.b64decode(item["b64"]))
                        record("sent", conn=CONNS.get(ws), data_b64=item["b64"])
                except websockets.ConnectionClosed:
                    record("not_sent", conn=CONNS.get(ws), item=item)
        pending = []


async def shutdown(server, done):
    """SIGTERM: stop listening, close every connection, wait for the handshakes."""
    global TERMINATING
    TERMINATING = True
    record("terminating", connections=len(server.websockets))
    server.server.close()
    closing = set()
    while server.websockets:
        for ws in list(server.websockets):
            if ws.open and ws not in closing:
                closing.add(ws)
                asyncio.get_running_loop().create_task(close_for_restart(ws))
        await asyncio.sleep(0.01)
    done.set_result(None)


async def raw_handler(reader, writer):
    conn = f"{os.getpid()}-{next(CONN_IDS)}"
    record("tcp_connect", conn=conn)
    try:
        request_line = await reader.readline()
        record("request", conn=conn, line=request_line.decode(errors="replace").strip())
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    record("tcp_close", conn=conn)
    writer.close()


async def main():
    if ARGS.mode == "no-upgrade":
        server = await asyncio.start_server(raw_handler, ARGS.host, ARGS.port)
    else:
        logger = logging.getLogger("websockets.server")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(PingRecorder())
        errors = logging.StreamHandler()
        errors.setLevel(logging.WARNING)
        logger.addHandler(errors)
        logger.propagate = False
        server = await websockets.serve(
            ws_handler, ARGS.host, ARGS.port,
            subprotocols=ARGS.subprotocol or None,
            max_size=None, ping_interval=None,
            process_request=process_request,
            ssl=server_ssl_context() if ARGS.tls_cert else None,
        )
    port = server.sockets[0].getsockname()[1]
    record("listen", host=ARGS.host, port=port, mode=ARGS.mode)
    done = asyncio.get_running_loop().create_future()
    if ARGS.mode != "no-upgrade":
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGTERM, lambda: asyncio.ensure_future(shutdown(server, done)))
    if ARGS.inject:
        asyncio.get_running_loop().create_task(inject_loop(ARGS.inject))
    print(f"PORT {port}", flush=True)
    await done
    record("exit")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--mode", choices=["normal", "no-upgrade", "fragment", "oversize",
                                      "big-json"],
                   default="normal")
    p.add_argument("--mode-connections", type=int, default=0)
    p.add_argument("--send-interval", type=float, default=0,
                   help="seconds between messages sent on each connection, 0 = none")
    p.add_argument("--send-count", type=int, default=0, help="per connection, 0 = unlimited")
    p.add_argument("--message-size", type=int, default=1 << 20)
    p.add_argument("--fragment-size", type=int, default=64 << 10)
    p.add_argument("--binary", action="store_true", help="fragment mode: send binary")
    p.add_argument("--subprotocol", action="append", help="accept this subprotocol")
    p.add_argument("--tls-cert", help="PEM certificate: serve wss://")
    p.add_argument("--tls-key", help="PEM key of --tls-cert")
    p.add_argument("--tls-client-ca", help="require a client certificate signed by this CA")
    p.add_argument("--reject-first", type=int, default=0,
                   help="answer the first N upgrade requests with --reject-status")
    p.add_argument("--reject-status", type=int, choices=[401, 403], default=401)
    p.add_argument("--auth-token-file",
                   help="accept only Authorization: Bearer <this file's content>")
    p.add_argument("--close-after", type=float,
                   help="close each connection this many seconds after the upgrade")
    p.add_argument("--close-code", type=int, default=1000, help="close code for --close-after")
    p.add_argument("--counter-file",
                   help="number messages across connections and restarts, kept in this file")
    p.add_argument("--inject", help="send each line appended to this file (JSON) to every "
                                    "open connection")
    p.add_argument("--tick-after-subscribe", action="store_true",
                   help="with --send-interval: send nothing on a connection until it has "
                        "received a text message containing 'subscribe' (as servers that "
                        "forget subscriptions with the connection do)")
    p.add_argument("--feed-ids", action="store_true",
                   help="messages are ntfy-like JSON: {\"event\":\"message\",\"id\":\"mN\","
                        "\"n\":N}; with --keepalive-every K, a {\"event\":\"keepalive\","
                        "\"id\":\"kN\"} follows every K-th; a connection whose query has "
                        "since=mK first gets mK-1 .. mK+2 again (overlapping what was sent), "
                        "then numbering goes on from K+3")
    p.add_argument("--keepalive-every", type=int, default=0)
    p.add_argument("--greeting", help="send this text first on every connection "
                                      "({conn} is replaced by the connection's id)")
    p.add_argument("--term-close-code", type=int, default=1012,
                   help="close code for the connections at SIGTERM")
    p.add_argument("--record", required=True, help="append events here as JSON lines")
    args = p.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    return args


if __name__ == "__main__":
    ARGS = parse_args()
    RECORD = open(ARGS.record, "a", encoding="utf-8")
    record("start", argv=sys.argv[1:])
    SHARED_COUNTER = Counter(ARGS.counter_file) if ARGS.counter_file else None
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
