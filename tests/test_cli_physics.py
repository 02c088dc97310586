"""`splitcompute train`, `serve` and `calibration` through typer's runner."""

from __future__ import annotations

import json

import pytest

from estimator.cli import app

TRAIN = ["train", "--model", "llama-3.1-70b", "--tokens", "15e12", "--accelerator", "h100-sxm"]
SERVE = [
    "serve",
    "--model",
    "llama-3.3-70b",
    "--accelerator",
    "h100-sxm",
    "--precision",
    "fp8",
    "--input-len",
    "2048",
    "--output-len",
    "512",
]


def test_train_json_keys_and_cost(runner, catalog):
    result = runner.invoke(
        app, [*TRAIN, "--devices", "2048", "--format", "json", "--as-of", "2025-11-27"]
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    for key in (
        "flops",
        "device_hours",
        "wall_clock_days",
        "devices",
        "mfu",
        "goodput",
        "memory_per_device_gib",
        "fits",
        "cost",
        "offer",
    ):
        assert key in d
    assert d["devices"] == 2048
    assert d["device_hours"] == pytest.approx(d["devices"] * d["wall_clock_days"] * 24)
    assert d["cost"] > 0 and d["fits"] is True


def test_train_at_named_offer(runner, catalog):
    args = [
        *TRAIN,
        "--devices",
        "1024",
        "--format",
        "json",
        "--as-of",
        "2025-11-27",
        "--region",
        "us-east",
        "--provider",
        "lambda",
        "--pricing",
        "on_demand",
    ]
    d = json.loads(runner.invoke(app, args).stdout)
    price = catalog.offers(provider="lambda", region="us-east", accelerator="h100-sxm")[
        "price_per_device_hour"
    ][0]
    assert d["offer"].startswith("lambda ")
    assert d["cost"] == pytest.approx(d["device_hours"] * price)


def test_train_deadline(runner):
    d = json.loads(runner.invoke(app, [*TRAIN, "--deadline-days", "60", "-f", "json"]).stdout)
    assert d["wall_clock_days"] <= 60 and d["devices"] > 0


def test_serve_json_keys(runner):
    result = runner.invoke(
        app,
        [
            *SERVE,
            "--tpot-ms",
            "30",
            "--input-tokens-per-day",
            "5e9",
            "--output-tokens-per-day",
            "1e9",
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    for key in (
        "output_tokens_per_s_per_device",
        "prefill_tokens_per_s_per_device",
        "devices_needed",
        "cost_per_million_output_tokens",
        "batch",
    ):
        assert key in d
    assert d["tpot_ms"] <= 30 and d["cost_per_million_output_tokens"] > 0


def test_calibration_command(runner):
    result = runner.invoke(app, ["calibration"])
    assert result.exit_code == 0, result.output
    assert "deepseek-v3-pretrain" in result.stdout and "Summary" in result.stdout
    rows = json.loads(runner.invoke(app, ["calibration", "-f", "json"]).stdout)
    assert all("error_pct" in r for r in rows)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([*TRAIN[:4], "-5", *TRAIN[5:], "--devices", "8"], 2, "tokens must be a positive number"),
        ([*TRAIN, "--devices", "0"], 2, "devices must be a positive number"),
        (
            [
                "train",
                "--params",
                "7e9",
                "--active-params",
                "8e9",
                "--tokens",
                "1e12",
                "--accelerator",
                "h100-sxm",
                "--devices",
                "8",
            ],
            2,
            "exceeds total_params",
        ),
        (
            [*TRAIN, "--devices", "8", "--precision", "fp8", "--accelerator", "a100-80g"],
            2,
            "a100-80g has no fp8",
        ),
        (
            [*TRAIN, "--devices", "8", "--precision", "fp8", "--accelerator", "ascend-910b"],
            2,
            "ascend-910b has no fp8",
        ),
        ([*TRAIN, "--devices", "1"], 1, "does not fit on 1 x h100-sxm"),
        ([*TRAIN, "--devices", "8", "--precision", "int8"], 2, "not supported for training"),
        ([*TRAIN], 2, "exactly one of --devices or --deadline-days"),
        ([*SERVE, "--tpot-ms", "0.5"], 1, "no batch meets TPOT 0.5 ms"),
        ([*SERVE, "--accelerator", "h1000"], 2, "did you mean 'h100-sxm'"),
    ],
)
def test_bad_input(runner, args, code, message):
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_train_shows_billed_term_and_falls_back_to_owned(runner):
    args = [
        *TRAIN,
        "--deadline-days",
        "30",
        "--region",
        "sg",
        "--pricing",
        "reserved_1y",
        "-f",
        "json",
        "--as-of",
        "2025-11-27",
    ]
    d = json.loads(runner.invoke(app, args).stdout)
    assert d["billed_hours_per_device"] == 365 * 24  # a 1-year commitment bills its year
    assert d["billed_devices"] >= d["devices"]
    # Nothing for rent in cn-west: the price is what owning costs, and the offer says so.
    result = runner.invoke(app, [*TRAIN, "--devices", "64", "--region", "cn-west", "-f", "json"])
    d = json.loads(result.stdout)
    assert d["offer"].startswith("owned ") and d["cost"] > 0
    assert any("us-export-2022" in f for f in d["findings"])


def test_serve_ranks_by_rate_not_by_term(runner):
    base = [
        *SERVE,
        "--tpot-ms",
        "30",
        "--output-tokens-per-day",
        "1e9",
        "--region",
        "sg",
        "-f",
        "json",
        "--as-of",
        "2025-11-27",
    ]
    best = json.loads(runner.invoke(app, base).stdout)
    for pricing in ("on_demand", "reserved_1y", "reserved_3y", "spot"):
        result = runner.invoke(app, [*base, "--pricing", pricing])
        if result.exit_code == 0:
            other = json.loads(result.stdout)
            assert best["cost_per_day"] <= other["cost_per_day"] + 1e-6
