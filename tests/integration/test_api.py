"""The socket API shrugs off garbage; the CLI reports errors by exit status."""

import subprocess
import time

import wsbtest
from wsbtest import ApiClient, encode_varint, pb, session_conf

MALFORMED = pb.ERROR_CODE_MALFORMED_FRAME
TOO_LARGE = pb.ERROR_CODE_FRAME_TOO_LARGE

GARBAGE = [
    # (what, send hello first, bytes, expected error code)
    ("bad varint", False, b"\xff" * 11, MALFORMED),
    ("bad varint after hello", True, b"\xff" * 11, MALFORMED),
    ("1 MiB frame over max_frame_bytes=1K", False, encode_varint(1 << 20) + b"\x0a" * 16,
     TOO_LARGE),
    ("1 MiB frame after hello", True, encode_varint(1 << 20) + b"\x0a" * 16, TOO_LARGE),
    # Field 1 (hello) claims 127 bytes but the frame holds 3.
    ("undecodable protobuf", False, encode_varint(5) + b"\x0a\x7fabc", MALFORMED),
    ("undecodable protobuf after hello", True, encode_varint(5) + b"\x0a\x7fabc", MALFORMED),
]


def _expect_error_then_eof(socket_path, what, hello, data, code):
    client = ApiClient(socket_path)
    try:
        if hello:
            client.hello()
        client.send_raw(data)
        frame = client.recv_frame()
        assert frame is not None and frame.WhichOneof("frame") == "error", (
            f"{what}: want an error frame, got {frame}")
        assert frame.error.code == code, (
            f"{what}: error code {pb.ErrorCode.Name(frame.error.code)}, "
            f"want {pb.ErrorCode.Name(code)} ({frame.error.message!r})")
        assert frame.error.message, f"{what}: error without a message"
        extra = client.recv_frame()
        assert extra is None, f"{what}: want EOF after the error, got {extra}"
    except TimeoutError:
        raise AssertionError(f"{what}: the daemon neither answered nor closed") from None
    finally:
        client.close()


def test_garbage_on_api_socket_gets_error_and_eof(wsb):
    server = wsb.server("--send-interval", "0.05")
    daemon = wsb.daemon("[daemon]\nmax_frame_bytes=1K\n\n" + session_conf("feed", server.url))
    daemon.wait_state("feed", "open")
    watch = wsb.watch(daemon, "feed", 40)
    watch.wait_messages(1)

    for what, hello, data, code in GARBAGE:
        _expect_error_then_eof(daemon.socket, what, hello, data, code)
    garbage_done = time.monotonic()

    rc, msgs = watch.wait()
    assert rc == 0 and len(msgs) == 40
    seqs = [m["seq"] for m in msgs]
    assert seqs == list(range(seqs[0], seqs[0] + 40)), f"seqs {seqs}"
    assert len(watch.messages(after=garbage_done)) >= 3, "the watch stalled after the garbage"
    client = ApiClient(daemon.socket)
    client.hello()
    assert "feed" in client.list_sessions()
    client.close()


def test_ctl_exit_status(wsb):
    server = wsb.server()
    daemon = wsb.daemon(session_conf("s", server.url))
    daemon.wait_state("s", "open")

    r = daemon.ctl("send", "no-such-session", "x")
    assert r.returncode == 1 and r.stderr.strip(), r
    r = daemon.ctl("no-such-command")
    assert r.returncode == 2, r
    r = subprocess.run([str(wsbtest.CTL), "--socket", str(wsb.rundir / "nothing.sock"),
                        "status", "--json"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 3 and r.stderr.strip(), r
