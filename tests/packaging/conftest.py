"""pytest glue: the integration tests' fixtures and rules (tests/integration/conftest.py:
the `wsb` fixture, logs on failure, skips count as failures)."""

import importlib.util
import pathlib

_spec = importlib.util.spec_from_file_location(
    "integration_conftest", pathlib.Path(__file__).parent.parent / "integration" / "conftest.py")
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

wsb = _integration.wsb
pytest_runtest_makereport = _integration.pytest_runtest_makereport
pytest_runtest_logreport = _integration.pytest_runtest_logreport
pytest_sessionfinish = _integration.pytest_sessionfinish
