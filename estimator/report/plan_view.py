"""View models of a plan (placements, runners-up, shock), a comparison and a sensitivity run.

Built on the quote's view (`report.view`), with the same rounding rules.
"""

# Annotations are objects here, not `from __future__ import annotations` strings: pydantic
# evaluates a model's string annotations one by one as it builds the model (each compiled),
# ~4 ms of every command's imports over the scenario, result and view models. A name defined
# further down, or for type checkers only, is quoted.
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from estimator.api import Comparison
from estimator.frozen import empty_dict, empty_list
from estimator.planner import Alternative, Plan
from estimator.report.rows import Cents, Rate
from estimator.report.view import (
    SCHEMA_VERSION,
    PhaseView,
    QuoteView,
    UncertaintyView,
    _View,
    money,
    money_or_none,
    quote_view,
    rate_or_none,
    sig,
)
from estimator.results import Quote

if TYPE_CHECKING:  # only in signatures: a quote's report does not load the shock or sampling
    from estimator.shock import ShockResult
    from estimator.uncertainty import Swing


class PlacementView(_View):
    phase: str
    candidates: int
    allowed: int
    removed: dict[str, int]
    alternatives: list[Alternative]


class ReplannedView(_View):
    phase: str
    rule: str
    before: str
    after: str
    extra_cost: float | None = Field(
        description="After minus before. Null for a stranded phase: it does not run."
    )
    rule_cost: float | None = Field(
        description="After minus the best placement over the same options without the shock. "
        "Null for a stranded phase: it does not run (its work is lost, ShockView.lost)."
    )
    extra_days: float | None = Field(
        description="How many days later the phase's work ends (its start plus its run time; "
        "negative: sooner), to a tenth of a day. A re-placed run's own length and a later start "
        "both count, each once (review10a #7). Null for a stranded phase: it does not run."
    )
    stranded: bool = Field(
        default=False,
        description="True: no option is allowed under the rule; the phase stays where it was, "
        "blocked (its cost is still in total_after): the work or market is lost.",
    )


class ShockView(_View):
    shocks: list[str]
    judged_on: date = Field(description="The earliest day a shock takes effect (or the plan's).")
    rules_from: dict[str, date] = Field(
        default_factory=empty_dict,
        description="Each shock rule's id and the day it takes effect: a phase is judged on "
        "each from its own day.",
    )
    total_before: float = Field(description="The plan's headline total (the same quote).")
    total_after: float
    extra_cost: float = Field(description="total_after - total_before: rule_cost + replacement.")
    rule_cost: float = Field(
        description="What the rule itself costs: total_after against the best placement of the "
        "same phases over the same options without the shock. With a phase in `lost` the "
        "rule's cost is unknown: this is what it costs the other phases."
    )
    lost: list[str] = Field(
        default_factory=empty_list,
        description="The stranded phases: no option, nor a deadline cut to end before the rule, "
        "is allowed; their work is lost and its cost is not in rule_cost (rev15a #1).",
    )
    replacement: float = Field(
        description="The change from re-placing fixed sites the rule blocks at their cheapest "
        "allowed option (<= 0 when a fixed site was dearer than it): not caused by the rule."
    )
    blocked_before: list[str] = Field(
        default_factory=empty_list,
        description="What total_before counts that a block finding forbids (the plan as given's "
        "quote.blocked): priced as if it could go ahead.",
    )
    blocked_after: list[str] = Field(
        default_factory=empty_list,
        description="What total_after, and so rule_cost and extra_cost, count that a block "
        "finding forbids (quote_after.blocked: a stranded phase, or one the shocked schedule "
        "leaves blocked, e.g. by lead time): the plan after the shock cannot go ahead as placed "
        "(rev20a #1: its lead-time blocks were in quote_after.findings only).",
    )
    replanned: list[ReplannedView]
    assumption: str = Field(
        default="",
        description="What the what-if assumes (empty when no phase is re-placed): the rule is "
        "known on the plan's date, before anything was committed, and each phase it blocks is "
        "re-placed from its own start; the phases already running on the rule's day are named, "
        "since what they spent or committed by then is not in total_after (rev16a #1).",
    )
    quote_after: QuoteView


class PlanView(_View):
    """A plan as shown. JSON output of `splitcompute plan`."""

    schema_version: str = SCHEMA_VERSION
    objective: str
    quote: QuoteView
    placements: list[PlacementView]
    uncertainty: UncertaintyView | None = None
    shock: ShockView | None = None


