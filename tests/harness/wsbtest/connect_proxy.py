#!/usr/bin/python3
"""A small HTTP CONNECT proxy for the wsbridge integration tests.

It runs as its own process. After binding it prints "PORT <n>" on stdout.
Every request is appended to the --record file as one JSON line:
  {"event": "request", "method", "target", "line", "headers",
   "proxy_authorization", "status"}
and every tunnel that ends as {"event": "tunnel_closed", "target", "up", "down"}
(bytes client->target and target->client).

Only CONNECT is served (WebSocket clients tunnel ws:// too); other methods
get 405. With --require-auth USER:PW a request without
"Proxy-Authorization: Basic base64(USER:PW)" (scheme case-insensitive, as
RFC 9110 says) gets 407. An unreachable target gets 502.
"""

import argparse
import asyncio
import base64
import json
import os
import sys

ARGS = None
RECORD = None
MAX_HEAD = 64 << 10


def record(event, **fields):
    RECORD.write(json.dumps({"event": event, "pid": os.getpid(), **fields}) + "\n")
    RECORD.flush()


def auth_ok(value):
    if not ARGS.require_auth:
        return True
    scheme, _, token = (value or "").strip().partition(" ")
    want = base64.b64encode(ARGS.require_auth.encode()).decode()
    return scheme.lower() == "basic" and token.strip() == want


async def answer(writer, status, text, extra=()):
    head = [f"HTTP/1.1 {status} {text}", *extra, "Content-Length: 0", "", ""]
    writer.write("\r\n".join(head).encode())
    await writer.drain()


async def pipe(reader, writer, counts, key):
    try:
        while data := await reader.read(65536):
            counts[key] += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, RuntimeError):
            pass


def split_target(target):
    host, _, port = target.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    method, _, rest = lines[0].partition(" ")
    target = rest.rpartition(" ")[0]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    status, upstream = 200, None
    if method != "CONNECT":
        status = 405
    elif not auth_ok(headers.get("proxy-authorization")):
        status = 407
    else:
        try:
            upstream = await asyncio.open_connection(*split_target(target))
        except (OSError, ValueError):
            status = 502
    record("request", method=method, target=target, line=lines[0], headers=headers,
           proxy_authorization=headers.get("proxy-authorization"), status=status)
    try:
        if status == 405:
            await answer(writer, 405, "Method Not Allowed", ["Allow: CONNECT"])
        elif status == 407:
            await answer(writer, 407, "Proxy Authentication Required",
                         ['Proxy-Authenticate: Basic realm="wsbridge-test"'])
        elif status == 502:
            await answer(writer, 502, "Bad Gateway")
        else:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            up_reader, up_writer = upstream
            counts = {"up": 0, "down": 0}
            await asyncio.gather(pipe(reader, up_writer, counts, "up"),
                                 pipe(up_reader, writer, counts, "down"))
            up_writer.close()
            record("tunnel_closed", target=target, **counts)
    except ConnectionError:
        pass
    writer.close()


async def main():
    server = await asyncio.start_server(handle, ARGS.host, ARGS.port, limit=MAX_HEAD)
    port = server.sockets[0].getsockname()[1]
    record("listen", host=ARGS.host, port=port)
    print(f"PORT {port}", flush=True)
    await asyncio.Future()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--require-auth", metavar="USER:PW")
    p.add_argument("--record", required=True, help="append events here as JSON lines")
    return p.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()
    RECORD = open(ARGS.record, "a", encoding="utf-8")
    record("start", argv=sys.argv[1:])
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
