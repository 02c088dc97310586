"""The planner: the cheapest (or fastest) allowed placement of each phase a scenario leaves open.

For a phase whose site is "auto" (or lists allowed regions / accelerators / pricing /
providers), every option the site allows is evaluated at once (`estimator.evaluate`: the same
physics, money, rules and findings as a quote); candidates with a blocking finding are dropped
and the rest ranked. The chosen options are written into the scenario as fixed sites (provider,
instance and, when the objective needs it, the device count), and that scenario is quoted, so
the plan's total is what `quote` gives for the same placements.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from typing import Any

import polars as pl
from pydantic import PrivateAttr

from estimator import checks, compliance, findings, joint, placement, timeline
from estimator.checks import BLOCKING, BY_CODE, Check
from estimator.context import Context, RulesSpan
from estimator.costing import cents, per_unit_text
from estimator.defaults import DEFAULT_TOP_K
from estimator.errors import InfeasibleError, NoPlacementError, ScenarioError
from estimator.evaluate import Phase, evaluate, is_physics, presolve, rank
from estimator.findings import Finding
from estimator.frozen import ResultPart
from estimator.market import with_supply
from estimator.options import OptionQuery, first_dated, priced_later, select
from estimator.quoting import (
    candidates,
    capacity_name,
    fleet_as_it_is,
    quote_context,
    sharing,
    shown_run_days,
)
from estimator.results import Quote, Result
from estimator.scenario import AutoSite, Scenario, ServePhase, Site, TrainPhase
from estimator.scenario_file import parse_scenario
from pricing import Catalog


class Alternative(ResultPart):
    """A candidate of a phase: the chosen one, a runner-up, or the best rejected of a kind."""

    rank: int
    provider: str
    region: str
    accelerator: str
    pricing: str
    instance: str
    devices: int | None
    wall_clock_days: float | None
    cost: float | None  # in the plan's currency; None when it has no price
    verdict: str  # "chosen", how much more it costs or takes, or why it was rejected
    caution: str | None = None
    """The chosen option only: the warnings it carries whose compliance or availability is not
    assured (`findings.caution`), and the first allowed option without them in the ranking's
    order (the cheapest; the fastest under objective time), with what it costs more; None (null
    in JSON) when it carries none."""


class PhasePlan(ResultPart):
    """One placed phase: how many options it had, how many were allowed, how many each reason
    removed, and the alternatives shown (the chosen one first)."""

    phase: str
    candidates: int
    allowed: int
    removed: dict[str, int]
    alternatives: list[Alternative]


class Plan(Result):
    """The chosen placements as a full quote, and per placed phase what else was considered."""

    quote: Quote
    phases: list[PhasePlan]
    objective: str
    """cost or time."""
    scenario: Scenario
    """The input with every auto site (and a forced fleet size) filled in."""
    # The catalog it was planned on: `percentiles` and `sensitivity` of the plan sample its
    # prices, not the embedded ones (review10b #1: a plan on negotiated prices got a band for
    # the public ones, its own total below every sample).
    _catalog: Catalog | None = PrivateAttr(default=None)
    # Once pickled, the catalog's fingerprint stands in for it (`check_catalog`).
    _catalog_fingerprint: str | None = PrivateAttr(default=None)
    # What it was planned from, to plan it again (`what_if` of a plan, rev12b #12): the
    # scenario as given (its auto sites: `scenario` has them filled in) and the device cap.
    _given: Scenario | None = PrivateAttr(default=None)
    _max_devices: int | None = PrivateAttr(default=None)

    @property
    def given(self) -> tuple[Scenario, int | None] | None:
        """The scenario the plan was made from, as given (before placement), and the device
        cap it was planned under; None for a plan rebuilt from its fields."""
        return None if self._given is None else (self._given, self._max_devices)

    @property
    def catalog(self) -> Catalog | None:
        """The catalog the plan was made on (None for a plan unpickled or rebuilt from JSON)."""
        return self._catalog

    # The catalog is a handle, not part of the result (review10c #1, #2): a plan pickles
    # without it (a megabyte of tables in every pickled plan), keeping its fingerprint, and two
    # plans are equal when their fields are, whichever catalog object made them.
    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        made_on = self._catalog
        state["__pydantic_private__"] = {
            **(state.get("__pydantic_private__") or {}),
            "_catalog": None,
            "_catalog_fingerprint": (
                made_on.fingerprint() if made_on is not None else self._catalog_fingerprint
            ),
        }
        return state

    def check_catalog(self, catalog: Catalog) -> None:
        """Refuses to sample the plan on a catalog other than the one it was made on: its
        prices are not the plan's, and the band would not be the plan's either (rev12b #4: a
        plan on negotiated prices, sampled on the embedded ones, sat below every sample)."""
        made_on = self._catalog
        if catalog is made_on:
            return
        expected = made_on.fingerprint() if made_on is not None else self._catalog_fingerprint
        label = self.quote.assumptions.get("catalog")
        same = (
            catalog.fingerprint() == expected
            if expected is not None
            else ", ".join(catalog.origin) == label  # rebuilt from JSON: only its name is left
        )
        if not same:
            raise ScenarioError(
                f"this plan was made on the catalog '{label}', and the catalog given "
                f"('{', '.join(catalog.origin)}') differs from it: its figures are not the "
                "plan's; pass the catalog the plan was made on"
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plan):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:  # as equality: its fields (Result's own hash had none: 0)
        return hash(tuple(self.__dict__.values()))

    def placed_quote(self) -> Quote:
        """The quote, naming the phases the planner placed (`placed_by_planner`) if any, and
        the caution of each whose chosen option carries one (`Alternative.caution`: a quote or
        an estimate of an auto site shows no placements table to say it in)."""
        if not self.phases:
            return self.quote
        said = {
            p.phase: p.alternatives[0].caution for p in self.phases if p.alternatives[0].caution
        }
        return self.quote.assuming(
            placed_by_planner=[p.phase for p in self.phases], **({"caution": said} if said else {})
        )

    def to_polars(self) -> pl.DataFrame:
        """One row per placed phase and alternative: rank, where, devices, days, cost (in the
        plan's currency, unrounded; null when unpriced), `currency` (as the other frames have
        it, rev12b #12) and the verdict ("chosen", how much more it costs or takes, or why it
        was ruled out)."""
        cur = self.quote.currency
        rows = [
            {"phase": p.phase, **a.model_dump(), "currency": cur}
            for p in self.phases
            for a in p.alternatives
        ]
        schema = {"phase": pl.String, "rank": pl.Int64, "provider": pl.String,
                  "region": pl.String, "accelerator": pl.String, "pricing": pl.String,
                  "instance": pl.String, "devices": pl.Int64, "wall_clock_days": pl.Float64,
                  "cost": pl.Float64, "currency": pl.String, "verdict": pl.String}  # fmt: skip
        return pl.DataFrame(rows, schema=schema)


def place(c: Context, top_k: int = DEFAULT_TOP_K) -> Plan:
    """Place every auto phase of `c.scenario` jointly (`estimator.placement`), then quote the
    placed scenario."""
    if c.objective == "time" and c.scenario.schedule != "earliest":
        # The fastest plan is no faster if the phases after a training phase still wait for
        # its deadline: each phase starts as soon as the one before it finishes.
        c = replace(c, scenario=_earliest(c.scenario))
    auto = [(i, p) for i, p in enumerate(c.scenario.phases) if p.is_auto]
    if not auto:  # nothing to place: the scenario as given
        out = Plan(quote=quote_context(c), phases=[], objective=c.objective, scenario=c.scenario)
        return _made_in(out, c)
    frames = {p.name: _options(c, p) for p in c.scenario.phases}
    presolve(c, [(p, frames[p.name]) for p in c.scenario.phases])
    wins = timeline.windows(c.scenario, c.as_of, _run_days(c, frames))
    # With its line items' quantities and prices (`detail`): the placed quote reads its
    # choices' rows from here (`evaluated`).
    done = {
        p.name: evaluate(c, p, frames[p.name], wins[p.name], detail=True) for p in c.scenario.phases
    }
    scored = {name: rank(frame, c.objective) for name, frame in done.items()}
    scored, blocked = _transfer_rules(c, scored, wins)
    for i, p in auto:
        _check_allowed(c, i, p, scored[p.name], wins[p.name])
    choices = {n: _live(c, n, frame) for n, frame in scored.items()}
    prob, rows = joint.problem(c, choices, wins, blocked)
    try:
        picked = placement.solve(prob, c.objective)
    except placement.Infeasible:
        if c.objective == "time" and c.max_devices:
            # Finishing first gives each training run all it may take (`evaluate._all_of_it`):
            # a whole fleet that a phase running beside it also needs leaves no placement
            # (review7c #2). Sized for their deadlines instead, the runs fit; said so.
            fallback = place(replace(c, max_devices=None), top_k)
            said = fallback.quote.assuming(
                time_objective=f"taking up to {c.max_devices:,} devices for each training run "
                "left no joint placement within the capacities (a fleet or an offer shared by "
                "phases running at once): training runs are sized for their deadlines instead"
            )
            return _made_in(fallback._replaced({"quote": said}), c)
        raise InfeasibleError(_why_no_joint_placement(c, prob), c.scenario.source) from None
    names = [p.name for p in c.scenario.phases]
    best = {p.name: choices[p.name].row(picked[i], named=True) for i, p in auto}
    sites = {p.name: _fixed(p, best[p.name], c, wins[p.name]) for i, p in auto}
    phase_plans = [
        PhasePlan(
            phase=p.name,
            candidates=scored[p.name].height,
            allowed=choices[p.name].height,
            removed=_removed(scored[p.name]),
            alternatives=_alternatives(
                c,
                p,
                scored[p.name],
                best[p.name],
                top_k,
                (prob, picked, names, rows),
                c.rules_span(wins[p.name].start, wins[p.name].end),
            ),
        )
        for i, p in auto
    ]
    placed = with_sites(c.scenario, sites)
    # What `prepare(placed, ...)` gives with the quote's defaults (objective cost, no device
    # cap, no slip): the placed scenario differs only in its phases (sites that are catalog
    # rows, a fleet size, a start), so the catalog's options and latencies at the date, the
    # model and the rate stay (preparing them again took ~25 ms). Of what was remembered the
    # physics carries (it depends on its keys and settings alone, `evaluate.is_physics`: the
    # chosen options' keys were solved when the phase's options were ranked), and what depends
    # on the catalog, its options, the tenant and dates alone (`_CARRIED`).
    placed_c = replace(
        c,
        scenario=placed,
        objective="cost",
        max_devices=None,
        slip=frozenset(),
        memo={k: v for k, v in c.memo.items() if is_physics(k) or k[0] in _CARRIED}
        | evaluated(c, c.scenario.phases, frames, done, wins),
        given_sites=tuple((dict((p.name, p.site) for _, p in auto) | dict(c.given_sites)).items()),
    )
    q = quote_context(placed_c)
    split = [f for i, p in auto for f in _not_split(c, p, scored[p.name], best[p.name])]
    if split:
        q = q._replaced(
            {
                "findings": sorted(
                    [*q.findings, *split],
                    key=lambda f: (compliance.SEVERITY_ORDER[f.severity], f.phase or "", f.code),
                )
            }
        )
    out = Plan(
        quote=q, phases=[_as_quoted(pp, q) for pp in phase_plans], objective=c.objective,
        scenario=placed,
    )  # fmt: skip
    return _made_in(out, c)


# What a plan's context remembered that its placed quote's reads alike (`Context.remembered`
# keys by their first item), as none depends on the phases, the objective, the device cap or
# the slip, which are all the placed context changes: the supply of the purchase options on
# each day it changes and their orders for a start (`evaluate._supply_on`: the options, the
# tenant, the dates), the routes at the date (`transfers.routes_at`: the catalog, the date;
# the joint placement priced every pair of candidate sites with them), the accelerators a
# precision runs on (the catalog), and the blocking rules in force over a span (the catalog's
# policies, the dates).
_CARRIED = frozenset({"supply days", "purchases", "routes", "supports", "blocking rules"})


def evaluated(
    c: Context,
    phases: list[Phase],
    frames: dict[str, pl.DataFrame],
    done: dict[str, pl.DataFrame],
    wins: dict[str, timeline.Window],
) -> dict[Any, Any]:
    """The planner's evaluations of the phases (input rows, evaluated rows), as the memo
    entries the placed quote reads them from (`quoting._evaluated`, keyed by the phase and its
    window). Only where the placed context evaluates a placed phase as the planner did: an
    objective of cost (time sizes a run by the device cap, `evaluate.physics_inputs`), no
    device cap (`checks`), no slip (`evaluate`'s `slip_days`; `_fixed` then moves no start
    and sizes no fleet), so a placed phase differs from its auto phase in its site alone,
    which an evaluation reads as given (`Context.site_given`); its window is the key."""
    if c.objective != "cost" or c.max_devices is not None or c.slip:
        return {}
    return {("evaluated", p.name, wins[p.name]): (frames[p.name], done[p.name]) for p in phases}


# A verdict `rule:<id> on transfer <from>-><to>`: the transfer's data, not the option, is blocked.
_ON_TRANSFER = " on transfer "


def _live(c: Context, name: str, scored: pl.DataFrame) -> pl.DataFrame:
    """The candidates of a phase the joint placement chooses among: an auto phase's allowed
    ones, a fixed phase's one (blocked or not: the quote reports its blocks)."""
    if c.scenario.phase(name).is_auto:
        return scored.filter(pl.col("verdict").is_null())
    return scored.head(1)


