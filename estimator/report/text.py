"""Views -> table / markdown / CSV text. JSON is the views' own dump (`render`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from estimator.errors import ScenarioError
from estimator.planner import Alternative
from estimator.report.plan_view import ComparisonView, PlanView, SensitivityView, ShockView
from estimator.report.rows import cell, render_rows
from estimator.report.view import LineItemView, QuoteView, UncertaintyView, non_finite


def render(view: BaseModel, fmt: str) -> str:
    """Any view in any format, once every figure in it is known to be finite."""
    check_finite(view)
    if fmt == "json":
        return view.model_dump_json(indent=2, by_alias=True)
    if isinstance(view, QuoteView):
        return quote_csv(view) if fmt == "csv" else quote_text(view, fmt)
    if isinstance(view, PlanView):
        return plan_csv(view) if fmt == "csv" else plan_text(view, fmt)
    if isinstance(view, ComparisonView):
        if fmt == "csv":
            return render_rows(view.rows, fmt)
        return render_rows(_money_cells(view.rows, view.currency), fmt, title="Comparison")
    if isinstance(view, SensitivityView):
        return sensitivity_text(view, fmt)
    raise TypeError(f"no renderer for {type(view).__name__}")


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


def _m(amount: float) -> str:
    return f"{amount:,.2f}"


def _money_cells(rows: list[dict[str, Any]], cur: str) -> list[dict[str, Any]]:
    """Money rows of a comparison shown in cents, so the shown parts add up to the shown total
    (rounded to whole units they did not)."""
    label = next(iter(rows[0])) if rows else ""
    return [
        {
            k: _m(v) if isinstance(v, float) and r[label].endswith(f"({cur})") else v
            for k, v in r.items()
        }
        for r in rows
    ]


def _items(d: QuoteView) -> list[LineItemView]:
    return [i for p in d.phases for i in p.line_items] + [
        i for t in d.transfers for i in t.line_items
    ]


def quote_csv(d: QuoteView) -> str:
    """One table a spreadsheet can sum: the line items, then the total they add up to, then the
    findings (a blocked plan must not look clean in CSV either)."""
    rows: list[dict[str, Any]] = [
        {"section": "line_item", **item.model_dump()} for item in _items(d)
    ]
    rows.append({"section": "total", "amount": d.total, "currency": d.currency})
    rows += [
        {"section": "cash_flow", "description": m.month, "component": kind, "amount": amount,
         "currency": d.currency}
        for m in d.cash_flow
        for kind, amount in m.model_dump().items()
        if kind not in ("month", "total") and amount
    ]  # fmt: skip
    rows += [
        {
            "section": f"finding:{f.severity}",
            "phase": f.phase or "",
            "component": f.code,
            "description": f.message,
        }
        for f in d.findings
    ]
    if d.uncertainty is not None:
        rows += [
            {"section": "uncertainty", "phase": name, "component": label, "description": note}
            | {"amount": amount, "currency": d.currency}
            for name, label, amount, note in _percentile_rows(d.uncertainty)
        ]
    cols = [
        "section", "phase", "region", "component", "description", "quantity", "unit",
        "unit_price", "unit_currency", "fx_per_usd", "amount", "currency",
    ]  # fmt: skip
    return render_rows(rows, "csv", cols)


def quote_text(d: QuoteView, fmt: str) -> str:
    md = fmt == "markdown"
    head = f"{d.name} — as of {d.as_of} — total {_m(d.total)} {d.currency}"
    if d.unpriced:
        head += f" (excludes unpriced: {', '.join(d.unpriced)})"
    other = "amortised" if d.accounting == "project" else "project"
    head += f"\n{d.accounting} accounting; {other} view: {_m(d.total_other_view)} {d.currency}"
    out = [f"# {head}" if md else head, *_quote_tables(d, fmt)]
    if d.findings:
        rows = [
            {"severity": f.severity, "code": f.code, "phase": f.phase or "", "message": f.message}
            for f in d.findings
        ]
        out.append(render_rows(rows, fmt, title="Findings"))
    else:
        out.append("## Findings\n\nnone" if md else "Findings\nnone")
    assumptions = [{"assumption": k, "value": _assumption(v)} for k, v in d.assumptions.items()]
    out.append(render_rows(assumptions, fmt, title="Assumptions"))
    if d.uncertainty is not None:
        out.append(uncertainty_text(d.uncertainty, d.currency, fmt))
    return "\n\n".join(out)


def _quote_tables(d: QuoteView, fmt: str) -> list[str]:
    """Phases, line items, transfers, and the totals by region and by billing currency."""
    cur = d.currency
    phase_rows = [
        {
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
            f"cost ({cur})": _m(p.cost) if p.priced else "unpriced",
        }
        for p in d.phases
    ]
    items = [
        {
            "phase": i.phase,
            "component": i.component,
            "description": i.description,
            "quantity": i.quantity,
            "unit": i.unit,
            "unit price": f"{cell(i.unit_price)} {i.unit_currency}",
            f"amount ({cur})": _m(i.amount),
        }
        for i in _items(d)
    ]
    out = [
        render_rows(phase_rows, fmt, title="Phases"),
        render_rows(items, fmt, title="Line items"),
    ]
    if d.transfers:
        rows = [
            {
                "from": t.from_,
                "to": t.to,
                "what": t.what,
                "gigabytes": t.gigabytes,
                "hours": t.hours,
                "route": t.route,
                f"cost ({cur})": _m(t.cost),
            }
            for t in d.transfers
        ]
        out.append(render_rows(rows, fmt, title="Transfers"))
    by_region = [{"region": k, f"cost ({cur})": _m(v)} for k, v in d.by_region.items()]
    by_cur = [
        {
            "billed in": k,
            "amount (billed currency)": _m(v.amount),
            f"amount ({cur})": _m(v.converted),
        }
        for k, v in d.by_currency.items()
    ]
    out.append(render_rows(by_region, fmt, title="By region"))
    out.append(render_rows(by_cur, fmt, title="By currency"))
    out.append(cash_flow_text(d, fmt))
    return out


def cash_flow_text(d: QuoteView, fmt: str) -> str:
    months = [
        {"month": m.month, **{k: _m(v) for k, v in m.model_dump().items() if k != "month"}}
        for m in d.cash_flow
    ]
    return render_rows(months, fmt, title=f"Cash flow by month ({d.currency})")


def _assumption(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}={_assumption(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_assumption(v) for v in value)
    return str(cell(value))


def uncertainty_text(u: UncertaintyView, cur: str, fmt: str) -> str:
    rows = [
        {
            "": p.name,
            f"P10 ({cur})": _m(p.p10),
            f"P50 ({cur})": _m(p.p50),
            f"P90 ({cur})": _m(p.p90),
            f"quoted ({cur})": _m(p.point),
            "quoted at": f"P{p.point_rank * 100:.0f}",
        }
        for p in u.percentiles
    ]
    title = f"Uncertainty ({u.samples:,} samples, seed {u.seed})"
    note = (
        "quoted = the headline figure (listed prices, default efficiencies); quoted at = its "
        "rank among the samples (P50 = the median; a listed price at the low end of its range "
        "puts the headline low)"
    )
    return f"{render_rows(rows, fmt, title=title)}\n\n{note}"


def _percentile_rows(u: UncertaintyView) -> list[tuple[str, str, float, str]]:
    """(name, P10 | P50 | P90 | quoted, amount, note) per percentile: the CSV formats' rows."""
    out = []
    for p in u.percentiles:
        out += [(p.name, f"P{k}", getattr(p, f"p{k}"), "") for k in (10, 50, 90)]
        rank = f"the headline figure, at P{p.point_rank * 100:.0f} of the samples"
        out.append((p.name, "quoted", p.point, f"{rank} ({u.samples:,}, seed {u.seed})"))
    return out


