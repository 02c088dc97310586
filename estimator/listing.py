"""`splitcompute catalog TABLE`: filter a catalog table and show its prices in one currency."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import polars as pl

from estimator.errors import ScenarioError
from pricing import Catalog
from pricing.catalog import FALLS_FORWARD, SPEC_TABLES, FxRate, stale_expr
from pricing.errors import UnknownIdError, suggest

# Which column each filter applies to, per table ("id" where the table *is* that thing).
_FILTER_COLUMNS: dict[str, dict[str, str]] = {
    "accelerator": {
        "accelerators": "id",
        "offers": "accelerator",
        "hardware": "accelerator",
        "efficiency": "accelerator",
        "supply": "accelerator",
        "resale": "accelerator",
    },
    "region": {
        "regions": "id",
        "offers": "region",
        "transfer": "from_region",
        "electricity": "region",
        "latency": "region",
    },
    # transfer: a provider's own egress rows (rev18c #8: the tiers a quote bills AWS at).
    "provider": {"offers": "provider", "transfer": "provider"},
    "pricing": {"offers": "pricing"},
}
# Money columns shown converted, per table: (amount column, currency column).
_MONEY = {
    "offers": ("price_per_device_hour", "currency"),
    "hardware": ("price", "currency"),
    "transfer": ("price_per_gb", "currency"),
    "electricity": ("price_kwh", "currency"),
}
_PROV = ["basis", "as_of", "stale"]
# A row dated after `--as-of` that a quote dated then uses (`_in_use`), marked as such.
AFTER = "after_as_of"
_NARROW = {
    "offers": [
        "provider", "region", "accelerator", "instance", "pricing", "price", "currency",
        "min_term_days", "max_term_days", "evidence", *_PROV,
    ],
    "hardware": [
        "id", "accelerator", "server", "devices_per_server", "price", "currency", "life_years",
        "region_scope", "scope", *_PROV,
    ],
    "policies": ["id", "effective_from", "effective_to", "effect", "message"],
    "regions": ["id", "name", "country", "jurisdiction", "currency", "pue", *_PROV],
    "electricity": [
        "region", "accelerator_origin", "price", "currency", "tariff", *_PROV, AFTER,
    ],
    "latency": ["region", "market", "rtt_ms", *_PROV, AFTER],
    "supply": [
        "accelerator", "country", "tenant_hq", "effective_from", "effective_to", "purchasable",
        "lead_time_days", "max_devices_per_buyer",
    ],
}  # fmt: skip
# Columns a narrow terminal leaves out first (in this order), before it wraps the text.
OPTIONAL = {
    "offers": ("basis", "max_term_days", "min_term_days", "evidence", "instance"),
    "hardware": ("basis", "life_years", "server", "scope"),
    "regions": ("basis", "jurisdiction"),
    "electricity": ("basis", "tariff"),
    "supply": ("max_devices_per_buyer", "tenant_hq"),
}


def catalog_rows(
    cat: Catalog,
    table: str,
    *,
    accelerator: str | None = None,
    region: str | None = None,
    provider: str | None = None,
    pricing: str | None = None,
    max_price: float | None = None,
    currency: str | None = None,
    sort: str | None = None,
    as_of: date,
    wide: bool = True,
    history: bool = False,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows and the columns to show. Money is shown as `price` in `currency` (default: as listed),
    with the listed figure kept as `list_price` / `list_currency`. A dated table (offers,
    hardware, fx, electricity...) shows the rows valid on `as_of`, or every row with `history`:
    the rows a quote dated `as_of` uses, a later one among them (FALLS_FORWARD, a tariff where
    the region has none) marked `after_as_of` (rev18b #2: "no rows match" for the 317 ms a
    2025 plan judged its European serving on)."""
    filters = {"accelerator": accelerator, "region": region, "provider": provider}
    df = _filtered(cat, table, {**filters, "pricing": pricing}, None if history else as_of)
    if max_price is not None and currency is None and table in _MONEY:
        # Listed prices may be in several currencies: a price limit needs one, and the rows
        # are shown in the currency the limit was applied in.
        currency = "USD"
    df = _priced(cat, table, df, currency, as_of)
    if max_price is not None:
        if not 0 < max_price < math.inf:  # nan and inf too
            raise ScenarioError(f"must be a positive price, got {max_price:g}", "--max-price")
        if "price" not in df.columns:
            raise ScenarioError(f"--max-price does not apply to table '{table}'")
        df = df.filter(pl.col("price") <= max_price)
    df = _sorted(df.with_columns(_stale(df, table, as_of)), sort)
    if not history and (table in FALLS_FORWARD or table == "electricity"):
        df = df.with_columns((pl.col("as_of") > as_of).alias(AFTER))
    if wide:
        columns = [c for c in df.columns if c not in ("list_price", "list_currency")]
        if "price" in columns and currency is not None:
            columns += ["list_price", "list_currency"]
    else:  # a terminal table: long provenance text stays in json / csv / markdown
        columns = _NARROW.get(table) or [c for c in df.columns if c not in ("note", "source")]
        columns = [c for c in columns if c != AFTER or AFTER in df.columns]  # not in --history
    return df.to_dicts(), columns