def _transfer_rules(
    c: Context, scored: dict[str, pl.DataFrame], wins: dict[str, timeline.Window]
) -> tuple[dict[str, pl.DataFrame], list[joint.Blocked]]:
    """The rules on what transfers carry, as the placement weighs them (rev14a #1: a dataset
    of personal data was sent abroad by the cheapest plan, the block found only when it was
    quoted). Each transfer whose data a rule blocks at some candidates of its destination
    (`joint.blocked_moves`) rules out the pairs of placements that send it there; the joint
    placement keeps the rest apart. A candidate no allowed placement of the other end can pair
    with is removed, as a blocking finding of its own would remove it, its verdict naming the
    rule and the transfer: with every candidate of a phase removed so, the plan reports the
    phase as having no allowed placement."""
    blocked = joint.blocked_moves(c, {n: _live(c, n, f) for n, f in scored.items()}, wins)
    if not blocked:
        return scored, blocked
    names = [p.name for p in c.scenario.phases]
    out: dict[str, dict[int, str]] = {n: {} for n in names}

    def left(name: str) -> list[tuple[int, str]]:
        rows = _live(c, name, scored[name]).select("option_id", "region").iter_rows()
        return [(k, r) for k, r in rows if k not in out[name]]

    changed = True
    while changed:  # removing candidates at one end may leave others unpaired: until none is
        changed = False
        for a, b, rules in blocked:
            src, dst = names[a], names[b]
            why = f"{_ON_TRANSFER}{src}->{dst}"
            froms, tos = left(src), left(dst)
            if not froms or not tos:  # that phase's own error says why it has none
                continue
            if c.scenario.phase(dst).is_auto:
                regions = {r for _, r in froms}
                for k, r in tos:
                    if k in rules and r not in regions:
                        out[dst][k] = f"rule:{rules[k]}{why}"
                        changed = True
                tos = left(dst)
            if tos and c.scenario.phase(src).is_auto and all(k in rules for k, _ in tos):
                regions = {r for _, r in tos}
                for k, r in froms:
                    if r not in regions:
                        out[src][k] = f"rule:{rules[tos[0][0]]}{why}"
                        changed = True
    marked = {
        n: frame.with_columns(
            pl.coalesce(
                pl.col("verdict"),
                pl.col("option_id").replace_strict(out[n], default=None, return_dtype=pl.String),
            ).alias("verdict")
        )
        if out[n]
        else frame
        for n, frame in scored.items()
    }
    return marked, blocked


