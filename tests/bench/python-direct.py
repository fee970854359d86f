#!/usr/bin/python3
"""Receive N messages with python3-websockets connected straight to URL, the
baseline the Python client is measured against, in run-bench's client
contract (benchlib.py): "READY" once connected, then "RATE <msgs/s> COUNT
<n>" and one JSON result line after N messages.

The clock (CLOCK_MONOTONIC) starts at the first message, so connecting does not count. Each
message is received as an app would: recv() returns it decoded (str for text).
"""

import argparse
import asyncio
import json
import time

import websockets


async def run(url: str, count: int) -> dict:
    async with websockets.connect(url, compression=None, max_size=None,
                                  max_queue=None, ping_interval=None) as ws:
        print("READY", flush=True)
        size = len(await ws.recv())
        start = time.monotonic_ns()
        for _ in range(count - 1):
            size += len(await ws.recv())
        last = time.monotonic_ns()
    seconds = (last - start) / 1e9
    return dict(client="python websockets", complete=True, messages=count, bytes=size, lost=0,
                first_ns=start, last_ns=last, seconds=seconds,
                rate=(count - 1) / seconds if seconds > 0 else 0.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url", help="ws://host:port/ of a feed server")
    p.add_argument("--count", type=int, default=500_000, help="messages to receive")
    args = p.parse_args()
    if args.count < 2:
        p.error("--count must be at least 2")
    r = asyncio.run(run(args.url, args.count))
    print(f"RATE {r['rate']:.0f} COUNT {r['messages']}", flush=True)
    print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
