"""A private X server (Xvfb) for the screenshot test, and its screen as a PNG
without ImageMagick: xwd's dump (X Window Dump, ZPixmap, 24/32 bits per
pixel) decoded and written with zlib."""

import pathlib
import struct
import subprocess
import threading
import zlib

from wsbtest import SLOW, tail

XWD_HEADER = struct.Struct(">25I")


class Xvfb:
    def __init__(self, workdir, size="800x600"):
        self.log_path = workdir / "xvfb.log"
        self.size = size
        self.proc = None
        self.display = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                ["Xvfb", "-displayfd", "1", "-screen", "0", f"{self.size}x24", "-nolisten", "tcp",
                 "-noreset"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        result = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(20.0 * SLOW)
        number = result[0].decode().strip() if result else ""
        assert number.isdigit(), (f"Xvfb printed no display number (exit {self.proc.poll()}):\n"
                                  f"{tail(self.log_path)}")
        self.display = f":{number}"
        return self

    def screenshot(self):
        """The root window as (width, height, rows of (r, g, b) bytes)."""
        dump = subprocess.run(["xwd", "-root", "-silent", "-display", self.display],
                              capture_output=True, check=True, timeout=30).stdout
        return decode_xwd(dump)

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def decode_xwd(data):
    h = XWD_HEADER.unpack_from(data)
    header_size, version, pixmap_format, depth, width, height = h[:6]
    byte_order, bits_per_pixel, bytes_per_line, ncolors = h[7], h[11], h[12], h[19]
    red_mask, green_mask, blue_mask = h[14], h[15], h[16]
    # Xvfb's 24-bit depth comes as 24 or 32 bits per pixel (the server's
    # pixmap formats decide); bytes_per_line may hold padding.
    assert version == 7 and pixmap_format == 2 and bits_per_pixel in (24, 32), h
    size = bits_per_pixel // 8
    offset = header_size + ncolors * 12
    order = "little" if byte_order == 0 else "big"
    shifts = [(m, (m & -m).bit_length() - 1) for m in (red_mask, green_mask, blue_mask)]
    rows = []
    for y in range(height):
        line = data[offset + y * bytes_per_line: offset + y * bytes_per_line + width * size]
        row = bytearray()
        for x in range(0, width * size, size):
            p = int.from_bytes(line[x:x + size], order)
            row += bytes(((p & m) >> s) & 0xFF for m, s in shifts)
        rows.append(bytes(row))
    return width, height, rows


def write_png(path, width, height, rows):
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + row for row in rows)
    pathlib.Path(path).write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def crop(image, x, y, w, h):
    width, height, rows = image
    return w, h, [row[x * 3:(x + w) * 3] for row in rows[y:y + h]]


def bounding_box(image, margin=0):
    """(x, y, w, h) of what is not the black background, MARGIN added."""
    width, height, rows = image
    ys = [y for y, row in enumerate(rows) if row.strip(b"\x00")]
    assert ys, "the screen is blank"
    xs = [x for row in rows for x in (len(row) - len(row.lstrip(b"\x00")),
                                      len(row.rstrip(b"\x00"))) if row.strip(b"\x00")]
    x0, x1 = max(min(xs) // 3 - margin, 0), min((max(xs) + 2) // 3 + margin, width)
    y0, y1 = max(ys[0] - margin, 0), min(ys[-1] + 1 + margin, height)
    return x0, y0, x1 - x0, y1 - y0
