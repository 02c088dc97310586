"""Training step time and memory as polars expressions over one row per parallel layout.

A layout row has `tp` (tensor parallel), `pp` (pipeline stages), `ep` (expert parallel, MoE),
`cp` (context parallel), `dp` (data-parallel replicas = devices / (tp x pp x cp)), `vp`
(interleaved stages per device), `m` (micro-batches per pipeline per step) and `rfull` (the
share of layers whose activations are recomputed in full, 0-1). `physics.training` builds the
candidate layouts and keeps the fastest that fits.

Device-seconds per trained token (summed over every device) =
    (GEMMs + attention + memory-bound work + tensor-, expert- and context-parallel traffic)
    x (1 + pipeline bubble) + data-parallel gradient traffic.
The constants (GEMM efficiency, the exposed share of each collective, the memory-bound bytes)
are columns filled from efficiency.csv and defaults.csv, where their sources live. Builders
without arguments are cached: an expression is immutable, and building the large ones anew
for every frame costs more than evaluating them.
"""

from __future__ import annotations

from functools import cache

import polars as pl

from estimator.physics.formulas import (
    ADAM_MIXED_BYTES_PER_PARAM,
    BF16_BYTES,
    OPTIMIZER_BYTES_PER_PARAM,
    WEIGHT_GRAD_BYTES_PER_PARAM,
    WHOLE,
    Terms,
    _c,
    _f,
    _z,
    alltoall_seconds_per_byte,
    attention_flops_per_token,
    ring_factor,
    routed_params,
    routed_tokens_factor,
    term,
)

# Activations a layer keeps per token per hidden element, in bytes, with sequence parallelism
# and FlashAttention (Korthikanti et al. 2022, arXiv 2205.05198 s4, eq. (2) without the 5as/h
# score term, which FlashAttention never stores): 34 without recomputation or with the
# selective kind (which only recomputes that score term, so the two cost the same here); a layer
# recomputed in full keeps its input (2) and rebuilds the rest in the backward pass, one layer at
# a time (Megatron's `recompute_num_layers` recomputes some layers in full).
ACT_BYTES_KEPT = 34.0
ACT_BYTES_FULL = 2.0
# Megatron tensor parallelism: two all-reduces in the forward pass and two in the backward per
# layer (Shoeybi et al. 2019, arXiv 1909.08053 s3); with sequence parallelism each becomes an
# all-gather plus a reduce-scatter of the same volume (arXiv 2205.05198 s4.2.2).
TP_ALLREDUCES_PER_LAYER = 4.0
# Expert parallelism: dispatch and combine of each routed token copy, forward and backward.
EP_ALLTOALLS_PER_LAYER = 4.0
# Context parallelism as Megatron-Core runs it (Transformer Engine ring attention, P2P): per layer
# the forward pass passes each rank's keys and values around the cp ranks, and the backward pass
# passes them again with their gradients (3 transfers of K and V); each step sends the next
# block while attention runs on the current one (Liu et al. 2023, Ring Attention, arXiv
# 2310.01889), so only what the attention over the other cp - 1 blocks does not cover is exposed.
CP_TRANSFERS_PER_LAYER = 3.0
# Data parallelism with the distributed optimizer: reduce-scatter of fp32 gradients (4 bytes)
# and all-gather of bf16 weights (2 bytes) per step (Megatron-LM distributed optimizer).
DP_BYTES_PER_PARAM = 6.0


# --- FLOPs ---------------------------------------------------------------------------------------


def training_linear_flops(tokens: str | pl.Expr | float = "tokens") -> pl.Expr:
    """6 x active params x tokens (forward 2 + backward 4; Kaplan et al. 2020)."""
    return 6.0 * pl.col("active_params") * _c(tokens)


def training_attention_flops(
    tokens: str | pl.Expr | float = "tokens", seq_len: str | pl.Expr | float = "seq_len"
) -> pl.Expr:
    """Causal attention, forward + backward = 3 x forward, mean context seq_len / 2:
    3 x 2 x L x H x (d_qk + d_v) x seq/2 per token (= 6 L s H d for d_qk = d_v = d)."""
    return 3.0 * attention_flops_per_token(_c(seq_len) / 2.0) * _c(tokens)


@cache
def training_flops() -> pl.Expr:
    """Model FLOPs of the run (what MFU counts): no recomputation."""
    return training_linear_flops() + training_attention_flops()


# --- memory --------------------------------------------------------------------------------------


@term("_seq_h")
def seq_h(terms: Terms = WHOLE) -> pl.Expr:
    """Tokens x hidden of one micro-batch (1 sequence) on one device: split over tp and cp."""
    return _f("seq_len") * _f("hidden") / (_f("tp") * _f("cp"))


