"""Catalog inputs of the physics: device columns, model columns and efficiency defaults.

These join catalog figures onto a frame of candidate rows (one row per accelerator for a quote,
one per unique accelerator and replica limit for a sweep). No formulas live here; they are in
`estimator.physics.formulas`.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import polars as pl

from estimator.errors import ScenarioError
from estimator.physics.model import ARCH_FIELDS, ModelSpec
from pricing import Catalog, UnknownIdError
from pricing.errors import shown

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

PEAK_COLUMN = {
    "bf16": "bf16_tflops",
    "fp16": "fp16_tflops",
    "fp8": "fp8_tflops",
    "int8": "int8_tops",
}
BYTES_PER_PARAM = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0}
GIB = float(2**30)
MODEL_COLUMNS = ("active_params", "total_params", *ARCH_FIELDS)
# The physics queries are long chains of wide expressions over few rows (a quote's phase is one
# row, a layout search a few hundred): polars' optimiser passes cost more than they save there
# (a quote took ~2x as long with them), and they change no value: same expressions, same order.
# Common-subexpression elimination too, since the step time's shared sub-terms are columns
# worked out in stages (`formulas.with_terms`): without it a fresh quote's physics queries
# took ~5 ms less, a plan's too, and a sweep's the same CPU (each query's result bit for bit
# the same, every example's quote and plan, their samples and a sweep; speed17a).
PLAIN = pl.QueryOptFlags.none()


def peak_column(precision: str) -> str:
    """The accelerators.csv column of a precision's peak, or a ScenarioError naming the
    precision (rev12b #11: a KeyError 'fp4' from the helpers `estimator.physics` exports)."""
    if precision not in PEAK_COLUMN:
        known = ", ".join(PEAK_COLUMN)
        raise ScenarioError(f"'{shown(precision)}' is not a precision ({known})", "precision")
    return PEAK_COLUMN[precision]


def bytes_per_param(precision: str) -> float:
    """Bytes of a weight at a precision (`peak_column`'s check: a ScenarioError naming it)."""
    peak_column(precision)
    return BYTES_PER_PARAM[precision]


def known_accelerators(catalog: Catalog, frame: pl.DataFrame) -> None:
    """UnknownIdError, with the nearest id, for an accelerator of `frame` the catalog lacks:
    its row got null figures and no word (rev12b #11: "h100" for "h100-sxm")."""
    if "accelerator" not in frame.columns:
        raise ScenarioError("the frame needs an 'accelerator' column (accelerators.csv ids)")
    known = catalog.ids("accelerators")
    given = frame["accelerator"].drop_nulls().unique(maintain_order=True)
    unknown = given.filter(~given.is_in(known))
    if unknown.len():
        raise UnknownIdError("accelerator", unknown[0], known)


def whole_instances(frame: pl.DataFrame, devices: str, instance: str) -> pl.Series:
    """Per row, the least common multiple of `devices` (a replica's or a deployment's) and
    `instance` (the devices one instance holds): the fewest devices that are both whole
    replicas and whole instances. Null where either is missing or not positive. Worked out once
    per distinct pair and joined on the two columns alone (a join of a wide frame copies all of
    its columns: 0.5 s over a sweep's 1.3M tried layouts)."""
    pairs = frame.select(pl.col(devices).cast(pl.Int64), pl.col(instance).cast(pl.Int64))
    distinct = pairs.unique().drop_nulls().filter((pl.col(devices) > 0) & (pl.col(instance) > 0))
    common = distinct.with_columns(
        _lcm=pl.Series([math.lcm(a, b) for a, b in distinct.iter_rows()], dtype=pl.Int64)
    )
    return pairs.join(common, on=[devices, instance], how="left", maintain_order="left")["_lcm"]


def collect(frame: pl.LazyFrame) -> pl.DataFrame:
    """Run a physics query without the optimiser (see PLAIN). On polars' default engine: the
    in-memory one was ~20 ms faster on a quote, but its last bits depend on how many rows are
    evaluated together, so a Monte Carlo draw's cost changed with the draws beside it
    (tests/test_uncertainty.py)."""
    return frame.collect(optimizations=PLAIN)


def supports(catalog: Catalog, precision: str) -> set[str]:
    """Accelerators with a peak figure at `precision` (an empty cell means no support)."""
    acc = catalog.table("accelerators")
    return set(acc.filter(pl.col(PEAK_COLUMN[precision]).is_not_null())["id"].to_list())


def with_device(catalog: Catalog, frame: Frame, precision: str) -> Frame:
    """Adds peak_flops (at `precision`), bf16_flops, hbm_bytes, hbm_bw, hbm_gib, scaleup_size,
    and the link bandwidths each way per device in bytes/s: scaleup_bw (the catalog's NVLink-
    style figure is a bidirectional total, so half of it) and scaleout_bw (the network; the
    `scaleout_gbps` default where the accelerator row has none)."""
    fallback = catalog.default("scaleout_gbps")
    acc = catalog.table("accelerators").select(
        pl.col("id").alias("accelerator"),
        (pl.col(peak_column(precision)) * 1e12).alias("peak_flops"),
        (pl.col("bf16_tflops") * 1e12).alias("bf16_flops"),
        (pl.col("hbm_gib") * GIB).alias("hbm_bytes"),
        (pl.col("hbm_tbps") * 1e12).alias("hbm_bw"),
        pl.col("hbm_gib"),
        pl.col("scaleup_size"),
        (pl.col("scaleup_gbps") / 2.0 * 1e9).alias("scaleup_bw"),
        (pl.col("scaleout_gbps").cast(pl.Float64).fill_null(fallback) * 1e9).alias("scaleout_bw"),
    )
    if isinstance(frame, pl.LazyFrame):
        return frame.join(acc.lazy(), on="accelerator", how="left", maintain_order="left")
    return frame.join(acc, on="accelerator", how="left", maintain_order="left")


def with_model(frame: Frame, model: ModelSpec) -> Frame:
    """The model's parameter counts and architecture as literal columns (null where unknown)."""
    lits = model.literals()
    return frame.with_columns(
        [
            pl.lit(lits[c], dtype=pl.Float64 if c.endswith("params") else pl.Int64).alias(c)
            for c in MODEL_COLUMNS
        ]
    )


def with_defaults(catalog: Catalog, frame: Frame, columns: dict[str, str]) -> Frame:
    """Adds defaults.csv values as literal columns: {column name: default name}."""
    return frame.with_columns(
        [pl.lit(catalog.default(name)).alias(col) for col, name in columns.items()]
    )


def column_or(frame: pl.DataFrame | pl.LazyFrame, name: str, value: Any, dtype: Any) -> pl.Expr:
    """The frame's own column if present (null cells filled with `value`), else a literal: a
    sweep or a sample may vary a setting per row."""
    lit = pl.lit(value, dtype=dtype)
    if name in frame.collect_schema().names():
        return pl.col(name).cast(dtype).fill_null(lit)
    return lit


def with_efficiency(
    catalog: Catalog, frame: Frame, accelerators: pl.Series, workload: str, arch: str, prefix: str
) -> Frame:
    """Adds `{prefix}mfu`, `{prefix}goodput`, `{prefix}mfu_low`, `{prefix}mfu_high` and
    `{prefix}row` (which efficiency.csv row), resolved once per distinct accelerator of
    `accelerators` (the frame's own column, which the caller has at hand: the lazy frame's would
    be worked out again for it, ~1 ms a phase)."""
    distinct = accelerators.unique(maintain_order=True).to_list()
    resolved = efficiency_tiers(catalog, distinct, workload, arch, prefix)
    if isinstance(frame, pl.LazyFrame):
        return frame.join(
            resolved.lazy(), on="accelerator", how="left", nulls_equal=True, maintain_order="left"
        )
    return frame.join(
        resolved, on="accelerator", how="left", nulls_equal=True, maintain_order="left"
    )


def efficiency_tiers(
    catalog: Catalog, accelerators: list[str], workload: str, arch: str, prefix: str
) -> pl.DataFrame:
    """Per accelerator, the most specific efficiency.csv row: (accelerator, arch),
    (accelerator, '*'), ('*', arch), ('*', '*'). A row without a range has no uncertainty."""
    eff = catalog.table("efficiency").filter(pl.col("workload") == workload)
    rows: list[dict[str, Any]] = []
    by_key = {(r["accelerator"], r["arch"]): r for r in eff.iter_rows(named=True)}
    for acc in accelerators:
        hit = next(
            (by_key[k] for k in ((acc, arch), (acc, "*"), ("*", arch), ("*", "*")) if k in by_key),
            None,
        )
        rows.append(
            {
                "accelerator": acc,
                f"{prefix}mfu": hit and hit["mfu"],
                f"{prefix}goodput": hit and hit["goodput"],
                f"{prefix}mfu_low": hit and (hit["mfu_low"] or hit["mfu"]),
                f"{prefix}mfu_high": hit and (hit["mfu_high"] or hit["mfu"]),
                f"{prefix}row": hit
                and f"efficiency.csv {hit['accelerator']}/{workload}/{hit['arch']}",
            }
        )
    schema = {
        "accelerator": pl.String,
        **{f"{prefix}{f}": pl.Float64 for f in ("mfu", "goodput", "mfu_low", "mfu_high")},
        f"{prefix}row": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)
