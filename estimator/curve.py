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
from dataclasses import dataclass, replace

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
    # Draws evaluated while the curve was built (`build`'s `draws`): the draws themselves and,
    # for the rows `known_rows` (ascending), their costs `known_costs`.
    draws: pl.DataFrame | None = None
    known_rows: pl.Series | None = None
    known_costs: pl.Series | None = None

    def cost(self, eff: pl.Series, price: pl.Series | None) -> pl.Series:
        """The cost at each draw; `price` None means the price factor is 1 throughout."""
        # Each draw's cell, its row of `cells` gathered whole (faster than a gather per column).
        at = self.cells[self._cell(eff)]
        t = (eff - at["x0"]) * at["inverse_width"]
        # y0 + dy * t keeps a flat cell exactly flat.
        cost = (at["y0"] + at["dy"] * t).alias("cost")
        if price is not None:
            cost = cost + (at["s0"] + at["ds"] * t) * (price - 1.0)
        rows = at["exact"].arg_true()
        if not rows.len():
            return cost
        draws = pl.DataFrame({"eff": eff} if price is None else {"eff": eff, "price": price})
        exact = draws.select("eff", price_factor=pl.col("price") if price is not None else 1.0)
        known, costs, drawn = self.known_rows, self.known_costs, self.draws
        if known is not None and costs is not None and drawn is not None and exact.equals(drawn):
            # Every draw of a cell still crooked after the cut was evaluated with the cut.
            return cost.scatter(rows, costs.gather(known.search_sorted(rows)))
        return cost.scatter(rows, self.evaluate(exact[rows])["cost"])

    def _cell(self, eff: pl.Series) -> pl.Series:
        if self.high <= self.low:  # no efficiency range: one knot, one cell
            return pl.zeros(eff.len(), dtype=pl.UInt32, eager=True)
        bucket = ((eff - self.low) * (BUCKETS / (self.high - self.low))).floor()
        return self.cell_of_bucket.gather(bucket.clip(0, BUCKETS - 1).cast(pl.UInt32))


def build(
    evaluate: Evaluate,
    low: float,
    high: float,
    draws: pl.DataFrame | None = None,
    eager_up_to: int = 0,
) -> Curve:
    """The curve of `evaluate` over [low, high], cut finer where a straight line does not fit.

    `draws` (columns eff, price_factor), when given, are the draws `Curve.cost` will be asked
    for: where at most `eager_up_to` of them fall in the cells being cut, they are evaluated
    with the cut (one round of evaluation instead of two; a round costs ~0.08 s whatever its
    size), and those in cells still crooked after it are then looked up, not evaluated. The
    figures are the same either way."""
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
    known: tuple[pl.Series, pl.Series] | None = None
    for cut in (False, True):
        early = _in_cells(draws, low, high, [a // SPLIT for a, _ in todo]) if cut else None
        if early is not None and early.len() > eager_up_to:
            early = None
        new = sorted({k for cell in todo for k in cell} - knots.at.keys())
        extra = None if early is None or draws is None else draws[early]
        mids, costs = knots.add(new, todo, extra)
        if early is not None and costs is not None:
            known = (early, costs)
        crooked = [
            cell[0] for cell, mid in zip(todo, mids, strict=True) if not knots.straight(cell, mid)
        ]
        if cut or not crooked:
            break
        todo = [(k, k + 1) for a in crooked for k in range(a, a + SPLIT)]
    # Cells still crooked after the cut: evaluated draw by draw.
    line = knots.curve(set(crooked))
    if known is None:
        return line
    return replace(line, draws=draws, known_rows=known[0], known_costs=known[1])


def _in_cells(
    draws: pl.DataFrame | None, low: float, high: float, grid_cells: list[int]
) -> pl.Series | None:
    """The rows (ascending) of the draws whose efficiency falls in the given GRID cells."""
    if draws is None:
        return None
    bucket = ((pl.col("eff") - low) * (BUCKETS / (high - low))).floor().clip(0, BUCKETS - 1)
    cell = (bucket // SPLIT).cast(pl.Int64)
    return draws.select(cell.is_in(grid_cells).alias("in")).to_series().arg_true()


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

    def add(
        self, new: list[int], cells: list[tuple[int, int]], extra: pl.DataFrame | None = None
    ) -> tuple[list[float | None], pl.Series | None]:
        """Evaluates the `new` knots at price factors 1 and 2, the middles of `cells` at 1.5
        (the middle of the cell in both inputs) and the rows of `extra` (eff, price_factor) in
        the same round; returns the middles' costs and the costs of `extra`."""
        effs = [self.eff(k) for k in new]
        rows = pl.DataFrame(
            {
                "eff": effs + effs + [self.eff((a + b) / 2) for a, b in cells],
                "price_factor": [1.0] * len(new) + [2.0] * len(new) + [1.5] * len(cells),
            },
            schema={"eff": pl.Float64, "price_factor": pl.Float64},
        )
        if extra is not None:
            rows = pl.concat([rows, extra.select(pl.col("eff", "price_factor").cast(pl.Float64))])
        out = self.evaluate(rows)
        n, m = len(new), 2 * len(new) + len(cells)
        cost = out["cost"].head(m).to_list()
        self.at.update(zip(new, zip(cost[:n], cost[n : 2 * n], strict=True), strict=True))
        self.steps.update(zip(new, out.drop("cost").head(n).rows(), strict=True))
        return cost[2 * n :], None if extra is None else out["cost"].slice(m)

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
