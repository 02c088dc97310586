"""What-if rules: add a hypothetical rule from a date, see which phases it blocks, re-place them.

A shock is NAME=YYYY-MM-DD (NAME from shocks.csv) or the path of a CSV of policy rows. The plan
is made as usual (the headline). The shocked plan keeps the prices and rates of the plan's date
and adds the rule, dated from the shock's day, so the two differ only by the rule. Every phase
is judged on the rules in force while it runs (`Context.rules_span`): a phase whose window ends
by the shock's day is not affected; one running across the day or starting later is, and is
blocked whole if the rule blocks it (a phase is not split). The phases it
blocks are re-placed over every option their site allows (a fixed site becomes "auto"), and
the report gives the extra cost and delay (a re-placed phase may wait for hardware ordered on
the plan's date to arrive). For each re-placed phase it also gives what the best
placement *without* the shock would have cost over the same options: the cost of the rule
itself, which a new constraint can never make negative.

A training phase the planner sizes to a deadline, running when the rule takes effect, may
instead finish before it: its deadline cut to end on the shock's day, over the same options.
The shocked plan is the cheaper of the two (review10a #1: split_auto's pretrain moved to
Ascend, 90 days later, "the rule costs 253,970,928.41 CNY", where 27% more B200 on the same
offer finish before 2026-03-01 for 3.7 M more). A cut run keeps its start and may not wait for
hardware, and the phases after it keep their starts (rev20a #1, #2). What the what-if knows on
the plan's date is the rule and its day: it is foresight, the rule known before anything was
committed, so what a phase running on the rule's day had spent or committed by then is not
counted (`ShockResult.assumption` says so, rev16a #1).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from estimator import findings, transfers
from estimator.context import Context, prepare
from estimator.costing import cents
from estimator.defaults import DEFAULT_TOP_K
from estimator.errors import InfeasibleError, NoPlacementError, ScenarioError
from estimator.frozen import SealedList, sealed
from estimator.money import Money
from estimator.planner import Plan, place, with_sites
from estimator.quoting import quote_context
from estimator.results import PhaseQuote
from estimator.scenario import AutoSite, Scenario, TrainPhase, predecessors
from pricing import Catalog, CatalogError, UnknownIdError
from pricing.errors import shown
from pricing.loader import FILE_COL, LINE_COL, read_table
from pricing.schema import ISO_DAY, TABLES


@sealed
@dataclass(frozen=True)
class Replanned:
    phase: str
    rule: str
    before: str
    after: str
    # After minus the plan's placement, in the plan's currency; after minus the best placement
    # over the same options without the shock. None for a stranded phase, which does not run
    # (rev15c #6: 0.0 beside stranded read as a rule that costs nothing).
    extra_cost: Money | None
    rule_cost: Money | None
    # How many days later the work ends; None for a stranded phase, whose work never runs
    # (rev12b #9: -26.0, "ends 26 days sooner", came from its blocked run's own length).
    extra_days: float | None
    stranded: bool = False  # no option allowed under the rule: kept where it was, blocked


@sealed
@dataclass(frozen=True)
class ShockResult:
    shocks: list[str]
    judged_on: date
    base: Plan  # the plan without the shock (the headline)
    shocked: Plan  # the plan with the blocked phases re-placed
    replanned: list[Replanned]
    # The blocked phases re-placed over the same options without the shock: `shocked` minus
    # this is what the rule costs (never negative), this minus `base` what re-opening a fixed
    # site changes by itself.
    unshocked: Plan
    # Each shock rule's id and the day it takes effect, earliest first.
    rules: list[tuple[str, date]] = field(default_factory=list)

    def __post_init__(self) -> None:  # its lists are sealed as a Plan's are (review11b #3)
        object.__setattr__(self, "shocks", SealedList(self.shocks))
        object.__setattr__(self, "replanned", SealedList(self.replanned))
        object.__setattr__(self, "rules", SealedList(self.rules))

    @property
    def extra_cost(self) -> Money:
        """The shocked plan less the plan as given."""
        return _difference(self.shocked.quote.total, self.base.quote.total)

    @property
    def rule_cost(self) -> Money:
        """What the rule costs: the shocked plan less the blocked phases re-placed over the
        same options without it (never negative). `plan --shock`'s headline (rev12e #8: it was
        computed in the report only)."""
        return _difference(self.shocked.quote.total, self.unshocked.quote.total)

    @property
    def assumption(self) -> str:
        """What the what-if assumes of the phases it re-places, in words ("" when none is):
        the rule known on the plan's date, before anything was committed. rev16a #1: a rule
        arriving 49 days into a run on a 1-year Johor commitment re-placed the run from its
        own start, the commitment gone from the total, and "the rule costs 0.00" read as an
        85 M saving; the phases already running on the rule's day are named, with how long,
        since what they spent or committed by then is not counted."""
        moved = [r for r in self.replanned if not r.stranded]
        if not moved:
            return ""
        said = (
            f"priced as if the rule were known on the plan's date ({self.base.quote.as_of}), "
            "before anything was committed: each phase it blocks is re-placed from its own start"
        )
        was = {p.name: p for p in self.base.quote.phases}
        starts = dict(self.rules)
        running = []
        for r in moved:
            p, day = was.get(r.phase), starts.get(r.rule)
            if p is None or day is None:
                continue
            ran = (day - p.start).days
            if 0 < ran < p.wall_clock_days:
                running.append(
                    f"{r.phase} had run {ran:,} days on {r.before} by {day} (billed "
                    f"{p.cost} in the plan as given)"
                )
        if running:
            whose = "its placement" if len(running) == 1 else "their placements"
            said += (
                f"; {', '.join(running)}, and what {whose} as given spent or committed by then "
                "(in project accounting, a commitment's whole term) is not in the total after"
            )
        return said

    @property
    def replacement(self) -> Money:
        """What re-placing the blocked fixed sites at their cheapest allowed option changes by
        itself, not the rule: `extra_cost` less `rule_cost`."""
        return _difference(self.extra_cost, self.rule_cost)


def _difference(a: Money, b: Money) -> Money:
    """a - b in whole cents, as the report prints it (review11b #4: float noise)."""
    return Money(cents(a - b, a.currency), a.currency)


def shocked_catalog(catalog: Catalog, shocks: list[str]) -> tuple[Catalog, dict[str, date]]:
    """The catalog with each shock added as a dated policy row; each shock rule's id with the
    day it takes effect (its earliest, for a file giving one id several rows)."""
    frames: list[pl.DataFrame] = []
    known = catalog.table("shocks")
    for expr in shocks:
        if expr.endswith(".csv") and "=" not in expr:
            rows = _shock_file(catalog, expr)
            frames.append(rows)
            continue
        name, sep, when = expr.partition("=")
        try:
            day = date.fromisoformat(when.strip()) if ISO_DAY.fullmatch(when.strip()) else None
        except ValueError:
            day = None
        if sep and day is None and when.strip():
            # rev13a #9: 'NAME=2026-02-30' read as a malformed expression, not a bad date.
            raise ScenarioError(
                f"bad shock '{shown(expr)}': '{shown(when.strip())}' is not a date (YYYY-MM-DD)",
                "shocks",
            )
        if not sep or day is None:
            raise ScenarioError(
                f"bad shock '{shown(expr)}': expected NAME=YYYY-MM-DD or a policies CSV file "
                f"(names: {', '.join(known['id'].to_list())})",
                "shocks",
            )
        hit = known.filter(pl.col("id") == name.strip())
        if hit.is_empty():
            raise ScenarioError(
                str(UnknownIdError("shock", name.strip(), known["id"].to_list())), "shocks"
            )
        frames.append(
            hit.with_columns(
                pl.lit(day).alias("effective_from"),
                pl.lit(None, pl.Date).alias("effective_to"),
                pl.lit("--shock").alias(FILE_COL),
                pl.lit(0, pl.Int64).alias(LINE_COL),
            )
        )
    starts: dict[str, date] = {}
    for f in frames:
        for i, d in zip(f["id"].to_list(), f["effective_from"].to_list(), strict=True):
            starts[i] = min(d, starts.get(i, d))

    def add(policies: pl.DataFrame) -> pl.DataFrame:
        extra = [f.select([c for c in policies.columns if c in f.columns]) for f in frames]
        return pl.concat([policies, *extra], how="diagonal_relaxed").select(policies.columns)

    return catalog._with_rows("policies", add), starts


def _shock_file(catalog: Catalog, expr: str) -> pl.DataFrame:
    path = Path(expr)
    if not path.exists():
        raise ScenarioError(f"shock file '{shown(expr)}' does not exist", "shocks")
    # Anything else that is not a regular file (a FIFO, a device) is refused by the reader.
    known = {
        "accelerators": set(catalog.ids("accelerators")),
        "regions": set(catalog.ids("regions")),
        "currency": set(catalog.currencies),
    }
    try:
        rows = read_table(TABLES["policies"], path, str(path), known)
    except CatalogError as e:
        # rev17a #16: "11 problems in the catalog" for a shock file's own rows.
        e.where = f"the shock file '{shown(path.name)}'"
        raise
    if rows.is_empty():
        raise ScenarioError(f"shock file '{shown(expr)}' has no policy rows", "shocks")
    return rows.with_columns(pl.lit(0, pl.Int64).alias(LINE_COL))


def apply_shock(c: Context, shocks: list[str], top_k: int = DEFAULT_TOP_K) -> ShockResult:
    """Plan as usual, then judge the plan under the shock and re-place the phases it blocks."""
    base = place(c, top_k)
    cat, starts = shocked_catalog(c.catalog, shocks)
    # Each shock from its own day (rev12a #2: two shocks were both judged from the later one).
    judged_on = max(min(starts.values()), c.as_of)
    rules = sorted(starts.items(), key=lambda kv: (kv[1], kv[0]))
    # The quotes of the placed scenario read each phase's site as the user gave it
    # (`Context.given_sites`), as the plan's own quote does.
    given = tuple(({p.name: p.site for p in c.scenario.phases} | dict(c.given_sites)).items())

    def prepared(scenario: Scenario, catalog: Catalog, **settings: Any) -> Context:
        return replace(prepare(scenario, catalog, **settings), given_sites=given)

    judged = quote_context(prepared(base.scenario, cat, currency=c.currency, as_of=c.as_of))
    # Each blocked phase with the earliest shock that blocks it: the one it must finish before.
    hit: dict[str, str] = {}
    # A transfer the shock blocks (its data may no longer go where the receiving phase runs)
    # re-places the receiving phase, which the planner then keeps where the data may go
    # (its finding names the transfer, and was taken for a phase: "no phase 'transfer a->b'").
    receiver = {transfers.named(t): t.to for t in base.scenario.transfers}
    for f in judged.findings:
        if f.severity == "block" and f.code in starts and f.phase:
            name = receiver.get(f.phase, f.phase)
            known = hit.get(name)
            if known is None or starts[f.code] < starts[known]:
                hit[name] = f.code
    if not hit:
        return ShockResult(shocks, judged_on, base, base, [], base, rules)
    opened = with_sites(base.scenario, {name: _reopened(c, name) for name in hit})
    # A blocked phase the rule leaves no allowed option (foreign serving once offshore access
    # ends) stays where it was, blocked, and the others are still re-placed: the whole report
    # was lost to one line (review8a #2).
    stranded: list[str] = []
    # Why each stranded phase has no allowed option, in the planner's words (rev19c #5a: "no
    # allowed option" alone left a user to guess that every offer abroad is a US accelerator).
    why: dict[str, str] = {}
    # A re-placed phase keeps its place in the schedule if any allowed option lets it; only
    # one that has none may wait for hardware ordered on the plan's date (rev12g #1: free to
    # wait, pretraining waited 90 days for Ascend bought at home, which the plan as given
    # could not, and the shock read as a saving).
    slip: set[str] = set()

    def again(catalog: Catalog) -> Plan:
        return place(
            prepared(
                opened,
                catalog,
                currency=c.currency,
                as_of=c.as_of,
                objective=c.objective,
                max_devices=c.max_devices,
                slip=frozenset(slip),
            ),
            top_k,
        )

    while True:
        try:
            after = again(cat)
            break
        except NoPlacementError as exc:
            if exc.phase not in hit or exc.phase in stranded:
                raise InfeasibleError(
                    f"under {', '.join(shocks)}: {exc.message}", exc.location
                ) from None
            if exc.phase not in slip:
                slip.add(exc.phase)
                continue
            stranded.append(exc.phase)
            why[exc.phase] = exc.message
            opened = with_sites(opened, {exc.phase: _as_placed(base, exc.phase)})
        except InfeasibleError as exc:
            raise InfeasibleError(
                f"under {', '.join(shocks)}: {exc.message}", exc.location
            ) from None
    was = {p.name: p for p in base.quote.phases}
    # A stranded phase may finish before the rule too (rev15a #1: it was skipped, and the
    # what-if said the rule costs nothing where a cut deadline ran the work for 1.18 M more).
    early = _finish_before(c, base, {name: starts[code] for name, code in hit.items()})
    if early:
        # Finishing before the day runs a stranded phase's work and keeps the schedule of one
        # that must wait for hardware: it wins for such a phase whatever it costs (rev12g #1),
        # else on the objective. A phase no option can cut is re-placed whole (or stranded)
        # and the others still cut.
        forced = {n for n in early if n in stranded or n in slip}

        def cut(names: set[str]) -> tuple[Plan, dict[str, dict[str, object]]] | None:
            trying = {n: f for n, f in early.items() if n in names}
            while trying:
                # A cut run may not wait for hardware: it must end by the rule's day (rev20a
                # #2: free to wait, pretraining waited 90 days for Ascend, ended three months
                # after the day, "deadline cut to 119 days", and the rule read as an 18.4 M
                # saving). The phases after it keep their starts (`_kept_starts`).
                try:
                    return place(
                        prepared(with_sites(opened, _kept_starts(base, opened, trying)), cat,
                                currency=c.currency, as_of=c.as_of, objective=c.objective,
                                max_devices=c.max_devices, slip=frozenset(slip - set(trying))),
                        top_k,
                    ), trying  # fmt: skip
                except NoPlacementError as exc:
                    if exc.phase not in trying:
                        return None
                    del trying[exc.phase]  # no option finishes it by the day
                except InfeasibleError:
                    return None
            return None

        tried = [cut(set(early))]
        if forced and forced != set(early):
            tried.append(cut(forced))
        best_cut = min(
            [(after, {}), *[t for t in tried if t is not None]],
            key=lambda t: (-len(forced & set(t[1])), _rank(t[0], c.objective)),
        )
        after, early = best_cut
        rescued = set(early) & set(stranded)
        if rescued:
            stranded = [n for n in stranded if n not in rescued]
            # Without the shock it is placed whole over the same options, as the others are.
            opened = with_sites(opened, {n: _reopened(c, n) for n in rescued})
        slip -= set(early)  # the counterfactual below keeps the schedule too
    without = again(c.catalog)
    now = {p.name: p for p in after.quote.phases}
    best = {p.name: p for p in without.quote.phases}
    moved = [
        Replanned(
            phase=name,
            rule=code,
            before=f"{was[name].accelerator} @ {was[name].region} ({was[name].pricing})",
            after=f"{STRANDED} ({why[name]})"
            if name in stranded
            else f"{now[name].accelerator} @ {now[name].region} ({now[name].pricing})"
            + (f", deadline cut to {early[name]['deadline_days']} days" if name in early else "")
            + _cautioned(after, name),
            extra_cost=None if name in stranded else _difference(now[name].cost, was[name].cost),
            rule_cost=None if name in stranded else _difference(now[name].cost, best[name].cost),
            extra_days=None if name in stranded else _finish(now[name]) - _finish(was[name]),
            stranded=name in stranded,
        )
        for name, code in hit.items()
    ]
    return ShockResult(shocks, judged_on, base, after, moved, without, rules)


def _cautioned(p: Plan, name: str) -> str:
    """The warnings a phase's placement carries whose compliance or supply is not assured
    (`findings.caution`), said beside it (rev19a #6: a shock barring US chips to a Chinese
    firm re-placed its foreign services on grey-market H100 rentals in China, "the rule costs
    0.00 USD", the warning they carry nowhere in the shock's table)."""
    codes = findings.caution([f for f in p.quote.findings if f.phase == name])
    if not codes:
        return ""
    return f"; carries {'warnings' if len(codes) > 1 else 'the warning'} {', '.join(codes)}"


def _finish_before(
    c: Context,
    base: Plan,
    blocked: dict[str, date],
) -> dict[str, dict[str, object]]:
    """The blocked training phases the planner sizes to a deadline that start before the day
    of the earliest shock that blocks them, each with its deadline cut to end on that day (its
    window then ends by every shock's day, and no shock judges it), over the options its site
    allows (a stranded phase's too: its fields go back to the user's, as a re-placed one's)."""
    out: dict[str, dict[str, object]] = {}
    for name, day in blocked.items():
        given = c.scenario.phase(name)
        start = next(p.start for p in base.quote.phases if p.name == name)
        days = (day - start).days
        if (
            not isinstance(given, TrainPhase)
            or given.devices is not None
            or given.deadline_days is None
            or not 0 < days < given.deadline_days
        ):
            continue
        # Its start as placed replaces an `after` (both refused: "give start or after, not
        # both", as an error in the user's file).
        out[name] = {**_reopened(c, name), "deadline_days": days, "start": start, "after": None}
    return out


def _kept_starts(
    base: Plan, scenario: Scenario, cut: dict[str, dict[str, object]]
) -> dict[str, dict[str, object]]:
    """The cut phases' fields, with the start the plan as given has for each phase that starts
    when a cut phase ends (rev20a #1: a cut window moved every later phase earlier with it, 54
    days in the shipped example, so Ascend bought for post-train and serving, 90 days' lead
    time, could no longer arrive and the plan after had two lead-time blocks). A run cut to end
    on the rule's day ends early; the rest of the plan keeps its place."""
    was = {p.name: p.start for p in base.quote.phases}
    after = predecessors(scenario.phases)
    kept: dict[str, dict[str, object]] = {
        n: {"start": was[n]} for n, b in after.items() if b in cut and n not in cut
    }
    return {**kept, **cut}


def _rank(p: Plan, objective: str) -> tuple[float, ...]:
    """A plan's place on the objective, lower first: cost, or (time) its work ending sooner,
    then cost."""
    if objective == "time":
        return (_ends(p), p.quote.total)
    return (p.quote.total,)


def _ends(p: Plan) -> float:
    return max(_finish(q) for q in p.quote.phases)


# What a re-placed phase's "after" says when the rule leaves it no allowed option.
STRANDED = "no allowed option: blocked where it was"


def _as_placed(base: Plan, name: str) -> dict[str, object]:
    """A phase fixed where the plan placed it (its site, devices and start as placed)."""
    p = base.scenario.phase(name)
    site = p.site if isinstance(p.site, str) else p.site.model_dump()
    return {"site": site, "devices": p.devices, "start": p.start, "after": p.after}


def _reopened(c: Context, name: str) -> dict[str, object]:
    """A blocked phase as the user gave it, its site opened: what the placement pinned beside
    the site (a device count the time objective took from the old option's capacity, a start
    slipped for its hardware) goes back to the user's (review7c #3: the re-placed post-train
    kept the 512 devices of the H100 rental it left, on Ascend)."""
    given = c.scenario.phase(name)
    return {"site": _open(c, name), "devices": given.devices, "start": given.start,
            "after": given.after}  # fmt: skip


def _open(c: Context, name: str) -> object:
    """A blocked phase's site for re-placement: its own auto site, or any option if it was fixed."""
    site = c.scenario.phase(name).site
    return site.model_dump() if isinstance(site, AutoSite) else "auto"


def _finish(p: PhaseQuote) -> float:
    """When a phase's work ends, in days from an arbitrary origin (for differences)."""
    return p.start.toordinal() + p.wall_clock_days
