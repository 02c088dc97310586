"""From evaluated candidates to the joint placement problem (`estimator.placement`), and back.

Each phase's candidates become choices with their cost, days, region and the capacities they
draw on: a fleet (its devices), an offer with a stated or assumed size (`capacity_devices`),
and for a purchase the buyer's supply limit over its period (supply.csv). Transfers between
phases are priced for every pair of candidate sites with the function a quote prices its one
pair with (`transfers.Routes.leg`: a pair it cannot price is not allowed, as its quote would
fail), and the rules on a dataset's data judge every candidate of
its destination with the same function a quote judges its one placement with
(`transfers.data_rules`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl

from estimator.context import Context
from estimator.placement import Candidate, Capacity, Group, Problem
from estimator.scenario import TrainPhase
from estimator.timeline import Window
from estimator.transfers import Unpriced, blocking_rule, routes_at, site, size_gb

# Candidates per phase handed to the solver: the cheapest this many allowed ones (a plan's
# choice is among the cheap; capacity and transfers decide between them).
MAX_CHOICES = 200


# The columns of an evaluated row `problem` and `capacity_of` read.
_READ = frozenset(
    ("option_id", "total_usd", "wall_clock_days", "slip_days", "region", "billed_devices",
     "option", "instance", "capacity_devices", "provider", "accelerator", "pricing",
     "max_devices_per_buyer", "country", "per_days", "supply_from", "usd_per_output_token")
)  # fmt: skip


def capacity_of(row: dict[str, Any]) -> tuple[tuple[Group, float], ...]:
    """The capacities an evaluated row draws on, with the devices it takes from each."""
    devices = float(row["billed_devices"] or 0.0)
    uses: list[tuple[Group, float]] = []
    if row["option"] == "fleet":
        uses.append((("fleet", row["instance"]), devices))
    elif row.get("capacity_devices") is not None:
        key = ("offer", row["provider"], row["region"], row["accelerator"], row["instance"])
        uses.append(((*key, row["pricing"]), devices))
    if row["option"] == "owned" and row.get("max_devices_per_buyer") is not None:
        # Per supply.csv row (its key's effective_from): the caps are dated, and two rows of
        # one part and country (910B: 1,600 in 150 days, later 1,000,000 in 365) are two caps.
        cap = ("supply", row["accelerator"], row["country"], str(row["supply_from"]))
        uses.append((cap, devices))
    return tuple(uses)


def limits(rows: list[dict[str, Any]]) -> dict[Group, Capacity]:
    """Each capacity the rows draw on (`capacity_of`), with its size: a supply row's cap per
    buyer over its `per_days`, an offer's or a fleet's devices."""
    out: dict[Group, Capacity] = {}
    for row in rows:
        for group, _ in capacity_of(row):
            if group[0] == "supply":
                cap = Capacity(float(row["max_devices_per_buyer"]), int(row["per_days"]))
            else:
                cap = Capacity(float(row["capacity_devices"]))
            out[group] = cap
    return out


def _costs(rows: list[dict[str, Any]]) -> list[float]:
    """What the solver minimises for a phase's candidates: their totals, or for serving with no
    demand (whole instances at full load, a volume that differs by option) their price per output
    token times the most any of them serves, so that the cheapest per token is the cheapest
    here too, at a figure of the size of the phase's totals."""
    per = [r.get("usd_per_output_token") for r in rows]
    if not rows or any(p is None for p in per):
        # An unpriced row (a fixed site the physics has no answer for) adds nothing, as the
        # quote's total leaves it out: it crashed a plan with an auto phase beside it.
        return [float(r["total_usd"] or 0.0) for r in rows]
    volume = max(float(r["total_usd"]) / float(p) for r, p in zip(rows, per, strict=True) if p)
    return [float(p) * volume for p in per]  # type: ignore[arg-type]  # none is None here


# A transfer whose data a rule blocks at some of its destination's candidates: its source and
# destination phases (indices in scenario order) and those candidates (option_id -> rule id).
Blocked = tuple[int, int, dict[int, str]]


