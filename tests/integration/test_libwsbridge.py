"""libwsbridge as a user gets it: installed with `meson install --destdir`, found
with pkg-config, linked by cc into examples/wsbridge-list.c, run against a
real daemon. Also checks the shared object itself: soname, the libraries it
needs, and that it exports exactly the API (nm -D).

Missing tools (meson, cc, pkg-config, nm, readelf) fail the test: skips count
as failures in this suite.
"""

import os
import pathlib
import re
import shlex
import subprocess

import wsbtest
from wsbtest import BUILD_ROOT, session_conf
from wsbtest.install import build_options, meson_command, run, tool

SOURCE_ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = SOURCE_ROOT / "examples" / "wsbridge-list.c"
HEADER = SOURCE_ROOT / "clients" / "libwsbridge" / "wsbridge.h"
SONAME = "libwsbridge.so.1"
VERSION_NODE = "LIBWSBRIDGE_1"
INCLUDE_SUBDIR = "wsbridge-1"
SANITIZER_RUNTIME = re.compile(r"lib(asan|ubsan|tsan|lsan|hwasan)\.so")


def staged_install(dest):
    """Install the runtime and devel files into DEST; return (libdir, includedir) in DEST."""
    run([*meson_command(), "install", "-C", str(BUILD_ROOT), "--no-rebuild", "--quiet",
         "--tags", "runtime,devel", "--destdir", str(dest)])
    opts = build_options()
    prefix = pathlib.Path(opts["prefix"])
    libdir = dest / (prefix / opts["libdir"]).relative_to("/")
    includedir = dest / (prefix / opts["includedir"]).relative_to("/")
    return libdir, includedir


def header_functions():
    """Every wsb_client_* function that wsbridge.h declares."""
    code = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    return set(re.findall(r"\b(wsb_client_[a-z_]+)\s*\(", code))


def check_shared_object(lib):
    dynamic = run([tool("readelf"), "-d", str(lib)])
    sonames = re.findall(r"\(SONAME\).*\[(.*)\]", dynamic)
    assert sonames == [SONAME], f"soname {sonames}"
    needed = [n for n in re.findall(r"\(NEEDED\).*\[(.*)\]", dynamic)
              if not SANITIZER_RUNTIME.match(n)]
    assert sorted(needed) == ["libc.so.6", "libprotobuf-c.so.1"], f"NEEDED {needed}"

    exported = {}
    for line in run([tool("nm"), "-D", "--defined-only", str(lib)]).splitlines():
        name = line.split()[-1]
        symbol, _, version = name.partition("@@")
        exported[symbol] = version
    exported.pop(VERSION_NODE, None)
    stray = sorted(s for s in exported if not s.startswith(("wsb_client_", "wsbridge__v1__")))
    assert not stray, f"exported beyond the API: {stray}"
    unversioned = sorted(s for s, v in exported.items() if v != VERSION_NODE)
    assert not unversioned, f"not in {VERSION_NODE}: {unversioned}"
    missing = sorted(header_functions() - exported.keys())
    assert not missing, f"declared in wsbridge.h but not exported: {missing}"
    # The INIT macros of the installed wsbridge.pb-c.h name these descriptors.
    assert "wsbridge__v1__request__descriptor" in exported
    assert "wsb_varint_encode" not in exported


def test_libwsbridge_installed_builds_and_lists_sessions(wsb, tmp_path):
    libdir, includedir = staged_install(tmp_path / "dest")

    lib = libdir / SONAME
    assert lib.is_symlink() and os.readlink(lib).startswith(SONAME + "."), f"{lib}"
    assert os.readlink(libdir / "libwsbridge.so") == SONAME
    assert (libdir / "pkgconfig" / "wsbridge.pc").is_file()
    headers = sorted(p.name for p in (includedir / INCLUDE_SUBDIR).iterdir())
    assert headers == ["wsbridge.h", "wsbridge.pb-c.h"], f"installed headers {headers}"
    check_shared_object(lib)

    # pkg-config as a consumer runs it; the sysroot maps the installed
    # prefix into the staging directory.
    env = dict(os.environ, PKG_CONFIG_PATH=str(libdir / "pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=str(tmp_path / "dest"))
    flags = shlex.split(run([tool("pkg-config"), "--cflags", "--libs", "wsbridge"], env=env))
    assert f"-I{includedir / INCLUDE_SUBDIR}" in flags, f"pkg-config flags {flags}"

    # Sanitized builds instrument the library, so the program needs the runtime too.
    sanitize = build_options().get("b_sanitize", "none")
    sanitize_flags = [] if sanitize == "none" else [f"-fsanitize={sanitize}"]
    exe = tmp_path / "wsbridge-list"
    run([tool("cc"), "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", str(EXAMPLE),
         "-o", str(exe), *flags, *sanitize_flags])
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", run([tool("readelf"), "-d", str(exe)]))
    assert SONAME in needed, f"wsbridge-list NEEDED {needed}"

    server = wsb.server()
    daemon = wsb.daemon(session_conf("beta", server.url) + session_conf("alpha", server.url))
    daemon.wait_state("alpha", "open")
    daemon.wait_state("beta", "open")

    run_env = dict(os.environ, LD_LIBRARY_PATH=str(libdir))
    r = subprocess.run([*wsbtest.WRAPPER, str(exe), str(daemon.socket)], capture_output=True,
                       text=True, env=run_env, timeout=20 * wsbtest.SLOW)
    assert r.returncode == 0, f"wsbridge-list exited {r.returncode}: {r.stderr}"
    assert r.stdout.splitlines() == [f"alpha\topen\t{server.url}", f"beta\topen\t{server.url}"]

    missing = daemon.socket.with_name("missing.sock")
    r = subprocess.run([*wsbtest.WRAPPER, str(exe), str(missing)], capture_output=True,
                       text=True, env=run_env, timeout=20 * wsbtest.SLOW)
    assert r.returncode == 1, f"wsbridge-list exited {r.returncode}: {r.stderr}"
    assert str(missing) in r.stderr and "No such file" in r.stderr, r.stderr