# The checks a candidate rejected for its offer's size (`capacity-short`) has yet to pass: the
# verdict names the first block, so the ones before it passed.
_AFTER_CAPACITY: tuple[Check, ...] = BLOCKING[BLOCKING.index(BY_CODE["capacity-short"]) + 1 :]


def _not_split(c: Context, p: Phase, scored: pl.DataFrame, best: dict[str, Any]) -> list[Finding]:
    """A serving phase placed elsewhere because its fleet is larger than the offer that would
    otherwise serve it (rev13b #5: 7% more demand than the 512 devices the China H100 rental is
    trusted for moved the whole service from cn-east to Virginia at 3.2x the cost). A phase is
    placed whole on one offer (`placement`), never split across offers, although a serving
    fleet's replicas are independent and could be: said, with the devices needed against the
    offer's size. Training is not judged: a run's devices share one cluster network, so
    splitting it across providers is no option a plan could take."""
    if not isinstance(p, ServePhase) or best["total_usd"] is None:
        return []
    by_token = best.get("usd_per_output_token") is not None
    money = "usd_per_output_token" if by_token else "run_usd"
    cheaper = pl.col(money) < best["total_usd" if money == "run_usd" else money]
    fleet = pl.col("option") == "fleet"
    if not by_token:
        # A fleet sized past its own size has no total (`checks.fleet_outgrown`), and its
        # `run_usd` is the energy and operations of devices it does not have: no figure to call
        # it cheapest by (rev16c Q3). A device of it costs less to run than one of the
        # placement chosen, or it is not named; it is named first, as hardware already owned.
        per_device = best["total_usd"] / max(best["billed_devices"] or 1, 1)
        cheaper = pl.when(fleet).then(pl.col("run_usd") / pl.col("billed_devices") < per_device)
        cheaper = cheaper.otherwise(pl.col(money) < best["total_usd"])
    short = scored.filter(
        (pl.col("verdict") == "capacity-short")
        & pl.col("workable")
        & (pl.col("billed_devices") > pl.col("capacity_devices")).fill_null(False)
        & cheaper.fill_null(False)
    )
    if c.max_devices:  # a fleet over the user's own cap is no offer's limit
        short = short.filter(pl.col("devices") <= c.max_devices)
    if p.devices:  # a fleet given smaller than the demand is the input's fault
        short = short.filter((pl.col("devices_needed") <= p.devices).fill_null(True))
    if _AFTER_CAPACITY and not short.is_empty():
        later = [check.when(c, p).fill_null(False) for check in _AFTER_CAPACITY]
        short = short.filter(~pl.any_horizontal(later))
    if short.is_empty():
        return []
    ranked = short.with_columns(_owned=~fleet) if not by_token else short
    order = ["_owned", money, "option_id"] if not by_token else [money, "option_id"]
    r = ranked.sort(order).row(0, named=True)
    cap, needed = r["capacity_devices"], r["billed_devices"]
    cost, chosen = r["run_usd"] * c.quote_per_usd, best["total_usd"] * c.quote_per_usd
    # A fleet's cost at devices it does not have is no figure to show (rev16a #2).
    shown = not by_token and r["option"] != "fleet"
    saving = f" ({cost:,.0f} {c.currency} for the phase)" if shown else ""
    assumed = " (only reported, no size published)" if r.get("capacity_assumed") else ""
    which = (
        f"{_named(r)}, already owned and otherwise allowed,"
        if r["option"] == "fleet" and not by_token
        else f"the cheapest option otherwise allowed, {_named(r)}{saving},"
    )
    message = (
        f"needs {needed:,.0f} x {r['accelerator']}; {which} has at most {cap:,.0f}{assumed}. "
        "A phase is placed whole on "
        f"one offer and never split across offers (the planner's limit), so all of it moved "
        f"to {_named(best)} ({chosen:,.0f} {c.currency}). Serving replicas are independent: "
        f"{cap:,.0f} there and the other {needed - cap:,.0f} elsewhere may cost far less; to "
        "price it, split the phase into two serving phases that share the demand"
    )
    source = (
        c.catalog.default_source("reported_capacity_devices")
        if r.get("capacity_assumed")
        else r.get("offer_source")
    )
    return [
        Finding(
            severity="warn",
            code="phase-exceeds-largest-offer",
            message=message,
            phase=p.name,
            source=source,
        )
    ]


