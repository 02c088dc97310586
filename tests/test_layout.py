"""One training physics per (model, option, device count), whichever way the count is reached,
the fastest layout the search tries, whole layers per stage, whole sequences per batch
(rev13a #3 and #9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

import estimator.physics.training as T
from estimator.cli import app
from estimator.physics import TrainSettings, described, resolve_model, training_frame
from estimator.physics import trainstep as f
from estimator.physics.inputs import collect
from pricing import Catalog

QWEN = "qwen3-235b-a22b"
# An 8-GPU instance's network per GPU, bytes/s each way: 50 Gbit/s (p4d), 125 Gbit/s, 12.5.
P4D, FAST, SLOW = 6.25e9, 1.5625e10, 1.5625e9
ROW = ("devices", "device_hours", "wall_clock_days", "tensor_parallel", "pipeline_parallel",
       "expert_parallel", "virtual_stages", "idle_devices", "fits")  # fmt: skip


def frame(acc: str, net: float | None, n: int = 1, **cols: Any) -> pl.DataFrame:
    base = {"accelerator": [acc] * n, "tokens": [36e12] * n, "scaleup_cap": [8] * n}
    return pl.DataFrame({**base, "scaleout_cap": pl.Series([net] * n, dtype=pl.Float64), **cols})


def rows(cat: Catalog, df: pl.DataFrame, **kw: Any) -> list[dict[str, Any]]:
    """The rows' physics (floats to 12 digits: a frame's evaluation order moves the last)."""
    out = training_frame(cat, resolve_model(cat, QWEN), df, TrainSettings(tokens=0.0, **kw))
    return [
        {k: float(f"{r[k]:.12g}") if isinstance(r[k], float) else r[k] for k in ROW}
        for r in out.iter_rows(named=True)
    ]


@pytest.mark.parametrize(("acc", "net", "days"), [("a100-40g", P4D, 120.0),
                                                  ("h100-sxm", FAST, 120.0),
                                                  ("h100-sxm", FAST, 30.0),
                                                  ("b200", None, 120.0)])  # fmt: skip
def test_deadline_count_has_the_physics_of_the_same_count_given(catalog, acc, net, days) -> None:
    """(a) 9,216 A100-40g took 117.4 days sized by a 120-day deadline, 116.3 given."""
    sized = rows(catalog, frame(acc, net), deadline_days=days)[0]
    given = rows(catalog, frame(acc, net), devices=sized["devices"])[0]
    assert sized == given
    assert sized["wall_clock_days"] <= days


def test_minimum_count_has_the_physics_of_the_same_count_given(catalog) -> None:
    sized = rows(catalog, frame("h100-sxm", FAST))[0]
    assert rows(catalog, frame("h100-sxm", FAST), devices=sized["devices"])[0] == sized


def test_a_row_has_the_same_physics_alone_or_beside_other_networks(catalog) -> None:
    """(a) A plan's A100 offers at 12.5, 50 and 400 Gbit/s shared one layout search, so its
    runner-up (9,728 A100-40g, 113.4 days) was not what quoting it gave (110.2)."""
    nets = [SLOW, None, P4D]
    together = rows(
        catalog,
        pl.concat([frame("a100-40g", n) for n in nets]),
        deadline_days=120.0,
    )
    alone = [rows(catalog, frame("a100-40g", n), deadline_days=120.0)[0] for n in nets]
    assert together == alone
    fixed = pl.concat([frame("a100-40g", n, devices=[9728]) for n in nets])
    assert rows(catalog, fixed) == [
        rows(catalog, frame("a100-40g", n, devices=[9728]))[0] for n in nets
    ]


def _exhaustive(cat: Catalog, df: pl.DataFrame) -> list[float]:
    """Per row, the fastest device-seconds per token of every layout the search may try, each
    evaluated at the row's own count."""
    s = TrainSettings(tokens=0.0, goodput=1.0)
    model = resolve_model(cat, QWEN)
    inputs = collect(T._inputs(cat, model, df.with_row_index("_row"), s))
    every = collect(T._evaluate(T._candidates(inputs.with_columns(devices="_dev_given"), s), s))
    best = every.filter("_fits").group_by("_row").agg(pl.col("_t").min()).sort("_row")
    return best["_t"].to_list()


