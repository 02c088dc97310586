"""A quote: the evaluation of each phase's fixed site, priced as line items, with its findings.

A fixed site names a region, an accelerator and a pricing model (optionally a provider and an
instance); the options it matches are evaluated (`estimator.evaluate`) and the first of the
ranking is the phase's placement: the cheapest allowed one, or, when none is allowed, the best
of those the site asked for, with the findings that say why. Sites left to the planner are
placed by `estimator.planner` first (see `estimator.api.quote`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import polars as pl

from estimator import compliance, findings, timeline, transfers
from estimator.checks import (
    ADVISORY,
    LOW_END,
    counted,
    reads_network,
    users_where,
    vendor_efficiency,
)
from estimator.context import Context
from estimator.costing import (
    HOURS_PER_DAY,
    LineItem,
    billed_days,
    line_items,
    summed,
)
from estimator.errors import ScenarioError
from estimator.evaluate import (
    Phase,
    evaluate,
    presolve,
    rank,
    whole_fleet,
)
from estimator.findings import Finding
from estimator.joint import capacity_of, limits, slipped
from estimator.market import with_supply
from estimator.money import Money
from estimator.options import OptionQuery, first_dated, ownership, placeholder, select
from estimator.physics import SERVING_COLUMNS, TRAINING_COLUMNS, described
from estimator.physics.inputs import supports
from estimator.placement import Candidate, Capacity, Problem, overloads
from estimator.results import OfferUsed, PhaseQuote, Quote
from estimator.scenario import Fleet, ServePhase, Site, TrainPhase
from estimator.timeline import Payment, Window
from pricing import FxRate
from pricing.catalog import STALE_AFTER_DAYS
from pricing.schema import DEFAULT_PRECISION

STALE_FX_DAYS = 92


def candidates(c: Context, phase: Phase) -> tuple[pl.DataFrame, str | None]:
    """The options a fixed site matches; when none does, a placeholder with no price and a note
    on what the catalog has there instead (the site is still judged: physics, rules)."""
    site = phase.site
    assert isinstance(site, Site)
    match = c.remembered(("candidates", site), lambda: select(c.options, OptionQuery.of(site)))
    if not match.is_empty():
        return match, None
    what = {"owned": "owned hardware", "fleet": "server to cost the fleet on"}.get(
        site.pricing, f"{site.pricing} offer"
    )
    msg = f"no {what} for {site.accelerator} in {site.region}"
    if site.provider:
        msg += f" from {site.provider}"
    if site.instance:
        msg += f" as '{site.instance}'"
    # Hints name offers only: not a lab's accounting figure, which a site must name (rev11c #4).
    offers = c.options.filter(pl.col("evidence").fill_null("") != "accounting")
    at = (pl.col("region") == site.region) & (pl.col("accelerator") == site.accelerator)
    there = sorted(set(offers.filter(at)["pricing"].to_list()))
    like = (pl.col("accelerator") == site.accelerator) & (pl.col("pricing") == site.pricing)
    elsewhere = sorted(set(offers.filter(like)["region"].to_list()))
    later = _first_dated(c, site)
    if later is not None:
        msg += f" valid on {c.as_of} (the catalog's first price is from {later})"
    elif there:
        msg += f" (there: {', '.join(there)})"
    elif elsewhere:
        msg += f" ({site.pricing} {site.accelerator} is offered in: {', '.join(elsewhere)})"
    accounting = (pl.col("pricing") == site.pricing) & (pl.col("evidence") == "accounting")
    figures = c.options.filter(at & accounting)
    if not site.provider and not figures.is_empty():  # rev11d #4: the row catalog offers lists
        names = ", ".join(sorted(set(figures["provider"].to_list())))
        msg += f"; an accounting figure (not an offer) is there, used if the site names {names}"
    fleet = _fleet_of(c, site)
    row = placeholder(c.options, site, fleet, c.as_of)
    if fleet is not None and fleet.acquired is not None:
        # Judged for supply and lead time on its `acquired` date as a fleet with a hardware row
        # is (`context` runs `market.fleet_options` through `with_supply`): an a800 fleet
        # acquired after the start, or when it could not be bought, was used silently (rev12f #2).
        acquired = {fleet.name: fleet.acquired}
        judged = with_supply(c.catalog, row, c.scenario.tenant_hq, c.as_of, acquired)
        row = judged.select(row.columns)
    return row, msg


def _fleet_of(c: Context, site: Site) -> Fleet | None:
    """The fleet a fleet site runs on: the one it names, else the first in its region with its
    accelerator (the scenario has one: `context`)."""
    if site.pricing != "fleet":
        return None
    if site.fleet is not None:
        return c.scenario.fleet_named(site.fleet)
    here = (site.region, site.accelerator)
    return next((f for f in c.scenario.fleet if (f.region, f.accelerator) == here), None)


def _price_table(site: Site) -> str:
    """Where a site's price lives: a server's (owned, or the kind a fleet is costed on) in
    hardware.csv, a rental's in offers.csv."""
    return "hardware" if ownership(site.pricing) == "owned" else "offers"


def _row_of(phase: Phase) -> str:
    assert isinstance(phase.site, Site)
    table = _price_table(phase.site)
    return f"{'a' if table == 'hardware' else 'an'} {table}.csv row"