def _named(row: dict[str, Any]) -> str:
    """An evaluated option as a finding names it: 'aws p5.48xlarge on_demand in us-east', "the
    fleet 'h800-stock' in cn-west"."""
    if row["option"] == "fleet":
        return f"the fleet '{row['instance']}' in {row['region']}"
    return f"{row['provider']} {row['instance']} {row['pricing']} in {row['region']}"


def _made_in(out: Plan, c: Context) -> Plan:
    """The plan with what it was made from: the catalog, the scenario, the device cap."""
    out._catalog, out._given, out._max_devices = c.catalog, c.scenario, c.max_devices
    return out


def _as_quoted(pp: PhasePlan, q: Quote) -> PhasePlan:
    """The chosen alternative at the quote's cost of its phase: a sum of whole-cent line items,
    where the ranking's figure is not rounded item by item (a cent apart: review9c)."""
    cost = next(p.cost for p in q.phases if p.name == pp.phase)
    chosen = pp.alternatives[0]._replaced({"cost": cost})
    return pp._replaced({"alternatives": [chosen, *pp.alternatives[1:]]})


def _earliest(scenario: Scenario) -> Scenario:
    """`scenario` on the `earliest` schedule (validated again, its source kept)."""
    data = scenario.model_dump(by_alias=True, exclude_none=True)
    return parse_scenario({**data, "schedule": "earliest"}, scenario.source)


def _options(c: Context, p: Phase) -> pl.DataFrame:
    if p.is_auto:
        return select(c.options, OptionQuery.of(p.site))
    return candidates(c, p)[0]


def _run_days(c: Context, frames: dict[str, pl.DataFrame]) -> dict[str, float | None]:
    """How long each training phase whose window is its run time (`timeline.needs_run_days`)
    runs on its first-ranked option (cheapest, or fastest under the time objective)."""
    out: dict[str, float | None] = {}
    for p in c.scenario.phases:
        if timeline.needs_run_days(c.scenario, p):
            ranked = rank(evaluate(c, p, frames[p.name]), c.objective)
            # As the phase will show it (a fleet sized past its size runs on its own devices).
            first = ranked.row(0, named=True) if ranked.height else None
            out[p.name] = None if first is None else shown_run_days(c, p, first)
    return out


def _why_no_joint_placement(c: Context, prob: placement.Problem) -> str:
    """Why no joint placement exists: the capacity the fixed phases alone overfill, named as a
    quote of fixed sites names it (review8a #11: the message named no fleet and no phase), or
    that the phases' allowed options cannot all fit at once."""
    fixed = [-1 if p.is_auto else 0 for p in c.scenario.phases]  # auto phases: none chosen
    for group, members, used in placement.overloads(prob, fixed):
        return (
            f"fixed {_sharing(c, prob, fixed, group, members, used)}; place one elsewhere (or "
            'site = "auto")'
        )
    how, moved = _blocked_without(c, prob)
    if moved:
        return (
            "no allowed plan: each phase has allowed options, but every joint placement the "
            f"capacities allow {how} ({moved})"
        )
    first = [0] * len(c.scenario.phases)  # each phase's first-ranked option (rev14a #10)
    clash = ""
    for group, members, used in placement.overloads(prob, first)[:1]:
        clash = (
            f" (on their first-ranked options: {_sharing(c, prob, first, group, members, used)})"
        )
    return (
        "no joint placement fits the capacities (fleets, offers, supply) over time: "
        f"each phase has allowed options, but not all at once{clash}"
    )


