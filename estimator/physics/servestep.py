"""Serving step time as polars expressions over one row per (accelerator, replica size).

A replica is `tp` devices holding one copy of the weights. A dense model, and an MoE with
grouped-query attention inside one scale-up domain, run tensor parallel (every layer split over
the devices, two all-reduces per layer). An MoE with MLA (DeepSeek: its latent KV cannot be
split by heads) or wider than its domain runs attention data parallel and experts parallel
(`expert_style`), with an all-to-all dispatch and combine per layer, as DeepSeek, SGLang, vLLM
and CloudMatrix-Infer deploy it. Three rates, one meaning each:

- a dedicated decode pool runs steps of `batch` sequences: `decode_step_seconds`;
- a dedicated prefill pool is compute-bound: `prefill_seconds_per_token` device-seconds per
  prompt token;
- an aggregated replica (continuous batching, prefill on the same devices, the way TensorRT-LLM,
  vLLM, SGLang and NIM benchmarks run) spends each step on the batch's decode plus the prefill of
  the prompts that keep the batch full: `mixed_step_seconds`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import cache

import polars as pl

from estimator.physics.formulas import (
    BF16_BYTES,
    SECONDS_PER_DAY,
    WHOLE,
    Frame,
    Terms,
    _c,
    _f,
    _z,
    alltoall_seconds_per_byte,
    attention_flops_per_token,
    expert_params,
    is_moe,
    kv_bytes_per_token,
    ring_factor,
    routed_tokens_factor,
    term,
    weight_bytes,
    with_terms,
)

# Each layer runs two collectives per decode step: tensor parallel, two all-reduces (after
# attention and after the MLP); expert parallel, dispatch and combine.
COLLECTIVES_PER_LAYER = 2.0
# Expert-parallel dispatch sends FP8 activations (1 byte) and combine returns BF16 (2 bytes), as
# DeepSeek's DeepEP does (deepseek-ai/DeepEP README).
EP_BYTES_PER_VALUE = 3.0
# Non-matmul bytes of a forward pass: one third of the training figure (forward + backward).
FORWARD_SHARE = 1.0 / 3.0


@cache
def decode_context() -> pl.Expr:
    """Mean KV length over a request's decode: input + output / 2."""
    return pl.col("input_len") + pl.col("output_len") / 2.0


@term("_expert_style")
def expert_style(terms: Terms = WHOLE) -> pl.Expr:
    """An MoE replica served attention data parallel + expert parallel (see the module doc)."""
    mla = pl.col("kv_lora_rank").is_not_null()
    return is_moe() & (mla | (_f("tp") > pl.col("scaleup_size").cast(pl.Float64)))


@term("_kv_per_token")
def replica_kv_bytes_per_token(terms: Terms = WHOLE) -> pl.Expr:
    """KV cache bytes per token across a replica. Tensor parallel: each device holds at least one
    KV head, so with fewer KV heads than devices the heads are replicated (TensorRT-LLM and vLLM
    do so). Attention data parallel: each sequence lives on one device, stored once. An MLA
    model run with tensor-parallel attention (`attention_tp`, the engine's choice) holds its
    latent, one KV head, on every device: "DeepSeek models use MLA and only have one KV head. If
    we use tensor parallelism on 8 GPUs, it will lead to duplicated KV cache across all GPUs"
    (sgl-project/sglang docs/advanced_features/dp_dpa_smg_guide.md)."""
    heads = _f("kv_heads").clip(lower_bound=1.0)
    mla_tp = (
        pl.col("attention_tp").cast(pl.Boolean).fill_null(False)
        & pl.col("kv_lora_rank").is_not_null()
    )
    data_parallel = pl.when(mla_tp).then(_f("tp")).otherwise(1.0)
    tensor_parallel = pl.max_horizontal(_f("tp") / heads, 1.0)
    dup = pl.when(expert_style(terms)).then(data_parallel).otherwise(tensor_parallel)
    return kv_bytes_per_token() * dup


