"""The HTML reports in a real browser (headless Chromium): charts and tables render, no console
errors, nothing fetched. Skipped, with the reason, where Chromium is not installed; `python -m
tests.browser` installs it and checks every example."""

from __future__ import annotations

import pytest

from tests import browser
from tests.conftest import EXAMPLES

BROWSER = browser.chromium()
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="Chromium is not installed (apt-get install chromium, or python -m tests.browser)",
)


@pytest.mark.parametrize(
    "args",
    [
        ["quote", str(EXAMPLES / "split_abroad_home.toml")],
        ["plan", str(EXAMPLES / "split_auto.toml"), "--samples", "2000"],
        ["compare", str(EXAMPLES / "split_abroad_home.toml"), str(EXAMPLES / "all_abroad.toml")],
    ],
    ids=["quote", "plan", "compare"],
)
def test_report_renders_without_console_errors(tmp_path, args):
    page = tmp_path / "report.html"
    browser._run([*args, "--format", "html", "-o", str(page)])
    assert BROWSER is not None
    checked = browser.check_page(page, tmp_path / "report.png", BROWSER)
    assert checked.problems == [], checked.problems
    assert checked.figures >= 1 and checked.tables >= 1 and checked.screenshot.stat().st_size


@pytest.mark.parametrize(
    ("command", "example"),
    [("quote", "split_abroad_home"), ("quote", "all_abroad"), ("plan", "split_auto")],
)
def test_the_report_tables_fit_the_page(tmp_path, command, example):
    # rev20a #7: the phases table was wider than the page's 1,100 px column, its per-million
    # price and `priced` columns cut at the right edge (all_abroad's has a `blocked` column too;
    # split_auto's placements table ran past it as well).
    page = tmp_path / "report.html"
    browser._run([command, str(EXAMPLES / f"{example}.toml"), "--format", "html", "-o", str(page)])
    assert BROWSER is not None
    assert browser.wider_than_the_page(page, BROWSER) == []


def test_the_check_can_fail(tmp_path):
    # A page with a script error, a console message and a remote image must not pass.
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="https://example.com/x.png">'
        '<script>console.error("boom"); missing();</script></body></html>',
        encoding="utf-8",
    )
    assert BROWSER is not None
    problems = browser.check_page(page, tmp_path / "bad.png", BROWSER).problems
    assert any("boom" in p for p in problems)
    assert any("missing is not defined" in p for p in problems)
    assert any(p.startswith("external reference") for p in problems)
    assert "no chart in the rendered page" in problems


def test_browser_script_reports_a_skip_reason_without_chromium(monkeypatch):
    monkeypatch.setattr(browser, "chromium", lambda: None)
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    assert browser.install() == "Chromium is not installed and apt-get is not available"
