"""Workload physics shared by training and serving, as polars expressions over columns.

Every formula is written once, as arithmetic on columns, so one code path prices a single
scenario (a one-row frame) and a sweep over millions of candidate rows. Training step time is in
`physics.trainstep`, serving step time in `physics.servestep`; `physics.inputs` joins the
catalog figures these read. No money, no catalog, no I/O here.

Column conventions (SI units: FLOP, FLOP/s, bytes, bytes/s, seconds):

model     active_params, total_params, layers, hidden, heads, kv_heads, head_dim, experts,
          experts_active, kv_lora_rank, rope_head_dim (the shape is always known: a custom model
          gets an inferred one, see `physics.model.infer_shape`; MoE and MLA fields may be null)
device    peak_flops (at the phase precision), bf16_flops, hbm_bytes, hbm_bw, scaleup_size,
          scaleup_bw and scaleout_bw (bytes/s each way per device)
settings  tokens, seq_len, mfu, goodput, devices, input_len, output_len, tpot_s, ...
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Protocol, TypeVar

import polars as pl

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

# Mixed-precision Adam: fp16/bf16 weights (2) + fp16/bf16 gradients (2) + fp32 master weights,
# momentum and variance (4 + 4 + 4) = 16 bytes per parameter. ZeRO (Rajbhandari et al. 2020,
# arXiv 1910.02054, s3.1 "K = 12" plus 2 + 2).
ADAM_MIXED_BYTES_PER_PARAM = 16.0
# Of those, the weights and gradients (2 + 2) live on every device that holds a layer; the fp32
# optimizer state (12) is sharded over the data-parallel ranks (Megatron's distributed
# optimizer, ZeRO stage 1).
WEIGHT_GRAD_BYTES_PER_PARAM = 4.0
OPTIMIZER_BYTES_PER_PARAM = 12.0
SECONDS_PER_DAY = 86_400.0
BF16_BYTES = 2.0


# Terms: the shared sub-terms a formula reads as columns of the frame rather than builds inline.
# A step-time formula repeats large sub-trees (the busiest stage's layers, the attention time,
# each collective's time appear in several of its parts), and a polars query costs per node of
# its expressions (planning them, and running each on every batch of rows): an evaluation
# works such a term out once as a column (`with_terms`) and builds the formulas that read it
# with its name in `Terms`. The values are the same either way: the same expression, computed
# once. Without `Terms` (the default) a formula is whole, over the frame's input columns alone.
Terms = frozenset[str]
WHOLE: Terms = frozenset()


class Term(Protocol):
    """A formula some others read as a column of the frame (`term`)."""

    column: str

    def __call__(self, terms: Terms = WHOLE) -> pl.Expr: ...


def term(column: str) -> Callable[[Callable[[Terms], pl.Expr]], Term]:
    """A formula kept as `column` once an evaluation has worked it out (`with_terms`): the
    column where `terms` names it, else the formula, itself built over `terms`. Cached per
    `terms`: an expression is immutable, and building the large ones anew for every frame costs
    more than evaluating them."""

    def wrap(formula: Callable[[Terms], pl.Expr]) -> Term:
        @cache
        def built(terms: Terms = WHOLE) -> pl.Expr:
            return pl.col(column) if column in terms else formula(terms)

        built.column = column  # type: ignore[attr-defined]
        built.__doc__ = formula.__doc__
        return built  # type: ignore[return-value]

    return wrap


def with_terms(frame: Frame, terms: Terms, *formulas: Term, **more: pl.Expr) -> tuple[Frame, Terms]:
    """`frame`, which has the columns `terms` names, with `formulas` worked out as their
    columns in one with_columns stage (beside `more`), and the terms it then has. A formula
    reads only the terms of earlier stages: those of its own are built inline."""
    stage = {t.column: t(terms) for t in formulas}
    return frame.with_columns(**stage, **more), terms | set(stage)


def _c(x: str | pl.Expr | float) -> pl.Expr:
    if isinstance(x, pl.Expr):
        return x
    if isinstance(x, str):
        return pl.col(x)
    return pl.lit(float(x))


def _z(name: str) -> pl.Expr:
    """An optional architecture column, 0 where unknown."""
    return pl.col(name).cast(pl.Float64).fill_null(0.0)


def _f(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64)


# --- attention -----------------------------------------------------------------------------------


def attention_flops_per_token(context: str | pl.Expr | float, *, absorbed: bool = False) -> pl.Expr:
    """Forward FLOPs for one token attending to `context` keys, over all layers:
    scores (2 x d_qk per key and head) + weighted values (2 x d_v), i.e.
    2 x layers x heads x (d_qk + d_v) x context.

    Standard/GQA: d_qk = d_v = head_dim. MLA (DeepSeek, kv_lora_rank set): during training and
    prefill d_qk = head_dim + rope_head_dim, d_v = head_dim; in decode with the absorbed weights
    (`absorbed=True`) attention runs in the latent space, d_qk = kv_lora_rank + rope_head_dim,
    d_v = kv_lora_rank (DeepSeek-V2 arXiv 2405.04434 s2.1.2)."""
    mla = pl.col("kv_lora_rank").is_not_null()
    hd, rope, lora = _z("head_dim"), _z("rope_head_dim"), _z("kv_lora_rank")
    if absorbed:
        dims = pl.when(mla).then(2 * lora + rope).otherwise(2 * hd)
    else:
        dims = pl.when(mla).then(2 * hd + rope).otherwise(2 * hd)
    return 2.0 * _z("layers") * _z("heads") * dims * _c(context)


# --- weights and experts -------------------------------------------------------------------------


def weight_bytes() -> pl.Expr:
    return pl.col("total_params") * pl.col("bytes_per_param")


def checkpoint_bytes() -> pl.Expr:
    """A resumable checkpoint: 16-bit weights + fp32 master, momentum, variance = 14 B/param
    (the ZeRO breakdown above, without the gradients, which are not saved)."""
    return (ADAM_MIXED_BYTES_PER_PARAM - 2.0) * pl.col("total_params")


def is_moe() -> pl.Expr:
    e, k = _z("experts"), _z("experts_active")
    return (e > k) & (k > 0) & (pl.col("total_params") > pl.col("active_params"))


@term("_expert_params")
def expert_params(terms: Terms = WHOLE) -> pl.Expr:
    """Parameters of one routed expert summed over layers: (total - active) / (E - k);
    0 for dense models."""
    e, k = _z("experts"), _z("experts_active")
    return (
        pl.when(is_moe())
        .then((pl.col("total_params") - pl.col("active_params")) / (e - k))
        .otherwise(0.0)
    )


@term("_routed_params")
def routed_params(terms: Terms = WHOLE) -> pl.Expr:
    """All routed-expert parameters (E x one expert); the rest (attention, embeddings, shared
    experts, dense layers) is held by every expert-parallel rank."""
    return _z("experts") * expert_params(terms)


@term("_routed_tokens")
def routed_tokens_factor(terms: Terms = WHOLE) -> pl.Expr:
    """Copies of each token an MoE layer moves (experts per token); 0 for dense models."""
    return pl.when(is_moe()).then(_z("experts_active")).otherwise(0.0)


# --- KV cache ------------------------------------------------------------------------------------


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


# --- collectives ---------------------------------------------------------------------------------


def ring_factor(group: str | pl.Expr) -> pl.Expr:
    """Bytes each member sends per byte of an all-gather or reduce-scatter over `group`
    devices in a ring: (g - 1) / g (Thakur, Rabenseifner & Gropp 2005). An all-reduce is one of
    each, 2 (g - 1) / g."""
    g = _c(group).cast(pl.Float64).clip(lower_bound=1.0)
    return (g - 1.0) / g


def cross_node_share(group: str | pl.Expr, inner: str | pl.Expr | float = 1.0) -> pl.Expr:
    """Share of an all-to-all over `group` ranks (each `inner` devices wide) that leaves the
    scale-up domain: the ranks outside one's own domain, 1 - (domain / inner) / group."""
    per_domain = pl.col("scaleup_size").cast(pl.Float64) / _c(inner).cast(pl.Float64)
    g = _c(group).cast(pl.Float64).clip(lower_bound=1.0)
    return (1.0 - per_domain / g).clip(lower_bound=0.0)


def alltoall_seconds_per_byte(group: str | pl.Expr, inner: str | pl.Expr | float = 1.0) -> pl.Expr:
    """Seconds per byte a device sends in an all-to-all: the cross-domain share over the
    scale-out network, the rest over the scale-up links."""
    x = cross_node_share(group, inner)
    return x / pl.col("scaleout_bw") + (1.0 - x) / pl.col("scaleup_bw")
