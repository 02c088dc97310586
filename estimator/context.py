"""What every evaluation of a scenario needs, resolved and checked once: the catalog and its
options at the date, the model, the quote's currency and rate, the planning settings.

`prepare` is where a scenario meets the catalog: unknown ids in sites, an unknown currency, a
date far past every price and an unknown model preset become ScenarioErrors naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, TypeVar, cast, get_args

import polars as pl

from estimator.errors import ScenarioError
from estimator.market import fleet_options, with_supply
from estimator.options import option_table
from estimator.physics import ModelSpec, resolve_model
from estimator.physics.model import tensor_parallel_problem
from estimator.scenario import AutoSite, Phase, Scenario, Site
from pricing import Catalog, CatalogError, UnknownIdError
from pricing.catalog import WITH_CATALOG

Objective = Literal["cost", "time"]
# What a phase is judged over: rules in force at some time from the first date until the second
# (exclusive; None: on the first date alone). See `compliance.in_force`.
RulesSpan = tuple[date, date | None]
OBJECTIVES: tuple[str, ...] = get_args(Objective)
T = TypeVar("T")
# Prices are extrapolated forward (with a stale-price warning) for planning dates up to this many
# years past the newest catalog figure; beyond, a quote would be a guess and is refused.
MAX_YEARS_PAST_CATALOG = 3


@dataclass(frozen=True)
class Context:
    scenario: Scenario
    catalog: Catalog
    model: ModelSpec
    as_of: date
    currency: str
    quote_per_usd: float
    options: pl.DataFrame
    # Round trip from each region to each market: region, market, rtt_ms, basis, as_of, source
    # (a series with no row by the quote date at its first: pricing.catalog.FALLS_FORWARD).
    latency: pl.DataFrame
    objective: Objective = "cost"
    max_devices: int | None = None
    # Phases whose start may slip until bought hardware arrives (re-placement after a shock)
    # instead of rejecting the purchase for its lead time.
    slip: frozenset[str] = frozenset()
    # Physics results by what they depend on (`evaluate._physics_keyed`): phases of a quote that ask
    # the same of the same devices share one solve (a solve costs ~0.1 s of fixed overhead).
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    # The sites the scenario gave the phases the planner placed, by phase name: the quote of the
    # placed scenario judges what the user's site let a phase use, not the planner's pinned
    # site (`site_given`; rev15c #1).
    given_sites: tuple[tuple[str, Site | AutoSite | Literal["auto"]], ...] = ()

    def site_given(self, phase: Phase) -> Site | AutoSite | Literal["auto"]:
        """The phase's site as the scenario gave it: before the planner placed it, if it did."""
        return dict(self.given_sites).get(phase.name, phase.site)

    def rules_span(self, start: date | None = None, end: date | None = None) -> RulesSpan:
        """The time a phase (or a transfer) is judged over: every rule in force at some time
        from `start` until `end` (exclusive) applies (`compliance.in_force`); by default the
        quote date alone. A what-if shock is a rule dated from its day, so it reaches only the
        phases still running then."""
        return (start or self.as_of, end)

    def where(self, path: str) -> str:
        return f"{self.scenario.source}: {path}"

    def round_trip(self, users: str, region: str) -> dict[str, Any] | None:
        """The latency.csv row a serving phase in `region` is judged on for its `users` (the
        nearest of their markets: region, market, rtt_ms, basis, as_of, source), or None."""
        rows = self.latency.filter(users_market(users), pl.col("region") == region)
        if rows.is_empty():
            return None
        return rows.sort("rtt_ms", maintain_order=True).row(0, named=True)

    def row_dated(self, basis: str, as_of: date, source: str) -> str:
        """A catalog row's provenance as the assumptions give an offer's: its basis, its date
        and its source, with `later` of a row dated after the quote."""
        return f"{basis}, row as of {as_of}{self.later(as_of)}; {source}"

    def later(self, as_of: date) -> str:
        """ ", after the quote date ...: the catalog has none earlier" for a row dated after the
        quote: one a series falls forward to (latency and transfer rows:
        pricing.catalog.FALLS_FORWARD), said as the `stale-price` finding says a later tariff
        (rev18b #2: a 2025 quote judged latency on 2026 rows without a word); else ""."""
        return f", after the quote date {self.as_of}: the catalog has none earlier" * (
            as_of > self.as_of
        )

    def remembered(self, key: Any, compute: Callable[[], T]) -> T:
        """`compute()` once per context: what depends only on the catalog, the model and the
        dates is the same for every phase of a quote."""
        if key not in self.memo:
            self.memo[key] = compute()
        return cast(T, self.memo[key])


