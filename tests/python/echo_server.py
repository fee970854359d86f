#!/usr/bin/env python3
"""An echo WebSocket server for the ported peer examples (they talk to echo
servers): every message comes back as it went; "close CODE REASON" makes the
server close with CODE; --greeting TEXT is sent first on every connection. Takes the harness' options (--host, --port,
--record, --inject) and prints "PORT n" once listening."""

import argparse
import asyncio
import json
import sys

import websockets


GREETING = None


async def handler(ws, path=None):
    try:
        if GREETING is not None:
            await ws.send(GREETING)
        async for message in ws:
            if isinstance(message, str) and message.startswith("close "):
                code, _, reason = message[6:].partition(" ")
                await ws.close(int(code), reason)
                return
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--record", required=True)
    p.add_argument("--inject")
    p.add_argument("--greeting", help="sent first on every connection (as echo.websocket.events does)")
    args = p.parse_args()
    global GREETING
    GREETING = args.greeting
    async with websockets.serve(handler, args.host, args.port) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        with open(args.record, "a") as f:
            f.write(json.dumps({"event": "listen", "port": port}) + "\n")
        print(f"PORT {port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
