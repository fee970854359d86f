#!/usr/bin/python3
"""A tiny local WebSocket feed for trying wsbridge without the internet.

Every connected client gets a JSON tick once a second, e.g.
  {"type":"tick","n":12,"region":"eu","time":"2024-01-01T12:00:00.000Z","price":101.3}
and every message a client sends is printed as "received: ...". Subscribe
frames ({"op":"subscribe","channel":"eu"}) are printed like any other message;
the feed sends every region to everyone regardless.

Usage: demo-feed.py [--host 127.0.0.1] [--port 0]
The actual port is printed first, as a line "PORT <n>", so a launcher can read it.
"""

import argparse
import asyncio
import datetime
import json
import random
import signal
import sys

import websockets


def log(text):
    print(text, flush=True)


class Feed:
    def __init__(self):
        self.n = 0
        self.price = 100.0
        self.clients = set()

    def next_tick(self):
        self.n += 1
        self.price = max(1.0, self.price + random.uniform(-0.5, 0.5))
        now = datetime.datetime.now(datetime.timezone.utc)
        return json.dumps({
            "type": "tick",
            "n": self.n,
            "region": ("eu", "us", "asia")[self.n % 3],
            "time": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "price": round(self.price, 2),
        }, separators=(",", ":"))

    async def ticker(self):
        while True:
            await asyncio.sleep(1)
            if self.clients:
                websockets.broadcast(self.clients, self.next_tick())

    async def handler(self, websocket, path=None):
        peer = "%s:%s" % websocket.remote_address[:2]
        log("client connected: %s" % peer)
        self.clients.add(websocket)
        try:
            async for message in websocket:
                if isinstance(message, bytes):
                    log("received: <%d bytes binary> %s" % (len(message), message.hex()))
                else:
                    # One trailing newline (as from "echo hi | wsbridgectl send demo -")
                    # would only show as an empty line.
                    log("received: %s" % message.removesuffix("\n"))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.clients.discard(websocket)
            log("client disconnected: %s (code %s)" % (peer, websocket.close_code))


async def main(host, port):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Respect an inherited "ignore" (as shells set for background jobs), so a
        # launcher decides when the feed stops, e.g. after the daemon closed its session.
        if signal.getsignal(sig) != signal.SIG_IGN:
            loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    feed = Feed()
    async with websockets.serve(feed.handler, host, port) as server:
        actual = server.sockets[0].getsockname()[1]
        log("PORT %d" % actual)
        log("demo feed listening on ws://%s:%d/" % (host, actual))
        ticker = asyncio.create_task(feed.ticker())
        await stop
        ticker.cancel()
    log("demo feed stopped")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Local WebSocket demo feed for wsbridge.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind, 0 picks a free one")
    args = parser.parse_args()
    try:
        asyncio.run(main(args.host, args.port))
    except OSError as e:
        print("demo-feed: %s" % e, file=sys.stderr)
        sys.exit(1)
