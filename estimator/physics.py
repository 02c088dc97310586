"""Assemble workload inputs from the Catalog; estimates for one scenario or frames for sweeps.

`training_frame` / `serving_frame` are the vectorised entry points (the planner passes a frame of
candidate rows with an `accelerator` column). `training_estimate` / `serving_estimate` build a
one-row frame, call them, and turn the row into a pydantic model or a typed error.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import polars as pl
from pydantic import BaseModel, ConfigDict

from estimator import workload as w
from estimator.errors import InfeasibleError, ScenarioError
from estimator.models import ARCH_FIELDS, ModelSpec

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)
PRECISIONS = ("bf16", "fp16", "fp8", "int8")
TRAINING_PRECISIONS = ("bf16", "fp16", "fp8")
PEAK_COLUMN = {
    "bf16": "bf16_tflops",
    "fp16": "fp16_tflops",
    "fp8": "fp8_tflops",
    "int8": "int8_tops",
}
_BYTES_PER_PARAM = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0}
TRAIN_WORKLOADS = ("pretrain", "finetune")
# Default training sequence length when none is given (Llama 2, DeepSeek-V3 pretraining: 4K).
DEFAULT_SEQ_LEN = 4096
# Daily demand -> peak rate. Typical diurnal consumer traffic; DeepSeek's own fleet peaked at 278
# nodes vs 226.75 on average (1.23) only because it sheds load to training at night
# (open-infra-index 202502OpenSourceWeek day 6). Override per phase.
_GIB = float(2**30)

_MODEL_COLS = ("active_params", "total_params", *ARCH_FIELDS)


# --- results -------------------------------------------------------------------------------------


class TrainingEstimate(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    accelerator: str
    precision: str
    workload: str
    tokens: float
    seq_len: int
    flops: float
    devices: int
    min_devices: int
    max_devices: int
    device_hours: float
    wall_clock_days: float
    mfu: float
    goodput: float
    effective_mfu: float
    peak_tflops: float
    memory_per_device_gib: float
    hbm_gib: float
    fits: bool
    efficiency_row: str


class ServingEstimate(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    accelerator: str
    precision: str
    input_len: int
    output_len: int
    tensor_parallel: int
    batch: int
    tpot_ms: float
    ttft_ms: float
    prefill_tokens_per_s_per_device: float
    output_tokens_per_s_per_device: float
    devices_needed: int | None
    replicas: int | None
    peak_to_average: float
    kv_cache_gib_per_replica: float
    weights_gib: float
    decode_efficiency: float
    prefill_mfu: float
    efficiency_rows: str


# --- inputs --------------------------------------------------------------------------------------


def _check_precision(precision: str, training: bool) -> None:
    allowed = TRAINING_PRECISIONS if training else PRECISIONS
    if precision not in allowed:
        what = "training" if training else "serving"
        raise ScenarioError(
            f"precision '{precision}' is not supported for {what} (use {', '.join(allowed)})",
            "precision",
        )


def _with_device(catalog: Any, frame: Frame, precision: str) -> Frame:
    acc = catalog.table("accelerators").select(
        pl.col("id").alias("accelerator"),
        (pl.col(PEAK_COLUMN[precision]) * 1e12).alias("peak_flops"),
        (pl.col("bf16_tflops") * 1e12).alias("bf16_flops"),
        (pl.col("hbm_gib") * _GIB).alias("hbm_bytes"),
        (pl.col("hbm_tbps") * 1e12).alias("hbm_bw"),
        pl.col("hbm_gib"),
        pl.col("scaleup_size"),
    )
    if isinstance(frame, pl.LazyFrame):
        return frame.join(acc.lazy(), on="accelerator", how="left", maintain_order="left")
    return frame.join(acc, on="accelerator", how="left", maintain_order="left")


def _with_model(frame: Frame, model: ModelSpec) -> Frame:
    lits = model.literals()
    return frame.with_columns(
        [
            pl.lit(lits[c], dtype=pl.Float64 if c.endswith("params") else pl.Int64).alias(c)
            for c in _MODEL_COLS
        ]
    )


def efficiency_lookup(catalog: Any, frame: Frame, workload: str, arch: str, prefix: str) -> Frame:
    """Adds the efficiency defaults (see `_efficiency_tiers`) to `frame`. Resolved once per
    distinct accelerator and joined, so a sweep of millions of rows pays one join, not four."""
    selected = frame.select(pl.col("accelerator").unique())
    accs = selected.collect() if isinstance(selected, pl.LazyFrame) else selected
    resolved = _efficiency_tiers(catalog, accs, workload, arch, prefix)
    if isinstance(frame, pl.LazyFrame):
        return frame.join(
            resolved.lazy(), on="accelerator", how="left", nulls_equal=True, maintain_order="left"
        )
    return frame.join(
        resolved, on="accelerator", how="left", nulls_equal=True, maintain_order="left"
    )


def _efficiency_tiers(
    catalog: Any, frame: pl.DataFrame, workload: str, arch: str, prefix: str
) -> pl.DataFrame:
    """Adds `{prefix}mfu`, `{prefix}goodput`, `{prefix}mfu_low`, `{prefix}mfu_high` and
    `{prefix}row` from efficiency.csv, most specific first: (accelerator, arch),
    (accelerator, '*'), ('*', arch), ('*', '*'). A row's missing range means no uncertainty."""
    fields = ("mfu", "goodput", "mfu_low", "mfu_high", "row")
    eff = catalog.table("efficiency").filter(pl.col("workload") == workload)
    out = frame
    tiers: dict[str, list[str]] = {f: [] for f in fields}
    for i, (any_acc, arch_key) in enumerate(
        ((False, arch), (False, "*"), (True, arch), (True, "*"))
    ):
        rows = eff.filter(pl.col("arch") == arch_key)
        rows = rows.filter(pl.col("accelerator") == "*") if any_acc else rows
        label = pl.concat_str(
            pl.lit("efficiency.csv "), pl.col("accelerator"), pl.lit(f"/{workload}/{arch_key}")
        )
        part = rows.select(
            "accelerator",
            "mfu",
            "goodput",
            pl.col("mfu_low").fill_null(pl.col("mfu")),
            pl.col("mfu_high").fill_null(pl.col("mfu")),
            label.alias("row"),
        ).rename({f: f"_e{i}_{f}" for f in fields})
        if any_acc:
            part = part.drop("accelerator").head(1)
            out = (
                out.join(part, how="cross")
                if part.height
                else out.with_columns([pl.lit(None).alias(f"_e{i}_{f}") for f in fields])
            )
        else:
            out = out.join(part, on="accelerator", how="left")
        for f in fields:
            tiers[f].append(f"_e{i}_{f}")
    # The range goes with the row whose mfu was chosen, not an independent coalesce.
    chosen = pl.coalesce(
        [pl.when(pl.col(m).is_not_null()).then(pl.lit(k)) for k, m in enumerate(tiers["mfu"])]
    )
    picked = [
        pl.coalesce([pl.when(chosen == k).then(pl.col(c)) for k, c in enumerate(tiers[f])]).alias(
            f"{prefix}{f}"
        )
        for f in fields
    ]
    return out.with_columns(picked).drop([c for cols in tiers.values() for c in cols])


