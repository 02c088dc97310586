"""Published runs vs our prediction with default settings (efficiency.csv, no per-run factors).

The runs, their sources, conditions and tolerances live in `estimator/data/published_runs.csv`.
Runs with `scored = false` are shown for honesty but left out of the summary (the CSV says why).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import polars as pl

from estimator.physics import (
    ModelSpec,
    ServeSettings,
    TrainSettings,
    resolve_model,
    serving_frame,
    training_frame,
)

TARGETS = {
    # kind: (median abs error %, max abs error %)
    "train": (15.0, 35.0),
    "serve": (25.0, 50.0),
}

_ARCH = ("layers", "hidden", "heads", "kv_heads", "head_dim", "vocab")


def published_runs() -> pl.DataFrame:
    raw = (resources.files("estimator") / "data" / "published_runs.csv").read_bytes()
    return pl.read_csv(raw, infer_schema_length=None).with_columns(
        pl.col("scored").cast(pl.String).str.to_lowercase() == "true"
    )


def _model(catalog: Any, run: dict[str, Any]) -> ModelSpec:
    if run["model"] in catalog.ids("models"):
        return resolve_model(catalog, run["model"])
    return resolve_model(
        catalog,
        id=run["model"],
        name=run["model"],
        total_params=run["total_params_b"] * 1e9,
        active_params=run["active_params_b"] * 1e9,
        **{k: run[k] for k in _ARCH},
    )


def _predict(catalog: Any, run: dict[str, Any]) -> float:
    model = _model(catalog, run)
    frame = pl.DataFrame({"accelerator": [run["accelerator"]]})
    devices = None if run["devices"] is None else int(run["devices"])
    if run["kind"] == "train":
        out = training_frame(
            catalog,
            model,
            frame,
            TrainSettings(
                tokens=float(run["tokens"]),
                precision=run["precision"],
                seq_len=int(run["seq_len"]),
                devices=devices,
            ),
        )
    else:
        out = serving_frame(
            catalog,
            model,
            frame,
            ServeSettings(
                precision=run["precision"],
                input_len=int(run["input_len"]),
                output_len=int(run["output_len"]),
                tpot_ms=run["tpot_ms"],
                replica_devices=devices,
            ),
        )
    return float(out[run["unit"]][0])


def calibration_table(catalog: Any) -> pl.DataFrame:
    """One row per published run: published vs predicted with default settings, error %."""
    runs = published_runs()
    predicted = [_predict(catalog, r) for r in runs.iter_rows(named=True)]
    return runs.with_columns(predicted=pl.Series(predicted, dtype=pl.Float64)).select(
        "run",
        "kind",
        "scored",
        "model",
        "accelerator",
        "devices",
        pl.col("published").cast(pl.Float64),
        "predicted",
        "unit",
        ((pl.col("predicted") / pl.col("published") - 1.0) * 100.0).alias("error_pct"),
        pl.col("tolerance_pct").cast(pl.Float64),
        "source",
        "conditions",
    )


def summary(table: pl.DataFrame | None = None, catalog: Any = None) -> pl.DataFrame:
    """Median and max absolute error per kind over the scored runs, with the targets."""
    if table is None:
        from pricing import load_catalog

        table = calibration_table(catalog if catalog is not None else load_catalog())
    return (
        table.filter(pl.col("scored"))
        .group_by("kind", maintain_order=True)
        .agg(
            pl.len().alias("runs"),
            pl.col("error_pct").abs().median().alias("median_abs_error_pct"),
            pl.col("error_pct").abs().max().alias("max_abs_error_pct"),
        )
        .with_columns(
            pl.col("kind")
            .replace_strict({k: v[0] for k, v in TARGETS.items()})
            .alias("target_median_pct"),
            pl.col("kind")
            .replace_strict({k: v[1] for k, v in TARGETS.items()})
            .alias("target_max_pct"),
        )
    )


if __name__ == "__main__":  # pragma: no cover - manual report
    from pricing import load_catalog

    t = calibration_table(load_catalog())
    with pl.Config(tbl_rows=50, tbl_cols=12, fmt_str_lengths=40, tbl_width_chars=200):
        print(
            t.select(
                "run",
                "scored",
                "accelerator",
                "published",
                "predicted",
                "error_pct",
                "tolerance_pct",
            )
        )
        print(summary(t))