def _plain_layers() -> pl.Expr:
    return (_f("layers") / _f("pp")).ceil()


def _slots() -> pl.Expr:
    """Stage slots of a rebalanced split: the layers plus the embedding and the output layer,
    one slot each, on `pp` stages."""
    return ((_f("layers") + 2.0) / _f("pp")).ceil()


def _rebalanced() -> pl.Expr:
    """Whether the busiest stage is lighter with the first and last stages one layer fewer (their
    embedding and output layer in its place, as Megatron's account_for_embedding/loss_in_
    pipeline_split and the recipes calibration_train.csv marks `pipeline_rebalanced` do):
    Qwen3's 94 layers on 8 stages run as 11, 12 x 6, 11, Llama 3 405B's 126 on 16 as 7, 8 x 14,
    7. Only from 3 stages: with 2 both are first or last."""
    plain = _plain_layers() * _f("pp") / _f("layers")
    balanced = _slots() * _f("pp") / (_f("layers") + 2.0)
    return (_f("pp") >= 3.0) & (balanced < plain)


@term("_stage_layers")
def stage_layers(terms: Terms = WHOLE) -> pl.Expr:
    """Layers on the busiest pipeline stage. Stages hold whole layers: where pp does not divide
    them some hold one more (Megatron's uneven split), or, where that is lighter, the first and
    last stages hold one fewer (`_rebalanced`); the pipeline runs at the pace of the busiest."""
    return pl.when(_rebalanced()).then(_slots()).otherwise(_plain_layers())


@cache
def stage_layers_min() -> pl.Expr:
    """Layers on the lightest stage (`stage_layers` where the split is even)."""
    plain = (_f("layers") / _f("pp")).floor()
    edge = ((_f("layers") + 2.0) / _f("pp")).floor() - 1.0
    return pl.when(_rebalanced()).then(edge).otherwise(plain)


@cache
def chunk_layers(terms: Terms = WHOLE) -> pl.Expr:
    """Layers of the largest virtual stage (interleaved chunk): the busiest stage's whole
    layers in `vp` chunks."""
    return (stage_layers(terms) / _f("vp")).ceil()


@term("_imbalance")
def stage_imbalance(terms: Terms = WHOLE) -> pl.Expr:
    """The busiest stage's work over the mean (1 where the split is even): every stage waits for
    it each micro-batch. A rebalanced split counts the embedding and the output layer as a
    layer's work each, which the first and last stages carry in place of one."""
    plain = _plain_layers() * _f("pp") / _f("layers")
    balanced = _slots() * _f("pp") / (_f("layers") + 2.0)
    return pl.when(_rebalanced()).then(balanced).otherwise(plain)


@term("_held_layers")
def held_layers(terms: Terms = WHOLE) -> pl.Expr:
    """Layers whose activations the busiest stage keeps under 1F1B: `pp` micro-batches of its
    own layers (all the layers when the split is even)."""
    return stage_layers(terms) * _f("pp")


@cache
def activations_kept(terms: Terms = WHOLE) -> pl.Expr:
    """Activations of one micro-batch of every layer without full recomputation. Under 1F1B the
    first stage keeps `pp` micro-batches of layers / pp layers, i.e. this much (of its own
    layers, one more each where the split is uneven)."""
    return ACT_BYTES_KEPT * held_layers(terms) * seq_h(terms)


@cache
def activation_bytes_per_device(terms: Terms = WHOLE) -> pl.Expr:
    """Activations with a share `rfull` of the layers recomputed in full."""
    r = _f("rfull")
    per_layer = (1.0 - r) * ACT_BYTES_KEPT + r * ACT_BYTES_FULL
    working = pl.when(r > 0).then(ACT_BYTES_KEPT).otherwise(0.0)
    return (per_layer * held_layers(terms) + working) * seq_h(terms)


@cache
def state_room(terms: Terms = WHOLE) -> pl.Expr:
    """Device memory left for activations after this stage's weights and gradients and the
    optimizer shard."""
    return usable_bytes() - stage_weight_grad_bytes(terms) - optimizer_bytes_per_device(terms)


