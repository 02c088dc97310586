"""Every report as named tables (`tables`): the rows each table shows, built from the view
models. The terminal, markdown and HTML show them all in order; CSV and `--table NAME` give
one, so each CSV has one header and one kind of row (see `text.render`)."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

from pydantic import BaseModel

from estimator.report.rows import Cents, Price, Rate
from estimator.report.view import (
    LineItemView,
    MonthView,
    NotDrawnView,
    PercentileView,
    QuoteView,
    UncertaintyView,
    money,
)

if TYPE_CHECKING:  # loaded by the reports that have them (`_of_plan_view`)
    from estimator.report.plan_view import ComparisonView, PlanView, SensitivityView, ShockView

Rows = list[dict[str, Any]]


def _of_plan_view(view: object, name: str) -> bool:
    """Whether `view` is an instance of `report.plan_view`'s class `name`. Asked of that module
    only once something has loaded it (a plan, comparison or sensitivity does, to make its
    view): a quote's report never needs its seven models, whose building cost ~3.5 ms of every
    quote, and no view can be one of them before it is loaded."""
    module = sys.modules.get("estimator.report.plan_view")
    return module is not None and isinstance(view, getattr(module, name))


def is_plan(view: object) -> TypeGuard[PlanView]:
    return _of_plan_view(view, "PlanView")


def is_comparison(view: object) -> TypeGuard[ComparisonView]:
    return _of_plan_view(view, "ComparisonView")


def is_sensitivity(view: object) -> TypeGuard[SensitivityView]:
    return _of_plan_view(view, "SensitivityView")


@dataclass(frozen=True)
class Table:
    title: str
    rows: Rows
    optional: tuple[str, ...] = ()  # columns a narrow terminal leaves out first
    columns: tuple[str, ...] = ()  # the header of a table that may have no rows (CSV keeps it)
    lasting: tuple[str, ...] = ()  # columns it keeps longest, most needed first
    # The rows (and header) CSV and JSON give, where a cell of `rows` holds words in place of a
    # figure: there the cell is empty and a column of its own says why, so a numeric column
    # stays numeric (rev17b #12: a spreadsheet's SUM skipped "misses its deadline" silently).
    data: Rows | None = None
    data_columns: tuple[str, ...] = ()


# The table CSV gives by default, by the view's class: one a spreadsheet can sum or sort.
CSV_DEFAULT = {
    "QuoteView": "line-items",
    "PlanView": "placements",
    "ComparisonView": "comparison",
    "SensitivityView": "sensitivity",
}


def csv_default(view: BaseModel) -> str:
    """The one table CSV gives without --table: CSV_DEFAULT by the view's class, except for a
    plan under a shock, whose shock table is the question asked (rev18a #10: a plan of fixed
    sites printed an empty placements table, the shock only with --table shock). The text
    formats show every table, the shock's included; JSON without --table, the whole report."""
    if is_plan(view) and view.shock is not None:
        return "shock"
    return CSV_DEFAULT[type(view).__name__]


def tables(view: BaseModel) -> dict[str, Table]:
    """Every table of a report, by name, in the order shown."""
    if isinstance(view, QuoteView):
        return quote_tables(view)
    if is_plan(view):
        out = quote_tables(view.quote)
        out.pop("uncertainty", None)
        # A plan of fixed sites only is their quote: said, not left to be guessed (review8a #14).
        summary = placement_summary(view) or [
            'every site is fixed: nothing to place (site = "auto", or lists, to let the '
            "planner choose)"
        ]
        title = "Placements — " + "; ".join(summary)
        optional = ("instance", "provider", "days", "devices")
        columns = _placement_columns(view.quote.currency)
        # The table says why the runners-up lost: the verdict outlasts every column but the
        # phase and the money, then what was placed (rev14a #7).
        lasting = ("verdict", "accelerator")
        out["placements"] = Table(title, placement_rows(view), optional, columns, lasting)
        if view.uncertainty is not None:
            out["uncertainty"] = uncertainty_table(
                view.uncertainty, view.quote.currency, view.quote.unpriced
            )
        if view.shock is not None:
            out["shock"] = shock_table(view.shock, view.quote.currency)
        return out
    if is_comparison(view):
        figures, words = _split_comparison(view.rows)
        # rev18d #5: CSV drops the title, and the dates were only in the `where` table: its rows
        # (and a table's JSON) start with each scenario's date, as the whole JSON's do, so the
        # rates under it say which day they are of.
        # rev19a #5: and each scenario's accounting view, which its figures are in.
        dated = [r for r in words if r.get("") in ("as of", "accounting")]
        return {
            "comparison": Table(_comparison_title(view), figures, data=[*dated, *figures]),
            "where": Table("Where, and what the rules say", words),
            "parts": Table("Parts", _parts(view)),
        }
    if is_sensitivity(view):
        return {"sensitivity": sensitivity_table(view)}
    raise TypeError(f"no renderer for {type(view).__name__}")


