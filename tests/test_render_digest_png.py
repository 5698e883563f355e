"""Render the sample digest in headless Chromium, at phone and desktop width, and check the
screenshots: something was drawn, and nothing overflows the phone's width.

Look at the PNGs yourself after a layout change:
``pytest -m browser tests/test_render_digest_png.py --basetemp=/tmp/digest-png``.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from pipeline.digest import render_digest
from tests.fixtures_delivery import sample_digest

BACKGROUND = (0xEE, 0xF1, 0xF5)  # the page colour around the card in digest.html
pytestmark = pytest.mark.browser


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.fail("headless Chromium is needed: apt-get install chromium")


def screenshot(html: Path, png: Path, width: int, height: int) -> None:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={png.parent / 'profile'}",
        f"--screenshot={png}",
        f"--window-size={width},{height}",
        html.as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=90)


def read_png(path: Path) -> tuple[int, int, list[list[tuple[int, ...]]]]:
    """Width, height and RGB rows of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    position = 8
    idat = b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        idat += body if kind == b"IDAT" else b""
        chunks.setdefault(kind, body)
        position += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8 and color in (2, 6)
    channels = 3 if color == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = unfilter(
            raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels
        )
        rows.append([tuple(line[x : x + 3]) for x in range(0, stride, channels)])
        previous = line
    return width, height, rows


def unfilter(kind: int, line: bytearray, prior: bytearray, bpp: int) -> bytearray:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up, corner = prior[i], prior[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            line[i] = (
                line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)
            ) & 0xFF
    return line


@pytest.mark.parametrize(("width", "height"), [(420, 1600), (1200, 1400)])
def test_the_sample_digest_renders_as_a_readable_page(tmp_path, width, height):
    matches, ctx = sample_digest()
    html = tmp_path / "digest.html"
    html.write_text(render_digest(matches, ctx).html, encoding="utf-8")
    png = tmp_path / f"digest-{width}.png"
    screenshot(html, png, width, height)

    got_width, got_height, rows = read_png(png)
    assert (got_width, got_height) == (width, height)
    pixels = [pixel for row in rows[::4] for pixel in row[::4]]
    drawn = sum(pixel != BACKGROUND for pixel in pixels) / len(pixels)
    ink = sum(max(pixel) < 140 for pixel in pixels) / len(pixels)  # dark text
    assert drawn > 0.3, "the card should fill most of the page"
    assert 0.005 < ink < 0.3, "there should be text, and not a black page"
    assert len(set(pixels)) > 50, "text, badges and highlights draw many colours"
    # At phone width the card keeps its 8px margin: the right edge is page background,
    # so nothing made the layout wider than the screen.
    edge = [row[width - 3] for row in rows[: height // 2]]
    assert sum(pixel == BACKGROUND for pixel in edge) / len(edge) > 0.95
