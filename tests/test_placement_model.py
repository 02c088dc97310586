"""The joint placement's model reaches HiGHS as an MPS file (`placement._Model`), not through
highspy's modelling layer (which imports numpy: ~80 ms of every plan). The model HiGHS solves
must be the very one that layer built from the same expressions, so that a plan's choice among
equal optima never moves: same costs, bounds, integrality and matrix, bit for bit."""

from __future__ import annotations

import math
import random
import struct
from datetime import date, timedelta
from typing import Any

import pytest

from estimator import placement
from estimator.placement import Candidate, Capacity, Infeasible, Problem


def _reference(p: Problem, goal: str, force: dict[int, int], max_days: float | None) -> Any:
    """The model as `placement._solve` built it with highspy's modelling layer (before it was
    written as MPS), returned unsolved."""
    highspy = pytest.importorskip("highspy")
    h = highspy.Highs()
    h.silent()
    x = [
        [
            h.addBinary(
                obj=placement._days(c)
                if goal == "time" and i in p.training
                else c.cost * (goal == "cost")
            )
            for c in cands
        ]
        for i, cands in enumerate(p.candidates)
    ]
    for i, row in enumerate(x):
        h.addConstr(sum(row) == 1)
        if i in force:
            h.addConstr(row[force[i]] == 1)
    if goal == "cost":
        for a, b, prices in p.transfers:
            regions_a = sorted({c.region for c in p.candidates[a]})
            regions_b = sorted({c.region for c in p.candidates[b]})

            def in_region(i: int, region: str) -> Any:
                return sum(
                    v for v, c in zip(x[i], p.candidates[i], strict=True) if c.region == region
                )

            for ra in regions_a:
                for rb in regions_b:
                    price = 0.0 if ra == rb else prices.get((ra, rb), 0.0)
                    if price > 0:
                        y = h.addVariable(lb=0.0, obj=price)
                        h.addConstr(y >= in_region(a, ra) + in_region(b, rb) - 1)
    for a, b, rules in p.blocked:
        by_region: dict[str, list[int]] = {}
        for k in sorted(rules):
            by_region.setdefault(p.candidates[b][k].region, []).append(k)
        for region in sorted(by_region):
            home = [v for v, c in zip(x[a], p.candidates[a], strict=True) if c.region == region]
            h.addConstr(sum(x[b][k] for k in by_region[region]) - sum(home) <= 0)
    if max_days is not None and p.training:
        h.addConstr(
            sum(
                x[i][k] * placement._days(c)
                for i in p.training
                for k, c in enumerate(p.candidates[i])
            )
            <= max_days + 1e-6
        )
    for group, sets in placement._loads(p).items():
        for members in sets:
            if members:
                h.addConstr(
                    sum(x[i][k] * dev for i, k, dev in members) <= p.capacities[group].devices
                )
    return h


def _bits(xs: Any) -> list[bytes]:
    return [struct.pack("<d", float(v)) for v in xs]


def _as_solved(h: Any) -> dict[str, Any]:
    """The model as HiGHS solves it: its matrix column-wise (it makes a row-wise one so before
    a solve), each column's entries in row order."""
    lp = h.getLp()
    a = lp.a_matrix_
    start, index, value = list(a.start_), list(a.index_), list(a.value_)
    if "Rowwise" in str(a.format_):
        cols: list[list[tuple[int, float]]] = [[] for _ in range(lp.num_col_)]
        for r in range(lp.num_row_):
            for q in range(start[r], start[r + 1]):
                cols[index[q]].append((r, value[q]))
        start, index, value = [0], [], []
        for col in cols:
            index += [r for r, _ in col]
            value += [v for _, v in col]
            start.append(len(index))
    return {
        "shape": (lp.num_col_, lp.num_row_),
        "cost": _bits(lp.col_cost_),
        "col_bounds": (_bits(lp.col_lower_), _bits(lp.col_upper_)),
        "row_bounds": (_bits(lp.row_lower_), _bits(lp.row_upper_)),
        "matrix": (start, index, _bits(value)),
        "integrality": [str(t) for t in lp.integrality_],
        "sense": str(lp.sense_),
        "offset": lp.offset_,
    }


def _ours(p: Problem, goal: str, force: dict[int, int], max_days: float | None) -> Any:
    """The model `placement._solve` hands HiGHS now, read back unsolved."""
    models: list[placement._Model] = []
    real = placement._Model.solve

    def keep(self: placement._Model) -> list[float]:
        models.append(self)
        return real(self)

    placement._Model.solve = keep  # type: ignore[method-assign]
    try:
        placement._solve(p, goal, force, max_days)
    except Infeasible:
        pass
    finally:
        placement._Model.solve = real  # type: ignore[method-assign]
    (m,) = models
    return m.highs()


