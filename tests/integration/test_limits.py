"""The default limits agree (issue 25): a message as large as
max_message_bytes reaches a subscriber that reads, although it is larger
than client_buffer_bytes; and a request over max_frame_bytes (a send as
large as such a message, with the defaults) is refused by itself, the API
connection staying."""

import hashlib

from wsbtest import SLOW, ApiClient, pb, session_conf, wait_for

MIB = 1 << 20


def test_message_of_max_message_bytes_reaches_a_reading_subscriber(wsb):
    """With the defaults (max_message_bytes 16 MiB, client_buffer_bytes
    4 MiB): a 16 MiB message is delivered, not a reason to disconnect."""
    server = wsb.server("--mode", "oversize", "--message-size", str(16 * MIB),
                        "--mode-connections", "1")
    daemon = wsb.daemon(session_conf("big", server.url, autoconnect="false"))
    api = ApiClient(daemon.socket, timeout=30 * SLOW)
    api.hello()
    api.subscribe_ok("big")
    daemon.ctl_ok("connect", "big")
    sent = wait_for(lambda: server.events("sent"), 30 * SLOW, "the server's 16 MiB message")[0]
    while True:
        event = api.next_event(timeout=30 * SLOW)
        assert event is not None, f"no message; daemon log:\n{daemon.log()}"
        if event.WhichOneof("event") == "message":
            break
    assert len(event.message.data) == 16 * MIB
    assert hashlib.sha256(event.message.data).hexdigest() == sent["sha256"]
    assert "client_buffer_bytes" not in daemon.log_text()


def test_send_as_large_as_a_received_message_is_refused_alone(wsb):
    """With the defaults, a send of max_message_bytes (16 MiB) is over
    max_frame_bytes once in its envelope: that one request gets a named
    error and the API connection stays (it used to be dropped whole)."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("s", server.url))
    daemon.wait_state("s", "open")
    api = ApiClient(daemon.socket, timeout=30 * SLOW)
    api.hello()
    reply = api.send("s", b"\x00" * (16 * MIB), binary=True)
    assert reply.WhichOneof("result") == "error", reply
    assert reply.error.code == pb.ERROR_CODE_FRAME_TOO_LARGE, reply
    assert "is over max_frame_bytes (16777216)" in reply.error.message, reply
    assert api.send("s", b"after").WhichOneof("result") == "send"
    wait_for(lambda: [m for m in server.events("message") if m.get("data") == "after"], 5 * SLOW,
             "the send after the refused one")


def test_oversized_request_is_refused_alone(wsb):
    """Over [daemon] max_frame_bytes: that request gets an error reply
    naming the limit, its bytes are skipped, and the connection goes on."""
    server = wsb.server()
    daemon = wsb.daemon("[daemon]\nmax_frame_bytes=64K\n\n" + session_conf("s", server.url))
    daemon.wait_state("s", "open")
    api = ApiClient(daemon.socket)
    api.hello()
    for size in (100_000, 3 * MIB):
        reply = api.send("s", b"x" * size, binary=True)
        assert reply.WhichOneof("result") == "error", reply
        assert reply.error.code == pb.ERROR_CODE_FRAME_TOO_LARGE, reply
        assert "is over max_frame_bytes (65536)" in reply.error.message, reply
        assert "refused, the connection stays" in reply.error.message, reply
        # The same connection goes on: a send that fits is taken.
        assert api.send("s", b"small").WhichOneof("result") == "send"
    wait_for(lambda: [m for m in server.events("message") if m.get("data") == "small"], 5 * SLOW,
             "the small sends at the server")
    assert not [m for m in server.events("message") if m["len"] >= 65536]