@term("_expert_gemm")
def expert_gemm_factor(terms: Terms = WHOLE) -> pl.Expr:
    """Share of the GEMM efficiency an MoE's expert GEMMs keep: n / (n + n_half) for an expert
    FFN width n per device (the whole expert under expert parallelism, 1/tp of it under tensor
    parallelism), since narrow grouped GEMMs sit further from the peak; 1 for dense models."""
    width = expert_params(terms) / (3.0 * _f("hidden") * _f("layers"))
    n = pl.when(expert_style(terms)).then(width).otherwise(width / _f("tp"))
    return pl.when(is_moe()).then(n / (n + pl.col("moe_gemm_half_dim"))).otherwise(1.0)


@term("_lat")
def decode_latency_seconds(terms: Terms = WHOLE) -> pl.Expr:
    """Fixed per-step latency: layers x collectives per layer x stage latency x log2(tp)."""
    tp = _f("tp").clip(lower_bound=1.0)
    return _z("layers") * COLLECTIVES_PER_LAYER * pl.col("collective_latency_s") * tp.log(2)


def _nonmatmul_bytes_per_token() -> pl.Expr:
    return FORWARD_SHARE * pl.col("nonmatmul_bytes") * _f("layers") * _f("hidden")


def _per_token_flops(context: pl.Expr, *, absorbed: bool) -> pl.Expr:
    """Seconds of peak compute per token on one device: 2 x active params at the precision's
    peak, attention over `context` at the BF16 peak."""
    attention = attention_flops_per_token(context, absorbed=absorbed)
    return 2.0 * pl.col("active_params") / pl.col("peak_flops") + attention / pl.col("bf16_flops")


@term("_coll_tok")
def collective_seconds_per_token(terms: Terms = WHOLE) -> pl.Expr:
    """Exposed collective time per token on the replica (the traffic is linear in tokens):
    tensor parallel, two all-reduces of each token's bf16 hidden vector per layer over the
    scale-up links; expert style, the dispatch and combine of every routed copy of its tokens,
    each device its share, over the scale-up links and, past the domain, the network (DeepEP
    reaches 39-46 GB/s per H800 over 50 GB/s NICs, so these are bandwidth-bound)."""
    allreduce = (
        COLLECTIVES_PER_LAYER * 2.0 * ring_factor("tp") * BF16_BYTES * _f("hidden")
    ) / pl.col("scaleup_bw")
    copies = routed_tokens_factor() * EP_BYTES_PER_VALUE * _f("hidden") / _f("tp")
    alltoall = copies * alltoall_seconds_per_byte("tp")
    per_layer = (
        pl.when(expert_style(terms))
        .then(pl.col("ep_serve_exposed") * alltoall)
        .otherwise(pl.col("tp_serve_exposed") * allreduce)
    )
    return _f("layers") * per_layer


@term("_pf_cmp")
def prefill_compute_seconds_per_token(terms: Terms = WHOLE) -> pl.Expr:
    """Device-seconds of compute per prompt token: 2 x active params at the precision's peak +
    causal attention over input_len / 2 at the BF16 peak, at the prefill GEMM efficiency."""
    eff = pl.col("pre_mfu") * expert_gemm_factor(terms)
    return _per_token_flops(pl.col("input_len") / 2.0, absorbed=False) / eff


@term("_pf_attn")
def prefill_attention_seconds_per_token(terms: Terms = WHOLE) -> pl.Expr:
    """The attention part of `prefill_compute_seconds_per_token`, at the same efficiency: causal
    attention over the prompt so far, charged at its mean position input_len / 2 (its FLOPs per
    token grow with position, so an 8K prompt's average token costs 8x a 1K one's). DeepSeek's
    MLA prefills as multi-head attention over decompressed K/V (d_qk = head_dim + rope_head_dim,
    d_v = head_dim), as `attention_flops_per_token(absorbed=False)` counts."""
    eff = pl.col("pre_mfu") * expert_gemm_factor(terms)
    attention = attention_flops_per_token(pl.col("input_len") / 2.0, absorbed=False)
    return attention / pl.col("bf16_flops") / eff


