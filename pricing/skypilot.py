"""Turn a SkyPilot catalog `vms.csv` into offers.csv rows (`splitcompute import-skypilot`).

SkyPilot (github.com/skypilot-org/skypilot-catalog) keeps one CSV per cloud with a row per
instance type and zone: InstanceType, AcceleratorName, AcceleratorCount, Price (whole instance,
USD per hour), SpotPrice, Region, AvailabilityZone. Users who download it can keep our prices
fresh offline. Names map to our ids through aliases.csv (region codes per cloud, SkyPilot's
accelerator names); rows that do not map are counted, not guessed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from pricing.catalog import Catalog
from pricing.errors import CatalogError, Problem, UnknownIdError

REQUIRED = ("InstanceType", "AcceleratorName", "AcceleratorCount", "Price", "Region")
# Clouds whose SkyPilot catalog lists machines per zone, so a row shows the machine is offered
# there; others (e.g. Oracle) list every shape everywhere, which shows only a price.
LISTS_BY_ZONE = ("aws", "gcp", "azure", "lambda", "runpod")


@dataclass(frozen=True)
class Imported:
    offers: pl.DataFrame  # offers.csv columns
    skipped: dict[str, int]  # why rows were left out -> how many


def import_vms(catalog: Catalog, data: bytes, label: str, provider: str, as_of: date) -> Imported:
    """Offer rows (on-demand and, where priced, spot) per instance type and region of `data`.
    `provider` is a cloud whose region names aliases.csv maps (UnknownIdError otherwise)."""
    aliases = catalog.table("aliases")
    clouds = aliases.filter(pl.col("kind") == "region")["system"].unique().sort().to_list()
    if provider not in clouds:  # a typo imported nothing and exited 0 (review11a #17)
        raise UnknownIdError("provider", provider, clouds)
    # The header first: another kind of file (a TOML scenario) read as CSV failed with the
    # parser's words ("more fields than defined in 'Schema'").
    header = next(csv.reader(io.StringIO(data[:65_536].decode("utf-8-sig", "replace"))), [])
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CatalogError(
            [Problem(label, 1, None, f"not a SkyPilot vms.csv: missing {', '.join(missing)}")]
        )
    try:
        raw = pl.read_csv(io.BytesIO(data), infer_schema_length=10_000)
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CatalogError([Problem(label, None, None, f"cannot read CSV: {first}")]) from exc
    regions = aliases.filter((pl.col("kind") == "region") & (pl.col("system") == provider))
    devices = aliases.filter((pl.col("kind") == "accelerator") & (pl.col("system") == "skypilot"))
    df = (
        raw.filter(pl.col("AcceleratorName").is_not_null() & (pl.col("AcceleratorCount") > 0))
        .join(
            regions.select(pl.col("name").alias("Region"), pl.col("id").alias("region")),
            on="Region",
            how="left",
        )
        .join(
            devices.select(
                pl.col("name").alias("AcceleratorName"), pl.col("id").alias("accelerator")
            ),
            on="AcceleratorName",
            how="left",
        )
    )
    skipped = {
        "GPU not in the catalog": df.filter(pl.col("accelerator").is_null()).height,
        f"region not mapped for {provider} in aliases.csv": df.filter(
            pl.col("accelerator").is_not_null() & pl.col("region").is_null()
        ).height,
    }
    usable = df.filter(pl.col("accelerator").is_not_null() & pl.col("region").is_not_null())
    # GCP prices GPUs apart from the host VM: such rows have no instance type.
    gpu_part = pl.col("InstanceType").is_null() | (pl.col("InstanceType").cast(pl.String) == "")
    usable = usable.with_columns(
        pl.when(gpu_part)
        .then(pl.format("{}x{} (GPU part)", "AcceleratorName", "AcceleratorCount"))
        .otherwise(pl.col("InstanceType"))
        .alias("InstanceType"),
        gpu_part.alias("_gpu_part"),
    )
    offers = _offers(usable, label, provider, as_of)
    return Imported(offers, {k: v for k, v in skipped.items() if v})


def _offers(df: pl.DataFrame, label: str, provider: str, as_of: date) -> pl.DataFrame:
    count = pl.col("AcceleratorCount").cast(pl.Float64)
    per_device = {
        "on_demand": pl.col("Price").cast(pl.Float64) / count,
        "spot": pl.col("SpotPrice").cast(pl.Float64, strict=False) / count
        if "SpotPrice" in df.columns
        else pl.lit(None, pl.Float64),
    }
    keys = ["InstanceType", "region", "accelerator"]
    parts = []
    for pricing, price in per_device.items():
        part = (
            df.with_columns(_p=price, _n=count.cast(pl.Int64))
            .filter(pl.col("_p").is_not_null() & (pl.col("_p") > 0))
            .group_by(keys, maintain_order=True)
            .agg(
                pl.col("_n").first(),
                pl.col("_gpu_part").first(),
                pl.col("_p").min().alias("lo"),
                pl.col("_p").max().alias("hi"),
            )
            .with_columns(pl.lit(pricing).alias("pricing"))
        )
        parts.append(part)
    both = pl.concat(parts)
    evidence = "listed" if provider in LISTS_BY_ZONE else "sku"
    spread = pl.col("hi") > pl.col("lo")
    return both.select(
        pl.lit(provider).alias("provider"),
        "region",
        "accelerator",
        pl.col("InstanceType").alias("instance"),
        pl.col("_n").alias("devices_per_instance"),
        "pricing",
        pl.col("lo").round(6).alias("price_per_device_hour"),
        pl.lit("USD").alias("currency"),
        pl.lit(0).alias("min_term_days"),
        pl.when(spread).then(pl.col("lo").round(6)).alias("price_low"),
        pl.when(spread).then(pl.col("hi").round(6)).alias("price_high"),
        pl.lit(evidence).alias("evidence"),
        pl.lit(None, pl.Int64).alias("max_devices"),
        pl.lit("published").alias("basis"),
        pl.when(pl.col("_gpu_part"))
        .then(
            pl.lit(
                "imported from a SkyPilot catalog: GPU part only, the host VM is billed "
                "separately and NOT included; "
            )
        )
        .otherwise(pl.lit("imported from a SkyPilot catalog: whole-instance price / devices; "))
        .add(pl.lit("the lowest zone price of the region, the zone range as low/high"))
        .alias("note"),
        pl.lit(f"SkyPilot catalog {Path(label).name} ({provider}), read {as_of}").alias("source"),
        pl.lit(as_of).alias("as_of"),
    ).sort("region", "accelerator", "instance", "pricing")
