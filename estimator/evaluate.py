"""The one evaluation of candidates: physics, money, rule facts and a verdict per row; one ranking.

A quote evaluates the candidate options of each phase's fixed site and takes the first of the
ranking; the planner evaluates every option an auto site allows and takes the first allowed;
sampling evaluates one option many times with drawn inputs. All of them call `evaluate` and
`rank` here, so they cannot disagree.

Physics depends on the device, not the offer: it runs once per distinct physics key (the
accelerator, the replica limit and the network an instance sets, and any per-row inputs such as a
sampled MFU) and is joined back onto the candidates.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, TypeVar, overload

import polars as pl

from estimator import checks, costing, findings
from estimator.compliance import phase_data, phase_users, with_rule_facts
from estimator.context import Context, Objective, users_market
from estimator.market import (
    SUPPLY_COLUMNS,
    purchases,
    replacements,
    resale_at,
    resale_fraction,
    supply_days,
)
from estimator.options import OptionQuery, SiteSpec, select
from estimator.physics import (
    ServeSettings,
    TrainSettings,
    serving_frame,
    store,
    training_frame,
)
from estimator.physics.inputs import supports, whole_instances
from estimator.scenario import ServePhase, Site, TrainPhase
from estimator.timeline import MAX_RUN_DAYS, Window, planned_days, windows

Phase = TrainPhase | ServePhase
T = TypeVar("T")
# Per-row physics inputs a caller may vary (sampling, sweeps): part of the physics key.
TRAIN_INPUTS = ("devices", "mfu", "goodput", "tokens", "scaleup_cap", "scaleout_cap",
                "deadline_days", "fleet_devices")  # fmt: skip
SERVE_INPUTS = ("decode_efficiency", "prefill_mfu", "input_tokens_per_day",
                "output_tokens_per_day", "rtt_ms", "serve_goodput", "scaleout_cap")  # fmt: skip


def train_settings(p: TrainPhase) -> TrainSettings:
    return TrainSettings(
        tokens=p.tokens,
        precision=p.precision,
        workload=p.workload,
        mfu=p.mfu,
        goodput=p.goodput,
        seq_len=p.seq_len,
        devices=p.devices,
        deadline_days=p.deadline_days,
        tp=p.tensor_parallel,
        pp=p.pipeline_parallel,
        ep=p.expert_parallel,
        recompute=p.recompute,
        global_batch_tokens=p.global_batch_tokens,
    )


def serve_settings(p: ServePhase) -> ServeSettings:
    return ServeSettings(
        precision=p.precision,
        input_len=p.input_len,
        output_len=p.output_len,
        tpot_ms=p.tpot_ms,
        ttft_ms=p.ttft_ms,
        input_tokens_per_day=p.input_tokens_per_day,
        output_tokens_per_day=p.output_tokens_per_day,
        peak_to_average=p.peak_to_average,
        replica_devices=p.replica_devices,
        disaggregated=p.disaggregated,
        kv_precision=p.kv_precision,
        max_batch=p.max_batch,
    )


def evaluate(
    c: Context,
    phase: Phase,
    candidates: pl.DataFrame,
    window: Window | None = None,
    *,
    detail: bool = False,
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Every candidate with its physics, `devices`, `hours`, money (USD, in the scenario's
    accounting view, and the other view as `alt_*`), rule and market facts, `precision_ok` and
    `verdict` (null = allowed). `window` places the phase in time (default: from the scenario
    date for its planned days); `detail` adds each line item's quantity and unit price.

    `columns`: only these, in this order: the full frame's `select(columns)`, with only what
    they read worked out (the same steps, run as one query: a column nobody reads, a physics
    term, the other view's money, is never built). A sweep of millions of candidates asks for
    the few it ranks on (`rank`) and saves writing a hundred columns per candidate."""
    hq = c.scenario.tenant_hq
    facts = with_rule_facts(
        candidates, data=phase_data(phase, hq), tenant_hq=hq, users=phase_users(phase)
    )
    w = window or _default_window(c, phase)
    given, keys, settings = physics_inputs(c, phase, facts, w.start)
    # One query for a selection; the whole frame step by step (each step planned alone: a
    # quote's or a plan's few rows cost ~4 ms more an evaluation as one query).
    lazy = columns is not None
    # What a training row's run alone decides (its hours, the age it is resold at, the calendar
    # months it covers): worked out once per physics key where a query takes many rows' physics
    # by position (`_physics_keyed`), else on every row, by the same expressions.
    age = costing.calendar_years(w.start, w.end)  # at resale, when the phase ends
    accelerators = given["accelerator"].unique().to_list()
    hours = pl.col("hours")
    term = pl.col("min_term_days")
    parts = costing.billed_hours_parts(hours, term, w.start)
    per_key: dict[str, pl.Expr] = {}
    if isinstance(phase, TrainPhase):
        per_key = {"hours": pl.col("wall_clock_days") * costing.HOURS_PER_DAY,
                   "resold_at_run_end": _resold_at_run_end(phase)}  # fmt: skip
        if w.start <= c.as_of:  # no held years: the age is the run's own (below)
            per_key["resale_age_years"] = _resale_age(w.start, age) + pl.lit(0.0)
        per_key["_covered_months"] = parts["_covered_months"]
    df, keyed = _physics_keyed(
        given, keys, lambda k: physics(c, k, settings), c.memo, settings, lazy=lazy, per_key=per_key
    )
    # Only these two are taken by position: the hours and the flag cost less per row than
    # their gathers.
    terms = {**per_key, **{k: v for k, v in keyed.items() if k in _TAKEN_PER_KEY}}
    if isinstance(phase, ServePhase):
        if "rtt_ms" not in given.columns:
            df = _join(df, users_rtt(c, phase.users), on="region")
        # The fleet: as given, else what the demand needs, else the smallest deployment that
        # bills no idle device: whole instances of whole replicas (one of each pool when
        # disaggregated) at full load.
        # (Worked out only where some row has no demand: a demand's rows never read it.)
        needed = df.select(pl.col("devices_needed").null_count())
        smallest = not phase.devices and _run(needed).item() > 0
        if smallest:
            fleet_min = _with_smallest_fleet(_run(df))
            df = fleet_min.lazy() if lazy else fleet_min
        fleet = (
            pl.lit(float(phase.devices))
            if phase.devices
            else pl.coalesce(
                "devices_needed", "_smallest" if smallest else "fleet_min_devices"
            ).cast(pl.Float64)
        )
        df = df.with_columns(
            devices=fleet,
            wall_clock_days=pl.lit(float(phase.days)),
            hours=pl.lit(phase.days * costing.HOURS_PER_DAY),
        )
        df = _without(df, "_smallest")
    else:
        df = df.with_columns(hours=terms["hours"])
        if "term_sized_days" not in given.columns:  # read by the `term-sized` finding
            df = df.with_columns(term_sized_days=pl.lit(None, pl.Float64))
        elif "_sizing" in given.columns:
            df = _fewer_day_sizings(df, w.start)
    df = _supply_on(c, df, given, w.start)
    late = pl.col("lead_time_days") - (w.start - c.as_of).days
    slips = pl.lit(phase.name in c.slip) & (pl.col("option") == "owned")
    df = df.with_columns(
        pl.lit((w.start - c.as_of).days, pl.Int64).alias("days_to_start"),
        pl.when(slips)
        .then(late.clip(lower_bound=0.0))
        .otherwise(0.0)
        .fill_null(0.0)
        .alias("slip_days"),
        terms.get("resold_at_run_end", _resold_at_run_end(phase)).alias("resold_at_run_end"),
    ).with_columns(_held_days().alias("held_days"))
    # A phase that starts on the scenario date holds nothing (`held_days` is at most the days
    # to its start): its age from the start alone, the same value, without the held years'
    # per-row calendar that cost a sweep's millions of rows ~0.2 s.
    held = _held_years(c.as_of, (w.start - c.as_of).days) if w.start > c.as_of else pl.lit(0.0)
    resale_age = terms.get("resale_age_years", _resale_age(w.start, age) + held)
    df = df.with_columns(resale_age.alias("resale_age_years"))
    if isinstance(phase, TrainPhase):  # each row resold at the end of its own run
        df = df.with_columns(
            resale_at(c.catalog, pl.col("resale_age_years"), accelerators).alias("resale_fraction")
        )
    else:
        df = _looked_up(df, resale_fraction(c.catalog, accelerators, age), "accelerator")
        df = df.with_columns(  # hardware held before the phase is older when sold (rev17b #2)
            pl.when(pl.col("held_days") > 0)
            .then(resale_at(c.catalog, pl.col("resale_age_years"), accelerators))
            .otherwise(pl.col("resale_fraction"))
            .alias("resale_fraction")
        )
    # Serving hardware works its whole window and is replaced at the end of each life; a
    # training phase keeps one purchase (rev14c #2: a 327-day run with a 2,500-day deadline
    # bought a second set four years after it ended), resold when its run ends: no later phase
    # can reuse it (review10a #5), and held to the window's end a looser deadline with the same
    # fleet cost more (rev15a #8: 366 days 7,832 USD more than 365).
    df = replacements(c.catalog, df, age if isinstance(phase, ServePhase) else 0.0, given)
    factor = pl.col("price_factor") if "price_factor" in given.columns else None
    devices = pl.col("devices").cast(pl.Float64)
    view, other = c.scenario.accounting, _OTHER[c.scenario.accounting]
    # Commitments are counted in calendar terms from the phase's start: one start for all rows.
    # Their billed hours are worked out once, for the project view of the two (see
    # `cost_columns`: planning that expression was half of the money's time).
    rent = costing.billed_hours(hours, term, w.start, parts)
    # A serving fleet is whole replicas, each inside one instance where it fits one.
    replica = pl.col("tensor_parallel") if isinstance(phase, ServePhase) else None
    covered = terms.get("_covered_months", parts["_covered_months"])
    df = df.with_columns(**{**parts, "_covered_months": covered})
    df = _without(df, "_physics_row").with_columns(rent.alias("_rent_hours"))
    for accounting, prefix in ((view, ""), (other, "alt_")):  # the view, then the other as alt_
        df = df.with_columns(
            costing.cost_columns(
                devices,
                pl.col("hours"),
                factor,
                start=w.start,
                accounting=accounting,
                detail=detail,
                prefix=prefix,
                rent_hours=pl.col("_rent_hours"),
                generations=pl.col("generations"),
                replica=replica,
            )
        )
    df = _without(df.with_columns(costing.purchase_columns()), "_rent_hours", *parts)
    precision = phase.precision
    able = c.remembered(("supports", precision), lambda: sorted(supports(c.catalog, precision)))
    ok = pl.col("accelerator").is_in(able)
    # Work at a precision the device lacks has no rate, so no fleet or run time: no total
    # (its rented instance was priced as if it served), only `precision-unsupported`. Nor has
    # work the physics has no other answer for (a model that does not fit, a latency target or
    # a deadline it cannot meet: rev12a #4), only its block; `run_usd` is what the run as
    # evaluated would cost, for sampling, which decides itself which misses it prices.
    df = df.with_columns(
        ok.alias("precision_ok"), pl.when(ok).then(costing.total_usd()).alias("run_usd")
    )
    # Nor a fleet sized past the devices it has (`checks.fleet_outgrown`, rev16a #2).
    priced = checks.priced(c, phase)
    df = df.with_columns(
        pl.when(priced).then(pl.col("run_usd")).alias("total_usd"),
        pl.when(priced).then(costing.total_usd("alt_")).alias("alt_total_usd"),
    )
    on = c.rules_span(w.start, w.end)
    if checks.own_fleet_known(c, phase):
        assert isinstance(phase, TrainPhase)
        df = _with_own_fleet(c, phase, df, w)
    if isinstance(phase, ServePhase):
        df = df.with_columns(usd_per_output_token=_per_output_token(phase))
    df = df.with_columns(
        findings.verdict(c, phase, on).alias("verdict"),
        findings.workable(c, phase).alias("workable"),
    )
    if "_sizing" in given.columns:
        sized = findings.sizing_verdict(c, phase, on).alias("_sizing_verdict")
        full = _cheaper_sizing(_run(df.with_columns(sized)))
        return full.select(columns) if columns is not None else full
    return _run(df.select(columns) if columns is not None else df)