def _stale(df: pl.DataFrame, table: str, as_of: date) -> pl.Expr:
    """The `stale` flag of each row: older than a year at `as_of`, except an exchange rate that
    cannot go stale (the base currency and pegs, `FxRate.fixed`, as a quote's stale-fx) and a
    specification (SPEC_TABLES: dated by its datasheet, paper or model card, it does not age)."""
    if table in SPEC_TABLES:
        return pl.repeat(False, df.height, dtype=pl.Boolean).alias("stale")
    if table != "fx":
        return stale_expr(as_of).alias("stale")
    fixed = pl.Series(
        [FxRate.of_row(row).fixed for row in df.iter_rows(named=True)], dtype=pl.Boolean
    )
    return (stale_expr(as_of) & ~pl.lit(fixed)).alias("stale")


# Tables of rows in force from effective_from until effective_to: --as-of lists those in force.
_IN_FORCE = ("policies", "supply")


def _filtered(
    cat: Catalog, table: str, filters: dict[str, str | None], on: date | None
) -> pl.DataFrame:
    df = cat.table(table) if on is None else _in_use(cat, table, on)
    if on is not None and table in _IN_FORCE:
        # Rules and supply in force on the day, as offers are the rows valid on it (rev12a #5:
        # a listing dated 2020-01-01 showed the 2026 rules); effective_to is exclusive.
        df = df.filter(
            (pl.col("effective_from") <= on)
            & (pl.col("effective_to").is_null() | (pl.col("effective_to") > on))
        )
    for flag, value in filters.items():
        if value is None:
            continue
        column = _FILTER_COLUMNS[flag].get(table)
        if column is None:
            raise ScenarioError(f"--{flag} does not apply to table '{table}'")
        try:
            if flag == "accelerator":
                cat.accelerator(value)
            elif flag == "region":
                cat.region(value)
            else:  # known from the whole table: a provider with no row on the date is not a typo
                known = cat.table(table)[column].drop_nulls().unique().sort().to_list()
                if flag == "provider":  # one with no egress rows of its own is not a typo either
                    known = sorted({*known, *cat.table("offers")["provider"].unique()})
                if value not in known:
                    kind = "pricing model" if flag == "pricing" else flag
                    raise UnknownIdError(kind, value, known)
        except UnknownIdError as exc:  # located at its flag, as every other flag is (rev12e #14)
            raise ScenarioError(str(exc), f"--{flag}") from None
        df = df.filter(pl.col(column) == value)
    return df


def _in_use(cat: Catalog, table: str, on: date) -> pl.DataFrame:
    """The rows of a dated table a quote dated `on` uses: per series the latest on or before
    it; in the tables of FALLS_FORWARD, a series' first row where it has none by then; and in
    electricity, where a region has no tariff on `on` for an accelerator's origin (unscoped or
    scoped to it), the first later tariff that applies, as `options.first_tariff` picks it for
    owned hardware (the scoped one first on the same day)."""
    if table in FALLS_FORWARD:
        return cat.dated(table, on)
    past = cat.dated(table, on, future=False)
    if table != "electricity":
        return past
    later = cat.dated(table, on).filter(pl.col("as_of") > on)
    scope = pl.col("accelerator_origin")
    firsts = []
    for origin in sorted(set(cat.table("accelerators")["origin"].to_list())):
        applies = scope.is_null() | (scope == origin)
        priced = past.filter(applies)["region"].unique()
        firsts.append(
            later.filter(applies & ~pl.col("region").is_in(priced.implode()))
            .sort(["as_of", scope.is_null()])
            .group_by("region", maintain_order=True)
            .first()
            .select(later.columns)
        )
    return pl.concat([past, *firsts]).unique(maintain_order=True)


