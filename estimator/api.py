"""The library's entry points: quote, plan and compare scenarios, and what-if shocks.

Each takes a scenario (or the path of a scenario file), an optional catalog (default: the
embedded one) and optional `currency` / `as_of` overrides (a date or an ISO string).

    from estimator import quote, plan, compare
    q = quote("examples/split_abroad_home.toml")
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from estimator.bounds import as_bool
from estimator.context import OBJECTIVES, Context, Objective, prepare
from estimator.defaults import DEFAULT_TOP_K
from estimator.errors import ScenarioError
from estimator.quoting import quote_context
from estimator.results import Quote, Result
from estimator.scenario import CHANGED, Scenario
from estimator.scenario_file import load_scenario, parse_scenario, resolved_path
from pricing import Catalog, CatalogError, load_catalog
from pricing.catalog import as_date
from pricing.errors import shown

if TYPE_CHECKING:
    from estimator.planner import Plan
    from estimator.shock import ShockResult
    from estimator.uncertainty import Sampled, Swings

ScenarioLike = Scenario | str | Path | Mapping[str, Any]


def _scenario(s: ScenarioLike) -> Scenario:
    """A scenario, a file path, or the parsed data of one (a dict, as a notebook builds it).
    A `Scenario` is checked again: its fields are frozen, but its lists are lists, and a phase
    appended to one (a duplicate name, a transfer from nowhere) would otherwise reach the
    planner unchecked."""
    if isinstance(s, Scenario):
        return s.with_changes()
    if isinstance(s, Mapping):
        return parse_scenario(s)
    if isinstance(s, str | Path):
        return load_scenario(s)
    raise ScenarioError(
        f"a scenario is a Scenario, a file path or a dict of its fields, not {type(s).__name__}"
    )


def _catalog(catalog: Catalog | str | Path | None) -> Catalog:
    """The catalog given, the embedded one with a directory of CSV files merged over it (as
    `load_catalog`), or the embedded one."""
    if catalog is None or isinstance(catalog, str | Path):
        return load_catalog(catalog)
    if not isinstance(catalog, Catalog):
        raise CatalogError(
            f"a catalog is a Catalog (pricing.load_catalog) or a directory of CSV files, not "
            f"{type(catalog).__name__}"
        )
    return catalog


def _date(value: date | str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return as_date(value)
    except CatalogError as e:
        raise ScenarioError(str(e), field) from None


def _objective(value: str) -> Objective:
    if value not in OBJECTIVES:
        raise ScenarioError(f"'{shown(value)}' is not an objective ({' or '.join(OBJECTIVES)})",
                            "objective")  # fmt: skip
    return value  # type: ignore[return-value]  # checked just above


def whole(value: Any, field: str, least: int = 1) -> int:
    """`value` as a count of at least `least`, or a ScenarioError naming `field` (the CLI
    and the library check their counts here: 0 devices was 'no cap' in one and an error in
    the other)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ScenarioError(f"must be a whole number, got {shown(value)!r}", field)
    if value < least:
        raise ScenarioError(f"must be at least {least}, got {value}", field)
    return int(value)  # a numpy integer (from a frame) counts


def _yes_or_no(value: Any, field: str) -> bool:
    """`value` as a bool, or a ScenarioError naming `field` (rev19b #3: `model_error="no"` was
    truth-tested into True, where a scenario file or a sweep refuses quoted booleans). A numpy
    boolean (from a frame) counts, as a numpy integer does for a count (`bounds.as_bool`, the
    scenario fields' rule)."""
    flag = as_bool(value)
    if flag is not None:
        return flag
    raise ScenarioError(f"must be True or False, got {shown(value)!r}", field)


def _callable(value: Any, field: str) -> Any:
    """rev19b #8: `progress=1` raised TypeError deep in the sampling, after the work began."""
    if value is not None and not callable(value):
        raise ScenarioError(f"must be a function of the count done, or None, got {shown(value)!r}",
                            field)  # fmt: skip
    return value


