"""meson install --destdir lays every file a package needs where the build's
options and pkg-config (systemd, bash-completion) say."""

import pathlib
import re
import subprocess

import pkgtest


def pc_dir(package, variable, base, value):
    r = subprocess.run(["pkg-config", f"--define-variable={base}={value}", f"--variable={variable}",
                        package], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip(), f"pkg-config {package} {variable}: {r.stderr}"
    return pathlib.Path(r.stdout.strip())


def api_minor():
    """WSB_API_MINOR of this build: libwsbridge.so.1.MINOR.0 follows it."""
    header = (pkgtest.wsbtest.BUILD_ROOT / "wsb-version.h").read_text()
    return int(re.search(r"#define WSB_API_MINOR (\d+)", header).group(1))


def expected_files(install):
    o, prefix = install.options, install.prefix
    bindir, libdir = prefix / o["bindir"], prefix / o["libdir"]
    datadir, mandir, includedir = prefix / o["datadir"], prefix / o["mandir"], prefix / o["includedir"]

    def option_or_pc(option, package, variable, base, value):
        return pathlib.Path(o[option]) if o[option] else pc_dir(package, variable, base, value)

    unitdir = option_or_pc("systemdsystemunitdir", "systemd", "systemdsystemunitdir",
                           "root_prefix", prefix)
    userunitdir = option_or_pc("systemduserunitdir", "systemd", "systemduserunitdir", "prefix",
                               prefix)
    sysusersdir = option_or_pc("sysusersdir", "systemd", "sysusersdir", "prefix", prefix)
    tmpfilesdir = option_or_pc("tmpfilesdir", "systemd", "tmpfilesdir", "prefix", prefix)
    bashdir = option_or_pc("bashcompletiondir", "bash-completion", "completionsdir", "datadir",
                           datadir)
    zshdir = pathlib.Path(o["zshcompletiondir"] or datadir / "zsh" / "vendor-completions")
    dbus = datadir / "dbus-1"
    return sorted(str(p) for p in [
        bindir / "wsbridged", bindir / "wsbridgectl", bindir / "wsbridge-notify",
        bindir / "wsbridge-push",
        unitdir / "wsbridge.service", unitdir / "wsbridge.socket",
        userunitdir / "wsbridge.service", userunitdir / "wsbridge.socket",
        userunitdir / "wsbridge-notify@.service", userunitdir / "wsbridge-push.service",
        sysusersdir / "wsbridge.conf", tmpfilesdir / "wsbridge.conf",
        dbus / "system.d" / "io.github.WsBridge1.conf",
        dbus / "services" / "io.github.WsBridge1.service",
        dbus / "services" / "org.unifiedpush.Distributor.wsbridge.service",
        dbus / "system-services" / "io.github.WsBridge1.service",
        dbus / "interfaces" / "io.github.WsBridge1.xml",
        mandir / "man1" / "wsbridgectl.1", mandir / "man1" / "wsbridge-notify.1",
        mandir / "man1" / "wsbridge-push.1",
        mandir / "man5" / "wsbridge.conf.5",
        mandir / "man8" / "wsbridged.8",
        bashdir / "wsbridgectl", zshdir / "_wsbridgectl",
        includedir / "wsbridge-1" / "wsbridge.h", includedir / "wsbridge-1" / "wsbridge.pb-c.h",
        libdir / "libwsbridge.so", libdir / "libwsbridge.so.1", libdir / f"libwsbridge.so.1.{api_minor()}.0",
        libdir / "pkgconfig" / "wsbridge.pc",
        datadir / "wsbridge" / "wsbridge.proto", datadir / "wsbridge" / "RING.md",
        datadir / "applications" / "wsbridge-notify.desktop",
        datadir / "icons" / "hicolor" / "scalable" / "apps" / "wsbridge-notify.svg",
    ] + [prefix / "lib" / "python3" / "dist-packages" / "wsbridge" / name for name in PYTHON_FILES])


# The Python client (clients/python/wsbridge), in Debian's python3 dist-packages.
PYTHON_FILES = [
    "__init__.py", "_face.py", "_ringsink.py", "_stream.py", "_unix.py", "aio.py", "backoff.py",
    "client.py", "errors.py", "framing.py",
    "model.py", "paths.py", "protocol.py", "py.typed", "ring.py", "url.py", "websocket.py", "wire.py",
    "wsbridge_pb2.py", "wsbridge_pb2.pyi",
    # The websockets face: a package with websockets' module paths.
    "websockets/__init__.py", "websockets/client.py", "websockets/exceptions.py",
    "websockets/frames.py", "websockets/protocol.py", "websockets/typing.py",
    "websockets/asyncio/__init__.py", "websockets/asyncio/client.py",
    "websockets/sync/__init__.py", "websockets/sync/client.py",
    "websockets/legacy/__init__.py", "websockets/legacy/client.py",
]


def test_install_file_list(tmp_path):
    install = pkgtest.Install(tmp_path / "dest")
    assert install.files() == expected_files(install)
    service = install.path(install.find(r"/system/wsbridge\.service$")).read_text()
    assert f"\nExecStart={install.prefix / install.options['bindir'] / 'wsbridged'} --system\n" \
        in service
    activation = install.path(install.find(r"/system-services/io\.github\.WsBridge1\.service$"))
    assert "\nSystemdService=wsbridge.service\n" in activation.read_text()
    assert "\nUser=wsbridge\n" in activation.read_text()
    sysusers = install.path(install.find(r"/sysusers\.d/wsbridge\.conf$")).read_text()
    assert "\nu wsbridge - " in sysusers