def plan_view(
    p: Plan, uncertainty: UncertaintyView | None = None, shock: "ShockResult | None" = None
) -> PlanView:
    placements = [
        PlacementView(
            phase=pp.phase,
            candidates=pp.candidates,
            allowed=pp.allowed,
            removed=pp.removed,
            alternatives=[
                a._replaced(
                    {
                        "cost": None if a.cost is None else money(a.cost, p.quote.currency),
                        "wall_clock_days": None
                        if a.wall_clock_days is None
                        else sig(a.wall_clock_days),
                    }
                )
                for a in pp.alternatives
            ],
        )
        for pp in p.phases
    ]
    # The quote's view sets the quoted figures of the uncertainty table to the cent shown above
    # them (a total is the sum of the rounded parts); the plan shows that table once, itself.
    shown = quote_view(p.quote, uncertainty)
    sampled = shown.uncertainty
    if uncertainty is not None and uncertainty.plan == "shocked" and shock is not None:
        # Samples of the shocked plan: its quoted figures are the shocked plan's (rev12a #11).
        sampled = quote_view(shock.shocked.quote, uncertainty).uncertainty
    return PlanView(
        objective=p.objective,
        quote=shown.model_copy(update={"uncertainty": None}),
        placements=placements,
        uncertainty=sampled,
        shock=None if shock is None else _shock(shock),
    )


def tenths(days: float) -> float:
    """Days as the what-if shows them, in JSON and tables alike: to a tenth, no "-0.0"."""
    return round(days, 1) + 0.0


def _shock(s: "ShockResult") -> ShockView:
    before, after = quote_view(s.base.quote), quote_view(s.shocked.quote)
    cur = before.currency
    return ShockView(
        shocks=s.shocks,
        judged_on=s.judged_on,
        rules_from=dict(s.rules),
        total_before=before.total,
        total_after=after.total,
        extra_cost=money(s.extra_cost, cur),
        rule_cost=money(s.rule_cost, cur),
        replacement=money(s.replacement, cur),
        lost=[r.phase for r in s.replanned if r.stranded],
        blocked_before=before.blocked,
        blocked_after=after.blocked,
        replanned=[
            ReplannedView(
                phase=r.phase,
                rule=r.rule,
                before=r.before,
                after=r.after,
                extra_cost=money_or_none(r.extra_cost, cur),
                rule_cost=money_or_none(r.rule_cost, cur),
                extra_days=None if r.extra_days is None else tenths(r.extra_days),
                stranded=r.stranded,
            )
            for r in s.replanned
        ],
        assumption=s.assumption,
        quote_after=after,
    )


class ComparisonView(_View):
    """Scenarios side by side. JSON output of `splitcompute compare`."""

    schema_version: str = SCHEMA_VERSION
    currency: str
    scenarios: list[str]
    rows: list[dict[str, Any]]
    quotes: list[QuoteView]


def comparison_view(cmp: Comparison) -> ComparisonView:
    shown = [quote_view(q) for q in cmp.quotes]
    names = cmp.names
    cur = shown[0].currency
    phase_names = list(dict.fromkeys(p.name for d in shown for p in d.phases))
    rows: list[dict[str, Any]] = []

    def row(label: str, values: list[Any]) -> None:
        rows.append({"": label, **dict(zip(names, values, strict=True))})

    # rev18a #4: each scenario is priced and converted on its own date (`quote FILE --currency`
    # of it gives the same figures), so "vs first" compares totals at two dates' rates when
    # the dates differ: the dates and the rates used are shown (`--as-of` puts all on one).
    row("as of", [d.as_of.isoformat() for d in shown])
    # rev19a #5: a project-view total beside an amortised one read as one measure.
    row("accounting", [d.accounting for d in shown])
    used = sorted({cur for d in shown for cur in _rates(d)} - {"USD"})
    for other in used:
        rates = [_rates(d).get(other) for d in shown]
        row(f"{other} per USD", [None if r is None else Rate(r) for r in rates])
    for ph in phase_names:
        found = [next((p for p in d.phases if p.name == ph), None) for d in shown]
        # A phase with no price is no figure (blank), not 0.00.
        row(f"{ph} ({cur})", [Cents(p.cost, cur) if p and p.priced else None for p in found])
        row(f"{ph} where", [p and where(p) for p in found])
    row(
        f"transfers ({cur})",
        [Cents(money(sum(t.cost for t in d.transfers), cur), cur) for d in shown],
    )
    row(f"total ({cur})", [Cents(d.total, cur) for d in shown])
    row("total excludes (unpriced)", [", ".join(d.unpriced) or "-" for d in shown])
    # A total that leaves a phase out is not compared: "-99.4 %" was 783 M CNY of serving
    # with no price on the date, not a cheaper plan.
    first = shown[0]
    whole = [not first.unpriced and not d.unpriced for d in shown]
    # rev19a #5: scenarios in different accounting views are compared in the first's view
    # (each quote carries its total in the other view), which a row and the labels name: a
    # project-view commitment against an amortised charge is no saving.
    view = first.accounting
    mixed = any(d.accounting != view for d in shown)
    totals = [d.total if d.accounting == view else d.total_other_view for d in shown]
    said = f", {view} view" if mixed else ""
    if mixed:
        row(f"total{said} ({cur})", [Cents(t, cur) for t in totals])
    row(
        f"vs first{said} ({cur})",
        [
            Cents(money(t - totals[0], cur), cur) if ok else None
            for t, ok in zip(totals, whole, strict=True)
        ],
    )
    row(
        f"vs first{said} (%)",
        [
            round((t - totals[0]) / totals[0] * 100, 1) + 0.0 if ok and totals[0] else None
            for t, ok in zip(totals, whole, strict=True)
        ],
    )
    # First training start to last training end; unknown where a training run was not timed
    # (its device lacks the precision): without it the plan would look faster.
    # Blank for a scenario with no training phase (rev12a #12: it read 0.0).
    row(
        "days to train",
        [
            None
            if q.training_days is None or not any(p.kind == "train" for p in q.phases)
            else round(q.training_days, 1)
            for q in cmp.quotes
        ],
    )
    for sev in ("block", "warn"):
        row(
            f"findings: {sev}",
            [
                ", ".join(sorted({f.code for f in d.findings if f.severity == sev})) or "-"
                for d in shown
            ],
        )
    return ComparisonView(currency=cur, scenarios=names, rows=rows, quotes=shown)