def _sharing(
    c: Context,
    prob: placement.Problem,
    choice: list[int],
    group: placement.Group,
    members: list[int],
    used: float,
) -> str:
    """`quoting.sharing` of phases (`members`, by index) a `choice` of the problem puts on one
    capacity beyond it: each with the day its run ends (its window's start plus its days, slip
    included) and the end of the window it holds."""
    held = []
    for i in members:
        cand = prob.candidates[i][choice[i]]
        start = prob.windows[i][0]
        ends = timeline.ends_on(start, cand.days) if cand.days else None
        held.append((c.scenario.phases[i].name, ends, cand.window or prob.windows[i]))
    return sharing(c, group, prob.capacities[group], used, held)


def _blocked_without(
    c: Context, prob: placement.Problem, force: dict[int, int] | None = None
) -> tuple[str, str]:
    """When the problem has no solution only for its transfers (the rules on their data, or
    pairs of sites the catalog has no price for moving them between: it has one without
    them), what that solution does ("sends data where a rule blocks it") and the transfers it
    does it with, in words; else ("", "")."""
    if not prob.blocked and not prob.unpriced:
        return "", ""
    free = replace(prob, blocked=(), unpriced=())
    try:
        choice = placement.solve(free, c.objective, force)
    except placement.Infeasible:
        return "", ""
    return _held(c, prob, choice)


def _held(c: Context, prob: placement.Problem, choice: list[int]) -> tuple[str, str]:
    """What a choice does with its transfers that no plan may ("sends data where a rule blocks
    it", "moves data on a route the catalog has no price for") and the transfers, in words;
    ("", "") for none."""
    names = [p.name for p in c.scenario.phases]
    ruled = [
        f"transfer {names[a]}->{names[b]} to {prob.candidates[b][choice[b]].region}: rule {rule}"
        for a, b, rule in placement.banned(prob, choice)
    ]
    unpriced = [
        f"transfer {names[a]}->{names[b]}: {why}" for a, b, why in placement.unpriced(prob, choice)
    ]
    how = " and ".join(
        h
        for h, found in (
            ("sends data where a rule blocks it", ruled),
            ("moves data on a route the catalog has no price for", unpriced),
        )
        if found
    )
    return how, "; ".join([*ruled, *unpriced])


def _removed(scored: pl.DataFrame) -> dict[str, int]:
    removed = {r: 0 for r in findings.REASONS}
    for code, n in scored.group_by("verdict").len().drop_nulls("verdict").iter_rows():
        removed[findings.reason(code)] += n
    return removed


def _check_allowed(
    c: Context, i: int, phase: Phase, scored: pl.DataFrame, window: timeline.Window
) -> None:
    if scored.filter(pl.col("verdict").is_null()).height:
        return
    removed = _removed(scored)
    counts = ", ".join(f"{r} {n:,}" for r, n in removed.items() if n) or "no options match"
    later = _first_offer(c, phase.site) if scored.is_empty() else None
    if later is not None:  # its providers' prices start later (review11a #7)
        counts = f"none valid on {c.as_of}: the catalog's first price for this site is from {later}"
    closest, site, top, detail = "", None, "", ""
    if not scored.is_empty():
        # The best-ranked option of the commonest reason: with a TPOT no option can meet, the
        # first-ranked one (cheapest) was a pod blocked for its instance, not for latency.
        # Among the options that could run the phase if any could; if none could, by what
        # rules them out physically (a rule that blocked every option abroad hid that none met
        # the latency target either: the error named the rule).
        pool = (
            scored.filter(pl.col("workable"))
            if scored["workable"].any()
            else scored.with_columns(verdict=findings.physical_verdict(c, phase))
        )
        in_pool = _removed(pool)
        top = max(in_pool, key=lambda r: in_pool[r])
        why = findings.reason_expr(pl.col("verdict"))
        row = pool.filter(why == top).row(0, named=True)
        # rev16a #3: a fleet of the lab's own that could run the phase but is too small for
        # the deadline decides the question, not a purchase the market rules out.
        short = pool.filter((pl.col("option") == "fleet") & (why == "capacity"))
        if not short.is_empty():
            top, row = "capacity", short.row(0, named=True)
        sent = scored.filter(pl.col("verdict").str.contains(_ON_TRANSFER, literal=True))
        if not sent.is_empty():  # allowed on its own: only a transfer's data rules it out
            top, row = "rule", sent.row(0, named=True)
        closest = f"; the best: {findings.describe(row['verdict'], row, c, phase)}"
        site = {k: row[k] for k in ("region", "pricing", "provider", "instance") if row.get(k)}
        rents = scored.filter(pl.col("option") == "rented").height
        # rev12f #1: the first *rental* row's date, not a purchase row's.
        later = None if rents else _first_offer(c, phase.site, rented_only=True)
        gap, judged = _priced_later(c, phase, window)
        if gap is not None:
            # rev13b #6: in the first half of 2024 the error named the supply rule that blocks
            # buying H800 as the best, when renting H100 abroad was allowed and common: the
            # catalog's foreign rental prices start 2024-06-13.
            detail = f"of the options it prices on {c.as_of}, the best: " + (
                closest.removeprefix("; the best: ")
            )
            closest = f": {gap}"
        elif later is not None:
            # rev12d #8: with no rental price before 2024 the error named a purchase's lead time
            # as the best, as if renting had been weighed and lost.
            # What it prices later is blocked as well (rev13b #6): said, not left to read as
            # the cause.
            also = "; nor is any it prices later allowed" if judged else ""
            closest = (
                f": the catalog has no rental price for this site valid on {c.as_of} (its first "
                f"is from {later}{also}), and none of its purchases or fleets is allowed"
            )
    fleets = _fleets_blocked(c, phase, scored, site)
    detail = "; ".join(part for part in (detail, fleets) if part)
    raise NoPlacementError(
        f"no allowed placement among {scored.height:,} options ({counts}){closest}",
        c.where(f"phases[{i}] '{phase.name}'"),
        phase.name,
        closest=site,
        reason=top,
        detail=detail,
    )