def _with_own_fleet(c: Context, phase: TrainPhase, df: Frame, w: Window) -> Frame:
    """The facts of the scenario's own fleets a deadline-sized training phase is judged with
    (`checks.own_fleet_known`; rev15b #1: a DeepSeek-like lab's 2,048 H800 were rejected as
    "needs 2,304; the fleet has 2,048" and it was sent to rent H100s in Iowa, with no word on
    what the fleet itself would do). Each fleet is evaluated at its own size with no deadline,
    as this phase over the same window: `fleet_own_days` is how long a fleet row's own fleet
    takes (null on other rows); `own_fleet*` name the fleet that could run the phase but for
    the deadline (no block at its own size), the first to finish, on every row (null: none)."""
    site = c.site_given(phase)
    key = ("own fleet", phase, site, tuple(c.scenario.fleet), w.start, w.end)
    own = c.remembered(key, lambda: _own_fleets(c, phase, w, site))
    days = own.select(pl.col("instance").alias("_fleet"), fleet_own_days="wall_clock_days")
    df = _join(df.with_columns(_fleet=pl.col("instance")), days, on="_fleet")
    df = df.with_columns(
        fleet_own_days=pl.when(pl.col("option") == "fleet").then(pl.col("fleet_own_days"))
    )
    usable = own.filter(pl.col("verdict").is_null() & pl.col("wall_clock_days").is_not_null())
    best = usable.sort("wall_clock_days", "instance").head(1).to_dicts()
    first = best[0] if best else {}
    return _without(df, "_fleet").with_columns(
        pl.lit(first.get("instance"), pl.String).alias("own_fleet"),
        pl.lit(first.get("region"), pl.String).alias("own_fleet_region"),
        pl.lit(first.get("accelerator"), pl.String).alias("own_fleet_accelerator"),
        pl.lit(first.get("devices"), pl.Float64).alias("own_fleet_devices"),
        pl.lit(first.get("wall_clock_days"), pl.Float64).alias("own_fleet_days"),
    )


