"""The market around a purchase: who may buy what, how soon it arrives, what it is worth later,
and the hardware a tenant already has.

- `with_supply`: for bought hardware, the supply.csv row that applies (the most specific match
  on accelerator, then country, then the buyer's headquarters, in force on the date it is
  bought: a fleet's `acquired` date for a fleet): purchasable or not, lead time, the most one
  buyer can get. A purchase with no lead time on record takes defaults.csv
  `purchase_lead_time_days`.
- `purchases`: when a purchase for a phase is ordered (the latest day its order arrives by the
  phase's start, rev18a #6, from the plan's date on) and whether it may be, then and at the
  phase's start.
- `resale_fraction`: what bought hardware fetches when its phase ends (resale.csv, interpolated
  by age; the accelerator's own curve, else the default '*').
- `fleet_options`: each fleet of the scenario as an option (capital sunk, capacity = its
  devices), priced for energy and operations like bought hardware of its kind.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import date
from itertools import pairwise
from typing import Any

import polars as pl

from estimator.compliance import rules_hq
from estimator.options import first_tariff, host_uplift, option_kind, ownership
from estimator.scenario import Scenario
from pricing import Catalog

SUPPLY_COLUMNS = (
    "purchasable",
    "lead_time_days",
    "max_devices_per_buyer",
    "per_days",
    "supply_message",
    "supply_source",
    "supply_from",
    # When the row was made public (supply.csv `announced`, else its effective_from): a quote
    # dated earlier rests on what nobody knew yet, and says so (`checks.supply_hindsight`).
    "supply_announced",
    # When the row lapsed (its effective_to, null: open): a quote dated earlier rests on a lapse
    # nobody knew of yet, and says so too (rev18a #3).
    "supply_to",
    # When that lapse was public: the `announced` (else effective_from) of the row succeeding it
    # on that day, else its effective_to (rev18d #2: a 2026 row announced on 2025-09-29 made
    # the 2025 row's end known then, not on 2026-01-01).
    "supply_to_known",
    # The row's own lead time (null: none stated, the default applies), for saying what it set.
    "supply_lead_days",
)


def with_supply(
    catalog: Catalog,
    options: pl.DataFrame,
    tenant_hq: str,
    day: date,
    acquired: Mapping[str, date] | None = None,
) -> pl.DataFrame:
    """`options` with SUPPLY_COLUMNS for hardware bought: an owned option on `day` (the order),
    a fleet on its `acquired` date (by fleet name) - the supply row in force when it was
    bought. `lead_time_days` is how many days after `day` the hardware is there: a purchase's
    lead time, or for a fleet the days to its acquisition (negative once it is owned). Null for
    anything else (rented, a fleet without a date)."""
    dated = dict(acquired or {})
    owned = pl.col("option") == "owned"
    fleet = (pl.col("option") == "fleet") & pl.col("instance").is_in(list(dated))
    bought_on = (
        pl.when(owned)
        .then(pl.lit(day))
        .otherwise(pl.col("instance").replace_strict(dated, default=None, return_dtype=pl.Date))
    )
    bought = options.filter(owned | fleet).select(
        "option_id", "accelerator", "country", bought_on.alias("_on")
    )
    best = _supply_rows(catalog, bought, tenant_hq).drop("_on")
    lead = catalog.default("purchase_lead_time_days")
    out = options.drop([c for c in SUPPLY_COLUMNS if c in options.columns]).join(
        best, on="option_id", how="left"
    )
    to_acquisition = pl.col("instance").replace_strict(dated, default=None, return_dtype=pl.Date)
    return out.with_columns(
        # No supply row: nothing forbids the purchase; it takes the default lead time.
        pl.when(owned | fleet).then(pl.col("purchasable").fill_null(True)).alias("purchasable"),
        pl.when(owned)
        .then(pl.col("lead_time_days").fill_null(lead))
        .when(fleet)
        .then((to_acquisition - pl.lit(day)).dt.total_days().cast(pl.Float64))
        .alias("lead_time_days"),
    )


def _supply_rows(catalog: Catalog, bought: pl.DataFrame, tenant_hq: str) -> pl.DataFrame:
    """Per row of `bought` (option_id, accelerator, country and `_on`, the day it is bought),
    the supply.csv row in force that day: option_id, `_on` and SUPPLY_COLUMNS (no row: none).
    One query for any number of days (`purchases` asks for every day the supply changes)."""
    rows = (
        catalog.table("supply")
        # A China row also binds a Hong Kong or Macau headquarters (`compliance.rules_hq`).
        .filter(pl.col("tenant_hq").is_in(["*", tenant_hq, rules_hq(tenant_hq)]))
        .select(
            pl.col("accelerator").alias("_acc"),
            pl.col("country").alias("_country"),
            pl.col("tenant_hq").alias("_tenant"),
            "effective_from",
            "effective_to",
            (pl.col("purchasable") == "yes").alias("purchasable"),
            pl.col("lead_time_days").cast(pl.Float64),
            "max_devices_per_buyer",
            "per_days",
            pl.col("message").alias("supply_message"),
            pl.col("source").alias("supply_source"),
            pl.col("effective_from").alias("supply_from"),
            pl.col("announced").fill_null(pl.col("effective_from")).alias("supply_announced"),
            pl.col("effective_to").alias("supply_to"),
            pl.col("lead_time_days").cast(pl.Float64).alias("supply_lead_days"),
        )
        .with_row_index("_row")
    )
    # The rows starting on the day a row ends, for the same accelerator in a country and for
    # a headquarters both cover: the earliest made public says when the end was known.
    after = rows.select(
        pl.col("_acc"),
        pl.col("_country").alias("_s_country"),
        pl.col("_tenant").alias("_s_tenant"),
        pl.col("effective_from").alias("_s_from"),
        pl.col("supply_announced").alias("_s_announced"),
    )
    known = (
        rows.filter(pl.col("supply_to").is_not_null())
        .select("_row", "_acc", "_country", "_tenant", "supply_to")
        .join(after, on="_acc")
        .filter(
            (pl.col("_s_from") == pl.col("supply_to"))
            & pl.any_horizontal(
                pl.col("_country") == "*",
                pl.col("_s_country") == "*",
                pl.col("_country") == pl.col("_s_country"),
            )
            & pl.any_horizontal(
                pl.col("_tenant") == "*",
                pl.col("_s_tenant") == "*",
                pl.col("_tenant") == pl.col("_s_tenant"),
            )
        )
        .group_by("_row")
        .agg(pl.col("_s_announced").min().alias("_known"))
    )
    rows = (
        rows.join(known, on="_row", how="left")
        .with_columns(
            pl.min_horizontal(pl.col("_known"), pl.col("supply_to")).alias("supply_to_known")
        )
        .drop("_row", "_known")
    )
    # Most specific first: an exact accelerator, then country, then headquarters (the tenant's
    # own before the group it is also judged with: a row a user writes for HK beats the CN one,
    # review9d #2), then newest.
    score = (
        (pl.col("_acc") != "*").cast(pl.Int32) * 8
        + (pl.col("_country") != "*").cast(pl.Int32) * 4
        + (pl.col("_tenant") == tenant_hq).cast(pl.Int32) * 2
        + ((pl.col("_tenant") != "*") & (pl.col("_tenant") != tenant_hq)).cast(pl.Int32)
    )
    return (
        bought.join(rows, how="cross")
        .filter(
            ((pl.col("_acc") == "*") | (pl.col("_acc") == pl.col("accelerator")))
            & ((pl.col("_country") == "*") | (pl.col("_country") == pl.col("country")))
            & (pl.col("effective_from") <= pl.col("_on"))
            & (pl.col("effective_to").is_null() | (pl.col("effective_to") > pl.col("_on")))
        )
        .sort([score, pl.col("effective_from")], descending=True)
        .unique(["option_id", "_on"], keep="first")
        .select("option_id", "_on", *SUPPLY_COLUMNS)
    )


def supply_changes(catalog: Catalog, after: date) -> list[date]:
    """The days after `after` on which some supply.csv row starts or ends: the only days a
    purchase's supply can change (what `with_supply` says on any other day is what it says on
    the last of these before it)."""
    t = catalog.table("supply")
    days = {*t["effective_from"].drop_nulls(), *t["effective_to"].drop_nulls()}
    return sorted(d for d in days if d > after)


def supply_days(catalog: Catalog, bought: pl.DataFrame, tenant_hq: str, day: date) -> pl.DataFrame:
    """Per purchase of `bought` (owned options) and per day from `day` on which the supply can
    change (`supply_changes`), the supply row in force: option_id, `_day`, SUPPLY_COLUMNS. One
    query for all of them (a with_supply per day was ~150 queries of a quote); a purchase with
    no supply row is purchasable at the default lead time, as in `with_supply`. It does not
    depend on a phase's start, so a plan works it out once (`evaluate._supply_on`)."""
    days = [day, *supply_changes(catalog, day)]
    grid = (
        bought.filter(pl.col("option") == "owned")
        .select("option_id", "accelerator", "country")
        .join(pl.DataFrame({"_on": days}, schema={"_on": pl.Date}), how="cross")
    )
    return (
        grid.select("option_id", "_on")
        .join(_supply_rows(catalog, grid, tenant_hq), on=["option_id", "_on"], how="left")
        .with_columns(
            pl.col("purchasable").fill_null(True),
            pl.col("lead_time_days").fill_null(catalog.default("purchase_lead_time_days")),
        )
        .rename({"_on": "_day"})
    )


