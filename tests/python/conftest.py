"""The Python client's tests use the integration harness as it is: its
conftest (the `wsb` fixture, logs on failure, skips count as failures) is
loaded as a plugin, and wsbtest is imported from tests/integration."""

import importlib.util
import pathlib
import sys

INTEGRATION = pathlib.Path(__file__).resolve().parent.parent / "integration"
sys.path.insert(0, str(INTEGRATION))

_spec = importlib.util.spec_from_file_location("wsb_integration_conftest",
                                               INTEGRATION / "conftest.py")
_plugin = importlib.util.module_from_spec(_spec)
sys.modules["wsb_integration_conftest"] = _plugin
_spec.loader.exec_module(_plugin)

pytest_plugins = ["wsb_integration_conftest"]
