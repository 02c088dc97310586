"""Money: device-hours x rates, owned-hardware TCO, energy and transfers.

Every formula is a polars expression over named columns, so the same code prices one phase (a
one-row frame) in a quote and millions of candidate placements in the planner. Amounts are
computed in USD and converted at the edge with the catalog's FX table.

Placement option columns (built by `options_frame`):
  option ('rented' | 'owned'), provider, region, country, accelerator, pricing, instance,
  unit_devices (devices per instance or server), price_per_device_hour, min_term_days,
  server_price, server_power_w, life_years, opex_fraction_per_year, currency, per_usd,
  electricity_price_kwh, region_currency, region_per_usd, pue, offer_as_of, offer_source, basis
"""

from __future__ import annotations

from datetime import date

import polars as pl

from pricing import Catalog

HOURS_PER_DAY = 24.0
HOURS_PER_YEAR = 8760.0  # 365 days; servers are depreciated on calendar time


def options_frame(catalog: Catalog, as_of: date) -> pl.DataFrame:
    """Every placement the catalogs offer, rented and owned, in one frame (see module doc)."""
    fx = catalog.fx_table(as_of).select("currency", "per_usd")
    regions = catalog.table("regions").select(
        pl.col("id").alias("region"),
        "country",
        pl.col("currency").alias("region_currency"),
        "electricity_price_kwh",
        "pue",
    )
    regions = regions.join(
        fx.rename({"currency": "region_currency", "per_usd": "region_per_usd"}),
        on="region_currency",
        how="left",
    )
    offers = catalog.table("offers").select(
        pl.lit("rented").alias("option"),
        "provider",
        "region",
        "accelerator",
        "pricing",
        "instance",
        pl.col("devices_per_instance").alias("unit_devices"),
        "price_per_device_hour",
        "price_low",
        "price_high",
        "min_term_days",
        pl.lit(None, pl.Float64).alias("server_price"),
        pl.lit(None, pl.Float64).alias("server_power_w"),
        pl.lit(None, pl.Float64).alias("life_years"),
        pl.lit(None, pl.Float64).alias("opex_fraction_per_year"),
        "currency",
        pl.col("as_of").alias("offer_as_of"),
        pl.col("source").alias("offer_source"),
        "basis",
    )
    hardware = catalog.table("hardware")
    owned = (
        hardware.join(regions.select("region", "country"), how="cross")
        .filter((pl.col("region_scope") == "*") | (pl.col("region_scope") == pl.col("country")))
        .select(
            pl.lit("owned").alias("option"),
            pl.lit("owned").alias("provider"),
            "region",
            "accelerator",
            pl.lit("owned").alias("pricing"),
            pl.col("id").alias("instance"),
            pl.col("devices_per_server").alias("unit_devices"),
            pl.lit(None, pl.Float64).alias("price_per_device_hour"),
            "price_low",
            "price_high",
            pl.lit(0, pl.Int64).alias("min_term_days"),
            pl.col("price").alias("server_price"),
            pl.col("server_power_w"),
            pl.col("life_years"),
            pl.col("opex_fraction_per_year"),
            "currency",
            pl.col("as_of").alias("offer_as_of"),
            pl.col("source").alias("offer_source"),
            "basis",
        )
    )
    both = pl.concat([offers, owned], how="vertical_relaxed")
    return both.join(fx, on="currency", how="left").join(regions, on="region", how="left")


# -- formulas (expressions over columns) ---------------------------------------------


def billed_devices(devices: pl.Expr, unit_devices: pl.Expr) -> pl.Expr:
    """Devices are rented or bought in whole instances / servers."""
    return (devices / unit_devices).ceil() * unit_devices


def billed_hours(hours: pl.Expr, min_term_days: pl.Expr) -> pl.Expr:
    """A commitment bills its whole term even when the work finishes sooner."""
    return pl.max_horizontal(hours, min_term_days.cast(pl.Float64) * HOURS_PER_DAY)


def cost_columns(
    devices: pl.Expr,
    hours: pl.Expr,
    price_factor: pl.Expr | None = None,
    *,
    detail: bool = False,
) -> list[pl.Expr]:
    """Money for running `devices` for `hours` at each option row.

    Each component is a quantity times a unit price in the billing currency (the line items a
    quote shows), and its amount in USD:
      rented:  compute    = billed device-hours x price per device-hour
      owned:   hardware   = server-hours x capex / (life_years x 8760)
               energy     = kWh (server power x PUE x hours) x regional tariff
               operations = server-hours x capex x opex_fraction_per_year / 8760
    `price_factor` scales the rental price or the capex (sampling). `detail` adds each
    component's `_quantity` and `_unit_price` columns (a quote's line items; a sweep skips them).
    """
    factor = price_factor if price_factor is not None else pl.lit(1.0)
    rented = pl.col("option") == "rented"
    units = billed_devices(devices, pl.col("unit_devices"))
    server_hours = units / pl.col("unit_devices") * hours
    rent_hours = billed_hours(hours, pl.col("min_term_days"))
    capex = pl.col("server_price") * factor
    parts = {
        "compute": (units * rent_hours, pl.col("price_per_device_hour") * factor, "per_usd"),
        "hardware": (server_hours, capex / (pl.col("life_years") * HOURS_PER_YEAR), "per_usd"),
        "energy": (
            server_hours * pl.col("server_power_w") / 1000.0 * pl.col("pue"),
            pl.col("electricity_price_kwh"),
            "region_per_usd",
        ),
        "operations": (
            server_hours,
            capex * pl.col("opex_fraction_per_year") / HOURS_PER_YEAR,
            "per_usd",
        ),
    }
    out = [
        units.alias("billed_devices"),
        pl.when(rented).then(rent_hours).otherwise(hours).alias("billed_hours"),
    ]
    for name, (quantity, unit_price, rate) in parts.items():
        applies = rented if name == "compute" else ~rented
        out.append(
            pl.when(applies)
            .then(quantity * unit_price / pl.col(rate))
            .otherwise(0.0)
            .alias(f"{name}_usd")
        )
        if detail:
            out += [
                pl.when(applies).then(quantity).otherwise(0.0).alias(f"{name}_quantity"),
                pl.when(applies).then(unit_price).otherwise(0.0).alias(f"{name}_unit_price"),
            ]
    return out


def total_usd() -> pl.Expr:
    """Sum of the components; null when any is unknown (e.g. no exchange rate for the date), so
    an unpriced option can never look free."""
    return (
        pl.col("compute_usd")
        + pl.col("hardware_usd")
        + pl.col("energy_usd")
        + pl.col("operations_usd")
    ).alias("total_usd")


def transfer_cost_usd(gigabytes: pl.Expr) -> pl.Expr:
    return (gigabytes * pl.col("price_per_gb") / pl.col("per_usd")).alias("transfer_usd")


def transfer_hours(gigabytes: pl.Expr) -> pl.Expr:
    """Bulk copy time at the link's sustained speed (GB -> Gbit at 8 bits per byte)."""
    return (gigabytes * 8.0 / pl.col("gbps") / 3600.0).alias("transfer_hours")
