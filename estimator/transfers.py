"""What moves between phases (weights, checkpoints, datasets): its size, route, time and price.

`routes` resolves the egress price and link speed of every pair of regions at a date in one
frame (lookup order: (from, to-country), (from, '*'), ('*', to-country), ('*', '*')). Data moves
between `site`s (a region and who runs the hardware there), and `Routes.leg` is the one rule for
what a move between two sites costs: free within one, else the source provider's route, or
`Unpriced` (no row, no exchange rate). A quote bills its one pair with it, and a joint placement
weighs every pair of candidate sites with it (an unpriced pair: not allowed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from pydantic import ConfigDict, Field

from estimator import compliance, costing
from estimator.context import Context, RulesSpan
from estimator.errors import ScenarioError
from estimator.findings import Finding, avoiding, rule_hindsight
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
    provider, from_gb, price_per_gb, currency, gbps, route_from, route_to, basis, as_of (a
    series with no row by `as_of` at its first: pricing.catalog.FALLS_FORWARD), source. A provider's
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
            "basis",
            "as_of",
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


def tiered(gb: float, bounds: list[float], prices: list[float]) -> float:
    """What `gb` costs at marginal tiers (`bounds`: the volume each tier starts at, ascending;
    each GB is charged the price of the tier it falls in), in the prices' currency."""
    ends = [*bounds[1:], float("inf")]
    return sum(p * max(0.0, min(gb, e) - b) for b, e, p in zip(bounds, ends, prices, strict=True))


def size_gb(c: Context, i: int, t: Transfer) -> float:
    """Gigabytes moved: given, or the model's weights (at the source phase's precision), a
    training phase's checkpoint, or a training phase's dataset."""
    if t.gigabytes is not None:
        return t.gigabytes
    src = c.scenario.phase(t.from_)
    if t.what in (None, "weights"):
        return weight_bytes(c.model, src.precision) / GB
    if t.what == "checkpoint":
        if not isinstance(src, TrainPhase):
            # rev20b #3: sized as a training checkpoint (weights + fp32 master + Adam state,
            # 7x the bf16 weights), a serving phase's state was billed 7x its egress and link
            # time unsaid. A serving phase holds no optimizer state: refused, as its dataset is,
            # rather than guessed as weights under another name.
            raise ScenarioError(
                "a checkpoint transfer from a serving phase: a serving phase holds the weights, "
                'not a training checkpoint (optimizer state): give what = "weights", or '
                "gigabytes = N",
                c.where(f"transfers[{i}]"),
            )
        return checkpoint_bytes(c.model) / GB
    if not isinstance(src, TrainPhase):
        raise ScenarioError(
            "a dataset transfer from a serving phase needs gigabytes = N",
            c.where(f"transfers[{i}]"),
        )
    return src.tokens * c.catalog.default("dataset_bytes_per_token") / GB


def site(region: str, provider: str, instance: str) -> str:
    """Where a phase's data rests, as moving it goes: its region and who runs the hardware (a
    provider; a fleet, by name; or the tenant's own purchases in that region, "owned"). Data
    moves free and at once only within one site: between two, even in one region, it leaves
    the source's network and pays its internet egress and link time like any other route
    (rev18a #2: AWS us-east to GCP us-east was free and instant, to GCP us-central 6,419 USD)."""
    return f"{region} {_who(provider, instance)}"


def _who(provider: str, instance: str) -> str:
    return f"fleet {instance}" if provider == "fleet" else provider


@dataclass(frozen=True)
class Route:
    """The egress of one route at one provider's rows (`routes`: its own, else no provider's),
    with the rate of their currency: what a quote bills a transfer at and what the planner
    weighs a pair of candidate sites at (`Routes.leg`), the same figures."""

    provider: str  # whose rows ('*': no provider's)
    route_from: str  # the rows' place (a region or '*', a country or '*')
    route_to: str
    bounds: tuple[float, ...]  # the volume (GB) each tier starts at, ascending
    prices: tuple[float, ...]  # per GB, in `currency`
    currency: str
    per_usd: float
    fx_as_of: date
    gbps: float
    dated: tuple[tuple[str, date, str], ...]  # its rows (basis, as_of, source), for assumptions

    def billed(self, gb: float) -> float:
        """What `gb` costs at the route's tiers, in its currency."""
        return tiered(gb, list(self.bounds), list(self.prices))

    def usd(self, gb: float) -> float:
        return self.billed(gb) / self.per_usd

    def hours(self, gb: float) -> float:
        """The copy time at the link's sustained speed."""
        (hours,) = (
            pl.DataFrame({"gbps": [self.gbps]}).select(costing.transfer_hours(pl.lit(gb))).row(0)
        )
        return float(hours)

    def spanned(self, gb: float) -> str:
        """The tiers `gb` falls in, counted from the first: '1 tier (0-1 TiB)', '3 tiers
        (0-153,600 GB)', '4 tiers (0 to over 153,600 GB)' (rev18a #10: 470 GB read "3 volume
        tiers", the table's count). '' for a route of one price."""
        if len(self.bounds) < 2:
            return ""
        n = max(1, sum(1 for b in self.bounds if b < gb))
        plural = "s" if n > 1 else ""
        if n == len(self.bounds):
            return f"{n} tier{plural} (0 to over {_volume(self.bounds[-1])})"
        return f"{n} tier{plural} (0-{_volume(self.bounds[n])})"