def _fleets_blocked(
    c: Context, phase: Phase, scored: pl.DataFrame, closest: dict[str, Any] | None
) -> str:
    """What blocks each of the scenario's fleets the phase's site admits, in the findings' own
    words (`findings.describe`: a fleet too small for the deadline says the devices it needs,
    the days the fleet takes by the estimate and at a published run's rate, and the deadline
    that would let it), unless the error already names it as the best option. rev16a #3: with
    a 512-H800 fleet 4.5 times too small, the error named a B200 purchase China cannot make
    and told the lab to "use hardware you already have (a [[fleet]])"."""
    rows = scored.filter((pl.col("option") == "fleet") & pl.col("verdict").is_not_null())
    said = []
    for r in rows.unique(subset=["instance"], keep="first", maintain_order=True).iter_rows(
        named=True
    ):
        if closest and r.get("pricing") == "fleet" and r.get("instance") == closest.get("instance"):
            continue
        said.append(
            f"the fleet '{r['instance']}' ({r['capacity_devices']:,.0f} x {r['accelerator']} in "
            f"{r['region']}) is ruled out too, {findings.describe(r['verdict'], r, c, phase)}"
        )
    return "; ".join(said)


def _priced_later(c: Context, phase: Phase, window: timeline.Window) -> tuple[str | None, int]:
    """When the catalog has no price on the plan's date for options of the phase's site that
    nothing else would rule out (each offer or purchase whose rows all come later, judged at
    its first row by the same evaluation: `options.priced_later`), what that gap is, in words;
    else None. A gap in the price history is no rule and no market block, and the error said
    it was one. With it, how many such options were judged."""
    later = priced_later(c.catalog, OptionQuery.of(phase.site), c.as_of)
    if later.is_empty():
        return None, 0
    start = int(c.options["option_id"].max() or 0) + 1  # type: ignore[arg-type]
    later = pl.concat([c.options.clear(), later], how="diagonal_relaxed").with_columns(
        (pl.int_range(start, start + later.height)).cast(c.options["option_id"].dtype)
    )
    later = with_supply(c.catalog, later, c.scenario.tenant_hq, c.as_of)
    free = evaluate(c, phase, later, window).filter(pl.col("verdict").is_null())
    if free.is_empty():
        return None, later.height
    first = free.sort("offer_as_of", "provider", "region", "instance").row(0, named=True)
    what = "an option" if free.height == 1 else f"{free.height:,} options"
    how = "bought" if first["option"] == "owned" else f"from {first['provider']}"
    return (
        f"the catalog has no price on {c.as_of} for {what} nothing else rules out (a gap in its "
        f"price history, not a rule); its first is from {first['offer_as_of']}, "
        f"{first['accelerator']} {how} in {first['region']}: add prices with --catalog DIR"
    ), later.height


def _first_offer(c: Context, site: object, *, rented_only: bool = False) -> date | None:
    """The earliest option an auto site would take that is dated after the quote (with
    `rented_only`, the earliest rental), if any."""
    if site == "auto":
        site = AutoSite()
    if not isinstance(site, AutoSite):
        return None
    return first_dated(c.catalog, OptionQuery.of(site), c.as_of, rented_only=rented_only)


def _fixed(
    phase: Phase, row: dict[str, Any], c: Context, window: timeline.Window
) -> dict[str, Any]:
    """The fields that pin a phase to one evaluated option (and, when its start slipped for
    bought hardware to arrive, its new start)."""
    site = Site(
        region=row["region"],
        accelerator=row["accelerator"],
        pricing=row["pricing"],
        provider=None if row["option"] != "rented" else row["provider"],
        instance=None if row["option"] == "fleet" else row["instance"],
        fleet=row["instance"] if row["option"] == "fleet" else None,
    )
    fields: dict[str, Any] = {"site": site.model_dump(exclude_none=True)}
    if isinstance(phase, TrainPhase) and not phase.devices and c.objective == "time":
        fields["devices"] = int(row["devices"])  # the capacity, not the minimum
    if row["slip_days"]:
        fields["start"] = timeline.later(window.start, math.ceil(row["slip_days"]))
    return fields


def with_sites(scenario: Scenario, fields: dict[str, dict[str, Any]]) -> Scenario:
    """The scenario with the named phases' fields replaced (sites placed, fleets sized)."""
    data = scenario.model_dump(by_alias=True, exclude_none=True)
    for p in data["phases"]:
        new = fields.get(p["name"], {})
        if "start" in new:
            p.pop("after", None)
        p.update(new)
    return parse_scenario(data, scenario.source)


# The solved problem, the choice, the phase names and per phase the rows its candidates are.
Joint = tuple[placement.Problem, list[int], list[str], list[list[dict[str, Any]]]]