def _col_or(frame: pl.DataFrame | pl.LazyFrame, name: str, value: Any, dtype: Any) -> pl.Expr:
    """The frame's own column if present (null cells filled with `value`), else a literal."""
    lit = pl.lit(value, dtype=dtype)
    if name in frame.collect_schema().names():
        return pl.col(name).cast(dtype).fill_null(lit)
    return lit


# --- sizes of what moves between phases ---------------------------------------------------------


def _one_row(model: ModelSpec, expr: pl.Expr, **cols: float) -> float:
    df = _with_model(pl.DataFrame({k: [v] for k, v in cols.items()}), model)
    return float(df.select(expr.alias("x"))["x"][0])


def weight_bytes(model: ModelSpec, precision: str = "bf16") -> float:
    """Bytes of the model's weights at a precision (all experts)."""
    _check_precision(precision, training=False)
    return _one_row(model, w.weight_bytes(), bytes_per_param=_BYTES_PER_PARAM[precision])


def checkpoint_bytes(model: ModelSpec) -> float:
    """Bytes of a resumable training checkpoint (weights + fp32 master weights + Adam state)."""
    return _one_row(model, w.checkpoint_bytes(), x=0.0)


# --- training ------------------------------------------------------------------------------------

TRAINING_COLUMNS = (
    "flops",
    "min_devices",
    "max_devices",
    "devices",
    "device_hours",
    "wall_clock_days",
    "mfu",
    "goodput",
    "effective_mfu",
    "peak_tflops",
    "memory_per_device_gib",
    "hbm_gib",
    "fits",
    "deadline_met",
    "efficiency_row",
)


