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

from chaostest import NetPair, Traffic, scale
from wsbtest import SLOW, session_conf

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
    traffic = Traffic(daemon, "net", BOUND)
    for _ in range(CYCLES):
        traffic.fault(fault)
        # The network stays broken for a while: tries fail and back off.
        time.sleep(1.0)
        assert daemon.status()["net"]["state"] != "open"
        repair()
        status = daemon.wait_state("net", "open", timeout=15 * SLOW,
                                   check=lambda s, r=status["reconnects"]: s["reconnects"] > r)
    lost = traffic.finish(server)
    with capsys.disabled():
        print(f"\n{traffic.summary('faults')}; {len(lost)} sends lost inside the fault windows")


def test_chaos_link_cut_detected_and_recovered(net, wsb, capsys):
    _fault_cycles(net, wsb, capsys, net.cut, net.restore)


def test_chaos_dropped_packets_detected_and_recovered(net, wsb, capsys):
    _fault_cycles(net, wsb, capsys, net.drop, net.undrop)
