"""Workload physics as polars expressions over columns. No money, no catalog, no I/O.

Every formula is written once here, as arithmetic on columns, so one code path prices a single
scenario (a one-row frame) and a sweep over millions of candidate rows. `physics.inputs` joins
the catalog figures these read; `physics.training` and `physics.serving` call them.

Column conventions (SI units: FLOP, FLOP/s, bytes, bytes/s, seconds):

model     active_params, total_params, layers, hidden, heads, kv_heads, head_dim, experts,
          experts_active, kv_lora_rank, rope_head_dim (architecture columns may be null: their
          terms then drop out)
device    peak_flops (at the phase precision), bf16_flops, hbm_bytes, hbm_bw, scaleup_size
settings  tokens, seq_len, mfu, goodput, devices, deadline_days, bytes_per_param,
          overhead_bytes, input_len, output_len, tpot_s, ttft_s, ...
"""

from __future__ import annotations

import polars as pl

# --- real constants -----------------------------------------------------------------------------

# Mixed-precision Adam: fp16/bf16 weights (2) + fp16/bf16 gradients (2) + fp32 master weights,
# momentum and variance (4 + 4 + 4) = 16 bytes per parameter. ZeRO (Rajbhandari et al. 2020,
# arXiv 1910.02054, s3.1 "K = 12" plus 2 + 2). Sharded over all devices (ZeRO-3 / FSDP).
ADAM_MIXED_BYTES_PER_PARAM = 16.0
# Activations with full recomputation (Korthikanti et al. 2022, arXiv 2205.05198, s4): each layer
# keeps its input (2 bytes x seq x hidden) and one layer at a time holds its full working set,
# 34 x seq x hidden bytes (their eq. 1 without the 5as/h score term, which FlashAttention avoids).
# Per sequence of micro-batch 1; sharded by tensor/sequence parallelism within the scale-up domain.
CHECKPOINT_BYTES_PER_LAYER_TOKEN_HIDDEN = 2.0
LAYER_WORKING_BYTES_PER_TOKEN_HIDDEN = 34.0
# Fraction of device memory usable for weights + KV cache / training state: vLLM's default
# gpu_memory_utilization = 0.9 (the rest: CUDA context, activations, fragmentation).
USABLE_HBM_FRACTION = 0.9
# Largest global batch seen in published pretraining: DeepSeek-V3 ramps to 15,360 sequences of
# 4K = 63M tokens (arXiv 2412.19437 s4.2). Data parallelism beyond global_batch / seq_len
# replicas cannot be used, which caps the devices a deadline can ask for.
MAX_GLOBAL_BATCH_TOKENS = 64 * 2**20

# --- calibrated defaults ------------------------------------------------------------------------
# The memory-bound non-matmul bytes (`overhead_bytes`) and the collective stage latency
# (`collective_latency_s`) are columns: physics fills them from pricing/data/defaults.csv, where
# their values, fits and sources live. Each layer runs two collectives per decode step (tensor
# parallel: two all-reduces; expert parallel: dispatch + combine).
COLLECTIVES_PER_LAYER = 2.0

SECONDS_PER_DAY = 86_400.0


def _c(x: str | pl.Expr | float) -> pl.Expr:
    if isinstance(x, pl.Expr):
        return x
    if isinstance(x, str):
        return pl.col(x)
    return pl.lit(float(x))


def _z(name: str) -> pl.Expr:
    """An optional architecture column, 0 where unknown."""
    return pl.col(name).cast(pl.Float64).fill_null(0.0)


# --- attention -----------------------------------------------------------------------------------


def attention_flops_per_token(context: str | pl.Expr | float, *, absorbed: bool = False) -> pl.Expr:
    """Forward FLOPs for one token attending to `context` keys, over all layers:
    scores (2 x d_qk per key and head) + weighted values (2 x d_v), i.e.
    2 x layers x heads x (d_qk + d_v) x context.

    Standard/GQA: d_qk = d_v = head_dim. MLA (DeepSeek, kv_lora_rank set): during training and
    prefill d_qk = head_dim + rope_head_dim, d_v = head_dim; in decode with the absorbed weights
    (`absorbed=True`) attention runs in the latent space, d_qk = kv_lora_rank + rope_head_dim,
    d_v = kv_lora_rank (DeepSeek-V2 arXiv 2405.04434 s2.1.2). 0 when the architecture is unknown.
    """
    mla = pl.col("kv_lora_rank").is_not_null()
    hd, rope, lora = _z("head_dim"), _z("rope_head_dim"), _z("kv_lora_rank")
    if absorbed:
        dims = pl.when(mla).then(2 * lora + rope).otherwise(2 * hd)
    else:
        dims = pl.when(mla).then(2 * hd + rope).otherwise(2 * hd)
    return 2.0 * _z("layers") * _z("heads") * dims * _c(context)


