"""pytest glue: the harness's pytest plugin (tests/harness/wsbtest/plugin.py:
the `wsb` fixture, logs on failure, skips count as failures), plus the chaos
tests' own fixtures (network namespaces, a small tmpfs)."""

import pytest

import chaostest
from wsbtest import needs_root

pytest_plugins = ["wsbtest.plugin"]


@pytest.fixture
def net():
    """A chaostest.NetPair: two network namespaces joined by a veth pair,
    removed at teardown. Name it before `wsb` in a test's arguments, so that
    it outlives the processes the harness starts in it."""
    needs_root("makes network namespaces and a veth pair")
    pair = chaostest.NetPair()
    yield pair
    pair.cleanup()


@pytest.fixture
def small_tmpfs(tmp_path):
    # Name it before `wsb`, so that the daemon using it stops first.
    """A 1 MiB tmpfs mounted in this test's temp dir, unmounted at teardown."""
    needs_root("mounts a small tmpfs")
    fs = chaostest.Tmpfs(tmp_path / "tmpfs", size="1m")
    yield fs
    fs.cleanup()
