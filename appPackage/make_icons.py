"""Draw the Teams app icons (run once; the PNGs are committed): ``python appPackage/make_icons.py``.

color.png: 192x192, full colour (white inbox tray and arrow on the accent colour).
outline.png: 32x32, the same shape in white on a transparent background, as Teams requires.
PNGs are written with zlib alone (RGBA, 8 bits, no filter), so no imaging library is needed.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACCENT = (0x4F, 0x6B, 0xED)
SAMPLES = 4  # per axis: anti-aliased edges


def inside(x: float, y: float) -> bool:
    """The shape in unit coordinates: an inbox tray with an arrow going into it."""
    tray = 0.18 <= x <= 0.82 and 0.55 <= y <= 0.82
    hollow = 0.26 <= x <= 0.74 and y <= 0.74
    shaft = 0.45 <= x <= 0.55 and 0.14 <= y <= 0.42
    head = 0.38 <= y <= 0.56 and abs(x - 0.5) <= (0.56 - y) * 0.9
    return (tray and not hollow) or shaft or head


def coverage(size: int, column: int, row: int) -> float:
    hits = sum(
        inside((column + (i + 0.5) / SAMPLES) / size, (row + (j + 0.5) / SAMPLES) / size)
        for i in range(SAMPLES)
        for j in range(SAMPLES)
    )
    return hits / SAMPLES**2


def png(size: int, pixel: object) -> bytes:
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(column, row)) for column in range(size))  # type: ignore[operator]
        for row in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # RGBA, 8 bits per channel
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def color_pixel(column: int, row: int) -> tuple[int, int, int, int]:
    white = coverage(192, column, row)
    r, g, b = (round(c + (255 - c) * white) for c in ACCENT)
    return (r, g, b, 255)


def outline_pixel(column: int, row: int) -> tuple[int, int, int, int]:
    return (255, 255, 255, round(255 * coverage(32, column, row)))


if __name__ == "__main__":
    (HERE / "color.png").write_bytes(png(192, color_pixel))
    (HERE / "outline.png").write_bytes(png(32, outline_pixel))