# The columns of a fleet evaluated at its own size (`_own_fleets`).
_OWN_FLEET = {"instance": pl.String, "region": pl.String, "accelerator": pl.String,
              "devices": pl.Int64, "wall_clock_days": pl.Float64, "verdict": pl.String}  # fmt: skip


def _own_fleets(c: Context, phase: TrainPhase, w: Window, site: SiteSpec) -> pl.DataFrame:
    """The scenario's fleets evaluated for `phase` at their own size (whole instances of it),
    with no deadline, over the window `w` (`_OWN_FLEET`'s columns): those an auto `site` lets
    the phase use (rev15c #1: a site narrowed to us-central was told its cn-east fleet was
    late, "so the phase rents ... instead"), every fleet beside a fixed one (which the finding
    says is not in the site: the planner's own pinned choice is one too)."""
    fleets = c.options.filter(pl.col("option") == "fleet")
    if not isinstance(site, Site):
        fleets = select(fleets, OptionQuery.of(site))
    if fleets.is_empty():
        return pl.DataFrame(schema=_OWN_FLEET)
    fleets = fleets.with_columns(devices=whole_fleet())
    alone = phase._replaced({"deadline_days": None})
    return evaluate(c, alone, fleets, w, columns=list(_OWN_FLEET))


def whole_fleet() -> pl.Expr:
    """A fleet's devices in whole instances of it (at least one): the count its own run is
    timed at (`fleet_own_days`) and the most a deadline sizes it at (`fleet_devices`)."""
    unit = pl.col("unit_devices").cast(pl.Int64)
    whole = (pl.col("capacity_devices").cast(pl.Int64) // unit) * unit
    return pl.when(whole >= unit).then(whole).otherwise(unit)


# The steps after the physics run as one query, with the optimisations an eager step has
# (expressions simplified) and the projection pushed down: the columns not asked for are not
# built. Nothing else is rewritten, so each column is the same bits as step by step.
_TAIL = pl.QueryOptFlags.none(projection_pushdown=True, simplify_expression=True)


Frame = pl.DataFrame | pl.LazyFrame


def _run(frame: Frame) -> pl.DataFrame:
    return frame if isinstance(frame, pl.DataFrame) else frame.collect(optimizations=_TAIL)


def _join(df: Frame, table: pl.DataFrame, on: str) -> Frame:
    """`df` left-joined with `table` on `on`, in `df`'s order."""
    if isinstance(df, pl.LazyFrame):
        return df.join(table.lazy(), on=on, how="left", maintain_order="left")
    return df.join(table, on=on, how="left", maintain_order="left")


@overload
def _without(df: pl.DataFrame, *names: str) -> pl.DataFrame: ...
@overload
def _without(df: pl.LazyFrame, *names: str) -> pl.LazyFrame: ...
def _without(df: Frame, *names: str) -> Frame:
    """`df` without the columns `names` it has: `drop(..., strict=False)`'s frame, taken by
    name without a polars query (a drop resolves its names against the schema in one: ~0.1-0.2
    ms on an evaluation's ~100 columns, a few rows or many, ~20 times a quote)."""
    if isinstance(df, pl.LazyFrame):  # a query: the drop is one more step of it
        return df.drop(names, strict=False)
    gone = set(names)
    return df[[c for c in df.columns if c not in gone]]


def _resold_at_run_end(phase: TrainPhase | ServePhase) -> pl.Expr:
    """Whether a bought option is resold when its run ends: a training phase's timed run (it
    ends before a deadline's window may, rev15a #8), not a serving phase or a run the physics
    did not time (when the window ends). The one decision: the resale's age (`_resale_age`),
    its line item (`costing`), the finding that says when (`checks._sold_when`) and the cash
    flow's month (`quoting`, `timeline.phase_payments`) read this column (rev15c #8)."""
    if not isinstance(phase, TrainPhase):
        return pl.lit(False)
    return pl.col("wall_clock_days").is_not_null()


def _held_days() -> pl.Expr:
    """The whole days a bought option is delivered before its phase starts: ordered just in time
    (`market.purchases`, rev18a #6: supply caps are judged on the order day), it arrives
    `lead_time_days` after the scenario date, on the start (0), or before it only where
    supply.csv forbids a later order (the last day before a ban); hardware that cannot arrive
    in time (`lead-time`) is dated delivered on the start, 0. The one delivery date (rev17b
    #2: the cash flow paid a phase starting 15 months after delivery on delivery, while the
    resale counted the server's age from the phase start): the cash flow's capital month
    (`quoting.delivered_on`), the resale's age (`_held_years`) and `owned-capex`'s words
    (`checks._held`) read this column."""
    held = (pl.col("days_to_start") - pl.col("lead_time_days").round(0)).clip(lower_bound=0.0)
    return (
        pl.when((pl.col("option") == "owned") & pl.col("lead_time_days").is_not_null())
        .then(held)
        .otherwise(0.0)
        .cast(pl.Int64)
    )


def _held_years(as_of: date, days_to_start: int) -> pl.Expr:
    """`held_days` in calendar years (`costing.calendar_years_of`, counted on the months from
    the scenario date), added to the resale's age from the phase start; exactly 0 when held
    none. `days_to_start`: the column's value (`evaluate` writes one for all rows), the most
    days either age counts."""
    start = pl.col("days_to_start").clip(lower_bound=0)
    held = pl.col("held_days")
    most = max(days_to_start, 0)
    years = costing.calendar_years_of(as_of, start, most) - costing.calendar_years_of(
        as_of, start - held, most
    )
    return pl.when(held > 0).then(years).otherwise(0.0)


def _resale_age(start: date, age: float) -> pl.Expr:
    """The age in years at which a bought option is resold: when its run ends
    (`resold_at_run_end`), on the day it ends (`timeline.ends_on`, as the cash flow sells it;
    the phase after it starts the next day, `timeline.later`), deadline or not; else when the
    window ends (`age`). Resold at the window's end, every candidate of a run without a
    deadline took the first-ranked one's age (rev14c #1: a 5-year H100 run was ranked with the
    2.6-year resale of the B200 run that set the window, and chosen over it though it costs
    8.8% more); with a deadline the deadline's (rev15a #8)."""
    days = pl.col("wall_clock_days").clip(upper_bound=MAX_RUN_DAYS).round(6).floor()
    # Calendar years, as a life (rev17a #1b); `days` is at most MAX_RUN_DAYS.
    years = costing.calendar_years_of(start, days, math.floor(MAX_RUN_DAYS))
    return pl.when(pl.col("resold_at_run_end")).then(years).otherwise(age)


def _with_smallest_fleet(df: pl.DataFrame) -> pl.DataFrame:
    """`_smallest`: the fewest devices that are whole deployments (`fleet_min_devices`: one
    replica, or one of each pool) filling whole instances, as `costing.billed_devices` places
    them (worked out once per distinct pair). One 4-device replica on an 8-GPU instance billed
    8 devices for the work of 4, which made a demand-less quote's price per token twice what
    the instance can do. A replica that fits an instance stays inside one: in replicas, the
    least common multiple of a deployment's and what an instance holds (floor(unit /
    replica); 6-device replicas on 8-GPU instances: one each, 6 devices, not the 24 that
    packed 4 of them across 3 instances, rev14a #4); one wider than an instance, the least
    common multiple of the deployment's devices and the instance's."""
    tp, unit = pl.col("tensor_parallel").cast(pl.Int64), pl.col("unit_devices").cast(pl.Int64)
    inside = (tp >= 1) & (tp <= unit)
    counts = df.select(
        _deploy=pl.when(inside).then(pl.col("fleet_min_devices").cast(pl.Int64) // tp),
        _holds=pl.when(inside).then(unit // tp),
        fleet_min_devices=pl.col("fleet_min_devices"),
        unit_devices=pl.col("unit_devices"),
    )
    inside_one = whole_instances(counts, "_deploy", "_holds") * df["tensor_parallel"]
    spanning = whole_instances(counts, "fleet_min_devices", "unit_devices")
    smallest = pl.coalesce(
        pl.when(inside).then(inside_one.cast(pl.Int64)).otherwise(spanning),
        pl.col("fleet_min_devices").cast(pl.Int64),
    )
    return df.with_columns(_smallest=smallest)


def _per_output_token(phase: ServePhase) -> pl.Expr:
    """USD per output token of a serving option with no daily demand and no fleet size (whole
    instances of replicas at full load, less the serving goodput), else null. Such options
    serve different volumes for their cost, so they are compared per token: by its total, one
    GPU serving a 70B model at batch 10 beat a TP8 replica that serves tokens at an eighth of
    the price."""
    if phase.devices:
        return pl.lit(None, pl.Float64)
    # Derated by the serving goodput, as a demand's fleet is (`replicas_for_demand`): a fleet at
    # full load then costs the same per token whether a demand sized it or not.
    rate = pl.col("output_tokens_per_s_per_device") * pl.col("serve_goodput")
    served = rate * pl.col("devices") * pl.col("hours") * 3600.0
    return pl.when(pl.col("devices_needed").is_null() & (served > 0)).then(
        pl.col("total_usd") / served
    )


_OTHER = {"project": "amortised", "amortised": "project"}


def _default_window(c: Context, phase: Phase) -> Window:
    end = c.as_of + timedelta(days=planned_days(phase, None))
    return Window(c.as_of, end)


def users_rtt(c: Context, users: str) -> pl.DataFrame:
    """Per region, `rtt_ms` to the phase's users: their market's round trip, or for "foreign"
    users (outside China) the nearest market abroad."""
    return c.latency.filter(users_market(users)).group_by("region").agg(pl.col("rtt_ms").min())


Settings = TrainSettings | ServeSettings


def physics(c: Context, keys: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The training or serving physics of a frame of keys (`physics_inputs`), or the result
    of the very same solve in an earlier run (`physics.store`)."""

    def solve() -> pl.DataFrame:
        if isinstance(settings, TrainSettings):
            return training_frame(c.catalog, c.model, keys, settings)
        return serving_frame(c.catalog, c.model, keys, settings)

    return store.remembered(c.catalog, c.model, keys, settings, solve)


def physics_inputs(
    c: Context, phase: Phase, candidates: pl.DataFrame, start: date | None = None
) -> tuple[pl.DataFrame, list[str], Settings]:
    """The candidates with the per-row physics inputs, the columns the physics depends on, and
    the settings for the rest. How much work a phase does (training tokens, serving demand) is
    a column rather than a setting, so phases that differ in it alone share their settings and
    are solved in one pass (`presolve`). A training phase starting on `start` (default the
    scenario date) sized by its deadline gets a second row for each option billed in whole
    terms (`with_term_sizing`)."""
    if isinstance(phase, TrainPhase):
        df = candidates
        most = c.max_devices if c.objective == "time" and not phase.devices else None
        if most and "devices" not in df.columns:  # finishing first: use all of it
            df = df.with_columns(devices=_all_of_it(df, most))
        df = with_term_sizing(c, phase, df, start or c.as_of)
        df = _with_fleet_size(df)
        train = train_settings(phase)
        if "unit_devices" in df.columns and "scaleup_cap" not in df.columns:
            df = df.with_columns(scaleup_cap=pl.col("unit_devices").cast(pl.Int64))
        df = _offer_network(df)
        if "tokens" not in df.columns:
            df = df.with_columns(tokens=pl.lit(float(phase.tokens)))
            train = replace(train, tokens=0.0)  # never read: the column wins
        return df, ["accelerator", *[k for k in TRAIN_INPUTS if k in df.columns]], train
    df, serve = _serving_inputs(c, phase, candidates)
    return df, ["accelerator", "replica_cap", *[k for k in SERVE_INPUTS if k in df.columns]], serve


def _with_fleet_size(df: pl.DataFrame) -> pl.DataFrame:
    """A deadline-sized frame with `fleet_devices` on its fleet rows (null on the rest): a fleet
    whose own devices meet the deadline is sized at them, not past them (`training._within_fleet`,
    rev16c W2). Only where a fleet row is sized, so other frames key their physics as before."""
    if (
        "deadline_days" not in df.columns
        or "devices" in df.columns
        or "option" not in df.columns
        or not df.select((pl.col("option") == "fleet").any()).item()
    ):
        return df
    return df.with_columns(
        fleet_devices=pl.when(pl.col("option") == "fleet").then(whole_fleet()).cast(pl.Int64)
    )


def with_term_sizing(c: Context, phase: TrainPhase, df: pl.DataFrame, start: date) -> pl.DataFrame:
    """A deadline is a bound, not a target (rev13a #1). The fewest devices that finish by a
    400-day deadline run 372 days and bill a one-year reservation twice, where more devices
    finishing in 365 days bill it once: 155.6 against 83.3 M USD, so a looser deadline cost
    more. So each option billed in whole terms is also sized to finish within each whole
    number of its terms the deadline holds from `start` (`costing.whole_term_spans`: 365 days
    of a 400-day deadline; 365 and 730 of an 800-day one, as 512 devices for two years can cost
    more than 960 for one): a row of it per such span, with it as its `deadline_days` (the
    physics' per-row deadline) and `term_sized_days`, through the same physics and money;
    `_cheaper_sizing` keeps the cheapest of an option's rows (`_sizing` groups them). Only in
    the project view, which bills the terms (the amortised one charges the hours used), and
    only where the physics sizes the count; elsewhere `df` with the deadline as its per-row
    input alone (or as it was, where the phase fixes its count)."""
    if (
        phase.deadline_days is None
        or phase.devices
        or "devices" in df.columns
        or "deadline_days" in df.columns
    ):
        return df
    deadline = float(phase.deadline_days)
    # The deadline is a per-row input whether or not a term-sized row joins it, so a plan's
    # ranking (some options billed in terms) and the quote of its choice (one on demand) key
    # their physics alike and the quote reads the ranking's solve back.
    same = df.with_columns(deadline_days=pl.lit(deadline, pl.Float64))
    if c.scenario.accounting != "project" or "min_term_days" not in df.columns:
        return same
    terms = df["min_term_days"].drop_nulls().unique().to_list()
    spans = {t: costing.whole_term_spans(start, t, deadline) for t in terms}
    fit = pl.DataFrame(
        [(t, d) for t, ds in spans.items() for d in ds],
        schema={"min_term_days": df.schema["min_term_days"], "term_sized_days": pl.Float64},
        orient="row",
    )
    if fit.is_empty():
        return same
    base = df.with_row_index("_sizing").with_columns(
        deadline_days=pl.lit(deadline, pl.Float64), term_sized_days=pl.lit(None, pl.Float64)
    )
    extra = (
        base.drop("term_sized_days")
        .join(fit, on="min_term_days", maintain_order="left")
        .with_columns(deadline_days=pl.col("term_sized_days"))
        .select(base.columns)
    )
    if "max_term_days" in extra.columns:
        # Past an offer's longest term a sizing is blocked anyway (a 365-day deadline holds
        # 365 day counts; a capacity block sells 182 at most).
        longest = pl.col("max_term_days")
        extra = extra.filter(longest.is_null() | (pl.col("term_sized_days") <= longest))
    return pl.concat([base, extra])


def _fewer_day_sizings(df: Frame, start: date) -> Frame:
    """An option's day-term sizings (a capacity block: every day count the deadline holds,
    `costing.whole_term_spans`) that can win, once the physics has sized them: of two, the one
    with more devices and no smaller bill (devices x billed hours, `costing.billed_hours`, as
    the money bills them) never can, as the price is the same and what blocks such a row (an
    offer's capacity, --max-devices, the batch) blocks the one with more devices first (its
    run is within its term count, so its longest term does not). The deadline-sized row is
    kept. What day sizing costs a plan, measured with this pruning (fix15c, CPU time, physics
    store empty) on the worst case found, a 182-day deadline for a 70B model's 15T tokens on an
    auto site: 0.33 s against 0.15 s without day sizings, 0.64 s against 0.19 s at 100x the
    offers (0.74 s unpruned); plans with no day-term option do not change."""
    term = pl.col("min_term_days")
    sized = (
        pl.col("term_sized_days").is_not_null()
        & (term > 0)
        & (term < costing.EVERY_COUNT_BELOW_DAYS)
    )
    hours = pl.col("wall_clock_days") * costing.HOURS_PER_DAY
    bill = pl.when(sized).then(pl.col("devices") * costing.billed_hours(hours, term, start))
    before = (
        pl.col("_bill").fill_null(math.inf).cum_min().shift(1, fill_value=math.inf).over("_sizing")
    )
    keep = ~pl.col("_sized") | (pl.col("_bill") < before).fill_null(False)
    return (
        df.with_row_index("_row")
        .with_columns(_sized=sized, _bill=bill)
        .sort(["_sizing", "devices", "_row"], nulls_last=True)
        .filter(keep)
        .sort("_row")
        .drop("_row", "_sized", "_bill")
    )


def _cheaper_sizing(df: pl.DataFrame) -> pl.DataFrame:
    """Per option (`_sizing`, in the input's order) the cheapest of its sizings
    (`with_term_sizing`): allowed first, then workable, then the lower total, then the fewer
    devices, then the first (the one sized for the deadline itself). An option with every
    sizing blocked keeps the one sized for the deadline itself, so its verdict names the
    fewest devices that meet the deadline (rev15a #4: "needs 720" of a one-month sizing where
    480 meet it). Blocked means by a block a sizing can change (`_sizing_verdict`): one a rule
    blocks is sized as it would be unblocked (rev20a #3). A kept term-sized row carries the
    deadline-sized one's devices, days and total (`deadline_sized_*`) for its finding."""
    blocked = pl.col("_sizing_verdict").is_not_null()
    term = pl.col("term_sized_days").is_not_null()
    keys = df.select(
        "_sizing",
        blocked.alias("_blocked"),
        (~pl.col("workable")).alias("_unworkable"),
        (blocked & term).alias("_blocked_term"),
        "total_usd",
        "devices",
        term.alias("_term"),
    ).with_row_index("_i")
    first = keys.sort(
        ["_sizing", "_blocked", "_unworkable", "_blocked_term", "total_usd", "devices"],
        nulls_last=True,
        maintain_order=True,
    ).unique(subset=["_sizing"], keep="first", maintain_order=True)
    kept = df[first["_i"]]
    df, kept = df.drop("_sizing_verdict"), kept.drop("_sizing_verdict")
    if not first["_term"].any():
        return kept.drop("_sizing")
    plain = df.filter(pl.col("term_sized_days").is_null()).select(
        "_sizing",
        pl.col("devices").alias("deadline_sized_devices"),
        pl.col("wall_clock_days").alias("deadline_sized_days"),
        pl.col("total_usd").alias("deadline_sized_usd"),
    )
    return kept.join(plain, on="_sizing", how="left", maintain_order="left").drop("_sizing")


def _all_of_it(df: pl.DataFrame, max_devices: int) -> pl.Expr:
    """The devices a training run finishing first takes: `--max-devices`, or less where the
    option has less (an offer of stated size, a fleet), in whole instances of it."""
    if "capacity_devices" not in df.columns:
        return pl.lit(max_devices, pl.Int64)
    most = pl.min_horizontal(pl.col("capacity_devices").fill_null(max_devices), max_devices)
    unit = pl.col("unit_devices").cast(pl.Int64)
    whole = (most // unit) * unit
    return pl.when(whole >= unit).then(whole).otherwise(unit).cast(pl.Int64)


def _offer_network(df: pl.DataFrame) -> pl.DataFrame:
    """`scaleout_cap`: the instance's network shared by its devices, bytes/s each way per device
    (null: the accelerator's), read by training's traffic past a scale-up domain and serving's
    all-to-all past it alike: GCP's a2-highgpu-8g has 100 Gbit/s for 8 A100, not the 200 Gbit/s
    per GPU of a DGX (rev12d #4), and an MoE replica over two a3-highgpu-8g shares their
    1,000 Gbit/s, not the h100-sxm's 400 per device."""
    if "instance_scaleout_gbit_s" not in df.columns or "scaleout_cap" in df.columns:
        return df
    per_device = pl.col("instance_scaleout_gbit_s") * 1e9 / 8.0 / pl.col("unit_devices")
    return df.with_columns(scaleout_cap=per_device.cast(pl.Float64))


def _serving_inputs(
    c: Context, phase: ServePhase, candidates: pl.DataFrame
) -> tuple[pl.DataFrame, ServeSettings]:
    df = _offer_network(candidates.with_columns(replica_cap=_replica_cap(c)))
    if phase.ttft_ms is not None and "rtt_ms" not in df.columns:
        # A TTFT target includes the round trip to the users: the physics sizes replicas for it.
        df = df.join(users_rtt(c, phase.users), on="region", how="left", maintain_order="left")
    serve = serve_settings(phase)
    demand = {"input_tokens_per_day": serve.input_tokens_per_day,
              "output_tokens_per_day": serve.output_tokens_per_day}  # fmt: skip
    given = {k: v for k, v in demand.items() if v is not None and k not in df.columns}
    if not given:
        return df, serve
    df = df.with_columns(**{k: pl.lit(v, pl.Float64) for k, v in given.items()})
    return df, replace(serve, input_tokens_per_day=None, output_tokens_per_day=None)


# Physics results are remembered for inputs of at most this many distinct keys (a quote's
# phase); a planner sweep or a Monte Carlo run has more and is computed afresh.
MEMO_KEYS = 256


def memo_token(settings: Any, keys: list[str], unique: pl.DataFrame) -> Any:
    """What a physics result depends on, as a key of `Context.memo` (None: too big to keep)."""
    if unique.height > MEMO_KEYS:
        return None
    return (settings, tuple(keys), tuple(unique.iter_rows()))


# A purchase's order (`market.purchases`) besides the supply row it is ordered under.
ORDER_COLUMNS = ("order_days", "supply_block", "supply_until", "supply_held_announced")
PURCHASE_COLUMNS = (*SUPPLY_COLUMNS, *ORDER_COLUMNS)


def _supply_on(c: Context, df: Frame, given: pl.DataFrame, start: date) -> Frame:
    """`df` with its purchases ordered and judged against supply.csv (`market.purchases`): on
    the latest day from the plan's date on whose order arrives by the phase's `start` (rev18a
    #6), and on the `start`, when the rules judge it (`compliance.acquired_before`):
    judged on the plan's date alone, a ban on buying H200 in China from 2027 let a 2028 phase
    buy them (review9e #1); judged on the start alone, H200 were ordered in China two months
    before any could be (rev12d #1). Quotes, plans and samples all pass here. `given`: the
    candidates as `df` has them before the physics (their options are what is judged)."""
    owned = pl.col("option") == "owned"
    if not given.select(owned.any()).item():
        return df.with_columns(
            pl.lit(None, pl.Int64).alias("order_days"),
            pl.lit(None, pl.String).alias("supply_block"),
            pl.lit(None, pl.Date).alias("supply_until"),
            pl.lit(None, pl.Date).alias("supply_held_announced"),
        )

    keys = ["option_id", "option", "instance", "accelerator", "country"]

    tenant = c.scenario.tenant_hq

    def judge(bought: pl.DataFrame, days: pl.DataFrame | None = None) -> pl.DataFrame:
        return purchases(c.catalog, bought, tenant, c.as_of, start, days).select(
            "option_id", *(pl.col(col).alias(f"_p_{col}") for col in PURCHASE_COLUMNS)
        )

    # Every purchase option of the context at once: the supply of each day it can change is
    # worked out once, and a start date judged once, whatever phases, candidates or Monte
    # Carlo rounds ask for it.
    mine = c.options.filter(owned).select(keys)
    days = c.remembered(
        ("supply days", tenant, c.as_of), lambda: supply_days(c.catalog, mine, tenant, c.as_of)
    )
    judged = c.remembered(("purchases", start), lambda: judge(mine, days))
    # A fixed site with no price on the date (`options.placeholder`) is no option of the
    # context: judged too, so a part not yet launched is not-purchasable, not only unpriced.
    # (The judged ids are left out before the distinct rows are found: a sweep's 1.8M owned
    # candidates were made distinct, then all joined away, 0.07 s CPU. An id no judged one can
    # equal, a null one among them, is kept, as the anti-join kept it.)
    dtype = given.schema["option_id"]
    judged_ids = judged["option_id"].cast(dtype, strict=False).implode()
    listed = pl.col("option_id").is_in(judged_ids).fill_null(False)
    unlisted = given.filter(owned & ~listed).select(keys).unique()
    if unlisted.height:
        judged = pl.concat([judged.with_columns(pl.col("option_id").cast(dtype)), judge(unlisted)])
    df = _without(df, *ORDER_COLUMNS)
    out = (
        _looked_up(df, judged, "option_id")
        .with_columns(
            pl.when(owned).then(pl.col(f"_p_{col}")).otherwise(pl.col(col)).alias(col)
            for col in SUPPLY_COLUMNS
        )
        .with_columns(pl.col(f"_p_{col}").alias(col) for col in ORDER_COLUMNS)
    )
    return _without(out, *(f"_p_{col}" for col in PURCHASE_COLUMNS))


def _looked_up(df: Frame, table: pl.DataFrame, on: str) -> Frame:
    """`df` left-joined (in its order) with `table`, which has one row per value of `on`: each
    row's match found once and each of `table`'s columns gathered by it, in the query. A column
    nothing reads is then not built, and `df`'s columns are not copied, as a join copies them
    (a sweep's ~50 columns of 2.92M rows, twice)."""
    found = table.filter(pl.col(on).is_not_null())
    added = [name for name in table.columns if name != on]
    eager = isinstance(df, pl.DataFrame)  # a frame step by step: a join is the one step
    if eager or found[on].n_unique() != found.height or "_found" in added:
        return _join(df, table, on)
    at = pl.col(on).replace_strict(
        found[on], pl.Series(range(found.height), dtype=pl.UInt32), default=None
    )
    return (
        df.with_columns(at.alias("_found"))
        .with_columns(pl.lit(found[name]).gather("_found").alias(name) for name in added)
        .drop("_found")
    )


def side_by_side(fn: Callable[..., T], *args: Sequence[Any]) -> list[T]:
    """`fn` over the arguments in threads, results in order. An evaluation is mostly polars
    planning and running queries, outside the GIL: on two idle cores two take little more than
    one (on busy cores, about the same as one after the other)."""
    n = min(len(args[0]), os.cpu_count() or 1)
    if n < 2:
        return [fn(*a) for a in zip(*args, strict=True)]
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, *args))


def presolve(c: Context, jobs: Sequence[tuple[Phase, pl.DataFrame]]) -> None:
    """Solves the physics of several phases' candidates ahead of their evaluations and
    remembers each phase's share in `c.memo` as `evaluate` would. Phases that share their
    settings are solved in one pass (a solve has a fixed cost, ~0.01 s training, ~0.1 s
    serving, and many phases often differ only in how much work they do: a serving ramp,
    training stages); the passes run side by side. Frames too big to remember (`memo_token`)
    are left to `evaluate`."""
    groups: dict[tuple[Settings, tuple[str, ...]], list[pl.DataFrame]] = {}
    # Where the phases start as far as known before any runs (a deadline reserves its days):
    # the whole terms a deadline holds are counted from there (`with_term_sizing`).
    sized = any(isinstance(p, TrainPhase) and p.deadline_days is not None for p, _ in jobs)
    starts = {n: w.start for n, w in windows(c.scenario, c.as_of, {}).items()} if sized else {}
    for phase, candidates in jobs:
        df, keys, settings = physics_inputs(c, phase, candidates, starts.get(phase.name))
        unique, token = _distinct(df, keys, settings)
        if token is None or token in c.memo:
            continue
        found = _from_solved(c.memo, token, keys, unique)
        if found is not None:
            c.memo[token] = found
        else:
            groups.setdefault((settings, tuple(keys)), []).append(unique)
    if sum(map(len, groups.values())) < 2:
        return  # nothing to share or overlap: `evaluate` solves it

    def solve(settings: Settings, parts: list[pl.DataFrame]) -> pl.DataFrame:
        return physics(c, pl.concat(parts).unique(maintain_order=True), settings)

    solved = side_by_side(solve, [s for s, _ in groups], list(groups.values()))
    for ((settings, on), parts), out in zip(groups.items(), solved, strict=True):
        for part in parts:
            share = (
                out
                if len(parts) == 1
                else part.join(
                    out, on=list(on), how="left", nulls_equal=True, maintain_order="left"
                )
            )
            c.memo[memo_token(settings, list(on), part)] = share


def is_physics(token: Any) -> bool:
    """Whether a key of `Context.memo` is a physics result's (`memo_token`)."""
    return isinstance(token, tuple) and len(token) == 3 and isinstance(token[0], Settings)


def _distinct(df: pl.DataFrame, keys: list[str], settings: Settings) -> tuple[pl.DataFrame, Any]:
    """The distinct physics keys of `df` and the memo token of their result."""
    unique = df.select(keys).unique(maintain_order=True)
    return unique, memo_token(settings, keys, unique)


def _physics_keyed(
    df: pl.DataFrame,
    keys: list[str],
    physics: Callable[[pl.DataFrame], pl.DataFrame],
    memo: dict[Any, Any],
    settings: Settings,
    *,
    lazy: bool,
    per_key: dict[str, pl.Expr] | None = None,
) -> tuple[Frame, dict[str, pl.Expr]]:
    """Runs `physics` once per distinct key and joins the result back in the input's order.
    The result depends only on the keys and the settings (the context fixes the model and
    the catalog), so a small one is remembered in `memo` for the next phase asking the same.

    Over many rows (a sweep's, a sample's) the distinct keys are grouped once, in the order
    they first appear (as `_distinct`'s), and each row takes its key's result by position:
    hashing a sweep's 2.92M keys a second time for a join cost more than the physics of its
    420k distinct ones. Over a few (a quote's, a plan's) the fewer queries of a join win.
    `lazy`: as a query, where a physics column is gathered only if what is collected reads it
    (else as a frame: each step a query planned alone costs less over a few rows).

    `per_key`: terms that read only the physics' columns (and the earlier of them), in order.
    Where many rows take their physics by position in a query, each is worked out once per key
    on the physics' rows, as the query would (one stage each, the same optimisations), and the
    frame keeps `_physics_row`: the second value, per term, is the expression that takes a row's
    value by it (a sweep's 2.92M rows worked out the resale age and the billed months of its
    420k runs ~7 times each, ~0.04 s CPU more than a gather). Only over many keys (more than
    `_FEW_CANDIDATES`): polars divides by a literal exactly over one row (a frame's, a query's
    morsel's) and through its reciprocal over several, so a few keys' bits could differ from
    their rows'. Nor a term whose when/then ends in a literal that a literal divides
    (`market.resale_at`'s curves past their last age): a morsel whose rows all take it divides
    one value exactly, so its bits depend on which rows a morsel holds (worked out per key, 46
    of a sweep's 2.92M rows' resale fractions differed)."""
    many = df.height > _FEW_CANDIDATES
    if many:
        rows = df.select(keys).with_row_index("_r")
        groups = rows.group_by(keys, maintain_order=True).agg("_r")
        unique = groups.select(keys)
        token = memo_token(settings, keys, unique)
    else:
        unique, token = _distinct(df, keys, settings)
    out = memo.get(token) if token is not None else None
    if out is None and token is not None:
        out = _from_solved(memo, token, keys, unique)
    if out is None:
        out = physics(unique)
        if token is not None:
            memo[token] = out
    added = [c for c in out.columns if c not in keys]
    df = _without(df, *added)
    if (
        not many
        or out.height != unique.height
        or not out.select(keys).equals(unique, null_equal=True)
    ):
        if lazy:
            joined = df.lazy().join(
                out.lazy(), on=keys, how="left", nulls_equal=True, maintain_order="left"
            )
            return joined, {}
        return df.join(out, on=keys, how="left", nulls_equal=True, maintain_order="left"), {}
    at = groups.with_row_index("_k").select("_k", "_r").explode("_r")
    where = pl.Series("_k", [0], pl.UInt32).new_from_index(0, df.height)
    at_key = where.scatter(at["_r"], at["_k"]).alias("_physics_row")
    if not lazy:
        return df.hstack(out.select(added)[at_key]), {}
    found = (
        df.with_columns(at_key)
        .lazy()
        .with_columns(pl.lit(out[name]).gather("_physics_row").alias(name) for name in added)
    )
    if not per_key or out.height <= _FEW_CANDIDATES:
        return found.drop("_physics_row"), {}
    terms = out.lazy()
    for name, term in per_key.items():
        terms = terms.with_columns(term.alias(name))
    done = _run(terms.select(list(per_key)))
    return found, {name: pl.lit(done[name]).gather("_physics_row") for name in per_key}


# The terms of a training row's run `evaluate` takes from its physics key's (`_physics_keyed`).
_TAKEN_PER_KEY = frozenset({"resale_age_years", "_covered_months"})

# Up to this many candidates, `_physics_keyed` joins the physics back on its keys.
_FEW_CANDIDATES = 20_000


def _from_solved(
    memo: dict[Any, Any], token: Any, keys: list[str], unique: pl.DataFrame
) -> pl.DataFrame | None:
    """The physics of `unique`'s keys (its memo `token`) taken from a remembered solve that
    covered them all (each key's result is its own row: a frame's other rows change nothing),
    or None. A plan ranks a phase's options in one solve, then quotes the chosen one: its key
    is among those solved. The keys are compared as the tokens hold them (Python tuples): a
    polars join per remembered solve made a Monte Carlo run, which remembers hundreds, 25%
    slower."""
    settings, on, want = token
    first = want[0] if want else None
    for other, solved in list(memo.items()):
        if not is_physics(other) or other[0] != settings or other[1] != on:
            continue
        rows = other[2]
        if len(rows) <= len(want) or first not in rows or not set(want) <= set(rows):
            continue  # not a strict superset of the keys asked for
        return unique.join(solved, on=keys, how="left", nulls_equal=True, maintain_order="left")
    return None


def _replica_cap(c: Context) -> pl.Expr:
    """The most devices one serving replica may span on an option's instances: a dense model's
    tensor-parallel group needs one instance (its scale-up link); an MoE replica may span
    instances that each hold a whole scale-up domain (expert parallelism over the network), but
    not single-device pods, which have no fast link between them."""
    unit = pl.col("unit_devices").cast(pl.Float64)
    if c.model.arch == "moe":
        whole = unit >= pl.col("scaleup_size").cast(pl.Float64)
        return (
            pl.when(whole)
            .then(pl.lit(c.catalog.default("max_moe_replica_devices")))
            .otherwise(unit)
        )
    return unit


def rank(df: pl.DataFrame, objective: Objective) -> pl.DataFrame:
    """Allowed candidates first, then those that could run the phase (`findings.workable`), then
    by the objective (money per output token first for serving without a demand), then one
    tie-break: nearest to a serving phase's users, then by name."""
    money = [k for k in ("usd_per_output_token", "total_usd") if k in df.columns]
    keys = [*money, "wall_clock_days"] if objective == "cost" else ["wall_clock_days", *money]
    near = ["rtt_ms"] if "rtt_ms" in df.columns else []
    return df.sort(
        [
            pl.col("verdict").is_not_null(),
            ~pl.col("workable"),
            *keys,
            *near,
            "provider",
            "region",
            "instance",
            "pricing",
            "option_id",
        ],
        nulls_last=True,
    )