@term("_pf")
def prefill_seconds_per_token(terms: Terms = WHOLE) -> pl.Expr:
    """Device-seconds per prompt token in a prefill pool: the compute, the forward non-matmul
    work through HBM, and the exposed collective traffic of one token on every replica device."""
    memory = _nonmatmul_bytes_per_token() / pl.col("hbm_bw")
    return (
        prefill_compute_seconds_per_token(terms)
        + memory
        + collective_seconds_per_token(terms) * _f("tp")
    )


@term("_w_shared")
def _shared_weight_bytes(terms: Terms = WHOLE) -> pl.Expr:
    return (pl.col("total_params") - _z("experts") * expert_params(terms)) * pl.col(
        "bytes_per_param"
    )


@term("_w_expert")
def _expert_weight_bytes(terms: Terms = WHOLE) -> pl.Expr:
    return expert_params(terms) * pl.col("bytes_per_param")


@term("_kv_seq")
def _sequence_bytes(terms: Terms = WHOLE) -> pl.Expr:
    return decode_context() * replica_kv_bytes_per_token(terms) + _nonmatmul_bytes_per_token()


@term("_mem_bw")
def _memory_bandwidth(terms: Terms = WHOLE) -> pl.Expr:
    return _f("tp") * pl.col("hbm_bw") * pl.col("dec_eff")


@term("_cmp_tok")
def _decode_compute_seconds_per_token(terms: Terms = WHOLE) -> pl.Expr:
    decode_ratio = pl.when(is_moe()).then(pl.col("moe_decode_ratio")).otherwise(1.0)
    gemm_eff = pl.col("pre_mfu") * expert_gemm_factor(terms) * decode_ratio
    return _per_token_flops(decode_context(), absorbed=True) / (_f("tp") * gemm_eff)


@term("_experts")
def _experts(terms: Terms = WHOLE) -> pl.Expr:
    return _z("experts")


@term("_expert_missed")
def _expert_missed(terms: Terms = WHOLE) -> pl.Expr:
    """The chance one routed copy misses a given expert, 1 - k/E."""
    return 1.0 - _z("experts_active") / _z("experts")


@term("_pf_linear")
def _prompt_linear_seconds(terms: Terms = WHOLE) -> pl.Expr:
    """A prompt token's prefill compute but its attention (`mixed_step_seconds`)."""
    return pl.col("_pf_cmp") - pl.col("_pf_attn")


@term("_pf_rest")
def _prompt_rest_seconds(terms: Terms = WHOLE) -> pl.Expr:
    """A prompt token's prefill time but its linear-layer compute (`mixed_step_seconds`)."""
    return pl.col("_pf") - pl.col("_pf_cmp") + pl.col("_pf_attn")


def _weights_touched_bytes(b: pl.Expr, terms: Terms = WHOLE) -> pl.Expr:
    """Weight bytes a step of `b` tokens reads: the shared part plus, for an MoE, the experts the
    batch touches, E x (1 - (1 - k/E)^b) per layer in expectation (uniform routing)."""
    e, missed = _experts(terms), _expert_missed(terms)
    touched = pl.when(pl.col("_w_expert") > 0).then(e * (1.0 - missed.pow(b))).otherwise(0.0)
    return pl.col("_w_shared") + touched * pl.col("_w_expert")


def decode_step_seconds(batch: str | pl.Expr, terms: Terms = WHOLE) -> pl.Expr:
    """One decode step of `batch` sequences on a replica of `tp` devices (columns of
    `with_step_terms`): the fixed collective latency, the exposed collective traffic, and the
    roofline max(bytes read / (bandwidth x dec_eff), FLOPs / (peak x GEMM efficiency)): the
    decode efficiency derates the memory side, the prefill MFU the compute side. Bytes: the
    weights the batch touches (an MoE batch touches E x (1 - (1 - k/E)^batch) experts per layer
    in expectation, uniform routing), its KV cache and non-matmul work."""
    b = _c(batch)
    bytes_ = _weights_touched_bytes(b, terms) + b * pl.col("_kv_seq")
    roofline = pl.max_horizontal(bytes_ / pl.col("_mem_bw"), b * pl.col("_cmp_tok"))
    return pl.col("_lat") + roofline + b * pl.col("_coll_tok")


