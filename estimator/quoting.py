"""A quote: the evaluation of each phase's fixed site, priced as line items, with its findings.

A fixed site names a region, an accelerator and a pricing model (optionally a provider and an
instance); the options it matches are evaluated (`estimator.evaluate`) and the first of the
ranking is the phase's placement: the cheapest allowed one, or, when none is allowed, the best
of those the site asked for, with the findings that say why. Sites left to the planner are
placed by `estimator.planner` first (see `estimator.api.quote`).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict

from estimator import compliance, findings, transfers
from estimator.context import Context
from estimator.costing import LineItem, line_items
from estimator.errors import ScenarioError
from estimator.evaluate import Phase, evaluate, rank
from estimator.findings import Finding
from estimator.options import OptionQuery, select
from estimator.physics import SERVING_COLUMNS, TRAINING_COLUMNS
from estimator.scenario import Site, TrainPhase

STALE_FX_DAYS = 92


class OfferUsed(BaseModel):
    """The catalog row a phase is priced at."""

    model_config = ConfigDict(frozen=True)

    provider: str
    instance: str
    pricing: str
    region: str
    basis: str
    as_of: date
    source: str


class PhaseQuote(BaseModel):
    """One phase placed and priced: `cost` is the sum of its line items."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["train", "serve"]
    region: str
    country: str
    accelerator: str
    pricing: str
    provider: str
    instance: str
    devices: int
    device_hours: float
    wall_clock_days: float
    cost: float
    line_items: list[LineItem]
    offer: OfferUsed
    physics: dict[str, Any]


class Quote(BaseModel):
    """Devices, time and money of every phase and transfer, the findings and the assumptions
    (which offers, rates and dates were used). Amounts are unrounded floats in `currency`;
    the report layer rounds them for display."""

    name: str
    as_of: date
    currency: str
    total: float
    phases: list[PhaseQuote]
    transfers: list[transfers.TransferQuote]
    findings: list[Finding]
    assumptions: dict[str, Any]

    @property
    def blocked(self) -> bool:
        return any(f.severity == "block" for f in self.findings)

    def line_items(self) -> list[LineItem]:
        return [i for p in self.phases for i in p.line_items] + [
            i for t in self.transfers for i in t.line_items
        ]

    def to_polars(self) -> pl.DataFrame:
        """One row per line item (unrounded)."""
        return pl.DataFrame([i.model_dump() for i in self.line_items()])


def candidates(c: Context, i: int, phase: Phase) -> pl.DataFrame:
    """The options a fixed site matches; none is a bad site (the error says what exists)."""
    site = phase.site
    assert isinstance(site, Site)
    match = select(c.options, OptionQuery.of(site))
    if not match.is_empty():
        return match
    what = "owned hardware" if site.pricing == "owned" else f"{site.pricing} offer"
    msg = f"no {what} for {site.accelerator} in {site.region}"
    if site.provider:
        msg += f" from {site.provider}"
    same = c.options.filter(
        (pl.col("region") == site.region) & (pl.col("accelerator") == site.accelerator)
    )
    there = sorted(set(same["pricing"].to_list()))
    elsewhere = sorted(
        set(
            c.options.filter(
                (pl.col("accelerator") == site.accelerator) & (pl.col("pricing") == site.pricing)
            )["region"].to_list()
        )
    )
    if there:
        msg += f" (there: {', '.join(there)})"
    elif elsewhere:
        msg += f" ({site.pricing} {site.accelerator} is offered in: {', '.join(elsewhere)})"
    raise ScenarioError(msg, c.where(f"phases[{i}].site"))


def placed_phase(
    c: Context, phase: Phase, chosen: pl.DataFrame
) -> tuple[PhaseQuote, list[Finding]]:
    """The quote of one phase at one evaluated option (a one-row frame), and its findings."""
    row = chosen.row(0, named=True)
    items = (
        [] if row["total_usd"] is None else line_items(row, phase.name, c.currency, c.quote_per_usd)
    )
    columns = TRAINING_COLUMNS if isinstance(phase, TrainPhase) else SERVING_COLUMNS
    (found,) = findings.findings(chosen, c, phase)
    pq = PhaseQuote(
        name=phase.name,
        kind=phase.kind,
        region=row["region"],
        country=row["country"],
        accelerator=row["accelerator"],
        pricing=row["pricing"],
        provider=row["provider"],
        instance=row["instance"],
        devices=int(row["devices"]),
        device_hours=float(row["devices"] * row["hours"]),
        wall_clock_days=float(row["hours"] / 24.0),
        cost=sum(i.amount for i in items),
        line_items=items,
        offer=OfferUsed(
            provider=row["provider"],
            instance=row["instance"],
            pricing=row["pricing"],
            region=row["region"],
            basis=row["basis"],
            as_of=row["offer_as_of"],
            source=row["offer_source"],
        ),
        physics={k: row[k] for k in columns if k in row},
    )
    return pq, found


