"""What may serve a phase: one query, one vectorised selection of candidate options.

An *option* is one way to get devices at a date: a rented offer (the catalog row valid on that
date) or bought hardware in a region where it can run. `option_table` lays every option out in
one frame with what money and rules need; `OptionQuery` says which of them a phase may use,
built the same way from a fixed site, an auto site or command-line flags; `select` applies it.

Four policies live here and nowhere else:
- spot capacity (reclaimable at any time) is a candidate only when the query names "spot";
- an offer whose capacity rests on a billing SKU alone (no listing shows the machine in that
  region) is a candidate only for a fixed site, which names it, or when the query names "sku";
- a rented offer whose capacity is only reported, or only listed by a marketplace or reseller,
  with no size stated, is trusted for at most `reported_capacity_devices` (`capacity_assumed`);
- bought hardware ("owned") is a candidate whenever the pricing is left open or names it, so
  renting and buying compete on the same evaluation.
A fixed site that matches no option is still evaluated (`placeholder`): its physics and rules
are judged and it is reported unpriced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

import polars as pl

from estimator.scenario import AutoSite, Fleet, Site
from pricing import Catalog
from pricing.schema import Ownership

SiteSpec = Site | AutoSite | Literal["auto"]
# The capacity evidence an auto site accepts when it names none.
DEFAULT_EVIDENCE = ("listed", "marketplace", "reported")
# Evidence whose capacity nobody has shown one tenant can get at scale: capped when the row
# states no max_devices (defaults.csv reported_capacity_devices).
UNSIZED_EVIDENCE = ("reported", "marketplace")

OptionKind = Literal["rented", "owned", "fleet"]

OWNED_PRICING = ("owned", "fleet")
"""The pricing models of hardware the tenant owns: bought for the plan, or a fleet it has."""


def option_kind(pricing: str) -> OptionKind:
    """What an option of this pricing model is: bought for the plan, a fleet, or rented."""
    return "owned" if pricing == "owned" else "fleet" if pricing == "fleet" else "rented"


def ownership(pricing: str) -> Ownership:
    """Whether hardware of this pricing model is the tenant's own (a purchase or a fleet) or
    rented: the one decision the rules' `ownership` column is keyed on (rev12e #1)."""
    return "owned" if pricing in OWNED_PRICING else "rented"


def ownership_expr() -> pl.Expr:
    """`ownership` over an option frame's `pricing` column."""
    return (
        pl.when(pl.col("pricing").is_in(list(OWNED_PRICING)))
        .then(pl.lit("owned"))
        .otherwise(pl.lit("rented"))
    )


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
    evidence: tuple[str, ...] = ()
    # One named site: what it names is asked for. Naming a provider or an instance takes
    # SKU-only capacity too; otherwise it is used only where the site has nothing else, so
    # pinning the planner's region and pricing gives the planner's answer (review8a #4: a
    # Lambda SKU row undercut the AWS listing the planner chose by 42%).
    fixed: bool = False

    @classmethod
    def of(cls, site: SiteSpec) -> OptionQuery:
        if isinstance(site, Site):
            return cls(
                regions=(site.region,),
                accelerators=(site.accelerator,),
                pricing=(site.pricing,),
                providers=() if site.provider is None else (site.provider,),
                instances=tuple(x for x in (site.instance or site.fleet,) if x is not None),
                fixed=True,
            )
        if isinstance(site, AutoSite):
            return cls(
                regions=tuple(site.regions),
                accelerators=tuple(site.accelerators),
                pricing=tuple(site.pricing),
                providers=tuple(site.providers),
                evidence=tuple(site.evidence),
            )
        return cls()

    @classmethod
    def placed(cls, p: Placement) -> OptionQuery:
        """Exactly the option a quoted phase is placed at."""
        return cls(
            (p.region,), (p.accelerator,), (p.pricing,), (p.provider,), (p.instance,), fixed=True
        )

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
        evidence = self.evidence or DEFAULT_EVIDENCE
        # Owned hardware has no offer evidence: what is bought is there.
        shown = pl.col("evidence").is_null() | pl.col("evidence").is_in(list(evidence))
        if not self.fixed or self.evidence:
            conds.append(shown)
        elif not self.instances:
            asked = pl.all_horizontal(conds) if conds else pl.lit(True)
            # A lab's accounting figure (evidence = accounting) is no offer at all: only when
            # the site names it (rev11a #6), by its instance, or by a provider with no offer
            # there (rev20a #5: naming the provider of a 21-day H800 rental swapped in
            # DeepSeek's assumed 2 USD an hour of the same provider, 22.6x cheaper).
            offer = pl.col("evidence").fill_null("") != "accounting"
            if self.providers:
                conds.append(offer | ~(asked & offer).any())
            else:
                # SKU-only: when nothing else is there.
                conds.append((shown | ~(asked & shown).any()) & offer)
        return pl.all_horizontal(conds) if conds else pl.lit(True)