def mixed_step_seconds(batch: str | pl.Expr, terms: Terms = WHOLE) -> pl.Expr:
    """An aggregated step: the decode of `batch` sequences plus the prefill of the prompts that
    replace the finished ones, batch x input / output prompt tokens per step on the replica.
    With chunked prefill (TensorRT-LLM, vLLM, SGLang) the prompt chunks ride in the same step:
    their linear-layer FLOPs run in the same GEMMs as the decode tokens, so they fill the compute
    the memory-bound decode leaves idle (Agrawal et al. 2024, Sarathi-Serve, arXiv 2403.02310).
    Their attention does not: it is its own compute-bound kernel over the prompt's prefix, with
    no weight reads to hide under, so its time adds to the step (hidden under the weight reads,
    the 64 prompt tokens per device of an 8K/1K DeepSeek-R1 step at batch 64 on B200 added
    0.15 ms to it; their attention alone is 1.6 ms). Their memory traffic and collectives add
    too."""
    b = _c(batch)
    prompts = b * pl.col("input_len") / pl.col("output_len") / _f("tp")
    bytes_ = _weights_touched_bytes(b, terms) + b * pl.col("_kv_seq")
    compute = b * pl.col("_cmp_tok") + prompts * _prompt_linear_seconds(terms)
    roofline = pl.max_horizontal(bytes_ / pl.col("_mem_bw"), compute)
    rest = prompts * _prompt_rest_seconds(terms)
    return pl.col("_lat") + roofline + b * pl.col("_coll_tok") + rest


@term("_own_pf")
def own_prefill_seconds(terms: Terms = WHOLE) -> pl.Expr:
    """One prompt's prefill on a replica (columns of `with_step_terms`): its input tokens at the
    replica's prefill rate. A prefill pool's TTFT, and part of an aggregated one.

    Tensor parallel, every device runs its share of every layer of the prompt. Attention data
    parallel (`expert_style`), only the routed experts' work spreads over the replica: the
    prompt's attention and its non-expert layers run on the device that holds the sequence, as
    DeepSeek prefills ("Routed Expert EP32, MLA/Shared Expert DP32", open-infra-index day 6).
    Spread over the whole replica, a 3,989-token DeepSeek-V3 prompt on 144 H800 took 4.6 ms,
    where its non-expert ~15B active parameters alone take ~140 ms on one device (review9a #5)."""
    tp = _f("tp")
    spread = pl.col("_pf") * pl.col("input_len") / tp
    # What the replica cannot share: the non-expert compute runs whole on one device, not 1/tp
    # on each, and as wide GEMMs: without the narrow-expert factor `_pf_cmp` carries (review9c
    # #6: ~30 ms of DeepSeek-V3's 286).
    non_expert = pl.col("_pf_cmp") * _non_expert_share(terms) * pl.col("input_len")
    own = non_expert * (expert_gemm_factor(terms) - 1.0 / tp)
    return spread + pl.when(expert_style(terms)).then(own).otherwise(0.0)


@term("_non_expert")
def _non_expert_share(terms: Terms = WHOLE) -> pl.Expr:
    """The share of a prompt token's prefill compute that is not routed-expert GEMMs
    (`prefill_compute_seconds_per_token` at one efficiency: the split is of its FLOPs)."""
    routed = 2.0 * _z("experts_active") * expert_params(terms) / pl.col("peak_flops")
    whole = _per_token_flops(pl.col("input_len") / 2.0, absorbed=False)
    return 1.0 - routed / whole