@pytest.mark.parametrize("devices", [1024, 2048, 3072, 4096, 6144, 9216])
def test_a_given_count_gets_the_fastest_layout_that_fits(catalog, devices) -> None:
    """(b) At 3,072 H100 the search kept TP4 PP8 EP1 (118.8 days) for a 128-expert MoE, slower
    than TP2 PP4 EP8, which it tried: the bucket's search ranked layouts at 2,048 devices only."""
    df = frame("h100-sxm", FAST, devices=[devices])
    got = rows(catalog, df, goodput=1.0)[0]
    seconds = got["device_hours"] * 3600.0 / 36e12
    assert seconds == pytest.approx(_exhaustive(catalog, df)[0], rel=1e-9)


def test_uneven_stages_are_whole_layers_costed_at_the_busiest() -> None:
    """(c) Stages hold whole layers and the pipeline runs at the pace of the busiest: 80 layers
    on 3 stages are 27, 27, 26; 61 on 8 run lighter rebalanced (the embedding and output layer
    in place of a layer on the first and last: 7, 8 x 6, 6); 94 on 4 and on 8 are even so
    (23, 24, 24, 23). The bubble passes the largest chunk; an even split keeps the textbook
    (pp - 1) / (m x vp)."""
    df = pl.DataFrame(
        {
            "layers": [80.0, 61.0, 94.0, 94.0, 94.0, 94.0, 80.0],
            "pp": [3.0, 8.0, 4.0, 8.0, 2.0, 2.0, 8.0],
            "vp": [1.0, 4.0, 1.0, 6.0, 23.0, 24.0, 5.0],
            "m_busiest": [8.0] * 7,
        }
    )
    out = df.select(
        stage=f.stage_layers(),
        fewest=f.stage_layers_min(),
        chunk=f.chunk_layers(),
        imbalance=f.stage_imbalance(),
        bubble=f.bubble_fraction(),
    )
    assert out["stage"].to_list() == [27, 8, 24, 12, 47, 47, 10]
    assert out["fewest"].to_list() == [26, 6, 23, 11, 47, 47, 10]
    assert out["chunk"].to_list() == [27, 2, 24, 2, 3, 2, 2]
    assert out["imbalance"].to_list() == pytest.approx([81 / 80, 64 / 63, 1, 1, 1, 1, 1])
    assert out["bubble"].to_list() == pytest.approx(
        [2 / 8, 7 * 2 / (8 * 8), 3 / 8, 7 * 2 / (8 * 12), 3 / (8 * 47), 2 / (8 * 47), 7 / 40]
    )


