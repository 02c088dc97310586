"""View models: what a quote, a plan or a comparison shows, built once from the domain objects.

Every displayed figure is rounded here: money in whole cents (`costing.cents`, the one rule),
other figures to twelve significant digits (the float noise past that is not information). The
domain already bills each line item in whole cents and sums them into its totals (see
DESIGN.md), so a library total and a printed one agree to the cent. Every displayed total is
the sum of the displayed items, so printed figures add up exactly. Every format renders from
these models; the JSON output is their dump (`splitcompute schema quote` prints its schema).
Plans, comparisons and sensitivity are in `report.plan_view`; a `train` / `serve` estimate's
view in `report.estimate_view`.
"""

# Annotations are objects here, not `from __future__ import annotations` strings: pydantic
# evaluates a model's string annotations one by one as it builds the model (each compiled),
# ~4 ms of every command's imports over the scenario, result and view models. A name defined
# further down, or for type checkers only, is quoted.
import math
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from estimator.costing import LineItem, cents, per_unit, summed
from estimator.findings import Finding
from estimator.frozen import empty_list
from estimator.results import OfferUsed, Quote
from estimator.timeline import Month
from estimator.transfers import TransferQuote, named

if TYPE_CHECKING:
    from estimator.uncertainty import Percentiles

# "3" (session 12): a line item's to_quote_rate; a stranded re-placed phase's extra_days null; a
# shock's rules_from; uncertainty.plan (as given or shocked) (rev12f #12).
# "4" (session 13): a quote's `blocked`, the priced phases a block forbids (rev13b #10).
# "5" (session 14): `blocked` also names the transfers a block forbids, as "transfer A->B"
# (rev14a #2: a blocked dataset export left it empty while `Quote.blocked` was true).
# "6" (session 15): a shock's `lost` (its stranded phases), and a stranded phase's replanned
# rule_cost and extra_cost null (it does not run; were 0.0); `assumptions.fleet_book_value`; the
# per-million figures (cost_per_million_output_tokens, the sensitivity's
# per_million_output_tokens_at_*, the per-million percentiles) to 4 significant figures, not whole
# cents (rev15a #10); the input field `fleet[].book_value_currency` (rev15c #6).
# "7" (session 16): each phase's `output_tokens` and `cost_per_million_output_tokens` (a
# serving phase's price per million output tokens; only `serve` gave it: rev16a #4);
# `shock.assumption` (plan_view.ShockView: what the what-if assumes, rev16a #1).
# "8" (session 17): each percentile's `unpriced_reason`; an unpriced sample counts above every
# priced one, so a percentile among them is null and `point_rank` is of all the samples (rev17a
# #2: the percentiles were of the priced samples only); each swing's `unpriced_reason` (rev17b
# #3: the reason an end has no total, from the same decision as the mask).
# "9" (session 18): `assumptions.latency` and `assumptions.transfers`, the dated latency and
# transfer rows a quote uses (rev18b #2: a row dated after the quote was used without a word);
# the `serve` estimate's `assumptions.latency`, the quote's (rev18c #2).
# "10" (session 18): `uncertainty.not_drawn`, what the samples leave as quoted (a price with no
# catalog range, one side of a price with one end, the transfers, exchange rates) with its share
# of the total (rev18a #5); each percentile's `blocked`, the block findings that forbid what its
# samples price (rev18a #10: a capacity-short rental's band read as a range of its cost).
# "11" (session 18): each serving phase's `demand_output_tokens_per_s_per_device` (the rate its
# fleet is sized at, at the demand's own input per output token; rev18a #9: 811.6 was shown at the
# request shape's and 16 devices billed at ~695); amounts in the currency's minor unit (whole
# yen: ISO 4217, pricing.currencies; rev18a #10: JPY totals had sen).
# "12" (session 19): a USD line item's `fx_as_of` and `assumptions.fx_per_usd.USD.as_of` are
# null (USD's rate is 1 by definition: fx.csv's base row's placeholder "2000-01-01" read as a
# 25-year-old rate; rev19a #7j). Added, no bump needed: a comparison's "accounting" row (rev19a
# #5) and each sensitivity swing's `kind` (rev19a #7i); (session 20) a shock's `blocked_before`
# and `blocked_after` (rev20a #1: the plan after a shock had lead-time blocks no summary said).
SCHEMA_VERSION = "12"


# The currency every rate is per (fx.csv's base: its per_usd is 1, by definition undated).
BASE = "USD"


