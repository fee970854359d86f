#!/usr/bin/python3
"""bench-guard: one subscriber through wsbridged keeps at least 0.3x the rate
of a direct libwebsockets client (direct-client), on a short burst of
100-byte frames (median of three alternated rounds; a ratio, never an
absolute time). It is there so that a several-fold slowdown of the message
path cannot land silently; BENCHMARKS.md has the real numbers (make bench).

Why 0.3: the guard dates from when libwebsockets parsed the daemon's frames
and one subscriber got 0.6-0.8x on a quiet machine, down to 0.51 while other
builds loaded these two cores. Since the daemon does its own framing
(ws-rx) it gets 2.1-2.4x (BENCHMARKS.md, scenario 1), so 0.3 now catches a
slowdown of about 7x or more; a higher bound wants medians measured under
that load first.

Run by Meson (suite bench-guard) with WSB_BUILD_ROOT set; by hand:
  WSB_BUILD_ROOT=$PWD/build /usr/bin/python3 tests/bench/guard.py
"""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import benchlib  # noqa: E402

MESSAGES = 600_000
ROUNDS = 3
MINIMUM = 0.3


def main():
    build = pathlib.Path(os.environ["WSB_BUILD_ROOT"]).resolve()
    benchlib.raise_fd_limit()
    work = benchlib.Workdir()
    try:
        setup = benchlib.Setup(build, work.path, ["--size", "100"], benchlib.SESSION)
        try:
            _, ratios = benchlib.compare(
                setup, [("direct lws", benchlib.DIRECT), ("wsbridge", benchlib.SUBSCRIBER)],
                MESSAGES, ROUNDS)
        finally:
            setup.close()
    finally:
        work.cleanup()
    ratio = benchlib.median(ratios["wsbridge"])
    print(f"one subscriber / direct lws: median {ratio:.2f} over rounds "
          f"{', '.join(f'{r:.2f}' for r in ratios['wsbridge'])}; the guard wants >= {MINIMUM}")
    if ratio < MINIMUM:
        print(f"FAIL: one subscriber gets less than {MINIMUM}x a direct client's rate; run "
              "make bench and see BENCHMARKS.md", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except benchlib.BenchError as e:
        print(f"bench-guard: {e}", file=sys.stderr)
        sys.exit(1)