def select(options: pl.DataFrame, query: OptionQuery) -> pl.DataFrame:
    """The options a query allows."""
    return options.filter(query.expr())


def placeholder(
    options: pl.DataFrame, site: Site, fleet: Fleet | None = None, as_of: date | None = None
) -> pl.DataFrame:
    """A fixed site that matches no option, as a one-row candidate with no price: the region's
    and the device's facts, instances of one scale-up domain, every money column null. A fleet
    site is the fleet it runs on (`fleet`: its name, size and acquired date, else `as_of`, as
    `market.fleet_options` has it), owned like any fleet (rev12e #1)."""
    region = options.filter(pl.col("region") == site.region).head(1)
    device = options.filter(pl.col("accelerator") == site.accelerator).head(1)
    facts = {
        "option_id": 2**32 - 1,
        "option": option_kind(site.pricing),
        "ownership": ownership(site.pricing),
        "provider": site.provider or ("fleet" if fleet else "(no offer)"),
        "region": site.region,
        "accelerator": site.accelerator,
        "pricing": site.pricing,
        "instance": fleet.name if fleet else site.instance or "(no offer)",
        "capacity_devices": fleet.devices if fleet else None,
        "offer_as_of": (fleet.acquired or as_of) if fleet else None,
    }
    row = pl.DataFrame([facts]).with_columns(
        *[pl.lit(region[c][0] if region.height else None).alias(c) for c in _REGION_FACTS],
        *[pl.lit(device[c][0] if device.height else None).alias(c) for c in _DEVICE_FACTS],
    )
    row = row.with_columns(pl.col("scaleup_size").alias("unit_devices"))
    return pl.concat([options.clear(), row], how="diagonal_relaxed").select(options.columns)


_REGION_FACTS = ("country",)
_DEVICE_FACTS = ("accelerator_origin", "scaleup_size")


def option_table(catalog: Catalog, as_of: date) -> pl.DataFrame:
    """Every option at `as_of`, rented and owned, one row each, with FX, region and rule facts.

    Columns: option_id, option ('rented' | 'owned'), ownership, provider, region, country,
    accelerator, accelerator_origin, scaleup_size, pricing, instance, unit_devices,
    price_per_device_hour, price_low, price_high, min_term_days, evidence, capacity_devices,
    capacity_assumed, instance_scaleout_gbit_s, max_term_days, max_term_source,
    server_price (a whole server's: a module's price times host_uplift), host_uplift,
    server_power_w, life_years, opex_fraction_per_year, currency, per_usd, fx_as_of, pue,
    electricity_price_kwh, energy_currency, energy_per_usd, energy_fx_as_of, energy_as_of,
    energy_source, offer_as_of, offer_source, basis. Money columns of the other
    kind are null; the electricity row is the region's latest on or before `as_of`, or the
    latest of its rows scoped to the accelerator's origin where it has one.
    """
    return _laid_out(
        catalog,
        as_of,
        catalog.dated("offers", as_of, future=False),
        catalog.dated("hardware", as_of, future=False),
    )


def priced_later(catalog: Catalog, query: OptionQuery, as_of: date) -> pl.DataFrame:
    """The options a query allows that the catalog has no price for on `as_of` and has one
    for later: each offer or hardware series whose rows all come after `as_of`, at its first
    row, laid out as `option_table` lays out the options of `as_of` (its exchange rates,
    tariffs and region facts). Only of accelerators whose datasheet row is dated on or before
    `as_of` (a part not yet announced was no option then). Ids from 0: a caller evaluating
    them beside its own options renumbers them."""
    known = catalog.table("accelerators").filter(pl.col("as_of") <= as_of)["id"].to_list()

    def first_rows(name: str) -> pl.DataFrame:
        return catalog.dated(name, as_of).filter(
            (pl.col("as_of") > as_of) & pl.col("accelerator").is_in(known)
        )

    rows = _laid_out(catalog, as_of, first_rows("offers"), first_rows("hardware"))
    return select(rows, query)


