"""A report as one self-contained HTML file: charts as inline SVG, the tables, print styles.

Nothing is fetched when it is opened (no script, font or style from the network; no script at
all), so it can be mailed, archived and printed. The tables are those of the terminal report
(`report.tables`), the charts those of `report.charts`.
"""

from __future__ import annotations

import html
from datetime import date

from pydantic import BaseModel

from estimator.checks import counted
from estimator.report import charts
from estimator.report.plan_view import ComparisonView, PlanView, SensitivityView
from estimator.report.rows import displayed
from estimator.report.tables import spoken
from estimator.report.text import render
from estimator.report.view import QuoteView, excludes

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1b1b1b; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
h2 { font-size: 1.1rem; margin: 1.8rem 0 .5rem; border-bottom: 1px solid #ddd; }
.meta { color: #555; margin: 0 0 1rem; }
.total { font-size: 1.3rem; font-weight: 600; }
figure { margin: 1rem 0; break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr));
          gap: 0 1.5rem; }
table { border-collapse: collapse; margin: .3rem 0 1rem; font-size: 12.5px; }
th, td { padding: .25rem .35rem; border-bottom: 1px solid #e6e6e6; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
.wide { max-width: 100%; overflow-x: auto; }
td.nw { white-space: nowrap; }
td.block { color: #b00020; font-weight: 600; }
td.warn { color: #8a6100; font-weight: 600; }
footer { color: #777; font-size: 12px; margin-top: 2rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  .charts { display: block; }
  h2 { break-after: avoid; }
  table, figure { break-inside: avoid; }
  .wide { overflow: visible; }
}
"""


def html_report(view: BaseModel) -> str:
    """The whole page for a quote, plan, comparison or sensitivity view."""
    view = displayed(view)  # no raw control character in the page or its charts' SVG
    title, meta, figures = _summary(view)
    body = "\n".join(
        [
            *(f'<p class="meta">{line}</p>' for line in meta),
            '<section class="charts">',
            *(_figure(c) for c in figures),
            "</section>",
            render(view, "html"),
        ]
    )
    return page(title, body)


def page(title: str, body: str) -> str:
    """A self-contained HTML page: `body` (HTML) under `title`, with the report's styles."""
    body = (
        f"<h1>{html.escape(title)}</h1>\n{body}\n<footer>splitcompute report, generated "
        f"{date.today().isoformat()}. Money in the tables is rounded to cents; totals are the "
        "sums of the amounts shown.</footer>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="splitcompute">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>"
    )


def _figure(chart: charts.Chart) -> str:
    return (
        f'<figure id="chart-{chart.name}"><figcaption>{html.escape(chart.title)}</figcaption>'
        f"\n{charts.svg(chart)}\n</figure>"
    )


def _summary(view: BaseModel) -> tuple[str, list[str], list[charts.Chart]]:
    """Title, lines under it, and the charts of a view."""
    if isinstance(view, PlanView):
        title, meta, figures = _summary(view.quote)
        if view.uncertainty is not None:
            figures.append(charts.uncertainty(view.uncertainty, view.quote.currency))
        return f"Plan: {title}", [f"objective: {view.objective}", *meta], figures
    if isinstance(view, QuoteView):
        left_out = html.escape(excludes(view.unpriced, len(view.phases), view.blocked))
        total, other = (spoken(x, view.currency) for x in (view.total, view.total_other_view))
        meta = [
            f'<span class="total">{total} {view.currency}</span>{left_out} '
            f"({view.accounting} accounting; the other view: {other} {view.currency})",
            f"as of {view.as_of}; {counted(len(view.phases), 'phase')}, "
            f"{counted(len(view.transfers), 'transfer')}; {_count(view)}",
        ]
        return view.name, meta, charts.quote_charts(view)
    if isinstance(view, ComparisonView):
        meta = [f"{len(view.scenarios)} scenarios in {view.currency}"]
        return "Comparison", meta, [charts.comparison(view)]
    if isinstance(view, SensitivityView):
        total = spoken(view.total, view.currency)
        meta = [f"total {total} {view.currency}; inputs varied one at a time"]
        return f"Sensitivity: {view.name}", meta, [charts.tornado(view)]
    raise TypeError(f"no HTML report for {type(view).__name__}")


def _count(view: QuoteView) -> str:
    blocks = sum(f.severity == "block" for f in view.findings)
    warns = sum(f.severity == "warn" for f in view.findings)
    return html.escape(f"findings: {blocks} blocking, {counted(warns, 'warning')}")
