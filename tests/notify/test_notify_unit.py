"""The systemd user unit template as `meson install` puts it, instantiated and
checked by `systemd-analyze verify`, and its ExecStart run the way systemd
runs it for an instance."""

import json
import os
import pathlib
import shlex
import shutil
import subprocess

from test_libwsbridge import build_options, meson_command, run
from notifytest import NOTIFY
from wsbtest import BUILD_ROOT, WRAPPER, session_conf

TEMPLATE = "wsbridge-notify@.service"


def install(dest):
    """Everything, into DEST; return (the unit dir, bindir, mandir) inside DEST."""
    run([*meson_command(), "install", "-C", str(BUILD_ROOT), "--no-rebuild", "--quiet",
         "--destdir", str(dest)])
    intro = json.loads((BUILD_ROOT / "meson-info" / "intro-installed.json").read_text())
    unit = next(pathlib.Path(p) for p in intro.values() if p.endswith("/" + TEMPLATE))
    prefix = pathlib.Path(build_options()["prefix"])
    opts = build_options()
    staged = lambda p: dest / pathlib.Path(p).relative_to("/")  # noqa: E731
    return (staged(unit.parent), staged(prefix / opts["bindir"]),
            staged(prefix / opts["mandir"]), prefix / opts["bindir"])


def exec_start(unit_text):
    lines = [line for line in unit_text.splitlines() if line.startswith("ExecStart=")]
    assert len(lines) == 1, lines
    return lines[0].removeprefix("ExecStart=")


def test_notify_unit_verifies(wsb):
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze is not installed; this test needs it"
    unit_dir, bindir, mandir, real_bindir = install(wsb.tmp / "stage")
    text = (unit_dir / TEMPLATE).read_text()
    assert f"{real_bindir}/wsbridge-notify " in exec_start(text)
    for line in ("After=wsbridge.service", "Restart=on-failure",
                 "Documentation=man:wsbridge-notify(1)"):
        assert line in text.splitlines(), line
    # The staged copy, with ExecStart pointing into the staging dir (verify
    # checks that the program exists), instantiated for session/channel
    # demo/eu as systemd-escape writes it.
    units = wsb.tmp / "units"
    units.mkdir()
    (units / TEMPLATE).write_text(text.replace(f"{real_bindir}/", f"{bindir}/"))
    (units / "wsbridge-notify@demo-eu.service").symlink_to(TEMPLATE)
    shutil.copy(unit_dir / "wsbridge.service", units)
    runtime = wsb.tmp / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{units}:", "MANPATH": str(mandir),
           "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_LOG_LEVEL": "notice"}
    r = subprocess.run([tool, "verify", "--user", str(units / "wsbridge-notify@demo-eu.service")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), (
        f"systemd-analyze verify exited {r.returncode}:\n{r.stdout}{r.stderr}")


def test_notify_unit_exec_start_reads_instance_config(wsb, desk):
    """ExecStart with the specifiers systemd fills in for instance demo-eu
    (%i demo-eu, %I demo/eu, %E $XDG_CONFIG_HOME) takes its options file."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("demo", server.url, channel_key="/channel"))
    daemon.wait_state("demo", "open")
    mock = desk.server()
    config_home = pathlib.Path(daemon.env["XDG_CONFIG_HOME"])
    notify_dir = config_home / "wsbridge" / "notify"
    notify_dir.mkdir(parents=True)
    (notify_dir / "demo-eu.conf").write_text(
        f"[notify]\nsummary=/title\nsocket={daemon.socket}\napp-name=From the unit\n")
    text = (pathlib.Path(__file__).parents[2] / "packaging" / "systemd" / "user" / f"{TEMPLATE}.in").read_text()
    args = shlex.split(exec_start(text).replace("%E", str(config_home))
                       .replace("%i", "demo-eu").replace("%I", "demo/eu"))
    assert args[0] == "@bindir@/wsbridge-notify"
    n = desk.notifier(daemon, start=False)
    # Exactly those arguments, without the notifier's own --socket and -v.
    n.cmd = [*WRAPPER, str(NOTIFY), *args[1:]]
    n.start()
    n.wait_log(r"subscribed to demo/eu")
    server.inject(json.dumps({"channel": "eu", "title": "configured"}))
    calls = mock.wait_calls(lambda c: len(c) >= 1, "a notification")
    assert (calls[0]["summary"], calls[0]["app_name"]) == ("configured", "From the unit")