def _volume(gb: float) -> str:
    """A tier's bound as its rows were written: whole TiB (GCP's 1,099.511628 GB is 1 TiB), else
    GB (AWS's "10 TB" is 10,240 GB)."""
    tib = gb * GB / 2**40
    if round(tib) >= 1 and abs(tib - round(tib)) < 1e-6 * tib:
        return f"{round(tib):,} TiB"
    return f"{gb:,.0f} GB"


class Unpriced(Exception):
    """A move between two sites `Routes.leg` has no price for, its message says why (rev18c
    #1, #3): no transfer.csv row for the route, or none in a currency with a rate by the date.
    A quote's transfer fails with it; the planner never places a pair of sites on it."""


class Routes:
    """Every route of the catalog at a date, by (from region, to region, provider), with its
    rate: a quote looks one transfer up, the planner every pair of candidate sites. A route's
    row becomes its `Route` when `leg` first asks for it (a quote asks for one or two of ~1,000:
    making them all was ~6 ms of a quote's or a plan's CPU, and of one with no transfer)."""

    def __init__(self, catalog: Catalog, as_of: date) -> None:
        self._as_of = as_of
        keys = ["from_region", "to_region", "provider"]
        # One row per series, its tiers as lists (a dict per tier row took ~0.3 s a plan).
        self._series = (
            routes(catalog, as_of)
            .join(catalog.fx_table(as_of), on="currency", how="left")
            .group_by(keys, maintain_order=True)
            .agg(
                pl.col("from_gb"),
                pl.col("price_per_gb"),
                *(pl.first(c) for c in ("route_from", "route_to", "currency", "per_usd")),
                *(pl.first(c) for c in ("fx_as_of", "gbps")),
                pl.struct("basis", "as_of", "source").unique(maintain_order=True).alias("dated"),
            )
        )
        # Each series' row by its key (the group keys are distinct).
        self._at = {key: i for i, key in enumerate(self._series.select(keys).iter_rows())}
        self._made: dict[tuple[str, str, str], Route | tuple[str, str, str]] = {}

    def _made_of(self, key: tuple[str, str, str]) -> Route | tuple[str, str, str]:
        """The series `key` names as its `Route`; a series in a currency with no rate by the
        date as (currency, route_from, route_to): what `leg` says of it (rev18c #1: its price
        divided by a missing rate was a TypeError, in a quote and in every plan)."""
        made = self._made.get(key)
        if made is None:
            (_, _, provider, bounds, prices, route_from, route_to, currency, per_usd,
             fx_as_of, gbps, dated) = self._series.row(self._at[key])  # fmt: skip
            made = (
                (currency, route_from, route_to)
                if per_usd is None
                else Route(
                    provider=provider,
                    route_from=route_from,
                    route_to=route_to,
                    bounds=tuple(bounds),
                    prices=tuple(prices),
                    currency=currency,
                    per_usd=per_usd,
                    fx_as_of=fx_as_of,
                    gbps=gbps,
                    dated=tuple((d["basis"], d["as_of"], d["source"]) for d in dated),
                )
            )
            self._made[key] = made
        return made

    def leg(self, src: tuple[str, str, str], dst: tuple[str, str, str]) -> Route | None:
        """The route data takes from one placement to another, each (region, provider,
        instance): None within one `site` (free, at once); else the source provider's own rows
        to the destination's region, or the rows of no provider. `Unpriced`: no row at all, the
        rows' currency has no rate on or before the date, or no row for the first tier."""
        if site(*src) == site(*dst):
            return None
        pair = (src[0], dst[0])
        own = (*pair, src[1])
        key = own if own in self._at else (*pair, "*")
        made = self._made_of(key) if key in self._at else None
        moved = f"from {site(*src)} to {site(*dst)}"
        if isinstance(made, Route) and made.bounds[0] > 0:
            # rev18c #7: tiers from 20,000 GB billed an 80,000 GB move as 60,000, the first
            # gigabytes free; with no first tier (from_gb empty) the move has no price.
            by = "" if made.provider == "*" else f"{made.provider} "
            raise Unpriced(
                f"no transfer price for the first {_volume(made.bounds[0])} {moved}: the "
                f"transfer.csv rows ({by}{made.route_from} -> {made.route_to}) start at "
                f"from_gb {made.bounds[0]:,.0f} (the first tier's row leaves from_gb empty)"
            )
        if isinstance(made, Route):
            return made
        if made is None:
            raise Unpriced(f"no transfer price {moved} (no transfer.csv row, and no '*' row)")
        currency, route_from, route_to = made
        by = "" if key[2] == "*" else f"{key[2]} "
        raise Unpriced(
            f"no exchange rate for {currency} on or before {self._as_of} (an fx.csv row): the "
            f"currency of the transfer.csv rows ({by}{route_from} -> {route_to}) that price "
            f"the move {moved}"
        )