@cache
def recompute_share_needed(terms: Terms = WHOLE) -> pl.Expr:
    """The smallest share r of layers to recompute in full for the activations to fit: the
    activations are kept - r x (kept - inputs) + one layer's working set (once r > 0), so
    r = (kept + working - room) / (kept - inputs); 0 when they fit as kept, capped at 1 (then
    they may still not fit: see `memory_per_device`)."""
    kept = activations_kept(terms)
    inputs = ACT_BYTES_FULL * held_layers(terms) * seq_h(terms)
    working = ACT_BYTES_KEPT * seq_h(terms)
    room = state_room(terms)
    need = (kept + working - room) / (kept - inputs)
    return pl.when(kept <= room).then(0.0).otherwise(need.clip(lower_bound=0.0, upper_bound=1.0))


@cache
def weight_grad_bytes_per_stage(terms: Terms = WHOLE) -> pl.Expr:
    """Weights + gradients of one pipeline stage's worth of the model on one device, times pp:
    dense parts split over tp, routed experts over tp x ep."""
    dense = pl.col("total_params") - routed_params(terms)
    return WEIGHT_GRAD_BYTES_PER_PARAM * (dense + routed_params(terms) / _f("ep")) / _f("tp")


@term("_stage_weight_grad")
def stage_weight_grad_bytes(terms: Terms = WHOLE) -> pl.Expr:
    """Weights and gradients on one device of the busiest stage: its share of the layers."""
    return weight_grad_bytes_per_stage(terms) * stage_layers(terms) / _f("layers")


@term("_optimizer")
def optimizer_bytes_per_device(terms: Terms = WHOLE) -> pl.Expr:
    """fp32 master weights and Adam moments, sharded over every device."""
    return OPTIMIZER_BYTES_PER_PARAM * pl.col("total_params") / _f("devices")


@cache
def usable_bytes() -> pl.Expr:
    return pl.col("usable_hbm_fraction") * pl.col("hbm_bytes")


@cache
def memory_per_device(terms: Terms = WHOLE) -> pl.Expr:
    """Bytes one device holds: its stage's weights and gradients, the optimizer shard and the
    activations."""
    return (
        stage_weight_grad_bytes(terms)
        + optimizer_bytes_per_device(terms)
        + activation_bytes_per_device(terms)
    )


@cache
def min_training_devices() -> pl.Expr:
    """Smallest device count that holds the training state: the 16 bytes per parameter sharded
    over every device (tensor x pipeline parallel, no replicas) plus one micro-batch's
    activations with full recomputation over the tensor-parallel group (the scale-up domain).
    Below the scale-up size, d >= (state + act) / usable; above, d >= state / (usable - act / s).
    Null where it cannot fit at any count."""
    usable = usable_bytes()
    state = ADAM_MIXED_BYTES_PER_PARAM * pl.col("total_params")
    act = (ACT_BYTES_FULL * _f("layers") + ACT_BYTES_KEPT) * _f("seq_len") * _f("hidden")
    s = pl.col("scaleup_size").cast(pl.Float64)
    small = ((state + act) / usable).ceil().clip(lower_bound=1.0)
    room = usable - act / s
    large = pl.when(room > 0).then((state / room).ceil()).otherwise(None)
    big = pl.when(large.is_not_null()).then(pl.max_horizontal(large, s))
    return pl.when(small <= s).then(small).otherwise(big).cast(pl.Int64)


# --- time per token ------------------------------------------------------------------------------


@cache
def gemm_efficiency() -> pl.Expr:
    """Achieved share of the precision's peak on the linear-layer GEMMs: the device's large-GEMM
    efficiency (`mfu`), lower for narrow matrices (hidden / tp per device) by n / (n + n_half),
    and for FP8 by the FP8 ratio (scaling, casts and smaller tiles keep FP8 GEMMs further from
    their doubled peak)."""
    n = _f("hidden") / _f("tp")
    return pl.col("mfu") * n / (n + pl.col("gemm_half_dim")) * pl.col("precision_ratio")


def _again(share_of_pass: float) -> pl.Expr:
    """1 + the work a full recomputation repeats: `share_of_pass` of it per recomputed layer."""
    return 1.0 + _f("rfull") * share_of_pass


@cache
def compute_seconds(terms: Terms = WHOLE) -> pl.Expr:
    """GEMMs at the precision's peak and attention at the BF16 peak (FP8 only speeds up the
    linear layers; DeepSeek-V3 s3.3 keeps attention in BF16); a layer recomputed in full repeats
    its forward pass, 1/3 of forward + backward."""
    lin = 6.0 * pl.col("active_params") * _again(1.0 / 3.0)
    return lin / (pl.col("peak_flops") * gemm_efficiency()) + attention_seconds(terms)


@term("_attention_flops")
def attention_flops_per_trained_token(terms: Terms = WHOLE) -> pl.Expr:
    """`training_attention_flops` of one token (the model and the sequence length alone)."""
    return training_attention_flops(1.0)