def purchases(
    catalog: Catalog,
    bought: pl.DataFrame,
    tenant_hq: str,
    day: date,
    start: date,
    judged: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """When each purchase of `bought` (owned options) is ordered, and whether it may be. Just in
    time: on the latest day, from the plan's date `day` on, it may be ordered and still arrive
    by the phase `start` its lead time later: `start` less the lead time, or `day` if that is
    later (rev18a #6: a server for a phase 18 months out was ordered on the plan's date, paid
    15 months early and resold older, 45.2 M CNY against 33.5 M ordered in time). Where
    supply.csv forbids that day, the last day before the ban, else the first after it whose
    order still arrives in time (review rev12d #1: H200 were ordered in China on 2025-11-27,
    two months before any could be, for a phase from 2026-03-01). A purchase that cannot arrive
    in time is ordered on the first day it may be (a first such day after `start` is too late:
    then on `day`), and the `lead-time` block says so. It must be purchasable on the order day
    and still on `start`, when the rules judge it (`compliance.acquired_before`). Its price is
    the catalog's on the plan's date whatever the order day (the quote cannot know later ones).

    Per option_id: SUPPLY_COLUMNS (the order day's row; the start's when the ban at delivery is
    what forbids it), with `lead_time_days` counted from `day` to the arrival (the days to the
    order plus its lead time), `order_days` (`day` to the order), `supply_block` ("order" or
    "delivery" when not purchasable, else null) and `supply_until` (the first day after `day`
    the part can be ordered, when it cannot be on `day`) and `supply_held_announced` (the latest
    `announced` of the rows after the order's, to `start`, that let no later order arrive in
    time: what holding it before the phase rests on). `judged`: `supply_days` of `bought`
    (or of more), if already worked out."""
    if judged is None:
        judged = supply_days(catalog, bought, tenant_hq, day)
    last = max(start, day)
    first = (
        judged.filter(pl.col("purchasable"))
        .group_by("option_id")
        .agg(pl.col("_day").min().alias("_first"))
    )
    # Ordered on the first day it may be, unless that is after the start: then on `day`.
    early = pl.when(pl.col("_first") <= last).then(pl.col("_first")).otherwise(pl.lit(day))
    # Just in time (rev18a #6): per span of days one supply row is in force (from its `_day` to
    # the next change), the latest order in it that arrives by `start` at that row's lead time;
    # of the spans where it may be bought, the one that arrives last (the least held), then
    # ordered latest. None arrives in time: `early` (the `lead-time` block says when it can).
    lead = pl.duration(days=pl.col("lead_time_days").round(0).cast(pl.Int64))
    span_end = pl.col("_day").shift(-1).over("option_id", order_by="_day") - pl.duration(days=1)
    in_time = (
        judged.with_columns(pl.min_horizontal(pl.lit(start) - lead, span_end).alias("_jit"))
        .filter(pl.col("purchasable") & (pl.col("_jit") >= pl.col("_day")))
        .with_columns((pl.col("_jit") + lead).alias("_arrives"))
        .sort("option_id", "_arrives", "_jit")
        .group_by("option_id")
        .last()
        .select("option_id", "_jit", pl.col("_day").alias("_jit_row"))
    )
    # rev18d #1: an order held before its phase is held because no later span lets one arrive
    # in time (a ban, a longer lead time): the rows in force after the order's span, up to the
    # start, decide the order day too; the latest made public says when that was known.
    pushed = (
        judged.join(in_time.select("option_id", "_jit_row"), on="option_id")
        .filter((pl.col("_day") > pl.col("_jit_row")) & (pl.col("_day") <= pl.lit(last)))
        .group_by("option_id")
        .agg(pl.col("supply_announced").max().alias("supply_held_announced"))
    )
    # The supply on `last` is the one of the last day it changed before (or on) it.
    at_start = (
        judged.filter(pl.col("_day") <= last)
        .sort("_day")
        .group_by("option_id")
        .last()
        .select("option_id", *(pl.col(c).alias(f"_start_{c}") for c in SUPPLY_COLUMNS))
    )
    out = (
        bought.select("option_id")
        .join(first, on="option_id", how="left")
        .join(in_time, on="option_id", how="left")
        # `_order`: the order day; `_day`: the day the supply row in force on it starts.
        .with_columns(
            pl.coalesce("_jit", early).alias("_order"), pl.coalesce("_jit_row", early).alias("_day")
        )
        .join(judged, on=["option_id", "_day"], how="left")
        .join(at_start, on="option_id", how="left")
        .join(pushed, on="option_id", how="left")
    )
    order_ok = pl.col("purchasable")
    delivery_ok = pl.col("_start_purchasable")
    by_start = order_ok & ~delivery_ok
    return out.select(
        "option_id",
        (order_ok & delivery_ok).alias("purchasable"),
        (
            (pl.col("_order") - pl.lit(day)).dt.total_days().cast(pl.Float64)
            + pl.col("lead_time_days")
        ).alias("lead_time_days"),
        "max_devices_per_buyer",
        "per_days",
        *(
            pl.when(by_start).then(pl.col(f"_start_{c}")).otherwise(pl.col(c)).alias(c)
            for c in (
                "supply_message",
                "supply_source",
                "supply_from",
                "supply_announced",
                "supply_to",
                "supply_to_known",
            )
        ),
        "supply_lead_days",
        (pl.col("_order") - pl.lit(day)).dt.total_days().alias("order_days"),
        pl.when(~order_ok)
        .then(pl.lit("order"))
        .when(by_start)
        .then(pl.lit("delivery"))
        .alias("supply_block"),
        pl.when(pl.col("_first") > day).then(pl.col("_first")).alias("supply_until"),
        "supply_held_announced",
    )


def resale_fraction(catalog: Catalog, accelerators: list[str], age_years: float) -> pl.DataFrame:
    """Per accelerator, the value fraction at `age_years` (`resale_at`): columns accelerator,
    resale_fraction."""
    age = pl.lit(float(age_years))
    return pl.DataFrame({"accelerator": accelerators}, schema={"accelerator": pl.String}).select(
        "accelerator", resale_at(catalog, age, accelerators).alias("resale_fraction")
    )


def resale_at(
    catalog: Catalog, age_years: pl.Expr, accelerators: Collection[str | None] | None = None
) -> pl.Expr:
    """The value fraction of each row's `accelerator` at `age_years` (an expression: one age
    for all rows, or each row's own): linear between its resale.csv curve's ages, its first
    value before them. Past a device's own last age its value falls as the default ('*')
    curve does from that age (review9d #3: an A100 curve ending at three years gave a 9-year-old
    A100 22% back; the default's last value holds beyond it).

    `accelerators`: the rows' accelerators, all of them (None: any). Only their curves are
    written into the expression: a row takes the branch of its own accelerator, whichever
    others the chain has, so each row's value is the same expression either way, and a
    quote's evaluation of one or two devices no longer plans and computes the branches of
    every curve in resale.csv (~2.4 ms of each training evaluation, the most of any step)."""
    # The curves as Python lists, one pass over the table (a few dozen rows): filtering it per
    # accelerator cost two polars queries each, ~100 in a plan.
    by_acc: dict[str, tuple[list[float], list[float]]] = {}
    curves = catalog.table("resale").sort("age_years", maintain_order=True)
    for acc, age, value in curves.select("accelerator", "age_years", "value_fraction").iter_rows():
        ages, values = by_acc.setdefault(acc, ([], []))
        ages.append(age)
        values.append(value)
    default = by_acc.pop("*", ([], []))
    if accelerators is not None:
        wanted = set(accelerators)
        by_acc = {acc: curve for acc, curve in by_acc.items() if acc in wanted}
    fallback = _interpolated(*default, age_years)
    out = fallback
    for acc, (ages, values) in by_acc.items():
        value = _interpolated(ages, values, age_years)
        then = _interpolate(*default, ages[-1]) if ages else None
        if then:  # past its last age, as the default curve falls from there
            value = (
                pl.when(age_years > ages[-1])
                .then(value * (fallback * (1.0 / then)))
                .otherwise(value)
            )
        out = pl.when(pl.col("accelerator") == acc).then(value).otherwise(out)
    return out


def _interpolated(xs: list[float], ys: list[float], x: pl.Expr) -> pl.Expr:
    """`_interpolate` of an expression (the same arithmetic, so the same bits)."""
    if not xs:
        return pl.lit(None, pl.Float64)
    out: pl.Expr = pl.lit(ys[-1])
    for (x0, y0), (x1, y1) in reversed(list(pairwise(zip(xs, ys, strict=True)))):
        out = pl.when(x <= x1).then(y0 + (y1 - y0) * (x - x0) * (1.0 / (x1 - x0))).otherwise(out)
    return pl.when(x <= xs[0]).then(pl.lit(ys[0])).otherwise(out)


def replacements(
    catalog: Catalog,
    df: pl.DataFrame | pl.LazyFrame,
    age_years: float,
    given: pl.DataFrame | None = None,
) -> pl.DataFrame | pl.LazyFrame:
    """`df` (with `resale_age_years` and `resale_fraction` at `age_years`, when the phase ends)
    with `generations`, how many times its servers are bought: hardware held past its
    `life_years` is replaced at the end of each life (rev14a #6: one CloudMatrix384 of a 5-year
    life served 20 years and still fetched 4% back, while the amortised view charged four
    lives). Where so, `life_resale_fraction` is what each replaced generation fetches at the end
    of its life, and `resale_age_years` / `resale_fraction` are the last generation's.
    `df` may be a query (`evaluate(..., columns=)`): `given`, its rows as a frame with their
    `option`, `accelerator` and `life_years`, says which are replaced."""
    rows_given = given if given is not None else df
    assert isinstance(rows_given, pl.DataFrame)
    owned = rows_given.filter(
        (pl.col("option") == "owned") & (pl.col("life_years") < age_years)
    ).select("accelerator", "life_years")
    if owned.is_empty():
        return df.with_columns(
            pl.lit(1, pl.Int64).alias("generations"),
            pl.lit(None, pl.Float64).alias("life_resale_fraction"),
        )
    rows = []
    for acc, life in owned.unique(maintain_order=True).iter_rows():
        n = math.ceil(age_years / life - 1e-9)
        last = age_years - (n - 1) * life
        at_life = resale_fraction(catalog, [acc], life)["resale_fraction"][0]
        at_end = resale_fraction(catalog, [acc], last)["resale_fraction"][0]
        rows.append((acc, life, n, at_life, last, at_end))
    schema = {
        "accelerator": pl.String,
        "life_years": pl.Float64,
        "generations": pl.Int64,
        "life_resale_fraction": pl.Float64,
        "_last_age": pl.Float64,
        "_last_fraction": pl.Float64,
    }
    lives = pl.DataFrame(rows, schema=schema, orient="row")
    replaced = pl.col("_last_age").is_not_null()
    on = ["accelerator", "life_years"]
    joined: pl.DataFrame | pl.LazyFrame
    if isinstance(df, pl.LazyFrame):
        joined = df.join(lives.lazy(), on=on, how="left", maintain_order="left")
    else:
        joined = df.join(lives, on=on, how="left", maintain_order="left")
    return joined.with_columns(
        pl.col("generations").fill_null(1),
        pl.when(replaced)
        .then(pl.col("_last_age"))
        .otherwise(pl.col("resale_age_years"))
        .alias("resale_age_years"),
        pl.when(replaced)
        .then(pl.col("_last_fraction"))
        .otherwise(pl.col("resale_fraction"))
        .alias("resale_fraction"),
    ).drop("_last_age", "_last_fraction")


def _interpolate(xs: list[float], ys: list[float], x: float) -> float | None:
    if not xs:
        return None
    if x <= xs[0]:
        return ys[0]
    for (x0, y0), (x1, y1) in pairwise(zip(xs, ys, strict=True)):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return ys[-1]


def fleet_options(s: Scenario, catalog: Catalog, options: pl.DataFrame, day: date) -> pl.DataFrame:
    """One option row per fleet: its region's facts and the bought hardware of its accelerator
    (server power, devices per server, operations) from the catalog; `capacity_devices` = the fleet.
    Its book value, when given (in its own `book_value_currency`, converted at the day's rate as
    a catalog price is), replaces the price as the capital operations are costed on."""
    if not s.fleet:
        return options.clear()
    rows = []
    for f in s.fleet:
        device = options.filter(pl.col("accelerator") == f.accelerator).head(1)
        # The region's facts as an option of a device of the same origin has them: electricity
        # may be scoped to an accelerator origin (electricity.csv accelerator_origin).
        here = options.filter(pl.col("region") == f.region)
        same = here.filter(pl.col("accelerator_origin") == device["accelerator_origin"].first())
        region = (same if same.height and device.height else here).head(1)
        country = None if region.is_empty() else region["country"][0]
        hw = fleet_hardware(catalog, f.accelerator, country, day)
        if hw is None or region.is_empty() or device.is_empty():
            continue  # nothing to cost it on: the fleet site reports itself unpriced
        origin = device["accelerator_origin"][0]
        region = _first_tariff(catalog, region, day, None if origin is None else str(origin))
        servers = -(-f.devices // hw["devices_per_server"])
        book = None if f.book_value is None else f.book_value / servers
        # A module's price is a server's at its host uplift, as a purchase's is (`options`).
        uplift = host_uplift(catalog, hw.get("scope")) if book is None else None
        rows.append(
            region.select(_REGION_COLUMNS)
            .hstack(device.select(_DEVICE_COLUMNS))
            .with_columns(
                option=pl.lit(option_kind("fleet")),
                ownership=pl.lit(ownership("fleet")),
                provider=pl.lit("fleet"),
                pricing=pl.lit("fleet"),
                instance=pl.lit(f.name),
                accelerator=pl.lit(f.accelerator),
                unit_devices=pl.lit(hw["devices_per_server"], pl.Int64),
                capacity_devices=pl.lit(f.devices, pl.Int64),
                server_price=pl.lit(
                    hw["price"] * (uplift or 1.0) if book is None else book, pl.Float64
                ),
                host_uplift=pl.lit(uplift, pl.Float64),
                currency=pl.lit(
                    hw["currency"] if book is None else f.book_value_currency or s.currency
                ),
                server_power_w=pl.lit(hw["server_power_w"], pl.Float64),
                life_years=pl.lit(hw["life_years"], pl.Float64),
                opex_fraction_per_year=pl.lit(hw["opex_fraction_per_year"], pl.Float64),
                min_term_days=pl.lit(0, pl.Int64),
                basis=pl.lit("published" if f.book_value is not None else hw["basis"]),
                offer_as_of=pl.lit(f.acquired or day, pl.Date),
                offer_source=pl.lit(f"scenario fleet '{f.name}' ({f.devices:,} x {f.accelerator})"),
            )
        )
    if not rows:
        return options.clear()
    fleet = pl.concat(rows, how="diagonal_relaxed")
    fx = catalog.fx_table(day).select("currency", "per_usd", "fx_as_of")
    fleet = fleet.drop("per_usd", "fx_as_of", strict=False).join(fx, on="currency", how="left")
    start = int(options["option_id"].max() or 0) + 1  # type: ignore[arg-type]
    fleet = fleet.with_columns(
        pl.int_range(start, start + fleet.height)
        .cast(options["option_id"].dtype)
        .alias("option_id")
    )
    return pl.concat([options.clear(), fleet], how="diagonal_relaxed").select(options.columns)


def fleet_hardware(
    catalog: Catalog, accelerator: str, country: str | None, day: date
) -> dict[str, Any] | None:
    """The hardware.csv row a fleet of `accelerator` in `country` is costed on at `day`, or
    None where there is none: the fleet's country's where the catalog has it, as
    a purchase there is (`options`): a China fleet was costed on a US reseller listing from the
    day that listing appeared, its operations up 30% overnight (review8a #3). The country's own
    rows first, then the unscoped ones (a "*" row described "outside China" displaced a China
    H100 row the day it appeared: review8c #3)."""
    hardware = catalog.dated("hardware", day, future=False).sort("as_of")
    kind = hardware.filter(pl.col("accelerator") == accelerator)
    if kind.is_empty():
        return None
    own = kind.filter(pl.col("region_scope") == country)
    anywhere = kind.filter(pl.col("region_scope") == "*")
    return next(t for t in (own, anywhere, kind) if t.height).row(-1, named=True)


def catalog_server_price(
    catalog: Catalog, accelerator: str, country: str | None, day: date
) -> tuple[float, str] | None:
    """A fleet's server at the catalog's price (a module's at its host uplift, as a purchase's
    is) and its currency, whatever book value the fleet gives, or None where the catalog has no
    hardware row for it: what `fleet-not-yet-bought` says is left out (rev20a #4)."""
    hw = fleet_hardware(catalog, accelerator, country, day)
    if hw is None or hw.get("price") is None:
        return None
    return hw["price"] * (host_uplift(catalog, hw.get("scope")) or 1.0), hw["currency"]


def _first_tariff(
    catalog: Catalog, region: pl.DataFrame, day: date, origin: str | None
) -> pl.DataFrame:
    """A fleet's region facts with, when the region has no electricity tariff on `day`, the
    first one the catalog has for an accelerator of `origin`, as a purchase there has it
    (`options.first_tariff`, the one implementation: rev13b #6)."""
    fx = catalog.fx_table(day).select("currency", "per_usd", "fx_as_of")
    mine = region.with_columns(accelerator_origin=pl.lit(origin, pl.String))
    return first_tariff(mine, catalog, fx, day, pl.lit(True))


_REGION_COLUMNS = (
    "region", "country", "pue", "electricity_price_kwh", "energy_currency", "energy_per_usd",
    "energy_fx_as_of", "energy_as_of", "energy_source",
)  # fmt: skip
_DEVICE_COLUMNS = ("accelerator_origin", "scaleup_size")
