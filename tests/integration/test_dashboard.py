"""The dashboard in a real browser: Debian's chromium (headless) driven through Debian's
chromedriver by Selenium, against a real ``facetrack monitor`` process whose ``api:`` serves it,
with one camera playing synth01 in a loop, recognition on (two people enrolled), alerts with
clips, and two hours of stored audience windows.

The scenario: log in; the camera is online and its live picture paints; the events timeline
changes when filtered to alerts; an alert's clip plays in the page; a face is enrolled from an
event into a new person (a job, followed to the end) who then is on the people page; log out
shows the login form again. Every page is photographed at 1280x800 and 390x844 (copied to
``$FACETRACK_TEST_OUTPUT`` when set), the phone layout never scrolls sideways, and the first
contentful paint of the login page and of the live page is printed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from benchmarks._common import stop_process
from facetrack.cli import app
from tests.integration.servers import free_port, require, wait_port

pytestmark = pytest.mark.data

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PASSWORD = "a-long-password"
NEW_PERSON = "Visitor Zoë"
SIZES = {"laptop": (1280, 800), "phone": (390, 844)}
PAGES = ["live", "events", "people", f"people/{NEW_PERSON}", "unknowns", "audience", "admin",
         "settings"]


def seed_audience(events: Path) -> None:
    """Two hours of 5-minute audience windows of camera door (whole image and one zone), as a
    monitor with analytics stores them: the charts get data without the test paying for face
    mesh analysis on every frame (the monitor's own windows would close too late to show)."""
    from datetime import UTC, datetime, timedelta

    from facetrack.analytics.windows import BUCKET_COLUMNS
    from facetrack.storage.audience import AudienceStore

    end = datetime.now(UTC).replace(second=0, microsecond=0)
    rows = []
    for i in range(24):
        start = end - timedelta(minutes=5 * (24 - i))
        for zone, share in (("all", 1.0), ("entrance", 0.5)):
            ots = round((6 + 5 * ((i * 7) % 5) + i // 3) * share)
            watchers = round(ots * (0.4 + 0.1 * (i % 4)))
            dwell = [ots // 2, ots // 4, ots // 8, ots // 16, ots - ots // 2 - ots // 4
                     - ots // 8 - ots // 16]
            rows.append({
                "camera": "door", "zone": zone, "target": "camera",
                "window_start": start.isoformat(timespec="milliseconds"),
                "window_end": (start + timedelta(minutes=5)).isoformat(timespec="milliseconds"),
                "ots": ots, "watchers": watchers, "glances": watchers, "smiles": 0,
                "entries": ots, "exits": ots, **dict(zip(BUCKET_COLUMNS, dwell, strict=True)),
                "conversion": watchers / ots if ots else None, "dwell_mean_s": 9.5,
                "attention_mean_s": 2.5, "attention_total_s": 2.5 * watchers,
                "attraction": 0.25, "occupancy_mean": ots / 10})
    with AudienceStore(events) as store:
        for i in range(0, len(rows), 2):
            store.add(rows[i:i + 2])


@pytest.fixture()
def monitor(data_dir: Path, live_clip: Path, tmp_path: Path) -> Iterator[str]:
    """``facetrack monitor`` in its own process; yields the dashboard's base URL."""
    seq = data_dir / "synth_tracks" / "synth01"
    runner = CliRunner()
    faces = tmp_path / "faces.db"
    for photo in sorted((seq / "enrollment").glob("*.jpg")):
        res = runner.invoke(app, ["db", "enroll", photo.stem, str(photo), "--db", str(faces)])
        assert res.exit_code == 0, res.output
    events = tmp_path / "ev.db"
    res = runner.invoke(app, ["users", "add", "admin", "--role", "admin", "--password-stdin",
                              "--store", str(events)], input=PASSWORD + "\n")
    assert res.exit_code == 0, res.output
    seed_audience(events)
    port = free_port()
    config = {
        "store": {"events_db": str(events), "events_jsonl": None},
        "clips": {"dir": str(tmp_path / "clips")},
        "api": {"port": port, "jobs_dir": str(tmp_path / "jobs")},
        "cameras": [{
            "name": "door", "source": str(live_clip), "loop": True,
            "alerts": {"mode": "ON_ALL", "holdoff_s": 1000},
            "clips": {"enabled": True, "pre_s": 1, "post_s": 1},
            "tracker": {"recognition": {"enabled": True, "database": str(faces)}},
        }],
    }
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(config))
    log = (tmp_path / "monitor.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "facetrack", "monitor", str(path)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
        log.close()
    assert proc.returncode == 0, (tmp_path / "monitor.log").read_text()[-3000:]


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Any]:
    """Debian's chromium through Debian's chromedriver, both named explicitly so Selenium
    Manager never looks for (or downloads) a browser or driver."""
    require(CHROMIUM.is_file() and CHROMEDRIVER.is_file(),
            "chromium and chromedriver (Debian chromium, chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        require(False, "selenium (pip install selenium)")
        raise
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--hide-scrollbars",
                 "--autoplay-policy=no-user-gesture-required",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,800"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # the live page holds MJPEG streams open: "load" would wait for them for ever
    options.page_load_strategy = "eager"
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait(cond: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll ``cond`` until it returns something true; its value."""
    end = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < end:
        try:
            value = cond()
            if value:
                return value
        except Exception as exc:  # a stale element while the page redraws: try again
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}"
                         + (f" (last error: {last})" if last else ""))


class Dashboard:
    """The browser on the dashboard: pages by hash, screenshots at both sizes."""

    def __init__(self, driver: Any, base: str, shots: Path) -> None:
        self.driver, self.base, self.shots = driver, base, shots
        self.saved: list[Path] = []
        shots.mkdir(parents=True, exist_ok=True)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def css(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def one(self, selector: str, timeout: float = 20.0) -> Any:
        return wait(lambda: next(iter(self.css(selector)), None), timeout, selector)

    def size(self, name: str) -> None:
        width, height = SIZES[name]
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1,
            "mobile": name == "phone"})

    def open(self, page: str, timeout: float = 20.0) -> None:
        """Go to ``#/page`` and wait until the page has drawn its data."""
        from urllib.parse import quote

        hash_ = "#/" + "/".join(quote(p, safe="") for p in page.split("/"))
        self.js("location.hash = arguments[0]", hash_)
        ready = page.split("/")[0]
        wait(lambda: self.js("return document.getElementById('view').dataset.ready")
             in (ready, "error"), timeout, f"page {page}")
        assert self.js("return document.getElementById('view').dataset.ready") == ready, \
            self.one("#view").text

    def shot(self, name: str, at: Any = None) -> Path:
        """A screenshot of the viewport, scrolled to the top or to element ``at``."""
        width, height = (self.js("return [innerWidth, innerHeight]"))
        path = self.shots / f"{name}-{width}x{height}.png"
        if at is None:
            self.js("window.scrollTo(0, 0)")
        else:
            self.js("arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -70)", at)
        time.sleep(0.15)
        self.driver.save_screenshot(str(path))
        self.saved.append(path)
        return path

    def no_sideways_scroll(self, page: str) -> None:
        scroll, inner = self.js(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, f"{page}: {scroll} px wide in a {inner} px viewport"

    def console_errors(self) -> list[str]:
        """Errors the page logged (script errors, CSP refusals), less the failed requests
        the scenario makes on purpose (a wrong password, /api/auth/me once logged out)."""
        return [e["message"] for e in self.driver.get_log("browser")
                if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]

    def first_paint(self) -> float:
        return float(wait(lambda: self.js(
            "const p = performance.getEntriesByType('paint')"
            ".find(e => e.name === 'first-contentful-paint'); return p && p.startTime"),
            10, "first-contentful-paint"))


def every_page(ui: Any) -> None:
    """Every page at both sizes (the live page's frame and the audience totals drawn); the
    phone never scrolls sideways."""
    for size in ("laptop", "phone"):
        ui.size(size)
        for page in PAGES:
            ui.open(page)
            if page == "live":
                wait(lambda: ui.js("const i = document.querySelector('.cam-card img');"
                                   "return i && i.naturalWidth > 0"), 20, "a live frame")
            if page == "audience":  # the stored windows' totals, and the zone they name
                ui.one("#aud-zone option[value='entrance']")
                wait(lambda: ui.js("const v = document.querySelector('#aud-totals "
                                   ".total-value'); return v && v.textContent !== '0'"),
                     20, "the audience totals")
            if size == "phone":
                ui.no_sideways_scroll(page)
            ui.shot("person" if page.startswith("people/") else page)


def test_dashboard_in_a_real_browser(monitor: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    started = time.monotonic()
    ui = Dashboard(browser, monitor, tmp_path / "screens")
    ui.size("laptop")

    # the login form, and how soon it paints
    browser.get(monitor + "/")  # redirected to /ui/
    ui.one("#login-form")
    paint_login = ui.first_paint()
    ui.shot("login")
    ui.one("#login-name").send_keys("admin")
    ui.one("#login-password").send_keys("wrong password")
    ui.one("#login-submit").click()
    assert "wrong name or password" in ui.one("#login-form .error:not([hidden])").text
    ui.one("#login-password").clear()
    ui.one("#login-password").send_keys(PASSWORD, Keys.ENTER)

    # live: the camera is online and its stream paints
    wait(lambda: ui.js("return document.getElementById('view').dataset.ready") == "live", 20,
         "the live page")
    card = ui.one(".cam-card[data-camera='door']")
    wait(lambda: card.get_attribute("data-online") == "true", 30, "camera door online")
    wait(lambda: ui.js("const i = document.querySelector('.cam-card img');"
                       "return i && i.complete && i.naturalWidth > 0"), 30, "a live frame")
    assert "online" in card.find_element("css selector", ".badge").text.lower()
    time.sleep(0.5)  # a few stream frames in
    ui.shot("live")
    # first paint of the live page, logged in (the session cookie survives the reload)
    browser.refresh()
    ui.one(".cam-card[data-camera='door']")
    paint_live = ui.first_paint()

    # events: filtering by kind changes the list
    ui.open("events")
    wait(lambda: ui.css("#event-list .event"), 20, "events")
    kinds_all = {e.get_attribute("data-kind") for e in ui.css("#event-list .event")}
    assert kinds_all - {"alert"}, kinds_all
    ui.one("#filter-kinds [data-kind='alert']").click()
    wait(lambda: "kind=alert" in browser.current_url, 5, "the filter in the address")

    def only_alerts_with_a_clip() -> Any:
        rows = ui.css("#event-list .event")
        if rows and all(r.get_attribute("data-kind") == "alert" for r in rows):
            return ui.css("#event-list .event .play-clip")
        return None

    def clips_listed() -> Any:
        found = only_alerts_with_a_clip()
        if not found:  # the clip is written post_s after its alert: look again
            ui.one("#events-refresh").click()
            time.sleep(0.5)
        return found

    wait(clips_listed, 30, "alerts with clips")
    # an alert's clip plays in the page
    row = ui.css("#event-list .event .play-clip")[0].find_element("xpath", "ancestor::li")
    row.find_element("css selector", ".play-clip").click()
    video = ui.one("video.clip-video")
    wait(lambda: ui.js("return arguments[0].readyState", video) >= 2, 20, "the clip to load")
    wait(lambda: ui.js("const v = arguments[0]; return v.duration > 0 && v.currentTime > 0",
                       video), 20, "the clip to play")
    ui.shot("events-clip", at=row)

    # "add this face to…" a new person, through the from-event job
    row.find_element("css selector", ".enrol-event").click()
    ui.one("#enrol-dialog[open]")
    ui.one("#enrol-name").send_keys(NEW_PERSON)
    ui.one("#enrol-submit").click()
    ui.one("#enrol-dialog .job")
    wait(lambda: ui.css("#enrol-done:not([hidden]), #enrol-dialog .error:not([hidden])"),
         60, "the enrolment job")
    errors = ui.css("#enrol-dialog .error:not([hidden])")
    assert not errors, errors[0].text
    assert NEW_PERSON in ui.one("#enrol-done").text
    ui.shot("enrol")
    ui.one("#enrol-close").click()

    # the new person is on the people page, and has a page of their own
    ui.open("people")
    ui.one(f"#people-list [data-person='{NEW_PERSON}']")
    ui.shot("people-enrolled")
    ui.open(f"people/{NEW_PERSON}")
    assert ui.one("#person-name").text == NEW_PERSON

    every_page(ui)
    ui.one("#nav-toggle").click()  # the collapsed menu opens on the phone
    ui.one("#nav.open")
    ui.shot("menu")
    ui.one("#nav-toggle").click()

    # log out: the login form again, and the session is gone for the API too
    ui.one("#logout").click()
    ui.one("#login-form")
    ui.no_sideways_scroll("login")
    ui.shot("login")
    assert ui.js("return fetch('/api/auth/me').then(r => r.status)") == 401
    assert not ui.console_errors()
    browser.refresh()  # the login page again, with the browser warm
    ui.one("#login-form")
    paint_login_warm = ui.first_paint()

    out = os.environ.get("FACETRACK_TEST_OUTPUT")
    if out:
        dest = Path(out) / "dashboard"
        dest.mkdir(parents=True, exist_ok=True)
        for path in ui.saved:
            shutil.copy(path, dest / path.name)
    for path in ui.saved:
        print(f"screenshot: {path}" + (f" (copied to {out}/dashboard)" if out else ""))
    print(f"first-contentful-paint: login page {paint_login:.0f} ms (fresh browser), "
          f"{paint_login_warm:.0f} ms (reloaded); live page logged in {paint_live:.0f} ms")
    print(f"scenario took {time.monotonic() - started:.1f} s")
    with contextlib.suppress(Exception):
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