def _laid_out(
    catalog: Catalog, as_of: date, offers: pl.DataFrame, hardware: pl.DataFrame
) -> pl.DataFrame:
    """`offers` and `hardware` rows as the options of `as_of` (`option_table`)."""
    fx = catalog.fx_table(as_of).select("currency", "per_usd", "fx_as_of")
    regions = _regions(catalog, fx, as_of)
    devices = catalog.table("accelerators").select(
        pl.col("id").alias("accelerator"),
        pl.col("origin").alias("accelerator_origin"),
        "scaleup_size",
    )
    # Capacity only the press reports, or only a marketplace lists, with no size stated: a
    # marketplace listing shows a machine can be had, not thousands of them (rev12d #3: a
    # pretraining run planned on 9,984 L40S from one). See defaults.csv.
    unsized = pl.col("evidence").is_in(list(UNSIZED_EVIDENCE))
    assumed = pl.col("capacity_devices").is_null() & unsized
    reported = int(catalog.default("reported_capacity_devices"))
    return (
        pl.concat(
            [
                _rented(offers),
                _owned(hardware, regions, catalog),
            ],
            how="diagonal_relaxed",
        )
        .with_columns(assumed.alias("capacity_assumed"))
        .with_columns(
            pl.when(assumed)
            .then(pl.lit(reported, pl.Int64))
            .otherwise("capacity_devices")
            .alias("capacity_devices")
        )
        .join(fx, on="currency", how="left")
        .join(regions, on="region", how="left")
        .join(devices, on="accelerator", how="left")
        .pipe(_scoped_power, catalog, fx, as_of)
        .pipe(first_tariff, catalog, fx, as_of, pl.col("option") != "rented")
        .with_columns(ownership_expr().alias("ownership"))
        .with_row_index("option_id")
    )


_ENERGY = (
    "electricity_price_kwh", "energy_currency", "energy_as_of", "energy_source",
    "energy_per_usd", "energy_fx_as_of",
)  # fmt: skip


def _power(catalog: Catalog, fx: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The electricity rows valid on `as_of` with their exchange rates, keyed by region and
    accelerator_origin (null: any accelerator)."""
    power = catalog.dated("electricity", as_of, future=False).select(
        "region",
        "accelerator_origin",
        pl.col("price_kwh").alias("electricity_price_kwh"),
        pl.col("currency").alias("energy_currency"),
        pl.col("as_of").alias("energy_as_of"),
        pl.col("source").alias("energy_source"),
    )
    local = fx.rename(
        {"currency": "energy_currency", "per_usd": "energy_per_usd", "fx_as_of": "energy_fx_as_of"}
    )
    return power.join(local, on="energy_currency", how="left")


def _regions(catalog: Catalog, fx: pl.DataFrame, as_of: date) -> pl.DataFrame:
    regions = catalog.table("regions").select(pl.col("id").alias("region"), "country", "pue")
    power = _power(catalog, fx, as_of).filter(pl.col("accelerator_origin").is_null())
    return regions.join(power.drop("accelerator_origin"), on="region", how="left")


def _scoped_power(
    options: pl.DataFrame, catalog: Catalog, fx: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """Options whose accelerator's origin has its own electricity row in their region (e.g.
    subsidised power for domestic-chip data centres) take it instead of the region's row."""
    scoped = _power(catalog, fx, as_of).filter(pl.col("accelerator_origin").is_not_null())
    if scoped.is_empty():
        return options
    mine = scoped.rename({c: f"_s_{c}" for c in _ENERGY})
    hit = pl.col("_s_electricity_price_kwh").is_not_null()
    return (
        options.join(mine, on=["region", "accelerator_origin"], how="left", maintain_order="left")
        .with_columns([pl.when(hit).then(f"_s_{c}").otherwise(c).alias(c) for c in _ENERGY])
        .drop([f"_s_{c}" for c in _ENERGY])
    )