def spoken(amount: float, currency: str) -> str:
    """An amount in a sentence: separators and cents (its currency's minor unit)."""
    return Cents(amount, currency).text


def _items(d: QuoteView) -> list[LineItemView]:
    return [i for p in d.phases for i in p.line_items] + [
        i for t in d.transfers for i in t.line_items
    ]


def quote_tables(d: QuoteView) -> dict[str, Table]:
    cur = d.currency
    # Every table names its columns: a quote with nothing priced has no line items, and its
    # CSV was an empty line, not a header (review11a #9).
    out: dict[str, Table] = {
        "phases": Table(
            "Phases",
            [_phase_row(p, cur, _serves(d), _phase_blocks(d)) for p in d.phases],
            ("priced", "end", "start", "kind", "device_hours", "billed_devices"),
        ),
        "line-items": Table(
            "Line items",
            [_item_row(i, cur) for i in _items(d)],
            (f"rate to {cur}", "unit_currency", "region", "unit_price"),
            _item_columns(cur),
        ),
        "transfers": Table(
            "Transfers",
            [_transfer_row(t, cur) for t in d.transfers],
            ("hours", "what"),
            ("from", "to", "what", "gigabytes", "hours", "route", f"cost ({cur})"),
        ),
        "by-region": Table(
            "By region",
            [{"region": k, f"cost ({cur})": Cents(v, cur)} for k, v in d.by_region.items()],
            columns=("region", f"cost ({cur})"),
        ),
        "by-currency": Table(
            "By billing currency",
            [
                {
                    "billed in": k,
                    "amount (billed currency)": Cents(v.amount, k),
                    f"amount ({cur})": Cents(v.converted, cur),
                }
                for k, v in d.by_currency.items()
            ],
            columns=("billed in", "amount (billed currency)", f"amount ({cur})"),
        ),
        "cash-flow": Table(
            cash_flow_title(d),
            [
                {
                    "month": m.month,
                    **{k: Cents(v, cur) for k, v in m.model_dump().items() if k != "month"},
                }
                for m in d.cash_flow
            ],
            ("transfer", "operations", "energy"),
            tuple(MonthView.model_fields),
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
            [
                {"assumption": k, "value": _fx(v) if k == "fx_per_usd" else _assumption(v)}
                for k, v in d.assumptions.items()
            ],
        ),
    }
    if d.uncertainty is not None:
        out["uncertainty"] = uncertainty_table(d.uncertainty, cur, d.unpriced)
    return out


def cash_flow_title(d: QuoteView) -> str:
    """The cash-flow table's (and chart's) title. The cash flow is the cash paid, the project
    view's (capital on delivery, resale at the end, a commitment's whole term), in either
    accounting view: under `accounting = "amortised"` the title says so, as its months sum to
    the project view's total, not the headline (rev19a #4)."""
    if d.accounting == "amortised":
        return f"Cash flow by month ({d.currency}, project view: the cash paid)"
    return f"Cash flow by month ({d.currency})"


def cash_flow_note(d: QuoteView) -> str | None:
    """Under `accounting = "amortised"`, why the cash flow's months do not sum to the headline
    total (rev19a #4); None in the project view, where they do."""
    if d.accounting != "amortised" or not d.cash_flow:
        return None
    cur = d.currency
    return (
        "Cash flow: it is the cash paid in each month, as the project view commits it (capital "
        "on delivery, resale at the end, a commitment's whole term), so its months sum to the "
        f"project view's total, {spoken(d.total_other_view, cur)} {cur}, not the amortised "
        f"total, {spoken(d.total, cur)} {cur}, which charges the hours used."
    )


