"""What ntfy_server.py and gotify_server.py share: a WebSocket port and an
HTTP port on one asyncio loop, the PORT/HTTP lines the harness reads, a
JSON-lines record of what happened, and a small HTTP/1.1 request reader for
publishing. Written from the servers' published API documentation, not from
their code."""

import argparse
import asyncio
import json
import signal
import sys
import urllib.parse

import websockets


def arguments(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="the WebSocket port (0: any)")
    p.add_argument("--http-port", type=int, default=0, help="the publishing port (0: any)")
    p.add_argument("--record", required=True, help="JSON-lines file of events")
    p.add_argument("--store", help="JSON-lines file keeping messages across restarts")
    return p


class Recorder:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")

    def __call__(self, kind, **fields):
        self.file.write(json.dumps({"event": kind, **fields}) + "\n")
        self.file.flush()


class Store:
    """The messages published so far, in order, optionally kept in a file."""

    def __init__(self, path):
        self.path = path
        self.messages = []
        if path:
            try:
                with open(path, encoding="utf-8") as f:
                    self.messages = [json.loads(line) for line in f if line.strip()]
            except FileNotFoundError:
                pass

    def add(self, message):
        self.messages.append(message)
        if self.path:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(message) + "\n")


async def read_http_request(reader):
    """(method, path, query dict, headers dict with lower-case names, body bytes)."""
    line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
    method, target, _ = line.split(" ", 2)
    headers = {}
    while True:
        h = (await reader.readline()).decode("latin-1").rstrip("\r\n")
        if not h:
            break
        name, _, value = h.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    url = urllib.parse.urlsplit(target)
    query = dict(urllib.parse.parse_qsl(url.query))
    return method, url.path, query, headers, body


def http_response(writer, status, body):
    data = json.dumps(body).encode() + b"\n"
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
              404: "Not Found"}.get(status, "Status")
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)


async def serve(args, ws_handler, http_handler, process_request=None):
    """Runs both ports until SIGTERM; prints "PORT n" and "HTTP m" first."""
    async def http_client(reader, writer):
        try:
            request = await read_http_request(reader)
            status, body = await http_handler(*request)
        except (ValueError, asyncio.IncompleteReadError) as e:
            status, body = 400, {"error": str(e)}
        http_response(writer, status, body)
        await writer.drain()
        writer.close()

    ws = await websockets.serve(ws_handler, args.host, args.port,
                                process_request=process_request)
    http = await asyncio.start_server(http_client, args.host, args.http_port)
    print(f"PORT {ws.sockets[0].getsockname()[1]}", flush=True)
    print(f"HTTP {http.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    await stop
    ws.close()
    http.close()
    await ws.wait_closed()


def main(coroutine):
    try:
        asyncio.run(coroutine)
    except KeyboardInterrupt:
        sys.exit(1)
