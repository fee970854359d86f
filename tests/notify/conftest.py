"""The harness's pytest plugin (tests/harness/wsbtest/plugin.py: `wsb`, logs
on failure, skips count as failures), plus the notify tests' own fixture."""

import pytest

import notifytest
from wsbtest.clients import close_desk

pytest_plugins = ["wsbtest.plugin"]


@pytest.fixture
def desk(request, wsb):
    """A notifytest.Desk: a private session bus for notifiers and mock servers.
    At teardown every notifier must exit 0 on SIGTERM with a clean log."""
    d = notifytest.Desk(wsb)
    yield d
    close_desk(request, d)