def _first_dated(c: Context, site: Site) -> date | None:
    """The earliest price of a site that only has prices dated after the quote."""
    query = OptionQuery.of(site)
    if site.pricing == "fleet":  # a fleet is costed on the server bought in its region
        query = replace(query, pricing=("owned",), instances=())
    return first_dated(c.catalog, query, c.as_of)


def placed_phase(
    c: Context, phase: Phase, chosen: pl.DataFrame, window: Window, missing: str | None = None
) -> tuple[PhaseQuote, list[Finding], list[Payment]]:
    """The quote of one phase at one evaluated option (a one-row frame, with line-item
    detail), its findings and its payments in time; `missing` says why a fixed site had no
    option to price."""
    if isinstance(phase, TrainPhase):
        chosen = described(chosen)
    row = chosen.row(0, named=True)
    priced = row["total_usd"] is not None
    # Work the physics could not run (a precision the device lacks) has no length: shown as 0
    # hours beside its blocking finding and no price, as the timeline already reserves it.
    hours = row["hours"] or 0.0
    if row.get("fits"):  # a run that could go ahead: its length must be an answer
        timeline.within_calendar(hours / HOURS_PER_DAY, c.scenario, phase.name)
    view = c.scenario.accounting
    other = "amortised" if view == "project" else "project"
    items = _items(c, row, phase.name, view, "") if priced else []
    alt = _items(c, row, phase.name, other, "alt_") if priced else []
    # Findings depend on the phase's fields and window but not its name, which only labels them.
    unnamed = c.remembered(
        ("findings", _fields(phase), row["option_id"], window),
        lambda: findings.findings(
            with_low_end(c, phase, chosen, window), c, phase, c.rules_span(window.start, window.end)
        )[0],
    )
    found = [f._replaced({"phase": phase.name}) for f in unnamed]
    if missing:
        from pricing.catalog import WITH_CATALOG

        why = f"{missing}: add a negotiated price ({_row_of(phase)}) {WITH_CATALOG}"
        found = [f._replaced({"message": why}) if f.code == "unpriced" else f for f in found]
    columns = TRAINING_COLUMNS if isinstance(phase, TrainPhase) else SERVING_COLUMNS
    shown = fleet_as_it_is(c, phase, row, window)
    if shown is not row:
        hours = shown["hours"] or 0.0
        found = _of_the_run_shown(c, phase, shown, found)
    pq = PhaseQuote(
        name=phase.name,
        kind=phase.kind,
        region=row["region"],
        country=row["country"],
        accelerator=row["accelerator"],
        pricing=row["pricing"],
        provider=row["provider"],
        instance=row["instance"],
        devices=int(shown["devices"]),
        billed_devices=int(shown.get("billed_devices") or shown["devices"]),
        device_hours=float(shown["devices"] * hours),
        wall_clock_days=float(hours / HOURS_PER_DAY),
        start=window.start,
        end=window.end,
        cost=Money(summed((i.amount for i in items), c.currency), c.currency),
        cost_other_view=Money(summed((i.amount for i in alt), c.currency), c.currency),
        priced=priced,
        line_items=items,
        offer=_offer(row),
        physics={k: shown[k] for k in columns if k in shown},
    )
    if isinstance(phase, ServePhase):  # the tokens its price per million is over
        per_day = row.get("output_tokens_per_day") or pq.full_load_output_tokens_per_day()
        pq = pq._replaced({"output_tokens": float(per_day * phase.days), "physics": _replicas(pq)})
    cash = items if view == "project" else alt
    billed = row["billed_hours" if view == "project" else "alt_billed_hours"] or 0.0
    # Rent is paid over the calendar terms billed (3 months from July: 92 days), not 730 h each.
    days = billed_days(window.start, row["min_term_days"] or 0, billed)
    n = int(row.get("generations") or 1)
    lives = (
        timeline.Lives(
            n,
            row["life_years"],
            row["life_resale_fraction"] or 0.0,
            row["resale_fraction"] or 0.0,
        )
        if n > 1
        else None
    )
    # Resold when its run ends, or its window (`evaluate._resold_at_run_end`).
    after_run = bool(row.get("resold_at_run_end"))
    return (
        pq,
        found,
        timeline.phase_payments(
            cash, window, pq.wall_clock_days, days, lives, after_run, delivered_on(row, window)
        ),
    )


def delivered_on(row: dict[str, Any], window: Window) -> date | None:
    """The day a bought option is delivered and paid: ordered just in time (`market.purchases`,
    rev18a #6), as `owned-capex` dates it (rev17a #3), `held_days` before its phase starts
    (`evaluate._held_days`, the one delivery date the resale's age and `owned-capex` read too,
    rev17b #2); hardware that cannot arrive in time (`lead-time`) is paid at the start it is
    dated for. None for anything not bought."""
    if row.get("option") != "owned" or row.get("lead_time_days") is None:
        return None
    return window.start - timedelta(days=int(row.get("held_days") or 0))