def _planned(planned: Any, catalog: Catalog | str | Path | None) -> Plan:
    """A Plan as given, or the plan of a scenario (a Scenario, a path or a dict). A Quote
    does not say where its auto phases were placed: its scenario is needed."""
    from estimator.planner import Plan

    if isinstance(planned, Plan):
        return planned
    if isinstance(planned, Quote):
        raise ScenarioError(
            "give the Plan (estimator.plan) or the scenario, not its Quote: a quote does not "
            "carry the scenario it placed"
        )
    return plan(planned, catalog)


def _planned_on(
    planned: Any,
    catalog: Catalog | str | Path | None,
    currency: str | None = None,
    as_of: date | str | None = None,
) -> tuple[Plan, Catalog]:
    """`_planned`, and the catalog to sample it on: the one given, else the one a Plan was
    made on, else the embedded one. A Plan is sampled only on the catalog it was made on
    (`Plan.check_catalog`): one that has lost it (pickled, or rebuilt) and was not made on the
    embedded one must be given it (rev11b #1: sampling the embedded prices gave a band the
    plan's own total sat below). `currency` / `as_of` plan a scenario in that currency and on
    that date, as the CLI's `--currency` / `--as-of` do (rev20b #6); a Plan keeps its own, and
    a different one given with it is refused (plan the scenario again instead)."""
    from estimator.planner import Plan

    if not isinstance(planned, Plan):
        cat = _catalog(catalog)
        if currency is None and as_of is None:
            return _planned(planned, cat), cat
        if isinstance(planned, Quote):
            _planned(planned, cat)  # its own message: give the Plan or the scenario
        return plan(planned, cat, currency=currency, as_of=as_of), cat
    day = _date(as_of, "as_of")
    for field, want, own in (("currency", currency, planned.quote.currency),
                             ("as_of", day, planned.quote.as_of)):  # fmt: skip
        if want is not None and want != own:
            raise ScenarioError(
                f"this plan was made with {field} {own}, not {want}: give the scenario (or "
                f"plan it with {field}=...) to sample it so",
                field,
            )
    if catalog is None:
        if planned.catalog is not None:
            return planned, planned.catalog
        made_on = planned.quote.assumptions.get("catalog")
        if made_on != "embedded":
            raise ScenarioError(
                f"this plan was made on the catalog '{made_on}', which it does not keep once "
                "pickled or rebuilt: pass that Catalog (catalog=...)"
            )
    cat = _catalog(catalog)
    planned.check_catalog(cat)
    return planned, cat


def plan(
    scenario: ScenarioLike,
    catalog: Catalog | str | Path | None = None,
    *,
    objective: Objective = "cost",
    max_devices: int | None = None,
    top_k: int = DEFAULT_TOP_K,
    currency: str | None = None,
    as_of: date | str | None = None,
) -> Plan:
    """Place every phase whose site is left to the planner, then quote the placed scenario."""
    from estimator.planner import place  # a quote of fixed sites never needs it

    c = _planning(scenario, catalog, objective, max_devices, currency, as_of)
    return place(c, whole(top_k, "top_k"))


def _planning(
    scenario: ScenarioLike,
    catalog: Catalog | str | Path | None,
    objective: Objective,
    max_devices: int | None,
    currency: str | None,
    as_of: date | str | None,
) -> Context:
    """The context a plan is made in, its arguments checked as the library names them."""
    return prepare(
        _scenario(scenario),
        _catalog(catalog),
        currency=currency,
        as_of=_date(as_of, "as_of"),
        objective=_objective(objective),
        max_devices=None if max_devices is None else whole(max_devices, "max_devices"),
    )


def quote(
    scenario: ScenarioLike,
    catalog: Catalog | str | Path | None = None,
    *,
    currency: str | None = None,
    as_of: date | str | None = None,
) -> Quote:
    """Price a scenario. Sites left to the planner are placed first (the cheapest allowed);
    `Quote.assumptions["placed_by_planner"]` then names those phases."""
    s = _scenario(scenario)
    cat = _catalog(catalog)
    if any(p.is_auto for p in s.phases):
        return plan(s, cat, currency=currency, as_of=as_of).placed_quote()
    return quote_context(prepare(s, cat, currency=currency, as_of=_date(as_of, "as_of")))