def first_tariff(
    options: pl.DataFrame, catalog: Catalog, fx: pl.DataFrame, day: date, where: pl.Expr
) -> pl.DataFrame:
    """`options` where `where` holds and the region has no electricity tariff on `day`, priced
    at the first tariff the catalog has for it (their `energy_as_of` then postdates `day`:
    `stale-price` says so). Hardware owned or bought runs whatever the catalog's tariff series
    starts: a 2023 question about a stockpile from 2022 dropped the stockpile as unpriced
    (rev12d #8), the series starting in 2024, and a purchase in the same region was still
    blocked as unpriced while a fleet took the first row (rev13b #6: one gap, two answers).
    Only the region's unscoped rows and those scoped to the option's `accelerator_origin`
    apply, the scoped one first on the same day, as `_scoped_power` has them (rev12f #4: a
    China-only subsidised tariff would have priced an H800 fleet). The one implementation of
    it: `market.fleet_options` calls it too."""
    gap = where & pl.col("electricity_price_kwh").is_null()
    keys = ["region", "accelerator_origin"]
    missing = options.filter(gap).select(keys).unique()
    if missing.is_empty():
        return options
    scope = pl.col("_scope")
    later = (
        catalog.dated("electricity", day)
        .filter(pl.col("as_of") > day)
        .rename({"accelerator_origin": "_scope"})
    )
    first = (
        missing.join(later, on="region")
        .filter(scope.is_null() | (scope == pl.col("accelerator_origin")))
        .sort(["as_of", scope.is_null()])
        .group_by(keys, maintain_order=True)
        .first()
        .select(
            *keys,
            pl.col("price_kwh").alias("_f_electricity_price_kwh"),
            pl.col("currency").alias("_f_energy_currency"),
            pl.col("as_of").alias("_f_energy_as_of"),
            pl.col("source").alias("_f_energy_source"),
        )
        .join(
            fx.select(
                pl.col("currency").alias("_f_energy_currency"),
                pl.col("per_usd").alias("_f_energy_per_usd"),
                pl.col("fx_as_of").alias("_f_energy_fx_as_of"),
            ),
            on="_f_energy_currency",
            how="left",
        )
    )
    if first.is_empty():
        return options
    hit = gap & pl.col("_f_electricity_price_kwh").is_not_null()
    return (
        options.join(first, on=keys, how="left", nulls_equal=True, maintain_order="left")
        .with_columns([pl.when(hit).then(f"_f_{c}").otherwise(c).alias(c) for c in _ENERGY])
        .drop([f"_f_{c}" for c in _ENERGY])
    )


_PROVENANCE = (
    "currency",
    pl.col("as_of").alias("offer_as_of"),
    pl.col("source").alias("offer_source"),
    "basis",
)


def first_dated(
    catalog: Catalog, query: OptionQuery, as_of: date, *, rented_only: bool = False
) -> date | None:
    """The earliest date after `as_of` from which a catalog row the query allows (an offer, or
    hardware to buy; with `rented_only` an offer) takes effect, if any: when nothing matches on
    `as_of`, the date something would. The rows are laid out as options and judged by the
    query's own `expr`, its spot and evidence policies included (rev12e #2: a hand copy named
    a spot-only row the site could never take)."""
    later = pl.col("as_of") > as_of
    regions = catalog.table("regions").select(pl.col("id").alias("region"), "country")
    parts = [_rented(catalog.table("offers").filter(later))]
    if not rented_only:
        parts.append(_owned(catalog.table("hardware").filter(later), regions, catalog))
    rows = pl.concat(parts, how="diagonal_relaxed")
    day = select(rows, query)["offer_as_of"].min()
    return day if isinstance(day, date) else None


def _rented(offers: pl.DataFrame) -> pl.DataFrame:
    """Offer rows as options (`option_table` passes those valid on its date: as exchange rates,
    a price not yet known is no price)."""
    return offers.select(
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
        "evidence",
        # offers.csv max_devices: the most the provider rents (physics has its own max_devices)
        pl.col("max_devices").alias("capacity_devices"),
        "instance_scaleout_gbit_s",
        # The longest term sold at this price (`checks` term-too-long), and the page saying so.
        "max_term_days",
        "max_term_source",
        *_PROVENANCE,
    )


def host_uplift(catalog: Catalog, scope: str | None) -> float | None:
    """What a hardware.csv price of this `scope` is multiplied by to price a whole server:
    defaults.csv module_host_uplift for a `module` (no host server in its price), else None
    (the price is a server's). The one place the scope is read: purchases and fleets alike."""
    return catalog.default("module_host_uplift") if scope == "module" else None


def host_uplift_expr(catalog: Catalog) -> pl.Expr:
    """`host_uplift` over a hardware frame's `scope` column (null where the price is a
    server's)."""
    uplift = host_uplift(catalog, "module")
    return pl.when(pl.col("scope") == "module").then(pl.lit(uplift)).otherwise(None)


def _owned(hardware: pl.DataFrame, regions: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Hardware that can be bought, in every region its scope allows, at a whole server's
    price: a module's price (hardware.csv scope) times its `host_uplift` (rev13b #3: an H200
    module outranked full servers as if it were one)."""
    server = pl.coalesce(host_uplift_expr(catalog), pl.lit(1.0))
    hardware = hardware.with_columns(
        host_uplift_expr(catalog).alias("host_uplift"),
        *(pl.col(c) * server for c in ("price", "price_low", "price_high")),
    )
    return (
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
            "price_low",
            "price_high",
            pl.lit(0, pl.Int64).alias("min_term_days"),
            pl.col("price").alias("server_price"),
            "host_uplift",
            "server_power_w",
            "life_years",
            "opex_fraction_per_year",
            *_PROVENANCE,
        )
    )