def _alternatives(
    c: Context,
    phase: Phase,
    scored: pl.DataFrame,
    best: dict[str, Any],
    top_k: int,
    joint_: Joint,
    span: RulesSpan | None = None,
) -> list[Alternative]:
    # The lab's own fleet is always among them, allowed or not: why the stockpile was not used
    # is the question a runner-up answers first (rev17a #2b: a cheaper rental rejected for
    # capacity, the same kind, hid the fleet's row, and the top_k cut could drop it).
    fleet = pl.col("option") == "fleet"
    allowed = (
        scored.filter(pl.col("verdict").is_null() & (pl.col("option_id") != best["option_id"]))
        .with_row_index("_at")
        .filter((pl.col("_at") < top_k) | fleet)
        .drop("_at")
        # What its quote would warn of, as it is allowed on knowledge the plan's date lacked.
        .with_columns(
            checks.SUPPLY_ANNOUNCED_LATER.when(c, phase).fill_null(False).alias("_supply_later"),
            checks.LIST_PRICE.when(c, phase).fill_null(False).alias("_list_price"),
        )
    )
    # The best rejected option of each kind too: the "why not X?" answer; and each fleet's.
    rejected = (
        scored.filter(pl.col("verdict").is_not_null())
        .with_columns(findings.reason_expr(pl.col("verdict")).alias("_why"))
        .with_row_index("_at")
    )
    kinds = rejected.unique(subset=["_why"], keep="first", maintain_order=True).head(top_k)
    rejected = rejected.filter(pl.col("_at").is_in(kinds["_at"].implode()) | fleet).drop("_at")
    rows = [best, *allowed.to_dicts(), *rejected.to_dicts()]
    out = []
    for n, r in enumerate(rows):
        if n == 0:
            verdict = "chosen"
        elif r["verdict"] is not None:
            verdict = "rejected: " + findings.describe(r["verdict"], r, c, phase)
        else:
            verdict = _compared(c, phase, r, best, joint_)
        if r.get("_supply_later"):
            verdict += f"; {checks.supply_later_note(r, c)}"
        if r.get("_list_price") and best["total_usd"]:
            verdict += f"; {checks.list_price_note(r, c, best['total_usd'])}"
        # An option that cannot run the phase at all was never sized: its devices and cost are
        # the minimum fleet the evaluation priced to say so (8 H800 at 181k CNY beside a load
        # that needs 48 H100, rejected on latency: review9a #7), whether that or a rule is the
        # reason given (review9c #4: an A100 without FP8, rejected by a rule). Its verdict and
        # findings say why.
        sized = r["workable"] and (
            r["verdict"] is None or findings.reason(r["verdict"]) not in findings.CANNOT_RUN
        )
        # A fleet sized past itself shows the fleet as it is, as the quote's phase row does
        # (rev17b #6: 2,304 devices and 73 days on a fleet of 2,048); the verdict says what
        # the deadline needs.
        r = fleet_as_it_is(c, phase, r, None) if sized else r
        priced = sized and r["total_usd"] is not None
        out.append(
            Alternative(
                rank=n + 1,
                provider=r["provider"],
                region=r["region"],
                accelerator=r["accelerator"],
                pricing=r["pricing"],
                instance=r["instance"],
                devices=None if r["devices"] is None or not sized else int(r["devices"]),
                wall_clock_days=r["wall_clock_days"] if sized else None,
                cost=cents(r["total_usd"] * c.quote_per_usd, c.currency) if priced else None,
                verdict=verdict,
                caution=_caution(c, phase, scored, best, joint_, span) if n == 0 else None,
            )
        )
    return out


def _compared(
    c: Context, phase: Phase, r: dict[str, Any], best: dict[str, Any], joint_: Joint
) -> str:
    """What an allowed runner-up costs more than the chosen option (or why the plan does
    without it if it is cheaper on its own)."""
    mine, chosen = _per_token(r), _per_token(best)
    if mine is not None and chosen is not None:
        return _why_not(c, phase, r, joint_) if mine < chosen else _per_million(c, r, best)
    if r["total_usd"] < best["total_usd"] and c.objective == "cost":
        return _why_not(c, phase, r, joint_)
    return _versus(c, phase, r, best, joint_)


def _caution(
    c: Context,
    phase: Phase,
    scored: pl.DataFrame,
    best: dict[str, Any],
    joint_: Joint,
    span: RulesSpan | None,
) -> str | None:
    """rev19a #6: the cheapest allowed option is ranked on price alone, so a US firm's service
    for US users went to China's grey-market H100 rentals on a warning. The warnings of the
    chosen option whose compliance or availability is not assured (`findings.caution`), and
    the cheapest allowed option carrying none such (`findings.avoided`: as `avoid` naming them
    all would rule them out) that the joint plan can take, with what the whole plan costs more
    with it (`_avoiding`)."""
    chosen = scored.filter(pl.col("option_id") == best["option_id"]).head(1)
    codes = findings.caution(findings.findings(chosen, c, phase, span)[0])
    if not codes:
        return None
    said = (
        f"carries {'warnings' if len(codes) > 1 else 'the warning'} {', '.join(codes)} "
        "(compliance or supply not assured)"
    )
    every = findings.cautions(c.catalog)
    clear = scored.filter(
        pl.col("verdict").is_null() & findings.avoided(c, phase, every, span).is_null()
    )
    if clear.is_empty():
        return f"{said}; every allowed option carries such a warning"
    avoid = "(the scenario's avoid, or --avoid, names warnings the plan must not take)"
    first = "cheapest" if c.objective == "cost" else "fastest"  # the ranking's order
    # rev20a #9: the first clear option on its own may be one the joint plan cannot take (a
    # fleet another phase holds then); the plan held to the clear options, one solve, names
    # the option avoiding the warnings gives and what the whole plan costs more with it.
    prob, _, names, rows = joint_
    i = names.index(phase.name)
    ids = set(clear["option_id"].to_list())
    among = frozenset(k for k, row in enumerate(rows[i]) if row["option_id"] in ids)
    if not among:  # none the joint plan weighed: the first on its own, said so
        r = clear.row(0, named=True)
        return (
            f"{said}; the {first} allowed option with no such warning, {_where(r)}: "
            f"{_compared(c, phase, r, best, joint_)} {avoid}"
        )
    try:
        choice = placement.solve(prob, c.objective, among={i: among})
    except placement.Infeasible:
        return (
            f"{said}; no allowed option with no such warning fits the joint plan (capacity "
            f"or transfers shared with other phases) {avoid}"
        )
    taken = rows[i][choice[i]]["option_id"]
    r = clear.filter(pl.col("option_id") == taken).row(0, named=True)
    return (
        f"{said}; the {first} option with no such warning the joint plan can take, "
        f"{_where(r)}: {_avoiding(c, phase, r, best, joint_, choice)} {avoid}"
    )


def _where(r: dict[str, Any]) -> str:
    """An option in words: its accelerator, pricing, seller and region."""
    # rev19d #8: "ascend-910b owned from owned": bought hardware has no provider to name.
    seller = "" if r["provider"] == "owned" else f" from {r['provider']}"
    return f"{r['accelerator']} {r['pricing']}{seller} in {r['region']}"


