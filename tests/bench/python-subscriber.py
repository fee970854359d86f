#!/usr/bin/python3
"""Receive N messages of SESSION through wsbridged with the Python client
(asyncio API), in run-bench's client contract (benchlib.py): "READY" once
subscribed, then "RATE <msgs/s> COUNT <n> LOST <n>" and one JSON result line
after N messages (a gap's messages count as lost, as the other clients do).
python-direct.py is the baseline on the same feed.

The clock (CLOCK_MONOTONIC) starts at the first message. Each message's data is read (str for
text), as python-direct.py's recv() decodes it.
"""

import argparse
import asyncio
import json
import time

import wsbridge


async def run(socket: str | None, session: str, channel: str, count: int) -> dict:
    async with wsbridge.connect(socket) as c:
        sub = await c.subscribe(session, channel)
        print("READY", flush=True)
        received = lost = size = 0
        start = last = 0
        async for item in sub:
            if type(item) is wsbridge.Message:
                size += len(item.data)
                received += 1
                if received == 1:
                    start = time.monotonic_ns()
            elif type(item) is wsbridge.Gap:
                lost += item.to_seq - item.from_seq + 1
            else:
                continue
            if received + lost >= count:
                last = time.monotonic_ns()
                break
    seconds = (last - start) / 1e9 if received > 1 else 0.0
    rate = (received - 1) / seconds if seconds > 0 else 0.0
    return dict(client="python wsbridge", complete=True, messages=received, bytes=size,
                lost=lost, first_ns=start, last_ns=last, seconds=seconds, rate=rate)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("session", help="a session of the daemon connected to a feed server")
    p.add_argument("--socket", help="the daemon's socket (default: as wsbridgectl)")
    p.add_argument("--channel", default="*")
    p.add_argument("--count", type=int, default=500_000, help="messages to receive")
    args = p.parse_args()
    if args.count < 2:
        p.error("--count must be at least 2")
    r = asyncio.run(run(args.socket, args.session, args.channel, args.count))
    print(f"RATE {r['rate']:.0f} COUNT {r['messages']} LOST {r['lost']}", flush=True)
    print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
