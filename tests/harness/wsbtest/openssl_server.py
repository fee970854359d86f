"""`openssl s_server` as a WebSocket upstream, for what only a real TLS
stack does on command: TLS 1.2 renegotiation (`r`) and TLS 1.3 KeyUpdate
(`k`, `K`). The test answers the upgrade through its stdin and reads what
the client sends from its stdout (mixed with s_server's own messages)."""

import base64
import hashlib
import re
import socket
import subprocess
import threading

from .base import SLOW, wait_for

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OpenSSLServer:
    def __init__(self, cert, key, *args):
        self.port = _free_port()
        self.url = f"wss://localhost:{self.port}/"
        self.out = b""
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            ["stdbuf", "-o0", "openssl", "s_server", "-accept", f"127.0.0.1:{self.port}", "-cert", str(cert),
             "-key", str(key), "-crlf", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()
        wait_for(lambda: b"ACCEPT" in self.output(), 5 * SLOW, "s_server to listen")

    def _read(self):
        while True:
            chunk = self.proc.stdout.read1(65536)
            if not chunk:
                return
            with self._lock:
                self.out += chunk

    def output(self):
        with self._lock:
            return self.out

    def send(self, data):
        """Bytes for s_server to send (LF becomes CRLF); one command per call."""
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def accept_upgrade(self):
        """Waits for the upgrade request and answers 101."""
        head = wait_for(lambda: re.search(rb"GET .*?\r\n\r\n", self.output(), re.S), 5 * SLOW,
                        "the upgrade request").group(0)
        key = re.search(rb"Sec-WebSocket-Key: (\S+)", head).group(1).decode()
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        self.send(("HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n"
                   f"Connection: Upgrade\nSec-WebSocket-Accept: {accept}\n\n").encode())

    def command(self, letter, echo):
        """An s_server command (r, k, K): waits until s_server prints ECHO once more."""
        before = self.output().count(echo)
        self.send(letter.encode() + b"\n")
        wait_for(lambda: self.output().count(echo) > before, 5 * SLOW,
                 lambda: f"s_server to print {echo!r} after {letter}; output {self.output()!r}")

    def client_text(self, text, since=0):
        """Waits for a masked text frame carrying TEXT from the client after offset SINCE."""
        payload = text.encode()

        def found():
            data = self.output()[since:]
            for m in re.finditer(bytes([0x81, 0x80 | len(payload)]), data):
                mask = data[m.end():m.end() + 4]
                body = data[m.end() + 4:m.end() + 4 + len(payload)]
                if len(body) == len(payload) and \
                        bytes(b ^ mask[i % 4] for i, b in enumerate(body)) == payload:
                    return True
            return False
        wait_for(found, 5 * SLOW, lambda: f"the client's frame {text!r}; output "
                 f"{self.output()[since:]!r}")

    def stop(self):
        self.proc.kill()
        self.proc.wait()
