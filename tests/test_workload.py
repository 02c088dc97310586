"""Workload formulas on tiny hand-built frames (no catalog), with the hand arithmetic."""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimator.physics import formulas as w
from estimator.physics import servestep as s
from estimator.physics import trainstep as t

ARCH = (
    "layers",
    "hidden",
    "heads",
    "kv_heads",
    "head_dim",
    "experts",
    "experts_active",
    "kv_lora_rank",
    "rope_head_dim",
)


def frame(**cols: object) -> pl.DataFrame:
    """One-row frame; architecture columns default to null (unknown)."""
    data: dict[str, object] = {c: None for c in ARCH}
    data.update(cols)
    schema = {c: (pl.Int64 if c in ARCH else pl.Float64) for c in data}
    return pl.DataFrame({k: [v] for k, v in data.items()}, schema=schema)


def val(df: pl.DataFrame, expr: pl.Expr) -> float:
    return float(df.select(expr.alias("x"))["x"][0])


# --- shared --------------------------------------------------------------------------------------


def test_training_flops_hand_case() -> None:
    # linear: 6 x 1e6 params x 1000 tokens = 6e9
    # attention (causal, fwd+bwd = 3 x fwd): 3 x 2 x L2 x H4 x (8+8) x (seq 16 / 2) x 1000
    #   = 3 x 2 x 2 x 4 x 16 x 8 x 1000 = 6.144e6
    df = frame(active_params=1e6, tokens=1000.0, seq_len=16.0, layers=2, heads=4, head_dim=8)
    assert val(df, t.training_linear_flops()) == pytest.approx(6e9)
    assert val(df, t.training_attention_flops()) == pytest.approx(6.144e6)
    assert val(df, t.training_flops()) == pytest.approx(6.006144e9)


def test_mla_attention_dims() -> None:
    # absorbed decode: 2 x L1 x H2 x (2 x lora 4 + rope 2) x context 10 = 400
    # training/prefill: 2 x 1 x 2 x (2 x head 8 + rope 2) x 10 = 720
    df = frame(layers=1, heads=2, head_dim=8, kv_lora_rank=4, rope_head_dim=2)
    assert val(df, w.attention_flops_per_token(10.0, absorbed=True)) == pytest.approx(400)
    assert val(df, w.attention_flops_per_token(10.0)) == pytest.approx(720)


def test_kv_bytes_per_token() -> None:
    # GQA: L2 x 2 (K,V) x kv_heads 2 x head_dim 8 x 2 bytes = 128
    gqa = frame(layers=2, kv_heads=2, head_dim=8, kv_bytes=2.0)
    assert val(gqa, w.kv_bytes_per_token()) == 128
    # MLA: L2 x (lora 4 + rope 2) x 1 byte = 12
    mla = frame(layers=2, kv_heads=2, head_dim=8, kv_lora_rank=4, rope_head_dim=2, kv_bytes=1.0)
    assert val(mla, w.kv_bytes_per_token()) == 12


def test_experts_and_ring_factors() -> None:
    # per expert (10 - 4) / (4 - 1) = 2; routed = 4 x 2 = 8; dense model: none
    moe = frame(total_params=10.0, active_params=4.0, experts=4, experts_active=1)
    assert val(moe, w.expert_params()) == pytest.approx(2.0)
    assert val(moe, w.routed_params()) == pytest.approx(8.0)
    dense = frame(total_params=10.0, active_params=10.0)
    assert val(dense, w.routed_params()) == 0.0
    ring = frame(g=8.0, scaleup_size=8.0, scaleup_bw=400.0, scaleout_bw=50.0)
    assert val(ring, w.ring_factor("g")) == pytest.approx(7 / 8)
    # 32 ranks of 1 device, domains of 8: 3/4 of the traffic leaves the domain
    wide = ring.with_columns(g=pl.lit(32.0))
    assert val(wide, w.cross_node_share("g")) == pytest.approx(0.75)
    assert val(wide, w.alltoall_seconds_per_byte("g")) == pytest.approx(0.75 / 50 + 0.25 / 400)
    assert val(ring, w.cross_node_share("g")) == 0.0