def undated_base(assumptions: dict[str, Any]) -> dict[str, Any]:
    """A quote's assumptions as shown: the base currency's rate with no date (`fx_per_usd`'s
    USD `as_of` null; rev19a #7j: fx.csv's placeholder "2000-01-01")."""
    fx = assumptions.get("fx_per_usd")
    if not isinstance(fx, dict) or BASE not in fx:
        return assumptions
    return {**assumptions, "fx_per_usd": {**fx, BASE: {**fx[BASE], "as_of": None}}}


def money(amount: float, currency: str) -> float:
    """The displayed amount: whole cents (the currency's minor unit: whole yen)."""
    return cents(amount, currency)


def money_or_none(amount: float | None, currency: str) -> float | None:
    """`money`, keeping None (no figure)."""
    return None if amount is None else money(amount, currency)


def rate(amount: float, currency: str) -> float:
    """A displayed price per unit (per million output tokens): `costing.per_unit`, 4
    significant figures, or whole cents where those are finer (from 10 up; whole yen from
    1,000 up)."""
    return per_unit(amount, currency)


# A percentile of a price per million output tokens, not of a cost (uncertainty.PER_MILLION;
# not imported: a quote's report does not load the sampling).
_PER_MILLION = "per_million_output_tokens"


def rate_or_none(amount: float | None, currency: str) -> float | None:
    """`rate`, keeping None (no figure)."""
    return None if amount is None else rate(amount, currency)


def sig(x: float, digits: int = 12) -> float:
    return float(f"{x:.{digits}g}")


