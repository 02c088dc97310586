"""Published whole pretraining runs of the catalog's model presets, for a quote to set beside its
own estimate (the `published-run` finding).

They are the `whole_run` rows of the calibration set (`estimator/data/calibration_train.csv`,
one public source per row), found by the model's id (a preset's, or a user's models.csv row of
the same name): what a team reported its run took, in device-hours, failures, restarts and its
own stack's efficiency included. Read with the csv module, once, when a training phase is first
checked.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class PublishedRun:
    id: str  # the calibration row (`splitcompute calibration` shows it)
    model: str
    accelerator: str
    precision: str | None  # None: the source does not say
    total_params: float  # counts, as the run's model had them
    active_params: float
    tokens: float
    device_hours: float
    source: str  # the public reference, up to its first detail in brackets


def published_runs(
    model: str, total_params: float, active_params: float, precision: str
) -> tuple[PublishedRun, ...]:
    """The published runs of the model named `model` at `precision` (or at a precision not
    stated), when its parameter counts are the run's within 2%: a preset given other counts is
    another model (review9c #1: a 1.4T DeepSeek-V3 was set beside DeepSeek's own run)."""

    def near(a: float, b: float) -> bool:
        return abs(a - b) <= 0.02 * b

    return tuple(
        r
        for r in _runs()
        if r.model == model
        and r.precision in (None, precision)
        and near(total_params, r.total_params)
        and near(active_params, r.active_params)
    )


@cache
def training_points() -> tuple[dict[str, str], ...]:
    """The calibration set's training points (`estimator/data/calibration_train.csv`) as text,
    read once with the csv module: its published runs (`published_runs`) and the devices it
    calibrates (`calibration.calibrated_for_training`) are both read from these rows. Not to
    be changed: every caller shares them."""
    text = (resources.files("estimator") / "data" / "calibration_train.csv").read_text("utf-8")
    return tuple(csv.DictReader(io.StringIO(text)))


@cache
def _runs() -> tuple[PublishedRun, ...]:
    out = []
    for row in training_points():
        if row["kind"] != "whole_run" or row["published_unit"] != "device_hours":
            continue
        out.append(
            PublishedRun(
                id=row["id"],
                model=row["model"],
                accelerator=row["accelerator"],
                precision=row["precision"] or None,
                total_params=float(row["total_params_b"]) * 1e9,
                active_params=float(row["active_params_b"]) * 1e9,
                tokens=float(row["tokens"]),
                device_hours=float(row["published"]),
                source=row["source"].split(" (")[0].split(";")[0].strip(),
            )
        )
    return tuple(out)