class Comparison(Result):
    """Several scenarios quoted in one currency and on their own (or one given) date."""

    quotes: list[Quote]

    @property
    def names(self) -> list[str]:
        """Each scenario's name, numbered ("1. name") when two share one (a scenario and its
        `with_changes` variant): the frame's and the report's columns tell them apart."""
        names = [q.name for q in self.quotes]
        if len(set(names)) < len(names):
            names = [f"{i + 1}. {n}" for i, n in enumerate(names)]
        return names

    def to_polars(self) -> pl.DataFrame:
        """One row per scenario and phase or transfer: cost, device-hours and days (unrounded);
        per scenario (`names`) the costs add up to its total. A phase with no price has a null
        cost (`priced` false), as the CLI leaves its cell blank: 0.0 sorted it cheapest."""
        rows = [
            {
                "scenario": name, "part": "phase", "name": p.name, "kind": p.kind,
                "region": p.region, "accelerator": p.accelerator,
                "cost": p.cost if p.priced else None, "priced": p.priced,
                "currency": q.currency, "device_hours": p.device_hours if p.timed else None,
                "wall_clock_days": p.wall_clock_days if p.timed else None,
            }
            for name, q in zip(self.names, self.quotes, strict=True)
            for p in q.phases
        ] + [
            {
                "scenario": name, "part": "transfer", "name": f"{t.from_} -> {t.to}",
                "kind": t.what, "region": None, "accelerator": None, "cost": t.cost, "priced": True,
                "currency": q.currency, "device_hours": None, "wall_clock_days": t.hours / 24,
            }
            for name, q in zip(self.names, self.quotes, strict=True)
            for t in q.transfers
        ]  # fmt: skip
        return pl.DataFrame(rows, infer_schema_length=None)


def compare(
    scenarios: Sequence[ScenarioLike],
    catalog: Catalog | str | Path | None = None,
    *,
    currency: str | None = None,
    as_of: date | str | None = None,
) -> Comparison:
    """Quote several scenarios in one currency (the first one's unless given)."""
    if isinstance(scenarios, str | Path | Mapping | Scenario):
        raise ScenarioError("compare takes a list of scenarios (at least two)")
    loaded = [_scenario(s) for s in scenarios]
    if len(loaded) < 2:
        raise ScenarioError("compare needs at least two scenarios")
    cat = _catalog(catalog)
    cur = loaded[0].currency if currency is None else currency
    return Comparison(quotes=[quote(s, cat, currency=cur, as_of=as_of) for s in loaded])


def percentiles(
    planned: Plan | ScenarioLike,
    catalog: Catalog | str | Path | None = None,
    *,
    samples: int = 10_000,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    model_error: bool = True,
    currency: str | None = None,
    as_of: date | str | None = None,
) -> Sampled:
    """P10 / P50 / P90 of each phase and of the total of a plan (as placed; a scenario is
    planned first), by Monte Carlo over the catalog's price ranges and the model's own error
    from the held-out calibration (`model_error=False`: the efficiency ranges instead; see
    `estimator.uncertainty.sample`): a list of `Percentiles` that knows its samples, seed and
    the inputs it drew (`as_json(plan, uncertainty=...)` renders it as `--samples` does).
    `currency` / `as_of` plan a scenario in that currency and on that date (`--currency`,
    `--as-of`); a Plan keeps the ones it was made with."""
    from estimator.uncertainty import MAX_SAMPLES, sample

    samples, seed = whole(samples, "samples"), whole(seed, "seed", least=0)
    model_error, progress = _yes_or_no(model_error, "model_error"), _callable(progress, "progress")
    if samples > MAX_SAMPLES:  # said here with the library's name (the CLI's is --samples)
        raise ScenarioError(f"must be at most {MAX_SAMPLES:,}, got {samples:,}", "samples")
    chosen, cat = _planned_on(planned, catalog, currency, as_of)
    q = chosen.quote
    c = prepare(chosen.scenario, cat, currency=q.currency, as_of=q.as_of)
    return sample(c, q, samples, seed, progress, model_error)