@term("_attention_s")
def attention_seconds(terms: Terms = WHOLE) -> pl.Expr:
    """The attention part of `compute_seconds`: causal attention, forward and backward, at
    `attention_ratio` of the GEMM efficiency on the BF16 peak."""
    att = attention_flops_per_trained_token(terms) * _again(1.0 / 3.0)
    return att / (pl.col("bf16_flops") * pl.col("mfu") * pl.col("attention_ratio"))


@cache
def memory_bound_seconds(terms: Terms = WHOLE) -> pl.Expr:
    """Non-matmul work (norms, activations, residuals, casts, rotary; and for MoE the permutation
    of each routed copy) as bytes through HBM per token: `nonmatmul_bytes` x layers x hidden,
    plus `moe_bytes` (the token dispatcher's: `TrainSettings.moe_dispatcher`) x layers x hidden
    x experts per token; full recomputation redoes the forward third."""
    per_token = (
        _f("layers")
        * _f("hidden")
        * (pl.col("nonmatmul_bytes") + pl.col("moe_bytes") * routed_tokens_factor(terms))
    )
    return per_token * _again(1.0 / 3.0) / pl.col("hbm_bw")


@term("_tp_s")
def tensor_parallel_seconds(terms: Terms = WHOLE) -> pl.Expr:
    """Device-seconds per token of the exposed tensor-parallel traffic: each of the tp devices
    sends ring_factor x 2 all-reduce halves of a bf16 hidden vector per collective over the
    scale-up link; full recomputation repeats the forward pair."""
    per_layer = TP_ALLREDUCES_PER_LAYER * 2.0 * ring_factor("tp") * BF16_BYTES * _f("hidden")
    sent = per_layer * _f("layers") * _again(1.0 / 2.0) * _f("tp")
    return pl.col("tp_comm_exposed") * sent / pl.col("scaleup_bw")


@term("_ep_s")
def expert_parallel_seconds(terms: Terms = WHOLE) -> pl.Expr:
    """Device-seconds per token of the exposed all-to-all: every routed copy of a token's bf16
    hidden vector is dispatched and combined, forward and backward, over the ep group (the part
    outside the scale-up domain on the network)."""
    copies = EP_ALLTOALLS_PER_LAYER * routed_tokens_factor(terms) * BF16_BYTES * _f("hidden")
    per_byte = alltoall_seconds_per_byte("ep", "tp")
    moved = pl.when(_f("ep") > 1).then(copies * _f("layers") * per_byte).otherwise(0.0)
    return pl.col("ep_comm_exposed") * moved


@term("_cp_s")
def context_parallel_seconds(terms: Terms = WHOLE) -> pl.Expr:
    """Device-seconds per token of the exposed context-parallel K/V traffic. Each of a sequence's
    tp x cp devices sends ring_factor(cp) of the whole sequence's K and V of its heads per
    transfer, so summed over them a token costs (cp - 1) x its K and V bytes per transfer and
    layer. K and V are per head as attention reads them (MLA's up-projected keys and values, not
    its latent); KV heads fewer than tp are replicated over the tensor-parallel ranks. Over the
    scale-up links when the tp x cp group fits one domain, else the network. The attention on
    the other cp - 1 blocks hides as much (with grouped-query attention and thousands of tokens
    per rank, all of it); 0 without context parallelism."""
    mla = pl.col("kv_lora_rank").is_not_null()
    kv_heads = pl.coalesce(_f("kv_heads"), _f("heads"))
    values = (
        pl.when(mla)
        .then(_z("heads") * (2.0 * _z("head_dim") + _z("rope_head_dim")))
        .otherwise(2.0 * pl.max_horizontal(kv_heads, _f("tp")) * _z("head_dim"))
    )
    per_layer = CP_TRANSFERS_PER_LAYER * (_f("cp") - 1.0) * values * BF16_BYTES
    bw = (
        pl.when(_f("tp") * _f("cp") <= pl.col("scaleup_size").cast(pl.Float64))
        .then(pl.col("scaleup_bw"))
        .otherwise(pl.col("scaleout_bw"))
    )
    # A layer recomputed in full passes its K and V again in the repeated forward pass.
    sent = per_layer * _f("layers") * _again(1.0 / 3.0) / bw
    hidden = attention_seconds(terms) * (_f("cp") - 1.0) / _f("cp")
    return (sent - hidden).clip(lower_bound=0.0)