# --- training ------------------------------------------------------------------------------------


def training_linear_flops(tokens: str | pl.Expr | float = "tokens") -> pl.Expr:
    """6 x active params x tokens (forward 2 + backward 4; Kaplan et al. 2020)."""
    return 6.0 * pl.col("active_params") * _c(tokens)


def training_attention_flops(
    tokens: str | pl.Expr | float = "tokens", seq_len: str | pl.Expr | float = "seq_len"
) -> pl.Expr:
    """Causal attention, forward + backward = 3 x forward, mean context seq_len / 2:
    3 x 2 x L x H x (d_qk + d_v) x seq/2 per token (= 6 L s H d for d_qk = d_v = d)."""
    return 3.0 * attention_flops_per_token(_c(seq_len) / 2.0) * _c(tokens)


def training_flops() -> pl.Expr:
    return training_linear_flops() + training_attention_flops()


def training_device_seconds() -> pl.Expr:
    """Device-seconds for the run (independent of the device count in this model):

    (linear FLOPs / (peak[precision] x mfu) + attention FLOPs / (bf16 peak x mfu)
     + non-matmul bytes / HBM bandwidth) / goodput

    FP8 speeds up only the linear-layer GEMMs (DeepSeek-V3 s3.3 keeps attention and the
    element-wise work in BF16); the non-matmul term is `overhead_bytes` x layers x hidden per token.
    """
    compute = training_linear_flops() / (pl.col("peak_flops") * pl.col("mfu")) + (
        training_attention_flops() / (pl.col("bf16_flops") * pl.col("mfu"))
    )
    memory = pl.col("overhead_bytes") * _z("layers") * _z("hidden") * pl.col("tokens")
    return (compute + memory / pl.col("hbm_bw")) / pl.col("goodput")


def effective_mfu() -> pl.Expr:
    """Model FLOPs (incl. attention) per device-second over the precision's peak, while running."""
    return (
        pl.col("flops")
        / (pl.col("device_hours") * 3600.0 * pl.col("goodput"))
        / pl.col("peak_flops")
    )


def training_state_bytes() -> pl.Expr:
    """Weights + gradients + Adam state: 16 bytes x total params (MoE: every expert is trained)."""
    return ADAM_MIXED_BYTES_PER_PARAM * pl.col("total_params")


def checkpoint_bytes() -> pl.Expr:
    """A resumable checkpoint: 16-bit weights + fp32 master, momentum, variance = 14 B/param
    (the ZeRO breakdown above, without the gradients, which are not saved)."""
    return (ADAM_MIXED_BYTES_PER_PARAM - 2.0) * pl.col("total_params")


def activation_bytes() -> pl.Expr:
    """One sequence's activations with full recomputation: (2 L + 34) x seq x hidden bytes."""
    return (
        (
            CHECKPOINT_BYTES_PER_LAYER_TOKEN_HIDDEN * _z("layers")
            + LAYER_WORKING_BYTES_PER_TOKEN_HIDDEN
        )
        * pl.col("seq_len")
        * _z("hidden")
    )


def _tp_group(devices: pl.Expr) -> pl.Expr:
    return pl.min_horizontal(devices, pl.col("scaleup_size").cast(pl.Float64))


def training_memory_per_device(devices: str | pl.Expr = "devices") -> pl.Expr:
    """Bytes per device: state sharded over all devices, activations over the scale-up group."""
    d = _c(devices).cast(pl.Float64)
    return training_state_bytes() / d + activation_bytes() / _tp_group(d)