# --- training ------------------------------------------------------------------------------------


def train_frame(**over: object) -> pl.DataFrame:
    base: dict[str, object] = dict(
        active_params=1e6, total_params=1e6, tokens=1000.0, seq_len=16.0, layers=2, hidden=32,
        heads=4, head_dim=8, peak_flops=1e12, bf16_flops=1e12, mfu=0.5, goodput=1.0,
        precision_ratio=1.0, attention_ratio=1.0, gemm_half_dim=0.0, nonmatmul_bytes=0.0,
        moe_bytes=0.0, hbm_bw=1e9, tp=1.0, pp=1.0, ep=1.0, cp=1.0, dp=1.0, vp=1.0, m=1.0,
        rfull=0.0, tp_comm_exposed=1.0, dp_comm_exposed=1.0, ep_comm_exposed=1.0,
        scaleup_bw=1e9, scaleout_bw=1e8, scaleup_size=8.0, devices=1.0,
        global_batch_tokens=1000.0, usable_hbm_fraction=0.9, hbm_bytes=1e10,
    )  # fmt: skip
    base.update(over)
    # The busiest replica's micro-batches and the step's batch (training._micro_batches): even.
    base.setdefault("m_busiest", base["m"])
    base.setdefault("step_batch_tokens", base["global_batch_tokens"])
    return frame(**base)


def test_compute_seconds_hand_case() -> None:
    # linear 6e6 / (1e12 x 0.5) = 1.2e-5 s per token; attention 3 x 2 x 2 x 4 x 16 x 8
    # = 6144 FLOP / (1e12 x 0.5) = 1.2288e-8 s
    df = train_frame()
    assert val(df, t.compute_seconds()) == pytest.approx(1.2e-5 + 1.2288e-8)
    # full recomputation repeats the forward pass: x 4/3
    full = df.with_columns(rfull=pl.lit(1.0))
    assert val(full, t.compute_seconds()) == pytest.approx((1.2e-5 + 1.2288e-8) * 4 / 3)
    # narrow GEMMs: n = hidden 32 / tp 1; n_half 32 halves the linear efficiency
    narrow = df.with_columns(gemm_half_dim=pl.lit(32.0))
    assert val(narrow, t.compute_seconds()) == pytest.approx(2.4e-5 + 1.2288e-8)


def test_fp8_speeds_only_linear_gemms() -> None:
    bf16 = val(train_frame(), t.compute_seconds())
    fp8 = val(train_frame(peak_flops=2e12), t.compute_seconds())
    assert bf16 == pytest.approx(1.2e-5 + 1.2288e-8)
    assert fp8 == pytest.approx(0.6e-5 + 1.2288e-8)


def test_tensor_parallel_and_bubble_hand_case() -> None:
    # 4 collectives x 2 halves x (3/4) x 2 bytes x hidden 32 = 384 bytes per layer per device;
    # x 2 layers x tp 4 devices / 1e9 B/s = 3.072e-6 device-seconds per token
    df = train_frame(tp=4.0)
    assert val(df, t.tensor_parallel_seconds()) == pytest.approx(3.072e-6)
    assert val(train_frame(), t.tensor_parallel_seconds()) == 0.0
    # bubble (pp - 1) / (m x vp) = 3 / (8 x 2), 16 layers in 4 stages of 2 chunks of 2 (whole
    # layers a stage and a chunk since layout13: the fixture's 2 layers cannot fill 4 stages)
    bubble = train_frame(pp=4.0, m=8.0, vp=2.0, layers=16)
    assert val(bubble, t.bubble_fraction()) == pytest.approx(3 / 16)
    # rev11a #2: 2.5 micro-batches on the mean replica, 3 on the busiest: the step runs 3 (and
    # the bubble is of 3), so a token costs 3 / 2.5 of the even step's staged time.
    even, uneven = (
        train_frame(pp=4.0, m=2.5, m_busiest=2.5),
        train_frame(pp=4.0, m=2.5, m_busiest=3.0),
    )
    assert val(uneven, t.bubble_fraction()) == pytest.approx(3 / 3)
    staged = val(even, t.seconds_per_token()) / (1 + 3 / 2.5)
    assert val(uneven, t.seconds_per_token()) == pytest.approx(staged * 3 / 2.5 * (1 + 3 / 3))


