"""Training physics over a frame: device-hours, devices, days, memory and the parallel layout.

One call prices one row (a quote) or many (a sweep, a sample): every figure is a polars
expression from `estimator.physics.trainstep`, so no per-row Python runs. Each row tries the
parallel layouts a Megatron-style run would (tensor parallel within the scale-up domain,
selective or full recomputation, expert parallel for MoE, the fewest pipeline stages that fit,
context parallel for long sequences) and keeps the fastest that fits in memory; a layout given
in the settings is used as is.

Layouts are whole: data parallelism is an integer number of replicas of the tp x pp x cp model,
each with at least one sequence of the global batch per step (no more replicas than the batch
has sequences). A device count the user fixes is billed as given, and what no whole replica, or
no replica the batch feeds, can use is reported as `idle_devices` (its hours are billed and
count in the device-hours); a count the tool sizes (for a deadline, or the minimum that holds
the model) is rounded up to whole replicas and capped at those the batch feeds, so no device it
bills sits idle.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import polars as pl

from estimator.bounds import DEFAULT_SEQ_LEN
from estimator.errors import ScenarioError
from estimator.physics import trainstep as f
from estimator.physics.formulas import (
    WHOLE,
    Terms,
    routed_params,
    routed_tokens_factor,
    with_terms,
)
from estimator.physics.inputs import (
    GIB,
    collect,
    column_or,
    known_accelerators,
    whole_instances,
    with_defaults,
    with_device,
    with_efficiency,
    with_model,
)
from estimator.physics.model import ModelSpec
from pricing import Catalog
from pricing.schema import DEFAULT_PRECISION

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
    "tensor_parallel",
    "pipeline_parallel",
    "data_parallel",
    "idle_devices",
    "expert_parallel",
    "virtual_stages",
    "recompute",
    "bubble_fraction",
    "communication_share",
    "layout",
)
# Catalog constants the step time reads: column -> defaults.csv name.
TRAIN_DEFAULTS = {
    "gemm_half_dim": "gemm_half_efficiency_dim",
    "attention_ratio": "attention_efficiency_ratio",
    "nonmatmul_bytes": "nonmatmul_bytes_per_layer_hidden",
    "moe_bytes": "moe_bytes_per_layer_hidden_expert",
    "tp_comm_exposed": "tp_comm_exposed",
    "dp_comm_exposed": "dp_comm_exposed",
    "ep_comm_exposed": "ep_comm_exposed",
    "usable_hbm_fraction": "usable_hbm_fraction",
    "max_global_batch_tokens": "max_global_batch_tokens",
    "layers_per_virtual_stage": "layers_per_virtual_stage",
}
TP_SIZES = (1, 2, 4, 8, 16, 32, 64)
PP_SIZES = (1, 2, 4, 8, 16, 32, 64, 128)
EP_SIZES = (1, 8, 16, 32, 64)
# Context parallelism splits each sequence over cp ranks (powers of two, as Megatron-Core and
# Llama 3 use it). It is searched only where every rank keeps at least CP_MIN_TOKENS of the
# sequence: Llama 3 405B ran 131,072-token sequences on CP16, 8,192 per rank (arXiv 2407.21783
# s3.3.2, Table 4), so runs at up to 8K tokens keep CP1 and a 128K run may use up to CP16.
CP_SIZES = (1, 2, 4, 8, 16, 32)
CP_MIN_TOKENS = 8192
_LAYOUT = ("tp", "pp", "ep", "cp", "dp", "vp", "m", "rfull")
# Recomputation a phase may fix: none and selective keep every layer's activations (with
# FlashAttention they cost the same here), full recomputes every layer; unset, the tool
# recomputes the fewest layers that fit.
MOE_DISPATCHERS = ("alltoall", "flex")
RECOMPUTE_SHARE = {"none": 0.0, "selective": 0.0, "full": 1.0}


@dataclass(frozen=True)
class TrainSettings:
    """What a training phase asks of the physics. `devices` fixes the device count; else
    `deadline_days` sizes it; else it is the minimum that holds the model. `tp`, `pp`, `ep`,
    `cp`, `vp`, `recompute` and `global_batch_tokens` fix the layout; unset, the tool picks it
    (context parallelism only for sequences of 2 x CP_MIN_TOKENS and more)."""

    tokens: float
    precision: str = DEFAULT_PRECISION
    workload: str = "pretrain"
    mfu: float | None = None
    goodput: float | None = None
    seq_len: int | None = None
    devices: int | None = None
    deadline_days: float | None = None
    tp: int | None = None
    pp: int | None = None
    ep: int | None = None
    vp: int | None = None
    recompute: str | None = None
    global_batch_tokens: float | None = None
    # Benchmark conditions the calibration passes through: sequences per micro-batch and
    # context-parallel ranks (each splits a sequence; they count toward the data-parallel
    # gradient group, and their K/V traffic is `trainstep.context_parallel_seconds`).
    micro_batch: int = 1
    cp: int | None = None
    # Megatron-Core's MoE token dispatcher: "alltoall" (the condition `moe_bytes` was fitted
    # on, and the default) or "flex" (DeepEP / HybridEP), whose routing costs
    # `moe_bytes_per_layer_hidden_expert_flex` per routed copy instead.
    moe_dispatcher: str = "alltoall"


def training_frame(
    catalog: Catalog, model: ModelSpec, frame: pl.DataFrame, s: TrainSettings
) -> pl.DataFrame:
    """`frame` (an `accelerator` column; optional per-row `devices`, `deadline_days`, `mfu`,
    `goodput`, `tokens`) with TRAINING_COLUMNS added but for `recompute` and `layout`, the
    text `described(frame)` adds (made only for rows shown: over a sweep's rows it costs more
    than its money). Rows whose accelerator lacks the precision get null peaks and `fits`
    false. An accelerator the catalog lacks is an UnknownIdError, a precision it has no
    column for a ScenarioError."""
    known_accelerators(catalog, frame)
    given = set(frame.columns)
    df = collect(_inputs(catalog, model, frame.with_row_index("_row"), s))
    by_deadline = pl.col("_dev_given").is_null() & pl.col("deadline_days").is_not_null()
    # The layout depends on the device count and the count on the hours: a first guess from
    # the model FLOPs at half the GEMM efficiency, two rounds to settle the count, and, only
    # where the deadline is still missed by a hair, one that adds devices.
    guess = pl.col("flops") / (pl.col("peak_flops") * pl.col("mfu") * 0.5 * pl.col("goodput"))
    df = df.with_columns(device_hours=guess * (1.0 / 3600.0))
    start = pl.when(by_deadline).then(f.devices_for_deadline()).otherwise("min_devices")
    searched = pl.DataFrame(schema=_SEARCHED_SCHEMA)
    df, searched = _sized(df, pl.coalesce("_dev_given", start), s, searched)
    if df.select(by_deadline.any()).item():
        again = pl.when(by_deadline).then(f.devices_for_deadline()).otherwise("devices")
        for _ in range(2):
            df, searched = _sized(df, again, s, searched)
    # The count settled, its physics is the one a phase fixing that count gets: the same
    # search, the same choice (rev13a #3: 9,216 devices took 117.4 days sized by a deadline
    # and 116.3 given). Where that misses the deadline by a hair, one round adds devices.
    df, searched = _settled(df, s, searched)
    if df.select(by_deadline.any()).item():
        late = by_deadline & (
            pl.col("device_hours") / pl.col("devices") * (1.0 / 24.0) > pl.col("deadline_days")
        )
        if df.select(late.any()).item():
            # Only the late rows (rev13d #2: the whole frame was searched twice more).
            more = pl.max_horizontal(f.devices_for_deadline(), pl.col("devices"))
            rows = df.filter(late)
            fixed, searched = _sized(rows, more, s, searched)
            fixed, searched = _settled(fixed, s, searched)
            rest = df.join(fixed.select("_row"), on="_row", how="anti", maintain_order="left")
            df = pl.concat([rest, fixed.select(df.columns)]).sort("_row")
        df = _fewest(df, by_deadline, s, searched)
        df = _within_fleet(df, by_deadline, s, searched)
    out = df.lazy().with_columns(
        wall_clock_days=pl.col("device_hours") / pl.col("devices") * (1.0 / 24.0),
        memory_per_device_gib=pl.col("_memory") / GIB,
        peak_tflops=pl.col("peak_flops") * (1.0 / 1e12),
        effective_mfu=f.effective_mfu(),
        tensor_parallel=pl.col("tp"),
        pipeline_parallel=pl.col("pp"),
        data_parallel=pl.col("dp").cast(pl.Int64),
        idle_devices=pl.col("_idle").cast(pl.Int64),
        expert_parallel=pl.col("ep"),
        virtual_stages=pl.col("vp").cast(pl.Int64),
        recompute_share=pl.col("rfull"),
        context_parallel=pl.col("cp").cast(pl.Int64),
        batch_replicas=pl.col("batch_replicas").cast(pl.Int64),
        bubble_fraction=pl.col("_bubble"),
        stage_layers=f.stage_layers().cast(pl.Int64),
        stage_layers_min=f.stage_layers_min().cast(pl.Int64),
        communication_share=pl.col("_comm") / pl.col("_t"),
        # The chosen layout's own memory decides: `min_devices` spreads the state over every
        # device as one model-parallel group, which no searched layout (TP within the scale-up
        # domain, PP up to the layers) may reach, so a count above it can still not fit.
        # Nor does a precision the device lacks (rev12b #11: fits=true with a null peak; the
        # quote's block for it is `precision-unsupported`, memory's only where it has one).
        fits=(
            pl.col("min_devices").is_not_null()
            & (pl.col("devices") >= pl.col("min_devices"))
            & pl.col("_fits")
            & pl.col("peak_flops").is_not_null()
        ).fill_null(False),
    )
    # A model no layout holds is not timed (rev14a #3: "takes 98 days" on 8,704 devices of a
    # layout that does not fit, and no `max_devices` to compare with): memory says why.
    out = out.with_columns(
        deadline_met=pl.when(pl.col("deadline_days").is_null() | ~pl.col("fits"))
        .then(None)
        .otherwise(
            (pl.col("devices") <= pl.col("max_devices"))
            & (pl.col("wall_clock_days") <= pl.col("deadline_days") * (1 + 1e-9))
        ),
    )
    kept = (*TRAINING_COLUMNS, *_LAYOUT_NUMBERS)
    # The rows are sized in their input order (`_sized`): sorted again only if they are not.
    if not df["_row"].is_sorted():
        out = out.sort("_row")
    # The columns kept are taken from the result: the plan's schema costs a resolution of it.
    done = collect(out)
    return done[[c for c in done.columns if c in given or c in kept]]


# What a training layout is, as numbers: two rows with equal values have the same `layout` text
# (with the device count and the global batch, which a cost curve's rows share).
LAYOUT_STEPS = ("tensor_parallel", "pipeline_parallel", "virtual_stages", "data_parallel",
                "expert_parallel", "idle_devices", "recompute_share")  # fmt: skip

# The numbers `described` writes the layout from, kept beside TRAINING_COLUMNS. The text itself
# is only made for rows that are shown: strings copied through a sweep's joins cost more than
# all of its money (1.2 s of 5 s over 3M candidates).
_LAYOUT_NUMBERS = ("recompute_share", "context_parallel", "global_batch_tokens", "batch_replicas",
                   "step_batch_tokens", "stage_layers", "stage_layers_min")  # fmt: skip


def described(frame: pl.DataFrame) -> pl.DataFrame:
    """A training physics frame (`training_frame`'s rows, evaluated or not) with its text
    columns: `recompute` ('selective', 'full', 'full on N% of layers') and `layout`
    ('TP8 PP16 (x4 interleaved) CP1 DP128 EP1, selective recompute, ...')."""
    return frame.with_columns(recompute=_recompute_text(), layout=_layout_text())


def _recompute_text() -> pl.Expr:
    rfull = pl.col("recompute_share")
    share = (rfull * 100).round(0).cast(pl.Int64)
    return (
        pl.when(rfull <= 0)
        .then(pl.lit("selective"))
        .when(rfull >= 1)
        .then(pl.lit("full"))
        .otherwise(pl.format("full on {}% of layers", share))
    )


def _layout_text() -> pl.Expr:
    """'TP8 PP16 (x4 interleaved) DP128 EP1, selective recompute, ...' for the assumptions."""
    # Stages hold whole layers: an uneven split says so (rev13a #9: "TP4 PP3 (x13 interleaved)"
    # for 80 layers read as 80/39 layers a stage).
    uneven = pl.col("stage_layers_min") < pl.col("stage_layers")
    stages = (
        pl.when(uneven)
        .then(pl.format(", {}-{} layers a stage", "stage_layers_min", "stage_layers"))
        .otherwise(pl.lit(""))
    )
    text = pl.format(
        "TP{} PP{} (x{} interleaved{}) CP{} DP{} EP{}, {} recompute, micro-batches of 1 sequence, "
        "global batch {} tokens",
        pl.col("tensor_parallel"),
        pl.col("pipeline_parallel"),
        pl.col("virtual_stages"),
        stages,
        pl.col("context_parallel"),
        pl.col("data_parallel"),
        pl.col("expert_parallel"),
        _recompute_text(),
        _batch_text(),
    )
    idle = pl.format(
        "; {} of the {} devices idle (no whole replica fits them; their hours are billed)",
        pl.col("idle_devices"),
        pl.col("devices"),
    )
    starved = pl.format(
        "; {} of the {} devices idle (the global batch gives {} replicas a sequence each, no "
        "more; their hours are billed)",
        pl.col("idle_devices"),
        pl.col("devices"),
        pl.col("batch_replicas"),
    )
    return (
        pl.when(pl.col("idle_devices") <= 0)
        .then(text)
        .when(batch_bound())
        .then(pl.concat_str(text, starved))
        .otherwise(pl.concat_str(text, idle))
    )


def _batch_text() -> pl.Expr:
    """'16.8M' (decimal millions, as every other figure: rev12a #10, 16e6 read "15.3M"), or the
    whole count under 0.1M ('4096', not '0.0M')."""
    tokens = pl.col("step_batch_tokens")
    return (
        pl.when(tokens < 1e5)
        .then(tokens.round(0).cast(pl.Int64).cast(pl.String))
        .otherwise(pl.format("{}M", (tokens / 1e6).round(1)))
    )


def batch_bound() -> pl.Expr:
    """Rows whose data parallelism the global batch limits: every replica it feeds is used (a
    replica needs a sequence per step), so devices beyond them idle for want of data."""
    return (pl.col("data_parallel") >= pl.col("batch_replicas")).fill_null(False)


def _inputs(
    catalog: Catalog, model: ModelSpec, frame: pl.DataFrame, s: TrainSettings
) -> pl.LazyFrame:
    """The frame with the model, device, efficiency and settings columns the formulas read."""
    df = with_model(with_device(catalog, frame.lazy(), s.precision), model)
    # The scale-up domain a layout may use is at most one instance (`scaleup_cap`, an option's
    # devices per instance): pods of one GPU each have no NVLink between them, so their tensor
    # parallelism and gradient traffic go over the network.
    cap = column_or(frame, "scaleup_cap", None, pl.Int64)
    df = df.with_columns(scaleup_size=pl.min_horizontal(pl.col("scaleup_size"), cap))
    # The network between instances is the instance's where its offer states it
    # (`scaleout_cap`, bytes/s each way per device), else the accelerator's.
    net = column_or(frame, "scaleout_cap", None, pl.Float64)
    df = df.with_columns(scaleout_bw=pl.coalesce(net, pl.col("scaleout_bw")))
    df = with_efficiency(catalog, df, frame["accelerator"], s.workload, model.arch, "eff_")
    df = with_defaults(catalog, df, TRAIN_DEFAULTS)
    if s.moe_dispatcher not in MOE_DISPATCHERS:
        known = ", ".join(MOE_DISPATCHERS)
        raise ScenarioError(f"'{s.moe_dispatcher}' is not a MoE dispatcher ({known})")
    if s.moe_dispatcher == "flex":
        # The flex dispatcher (DeepEP, HybridEP) writes dispatched tokens straight into the
        # experts' layout and combines them in the communication kernel: fewer passes and host
        # syncs per routed copy than the all-to-all dispatcher's permute, sort and unpermute.
        flex = catalog.default("moe_bytes_per_layer_hidden_expert_flex")
        df = df.with_columns(moe_bytes=pl.lit(flex))
    fp8 = catalog.default("fp8_gemm_ratio") if s.precision == "fp8" else 1.0
    batch = s.global_batch_tokens or catalog.default("default_global_batch_tokens")
    # A step trains whole sequences (Megatron's global batch is a count of them): a batch the
    # phase gives is taken as the nearest whole number of them, at least one (rev13a #9: 5,000
    # tokens fed one replica as if one 4,096-token sequence, yet its step ran two).
    seq = float(s.seq_len or DEFAULT_SEQ_LEN)
    batch = max(1.0, round(float(batch) / seq)) * seq
    df = df.with_columns(
        tokens=column_or(frame, "tokens", float(s.tokens), pl.Float64),
        seq_len=pl.lit(seq),
        # A frame's own mfu / goodput columns (sampling, sweeps) win over the settings. Per-row
        # inputs are the caller's columns: `frame`'s schema (free) says which it has.
        mfu=column_or(frame, "mfu", s.mfu, pl.Float64).fill_null(pl.col("eff_mfu")),
        # The MFU the layout is searched at: the settings' or the catalog's, never a row's own
        # (a sampled one), so a layout does not depend on which samples share a search bucket.
        _search_mfu=pl.lit(s.mfu, pl.Float64).fill_null(pl.col("eff_mfu")),
        goodput=column_or(frame, "goodput", s.goodput, pl.Float64).fill_null(pl.col("eff_goodput")),
        efficiency_row=pl.lit("given") if s.mfu and s.goodput else pl.col("eff_row"),
        # The default's range (for sampling); a given mfu has none.
        mfu_low=pl.lit(s.mfu, pl.Float64).fill_null(pl.col("eff_mfu_low")),
        mfu_high=pl.lit(s.mfu, pl.Float64).fill_null(pl.col("eff_mfu_high")),
        precision_ratio=pl.lit(fp8),
        global_batch_tokens=pl.lit(float(batch)),
        _dev_given=column_or(frame, "devices", s.devices, pl.Int64),
        deadline_days=column_or(frame, "deadline_days", s.deadline_days, pl.Float64),
    )
    df, _ = with_terms(
        df, WHOLE, *_INPUT_TERMS, flops=f.training_flops(), min_devices=f.min_training_devices()
    )
    return df.with_columns(max_devices=f.max_training_devices())


# Terms of the step time that depend on the model and the settings alone: worked out once per
# frame (`_inputs`) and read by every layout evaluation after (`_evaluate`).
_INPUT_TERMS = (routed_params, routed_tokens_factor, f.attention_flops_per_trained_token)
_INPUTS: Terms = frozenset(t.column for t in _INPUT_TERMS)


# Layouts kept per search bucket (the fastest of each replica granularity): each row then takes
# the one that bills it least at its own count (a count that is not a multiple of the fastest
# layout's granularity may leave fewer devices idle under another).
LAYOUTS_KEPT = 4


# What `_evaluate` adds to a layout, dropped before a row is evaluated again.
_SIZED_TERMS = ("_t", "_memory", "_comm", "_bubble", "_fits", "_idle", "dp", "m", "m_busiest",
                "rfull", "vp", "batch_replicas", "step_batch_tokens")  # fmt: skip


# The layouts searched so far in a training_frame, per (accelerator, scale-up domain, network,
# _bucket): the sizing rounds of a deadline mostly land in the same bucket, whose search then
# runs once. The domain is part of it: one-GPU pods and 8-GPU servers of one accelerator differ;
# so is the network between instances: a plan's A100 offers at 12.5, 50 and 400 Gbit/s a GPU
# shared the layouts searched for the first of them, so a runner-up's days differed from a
# quote of it (9,728 A100-40g in us-east: 113.4 days in the plan, 110.2 quoted; rev13a #3).
_SEARCH_KEY = ["accelerator", "scaleup_size", "scaleout_bw", "_bucket"]
_SEARCHED_SCHEMA = {"accelerator": pl.String, "scaleup_size": pl.Int64, "scaleout_bw": pl.Float64,
                    "_bucket": pl.Int64, "tp": pl.Int64, "pp": pl.Int64, "ep": pl.Int64,
                    "cp": pl.Int64}  # fmt: skip


def _searched(rows: pl.DataFrame, s: TrainSettings, searched: pl.DataFrame) -> pl.DataFrame:
    """`searched` with the best layouts of the `_SEARCH_KEY`s of `rows` it lacks.
    A key is searched at its bucket's count, 1.5 and 2 times it, at the un-sampled MFU: its
    layouts depend on nothing else a row carries, and a row in the bucket takes the fastest of
    them at its own count. One count alone missed layouts that win inside the
    bucket: fewer micro-batches per replica at more devices favour fewer pipeline stages (at
    3,072 H100 the fastest, TP2 PP4 EP8, lost at 2,048 to TP1 PP8 EP8 of the same replica size,
    and the row got TP4 PP8 EP1, 1% slower; rev13a #3); more devices also shrink the optimizer
    shard, so layouts that do not fit at the bucket's count may fit at the row's."""
    # The first row of each key, found on the key columns alone and then taken whole (made
    # distinct on all ~60 columns, a sweep's 420k rows cost 0.03-0.04 s CPU, now ~0.01).
    first = (
        rows.select(_SEARCH_KEY)
        .with_row_index("_first")
        .unique(subset=_SEARCH_KEY, keep="first", maintain_order=True)["_first"]
    )
    new = rows[first].join(
        searched, on=_SEARCH_KEY, how="anti", nulls_equal=True, maintain_order="left"
    )
    if new.height == 0:
        return searched
    kept = _SEARCHES
    if kept is None:
        return pl.concat([searched, _search(new, s)])
    # Keys searched in an earlier solve with the very same inputs (`searches_shared`) are
    # taken as they were found; only the others are searched.
    names = [name for name in new.columns if name not in _NOT_SEARCHED]
    inputs = [(s, tuple(names), row) for row in new.select(names).iter_rows()]
    try:
        known = [kept.get(key) for key in inputs]
    except TypeError:  # a value that cannot be a key (a list column; none today): not shared
        return pl.concat([searched, _search(new, s)])
    if all(found is not None for found in known):
        return pl.concat([searched, *(found for found in known if found is not None)])
    # Each key's layouts by its position in `new` (a float key, a null, compares as itself).
    todo = new.with_row_index("_key").filter(pl.Series([found is None for found in known]))
    layouts = _search(todo, s)
    each = layouts.partition_by("_key", maintain_order=True, include_key=False, as_dict=True)
    out = [searched]
    for i, (key, found) in enumerate(zip(inputs, known, strict=True)):
        if found is None:
            found = each.get((i,), layouts.clear().drop("_key"))
            if len(kept) >= _SEARCHES_KEPT:
                kept.pop(next(iter(kept)), None)  # the oldest
            kept[key] = found
        out.append(found)
    return pl.concat(out)


def _search(new: pl.DataFrame, s: TrainSettings) -> pl.DataFrame:
    """The best layouts of each row of `new` (one per `_SEARCH_KEY`), as `_SEARCHED_SCHEMA`
    rows, each key's in the order found (and its row's `_key`, where `new` numbers them)."""
    # Over 2,048 given counts (64-8,192 in steps of 64; Qwen3-235B, Llama 3.1 70B and 405B,
    # DeepSeek-V3; H100 and A100-80G; 12.5 and 125 Gbit/s a GPU) the search at the bucket's
    # count alone missed the fastest layout 246 times (by up to 3.9%), at 1, 1.5 and 2 times
    # it 15 (by up to 0.75%); the rows then evaluate up to 3 x LAYOUTS_KEPT layouts.
    ends = [new.with_columns(devices=(pl.col("_bucket") * k).cast(pl.Int64)) for k in (1, 1.5, 2)]
    keys = (
        pl.concat(ends).with_columns(mfu=pl.col("_search_mfu")).drop("_row").with_row_index("_row")
    )
    tag = [name for name in ("_key",) if name in new.columns]
    chosen = _best_layout(keys, s).join(keys.select("_row", *_SEARCH_KEY, *tag), on="_row")
    return chosen.select(*_SEARCHED_SCHEMA, *tag).unique(maintain_order=True)


# The columns of a searched row that its layouts do not depend on: a search runs at its
# bucket's counts and the search MFU, whatever the row's own `devices` and `mfu`; no term of
# a layout reads `goodput` (it only turns seconds per token into hours); `_row` is a number.
_NOT_SEARCHED = frozenset({"_row", "devices", "mfu", "goodput"})
# Within `searches_shared`: layouts searched so far, by everything the search reads (the
# settings and the row's other values); None outside it.
_SEARCHES: dict[tuple[object, ...], pl.DataFrame] | None = None
_SEARCHES_KEPT = 256


@contextmanager
def searches_shared() -> Iterator[None]:
    """Within it, solves share their layout searches: a key searched by an earlier solve with
    the very same inputs is taken as found (a search reads only its row and the settings, so
    the layouts are those a search would find again). A cost curve solves a phase three times
    (its knots, the cells it cuts, the draws it evaluates), over draws of the goodput that share
    their buckets: three searches a solve, ~11 ms CPU each. Outside it, each solve searches
    its own (a command's output never depends on what ran before it in the process)."""
    global _SEARCHES
    outer = _SEARCHES
    if outer is None:
        _SEARCHES = {}
    try:
        yield
    finally:
        if outer is None:
            _SEARCHES = None


def _sized(
    df: pl.DataFrame,
    devices: pl.Expr,
    s: TrainSettings,
    searched: pl.DataFrame,
    as_given: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`df` at `devices` per row, with its layout, device_hours and memory.

    The layout is searched once per accelerator and power-of-two bucket of the device count, not
    per row: a sweep over 20,000 counts or 100,000 sampled MFUs would otherwise repeat it. A count
    the user gives uses the bucket below it (a count above the bucket only shrinks the optimizer
    shard, so what fits the bucket fits the row); a count the tool sizes uses the bucket above it
    and is rounded up to whole replicas of the layout, and to the bucket itself where the
    rounded count would not hold the model. Each row takes, of the bucket's best layouts, the
    one with the fewest billed device-seconds per token at its own count (and its own MFU: the
    search itself runs at the un-sampled MFU, so the layouts offered depend only on the bucket).
    With `as_given`, every count is taken as a phase would give it (`_settled`).
    Returns the sized rows and `searched` with the buckets searched here added (`_searched`).

    The layouts a row may take are ranked on the few terms the choice reads (`_narrow`), and
    only the one it keeps is worked out in full: the full terms of every tried layout, ~75
    columns over a sweep's millions of tried layouts, were most of a sweep's physics."""
    old = (*_LAYOUT, "devices", "device_hours", "_t", "_memory", "_comm", "_bubble", "_bucket",
           "_idle", "_step", "_fits", "batch_replicas")  # fmt: skip
    # One query (a with_columns, a drop and a rename were three, each resolving ~100 names).
    carried = [c for c in df.columns if c not in old]
    rows = df.select(*carried, devices.cast(pl.Int64).alias("devices"))
    count = pl.col("devices").cast(pl.Float64).clip(lower_bound=1.0)
    sized = pl.lit(False) if as_given else pl.col("_dev_given").is_null()
    # A given layout's width must fit its bucket.
    given = float((s.tp or 1) * (s.pp or 1) * (s.cp or 1))
    power = pl.when(sized).then(count.log(2).ceil()).otherwise(count.log(2).floor())
    bucket = pl.max_horizontal(2.0**power, pl.when(sized).then(given).otherwise(
        pl.min_horizontal(count, given)))  # fmt: skip
    rows = rows.with_columns(_bucket=bucket.cast(pl.Int64))
    searched = _searched(rows, s, searched)
    few = rows.height <= _FEW_ROWS
    layout = _tried_layouts(rows, searched, many=not few)
    # A count the tool sizes is rounded up to whole replicas of the layout, and to whole
    # instances where the rows say how many devices one holds (`scaleup_cap`): an instance is
    # billed whole, so its devices work rather than idle (1,796 devices billed as 1,800 took
    # longer and cost more than 1,800).
    width = (pl.col("tp") * pl.col("pp") * pl.col("cp")).cast(pl.Float64) * _replica_step(
        pl.col("cp")
    )
    if few:
        layout = _with_step(collect(layout.with_columns(_step=width))).lazy()
    else:
        layout = _with_step_looked_up(layout.with_columns(_step=width), rows, searched, width)
    step = pl.col("_step")
    whole = ((pl.col("devices").cast(pl.Float64) / step).ceil() * step).cast(pl.Int64)
    resize = sized & pl.col("tp").is_not_null()
    # Nor past the replicas the global batch feeds: more would idle (`_evaluate`), and a count
    # the tool sizes bills none idle. A deadline that needs more is missed, and says why.
    fed = (_fed_replicas(s) * pl.col("tp") * pl.col("pp") * pl.col("cp")).clip(lower_bound=width)
    fed = fed.cast(pl.Int64)
    some_sized = not as_given and rows["_dev_given"].null_count() > 0
    # Where no row is sized, `resize` is false on every row and the count is kept as it is: the
    # expression is left out (a sweep's 2.92M tried layouts worked it out to keep every count).
    if some_sized:
        resized = pl.min_horizontal(pl.max_horizontal(whole, "devices"), fed)
        layout = layout.with_columns(devices=pl.when(resize).then(resized).otherwise("devices"))
    tried = _evaluate(layout, s)
    # Where no kept layout holds the model at the rounded count, the bucket's own count does.
    # (Only a count the tool sizes is rounded: where every row's count is given, none is short.)
    short = resize & ~pl.col("_fits").any().over("_row")
    bigger = pl.min_horizontal(pl.max_horizontal("devices", "_bucket"), fed)
    # `short` reads `_fits`, one of the terms dropped to be worked out again: it is taken
    # before the drop (a 1.3T dense model by deadline crashed on the missing column).
    hours = pl.col("tokens") * pl.col("_t") / pl.col("goodput") * (1.0 / 3600.0)
    if few:
        # Few rows (a quote's, a plan's): every tried layout in full, the kept ones taken.
        done = collect(tried.with_columns(_short=short) if some_sized else tried)
        if some_sized and done["_short"].any():
            again = done.lazy().drop(*_SIZED_TERMS)
            again = again.with_columns(devices=pl.when("_short").then(bigger).otherwise("devices"))
            done = collect(_evaluate(again.drop("_short"), s))
        done = done[[c for c in done.columns if c != "_short"]]  # by name: no query
        # `_fits` stays: the row fits only where the layout it keeps does (`training_frame`).
        return done[_first_of_each(done)].with_columns(device_hours=hours), searched
    # Many rows (a sweep's, a sample's): the tried layouts ranked on the terms the choice
    # reads, and only the one each row keeps worked out in full (~75 columns of up to
    # 3 x LAYOUTS_KEPT tried layouts a row, most of a sweep's physics).
    chosen = ["_row", "tp", "pp", "ep", "cp", "_step", "devices"]
    ranked = [*chosen, "_fits", "_t"]
    if not some_sized:
        ranks = _narrow(tried.select(ranked))
    else:
        ranks = _narrow(tried.select(*ranked, _short=short))
        if ranks["_short"].any():
            # The terms of an earlier round are dropped too, as the rows sized again drop
            # them: they are then added in `_evaluate`'s order (the columns' order as above).
            rows = rows.drop(*_SIZED_TERMS, strict=False)
            tried = _evaluate(
                tried.with_columns(_short=short)
                .drop(*_SIZED_TERMS)
                .with_columns(devices=pl.when("_short").then(bigger).otherwise("devices"))
                .drop("_short"),
                s,
            )
            ranks = _narrow(tried.select(ranked))
    # Each row's kept layout (one per `_row`, in `_row` order), worked out in full: the rows are
    # taken in that order too (they come in it from `training_frame`; `_first_of_each` returns
    # the one-query path's rows in it whatever their order).
    kept = ranks[_first_of_each(ranks)]
    if not rows["_row"].is_sorted():
        rows = rows.sort("_row")
    full = rows.with_columns(*kept.select(chosen[1:-1])).with_columns(kept["devices"])
    return collect(_evaluate(full.lazy(), s).with_columns(device_hours=hours)), searched


def _tried_layouts(rows: pl.DataFrame, searched: pl.DataFrame, *, many: bool) -> pl.LazyFrame:
    """Each of `rows` with each layout searched for its key (a row per pair, in `rows`' order).
    Over `many` rows, a column that holds one value on every row (the model's, the defaults',
    the settings') is not gathered by the join but laid over its rows after it: the join wrote
    each of them out for every tried layout (a sweep's 2.92M: 31 of its 37 columns, ~0.2 s
    CPU and most of the ranking's page faults), where the query after it makes them morsel by
    morsel. Each is a column holding that value, as the join's was, not a literal (polars
    divides by a literal through its reciprocal, by a column exactly): the same bits."""
    same = _constant_columns(rows, skip={*_SEARCH_KEY, "_row"}) if many else {}
    joined = (
        rows.drop(list(same))
        .lazy()
        .join(searched.lazy(), on=_SEARCH_KEY, how="left", nulls_equal=True, maintain_order="left")
    )
    if not same:
        return joined
    every = pl.col("_row").is_not_null()  # true on every row: `value` made a column
    return joined.with_columns(pl.when(every).then(pl.lit(v)).alias(n) for n, v in same.items())


# The dtypes `_constant_columns` compares as bits (numpy's own: no Decimal, no 128-bit).
_MACHINE_NUMBERS = frozenset({pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16,
                              pl.UInt32, pl.UInt64, pl.Float32, pl.Float64})  # fmt: skip


def _constant_columns(df: pl.DataFrame, skip: set[str]) -> dict[str, pl.Series]:
    """The integer and float columns of `df` (but `skip`) that hold the same bits on every row,
    or null on every row, each as its first value."""
    out = {}
    for name, col in zip(df.columns, df.get_columns(), strict=True):
        if name in skip or col.dtype not in _MACHINE_NUMBERS or df.height == 0:
            continue
        nulls = col.null_count()
        if nulls == df.height:
            out[name] = col[:1]
        elif nulls == 0:
            values = col.to_numpy()
            bits = values.view(f"u{values.itemsize}")
            if (bits == bits[0]).all():
                out[name] = col[:1]
    return out


def _fewest(
    df: pl.DataFrame, by_deadline: pl.Expr, s: TrainSettings, searched: pl.DataFrame
) -> pl.DataFrame:
    """Rows sized for a deadline at the fewest whole replicas that meet it. The sizing rounds
    aim at the deadline with headroom (`trainstep.DEADLINE_HEADROOM`) and round up to whole
    replicas, so they may keep a replica more than the run needs: 368 H100 for a 30-day
    deadline where 352 finish in 29.98 days, and cost stepped up as the deadline loosened
    (rev13a #1: a 31-day deadline was sized to 352). Where the hours at the count say fewer
    whole replicas of its layout would do, that count is sized as any other (its own layout
    and rounding) and kept where it meets the deadline with fewer devices."""
    step = pl.col("_step")
    need = (pl.col("device_hours") / (pl.col("deadline_days") * 24.0) / step).ceil() * step
    need = pl.max_horizontal(need, pl.col("min_devices"))
    days = pl.col("device_hours") / pl.col("devices") * (1.0 / 24.0)
    met = days <= pl.col("deadline_days") * (1 + 1e-9)
    trim = (by_deadline & pl.col("_fits") & met & (need < pl.col("devices"))).fill_null(False)
    if not df.select(trim.any()).item():
        return df
    rows = df.filter(trim)
    # Worked out as a given count, as `_settled` does: one physics per count.
    fewer, _ = _sized(rows, need, s, searched, as_given=True)
    fewer = fewer.join(rows.select("_row", pl.col("devices").alias("_was")), on="_row")
    kept = fewer.filter(met & pl.col("_fits") & (pl.col("devices") < pl.col("_was")))
    if kept.is_empty():
        return df
    rest = df.join(kept.select("_row"), on="_row", how="anti", maintain_order="left")
    return pl.concat([rest, kept.select(df.columns)]).sort("_row")


def _within_fleet(
    df: pl.DataFrame, by_deadline: pl.Expr, s: TrainSettings, searched: pl.DataFrame
) -> pl.DataFrame:
    """Rows sized for a deadline past the devices their fleet has (an optional `fleet_devices`
    column, the fleet in whole instances; null: no fleet) are sized at the fleet where that
    count, worked out as a phase giving it would be (`_settled`), meets the deadline. The
    sizing's headroom (`trainstep.DEADLINE_HEADROOM`) and whole replicas would otherwise size
    a fleet that finishes in time past itself, and so leave it unpriced (rev16c W2: 512 H800
    finish in 322.9 days, yet a 323-day deadline sized 768 of them, while the same fleet given
    `devices = 512` was priced): one fleet, one answer."""
    if "fleet_devices" not in df.columns:
        return df
    over = (by_deadline & (pl.col("devices") > pl.col("fleet_devices"))).fill_null(False)
    if not df.select(over.any()).item():
        return df
    rows = df.filter(over)
    at, _ = _sized(rows, pl.col("fleet_devices"), s, searched, as_given=True)
    days = pl.col("device_hours") / pl.col("devices") * (1.0 / 24.0)
    kept = at.filter((days <= pl.col("deadline_days") * (1 + 1e-9)) & pl.col("_fits"))
    if kept.is_empty():
        return df
    rest = df.join(kept.select("_row"), on="_row", how="anti", maintain_order="left")
    return pl.concat([rest, kept.select(df.columns)]).sort("_row")


def _settled(
    df: pl.DataFrame, s: TrainSettings, searched: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`df` with each count the tool sized worked out again as if the phase had given it, so a
    count has one physics whichever way it was reached; rows given a count are kept."""
    if not df.select(pl.col("_dev_given").is_null().any()).item():
        return df, searched
    return _sized(df, pl.col("devices"), s, searched, as_given=True)


# Up to this many rows, `_sized` works out every tried layout in full and takes the kept ones
# (one query); above, it ranks them on a narrow query first (two queries, each planned: ~10 ms
# more for a quote's or a plan's few rows, ~0.7 s less CPU for a sweep's 420k).
_FEW_ROWS = 4_096


# The ranking of tried layouts computes only the columns it selects.
_NARROW = pl.QueryOptFlags.none(comm_subexpr_elim=True, projection_pushdown=True)


def _narrow(frame: pl.LazyFrame) -> pl.DataFrame:
    return frame.collect(optimizations=_NARROW)


def _first_of_each(tried: pl.DataFrame) -> pl.Series:
    """Per `_row`, in `_row` order, the position of the layout that fits and is fastest (then
    the fewest devices, then the first tried)."""
    keys = tried.select("_row", "_fits", "_t", "devices").with_row_index("_i")
    # Each row's layouts ranked within its group, not the whole frame sorted: over a sweep's
    # 2.92M tried layouts 0.14 s CPU against 0.24 s. Groups come in order of first appearance,
    # which is `_row` order when the rows come sorted (they do, from `training_frame`).
    ordered = keys["_row"].is_sorted()
    if ordered:
        # Flagged as sorted, the groups are found as runs of equal `_row`, not hashed: the
        # same groups in the same order (a sweep's 2.92M tried layouts: 0.27 -> 0.14 s CPU).
        keys = keys.with_columns(pl.col("_row").set_sorted())
    best = pl.col("_i").sort_by(
        ["_fits", "_t", "devices", "_i"], descending=[True, False, False, False], nulls_last=True
    )
    first = keys.group_by("_row", maintain_order=True).agg(best.first())
    if not ordered:
        first = first.sort("_row")
    return first["_i"]


def _with_step(layout: pl.DataFrame) -> pl.DataFrame:
    """`_step` (a replica's devices) raised to its least common multiple with the devices of
    one instance, where a row gives them; worked out once per distinct pair."""
    if "scaleup_cap" not in layout.columns:
        return layout
    common = whole_instances(layout, "_step", "scaleup_cap").cast(pl.Float64)
    return layout.with_columns(_step=pl.coalesce(common, layout["_step"]))


def _with_step_looked_up(
    layout: pl.LazyFrame, rows: pl.DataFrame, searched: pl.DataFrame, width: pl.Expr
) -> pl.LazyFrame:
    """`_with_step` over many rows: the least common multiple worked out once per distinct
    pair of the searched layouts' steps and the rows' instances, and looked up by a number that
    encodes the pair, in the same query: a join copies every column of the tried layouts (0.3 s
    over a sweep's). Over a quote's or a plan's few rows the join is the cheaper (planning the
    lookup's literals cost ~15 ms CPU a plan)."""
    if "scaleup_cap" not in rows.columns:
        return layout
    steps = searched.select(_step=width.cast(pl.Int64)).unique().drop_nulls()
    caps = rows.select(pl.col("scaleup_cap").cast(pl.Int64)).unique().drop_nulls()
    steps, caps = steps.filter(pl.col("_step") > 0), caps.filter(pl.col("scaleup_cap") > 0)
    if steps.height == 0 or caps.height == 0:
        return layout
    span = int(caps["scaleup_cap"].max()) + 1  # type: ignore[arg-type]
    pairs = [(a, b) for a in steps["_step"] for b in caps["scaleup_cap"]]
    step, cap = pl.col("_step").cast(pl.Int64), pl.col("scaleup_cap").cast(pl.Int64)
    code = pl.when((step > 0) & (cap > 0)).then(step * span + cap)
    common = code.replace_strict(
        [a * span + b for a, b in pairs],
        [math.lcm(a, b) for a, b in pairs],
        default=None,
        return_dtype=pl.Int64,
    )
    return layout.with_columns(_step=pl.coalesce(common.cast(pl.Float64), pl.col("_step")))


def _options(name: str, values: tuple[int, ...], given: int | None) -> pl.LazyFrame:
    vals = (given,) if given is not None else values
    return pl.LazyFrame({name: vals}, schema={name: pl.Int64})


def _candidates(rows: pl.DataFrame, s: TrainSettings) -> pl.LazyFrame:
    """One row per (input row, tp, pp, ep, cp) the search may try: tensor parallel within the
    scale-up domain and the heads, pipeline stages up to the layers, expert parallel up to the
    experts, context parallel with at least CP_MIN_TOKENS per rank, all within the devices."""
    keys = rows.lazy().select(
        "_row", "devices", "scaleup_size", "experts", "heads", "layers", "seq_len"
    )
    # Only the CP sizes some row's sequence allows enter the cross join: at the usual 4-8K
    # tokens that is CP1 alone, and six sizes crossed in to be filtered out made every layout
    # search ~60% slower (pretraining's physics 0.12 -> 0.20 s).
    longest = rows.select(pl.col("seq_len").max()).item() if rows.height else 0
    cps = tuple(c for c in CP_SIZES if c * CP_MIN_TOKENS <= max(longest or 0, CP_MIN_TOKENS))
    cand = (
        keys.join(_options("tp", TP_SIZES, s.tp), how="cross")
        .join(_options("pp", PP_SIZES, s.pp), how="cross")
        .join(_options("ep", EP_SIZES, s.ep), how="cross")
        .join(_options("cp", cps, s.cp), how="cross")
    )
    width = pl.col("tp") * pl.col("pp") * pl.col("cp")
    if s.tp is None:
        cand = cand.filter(
            (pl.col("tp") <= pl.col("scaleup_size")) & (pl.col("tp") <= pl.col("heads"))
        )
    if s.pp is None:
        cand = cand.filter(pl.col("pp") <= pl.col("layers"))
    if s.ep is None:
        cand = cand.filter(pl.col("ep") <= pl.col("experts").fill_null(1))
    if s.cp is None:
        cand = cand.filter(pl.col("cp") * CP_MIN_TOKENS <= pl.col("seq_len").clip(CP_MIN_TOKENS))
    if s.tp is None or s.pp is None or s.ep is None or s.cp is None:
        # Unless the layout is given, it must fit in the devices (the smallest always does).
        fits = (width <= pl.col("devices")) & (pl.col("ep") * pl.col("tp") <= pl.col("devices"))
        smallest = (
            (pl.col("tp") == pl.col("tp").min().over("_row"))
            & (pl.col("pp") == pl.col("pp").min().over("_row"))
            & (pl.col("cp") == pl.col("cp").min().over("_row"))
        )
        cand = cand.filter(fits | smallest)
    return cand.drop("devices", "scaleup_size", "experts", "heads", "layers", "seq_len").join(
        rows.lazy(), on="_row", how="left"
    )


def _replica_step(cp: pl.Expr) -> pl.Expr:
    """Data-parallel replicas come in multiples of ep / cp: the expert-parallel group is formed
    from the data- and context-parallel ranks (Megatron-Core requires the expert-parallel size
    to divide data x context parallelism when experts are split over the tensor-parallel
    ranks, as here)."""
    return (pl.col("ep").cast(pl.Float64) / cp.cast(pl.Float64)).clip(lower_bound=1.0)


def _fed_replicas(s: TrainSettings) -> pl.Expr:
    """The most data-parallel replicas a step's global batch gives a micro-batch each: its
    sequences over the micro-batch, in whole groups of the replica step."""
    step = _replica_step(pl.col("cp"))
    # (1 + 1e-9): a batch of exactly n sequences is not n - 1 after rounding.
    seqs = (
        pl.col("global_batch_tokens") / pl.col("seq_len") * (1.0 / s.micro_batch) * (1 + 1e-9)
    ).floor()
    return (seqs / step).floor() * step


def _micro_batches(s: TrainSettings, searching: bool) -> dict[str, pl.Expr]:
    """Micro-batches per data-parallel replica per step: the mean `m` and the busiest
    replica's `m_busiest`. A sequence does not split, and Megatron-LM requires the global batch
    to be a whole number of micro-batches on every replica. A batch the phase fixes is kept:
    where the replicas do not divide it, some run one more micro-batch and the step waits for
    them (the tolerance keeps a quotient like 3.0000000000000004 at 3). The default batch is the
    tool's guess, not the phase's: it is rounded to the nearest whole number of micro-batches
    per replica (at least one), as a team sizes its batch to its replicas, and the step trains
    that (`step_batch_tokens`, shown in the layout). A layout search (`searching`) runs at its
    bucket's device count, not the row's, so it ranks layouts without the busiest replica's
    extra micro-batch, which depends on the count: each row then pays it at its own."""
    exact = pl.col("global_batch_tokens") / pl.col("seq_len") / pl.col("dp") * (1.0 / s.micro_batch)
    if s.global_batch_tokens is None:
        whole = (exact + 0.5).floor().clip(lower_bound=1.0)
        return {"m": whole, "m_busiest": whole}
    busiest = exact.clip(lower_bound=1.0) if searching else (exact - 1e-9).ceil().clip(1.0)
    return {"m": exact, "m_busiest": busiest}


# Columns `_evaluate` lays a layout out with, dropped after.
_LAID = ("_billed", "_fits_width", "_width", "_dp_exact", "_replica_step")


def _evaluate(frame: pl.LazyFrame, s: TrainSettings, searching: bool = False) -> pl.LazyFrame:
    """Rows with `tp`, `pp`, `ep` get the rest of the layout and its time: data parallelism,
    interleave, micro-batches, the share of layers recomputed in full (the fewest that make the
    activations fit, as Megatron's recompute_num_layers, unless the phase fixes it), and whether
    it fits."""
    width = (pl.col("tp") * pl.col("pp") * pl.col("cp")).cast(pl.Float64)
    # Whole data-parallel replicas, in groups the expert-parallel ranks divide (`_replica_step`);
    # the formulas see the devices they use, and the devices no whole group can use (`_idle`)
    # are billed on top (`bill`). The width, the replicas the devices make and the step are
    # columns the next stages read (`_LAID`, dropped after).
    cand = frame.with_columns(
        batch_replicas=_fed_replicas(s),
        _width=width,
        _dp_exact=pl.col("devices").cast(pl.Float64) / width,
        _replica_step=_replica_step(pl.col("cp")),
    )
    width, dp, step = pl.col("_width"), pl.col("_dp_exact"), pl.col("_replica_step")
    # A replica needs a micro-batch of its own each step (m >= 1): past the replicas the global
    # batch feeds (`batch_replicas`) more devices have no data, so they idle like a remainder.
    fed = pl.col("batch_replicas")
    whole = pl.min_horizontal((dp / step).floor() * step, fed).clip(lower_bound=1.0)
    cand = cand.with_columns(
        dp=whole, _fits_width=(dp >= step) & (fed >= step), _billed=pl.col("devices")
    )
    devices = pl.col("devices").cast(pl.Float64)
    used = pl.when(dp >= step).then(pl.col("dp") * width).otherwise(devices)
    cand = cand.with_columns(_idle=(devices - used).clip(lower_bound=0.0), devices=used)
    bill = (pl.col("devices") + pl.col("_idle")) / pl.col("devices")
    # The step time's shared sub-terms are worked out once each, as columns, in stages (each
    # reads the terms of the stages before it): inline, the formulas below held ~5,000
    # expression nodes, which polars plans and runs one by one (a quote's layout searches
    # spent most of their time on them). Same expressions, same values.
    cand, terms = with_terms(cand, _INPUTS, f.seq_h, f.stage_layers, f.stage_imbalance)
    state = (f.held_layers, f.stage_weight_grad_bytes, f.optimizer_bytes_per_device)
    cand, terms = with_terms(cand, terms, *state)
    fixed = RECOMPUTE_SHARE.get(s.recompute or "")
    rfull = pl.lit(fixed) if fixed is not None else f.recompute_share_needed(terms)
    # Interleaved chunks of about `layers_per_virtual_stage` layers: floor(L / (pp x 2)), so
    # 47 layers a stage run as 23 chunks of 2-3, the largest setting the bubble
    # (`trainstep.bubble_fraction`). layout13 tried chunks of at most 2 whole layers (24 of
    # 1-2): the held-out training median rose 8.27 -> 8.80% (Llama 3 405B PP16 +6.8 -> +12.9%)
    # with no published interleave to back it, so the default stays as it was calibrated.
    vp_default = (
        (pl.col("layers").cast(pl.Float64) / (pl.col("pp") * pl.col("layers_per_virtual_stage")))
        .floor()
        .clip(lower_bound=1.0)
    )
    vp = pl.lit(float(s.vp)) if s.vp else pl.when(pl.col("pp") > 1).then(vp_default).otherwise(1.0)
    # The memory is planned once (a column the fit test reads): each instance of a formula
    # costs polars planning time, ~1.5 ms here.
    cand = (
        cand.with_columns(rfull=rfull, vp=vp)
        .with_columns(**_micro_batches(s, searching))
        .with_columns(
            step_batch_tokens=pl.col("m") * pl.col("dp") * s.micro_batch * pl.col("seq_len"),
            _memory=f.memory_per_device(terms),
        )
    )
    # `_bubble` (`bubble_fraction`) is kept beside the time.
    times = (f.attention_seconds, f.tensor_parallel_seconds, f.expert_parallel_seconds,
             f.data_parallel_seconds, f.bubble_fraction)  # fmt: skip
    cand, terms = with_terms(
        cand,
        terms,
        *times,
        _fits=pl.col("_fits_width") & (pl.col("_memory") <= f.usable_bytes() * (1 + 1e-9)),
    )
    cand, terms = with_terms(cand, terms, f.context_parallel_seconds, f.staged_share)
    return (
        cand.with_columns(
            _t=f.seconds_per_token(terms) * bill,
            _comm=f.communication_seconds(terms) * bill,
        )
        .with_columns(devices=pl.col("_billed"))
        .drop(*_LAID, *(c for c in terms - _INPUTS if c != "_bubble"))
    )


def _best_layout(rows: pl.DataFrame, s: TrainSettings) -> pl.DataFrame:
    """Per input row, the tp, pp and ep of the fastest candidate of each replica granularity, for
    the LAYOUTS_KEPT fastest granularities: those that fit first, then those needing the least
    memory beyond the device (a layout that does not fit is kept only when fewer fit; its
    memory figure then says so)."""
    cand = _evaluate(_candidates(rows, s), s, searching=True)
    # Only the columns the ranking reads and the layout are sorted (sorting gathers every
    # column it carries: ~100 of them here, a third of the search on a plan's few thousand
    # tried layouts).
    cand = cand.select("_row", "_fits", "_t", "_memory", "tp", "pp", "ep", "cp")
    ranked = cand.sort(["_row", "_fits", "_t", "_memory"], descending=[False, True, False, False],
                       nulls_last=True)  # fmt: skip
    # The best layout of each replica granularity (devices a data-parallel step adds), so a row
    # whose count is not a multiple of the fastest one's can use a finer one.
    grain = pl.col("tp") * pl.col("pp") * pl.col("cp") * _replica_step(pl.col("cp"))
    each = ranked.with_columns(_grain=grain).unique(["_row", "_grain"], keep="first",
                                                     maintain_order=True)  # fmt: skip
    best = each.group_by("_row", maintain_order=True).head(LAYOUTS_KEPT)
    return collect(best.select("_row", "tp", "pp", "ep", "cp"))