def training_frame(
    catalog: Any,
    model: ModelSpec,
    frame: pl.DataFrame,
    *,
    tokens: float,
    precision: str = "bf16",
    workload: str = "pretrain",
    mfu: float | None = None,
    goodput: float | None = None,
    seq_len: int | None = None,
    devices: int | None = None,
    deadline_days: float | None = None,
    overhead_bytes: float | None = None,
) -> pl.DataFrame:
    """`frame` with the training estimate columns (TRAINING_COLUMNS) added.

    Needs an `accelerator` column; per-row `devices` / `deadline_days` columns (or the scalar
    settings) fix the device count, else it is the minimum that fits. Rows whose accelerator lacks
    the precision get null peaks and `fits` false. Vectorised: no per-row Python.
    """
    _check_precision(precision, training=True)
    # The physics needs a few columns; a planner's candidate frame carries thirty. Work on the
    # narrow frame (joins copy every column) and attach the results in the same row order.
    inputs = [
        c
        for c in ("accelerator", "devices", "deadline_days", "mfu", "goodput", "tokens")
        if c in frame.columns
    ]
    if len(inputs) < len(frame.columns):
        core = training_frame(
            catalog,
            model,
            frame.select(inputs),
            tokens=tokens,
            precision=precision,
            workload=workload,
            mfu=mfu,
            goodput=goodput,
            seq_len=seq_len,
            devices=devices,
            deadline_days=deadline_days,
            overhead_bytes=overhead_bytes,
        )
        added = [c for c in core.columns if c != "accelerator"]
        return frame.drop([c for c in added if c in frame.columns]).hstack(core.select(added))
    temp = [
        c
        for c in (
            *_MODEL_COLS,
            "peak_flops",
            "bf16_flops",
            "hbm_bytes",
            "hbm_bw",
            "scaleup_size",
            "tokens",
            "seq_len",
            "overhead_bytes",
            "deadline_days",
            "_dev_given",
            "eff_mfu",
            "eff_goodput",
            "eff_row",
            "eff_mfu_low",
            "eff_mfu_high",
        )
        if c not in frame.columns
    ]
    # One lazy query: polars plans the steps together instead of materialising each one.
    df = _with_model(
        _with_device(
            catalog,
            frame.lazy().drop(
                [
                    c
                    for c in TRAINING_COLUMNS
                    if c in frame.columns and c not in ("devices", "mfu", "goodput")
                ]
            ),
            precision,
        ),
        model,
    )
    df = efficiency_lookup(catalog, df, workload, model.arch, "eff_")
    df = df.with_columns(
        tokens=_col_or(df, "tokens", float(tokens), pl.Float64),
        seq_len=pl.lit(float(seq_len or DEFAULT_SEQ_LEN)),
        # A frame's own mfu / goodput columns (sampling, sweeps) win over the scalar settings.
        mfu=_col_or(df, "mfu", mfu, pl.Float64).fill_null(pl.col("eff_mfu")),
        goodput=_col_or(df, "goodput", goodput, pl.Float64).fill_null(pl.col("eff_goodput")),
        efficiency_row=pl.lit("given") if mfu and goodput else pl.col("eff_row"),
        # The default's range (for sampling); a given mfu has none.
        mfu_low=pl.lit(mfu, pl.Float64).fill_null(pl.col("eff_mfu_low")),
        mfu_high=pl.lit(mfu, pl.Float64).fill_null(pl.col("eff_mfu_high")),
        overhead_bytes=pl.lit(
            catalog.default("nonmatmul_bytes_per_layer_hidden")
            if overhead_bytes is None
            else float(overhead_bytes)
        ),
        _dev_given=_col_or(df, "devices", devices, pl.Int64),
        deadline_days=_col_or(df, "deadline_days", deadline_days, pl.Float64),
    )
    df = df.with_columns(
        flops=w.training_flops(),
        device_hours=w.training_device_seconds() / 3600.0,
        min_devices=w.min_training_devices(),
    )
    df = df.with_columns(max_devices=w.max_training_devices())
    by_deadline = pl.col("_dev_given").is_null() & pl.col("deadline_days").is_not_null()
    df = df.with_columns(
        devices=pl.when(by_deadline)
        .then(w.devices_for_deadline())
        .otherwise(pl.coalesce(pl.col("_dev_given"), pl.col("min_devices")))
    )
    df = df.with_columns(
        wall_clock_days=pl.col("device_hours") / pl.col("devices") / 24.0,
        memory_per_device_gib=w.training_memory_per_device() / _GIB,
        peak_tflops=pl.col("peak_flops") / 1e12,
        effective_mfu=w.effective_mfu(),
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
    return df.drop(temp).collect()


def _require_positive(name: str, value: float | None) -> None:
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise ScenarioError(f"{name} must be a positive number, got {value}", name)


def _accelerator_row(
    catalog: Any, accelerator: str, precision: str, training: bool
) -> dict[str, Any]:
    _check_precision(precision, training)
    row: dict[str, Any] = catalog.accelerator(accelerator)
    if row.get(PEAK_COLUMN[precision]) is None:
        raise ScenarioError(f"{accelerator} has no {precision} support", "precision")
    return row


def training_estimate(
    catalog: Any,
    model: ModelSpec,
    accelerator: str,
    tokens: float,
    *,
    devices: int | None = None,
    deadline_days: float | None = None,
    precision: str = "bf16",
    mfu: float | None = None,
    goodput: float | None = None,
    seq_len: int | None = None,
    workload: str = "pretrain",
    check_fit: bool = True,
) -> TrainingEstimate:
    """One training phase. Exactly one of `devices` / `deadline_days`.

    Raises ScenarioError (bad values, a precision the device lacks, int8 training) and
    InfeasibleError (does not fit on the given devices; deadline out of reach). With
    `check_fit=False` a phase too small for the model is returned with `fits` false instead, so a
    quote can report it as a finding and still show the time and money asked for."""
    _accelerator_row(catalog, accelerator, precision, training=True)
    if (devices is None) == (deadline_days is None):
        raise ScenarioError("give exactly one of devices or deadline_days", "devices")
    if workload not in TRAIN_WORKLOADS:
        raise ScenarioError(f"workload must be one of {', '.join(TRAIN_WORKLOADS)}", "workload")
    for name, value in (
        ("tokens", tokens),
        ("devices", devices),
        ("deadline_days", deadline_days),
        ("seq_len", seq_len),
    ):
        _require_positive(name, value)
    for name, value in (("mfu", mfu), ("goodput", goodput)):
        if value is not None and not 0 < value <= 1:
            raise ScenarioError(f"{name} must be in (0, 1], got {value}", name)
    if devices is not None and int(devices) != devices:
        raise ScenarioError(f"devices must be a whole number, got {devices}", "devices")
    row = training_frame(
        catalog,
        model,
        pl.DataFrame({"accelerator": [accelerator]}),
        tokens=tokens,
        precision=precision,
        workload=workload,
        mfu=mfu,
        goodput=goodput,
        seq_len=seq_len,
        devices=devices,
        deadline_days=deadline_days,
    ).row(0, named=True)
    if row["mfu"] is None or row["goodput"] is None:
        raise ScenarioError(f"no efficiency row for {accelerator}/{workload}; give mfu and goodput")
    if row["min_devices"] is None:
        raise InfeasibleError(
            f"{model.id} cannot be trained on {accelerator}: one sequence's activations "
            f"(seq_len {seq_len or DEFAULT_SEQ_LEN}) exceed "
            "a scale-up group's memory"
        )
    if not row["fits"] and check_fit:
        raise InfeasibleError(
            f"{model.id} does not fit on {row['devices']} x {accelerator}: needs "
            f"{row['memory_per_device_gib']:.1f} GiB per device of {row['hbm_gib']:g} "
            f"(at least {row['min_devices']} devices)",
            "devices",
        )
    if row["deadline_met"] is False:
        raise InfeasibleError(
            f"deadline of {deadline_days:g} days needs {row['devices']} x {accelerator}, more than "
            f"the {row['max_devices']} usable at once (global batch limit)",
            "deadline_days",
        )
    return TrainingEstimate(
        model=model.id,
        accelerator=accelerator,
        precision=precision,
        workload=workload,
        tokens=float(tokens),
        seq_len=int(seq_len or DEFAULT_SEQ_LEN),
        **{k: row[k] for k in TRAINING_COLUMNS if k != "deadline_met"},
    )


# --- serving -------------------------------------------------------------------------------------

SERVING_COLUMNS = (
    "tensor_parallel",
    "batch",
    "tpot_ms",
    "ttft_ms",
    "prefill_tokens_per_s_per_device",
    "output_tokens_per_s_per_device",
    "replicas",
    "devices_needed",
    "kv_cache_gib_per_replica",
    "weights_gib",
    "decode_efficiency",
    "prefill_mfu",
    "fits",
    "meets_tpot",
    "meets_ttft",
    "efficiency_rows",
)


def _serving_at(
    catalog: Any,
    model: ModelSpec,
    frame: pl.DataFrame,
    *,
    input_len: int,
    output_len: int,
    precision: str = "bf16",
    tpot_ms: float | None = None,
    ttft_ms: float | None = None,
    devices: int | None = None,
    input_tokens_per_day: float | None = None,
    output_tokens_per_day: float | None = None,
    peak_to_average: float | None = None,
    decode_efficiency: float | None = None,
    prefill_mfu: float | None = None,
) -> pl.DataFrame:
    """`frame` (with an `accelerator` column, optional `devices` = devices per replica) with the
    serving columns (SERVING_COLUMNS) added. Vectorised; batch from a fixed bisection."""
    _check_precision(precision, training=False)
    bpp = _BYTES_PER_PARAM[precision]
    keep = set(frame.columns)
    df = _with_model(
        _with_device(
            catalog,
            frame.drop(
                [c for c in SERVING_COLUMNS if c in frame.columns and c != "decode_efficiency"]
            ),
            precision,
        ),
        model,
    )
    df = efficiency_lookup(catalog, df, "decode", model.arch, "dec_")
    df = efficiency_lookup(catalog, df, "prefill", model.arch, "pre_")
    df = df.with_columns(
        input_len=pl.lit(float(input_len)),
        output_len=pl.lit(float(output_len)),
        bytes_per_param=pl.lit(bpp),
        kv_bytes=pl.lit(bpp),
        tpot_s=pl.lit(None if tpot_ms is None else tpot_ms / 1000.0, pl.Float64),
        devices=_col_or(df, "devices", devices, pl.Int64),
        dec_eff=_col_or(df, "decode_efficiency", decode_efficiency, pl.Float64).fill_null(
            pl.col("dec_mfu")
        ),
        pre_mfu=pl.lit(prefill_mfu, pl.Float64).fill_null(pl.col("pre_mfu")),
        serve_goodput=pl.col("dec_goodput"),
        peak_to_average=pl.lit(float(peak_to_average or catalog.default("peak_to_average"))),
        collective_latency_s=pl.lit(catalog.default("collective_stage_latency_s")),
        input_tokens_per_day=_col_or(df, "input_tokens_per_day", input_tokens_per_day, pl.Float64),
        output_tokens_per_day=_col_or(
            df, "output_tokens_per_day", output_tokens_per_day, pl.Float64
        ),
    )
    df = df.with_columns(tp=w.serving_tp())
    df = df.with_columns(kv_cap=w.kv_batch_cap())
    df = w.solve_batch(df)
    step = w.decode_step_seconds(pl.col("batch"))
    df = df.with_columns(
        tensor_parallel=pl.col("tp"),
        tpot_ms=pl.when(pl.col("batch") > 0).then(step * 1000.0),
        ttft_ms=w.prefill_seconds_per_token() * pl.col("input_len") / pl.col("tp") * 1000.0,
        prefill_tokens_per_s_per_device=1.0 / w.prefill_seconds_per_token(),
        output_tokens_per_s_per_device=pl.when(pl.col("batch") > 0).then(
            pl.col("batch") / (step * pl.col("tp"))
        ),
        kv_cache_gib_per_replica=pl.col("batch")
        * (pl.col("input_len") + pl.col("output_len"))
        * w.kv_bytes_per_token()
        / _GIB,
        weights_gib=w.weight_bytes() / _GIB,
        decode_efficiency=pl.col("dec_eff"),
        decode_efficiency_low=pl.lit(decode_efficiency, pl.Float64).fill_null(
            pl.col("dec_mfu_low")
        ),
        decode_efficiency_high=pl.lit(decode_efficiency, pl.Float64).fill_null(
            pl.col("dec_mfu_high")
        ),
        prefill_mfu=pl.col("pre_mfu"),
        efficiency_rows=pl.concat_str(pl.col("dec_row"), pl.lit("; "), pl.col("pre_row")),
    )
    auto_tp = pl.col("devices").is_null()
    df = df.with_columns(
        fits=(
            (pl.col("kv_cap") >= 1)
            & (~auto_tp | (pl.col("tp") <= pl.col("scaleup_size")))
            & pl.col("peak_flops").is_not_null()
        ).fill_null(False),
        meets_tpot=pl.col("batch") > 0,
        meets_ttft=pl.lit(ttft_ms is None)
        | (pl.col("ttft_ms") <= (ttft_ms if ttft_ms is not None else 0.0)),
        replicas=w.replicas_for_demand(),
    )
    df = df.with_columns(devices_needed=pl.col("replicas") * pl.col("tp"))
    extra = ("peak_to_average", "decode_efficiency_low", "decode_efficiency_high")
    out = [c for c in df.columns if c in keep or c in SERVING_COLUMNS or c in extra]
    return df.select(out)


def serving_frame(
    catalog: Any,
    model: ModelSpec,
    frame: pl.DataFrame,
    *,
    devices: int | None = None,
    **settings: Any,
) -> pl.DataFrame:
    """`frame` (with an `accelerator` column, optional `devices` = devices per replica) with the
    serving columns (SERVING_COLUMNS) added. Vectorised; batch from a fixed bisection.

    Without a replica size, every power of two from the smallest that holds the weights up to
    the scale-up domain (dense) or defaults.csv max_moe_replica_devices (MoE) is tried, and
    each row keeps the size with the most output tokens/s per device that meets the latency
    targets: bigger replicas leave more memory for KV cache, hence bigger batches, until
    collective latency eats the gain."""
    if devices is not None or "devices" in frame.columns:
        return _serving_at(catalog, model, frame, devices=devices, **settings)
    sizes = [2**k for k in range(0, 11)]
    rid = "_row"
    tried = frame.with_row_index(rid).join(
        pl.DataFrame({"devices": sizes}, schema={"devices": pl.Int64}), how="cross"
    )
    out = _serving_at(catalog, model, tried, **settings)
    # MoE replicas may span nodes (expert parallelism, as DeepSeek and CloudMatrix deploy);
    # dense tensor parallelism stays inside the scale-up domain.
    moe_cap = catalog.default("max_moe_replica_devices")
    cap = pl.lit(moe_cap) if model.arch == "moe" else pl.col("scaleup_size")
    acc = catalog.table("accelerators").select(pl.col("id").alias("accelerator"), "scaleup_size")
    out = out.join(acc, on="accelerator", how="left").with_columns(
        # The smallest replica that holds the weights and one request.
        pl.col("devices").filter(pl.col("fits")).min().over(rid).alias("_min_tp"),
        (pl.col("devices") <= cap).alias("_within"),
    )
    ok = pl.col("fits") & pl.col("_within") & pl.col("meets_tpot") & pl.col("meets_ttft")
    # Per row: the best replica size that meets every target; failing that, the smallest that
    # holds the model (its flags say what fails); failing that, the largest tried.
    rank = (
        pl.when(ok)
        .then(0)
        .when(pl.col("devices") == pl.col("_min_tp"))
        .then(1)
        .when(pl.col("_min_tp").is_null() & (pl.col("devices") == max(sizes)))
        .then(2)
        .otherwise(3)
    )
    best = (
        out.with_columns(rank.alias("_rank"))
        .filter(pl.col("_rank") < 3)
        .sort(
            [rid, "_rank", "output_tokens_per_s_per_device", "devices"],
            descending=[False, False, True, False],
            nulls_last=True,
        )
        .unique(subset=[rid], keep="first", maintain_order=True)
        # A replica past the scale-up domain (dense) or past max_moe_replica_devices does not fit.
        .with_columns(pl.col("fits") & pl.col("_within"))
    )
    return best.sort(rid).drop(rid, "devices", "scaleup_size", "_min_tp", "_within", "_rank")


def serving_estimate(
    catalog: Any,
    model: ModelSpec,
    accelerator: str,
    *,
    precision: str = "bf16",
    input_len: int,
    output_len: int,
    tpot_ms: float | None = None,
    ttft_ms: float | None = None,
    devices: int | None = None,
    input_tokens_per_day: float | None = None,
    output_tokens_per_day: float | None = None,
    peak_to_average: float | None = None,
    decode_efficiency: float | None = None,
    prefill_mfu: float | None = None,
) -> ServingEstimate:
    """One serving phase; `devices` = devices per replica (default: smallest power of two that
    holds the weights, within the scale-up domain). Raises ScenarioError / InfeasibleError."""
    _accelerator_row(catalog, accelerator, precision, training=False)
    for name, value in (
        ("input_len", input_len),
        ("output_len", output_len),
        ("tpot_ms", tpot_ms),
        ("ttft_ms", ttft_ms),
        ("devices", devices),
        ("peak_to_average", peak_to_average),
    ):
        _require_positive(name, value)
    for name, value in (
        ("input_tokens_per_day", input_tokens_per_day),
        ("output_tokens_per_day", output_tokens_per_day),
    ):
        if value is not None and not (value >= 0 and math.isfinite(value)):
            raise ScenarioError(f"{name} must be >= 0, got {value}", name)
    if peak_to_average is None:
        peak_to_average = catalog.default("peak_to_average")
    if peak_to_average < 1:
        raise ScenarioError(
            f"peak_to_average must be >= 1, got {peak_to_average}", "peak_to_average"
        )
    row = serving_frame(
        catalog,
        model,
        pl.DataFrame({"accelerator": [accelerator]}),
        input_len=input_len,
        output_len=output_len,
        precision=precision,
        tpot_ms=tpot_ms,
        ttft_ms=ttft_ms,
        devices=devices,
        input_tokens_per_day=input_tokens_per_day,
        output_tokens_per_day=output_tokens_per_day,
        peak_to_average=peak_to_average,
        decode_efficiency=decode_efficiency,
        prefill_mfu=prefill_mfu,
    ).row(0, named=True)
    if not row["fits"]:
        raise InfeasibleError(
            f"{model.id} ({row['weights_gib']:.0f} GiB of {precision} weights plus one request's "
            f"KV cache) does not fit on {row['tensor_parallel']} x {accelerator}"
            + ("" if devices else " within one scale-up domain; give devices to span more"),
            "devices",
        )
    if not row["meets_tpot"]:
        raise InfeasibleError(
            f"no batch meets TPOT {tpot_ms:g} ms on {row['tensor_parallel']} x {accelerator}: "
            "a single sequence's decode step is already slower",
            "tpot_ms",
        )
    if not row["meets_ttft"]:
        raise InfeasibleError(
            f"TTFT {row['ttft_ms']:.0f} ms for {input_len} input tokens exceeds the "
            f"{ttft_ms:g} ms target on {row['tensor_parallel']} x {accelerator}",
            "ttft_ms",
        )
    return ServingEstimate(
        model=model.id,
        accelerator=accelerator,
        precision=precision,
        input_len=input_len,
        output_len=output_len,
        peak_to_average=peak_to_average,
        **{k: row[k] for k in SERVING_COLUMNS if k not in ("fits", "meets_tpot", "meets_ttft")},
    )
