"""The rig of the socket API's bad-input tests (test_robustness*.py): raw
protobuf frames, probes of the daemon process, and Rig, which runs one server
sending numbered messages steadily, one daemon, and a `wsbridgectl watch feed
--json` that reads throughout. At the end (Rig.finish) the watcher must have
every seq, in order, with no gap (it reads fast: no gap is legitimate), must
still be receiving, and the daemon must still answer `status` with the
upstream connection never dropped.
"""

import os
import pathlib
import time

from . import SLOW, WRAPPER, ApiClient, encode_varint, pb, session_conf, wait_for

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

MALFORMED = pb.ERROR_CODE_MALFORMED_FRAME
TOO_LARGE = pb.ERROR_CODE_FRAME_TOO_LARGE
PROTOCOL = pb.ERROR_CODE_PROTOCOL
INVALID = pb.ERROR_CODE_INVALID_ARGUMENT
NOT_FOUND = pb.ERROR_CODE_NOT_FOUND
LIMIT = pb.ERROR_CODE_LIMIT_EXCEEDED
VERSION = pb.ERROR_CODE_VERSION_MISMATCH

WAIT = 5.0 * SLOW



def code_name(code):
    return pb.ErrorCode.Name(code)


# ---------------------------------------------------------------- raw protobuf

def field_len(number, data):
    """A length-delimited field, encoded by hand (for bytes the Python
    protobuf library refuses to produce: invalid UTF-8, unknown fields)."""
    return encode_varint(number << 3 | 2) + encode_varint(len(data)) + data


def field_varint(number, value):
    return encode_varint(number << 3) + encode_varint(value)


def framed(body):
    return encode_varint(len(body)) + body


def raw_request(req_id, *fields):
    """A whole ClientFrame{request} holding id and FIELDS (already encoded)."""
    return framed(field_len(2, field_varint(1, req_id) + b"".join(fields)))


def hello_frame(api_major=1, api_minor=0, name="robustness"):
    body = pb.ClientFrame(hello=pb.Hello(api_major=api_major, api_minor=api_minor,
                                         client_name=name)).SerializeToString()
    return framed(body)


def request_frame(req_id, **op):
    return framed(pb.ClientFrame(request=pb.Request(id=req_id, **op)).SerializeToString())


# ---------------------------------------------------------------- process probes

def fd_count(daemon):
    return len(os.listdir(f"/proc/{daemon.proc.pid}/fd"))


def rss_bytes(daemon):
    for line in pathlib.Path(f"/proc/{daemon.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * KiB
    raise AssertionError("no VmRSS in /proc/PID/status")


def rss_meaningful(daemon):
    """RSS says nothing under valgrind or ASan (its quarantine keeps freed memory)."""
    if WRAPPER:
        return False
    maps = pathlib.Path(f"/proc/{daemon.proc.pid}/maps").read_text()
    return "libasan" not in maps and "libclang_rt.asan" not in maps


def wait_fds_back(daemon, baseline, what):
    wait_for(lambda: fd_count(daemon) <= baseline, WAIT,
             lambda: f"the daemon's fds to return to {baseline} after {what} "
                     f"(now {fd_count(daemon)}: {sorted(fd_links(daemon))})")


def fd_links(daemon):
    out = []
    for fd in os.listdir(f"/proc/{daemon.proc.pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{daemon.proc.pid}/fd/{fd}"))
        except OSError:
            pass
    return out


def tree(*roots):
    """Every path (files and directories) under ROOTS."""
    return {str(p) for root in roots for p in pathlib.Path(root).rglob("*")}


# ---------------------------------------------------------------- the rig