def _avoiding(
    c: Context,
    phase: Phase,
    r: dict[str, Any],
    best: dict[str, Any],
    joint_: Joint,
    choice: list[int],
) -> str:
    """What the plan that takes `r` for the phase (`choice`: the joint plan held to the options
    without the chosen one's warnings) costs more than the plan as placed, as a runner-up's
    is said (`_versus`), with the other phases it re-places named."""
    prob, picked, names, _ = joint_
    i = names.index(phase.name)
    mine, chosen = _per_token(r), _per_token(best)
    if mine is not None and chosen is not None:  # serving with no demand: per million
        return _per_million(c, r, best)
    extra = (placement.total(prob, choice) - placement.total(prob, picked)) * c.quote_per_usd
    pct = extra / (best["total_usd"] * c.quote_per_usd) * 100 if best["total_usd"] else 0.0
    more = "more" if extra >= 0 else "less"
    said = f"the whole plan costs {abs(extra):,.0f} {c.currency} {more} with it ({pct:+.1f}%)"
    moved = [repr(names[j]) for j, k in enumerate(choice) if j != i and k != picked[j]]
    if moved:
        said += f", {', '.join(moved)} re-placed"
    if c.objective == "time":
        later = r["wall_clock_days"] - best["wall_clock_days"]
        time = f"finishes {later:,.1f} days later" if later > 0.05 else "finishes at the same time"
        said += f"; {time}"
    return said


def _why_not(c: Context, phase: Phase, r: dict[str, Any], joint_: Joint) -> str:
    """A candidate cheaper on its own than the chosen one: what the joint plan loses with it."""
    prob, picked, names, rows = joint_
    i = names.index(phase.name)
    k = next((k for k, row in enumerate(rows[i]) if row["option_id"] == r["option_id"]), None)
    if k is None:
        return "cheaper on its own; not among the candidates the joint plan weighed"
    try:
        forced = placement.solve(prob, c.objective, {i: k})
    except placement.Infeasible:
        how, sent = _blocked_without(c, prob, {i: k})
        if sent:
            return f"cheaper on its own, but with it the plan {how} ({sent})"
        with_it = [k if j == i else p for j, p in enumerate(picked)]
        for group, members, used in placement.overloads(prob, with_it):
            if i in members:  # rev18a #1: name the phases and what holds the capacity
                said = _sharing(c, prob, with_it, group, members, used)
                return f"cheaper on its own, but with it {said}"
        groups = ", ".join(" ".join(g) for g, _ in prob.candidates[i][k].uses) or "a capacity"
        return f"cheaper on its own, but {groups} cannot hold it beside the other phases"
    extra = (placement.total(prob, forced) - placement.total(prob, picked)) * c.quote_per_usd
    if c.objective == "time" and extra <= 0:
        return "cheaper on its own, but the whole plan finishes later with it"
    if round(extra) == 0:
        # A swap (rev13b #12: "costs 0 CNY more"): with it another phase takes the dearer
        # option instead, at the same total, and which phase gets which is the solver's pick
        # of equal plans (`placement._first_ranked` moves a phase only at the same cost).
        moved = [repr(names[j]) for j, k in enumerate(forced) if j != i and k != picked[j]]
        who = ", ".join(moved) or "another phase"
        held = ", ".join(capacity_name(g) for g, _ in prob.candidates[i][k].uses)
        shared = f" ({held} cannot hold both)" if held else ""
        return (
            f"cheaper on its own, but the whole plan costs the same with it: {who} then takes "
            f"a dearer option instead{shared}; a tie between equal plans, kept as the solver "
            "picked it"
        )
    return (
        f"cheaper on its own, but the whole plan costs {extra:,.0f} {c.currency} more with it "
        "(transfers or capacity shared with other phases)"
    )


def _per_token(r: dict[str, Any]) -> float | None:
    """USD per output token of serving with no demand (`evaluate`), else None."""
    value = r.get("usd_per_output_token")
    return None if value is None else float(value)


def _per_million(c: Context, r: dict[str, Any], best: dict[str, Any]) -> str:
    """How much more a runner-up costs per million output tokens (serving with no demand:
    options serve different volumes, so their totals do not compare)."""
    mine, chosen = r["usd_per_output_token"], best["usd_per_output_token"]
    extra = (mine - chosen) * 1e6 * c.quote_per_usd
    pct = (mine / chosen - 1) * 100 if chosen else 0.0
    # As the report shows the price itself (rev15a #10), with no exponent (rev15c #9).
    said = per_unit_text(extra, c.currency)
    return f"costs {said} {c.currency} more per million output tokens ({pct:+.1f}%)"


def _versus(
    c: Context, phase: Phase, r: dict[str, Any], best: dict[str, Any], joint_: Joint
) -> str:
    """A runner-up no cheaper on its own: what the whole plan costs more with it in the chosen
    option's place, the other phases as placed, so the transfers it adds or saves count (rev18c
    #4: the options' own costs alone left out 720 USD of egress a runner-up pays, the 894 USD
    the chosen fleet pays); its percent is of the chosen option's own cost. One the joint plan
    did not weigh (past `joint.MAX_CHOICES`) is compared on its own, and said so."""
    prob, picked, names, rows = joint_
    i = names.index(phase.name)
    k = next((k for k, row in enumerate(rows[i]) if row["option_id"] == r["option_id"]), None)
    alone = ""
    if k is None:
        extra = (r["total_usd"] - best["total_usd"]) * c.quote_per_usd
        alone = " on its own"
    else:
        swapped = [*picked[:i], k, *picked[i + 1 :]]
        how, held = _held(c, prob, swapped)
        if held:
            return f"with the other phases as placed, the plan {how} ({held})"
        extra = (placement.total(prob, swapped) - placement.total(prob, picked)) * c.quote_per_usd
    pct = extra / (best["total_usd"] * c.quote_per_usd) * 100 if best["total_usd"] else 0.0
    # Under the time objective a runner-up may be cheaper: say "less", not "-X more".
    more = "more" if extra >= 0 else "less"
    money = f"costs {abs(extra):,.0f} {c.currency} {more}{alone} ({pct:+.1f}%)"
    later = r["wall_clock_days"] - best["wall_clock_days"]
    time = f"finishes {later:,.1f} days later" if later > 0.05 else "finishes at the same time"
    return f"{money}; {time}" if c.objective == "time" else money
