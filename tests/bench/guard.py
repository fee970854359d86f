#!/usr/bin/python3
"""bench-guard: one subscriber through wsbridged keeps at least half the rate
of a direct lws client, on a short burst of 100-byte frames (median of three
alternated rounds; a ratio, never an absolute time). It is there so that a
10x slowdown of the message path cannot land silently; BENCHMARKS.md has the
real numbers (make bench).

Run by Meson (suite bench-guard) with WSB_BUILD_ROOT set; by hand:
  WSB_BUILD_ROOT=$PWD/build /usr/bin/python3 tests/bench/guard.py
"""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import benchlib  # noqa: E402

MESSAGES = 300_000
ROUNDS = 3
MINIMUM = 0.5


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
        print(f"FAIL: the daemon's message path is more than {1 / MINIMUM:.0f}x slower than a "
              "direct client; run make bench and see BENCHMARKS.md", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except benchlib.BenchError as e:
        print(f"bench-guard: {e}", file=sys.stderr)
        sys.exit(1)
