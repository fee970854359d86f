"""The upstream server frozen (SIGSTOP) with traffic both ways: the kernel
still takes the daemon's bytes, but nothing answers. The daemon detects it
within ping_interval + pong_timeout + 1 s, names pong_timeout, keeps
retrying (connects that the kernel accepts but nobody answers end at
connect_timeout), and reconnects once the server runs again (SIGCONT).
Every send gets one outcome, nothing arrives twice or out of order, and
the subscriber sees every seq.

Short form 2 freezes; WSB_CHAOS_LONG=1: 20."""

import time

from chaostest import Sender, Subscriber, check_sends, scale
from wsbtest import SLOW, session_conf, wait_for

PING_INTERVAL, PONG_TIMEOUT = 1, 1
BOUND = PING_INTERVAL + PONG_TIMEOUT + 1
CYCLES = scale(2, 20)


def test_chaos_upstream_sigstop_sigcont(wsb, capsys):
    counter = wsb.tmp / "server-counter"
    server = wsb.server("--send-interval", "0.02", "--counter-file", str(counter))
    daemon = wsb.daemon(session_conf("frozen", server.url, ping_interval=PING_INTERVAL,
                                     pong_timeout=PONG_TIMEOUT, connect_timeout=1,
                                     queue_max_messages=5000))
    status = daemon.wait_state("frozen", "open")
    subscriber = Subscriber(daemon.socket, "frozen")
    sender = Sender(daemon.socket, "frozen")
    subscriber.start()
    sender.start()
    detections, windows = [], []
    for _ in range(CYCLES):
        mark = subscriber.count()
        wait_for(lambda: subscriber.count() > mark + 20, 5 * SLOW,
                 "the subscriber to receive before the freeze")
        server.stop()
        start = time.monotonic()
        state, reason, detected = subscriber.wait_left_open(start, (BOUND + 5) * SLOW)
        detections.append(detected - start)
        # Bytes handed to the frozen server's socket are read when it runs
        # again, or die with the connection the daemon gave up on.
        windows.append((start - 0.5, detected))
        assert "pong_timeout" in reason, (state, reason)
        assert detected - start <= BOUND + 0.5 * SLOW, (
            f"the freeze took {detected - start:.2f} s to detect, want <= {BOUND} s")
        # Frozen a while longer: at least one connect times out meanwhile.
        wait_for(lambda: any("connect_timeout" in r for _, r, t in list(subscriber.states)
                             if t > detected), 5 * SLOW,
                 lambda: f"a try to end at connect_timeout; states {subscriber.states[-5:]}")
        server.cont()
        status = daemon.wait_state("frozen", "open", timeout=10 * SLOW,
                                   check=lambda s, r=status["reconnects"]: s["reconnects"] > r)
    mark = subscriber.count()
    wait_for(lambda: subscriber.count() > mark + 20, 5 * SLOW,
             "the subscriber to receive after the last freeze")
    sender.finish()
    last = f"c{len(sender.sent) - 1}"
    wait_for(lambda: last in server.received(), 10 * SLOW, f"{last} at the server")
    subscriber.finish()
    lost = check_sends(sender, server.received(), windows)
    subscriber.check()
    with capsys.disabled():
        print(f"\n{CYCLES} freezes detected in {', '.join(f'{d:.2f}' for d in detections)} s; "
              f"{len(sender.sent)} sends, {len(lost)} lost inside the freeze windows")
