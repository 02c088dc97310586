"""What may serve a phase: one query, one vectorised selection of candidate options.

An *option* is one way to get devices at a date: a rented offer (the catalog row valid on that
date) or bought hardware in a region where it can run. `option_table` lays every option out in
one frame with what money and rules need; `OptionQuery` says which of them a phase may use,
built the same way from a fixed site, an auto site or command-line flags; `select` applies it.

Two policies live here and nowhere else:
- spot capacity (reclaimable at any time) is a candidate only when the query names "spot";
- bought hardware ("owned") is a candidate whenever the pricing is left open or names it, so
  renting and buying compete on the same evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

import polars as pl

from estimator.scenario import AutoSite, Site
from pricing import Catalog

SiteSpec = Site | AutoSite | Literal["auto"]


class Placement(Protocol):
    region: str
    accelerator: str
    pricing: str
    provider: str
    instance: str


@dataclass(frozen=True)
class OptionQuery:
    """Which options a phase may use; an empty tuple allows anything (spot excepted)."""

    regions: tuple[str, ...] = ()
    accelerators: tuple[str, ...] = ()
    pricing: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    instances: tuple[str, ...] = ()

    @classmethod
    def of(cls, site: SiteSpec) -> OptionQuery:
        if isinstance(site, Site):
            return cls(
                regions=(site.region,),
                accelerators=(site.accelerator,),
                pricing=(site.pricing,),
                providers=() if site.provider is None else (site.provider,),
                instances=() if site.instance is None else (site.instance,),
            )
        if isinstance(site, AutoSite):
            return cls(
                regions=tuple(site.regions),
                accelerators=tuple(site.accelerators),
                pricing=tuple(site.pricing),
                providers=tuple(site.providers),
            )
        return cls()

    @classmethod
    def placed(cls, p: Placement) -> OptionQuery:
        """Exactly the option a quoted phase is placed at."""
        return cls((p.region,), (p.accelerator,), (p.pricing,), (p.provider,), (p.instance,))

    def expr(self) -> pl.Expr:
        """True for the options this query allows (the one place the policies are applied)."""
        conds = [
            pl.col(column).is_in(list(values))
            for column, values in (
                ("region", self.regions),
                ("accelerator", self.accelerators),
                ("pricing", self.pricing),
                ("provider", self.providers),
                ("instance", self.instances),
            )
            if values
        ]
        if "spot" not in self.pricing:
            conds.append(pl.col("pricing") != "spot")
        return pl.all_horizontal(conds) if conds else pl.lit(True)


def select(options: pl.DataFrame, query: OptionQuery) -> pl.DataFrame:
    """The options a query allows."""
    return options.filter(query.expr())


def option_table(catalog: Catalog, as_of: date) -> pl.DataFrame:
    """Every option at `as_of`, rented and owned, one row each, with FX, region and rule facts.

    Columns: option_id, option ('rented' | 'owned'), ownership, provider, region, country,
    accelerator, accelerator_origin, scaleup_size, pricing, instance, unit_devices,
    price_per_device_hour, price_low, price_high, min_term_days, server_price, server_power_w,
    life_years, opex_fraction_per_year, currency, per_usd, fx_as_of, electricity_price_kwh,
    region_currency, region_per_usd, region_fx_as_of, pue, rtt_ms_to_cn, offer_as_of,
    offer_source, basis. Money columns of the other kind are null.
    """
    fx = catalog.fx_table(as_of).select("currency", "per_usd", "fx_as_of")
    regions = _regions(catalog, fx)
    devices = catalog.table("accelerators").select(
        pl.col("id").alias("accelerator"),
        pl.col("origin").alias("accelerator_origin"),
        "scaleup_size",
    )
    return (
        pl.concat(
            [_rented(catalog, as_of), _owned(catalog, as_of, regions)], how="diagonal_relaxed"
        )
        .join(fx, on="currency", how="left")
        .join(regions, on="region", how="left")
        .join(devices, on="accelerator", how="left")
        .with_columns(
            pl.when(pl.col("option") == "owned")
            .then(pl.lit("owned"))
            .otherwise(pl.lit("rented"))
            .alias("ownership")
        )
        .with_row_index("option_id")
    )


def _regions(catalog: Catalog, fx: pl.DataFrame) -> pl.DataFrame:
    regions = catalog.table("regions").select(
        pl.col("id").alias("region"),
        "country",
        pl.col("currency").alias("region_currency"),
        "electricity_price_kwh",
        "pue",
        "rtt_ms_to_cn",
    )
    local = fx.rename(
        {"currency": "region_currency", "per_usd": "region_per_usd", "fx_as_of": "region_fx_as_of"}
    )
    return regions.join(local, on="region_currency", how="left")


_PROVENANCE = (
    "currency",
    pl.col("as_of").alias("offer_as_of"),
    pl.col("source").alias("offer_source"),
    "basis",
)


def _rented(catalog: Catalog, as_of: date) -> pl.DataFrame:
    """The offer rows valid on the date."""
    return catalog.dated("offers", as_of).select(
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
        *_PROVENANCE,
    )


def _owned(catalog: Catalog, as_of: date, regions: pl.DataFrame) -> pl.DataFrame:
    """Hardware that can be bought, in every region its scope allows."""
    return (
        catalog.dated("hardware", as_of)
        .join(regions.select("region", "country"), how="cross")
        .filter((pl.col("region_scope") == "*") | (pl.col("region_scope") == pl.col("country")))
        .select(
            pl.lit("owned").alias("option"),
            pl.lit("owned").alias("provider"),
            "region",
            "accelerator",
            pl.lit("owned").alias("pricing"),
            pl.col("id").alias("instance"),
            pl.col("devices_per_server").alias("unit_devices"),
            "price_low",
            "price_high",
            pl.lit(0, pl.Int64).alias("min_term_days"),
            pl.col("price").alias("server_price"),
            "server_power_w",
            "life_years",
            "opex_fraction_per_year",
            *_PROVENANCE,
        )
    )