def users_market(users: str) -> pl.Expr:
    """The latency.csv markets of a phase's users: theirs, or for "foreign" every one abroad."""
    return pl.col("market") != "cn" if users == "foreign" else pl.col("market") == users


def prepare(
    scenario: Scenario,
    catalog: Catalog,
    *,
    currency: str | None = None,
    as_of: date | None = None,
    objective: Objective = "cost",
    max_devices: int | None = None,
    slip: frozenset[str] = frozenset(),
) -> Context:
    day = as_of or scenario.as_of
    where = scenario.source
    # A date given apart from the scenario is the library's `as_of` argument (the CLI checks
    # its --as-of flag before, `cli.app.load_catalog`): the file's field was blamed for it.
    check_date(catalog, day, "as_of" if as_of else f"{where}: as_of")
    if currency is not None and not isinstance(currency, str):
        why = f"must be a currency code like 'CNY', not {type(currency).__name__}"
        raise ScenarioError(why, "currency")
    # rev19b #9: currency="" was "no currency given", where 5 or "usd" are refused.
    cur = scenario.currency if currency is None else currency
    # A currency given apart from the scenario is the library's `currency` argument (the CLI
    # checks its --currency flag before, `cli.app.load_catalog`).
    cur_field = "currency" if currency is not None else f"{where}: currency"
    # Every id check runs and each problem is kept (rev16c R1: `--all-errors` found an unknown
    # preset, then on the next run an unknown region): one ScenarioError lists them all. A
    # check that needs what an earlier one could not give (the model, the fleets' options) is
    # skipped rather than run on a guess.
    problems: list[ScenarioError] = []
    per_usd = 1.0
    try:
        per_usd = catalog.rate(cur, day).per_usd
    except UnknownIdError as exc:
        problems.append(ScenarioError(str(exc), cur_field))
    except CatalogError as exc:
        problems.append(ScenarioError(str(exc), f"{where}: as_of"))
    model: ModelSpec | None = None
    try:
        model = resolve_model(catalog, scenario.model.preset, **scenario.model.custom_fields())
    except UnknownIdError as exc:
        problems.append(ScenarioError(str(exc), f"{where}: model.preset"))
    except ScenarioError as exc:
        # The field at fault where the model says it (a flag at the command line), else the model.
        field = exc.location or "model"
        field = field if field.startswith("model") else f"model.{field}"
        problems.append(ScenarioError(exc.message, f"{where}: {field}"))
    before_fleets = len(problems)
    for i, f in enumerate(scenario.fleet):
        _check_fleet(problems, catalog, f.region, f.accelerator, f"{where}: fleet[{i}]")
        if f.book_value is not None and f.book_value_currency is not None:
            try:  # a book value in a currency with no rate on the day cannot be costed
                catalog.rate(f.book_value_currency, day)
            except UnknownIdError as exc:
                loc = f"{where}: fleet[{i}].book_value_currency"
                problems.append(ScenarioError(str(exc), loc))
            except CatalogError as exc:
                problems.append(ScenarioError(str(exc), f"{where}: as_of"))
    # Fleet options are built only from fleets whose every id and figure checked out: a problem
    # found in the loop above says so by where it was found, not by how its location reads
    # (rev16d R1: the guard matched ".fleet[" in locations reading ": fleet[", so an unknown
    # accelerator was built anyway and a polars warning reached the terminal).
    fleets_ok = len(problems) == before_fleets
    for i, phase in enumerate(scenario.phases):
        if model is not None:
            _collect(problems, _check_tensor_parallel, model, phase, f"{where}: phases[{i}]")
            _collect(problems, _check_layout, model, phase, f"{where}: phases[{i}]")
    listed = option_table(catalog, day)
    fleets = fleet_options(scenario, catalog, listed, day) if fleets_ok else listed.clear()
    options = pl.concat([listed, fleets])
    acquired = {f.name: f.acquired for f in scenario.fleet if f.acquired is not None}
    options = with_supply(catalog, options, scenario.tenant_hq, day, acquired)
    # Each round trip with its row's provenance, named in a quote's assumptions (rev18b #2).
    latency = catalog.dated("latency", day).select(
        "region", "market", "rtt_ms", "basis", "as_of", "source"
    )
    for i, phase in enumerate(scenario.phases):
        loc = f"{where}: phases[{i}].site"
        _collect(problems, _check_site, catalog, options, phase.site, loc)
        _collect(problems, _check_fleet_site, scenario, phase.site, loc)
    if problems:
        first = problems[0]
        raise ScenarioError(first.message, first.location, problems if len(problems) > 1 else ())
    assert model is not None
    return Context(
        scenario,
        catalog,
        model,
        day,
        cur,
        per_usd,
        options,
        latency,
        objective,
        max_devices,
        slip,
    )