def test_context_parallel_hand_case() -> None:
    # K and V of 4 heads x head_dim 8 = 64 values x 2 bytes per token and layer; cp 4 ranks:
    # 3 transfers x (cp - 1) 3 x 128 B x 2 layers = 2,304 B over the scale-up link (tp x cp = 4
    # <= 8) at 1e9 B/s = 2.304e-6 s, less the attention on the other 3 of 4 blocks (3/4 x
    # 1.2288e-8 s, see test_compute_seconds_hand_case) that hides it
    df = train_frame(cp=4.0)
    assert val(df, t.context_parallel_seconds()) == pytest.approx(2.304e-6 - 0.75 * 1.2288e-8)
    assert val(train_frame(), t.context_parallel_seconds()) == 0.0
    # cp 16 spans two domains of 8: the network, 1e8 B/s
    wide = train_frame(cp=16.0)
    sent = 3 * 15 * 128 * 2 / 1e8
    assert val(wide, t.context_parallel_seconds()) == pytest.approx(sent - 15 / 16 * 1.2288e-8)
    # a long sequence: attention per token grows with it and hides all of the traffic
    assert val(train_frame(cp=4.0, seq_len=1e6), t.context_parallel_seconds()) == 0.0

    # it is part of the step (beside the cp ranks joining the gradient ring)
    def rest(x: pl.DataFrame) -> float:
        return val(x, t.seconds_per_token()) - val(x, t.data_parallel_seconds())

    step = rest(df) - rest(train_frame())
    assert step == pytest.approx(val(df, t.context_parallel_seconds()))


def test_data_parallel_hand_case() -> None:
    # 1e6 params on each device, dp 4 over 4 devices (within the scale-up domain):
    # 6 bytes x 3/4 x 1e6 / 1e9 B/s = 4.5e-3 s per step; x 4 devices / 1000 tokens per step
    df = train_frame(dp=4.0, devices=4.0)
    assert val(df, t.data_parallel_seconds()) == pytest.approx(4.5e-3 * 4 / 1000)


def test_recompute_share_fits_exactly() -> None:
    # kept = 34 x L2 x seq 16 x hidden 32 = 34,816 B; inputs = 2,048 B; working = 17,408 B;
    # room = 0.9 x 1e10 - 4 x 1e6 - 12 x 1e6 = 8.984e9 >> kept: nothing to recompute
    df = train_frame()
    assert val(df, t.recompute_share_needed()) == 0.0
    # a device with 30,000 B of room: r = (34,816 + 17,408 - 30,000) / (34,816 - 2,048)
    tight = df.with_columns(hbm_bytes=pl.lit((30_000 + 16e6) / 0.9))
    r = val(tight, t.recompute_share_needed())
    assert r == pytest.approx((34_816 + 17_408 - 30_000) / (34_816 - 2_048))
    fitted = tight.with_columns(rfull=pl.lit(r))
    assert val(fitted, t.memory_per_device()) == pytest.approx(val(fitted, t.usable_bytes()))


def test_min_training_devices_two_regimes() -> None:
    # activations: (2 x L1 + 34) x seq 1000 x hidden 1000 = 3.6e7 bytes; usable = 0.9 x 1e10
    # N = 1e9: (1.6e10 + 3.6e7) / 9e9 = 1.78 -> 2 devices (below the scale-up size 8)
    small = frame(
        total_params=1e9, seq_len=1000.0, layers=1, hidden=1000, hbm_bytes=1e10, scaleup_size=8.0,
        usable_hbm_fraction=0.9,
    )  # fmt: skip
    assert val(small, t.min_training_devices()) == 2
    # N = 1e10: (1.6e11 + 3.6e7) / 9e9 = 17.8 > 8 -> 1.6e11 / (9e9 - 3.6e7 / 8) = 17.79 -> 18
    big = small.with_columns(total_params=pl.lit(1e10))
    assert val(big, t.min_training_devices()) == 18
    huge = small.with_columns(seq_len=pl.lit(1e6), layers=pl.lit(100))
    assert huge.select(t.min_training_devices().alias("x"))["x"][0] is None