def routes_at(c: Context) -> Routes:
    """The context's `Routes` (its catalog at its date), made once: the planner's joint
    placement and the quote of its placements look their legs up in the same one."""
    return c.remembered(("routes",), lambda: Routes(c.catalog, c.as_of))


def price_transfer(
    c: Context, i: int, t: Transfer, placed: dict[str, Any], routes_: Routes
) -> tuple[TransferQuote, list[Finding]]:
    """A transfer between two placed phases (PhaseQuotes by name) and the rules its data meets:
    priced at `Routes.leg`, as the planner weighs the same pair of placements."""
    gb = size_gb(c, i, t)
    src, dst = placed[t.from_], placed[t.to]
    ends = {"from": t.from_, "to": t.to, "what": t.label, "gigabytes": gb}
    here, there = place(src), place(dst)
    try:
        leg = routes_.leg(here, there)
    except Unpriced as e:
        raise ScenarioError(str(e), c.where(f"transfers[{i}]")) from None
    if leg is None:  # nothing leaves the site (the planner's rule too)
        where = f"within {src.region} ({_who(*here[1:])})"
        within = {"hours": 0.0, "route": where, "cost": 0.0, "line_items": []}
        return TransferQuote.model_validate({**ends, **within}), []
    path = _path(here, there)
    item = _transfer_item(c, t, src.region, path, gb, leg)
    by = "" if leg.provider == "*" else f"{leg.provider} "
    route = f"{path} ({by}{leg.route_from} -> {leg.route_to})"
    priced = {"hours": leg.hours(gb), "route": route, "cost": item.amount, "line_items": [item]}
    # The rules on data judge a move between regions: within one it stays where it was.
    found = _data_findings(c, t, dst) if src.region != dst.region else []
    return TransferQuote.model_validate({**ends, **priced}), found


def place(p: Any) -> tuple[str, str, str]:
    """A placed phase (a PhaseQuote) as `Routes.leg` takes it."""
    return (p.region, p.provider, p.instance)


def _path(src: tuple[str, str, str], dst: tuple[str, str, str]) -> str:
    """'sg -> cn-west'; within one region, between whom: 'us-east aws -> gcp'."""
    if src[0] != dst[0]:
        return f"{src[0]} -> {dst[0]}"
    return f"{src[0]} {_who(*src[1:])} -> {_who(*dst[1:])}"


def _transfer_item(
    c: Context, t: Transfer, region: str, path: str, gb: float, leg: Route
) -> costing.LineItem:
    """The egress line item of a route's tiers (with their FX rate). Tiers are counted per
    month: the transfer is taken as its month's only egress (a provider's other traffic that
    month would put it in cheaper tiers sooner)."""
    billed = leg.billed(gb)
    usd = billed / leg.per_usd
    tiers = leg.spanned(gb)
    return costing.LineItem(
        phase=t.from_,
        region=region,
        component="transfer",
        description=f"{t.label} {path} at {leg.gbps:g} Gbit/s{', ' + tiers if tiers else ''}",
        quantity=gb,
        unit="GB",
        # A blended price over the tiers: quantity x unit_price is still the line's amount.
        unit_price=billed / gb if gb else leg.prices[0],
        unit_currency=leg.currency,
        fx_per_usd=leg.per_usd,
        fx_as_of=costing.rate_date(leg.currency, leg.fx_as_of),
        to_quote_rate=c.quote_per_usd / leg.per_usd,
        billed_amount=costing.cents(usd * leg.per_usd, leg.currency),
        amount=costing.cents(usd * c.quote_per_usd, c.currency),
        currency=c.currency,
    )


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
    out = []
    for r in matched:
        # rev19d #1: a warning the scenario avoids blocks on a transfer's data too.
        severity, message = avoiding(r["effect"], r["message"] + rule_hindsight(r, c.as_of),
                                     r["id"], c)  # fmt: skip
        out.append(Finding(severity=severity, code=r["id"], message=message, phase=named(t),
                           source=r["source"]))  # fmt: skip
    return out


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
    data there (a block among `data_rules`, or a warning the scenario avoids), or None."""
    avoided = set(c.scenario.avoid)
    return [
        next(
            (
                r["id"]
                for r in matched
                if r["effect"] == "block" or (r["effect"] == "warn" and r["id"] in avoided)
            ),
            None,
        )
        for matched in data_rules(c, t, dst, span)
    ]