@term("_dp_s")
def data_parallel_seconds(terms: Terms = WHOLE) -> pl.Expr:
    """Device-seconds per token of the exposed gradient reduce-scatter and weight all-gather:
    each device moves ring_factor x 6 bytes per parameter it holds once per step, and a step
    trains `step_batch_tokens` over all devices. Within one scale-up domain it rides the
    scale-up links, otherwise the network."""
    dense = pl.col("total_params") - routed_params(terms)
    held = (dense + routed_params(terms) / _f("ep")) / (_f("tp") * _f("pp"))
    bw = (
        pl.when(_f("devices") <= pl.col("scaleup_size").cast(pl.Float64))
        .then(pl.col("scaleup_bw"))
        .otherwise(pl.col("scaleout_bw"))
    )
    per_step = DP_BYTES_PER_PARAM * ring_factor(_f("dp") * _f("cp")) * held / bw
    return pl.col("dp_comm_exposed") * per_step * _f("devices") / pl.col("step_batch_tokens")


def busiest_micro_batches() -> pl.Expr:
    """Micro-batches the busiest data-parallel replica runs per step (`m_busiest`, set with `m`
    by the layout's evaluation): where the replicas do not divide a fixed global batch's
    sequences (m = 4,096 / 3,125 = 1.31), some run one more, and the step waits for them."""
    return _f("m_busiest")


@term("_bubble")
def bubble_fraction(terms: Terms = WHOLE) -> pl.Expr:
    """Pipeline bubble of interleaved 1F1B: (pp - 1) / (m x vp) of the compute time
    (Narayanan et al. 2021, arXiv 2104.04473 s2.2), m the busiest replica's micro-batches. The
    warm-up and drain pass the largest virtual stage, the steady state the busiest stage: where
    the layers do not split evenly, the bubble is (pp - 1) x chunk / (m x stage) of the busiest
    stage's time (both in layers), which is the formula above when they do."""
    ratio = chunk_layers(terms) * _f("vp") / stage_layers(terms)
    return (_f("pp") - 1.0) * ratio / (busiest_micro_batches() * _f("vp"))


@term("_staged_share")
def staged_share(terms: Terms = WHOLE) -> pl.Expr:
    """A step's staged time over the time of its tokens spread evenly over the replicas: the
    busiest replica's micro-batches over the mean, the busiest stage's layers over the mean,
    with the pipeline bubble on top."""
    uneven = busiest_micro_batches() / _f("m").clip(lower_bound=1.0)
    return uneven * stage_imbalance(terms) * (1.0 + bubble_fraction(terms))


@cache
def seconds_per_token(terms: Terms = WHOLE) -> pl.Expr:
    """Device-seconds per trained token while running (before goodput)."""
    staged = (
        compute_seconds(terms)
        + memory_bound_seconds(terms)
        + tensor_parallel_seconds(terms)
        + expert_parallel_seconds(terms)
        + context_parallel_seconds(terms)
    )
    return staged * staged_share(terms) + data_parallel_seconds(terms)


@cache
def communication_seconds(terms: Terms = WHOLE) -> pl.Expr:
    """The exposed collective time in `seconds_per_token` (shown as a share)."""
    staged = (
        tensor_parallel_seconds(terms)
        + expert_parallel_seconds(terms)
        + context_parallel_seconds(terms)
    )
    return staged * staged_share(terms) + data_parallel_seconds(terms)


@cache
def effective_mfu() -> pl.Expr:
    """Model FLOPs (incl. attention) per device-second over the precision's peak, while running."""
    return (
        pl.col("flops")
        / (pl.col("device_hours") * 3600.0 * pl.col("goodput"))
        / pl.col("peak_flops")
    )


@cache
def max_training_devices() -> pl.Expr:
    """The most devices a deadline may size: data-parallel replicas (largest global batch /
    seq_len) x the smallest model-parallel group (the minimum devices that hold the model). A
    given count may exceed it with wider groups (rev13a #9: 100,000 H100 ran an 8B model with
    none idle beside a `max_devices` of 32,768)."""
    replicas = (pl.col("max_global_batch_tokens") / pl.col("seq_len")).floor()
    return (replicas * pl.col("min_devices")).cast(pl.Int64)


# Headroom when sizing for a deadline: more devices add a little communication, so a count
# computed from the hours at a smaller count would miss the deadline by a hair.
DEADLINE_HEADROOM = 1.005


def devices_for_deadline(hours: str = "device_hours") -> pl.Expr:
    """Devices to finish `hours` device-hours within deadline_days (at least min_devices)."""
    need = (pl.col(hours) * DEADLINE_HEADROOM / (pl.col("deadline_days") * 24.0)).ceil()
    return pl.max_horizontal(need, pl.col("min_devices")).cast(pl.Int64)