def quote_context(c: Context) -> Quote:
    """Quote a scenario whose sites are all fixed."""
    placed: dict[str, PhaseQuote] = {}
    found: list[Finding] = []
    for i, phase in enumerate(c.scenario.phases):
        evaluated = rank(evaluate(c, phase, candidates(c, i, phase)), c.objective)
        pq, phase_findings = placed_phase(c, phase, evaluated.head(1))
        placed[phase.name] = pq
        found += phase_findings
    route_table = transfers.routes(c.catalog, c.as_of)
    moved = []
    for i, t in enumerate(c.scenario.transfers):
        tq, transfer_findings = transfers.price_transfer(c, i, t, placed, route_table)
        moved.append(tq)
        found += transfer_findings
    phases = list(placed.values())
    items = [i for p in phases for i in p.line_items] + [i for t in moved for i in t.line_items]
    found += fx_findings(c, items)
    return Quote(
        name=c.scenario.name,
        as_of=c.as_of,
        currency=c.currency,
        total=sum(p.cost for p in phases) + sum(t.cost for t in moved),
        phases=phases,
        transfers=moved,
        findings=sorted(
            found, key=lambda f: (compliance.SEVERITY_ORDER[f.severity], f.phase or "", f.code)
        ),
        assumptions=assumptions(c, phases, items),
    )


def _rates(c: Context, items: list[LineItem]) -> dict[str, tuple[float, date, str | None]]:
    rates: dict[str, tuple[float, date, str | None]] = {
        i.unit_currency: (i.fx_per_usd, i.fx_as_of, None) for i in items
    }
    own = c.catalog.rate(c.currency, c.as_of)
    rates[c.currency] = (own.per_usd, own.as_of, own.source)
    return rates


def fx_findings(c: Context, items: list[LineItem]) -> list[Finding]:
    """An exchange rate much older than the quote date is worth knowing (USD is the base)."""
    out = []
    for cur, (_, as_of, source) in sorted(_rates(c, items).items()):
        age = (c.as_of - as_of).days
        if cur != "USD" and age > STALE_FX_DAYS:
            out.append(
                Finding(
                    severity="info",
                    code="stale-fx",
                    message=f"{cur} rate is from {as_of}, {age} days before the quote date",
                    source=source,
                )
            )
    return out


def assumptions(c: Context, phases: list[PhaseQuote], items: list[LineItem]) -> dict[str, Any]:
    return {
        "as_of": c.as_of.isoformat(),
        "catalog": ", ".join(c.catalog.origin),
        "fx_per_usd": {
            cur: {"per_usd": rate, "as_of": day.isoformat()}
            for cur, (rate, day, _) in sorted(_rates(c, items).items())
        },
        "offers": {
            p.name: f"{p.provider} {p.instance} {p.pricing} in {p.region} "
            f"({p.offer.basis}, as of {p.offer.as_of}; {p.offer.source})"
            for p in phases
        },
        "model": c.model.describe(),
        "physics": {p.name: physics_summary(p) for p in phases},
        "tenant_hq": c.scenario.tenant_hq,
        "owned_hardware": "capex spread over life_years for the hours used, plus energy "
        "(server power x PUE x regional tariff) and yearly operations",
        "rented_minimum_terms": "whole instances; a commitment bills its full term",
    }


def physics_summary(p: PhaseQuote) -> str:
    x = p.physics
    if p.kind == "train":
        return (
            f"{x['flops']:.3g} FLOPs, GEMM efficiency {x['mfu']:.3g} (effective MFU "
            f"{_g(x['effective_mfu'])}), goodput {x['goodput']:.3g}, peak {x['peak_tflops']:g} "
            f"TFLOPS/device; layout {x['layout']}"
        )
    mode = "disaggregated pools" if x["disaggregated"] else "prefill on the same devices"
    return (
        f"{_g(x['output_tokens_per_s_per_device'])} output tok/s/device ({mode}), "
        f"decode pool {_g(x['decode_tokens_per_s_per_device'])}, prefill pool "
        f"{_g(x['prefill_tokens_per_s_per_device'])} tok/s/device; batch {x['batch']:g}, TPOT "
        f"{_g(x['tpot_ms'])} ms, {x['tensor_parallel']} devices per replica"
    )


def _g(x: float | None) -> str:
    return "none" if x is None else f"{x:.4g}"