def _rates(d: QuoteView) -> dict[str, float]:
    """Units of each currency per USD a quote converted at (its assumptions' fx_per_usd)."""
    fx = d.assumptions.get("fx_per_usd") or {}
    return {cur: r["per_usd"] for cur, r in fx.items()}


def where(p: PhaseView) -> str:
    """Where a phase runs, as a comparison shows it (a phase with no price says so)."""
    where = f"{p.accelerator} @ {p.region} ({p.pricing})"
    return where if p.priced else f"{where}, no price"


class SwingView(_View):
    input: str
    low: float
    high: float
    total_at_low: float | None = Field(
        description="Null where a phase as placed cannot be priced at that end "
        "(`unpriced_reason` says why)."
    )
    total_at_high: float | None
    swing: float | None = Field(description="Null when either end is unpriced.")
    per_million_output_tokens_at_low: float | None = Field(
        default=None,
        description="Serving with no demand (whole instances of whole replicas at full load, "
        "ranked per output token): its total is fixed by construction, so its price per million "
        "output tokens at the input's low end; null for other inputs.",
    )
    per_million_output_tokens_at_high: float | None = None
    unpriced_reason: str | None = Field(
        default=None,
        description='Why an end has no total, "<phase> <reason>" (e.g. "misses its '
        'deadline", "needs more devices than the 512 given"); null when both are priced.',
    )
    kind: Literal["factor", "efficiency"] = Field(
        default="factor",
        description="What low and high are: 'factor', multiples of the quoted value (a price, "
        "tokens, demand, an exchange rate, the hours or rate a model error scales: 0.8 is 20% "
        "below); 'efficiency', the efficiency itself (mfu, decode, prefill MFU: a fraction of "
        "peak).",
    )


class SensitivityView(_View):
    schema_version: str = SCHEMA_VERSION
    name: str
    as_of: date
    currency: str
    total: float
    unpriced: list[str] = Field(description="Phases with no price: the total excludes them.")
    swings: list[SwingView]


def sensitivity_view(q: Quote, swings: "list[Swing]") -> SensitivityView:
    return SensitivityView(
        name=q.name,
        as_of=q.as_of,
        currency=q.currency,
        total=quote_view(q).total,
        unpriced=[p.name for p in q.phases if not p.priced],
        swings=[
            SwingView(
                input=s.input,
                low=round(s.low, 4),
                high=round(s.high, 4),
                total_at_low=money_or_none(s.total_at_low, q.currency),
                total_at_high=money_or_none(s.total_at_high, q.currency),
                swing=money_or_none(s.swing, q.currency),
                per_million_output_tokens_at_low=rate_or_none(s.per_million_at_low, q.currency),
                per_million_output_tokens_at_high=rate_or_none(s.per_million_at_high, q.currency),
                unpriced_reason=s.unpriced_reason,
                kind=s.kind,
            )
            for s in swings
        ],
    )
