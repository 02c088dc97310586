"""Sweep the pretraining deadline of the split plan: what it does to devices and money.

Run: python examples/planning_script.py [CHART.svg|png]   (the chart needs splitcompute[charts])
Uses only the library: one sweep over a scenario field, a polars frame, one chart.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from estimator import chart, sweep

SCENARIO = Path(__file__).resolve().parent / "split_abroad_home.toml"
DEADLINE = "phases.pretrain.deadline_days"


def main(chart_file: str = "deadline_sweep.svg") -> pl.DataFrame:
    frame = sweep(SCENARIO, {DEADLINE: [60, 90, 120, 180, 365]})
    print(
        frame.select(
            pl.col(DEADLINE).alias("deadline (days)"),
            (pl.col("cost:pretrain") / 1e6).round(1).alias("pretrain (M)"),
            (pl.col("total") / 1e6).round(1).alias("total (M)"),
            "currency",
            "blocked",
        )
    )
    # The script's own output, written again on each run (save keeps an existing file unless told).
    print(f"chart: {chart(frame, x=DEADLINE).save(chart_file, overwrite=True)}")
    return frame


if __name__ == "__main__":
    main(*sys.argv[1:2])