def min_training_devices() -> pl.Expr:
    """Smallest device count whose memory per device fits USABLE_HBM_FRACTION x hbm_bytes.

    Closed form, two regimes: below the scale-up size activations are split over all d devices,
    d >= (state + act) / usable; above it, d >= state / (usable - act / scaleup_size).
    Null where it cannot fit at any count (activations alone exceed a scale-up group).
    """
    usable = USABLE_HBM_FRACTION * pl.col("hbm_bytes")
    state, act = training_state_bytes(), activation_bytes()
    s = pl.col("scaleup_size").cast(pl.Float64)
    small = ((state + act) / usable).ceil().clip(lower_bound=1.0)
    room = usable - act / s
    large = pl.when(room > 0).then((state / room).ceil()).otherwise(None)
    big = pl.when(large.is_not_null()).then(pl.max_horizontal(large, s))
    return pl.when(small <= s).then(small).otherwise(big).cast(pl.Int64)


def max_training_devices() -> pl.Expr:
    """Devices usable at once: data-parallel replicas (global batch / seq_len) x model-parallel
    group (the minimum devices that hold the model)."""
    replicas = (MAX_GLOBAL_BATCH_TOKENS / pl.col("seq_len")).floor()
    return (replicas * pl.col("min_devices")).cast(pl.Int64)


def devices_for_deadline() -> pl.Expr:
    """Devices to finish device_hours within deadline_days (at least min_devices)."""
    need = (pl.col("device_hours") / (pl.col("deadline_days") * 24.0)).ceil()
    return pl.max_horizontal(need, pl.col("min_devices")).cast(pl.Int64)


# --- serving -------------------------------------------------------------------------------------


def kv_bytes_per_token() -> pl.Expr:
    """KV cache per token over all layers. MLA: (kv_lora_rank + rope_head_dim) values per layer;
    otherwise 2 (K and V) x kv_heads x head_dim. Stored at `kv_bytes` per value."""
    mla = pl.col("kv_lora_rank").is_not_null()
    per_layer = (
        pl.when(mla)
        .then(_z("kv_lora_rank") + _z("rope_head_dim"))
        .otherwise(2.0 * _z("kv_heads") * _z("head_dim"))
    )
    return _z("layers") * per_layer * pl.col("kv_bytes")


def weight_bytes() -> pl.Expr:
    return pl.col("total_params") * pl.col("bytes_per_param")


def expert_params() -> pl.Expr:
    """Parameters of one routed expert summed over layers: (total - active) / (E - k);
    0 for dense models."""
    e, k = _z("experts"), _z("experts_active")
    moe = (e > k) & (k > 0)
    return (
        pl.when(moe)
        .then((pl.col("total_params") - pl.col("active_params")) / (e - k))
        .otherwise(0.0)
    )


def weights_read_bytes(batch: str | pl.Expr) -> pl.Expr:
    """Weight bytes read in one decode step for `batch` tokens. MoE: shared part plus the experts
    the batch touches, E x (1 - (1 - k/E)^batch) per layer in expectation (uniform routing)."""
    e, k = _z("experts"), _z("experts_active")
    ep = expert_params()
    shared = pl.col("total_params") - e * ep
    touched = pl.when(ep > 0).then(e * (1.0 - (1.0 - k / e).pow(_c(batch)))).otherwise(0.0)
    return (shared + touched * ep) * pl.col("bytes_per_param")


def decode_context() -> pl.Expr:
    """Mean KV length over a request's decode: input + output / 2."""
    return pl.col("input_len") + pl.col("output_len") / 2.0


def decode_latency_seconds() -> pl.Expr:
    """Fixed per-step latency: layers x collectives per layer x stage latency x log2(tp)."""
    tp = pl.col("tp").cast(pl.Float64).clip(lower_bound=1.0)
    return _z("layers") * COLLECTIVES_PER_LAYER * pl.col("collective_latency_s") * tp.log(2)


def decode_step_seconds(batch: str | pl.Expr) -> pl.Expr:
    """One decode step of `batch` sequences on a replica of `tp` devices: the fixed collective
    latency plus the roofline max(bytes read / (bandwidth x dec_eff), FLOPs / (peak x pre_mfu)):
    the decode efficiency derates the memory side, the prefill (GEMM) MFU the compute side.
    Bytes: weights touched + the batch's KV cache. FLOPs: 2 x active params per token at the
    precision's peak + attention over the context (absorbed MLA) at the BF16 peak."""
    b = _c(batch)
    tp = pl.col("tp").cast(pl.Float64)
    bytes_ = weights_read_bytes(b) + b * decode_context() * kv_bytes_per_token()
    t_mem = bytes_ / (tp * pl.col("hbm_bw"))
    t_cmp = (
        b
        * (
            2.0 * pl.col("active_params") / pl.col("peak_flops")
            + attention_flops_per_token(decode_context(), absorbed=True) / pl.col("bf16_flops")
        )
        / tp
    )
    return decode_latency_seconds() + pl.max_horizontal(
        t_mem / pl.col("dec_eff"), t_cmp / pl.col("pre_mfu")
    )


