"""The integration tests' fixtures and rules (tests/integration/conftest.py)."""

import importlib.util
import pathlib
import sys

INTEGRATION = pathlib.Path(__file__).resolve().parents[1] / "integration"
sys.path.insert(0, str(INTEGRATION))
_spec = importlib.util.spec_from_file_location("integration_conftest", INTEGRATION / "conftest.py")
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

wsb = _integration.wsb
pytest_runtest_makereport = _integration.pytest_runtest_makereport
pytest_runtest_logreport = _integration.pytest_runtest_logreport
pytest_sessionfinish = _integration.pytest_sessionfinish
