"""Network faults between the daemon and its upstream, each in private
network namespaces joined by a veth pair (chaostest.NetPair): the link cut,
and every packet dropped (a half-open connection: no FIN, no reset, the
peer just goes quiet). Either is detected within ping_interval +
pong_timeout + 1 s, named in the state reason, and the session recovers
once the network is back, with traffic both ways throughout: every send
gets one outcome, nothing arrives twice or out of order, nothing sent
outside the fault is lost, and a subscriber sees every seq.

Short form one fault per test; WSB_CHAOS_LONG=1: 10."""

import time

from chaostest import NetPair, Sender, Subscriber, check_sends, scale
from wsbtest import SLOW, session_conf, wait_for

PING_INTERVAL, PONG_TIMEOUT = 1, 1
BOUND = PING_INTERVAL + PONG_TIMEOUT + 1
CYCLES = scale(1, 10)


def _fault_cycles(net, wsb, capsys, fault, repair):
    counter = wsb.tmp / "server-counter"
    server = wsb.server("--send-interval", "0.02", "--counter-file", str(counter),
                        host=NetPair.SERVER_ADDR, prefix=net.prefix("server"))
    config = session_conf("net", server.url, ping_interval=PING_INTERVAL,
                          pong_timeout=PONG_TIMEOUT, connect_timeout=2, queue_max_messages=5000)
    daemon = wsb.daemon(config, start=False)
    daemon.prefix = net.prefix("client")
    daemon.start(config)
    status = daemon.wait_state("net", "open", timeout=10 * SLOW)
    subscriber = Subscriber(daemon.socket, "net")
    sender = Sender(daemon.socket, "net")
    subscriber.start()
    sender.start()
    windows, detections = [], []
    for _ in range(CYCLES):
        # Traffic both ways for a while, then the fault.
        mark = subscriber.count()
        wait_for(lambda: subscriber.count() > mark + 20, 5 * SLOW,
                 "the subscriber to receive before the fault")
        fault()
        start = time.monotonic()
        state, reason, detected = subscriber.wait_left_open(start, (BOUND + 5) * SLOW)
        detections.append(detected - start)
        windows.append((start - 0.5, detected))
        assert "pong_timeout" in reason, (state, reason)
        assert detected - start <= BOUND + 0.5 * SLOW, (
            f"the fault took {detected - start:.2f} s to detect, want <= {BOUND} s "
            f"(ping_interval {PING_INTERVAL} + pong_timeout {PONG_TIMEOUT} + 1)")
        # The network stays broken for a while: tries fail and back off.
        time.sleep(1.0)
        assert daemon.status()["net"]["state"] != "open"
        repair()
        status = daemon.wait_state("net", "open", timeout=15 * SLOW,
                                   check=lambda s, r=status["reconnects"]: s["reconnects"] > r)
    mark = subscriber.count()
    wait_for(lambda: subscriber.count() > mark + 20, 5 * SLOW,
             "the subscriber to receive after the last repair")
    sender.finish()
    # Everything queued since the last fault is out once the last one is.
    last = f"c{len(sender.sent) - 1}"
    wait_for(lambda: last in server.received(), 10 * SLOW, f"{last} at the server")
    subscriber.finish(10 * SLOW)
    lost = check_sends(sender, server.received(), windows)
    subscriber.check()
    with capsys.disabled():
        print(f"\n{CYCLES} faults detected in {', '.join(f'{d:.2f}' for d in detections)} s; "
              f"{len(sender.sent)} sends, {len(lost)} lost inside the fault windows; "
              f"{subscriber.count()} messages received")


def test_chaos_link_cut_detected_and_recovered(net, wsb, capsys):
    _fault_cycles(net, wsb, capsys, net.cut, net.restore)


def test_chaos_dropped_packets_detected_and_recovered(net, wsb, capsys):
    _fault_cycles(net, wsb, capsys, net.drop, net.undrop)
