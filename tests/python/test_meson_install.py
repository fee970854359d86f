"""meson install puts the same package the tests use into python3's
dist-packages: every module, py.typed and the generated message classes."""

import os
import subprocess
import sys

from pyclient import BUILD_PACKAGE, feed
from wsbtest.install import meson_command, run


def test_meson_install_installs_the_package_the_tests_use(wsb, tmp_path):
    server, daemon = feed(wsb)
    dest = tmp_path / "dest"
    run([*meson_command(), "install", "-C", os.environ["WSB_BUILD_ROOT"], "--no-rebuild",
         "--quiet", "--tags", "python-runtime", "--destdir", str(dest)])
    found = list(dest.rglob("wsbridge/__init__.py"))
    assert len(found) == 1, found
    installed = found[0].parent
    assert "dist-packages" in installed.parts or "site-packages" in installed.parts, installed
    built = BUILD_PACKAGE / "wsbridge"
    names = sorted(str(p.relative_to(installed)) for p in installed.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(built)) for p in built.rglob("*")
                           if p.is_file() and "__pycache__" not in p.parts), names
    for name in names:
        assert (installed / name).read_bytes() == (built / name).read_bytes(), name
    r = subprocess.run([sys.executable, "-c",
                        "import sys, wsbridge; print(wsbridge.__file__); "
                        "print([s.name for s in wsbridge.Client(sys.argv[1]).sessions()])",
                        str(daemon.socket)],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(installed.parent)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [str(installed / "__init__.py"), "['s']"], r.stdout