@settings(max_examples=40, deadline=None)
@given(n=st.floats(1e8, 1e12), layers=st.integers(1, 128), tp=st.sampled_from([1, 2, 8]))
def test_seconds_per_token_scale_with_params(n: float, layers: int, tp: int) -> None:
    # per-token time does not depend on the token count; more parameters never make it faster
    base = train_frame(active_params=n, total_params=n, layers=layers, hidden=4096, tp=float(tp))
    one = val(base, t.seconds_per_token())
    more = val(base.with_columns(active_params=pl.lit(n * 2), total_params=pl.lit(n * 2)),
               t.seconds_per_token())  # fmt: skip
    assert more > one > 0 and math.isfinite(one)


def test_vectorised_sweep_equals_single_rows() -> None:
    rows = [
        train_frame(active_params=n, total_params=n, tp=tp)
        for n, tp in ((1e9, 1.0), (7e9, 2.0), (7e10, 8.0))
    ]
    swept = pl.concat(rows).select(t.seconds_per_token().alias("x"))["x"].to_list()
    assert swept == pytest.approx([val(r, t.seconds_per_token()) for r in rows])


# --- serving -------------------------------------------------------------------------------------


def decode_frame(**over: object) -> pl.DataFrame:
    # 1e9 params bf16 on a device with 1e12 B/s and 1e15 FLOP/s, one device, no KV/latency terms
    base: dict[str, object] = dict(
        total_params=1e9, active_params=1e9, bytes_per_param=2.0, kv_bytes=2.0, hbm_bw=1e12,
        peak_flops=1e15, bf16_flops=1e15, tp=1.0, dec_eff=0.5, pre_mfu=0.5, input_len=100.0,
        output_len=100.0, hbm_bytes=1e10, collective_latency_s=13e-6, nonmatmul_bytes=0.0,
        moe_decode_ratio=1.0, moe_gemm_half_dim=0.0, tp_serve_exposed=1.0, ep_serve_exposed=1.0,
        scaleup_bw=1e11, scaleout_bw=1e10, scaleup_size=8.0, usable_hbm_fraction=0.9,
        max_batch=None, layers=1, hidden=64, kv_heads=1, head_dim=64, heads=1,
        attention_tp=False,
    )  # fmt: skip
    base.update(over)
    return s.with_step_terms(frame(**base))[0]


def test_decode_step_memory_bound_hand_case() -> None:
    # weights 2e9 bytes / (1e12 x 0.5) = 4 ms; compute 2e9 FLOP / (1e15 x 0.5) = 4 us; no
    # attention FLOPs worth noting at context 150 x 2 x 64 x 2 = 38,400 FLOP
    df = decode_frame(layers=1, kv_heads=1, head_dim=64, kv_bytes=0.0, heads=0)
    assert val(df, s.decode_step_seconds(pl.lit(1.0))) == pytest.approx(4e-3, rel=1e-6)
    # batch 1000 is compute-bound: 1000 x 2e9 / 5e14 = 4 ms too (the ridge point)
    assert val(df, s.decode_step_seconds(pl.lit(1000.0))) == pytest.approx(4e-3, rel=1e-6)
    assert val(df, s.decode_step_seconds(pl.lit(2000.0))) == pytest.approx(8e-3, rel=1e-6)


def test_moe_weights_touched() -> None:
    # per expert (10 - 4) / (4 - 1) = 2, shared = 10 - 4 x 2 = 2 (1 byte per param)
    # batch 1 touches 4 x (1 - 3/4) = 1 expert -> 4 bytes; batch 2: 1.75 -> 5.5; all -> 10
    df = decode_frame(total_params=10.0, active_params=4.0, experts=4, experts_active=1,
                      bytes_per_param=1.0)  # fmt: skip
    for b, bytes_ in ((1.0, 4.0), (2.0, 5.5), (1e6, 10.0)):
        assert val(df, s._weights_touched_bytes(pl.lit(b))) == pytest.approx(bytes_)