def prefill_seconds_per_token() -> pl.Expr:
    """Device-seconds per prompt token: 2 x active params at the precision's peak + causal
    attention over input_len / 2 at the BF16 peak, at the prefill MFU."""
    return (
        2.0 * pl.col("active_params") / pl.col("peak_flops")
        + attention_flops_per_token(pl.col("input_len") / 2.0) / pl.col("bf16_flops")
    ) / pl.col("pre_mfu")


def kv_batch_cap() -> pl.Expr:
    """Most concurrent sequences whose full-length KV cache fits beside the weights."""
    usable = USABLE_HBM_FRACTION * pl.col("hbm_bytes") * pl.col("tp")
    per_seq = (pl.col("input_len") + pl.col("output_len")) * kv_bytes_per_token()
    free = usable - weight_bytes()
    return pl.when(per_seq > 0).then((free / per_seq).floor()).otherwise(float(2**20))


# 2**24 > any batch that fits in memory, so 24 halvings pin the integer batch exactly.
BISECTION_STEPS = 24


def solve_batch(frame: pl.DataFrame) -> pl.DataFrame:
    """Adds `batch`: the largest integer batch in [1, kv_cap] whose step time meets `tpot_s`
    (null target = no latency cap). Fixed number of vectorised bisection steps over the frame;
    0 where even batch 1 misses the target or no KV fits."""
    cap = pl.col("kv_cap")
    # One lazy query for all steps: polars plans the chain once instead of 32 eager passes.
    df = frame.lazy().with_columns(_lo=pl.lit(1.0), _hi=cap.cast(pl.Float64).clip(lower_bound=1.0))
    target = pl.col("tpot_s")
    # Built once and reused by every step: the step-time expression is large, and evaluating it
    # once per step into a column keeps both Python and polars' planner work small.
    mid = ((pl.col("_lo") + pl.col("_hi")) / 2.0).ceil()
    ok = target.is_null() | (decode_step_seconds(pl.col("_mid")) <= target)
    low = pl.when(pl.col("_ok")).then(pl.col("_mid")).otherwise(pl.col("_lo"))
    high = pl.when(pl.col("_ok")).then(pl.col("_hi")).otherwise(pl.col("_mid") - 1.0)
    for _ in range(BISECTION_STEPS):
        df = df.with_columns(_mid=mid).with_columns(_ok=ok).with_columns(_lo=low, _hi=high)
    one_ok = target.is_null() | (decode_step_seconds(pl.lit(1.0)) <= target)
    batch = pl.when((cap >= 1) & one_ok).then(pl.col("_lo")).otherwise(0.0)
    return df.with_columns(batch=batch).drop("_lo", "_hi", "_mid", "_ok").collect()


def replicas_for_demand() -> pl.Expr:
    """Replicas so prefill + decode device time covers the peak demand (tokens/day x
    peak_to_average / 86,400 s): devices = in/s / prefill_tps + out/s / output_tps, rounded up to
    whole replicas, derated by the serving goodput (restarts, deploys)."""
    pta = pl.col("peak_to_average")
    in_s = pl.col("input_tokens_per_day").fill_null(0.0) * pta / SECONDS_PER_DAY
    out_s = pl.col("output_tokens_per_day").fill_null(0.0) * pta / SECONDS_PER_DAY
    dev = in_s / pl.col("prefill_tokens_per_s_per_device") + out_s / pl.col(
        "output_tokens_per_s_per_device"
    )
    reps = (dev / pl.col("serve_goodput") / pl.col("tp")).ceil().clip(lower_bound=1.0)
    has = pl.any_horizontal(
        pl.col("input_tokens_per_day").is_not_null(), pl.col("output_tokens_per_day").is_not_null()
    )
    reps = reps.cast(pl.Int64)
    return pl.when(has).then(reps).otherwise(None)