def aggregated_ttft_seconds(batch: str | pl.Expr, terms: Terms = WHOLE) -> pl.Expr:
    """Time to first token on an aggregated replica running `batch` sequences, before any
    queueing: the prompt's own prefill plus one mixed step of the batch (its TPOT).

    Under continuous batching with chunked prefill the scheduler fills each step with the
    running sequences' decodes first and the waiting prompts' chunks in what is left of the
    step's token budget (vLLM, "Optimization and Tuning", Chunked Prefill,
    https://docs.vllm.ai/en/v0.14.0/configuration/optimization/; Sarathi-Serve, arXiv
    2403.02310; TensorRT-LLM and SGLang schedule in-flight batches the same way). A request's
    first token comes out at the end of the step that runs its last prompt chunk, and every
    step it rides in also runs the batch's decodes: TTFT is at least one mixed step, plus the
    compute its own prompt adds to the steps it rides in, which is at least its prefill at
    the replica's full prefill rate. So at a large batch the step dominates (DeepSeek-R1 at
    batch 8,053 was shown an 8 ms TTFT beside a 228 ms TPOT), and at a small one the prefill."""
    b = pl.max_horizontal(_c(batch), 1.0)
    return own_prefill_seconds(terms) + mixed_step_seconds(b, terms)


@cache
def kv_batch_cap(terms: Terms = WHOLE) -> pl.Expr:
    """Most concurrent sequences whose full-length KV cache fits beside the weights, capped by
    the engine's `max_batch` where given."""
    usable = pl.col("usable_hbm_fraction") * pl.col("hbm_bytes") * _f("tp")
    per_seq = (pl.col("input_len") + pl.col("output_len")) * replica_kv_bytes_per_token(terms)
    free = usable - weight_bytes()
    cap = pl.when(per_seq > 0).then((free / per_seq).floor()).otherwise(float(2**20))
    return pl.min_horizontal(cap, _f("max_batch").fill_null(float(2**30)))


# The batch-independent terms in the stages that work them out (`with_step_terms`), each
# stage reading the terms of those before it.
_STEP_STAGES = (
    (expert_params, expert_style, _experts, _expert_missed),
    (expert_gemm_factor, replica_kv_bytes_per_token, collective_seconds_per_token,
     decode_latency_seconds, _shared_weight_bytes, _expert_weight_bytes),
    (_sequence_bytes, _memory_bandwidth, _decode_compute_seconds_per_token,
     prefill_compute_seconds_per_token, prefill_attention_seconds_per_token, _non_expert_share),
    (prefill_seconds_per_token,),
    (own_prefill_seconds, _prompt_linear_seconds, _prompt_rest_seconds),
)  # fmt: skip


def with_step_terms(frame: Frame) -> tuple[Frame, Terms]:
    """`frame` with the batch-independent parts of a step as columns, computed once per row so
    the batch search evaluates only a few products per step, and the `Terms` they are:
    `_lat` fixed latency; `_w_shared`, `_w_expert` weight bytes (shared, one routed expert);
    `_kv_seq` bytes one sequence adds (KV cache over the mean context, non-matmul work);
    `_mem_bw` effective bandwidth of the replica; `_cmp_tok` compute seconds per token on the
    replica (MoE: at `moe_decode_ratio` of the prefill efficiency: small grouped GEMMs of the
    few tokens each expert gets in decode run well below contiguous prefill ones, as
    DeepGEMM's masked-layout tables show); `_coll_tok` exposed collective seconds per token;
    `_pf` prefill device-seconds per prompt token, `_pf_cmp` its compute part, `_pf_attn` the
    attention part of that; `_own_pf` one prompt's prefill on the replica; the parts of a step's
    prompts (`_pf_linear`, `_pf_rest`) and of the experts it touches (`_experts`,
    `_expert_missed`); and the shared parts of those (`expert_params`, `expert_style`,
    `expert_gemm_factor`, `replica_kv_bytes_per_token`, `_non_expert_share`)."""
    terms = WHOLE
    for stage in _STEP_STAGES:
        frame, terms = with_terms(frame, terms, *stage)
    return frame, terms


# 2**24 > any batch that fits in memory, so 24 halvings always pin the integer batch; a frame
# whose largest KV cap is smaller needs only log2 of it.
BISECTION_STEPS = 24


def bisection_steps(largest: float | None) -> int:
    """Halvings that pin an integer batch in [1, largest]: log2 of it, plus two."""
    return min(BISECTION_STEPS, int(math.log2(max(float(largest or 1), 1.0))) + 2)


