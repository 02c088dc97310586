"""The planner: the cheapest (or fastest) allowed placement of each phase a scenario leaves open.

For a phase whose site is "auto" (or lists allowed regions / accelerators / pricing /
providers), every option the site allows is evaluated at once (`estimator.evaluate`: the same
physics, money, rules and findings as a quote); candidates with a blocking finding are dropped
and the rest ranked. The chosen options are written into the scenario as fixed sites (provider,
instance and, when the objective needs it, the device count), and that scenario is quoted, so
the plan's total is what `quote` gives for the same placements.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import BaseModel

from estimator import findings
from estimator.context import Context, Objective, prepare
from estimator.errors import InfeasibleError
from estimator.evaluate import Phase, evaluate, rank
from estimator.options import OptionQuery, select
from estimator.quoting import Quote, quote_context
from estimator.scenario import Scenario, Site, TrainPhase, parse_scenario


class Alternative(BaseModel):
    """A candidate of a phase: the chosen one, a runner-up, or the best rejected of a kind."""

    rank: int
    provider: str
    region: str
    accelerator: str
    pricing: str
    instance: str
    devices: int | None
    wall_clock_days: float | None
    cost: float | None  # in the plan's currency; None when it has no price
    verdict: str  # "chosen", how much more it costs or takes, or why it was rejected


class PhasePlan(BaseModel):
    phase: str
    candidates: int
    allowed: int
    removed: dict[str, int]
    alternatives: list[Alternative]


class Plan(BaseModel):
    """The chosen placements as a full quote, and per placed phase what else was considered."""

    quote: Quote
    phases: list[PhasePlan]
    objective: str
    scenario: Scenario  # the input with every auto site (and a forced fleet size) filled in


def place(c: Context, top_k: int = 3) -> Plan:
    """Place every auto phase of `c.scenario`, then quote the placed scenario."""
    sites: dict[str, dict[str, Any]] = {}
    phase_plans = []
    for i, phase in enumerate(c.scenario.phases):
        if not phase.is_auto:
            continue
        scored = rank(
            evaluate(c, phase, select(c.options, OptionQuery.of(phase.site))), c.objective
        )
        allowed = scored.filter(pl.col("verdict").is_null())
        removed = {r: 0 for r in findings.REASONS}
        for code, n in scored.group_by("verdict").len().drop_nulls("verdict").iter_rows():
            removed[findings.reason(code)] += n
        if allowed.is_empty():
            counts = ", ".join(f"{r} {n:,}" for r, n in removed.items() if n) or "no options match"
            closest = ""
            if not scored.is_empty():
                row = scored.row(0, named=True)
                closest = f"; the best: {findings.describe(row['verdict'], row, c, phase)}"
            raise InfeasibleError(
                f"no allowed placement among {scored.height:,} options ({counts}){closest}",
                c.where(f"phases[{i}] '{phase.name}'"),
            )
        best = allowed.row(0, named=True)
        sites[phase.name] = _fixed(phase, best, c)
        phase_plans.append(
            PhasePlan(
                phase=phase.name,
                candidates=scored.height,
                allowed=allowed.height,
                removed=removed,
                alternatives=_alternatives(c, phase, scored, top_k),
            )
        )
    if not sites:  # nothing to place: the scenario as given
        return Plan(quote=quote_context(c), phases=[], objective=c.objective, scenario=c.scenario)
    placed = with_sites(c.scenario, sites)
    q = quote_context(
        prepare(placed, c.catalog, currency=c.currency, as_of=c.as_of, rules_on=c.rules_on)
    )
    return Plan(quote=q, phases=phase_plans, objective=c.objective, scenario=placed)


def _fixed(phase: Phase, row: dict[str, Any], c: Context) -> dict[str, Any]:
    """The fields that pin a phase to one evaluated option."""
    site = Site(
        region=row["region"],
        accelerator=row["accelerator"],
        pricing=row["pricing"],
        provider=None if row["option"] == "owned" else row["provider"],
        instance=row["instance"],
    )
    fields: dict[str, Any] = {"site": site.model_dump(exclude_none=True)}
    if isinstance(phase, TrainPhase) and not phase.devices and c.objective == "time":
        fields["devices"] = int(row["devices"])  # the capacity, not the minimum
    return fields


def with_sites(scenario: Scenario, fields: dict[str, dict[str, Any]]) -> Scenario:
    """The scenario with the named phases' fields replaced (sites placed, fleets sized)."""
    data = scenario.model_dump(by_alias=True, exclude_none=True)
    for p in data["phases"]:
        p.update(fields.get(p["name"], {}))
    return parse_scenario(data, scenario.source)


def _alternatives(c: Context, phase: Phase, scored: pl.DataFrame, top_k: int) -> list[Alternative]:
    allowed = scored.filter(pl.col("verdict").is_null()).head(top_k + 1)
    # The best rejected option of each kind too: the "why not X?" answer.
    rejected = (
        scored.filter(pl.col("verdict").is_not_null())
        .with_columns(findings.reason_expr(pl.col("verdict")).alias("_why"))
        .unique(subset=["_why"], keep="first", maintain_order=True)
        .head(top_k)
    )
    rows = allowed.to_dicts() + rejected.to_dicts()
    best = rows[0]
    out = []
    for n, r in enumerate(rows):
        if n == 0:
            verdict = "chosen"
        elif r["verdict"] is not None:
            verdict = "rejected: " + findings.describe(r["verdict"], r, c, phase)
        else:
            verdict = _versus(c, r, best)
        priced = r["total_usd"] is not None
        out.append(
            Alternative(
                rank=n + 1,
                provider=r["provider"],
                region=r["region"],
                accelerator=r["accelerator"],
                pricing=r["pricing"],
                instance=r["instance"],
                devices=None if r["devices"] is None else int(r["devices"]),
                wall_clock_days=r["wall_clock_days"],
                cost=r["total_usd"] * c.quote_per_usd if priced else None,
                verdict=verdict,
            )
        )
    return out


def _versus(c: Context, r: dict[str, Any], best: dict[str, Any]) -> str:
    extra = (r["total_usd"] - best["total_usd"]) * c.quote_per_usd
    pct = extra / (best["total_usd"] * c.quote_per_usd) * 100 if best["total_usd"] else 0.0
    money = f"costs {extra:,.0f} {c.currency} more (+{pct:.1f}%)"
    later = r["wall_clock_days"] - best["wall_clock_days"]
    time = f"finishes {later:,.1f} days later" if later > 0.05 else "finishes at the same time"
    return f"{money}; {time}" if c.objective == "time" else money


def plan_scenario(
    scenario: Scenario,
    catalog: Any,
    *,
    objective: Objective = "cost",
    max_devices: int | None = None,
    top_k: int = 3,
    currency: str | None = None,
    as_of: Any = None,
) -> Plan:
    """`place` on a freshly prepared context (see `estimator.api.plan` for the public entry)."""
    c = prepare(
        scenario,
        catalog,
        currency=currency,
        as_of=as_of,
        objective=objective,
        max_devices=max_devices,
    )
    return place(c, top_k)
