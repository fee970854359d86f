#!/usr/bin/python3
"""Receive N messages of SESSION through wsbridged with the Python client
(asyncio API) and print one line "RATE <msgs/s> COUNT <n>" (BENCHMARKS.md,
"Python client"); compare with python-direct.py on the same feed.

The clock starts at the first message. Each message's data is read (str for
text), as python-direct.py's recv() decodes it; gaps (the daemon dropping
what this subscriber could not keep up with) are counted apart and printed
on stderr.
"""

import argparse
import asyncio
import time

import wsbridge


async def run(socket: str | None, session: str, count: int) -> tuple[float, int, int]:
    async with wsbridge.connect(socket) as c:
        sub = c.subscribe(session)
        received = gaps = 0
        start = 0.0
        async for item in sub:
            if type(item) is wsbridge.Message:
                item.data
                received += 1
                if received == 1:
                    start = time.perf_counter()
                elif received == count:
                    break
            elif type(item) is wsbridge.Gap:
                gaps += 1
        elapsed = time.perf_counter() - start
    return (count - 1) / elapsed, count, gaps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("session", help="a session of the daemon connected to a feed server")
    p.add_argument("--socket", help="the daemon's socket (default: as wsbridgectl)")
    p.add_argument("--count", type=int, default=500_000, help="messages to receive")
    args = p.parse_args()
    if args.count < 2:
        p.error("--count must be at least 2")
    rate, n, gaps = asyncio.run(run(args.socket, args.session, args.count))
    print(f"RATE {rate:.0f} COUNT {n}", flush=True)
    if gaps:
        print(f"python-subscriber: {gaps} gaps (the daemon dropped what was not read in time)",
              file=__import__("sys").stderr)


if __name__ == "__main__":
    main()
