"""When each phase runs, and what is paid in which month.

A phase starts on its `start` date, right after the phase its `after` names, or by default:
training phases one after another in file order from the scenario date, each serving phase when
the last training phase before it ends. A phase occupies its planning window: a training phase
with a deadline reserves the deadline (it may finish sooner; under the scenario's `earliest`
schedule it reserves only its run time), other phases their duration.
Hardware bought for a phase must arrive by its start and is resold when its window ends (a
training phase's when its run ends, rev15a #8): it is the phase's (review10a #4: held to the
plan's end, a 2-day fine-tune's servers cost 3.5, 7.0 or 9.5 M USD as a later, unrelated
serving phase ran 90 days, 3 or 6 years).

The monthly cash flow spreads each line item over the time it is paid for: rent over its
billed term from the phase start, capital on delivery (ordered just in time, it arrives on
the phase start, as `owned-capex` dates it: earlier only where supply.csv forbids a later
order, `market.purchases`) and its resale at the window's end (a training run's end), energy
and operations over the run, a transfer on the day its source phase ends.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict

from estimator.costing import cents, summed, years_on
from estimator.errors import InfeasibleError, ScenarioError
from estimator.frozen import ResultPart
from estimator.scenario import Scenario, Schedule, ServePhase, TrainPhase, predecessors

Phase = TrainPhase | ServePhase


@dataclass(frozen=True)
class Window:
    start: date
    end: date  # the end of the planning window (bought hardware is resold then)

    @property
    def days(self) -> float:
        return float((self.end - self.start).days)


def planned_days(phase: Phase, run_days: float | None, schedule: Schedule = "deadline") -> float:
    """The days a phase reserves: its serving period; for training, its deadline (under the
    `deadline` schedule, or while its run time is not known) or its run time."""
    if isinstance(phase, ServePhase):
        return phase.days
    if phase.deadline_days is not None and (schedule == "deadline" or run_days is None):
        return phase.deadline_days
    return run_days if run_days is not None else 0.0


def needs_run_days(scenario: Scenario, phase: Phase) -> bool:
    """Whether `phase`'s window depends on how long it runs (so `windows` needs its run time)."""
    return isinstance(phase, TrainPhase) and (
        phase.deadline_days is None or scenario.schedule == "earliest"
    )


def windows(
    scenario: Scenario, as_of: date, run_days: Mapping[str, float | None]
) -> dict[str, Window]:
    """Every phase's window from the timeline rules; `run_days` is each phase's run time where
    known (training phases without a deadline need it)."""
    days = {
        p.name: planned_days(p, run_days.get(p.name), scenario.schedule) for p in scenario.phases
    }
    after = predecessors(scenario.phases)  # acyclic: the scenario checks it
    starts: dict[str, date] = {}

    def start(p: Phase) -> date:
        if p.name not in starts:
            before = after[p.name]
            default = (
                as_of if before is None else later(start(scenario.phase(before)), days[before])
            )
            starts[p.name] = p.start or default
        return starts[p.name]

    out = {}
    for p in scenario.phases:
        try:
            out[p.name] = Window(start(p), later(start(p), days[p.name]))
        except InfeasibleError as exc:
            # rev19b #9: `start = 9999-12-01` exited 1 ("no answer") naming neither the file nor
            # the phase; a date past the calendar is the input's.
            raise ScenarioError(exc.message, f"{scenario.source}: phases.{p.name}") from None
    return out


# No plan runs a phase longer than this; past it a date can leave the calendar (year 9999).
DAYS_PER_CALENDAR_YEAR = 365.25  # the mean, leap years included (costing.DAYS_PER_YEAR, 365,
# prices a server's year of depreciation: both on purpose)
MAX_RUN_YEARS = 100
MAX_RUN_DAYS = MAX_RUN_YEARS * DAYS_PER_CALENDAR_YEAR


def within_calendar(days: float, scenario: Scenario, phase: str) -> None:
    """Refuses a run of `days` past MAX_RUN_DAYS: an answer no plan can use (its end passed
    the year 9999 in a traceback). Dates of runs that are blocked anyway (a model that does
    not fit) stop at MAX_RUN_DAYS instead (`later`), so their finding is what is said."""
    if days <= MAX_RUN_DAYS:
        return
    where = f"{scenario.source}: phases.{phase}"
    raise InfeasibleError(
        f"would run {days:,.0f} days ({days / DAYS_PER_CALENDAR_YEAR:,.0f} years), more than "
        f"any plan ({MAX_RUN_DAYS / DAYS_PER_CALENDAR_YEAR:.0f} years): give more devices, "
        "fewer tokens or a deadline",
        where,
    )


def _whole_days(days: float, up: bool) -> int:
    """`days` (at most MAX_RUN_DAYS) in whole days, up or down; to 1e-6 a whole number stays."""
    days = round(min(days, MAX_RUN_DAYS), 6)
    return math.ceil(days) if up else math.floor(days)


def later(start: date, days: float) -> date:
    """The first whole day after `days` from `start` (at most MAX_RUN_DAYS on): a phase that
    needs part of a day holds that day, so what follows it starts the next (rev17a #4: cut to
    a whole day, the next phase started on a day the run still held its fleet, up to a day
    early, and "days to train" read 84.6 for runs of 85.48 days back to back). Past the
    calendar's last day (a phase starting in 9999, or many long phases one after another)
    the plan has no dates."""
    return _on(start, _whole_days(days, up=True))


def ends_on(start: date, days: float) -> date:
    """The day during which work of `days` from `start` ends (`later`'s day when it ends at
    midnight): the day a transfer is sent."""
    return _on(start, _whole_days(days, up=False))