def plan_csv(d: PlanView) -> str:
    rows = [{"phase": p.phase, **a.model_dump()} for p in d.placements for a in p.alternatives]
    if d.uncertainty is not None:
        cols = list(Alternative.model_fields)
        rows += [
            {
                "phase": name,
                **dict.fromkeys(cols),
                "cost": amount,
                "verdict": f"{label}: {note}" if note else label,
            }
            for name, label, amount, note in _percentile_rows(d.uncertainty)
        ]
    return render_rows(rows, "csv")


def plan_text(d: PlanView, fmt: str) -> str:
    cur = d.quote.currency
    out = [quote_text(d.quote, fmt)]
    for p in d.placements:
        removed = ", ".join(f"{k} {v:,}" for k, v in p.removed.items() if v) or "none"
        rows = [
            {
                "#": a.rank,
                "accelerator": a.accelerator,
                "region": a.region,
                "pricing": a.pricing,
                "provider": a.provider,
                "devices": a.devices or "",
                "days": a.wall_clock_days if a.devices else "",
                f"cost ({cur})": "" if a.cost is None else _m(a.cost),
                "verdict": a.verdict,
            }
            for a in p.alternatives
        ]
        title = (
            f"Placement of {p.phase}: {p.allowed:,} of {p.candidates:,} options allowed "
            f"(removed: {removed})"
        )
        out.append(render_rows(rows, fmt, title=title))
    if d.uncertainty is not None:
        out.append(uncertainty_text(d.uncertainty, cur, fmt))
    if d.shock is not None:
        out.append(shock_text(d.shock, cur, fmt))
    return "\n\n".join(out)


def shock_text(s: ShockView, cur: str, fmt: str) -> str:
    rows = [
        {
            "phase": r.phase,
            "rule": r.rule,
            "before": r.before,
            "after": r.after,
            f"extra cost ({cur})": _m(r.extra_cost),
            f"cost of the rule ({cur})": _m(r.rule_cost),
            "extra days": f"{r.extra_days:+.1f}",
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
    return render_rows(rows, fmt, title=title) if rows else f"{title}\nno phase affected"


def sensitivity_text(v: SensitivityView, fmt: str) -> str:
    cur = v.currency
    money = fmt != "csv"  # a spreadsheet gets numbers, a reader separators and cents

    def m(x: float) -> float | str:
        return _m(x) if money else x

    rows = [
        {
            "input": s.input,
            "low": s.low,
            "high": s.high,
            f"total at low ({cur})": m(s.total_at_low),
            f"total at high ({cur})": m(s.total_at_high),
            f"swing ({cur})": m(s.swing),
        }
        for s in v.swings
    ]
    if fmt == "csv":
        return render_rows(rows, fmt)
    text = render_rows(rows, fmt, title=f"Sensitivity of {v.name}: total {_m(v.total)} {cur}")
    if any(s.swing == 0 for s in v.swings):
        text += (
            "\n\nA swing of 0 means the input changes the work but not the bill: a commitment's"
            " minimum term, whole instances or servers, or a fixed device count absorbs it."
        )
    return text