def test_collectives_tensor_and_expert_style() -> None:
    # dense tp 4: 2 all-reduces x 2 x 3/4 x 2 bytes x 64 / 1e11 B/s per token per layer
    dense = decode_frame(tp=4.0)
    assert val(dense, s.collective_seconds_per_token()) == pytest.approx(
        2 * 2 * 0.75 * 2 * 64 / 1e11
    )
    assert val(dense, s.decode_latency_seconds()) == pytest.approx(1 * 2 * 13e-6 * 2)
    # MLA MoE over 32 devices: 1/32 of a token x k 2 x 3 bytes x 64, 3/4 over the network
    moe = decode_frame(tp=32.0, total_params=10e9, active_params=4e9, experts=4, experts_active=2,
                       kv_lora_rank=8, rope_head_dim=2)  # fmt: skip
    per_byte = 0.75 / 1e10 + 0.25 / 1e11
    assert val(moe, s.collective_seconds_per_token()) == pytest.approx(2 * 3 * 64 / 32 * per_byte)
    # tensor parallel replicates KV heads past their count; expert style stores each KV once
    assert val(dense, s.replica_kv_bytes_per_token()) == pytest.approx(
        4 * val(dense, w.kv_bytes_per_token())
    )
    assert val(moe, s.replica_kv_bytes_per_token()) == pytest.approx(
        val(moe, w.kv_bytes_per_token())
    )


def test_mla_latent_on_every_device_under_tensor_parallel_attention() -> None:
    # An MLA latent is one KV head: run tensor parallel (SGLang without DP attention), each of
    # the 8 devices holds and reads the whole latent, 8x what attention data parallel stores
    mla = dict(tp=8.0, total_params=10e9, active_params=4e9, experts=4, experts_active=2,
               kv_lora_rank=8, rope_head_dim=2)  # fmt: skip
    dp, tp = decode_frame(**mla), decode_frame(attention_tp=True, **mla)
    one = val(dp, w.kv_bytes_per_token())
    assert val(dp, s.replica_kv_bytes_per_token()) == pytest.approx(one)
    assert val(tp, s.replica_kv_bytes_per_token()) == pytest.approx(8 * one)
    # so a step reads 8x the KV; a GQA model's own head rule is unchanged by the flag
    step = s.decode_step_seconds(pl.lit(64.0))
    kv_step = 64 * (150 * one) / (8 * 1e12 * 0.5)
    assert val(tp, step) - val(dp, step) == pytest.approx(7 * kv_step, rel=1e-6)
    gqa = dict(tp=4.0)
    assert val(decode_frame(attention_tp=True, **gqa), s.replica_kv_bytes_per_token()) == (
        pytest.approx(val(decode_frame(**gqa), s.replica_kv_bytes_per_token()))
    )


def test_chunked_prefill_fills_idle_compute() -> None:
    # memory-bound decode of batch 1 (4 ms) with 1 prompt token per step: the prompt's compute
    # (2e9 / 5e14 = 4 us) hides under the memory time
    df = decode_frame(kv_bytes=0.0, heads=0)
    assert val(df, s.mixed_step_seconds(pl.lit(1.0))) == pytest.approx(
        val(df, s.decode_step_seconds(pl.lit(1.0))), rel=1e-3
    )
    # compute-bound: prompts add their full compute
    big = val(df, s.mixed_step_seconds(pl.lit(2000.0))) - val(
        df, s.decode_step_seconds(pl.lit(2000.0))
    )
    assert big == pytest.approx(2000 * 2e9 / 5e14, rel=1e-3)