def solve_batch(
    frame: pl.LazyFrame,
    steps_of: Mapping[str, Callable[[pl.Expr], pl.Expr]],
    steps: int,
    targets: Mapping[str, str] | None = None,
) -> pl.LazyFrame:
    """Adds, per `out: step` of `steps_of`, `out`: the largest integer batch in [1, kv_cap] whose
    `step` time (a function of the batch expression) meets its target column, `targets[out]`
    (default `tpot_s`; null target = no latency cap). `steps` vectorised bisection steps over
    the frame (`bisection_steps` of its largest kv_cap); 0 where even batch 1 misses the target
    or no KV fits. The batches are bisected side by side, each step one polars node for all of
    them (planning a node has a fixed cost). Lazy, so a caller chains the figures read from
    them into the same query."""
    cap = pl.col("kv_cap")
    target_of = {out: pl.col((targets or {}).get(out, "tpot_s")) for out in steps_of}
    names = {out: (f"_lo{i}", f"_hi{i}", f"_mid{i}", f"_ok{i}") for i, out in enumerate(steps_of)}
    df = frame.with_columns(
        **{lo: pl.lit(1.0) for lo, _, _, _ in names.values()},
        **{hi: cap.cast(pl.Float64).clip(lower_bound=1.0) for _, hi, _, _ in names.values()},
    )
    # Built once and reused by every step: the step-time expression is large, and evaluating it
    # once per step into a column keeps both Python and polars' planner work small.
    mids, oks, bounds = {}, {}, {}
    for out, (lo, hi, mid, ok) in names.items():
        mids[mid] = ((pl.col(lo) + pl.col(hi)) / 2.0).ceil()
        target = target_of[out]
        oks[ok] = target.is_null() | (steps_of[out](pl.col(mid)) <= target)
        bounds[lo] = pl.when(pl.col(ok)).then(pl.col(mid)).otherwise(pl.col(lo))
        bounds[hi] = pl.when(pl.col(ok)).then(pl.col(hi)).otherwise(pl.col(mid) - 1.0)
    for _ in range(steps):
        df = df.with_columns(**mids).with_columns(**oks).with_columns(**bounds)
    # Batch 1 missing the target means no batch meets it.
    df = df.with_columns(**{mid: pl.lit(1.0) for mid in mids}).with_columns(**oks)
    return df.with_columns(
        **{
            out: pl.when((cap >= 1) & pl.col(ok)).then(pl.col(lo)).otherwise(0.0)
            for out, (lo, _, _, ok) in names.items()
        }
    ).drop([c for group in names.values() for c in group])


@cache
def _peak_pools() -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """The devices the peak demand keeps busy, before whole replicas round them up: (aggregated,
    prefill pool, decode pool). See `replicas_for_demand`."""
    pta = pl.col("peak_to_average")
    in_s = pl.col("input_tokens_per_day").fill_null(0.0) * pta * (1.0 / SECONDS_PER_DAY)
    out_s = pl.col("output_tokens_per_day").fill_null(0.0) * pta * (1.0 / SECONDS_PER_DAY)
    g = pl.col("serve_goodput")
    shape = pl.col("input_len") / pl.col("output_len")
    extra_in = (in_s - out_s * shape).clip(lower_bound=0.0)
    work = out_s / pl.col("_aggregated_rate") + extra_in / pl.col("prefill_tokens_per_s_per_device")
    prefill = in_s / pl.col("prefill_tokens_per_s_per_device") / g
    return work / g, prefill, out_s / pl.col("decode_tokens_per_s_per_device") / g


def _has_demand() -> pl.Expr:
    return pl.any_horizontal(
        pl.col("input_tokens_per_day").is_not_null(), pl.col("output_tokens_per_day").is_not_null()
    )


def devices_for_peak() -> pl.Expr:
    """The devices the peak demand keeps busy, unrounded: what `replicas_for_demand` rounds up to
    whole replicas (of each pool, when disaggregated). Null without a demand. The
    `idle-serving-capacity` check reads it, so the share it judges is the sizing's own figure
    (rev16c Q1: the check had its own copy of the formula, which read the pooled rate of a
    disaggregated phase)."""
    together, prefill, decode = _peak_pools()
    busy = pl.when(pl.col("disaggregated")).then(prefill + decode).otherwise(together)
    return pl.when(_has_demand()).then(busy).otherwise(None)


