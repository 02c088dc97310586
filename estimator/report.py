"""Rendering: rows and quotes -> table (tabulate) / markdown / json / csv text.

Rounding happens here and only here; totals shown are sums of the items shown.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from estimator.quoting import Comparison, Quote

Format = Literal["table", "json", "csv", "markdown"]
FORMATS: tuple[str, ...] = ("table", "json", "csv", "markdown")


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=_json_default, ensure_ascii=False)


def _cell(value: Any, digits: int = 4) -> Any:
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if abs(value) >= 1e15:
            return f"{value:.4g}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    if isinstance(value, bool):
        return "yes" if value else ""
    if value is None:
        return ""
    return value


def render_rows(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> str:
    """A list of records in one of FORMATS. `columns` picks and orders the columns shown."""
    cols = list(columns) if columns else (list(rows[0]) if rows else [])
    if fmt == "json":
        return to_json([{c: r.get(c) for c in cols} for r in rows])
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({c: _csv_cell(r.get(c)) for c in cols})
        return buf.getvalue().rstrip("\n")
    from tabulate import tabulate

    body = [[_cell(r.get(c)) for c in cols] for r in rows]
    tablefmt = "github" if fmt == "markdown" else "simple"
    text = tabulate(body, headers=cols, tablefmt=tablefmt, disable_numparse=True)
    if title:
        text = (f"## {title}\n\n" if fmt == "markdown" else f"{title}\n") + text
    return text


def _csv_cell(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


# -- quotes -------------------------------------------------------------------------------------


def money(amount: float) -> float:
    """The displayed amount: whole cents."""
    return round(amount + 0.0, 2)


def render_quote(quote: Quote, fmt: str, uncertainty: dict[str, Any] | None = None) -> str:
    data = quote.displayed()
    if uncertainty is not None:
        data["uncertainty"] = uncertainty
    if fmt == "json":
        return to_json(data)
    if fmt == "csv":
        # One table a spreadsheet can sum: the line items, then the total they add up to, then
        # the findings (a blocked plan must not look clean in CSV either).
        rows = [
            {"section": "line_item", **item}
            for part in (*data["phases"], *data["transfers"])
            for item in part["line_items"]
        ]
        rows.append({"section": "total", "amount": data["total"], "currency": data["currency"]})
        rows += [
            {
                "section": f"finding:{f['severity']}",
                "phase": f.get("phase") or "",
                "component": f["code"],
                "description": f["message"],
            }
            for f in data["findings"]
        ]
        cols = [
            "section",
            "phase",
            "region",
            "component",
            "description",
            "quantity",
            "unit",
            "unit_price",
            "unit_currency",
            "fx_per_usd",
            "amount",
            "currency",
        ]
        return render_rows(rows, "csv", cols)
    return _quote_text(data, fmt)


def _quote_text(d: dict[str, Any], fmt: str) -> str:
    cur = d["currency"]
    md = fmt == "markdown"
    out: list[str] = []
    head = f"{d['name']} — as of {d['as_of']} — total {_fmt_money(d['total'])} {cur}"
    out.append(f"# {head}" if md else head)
    phase_rows = [
        {
            "phase": p["name"],
            "kind": p["kind"],
            "region": p["region"],
            "accelerator": p["accelerator"],
            "pricing": p["pricing"],
            "devices": p["devices"],
            "device_hours": p["device_hours"],
            "wall_clock_days": p["wall_clock_days"],
            f"cost ({cur})": _fmt_money(p["cost"]),
        }
        for p in d["phases"]
    ]
    out.append(render_rows(phase_rows, fmt, title="Phases"))
    items = [
        {
            "phase": i["phase"],
            "component": i["component"],
            "description": i["description"],
            "quantity": i["quantity"],
            "unit": i["unit"],
            "unit price": f"{_cell(i['unit_price'])} {i['unit_currency']}",
            f"amount ({cur})": _fmt_money(i["amount"]),
        }
        for part in (*d["phases"], *d["transfers"])
        for i in part["line_items"]
    ]
    out.append(render_rows(items, fmt, title="Line items"))
    if d["transfers"]:
        rows = [
            {
                "from": t["from"],
                "to": t["to"],
                "what": t["what"],
                "gigabytes": t["gigabytes"],
                "hours": t["hours"],
                "route": t["route"],
                f"cost ({cur})": _fmt_money(t["cost"]),
            }
            for t in d["transfers"]
        ]
        out.append(render_rows(rows, fmt, title="Transfers"))
    by_region = [{"region": k, f"cost ({cur})": _fmt_money(v)} for k, v in d["by_region"].items()]
    out.append(render_rows(by_region, fmt, title="By region"))
    by_cur = [
        {
            "billed in": k,
            "amount (billed currency)": _fmt_money(v["amount"]),
            f"amount ({cur})": _fmt_money(v["converted"]),
        }
        for k, v in d["by_currency"].items()
    ]
    out.append(render_rows(by_cur, fmt, title="By currency"))
    if d["findings"]:
        rows = [
            {
                "severity": f["severity"],
                "code": f["code"],
                "phase": f.get("phase") or "",
                "message": f["message"],
            }
            for f in d["findings"]
        ]
        out.append(render_rows(rows, fmt, title="Findings"))
    else:
        out.append("Findings\nnone" if not md else "## Findings\n\nnone")
    assumptions = [{"assumption": k, "value": _assumption(v)} for k, v in d["assumptions"].items()]
    out.append(render_rows(assumptions, fmt, title="Assumptions"))
    if "uncertainty" in d:
        out.append(render_uncertainty(d["uncertainty"], cur, fmt))
    return "\n\n".join(out)


def _assumption(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}={_assumption(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_assumption(v) for v in value)
    return str(_cell(value))


def _fmt_money(amount: float) -> str:
    return f"{amount:,.2f}"


def render_comparison(cmp: Comparison, fmt: str) -> str:
    data = cmp.displayed()
    if fmt == "json":
        return to_json(data)
    return render_rows(data["rows"], fmt, title=None if fmt == "csv" else "Comparison")


# -- plans, uncertainty, sensitivity, shocks ---------------------------------------------


def plan_data(plan: Any, samples: Any = None, shock: Any = None) -> dict[str, Any]:
    """The planner's answer as data: the chosen plan as a full quote, each auto phase's
    candidates and alternatives, and optional percentiles and shock re-plan."""
    from dataclasses import asdict

    data: dict[str, Any] = {"quote": plan.quote.displayed(), "objective": plan.objective}
    data["placements"] = [
        {
            "phase": p.phase,
            "candidates": p.candidates,
            "allowed": p.allowed,
            "removed": p.removed,
            "alternatives": [asdict(a) for a in p.alternatives],
        }
        for p in plan.phases
    ]
    if samples is not None:
        data["uncertainty"] = samples
    if shock is not None:
        data["shock"] = {
            "shocks": shock.shocks,
            "judged_on": shock.judged_on,
            "total_before": shock.before.displayed()["total"],
            "total_after": shock.shocked.displayed()["total"],
            "extra_cost": money(shock.extra_cost),
            "replanned": [asdict(r) for r in shock.replanned],
            "extra_transfer_cost": shock.extra_transfer_cost,
            "quote_after": shock.shocked.displayed(),
        }
    return data


def samples_data(percentiles: list[Any], samples: int, seed: int) -> dict[str, Any]:
    return {
        "samples": samples,
        "seed": seed,
        "percentiles": [
            {"name": p.name, "p10": money(p.p10), "p50": money(p.p50), "p90": money(p.p90)}
            for p in percentiles
        ],
    }


def render_plan(data: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return to_json(data)
    cur = data["quote"]["currency"]
    if fmt == "csv":
        rows = [
            {"phase": p["phase"], **a}
            for p in data.get("placements", [])
            for a in p["alternatives"]
        ]
        return render_rows(rows, "csv")
    out = [_quote_text(data["quote"], fmt)]
    for p in data.get("placements", []):
        removed = ", ".join(f"{k} {v}" for k, v in p["removed"].items() if v) or "none"
        rows = [
            {
                "#": a["rank"],
                "accelerator": a["accelerator"],
                "region": a["region"],
                "pricing": a["pricing"],
                "provider": a["provider"],
                "devices": a["devices"] or "",
                "days": a["wall_clock_days"] if a["devices"] else "",
                f"cost ({cur})": _fmt_money(a["cost"]) if a["devices"] else "",
                "verdict": a["verdict"],
            }
            for a in p["alternatives"]
        ]
        title = (
            f"Placement of {p['phase']}: {p['allowed']} of {p['candidates']} options allowed "
            f"(removed: {removed})"
        )
        out.append(render_rows(rows, fmt, title=title))
    if "uncertainty" in data:
        out.append(render_uncertainty(data["uncertainty"], cur, fmt))
    if "shock" in data:
        s = data["shock"]
        rows = [
            {
                "phase": r["phase"],
                "rule": r["rule"],
                "before": r["before"],
                "after": r["after"],
                f"extra cost ({cur})": _fmt_money(r["extra_cost"]),
                "extra days": f"{r['extra_days']:+.1f}",
            }
            for r in s["replanned"]
        ]
        if rows and s["extra_transfer_cost"]:
            rows.append(
                {
                    "phase": "(transfers)",
                    "rule": "",
                    "before": "",
                    "after": "",
                    f"extra cost ({cur})": _fmt_money(s["extra_transfer_cost"]),
                    "extra days": "",
                }
            )
        title = (
            f"Shock {', '.join(s['shocks'])} judged on {s['judged_on']}: total "
            f"{_fmt_money(s['total_before'])} -> {_fmt_money(s['total_after'])} {cur} "
            f"({_fmt_money(s['extra_cost'])})"
        )
        out.append(render_rows(rows, fmt, title=title) if rows else f"{title}\nno phase affected")
    return "\n\n".join(out)


def render_uncertainty(u: dict[str, Any], cur: str, fmt: str) -> str:
    rows = [
        {
            "": p["name"],
            f"P10 ({cur})": _fmt_money(p["p10"]),
            f"P50 ({cur})": _fmt_money(p["p50"]),
            f"P90 ({cur})": _fmt_money(p["p90"]),
        }
        for p in u["percentiles"]
    ]
    return render_rows(rows, fmt, title=f"Uncertainty ({u['samples']} samples, seed {u['seed']})")


def render_sensitivity(swings: list[Any], quote: Any, fmt: str) -> str:
    cur = quote.currency
    rows = [
        {
            "input": s.input,
            "low": round(s.low, 4),
            "high": round(s.high, 4),
            f"total at low ({cur})": money(s.total_at_low),
            f"total at high ({cur})": money(s.total_at_high),
            f"swing ({cur})": money(s.swing),
        }
        for s in swings
    ]
    if fmt in ("json", "csv"):
        return render_rows(rows, fmt)
    for r in rows:
        for k in list(r):
            if k.startswith(("total", "swing")):
                r[k] = _fmt_money(r[k])
    title = f"Sensitivity of {quote.name}: total {_fmt_money(money(quote.total))} {cur}"
    text = render_rows(rows, fmt, title=title)
    if any(s.swing == 0 for s in swings):
        text += (
            "\n\nA swing of 0 means the input changes the work but not the bill: a commitment's"
            " minimum term, whole instances or servers, or a fixed device count absorbs it."
        )
    return text