def _collect(problems: list[ScenarioError], check: Callable[..., None], *args: Any) -> None:
    """Run `check`, keeping the problems it raises in `problems`."""
    try:
        check(*args)
    except ScenarioError as exc:
        problems.extend(exc.problems)


def _check_tensor_parallel(model: ModelSpec, phase: object, loc: str) -> None:
    """A tensor-parallel group a phase fixes must split the model's heads
    (`tensor_parallel_problem`): training's `tensor_parallel`, and a dense model's serving
    replica, which is one tensor-parallel group (`physics.servestep`; rev14a #4: TP3 of a
    64-head model was priced for serving, refused for training). A layout that cannot exist
    must not be priced. (An MoE replica runs attention data parallel where it spans more than
    a scale-up domain, which depends on the accelerator: not checked here.)"""
    tp = getattr(phase, "tensor_parallel", None)
    if tp and (problem := tensor_parallel_problem(model, tp)):
        raise ScenarioError(f"tensor_parallel {tp} {problem}", f"{loc}.tensor_parallel")
    replica = getattr(phase, "replica_devices", None)
    if replica and model.arch == "dense" and (problem := tensor_parallel_problem(model, replica)):
        raise ScenarioError(
            f"a replica of {replica} devices is one tensor-parallel group of a dense model, "
            f"and {replica} {problem} (vLLM, SGLang and TensorRT-LLM split them evenly)",
            f"{loc}.replica_devices",
        )


def _check_layout(model: ModelSpec, phase: object, loc: str) -> None:
    """Expert and pipeline parallelism a phase fixes must be possible for the model: experts
    split evenly over the expert-parallel ranks (Megatron-Core requires num_moe_experts to be
    a multiple of expert_model_parallel_size), none on a dense model, and no more pipeline
    stages than layers. An uneven pipeline split is allowed: Llama 3 405B put its 126 layers
    on 16 stages (arXiv 2407.21783 s3.3.2)."""
    ep = getattr(phase, "expert_parallel", None)
    if ep and ep > 1:
        if model.arch != "moe":
            raise ScenarioError(
                f"expert_parallel {ep} needs a mixture-of-experts model: {model.name} is dense",
                f"{loc}.expert_parallel",
            )
        if model.experts and model.experts % ep:
            raise ScenarioError(
                f"expert_parallel {ep} does not divide the model's {model.experts} experts",
                f"{loc}.expert_parallel",
            )
    pp = getattr(phase, "pipeline_parallel", None)
    if pp and model.layers and pp > model.layers:
        raise ScenarioError(
            f"pipeline_parallel {pp} exceeds the model's {model.layers} layers (a stage holds "
            "at least one)",
            f"{loc}.pipeline_parallel",
        )


def check_date(catalog: Catalog, day: date, field: str) -> None:
    """A date far past every figure in the catalog is not a quote, it is a guess; one before
    every price has nothing to price ('no options match' said nothing of why)."""
    oldest = min((d for t in ("offers", "hardware") if (d := _earliest(catalog, t))), default=day)
    if day < oldest:
        raise ScenarioError(
            f"{day} is before the oldest price in the catalog ({oldest}): nothing can be priced "
            f"on it; add prices for that date {WITH_CATALOG}",
            field,
        )
    dates = [_latest(catalog, t) for t in ("offers", "hardware", "fx")]
    newest = max((d for d in dates if d), default=day)
    if (day - newest).days > MAX_YEARS_PAST_CATALOG * 365:
        raise ScenarioError(
            f"{day} is more than {MAX_YEARS_PAST_CATALOG} years after the newest price in the "
            f"catalog ({newest}): add prices for that date {WITH_CATALOG}",
            field,
        )