def _on(start: date, days: int) -> date:
    try:
        return start + timedelta(days=days)
    except OverflowError:
        raise InfeasibleError(
            f"a phase from {start} lasting {days:,.0f} days ends after the calendar's last day "
            "(9999-12-31): move the phases' start or shorten them"
        ) from None


# -- cash flow -----------------------------------------------------------------------------

Kind = Literal["rent", "capital", "resale", "energy", "operations", "transfer"]
KINDS: tuple[Kind, ...] = get_args(Kind)  # MonthView's fields and the chart's bars, in order


class Payment(BaseModel):
    """An amount (in the quote's currency) paid evenly over [start, end), or on `start` when
    `end` equals it."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    amount: float
    start: date
    end: date


class Month(ResultPart):
    month: str  # YYYY-MM
    amounts: dict[str, float]  # by kind
    total: float


def monthly(payments: Sequence[Payment], currency: str) -> list[Month]:
    """Payments spread by day over calendar months, months in order; each month's amounts by
    kind and its total, in `currency`. A payment's monthly parts are whole cents (its minor
    unit, `costing.cents`): the differences of its
    running total rounded to cents, so each part is within a cent of its share and the months
    add up to the payments (whole-cent line items) exactly. Rounded month by month, a cash
    flow drifted up to 0.12 USD from the total it spreads."""
    buckets: dict[str, dict[str, float]] = {}
    for pay in payments:
        shares = _shares(pay.start, pay.end)
        done, paid = 0.0, 0.0
        for i, (month, share) in enumerate(shares):
            done = 1.0 if i == len(shares) - 1 else done + share
            upto = cents(pay.amount * done, currency)
            row = buckets.setdefault(month, dict.fromkeys(KINDS, 0.0))
            row[pay.kind] += cents(upto - paid, currency)
            paid = upto
    cells = {
        m: {k: cents(v, currency) for k, v in row.items()} for m, row in sorted(buckets.items())
    }
    return [
        Month(month=m, amounts=row, total=summed(row.values(), currency))
        for m, row in cells.items()
    ]


def _shares(start: date, end: date) -> list[tuple[str, float]]:
    """(YYYY-MM, fraction) of [start, end) falling in each month; a point in time is all in
    its month."""
    if end <= start:
        return [(start.strftime("%Y-%m"), 1.0)]
    total = (end - start).days
    out = []
    day = start
    while day < end:
        nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        stop = min(nxt, end)
        out.append((day.strftime("%Y-%m"), (stop - day).days / total))
        day = stop
    return out


_KIND_OF: dict[str, Kind] = {
    "compute": "rent",
    "capital": "capital",
    "resale": "resale",
    "energy": "energy",
    "operations": "operations",
}


@dataclass(frozen=True)
class Lives:
    """Servers held past their life, replaced at the end of each (`market.replacements`):
    `generations` purchases `life_years` calendar years apart (`costing.years_on`), each
    replaced one sold then for `at_life` of its price, the last at the phase's end for
    `at_end`."""

    generations: int
    life_years: float
    at_life: float
    at_end: float


def _split(amount: float, weights: Sequence[float], currency: str) -> list[float]:
    """`amount` in whole cents (of `currency`) in proportion to `weights`, adding up to it
    exactly."""
    total = sum(weights)
    if total <= 0:
        return [0.0] * (len(weights) - 1) + [amount]
    parts = [cents(amount * w / total, currency) for w in weights[:-1]]
    return [*parts, cents(amount - summed(parts, currency), currency)]


def phase_payments(
    items: Sequence[Any],
    window: Window,
    run_days: float,
    billed_days: float,
    lives: Lives | None = None,
    resold_after_run: bool = False,
    delivered: date | None = None,
) -> list[Payment]:
    """When a phase's (project-view) line items are paid: rent over its billed term from the
    start, capital on `delivered` (the phase start when not known; rev17a #3: paid at the
    start, the cash flow put 153.6 M CNY a month after the delivery `owned-capex` dates) and
    resale at the window's end (`resold_after_run`, a training phase's: when the run ends),
    energy and operations over the run. Servers replaced at the end of each life (`lives`) are
    bought, and the replaced ones sold, on the day each life ends (rev14a #6)."""
    bought = delivered or window.start
    out = []
    n = lives.generations if lives else 1
    for item in items:
        kind = _KIND_OF.get(item.component)
        if kind is None:
            continue  # amortised capex is not a payment
        start, end = window.start, later(window.start, run_days)
        if kind == "rent":
            end = later(window.start, billed_days)
        elif kind in ("capital", "resale") and lives and n > 1:
            if kind == "capital":
                parts = _split(item.amount, [1.0] * n, item.currency)
                ages = range(n)
            else:
                weights = [lives.at_life] * (n - 1) + [lives.at_end]
                parts = _split(item.amount, weights, item.currency)
                ages = range(1, n)
            on = [years_on(window.start, g * lives.life_years) if g else bought for g in ages]
            on += [window.end] if kind == "resale" else []
            out += [
                Payment(kind=kind, amount=a, start=d, end=d) for a, d in zip(parts, on, strict=True)
            ]
            continue
        elif kind == "capital":
            start = end = bought
        elif kind == "resale":
            # on the day the run ends, as a transfer is sent (`ends_on`)
            start = ends_on(window.start, run_days) if resold_after_run else window.end
            end = start
        out.append(Payment(kind=kind, amount=item.amount, start=start, end=end))
    return out