def blocked_moves(
    c: Context, candidates: dict[str, pl.DataFrame], windows: dict[str, Window]
) -> list[Blocked]:
    """Per transfer with an end the planner places, the candidates of its destination (rows
    of `candidates`) where a rule blocks its data (`transfers.blocking_rule`, judged over the
    window the candidate runs in, as the quote of that placement judges it), unless the
    source runs in the same region. A transfer between two fixed sites is not placed: the
    quote reports its block, as it does a fixed phase's own."""
    names = [p.name for p in c.scenario.phases]
    out: list[Blocked] = []
    for t in c.scenario.transfers:
        if not (c.scenario.phase(t.from_).is_auto or c.scenario.phase(t.to).is_auto):
            continue
        dst, rules = candidates[t.to], {}
        for (slip,), part in dst.group_by("slip_days", maintain_order=True):
            w = windows[t.to]
            start, end = slipped(w, float(slip or 0.0)) or (w.start, w.end)
            hits = blocking_rule(c, t, part, c.rules_span(start, end))
            rules.update(
                {k: r for k, r in zip(part["option_id"], hits, strict=True) if r is not None}
            )
        if rules:
            out.append((names.index(t.from_), names.index(t.to), rules))
    return out


def problem(
    c: Context,
    choices: dict[str, pl.DataFrame],
    windows: dict[str, Window],
    blocked: Sequence[Blocked] = (),
) -> tuple[Problem, list[list[dict[str, Any]]]]:
    """The solver's problem, and per phase (scenario order) the rows its choices stand for
    (the columns it reads: a row's index is its index in the phase's `choices`); `blocked`
    (`blocked_moves`) rules out the pairs of placements whose transfer a rule blocks."""
    names = [p.name for p in c.scenario.phases]
    # Only the columns the problem reads: a row of an evaluated frame has ~150 (to_dicts of
    # 800 whole rows took ~40 ms at 100x the offers).
    rows = [
        choices[n]
        .head(MAX_CHOICES)
        .select([k for k in choices[n].columns if k in _READ])
        .to_dicts()
        for n in names
    ]
    cands = [
        [
            Candidate(
                cost=cost,
                # (no run time where the device lacks the precision: none to wait for)
                days=float(r["wall_clock_days"] or 0.0) + r["slip_days"],
                region=r["region"],
                site=site(r["region"], r["provider"], r["instance"]),
                uses=capacity_of(r),
                window=slipped(windows[name], r["slip_days"]),
            )
            for r, cost in zip(phase_rows, _costs(phase_rows), strict=True)
        ]
        for name, phase_rows in zip(names, rows, strict=True)
    ]
    spans = [(windows[n].start, windows[n].end) for n in names]
    # Each transfer between every pair of its ends' candidate sites at `Routes.leg`: free within
    # one site (a provider's, a fleet, the tenant's purchases in a region), else the source
    # provider's egress, the price a quote of that pair bills (rev18a #2: a move between two
    # providers in one region was free here and in the quote alike). A pair `leg` cannot price
    # is not allowed (rev18c #3: read as free, it was chosen and its quote failed), unless both
    # ends are fixed: the quote of that pair says why.
    legs = routes_at(c) if c.scenario.transfers else None
    places = [
        {site(*at): at for at in {(r["region"], r["provider"], r["instance"]) for r in phase_rows}}
        for phase_rows in rows
    ]
    # A transfer's size is one figure: worked out once, not once per pair of sites (each
    # working-out is a polars query).
    sizes = [size_gb(c, i, t) for i, t in enumerate(c.scenario.transfers)]
    moves, unpriced = [], []
    for t, gb in zip(c.scenario.transfers, sizes, strict=True):
        a, b = names.index(t.from_), names.index(t.to)
        prices: dict[tuple[str, str], float] = {}
        nothing: dict[tuple[str, str], str] = {}
        for here, src in sorted(places[a].items()):
            for there, dst in sorted(places[b].items()):
                try:
                    leg = legs.leg(src, dst) if legs else None
                except Unpriced as e:
                    nothing[(here, there)] = str(e)
                    continue
                if leg is not None:
                    prices[(here, there)] = leg.usd(gb)
        moves.append((a, b, prices))
        if nothing and (c.scenario.phases[a].is_auto or c.scenario.phases[b].is_auto):
            unpriced.append((a, b, nothing))
    training = frozenset(i for i, p in enumerate(c.scenario.phases) if isinstance(p, TrainPhase))
    caps = limits([r for phase_rows in rows for r in phase_rows])
    banned = []
    for a, b, rules in blocked:
        at = {r["option_id"]: k for k, r in enumerate(rows[b])}
        banned.append((a, b, {at[i]: rule for i, rule in rules.items() if i in at}))
    return Problem(cands, spans, moves, caps, training, banned, unpriced), rows


def slipped(w: Window, days: float) -> tuple[date, date] | None:
    if not days:
        return None
    late = timedelta(days=days)
    return (w.start + late, w.end + late)
