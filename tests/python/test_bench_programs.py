"""The benchmark programs of BENCHMARKS.md ("Python client") run in
run-bench's client contract: READY, then RATE <msgs/s> COUNT <n> and a JSON
result line after N messages from the C feed."""

import os
import pathlib
import json
import re
import subprocess
import sys

from pyclient import TIMEOUT
from wsbtest import BUILD_ROOT, session_conf

BENCH = pathlib.Path(os.environ["WSB_SOURCE_ROOT"]) / "tests" / "bench"
LINE = re.compile(r"READY\nRATE \d+ COUNT (\d+)( LOST (\d+))?\n(\{.*\})\n")


def _feed():
    proc = subprocess.Popen([str(BUILD_ROOT / "tests" / "bench" / "feed-server"), "--start",
                             "accept", "--count", "0", "--size", "100", "--format", "text", "-q"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("PORT "), line
    return proc, f"ws://127.0.0.1:{line.split()[1]}/"


def test_bench_programs_print_their_rate(wsb):
    feeds = []
    try:
        direct_feed, direct_url = _feed()
        feeds.append(direct_feed)
        daemon_feed, daemon_url = _feed()
        feeds.append(daemon_feed)
        daemon = wsb.daemon(session_conf("feed", daemon_url, compression="false"))
        daemon.wait_state("feed", "open")
        for cmd in ([sys.executable, str(BENCH / "python-direct.py"), direct_url],
                    [sys.executable, str(BENCH / "python-subscriber.py"), "feed", "--socket",
                     str(daemon.socket)]):
            r = subprocess.run(cmd + ["--count", "20000"], capture_output=True, text=True,
                               timeout=TIMEOUT * 6)
            assert r.returncode == 0, r.stderr
            m = LINE.fullmatch(r.stdout)
            assert m, (cmd, r.stdout, r.stderr)
            result = json.loads(m.group(4))
            # Every message arrived or is in a gap (the last gap may reach past
            # the count); the JSON says the same.
            assert int(m.group(1)) <= 20000 <= int(m.group(1)) + int(m.group(3) or 0), (cmd,
                                                                                    r.stdout)
            assert result["messages"] == int(m.group(1)) and result["complete"], result
    finally:
        for f in feeds:
            f.stdin.close()
            f.wait(TIMEOUT)
