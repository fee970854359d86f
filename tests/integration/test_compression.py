"""permessage-deflate: offered by default, negotiated, and large messages survive it."""

import base64
import hashlib
import os
import pathlib
import struct
import zlib

from wsbtest.robustness_rig import rss_meaningful
from wsbtest import SLOW, session_conf, wait_for

MiB = 1 << 20
BIG = 2 * MiB


def _offered(connect):
    return connect["headers"].get("sec-websocket-extensions", "")


def test_compression_negotiated_and_large_inbound_message_intact(wsb):
    server = wsb.server("--mode", "big-json", "--message-size", str(BIG))
    # The message comes right after the upgrade; history lets the watch read it.
    daemon = wsb.daemon(session_conf("z", server.url, history_bytes="8M"))
    epoch = daemon.wait_state("z", "open")["epoch"]

    rc, msgs = wsb.watch(daemon, "z", 1, extra=["--since", "0", "--epoch", str(epoch)]).wait()

    connect = server.wait_connects()[0]
    assert "permessage-deflate" in _offered(connect), f"offered: {_offered(connect)!r}"
    assert connect["extensions"] == ["permessage-deflate"], connect["extensions"]
    assert rc == 0 and len(msgs) == 1 and msgs[0]["type"] == "text"
    data = msgs[0]["data"].encode()
    sent = server.events("sent")[0]
    assert len(data) == sent["len"] == BIG, (len(data), sent)
    assert hashlib.sha256(data).hexdigest() == sent["sha256"], "the message changed on the way"


def _send_intact(wsb, text):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("z", server.url))
    daemon.wait_state("z", "open")

    daemon.ctl_ok("send", "z", "-", input=text)

    def arrived():
        assert daemon.proc.poll() is None, (
            f"wsbridged died ({daemon.proc.returncode}) while sending the message")
        return server.events("message")
    got = wait_for(arrived, 10 * SLOW, "the server to receive the message")[0]
    assert server.wait_connects()[0]["extensions"] == ["permessage-deflate"]
    assert got["len"] == len(text.encode()), got["len"]
    assert got["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert len(server.connects()) == 1 and not server.close_codes(), server.events("close")


def test_compression_large_outbound_message_intact(wsb):
    text = ('{"rows":[' + ",".join(f'{{"id":{i},"v":"value {i % 97}"}}'
                                    for i in range(90000)) + "]}")[:BIG]
    _send_intact(wsb, text)


def test_compression_incompressible_outbound_message_intact(wsb):
    """Deflate output larger than the input must still go out whole."""
    _send_intact(wsb, base64.b64encode(os.urandom(192 << 10)).decode())


def test_compression_false_offers_no_extension(wsb):
    server = wsb.server("--send-interval", "0.05")
    daemon = wsb.daemon(session_conf("z", server.url, compression="false"))
    daemon.wait_state("z", "open")

    rc, msgs = wsb.watch(daemon, "z", 2).wait()

    connect = server.wait_connects()[0]
    assert "sec-websocket-extensions" not in connect["headers"], connect["headers"]
    assert connect["extensions"] == [], connect["extensions"]
    assert rc == 0 and len(msgs) == 2


def _deflated(data):
    """DATA as a permessage-deflate payload (RFC 7692 §7.2.1)."""
    z = zlib.compressobj(wbits=-15)
    out = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def _peak_and_now(pid):
    fields = dict(line.split(":", 1) for line in
                  pathlib.Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmHWM"].split()[0]) * 1024, int(fields["VmRSS"].split()[0]) * 1024


def test_deflate_bomb_needs_one_message_of_memory(wsb):
    """A message of max_message_bytes inflated from 32 KiB (a deflate bomb
    within the limit) is held once: the daemon's peak grows by the message
    and at most 1 MiB more (reassembly buffer and stored message are one
    block, the encoding's head written in front of the payload)."""
    size = 32 * MiB
    payload = b"a" * (size - 8) + b"the-end!"
    bomb = _deflated(payload)
    assert len(bomb) < 64 * 1024, len(bomb)
    head = bytes([0xC1, 127]) + struct.pack(">Q", len(bomb))
    accept = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
              "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
    # The bomb comes a second after the upgrade, once the baseline is read.
    server = wsb.raw_server([{"reply": accept, "slow": {"hex": (head + bomb).hex(), "delay_s": 1,
                                                        "bytes_per_s": 4 * len(bomb)}}])
    daemon = wsb.daemon(session_conf("z", server.url, max_message_bytes="32M",
                                     history_bytes="40M"))
    epoch = daemon.wait_state("z", "open")["epoch"]
    _, rss_before = _peak_and_now(daemon.proc.pid)
    assert daemon.status()["z"]["rx_messages"] == 0, "the bomb came before the baseline"
    wait_for(lambda: daemon.status()["z"]["rx_messages"] == 1, 10 * SLOW,
             "the inflated message to arrive")
    peak, _ = _peak_and_now(daemon.proc.pid)

    rc, msgs = wsb.watch(daemon, "z", 1, extra=["--since", "0", "--epoch", str(epoch)]).wait()
    assert rc == 0 and len(msgs) == 1, (rc, len(msgs))
    data = msgs[0]["data"].encode()
    assert len(data) == size and hashlib.sha256(data).digest() == hashlib.sha256(payload).digest()
    if rss_meaningful(daemon):
        grown = peak - rss_before
        assert grown <= size + MiB, (
            f"the daemon's peak grew by {grown / MiB:.1f} MiB for a {size // MiB} MiB message "
            f"(at most the message and 1 MiB)")
