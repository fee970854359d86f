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
  "trickle_s": send the reply (and "after") one byte every this many seconds.
  "slow":   {"hex": bytes, "bytes_per_s": N}: after the reply, send these
            bytes at that rate (a large frame on a slow link); with
            "delay_s", that many seconds after the reply.
  "answer_pings": answer each ping from the client with a pong (once "slow"
            and the other sends are done: a pong cannot overtake a frame).
  "endless_headers": after the reply (a status line and headers without the
            blank line that ends them), send header lines of 100 bytes
            until this many bytes are out or the client hangs up.
  "flood":  {"frame_hex": a frame, "bytes": N}: after the reply, send the
            frame over and over, packed into large writes, N bytes in all
            (as fast as the client reads; with "interval_s", one frame at
            that interval instead), and for at least "min_s" seconds if
            given, then go on as usual.
With --tls-cert/--tls-key the server speaks TLS (through memory BIOs, so a
step can make it misbehave inside TLS) and a STEP may also hold:
  "tls_stall": read the ClientHello, send only this many bytes of the
            server's first flight (0: none), then hold the connection.
  "tls_alert": after the reply and "after", feed the server's own TLS stack
            a forged record, so that it sends the client a real (encrypted)
            fatal alert, bad_record_mac; then hold the connection.
  "tls_close_notify": after the reply and "after", send a TLS close_notify
            alert without a WebSocket close frame, and hold TCP open.
Without "close_after_send" the server keeps the connection until the client
closes it, answering a close frame from the client by closing TCP.

Every event is one JSON line in --record:
  {"event": "request", "conn", "line", "headers"}
  {"event": "frame", "conn", "opcode", "fin", "masked", "payload_hex", "close_code"}
  {"event": "eof", "conn"}
  {"event": "tls_stalled", "conn"}, {"event": "flooded", "conn", "bytes"}
"""

import argparse
import base64
import hashlib
import json
import os
import socket
import ssl
import sys
import threading
import time

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


def send_slowly(sock, data, bytes_per_s):
    step = max(1, bytes_per_s // 16)
    for i in range(0, len(data), step):
        sock.sendall(data[i:i + step])
        time.sleep(len(data[i:i + step]) / bytes_per_s)


def read_frames(sock, conn, buf, answer_pings=False):
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
        if opcode == 9 and answer_pings:
            sock.sendall(bytes([0x8A, len(payload)]) + payload)
        if opcode == 8:
            return


class TlsSocket:
    """The server side of TLS on SOCK through memory BIOs, with the recv,
    sendall and close of a socket."""

    def __init__(self, sock, ctx):
        self.sock = sock
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.incoming, self.outgoing, server_side=True)

    def _flush(self, limit=None):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data if limit is None else data[:limit])

    def _fill(self):
        chunk = self.sock.recv(65536)
        if chunk:
            self.incoming.write(chunk)
        else:
            self.incoming.write_eof()
        return chunk

    def handshake(self, stall=None):
        """FALSE when the client went away first (or STALL says to stop)."""
        while True:
            try:
                self.tls.do_handshake()
                self._flush()
                return True
            except ssl.SSLWantReadError:
                if stall is not None:
                    self._flush(stall)
                    return False
                self._flush()
                if not self._fill():
                    return False
            except ssl.SSLError:
                self._flush()
                return False

    def recv(self, n):
        while True:
            try:
                return self.tls.read(n)
            except ssl.SSLWantReadError:
                self._flush()
                if not self._fill():
                    return b""
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    def sendall(self, data):
        self.tls.write(data)
        self._flush()

    def send_alert(self):
        """Make the TLS stack send a fatal alert: it finds a forged record
        among what the client sent."""
        self.incoming.write(b"\x17\x03\x03\x00\x20" + os.urandom(32))
        try:
            self.tls.read(1)
        except ssl.SSLError:
            pass
        self._flush()

    def send_close_notify(self):
        try:
            self.tls.unwrap()
        except ssl.SSLWantReadError:
            pass
        self._flush()

    def close(self):
        self.sock.close()


def hold(sock, conn):
    """Read (and discard) until the client hangs up."""
    while sock.recv(65536):
        pass
    record("eof", conn=conn)


def send_reply(sock, data, trickle_s):
    if not trickle_s:
        sock.sendall(data)
        return
    for i in range(len(data)):
        sock.sendall(data[i:i + 1])
        time.sleep(trickle_s)


def send_endless_headers(sock, conn, limit):
    sent = 0
    try:
        while sent < limit:
            line = f"X-Filler-{sent:010d}: ".encode()
            line += b"f" * (98 - len(line)) + b"\r\n"
            sock.sendall(line)
            sent += len(line)
    except OSError:
        pass
    record("endless_headers", conn=conn, bytes=sent)


def flood(sock, conn, spec):
    frame = bytes.fromhex(spec["frame_hex"])
    interval = spec.get("interval_s")
    chunk = frame if interval else frame * max(1, (256 << 10) // len(frame))
    sent = 0
    until = time.monotonic() + spec.get("min_s", 0)
    while sent < spec["bytes"] or time.monotonic() < until:
        sock.sendall(chunk)
        sent += len(chunk)
        if interval:
            time.sleep(interval)
    record("flooded", conn=conn, bytes=sent)


def serve(sock, conn, step, tls_ctx):
    try:
        if tls_ctx:
            sock = TlsSocket(sock, tls_ctx)
            if not sock.handshake(step.get("tls_stall")):
                if "tls_stall" in step:
                    record("tls_stalled", conn=conn)
                    hold(sock.sock, conn)
                else:
                    record("tls_failed", conn=conn)
                return
        request, rest = read_request(sock)
        if request is None:
            record("eof", conn=conn)
            return
        line, headers = request
        record("request", conn=conn, line=line, headers=headers)
        key = headers.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        reply = step.get("reply", DEFAULT_REPLY).replace("{accept}", accept).encode("latin-1")
        send_reply(sock, reply + bytes.fromhex(step.get("after", "")), step.get("trickle_s"))
        if step.get("close_after_send"):
            return
        if "endless_headers" in step:
            send_endless_headers(sock, conn, step["endless_headers"])
        if "flood" in step:
            flood(sock, conn, step["flood"])
        if "slow" in step:
            time.sleep(step["slow"].get("delay_s", 0))
            send_slowly(sock, bytes.fromhex(step["slow"]["hex"]), step["slow"]["bytes_per_s"])
            record("slow_sent", conn=conn)
        if step.get("tls_alert"):
            sock.send_alert()
            hold(sock.sock, conn)
            return
        if step.get("tls_close_notify"):
            sock.send_close_notify()
            hold(sock.sock, conn)
            return
        read_frames(sock, conn, rest, step.get("answer_pings", False))
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
    p.add_argument("--tls-cert", help="PEM certificate: speak TLS")
    p.add_argument("--tls-key", help="PEM key of --tls-cert")
    args = p.parse_args()
    tls_ctx = None
    if args.tls_cert:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(args.tls_cert, args.tls_key)
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
        threading.Thread(target=serve, args=(sock, conn, step, tls_ctx), daemon=True).start()
        conn += 1


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
