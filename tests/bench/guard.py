#!/usr/bin/python3
"""bench-guard: one subscriber through wsbridged keeps at least 0.3x the rate
of a direct lws client, on a short burst of 100-byte frames (median of three
alternated rounds; a ratio, never an absolute time). It is there so that a
several-fold slowdown of the message path cannot land silently (a 10x one
would give about 0.07); BENCHMARKS.md has the real numbers (make bench).

Why 0.3 and not 0.5: the daemon as it is gives 0.6-0.8 on a quiet machine,
and medians of three rounds measured down to 0.51 while other builds kept
the load average near 10 on these two cores; a guard at 0.5 would fail now
and then for no fault of the change under test. Raise it once the daemon
meets its 0.9x target.

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
