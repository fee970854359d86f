"""The installed systemd units pass systemd-analyze verify, and the system
unit's exposure (systemd-analyze security) is at most 2.0."""

import os
import re
import subprocess

import pkgtest

MAX_EXPOSURE = 2.0


def test_units_verify(tmp_path):
    """verify (unknown settings, missing executables and man pages are all
    reported), with the staged install mounted at its prefix."""
    pkgtest.private_mounts()
    install = pkgtest.Install(tmp_path / "dest")
    install.mount_prefix()
    # Templates are verified as an instance by tests/notify/test_notify_unit.py.
    units = [f for f in install.files() if re.search(r"/systemd/(system|user)/[^/@]+$", f)]
    assert len(units) == 5, units
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700)
    for unit in units:
        user = ["--user"] if "/systemd/user/" in unit else []
        r = subprocess.run(["systemd-analyze", "verify", *user, unit], capture_output=True,
                           text=True, env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)})
        assert r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(), (
            f"systemd-analyze verify {' '.join(user)} {unit} exited {r.returncode}:\n"
            f"{r.stdout}{r.stderr}")


def test_reload_checks_the_configuration_first(tmp_path):
    """ExecReload= runs wsbridged --check-config before the SIGHUP, so a bad
    edit fails "systemctl reload" (systemd stops at the first failing command)."""
    install = pkgtest.Install(tmp_path / "dest")
    for pattern, instance in ((r"/systemd/system/wsbridge\.service$", "--system"),
                              (r"/systemd/user/wsbridge\.service$", "--user")):
        unit = pkgtest.unit_settings(install.path(install.find(pattern)))
        start = unit[("Service", "ExecStart")][0].split()
        assert unit[("Service", "ExecReload")] == [
            f"{start[0]} {instance} --check-config", "/bin/kill -HUP $MAINPID"], unit


def test_system_unit_exposure(tmp_path, capsys):
    install = pkgtest.Install(tmp_path / "dest")
    unit = install.path(install.find(r"/systemd/system/wsbridge\.service$"))
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"Overall exposure level for wsbridge\.service: (\d+\.\d+)", r.stdout)
    assert m, f"no exposure figure in:\n{r.stdout}"
    exposure = float(m.group(1))
    with capsys.disabled():
        print(f"\nwsbridge.service: systemd-analyze security exposure {exposure}")
    assert exposure <= MAX_EXPOSURE, r.stdout
