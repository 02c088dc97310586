"""Published runs vs predictions with default settings: each within its stated tolerance."""

from __future__ import annotations

import polars as pl
import pytest

from estimator.calibration import TARGETS, calibration_table, published_runs, summary
from pricing import load_catalog

TABLE = calibration_table(load_catalog())


def test_table_columns_and_provenance() -> None:
    for c in (
        "run",
        "kind",
        "model",
        "accelerator",
        "devices",
        "published",
        "predicted",
        "unit",
        "error_pct",
        "tolerance_pct",
        "source",
        "conditions",
    ):
        assert c in TABLE.columns
    assert TABLE["source"].null_count() == 0 and TABLE["conditions"].null_count() == 0
    assert TABLE["predicted"].null_count() == 0
    assert set(TABLE["kind"]) == {"train", "serve"}
    assert len(published_runs()) == len(TABLE)


@pytest.mark.parametrize("run", TABLE.filter(pl.col("scored"))["run"].to_list())
def test_run_within_tolerance(run: str) -> None:
    row = TABLE.filter(pl.col("run") == run).row(0, named=True)
    assert abs(row["error_pct"]) <= row["tolerance_pct"], row


@pytest.mark.parametrize("kind", ["train", "serve"])
def test_median_and_max_targets(kind: str) -> None:
    s = summary(TABLE).filter(pl.col("kind") == kind).row(0, named=True)
    median_target, max_target = TARGETS[kind]
    assert s["runs"] >= 4
    assert s["median_abs_error_pct"] <= median_target
    assert s["max_abs_error_pct"] <= max_target
