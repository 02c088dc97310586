"""Training physics over a frame: device-hours, devices, days and memory per candidate row.

One call prices one row (a quote) or many (a sweep, a sample): every figure is a polars
expression from `estimator.physics.formulas`, so no per-row Python runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from estimator.physics import formulas as f
from estimator.physics.inputs import (
    GIB,
    column_or,
    with_device,
    with_efficiency,
    with_model,
)
from estimator.physics.model import ModelSpec
from pricing import Catalog

# Default training sequence length when none is given (Llama 2, DeepSeek-V3 pretraining: 4K).
DEFAULT_SEQ_LEN = 4096

TRAINING_COLUMNS = (
    "flops",
    "min_devices",
    "max_devices",
    "devices",
    "device_hours",
    "wall_clock_days",
    "mfu",
    "goodput",
    "mfu_low",
    "mfu_high",
    "effective_mfu",
    "peak_tflops",
    "memory_per_device_gib",
    "hbm_gib",
    "fits",
    "deadline_met",
    "efficiency_row",
)


@dataclass(frozen=True)
class TrainSettings:
    """What a training phase asks of the physics. `devices` fixes the device count; else
    `deadline_days` sizes it; else it is the minimum that holds the model."""

    tokens: float
    precision: str = "bf16"
    workload: str = "pretrain"
    mfu: float | None = None
    goodput: float | None = None
    seq_len: int | None = None
    devices: int | None = None
    deadline_days: float | None = None


def training_frame(
    catalog: Catalog, model: ModelSpec, frame: pl.DataFrame, s: TrainSettings
) -> pl.DataFrame:
    """`frame` (an `accelerator` column; optional per-row `devices`, `deadline_days`, `mfu`,
    `goodput`, `tokens`) with TRAINING_COLUMNS added. Rows whose accelerator lacks the precision
    get null peaks and `fits` false."""
    given = set(frame.columns)
    df = with_model(with_device(catalog, frame.lazy(), s.precision), model)
    df = with_efficiency(catalog, df, s.workload, model.arch, "eff_")
    df = df.with_columns(
        tokens=column_or(df, "tokens", float(s.tokens), pl.Float64),
        seq_len=pl.lit(float(s.seq_len or DEFAULT_SEQ_LEN)),
        # A frame's own mfu / goodput columns (sampling, sweeps) win over the settings.
        mfu=column_or(df, "mfu", s.mfu, pl.Float64).fill_null(pl.col("eff_mfu")),
        goodput=column_or(df, "goodput", s.goodput, pl.Float64).fill_null(pl.col("eff_goodput")),
        efficiency_row=pl.lit("given") if s.mfu and s.goodput else pl.col("eff_row"),
        # The default's range (for sampling); a given mfu has none.
        mfu_low=pl.lit(s.mfu, pl.Float64).fill_null(pl.col("eff_mfu_low")),
        mfu_high=pl.lit(s.mfu, pl.Float64).fill_null(pl.col("eff_mfu_high")),
        overhead_bytes=pl.lit(catalog.default("nonmatmul_bytes_per_layer_hidden")),
        _dev_given=column_or(df, "devices", s.devices, pl.Int64),
        deadline_days=column_or(df, "deadline_days", s.deadline_days, pl.Float64),
    )
    df = df.with_columns(
        flops=f.training_flops(),
        device_hours=f.training_device_seconds() / 3600.0,
        min_devices=f.min_training_devices(),
    )
    df = df.with_columns(max_devices=f.max_training_devices())
    by_deadline = pl.col("_dev_given").is_null() & pl.col("deadline_days").is_not_null()
    df = df.with_columns(
        devices=pl.when(by_deadline)
        .then(f.devices_for_deadline())
        .otherwise(pl.coalesce(pl.col("_dev_given"), pl.col("min_devices")))
    )
    df = df.with_columns(
        wall_clock_days=pl.col("device_hours") / pl.col("devices") / 24.0,
        memory_per_device_gib=f.training_memory_per_device() / GIB,
        peak_tflops=pl.col("peak_flops") / 1e12,
        effective_mfu=f.effective_mfu(),
    )
    df = df.with_columns(
        fits=(
            pl.col("min_devices").is_not_null()
            & (pl.col("devices") >= pl.col("min_devices"))
            & pl.col("peak_flops").is_not_null()
        ).fill_null(False),
        deadline_met=pl.when(pl.col("deadline_days").is_null())
        .then(None)
        .otherwise(
            (pl.col("devices") <= pl.col("max_devices"))
            & (pl.col("wall_clock_days") <= pl.col("deadline_days") * (1 + 1e-9))
        ),
    )
    keep = [c for c in df.collect_schema().names() if c in given or c in TRAINING_COLUMNS]
    return df.select(keep).collect()