class Rig:
    """A server sending "msg <n>" every 10 ms, a daemon with session feed
    on it, and a watcher on feed reading everything."""

    def __init__(self, wsb, daemon_keys="", extra_sessions="", **session_keys):
        """DAEMON_KEYS go in [daemon]; EXTRA_SESSIONS ("{url}": the server's)
        follow feed's group, which has SESSION_KEYS."""
        self.wsb = wsb
        self.server = wsb.server("--send-interval", "0.01")
        config = ("[daemon]\n" + daemon_keys + "\n\n"
                  + session_conf("feed", self.server.url, **session_keys)
                  + extra_sessions.replace("{url}", self.server.url))
        self.daemon = wsb.daemon(config)
        self.daemon.wait_state("feed", "open")
        self.watch = wsb.watch(self.daemon, "feed", 10 ** 7)
        self.watch.wait_messages(3)
        self.held = []  # connections left open until teardown

    def client(self, hello=True):
        c = ApiClient(self.daemon.socket)
        if hello:
            c.hello()
        return c

    def watch_progresses(self, n=10, what="the bad input"):
        """The watcher gets N more messages from now on."""
        mark = time.monotonic()
        wait_for(lambda: len(self.watch.messages(after=mark)) >= n, WAIT,
                 lambda: f"the watcher to get {n} messages after {what} "
                         f"(got {len(self.watch.messages(after=mark))}; "
                         f"watch exit {self.watch.proc.poll()})")

    def finish(self):
        self.watch_progresses(10, "the test")
        assert self.watch.proc.poll() is None, (
            f"the watcher exited with {self.watch.proc.returncode}")
        gaps = self.watch.events("gap")
        assert not gaps, f"the watcher saw gaps: {gaps[:5]}"
        states = self.watch.events("state")
        assert not states, f"the session changed state: {states[:5]}"
        msgs = self.watch.messages()
        seqs = [m["seq"] for m in msgs]
        missing = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (
            f"watcher seqs not consecutive: {len(seqs)} messages {seqs[0]}..{seqs[-1]}, "
            f"missing {missing[:20]}")
        times = [t for t, line in list(self.watch.lines) if line.get("type") == "text"]
        worst = max(b - a for a, b in zip(times, times[1:]))
        assert worst < 2.0 * SLOW, f"the watcher stalled for {worst:.2f} s"
        status = self.daemon.status()
        assert status["feed"]["state"] == "open" and status["feed"]["reconnects"] == 0, status
        assert self.daemon.proc.poll() is None, "the daemon died"
        return msgs


def expect_error_then_eof(client, code, what, needles=()):
    """The next frame is a connection-level error CODE, then EOF."""
    try:
        frame = client.recv_frame(timeout=WAIT)
        # Events (a send's outcome) may come first.
        while frame is not None and frame.WhichOneof("frame") == "event":
            frame = client.recv_frame(timeout=WAIT)
    except TimeoutError:
        raise AssertionError(f"{what}: the daemon neither answered nor closed") from None
    assert frame is not None, f"{what}: EOF without an error frame"
    assert frame.WhichOneof("frame") == "error", f"{what}: want an error frame, got {frame}"
    assert frame.error.code == code, (
        f"{what}: error {code_name(frame.error.code)} ({frame.error.message!r}), "
        f"want {code_name(code)}")
    assert frame.error.message, f"{what}: error without a message"
    for needle in needles:
        assert needle in frame.error.message, (
            f"{what}: error message {frame.error.message!r} does not mention {needle!r}")
    try:
        extra = client.recv_frame(timeout=WAIT)
    except TimeoutError:
        raise AssertionError(f"{what}: the connection stayed open after the error") from None
    assert extra is None, f"{what}: want EOF after the error, got {extra}"
    return frame.error


def expect_reply_error(reply, codes, what):
    assert reply.WhichOneof("result") == "error", (
        f"{what}: want an error reply, got {' '.join(str(reply).split())}")
    codes = (codes,) if isinstance(codes, int) else tuple(codes)
    assert reply.error.code in codes, (
        f"{what}: error {code_name(reply.error.code)} ({reply.error.message!r}), "
        f"want {' or '.join(map(code_name, codes))}")
    assert reply.error.message, f"{what}: error reply without a message"
    return reply.error


def raw_reply(client, data, req_id):
    """Send the raw bytes of one request; return its Reply."""
    client.send_raw(data)
    while True:
        frame = client.recv_frame(timeout=WAIT)
        assert frame is not None, "EOF while waiting for a reply"
        kind = frame.WhichOneof("frame")
        assert kind in ("reply", "event"), f"unexpected frame {frame}"
        if kind == "reply":
            assert frame.reply.id == req_id, f"reply for {frame.reply.id}, want {req_id}"
            return frame.reply
        client.pending_events.append(frame.event)


def pipeline(client, requests):
    """Send REQUESTS (dicts of Request ops) in one write; return their replies in order."""
    first = client.next_id
    data = b"".join(request_frame(first + i, **op) for i, op in enumerate(requests))
    client.next_id += len(requests)
    client.send_raw(data)
    replies = {}
    while len(replies) < len(requests):
        frame = client.recv_frame(timeout=WAIT)
        assert frame is not None, f"EOF after {len(replies)} of {len(requests)} replies"
        if frame.WhichOneof("frame") == "event":
            client.pending_events.append(frame.event)
            continue
        assert frame.WhichOneof("frame") == "reply", f"unexpected frame {frame}"
        replies[frame.reply.id] = frame.reply
    return [replies[first + i] for i in range(len(requests))]
