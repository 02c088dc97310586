"""`evaluate(..., columns=)`: the full frame's columns, only fewer of them worked out.

A sweep asks `evaluate` for the columns it ranks on; a quote and a plan take the whole frame.
Both are the same evaluation, so each asked column must be the full frame's, bit for bit.
"""

from __future__ import annotations

import polars as pl
import pytest

import estimator.evaluate as ev
from estimator import costing, load_scenario, parse_scenario
from estimator.context import prepare
from estimator.evaluate import evaluate, rank
from estimator.options import OptionQuery, select
from tests.conftest import EXAMPLES

RANKED = ["option_id", "provider", "region", "instance", "pricing", "devices",
          "wall_clock_days", "total_usd", "verdict", "workable"]  # fmt: skip
SOME = [
    RANKED,
    ["verdict"],
    ["alt_total_usd", "option_id"],
    ["purchasable", "lead_time_days", "order_days", "resale_fraction", "billed_hours"],
]


def _assert_columns_equal(c, phase, candidates, names: list[str]) -> None:
    full = evaluate(c, phase, candidates)
    for asked in [*SOME, names, full.columns]:
        asked = [n for n in asked if n in full.columns]
        some = evaluate(c, phase, candidates, columns=asked)
        assert some.columns == asked
        assert some.equals(full.select(asked), null_equal=True)


@pytest.mark.parametrize("many", [False, True], ids=["join", "by-position"])
def test_asked_training_columns_equal_the_full_frames(catalog, monkeypatch, many):
    """A training sweep of split_auto's pretrain options over device counts, with the physics
    taken back by a join (a quote's few rows) or by position (a sweep's many)."""
    if many:
        monkeypatch.setattr(ev, "_FEW_CANDIDATES", 0)
    c = prepare(load_scenario(EXAMPLES / "split_auto.toml"), catalog)
    phase = c.scenario.phase("pretrain")
    devices = pl.DataFrame({"devices": [8, 64, 512, 4_096, 65_536]})
    candidates = select(c.options, OptionQuery.of(phase.site)).join(devices, how="cross")
    _assert_columns_equal(c, phase, candidates, ["usd_per_output_token"])
    ranked = rank(evaluate(c, phase, candidates), c.objective).select(RANKED).head(20)
    again = rank(evaluate(c, phase, candidates, columns=RANKED), c.objective).head(20)
    assert again.equals(ranked, null_equal=True)


def test_asked_serving_columns_equal_the_full_frames(catalog):
    c = prepare(load_scenario(EXAMPLES / "split_auto.toml"), catalog)
    phase = c.scenario.phase("serve-abroad")
    demand = pl.DataFrame({"output_tokens_per_day": [1e8, 1e10]}).with_columns(
        input_tokens_per_day=pl.col("output_tokens_per_day") * 5.0
    )
    candidates = select(c.options, OptionQuery.of(phase.site)).join(demand, how="cross")
    _assert_columns_equal(c, phase, candidates, ["usd_per_output_token", "rtt_ms"])


def test_asked_columns_of_a_deadline_phase_sized_to_whole_terms(catalog):
    """A deadline phase gets a row per whole-term sizing and keeps the cheaper (`_sizing`)."""
    # test_plan's rev13a #1 case: one-year reservations and a 400-day deadline.
    scenario = parse_scenario(
        {
            "name": "t", "as_of": "2025-11-27", "currency": "USD",
            "model": {"preset": "qwen3-235b-a22b"},
            "phases": [{"name": "pretrain", "kind": "train", "tokens": 36e12,
                        "deadline_days": 400, "data": "public",
                        "site": {"regions": ["sg"], "accelerators": ["h100-sxm"]}}],
        }
    )  # fmt: skip
    c = prepare(scenario, catalog)
    phase = scenario.phases[0]
    candidates = select(c.options, OptionQuery.of(phase.site))
    assert evaluate(c, phase, candidates)["term_sized_days"].is_not_null().any()
    _assert_columns_equal(
        c, phase, candidates, ["deadline_sized_usd", "term_sized_days", "deadline_days"]
    )


def test_a_lookup_gives_the_left_join():
    """`_looked_up`: one row per key (null and missing keys included), or a join when a key
    repeats."""
    df = pl.DataFrame({"k": ["a", None, "c", "z", "a", "b"], "x": range(6)})
    table = pl.DataFrame(
        {"k": ["b", "a", "c", None], "v": [1.5, 2.5, None, 9.0], "w": list("pqrs")}
    )
    for t in (table, pl.concat([table, table.head(1)])):
        joined = df.join(t, on="k", how="left", maintain_order="left")
        assert ev._looked_up(df.lazy(), t, "k").collect().equals(joined, null_equal=True)


def test_the_total_adds_as_sum_horizontal_adds_columns():
    """`costing.total_usd` is `pl.sum_horizontal` over six materialised columns, written out."""
    rng = [float(i) * 1.37e3 ** (i % 5) / 7.0 for i in range(600)]
    df = pl.DataFrame(
        {f"{n}_usd": rng[i * 100 : (i + 1) * 100] for i, n in enumerate(costing.COMPONENTS)}
    ).with_columns(pl.col("energy_usd").sqrt() * 1e-3, pl.col("capital_usd").log1p())
    summed = pl.sum_horizontal([f"{n}_usd" for n in costing.COMPONENTS], ignore_nulls=False)
    assert (
        df.select(costing.total_usd())
        .to_series()
        .equals(df.select(summed.alias("total_usd")).to_series())
    )