def _problem(rng: random.Random) -> Problem:
    regions = ["a", "b", "c"]
    n = rng.randint(1, 4)
    cands, wins = [], []
    for _ in range(n):
        phase = []
        for _ in range(rng.randint(1, 5)):
            uses: tuple[tuple[tuple[str, ...], float], ...] = ()
            if rng.random() < 0.6:
                uses = ((("fleet", "f"), rng.choice([4.0, 8.0, 12.0, 0.1 + rng.random()])),)
                if rng.random() < 0.3:  # the same capacity twice: its terms are summed
                    uses += ((("fleet", "f"), rng.uniform(0.1, 3.0)),)
            cost = rng.choice([rng.uniform(1, 100), 1e7 * rng.random(), -rng.random(), 0.0])
            days = rng.choice([rng.uniform(0, 10), 0.0, 3.0])  # 0 days: a 0 in a row
            phase.append(Candidate(cost, days, rng.choice(regions), uses))
        cands.append(phase)
        start = date(2025, 1, 1) + timedelta(days=rng.randint(0, 20))
        wins.append((start, start + timedelta(days=rng.randint(1, 20))))
    moves = (
        [(0, n - 1, {(x, y): rng.uniform(0, 50) for x in regions for y in regions})]
        if n > 1
        else []
    )
    caps = {("fleet", "f"): Capacity(rng.choice([12.0, 20.0, 7.5]))}
    return Problem(cands, wins, moves, caps, frozenset(range(0, n, 2)), _blocked(rng, cands))


def _blocked(rng: random.Random, cands: list[list[Candidate]]) -> list:
    """Now and then a transfer from the first phase to the last whose data a rule blocks at
    some of the last phase's candidates (unless the first runs in the same region)."""
    if len(cands) < 2 or rng.random() < 0.4:
        return []
    rules = {k: "rule-x" for k in range(len(cands[-1])) if rng.random() < 0.6}
    return [(0, len(cands) - 1, rules)] if rules else []


@pytest.mark.parametrize("seed", range(60))
def test_the_model_is_the_one_highspy_built(seed):
    rng = random.Random(seed)
    p = _problem(rng)
    force = {0: 0} if rng.random() < 0.3 else {}
    for goal, max_days in (("cost", None), ("time", None), ("cost", 7.0 + rng.random())):
        want = _as_solved(_reference(p, goal, force, max_days))
        got = _as_solved(_ours(p, goal, force, max_days))
        assert got == want


def test_a_row_with_a_column_twice_sums_as_highspy_does():
    # highspy sums a repeated column with a running total and its differences: 0.1 + 0.2 then
    # 0.7 - (0.1 + 0.2) ... are not 0.1 + 0.2 and 0.7 bit for bit.
    terms = [(1, 0.1), (0, 0.7), (1, 0.2), (2, 1e-3)]
    merged = placement._merged(terms)
    total = 0.7
    expected = [
        (0, 0.7),
        (1, (total + 0.1 + 0.2) - total),
        (2, (total + 0.1 + 0.2 + 1e-3) - (total + 0.1 + 0.2)),
    ]
    assert merged == expected
    assert not math.isnan(merged[1][1])


@pytest.mark.parametrize("seed", range(60))
def test_a_transfer_a_rule_blocks_is_never_chosen_and_the_solver_equals_brute_force(seed):
    """rev14a #1: a plan sent personal data abroad, the transfer's rule judged only once the
    phases were placed. Candidates whose transfer a rule blocks are taken only with the source
    in their region; the solver's optimum is brute force's, and it never breaks the rule."""
    rng = random.Random(1000 + seed)
    p = _problem(rng)
    for objective in ("cost", "time"):
        try:
            expected = placement.brute_force(p, objective)
        except Infeasible:
            with pytest.raises(Infeasible):
                placement.solve(p, objective)
            continue
        got = placement.solve(p, objective)
        assert not placement.banned(p, got) and placement.feasible(p, got)
        assert placement.total(p, got) == pytest.approx(placement.total(p, expected), abs=1e-6)


def test_a_blocked_transfer_keeps_the_receiving_phase_at_home():
    """The cheaper destination abroad is taken only if the source could go with it; the
    source's one candidate is at home, so the destination stays at home, at more cost."""
    win = [(date(2025, 1, 1), date(2025, 2, 1))] * 2
    home, abroad = Candidate(100.0, 1.0, "cn"), Candidate(10.0, 1.0, "us")
    free = Problem([[Candidate(1.0, 1.0, "cn")], [abroad, home]], win)
    assert placement.solve(free) == [0, 0]
    ruled = Problem(free.candidates, win, blocked=[(0, 1, {0: "cn-pipl"})])
    assert placement.solve(ruled) == [0, 1] == placement.brute_force(ruled)
    assert placement.banned(ruled, [0, 0]) == [(0, 1, "cn-pipl")]
    # The source may follow the destination abroad if it has a candidate there.
    both = Problem([[Candidate(1.0, 1.0, "cn"), Candidate(2.0, 1.0, "us")], [abroad, home]], win)
    both = Problem(both.candidates, win, blocked=[(0, 1, {0: "cn-pipl"})])
    assert placement.solve(both) == [1, 0]
    # Nowhere to go: infeasible, not a plan that breaks the rule.
    none = Problem([[Candidate(1.0, 1.0, "cn")], [abroad]], win, blocked=[(0, 1, {0: "r"})])
    with pytest.raises(Infeasible):
        placement.solve(none)
