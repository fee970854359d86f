"""The upstream server frozen (SIGSTOP) with traffic both ways: the kernel
still takes the daemon's bytes, but nothing answers. The daemon detects it
within ping_interval + pong_timeout + 1 s, names pong_timeout, keeps
retrying (connects that the kernel accepts but nobody answers end at
connect_timeout), and reconnects once the server runs again (SIGCONT).
Every send gets one outcome, nothing arrives twice or out of order, and
the subscriber sees every seq.

Short form 2 freezes; WSB_CHAOS_LONG=1: 20."""

from chaostest import Traffic, scale
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
    traffic = Traffic(daemon, "frozen", BOUND)
    states = traffic.subscriber.states
    for _ in range(CYCLES):
        detected = traffic.fault(server.stop)
        # Frozen a while longer: at least one connect times out meanwhile.
        wait_for(lambda: any("connect_timeout" in r for _, r, t in list(states) if t > detected),
                 5 * SLOW, lambda: f"a try to end at connect_timeout; states {states[-5:]}")
        server.cont()
        status = daemon.wait_state("frozen", "open", timeout=10 * SLOW,
                                   check=lambda s, r=status["reconnects"]: s["reconnects"] > r)
    lost = traffic.finish(server)
    with capsys.disabled():
        print(f"\n{traffic.summary('freezes')}; {len(lost)} sends lost inside the freeze windows")
