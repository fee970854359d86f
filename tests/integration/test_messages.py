"""Messages flow both ways, numbered, reassembled and size-limited."""

import base64
import hashlib
import re
import time

from wsbtest import session_conf, wait_for

MiB = 1 << 20
KiB = 1 << 10


def test_watch_receives_messages_in_order(wsb):
    server = wsb.server("--send-interval", "0.05")
    daemon = wsb.daemon(session_conf("feed", server.url))
    epoch = daemon.wait_state("feed", "open")["epoch"]

    rc, msgs = wsb.watch(daemon, "feed", 3).wait()

    assert rc == 0
    assert len(msgs) == 3, msgs
    now_us = time.time() * 1e6
    for m in msgs:
        assert m["session"] == "feed" and m["channel"] == "*" and m["type"] == "text", m
        assert m["epoch"] == epoch, (m, epoch)
        assert abs(m["time_us"] - now_us) < 60e6, m
    numbers = [int(re.fullmatch(r"msg (\d+)", m["data"]).group(1)) for m in msgs]
    seqs = [m["seq"] for m in msgs]
    assert seqs[0] >= 1
    assert seqs == list(range(seqs[0], seqs[0] + 3)), f"seqs {seqs}"
    assert numbers == list(range(numbers[0], numbers[0] + 3)), f"server numbers {numbers}"
    assert daemon.status()["feed"]["last_seq"] >= seqs[-1]


def test_send_reaches_server(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("up", server.url))
    daemon.wait_state("up", "open")

    daemon.ctl_ok("send", "up", "hello upstream")

    wait_for(lambda: server.received() == ["hello upstream"], 5,
             lambda: f"the server to receive the message; it has {server.received()}")
    daemon.wait_state("up", "open", check=lambda s: s["tx_messages"] == 1)


def test_send_from_stdin_text_and_binary(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("up", server.url))
    daemon.wait_state("up", "open")
    blob = bytes(range(256)) + b"\x00end"

    daemon.ctl_ok("send", "up", "-", input="text from stdin")
    daemon.ctl_ok("send", "up", "-", "--binary", input=blob)

    expected = ["text from stdin", blob]
    wait_for(lambda: server.received() == expected, 5,
             lambda: f"the server to receive {expected}; it has {server.received()}")


def _check_fragmented(wsb, binary):
    args = ["--mode", "fragment", "--message-size", str(MiB), "--fragment-size", str(64 * KiB),
            "--send-interval", "0.3"]
    server = wsb.server(*args, *(["--binary"] if binary else []))
    daemon = wsb.daemon(session_conf("big", server.url))
    daemon.wait_state("big", "open")

    rc, msgs = wsb.watch(daemon, "big", 1).wait()

    assert rc == 0 and len(msgs) == 1
    m = msgs[0]
    if binary:
        assert m["type"] == "binary" and "data_b64" in m, {k: m[k] for k in m if k != "data_b64"}
        data = base64.b64decode(m["data_b64"])
    else:
        assert m["type"] == "text" and "data" in m, {k: m[k] for k in m if k != "data"}
        data = m["data"].encode()
    assert len(data) == MiB, f"got {len(data)} bytes, want {MiB}"
    digest = hashlib.sha256(data).hexdigest()
    sent = wait_for(lambda: {e["sha256"]: e for e in server.events("sent")}.get(digest), 5,
                    f"a sent message with the received content (starts {data[:32]!r})")
    assert sent["fragments"] == 16 and sent["len"] == MiB, sent
    assert data.startswith(b"[%04d:00000000][%04d:00000001]" % (sent["n"], sent["n"]))


def test_fragmented_text_message_arrives_whole(wsb):
    _check_fragmented(wsb, binary=False)


def test_fragmented_binary_message_arrives_whole(wsb):
    _check_fragmented(wsb, binary=True)


def test_oversized_message_closes_1009_and_reconnects(wsb):
    # The first connection gets one 128 KiB message; later ones get "msg <n>".
    server = wsb.server("--mode", "oversize", "--mode-connections", "1",
                        "--message-size", str(128 * KiB), "--send-interval", "0.05")
    daemon = wsb.daemon(session_conf("big", server.url, max_message_bytes="64K"))

    codes = wait_for(server.close_codes, 5, "the server to see the first connection close")
    assert codes[0] == 1009, f"close code from the daemon: {codes[0]}, want 1009"
    daemon.wait_state("big", "open", check=lambda s: s["reconnects"] >= 1)
    assert len(server.events("connect")) >= 2

    rc, msgs = wsb.watch(daemon, "big", 2).wait()
    assert rc == 0 and [m["data"][:4] for m in msgs] == ["msg ", "msg "], msgs
