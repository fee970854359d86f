#!/usr/bin/python3
"""The layering rule of HACKING.md ("Layout"), checked by the compiler: for
each layer of the daemon (and common/, and the clients), a probe file is
compiled with the exact flags of one of that layer's own files. The public
header of every layer it may use must be found, and the header of every
layer above it (or beside it: the two frontends) must not be: "No such
file". A wrong include path in a meson.build fails this test, not a review.

usage: check-layers.py BUILD_DIR (which holds compile_commands.json)
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile

# One public header per layer, lowest first.
BASE, WS, CONFIG, SESSION, HUB = "log.h", "ws-client.h", "config.h", "session.h", "hub.h"
IPC, DBUS = "ipc-server.h", "dbus-server.h"
PROTOBUF, GDBUS, FRAMING, COMMON = "wsbridge.pb-c.h", "wsb-dbus-generated.h", "framing.h", "backoff.h"
DAEMON = [BASE, WS, CONFIG, SESSION, HUB, IPC, DBUS]

# (where the layer's files are, what it may include, what it must not reach)
RULES = [
    ("common/", [COMMON], DAEMON + [PROTOBUF, GDBUS]),
    ("daemon/base/", [BASE], DAEMON[1:] + [PROTOBUF, GDBUS, FRAMING]),
    ("daemon/ws/", [BASE, WS], DAEMON[2:] + [PROTOBUF, GDBUS, FRAMING]),
    ("daemon/config/", [BASE, WS, CONFIG, COMMON], DAEMON[3:] + [PROTOBUF, GDBUS, FRAMING]),
    ("daemon/session/", [BASE, WS, CONFIG, SESSION], DAEMON[4:] + [PROTOBUF, GDBUS, FRAMING]),
    ("daemon/hub/", [BASE, WS, CONFIG, SESSION, HUB, FRAMING], [IPC, DBUS, PROTOBUF, GDBUS]),
    ("daemon/ipc/", DAEMON[:5] + [IPC, PROTOBUF, FRAMING], [DBUS, GDBUS]),
    ("daemon/dbus/", DAEMON[:5] + [DBUS, GDBUS], [IPC, PROTOBUF]),
    # (glib.h: the probe works there; not every client file uses common/)
    ("clients/wsbridgectl/", ["glib.h"], DAEMON),
    ("clients/notify/", ["glib.h"], DAEMON + [GDBUS]),
    ("clients/push/", ["glib.h"], DAEMON + [GDBUS]),
]


def probe_command(entry, probe):
    """ENTRY's compile command for PROBE instead of its own file, syntax only."""
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MQ", "-MF"):
            skip = True
            continue
        if a in ("-c", "-MD") or a == entry["file"]:
            continue
        out.append(a)
    return out + ["-fdiagnostics-color=never", "-fsyntax-only", probe]


def compiles(entry, header, tmp):
    probe = os.path.join(tmp, "probe.c")
    with open(probe, "w") as f:
        f.write(f'#include "{header}"\n')
    r = subprocess.run(probe_command(entry, probe), cwd=entry["directory"],
                       capture_output=True, text=True)
    return r.returncode == 0, r.stderr


def main():
    build = sys.argv[1]
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = json.load(f)
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for where, allowed, forbidden in RULES:
            own = [e for e in entries if e["file"].endswith(".c") and ("/" + where) in
                   os.path.normpath(os.path.join(e["directory"], e["file"]))]
            if not own:
                failures.append(f"{where}: no file of this layer in compile_commands.json")
                continue
            entry = own[0]
            for h in allowed:
                ok, err = compiles(entry, h, tmp)
                checked += 1
                if not ok:
                    failures.append(f"{where} ({entry['file']}) cannot include {h}, which it "
                                    f"may use:\n{err.strip()[:400]}")
            for h in forbidden:
                ok, err = compiles(entry, h, tmp)
                checked += 1
                if ok:
                    failures.append(f"{where} ({entry['file']}) can include {h}, from a layer "
                                    f"it must not use")
                elif "No such file" not in err:
                    failures.append(f"{where}: the probe for {h} failed for another reason:\n"
                                    f"{err.strip()[:400]}")
    for f in failures:
        print("FAIL:", f)
    print(f"{checked - len(failures)} of {checked} include checks as the layering says")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
