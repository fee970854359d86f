"""The system instance leaves its home directory alone: the user wsbridge's
home is /var/lib/wsbridge (sysusers.d), and GLib's dconf backend would
write .cache/dconf/user there, which a purge must not find. wsbridged
--system uses GSettings' memory backend (it has no desktop settings to
follow), whatever the environment says."""

import os

from wsbtest import session_conf


def _files_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_system_instance_writes_nothing_in_home(wsb):
    server = wsb.server()
    # As under systemd: no XDG_RUNTIME_DIR (dconf would write there instead).
    daemon = wsb.daemon(start=False, env={"GSETTINGS_BACKEND": None, "XDG_CACHE_HOME": None,
                                          "XDG_RUNTIME_DIR": None, "STATE_DIRECTORY": None})
    daemon.args = ["--system"]
    daemon.env["STATE_DIRECTORY"] = str(daemon.workdir / "state")
    home = daemon.workdir / "home"
    # The test's own uid may use the session (root always may).
    daemon.start(session_conf("s", server.url, allow_users=os.getuid()))
    daemon.wait_state("s", "open")
    daemon.ctl_ok("send", "s", "hello")
    assert daemon.stop() == 0

    assert "GSETTINGS_BACKEND" not in daemon.env and daemon.env["HOME"] == str(home)
    assert _files_under(home) == [], f"the system instance wrote into HOME: {_files_under(home)}"

