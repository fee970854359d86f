#!/usr/bin/python3
"""A small Gotify server for the tests, as Gotify's API documentation
describes it (gotify.net/api-docs, gotify.net/docs/msgextras):

- publish: POST /message with an application token (header X-Gotify-Key, or
  ?token=) and a JSON body {"message", "title", "priority", "extras"}; the
  answer is the message as stored.
- subscribe: the WebSocket /stream with a client token (?token=, the header
  X-Gotify-Key, or "Authorization: Bearer TOKEN"); every message is sent as {"id", "appid", "message", "title",
  "priority", "extras", "date"}. A wrong token gets 401 at the handshake.

--app NAME=TOKEN (repeatable) makes applications with ids 1, 2, …;
--client TOKEN the client token."""

import datetime
import json

from feed_server_base import Recorder, Store, arguments, main, serve


class Gotify:
    def __init__(self, args):
        self.args = args
        self.record = Recorder(args.record)
        self.store = Store(args.store)
        self.apps = {}  # token -> (id, name)
        for i, spec in enumerate(args.app, 1):
            name, _, token = spec.partition("=")
            self.apps[token] = (i, name)
        self.subscribers = set()

    @staticmethod
    def token(path, headers):
        import urllib.parse
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
        bearer = headers.get("authorization", "")
        return (query.get("token") or headers.get("x-gotify-key")
                or (bearer[7:] if bearer.startswith("Bearer ") else None))

    async def check_handshake(self, path, headers):
        lower = {k.lower(): v for k, v in headers.raw_items()}
        if self.token(path, lower) != self.args.client:
            self.record("refused", path=path)
            return 401, [], b'{"error":"Unauthorized","errorCode":401,' \
                            b'"errorDescription":"you need to provide a valid access token"}\n'
        return None

    async def handler(self, ws, path):
        if not path.split("?")[0] == "/stream":
            await ws.close(1008, "expected /stream")
            return
        self.record("connected", path=path)
        self.subscribers.add(ws)
        try:
            await ws.wait_closed()
        finally:
            self.subscribers.discard(ws)
            self.record("disconnected", path=path)

    async def publish(self, method, path, query, headers, body):
        if method != "POST" or path != "/message":
            return 404, {"error": "Not Found", "errorCode": 404}
        app = self.apps.get(headers.get("x-gotify-key") or query.get("token"))
        if not app:
            return 401, {"error": "Unauthorized", "errorCode": 401}
        data = json.loads(body)
        m = {"id": len(self.store.messages) + 1, "appid": app[0],
             # Gotify gives a message without a title its application's name.
             "message": data["message"], "title": data.get("title", "").strip() or app[1],
             "priority": data.get("priority", 0),
             "date": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        if "extras" in data:
            m["extras"] = data["extras"]
        self.store.add(m)
        self.record("published", data=m)
        for ws in list(self.subscribers):
            await ws.send(json.dumps(m))
            self.record("sent", data=m)
        return 200, m


async def run(args):
    gotify = Gotify(args)
    await serve(args, gotify.handler, gotify.publish, gotify.check_handshake)


if __name__ == "__main__":
    parser = arguments(__doc__)
    parser.add_argument("--app", action="append", default=[], help="NAME=TOKEN")
    parser.add_argument("--client", required=True, help="the client token of /stream")
    main(run(parser.parse_args()))
