"""Views -> table / markdown / HTML-table / CSV text. JSON is the views' own dump (`render`).

Every report is a list of named tables (`tables`): the terminal, markdown and HTML show them
all in order; CSV and `--table NAME` give one, so each CSV has one header and one kind of row.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from estimator.errors import ScenarioError
from estimator.report.plan_view import ComparisonView, PlanView, SensitivityView, ShockView
from estimator.report.rows import PLAIN, Cents, Terminal, render_rows, to_json
from estimator.report.view import LineItemView, QuoteView, UncertaintyView, non_finite

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Table:
    title: str
    rows: Rows
    optional: tuple[str, ...] = ()  # columns a narrow terminal leaves out first
    columns: tuple[str, ...] = ()  # the header of a table that may have no rows (CSV keeps it)


# The table CSV gives by default: one a spreadsheet can sum or sort.
CSV_DEFAULT = {
    QuoteView: "line-items",
    PlanView: "placements",
    ComparisonView: "comparison",
    SensitivityView: "sensitivity",
}


def render(view: BaseModel, fmt: str, term: Terminal = PLAIN, table: str | None = None) -> str:
    """Any view in any format, once every figure in it is known to be finite; `table` picks one
    of `tables(view)` (CSV default: CSV_DEFAULT)."""
    check_finite(view)
    if fmt == "json" and table is None:
        return view.model_dump_json(indent=2, by_alias=True)
    named = tables(view)
    if fmt in ("csv", "json") or table is not None:
        name = table or CSV_DEFAULT[type(view)]
        if name not in named:
            raise ScenarioError(
                f"'{name}' is not a table of this report: {', '.join(named)}", "--table"
            )
        t = named[name]
        if fmt == "json":
            return to_json(t.rows)
        if not t.rows and fmt != "csv":
            return _heading_only(t.title, fmt, "none")
        title = None if fmt == "csv" else t.title
        cols = t.columns or None
        return render_rows(t.rows, fmt, cols, title=title, term=term, optional=t.optional)
    head = _heading(view, fmt, term)
    parts = [head] if head else []
    for name, t in named.items():
        if t.rows:
            parts.append(render_rows(t.rows, fmt, title=t.title, term=term, optional=t.optional))
        elif name == "findings":  # "none" is an answer too
            parts.append(_heading_only(t.title, fmt, "none"))
        elif name == "shock":
            parts.append(_heading_only(t.title, fmt, ""))
    parts += [_fill(note, term) for note in _notes(view)]
    return "\n\n".join(parts)


def check_finite(view: BaseModel) -> None:
    """No output shows NaN or infinity: a figure that overflowed is an input beyond the range
    the model computes, said in one line (exit 2) instead of printed."""
    bad = non_finite(view)
    if bad:
        more = f" (and {len(bad) - 1:,} more)" if len(bad) > 1 else ""
        raise ScenarioError(
            f"a result is not a finite number ({bad[0]}{more}): the inputs are beyond the "
            "range the model computes"
        )


def tables(view: BaseModel) -> dict[str, Table]:
    """Every table of a report, by name, in the order shown."""
    if isinstance(view, QuoteView):
        return quote_tables(view)
    if isinstance(view, PlanView):
        out = quote_tables(view.quote)
        out.pop("uncertainty", None)
        title = "Placements — " + "; ".join(placement_summary(view))
        out["placements"] = Table(title, placement_rows(view), ("provider", "days", "devices"))
        if view.uncertainty is not None:
            out["uncertainty"] = uncertainty_table(view.uncertainty, view.quote.currency)
        if view.shock is not None:
            out["shock"] = shock_table(view.shock, view.quote.currency)
        return out
    if isinstance(view, ComparisonView):
        figures, words = _split_comparison(view.rows)
        return {
            "comparison": Table("Comparison", figures),
            "where": Table("Where, and what the rules say", words),
            "parts": Table("Parts", _parts(view)),
        }
    if isinstance(view, SensitivityView):
        return {"sensitivity": sensitivity_table(view)}
    raise TypeError(f"no renderer for {type(view).__name__}")


def _heading_only(title: str, fmt: str, body: str) -> str:
    if fmt == "html":
        return f"<h2>{html.escape(title)}</h2>\n<p>{body}</p>"
    if fmt == "markdown":
        return f"## {title}\n\n{body}".rstrip()
    return f"{title}\n{body}".rstrip()


def _m(amount: float) -> str:
    """An amount in a sentence: separators and cents."""
    return f"{amount:,.2f}"


def _heading(view: BaseModel, fmt: str, term: Terminal) -> str:
    if isinstance(view, PlanView):
        view = view.quote
    if not isinstance(view, QuoteView):
        return ""
    head = f"{view.name} — as of {view.as_of} — total {_m(view.total)} {view.currency}"
    if view.unpriced:
        head += f" (excludes unpriced: {', '.join(view.unpriced)})"
    other = "amortised" if view.accounting == "project" else "project"
    lines = [
        head,
        f"{view.accounting} accounting; {other} view: {_m(view.total_other_view)} {view.currency}",
    ]
    if fmt == "markdown":
        return f"# {lines[0]}\n\n{lines[1]}"
    if fmt == "html":
        return ""  # the HTML page has its own heading
    return "\n".join(_fill(line, term) for line in lines)


def _fill(text: str, term: Terminal) -> str:
    """A sentence wrapped to the terminal (as it is when the width is unknown)."""
    import textwrap

    return text if term.width is None else textwrap.fill(text, term.width)


def _notes(view: BaseModel) -> list[str]:
    notes = []
    if isinstance(view, SensitivityView) and any(s.swing == 0 for s in view.swings):
        notes.append(
            "A swing of 0 means the input changes the work but not the bill: a commitment's"
            " minimum term, whole instances or servers, or a fixed device count absorbs it."
        )
    shown = view.quote if isinstance(view, PlanView) else view
    if getattr(view, "uncertainty", None) is not None or getattr(shown, "uncertainty", None):
        notes.append(
            "Uncertainty: quoted = the headline figure (listed prices, default efficiencies); "
            "quoted at = its rank among the samples (P50 = the median; a listed price at the low "
            "end of its range puts the headline low)."
        )
    return notes


def _items(d: QuoteView) -> list[LineItemView]:
    return [i for p in d.phases for i in p.line_items] + [
        i for t in d.transfers for i in t.line_items
    ]


def quote_tables(d: QuoteView) -> dict[str, Table]:
    cur = d.currency
    out: dict[str, Table] = {
        "phases": Table(
            "Phases",
            [_phase_row(p, cur) for p in d.phases],
            ("priced", "end", "start", "kind", "device_hours"),
        ),
        "line-items": Table(
            "Line items",
            [_item_row(i, cur) for i in _items(d)],
            ("fx_per_usd", "unit_currency", "region", "unit_price"),
        ),
        "transfers": Table(
            "Transfers",
            [
                {
                    "from": t.from_,
                    "to": t.to,
                    "what": t.what,
                    "gigabytes": t.gigabytes,
                    "hours": t.hours,
                    "route": t.route,
                    f"cost ({cur})": Cents(t.cost),
                }
                for t in d.transfers
            ],
            ("hours", "what"),
            ("from", "to", "what", "gigabytes", "hours", "route", f"cost ({cur})"),
        ),
        "by-region": Table(
            "By region",
            [{"region": k, f"cost ({cur})": Cents(v)} for k, v in d.by_region.items()],
        ),
        "by-currency": Table(
            "By billing currency",
            [
                {
                    "billed in": k,
                    "amount (billed currency)": Cents(v.amount),
                    f"amount ({cur})": Cents(v.converted),
                }
                for k, v in d.by_currency.items()
            ],
        ),
        "cash-flow": Table(
            f"Cash flow by month ({cur})",
            [
                {
                    "month": m.month,
                    **{k: Cents(v) for k, v in m.model_dump().items() if k != "month"},
                }
                for m in d.cash_flow
            ],
            ("transfer", "operations", "energy"),
        ),
        "findings": Table(
            "Findings",
            [
                {
                    "severity": f.severity,
                    "code": f.code,
                    "phase": f.phase or "",
                    "message": f.message,
                }
                for f in d.findings
            ],
            columns=("severity", "code", "phase", "message"),
        ),
        "assumptions": Table(
            "Assumptions",
            [{"assumption": k, "value": _assumption(v)} for k, v in d.assumptions.items()],
        ),
    }
    if d.uncertainty is not None:
        out["uncertainty"] = uncertainty_table(d.uncertainty, cur)
    return out


def _phase_row(p: Any, cur: str) -> dict[str, Any]:
    return {
        "phase": p.name,
        "kind": p.kind,
        "region": p.region,
        "accelerator": p.accelerator,
        "pricing": p.pricing,
        "devices": p.devices,
        "device_hours": p.device_hours,
        "wall_clock_days": p.wall_clock_days,
        "start": p.start,
        "end": p.end,
        f"cost ({cur})": Cents(p.cost) if p.priced else None,
        "priced": p.priced,
    }


def _item_row(i: LineItemView, cur: str) -> dict[str, Any]:
    return {
        "phase": i.phase,
        "region": i.region,
        "component": i.component,
        "description": i.description,
        "quantity": i.quantity,
        "unit": i.unit,
        "unit_price": i.unit_price,
        "unit_currency": i.unit_currency,
        "fx_per_usd": i.fx_per_usd,
        f"amount ({cur})": Cents(i.amount),
    }


def _assumption(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}={_assumption(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_assumption(v) for v in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def uncertainty_table(u: UncertaintyView, cur: str) -> Table:
    rows = [
        {
            "": p.name,
            f"P10 ({cur})": Cents(p.p10),
            f"P50 ({cur})": Cents(p.p50),
            f"P90 ({cur})": Cents(p.p90),
            f"quoted ({cur})": Cents(p.point),
            "quoted at": f"P{p.point_rank * 100:.0f}",
        }
        for p in u.percentiles
    ]
    return Table(f"Uncertainty ({u.samples:,} samples, seed {u.seed})", rows)


def placement_rows(d: PlanView) -> Rows:
    """Per placed phase its candidates: the chosen one, runners-up and the best rejected."""
    cur = d.quote.currency
    return [
        {
            "phase": p.phase,
            "#": a.rank,
            "accelerator": a.accelerator,
            "region": a.region,
            "pricing": a.pricing,
            "provider": a.provider,
            "devices": a.devices,
            "days": a.wall_clock_days,
            f"cost ({cur})": None if a.cost is None else Cents(a.cost),
            "verdict": a.verdict,
        }
        for p in d.placements
        for a in p.alternatives
    ]


def placement_summary(d: PlanView) -> list[str]:
    """One sentence per placed phase: how many options, how many allowed, why the others not."""
    out = []
    for p in d.placements:
        removed = ", ".join(f"{k} {v:,}" for k, v in p.removed.items() if v) or "none"
        out.append(
            f"{p.phase}: {p.allowed:,} of {p.candidates:,} options allowed (removed: {removed})"
        )
    return out


def shock_table(s: ShockView, cur: str) -> Table:
    rows = [
        {
            "phase": r.phase,
            "rule": r.rule,
            "before": r.before,
            "after": r.after,
            f"extra cost ({cur})": Cents(r.extra_cost),
            f"cost of the rule ({cur})": Cents(r.rule_cost),
            "extra days": r.extra_days,
        }
        for r in s.replanned
    ]
    # The rule's own cost leads: re-placing a dear fixed site can lower the total, and that
    # must not read as a ban saving money.
    title = (
        f"Shock {', '.join(s.shocks)} judged on {s.judged_on}: the rule costs "
        f"{_m(s.rule_cost)} {cur}; total {_m(s.total_before)} -> {_m(s.total_after)} {cur}"
    )
    if s.replacement:
        title += (
            f" (of which {_m(s.replacement)} from re-placing the fixed sites it blocks at "
            "their cheapest allowed option)"
        )
    return Table(title + ("" if rows else "; no phase affected"), rows)


def sensitivity_table(v: SensitivityView) -> Table:
    cur = v.currency
    rows = [
        {
            "input": s.input,
            "low": s.low,
            "high": s.high,
            f"total at low ({cur})": Cents(s.total_at_low),
            f"total at high ({cur})": Cents(s.total_at_high),
            f"swing ({cur})": Cents(s.swing),
        }
        for s in v.swings
    ]
    return Table(f"Sensitivity of {v.name}: total {_m(v.total)} {cur}", rows)


def _parts(v: ComparisonView) -> Rows:
    """One row per scenario and phase or transfer: the parts each total is the sum of."""
    rows: Rows = []
    for name, q in zip(v.scenarios, v.quotes, strict=True):
        rows += [
            {"scenario": name, "part": "phase", "name": p.name, "where":
             f"{p.accelerator} @ {p.region} ({p.pricing})", f"cost ({v.currency})": Cents(p.cost)}
            for p in q.phases
        ]  # fmt: skip
        rows += [
            {"scenario": name, "part": "transfer", "name": f"{t.from_} -> {t.to}",
             "where": t.route, f"cost ({v.currency})": Cents(t.cost)}
            for t in q.transfers
        ]  # fmt: skip
    return rows


def _split_comparison(rows: Rows) -> tuple[Rows, Rows]:
    """The side-by-side rows as two tables: figures (right-aligned, summable) and words (where
    each phase runs, findings), so no column mixes numbers with text."""
    figures: Rows = []
    words: Rows = []
    for r in rows:
        values = [v for k, v in r.items() if k]
        numeric = all(v is None or (isinstance(v, int | float) and not isinstance(v, bool))
                      for v in values)  # fmt: skip
        (figures if numeric else words).append(r)
    return figures, words