def sensitivity(
    planned: Plan | ScenarioLike,
    catalog: Catalog | str | Path | None = None,
    *,
    swing: float = 0.2,
    currency: str | None = None,
    as_of: date | str | None = None,
) -> Swings:
    """Each input from its low to its high, one at a time, sorted by how far the total moves
    (see `estimator.uncertainty.sensitivity`); a scenario is planned first. The list knows the
    plan's quote: `as_json(swings)` is what `sensitivity --format json` prints. `currency` /
    `as_of` plan a scenario in that currency and on that date, as `--currency` / `--as-of`
    do; a Plan keeps the ones it was made with."""
    from estimator.uncertainty import check_swing
    from estimator.uncertainty import sensitivity as swings

    swing = check_swing(swing)
    chosen, cat = _planned_on(planned, catalog, currency, as_of)
    q = chosen.quote
    c = prepare(chosen.scenario, cat, currency=q.currency, as_of=q.as_of)
    return swings(c, q, swing)  # a float: a numpy scalar's ends stayed numpy (review11b #12)


def what_if(
    scenario: ScenarioLike | Plan,
    shocks: str | Path | Sequence[str | Path],
    catalog: Catalog | str | Path | None = None,
    *,
    objective: Objective | None = None,
    max_devices: int | None = None,
    top_k: int = DEFAULT_TOP_K,
    currency: str | None = None,
    as_of: date | str | None = None,
) -> ShockResult:
    """Plan a scenario, then add each shock from its date and re-place the phases it blocks
    (as `plan --shock`; see `estimator.shock`). A shock is NAME=YYYY-MM-DD (`splitcompute
    catalog shocks`) or the path of a CSV of policy rows; one string or a list of them.
    `objective` is "cost" unless given. A `Plan` is planned again as it was made (its scenario
    as given, catalog, objective, device cap, currency and date), so `base` is that plan."""
    from estimator.planner import Plan
    from estimator.shock import apply_shock

    listed: object = [shocks] if isinstance(shocks, str | os.PathLike) else shocks
    # rev19b #9: a CSV's path as a Path was refused, where quote(Path(...)) takes one.
    given: list[str] = []
    if isinstance(listed, Sequence):
        given = [os.fspath(x) if isinstance(x, os.PathLike) else x for x in listed]
    if not given or not all(isinstance(x, str) for x in given):
        why = "a shock is NAME=YYYY-MM-DD or a CSV path; give one string or a list of them"
        raise ScenarioError(why, "shocks")
    if isinstance(scenario, Plan):
        c = _replanning(scenario, catalog, objective, max_devices, currency, as_of)
    else:
        c = _planning(scenario, catalog, objective or "cost", max_devices, currency, as_of)
    return apply_shock(c, given, whole(top_k, "top_k"))


def _replanning(
    planned: Plan,
    catalog: Catalog | str | Path | None,
    objective: str | None,
    max_devices: int | None,
    currency: str | None,
    as_of: date | str | None,
) -> Context:
    """The context a Plan was made in, to plan it again (rev12b #12: `what_if(plan, ...)` was
    refused while `percentiles` and `sensitivity` take a plan). An argument that differs from
    the plan's is refused: the what-if's `base` would not be the plan given."""
    made = planned.given
    if made is None:
        raise ScenarioError(
            "this plan does not keep the scenario it was planned from (it was rebuilt from its "
            "fields): give what_if that scenario"
        )
    scenario, cap = made
    _, cat = _planned_on(planned, catalog)
    q = planned.quote
    asked = {
        "objective": (None if objective is None else _objective(objective), planned.objective),
        "max_devices": (None if max_devices is None else whole(max_devices, "max_devices"), cap),
        "currency": (currency, q.currency),
        "as_of": (_date(as_of, "as_of"), q.as_of),
    }
    for name, (value, own) in asked.items():
        if value is not None and value != own:
            raise ScenarioError(
                f"the plan was made with {name} {own}, not {shown(value)}: give what_if the "
                f"scenario to plan it with {name}={shown(value)}",
                name,
            )
    return prepare(scenario, cat, currency=q.currency, as_of=q.as_of,
                   objective=_objective(planned.objective), max_devices=cap)  # fmt: skip


