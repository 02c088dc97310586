"""Uncertainty: Monte-Carlo percentiles and one-at-a-time sensitivity of a quote's total.

A quote fixes the placements; what stays uncertain is how fast the work runs (MFU for training,
decode efficiency for serving: efficiency.csv ranges), what the capacity costs (offer and
hardware price ranges), how much work there is (tokens, demand) and exchange rates. Every sample
is a row of a frame that goes through the same `evaluate` as the quote, so 100,000 samples are a
few vectorised passes, not 100,000 quotes. Draws are vectorised too: uniforms come from a
seeded hash of the sample index (reproducible for a seed, no Python loop).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from estimator.context import Context
from estimator.errors import ScenarioError
from estimator.evaluate import Phase, evaluate
from estimator.options import OptionQuery, select
from estimator.results import PhaseQuote, Quote
from estimator.scenario import TrainPhase
from estimator.timeline import Window

# Inputs without a published range (tokens, demand, exchange rates) swing by this fraction either
# way in `sensitivity`; the CLI's --swing changes it.
DEFAULT_SWING = 0.2
PERCENTILES = (0.1, 0.5, 0.9)
# P10 / P90 of 200,000 samples have a standard error near 0.1%: more adds time, not knowledge.
# 200,000 of the split example take ~13 s and ~260 MB on 2 loaded cores (each sample of a
# serving phase solves its batch); 1,000,000 took ~90 s, too long for an interactive cap.
MAX_SAMPLES = 200_000


@dataclass(frozen=True)
class _Placed:
    """One phase of a quote, ready to be re-evaluated with varied inputs."""

    spec: Phase
    quoted: PhaseQuote
    window: Window  # when it runs, as quoted
    option: pl.DataFrame  # the one option row the phase is placed at
    price_range: tuple[float, float]  # as factors of the price used
    eff: tuple[float, float, float]  # low, default, high of MFU / decode efficiency

    @property
    def eff_column(self) -> str:
        return "mfu" if isinstance(self.spec, TrainPhase) else "decode_efficiency"


def _placed(c: Context, q: Quote) -> list[_Placed]:
    out = []
    horizon = max(p.end for p in q.phases)
    for pq in q.phases:
        spec = c.scenario.phase(pq.name)
        option = select(c.options, OptionQuery.placed(pq))
        row = option.row(0, named=True)
        base = row["price_per_device_hour"] if row["option"] == "rented" else row["server_price"]
        low = (row["price_low"] or base) / base
        high = (row["price_high"] or base) / base
        x = pq.physics
        if isinstance(spec, TrainPhase):
            eff = (x["mfu_low"], x["mfu"], x["mfu_high"])
        else:
            eff = (x["decode_efficiency_low"], x["decode_efficiency"], x["decode_efficiency_high"])
            # Placed as quoted: the replica size stays, the fleet follows the demand.
            spec = spec.model_copy(update={"replica_devices": x["tensor_parallel"]})
        window = Window(pq.start, pq.end, horizon)
        out.append(_Placed(spec, pq, window, option, (low, high), eff))
    return out


def _cost(c: Context, ph: _Placed, draws: pl.DataFrame) -> pl.Series:
    """The phase's cost in the quote's currency for each row of `draws` (price_factor, eff,
    work_factor), placed as quoted (a fixed fleet stays fixed; a deadline resizes it)."""
    spec = ph.spec
    if isinstance(spec, TrainPhase):
        varied = draws.select(
            "price_factor",
            pl.col("eff").alias("mfu"),
            (pl.col("work_factor") * spec.tokens).alias("tokens"),
        )
    else:
        varied = draws.select("price_factor", pl.col("eff").alias("decode_efficiency"))
        if spec.input_tokens_per_day and spec.output_tokens_per_day:
            varied = varied.with_columns(
                (draws["work_factor"] * spec.input_tokens_per_day).alias("input_tokens_per_day"),
                (draws["work_factor"] * spec.output_tokens_per_day).alias("output_tokens_per_day"),
            )
    rows = ph.option.join(varied, how="cross")
    return evaluate(c, spec, rows, ph.window)["total_usd"] * c.quote_per_usd


def uniforms(n: int, seed: int, stream: int, start: int = 0) -> pl.Series:
    """Uniforms in (0, 1) for samples start..start+n: a seeded 64-bit hash of the sample index,
    one stream per input (so a sample's draws do not depend on how the run is chunked)."""
    h = pl.int_range(start, start + n, eager=True).hash(seed=(seed * 1_000_003 + stream) % 2**63)
    return (h.cast(pl.Float64) + 0.5) / 2.0**64


def triangular(u: pl.Series, low: float, mode: float, high: float) -> pl.Series:
    """The triangular distribution's inverse CDF applied to uniforms `u`."""
    if high <= low:
        return pl.Series([mode] * u.len(), dtype=pl.Float64)
    k = (mode - low) / (high - low)
    return pl.select(
        pl.when(u > k)
        .then(high + (low - high) * ((1.0 - u) * (1.0 - k)).sqrt())
        .otherwise(low + (high - low) * (u * k).sqrt())
    ).to_series()


@dataclass(frozen=True)
class Percentiles:
    name: str
    p10: float
    p50: float
    p90: float
    point: float  # the quote's own figure
    point_rank: float  # the share of samples at or below it (0.5 = the median)


# Samples evaluated per pass: bounds the working memory (~7 KB a sample of split_abroad_home
# while its physics runs: 100,000 in one pass peaked at ~900 MB) and paces the progress. Each
# pass also pays the physics' fixed cost (~0.4 s), so much smaller chunks cost time.
CHUNK = 15_000


def sample(
    c: Context,
    q: Quote,
    samples: int,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> list[Percentiles]:
    """P10 / P50 / P90 of each phase and of the total, in the quote's currency, and where the
    quote's own figure sits among them. Prices and efficiencies are drawn from triangular
    distributions over their catalog ranges, with the value used as the mode. `progress` is
    called with the number of samples done after each chunk."""
    if not 0 < samples <= MAX_SAMPLES:
        raise ScenarioError(f"must be between 1 and {MAX_SAMPLES:,} (got {samples:,})", "--samples")
    placed = _placed(c, q)
    chunks: dict[str, list[pl.Series]] = {ph.quoted.name: [] for ph in placed}
    for start in range(0, samples, CHUNK):
        n = min(CHUNK, samples - start)
        for k, ph in enumerate(placed):
            draws = pl.DataFrame(
                {
                    "price_factor": triangular(
                        uniforms(n, seed, 2 * k, start), ph.price_range[0], 1.0, ph.price_range[1]
                    ),
                    "eff": triangular(uniforms(n, seed, 2 * k + 1, start), *ph.eff),
                    "work_factor": pl.repeat(1.0, n, eager=True),
                }
            )
            chunks[ph.quoted.name].append(_cost(c, ph, draws))
        if progress is not None:
            progress(start + n)
    columns = {name: pl.concat(parts) for name, parts in chunks.items()}
    points = {ph.quoted.name: ph.quoted.cost for ph in placed}
    transfers = sum(t.cost for t in q.transfers)
    frame = pl.DataFrame(columns).with_columns(
        (pl.sum_horizontal(list(columns)) + transfers).alias("total")
    )
    points["total"] = q.total
    out = []
    for name in [*columns, "total"]:
        s = frame[name]
        p10, p50, p90 = (_float(s.quantile(p, "linear")) for p in PERCENTILES)
        rank = _float((s <= points[name] * (1 + 1e-12)).mean())
        out.append(Percentiles(name, p10, p50, p90, points[name], rank))
    return out


def _float(x: object) -> float:
    return float(x) if isinstance(x, int | float) else 0.0


@dataclass(frozen=True)
class Swing:
    input: str
    low: float
    high: float
    total_at_low: float
    total_at_high: float

    @property
    def swing(self) -> float:
        return abs(self.total_at_high - self.total_at_low)


def sensitivity(c: Context, q: Quote, swing: float = DEFAULT_SWING) -> list[Swing]:
    """One input at a time from its low to its high, everything else as quoted; sorted by how
    far the total moves. Prices and efficiencies use their catalog ranges (prices without one
    move by +/- `swing`); tokens, demand and each foreign currency move by +/- `swing`."""
    if not 0 < swing < 1:
        raise ScenarioError(f"swing must be between 0 and 1, got {swing}", "--swing")
    out: list[Swing] = []
    for ph in _placed(c, q):
        out += _phase_swings(c, q, ph, swing)
    foreign = {i.unit_currency for i in q.line_items() if i.unit_currency != q.currency}
    for cur in sorted(foreign):
        billed = sum(i.amount for i in q.line_items() if i.unit_currency == cur)
        # A foreign currency that strengthens by x% makes what it bills x% dearer.
        out.append(
            Swing(
                f"FX {cur}/{q.currency}",
                1 - swing,
                1 + swing,
                q.total - billed * swing,
                q.total + billed * swing,
            )
        )
    return sorted(out, key=lambda s: s.swing, reverse=True)


def _phase_swings(c: Context, q: Quote, ph: _Placed, swing: float) -> list[Swing]:
    name, mid = ph.quoted.name, ph.eff[1]

    def two(
        price: tuple[float, float], eff: tuple[float, float], work: tuple[float, float]
    ) -> tuple[float, float]:
        draws = pl.DataFrame(
            {"price_factor": list(price), "eff": list(eff), "work_factor": list(work)}
        )
        lo, hi = _cost(c, ph, draws).to_list()
        return q.total - ph.quoted.cost + lo, q.total - ph.quoted.cost + hi

    out = []
    if ph.price_range[0] != ph.price_range[1]:
        out.append(
            Swing(f"{name}: price", *ph.price_range, *two(ph.price_range, (mid, mid), (1.0, 1.0)))
        )
    else:  # no published range: a negotiated or future price may still move
        bounds = (1 - swing, 1 + swing)
        out.append(
            Swing(
                f"{name}: price (no range, +/-{swing:.0%})",
                *bounds,
                *two(bounds, (mid, mid), (1.0, 1.0)),
            )
        )
    if ph.eff[0] != ph.eff[2]:
        label = "MFU" if isinstance(ph.spec, TrainPhase) else "decode efficiency"
        out.append(
            Swing(
                f"{name}: {label}",
                ph.eff[0],
                ph.eff[2],
                *two((1.0, 1.0), (ph.eff[0], ph.eff[2]), (1.0, 1.0)),
            )
        )
    work = "tokens" if isinstance(ph.spec, TrainPhase) else "demand"
    bounds = (1 - swing, 1 + swing)
    out.append(Swing(f"{name}: {work}", *bounds, *two((1.0, 1.0), (mid, mid), bounds)))
    return out
