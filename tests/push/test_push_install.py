"""wsbridge-push's D-Bus activation file and systemd user unit as
`meson install` puts them: the activation file names the unit, the unit
waits for the bus name the activation file is for, both start the
installed program."""

import configparser
import json
import pathlib

from wsbtest.install import build_options, meson_command, run
from wsbtest import BUILD_ROOT

NAME = "org.unifiedpush.Distributor.wsbridge"


def installed(dest, suffix):
    intro = json.loads((BUILD_ROOT / "meson-info" / "intro-installed.json").read_text())
    path = next(pathlib.Path(p) for p in intro.values() if p.endswith("/" + suffix))
    return dest / path.relative_to("/")


def read_ini(path):
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read_string(path.read_text())
    return parser


def test_push_activation_and_unit_installed(tmp_path):
    dest = tmp_path / "dest"
    run([*meson_command(), "install", "-C", str(BUILD_ROOT), "--no-rebuild", "--quiet",
         "--destdir", str(dest)])
    opts = build_options()
    program = str(pathlib.Path(opts["prefix"]) / opts["bindir"] / "wsbridge-push")
    activation = read_ini(installed(dest, f"dbus-1/services/{NAME}.service"))["D-BUS Service"]
    assert dict(activation) == {"Name": NAME, "Exec": program,
                                "SystemdService": "wsbridge-push.service"}
    unit = read_ini(installed(dest, "systemd/user/wsbridge-push.service"))
    assert unit["Service"]["Type"] == "dbus"
    assert unit["Service"]["BusName"] == NAME
    assert unit["Service"]["ExecStart"] == program
    assert unit["Unit"]["Documentation"] == "man:wsbridge-push(1)"
    man = installed(dest, "man1/wsbridge-push.1")
    assert man.read_text().startswith(".TH WSBRIDGE-PUSH 1")
    version = run([str(dest / pathlib.Path(program).relative_to("/")), "--version"])
    assert version.startswith("wsbridge-push ")
