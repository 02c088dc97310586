"""Render HTML reports in headless Chromium: a screenshot each, and no console errors.

    python -m tests.browser [--out DIR]     # every example's quote and plan, and a comparison

Chromium is Debian's `chromium` package; this script installs it with apt-get when it is
missing and it can (root, apt available), else says why it cannot run. The test suite
(`tests/test_browser.py`) runs the same checks when Chromium is present and skips with the
reason when not.

A report is checked four ways: it references nothing outside the file (no URL in src/href/url(),
no script), Chromium logs no console message while loading it (the report has no script, so any
message is an error: a failed resource, a parse problem), the rendered DOM has the charts and
tables, and the screenshot is not blank.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
ENTRY = [sys.executable, "-c", "from estimator.cli import main; main()"]
_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]? ?(.*)")
_EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//"""
)


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def install() -> str:
    """Install Debian's chromium package; return why not when it cannot."""
    if chromium():
        return ""
    if shutil.which("apt-get") is None:
        return "Chromium is not installed and apt-get is not available"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "Chromium is not installed and installing it needs root (apt-get install chromium)"
    done = subprocess.run(
        ["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, text=True
    )
    if done.returncode != 0 or not chromium():
        return f"apt-get install chromium failed: {done.stderr.strip()[-300:]}"
    return ""


@dataclass
class Checked:
    page: Path
    screenshot: Path
    console: list[str]  # console messages (each one is a failure)
    external: list[str]  # references outside the file
    figures: int  # <svg> charts in the rendered DOM
    tables: int
    ink: float  # share of non-white pixels in the screenshot

    @property
    def problems(self) -> list[str]:
        out = [f"console: {m}" for m in self.console]
        out += [f"external reference: {e}" for e in self.external]
        if self.figures == 0:
            out.append("no chart in the rendered page")
        if self.tables == 0:
            out.append("no table in the rendered page")
        if self.ink < 0.01:
            out.append(f"the screenshot is blank ({self.ink:.2%} ink)")
        return out


def check_page(page: Path, screenshot: Path, browser: str) -> Checked:
    """Load `page` in headless Chromium with the network disabled; screenshot and DOM."""
    html = page.read_text(encoding="utf-8")
    external = sorted(set(_EXTERNAL.findall(html)))
    if re.search(r"<script\b", html, re.I):
        external.append("<script>")
    flags = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--enable-logging=stderr", "--v=0", "--host-resolver-rules=MAP * ~NOTFOUND",
    ]  # fmt: skip
    url = page.resolve().as_uri()
    shot = subprocess.run(
        [*flags, f"--screenshot={screenshot}", "--window-size=1280,2400", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = subprocess.run(
        [*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120
    ).stdout
    console = [m.group(1) for m in _CONSOLE.finditer(shot.stderr)]
    return Checked(
        page=page,
        screenshot=screenshot,
        console=console,
        external=external,
        figures=len(re.findall(r"<figure\b[^>]*>\s*<figcaption", dom)),
        tables=len(re.findall(r"<table\b", dom)),
        ink=_ink(screenshot),
    )


# Run in a copy of a page (the reports have no script): the heading of each table wider than
# the page's column, as the body's data attribute `--dump-dom` prints.
_MEASURE = """<script>
const column = parseFloat(getComputedStyle(document.body).width);
const wide = [...document.querySelectorAll("table")]
  .filter(t => t.getBoundingClientRect().width > column + 0.5)
  .map(t => { const box = t.parentElement.classList.contains("wide") ? t.parentElement : t;
              let h = box.previousElementSibling;
              while (h && h.tagName !== "H2") h = h.previousElementSibling;
              return h ? h.textContent : "?"; });
document.body.setAttribute("data-wider", wide.join("|"));
</script>"""


def wider_than_the_page(page: Path, browser: str, width: int = 1400) -> list[str]:
    """The headings of the tables of `page` wider than its content column in a window `width`
    pixels wide (rev20a #7: the phases table ran past the 1,100 px page, its last columns cut)."""
    with tempfile.TemporaryDirectory(prefix="splitcompute-measure-") as folder:
        copy = Path(folder) / page.name
        html = page.read_text(encoding="utf-8")
        copy.write_text(html.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
        flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 f"--window-size={width},2000",
                 "--host-resolver-rules=MAP * ~NOTFOUND"]  # fmt: skip
        dom = subprocess.run(
            [*flags, "--dump-dom", copy.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    found = re.search(r'data-wider="([^"]*)"', dom)
    if found is None:
        raise RuntimeError(f"could not measure {page}: no data-wider in the DOM")
    return [h for h in found.group(1).split("|") if h]


def _ink(png: Path) -> float:
    if not png.exists():
        return 0.0
    import matplotlib.image as mpimg

    pixels = mpimg.imread(png)[..., :3]
    return float((pixels.min(axis=-1) < 0.94).mean())


def reports(out: Path) -> list[Path]:
    """Write the HTML report of each example's quote and plan, and of a comparison."""
    pages = []
    examples = sorted(EXAMPLES.glob("*.toml"))
    for example in examples:
        for command in ("quote", "plan"):
            page = out / f"{command}-{example.stem}.html"
            _run([command, str(example), "--format", "html", "-o", str(page), "--force"])
            pages.append(page)
    page = out / "compare.html"
    _run(["compare", *map(str, examples[:4]), "--format", "html", "-o", str(page), "--force"])
    return [*pages, page]


def _run(args: list[str]) -> None:
    done = subprocess.run([*ENTRY, *args], capture_output=True, text=True, timeout=300)
    if done.returncode not in (0, 1) or "Traceback" in done.stderr:
        raise RuntimeError(f"splitcompute {' '.join(args)}: {done.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="Directory for pages and screenshots.")
    args = parser.parse_args(argv)
    why = install()
    if why:
        print(f"skipped: {why}")
        return 0
    browser = chromium()
    assert browser is not None
    out = args.out or Path(tempfile.mkdtemp(prefix="splitcompute-browser-"))
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for page in reports(out):
        checked = check_page(page, page.with_suffix(".png"), browser)
        status = "ok" if not checked.problems else "FAILED: " + "; ".join(checked.problems)
        print(f"{page.name}: {checked.figures} charts, {checked.tables} tables, "
              f"{checked.ink:.0%} ink -> {checked.screenshot.name}: {status}")  # fmt: skip
        failed += bool(checked.problems)
    print(f"{failed} of the pages failed; pages and screenshots in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