def _serves(d: QuoteView) -> bool:
    """Whether some phase has a price per million output tokens (a priced serving phase): the
    phases table then shows the column (rev16a #4: only `serve` gave it)."""
    return any(p.cost_per_million_output_tokens is not None for p in d.phases)


def _phase_blocks(d: QuoteView) -> dict[str, str] | None:
    """Per phase the block findings that forbid it, when the total includes a blocked phase
    (`QuoteView.blocked`), else None: the phases table then has a `blocked` column, as the
    uncertainty table does (rev20a #6: a phases CSV summed, or shown alone, counted a
    placement a rule forbids with nothing to say so)."""
    held = [b for b in d.blocked if any(p.name == b for p in d.phases)]
    if not held:
        return None
    codes: dict[str, list[str]] = {}
    for f in d.findings:
        if f.severity == "block" and f.phase in held and f.code not in codes.get(f.phase, []):
            codes.setdefault(f.phase, []).append(f.code)
    return {name: ", ".join(found) for name, found in codes.items()}


def _phase_row(
    p: Any, cur: str, per_million: bool = False, blocks: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "phase": p.name,
        "kind": p.kind,
        "region": p.region,
        "accelerator": p.accelerator,
        "pricing": p.pricing,
        "devices": p.devices,
        # What is paid for beside what works (rev11d #6: 328 of one CloudMatrix384's 384).
        "billed_devices": p.billed_devices,
        "device_hours": p.device_hours,
        "wall_clock_days": p.wall_clock_days,
        "start": p.start,
        "end": p.end,
        f"cost ({cur})": Cents(p.cost, cur) if p.priced else None,
        **(
            {f"per M output tokens ({cur})": _price(p.cost_per_million_output_tokens)}
            if per_million
            else {}
        ),
        **({"blocked": blocks.get(p.name, "")} if blocks is not None else {}),
        "priced": p.priced,
    }


def _transfer_row(t: Any, cur: str) -> dict[str, Any]:
    return {
        "from": t.from_,
        "to": t.to,
        "what": t.what,
        "gigabytes": t.gigabytes,
        "hours": t.hours,
        "route": t.route,
        f"cost ({cur})": Cents(t.cost, cur),
    }


def _item_columns(cur: str) -> tuple[str, ...]:
    """The header of `_item_row` (for a quote with nothing priced, with no row)."""
    return (
        "phase",
        "region",
        "component",
        "description",
        "quantity",
        "unit",
        "unit_price",
        "unit_currency",
        f"rate to {cur}",
        f"amount ({cur})",
    )


def _item_row(i: LineItemView, cur: str) -> dict[str, Any]:
    return {
        "phase": i.phase,
        "region": i.region,
        "component": i.component,
        "description": i.description,
        "quantity": i.quantity,
        "unit": i.unit,
        "unit_price": None if i.unit_price is None else Price(i.unit_price),
        "unit_currency": i.unit_currency,
        # rev12a #6: the billing currency's rate per USD (7.107, rounded) could not rebuild a
        # line; the rate that converts it can, shown whole (rev19d #3: 155.141 of 155.1411 was
        # 65 JPY off a line of 101,811,801).
        f"rate to {cur}": Rate(i.to_quote_rate),
        f"amount ({cur})": Cents(i.amount, cur),
    }


def _fx(rates: dict[str, dict[str, Any]]) -> str:
    """The rates per USD as a reader writes them, "CNY 7.1069 (2025-11-01); USD 1" (rev17a
    #20: a flattened dict, "CNY=per_usd=7.1069; as_of=2025-11-01; peg=False; USD=...")."""
    out = []
    for cur, r in rates.items():
        if cur == "USD":
            out.append("USD 1")
            continue
        peg = ", pegged" if r.get("peg") else ""
        # rev19a #7g: every digit of the rate converted at (155.1411 read 155.141).
        out.append(f"{cur} {r['per_usd']:,} ({r['as_of']}{peg})")
    return "; ".join(out)