def _priced(
    cat: Catalog, table: str, df: pl.DataFrame, currency: str | None, as_of: date
) -> pl.DataFrame:
    """Adds `price` (in `currency`, else as listed) and `_usd` (for sorting and filtering rows
    listed in different currencies consistently); with `currency`, the row's money columns and
    its currency column are converted too."""
    if table not in _MONEY:
        if currency is not None:
            raise ScenarioError(f"--currency does not apply to table '{table}' (it has no prices)")
        return df
    amount, cur = _MONEY[table]
    df = df.with_columns(pl.col(amount).alias("list_price"), pl.col(cur).alias("list_currency"))
    fx = cat.fx_table(as_of).select(pl.col("currency").alias(cur), pl.col("per_usd"))
    df = df.join(fx, on=cur, how="left", maintain_order="left").with_columns(
        (pl.col(amount) / pl.col("per_usd")).alias("_usd")
    )
    if currency is None:
        return df.with_columns(pl.col(amount).alias("price")).drop("per_usd")
    if currency not in cat.currencies:
        raise UnknownIdError("currency", currency, cat.currencies)
    per_usd_target = cat.rate(currency, as_of).per_usd  # raises: no rate by that date
    missing = df.filter(pl.col("per_usd").is_null())
    if not missing.is_empty():
        cat.rate(missing[cur][0], as_of)  # raises with the currency and date
    # Every money column of a row is converted with its currency, so each (amount, currency)
    # pair shown is true; the listed figure stays in list_price / list_currency.
    # A converted figure is rounded to a millionth of the unit: a conversion's float noise
    # (8.317948366000001 CNY in a CSV, review9a #12) is not a figure; the listed one is in
    # list_price. A row already in `currency` is left as listed (review9c #9).
    factor = per_usd_target / pl.col("per_usd")
    money = [c for c in (amount, "price_low", "price_high") if c in df.columns]
    converted = pl.col(cur) != currency
    return (
        df.with_columns(
            *(
                pl.when(converted).then((pl.col(c) * factor).round(6)).otherwise(pl.col(c))
                for c in money
            ),
            pl.lit(currency).alias(cur),
        )
        .with_columns(pl.col(amount).alias("price"))
        .drop("per_usd")
    )


def _sorted(df: pl.DataFrame, sort: str | None) -> pl.DataFrame:
    if sort is None:
        sort = "price" if "price" in df.columns else None
    if sort is not None:
        if sort not in df.columns:
            hint = suggest(sort, df.columns)
            extra = f": did you mean '{hint}'?" if hint else ""
            raise ScenarioError(f"cannot sort by unknown column '{sort}'{extra}", "--sort")
        key = "_usd" if sort == "price" and "_usd" in df.columns else sort
        df = df.sort(key, nulls_last=True, maintain_order=True)
    return df.drop("_usd", strict=False)


def why_empty(cat: Catalog, table: str, region: str | None, as_of: date | None = None) -> str:
    """What to tell a user whose filters matched nothing: for offers in a region, the date of
    its first price when every one is later than `as_of` (rev17a #20b: a 2020 listing of sg
    gave only the region's note), else the region's own note on what is (not) published there."""
    if table == "offers" and region is not None:
        dated = cat.table("offers").filter(pl.col("region") == region)["as_of"]
        first = dated.min() if dated.len() else None
        if as_of is not None and isinstance(first, date) and first > as_of:
            return (
                f"no offer in {region} is dated on or before {as_of}: the catalog's first price "
                f"there is dated {first} (catalog offers --region {region} --history)"
            )
        note = cat.region(region).get("note") or ""
        return f"no offer in {region} matches: {note}".strip()
    return "no rows match"
