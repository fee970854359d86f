"""permessage-deflate: offered by default, negotiated, and large messages survive it."""

import base64
import hashlib
import os

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
