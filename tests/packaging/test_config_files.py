"""The configuration the Debian package ships: /etc/wsbridge/wsbridge.conf
(packaging/wsbridge.conf) lists every [daemon] key of the daemon's table
with its default, commented out, and is valid with all of them set; the
examples under /usr/share/doc/wsbridge/examples/ (packaging/examples/) are
valid session files. Valid means what wsbridged --check-config says, with no
warning (an unknown or misspelt key would be one)."""

import os
import pathlib
import re
import shutil
import subprocess

import wsbtest
from test_manpage import config_keys

PACKAGING = pathlib.Path(os.environ["WSB_SOURCE_ROOT"]) / "packaging"
CONF = PACKAGING / "wsbridge.conf"
EXAMPLES = sorted((PACKAGING / "examples").glob("*.conf"))


def _check(config_dir, credentials):
    r = subprocess.run([*wsbtest.WRAPPER, str(wsbtest.DAEMON), "--check-config", "--config",
                        str(config_dir)], capture_output=True, text=True,
                       timeout=30 * wsbtest.SLOW,
                       env={**os.environ, "CREDENTIALS_DIRECTORY": str(credentials)})
    return r.returncode, r.stdout, r.stderr


def test_shipped_conf_lists_every_daemon_key_with_its_default():
    commented = dict(re.findall(r"^#([a-z_]+)=(.*)$", CONF.read_text(), re.M))
    table = {k["name"]: k["default"] or "" for k in config_keys() if k["group"] == "daemon"}
    assert commented == table, f"{CONF}: #key=default lines {commented}, table {table}"
    assert not re.search(r"^[a-z_]+\s*=", CONF.read_text(), re.M), "a key is set, not commented"


def test_shipped_conf_is_valid_with_every_key_set(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    text = CONF.read_text()
    (etc / "wsbridge.conf").write_text(text)
    assert _check(etc, tmp_path)[:2] == (0, f"wsbridged: configuration {etc} is valid (0 sessions)\n")
    (etc / "wsbridge.conf").write_text(re.sub(r"^#([a-z_]+=)", r"\1", text, flags=re.M))
    rc, out, err = _check(etc, tmp_path)
    assert rc == 0 and err == "", (rc, out, err)


def test_examples_are_valid_session_files(tmp_path):
    assert {p.name for p in EXAMPLES} == {"token-from-credential.conf", "routed-feed.conf",
                                          "proxy.conf"}, EXAMPLES
    etc = tmp_path / "etc"
    (etc / "sessions.d").mkdir(parents=True)
    shutil.copy(CONF, etc / "wsbridge.conf")
    for example in EXAMPLES:
        shutil.copy(example, etc / "sessions.d" / example.name)
    rc, out, err = _check(etc, tmp_path)
    assert rc == 0 and err == "", (rc, out, err)
    assert f"valid ({len(EXAMPLES)} sessions)" in out, out
