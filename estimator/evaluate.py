"""The one evaluation of candidates: physics, money, rule facts and a verdict per row; one ranking.

A quote evaluates the candidate options of each phase's fixed site and takes the first of the
ranking; the planner evaluates every option an auto site allows and takes the first allowed;
sampling evaluates one option many times with drawn inputs. All of them call `evaluate` and
`rank` here, so they cannot disagree.

Physics depends on the device, not the offer: it runs once per distinct physics key (the
accelerator, the replica limit an instance sets, and any per-row inputs such as a sampled MFU)
and is joined back onto the candidates.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from estimator import costing, findings
from estimator.compliance import with_rule_facts
from estimator.context import Context, Objective
from estimator.physics import (
    ServeSettings,
    TrainSettings,
    serving_frame,
    training_frame,
)
from estimator.physics.inputs import supports
from estimator.scenario import ServePhase, TrainPhase

Phase = TrainPhase | ServePhase
# Per-row physics inputs a caller may vary (sampling, sweeps): part of the physics key.
TRAIN_INPUTS = ("devices", "mfu", "goodput", "tokens")
SERVE_INPUTS = ("decode_efficiency", "input_tokens_per_day", "output_tokens_per_day")


def train_settings(p: TrainPhase) -> TrainSettings:
    return TrainSettings(
        tokens=p.tokens,
        precision=p.precision or "bf16",
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
        precision=p.precision or "bf16",
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


def evaluate(c: Context, phase: Phase, candidates: pl.DataFrame) -> pl.DataFrame:
    """Every candidate with its physics, `devices`, `hours`, money columns (USD, with line-item
    detail), rule facts, `precision_ok` and `verdict` (null = allowed)."""
    df = with_rule_facts(candidates, data=phase.data, tenant_hq=c.scenario.tenant_hq)
    if isinstance(phase, TrainPhase):
        if (
            c.objective == "time"
            and c.max_devices
            and not phase.devices
            and "devices" not in df.columns
        ):
            # Finishing first with a capacity: use all of it.
            df = df.with_columns(pl.lit(c.max_devices, pl.Int64).alias("devices"))
        settings = train_settings(phase)
        df = _joined(
            df,
            ["accelerator", *[k for k in TRAIN_INPUTS if k in df.columns]],
            lambda keys: training_frame(c.catalog, c.model, keys, settings),
        )
        hours = pl.col("wall_clock_days") * 24.0
    else:
        df = df.with_columns(replica_cap=_replica_cap(c))
        serve = serve_settings(phase)
        df = _joined(
            df,
            ["accelerator", "replica_cap", *[k for k in SERVE_INPUTS if k in df.columns]],
            lambda keys: serving_frame(c.catalog, c.model, keys, serve),
        )
        # The fleet: as given, else what the demand needs, else the smallest deployment (one
        # replica; one of each pool when disaggregated).
        fleet = (
            pl.lit(float(phase.devices))
            if phase.devices
            else pl.coalesce("devices_needed", "fleet_min_devices").cast(pl.Float64)
        )
        df = df.with_columns(devices=fleet, wall_clock_days=pl.lit(float(phase.days)))
        hours = pl.lit(phase.days * 24.0)
    factor = pl.col("price_factor") if "price_factor" in df.columns else None
    df = df.with_columns(hours=hours).with_columns(
        costing.cost_columns(
            pl.col("devices").cast(pl.Float64), pl.col("hours"), factor, detail=True
        )
    )
    precision = phase.precision or "bf16"
    df = df.with_columns(
        costing.total_usd(),
        pl.col("accelerator").is_in(sorted(supports(c.catalog, precision))).alias("precision_ok"),
    )
    return df.with_columns(findings.verdict(c, phase).alias("verdict"))


def _joined(
    df: pl.DataFrame, keys: list[str], physics: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    """Runs `physics` once per distinct key and joins the result back in the input's order."""
    unique = df.select(keys).unique(maintain_order=True)
    out = physics(unique)
    added = [c for c in out.columns if c not in keys]
    return df.drop([c for c in added if c in df.columns]).join(
        out, on=keys, how="left", nulls_equal=True, maintain_order="left"
    )


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
    """Allowed candidates first, then by the objective, then one tie-break."""
    keys = (
        ["total_usd", "wall_clock_days"]
        if objective == "cost"
        else ["wall_clock_days", "total_usd"]
    )
    return df.sort(
        [
            pl.col("verdict").is_not_null(),
            *keys,
            "provider",
            "region",
            "instance",
            "pricing",
            "option_id",
        ],
        nulls_last=True,
    )
