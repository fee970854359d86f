"""The integration suite's fixtures and hooks (tests/integration/conftest.py:
`wsb`, logs on failure, skips count as failures), loaded from there rather
than copied, plus the push tests' own fixture."""

import importlib.util
import pathlib
import sys

import pytest

INTEGRATION = pathlib.Path(__file__).resolve().parents[1] / "integration"
sys.path.insert(0, str(INTEGRATION))

_spec = importlib.util.spec_from_file_location("wsb_integration_conftest",
                                               INTEGRATION / "conftest.py")
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)

wsb = _shared.wsb
pytest_runtest_makereport = _shared.pytest_runtest_makereport
pytest_runtest_logreport = _shared.pytest_runtest_logreport
pytest_sessionfinish = _shared.pytest_sessionfinish

import pushtest  # noqa: E402  (needs the path above)


@pytest.fixture
def desk(request, wsb):
    """A pushtest.PushDesk. At teardown every distributor must exit 0 on
    SIGTERM with a clean log."""
    d = pushtest.PushDesk(wsb)
    yield d
    problems = d.close()
    failed = any(getattr(request.node, f"rep_{w}", None) is not None
                 and getattr(request.node, f"rep_{w}").failed for w in ("setup", "call"))
    if failed or problems:
        for title, text in d.log_sections():
            print(f"----- {title}\n{text}")
    assert not problems, "teardown found problems:\n  " + "\n  ".join(problems)