def _earliest(catalog: Catalog, table: str) -> date | None:
    """The table's oldest `as_of` (None for a table emptied in memory: no prices, no date)."""
    day = catalog.table(table)["as_of"].min()
    return day if isinstance(day, date) else None


def _latest(catalog: Catalog, table: str) -> date | None:
    day = catalog.table(table)["as_of"].max()
    return day if isinstance(day, date) else None


def _check_fleet(
    problems: list[ScenarioError], catalog: Catalog, region: str, accelerator: str, loc: str
) -> None:
    """A fleet's region and accelerator exist, each reported (rev16d R1: the first stopped it)."""
    for kind, value in (("region", region), ("accelerator", accelerator)):
        try:
            catalog.get(f"{kind}s", value)
        except UnknownIdError as exc:
            problems.append(ScenarioError(str(exc), f"{loc}.{kind}"))


def _check_fleet_site(scenario: Scenario, site: object, loc: str) -> None:
    """A site priced as a fleet runs on one the scenario declares in its region with its
    accelerator: without one there is nothing to run on (it was reported as a missing price)."""
    if not isinstance(site, Site) or site.pricing != "fleet":
        return
    named = next((f for f in scenario.fleet if f.name == site.fleet), None)
    if named is not None and (named.region, named.accelerator) != (site.region, site.accelerator):
        # rev17b #5: a site naming a fleet and giving another accelerator was told about a
        # `pricing = "fleet"` it never wrote.
        raise ScenarioError(
            f"the fleet '{named.name}' is {named.accelerator} in {named.region}, not "
            f"{site.accelerator} in {site.region}: leave region and accelerator out to take "
            "the fleet's, or name another fleet",
            f"{loc}.fleet",
        )
    if any(f.region == site.region and f.accelerator == site.accelerator for f in scenario.fleet):
        return
    declared = ", ".join(f"{f.name} ({f.region}, {f.accelerator})" for f in scenario.fleet)
    raise ScenarioError(
        f'pricing = "fleet" needs a [[fleet]] in {site.region} with {site.accelerator} '
        f"(declared: {declared or 'none'})",
        f"{loc}.pricing",
    )


def _check_site(catalog: Catalog, options: pl.DataFrame, site: object, loc: str) -> None:
    """Every id a site names exists (with 'did you mean' otherwise)."""
    if isinstance(site, Site):
        lists = {
            "region": [site.region],
            "accelerator": [site.accelerator],
            "provider": [site.provider] if site.provider else [],
            "instance": [site.instance] if site.instance else [],
        }
        fields = {k: k for k in lists}
    elif isinstance(site, AutoSite):
        lists = {
            "region": site.regions,
            "accelerator": site.accelerators,
            "provider": site.providers,
        }
        fields = {"region": "regions", "accelerator": "accelerators", "provider": "providers"}
    else:
        return
    # A provider or instance the catalog has, but with no row valid on the date (its first
    # price is later), is no typo: the quote reports the phase unpriced and says when that
    # price starts, as `catalog offers` lists no row (review11a #7: "unknown provider 'aws'",
    # and "did you mean" another product for an instance that starts later).
    offers, hardware = catalog.table("offers"), catalog.table("hardware")
    known = {
        "region": catalog.ids("regions"),
        "accelerator": catalog.ids("accelerators"),
        "provider": [*options["provider"].unique(), *offers["provider"].unique()],
        "instance": [
            *options["instance"].unique(),
            *offers["instance"].unique(),
            *hardware["id"].unique(),
        ],
    }
    for kind, values in lists.items():
        for value in values:
            if value not in known[kind]:
                raise ScenarioError(
                    str(UnknownIdError(kind, value, known[kind])), f"{loc}.{fields[kind]}"
                )
