"""Estimates from the embedded catalog: hand checks, properties, and the typed errors."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimator.errors import InfeasibleError, ScenarioError, UnknownIdError
from estimator.models import resolve_model
from estimator.physics import (
    serving_estimate,
    serving_frame,
    training_estimate,
    training_frame,
)
from pricing import load_catalog

CAT = load_catalog()
L70 = resolve_model(CAT, "llama-3.1-70b")
L8 = resolve_model(CAT, "llama-3.1-8b")
DSV3 = resolve_model(CAT, "deepseek-v3")


def test_resolve_model_preset_and_custom() -> None:
    assert L70.total_params == pytest.approx(70.55e9)
    assert L70.arch == "dense" and L70.layers == 80
    custom = resolve_model(CAT, total_params=7e9)
    assert custom.active_params == 7e9 and custom.layers is None
    moe = resolve_model(CAT, total_params=100e9, active_params=10e9, arch="moe")
    assert moe.arch == "moe"


@pytest.mark.parametrize(
    "fields",
    [
        dict(total_params=1e9, active_params=2e9),
        dict(total_params=0),
        dict(total_params=-5.0),
        dict(total_params=1e9, layers=0),
        dict(),
    ],
)
def test_resolve_model_bad_values(fields: dict[str, float]) -> None:
    with pytest.raises(ScenarioError):
        resolve_model(CAT, **fields)


def test_resolve_model_unknown_preset() -> None:
    with pytest.raises(UnknownIdError, match="did you mean"):
        resolve_model(CAT, "llama-3.1-70")


def test_training_hand_check_custom_dense() -> None:
    # custom 1e9 model, no architecture: FLOPs = 6 x 1e9 x 1e12 = 6e21, no attention/non-matmul
    # H100 row: mfu 0.33, goodput 0.9 -> device-s = 6e21 / (989.5e12 x 0.33 x 0.9) = 2.0417e7
    m = resolve_model(CAT, total_params=1e9)
    est = training_estimate(CAT, m, "h100-sxm", 1e12, devices=8)
    assert est.flops == pytest.approx(6e21)
    assert est.mfu == 0.33 and est.goodput == 0.9
    assert est.device_hours == pytest.approx(6e21 / (989.5e12 * 0.33 * 0.9) / 3600)
    assert est.wall_clock_days == pytest.approx(est.device_hours / 8 / 24)
    # memory: 16 B x 1e9 / 8 devices = 2e9 B = 1.86 GiB (no activations without architecture)
    assert est.memory_per_device_gib == pytest.approx(16e9 / 8 / 2**30)
    assert est.efficiency_row == "efficiency.csv h100-sxm/pretrain/dense"


def test_training_efficiency_fallback_and_override() -> None:
    own = training_estimate(CAT, L8, "h200", 1e12, devices=8)
    assert own.efficiency_row == "efficiency.csv h200/pretrain/dense"
    est = training_estimate(CAT, L8, "l40s", 1e12, devices=8)  # no l40s row -> '*' dense
    assert est.efficiency_row == "efficiency.csv */pretrain/dense"
    given_ = training_estimate(CAT, L8, "h200", 1e12, devices=8, mfu=0.5, goodput=1.0)
    assert (given_.mfu, given_.goodput, given_.efficiency_row) == (0.5, 1.0, "given")


def test_training_min_devices_and_deadline() -> None:
    # 70B: 16 B x 70.55e9 = 1,129 GB of state > 8 x 72 GiB usable, so > 8 devices
    est = training_estimate(CAT, L70, "h100-sxm", 1e12, deadline_days=10)
    assert est.min_devices > 8 and est.fits
    assert est.wall_clock_days <= 10
    assert est.devices == pytest.approx(est.device_hours / 240, abs=1)
    with pytest.raises(InfeasibleError, match="does not fit"):
        training_estimate(CAT, L70, "h100-sxm", 1e12, devices=4)
    with pytest.raises(InfeasibleError, match="global batch"):
        training_estimate(CAT, L70, "h100-sxm", 15e12, deadline_days=0.01)


def test_moe_memory_uses_total_compute_uses_active() -> None:
    dense37 = resolve_model(CAT, total_params=37e9, layers=61, hidden=7168)
    a = training_estimate(CAT, DSV3, "h800", 1e12, devices=2048, seq_len=4096)
    b = training_estimate(CAT, dense37, "h800", 1e12, devices=2048, seq_len=4096)
    # same activations (same layers, hidden, seq): the difference is 16 B x (671e9 - 37e9) / 2048
    diff = 16 * (671e9 - 37e9) / 2048 / 2**30
    assert a.memory_per_device_gib - b.memory_per_device_gib == pytest.approx(diff)
    assert a.flops > 6 * 37e9 * 1e12  # + MLA attention
    assert b.flops == pytest.approx(6 * 37e9 * 1e12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(accelerator="a100-80g", precision="fp8"), "no fp8"),
        (dict(accelerator="ascend-910b", precision="fp8"), "no fp8"),
        (dict(precision="int8"), "not supported for training"),
        (dict(tokens=0.0), "tokens"),
        (dict(devices=None), "exactly one"),
        (dict(deadline_days=5.0), "exactly one"),
        (dict(mfu=1.5), "mfu"),
        (dict(workload="decode"), "workload"),
    ],
)
def test_training_scenario_errors(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = dict(accelerator="h100-sxm", tokens=1e12, devices=64)
    args.update(kwargs)
    acc, tokens = args.pop("accelerator"), args.pop("tokens")
    with pytest.raises(ScenarioError, match=match):
        training_estimate(CAT, L8, acc, tokens, **args)  # type: ignore[arg-type]


def test_training_frame_sweep_matches_single_estimate() -> None:
    frame = pl.DataFrame(
        {
            "accelerator": ["h100-sxm", "a100-80g", "ascend-910b", "a100-80g"],
            "devices": [64, 64, None, None],
        }
    )
    out = training_frame(CAT, L8, frame, tokens=1e12, deadline_days=30.0, precision="bf16")
    for row in out.iter_rows(named=True):
        kw = {"devices": row["devices"]} if row["devices"] in (64,) else {"deadline_days": 30.0}
        one = training_estimate(CAT, L8, row["accelerator"], 1e12, **kw)  # type: ignore[arg-type]
        assert one.device_hours == pytest.approx(row["device_hours"])
        assert one.devices == row["devices"]
    fp8 = training_frame(CAT, L8, frame, tokens=1e12, precision="fp8")
    assert fp8.filter(pl.col("accelerator") == "a100-80g")["fits"].to_list() == [False, False]


@settings(max_examples=25, deadline=None)
@given(tokens=st.floats(1e9, 1e13), k=st.floats(1.5, 50.0))
def test_device_hours_linear_in_tokens(tokens: float, k: float) -> None:
    a = training_estimate(CAT, L8, "h100-sxm", tokens, devices=16)
    b = training_estimate(CAT, L8, "h100-sxm", tokens * k, devices=16)
    assert b.device_hours == pytest.approx(a.device_hours * k, rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(d=st.integers(2, 5000), extra=st.integers(1, 5000))
def test_wall_time_non_increasing_with_devices(d: int, extra: int) -> None:
    frame = pl.DataFrame({"accelerator": ["h100-sxm", "h100-sxm"], "devices": [d, d + extra]})
    out = training_frame(CAT, L8, frame, tokens=1e12)
    days = out["wall_clock_days"].to_list()
    assert days[1] <= days[0]


def test_serving_replica_size_is_searched() -> None:
    kw = dict(input_len=1000, output_len=1000, tpot_ms=50)
    auto = serving_estimate(CAT, L70, "h100-sxm", **kw)
    # 131 GiB of bf16 weights: 2 x 72 GiB usable is the smallest replica that holds them.
    smallest = serving_estimate(CAT, L70, "h100-sxm", devices=2, **kw)
    assert 2 <= auto.tensor_parallel <= 8  # dense: within one NVLink domain
    assert auto.output_tokens_per_s_per_device >= smallest.output_tokens_per_s_per_device
    with pytest.raises(InfeasibleError, match="does not fit"):
        serving_estimate(CAT, L70, "h100-sxm", devices=1, **kw)


def test_serving_dense_70b_on_h100() -> None:
    est = serving_estimate(
        CAT,
        L70,
        "h100-sxm",
        input_len=1000,
        output_len=1000,
        tpot_ms=50,
        devices=2,
        input_tokens_per_day=2e9,
        output_tokens_per_day=1e9,
    )
    assert est.tensor_parallel == 2
    assert est.batch >= 1 and est.tpot_ms <= 50
    # decode-only demand devices: out/s = 1e9 x 2 / 86,400 = 23,148 tok/s
    assert est.devices_needed is not None and est.replicas is not None
    assert est.devices_needed == est.replicas * 2
    need = (
        2e9 * 2 / 86_400 / est.prefill_tokens_per_s_per_device
        + 1e9 * 2 / 86_400 / est.output_tokens_per_s_per_device
    ) / 0.95
    assert est.devices_needed == pytest.approx(need, abs=2.01)


def test_serving_throughput_rises_with_looser_tpot() -> None:
    frame = pl.DataFrame({"accelerator": ["h100-sxm"] * 3})
    tight = serving_frame(CAT, L8, frame, input_len=1000, output_len=500, tpot_ms=10)
    loose = serving_frame(CAT, L8, frame, input_len=1000, output_len=500, tpot_ms=60)
    assert loose["output_tokens_per_s_per_device"][0] > tight["output_tokens_per_s_per_device"][0]


def test_serving_errors() -> None:
    with pytest.raises(InfeasibleError, match="TPOT"):
        serving_estimate(CAT, L70, "h100-sxm", input_len=100, output_len=100, tpot_ms=1)
    with pytest.raises(InfeasibleError, match="does not fit"):
        # 405B dense at bf16 (756 GiB) needs 16 H100: more than one 8-GPU NVLink domain.
        serving_estimate(
            CAT, resolve_model(CAT, "llama-3.1-405b"), "h100-sxm", input_len=100, output_len=100
        )
    with pytest.raises(InfeasibleError, match="TTFT"):
        serving_estimate(CAT, L70, "h100-sxm", input_len=100_000, output_len=10, ttft_ms=10)
    with pytest.raises(ScenarioError, match="no fp8"):
        serving_estimate(CAT, L8, "a100-80g", precision="fp8", input_len=10, output_len=10)
    with pytest.raises(ScenarioError, match="input_len"):
        serving_estimate(CAT, L8, "a100-80g", input_len=0, output_len=10)
    # spanning nodes is allowed when devices are given
    est = serving_estimate(
        CAT, DSV3, "h800", precision="fp8", input_len=2000, output_len=1000, tpot_ms=50, devices=32
    )
    assert est.tensor_parallel == 32


def test_training_frame_keeps_row_order_and_extra_columns() -> None:
    accs = ["h100-sxm", "a100-80g", "ascend-910b", "h100-sxm", "h200", "a100-80g"]
    devs = [64, 128, 256, 512, 32, 1024]
    wide = pl.DataFrame({"accelerator": accs, "devices": devs, "tag": list("abcdef")})
    out = training_frame(CAT, L8, wide, tokens=1e12)
    assert out["tag"].to_list() == list("abcdef")
    for i, (acc, d) in enumerate(zip(accs, devs, strict=True)):
        one = training_estimate(CAT, L8, acc, 1e12, devices=d)
        assert out["device_hours"][i] == pytest.approx(one.device_hours)
        assert out["devices"][i] == d