def demand_output_rate() -> pl.Expr:
    """Output tokens/s per device at the demand's own input per output token: the rate the
    fleet is sized at, so that the peak output/s over the serving goodput over it is the devices
    the peak keeps busy (`devices_for_peak`, before whole replicas of each pool round them up).
    It differs from the shape's `output_tokens_per_s_per_device` when the demand has more input
    per output token than the request shape (rev18a #9: 811.6 shown at a 4:1 shape, 16
    devices billed at the demand's 5:1, about 695). Null without a demand."""
    together, prefill, decode = _peak_pools()
    busy = pl.when(pl.col("disaggregated")).then(prefill + decode).otherwise(together)
    out_s = pl.col("output_tokens_per_day").fill_null(0.0) * pl.col("peak_to_average")
    rate = out_s * (1.0 / SECONDS_PER_DAY) / (busy * pl.col("serve_goodput"))
    return pl.when(_has_demand() & (busy > 0)).then(rate).otherwise(None)


# The unrounded devices of each pool (`_peak_pools`), kept beside the serving columns so the
# `idle-serving-capacity` advice sizes its alternatives with `whole_replicas`, not a copy.
PEAK_POOL_COLUMNS = ("_peak_together", "_peak_prefill", "_peak_decode")


def peak_pool_devices() -> dict[str, pl.Expr]:
    """`PEAK_POOL_COLUMNS`: the devices the peak keeps busy aggregated, in the prefill pool and
    in the decode pool, before whole replicas round them up. Null without a demand."""
    return {
        name: pl.when(_has_demand()).then(x).otherwise(None)
        for name, x in zip(PEAK_POOL_COLUMNS, _peak_pools(), strict=True)
    }


def whole_replicas(
    together: pl.Expr, prefill: pl.Expr, decode: pl.Expr, tp: pl.Expr, disaggregated: pl.Expr
) -> pl.Expr:
    """The sizing's one rounding: whole replicas of `tp` devices for the devices the peak keeps
    busy, at least one (of each pool, each rounded on its own, when disaggregated)."""
    prefill, decode, together = (
        (x / tp).ceil().clip(lower_bound=1.0) for x in (prefill, decode, together)
    )
    return pl.when(disaggregated).then(prefill + decode).otherwise(together)


def devices_for(pools: tuple[float, float, float], replica: int, disaggregated: bool) -> int:
    """The devices the sizing needs for `pools` (the `PEAK_POOL_COLUMNS` of a row) in whole
    replicas of `replica` devices: `whole_replicas` itself, evaluated on the figures given (rev16d
    M1: the idle-serving advice rounded the pools' sum, not each pool, and named 8 devices
    where the sizing needs 12)."""
    together, prefill, decode = (pl.lit(float(x), dtype=pl.Float64) for x in pools)
    reps = pl.select(
        whole_replicas(together, prefill, decode, pl.lit(float(replica)), pl.lit(disaggregated))
    ).item()
    return int(reps) * replica


def replicas_for_demand() -> pl.Expr:
    """Replicas for the peak demand (tokens/day x peak_to_average / 86,400 s), derated by the
    serving goodput (restarts, deploys). Aggregated: output/s over the aggregated output rate
    (the figure shown, which includes each request's own prefill), plus the input the demand
    has beyond the request shape's at the prefill rate (scaling the whole fleet by the input
    ratio charged decode for it too: 584 devices where 236 + the extra prefill's ~160 do); a
    demand with less input than the shape is not credited. Disaggregated: whole replicas of
    each pool at its own rate (`whole_replicas`)."""
    together, prefill, decode = _peak_pools()
    reps = whole_replicas(together, prefill, decode, _f("tp"), pl.col("disaggregated"))
    return pl.when(_has_demand()).then(reps.cast(pl.Int64)).otherwise(None)
