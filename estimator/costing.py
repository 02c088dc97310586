"""Money: device-hours x rates, owned-hardware TCO, energy and transfers, and line items.

Every formula is a polars expression over named columns (the option columns of
`estimator.options.option_table`), so the same code prices one phase (a one-row frame) in a
quote and millions of candidate placements in the planner. Amounts are computed in USD and
converted with the FX rates the option table carries; `line_items` turns one priced row into
the items a quote shows (quantity x unit price in the billed currency, then converted).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict

HOURS_PER_DAY = 24.0
HOURS_PER_YEAR = 8760.0  # 365 days; servers are depreciated on calendar time


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
            "energy_per_usd",
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


# -- line items ------------------------------------------------------------------------------

Component = Literal["compute", "hardware", "energy", "operations", "transfer"]


class LineItem(BaseModel):
    """quantity x unit_price = billed_amount (in unit_currency) = amount (in the quote's)."""

    model_config = ConfigDict(frozen=True)

    phase: str
    region: str
    component: Component
    description: str
    quantity: float
    unit: str
    unit_price: float
    unit_currency: str
    fx_per_usd: float
    fx_as_of: date
    billed_amount: float
    amount: float
    currency: str


def line_items(row: dict[str, Any], phase: str, currency: str, per_usd: float) -> list[LineItem]:
    """The items of one priced option row (`cost_columns(..., detail=True)`), in `currency`
    at `per_usd` units per USD."""
    items = []
    for component, desc, unit, local in _parts(row):
        rate, as_of = (
            (row["energy_per_usd"], row["energy_fx_as_of"])
            if local
            else (row["per_usd"], row["fx_as_of"])
        )
        usd = row[f"{component}_usd"]
        items.append(
            LineItem(
                phase=phase,
                region=row["region"],
                component=component,
                description=desc,
                quantity=row[f"{component}_quantity"],
                unit=unit,
                unit_price=row[f"{component}_unit_price"],
                unit_currency=row["energy_currency" if local else "currency"],
                fx_per_usd=rate,
                fx_as_of=as_of,
                billed_amount=usd * rate,
                amount=usd * per_usd,
                currency=currency,
            )
        )
    return items


def _parts(row: dict[str, Any]) -> list[tuple[Component, str, str, bool]]:
    """(component, description, unit, billed in the electricity's currency) of an option row."""
    if row["option"] == "rented":
        desc = f"{row['provider']} {row['instance']} {row['pricing']}"
        if row["billed_hours"] > row["hours"] + 1e-9:
            desc += f" (minimum term {row['min_term_days']} days billed)"
        if row["billed_devices"] > row["devices"]:
            whole = (
                f"{row['billed_devices']:,.0f} devices: whole instances of {row['unit_devices']}"
            )
            desc += f" ({whole})"
        return [("compute", desc, "device-hour", False)]
    servers = row["billed_devices"] / row["unit_devices"]
    return [
        (
            "hardware",
            f"{servers:,.0f} x {row['instance']} ({row['unit_devices']} devices each): "
            f"capex over {row['life_years']:g} years",
            "server-hour",
            False,
        ),
        ("energy", f"{row['server_power_w']:,.0f} W per server x PUE {row['pue']:g}", "kWh", True),
        (
            "operations",
            f"{row['opex_fraction_per_year']:.0%} of capex per year",
            "server-hour",
            False,
        ),
    ]
