"""pytest glue: the integration tests' fixtures and rules (tests/integration/conftest.py:
the `wsb` fixture, logs on failure, skips count as failures), plus the chaos
tests' own fixtures (network namespaces, a small tmpfs)."""

import importlib.util
import pathlib

import pytest

import chaostest
from wsbtest import needs_root

_spec = importlib.util.spec_from_file_location(
    "integration_conftest", pathlib.Path(__file__).parent.parent / "integration" / "conftest.py")
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

wsb = _integration.wsb
pytest_runtest_makereport = _integration.pytest_runtest_makereport
pytest_runtest_logreport = _integration.pytest_runtest_logreport
pytest_sessionfinish = _integration.pytest_sessionfinish


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