def test_prompt_attention_adds_to_a_memory_bound_mixed_step() -> None:
    # batch 1, 100,000-token prompts, 1,000 outputs: 100 prompt tokens per step. Their GEMMs
    # (100 x 2e9 / 5e14 = 0.4 ms) hide under the 4 ms of weight reads; their causal attention
    # over the prefix, at the mean position 50,000: 2 x 1 layer x 8 heads x 128 x 50,000 =
    # 1.024e8 FLOP per token / 5e14 = 0.2048 us, 20.48 us for the 100 tokens, is its own kernel
    # and adds to the step.
    df = decode_frame(kv_bytes=0.0, heads=8, input_len=100_000.0, output_len=1_000.0)
    added = val(df, s.mixed_step_seconds(pl.lit(1.0))) - val(df, s.decode_step_seconds(pl.lit(1.0)))
    assert added == pytest.approx(100 * 1.024e8 / 5e14, rel=1e-6)
    # per prompt token it grows with the prompt (position), 8x for an 8x longer prompt
    short = df.with_columns(input_len=pl.lit(12_500.0))
    assert val(df, s.prefill_attention_seconds_per_token()) == pytest.approx(
        8 * val(short, s.prefill_attention_seconds_per_token())
    )


def _solved(df: pl.DataFrame) -> pl.DataFrame:
    """The decode batch `solve_batch` finds for each row of `df`."""
    df = df.with_columns(kv_cap=s.kv_batch_cap())
    steps = s.bisection_steps(df["kv_cap"].max())  # type: ignore[arg-type]
    return s.solve_batch(df.lazy(), {"batch": s.decode_step_seconds}, steps).collect()


def test_solve_batch_matches_closed_form() -> None:
    # KV: L2 x 2 x kv1 x hd64 x 2 B = 512 B/token; mean context 150 -> 76,800 B per sequence
    # step(b) = (2e9 + b x 76,800) / 5e11 <= 5 ms  ->  b <= (2.5e9 - 2e9) / 76,800 = 6510.4
    # KV cap: (0.9 x 1e10 - 2e9) / (200 x 512) = 68,359 -> TPOT binds: b = 6510
    df = decode_frame(layers=2, kv_heads=1, head_dim=64, peak_flops=1e18, bf16_flops=1e18,
                      collective_latency_s=0.0, heads=0, tpot_s=5e-3)  # fmt: skip
    df = _solved(df)
    assert df["kv_cap"][0] == 68359
    assert df["batch"][0] == 6510
    free = decode_frame(layers=2, kv_heads=1, head_dim=64, tpot_s=None, heads=0)
    free = _solved(free)
    assert free["batch"][0] == 68359
    capped = decode_frame(layers=2, kv_heads=1, head_dim=64, tpot_s=None, heads=0, max_batch=64.0)
    assert val(capped, s.kv_batch_cap()) == 64
    # unreachable target: batch 1 already takes 4 ms
    none = decode_frame(tpot_s=1e-3)
    none = _solved(none)
    assert none["batch"][0] == 0


def test_a_missed_deadline_message_tells_the_run_from_the_deadline():
    # "takes 0.8 days ...; deadline is 0.8 days" for a 0.818-day run (review7c nit). Since the
    # global batch cap is the published 62,914,560 tokens (rev20c #1), a deadline this short
    # asks for more devices than the batch feeds, so the run is given a count and the deadline.
    from estimator import parse_scenario, quote

    scenario = parse_scenario({
        "name": "d", "as_of": "2025-11-27", "currency": "USD", "tenant_hq": "US",
        "model": {"preset": "llama-3.1-8b"},
        "phases": [{"name": "pretrain", "kind": "train", "tokens": 15e12, "devices": 26624,
                    "deadline_days": 1, "data": "public",
                    "site": {"region": "us-east", "accelerator": "h100-sxm", "provider": "aws",
                             "pricing": "on_demand"}}],
    })  # fmt: skip
    q = quote(scenario)
    (block,) = [f for f in q.findings if f.code == "deadline-missed"]
    (run,) = [p.wall_clock_days for p in q.phases]
    assert 1.0 < run < 1.05  # rounds to the deadline at one decimal
    assert "takes 1 days" not in block.message and "takes 1.0 days" not in block.message
    assert f"takes {run:.4g} days on 26,624 devices; deadline is 1 day" in block.message
