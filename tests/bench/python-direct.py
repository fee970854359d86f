#!/usr/bin/python3
"""Receive N messages with python3-websockets connected straight to URL and
print one line "RATE <msgs/s> COUNT <n>": the baseline the Python client is
measured against (BENCHMARKS.md, "Python client").

The clock starts at the first message, so connecting does not count. Each
message is received as an app would: recv() returns it decoded (str for text).
"""

import argparse
import asyncio
import time

import websockets


async def run(url: str, count: int) -> tuple[float, int]:
    async with websockets.connect(url, compression=None, max_size=None,
                                  max_queue=None, ping_interval=None) as ws:
        await ws.recv()
        start = time.perf_counter()
        size = 0
        for _ in range(count - 1):
            size += len(await ws.recv())
        elapsed = time.perf_counter() - start
    return (count - 1) / elapsed, count


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url", help="ws://host:port/ of a feed server")
    p.add_argument("--count", type=int, default=500_000, help="messages to receive")
    args = p.parse_args()
    if args.count < 2:
        p.error("--count must be at least 2")
    rate, n = asyncio.run(run(args.url, args.count))
    print(f"RATE {rate:.0f} COUNT {n}", flush=True)


if __name__ == "__main__":
    main()
