"""A cost curve: a phase's cost over one drawn input (its efficiency), evaluated at a few hundred
points and interpolated for a million draws, exactly where a straight line does not fit.

The Monte Carlo of a placed phase draws two inputs: a price factor, on which the cost is affine
(every priced line item is price x quantity), and an efficiency, on which it is smooth between the
steps where a resized fleet gains or loses whole instances. So the curve stores, at each knot,
the cost at price factor 1 and its slope per unit of price factor, and interpolates linearly in
the efficiency between knots.

The curve checks itself. It starts with GRID equal cells over the efficiency range and evaluates
each cell's ends at price factors 1 and 2 and its middle and quarter points at 1.5. A cell is
straight when no discrete quantity the cost steps with (the caller's step columns: devices billed,
layout) differs between its ends and those three points, and they lie on the plane through its
ends' four costs within TOLERANCE. (Ends alone miss a sizing that leaves a layout and comes back
inside one cell: phys17c found split_auto's pretraining on 2,144 B200 at PP4, 2,128 at PP2 over a
third of a cell, then 2,144 again, its middle on the line, 0.1% off.)
A cell that is not straight is cut into SPLIT cells, checked the same way; draws that fall in a
cut cell that is still not straight are evaluated one by one. Knots sit on a grid of
GRID x SPLIT buckets, so a draw finds its cell with one multiplication and one lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

# A smooth cost (1 / MFU) bends by at most ~3e-6 of itself across a cell of 1/256 of the widest
# efficiency range in efficiency.csv, so only steps and kinks are cut. A cut cell is 1/16,384 of
# the range: of 1,000,000 draws, ~100 per step fall in one and are evaluated exactly. Each round
# of evaluation costs ~0.1 s whatever its size, so one cut beats several finer ones.
GRID = 256
SPLIT = 64
TOLERANCE = 1e-5
BUCKETS: int = GRID * SPLIT
# Where inside a cell the cost and the step columns are checked (shares of its width).
INSIDE = (0.25, 0.5, 0.75)

# Evaluates rows of (eff, price_factor) and returns, row for row, a `cost` column (null where
# the draw has no cost) and the columns the cost steps with.
Evaluate = Callable[[pl.DataFrame], pl.DataFrame]
# A cell's inner points (INSIDE): each one's cost at price factor 1.5 (None: unpriced there) and
# its step columns' values.
_Inside = list[tuple[float | None, tuple[object, ...]]]


@dataclass(frozen=True)
class Curve:
    """The cost over [low, high] of the efficiency. Per cell (ascending): its left knot `x0`,
    1 / its width, the cost at the left knot at price factor 1 (`y0`) and its rise across the
    cell (`dy`), the slope per unit of price factor at the left knot (`s0`) and its change
    (`ds`), and whether the cell is evaluated draw by draw (`exact`)."""

    evaluate: Evaluate
    low: float
    high: float
    cell_of_bucket: pl.Series
    cells: pl.DataFrame

    def cost(self, eff: pl.Series, price: pl.Series | None) -> pl.Series:
        """The cost at each draw; `price` None means the price factor is 1 throughout."""
        draws = pl.DataFrame({"eff": eff} if price is None else {"eff": eff, "price": price})
        out = draws.lazy().with_columns(cell=self._cell(pl.col("eff")))

        def at(name: str) -> pl.Expr:
            return pl.lit(self.cells[name]).gather(pl.col("cell"))

        t = (pl.col("eff") - at("x0")) * at("inverse_width")
        # y0 + dy * t keeps a flat cell exactly flat.
        cost = at("y0") + at("dy") * t
        if price is not None:
            cost = cost + (at("s0") + at("ds") * t) * (pl.col("price") - 1.0)
        # In one piece: a query's parallel parts can leave a column in several, which later
        # steps (a quantile: 10x) then pay for.
        done = out.select(cost.alias("cost"), at("exact").alias("exact")).collect().rechunk()
        rows = done["exact"].arg_true()
        if not rows.len():
            return done["cost"]
        exact = draws[rows].select(
            "eff", price_factor=pl.col("price") if price is not None else 1.0
        )
        return done["cost"].scatter(rows, self.evaluate(exact)["cost"])

    def _cell(self, eff: pl.Expr) -> pl.Expr:
        if self.high <= self.low:  # no efficiency range: one knot, one cell
            return pl.lit(0, dtype=pl.UInt32)
        bucket = ((eff - self.low) * (BUCKETS / (self.high - self.low))).floor()
        return pl.lit(self.cell_of_bucket).gather(bucket.clip(0, BUCKETS - 1).cast(pl.UInt32))


def build(evaluate: Evaluate, low: float, high: float) -> Curve:
    """The curve of `evaluate` over [low, high], cut finer where a straight line does not fit."""
    knots = _Knots(evaluate, low, high)
    if high <= low:  # no efficiency range: one knot, one cell of width 0
        knots.add([0], [])
        cells = knots.frame().select(
            x0="x",
            inverse_width=pl.lit(0.0),
            y0="y",
            dy=pl.lit(0.0),
            s0="s",
            ds=pl.lit(0.0),
            exact=pl.lit(False),
        )
        return Curve(evaluate, low, low, pl.Series([], dtype=pl.UInt32), cells)
    todo = [(j * SPLIT, (j + 1) * SPLIT) for j in range(GRID)]
    for cut in (False, True):
        inner = knots.add(sorted({k for cell in todo for k in cell} - knots.at.keys()), todo)
        crooked = [
            cell[0] for cell, pts in zip(todo, inner, strict=True) if not knots.straight(cell, pts)
        ]
        if cut or not crooked:
            break
        todo = [(k, k + 1) for a in crooked for k in range(a, a + SPLIT)]
    return knots.curve(set(crooked))  # cells still crooked after the cut: evaluated draw by draw


class _Knots:
    """The evaluated knots of a curve under construction, on the bucket grid."""

    def __init__(self, evaluate: Evaluate, low: float, high: float) -> None:
        self.evaluate = evaluate
        self.low, self.high = low, high
        # bucket -> cost at price factor 1, 2 (None: unpriced there)
        self.at: dict[int, tuple[float | None, float | None]] = {}
        self.steps: dict[int, tuple[object, ...]] = {}  # bucket -> the step columns' values

    def eff(self, bucket: float) -> float:
        return self.low + (self.high - self.low) * bucket / BUCKETS

    def add(self, new: list[int], cells: list[tuple[int, int]]) -> list[_Inside]:
        """Evaluates the `new` knots at price factors 1 and 2, and the middle and quarter points
        of `cells` at 1.5 (in the middle of the price factor); returns, per cell, those points'
        costs and step columns."""
        effs = [self.eff(k) for k in new]
        inside = [self.eff(a + (b - a) * t) for a, b in cells for t in INSIDE]
        rows = pl.DataFrame(
            {
                "eff": effs + effs + inside,
                "price_factor": [1.0] * len(new) + [2.0] * len(new) + [1.5] * len(inside),
            },
            schema={"eff": pl.Float64, "price_factor": pl.Float64},
        )
        out = self.evaluate(rows)
        cost = out["cost"].to_list()
        steps = out.drop("cost").rows()
        n, m = len(new), len(INSIDE)
        self.at.update(zip(new, zip(cost[:n], cost[n : 2 * n], strict=True), strict=True))
        self.steps.update(zip(new, steps[:n], strict=True))
        inner = list(zip(cost[2 * n :], steps[2 * n :], strict=True))
        return [inner[m * i : m * (i + 1)] for i in range(len(cells))]

    def straight(self, cell: tuple[int, int], inside: _Inside) -> bool:
        """Whether the cost is linear across the cell: no step column differs between its ends
        and its inner points (a staircase of equal steps looks straight at any middle; a layout
        left and returned to inside the cell shows only inside it) and each inner point lies on
        the plane through its ends' four costs."""
        a, b = cell
        if any(self.steps[a] != st for st in (self.steps[b], *(st for _, st in inside))):
            return False
        ends = [y for y in (*self.at[a], *self.at[b]) if y is not None]
        costs = [y for y, _ in inside if y is not None]
        if len(ends) < 4 or len(costs) < len(inside):  # unpriced: straight only if throughout
            return not ends and not costs
        left, right = sum(ends[:2]) / 2, sum(ends[2:]) / 2
        for t, y in zip(INSIDE, costs, strict=True):
            line = left + t * (right - left)
            if abs(y - line) > TOLERANCE * max(abs(y), abs(line)):
                return False
        return True

    def frame(self) -> pl.DataFrame:
        """The knots in order: bucket `k`, efficiency `x`, cost `y` at price factor 1 and its
        slope `s` per unit of price factor."""
        ks = sorted(self.at)
        return pl.DataFrame(
            {
                "k": ks,
                "x": [self.eff(k) for k in ks],
                "y": [self.at[k][0] for k in ks],
                "y2": [self.at[k][1] for k in ks],
            },
            schema={"k": pl.Int64, "x": pl.Float64, "y": pl.Float64, "y2": pl.Float64},
        ).with_columns(s=pl.col("y2") - pl.col("y"))

    def curve(self, bent: set[int]) -> Curve:
        knots = self.frame()
        rise = {name: pl.col(name).diff().shift(-1) for name in ("k", "x", "y", "s")}
        cells = knots.select(
            x0="x",
            inverse_width=1.0 / rise["x"],
            y0="y",
            dy=rise["y"],
            s0="s",
            ds=rise["s"],
            exact=pl.col("k").is_in(list(bent)),
            width=rise["k"],
        ).head(-1)
        cell_of_bucket = pl.int_range(cells.height, dtype=pl.UInt32, eager=True).repeat_by(
            cells["width"]
        )
        return Curve(
            self.evaluate, self.low, self.high, cell_of_bucket.explode(), cells.drop("width")
        )
