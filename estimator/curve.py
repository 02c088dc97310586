"""A cost curve: a phase's cost over one drawn input (its efficiency), evaluated at a few hundred
points and interpolated for a million draws, exactly where a straight line does not fit.

The Monte Carlo of a placed phase draws two inputs: a price factor, on which the cost is affine
(every priced line item is price x quantity), and an efficiency, on which it is smooth between the
steps where a resized fleet gains or loses whole instances. So the curve stores, at each knot,
the cost at price factor 1 and its slope per unit of price factor, and interpolates linearly in
the efficiency between knots.

The curve checks itself. It starts with GRID equal cells over the efficiency range and evaluates
each cell's ends at price factors 1 and 2 and its middle at 1.5. A cell is straight when no
discrete quantity the cost steps with (the caller's step columns: devices billed, layout) differs
between its ends, and its middle lies on the plane through its ends' four costs within TOLERANCE.
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

# Evaluates rows of (eff, price_factor) and returns, row for row, a `cost` column (null where
# the draw has no cost) and the columns the cost steps with.
Evaluate = Callable[[pl.DataFrame], pl.DataFrame]


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
        mids = knots.add(sorted({k for cell in todo for k in cell} - knots.at.keys()), todo)
        crooked = [
            cell[0] for cell, mid in zip(todo, mids, strict=True) if not knots.straight(cell, mid)
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

    def add(self, new: list[int], cells: list[tuple[int, int]]) -> list[float | None]:
        """Evaluates the `new` knots at price factors 1 and 2, and the middles of `cells` at
        1.5 (the middle of the cell in both inputs); returns the middles' costs."""
        effs = [self.eff(k) for k in new]
        rows = pl.DataFrame(
            {
                "eff": effs + effs + [self.eff((a + b) / 2) for a, b in cells],
                "price_factor": [1.0] * len(new) + [2.0] * len(new) + [1.5] * len(cells),
            },
            schema={"eff": pl.Float64, "price_factor": pl.Float64},
        )
        out = self.evaluate(rows)
        cost = out["cost"].to_list()
        n = len(new)
        self.at.update(zip(new, zip(cost[:n], cost[n : 2 * n], strict=True), strict=True))
        self.steps.update(zip(new, out.drop("cost").head(n).rows(), strict=True))
        return cost[2 * n :]

    def straight(self, cell: tuple[int, int], mid: float | None) -> bool:
        """Whether the cost is linear across the cell: no step column differs between its ends
        (a staircase of equal steps looks straight at any middle) and its middle lies on the
        plane through its ends' four costs."""
        a, b = cell
        if self.steps[a] != self.steps[b]:
            return False
        ends = [y for y in (*self.at[a], *self.at[b]) if y is not None]
        if len(ends) < 4 or mid is None:  # unpriced: straight only if unpriced throughout
            return not ends and mid is None
        line = sum(ends) / 4
        return abs(mid - line) <= TOLERANCE * max(abs(mid), abs(line))

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
