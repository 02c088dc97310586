"""Workload formulas on tiny hand-built frames (no catalog), with the hand arithmetic."""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimator.physics import formulas as w

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


def test_training_flops_hand_case() -> None:
    # linear: 6 x 1e6 params x 1000 tokens = 6e9
    # attention (causal, fwd+bwd = 3 x fwd): 3 x 2 x L2 x H4 x (8+8) x (seq 16 / 2) x 1000
    #   = 3 x 2 x 2 x 4 x 16 x 8 x 1000 = 6.144e6
    df = frame(active_params=1e6, tokens=1000.0, seq_len=16.0, layers=2, heads=4, head_dim=8)
    assert val(df, w.training_linear_flops()) == pytest.approx(6e9)
    assert val(df, w.training_attention_flops()) == pytest.approx(6.144e6)
    assert val(df, w.training_flops()) == pytest.approx(6.006144e9)


def test_unknown_architecture_drops_attention_term() -> None:
    df = frame(active_params=1e6, tokens=1000.0, seq_len=16.0)
    assert val(df, w.training_flops()) == pytest.approx(6e9)


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


def test_training_device_seconds_hand_case() -> None:
    # linear 6e9 / (1e12 x 0.5) = 0.012 s; no attention (heads unknown);
    # non-matmul: 100 bytes x L2 x h10 x 1000 tokens / 1e9 B/s = 0.002 s; / goodput 0.5 = 0.028 s
    df = frame(
        active_params=1e6,
        tokens=1000.0,
        seq_len=16.0,
        layers=2,
        hidden=10,
        peak_flops=1e12,
        bf16_flops=1e12,
        mfu=0.5,
        goodput=0.5,
        overhead_bytes=100.0,
        hbm_bw=1e9,
    )
    assert val(df, w.training_device_seconds()) == pytest.approx(0.028)


def test_fp8_speeds_only_linear_gemms() -> None:
    base = dict(
        active_params=1e6,
        tokens=1000.0,
        seq_len=16.0,
        layers=2,
        heads=4,
        head_dim=8,
        hidden=32,
        bf16_flops=1e12,
        mfu=0.5,
        goodput=1.0,
        overhead_bytes=0.0,
        hbm_bw=1e9,
    )
    bf16 = val(frame(**base, peak_flops=1e12), w.training_device_seconds())
    fp8 = val(frame(**base, peak_flops=2e12), w.training_device_seconds())
    # linear 6e9/(1e12*.5)=0.012 -> 0.006; attention 6.144e6/(1e12*.5)=1.2288e-5 unchanged
    assert bf16 == pytest.approx(0.012 + 1.2288e-5)
    assert fp8 == pytest.approx(0.006 + 1.2288e-5)


def test_min_training_devices_two_regimes() -> None:
    # activations: (2 x L1 + 34) x seq 1000 x hidden 1000 = 3.6e7 bytes; usable = 0.9 x 1e10
    # N = 1e9: (1.6e10 + 3.6e7) / 9e9 = 1.78 -> 2 devices (below the scale-up size 8)
    small = frame(
        total_params=1e9, seq_len=1000.0, layers=1, hidden=1000, hbm_bytes=1e10, scaleup_size=8.0
    )
    assert val(small, w.min_training_devices()) == 2
    # N = 1e10: (1.6e11 + 3.6e7) / 9e9 = 17.8 > 8 -> 1.6e11 / (9e9 - 3.6e7 / 8) = 17.79 -> 18
    big = small.with_columns(total_params=pl.lit(1e10))
    assert val(big, w.min_training_devices()) == 18
    mem = big.with_columns(devices=pl.lit(18.0))
    assert val(mem, w.training_memory_per_device()) == pytest.approx(1.6e11 / 18 + 3.6e7 / 8)
    assert val(mem, w.training_memory_per_device()) <= 9e9


def test_activations_alone_too_big_gives_null() -> None:
    df = frame(
        total_params=1e9, seq_len=1e6, layers=100, hidden=10_000, hbm_bytes=1e10, scaleup_size=8.0
    )
    assert df.select(w.min_training_devices().alias("x"))["x"][0] is None


def test_moe_weights_touched() -> None:
    # per expert (10 - 4) / (4 - 1) = 2, shared = 10 - 4 x 2 = 2
    # batch 1 touches 4 x (1 - 3/4) = 1 expert -> 2 + 2 = 4 = active params
    # batch 2 touches 4 x (1 - 9/16) = 1.75 -> 2 + 3.5 = 5.5; huge batch -> all 10
    df = frame(
        total_params=10.0, active_params=4.0, experts=4, experts_active=1, bytes_per_param=1.0
    )
    assert val(df, w.weights_read_bytes(pl.lit(1.0))) == pytest.approx(4.0)
    assert val(df, w.weights_read_bytes(pl.lit(2.0))) == pytest.approx(5.5)
    assert val(df, w.weights_read_bytes(pl.lit(1e6))) == pytest.approx(10.0)
    dense = frame(total_params=10.0, active_params=10.0, bytes_per_param=2.0)
    assert val(dense, w.weights_read_bytes(pl.lit(7.0))) == pytest.approx(20.0)


