"""The systemd user unit template as `meson install` puts it, instantiated and
checked by `systemd-analyze verify`, and its ExecStart run the way systemd
runs it for an instance."""

import json
import os
import re
import pathlib
import shlex
import shutil
import subprocess

from wsbtest.install import build_options, meson_command, run
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
    for line in ("After=wsbridge.service graphical-session.target", "Restart=on-failure",
                 "Documentation=man:wsbridge-notify(1)", "PartOf=graphical-session.target",
                 "WantedBy=graphical-session.target", "RestartPreventExitStatus=2 78"):
        assert line in text.splitlines(), line
    # The staged copy, with ExecStart pointing into the staging dir (verify
    # checks that the program exists), instantiated for a configuration
    # whose name has a dash.
    units = wsb.tmp / "units"
    units.mkdir()
    (units / TEMPLATE).write_text(text.replace(f"{real_bindir}/", f"{bindir}/"))
    (units / "wsbridge-notify@home-alerts.service").symlink_to(TEMPLATE)
    shutil.copy(unit_dir / "wsbridge.service", units)
    runtime = wsb.tmp / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{units}:", "MANPATH": str(mandir),
           "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_LOG_LEVEL": "notice"}
    r = subprocess.run([tool, "verify", "--user",
                        str(units / "wsbridge-notify@home-alerts.service")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), (
        f"systemd-analyze verify exited {r.returncode}:\n{r.stdout}{r.stderr}")


def unit_args(config_home, instance):
    """ExecStart's arguments as systemd fills them in for INSTANCE (%i the
    instance as written, %E $XDG_CONFIG_HOME)."""
    text = (pathlib.Path(__file__).parents[2] / "packaging" / "systemd" / "user"
            / f"{TEMPLATE}.in").read_text()
    args = shlex.split(exec_start(text).replace("%E", str(config_home)).replace("%i", instance))
    assert args[0] == "@bindir@/wsbridge-notify"
    assert "%" not in " ".join(args), args
    return args[1:]


def test_notify_unit_exec_start_reads_instance_config(wsb, desk):
    """wsbridge-notify@home-alerts.service reads notify/home-alerts.conf,
    which names session and channel: a dash needs no escaping."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("home-alerts", server.url, channel_key="/channel"))
    daemon.wait_state("home-alerts", "open")
    mock = desk.server()
    config_home = pathlib.Path(daemon.env["XDG_CONFIG_HOME"])
    notify_dir = config_home / "wsbridge" / "notify"
    notify_dir.mkdir(parents=True)
    (notify_dir / "home-alerts.conf").write_text(
        f"[notify]\nsession=home-alerts\nchannel=eu\nsummary=/title\nsocket={daemon.socket}\n"
        "app-name=From the unit\n")
    n = desk.notifier(daemon, start=False)
    # Exactly those arguments, without the notifier's own --socket and -v.
    n.cmd = [*WRAPPER, str(NOTIFY), *unit_args(config_home, "home-alerts")]
    n.start()
    n.wait_log(r"subscribed to home-alerts/eu")
    server.inject(json.dumps({"channel": "eu", "title": "configured"}))
    calls = mock.wait_calls(lambda c: len(c) >= 1, "a notification")
    assert (calls[0]["summary"], calls[0]["app_name"]) == ("configured", "From the unit")


def test_notify_unit_config_errors_are_not_restarted(wsb, desk):
    """The exit statuses of configuration errors are the ones the unit's
    RestartPreventExitStatus= names: no restart every 5 s forever."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf("home", server.url))
    daemon.wait_state("home", "open")
    desk.server()
    config_home = pathlib.Path(daemon.env["XDG_CONFIG_HOME"])
    notify_dir = config_home / "wsbridge" / "notify"
    notify_dir.mkdir(parents=True)
    text = (pathlib.Path(__file__).parents[2] / "packaging" / "systemd" / "user"
            / f"{TEMPLATE}.in").read_text()
    prevent = next(line for line in text.splitlines()
                   if line.startswith("RestartPreventExitStatus="))
    prevented = {int(s) for s in prevent.split("=", 1)[1].split()}
    cases = {
        "nosuch": (f"[notify]\nsession=nosuch\nsocket={daemon.socket}\n", "no session named"),
        "typo": (f"[notify]\nsession=home\nburst=lots\nsocket={daemon.socket}\n",
                 "key burst"),
        "missing": (None, "missing SESSION[/CHANNEL]"),
    }
    for instance, (conf, message) in cases.items():
        if conf is not None:
            (notify_dir / f"{instance}.conf").write_text(conf)
        n = desk.notifier(daemon, start=False)
        n.cmd = [*WRAPPER, str(NOTIFY), *unit_args(config_home, instance)]
        n.start()
        status = n.wait_exit()
        assert status in prevented, (instance, status, n.log())
        assert message in n.log(), (instance, n.log())


def test_notify_man_page_documents_every_option():
    """Every option --help lists is in wsbridge-notify(1)."""
    out = subprocess.run([str(NOTIFY), "--help-all"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    options = set(re.findall(r"^\s+(?:-\w, )?--([a-z][a-z-]*)", out, re.M)) - {"help", "help-all"}
    assert {"preset", "urgency-map", "filter", "no-resume", "session"} <= options, options
    man = (pathlib.Path(__file__).parents[2] / "packaging" / "wsbridge-notify.1").read_text()
    missing = [o for o in sorted(options) if "\\-\\-" + o.replace("-", "\\-") not in man]
    assert not missing, f"not in wsbridge-notify.1: {missing}"