def _shown(value: Any) -> Any:
    if isinstance(value, float):
        return sig(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    return value


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


def non_finite(view: BaseModel) -> list[str]:
    """Paths of the figures of a view that are not finite numbers. A view shows a figure it
    does not know as null (`_shown`), so any left is a result the model could not compute."""
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            found.append(f"{path} = {value}")
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")

    walk(view.model_dump(), "")
    return found


class LineItemView(_View):
    phase: str
    region: str
    component: str
    description: str
    quantity: float = Field(description="Billed units (device-hours, server-hours, kWh, GB).")
    unit: str
    unit_price: float = Field(description="Price per unit in unit_currency.")
    unit_currency: str
    fx_per_usd: float = Field(description="Units of unit_currency per USD, as of fx_as_of.")
    fx_as_of: date | None = Field(
        description="The date of fx_per_usd; null for USD, whose rate is 1 by definition (the "
        "base currency: no observed rate, no date)."
    )
    to_quote_rate: float = Field(
        description="Units of the quote's currency per unit of unit_currency, unrounded: "
        "quantity x unit_price x to_quote_rate = amount (before each is rounded to its "
        "currency's minor unit)."
    )
    # rev18d #9: said "cents"; a yen amount is whole yen (`costing.cents`, ISO 4217 minor units).
    billed_amount: float = Field(
        description="quantity x unit_price, in unit_currency, rounded to its minor unit (cents; "
        "whole yen)."
    )
    amount: float = Field(
        description="The billed amount in the quote's currency, rounded to its minor unit "
        "(cents; whole yen)."
    )
    currency: str


def _item(i: LineItem) -> LineItemView:
    return LineItemView(
        **{
            **i.model_dump(),
            # rev19a #7j: USD's rate is 1 by definition; fx.csv's base row dates it 2000-01-01,
            # which read as a 25-year-old rate.
            "fx_as_of": i.fx_as_of,
            "quantity": sig(i.quantity),
            "unit_price": sig(i.unit_price),
            "amount": money(i.amount, i.currency),
            "billed_amount": money(i.billed_amount, i.unit_currency),
        }
    )


# A phase the physics could not time (its device lacks the precision) has no length.
_UNTIMED = "None: not timed, as the device lacks the precision (precision-unsupported)."


def excludes(unpriced: list[str], phases: int, blocked: Sequence[str] = ()) -> str:
    """What a headline total leaves out: nothing, the unpriced phases, or (none priced) all of
    them, which must not read as a budget (review8a #15: "total 730.37 CNY" for a 2 bn plan);
    and the priced phases it counts that a block forbids (rev13b #10: all_abroad's "total
    757,798,774.70 USD" counted two phases the data-export rules block, unmarked)."""
    said = [f"includes blocked: {', '.join(blocked)}"] if blocked else []
    if len(unpriced) >= phases and unpriced:
        return " (no phase is priced: this is not a budget; only transfers are counted)"
    if unpriced:
        said.insert(0, f"excludes unpriced: {', '.join(unpriced)}")
    return f" ({'; '.join(said)})" if said else ""


class PhaseView(_View):
    name: str
    kind: str
    region: str
    country: str = Field(description="The region's country (regions.csv), as the library's.")
    accelerator: str
    pricing: str
    provider: str
    instance: str
    devices: int
    billed_devices: int = Field(
        description="Devices paid for: whole instances or servers; `devices` of them work."
    )
    device_hours: float | None = Field(description=_UNTIMED)
    wall_clock_days: float | None = Field(description=_UNTIMED)
    start: date
    end: date = Field(
        description="End of the phase's planning window (a deadline reserves it all)."
    )
    cost: float = Field(
        description="Sum of this phase's displayed line items (0 when `priced` is false)."
    )
    cost_other_view: float = Field(description="The same placement in the other accounting view.")
    priced: bool = Field(description="False: no price for this site (cost 0, not in the total).")
    line_items: list[LineItemView]
    offer: OfferUsed | None
    physics: dict[str, Any]
    output_tokens: float | None = Field(
        default=None,
        description="Output tokens a serving phase serves over its days: its demand, or with "
        "none its fleet at full load (output_tokens_per_s_per_device x serve_goodput). Null for "
        "training.",
    )
    cost_per_million_output_tokens: float | None = Field(
        default=None,
        description="A priced serving phase's cost over its output_tokens, per million (4 "
        "significant figures, or whole cents where those are finer: from 10 up, whole yen from "
        "1,000 up). Null for training and unpriced phases.",
    )


class TransferView(_View):
    from_: str = Field(alias="from")
    to: str
    what: str
    gigabytes: float
    hours: float
    route: str
    cost: float
    line_items: list[LineItemView]


class CurrencyTotal(_View):
    amount: float = Field(description="Billed in this currency.")
    converted: float = Field(description="The same in the quote's currency.")


# One month of the cash flow: a field per `timeline.KINDS`, in its order (a test holds them
# equal: a new kind is shown here and in the chart, not lost to a validation error).
class MonthView(_View):
    month: str = Field(description="YYYY-MM")
    rent: float
    capital: float
    resale: float
    energy: float
    operations: float
    transfer: float
    total: float = Field(description="Sum of the month's displayed amounts.")


def _month(m: Month, currency: str) -> MonthView:
    parts = {k: money(v, currency) for k, v in m.amounts.items()}
    return MonthView(month=m.month, **parts, total=summed(parts.values(), currency))


class PercentileView(_View):
    name: str
    p10: float | None = Field(
        description="Of all the samples, an unpriced one counted above every priced one: null "
        "where the percentile falls among the unpriced samples (the plan fails there; "
        "`unpriced_reason` says why)."
    )
    p50: float | None
    p90: float | None
    point: float = Field(description="The quote's own figure (catalog prices and defaults).")
    point_rank: float = Field(
        description="Mid-rank of the quote's figure among all the samples (the unpriced above "
        "it): the share below it plus half the share equal to it (0.5 = the median)."
    )
    unpriced: float = Field(
        description="Share of samples in which the phase as placed fails, so has no cost: it "
        "misses its deadline, needs more devices than its fleet has, cannot meet its latency "
        "target or hold the model at the drawn efficiency, or would run past 100 years (for "
        "the total: any phase). They count above every priced sample in the percentiles."
    )
    measure: Literal["cost", "per_million_output_tokens"] = Field(
        default="cost",
        description="cost: a phase's or the total's cost; per_million_output_tokens: the price "
        "per million output tokens of a serving phase with no demand (its fleet's total is fixed "
        "by construction; this is what the efficiency moves), not part of the total.",
    )
    published_gap: float | None = Field(
        default=None,
        description="A pretraining phase on the device of a team's published whole run of its "
        "model: the quote's device-hours over that run's at the phase's tokens, less 1 (0.49: "
        "49% more; the published-run finding's figure). Null otherwise.",
    )
    published_run: str | None = Field(
        default=None, description="That run's calibration id (`splitcompute calibration`)."
    )
    unpriced_reason: str | None = Field(
        default=None,
        description='Why the unpriced samples have no cost ("misses its deadline"; for the '
        'total, each phase that has some: "pretrain misses its deadline"), what a null '
        "percentile means. Null when every sample is priced.",
    )
    blocked: str | None = Field(
        default=None,
        description='The codes of the block findings that forbid the phase ("capacity-short"; '
        'for the total, each blocked part\'s: "a: capacity-short; transfer a->b: ..."), as the '
        "quote's `blocked` lists them: its samples price work that cannot go ahead as placed "
        "(capacity the offer does not sell, a rule, hardware that cannot arrive in time), as if "
        "it could. Null when nothing is.",
    )


class NotDrawnView(_View):
    input: str = Field(
        description='What is not drawn: "<phase>: price" (no catalog range), "<phase>: price '
        'below the quoted" / "above the quoted" (the catalog gives one end: only the other '
        'side is drawn), "transfers" or "FX <billed>/<quote currency>".'
    )
    why: str
    share: float | None = Field(
        description="The phase's cost, the transfers' or what the currency bills, over the "
        "quote's total (0.92: 92%): how much of the total the band holds none of that risk "
        "for. Null when the total is not positive."
    )


class UncertaintyView(_View):
    samples: int
    seed: int
    drawn: list[str] = Field(
        default_factory=empty_list,
        description="The inputs the samples draw, in words: prices over their catalog ranges "
        "(where the catalog gives one: `not_drawn` names the rest), the model's own error of "
        "each kind from the held-out calibration (training device-hours, serving output "
        "rate), or an efficiency over its catalog range.",
    )
    not_drawn: list[NotDrawnView] = Field(
        default_factory=empty_list,
        description="What the samples leave as quoted, or draw on one side only, with its share "
        "of the total: the band holds none of its risk (`sensitivity` swings a price with no "
        "range and each exchange rate by --swing).",
    )
    percentiles: list[PercentileView]
    plan: Literal["as given", "shocked"] = Field(
        default="as given",
        description="Which plan the samples are of: 'as given' (a quote, a plan), or 'shocked' "
        "(plan --shock samples the plan under the shock, the question asked; its quoted "
        "figures are the shocked plan's).",
    )


class QuoteView(_View):
    """A quote as shown. JSON output of `splitcompute quote`."""

    schema_version: str = SCHEMA_VERSION
    name: str
    as_of: date
    currency: str
    accounting: str = Field(
        description="project: what the plan commits (a purchase less its resale at the end, a "
        "commitment's whole term); amortised: the hours used (capex over its life, rent for the "
        "hours)."
    )
    total: float = Field(description="Sum of the displayed phase and transfer costs.")
    total_other_view: float = Field(description="The same plan in the other accounting view.")
    unpriced: list[str] = Field(description="Phases with no price: the total excludes them.")
    blocked: list[str] = Field(
        description="Priced phases a finding of severity block forbids (a rule, the market, "
        "capacity), then the transfers one forbids, each as 'transfer FROM->TO' (a dataset "
        "sent where a data-export rule blocks it), as the findings name them: the total "
        "includes them, as if they could go ahead. Empty when nothing is blocked."
    )
    phases: list[PhaseView]
    transfers: list[TransferView]
    by_region: dict[str, float]
    by_currency: dict[str, CurrencyTotal]
    cash_flow: list[MonthView] = Field(
        description="What is paid in which month: rent over its billed term, capital at delivery "
        "and resale at the phase's end, energy and operations over the run, transfers when sent. "
        "The cash paid, as the project view commits it, in either accounting view: the months "
        "sum to `total` in the project view and to `total_other_view` in the amortised view."
    )
    findings: list[Finding]
    assumptions: dict[str, Any]
    uncertainty: UncertaintyView | None = None


def quote_view(q: Quote, uncertainty: UncertaintyView | None = None) -> QuoteView:
    phases = [_phase(p) for p in q.phases]
    moved = [_transfer(t) for t in q.transfers]
    items = [i for p in phases for i in p.line_items] + [i for t in moved for i in t.line_items]
    by_region: dict[str, float] = {}
    billed: dict[str, float] = {}
    converted: dict[str, float] = {}
    cur = q.currency
    for i in items:
        by_region[i.region] = money(by_region.get(i.region, 0.0) + i.amount, cur)
        billed[i.unit_currency] = money(
            billed.get(i.unit_currency, 0.0) + i.billed_amount, i.unit_currency
        )
        converted[i.unit_currency] = money(converted.get(i.unit_currency, 0.0) + i.amount, cur)
    total = summed([*(p.cost for p in phases), *(t.cost for t in moved)], cur)
    if uncertainty is not None:  # the quoted figure as the tables above show it, to the cent
        shown = {p.name: p.cost for p in phases} | {"total": total}
        uncertainty = uncertainty.model_copy(
            update={
                "percentiles": [
                    v.model_copy(update={"point": shown.get(v.name, v.point)})
                    for v in uncertainty.percentiles
                ]
            }
        )
    return QuoteView(
        name=q.name,
        as_of=q.as_of,
        currency=q.currency,
        accounting=q.accounting,
        total=total,
        # Each total the sum of the figures shown above it, as in the accounting view.
        total_other_view=summed(
            [*(p.cost_other_view for p in phases), *(t.cost for t in moved)], cur
        ),
        unpriced=[p.name for p in phases if not p.priced],
        blocked=blocked_parts(q),
        phases=phases,
        transfers=moved,
        by_region=by_region,
        by_currency={k: CurrencyTotal(amount=billed[k], converted=converted[k]) for k in billed},
        cash_flow=[_month(m, cur) for m in q.cash_flow],
        findings=q.findings,
        assumptions=_shown(undated_base(q.assumptions)),
        uncertainty=uncertainty,
    )


def blocked_parts(q: Quote) -> list[str]:
    """What a quote's total counts that a `block` finding forbids: its priced phases (an
    unpriced phase is left out of the total already), then its transfers ("transfer A->B",
    as their findings name them: rev14a #2), each in the quote's order."""
    blocks = {f.phase for f in q.findings if f.severity == "block"}
    moved = [named(t) for t in q.transfers]
    return [p.name for p in q.phases if p.priced and p.name in blocks] + [
        m for m in dict.fromkeys(moved) if m in blocks
    ]


def _phase(p: Any) -> PhaseView:
    shown = [_item(i) for i in p.line_items]
    cost = summed((i.amount for i in shown), p.cost.currency)
    per_m = p.cost_per_million_output_tokens
    return PhaseView(
        name=p.name,
        kind=p.kind,
        region=p.region,
        country=p.country,
        accelerator=p.accelerator,
        pricing=p.pricing,
        provider=p.provider,
        instance=p.instance,
        devices=p.devices,
        billed_devices=p.billed_devices,
        device_hours=sig(p.device_hours) if p.timed else None,
        wall_clock_days=sig(p.wall_clock_days) if p.timed else None,
        start=p.start,
        end=p.end,
        cost=cost,
        cost_other_view=money(p.cost_other_view, p.cost.currency),
        priced=p.priced,
        line_items=shown,
        offer=p.offer,
        physics=_shown(p.physics),
        output_tokens=None if p.output_tokens is None else sig(p.output_tokens),
        # The library's figure (rev20b #8): its cost is this displayed one (whole-cent items).
        cost_per_million_output_tokens=None if per_m is None else float(per_m),
    )


def _transfer(t: TransferQuote) -> TransferView:
    shown = [_item(i) for i in t.line_items]
    return TransferView.model_validate(
        {
            "from": t.from_,
            "to": t.to,
            "what": t.what,
            "gigabytes": sig(t.gigabytes),
            "hours": sig(t.hours),
            "route": t.route,
            "cost": summed((i.amount for i in shown), t.cost.currency),
            "line_items": shown,
        }
    )


def _figure(x: float | None, measure: str, currency: str) -> float | None:
    """A percentile as shown: a price per million (`rate`), or an amount (`money`)."""
    if x is None:
        return None
    return rate(x, currency) if measure == _PER_MILLION else money(x, currency)


def uncertainty_view(
    pct: "list[Percentiles]",
    samples: int,
    seed: int,
    plan: Literal["as given", "shocked"] = "as given",
) -> UncertaintyView:
    return UncertaintyView(
        samples=samples,
        seed=seed,
        plan=plan,
        drawn=list(getattr(pct, "drawn", ())),
        not_drawn=[
            NotDrawnView(
                input=n.input, why=n.why, share=None if n.share is None else sig(n.share, 4)
            )
            for n in getattr(pct, "not_drawn", ())
        ],
        percentiles=[
            PercentileView(
                name=p.name,
                p10=_figure(p.p10, p.measure, p.point.currency),
                p50=_figure(p.p50, p.measure, p.point.currency),
                p90=_figure(p.p90, p.measure, p.point.currency),
                point=_figure(p.point, p.measure, p.point.currency) or 0.0,
                point_rank=round(p.point_rank, 3),
                unpriced=round(p.unpriced, 4),
                measure=p.measure,
                published_gap=None if p.published_gap is None else round(p.published_gap, 4),
                published_run=p.published_run,
                unpriced_reason=p.unpriced_reason,
                blocked=p.blocked,
            )
            for p in pct
        ],
    )
