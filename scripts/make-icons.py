"""Draws static/icon-192.png and static/icon-512.png: the bar-chart mark of static/icon.svg, as PNG for
installable web apps. Standard library only (zlib + struct). Run: python3 scripts/make-icons.py"""
import struct
import zlib

BACKGROUND = (27, 31, 36)
BARS = [((12, 34, 8, 18), (230, 159, 0)), ((24, 24, 8, 28), (230, 159, 0)),
        ((36, 14, 8, 38), (230, 159, 0)), ((48, 28, 8, 24), (86, 180, 233))]


def pixel(x, y):
    """Colour at (x, y) in the 64x64 design."""
    for (bx, by, bw, bh), colour in BARS:
        if bx <= x < bx + bw and by <= y < by + bh:
            return colour
    return BACKGROUND


def png(size):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            row.extend(pixel(x * 64 / size, y * 64 / size))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


for size in (192, 512):
    with open(f"static/icon-{size}.png", "wb") as f:
        f.write(png(size))