def sweep(
    scenario: ScenarioLike,
    grid: Mapping[str, Iterable[Any]],
    catalog: Catalog | str | Path | None = None,
    *,
    currency: str | None = None,
    as_of: date | str | None = None,
    progress: Callable[[int], None] | None = None,
) -> pl.DataFrame:
    """Quote every combination of the values in `grid` (dotted paths, as in
    `Scenario.with_changes`) and return one row per combination: the values, `total`,
    `total_other_view`, `currency`, `blocked`, `unpriced` (the phases with no price), `train_days`
    (calendar days from the first training start to the last training end as scheduled,
    `Quote.training_days`: a run placed `after` another starts when that one's deadline window
    closes, so this counts the window, not the work), `train_run_days` (the training runs' own
    wall-clock days, summed: what moves with the tokens swept), `infeasible` and one
    `cost:<phase>` column per phase (unrounded). A phase with no price (no offer on the date,
    a precision the device lacks) has a null cost; the total leaves it out, as
    `Quote.total` and the CLI's do, so filter on `unpriced` before sorting by total. Auto sites
    are placed for each combination. A combination with no answer (no allowed placement, a run
    past 100 years) is a row too: `infeasible` says why, `blocked` is true and its figures are
    null, so one impossible point does not lose the others. An invalid value (a ScenarioError)
    is found before any point is quoted, and the error names its grid path and value.
    `currency` may be swept (its output column is then the swept value). `progress` is called
    with the count of combinations done after each.

        sweep("plan.toml", {"phases.pretrain.tokens": [1e13, 2e13], "accounting": ["project"]})
    """
    import itertools

    grid = _checked_grid(grid)
    progress = _callable(progress, "progress")
    for name, given in (("as_of", as_of), ("currency", currency)):
        if given is not None and name in grid:  # rev11b #8: the keyword priced another day
            raise ScenarioError(
                f"'{name}' is both swept and given as {name}=: give it one way", "grid"
            )
    base = _scenario(scenario)
    cat = _catalog(catalog)
    paths = list(grid)
    combinations = [
        dict(zip(paths, values, strict=True))
        for values in itertools.product(*(grid[p] for p in paths))
    ]
    # rev12b #7: every point is checked before any is quoted (a quote takes ~0.2 s, a check
    # ~5 ms): a bad value late in the grid threw away every point before it.
    day = _date(as_of, "as_of")
    points = [_checked_point(base, changes, cat, currency, day) for changes in combinations]
    _one_path_a_field(base, paths)
    rows = []
    for changes, s in zip(combinations, points, strict=True):
        rows.append(_swept(s, changes, cat, currency, as_of))
        if progress is not None:
            progress(len(rows))
    # One type per output whatever the values (List(Null) or Null where all were empty: a
    # sweep whose every point was infeasible, rev11c #8).
    numbers = [
        "total",
        "total_other_view",
        "train_days",
        "train_run_days",
        *(f"cost:{p.name}" for p in base.phases),
    ]
    return pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("unpriced").cast(pl.List(pl.String)),
        pl.col("infeasible").cast(pl.String),
        pl.col(numbers).cast(pl.Float64),
    )


def _checked_point(
    base: Scenario,
    changes: dict[str, Any],
    cat: Catalog,
    currency: str | None,
    day: date | None,
) -> Scenario:
    """The scenario of one point of a sweep, checked as a quote checks it (the fields, then
    the ids, currency and date against the catalog). An error names the grid's path and value
    (the one that fails alone, else the whole point), not the scenario's file: the value came
    from the grid."""

    def check(point: dict[str, Any]) -> Scenario:
        s = base.with_changes(point)
        prepare(s, cat, currency=currency, as_of=day)
        return s

    try:
        return check(changes)
    except ScenarioError as exc:
        culprit = changes
        for path, value in changes.items():
            if len(changes) == 1:
                break
            try:
                check({path: value})
            except ScenarioError:
                culprit = {path: value}
                break
        point = ", ".join(f"'{shown(p)}' = {shown(repr(v))}" for p, v in culprit.items())
        source = base.source.removesuffix(CHANGED) + CHANGED  # each point is a changed copy
        field = (exc.location or "").removeprefix(f"{source}: ").removeprefix(source)
        why = f"{field}: {exc.message}" if field else exc.message
        raise ScenarioError(f"{point}: {why}", "grid") from None


