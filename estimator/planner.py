"""The planner: the cheapest (or fastest) allowed placement of each phase.

For every phase whose site is "auto" (or lists allowed regions / accelerators / pricing /
providers), every matching catalog option, rented and owned, becomes a row of one polars frame.
The physics (`estimator.physics.*_frame`), the money (`estimator.costing`) and the rules
(`estimator.compliance`) are evaluated on that frame with the same expressions that price a
single quote; rows that a rule blocks, that cannot hold the model, miss the deadline or the
latency target, or need more devices than can be rented are dropped, and the rest ranked.

Phases are placed one at a time (transfer costs between phases are not part of the ranking; the
final quote includes them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import polars as pl

from estimator import compliance, costing
from estimator.errors import InfeasibleError, ScenarioError
from estimator.models import ModelSpec, resolve_model
from estimator.quoting import Quote, quote
from estimator.scenario import AutoSite, Scenario, ServePhase, Site, TrainPhase
from pricing import Catalog, UnknownIdError

Objective = Literal["cost", "time"]
REASONS = ("rule", "precision", "memory", "instance", "deadline", "latency", "capacity", "price")


@dataclass(frozen=True)
class Alternative:
    rank: int
    provider: str
    region: str
    accelerator: str
    pricing: str
    instance: str
    devices: int
    wall_clock_days: float
    cost: float
    verdict: str  # "chosen", or why it lost


@dataclass(frozen=True)
class PhasePlan:
    phase: str
    candidates: int
    allowed: int
    removed: dict[str, int]
    alternatives: list[Alternative]


@dataclass(frozen=True)
class Plan:
    quote: Quote
    phases: list[PhasePlan]
    objective: str
    scenario: Scenario  # the input with every auto site (and forced fleet size) filled in


def placement_frame(
    catalog: Catalog, scenario: Scenario, phase: TrainPhase | ServePhase, options: pl.DataFrame
) -> pl.DataFrame:
    """The options a phase may use, with the columns the rules match on."""
    site = phase.site
    df = options
    if isinstance(site, Site):
        df = df.filter(
            (pl.col("region") == site.region)
            & (pl.col("accelerator") == site.accelerator)
            & (pl.col("pricing") == site.pricing)
        )
        if site.provider:
            df = df.filter(pl.col("provider") == site.provider)
    if not isinstance(site, Site) and not (isinstance(site, AutoSite) and site.pricing):
        # Spot capacity can be reclaimed at any time: a plan does not rest on it unless the
        # phase lists "spot" among its allowed pricing models.
        df = df.filter(pl.col("pricing") != "spot")
    if isinstance(site, AutoSite):
        for values, column, kind in (
            (site.regions, "region", "regions"),
            (site.accelerators, "accelerator", "accelerators"),
        ):
            for v in values:
                catalog.get(kind, v)
            if values:
                df = df.filter(pl.col(column).is_in(values))
        if site.pricing:
            df = df.filter(pl.col("pricing").is_in(site.pricing))
        if site.providers:
            known = options["provider"].unique().to_list()
            for p in site.providers:
                if p not in known:
                    raise UnknownIdError("provider", p, known)
            df = df.filter(pl.col("provider").is_in(site.providers))
    origins = compliance.placement_columns(catalog.table("accelerators"))
    return df.join(origins, on="accelerator", how="left").with_columns(
        pl.lit(phase.data).alias("data"),
        pl.lit(scenario.tenant_hq).alias("tenant_hq"),
        pl.when(pl.col("option") == "owned")
        .then(pl.lit("owned"))
        .otherwise(pl.lit("rented"))
        .alias("ownership"),
    )


def evaluate(
    catalog: Catalog,
    scenario: Scenario,
    phase: TrainPhase | ServePhase,
    model: ModelSpec,
    candidates: pl.DataFrame,
    as_of: date,
    *,
    max_devices: int | None = None,
    objective: Objective = "cost",
) -> pl.DataFrame:
    """Every candidate with devices, wall_clock_days, cost_usd and `rejected` (a reason or null).

    A training phase sized by its deadline uses the fewest devices that meet it; with
    objective "time" and a capacity (`max_devices`) it uses all of them, to finish first."""
    from estimator import physics

    policies = catalog.table("policies")
    instance_bad = pl.lit(False)
    if isinstance(phase, TrainPhase):
        if objective == "time" and max_devices and not phase.devices:
            candidates = candidates.with_columns(pl.lit(max_devices, pl.Int64).alias("devices"))
        df = physics.training_frame(catalog, model, candidates, **phase.physics_args())
        hours = pl.col("wall_clock_days") * costing.HOURS_PER_DAY
        memory_bad = ~pl.col("fits")
        deadline_bad = pl.col("deadline_met").not_()
        latency_bad = pl.lit(False)
    else:
        df = physics.serving_frame(catalog, model, candidates, **phase.physics_args())
        df = df.with_columns(
            pl.lit(float(phase.devices)).alias("devices")
            if phase.devices
            else pl.col("devices_needed").cast(pl.Float64).alias("devices"),
            pl.lit(float(phase.days)).alias("wall_clock_days"),
        )
        hours = pl.lit(phase.days * costing.HOURS_PER_DAY)
        memory_bad = ~pl.col("fits")
        deadline_bad = pl.lit(False)
        latency_bad = ~(pl.col("meets_tpot") & pl.col("meets_ttft"))
        if model.arch == "dense":
            # Tensor parallelism needs the scale-up link inside one instance or server.
            instance_bad = pl.col("tensor_parallel") > pl.col("unit_devices")
    capacity_bad = pl.col("devices") > max_devices if max_devices else pl.lit(False)
    if isinstance(phase, ServePhase) and phase.devices:
        # A fixed fleet smaller than the demand needs is not a plan that serves it.
        capacity_bad = capacity_bad | (pl.col("devices_needed") > phase.devices)
    lazy = df.lazy().with_columns(costing.cost_columns(pl.col("devices"), hours))
    lazy = lazy.with_columns(costing.total_usd())
    precision = phase.precision or "bf16"
    accelerators = catalog.table("accelerators")
    supported = accelerators.filter(pl.col(physics.PEAK_COLUMN[precision]).is_not_null())["id"]
    rule = compliance.blocking_rule_expr(policies, as_of)
    return lazy.with_columns(
        pl.when(rule.is_not_null())
        .then(pl.lit("rule ") + rule)
        .when(~pl.col("accelerator").is_in(supported.implode()))
        .then(pl.lit(f"precision ({precision} not supported)"))
        .when(memory_bad.fill_null(True))
        .then(pl.lit("memory"))
        .when(instance_bad.fill_null(False))
        .then(pl.lit("instance (a tensor-parallel replica spans instances)"))
        .when(latency_bad.fill_null(True))
        .then(pl.lit("latency"))
        .when(deadline_bad.fill_null(False))
        .then(pl.lit("deadline"))
        .when(capacity_bad.fill_null(False))
        .then(pl.lit("capacity"))
        .when(pl.col("total_usd").is_null())
        .then(pl.lit("price (no exchange rate on or before the date)"))
        .otherwise(pl.lit(None, pl.String))
        .alias("rejected")
    ).collect()


def _rank(df: pl.DataFrame, objective: Objective) -> pl.DataFrame:
    keys = (
        ["total_usd", "wall_clock_days"]
        if objective == "cost"
        else ["wall_clock_days", "total_usd"]
    )
    return df.sort([*keys, "provider", "region", "instance"], nulls_last=True)


def plan(
    scenario: Scenario,
    catalog: Catalog,
    *,
    objective: Objective = "cost",
    max_devices: int | None = None,
    top_k: int = 3,
    currency: str | None = None,
    as_of: date | None = None,
) -> Plan:
    """Place every auto phase, then quote the resulting scenario."""
    as_of = as_of or scenario.as_of
    try:
        model = resolve_model(catalog, scenario.model.preset, **scenario.model.custom_fields())
    except UnknownIdError as exc:
        raise ScenarioError(str(exc), f"{scenario.source}: model.preset") from None
    options = costing.options_frame(catalog, as_of)
    chosen_sites: dict[str, Site] = {}
    chosen_devices: dict[str, int] = {}
    phase_plans: list[PhasePlan] = []
    try:
        fx_quote = catalog.rate(currency or scenario.currency, as_of).per_usd
    except UnknownIdError as exc:
        raise ScenarioError(
            str(exc), "currency" if currency else f"{scenario.source}: currency"
        ) from None
    for i, phase in enumerate(scenario.phases):
        if not phase.is_auto:
            continue
        try:
            candidates = placement_frame(catalog, scenario, phase, options)
        except UnknownIdError as exc:
            raise ScenarioError(str(exc), f"{scenario.source}: phases[{i}].site") from None
        scored = evaluate(
            catalog,
            scenario,
            phase,
            model,
            candidates,
            as_of,
            max_devices=max_devices,
            objective=objective,
        )
        allowed = _rank(scored.filter(pl.col("rejected").is_null()), objective)
        removed = {
            reason: scored.filter(pl.col("rejected").str.starts_with(reason)).height
            for reason in REASONS
        }
        if allowed.is_empty():
            counts = ", ".join(f"{r} {n}" for r, n in removed.items() if n) or "no options match"
            raise InfeasibleError(
                f"no allowed placement among {scored.height} options ({counts})",
                f"{scenario.source}: phases[{i}] '{phase.name}'",
            )
        best = allowed.row(0, named=True)
        if isinstance(phase, TrainPhase) and not phase.devices and objective == "time":
            chosen_devices[phase.name] = int(best["devices"])  # the capacity, not the minimum
        chosen_sites[phase.name] = Site(
            region=best["region"],
            accelerator=best["accelerator"],
            pricing=best["pricing"],
            provider=None if best["pricing"] == "owned" else best["provider"],
            instance=best["instance"],
        )
        phase_plans.append(
            PhasePlan(
                phase=phase.name,
                candidates=scored.height,
                allowed=allowed.height,
                removed=removed,
                alternatives=_alternatives(scored, allowed, best, objective, top_k, fx_quote),
            )
        )
    concrete = with_sites(scenario, chosen_sites, chosen_devices)
    result = quote(concrete, catalog, currency=currency, as_of=as_of)
    return Plan(quote=result, phases=phase_plans, objective=objective, scenario=concrete)


def with_sites(
    scenario: Scenario, sites: dict[str, Site], devices: dict[str, int] | None = None
) -> Scenario:
    """The scenario with the given phases placed (and, optionally, their fleet sizes fixed)."""
    from estimator.scenario import parse_scenario

    data = scenario.model_dump(by_alias=True, exclude_none=True)
    for p in data["phases"]:
        if p["name"] in sites:
            p["site"] = sites[p["name"]].model_dump(exclude_none=True)
        if devices and p["name"] in devices:
            p["devices"] = devices[p["name"]]
    return parse_scenario(data, scenario.source)


def _alternatives(
    scored: pl.DataFrame,
    allowed: pl.DataFrame,
    best: dict[str, Any],
    objective: Objective,
    top_k: int,
    fx_quote: float,
) -> list[Alternative]:
    rows = allowed.head(top_k + 1).to_dicts()
    # Show the cheapest rejected option of each kind too: that is the "why not X?" answer.
    rejected = _rank(scored.filter(pl.col("rejected").is_not_null()), objective)
    rows += (
        rejected.unique(subset=["rejected"], keep="first", maintain_order=True)
        .head(top_k)
        .to_dicts()
    )
    out = []
    for rank, r in enumerate(rows):
        if r is rows[0]:
            verdict = "chosen"
        elif r.get("rejected"):
            verdict = f"rejected: {r['rejected']}"
        elif objective == "cost":
            extra = r["total_usd"] - best["total_usd"]
            pct = extra / best["total_usd"] * 100 if best["total_usd"] else 0.0
            verdict = f"costs {extra * fx_quote:,.0f} more (+{pct:.1f}%)"
        else:
            verdict = f"takes {r['wall_clock_days'] - best['wall_clock_days']:.1f} days longer"
        out.append(
            Alternative(
                rank=rank + 1,
                provider=r["provider"],
                region=r["region"],
                accelerator=r["accelerator"],
                pricing=r["pricing"],
                instance=r["instance"],
                devices=int(r["devices"] or 0),
                wall_clock_days=float(r["wall_clock_days"] or "nan"),
                cost=float(r["total_usd"]) * fx_quote
                if r["total_usd"] is not None
                else float("nan"),
                verdict=verdict,
            )
        )
    return out


# -- policy shocks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replanned:
    phase: str
    before: str
    after: str
    extra_cost: float
    extra_days: float
    rule: str


@dataclass(frozen=True)
class ShockResult:
    shocks: list[str]
    judged_on: date
    base: Plan  # the plan as of the scenario date, without the shock
    before: Quote  # that plan priced on judged_on (same rates and prices as `shocked`)
    shocked: Quote  # after re-planning the blocked phases
    replanned: list[Replanned]

    @property
    def extra_transfer_cost(self) -> float:
        """Moving a phase changes the routes (and egress) of its transfers too."""
        shown = [q.displayed()["transfers"] for q in (self.shocked, self.before)]
        return round(sum(t["cost"] for t in shown[0]) - sum(t["cost"] for t in shown[1]), 2)

    @property
    def extra_cost(self) -> float:
        """Shown totals after minus before, both on judged_on: the phases' extras add up."""
        return self.shocked.displayed()["total"] - self.before.displayed()["total"]


