"""The HTML outcomes report in headless Chromium: one self-contained file, charts drawn,
no request to any host, accessible tables; a screenshot is saved for people to look at.

Needs /usr/bin/chromium (scripts/setup_browser.sh installs it), as tests/test_web_widget.py.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
from pathlib import Path

import pytest

from chatbot.config import PROJECT_ROOT
from chatbot.db import make_engine
from chatbot.outcomes.render import render
from chatbot.outcomes.report import build_report
from chatbot.sources import load_sources
from tests.browser import AXE, headless_chromium

SCREENSHOT = PROJECT_ROOT / "var" / "screenshots" / "outcomes-report.png"


def _bench():
    """bench/report_bench.py's generator: the same realistic mix the timing uses."""
    spec = importlib.util.spec_from_file_location("report_bench", PROJECT_ROOT / "bench" / "report_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report_file(tmp_path_factory, knowledge) -> Path:
    folder = tmp_path_factory.mktemp("report")
    engine = make_engine(f"sqlite:///{folder / 'outcomes.db'}")
    bench = _bench()
    bench.create_schema(engine)
    bench.generate(engine, 6000)
    report = build_report(
        engine,
        knowledge,
        load_sources(PROJECT_ROOT / "knowledge"),
        dt.date(2026, 1, 1),
        dt.date(2026, 12, 31),
        area_id="islington",
        today=dt.date(2026, 12, 31),
    )
    engine.dispose()
    path = folder / "outcomes-report.html"
    path.write_text(render(report, "html"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as browser:
        yield browser


def test_the_file_names_no_other_host(report_file):
    html = report_file.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "<script" not in html.lower() and "@import" not in html and "url(http" not in html
    # The only URL in it is the SVG namespace, which is a name, never fetched.
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) <= {"http://www.w3.org/2000/svg"}


def test_the_report_renders_its_charts_with_no_request_to_any_host(browser, report_file):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.goto(report_file.as_uri())
    page.wait_for_load_state("networkidle")

    assert requests == [report_file.as_uri()], f"the page asked for more than itself: {requests}"
    assert problems == []
    funnel = page.locator("svg#funnel-chart")
    over_time = page.locator("svg#over-time-chart")
    assert funnel.is_visible() and over_time.is_visible()
    assert funnel.locator("rect").count() >= 5  # a bar per stage
    assert over_time.locator("rect").count() >= 12  # a bar per month, at least
    assert funnel.get_attribute("role") == "img" and funnel.locator("title").first.text_content()
    # Each chart sits beside a table with the same figures, with headers for screen readers.
    for key in ("referral_funnel", "referrals_over_time"):
        table = page.locator(f"#table-{key}")
        assert table.is_visible()
        assert table.locator("caption").inner_text()
        assert table.locator("th[scope=row]").count() >= 5
    assert page.locator("h1").inner_text() == "Outcomes report"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    context.close()


def test_the_report_has_no_accessibility_violations(browser, report_file):
    # The page's own policy forbids scripts, rightly: the checker is let in for the test only.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(report_file.as_uri())
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    violations = [(v["id"], v["help"], len(v["nodes"])) for v in result["violations"]]
    assert violations == []
    context.close()
