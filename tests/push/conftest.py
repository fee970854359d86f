"""The harness's pytest plugin (tests/harness/wsbtest/plugin.py: `wsb`, logs
on failure, skips count as failures), plus the push tests' own fixture."""

import pytest

import pushtest
from wsbtest.clients import close_desk

pytest_plugins = ["wsbtest.plugin"]


@pytest.fixture
def desk(request, wsb):
    """A pushtest.PushDesk. At teardown every distributor must exit 0 on
    SIGTERM with a clean log."""
    d = pushtest.PushDesk(wsb)
    yield d
    close_desk(request, d)
