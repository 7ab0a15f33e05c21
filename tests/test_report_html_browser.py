"""A report rendered by a real browser: headless Chromium parses the page whole, logs no
console message, and paints text and plots (the screenshot is not one colour). `.ci/run`
installs Chromium from the OS packages; without it this test is skipped."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
# no sandbox: CI runs as root in a container, where Chromium's sandbox cannot start
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1200,900"]


def chromium(*args: str) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, *FLAGS, *args], capture_output=True, text=True, timeout=60, check=True)


def distinct_colours(png: bytes, rows: int) -> int:
    """How many colours the first `rows` rows of an 8-bit RGB(A) PNG hold (filters undone)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = height = depth = colour = 0
    data, at = b"", 8
    while at < len(png):
        (length,), kind = struct.unpack(">I", png[at : at + 4]), png[at + 4 : at + 8]
        chunk = png[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
        elif kind == b"IDAT":
            data += chunk
        at += 12 + length
    assert depth == 8 and colour in (2, 6), (depth, colour)
    step = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(data), width * step
    previous, seen = bytearray(stride), set()
    for row in range(min(rows, height)):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                guess = left + up - corner
                near = min(
                    (abs(guess - left), 0, left), (abs(guess - up), 1, up), (abs(guess - corner), 2, corner)
                )
                line[i] = (line[i] + near[2]) & 255
        seen.update(bytes(line[i : i + step]) for i in range(0, stride, step))
        previous = line
    return len(seen)


def test_chromium_renders_the_report(run_cli, demo_path: Path, tmp_path: Path) -> None:
    page = tmp_path / "evaluation.html"
    result = run_cli(
        "report", "evaluation", "15", "--html", str(page), "--project", "learner-support", workspace=demo_path
    )
    assert result.exit_code == 0, result.output
    dumped = chromium("--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri())
    assert ":CONSOLE" not in dumped.stderr  # no console message, error or other
    assert dumped.stdout.count("<svg") == 6 and "</footer>" in dumped.stdout  # parsed whole
    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", page.as_uri())
    assert distinct_colours(shot.read_bytes(), rows=120) > 10  # text and plots, not a blank page
