"""Workload physics: how long training and serving take on a device, with no money in it.

- `formulas`: shared formulas (attention, KV cache, weights, experts, collectives) as polars
  expressions over named columns; `trainstep` and `servestep`: training and serving step time;
- `inputs`: the catalog figures those formulas read (device specs, efficiency and defaults);
- `model`: the model architecture (`ModelSpec`, presets from models.csv, the shape rule);
- `training`, `serving`: the frames a quote (one row) and a sweep (many rows) evaluate;
- `store`: solves kept between runs, found again only for the very same inputs and code.
"""

from __future__ import annotations

import polars as pl

from estimator.physics import formulas
from estimator.physics.inputs import BYTES_PER_PARAM, PEAK_COLUMN, with_model
from estimator.physics.model import ModelSpec, resolve_model
from estimator.physics.serving import SERVING_COLUMNS, ServeSettings, serving_frame
from estimator.physics.training import (
    LAYOUT_STEPS,
    TRAINING_COLUMNS,
    TrainSettings,
    described,
    training_frame,
)
from pricing.schema import DEFAULT_PRECISION

__all__ = [
    "LAYOUT_STEPS",
    "PEAK_COLUMN",
    "SERVING_COLUMNS",
    "TRAINING_COLUMNS",
    "ModelSpec",
    "ServeSettings",
    "TrainSettings",
    "checkpoint_bytes",
    "described",
    "resolve_model",
    "serving_frame",
    "training_frame",
    "weight_bytes",
]


def _one_row(model: ModelSpec, expr: pl.Expr, **cols: float) -> float:
    df = with_model(pl.DataFrame({k: [v] for k, v in cols.items()}), model)
    return float(df.select(expr.alias("x"))["x"][0])


def weight_bytes(model: ModelSpec, precision: str = DEFAULT_PRECISION) -> float:
    """Bytes of the model's weights at a precision (all experts)."""
    return _one_row(model, formulas.weight_bytes(), bytes_per_param=BYTES_PER_PARAM[precision])


def checkpoint_bytes(model: ModelSpec) -> float:
    """Bytes of a resumable training checkpoint (weights + fp32 master weights + Adam state)."""
    return _one_row(model, formulas.checkpoint_bytes(), x=0.0)
