"""A real headless browser (Chromium or Chrome) opening a page at a given window size.

No driver package: the browser's own `--dump-dom` prints the DOM once the page has loaded, and a
script appended to a copy of the page writes its measurements into that DOM first. `make test`
installs Chromium where apt can (Makefile: `browser`); COT_BROWSER names another binary.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

# Runs on load: the layout as a reader gets it, then again with every <details> opened.
MEASURE = """<script>
window.addEventListener("load", () => {
  const root = document.documentElement;
  const closed = root.scrollWidth;
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const h1 = document.querySelector("h1");
  const images = [...document.images];
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({
    viewport: root.clientWidth,
    scroll_width: closed,
    scroll_width_details_open: root.scrollWidth,
    images: images.length,
    broken: images.filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.alt),
    h1: h1 ? h1.textContent : null,
    h1_height: h1 ? h1.getBoundingClientRect().height : 0,
    text_length: document.body.innerText.length,
  });
  document.body.appendChild(out);
});
</script>"""


def find_browser() -> str:
    """The browser binary, or a failed test that says how to get one (never a skip)."""
    named = os.environ.get("COT_BROWSER")
    found = named if named and shutil.which(named) else next(filter(None, map(shutil.which, NAMES)), None)
    if found is None:
        pytest.fail(
            "no headless browser for the report test: `make test` installs Debian's chromium where apt-get "
            "works; otherwise install Chromium or Chrome, or point COT_BROWSER at one "
            f"(looked for COT_BROWSER={named!r} and {', '.join(NAMES)} on PATH)"
        )
    return found


def _run(browser: str, profile: Path, args: list[str], width: int, height: int) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", f"--window-size={width},{height}"]
    flags += [f"--user-data-dir={profile}", "--virtual-time-budget=10000"]
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=180)


def measure_page(page: Path, work: Path, width: int = 1366, height: int = 900) -> dict:
    """Open a copy of `page` with MEASURE appended; return what it measured."""
    browser = find_browser()
    checked = work / f"measured-{page.name}"
    checked.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
    result = _run(browser, work / "profile", ["--dump-dom", checked.resolve().as_uri()], width, height)
    match = re.search(r'<pre id="measured">(.*?)</pre>', result.stdout, re.S)
    assert match, f"{browser} printed no measurements (exit {result.returncode}): {result.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1)))


def screenshot(page: Path, out: Path, width: int = 1366, height: int = 900) -> Path:
    """A PNG of the top of `page` as the browser draws it."""
    browser = find_browser()
    result = _run(browser, out.parent / "profile", [f"--screenshot={out}", page.resolve().as_uri()], width, height)
    assert out.exists(), f"{browser} wrote no screenshot (exit {result.returncode}): {result.stderr[-2000:]}"
    return out