def decode_frame(**over: object) -> pl.DataFrame:
    # 1e9 params bf16 on a device with 1e12 B/s and 1e15 FLOP/s, one device, no KV/latency terms
    base: dict[str, object] = dict(
        total_params=1e9,
        active_params=1e9,
        bytes_per_param=2.0,
        kv_bytes=2.0,
        hbm_bw=1e12,
        peak_flops=1e15,
        bf16_flops=1e15,
        tp=1.0,
        dec_eff=0.5,
        pre_mfu=0.5,
        input_len=100.0,
        output_len=100.0,
        hbm_bytes=1e10,
        collective_latency_s=13e-6,
    )
    base.update(over)
    return frame(**base)


def test_decode_step_memory_bound_hand_case() -> None:
    # weights 2e9 bytes / (1e12 x 0.5) = 4 ms; compute 2e9 FLOP / (1e15 x 0.5) = 4 us
    assert val(decode_frame(), w.decode_step_seconds(pl.lit(1.0))) == pytest.approx(4e-3)
    # batch 1000 is compute-bound: 1000 x 2e9 / 5e14 = 4 ms too (the ridge point)
    assert val(decode_frame(), w.decode_step_seconds(pl.lit(1000.0))) == pytest.approx(4e-3)
    assert val(decode_frame(), w.decode_step_seconds(pl.lit(2000.0))) == pytest.approx(8e-3)


def test_decode_latency_term() -> None:
    # L10 x 2 collectives x 13 us x log2(8) = 780 us
    df = decode_frame(layers=10, tp=8.0)
    assert val(df, w.decode_latency_seconds()) == pytest.approx(10 * 2 * 13e-6 * 3)
    assert val(decode_frame(layers=10), w.decode_latency_seconds()) == 0.0


def test_solve_batch_matches_closed_form() -> None:
    # KV: L2 x 2 x kv1 x hd64 x 2 B = 512 B/token; mean context 150 -> 76,800 B per sequence
    # step(b) = (2e9 + b x 76,800) / 5e11 <= 5 ms  ->  b <= (2.5e9 - 2e9) / 76,800 = 6510.4
    # KV cap: (0.9 x 1e10 - 2e9) / (200 x 512) = 68,359 -> TPOT binds: b = 6510
    df = decode_frame(
        layers=2, kv_heads=1, head_dim=64, tpot_s=5e-3, peak_flops=1e18, bf16_flops=1e18
    )
    df = w.solve_batch(df.with_columns(kv_cap=w.kv_batch_cap()))
    assert df["kv_cap"][0] == 68359
    assert df["batch"][0] == 6510
    # no latency target: the KV cap binds
    free = w.solve_batch(
        decode_frame(layers=2, kv_heads=1, head_dim=64, tpot_s=None).with_columns(
            kv_cap=w.kv_batch_cap()
        )
    )
    assert free["batch"][0] == 68359
    # unreachable target: batch 1 already takes 4 ms
    none = w.solve_batch(decode_frame(tpot_s=1e-3).with_columns(kv_cap=w.kv_batch_cap()))
    assert none["batch"][0] == 0


@settings(max_examples=40, deadline=None)
@given(
    n=st.floats(1e8, 1e12),
    tokens=st.floats(1e9, 1e13),
    k=st.floats(1.1, 100.0),
    layers=st.integers(1, 128),
)
def test_device_seconds_linear_in_tokens(n: float, tokens: float, k: float, layers: int) -> None:
    base = frame(
        active_params=n,
        tokens=tokens,
        seq_len=4096.0,
        layers=layers,
        hidden=4096,
        heads=32,
        head_dim=128,
        peak_flops=1e15,
        bf16_flops=1e15,
        mfu=0.4,
        goodput=0.9,
        overhead_bytes=1000.0,
        hbm_bw=3e12,
    )
    one = val(base, w.training_device_seconds())
    more = val(base.with_columns(tokens=pl.lit(tokens * k)), w.training_device_seconds())
    assert more == pytest.approx(one * k, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(n=st.floats(1e8, 1e12), extra=st.floats(1.0, 1e11), d=st.integers(1, 100_000))
def test_memory_monotone_in_params(n: float, extra: float, d: int) -> None:
    df = frame(
        total_params=n,
        seq_len=4096.0,
        layers=32,
        hidden=4096,
        devices=float(d),
        scaleup_size=8.0,
        hbm_bytes=80e9,
    )
    a = val(df, w.training_memory_per_device())
    b = val(df.with_columns(total_params=pl.lit(n + extra)), w.training_memory_per_device())
    assert b >= a
    assert val(df.with_columns(total_params=pl.lit(n + extra)), w.min_training_devices()) >= val(
        df, w.min_training_devices()
    )


def test_vectorised_sweep_equals_single_rows() -> None:
    rows = [
        frame(
            active_params=float(n),
            tokens=1e12,
            seq_len=2048.0,
            layers=8,
            heads=8,
            head_dim=64,
            hidden=512,
            peak_flops=1e15,
            bf16_flops=1e15,
            mfu=0.4,
            goodput=0.9,
            overhead_bytes=1000.0,
            hbm_bw=2e12,
        )
        for n in (1e9, 7e9, 7e10)
    ]
    big = pl.concat(rows)
    swept = big.select(w.training_device_seconds().alias("x"))["x"].to_list()
    single = [val(r, w.training_device_seconds()) for r in rows]
    assert swept == pytest.approx(single)
    assert all(math.isfinite(x) for x in swept)