def shocked_catalog(catalog: Catalog, shocks: list[str]) -> tuple[Catalog, date, list[str]]:
    """The catalog with each shock added as a dated policy row; the latest shock date; the ids.

    A shock is NAME=YYYY-MM-DD (NAME from shocks.csv) or the path of a CSV file of policy rows
    (policies.csv columns, dates included)."""
    from pathlib import Path

    from pricing.loader import FILE_COL, LINE_COL, read_table
    from pricing.schema import TABLES

    frames: list[pl.DataFrame] = []
    dates: list[date] = []
    ids: list[str] = []
    known = catalog.table("shocks")
    for expr in shocks:
        if expr.endswith(".csv") and "=" not in expr:
            path = Path(expr)
            if not path.is_file():
                raise ScenarioError(f"shock file '{expr}' does not exist", "--shock")
            rows = read_table(TABLES["policies"], path, str(path))
            if rows.is_empty():
                raise ScenarioError(f"shock file '{expr}' has no policy rows", "--shock")
            rows = rows.with_columns(pl.lit(0, pl.Int64).alias(LINE_COL))
            frames.append(rows)
            dates.extend(rows["effective_from"].to_list())
            ids.extend(rows["id"].to_list())
            continue
        name, sep, when = expr.partition("=")
        try:
            day = date.fromisoformat(when.strip())
        except ValueError:
            day = None
        if not sep or day is None:
            raise ScenarioError(
                f"bad shock '{expr}': expected NAME=YYYY-MM-DD or a policies CSV file "
                f"(names: {', '.join(known['id'].to_list())})",
                "--shock",
            )
        hit = known.filter(pl.col("id") == name.strip())
        if hit.is_empty():
            raise ScenarioError(
                str(UnknownIdError("shock", name.strip(), known["id"].to_list())), "--shock"
            )
        row = hit.row(0, named=True)
        frames.append(
            pl.DataFrame(
                [
                    {
                        **row,
                        "effective_from": day,
                        "effective_to": None,
                        FILE_COL: "--shock",
                        LINE_COL: 0,
                    }
                ]
            )
        )
        dates.append(day)
        ids.append(row["id"])

    def add(policies: pl.DataFrame) -> pl.DataFrame:
        cols = policies.columns
        extra = [f.select([c for c in cols if c in f.columns]) for f in frames]
        return pl.concat([policies, *extra], how="diagonal_relaxed").select(cols)

    return catalog.with_table("policies", add), max(dates), ids