def _replicas(pq: PhaseQuote) -> dict[str, Any]:
    """A serving phase's physics with `replicas` the fleet's where no demand sized it: its whole
    replicas, `devices` over `tensor_parallel` (rev17a #13: null, though 512 devices of 32-device
    replicas are 16). With a demand they are the demand's (`devices_needed` over the replica);
    `devices_needed` stays null without one: no demand needs any."""
    x = pq.physics
    tp = x.get("tensor_parallel")
    if x.get("replicas") is not None or not tp:
        return x
    return {**x, "replicas": pq.devices // int(tp)}


def shown_run_days(c: Context, phase: Phase, row: dict[str, Any]) -> float | None:
    """The days a training phase's first-ranked row runs as its phase will show them, which
    its window (and so the phases after it) follows: the row's own, or on a fleet sized past
    its size the fleet's (`fleet_as_it_is`; rev16d M3: the row showed the fleet's 322.9 days
    but ended, and let the next phase start on the same fleet, after the oversized run's 162)."""
    days = fleet_as_it_is(c, phase, row, None)["wall_clock_days"]
    return None if days is None else float(days)


def with_low_end(
    c: Context, phase: Phase, chosen: pl.DataFrame, window: Window | None
) -> pl.DataFrame:
    """`chosen` (a one-row evaluated frame) with `checks.LOW_END`, the run at the low end of its
    training efficiency range, where the `vendor-efficiency` finding states it: the same option
    evaluated at `mfu_low`, as the sensitivity's low end is (rev19a #2: the finding's "takes 58%
    longer" was a ratio of efficiencies, +42% as evaluated, and a deadline-sized run needs
    more devices, not more days)."""
    if not isinstance(phase, TrainPhase) or chosen.height != 1:
        return chosen
    if not chosen.select(vendor_efficiency(c, phase).fill_null(False)).item():
        return chosen
    row = chosen.row(0, named=True)
    own = c.options.filter(pl.col("option_id") == row["option_id"])
    if own.height != 1:
        return chosen
    figures = ("devices", "wall_clock_days", "total_usd", "verdict")
    at_low = own.with_columns(mfu=pl.lit(row["mfu_low"]))
    low = evaluate(c, phase, at_low, window, columns=figures)
    return chosen.with_columns(
        pl.lit(low[name][0], low.schema[name]).alias(column)
        for name, column in zip(figures, LOW_END, strict=True)
    )


def fleet_as_it_is(
    c: Context, phase: Phase, row: dict[str, Any], window: Window | None
) -> dict[str, Any]:
    """The row whose devices, hours and physics a phase shows: `row`, but for a phase on a
    fleet sized past its size (`checks.fleet_outgrown`, unpriced) the fleet itself, as the
    phase given its devices would run on it (rev16c M4: 512 H800 with a 75-day deadline showed
    2,304 devices and 73 days, 1,792 of which do not exist; rev17a #1: a serving fleet of 16
    showed the 572 its demand needs, or the 32 given). Its block and the devices the deadline
    or the demand needs stay in the `capacity-short` finding."""
    if not (
        row.get("option") == "fleet"
        and row.get("capacity_devices") is not None
        and (row.get("billed_devices") or 0) > row["capacity_devices"]
    ):
        return row
    own = c.options.filter(pl.col("option_id") == row["option_id"]).with_columns(
        devices=whole_fleet()
    )
    if isinstance(phase, ServePhase):  # a serving fleet is the phase's `devices`, not a column
        given = phase._replaced({"devices": int(own["devices"].item())})
        return evaluate(c, given, own, window).row(0, named=True)
    return described(evaluate(c, phase, own, window)).row(0, named=True)


# Findings that set a figure of the run beside the phase row (its device-hours) rather than
# judge the sizing: on a fleet sized past itself they read the run the row shows.
_OF_THE_RUN = frozenset({"published-run"})


def _of_the_run_shown(
    c: Context, phase: Phase, shown: dict[str, Any], found: list[Finding]
) -> list[Finding]:
    """`found` with each finding of `_OF_THE_RUN` worded on the run the phase row shows
    (`fleet_as_it_is`; rev17a #5: the published-run finding beside 3,986,431 device-hours on
    1,024 H800 quoted the 4,016,916 of the 1,792 the deadline sized). The blocks stay the sized
    row's: what the deadline needs is what `capacity-short` says."""
    checks = {ch.code: ch for ch in ADVISORY if ch.code in _OF_THE_RUN}
    return [
        f._replaced({"message": findings.worded(checks[f.code], shown, c, phase)})
        if f.code in checks
        else f
        for f in found
    ]


def _items(c: Context, row: dict[str, Any], name: str, view: str, prefix: str) -> list[LineItem]:
    return line_items(row, name, c.currency, c.quote_per_usd, accounting=view, prefix=prefix)


def _offer(row: dict[str, Any]) -> OfferUsed | None:
    # A placeholder has no offer (a fleet's carries only its acquired date: `placeholder`).
    if row["offer_as_of"] is None or row["offer_source"] is None:
        return None
    return OfferUsed(
        provider=row["provider"],
        instance=row["instance"],
        pricing=row["pricing"],
        region=row["region"],
        basis=row["basis"],
        as_of=row["offer_as_of"],
        source=row["offer_source"],
        evidence=row["evidence"],
    )


def quote_context(c: Context) -> Quote:
    """Quote a scenario whose sites are all fixed: each phase at the first ranked option of its
    site, placed in time (`estimator.timeline`), with its transfers and cash flow."""
    options = {p.name: candidates(c, p) for p in c.scenario.phases}
    # Phases asking the same of the same site share one evaluation (`_best`): solve each once.
    distinct = {_fields(p): p for p in c.scenario.phases}.values()
    presolve(c, [(p, options[p.name][0]) for p in distinct])
    wins = timeline.windows(c.scenario, c.as_of, _run_days(c, options))
    placed: dict[str, PhaseQuote] = {}
    found: list[Finding] = []
    payments: list[Payment] = []
    chosen: dict[str, dict[str, Any]] = {}
    for phase in c.scenario.phases:
        rows, missing = options[phase.name]
        best = _best(c, phase, rows, wins[phase.name])
        pq, phase_findings, paid = placed_phase(c, phase, best, wins[phase.name], missing)
        placed[phase.name] = pq
        chosen[phase.name] = best.row(0, named=True)
        found += phase_findings
        payments += paid
    found = _fleet_capital_once(found, chosen)
    found += shared_capacity(c, chosen, wins)
    moved, transfer_findings, transfer_paid = _transfers(c, placed)
    phases = list(placed.values())
    items = [i for p in phases for i in p.line_items] + [i for t in moved for i in t.line_items]
    _check_finite(c, items)
    return Quote(
        name=c.scenario.name,
        as_of=c.as_of,
        currency=c.currency,
        accounting=c.scenario.accounting,
        total=Money(
            summed([*(p.cost for p in phases), *(t.cost for t in moved)], c.currency), c.currency
        ),
        total_other_view=Money(
            summed([*(p.cost_other_view for p in phases), *(t.cost for t in moved)], c.currency),
            c.currency,
        ),
        phases=phases,
        transfers=moved,
        cash_flow=timeline.monthly(payments + transfer_paid, c.currency),
        findings=sorted(
            [*found, *transfer_findings, *fx_findings(c, items)],
            key=lambda f: (compliance.SEVERITY_ORDER[f.severity], f.phase or "", f.code),
        ),
        assumptions=assumptions(c, phases, items, moved),
    )


def _fleet_capital_once(found: list[Finding], rows: dict[str, dict[str, Any]]) -> list[Finding]:
    """`fleet-not-yet-bought` gives a fleet's capital on the first phase (in the scenario's
    order) that runs on it; a later phase's names it as that same fleet's capital, so the
    warnings do not add up to the capital once per phase (rev17b #8: 3 x 8.2 M USD said for
    one 8.2 M fleet)."""
    first: dict[str, str] = {}
    out = []
    for f in found:
        phase = f.phase
        if f.code == "fleet-not-yet-bought" and phase is not None:
            fleet = rows[phase]["instance"]
            if fleet in first:
                f = f._replaced(
                    {
                        "message": f"the fleet '{fleet}' is not bought yet: its capital, not in "
                        f"this quote, is the one phase '{first[fleet]}''s warning gives (the "
                        "same fleet's capital), not a second purchase"
                    }
                )
            else:
                first[fleet] = phase
        out.append(f)
    return out


def shared_capacity(
    c: Context, rows: dict[str, dict[str, Any]], wins: dict[str, Window]
) -> list[Finding]:
    """Phases placed on one capacity (a fleet, an offer of stated size, a buyer's supply limit)
    at the same time must fit it together, as the planner's joint placement requires; each
    phase alone is judged by `capacity-short`."""
    names = list(rows)
    cands = [
        [
            Candidate(
                cost=0.0,
                days=0.0,
                region=rows[n]["region"],
                uses=capacity_of(rows[n]),
                window=slipped(wins[n], rows[n].get("slip_days") or 0.0),
            )
        ]
        for n in names
    ]
    spans = [(wins[n].start, wins[n].end) for n in names]
    p = Problem(cands, spans, capacities=limits(list(rows.values())))
    # When each phase's run ends: its window's start, plus its slip and its run time.
    ran = {
        n: None
        if rows[n].get("wall_clock_days") is None
        else timeline.ends_on(
            wins[n].start, rows[n]["wall_clock_days"] + (rows[n].get("slip_days") or 0.0)
        )
        for n in names
    }
    out, seen = [], set()
    for group, members, used in overloads(p, [0] * len(names)):
        phases = tuple(names[i] for i in members)
        if len(phases) < 2 or (group, phases) in seen:
            continue
        seen.add((group, phases))
        held = [(names[i], ran[names[i]], cands[i][0].window or spans[i]) for i in members]
        message = sharing(c, group, p.capacities[group], used, held)
        out.append(
            Finding(severity="block", code="capacity-shared", message=message, phase=phases[-1])
        )
    return out


def sharing(
    c: Context,
    group: tuple[str, ...],
    cap: Capacity,
    used: float,
    members: list[tuple[str, date | None, tuple[date, date]]],
) -> str:
    """Phases that overfill a capacity (a fleet, an offer of stated size) together, in words:
    `members` are each phase's name, the day its run ends (None: not timed) and the window it
    holds the capacity for. A training phase with a deadline holds it until the deadline (the
    `deadline` schedule), however soon its run ends: one whose run ends before another member
    starts is named with both dates and the schedule that frees it (rev18a #1: "phases 'ft',
    'serve' run at the same time" of a 2.6-day run holding a fleet for its 30 days). One
    wording for a quote's `capacity-shared` block and a plan's runner-up that cannot fit
    beside the other phases."""
    names = ", ".join(repr(n) for n, _, _ in members)
    if group[0] == "supply":
        # rev12d #12: purchases share a per-buyer cap over a window, not a time of use.
        return (
            f"phases {names} buy {group[1]} in {group[2]} within {cap.per_days:,} days of each "
            f"other and need {used:,.0f} devices together: one buyer can get about "
            f"{cap.devices:,.0f} in {cap.per_days:,} days (supply.csv)"
        )
    where, has = capacity_name(group), f"{cap.devices:,.0f}"
    last = max(start for _, _, (start, _) in members)
    holders = [
        f"'{n}' holds it until its deadline, {until}, though its run ends on {ends}"
        for n, ends, (_, until) in members
        if c.scenario.schedule == "deadline"
        and isinstance(phase := c.scenario.phase(n), TrainPhase)
        and phase.deadline_days is not None
        and ends is not None
        and ends < last  # idle while the last of them runs: not running at the same time
    ]
    if not holders:
        # How long they overlap (rev20a #9: a fleet lost to a year of serving over one day
        # beside a 0.5-day run, and nothing said the overlap was a day).
        first = min(until for _, _, (_, until) in members)
        days = (first - last).days
        span = f" for {days:,} day{'s' * (days != 1)} (from {last} until {first})" * (days > 0)
        return (
            f"phases {names} run at the same time on {where}{span} and need {used:,.0f} "
            f"devices together: it has {has}"
        )
    return (
        f"phases {names} need {used:,.0f} devices together on {where}, which has {has}: "
        + "; ".join(holders)
        + " (a training phase with a deadline holds its devices until the deadline; with "
        'schedule = "earliest" only while it runs)'
    )


def capacity_name(group: tuple[str, ...]) -> str:
    if group[0] == "fleet":
        return f"the fleet '{group[1]}'"
    if group[0] == "supply":
        return f"the purchases of {group[1]} one buyer may make in {group[2]}"
    return f"'{group[4]}' {group[5]} in {group[2]}"


def _run_days(
    c: Context, options: dict[str, tuple[pl.DataFrame, str | None]]
) -> dict[str, float | None]:
    """How long each training phase whose window is its run time (`timeline.needs_run_days`)
    runs at its site."""
    out: dict[str, float | None] = {}
    for p in c.scenario.phases:
        if timeline.needs_run_days(c.scenario, p):
            first = rank(evaluate(c, p, options[p.name][0]), c.objective).row(0, named=True)
            out[p.name] = shown_run_days(c, p, first)
    return out


def _transfers(
    c: Context, placed: dict[str, PhaseQuote]
) -> tuple[list[transfers.TransferQuote], list[Finding], list[Payment]]:
    moved, found, paid = [], [], []
    for i, t in enumerate(c.scenario.transfers):  # the routes made only for a transfer
        tq, more = transfers.price_transfer(c, i, t, placed, transfers.routes_at(c))
        moved.append(tq)
        found += more
        src = placed[t.from_]
        when = timeline.ends_on(src.start, src.wall_clock_days)
        paid.append(Payment(kind="transfer", amount=tq.cost, start=when, end=when))
        found += _arrives_late(tq, src, placed[t.to])
    return moved, found, paid


# A transfer arriving within a day of its phase's start is below the timeline's resolution.
LATE_TRANSFER_DAYS = 1.0


def _arrives_late(tq: transfers.TransferQuote, src: PhaseQuote, to: PhaseQuote) -> list[Finding]:
    """The receiving phase starts before what it needs can arrive: the timeline does not wait
    for transfers, so say by how much it would slip. Counted from when the source's run ends,
    not the day it ends on (rev17a #4: serving 1.46 days early read as 0.46, not said)."""
    sent = timeline.ends_on(src.start, src.wall_clock_days)
    late = (src.start - to.start).days + src.wall_clock_days + tq.hours / HOURS_PER_DAY
    if late <= LATE_TRANSFER_DAYS:
        return []
    return [
        Finding(
            severity="warn",
            code="transfer-late",
            # rev12a #12: "the weights ... takes 0 h over within cn-east" read oddly.
            message=f"'{tq.to}' starts on {to.start}, ~{late:,.1f} days before the {tq.what} "
            f"from '{tq.from_}' ({tq.gigabytes:,.0f} GB) can arrive: sent during "
            f"'{tq.from_}''s last day, {sent}, {_moved(tq)}; set its start later, or plan the "
            "wait",
            phase=tq.to,
        )
    ]


def _moved(tq: transfers.TransferQuote) -> str:
    """'moved within cn-east', 'in 1.04 h (us-east -> cn-east ...)'."""
    if tq.route.startswith("within "):
        return f"moved {tq.route}"
    return f"in {tq.hours:,.3g} h ({tq.route})"


def _best(c: Context, phase: Phase, rows: pl.DataFrame, window: Window) -> pl.DataFrame:
    """The first of the ranking of a fixed site's options. Phases that ask the same of the same
    site at the same time (a scenario of many similar phases) are evaluated once: the evaluation
    does not depend on a phase's name, and its fixed cost (~10 ms) dominated 500-phase
    scenarios."""

    def ranked() -> pl.DataFrame:
        return rank(_evaluated(c, phase, rows, window), c.objective).head(1)

    return c.remembered(("placed", _fields(phase), window), ranked)


def _evaluated(c: Context, phase: Phase, rows: pl.DataFrame, window: Window) -> pl.DataFrame:
    """`evaluate(c, phase, rows, window, detail=True)`, or its rows of the planner's evaluation
    (`planner.evaluated`: its phase's options evaluated in a context that evaluates this phase
    alike) where `rows` are some of its input rows, unchanged: a row's evaluation does not
    depend on the rows beside it (`test_an_option_evaluates_to_the_same_bits_alone_as_among_
    the_planners`), so a plan's placed quote does not evaluate its choices again."""
    given = c.memo.get(("evaluated", phase.name, window))
    if given is not None:
        frame: pl.DataFrame = given[0]
        out: pl.DataFrame = given[1]
        ids = pl.col("option_id").is_in(rows["option_id"].implode())
        if frame.columns == rows.columns and frame.filter(ids).equals(rows, null_equal=True):
            return out.filter(ids)
    return evaluate(c, phase, rows, window, detail=True)


def _fields(phase: Phase) -> str:
    """What a phase asks, without its name (the key of what its evaluation depends on)."""
    return phase.model_dump_json(exclude={"name"})


def _check_finite(c: Context, items: list[LineItem]) -> None:
    """A quote's money is finite: an amount that overflowed comes from inputs beyond what the
    model computes, and is refused here rather than summed into a total of inf or NaN."""
    for i in items:
        if not all(math.isfinite(x) for x in (i.quantity, i.unit_price, i.amount)):
            names = [p.name for p in c.scenario.phases]
            where = f"phases[{names.index(i.phase)}]" if i.phase in names else "transfers"
            raise ScenarioError(
                f"the {i.component} cost of '{i.phase}' is not a finite number: the inputs are "
                "beyond the range the model computes",
                c.where(where),
            )


def _rates(c: Context, items: list[LineItem]) -> dict[str, FxRate]:
    """The rate of every currency the quote uses: those its items are billed in, and its own."""
    return {
        cur: c.catalog.rate(cur, c.as_of) for cur in {i.unit_currency for i in items} | {c.currency}
    }


def fx_findings(c: Context, items: list[LineItem]) -> list[Finding]:
    """An exchange rate much older than the quote date is worth knowing (USD is the base, and
    a peg is fixed by its central bank: neither goes stale)."""
    out = []
    for cur, rate in sorted(_rates(c, items).items()):
        as_of, source = rate.as_of, rate.source
        age = (c.as_of - as_of).days
        if not rate.fixed and age > STALE_FX_DAYS:
            out.append(
                Finding(
                    # Older than a year, a warning, as a stale price is (rev12a #12: a rate
                    # 3.3 years old moving 1.78 G CNY was only information).
                    severity="warn" if age > STALE_AFTER_DAYS else "info",
                    code="stale-fx",
                    message=f"{cur} rate is from {as_of}, {age} days before the quote date",
                    source=source,
                )
            )
    return out


def assumptions(
    c: Context,
    phases: list[PhaseQuote],
    items: list[LineItem],
    moved: list[transfers.TransferQuote],
) -> dict[str, Any]:
    return {
        "as_of": c.as_of.isoformat(),
        "catalog": ", ".join(c.catalog.origin),
        "fx_per_usd": {
            cur: {"per_usd": r.per_usd, "as_of": r.as_of.isoformat(), "peg": r.peg}
            for cur, r in sorted(_rates(c, items).items())
        },
        "model": c.model.describe(),
        "offers": {p.name: _offer_text(p) for p in phases},
        "physics": {
            p.name: physics_summary(p, _lacks(c, p), _precision(c, p), _fp8_ratio(c))
            + _network(c, p)
            for p in phases
        },
        **_latency(c, phases),
        **_transfer_rows(c, phases, moved),
        "tenant_hq": _tenant_hq(c.scenario.tenant_hq),
        # The warnings the plan was told not to take (rev19a #6): they block, so say so.
        **({"avoid": list(c.scenario.avoid)} if c.scenario.avoid else {}),
        **_data_abroad(c),
        **_data_defaulted(c),
        **_host_uplift(c, phases),
        **_book_values(c),
        "owned_hardware": "capex spread over life_years for the hours used, plus energy "
        "(server power x PUE x regional tariff) and yearly operations",
        "rented_minimum_terms": "whole instances; a commitment bills its full term",
    }


def _latency(c: Context, phases: list[PhaseQuote]) -> dict[str, Any]:
    """`latency`: each serving phase's round trip to its users, the latency.csv row it is
    (the figure its TTFT target and `users-far` are judged with), dated."""
    said = {}
    for p in phases:
        phase = c.scenario.phase(p.name)
        if not isinstance(phase, ServePhase):
            continue
        r = c.round_trip(phase.users, p.region)
        if r is None:
            # rev20b #2: a region added without latency.csv rows was read as 0 ms, unsaid.
            judged = (
                "its TTFT target is not judged"
                if phase.ttft_ms
                else "how far they are is not judged (users-far)"
            )
            said[p.name] = (
                f"unknown: latency.csv has no round trip from {p.region} to users "
                f"{users_where(phase)}, so {judged}"
            )
            continue
        where = (
            f"abroad (nearest: {r['market']})" if phase.users == "foreign" else f"in {r['market']}"
        )
        said[p.name] = (
            f"{r['rtt_ms']:g} ms round trip from {p.region} to users {where} (latency.csv, "
            f"{c.row_dated(r['basis'], r['as_of'], r['source'])})"
        )
    return {"latency": said} if said else {}


def _transfer_rows(
    c: Context, phases: list[PhaseQuote], moved: list[transfers.TransferQuote]
) -> dict[str, Any]:
    """`transfers`: the transfer.csv rows each transfer between two sites (`transfers.site`: in
    two regions, or two providers' in one) is priced at, dated."""
    placed = {p.name: p for p in phases}
    said = {}
    for t in moved:
        if not t.line_items:  # nothing left its site
            continue
        src, dst = placed[t.from_], placed[t.to]
        leg = transfers.routes_at(c).leg(*(transfers.place(p) for p in (src, dst)))
        if leg is None:
            continue
        dated = [c.row_dated(*r) for r in leg.dated]
        said[f"{t.what} {t.from_}->{t.to}"] = f"{t.route} (transfer.csv, {' / '.join(dated)})"
    return {"transfers": said} if said else {}


def _tenant_hq(hq: str) -> str:
    judged = compliance.rules_hq(hq)
    if judged == hq:
        return hq
    return (
        f"{hq} (rules and supply rows for {judged} apply to it too: US export controls treat "
        "Hong Kong as China and name Macau beside Country Group D:5)"
    )


def _data_abroad(c: Context) -> dict[str, Any]:
    """`data_subjects`: the phases whose personal or important data is judged as not of people
    in China, so China's export rules on it (data `personal-cn`, `important-cn`) pass it by;
    said because the quote would otherwise not show why (other data says nothing new)."""
    said = {}
    for p in c.scenario.phases:
        data = p.data_class
        if data == "public" or compliance.of_china(compliance.phase_data(p, c.scenario.tenant_hq)):
            continue
        users = getattr(p, "users", None)
        why = (
            f"data_subjects = {p.data_subjects}"
            if p.data_subjects is not None
            else f"its users ({users})"
            if users is not None
            else f"tenant_hq {c.scenario.tenant_hq}"
        )
        said[p.name] = (
            f"{data} data of people outside mainland China (judged by {why}): China's "
            f"export rules on the {data} data of people in China do not apply (set "
            'data_subjects = "cn" if it is theirs)'
        )
    return {"data_subjects": said} if said else {}


def _data_defaulted(c: Context) -> dict[str, Any]:
    """`data`: the serving phases judged as personal data because their users are in China and
    they do not say `data` (rev12d #7)."""
    said = {
        p.name: "personal: its users are in China (users = cn) and it does not set data; the "
        "prompts of logged-in users are personal information (PIPL Art. 4), so China's rules on "
        'their export apply (set data = "public" if the service holds none)'
        for p in c.scenario.phases
        if p.data_defaulted
    }
    return {"data": said} if said else {}


def _host_uplift(c: Context, phases: list[PhaseQuote]) -> dict[str, Any]:
    """`host_uplift`: the phases that buy hardware priced as a module without its host server
    (hardware.csv scope), priced as servers at an estimated uplift (rev13b #3)."""
    hardware = c.catalog.table("hardware")
    modules = set(hardware.filter(pl.col("scope") == "module")["id"].to_list())
    uplift = c.catalog.default("module_host_uplift")
    said = {
        p.name: f"{p.instance} is priced as a module without its host server (CPUs, memory, "
        f"NICs, chassis): each server is bought at {uplift:g} x that price (defaults.csv "
        "module_host_uplift, an estimate from the catalog's card, module and server prices)"
        for p in phases
        if p.pricing == "owned" and p.instance in modules
    }
    return {"host_uplift": said} if said else {}


def _book_values(c: Context) -> dict[str, Any]:
    """`fleet_book_value`: each fleet's book value in the currency it was given in, and in the
    quote's: the currency is the fleet's own, not the quote's (rev15a #3)."""
    said = {}
    for f in c.scenario.fleet:
        if f.book_value is None:
            continue
        cur = f.book_value_currency or c.scenario.currency
        text = f"{f.book_value:,.0f} {cur}"
        if cur != c.currency:
            amount = c.catalog.convert(f.book_value, cur, c.currency, c.as_of)
            text += f" ({amount:,.0f} {c.currency})"
        said[f.name] = (
            f"{text}, the capital its yearly operations are costed on (book_value, in "
            "book_value_currency: the scenario's currency when it was read, unless given)"
        )
    return {"fleet_book_value": said} if said else {}


def _offer_text(p: PhaseQuote) -> str:
    if p.offer is None:
        return f"none: {p.accelerator} {p.pricing} in {p.region} has no price in the catalog"
    o = p.offer
    return (
        f"{p.provider} {p.instance} {p.pricing} in {p.region} "
        f"({o.basis}, row as of {o.as_of}; {o.source})"
    )


def _precision(c: Context, p: PhaseQuote) -> str:
    return c.scenario.phase(p.name).precision


def _fp8_ratio(c: Context) -> float:
    return float(c.catalog.default("fp8_gemm_ratio"))


def _lacks(c: Context, p: PhaseQuote) -> str | None:
    """The precision a phase asks for that its accelerator has no support for, else None."""
    precision = _precision(c, p)
    able = c.remembered(("supports", precision), lambda: sorted(supports(c.catalog, precision)))
    return None if p.accelerator in able else precision


def physics_summary(
    p: PhaseQuote,
    lacks: str | None = None,
    precision: str = DEFAULT_PRECISION,
    fp8_ratio: float = 1.0,
) -> str:
    """The physics assumptions in one line; `lacks`: a precision the accelerator has no
    support for (nothing was computed at it, and the line says so). Training's GEMM efficiency
    is the efficiency row's (a BF16 figure); at FP8 the line says the ratio applied to it and
    that the peak and the effective MFU are FP8's."""
    x = p.physics
    if lacks is not None:
        per = (
            f"; {counted(x['tensor_parallel'], 'device')} per replica" if p.kind == "serve" else ""
        )
        return f"not computed: {p.accelerator} has no {lacks} support{per}"
    if p.kind == "train":
        if any(x.get(k) is None for k in ("flops", "mfu", "goodput", "peak_tflops")):
            return "not computed: the physics cannot run this phase (see its blocking finding)"
        gemm = f"GEMM efficiency {x['mfu']:.3g}"
        if precision == "fp8":
            gemm += f" (the row's BF16 figure; FP8 GEMMs reach {fp8_ratio:g} of it)"
        return (
            f"{x['flops']:.3g} FLOPs, {gemm}, effective MFU {_g(x['effective_mfu'])} of the "
            f"{precision} peak, goodput {x['goodput']:.3g}, peak {x['peak_tflops']:g} "
            f"TFLOPS/device at {precision}; layout {x['layout']}"
        )
    mode = "disaggregated pools" if x["disaggregated"] else "prefill on the same devices"
    if not x["batch"]:  # no batch meets the latency targets (the findings say which)
        head = f"no batch meets the latency targets ({mode})"
    else:
        head = (
            f"{_g(x['output_tokens_per_s_per_device'])} output tok/s/device ({mode}), "
            f"decode pool {_g(x['decode_tokens_per_s_per_device'])}, prefill pool "
            f"{_g(x['prefill_tokens_per_s_per_device'])} tok/s/device; batch {x['batch']:g}, "
            f"TPOT {_g(x['tpot_ms'])} ms"
        )
    return f"{head}, {counted(x['tensor_parallel'], 'device')} per replica; {_fleet_basis(p)}"


def _network(c: Context, p: PhaseQuote) -> str:
    """The network between scale-up domains a phase's timing used, where it reads one
    (`checks.reads_network`, the physics' condition: a training run past its NVLink group or
    one instance, an MoE serving replica past its group): the offer's own figure (offers.csv
    instance_scaleout_gbit_s, shared by its devices) where it states one, else the
    accelerator's per device (rev15a #9: a price-only override row silently fell back to it)."""
    x = p.physics
    if p.offer is None or not x.get("tensor_parallel"):
        return ""
    o = p.offer
    row = c.options.filter(
        (pl.col("provider") == p.provider)
        & (pl.col("instance") == p.instance)
        & (pl.col("pricing") == p.pricing)
        & (pl.col("region") == p.region)
        & (pl.col("accelerator") == p.accelerator)
        & (pl.col("offer_as_of") == o.as_of)
    )
    if row.is_empty():
        return ""
    unit = int(row["unit_devices"][0] or 1)
    crosses = reads_network(
        p.kind, c.model.arch == "moe", x["tensor_parallel"], p.devices, unit,
        pl.col("scaleup_size"),
    )  # fmt: skip
    if not row.head(1).select(crosses.fill_null(False)).item():
        return ""
    own = row["instance_scaleout_gbit_s"][0] if "instance_scaleout_gbit_s" in row.columns else None
    if own is not None:
        return (
            f"; network between instances {own / unit:,.4g} Gbit/s per device (the offer's "
            f"{own:,.4g} Gbit/s per {unit}-device instance, offers.csv instance_scaleout_gbit_s)"
        )
    given = c.catalog.accelerator(p.accelerator).get("scaleout_gbps")
    per_device = float(given if given is not None else c.catalog.default("scaleout_gbps")) * 8.0
    where = (
        f"the {p.accelerator}'s figure, accelerators.csv"
        if given is not None
        else f"defaults.csv scaleout_gbps: accelerators.csv has none for {p.accelerator}"
    )
    unstated = "; the offer's row gives none" if p.pricing not in ("owned", "fleet") else ""
    return f"; network between instances {per_device:,.4g} Gbit/s per device ({where}{unstated})"


def _fleet_basis(p: PhaseQuote) -> str:
    """What sized a serving fleet: the demand (its peak, derated by the serving goodput), or
    nothing the figures say (a fleet size given, or whole instances at full load)."""
    x = p.physics
    goodput = f"serving goodput {_g(x['serve_goodput'])}"
    if x.get("devices_needed") is None or x["devices_needed"] != p.devices:
        return goodput
    # The rate it is sized at, which the shape's rate above is not when the demand has more
    # input per output token than the shape (rev18a #9: 811.6 shown, 16 devices at ~695).
    rate = x.get("demand_output_tokens_per_s_per_device")
    at = "" if rate is None else f" at {_g(rate)} output tok/s/device (the demand's input/output)"
    pools = ", each pool in whole replicas" if x["disaggregated"] else ""
    return f"fleet sized{at} for peak / average {_g(x['peak_to_average'])} at {goodput}{pools}"


def _g(x: float | None) -> str:
    return "not computed" if x is None else f"{x:.4g}"
