"""What moves between phases (weights, checkpoints, datasets): its size, route, time and price.

`routes` resolves the egress price and link speed of every pair of regions at a date in one
frame (lookup order: (from, to-country), (from, '*'), ('*', to-country), ('*', '*')), so a quote
looks one pair up and a joint placement can price every pair of candidate sites at once.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from pydantic import ConfigDict, Field

from estimator import compliance, costing
from estimator.context import Context, RulesSpan
from estimator.errors import ScenarioError
from estimator.findings import Finding
from estimator.frozen import ResultPart
from estimator.money import Money
from estimator.options import ownership
from estimator.physics import checkpoint_bytes, weight_bytes
from estimator.scenario import TrainPhase, Transfer
from pricing import Catalog

GB = 1e9


class TransferQuote(ResultPart):
    model_config = ConfigDict(populate_by_name=True, frozen=True)

    from_: str = Field(alias="from")
    to: str
    what: str
    gigabytes: float
    hours: float
    route: str
    cost: Money
    line_items: list[costing.LineItem]


def routes(catalog: Catalog, as_of: date) -> pl.DataFrame:
    """Every ordered pair of regions with the egress price tiers of each provider that has rows
    of its own, and of any other provider ('*'): columns from_region, to_region, to_country,
    provider, from_gb, price_per_gb, currency, gbps, route_from, route_to, source. A provider's
    own rows come before the rows of no provider (rev17a #10: AWS's tiers are not GCP's), then
    the lookup order by place; a (pair, provider) keeps every tier of its best series, by
    `from_gb`."""
    regions = catalog.table("regions").select(pl.col("id").alias("region"), "country")
    pairs = regions.rename({"region": "from_region", "country": "from_country"}).join(
        regions.rename({"region": "to_region", "country": "to_country"}), how="cross"
    )
    table = (
        catalog.dated("transfer", as_of, future=True)
        .select(
            "from_region",
            "to_country",
            "provider",
            "from_gb",
            "price_per_gb",
            "currency",
            "gbps",
            "source",
        )
        .with_columns(pl.col("provider").fill_null("*"), pl.col("from_gb").fill_null(0.0))
    )
    tiers = []
    for i, (src, dst) in enumerate(((True, True), (True, False), (False, True), (False, False))):
        part = table.filter(
            (pl.col("from_region") != "*") if src else (pl.col("from_region") == "*"),
            (pl.col("to_country") != "*") if dst else (pl.col("to_country") == "*"),
        ).with_columns(
            pl.col("from_region").alias("route_from"),
            pl.col("to_country").alias("route_to"),
            tier=pl.lit(i),
        )
        on = [c for c, keep in (("from_region", src), ("to_country", dst)) if keep]
        joined = (
            pairs.join(
                part.drop([c for c in ("from_region", "to_country") if c not in on]),
                on=on,
                how="inner",
            )
            if on
            else pairs.join(part.drop("from_region", "to_country"), how="cross")
        )
        tiers.append(joined)
    found = pl.concat(tiers, how="diagonal_relaxed")
    named = sorted(set(found["provider"].to_list()) - {"*"})
    anyone = found.filter(pl.col("provider") == "*")
    ranked = pl.concat(
        [
            found.filter(pl.col("provider") != "*"),
            anyone,
            # Every named provider falls back on the rows of no provider, after its own.
            *[anyone.with_columns(provider=pl.lit(p), tier=pl.col("tier") + 4) for p in named],
        ],
        how="diagonal_relaxed",
    )
    keys = ["from_region", "to_region", "provider"]
    return (
        ranked.filter(pl.col("tier") == pl.col("tier").min().over(keys))
        .sort("from_gb", maintain_order=True)
        .drop("tier", "from_country")
    )


def route_rows(route_table: pl.DataFrame, src: str, dst: str, provider: str | None) -> pl.DataFrame:
    """The price tiers of one route for the source's provider (its own rows, else '*')."""
    pair = route_table.filter((pl.col("from_region") == src) & (pl.col("to_region") == dst))
    own = pair.filter(pl.col("provider") == provider)
    return own if not own.is_empty() else pair.filter(pl.col("provider") == "*")


def tiered(gb: float, bounds: list[float], prices: list[float]) -> float:
    """What `gb` costs at marginal tiers (`bounds`: the volume each tier starts at, ascending;
    each GB is charged the price of the tier it falls in), in the prices' currency."""
    ends = [*bounds[1:], float("inf")]
    return sum(p * max(0.0, min(gb, e) - b) for b, e, p in zip(bounds, ends, prices, strict=True))


def size_gb(c: Context, i: int, t: Transfer) -> float:
    """Gigabytes moved: given, or the model's weights (at the source phase's precision), a
    checkpoint, or a training phase's dataset."""
    if t.gigabytes is not None:
        return t.gigabytes
    src = c.scenario.phase(t.from_)
    if t.what in (None, "weights"):
        return weight_bytes(c.model, src.precision) / GB
    if t.what == "checkpoint":
        return checkpoint_bytes(c.model) / GB
    if not isinstance(src, TrainPhase):
        raise ScenarioError(
            "a dataset transfer from a serving phase needs gigabytes = N",
            c.where(f"transfers[{i}]"),
        )
    return src.tokens * c.catalog.default("dataset_bytes_per_token") / GB


def price_transfer(
    c: Context, i: int, t: Transfer, placed: dict[str, Any], route_table: pl.DataFrame
) -> tuple[TransferQuote, list[Finding]]:
    """A transfer between two placed phases (PhaseQuotes by name) and the rules its data meets."""
    gb = size_gb(c, i, t)
    src, dst = placed[t.from_], placed[t.to]
    ends = {"from": t.from_, "to": t.to, "what": t.label, "gigabytes": gb}
    if src.region == dst.region:  # nothing leaves the region (the planner's rule too)
        within = {"hours": 0.0, "route": f"within {src.region}", "cost": 0.0, "line_items": []}
        return TransferQuote.model_validate({**ends, **within}), []
    row = route_rows(route_table, src.region, dst.region, src.provider).join(
        c.catalog.fx_table(c.as_of), on="currency", how="left"
    )
    if row.is_empty():
        raise ScenarioError(
            f"no transfer price from {src.region} to {dst.region} (and no '*' row)",
            c.where(f"transfers[{i}]"),
        )
    item, hours = _transfer_item(c, t, src.region, dst.region, gb, row)
    r = row.row(0, named=True)
    by = "" if r["provider"] == "*" else f"{r['provider']} "
    route = f"{src.region} -> {dst.region} ({by}{r['route_from']} -> {r['route_to']})"
    priced = {"hours": hours, "route": route, "cost": item.amount, "line_items": [item]}
    return TransferQuote.model_validate({**ends, **priced}), _data_findings(c, t, dst)


def _transfer_item(
    c: Context, t: Transfer, src: str, dst: str, gb: float, row: pl.DataFrame
) -> tuple[costing.LineItem, float]:
    """The egress line item of a route's tiers (with their FX rate) and the copy time in hours.
    Tiers are counted per month: the transfer is taken as its month's only egress (a provider's
    other traffic that month would put it in cheaper tiers sooner)."""
    r = row.row(0, named=True)
    billed = tiered(gb, row["from_gb"].to_list(), row["price_per_gb"].to_list())
    usd = billed / r["per_usd"]
    (hours,) = row.head(1).select(costing.transfer_hours(pl.lit(gb))).row(0)
    tiers = f", {row.height} volume tiers" if row.height > 1 else ""
    item = costing.LineItem(
        phase=t.from_,
        region=src,
        component="transfer",
        description=f"{t.label} {src} -> {dst} at {r['gbps']:g} Gbit/s{tiers}",
        quantity=gb,
        unit="GB",
        # A blended price over the tiers: quantity x unit_price is still the line's amount.
        unit_price=billed / gb if gb else r["price_per_gb"],
        unit_currency=r["currency"],
        fx_per_usd=r["per_usd"],
        fx_as_of=r["fx_as_of"],
        to_quote_rate=c.quote_per_usd / r["per_usd"],
        billed_amount=costing.cents(usd * r["per_usd"], r["currency"]),
        amount=costing.cents(usd * c.quote_per_usd, c.currency),
        currency=c.currency,
    )
    return item, float(hours)


def _data_findings(c: Context, t: Transfer, dst: Any) -> list[Finding]:
    """The findings of the rules a transfer's data meets where the destination phase (a
    PhaseQuote) runs (`data_rules`, over the destination's window)."""
    facts = pl.DataFrame(
        [
            {
                "country": dst.country,
                "accelerator": dst.accelerator,
                "accelerator_origin": c.catalog.accelerator(dst.accelerator)["origin"],
                "ownership": ownership(dst.pricing),
            }
        ]
    )
    (matched,) = data_rules(c, t, facts, c.rules_span(dst.start, dst.end))
    return [
        Finding(
            severity=r["effect"],
            code=r["id"],
            message=r["message"],
            phase=named(t),
            source=r["source"],
        )
        for r in matched
    ]


def named(t: Transfer | TransferQuote) -> str:
    """How findings, the headline and the JSON `blocked` list name a transfer."""
    return f"transfer {t.from_}->{t.to}"


def data_rules(
    c: Context, t: Transfer, dst: pl.DataFrame, span: RulesSpan
) -> list[list[dict[str, Any]]]:
    """Per row of `dst` (where the destination phase would run: columns country, accelerator,
    accelerator_origin, ownership), the rules a transfer's data meets there, most severe
    first; rules in force over `span` (the destination's window), for a transfer between two
    regions (within one nothing moves: `placement.banned` holds the same).

    A dataset carries its phase's data class (of people in China or not, as the source phase
    says: `compliance.phase_data`) to where the destination runs: the rules on data classes (a
    `data` cell other than '*') judge the move. The destination's hardware rules are the
    destination phase's own findings (review9a #4: they were repeated here, a fleet's as a
    rental's). A quote judges its one placement with this, the planner every candidate of the
    destination (rev14a #1: it placed phases without it, and its cheapest plan shipped the
    personal data of people in China abroad): the two cannot disagree."""
    if t.what != "dataset":
        return [[] for _ in range(dst.height)]
    src = c.scenario.phase(t.from_)
    facts = compliance.with_rule_facts(
        dst.select("country", "accelerator", "accelerator_origin", "ownership"),
        data=compliance.phase_data(src, c.scenario.tenant_hq),
        tenant_hq=c.scenario.tenant_hq,
        # Whom the phase processing it there serves (training: no one).
        users=compliance.phase_users(c.scenario.phase(t.to)),
    ).select(compliance.FACT_COLUMNS)
    # The data is processed where the destination runs, for as long as it runs.
    policies = c.catalog.table("policies").filter(pl.col("data") != "*")
    return compliance.matching_rules(facts, policies, *span)


def blocking_rule(c: Context, t: Transfer, dst: pl.DataFrame, span: RulesSpan) -> list[str | None]:
    """Per row of `dst` (as `data_rules` takes it), the first rule that blocks the transfer's
    data there (a block among `data_rules`), or None."""
    return [
        next((r["id"] for r in matched if r["effect"] == "block"), None)
        for matched in data_rules(c, t, dst, span)
    ]