def _swept(
    s: Scenario,
    changes: dict[str, Any],
    cat: Catalog,
    currency: str | None,
    as_of: date | str | None,
) -> dict[str, Any]:
    """One row of `sweep`: the changed values and the quote's figures, or why it has none."""
    from estimator.errors import InfeasibleError

    try:
        q = quote(s, cat, currency=currency, as_of=as_of)
    except InfeasibleError as exc:
        return {**changes, "total": None, "total_other_view": None,
                "currency": currency or s.currency, "blocked": True, "unpriced": [],
                "train_days": None, "train_run_days": None, "infeasible": str(exc),
                **{f"cost:{p.name}": None for p in s.phases}}  # fmt: skip
    return {
        **changes,
        "total": float(q.total),
        "total_other_view": float(q.total_other_view),
        "currency": q.currency,
        "blocked": q.blocked,
        "unpriced": [p.name for p in q.phases if not p.priced],
        "train_days": q.training_days,
        "train_run_days": _run_days(q),
        "infeasible": None,
        **{f"cost:{p.name}": float(p.cost) if p.priced else None for p in q.phases},
    }


SWEEP_OUTPUTS = (
    "total", "total_other_view", "currency", "blocked", "unpriced", "train_days", "train_run_days",
    "infeasible",
)  # fmt: skip


def _run_days(q: Quote) -> float | None:
    """The training runs' own wall-clock days, summed (rev15d #8: `train_days` is the calendar
    span, which holds at the deadline window whatever the tokens); None when a run was not
    timed (its device lacks the precision), 0 without training."""
    runs = [p for p in q.phases if p.kind == "train"]
    return None if not all(p.timed for p in runs) else sum(p.wall_clock_days for p in runs)


def _one_path_a_field(base: Scenario, paths: list[str]) -> None:
    """rev19b #2: two grid paths naming one field (by a phase's name and by its index) quoted
    the last one's values while the row showed both: refused, naming the two."""
    data = base.model_dump(by_alias=True, exclude_none=True)
    seen: dict[str, str] = {}
    for path in paths:
        field = resolved_path(data, path)
        if field in seen:
            raise ScenarioError(
                f"'{shown(seen[field])}' and '{shown(path)}' are the same field: give it once",
                "grid",
            )
        seen[field] = path


def _checked_grid(grid: Mapping[str, Any]) -> dict[str, list[Any]]:
    """A grid names at least one input, each with values in any sequence or array (a list, a
    tuple, a range, a numpy array or a polars Series: a notebook's usual grids), none clashing
    with an output column (which would be overwritten by the result's; a swept 'currency' is
    the output column's value). Returns each input's values as a list of plain Python values."""
    if not isinstance(grid, Mapping) or not grid:
        raise ScenarioError("give at least one path and its values", "grid")
    out = {}
    for path, values in grid.items():
        if not isinstance(path, str):  # review11b #17: an AttributeError otherwise
            raise ScenarioError(f"{shown(path)!r} is not a path (a dotted string)", "grid")
        # 'currency' may be swept: its output column then holds the swept value (rev12b #7).
        if (path in SWEEP_OUTPUTS and path != "currency") or path.startswith("cost:"):
            raise ScenarioError(
                f"'{shown(path)}' is an output column of the sweep: run one sweep per value",
                "grid",
            )
        if hasattr(values, "tolist"):  # a numpy array or a polars Series: plain values
            values = values.tolist()
        if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
            raise ScenarioError(
                f"the values of '{shown(path)}' must be a list (or a tuple, range, array)", "grid"
            )
        out[path] = list(values)
        if not out[path]:
            raise ScenarioError(f"'{shown(path)}' has no values", "grid")
    return out
