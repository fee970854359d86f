"""The package is fully typed: mypy --strict (its settings in pyproject.toml)
finds nothing in it, the generated message stubs included as imports."""

import os
import subprocess
import sys

from pyclient import BUILD_PACKAGE

SOURCE = os.environ["WSB_SOURCE_ROOT"]


def test_package_passes_mypy_strict(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mypy", "--config-file",
                        os.path.join(SOURCE, "clients", "python", "pyproject.toml"),
                        "--cache-dir", str(tmp_path / "cache"), "-p", "wsbridge"],
                       cwd=BUILD_PACKAGE, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("Success: no issues found"), r.stdout
