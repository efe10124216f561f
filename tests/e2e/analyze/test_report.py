"""report.html (analyze/report/) in a real headless browser (tests/browser.py)."""

from __future__ import annotations

import matplotlib.image
import pytest

from tests.browser import find_browser, measure_page, screenshot


def test_report_reads_at_laptop_width_in_a_headless_browser(tiny_pair, tmp_path):
    """Rendered by a real browser at 1366 x 900: text and title drawn, nothing wider than the window
    (also with every <details> opened), every image decoded."""
    report = tiny_pair.run / "report.html"
    measured = measure_page(report, tmp_path)
    assert measured["h1"] == "Organism report: tiny-hidden-hint" and measured["h1_height"] > 0
    assert measured["text_length"] > 2000
    assert 1300 < measured["viewport"] <= 1366  # the window's width, less a scrollbar
    assert measured["scroll_width"] <= measured["viewport"], measured
    assert measured["scroll_width_details_open"] <= measured["viewport"], measured
    assert measured["images"] == 7 and measured["broken"] == []
    pixels = matplotlib.image.imread(screenshot(report, tmp_path / "report.png"))
    assert pixels.shape[:2] == (900, 1366) and pixels[..., :3].std() > 0.05  # drawn, not a blank page


def test_a_missing_browser_fails_the_test_with_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.delenv("COT_BROWSER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="`make test` installs Debian's chromium"):
        find_browser()
