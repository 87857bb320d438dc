"""``facetrack report`` on a real run, opened in a real browser (Debian's chromium, headless) at
a laptop's and a phone's width: the occupancy heatmap is on the page at the size the layout
gives it, the charts drew their series, and the phone page does not scroll sideways."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from facetrack.analytics.report_charts import OTS_COLOUR, target_colour
from tests.builders import assert_one_line_error, facetrack
from tests.integration.servers import require

LAYOUT = """\
targets:
  - {name: screen, kind: rect, rect: {x_m: 0, y_m: -0.3, width_m: 1.2, height_m: 0.7}}
  - {name: camera, kind: camera}
zones:
  left: [[0, 0], [960, 0], [960, 1080], [0, 1080]]
lines:
  middle: {a: [960, 0], b: [960, 1080]}
"""
#: the occupancy heatmap's width on the page (report_page.CSS): main is at most 1100 px wide
#: with 16 px padding, a section has a 1 px border and 16 px padding; under 640 px wide main's
#: padding is 10 px and a section's 12 px
LAPTOP, PHONE = 1280, 390
HEATMAP_WIDTH = {LAPTOP: 1100 - 2 * 16 - 2 * 17, PHONE: PHONE - 2 * 10 - 2 * 13}
#: injected into a copy of the page: a marker, green while the page is no wider than the
#: window, magenta once it scrolls sideways (measured again when the window is resized)
PROBE = """<div id="probe" style="position:fixed;left:0;top:0;width:40px;height:40px"></div>
<script>function probe(){var d=document.documentElement,m=document.getElementById('probe');
m.style.background=d.scrollWidth>d.clientWidth?'#ff00ff':'#00ff00'}
addEventListener('resize',probe);probe();new ResizeObserver(probe).observe(document.body);
</script>"""


def screenshot(browser: str, page: Path, shot: Path, width: int, height: int) -> np.ndarray:
    subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--force-device-scale-factor=1", f"--screenshot={shot}",
         f"--window-size={width},{height}", page.as_uri()],
        capture_output=True, timeout=60, check=True)
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (height, width), shot
    return image


def heatmap_match(shot: np.ndarray, heatmap: np.ndarray, width: int) -> tuple[float, int]:
    """The best normalised correlation of ``heatmap`` shrunk to about ``width`` px (a pixel
    either way, for rounding) anywhere in ``shot``, and the width that gave it."""
    best = (-1.0, 0)
    for w in range(width - 1, width + 2):
        h = round(heatmap.shape[0] * w / heatmap.shape[1])
        template = cv2.resize(heatmap, (w, h), interpolation=cv2.INTER_AREA)
        score = float(cv2.minMaxLoc(cv2.matchTemplate(shot, template, cv2.TM_CCOEFF_NORMED))[1])
        best = max(best, (score, w))
    return best


def pixels_of(shot: np.ndarray, colour: str) -> int:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return int((np.abs(shot.astype(int) - (b, g, r)).max(axis=2) <= 2).sum())


@pytest.mark.data
def test_report_of_a_real_run_in_a_real_browser(data_dir: Path, tmp_path: Path) -> None:
    browser = shutil.which("chromium")
    require(browser is not None, "chromium (Debian package)")
    assert browser is not None
    (tmp_path / "layout.yaml").write_text(LAYOUT)
    (tmp_path / "config.yaml").write_text("analytics:\n  window_s: 1.0\n")
    run = tmp_path / "run"
    proc = facetrack("track", str(data_dir / "demo_videos" / "videos" / "crowd_walking.mp4"),
                     "--out", str(run), "--analytics", "--targets", str(tmp_path / "layout.yaml"),
                     "--config", str(tmp_path / "config.yaml"), "-q")
    assert proc.returncode == 0, proc.stderr
    proc = facetrack("report", str(run))
    assert proc.returncode == 0, proc.stderr
    page = run / "report.html"
    assert proc.stdout.strip() == str(page)
    html = page.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "<h1>Audience report: crowd_walking.mp4</h1>" in html
    assert "<h2>Zones</h2>" in html and "<h2>Line crossings</h2>" in html

    laptop = screenshot(browser, page, tmp_path / "report_laptop.png", LAPTOP, 3200)
    phone = screenshot(browser, page, tmp_path / "report_phone.png", PHONE, 6400)
    print(f"\nscreenshots: {tmp_path / 'report_laptop.png'} {tmp_path / 'report_phone.png'}")

    heatmap = cv2.imread(str(run / "heatmap_occupancy.png"))
    for shot, width in ((laptop, LAPTOP), (phone, PHONE)):
        score, found = heatmap_match(shot, heatmap, HEATMAP_WIDTH[width])
        assert score >= 0.8, (width, score, found)
        # every series of the charts is drawn: bars (or lines) and the legend's swatch
        for colour, least in ((OTS_COLOUR, 2000), (target_colour(0), 100),
                              (target_colour(1), 100)):
            assert pixels_of(shot, colour) >= least, (width, colour)

    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    for width in (LAPTOP, PHONE):
        marker = screenshot(browser, probe, tmp_path / f"probe_{width}.png", width, 600)
        assert tuple(marker[20, 20]) == (0, 255, 0), f"the page scrolls sideways at {width} px"


def test_report_refuses_a_folder_without_audience(tmp_path: Path) -> None:
    proc = facetrack("report", str(tmp_path))
    assert_one_line_error(proc, 2, f"{tmp_path} has no audience.csv: run facetrack track "
                          "--analytics first")
    assert not (tmp_path / "report.html").exists()
