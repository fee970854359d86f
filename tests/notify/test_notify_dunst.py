"""wsbridge-notify as a desktop user sees it: a real notification server
(dunst) on a private X server (Xvfb), an ntfy feed, and a screenshot.

With WSB_SCREENSHOT=PATH the picture is also written to PATH (the README's
picture: WSB_SCREENSHOT=$PWD/examples/notify/dunst.png meson test -C build
test_notify_dunst_screenshot)."""

import os
import shutil
import subprocess

import xshot
from notifytest import HERE, SERVER_NAME
from test_notify_feeds import ntfy, ntfy_publish
from wsbtest import SLOW, wait_for

DUNSTRC = """\
[global]
font = DejaVu Sans 11
width = 460
height = 300
origin = top-right
offset = 12x12
frame_width = 3
icon_path = {icons}
frame_color = "#2a6fb0"
separator_height = 2
padding = 10
horizontal_padding = 12
markup = full
format = "<b>%s</b>\\n%b"
icon_position = left
max_icon_size = 48
show_age_threshold = -1
[urgency_low]
background = "#f4f4f4"
foreground = "#333333"
timeout = 0
[urgency_normal]
background = "#ffffff"
foreground = "#111111"
timeout = 0
[urgency_critical]
background = "#fff0f0"
foreground = "#111111"
frame_color = "#c01c28"
timeout = 0
"""


def test_notify_dunst_screenshot(wsb, desk):
    for tool in ("dunst", "dunstctl", "Xvfb", "xwd"):
        assert shutil.which(tool), f"{tool} is not installed (tools/install-deps installs it)"
    screen = xshot.Xvfb(wsb.tmp).start()
    try:
        blank = screen.screenshot()
        rc = wsb.tmp / "dunstrc"
        rc.write_text(DUNSTRC.format(icons=HERE.parents[1] / "packaging" / "desktop"))
        env = {**os.environ, "DISPLAY": screen.display,
               "DBUS_SESSION_BUS_ADDRESS": desk.bus.address}
        with open(wsb.tmp / "dunst.log", "ab") as log:
            dunst = subprocess.Popen(["dunst", "-config", str(rc)], env=env,
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            conn = desk.bus.connection()
            wait_for(lambda: conn.name_has_owner(SERVER_NAME), 10.0 * SLOW, "dunst on the bus")
            server, daemon = ntfy(wsb)
            n = desk.notifier(daemon, "home", "--preset", "ntfy")
            n.wait_log(r"notification server .* is there")
            n.wait_log(r"subscribed to home/\*")
            ntfy_publish(server, "Nightly backup of **/home** took 3m 12s", title="Backup done",
                         tags="white_check_mark,nas", markdown="yes", priority=2)
            ntfy_publish(server, "Build #107 failed on main: 3 tests", title="Build #107 FAILED",
                         tags="rotating_light", priority=5, click="https://ci.example.com/107")

            def displayed():
                r = subprocess.run(["dunstctl", "count", "displayed"], env=env,
                                   capture_output=True, text=True, timeout=10)
                return r.returncode == 0 and int(r.stdout.strip() or 0) >= 2
            wait_for(displayed, 10.0 * SLOW, "dunst to display two notifications")
            # dunst draws after it counts: wait until the screen stops changing.
            shots = [screen.screenshot()]

            def settled():
                shots.append(screen.screenshot())
                return shots[-1] == shots[-2] and shots[-1] != blank
            wait_for(settled, 10.0 * SLOW, "dunst to draw the notifications", interval=0.3)
            box = xshot.bounding_box(shots[-1], margin=6)
            picture = xshot.crop(shots[-1], *box)
            _, _, rows = picture
            colours = {row[i:i + 3] for row in rows for i in range(0, len(row), 3)}
            # The frames (red for the critical one, blue for the low one).
            assert b"\xc0\x1c\x28" in colours and b"\x2a\x6f\xb0" in colours, len(colours)
            # Two notifications, one above the other, with antialiased text.
            assert box[3] > 100 and len(colours) > 50, (box, len(colours))
            xshot.write_png(wsb.tmp / "dunst.png", *picture)
            if os.environ.get("WSB_SCREENSHOT"):
                xshot.write_png(os.environ["WSB_SCREENSHOT"], *picture)
        finally:
            dunst.terminate()
            dunst.wait(10)
    finally:
        screen.cleanup()
