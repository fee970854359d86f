#!/usr/bin/python3
"""A small ntfy server for the tests, as ntfy's documentation describes the
API (docs.ntfy.sh: "Publishing", "Subscribe via API"):

- publish: POST or PUT /TOPIC with the message as the body and the headers
  X-Title, X-Priority (1-5 or min, low, default, high, max/urgent), X-Tags
  (comma-separated), X-Click, X-Actions (the JSON form), X-Markdown; or POST /
  with a JSON object naming "topic". The answer is the message as JSON.
- subscribe: the WebSocket /TOPIC/ws (or /TOPIC1,TOPIC2/ws); an "open" event first, a "keepalive"
  every --keepalive seconds, each published message as a "message" event
  ({"id", "time", "expires", "event", "topic", "message", ...}).
  ?since=ID replays the cached messages published after ID, since=all all of
  them, since=UNIXTIME those from then on.
- with --token, both need "Authorization: Bearer TOKEN" (or ?auth= is not
  supported: the tests use the header, as the session's headers= sends it).
- for the tests, not ntfy's: POST /_outage?seconds=S closes every WebSocket
  (1001) and refuses new ones with 503 for S seconds, while publishing goes
  on: an upstream outage as the daemon sees it.

Every connection and what was sent is recorded (--record)."""

import asyncio
import json
import random
import string
import time

from feed_server_base import Recorder, Store, arguments, main, serve

PRIORITIES = {"min": 1, "low": 2, "default": 3, "high": 4, "max": 5, "urgent": 5}


def new_id():
    return "".join(random.choice(string.ascii_letters + string.digits) for _ in range(12))


class Ntfy:
    def __init__(self, args):
        self.args = args
        self.record = Recorder(args.record)
        self.store = Store(args.store)
        self.subscribers = {}  # websocket -> topic
        self.outage_until = 0.0

    def authorized(self, headers):
        return not self.args.token or headers.get("authorization") == f"Bearer {self.args.token}"

    async def check_handshake(self, path, headers):
        if time.monotonic() < self.outage_until:
            self.record("refused", path=path, why="outage")
            return 503, [], b"outage\n"
        if not self.authorized({k.lower(): v for k, v in headers.raw_items()}):
            self.record("refused", path=path)
            return 401, [], b'{"code":40101,"http":401,"error":"unauthorized"}\n'
        return None

    def event(self, kind, topic):
        return {"id": new_id(), "time": int(time.time()), "event": kind, "topic": topic}

    async def send(self, ws, event):
        await ws.send(json.dumps(event))
        self.record("sent", data=event)

    def replay(self, topics, since):
        cached = [m for m in self.store.messages if m["topic"] in topics]
        if since is None:
            return []
        if since == "all":
            return cached
        if since.isdigit():
            return [m for m in cached if m["time"] >= int(since)]
        ids = [m["id"] for m in cached]
        return cached[ids.index(since) + 1:] if since in ids else cached

    async def handler(self, ws, path):
        import urllib.parse
        url = urllib.parse.urlsplit(path)
        parts = url.path.strip("/").split("/")
        query = dict(urllib.parse.parse_qsl(url.query))
        if len(parts) != 2 or parts[1] != "ws":
            await ws.close(1008, "expected /TOPIC/ws")
            return
        # /a,b/ws subscribes to both; open and keepalive events name the list.
        topic = parts[0]
        self.record("connected", path=path, since=query.get("since"))
        await self.send(ws, self.event("open", topic))
        for m in self.replay(topic.split(","), query.get("since")):
            await self.send(ws, m)
        self.subscribers[ws] = topic
        try:
            while True:
                try:
                    await asyncio.wait_for(ws.wait_closed(), self.args.keepalive)
                    break
                except asyncio.TimeoutError:
                    await self.send(ws, self.event("keepalive", topic))
        finally:
            self.subscribers.pop(ws, None)
            self.record("disconnected", path=path)

    def message(self, topic, body, headers):
        m = self.event("message", topic)
        m["expires"] = m["time"] + 12 * 3600
        fields = body if isinstance(body, dict) else {"message": body}
        if not isinstance(body, dict):
            for header, key in (("x-title", "title"), ("x-click", "click")):
                if header in headers:
                    fields[key] = headers[header]
            if "x-priority" in headers:
                p = headers["x-priority"]
                fields["priority"] = PRIORITIES.get(p, int(p) if p.isdigit() else 3)
            if "x-tags" in headers:
                fields["tags"] = [t.strip() for t in headers["x-tags"].split(",") if t.strip()]
            if "x-actions" in headers:
                fields["actions"] = json.loads(headers["x-actions"])
            if headers.get("x-markdown", "").lower() in ("1", "yes", "true"):
                fields["content_type"] = "text/markdown"
        for key in ("title", "message", "priority", "tags", "click", "actions", "content_type"):
            if key in fields:
                m[key] = fields[key]
        for a in m.get("actions", []):
            a.setdefault("id", new_id())
        m.setdefault("message", "triggered")
        return m

    async def publish(self, method, path, query, headers, body):
        if path == "/_outage":
            self.outage_until = time.monotonic() + float(query["seconds"])
            for ws in list(self.subscribers):
                await ws.close(1001, "outage")
            self.record("outage", seconds=float(query["seconds"]))
            return 200, {"outage": float(query["seconds"])}
        if method not in ("POST", "PUT"):
            return 404, {"error": "only publishing is served here"}
        if not self.authorized(headers):
            return 401, {"code": 40101, "http": 401, "error": "unauthorized"}
        topic = path.strip("/")
        if not topic:
            data = json.loads(body)
            topic = data.pop("topic")
            m = self.message(topic, data, headers)
        else:
            m = self.message(topic, body.decode(), headers)
        self.store.add(m)
        self.record("published", data=m)
        for ws, t in list(self.subscribers.items()):
            if topic in t.split(","):
                await self.send(ws, m)
        return 200, m


async def run(args):
    ntfy = Ntfy(args)
    await serve(args, ntfy.handler, ntfy.publish, ntfy.check_handshake)


if __name__ == "__main__":
    parser = arguments(__doc__)
    parser.add_argument("--keepalive", type=float, default=45.0, help="seconds between keepalives")
    parser.add_argument("--token", help="an access token both directions require")
    main(run(parser.parse_args()))
