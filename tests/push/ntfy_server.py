#!/usr/bin/python3
"""A small ntfy server for the wsbridge-push tests, after ntfy's documented
API (docs.ntfy.sh: publish, subscribe/api, UnifiedPush):

  POST|PUT /TOPIC[?up=1]   publish the body to TOPIC; answers the message as JSON.
                           With up=1 a body that is not UTF-8 is sent base64
                           encoded ("encoding": "base64"); bodies over 4096
                           bytes are refused (413), as ntfy does for UnifiedPush.
  GET /TOPIC?up=1          {"unifiedpush":{"version":1}} (endpoint discovery)
  GET /T1,T2,.../ws        WebSocket stream of those topics: an "open" event,
                           then with ?since=ID|all|UNIX-TIME the cached messages
                           after it, then live "message" events and a
                           "keepalive" every --keepalive seconds.

It prints "PORT <n>" once it listens and records every publish and stream
to the JSON-lines file --record (events "publish", "stream", "stream_end").
"""

import argparse
import asyncio
import base64
import http
import json
import secrets
import string
import sys
import time
import urllib.parse

import websockets
from websockets.datastructures import Headers
from websockets.legacy.http import read_headers, read_line
from websockets.legacy.server import WebSocketServerProtocol

TOPIC_CHARS = set(string.ascii_letters + string.digits + "-_")
UP_MAX_BYTES = 4096


def new_id():
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))


class Store:
    def __init__(self, record):
        self.messages = []  # in publish order
        self.streams = set()
        self.record_path = record

    def record(self, **event):
        with open(self.record_path, "a") as f:
            f.write(json.dumps({"time": time.time(), **event}) + "\n")

    def after(self, since, topics):
        msgs = self.messages
        if since is None:
            return []
        if since != "all":
            if since.isdigit():
                msgs = [m for m in msgs if m["time"] >= int(since)]
            else:
                ids = [m["id"] for m in msgs]
                if since in ids:
                    msgs = msgs[ids.index(since) + 1:]
        return [m for m in msgs if m["topic"] in topics]


def valid_topic(t):
    return 0 < len(t) <= 64 and set(t) <= TOPIC_CHARS


class Protocol(WebSocketServerProtocol):
    """Reads any method; what is not a WebSocket request is answered from
    process_request."""

    async def read_http_request(self):
        line = await read_line(self.reader)
        method, target, _ = line.decode("ascii").split(" ", 2)
        headers = await read_headers(self.reader)
        self.method = method
        self.body = b""
        length = int(headers.get("Content-Length", "0") or "0")
        if length:
            self.body = await self.reader.readexactly(length)
        self.path, self.request_headers = target, headers
        return target, headers


def json_response(status, obj):
    body = (json.dumps(obj) + "\n").encode()
    return status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body


def make_process_request(store):
    async def process_request(path, headers):
        ws = process_request.current
        url = urllib.parse.urlsplit(path)
        query = urllib.parse.parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        if ws.method == "GET" and len(parts) == 2 and parts[1] == "ws":
            return None  # the WebSocket handshake goes on
        if len(parts) != 1 or not valid_topic(parts[0]):
            return json_response(http.HTTPStatus.NOT_FOUND, {"error": "page not found"})
        topic = parts[0]
        up = query.get("up", ["0"])[0] == "1"
        if ws.method == "GET" and up:
            return json_response(http.HTTPStatus.OK, {"unifiedpush": {"version": 1}})
        if ws.method not in ("POST", "PUT"):
            return json_response(http.HTTPStatus.METHOD_NOT_ALLOWED, {"error": "method"})
        body = ws.body
        if up and len(body) > UP_MAX_BYTES:
            return json_response(http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                 {"error": "message too large"})
        msg = {"id": new_id(), "time": int(time.time()), "expires": int(time.time()) + 43200,
               "event": "message", "topic": topic}
        try:
            text = body.decode("utf-8")
            if "\x00" in text:
                raise UnicodeDecodeError("utf-8", body, 0, 1, "NUL")
            if text:
                msg["message"] = text
        except UnicodeDecodeError:
            msg["message"] = base64.b64encode(body).decode()
            msg["encoding"] = "base64"
        store.messages.append(msg)
        store.record(event="publish", id=msg["id"], topic=topic, size=len(body))
        for stream in list(store.streams):
            stream.offer(msg)
        return json_response(http.HTTPStatus.OK, msg)
    return process_request


class Stream:
    def __init__(self, ws, topics):
        self.ws, self.topics = ws, topics
        self.queue = asyncio.Queue()

    def offer(self, msg):
        if msg["topic"] in self.topics:
            self.queue.put_nowait(msg)


async def serve_stream(store, ws, path, keepalive):
    url = urllib.parse.urlsplit(path)
    query = urllib.parse.parse_qs(url.query)
    topics = url.path.strip("/").split("/")[0].split(",")
    if not all(valid_topic(t) for t in topics):
        await ws.close(4000, "bad topic")
        return
    since = query.get("since", [None])[0]
    stream = Stream(ws, set(topics))
    store.streams.add(stream)
    replay = store.after(since, stream.topics)
    store.record(event="stream", topics=topics, since=since, replayed=[m["id"] for m in replay],
                 auth=ws.request_headers.get("Authorization"))
    now = int(time.time())
    try:
        await ws.send(json.dumps({"id": new_id(), "time": now, "event": "open",
                                  "topic": ",".join(topics)}))
        for m in replay:
            await ws.send(json.dumps(m))
        while True:
            try:
                msg = await asyncio.wait_for(stream.queue.get(), keepalive)
            except asyncio.TimeoutError:
                msg = {"id": new_id(), "time": int(time.time()), "event": "keepalive",
                       "topic": ",".join(topics)}
            await ws.send(json.dumps(msg))
    except websockets.ConnectionClosed:
        pass
    finally:
        store.streams.discard(stream)
        store.record(event="stream_end", topics=topics)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--record", required=True)
    ap.add_argument("--keepalive", type=float, default=2.0)
    args = ap.parse_args()
    store = Store(args.record)
    process_request = make_process_request(store)

    class Bound(Protocol):
        async def process_request(self, path, headers):
            process_request.current = self
            return await process_request(path, headers)

    async def handler(ws, path):
        await serve_stream(store, ws, path, args.keepalive)

    server = await websockets.serve(handler, "127.0.0.1", args.port, create_protocol=Bound,
                                    compression=None)
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