def apply_shock(
    scenario: Scenario,
    catalog: Catalog,
    shocks: list[str],
    *,
    objective: Objective = "cost",
    max_devices: int | None = None,
    currency: str | None = None,
) -> ShockResult:
    """Plan as usual, then judge the plan under the shock from its date and re-plan only the
    phases the shock blocks (over every catalog option), reporting the extra cost and delay."""
    base = plan(scenario, catalog, objective=objective, max_devices=max_devices, currency=currency)
    shocked_cat, day, ids = shocked_catalog(catalog, shocks)
    judged_on = max(day, scenario.as_of)
    fixed = base.scenario
    judged = quote(fixed, shocked_cat, currency=currency, as_of=judged_on)
    hit = {f.phase: f.code for f in judged.findings if f.severity == "block" and f.code in ids}
    if not hit:
        return ShockResult(shocks, judged_on, base, judged, judged, [])
    data = fixed.model_dump(by_alias=True, exclude_none=True)
    for p in data["phases"]:
        if p["name"] in hit:
            p["site"] = "auto"
    from estimator.scenario import parse_scenario

    replan = plan(
        parse_scenario(data, scenario.source),
        shocked_cat,
        objective=objective,
        max_devices=max_devices,
        currency=currency,
        as_of=judged_on,
    )
    before = {p.name: p for p in judged.phases}
    after = {p.name: p for p in replan.quote.phases}
    moved = [
        Replanned(
            phase=name,
            before=f"{before[name].accelerator} @ {before[name].region} ({before[name].pricing})",
            after=f"{after[name].accelerator} @ {after[name].region} ({after[name].pricing})",
            extra_cost=_shown_cost(replan.quote, name) - _shown_cost(judged, name),
            extra_days=after[name].wall_clock_days - before[name].wall_clock_days,
            rule=code,
        )
        for name, code in hit.items()
        if name is not None
    ]
    return ShockResult(shocks, judged_on, base, judged, replan.quote, moved)


def _shown_cost(q: Quote, phase: str) -> float:
    return float(next(p["cost"] for p in q.displayed()["phases"] if p["name"] == phase))