def test_layouts_printed_hold_whole_layers(catalog) -> None:
    """(c) 'TP4 PP3 (x13 interleaved)' for 80 layers read as 80/39 layers a virtual stage."""
    model = resolve_model(catalog, "llama-3.1-70b")
    one = pl.DataFrame({"accelerator": ["h100-sxm"]})
    s = TrainSettings(tokens=1e12, pp=3, deadline_days=30.0)
    r = described(training_frame(catalog, model, one, s)).row(0, named=True)
    assert (r["stage_layers_min"], r["stage_layers"]) == (26, 27)
    assert "PP3 (x13 interleaved, 26-27 layers a stage)" in r["layout"]
    # The calibrated default, floor(80 / (3 x 2)) = 13 chunks: 27 layers in chunks of 2-3.
    assert -(-27 // r["virtual_stages"]) <= 3
    even = training_frame(catalog, model, one, TrainSettings(tokens=1e12, pp=4, devices=1024))
    r = described(even).row(0, named=True)
    assert "layers a stage" not in r["layout"] and r["stage_layers"] * 4 == 80


def test_qwen3_default_interleave_is_floor_of_layers_over_two_per_stage(catalog) -> None:
    # floor(94 / (2 x 2)) = 23 chunks of 2-3 whole layers a stage. layout13 tried chunks of at
    # most 2 (24): the held-out training median rose 8.27 -> 8.80%, so the default stayed.
    r = described(
        training_frame(
            catalog, resolve_model(catalog, QWEN), frame("h100-sxm", FAST, devices=[3072]),
            TrainSettings(tokens=0.0, pp=2),
        )
    ).row(0, named=True)  # fmt: skip
    assert r["virtual_stages"] == 23 and "PP2 (x23 interleaved)" in r["layout"]


def test_a_given_batch_is_whole_sequences(catalog) -> None:
    """(d) 5,000 tokens fed one replica as one 4,096-token sequence, yet its step ran two
    micro-batches; the batch is now the nearest whole number of sequences, and says so."""
    model = resolve_model(catalog, "llama-3.1-8b")
    one = pl.DataFrame({"accelerator": ["h100-sxm"]})
    got = {}
    for batch in (5000.0, 4096.0, 7000.0):
        s = TrainSettings(tokens=1e10, devices=8, global_batch_tokens=batch)
        got[batch] = described(training_frame(catalog, model, one, s)).row(0, named=True)
    assert got[5000.0]["global_batch_tokens"] == 4096.0
    assert got[7000.0]["global_batch_tokens"] == 8192.0
    for k in ("device_hours", "layout", "data_parallel"):
        assert got[5000.0][k] == got[4096.0][k]
    assert "global batch 4096 tokens" in got[5000.0]["layout"]
    assert "0.0M" not in got[5000.0]["layout"]


def test_the_starved_message_states_the_batch(tmp_path: Path, runner: Any) -> None:
    toml = tmp_path / "b.toml"
    toml.write_text(
        'name = "one"\nas_of = 2026-06-01\ncurrency = "USD"\ntenant_hq = "CN"\n'
        '[model]\npreset = "llama-3.1-70b"\n[[phases]]\nname = "pt"\nkind = "train"\n'
        "tokens = 1e12\nglobal_batch_tokens = 5000\ndeadline_days = 30\n"
        'site = { region = "us-east", accelerator = "h100-sxm", pricing = "on_demand" }\n'
    )
    out = runner.invoke(app, ["quote", str(toml)])
    text = " ".join(out.output.split())
    assert "the global batch of 4,096 tokens (1 sequence of 4,096, 5,000 given, rounded" in text
    assert "0.0M" not in text and "1 sequences" not in text


def test_a_plans_runner_up_is_what_quoting_it_gives(runner: Any) -> None:
    """(a) cn_lab_no_stockpile's runner-up 9,728 A100-40g in us-east (113.4 days, 516.6M CNY)
    was 110.2 days and 501.8M quoted, and `train --deadline-days 120` sized 9,216 at 117.4."""
    import csv
    import io
    import json

    example = str(Path(__file__).resolve().parent.parent / "examples" / "cn_lab_no_stockpile.toml")
    out = runner.invoke(app, ["plan", example, "--top-k", "20", "--format", "csv",
                              "--table", "placements"])  # fmt: skip
    assert out.exit_code == 0, out.output
    row = next(
        r
        for r in csv.DictReader(io.StringIO(out.stdout))
        if r["phase"] == "pretrain" and (r["accelerator"], r["region"]) == ("a100-40g", "us-east")
    )
    site = ["train", "--model", QWEN, "--tokens", "36e12", "--as-of", "2025-11-27",
            "--currency", "CNY", "--accelerator", "a100-40g", "--region", "us-east",
            "--pricing", row["pricing"], "--format", "json"]  # fmt: skip
    given = json.loads(runner.invoke(app, [*site, "--devices", row["devices"]]).stdout)
    sized = json.loads(runner.invoke(app, [*site, "--deadline-days", "120"]).stdout)
    for quoted in (given, sized):
        assert quoted["devices"] == int(row["devices"])
        assert quoted["wall_clock_days"] == pytest.approx(float(row["days"]), rel=1e-9)
        assert quoted["cost"] == pytest.approx(float(row["cost (CNY)"]), abs=0.01)