def _assumption(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}={_assumption(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_assumption(v) for v in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def uncertainty_table(u: UncertaintyView, cur: str, phases: Sequence[str] = ()) -> Table:
    """`phases`: the quote's unpriced phases, which nothing samples (all of them: no rows)."""
    # The unpriced share only when some sample is unpriced: it is rare, and its column says
    # the percentiles count those samples above every cost (rev17a #2: they left them out).
    unpriced = any(p.unpriced for p in u.percentiles)
    share = "unpriced (fails: above every cost)"
    # A published whole run of a pretraining phase's model on its device: the quote's hours
    # beside the team's, next to the percentiles (rev13b #4: it was an info line among findings).
    published = any(p.published_gap is not None for p in u.percentiles)
    gap = "quote vs published run"
    # A blocked phase's band prices work that cannot go ahead as placed (rev18a #10): its row
    # names the block, as the headline's "includes blocked" does.
    blocked = any(p.blocked for p in u.percentiles)
    rows = [
        {
            "name": p.name,
            f"P10 ({cur})": _sampled(p.p10, p, cur),
            f"P50 ({cur})": _sampled(p.p50, p, cur),
            f"P90 ({cur})": _sampled(p.p90, p, cur),
            f"quoted ({cur})": _amount(p.point, p.measure, cur),
            "quoted at": _rank(p),
            **({share: f"{p.unpriced:.1%}"} if unpriced else {}),
            **({"blocked": p.blocked} if blocked else {}),
            **({gap: _published(p)} if published else {}),
        }
        for p in u.percentiles
    ]
    # rev15d #7: the key column is named (as in the JSON), not "" (pandas: "Unnamed: 0").
    columns = ("name", f"P10 ({cur})", f"P50 ({cur})", f"P90 ({cur})", f"quoted ({cur})",
               "quoted at",
               *((share,) if unpriced else ()),
               *(("blocked",) if blocked else ()),
               *((gap,) if published else ()))  # fmt: skip
    # CSV and JSON: a percentile among the samples that fail is an empty cell, its reason in
    # `unpriced_reason`, as the report's JSON gives them (null and the reason: rev17b #12).
    data = [
        {
            **row,
            **{f"P{k} ({cur})": _amount(getattr(p, f"p{k}"), p.measure, cur) for k in (10, 50, 90)},
            **({"unpriced_reason": p.unpriced_reason} if unpriced else {}),
        }
        for row, p in zip(rows, u.percentiles, strict=True)
    ]
    at = columns.index(share) + 1 if unpriced else len(columns)
    data_columns = (*columns[:at], *(("unpriced_reason",) if unpriced else ()), *columns[at:])
    data = [{c: d.get(c) for c in data_columns} for d in data]
    of = " of the shocked plan" if u.plan == "shocked" else ""
    title = f"Uncertainty{of} ({u.samples:,} sample{'' if u.samples == 1 else 's'}, seed {u.seed})"
    if u.drawn:
        title += f"; drawn: {'; '.join(u.drawn)}"
    if u.not_drawn:
        title += f"; not drawn: {'; '.join(_not_drawn(n) for n in u.not_drawn)}"
    held = [p.name for p in u.percentiles if p.blocked and p.name != "total"]
    title += _unpriced(u.percentiles, phases, held)
    return Table(title, rows, columns=columns, data=data, data_columns=data_columns)


def _unpriced(shown: Sequence[object], phases: Sequence[str], blocked: Sequence[str] = ()) -> str:
    """What a table of sampled or swung figures leaves out: the quote's unpriced phases; with
    nothing priced, that it has nothing to show (rev12e #3: no title, no CSV header). And the
    `blocked` phases it includes, as the headline says them (rev18a #10)."""
    if phases and not shown:
        return f": no phase is priced, nothing to vary (unpriced: {', '.join(phases)})"
    said = [f"excludes unpriced: {', '.join(phases)}"] if phases else []
    said += [f"includes blocked: {', '.join(blocked)}"] if blocked else []
    return f" ({'; '.join(said)})" if said else ""


def _not_drawn(n: NotDrawnView) -> str:
    """An input the samples leave as quoted, in words: "pretrain: price (no range in the
    catalog; 92% of the total)"."""
    if n.share is None:
        return f"{n.input} ({n.why})"
    part = "<1%" if 0 < n.share < 0.005 else f"{n.share:.0%}"
    return f"{n.input} ({n.why}; {part} of the total)"


def _sampled(amount: float | None, p: PercentileView, cur: str) -> Cents | Price | str | None:
    """A percentile's cell: its figure, or where it falls among the samples that fail, why they
    do ("misses its deadline", rev17a #2)."""
    if amount is None and p.unpriced_reason is not None:
        return p.unpriced_reason
    return _amount(amount, p.measure, cur)


def _published(p: PercentileView) -> str | None:
    """The quote's device-hours against a published run's: "+49% device-hours (its id)"."""
    if p.published_gap is None:
        return None
    return f"{p.published_gap:+.0%} device-hours ({p.published_run})"


def _rank(p: PercentileView) -> str | None:
    """Where the quoted figure sits among the samples; at or above all of them (whole servers
    absorbing every draw), saying P100 would read as the top of a range. ("every sample" said
    so when P10 = P90 = the figure, which leaves the lowest tenth unknown: review9d #8.)"""
    if p.unpriced >= 1.0:  # no sample priced: nothing to rank the figure among
        return None
    if p.point_rank <= 0.0 or p.point_rank >= 1.0:
        # "P0" read as a percentile of the samples; the figure is outside all of them (a spot
        # price listed at its cheapest zone).
        return "below every sample" if p.point_rank <= 0.0 else "at or above every sample"
    # Whole percents rounded down: the share at or below the figure. Rounded to nearest, a
    # quote at the top of a step with 49.9% at or below it read "P50" beside a P50 4.5% above
    # it (review9a #8), and one 0.2% of samples exceed read "every sample" (P99 now).
    rank = math.floor(p.point_rank * 100 + 1e-9)
    return "below P1" if rank == 0 else f"P{rank}"  # "P0" reads as below every sample


def _cents(amount: float | None, currency: str) -> Cents | None:
    return None if amount is None else Cents(amount, currency)


def _price(amount: float | None) -> Price | None:
    """A price per unit (per million output tokens): its own significant figures, not cents
    (rev15a #10)."""
    return None if amount is None else Price(amount)


def _amount(amount: float | None, measure: str, currency: str) -> Cents | Price | None:
    """A percentile's figure: a cost in cents, a price per million output tokens as a price."""
    if measure == "per_million_output_tokens":
        return _price(amount)
    return _cents(amount, currency)


def _placement_columns(cur: str) -> tuple[str, ...]:
    """The header of `placement_rows` (for a plan of fixed sites only, with no row)."""
    return ("phase", "#", "accelerator", "region", "pricing", "provider", "instance", "devices",
            "days", f"cost ({cur})", "verdict")  # fmt: skip


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
            # Two offers of one provider, region and accelerator (p5en and p5e) differ here.
            "instance": a.instance,
            "devices": a.devices,
            "days": a.wall_clock_days,
            f"cost ({cur})": None if a.cost is None else Cents(a.cost, cur),
            # The chosen option's warnings and the cheapest without them (rev19a #6).
            "verdict": a.verdict if a.caution is None else f"{a.verdict}; {a.caution}",
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


# When a re-placed phase's work ends against the plan as given (JSON `extra_days`), signed.
_ENDS = "work ends (days vs before: + later / - earlier)"


def shock_table(s: ShockView, cur: str) -> Table:
    # A stranded phase cannot run under the rule: no cost or delay of it is a figure (rev11d
    # #1: "0.00" read as a rule that costs nothing). Days in one format, to a tenth.
    rows = [
        {
            "phase": r.phase,
            "rule": r.rule,
            "before": r.before,
            "after": r.after,
            f"extra cost ({cur})": None if r.extra_cost is None else Cents(r.extra_cost, cur),
            f"cost of the rule ({cur})": None if r.rule_cost is None else Cents(r.rule_cost, cur),
            # One decimal, as the JSON has it (rev12b #9: "-24.10", a column's 4 figures),
            # signed: "work ends later (days) -69.7" was a double negative (rev19a #7f).
            _ENDS: None if r.extra_days is None else f"{r.extra_days:+.1f}",
        }
        for r in s.replanned
    ]
    # rev20a #1: what the plan after the shock counts that a block forbids (beyond a stranded
    # phase, whose row says it) is said in the rows too, which CSV gives without the heading:
    # on a re-placed phase's row, or a row of its own with no figures (they stay in "transfers
    # and other phases").
    lost = [r.phase for r in s.replanned if r.stranded]
    held = [b for b in s.blocked_after if b not in lost]
    # rev20d #2: a part blocked in the plan as given too is not the rule's doing; its rows and
    # the heading say so rather than blame the shock.
    brought = [b for b in held if b not in s.blocked_before]
    for b in held:
        said = (
            f"blocked by {_blocks(s, b)} in the plan after the shock"
            if b in brought
            else f"blocked by {_blocks(s, b)} after the shock, as in the plan as given"
        )
        row = next((row for row in rows if row["phase"] == b), None)
        if row is not None:
            row["after"] = f"{row['after']}; {said}"
            continue
        rows.append(
            {
                "phase": b, "rule": "", "before": "",
                "after": f"not re-placed; {said}, counted as if it could go ahead",
                f"extra cost ({cur})": None, f"cost of the rule ({cur})": None, _ENDS: None,
            }
        )  # fmt: skip
    # What the re-placed phases' rows leave out (the transfers between them, which follow the
    # regions): a row of its own, so the rows add up to the figures in the title.
    rest_extra = money(s.extra_cost - sum(r.extra_cost or 0.0 for r in s.replanned), cur)
    rest_rule = money(s.rule_cost - sum(r.rule_cost or 0.0 for r in s.replanned), cur)
    if s.replanned and (rest_extra or rest_rule):
        rows.append(
            {
                "phase": "transfers and other phases",
                "rule": "",
                "before": "",
                "after": "",
                f"extra cost ({cur})": Cents(rest_extra, cur),
                f"cost of the rule ({cur})": Cents(rest_rule, cur),
                _ENDS: None,
            }
        )
    # A phase the rule leaves no option leads (it cannot run at all); then the rule's own
    # cost: re-placing a dear fixed site can lower the total, and that must not read as a ban
    # saving money.
    # Never "the rule costs 0.00" for work it blocks (rev15a #1): a stranded phase's loss is
    # not priced, so the rule's cost is unknown; what the other phases cost is said apart.
    if lost:
        cost = (
            f"{', '.join(lost)} cannot run under the rule (no option allowed: kept where it "
            "was, blocked, its cost still in the totals); "
            "the rule's cost is unknown: that work is lost"
        )
        if s.rule_cost or len(lost) < len(s.replanned):
            cost += f", and the rest costs {spoken(s.rule_cost, cur)} {cur} more"
    else:
        cost = f"the rule costs {spoken(s.rule_cost, cur)} {cur}"
    # rev20a #1: the rule's cost was given on a plan after the shock with two lead-time blocks,
    # said only in quote_after's findings. What the plan after counts that a block forbids
    # (beyond the lost phases said above) is said beside the cost, and beside each total as
    # the quote's headline says it.
    if brought:
        cost += (
            ", on a plan after it that cannot go ahead as placed (blocked: "
            f"{'; '.join(f'{b} by {_blocks(s, b)}' for b in brought)}; priced as if they could)"
        )
    if len(brought) < len(held):
        cost += (
            " (blocked before and after it alike: "
            f"{'; '.join(f'{b} by {_blocks(s, b)}' for b in held if b not in brought)})"
        )
    before = "the plan as given"
    if s.blocked_before:
        before += f"; includes blocked: {', '.join(s.blocked_before)}"
    after = f" (includes blocked: {', '.join(s.blocked_after)})" if s.blocked_after else ""
    # "Heading — summary": HTML makes the part before the dash a heading, the rest a paragraph
    # (rev11d #8: the whole sentence was an h2 three lines long).
    title = (
        f"Shock {', '.join(s.shocks)} — {_shock_days(s)}: {cost}; total "
        f"{spoken(s.total_before, cur)} ({before}) -> {spoken(s.total_after, cur)} {cur}{after}"
    )
    if s.replacement:
        # A dear fixed site re-placed at its cheapest option can lower the total: that is the
        # re-placement's doing, not the rule's (review8a #9 read it as a ban saving money).
        title += (
            f" (of which {spoken(s.replacement, cur)} from re-placing the phases it blocks at "
            "their cheapest allowed option, a fixed site re-opened or a phase left to wait for "
            "hardware, not from the rule)"
        )
    if s.assumption:  # rev16a #1: the foresight the figures rest on, said where they are
        title += f"; {s.assumption}"
    columns = ("phase", "rule", "before", "after", f"extra cost ({cur})",
               f"cost of the rule ({cur})", _ENDS)  # fmt: skip
    return Table(title + ("" if s.replanned else "; no phase affected"), rows, columns=columns)


def _blocks(s: ShockView, part: str) -> str:
    """The codes of the findings that block a part of the plan after a shock: "lead-time"."""
    codes = dict.fromkeys(
        f.code for f in s.quote_after.findings if f.severity == "block" and f.phase == part
    )
    return ", ".join(codes) or "a block"


def _shock_days(s: ShockView) -> str:
    """Each shock rule with its own day (rev12a #2: two shocks read "from" the later one)."""
    if not s.rules_from:
        return f"from {s.judged_on}"
    return ", ".join(f"{rule} from {day}" for rule, day in s.rules_from.items())


# What a swing's low and high are, by its `kind`.
_ENDS_ARE = {"factor": "x quoted", "efficiency": "efficiency"}


def sensitivity_table(v: SensitivityView) -> Table:
    cur = v.currency
    # The price per million output tokens at each end only when some phase is ranked on it
    # (serving with no demand, whose total is fixed by construction).
    per_million = any(s.per_million_output_tokens_at_low is not None for s in v.swings)
    rows = [
        {
            "input": s.input,
            "low": s.low,
            "high": s.high,
            # rev19a #7i: factors (tokens 0.8/1.2) beside efficiencies (mfu 0.36/0.50).
            "ends": _ENDS_ARE[s.kind],
            f"total at low ({cur})": _cents(s.total_at_low, cur),
            f"total at high ({cur})": _cents(s.total_at_high, cur),
            f"swing ({cur})": _cents(s.swing, cur),
            **(
                {
                    f"per M output tokens at low ({cur})": _price(
                        s.per_million_output_tokens_at_low
                    ),
                    f"per M output tokens at high ({cur})": _price(
                        s.per_million_output_tokens_at_high
                    ),
                }
                if per_million
                else {}
            ),
        }
        for s in v.swings
    ]
    # Named columns: with nothing priced there are no rows, and the CSV had no header.
    columns = ("input", "low", "high", "ends", f"total at low ({cur})", f"total at high ({cur})",
               f"swing ({cur})", *((f"per M output tokens at low ({cur})",
               f"per M output tokens at high ({cur})") if per_million else ()))  # fmt: skip
    title = f"Sensitivity of {v.name} as of {v.as_of}: total {spoken(v.total, cur)} {cur}"
    return Table(title + _unpriced(v.swings, v.unpriced), rows, columns=columns)


def _comparison_title(v: ComparisonView) -> str:
    """The title "Comparison", and when the scenarios are dated differently, that each is priced and
    converted on its own date (rev18a #4: "vs first (%)" read +11.2% one way and -7.1% the
    other for two plans whose USD prices were the same; EUR/USD had moved between the dates)."""
    days = [q.as_of for q in v.quotes]
    title = "Comparison"
    if len(set(days)) > 1:
        dated = ", ".join(f"{name} {day}" for name, day in zip(v.scenarios, days, strict=True))
        title += (
            f" — each scenario at its own date's prices and exchange rates ({dated}; "
            "--as-of puts all on one date)"
        )
    views = [q.accounting for q in v.quotes]
    if len(set(views)) > 1:
        # rev19a #5: a project-view total beside an amortised one, compared as one measure.
        each = "; ".join(f"{name}: {view}" for name, view in zip(v.scenarios, views, strict=True))
        title += (
            f" — accounting views differ ({each}): each phase and total in its own view, "
            f"'vs first' in the {views[0]} view of each (its total in that view)"
        )
    return title


def _parts(v: ComparisonView) -> Rows:
    """One row per scenario and phase or transfer: the parts each total is the sum of."""
    from estimator.report.plan_view import where

    rows: Rows = []
    for name, q in zip(v.scenarios, v.quotes, strict=True):
        rows += [
            {"scenario": name, "part": "phase", "name": p.name, "where": where(p),
             f"cost ({v.currency})": Cents(p.cost, v.currency) if p.priced else None}
            for p in q.phases
        ]  # fmt: skip
        rows += [
            {"scenario": name, "part": "transfer", "name": f"{t.from_} -> {t.to}",
             "where": t.route, f"cost ({v.currency})": Cents(t.cost, v.currency)}
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
