#!/usr/bin/python3
"""A misbehaving WebSocket server for the wsbridge tests, on raw sockets.

It reads the client's upgrade request, answers with exactly the bytes the
test's script asks for, and records everything the client sends back. After
binding it prints "PORT <n>" on stdout.

--script FILE is JSON: {"connections": [STEP, ...], "default": STEP}. The
n-th accepted connection follows connections[n] (or "default" once the list
is used up). A STEP may hold:
  "reply":  the upgrade reply head; "{accept}" is replaced by the correct
            Sec-WebSocket-Accept. Default: a correct 101 with no extensions.
  "after":  hex bytes sent in the same write as the reply (so they arrive in
            the same TCP segment as the 101).
  "close_after_send": close the TCP connection right after sending.
Without "close_after_send" the server keeps the connection until the client
closes it, answering a close frame from the client by closing TCP.

Every event is one JSON line in --record:
  {"event": "request", "conn", "line", "headers"}
  {"event": "frame", "conn", "opcode", "fin", "masked", "payload_hex", "close_code"}
  {"event": "eof", "conn"}
"""

import argparse
import base64
import hashlib
import json
import os
import socket
import sys
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
DEFAULT_REPLY = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n")

LOCK = threading.Lock()
RECORD = None


def record(event, **fields):
    with LOCK:
        RECORD.write(json.dumps({"event": event, "pid": os.getpid(), **fields}) + "\n")
        RECORD.flush()


def read_request(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return (lines[0], headers), rest


def read_exact(sock, n, buf):
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    return buf


def read_frames(sock, conn, buf):
    """Decode the client's frames until EOF; close TCP after its close frame."""
    while True:
        buf = read_exact(sock, 2, buf)
        if buf is None:
            return
        b0, b1 = buf[0], buf[1]
        masked, length, pos = bool(b1 & 0x80), b1 & 0x7F, 2
        need = {126: 2, 127: 8}.get(length, 0)
        buf = read_exact(sock, pos + need + (4 if masked else 0), buf)
        if buf is None:
            return
        if need:
            length = int.from_bytes(buf[pos:pos + need], "big")
            pos += need
        mask = buf[pos:pos + 4] if masked else b"\0\0\0\0"
        pos += 4 if masked else 0
        buf = read_exact(sock, pos + length, buf)
        if buf is None:
            return
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(buf[pos:pos + length]))
        buf = buf[pos + length:]
        opcode = b0 & 0x0F
        code = int.from_bytes(payload[:2], "big") if opcode == 8 and len(payload) >= 2 else None
        record("frame", conn=conn, opcode=opcode, fin=bool(b0 & 0x80), masked=masked,
               payload_hex=payload.hex(), close_code=code)
        if opcode == 8:
            return


def serve(sock, conn, step):
    try:
        request, rest = read_request(sock)
        if request is None:
            record("eof", conn=conn)
            return
        line, headers = request
        record("request", conn=conn, line=line, headers=headers)
        key = headers.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        reply = step.get("reply", DEFAULT_REPLY).replace("{accept}", accept).encode("latin-1")
        sock.sendall(reply + bytes.fromhex(step.get("after", "")))
        if step.get("close_after_send"):
            return
        read_frames(sock, conn, rest)
        record("eof", conn=conn)
    except OSError as e:
        record("error", conn=conn, error=str(e))
    finally:
        sock.close()


def main():
    global RECORD
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--script", required=True)
    p.add_argument("--record", required=True)
    args = p.parse_args()
    RECORD = open(args.record, "a", encoding="utf-8")
    with open(args.script, encoding="utf-8") as f:
        script = json.load(f)
    steps, default = script.get("connections", []), script.get("default", {})

    listener = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(64)
    print(f"PORT {listener.getsockname()[1]}", flush=True)
    conn = 0
    while True:
        sock, _ = listener.accept()
        step = steps[conn] if conn < len(steps) else default
        threading.Thread(target=serve, args=(sock, conn, step), daemon=True).start()
        conn += 1


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
