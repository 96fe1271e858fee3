"""Open an HTML report in headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven
by Selenium; nothing is downloaded) and say what the page did: console messages, rendered
charts, every URL it requested."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# A plotly chart is drawn once its div holds the main SVG and at least one trace or heatmap.
_CHARTS_JS = """
const divs = Array.from(document.querySelectorAll('div.plotly-graph-div'));
return divs.map(d => ({
  id: d.id,
  svg: d.querySelectorAll('svg.main-svg').length,
  traces: d.querySelectorAll('g.trace, g.hm, image, canvas').length,
}));
"""

# Every <img>: loaded (complete) and decoded to a non-empty picture (static PNG charts).
_IMAGES_JS = """
return Array.from(document.images).map(i => ({
  src: i.src.slice(0, 40), complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
}));
"""


@dataclass(frozen=True)
class PageCheck:
    """What the browser saw."""

    console: list[dict[str, object]]
    charts: list[dict[str, object]]
    requested: list[str]
    title: str
    images: list[dict[str, object]] = field(default_factory=list)

    @property
    def errors(self) -> list[dict[str, object]]:
        """Return console messages at SEVERE level (errors and failed loads)."""
        return [m for m in self.console if m.get("level") == "SEVERE"]

    @property
    def external(self) -> list[str]:
        """Return every requested URL that is not file: or data: (the network)."""
        return [u for u in self.requested if not u.startswith(("file:", "data:", "about:"))]


BROWSER_HOWTO = "run bash .ci/browser.sh (apt-get install chromium chromium-driver; needs root)"


def _require_browser() -> None:
    """Skip (visibly) without Chromium; under CI (CI=true) fail, so CI always runs these."""
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        reason = f"browser: {CHROMIUM} / {CHROMEDRIVER} missing; {BROWSER_HOWTO}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)


def _network_urls(perf_log: list[dict[str, object]]) -> list[str]:
    urls = []
    for entry in perf_log:
        msg = json.loads(str(entry["message"]))["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(str(msg["params"]["request"]["url"]))
    return urls


def open_report(path: Path) -> PageCheck:
    """Load ``path`` in headless Chromium and return console, charts and requests."""
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    try:
        driver.set_page_load_timeout(60)
        driver.get(path.resolve().as_uri())
        charts = driver.execute_script(_CHARTS_JS)
        images = driver.execute_script(_IMAGES_JS)
        resources = driver.execute_script(
            "return performance.getEntriesByType('navigation')"
            ".concat(performance.getEntriesByType('resource')).map(e => e.name)"
        )
        console = driver.get_log("browser")
        requested = [*_network_urls(driver.get_log("performance")), *resources]
        return PageCheck(console, list(charts), requested, str(driver.title), list(images))
    finally:
        driver.quit()


def assert_report_renders(path: Path, min_charts: int) -> PageCheck:
    """Open ``path`` and assert: no console error, every chart drawn, nothing from the network."""
    check = open_report(path)
    assert check.errors == [], check.errors
    assert len(check.charts) >= min_charts, check.charts
    blank = [c for c in check.charts if not (c["svg"] and c["traces"])]
    assert blank == [], blank
    assert check.external == [], check.external
    return check
