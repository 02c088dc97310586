"""Uncertainty: Monte Carlo percentiles and one-at-a-time sensitivity of a quote's total.

A quote fixes the placements (site, instance, pricing: what is rented or bought); what stays
uncertain is how fast the work runs (the model's own error, below; or MFU for training, decode
efficiency for serving: efficiency.csv ranges), what the capacity costs (offer and hardware
price ranges), how much work there is (tokens, demand) and exchange rates. A serving
replica's size is a deployment setting, not a purchase: each draw searches it as a quote at that
efficiency would (unless the scenario fixes it), on the quoted placement.

A serving phase with no demand and no fleet size runs whole instances of whole replicas at full
load: its total is fixed by construction (only a price, or a change of replica size, moves it)
and options are ranked on its price per output token (`evaluate`), which is what an efficiency
moves. For such a phase the percentiles add that price per million output tokens (a row of its
own, outside the total), and sensitivity gives it at each end and has no demand row.

Monte Carlo draws a price factor and the model's own error per phase and sample (vectorised:
uniforms are a seeded hash of the sample index, reproducible for a seed, no Python loop). The
error is one held-out calibration residual of the phase's kind, ln(published / predicted), drawn
from their empirical distribution (`estimator.model_error`, precomputed in
estimator/data/model_error.csv): training device-hours scale by e^r, drawn from the published
whole runs (they include goodput and a team's own stack, which throughput benchmarks leave out
by construction); a serving rate by e^r, drawn from the held-out serving benchmarks. It is
carried by the goodput columns (training hours go as 1 / goodput, a serving fleet's rate is
derated by the serving goodput), so a deadline's fleet resizes with it.

No double count: each residual was measured with the prediction at the catalog's default
efficiencies (the mode of the efficiency ranges). Their spread is the observed spread of real
throughput around that prediction (stacks, recipes, kernels), which is what the efficiency
ranges were a judgement of; drawing both counts it twice. So a sample that draws the error keeps
MFU, decode efficiency and prefill MFU as quoted. Goodput is not drawn apart: the defaults'
source for it (Llama 3's ">90%") gives a figure, not a spread, and the whole-run residuals
include its spread. A training phase that gives its own MFU draws no error (the residuals are
the defaults' error). `model_error=False` (CLI `--efficiency-ranges`) draws the efficiencies
from their catalog ranges instead, as before session 13. DESIGN.md says more.

Each draw is costed through the same `evaluate` as the quote, but not one by one:
`estimator.curve` evaluates the phase at a few hundred values of the drawn input (the error or
the efficiency) and interpolates, evaluating exactly the draws that fall where the cost steps.
A million samples cost a few evaluations per phase.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial, reduce
from typing import Any, Final, Literal

import polars as pl

from estimator import checks, curve, model_error
from estimator.context import Context
from estimator.costing import COMPONENTS, cents, summed
from estimator.errors import ScenarioError
from estimator.evaluate import Phase, evaluate
from estimator.frozen import LIST_MUTATORS, sealed
from estimator.model_error import Kind
from estimator.money import Money
from estimator.options import OptionQuery, select
from estimator.physics import LAYOUT_STEPS
from estimator.physics.training import searches_shared
from estimator.published import published_runs
from estimator.results import PhaseQuote, Quote
from estimator.scenario import ServePhase, TrainPhase
from estimator.timeline import MAX_RUN_DAYS, MAX_RUN_YEARS, Window
from estimator.transfers import named
from pricing.errors import shown

# Inputs without a published range (tokens, demand, exchange rates) swing by this fraction either
# way in `sensitivity`; the CLI's --swing changes it.
DEFAULT_SWING = 0.2
PERCENTILES = (0.1, 0.5, 0.9)
# What a phase's cost steps with as the efficiency moves (its cost curve's step columns): the
# devices billed (a resized fleet gains or loses whole instances or servers) and the training
# layout's numbers, whose `tensor_parallel` is also a serving replica's size (searched per draw).
STEPS = ("billed_devices", *LAYOUT_STEPS)
# The figures a placed phase is sampled on: its cost, and for serving with no demand (ranked per
# output token) its price per million output tokens too, both in the quote's currency.
Measure = Literal["cost", "per_million_output_tokens"]
SwingKind = Literal["factor", "efficiency"]
COST: Final = "cost"
PER_MILLION: Final = "per_million_output_tokens"
# The serving batch is an integer the TPOT target caps: the output rate, and so the price per
# token, steps with it (the total of a fixed fleet does not).
PER_MILLION_STEPS = (*STEPS, "batch")
# Verdicts under which a sample of a placed phase has no cost: at the drawn efficiency no fleet
# of its replicas meets the latency target or holds the model (the evaluation then prices a
# minimum fleet, a figure that means nothing). Such samples are counted, not priced. A short
# capacity keeps its cost (more can be rented elsewhere); not a fleet sized past its own size
# (`checks.fleet_outgrown`), which cannot grow, nor a serving demand past the devices given
# (`checks.given_short`), nor a run past its deadline, which the quote leaves unpriced
# (`deadline-missed`): all in `_values` (rev16d W1, rev17a #1).
UNPRICED = ("latency-target-missed", "memory-does-not-fit")
# P10 / P90 of 1,000,000 samples have a standard error near 0.05%: more adds time and memory,
# not knowledge.
MAX_SAMPLES = 1_000_000
# Up to this many samples, evaluating each costs less than building its phase's cost curve (a
# curve evaluates ~770 points, more where the cost steps).
DIRECT_UP_TO = 3 * curve.GRID
# The physics column a drawn model error of each kind is carried by (`_error_goodput`).
GOODPUT: Final = {"train": "goodput", "serve": "serve_goodput"}


@dataclass(frozen=True)
class _Placed:
    """One phase of a quote, ready to be re-evaluated with varied inputs."""

    spec: Phase
    quoted: PhaseQuote
    window: Window  # when it runs, as quoted
    option: pl.DataFrame  # the one option row the phase is placed at
    price_range: tuple[float, float]  # as factors of the price used
    eff: tuple[float, float, float]  # low, default, high of MFU / decode efficiency
    # Serving: low, default, high of the prefill MFU, drawn with the decode efficiency (one
    # serving-efficiency factor, `prefill_with`); None for training.
    prefill: tuple[float, float, float] | None = None
    # What the drawn input is: None, the efficiency (`eff`); "train" / "serve", the model's own
    # error of that kind (an ln-ratio, `model_error`), with the efficiency as quoted.
    error: Kind | None = None
    goodput: float = 1.0  # the quoted (serving) goodput the model error scales
    # Whether the catalog row gives a low and a high end of the price: a missing end is the
    # price used, so that side is not drawn (`not_drawn` says so, rev18a #5).
    price_ends: tuple[bool, bool] = (True, True)

    @property
    def axis(self) -> tuple[float, float]:
        """The range of the drawn input: the efficiency's, or the model error's ln-ratios."""
        if self.error is None:
            return self.eff[0], self.eff[2]
        v = model_error.log_ratios(self.error)
        return v[0], v[-1]

    def prefill_with(self, eff: pl.Expr) -> pl.Expr:
        """The prefill MFU that goes with a decode efficiency: the same software and kernels
        make both, so they move together, linearly between their catalog lows, values and
        highs. Drawn apart, prefill (which sets the cost of a long prompt, and of decode
        at a large batch) never moved: a serving cost over the catalog's prefill range moved
        -17%..+25% while its P10 = P90 (review8b)."""
        assert self.prefill is not None
        (lo, mid, hi), (plo, pmid, phi) = self.eff, self.prefill

        def part(a: float, b: float, pa: float, pb: float) -> pl.Expr:
            # An empty side of the decode range: the prefill MFU as quoted (review8c #2: its
            # low end priced every sample of a decode row without a range).
            return pl.lit(pmid) if b <= a else pa + (eff - a) * ((pb - pa) / (b - a))

        return (
            pl.when(eff <= mid).then(part(lo, mid, plo, pmid)).otherwise(part(mid, hi, pmid, phi))
        )

    @property
    def eff_column(self) -> str:
        return "mfu" if isinstance(self.spec, TrainPhase) else "decode_efficiency"

    @property
    def per_token(self) -> bool:
        """Serving with no demand and no fleet size: whole instances of whole replicas at full
        load, ranked per output token (`evaluate._per_output_token`)."""
        return _ranked_per_token(self.spec)

    @property
    def per_million_point(self) -> float:
        """The quote's price per million output tokens of a `per_token` phase: its cost over the
        tokens its fleet serves at full load, less the serving goodput (as
        `evaluate._per_output_token` ranks it)."""
        q, spec = self.quoted, self.spec
        assert isinstance(spec, ServePhase)
        served = q.full_load_output_tokens_per_day() * spec.days
        return q.cost / served * 1e6 if served else math.nan


def _ranked_per_token(spec: Phase) -> bool:
    """Whether a phase is serving with no demand and no fleet size (ranked per output token)."""
    return isinstance(spec, ServePhase) and not spec.devices and not _has_demand(spec)


def _has_demand(spec: Phase) -> bool:
    """Whether a serving phase has a daily demand (input and output tokens; both or neither)."""
    return isinstance(spec, ServePhase) and spec.output_tokens_per_day is not None


def _placed(c: Context, q: Quote, error: bool = False) -> list[_Placed]:
    """The quote's priced phases. A phase with no price (no offer on the date, a precision the
    device lacks) has nothing to sample: it is left out, as the quote's total leaves it out
    (it crashed on its empty option frame, or made every sampled total unpriced). With `error`,
    each phase draws the model's own error of its kind instead of its efficiency."""
    out = []
    for pq in q.phases:
        if not pq.priced:
            continue
        spec = c.scenario.phase(pq.name)
        option = select(c.options, OptionQuery.placed(pq))
        row = option.row(0, named=True)
        base = row["price_per_device_hour"] if row["option"] == "rented" else row["server_price"]
        low = (row["price_low"] or base) / base
        high = (row["price_high"] or base) / base
        ends = (row["price_low"] is not None, row["price_high"] is not None)
        x = pq.physics
        prefill = None
        kind: Kind
        if isinstance(spec, TrainPhase):
            eff = (x["mfu_low"], x["mfu"], x["mfu_high"])
            kind, goodput = "train", x["goodput"]
        else:
            eff = (x["decode_efficiency_low"], x["decode_efficiency"], x["decode_efficiency_high"])
            prefill = (x["prefill_mfu_low"], x["prefill_mfu"], x["prefill_mfu_high"])
            kind, goodput = "serve", x["serve_goodput"]
        window = Window(pq.start, pq.end)
        # A training phase that gives its own MFU states its efficiency: the residuals are the
        # error of the catalog's defaults, so it draws none (as a given MFU has no range).
        given = isinstance(spec, TrainPhase) and spec.mfu is not None
        drawn = kind if error and not given else None
        out.append(
            _Placed(
                spec, pq, window, option, (low, high), eff, prefill, drawn, float(goodput), ends
            )
        )
    return out


def _cost(c: Context, ph: _Placed, draws: pl.DataFrame, value: Measure = COST) -> pl.Series:
    """The phase's cost (or with `value` PER_MILLION its price per million output tokens) in the
    quote's currency for each row of `draws` (columns eff, price_factor and, when the work
    varies, work_factor), placed as quoted (a fixed fleet stays fixed; a deadline resizes it)."""
    return _evaluated(c, ph, draws, value)["cost"]


def _evaluated(c: Context, ph: _Placed, draws: pl.DataFrame, value: Measure = COST) -> pl.DataFrame:
    """`_cost` as a column `cost`, with the discrete quantities the value steps with (STEPS, or
    PER_MILLION_STEPS): a cost curve's `Evaluate`."""
    out = _evaluation(c, ph, draws)
    steps = STEPS if value == COST else PER_MILLION_STEPS
    return out.select(
        _values(c, ph.spec)[value].alias("cost"),
        *(pl.col(name) for name in steps if name in out.columns),
    )


def unpriced(c: Context, p: Phase) -> pl.Expr:
    """Why a row of an evaluation of phase `p` has no cost, in words; null where it has one.
    The one decision (rev17b #3, #16): `_values` prices a row only where this is null, and what
    a percentile among unpriced samples, an end of a swing, a footnote or a chart legend says
    is these words, so the reason cannot drift from the mask (a serving phase short of its
    given `devices` read "misses its latency target")."""
    # A run past the calendar bound has no plan: a quote refuses it (`timeline.within_calendar`),
    # so a draw or an end of a swing that makes one has no cost either (review8c #5).
    # Nor a run past its deadline: the quote's own `deadline-missed` condition, so a fleet
    # given `devices` and a deadline answers as the same fleet sized to it does, and a
    # rental's end of a swing is the quote of that value, unpriced (rev16d W1).
    # Nor a fleet the sample resizes past its own size (a training fleet is resized only by its
    # deadline), or a serving demand the sample raises past the devices given: the quote leaves
    # them unpriced (`checks.outgrown`), so an end of a swing there is unpriced too (rev16c W1,
    # rev17a #1).
    train = isinstance(p, TrainPhase)
    given = p.devices if isinstance(p, ServePhase) else None
    return (
        pl.when(pl.col("wall_clock_days") > MAX_RUN_DAYS)
        .then(pl.lit(f"runs past {MAX_RUN_YEARS} years"))
        .when(checks.BY_CODE["deadline-missed"].when(c, p).fill_null(False))
        .then(pl.lit("misses its deadline"))
        .when(checks.given_short(p))
        .then(pl.lit(f"needs more devices than the {given or 0:,} given"))
        .when(checks.fleet_outgrown())
        .then(pl.lit("misses its deadline" if train else "needs more devices than its fleet has"))
        .when(pl.col("verdict").is_in(UNPRICED))
        .then(pl.lit("misses its latency target (or cannot hold the model)"))
        .otherwise(pl.lit(None, pl.String))
    )


def _values(c: Context, p: Phase) -> dict[Measure, pl.Expr]:
    """COST and PER_MILLION of an evaluation of phase `p`, in the quote's currency; null where
    the sample has no cost (`unpriced`)."""
    unpriced_ = unpriced(c, p).is_not_null()
    return {
        # The run as evaluated (`run_usd`).
        COST: pl.when(unpriced_).then(None).otherwise(pl.col("run_usd") * c.quote_per_usd),
        PER_MILLION: pl.when(unpriced_)
        .then(None)
        .otherwise(pl.col("usd_per_output_token") * (1e6 * c.quote_per_usd)),
    }


def _billed(c: Context, p: Phase, out: pl.DataFrame) -> list[float | None]:
    """COST of each row of an evaluation as a quote bills it: each component in whole cents,
    then summed (`costing.line_items`, `summed`), so an end of a swing is the quote of that
    value to the cent (rev15d #9: the unrounded run cost put one end a cent off). Null where
    the row has no cost."""
    cost = out.select(_values(c, p)[COST])[:, 0].to_list()
    parts = out.select(pl.col(f"{k}_usd") * c.quote_per_usd for k in COMPONENTS).rows()
    return [
        None if x is None else summed((cents(v, c.currency) for v in row), c.currency)
        for x, row in zip(cost, parts, strict=True)
    ]


def _evaluation(c: Context, ph: _Placed, draws: pl.DataFrame) -> pl.DataFrame:
    """`evaluate` of the placed phase at each row of `draws`. A phase that draws the model's
    error reads its `eff` column as the error's ln-ratio (the curve's axis): the efficiency stays
    as quoted and the (serving) goodput carries the error."""
    spec = ph.spec
    if ph.error is not None:
        draws = draws.with_columns(
            _error_goodput(ph, pl.col("eff")), eff=pl.lit(ph.eff[1], pl.Float64)
        )
    varied = draws.select("price_factor", pl.col("eff").alias(ph.eff_column))
    if ph.error is not None:
        varied = varied.with_columns(draws.select(GOODPUT[ph.error]))
    if ph.prefill is not None:  # given apart (sensitivity), or with the decode efficiency
        pre = pl.col("prefill") if "prefill" in draws.columns else ph.prefill_with(pl.col("eff"))
        varied = varied.with_columns(draws.select(pre.alias("prefill_mfu")))
    if "work_factor" in draws.columns:
        work = draws["work_factor"]
        if isinstance(spec, TrainPhase):
            varied = varied.with_columns((work * spec.tokens).alias("tokens"))
        elif spec.input_tokens_per_day and spec.output_tokens_per_day:
            varied = varied.with_columns(
                (work * spec.input_tokens_per_day).alias("input_tokens_per_day"),
                (work * spec.output_tokens_per_day).alias("output_tokens_per_day"),
            )
    return evaluate(c, spec, ph.option.join(varied, how="cross"), ph.window)


def _error_goodput(ph: _Placed, ln_ratio: pl.Expr) -> pl.Expr:
    """The goodput that makes the quoted physics come out at a drawn model error: training
    device-hours x e^r (hours go as 1 / goodput), a serving rate x e^r (rates are derated by the
    serving goodput). Above 1 where the model under-predicts: a factor, not a share of time."""
    assert ph.error is not None
    sign = -1.0 if ph.error == "train" else 1.0
    return (ph.goodput * (sign * ln_ratio).exp()).alias(GOODPUT[ph.error])


def empirical(u: pl.Expr, values: tuple[float, ...]) -> list[dict[str, pl.Expr]]:
    """The inverse of the empirical CDF of `values` (ascending), interpolated linearly between
    order statistics (numpy's default quantile), applied to uniforms `u`: stages of columns,
    each computed on the one before, the last `draw`. (In one expression its position and index
    were computed once per use: 5-10x a triangular draw's time; staged, about 1.5x.)"""
    if len(values) == 1 or values[0] == values[-1]:
        return [{"draw": pl.lit(values[0], dtype=pl.Float64)}]
    v = pl.Series(values, dtype=pl.Float64)
    rise = v.diff().shift(-1).fill_null(0.0)  # to the next order statistic
    x, i = pl.col("_x"), pl.col("_i")
    return [
        {"_x": u * (len(values) - 1)},
        {"_i": x.floor().cast(pl.UInt32).clip(0, len(values) - 2)},
        {"draw": pl.lit(v).gather(i) + (x - i) * pl.lit(rise).gather(i)},
    ]


def _phase_draws(ph: _Placed, k: int, samples: int, seed: int) -> tuple[pl.Series, pl.Series]:
    """Phase k's efficiencies (or model errors) and price factors, one per sample: uniform
    streams 2k + 1 and 2k. Drawn phase by phase, so each phase's draws are made beside another's
    evaluation."""
    stages: list[dict[str, pl.Expr]] = []
    if ph.error is None:
        eff = triangular(pl.col(f"u{2 * k + 1}"), *ph.eff)
    else:
        *stages, last = empirical(pl.col(f"u{2 * k + 1}"), model_error.log_ratios(ph.error))
        eff = last["draw"]
    drawn = {
        "eff": eff,
        "price": triangular(pl.col(f"u{2 * k}"), ph.price_range[0], 1.0, ph.price_range[1]),
    }
    # Each stream once (its inverse CDF reads it three times), and only those a draw reads: an
    # input without a range is a constant (a hash of a million indices costs ~10 ms).
    exprs = [*drawn.values(), *(e for stage in stages for e in stage.values())]
    read = {name for expr in exprs for name in expr.meta.root_names()}
    uniforms = {f"u{j}": uniform(seed, j) for j in (2 * k, 2 * k + 1) if f"u{j}" in read}
    frame = pl.LazyFrame({"sample": pl.int_range(samples, eager=True)}).with_columns(**uniforms)
    for stage in stages:
        frame = frame.with_columns(**stage)
    # with_columns: a constant (no range) fills every row
    out = frame.with_columns(**drawn).select(list(drawn)).collect()
    return out["eff"], out["price"]


def uniform(seed: int, stream: int) -> pl.Expr:
    """Uniforms in (0, 1), one per sample index: a seeded 64-bit hash of the index, one stream
    per input (reproducible for a seed, no Python loop)."""
    h = pl.col("sample").hash(seed=(seed * 1_000_003 + stream) % 2**63)
    return (h.cast(pl.Float64) + 0.5) / 2.0**64


def triangular(u: pl.Expr, low: float, mode: float, high: float) -> pl.Expr:
    """The triangular distribution's inverse CDF applied to uniforms `u`."""
    if high <= low:
        return pl.lit(mode, dtype=pl.Float64)
    k = (mode - low) / (high - low)
    return (
        pl.when(u > k)
        .then(high + (low - high) * ((1.0 - u) * (1.0 - k)).sqrt())
        .otherwise(low + (high - low) * (u * k).sqrt())
    )


@sealed
@dataclass(frozen=True)
class Percentiles:
    """Percentiles of all the samples, an unpriced one (`unpriced`) counted above every priced
    one: a percentile that falls among them is None (the plan fails there: `unpriced_reason`)."""

    name: str
    # In the quote's currency (a per-million row: per million output tokens), as Money.
    p10: Money | None
    p50: Money | None
    p90: Money | None
    point: Money  # the quote's own figure
    # The mid-rank among all the samples, the unpriced above it: below + half the equal (0.5 =
    # the median).
    point_rank: float
    unpriced: float = 0.0  # the share of samples the placement cannot serve (UNPRICED)
    # COST: a phase's or the total's cost; PER_MILLION: a demand-less serving phase's price per
    # million output tokens (not part of the total).
    measure: Measure = COST
    # A pretraining phase whose model a team published a whole run of on this device: how far
    # the quote's device-hours are from that run's at the phase's tokens (+0.49: 49% more),
    # and the run (its calibration id), the `published-run` finding's figure.
    published_gap: float | None = None
    published_run: str | None = None
    # Why its unpriced samples have no cost ("misses its deadline"; for the total, each phase's
    # that has some), None when every sample is priced. They rank above every priced sample, so
    # a percentile among them is None for this reason (rev17a #2).
    unpriced_reason: str | None = None
    # The codes of the block findings that forbid the phase ("capacity-short"; for the total,
    # each blocked part's: "a: capacity-short"), None when nothing is: its samples then price
    # work that cannot go ahead as placed (capacity the offer does not sell, a rule), as the
    # quote's total includes it (rev18a #10).
    blocked: str | None = None


@sealed
@dataclass(frozen=True)
class NotDrawn:
    """An input the samples leave as quoted, or draw on one side only, and the share of the
    quote's total it bears on (rev18a #5: a phase whose price has no catalog range, 92% of a
    plan, was not drawn while the title read "drawn: prices (catalog ranges)")."""

    input: str  # "pretrain: price", "serve-cn: price below the quoted", "FX USD/CNY", "transfers"
    why: str  # "no range in the catalog", "no low end in the catalog: drawn upward only"
    # The phase's cost, the transfers', or what the currency bills, over the quote's total;
    # None when the total is not positive.
    share: float | None


class Sampled(list[Percentiles]):
    """What `sample` returns: the percentiles in order, with the number of samples and the seed
    that drew them (a report says both: `report.text.as_json(plan, uncertainty=...)`). A
    result, frozen as the others are (review10c #10): a list to read, index and slice."""

    samples: int
    seed: int
    drawn: tuple[str, ...]  # the inputs drawn, in words (a report's header says them)
    not_drawn: tuple[NotDrawn, ...]  # what they leave as quoted, or draw one way only

    def __init__(
        self,
        percentiles: list[Percentiles],
        samples: int,
        seed: int,
        drawn: tuple[str, ...] = (),
        not_drawn: tuple[NotDrawn, ...] = (),
    ) -> None:
        super().__init__(percentiles)
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "seed", seed)
        object.__setattr__(self, "drawn", tuple(drawn))
        object.__setattr__(self, "not_drawn", tuple(not_drawn))

    def __reduce__(self) -> tuple[Any, ...]:  # pickles and copies as itself, not as a list
        return Sampled, (list(self), self.samples, self.seed, self.drawn, self.not_drawn)


sealed(Sampled, *LIST_MUTATORS)


def sample(
    c: Context,
    q: Quote,
    samples: int,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    model_error: bool = True,
) -> Sampled:
    """P10 / P50 / P90 of each phase and of the total, in the quote's currency, and where the
    quote's own figure sits among them; after a serving phase with no demand, the same of its
    price per million output tokens (named "<phase>: per million output tokens"). Prices and
    efficiencies are drawn from triangular distributions over their catalog ranges, with the
    value used as the mode. With `model_error` (the default) each phase draws, instead of its
    efficiency, the model's own error of its kind from the held-out calibration (module
    docstring); without, the efficiency from its catalog range. `progress` is called with a
    count of samples done (in proportion to the phases costed)."""
    if not 0 < samples <= MAX_SAMPLES:
        raise ScenarioError(f"must be between 1 and {MAX_SAMPLES:,} (got {samples:,})", "--samples")
    placed = _placed(c, q, model_error)
    drawn = _drawn(placed)
    left = _not_drawn(q, placed)
    if not placed:
        # Nothing priced: no percentiles, as `sensitivity` gives no swings; the quote names the
        # unpriced phases (rev12e #3: it was "bad input", exit 2, for a valid scenario).
        return Sampled([], samples, seed, drawn, left)

    def phase_cost(k: int, ph: _Placed) -> list[pl.Series]:
        eff, price = _phase_draws(ph, k, samples, seed)
        values: tuple[Measure, ...] = (COST, PER_MILLION) if ph.per_token else (COST,)
        if samples <= DIRECT_UP_TO:
            draws = pl.DataFrame({"eff": eff, "price_factor": price})
            got = [_cost(c, ph, draws, v) for v in values]
        else:
            varies = ph.price_range[0] != ph.price_range[1]
            got = [
                curve.build(partial(_evaluated, c, ph, value=v), *ph.axis).cost(
                    eff, price if varies else None
                )
                for v in values
            ]
        if progress is not None:
            progress(samples * (k + 1) // len(placed))
        return got

    columns, per_million = {}, {}
    # One phase after the other: a training phase's curve evaluates thousands of exact draws,
    # each sizing its own count (its drawn goodput), and two phases' at once took a 1M-sample
    # run past its 300 MB target (307 MB; one at a time 250 MB, ~20% slower; in session 15
    # threads again gained nothing on busy cores and peaked at up to 294 MB).
    # A phase's curve solves its physics three times (knots, cut cells, exact draws): the
    # solves share their layout searches.
    with searches_shared():
        costed = [phase_cost(k, ph) for k, ph in enumerate(placed)]
    for ph, got in zip(placed, costed, strict=True):
        columns[ph.quoted.name] = got[0]
        if len(got) > 1:
            per_million[ph.quoted.name] = got[1]
    points: dict[str, float] = {ph.quoted.name: ph.quoted.cost for ph in placed}
    # The quoted figures are sums of whole-cent line items, the samples are not: a sample on
    # the quoted placement is "at" it within half a cent an item (else a phase whose every
    # sample is the quote ranked P0 when its cents rounded down).
    slack = {ph.quoted.name: 0.005 * len(ph.quoted.line_items) for ph in placed}
    slack["total"] = 0.005 * len(q.line_items())
    transfers = sum(t.cost for t in q.transfers)
    # A sample with an unpriced phase has no total (sum_horizontal would count it as 0).
    total = reduce(operator.add, [pl.col(name) for name in columns]) + transfers
    frame = pl.DataFrame(columns).with_columns(total.alias("total"))
    points["total"] = q.total
    names = []
    why: dict[str, str] = {}
    measure: dict[str, Measure] = {}
    published: dict[str, tuple[float, str]] = {}
    for ph in placed:
        names.append(ph.quoted.name)
        if (found := _published_gap(c, ph)) is not None:
            published[ph.quoted.name] = found
        if ph.quoted.name in per_million:
            # Its price per million output tokens: a row of its own, outside the total.
            name = f"{ph.quoted.name}: per million output tokens"
            frame = frame.with_columns(per_million[ph.quoted.name].alias(name))
            point = ph.per_million_point
            points[name] = point
            slack[name] = slack[ph.quoted.name] * point / ph.quoted.cost if ph.quoted.cost else 0.0
            measure[name] = PER_MILLION
            names.append(name)
    names.append("total")
    failing = [name for name in columns if frame[name].null_count()]
    # The words only for a phase some sample leaves unpriced (one evaluation at its range's ends).
    for ph in placed:
        rows = [n for n in (ph.quoted.name, f"{ph.quoted.name}: per million output tokens")]
        rows = [n for n in rows if n in frame.columns]
        if any(frame[n].null_count() for n in rows):
            why |= dict.fromkeys(rows, _why_unpriced(c, ph))
    why["total"] = "; ".join(f"{name} {why[name]}" for name in failing)
    # One query: polars finds each quantile by selection, in parallel (sorting took 4x longer).
    # Each column in one piece: a curve's costs may come in several (a query's parallel parts),
    # and a quantile of a column in ten pieces took 10x one in one (0.08 against 0.008 s CPU
    # for three of a million).
    frame = frame.rechunk()
    # An unpriced sample (a deadline missed, a fleet outgrown, a latency target missed) is a
    # plan that fails: it ranks above every priced one, not out of the count (rev17a #2: with
    # 40% of draws past the deadline, the dear ones, "P90" was P54 of all outcomes and the quote
    # sat at P93). A percentile that falls among them has no cost (`_among_unpriced`).
    stats = frame.select(
        *(pl.col(name).max().alias(f"{name}|max") for name in names),
        *(
            (pl.col(name) <= points[name] * (1 + 1e-12) + slack[name]).sum().alias(f"{name}|below")
            for name in names
        ),
        *(
            (pl.col(name) < points[name] * (1 - 1e-12) - slack[name]).sum().alias(f"{name}|under")
            for name in names
        ),
        *(pl.col(name).count().alias(f"{name}|priced") for name in names),
    ).row(0, named=True)
    # Filled once, in place of the frame (a fill in each quantile's expression held a copy of
    # each column per percentile: +55 MB at a million samples).
    frame = frame.fill_null(_FAILED)
    stats |= frame.select(
        pl.col(name).quantile(p, "linear").alias(f"{name}|{p}")
        for name in names
        for p in PERCENTILES
    ).row(0, named=True)
    blocks = _blocks(q)
    # The total includes every blocked part: each phase's, then each transfer's.
    parts = [ph.quoted.name for ph in placed] + [named(t) for t in q.transfers]
    held = [f"{k}: {blocks[k]}" for k in dict.fromkeys(parts) if k in blocks]
    blocks["total"] = "; ".join(held)
    out = []
    for name in names:
        priced = stats[f"{name}|priced"]
        top = stats[f"{name}|max"]
        p10, p50, p90 = (
            None
            if _among_unpriced(stats[f"{name}|{p}"], top)
            else Money(stats[f"{name}|{p}"], q.currency)
            for p in PERCENTILES
        )
        # Samples equal to the figure count half (the mid-rank): whole servers make many draws
        # cost exactly the quote, and counting them all "below" read a typical figure as a
        # tail one ("quoted at P99" with P10 = P50 = P90 = the quote, rev11d #2). Of all the
        # samples: the unpriced ones rank above it (rev17a #2).
        rank = (stats[f"{name}|below"] + stats[f"{name}|under"]) / 2 / samples
        unpriced = 1.0 - priced / samples
        point = Money(points[name], q.currency)
        gap, run = published.get(name, (None, None))
        out.append(
            Percentiles(
                name,
                p10,
                p50,
                p90,
                point,
                rank,
                unpriced,
                measure.get(name, COST),
                gap,
                run,
                why.get(name) if priced < samples else None,
                blocks.get(name.split(": per million output tokens")[0]) or None,
            )
        )
    return Sampled(out, samples, seed, drawn, left)


# What an unpriced sample counts as among the priced: above any of them (a plan that fails is
# worse than any that is billed). Finite, so that a quantile between it and a priced sample is
# a number above every priced one (inf x 0 is nan), not a nan.
_FAILED: Final = 1e300


def _among_unpriced(value: float | None, top: float | None) -> bool:
    """Whether a percentile of a column whose unpriced samples read `_FAILED` falls among them
    (or between one and a priced one): above the dearest priced sample `top`, or none priced."""
    return value is None or top is None or value > top * (1 + 1e-9) + 1e-9


def _why_unpriced(c: Context, ph: _Placed) -> str:
    """Why a sample of a placed phase has no cost, in words (`unpriced`): what a percentile
    among such samples reads. The words of the conditions that hold at either end of the drawn
    input's range, where a sample fails first (a slower run misses a deadline, a lower rate
    needs more devices)."""
    ends = pl.DataFrame({"eff": list(ph.axis), "price_factor": [1.0, 1.0]})
    found = (
        _evaluation(c, ph, ends)
        .select(unpriced(c, ph.spec))[:, 0]
        .drop_nulls()
        .unique(maintain_order=True)
    )
    return " or ".join(found) if len(found) else "has no cost"


def _drawn(placed: list[_Placed]) -> tuple[str, ...]:
    """The inputs the samples draw, in words: prices where a phase has a range (`_not_drawn`
    names the rest), then the model error or the efficiency of each kind of phase."""
    out = []
    if any(ph.price_range[0] != ph.price_range[1] for ph in placed):
        out.append("prices with a catalog range")
    for kind in model_error.KINDS:
        if any(ph.error == kind for ph in placed):
            out.append(f"model error: {model_error.described(kind)}")
    effs = {
        "MFU" if isinstance(ph.spec, TrainPhase) else "decode efficiency"
        for ph in placed
        if ph.error is None and ph.eff[0] != ph.eff[2]
    }
    out += [f"{e} (catalog range)" for e in sorted(effs)]
    return tuple(out)


def _not_drawn(q: Quote, placed: list[_Placed]) -> tuple[NotDrawn, ...]:
    """What the samples leave as quoted, with its share of the quote's total: a phase's price
    with no catalog range (or the side of one with a single end: only the other is drawn), the
    transfers' prices (none has a range) and each foreign currency's rate (exchange rates are
    not drawn; `sensitivity` swings both by --swing). The band holds none of their risk
    (rev18a #5)."""

    def share(amount: float) -> float | None:
        return amount / q.total if q.total > 0 else None

    out = []
    for ph in placed:
        (low, high), (has_low, has_high) = ph.price_range, ph.price_ends
        name, part = ph.quoted.name, share(ph.quoted.cost)
        if low == high:
            out.append(NotDrawn(f"{name}: price", "no range in the catalog", part))
        elif not has_low and low == 1.0:
            why = "no low end in the catalog: drawn upward only"
            out.append(NotDrawn(f"{name}: price below the quoted", why, part))
        elif not has_high and high == 1.0:
            why = "no high end in the catalog: drawn downward only"
            out.append(NotDrawn(f"{name}: price above the quoted", why, part))
    moved = summed((t.cost for t in q.transfers), q.currency)
    if moved:
        out.append(NotDrawn("transfers", "no range in the catalog", share(moved)))
    billed: dict[str, list[float]] = {}
    for i in q.line_items():
        if i.unit_currency != q.currency:
            billed.setdefault(i.unit_currency, []).append(i.amount)
    for cur in sorted(billed):
        why = "exchange rates are not drawn"
        out.append(NotDrawn(f"FX {cur}/{q.currency}", why, share(summed(billed[cur], q.currency))))
    return tuple(out)


def _blocks(q: Quote) -> dict[str, str]:
    """The codes of the block findings, by what each forbids: a phase's name, or a transfer's
    ("transfer A->B", `transfers.named`), as the quote's headline and `blocked` name them."""
    found: dict[str, dict[str, None]] = {}
    for f in q.findings:
        if f.severity == "block" and f.phase:
            found.setdefault(f.phase, {})[f.code] = None
    return {k: ", ".join(v) for k, v in found.items()}


def _published_gap(c: Context, ph: _Placed) -> tuple[float, str] | None:
    """(the quote's device-hours over a published whole run's at the phase's tokens, less 1;
    the run's calibration id) for a pretraining phase on the device of a published run of its
    model (the `published-run` finding's figure); else None."""
    spec = ph.spec
    if not isinstance(spec, TrainPhase) or spec.workload != "pretrain":
        return None
    hours = ph.quoted.physics.get("device_hours")
    m = c.model
    for run in published_runs(m.id, m.total_params, m.active_params, spec.precision):
        if run.accelerator == ph.quoted.accelerator and hours:
            return hours / (run.device_hours * spec.tokens / run.tokens) - 1.0, run.id
    return None


@sealed
@dataclass(frozen=True)
class Swing:
    """An input's range and the total at each end; None where the placed phase cannot be
    priced at that end (`unpriced`, which `unpriced_reason` names)."""

    input: str
    low: float
    high: float
    total_at_low: Money | None
    total_at_high: Money | None
    # A serving phase with no demand (`per_token`): its fleet's total is fixed by construction,
    # what an efficiency moves is its price per million output tokens, given at each end.
    per_million_at_low: float | None = None
    per_million_at_high: float | None = None
    # Why an end has no total, "<phase> <words>" (`unpriced`: the decision that left it None).
    unpriced_reason: str | None = None
    # What `low` and `high` are (rev19a #7i: tokens 0.8/1.2 beside mfu 0.36/0.50, unsaid):
    # "factor", multiples of the quoted value (a price, tokens, demand, an exchange rate, the
    # hours or rate a model error scales); "efficiency", the efficiency itself (mfu, decode,
    # prefill MFU: a fraction of peak).
    kind: SwingKind = field(default="factor", kw_only=True)

    @property
    def swing(self) -> float | None:
        if self.total_at_low is None or self.total_at_high is None:
            return None
        return abs(self.total_at_high - self.total_at_low)


def check_swing(swing: object, where: str = "swing") -> float:
    """A swing as a float: a share of each value, strictly between 0 and 1 (0 moves nothing,
    1 takes a price to nothing), or a ScenarioError at `where` (the library's keyword, the
    CLI's --swing) that says both ends are excluded."""
    rule = "must be a number greater than 0 and less than 1 (both ends excluded)"
    if isinstance(swing, bool) or not isinstance(swing, int | float):
        raise ScenarioError(f"{rule}, got {shown(swing)!r}", where)
    if not 0 < swing < 1:
        raise ScenarioError(f"{rule}, got {swing:g}", where)
    return float(swing)


class Swings(list[Swing]):
    """What `sensitivity` returns: the swings, sorted, with the quote they move, so that
    `report.text.as_json(swings)` gives what `sensitivity --format json` prints (rev12b #12).
    A result, sealed as the others are: a list to read, index and slice."""

    quote: Quote

    def __init__(self, swings: list[Swing], quote: Quote) -> None:
        super().__init__(swings)
        object.__setattr__(self, "quote", quote)

    def __reduce__(self) -> tuple[Any, ...]:  # pickles and copies as itself, not as a list
        return Swings, (list(self), self.quote)

    def __hash__(self) -> int:  # type: ignore[override]  # as the sealed list it was
        return hash(tuple(self))


sealed(Swings, *LIST_MUTATORS)


def sensitivity(c: Context, q: Quote, swing: float = DEFAULT_SWING) -> Swings:
    """One input at a time from its low to its high, everything else as quoted; sorted by how
    far the total moves. Prices and efficiencies use their catalog ranges (prices without one
    move by +/- `swing`); tokens, demand and each foreign currency move by +/- `swing`. A serving
    phase with no demand has no demand row, and its rows give its price per million output
    tokens at each end (`Swing.per_million_at_low`)."""
    swing = check_swing(swing)
    out: list[Swing] = []
    # Each swing's end solves its phase's physics again: those solves share their layout
    # searches (`searches_shared`).
    with searches_shared():
        for ph in _placed(c, q):
            out += _phase_swings(c, q, ph, swing)
    foreign = {i.unit_currency for i in q.line_items() if i.unit_currency != q.currency}
    for cur in sorted(foreign):
        billed = [i.amount for i in q.line_items() if i.unit_currency == cur]

        def at(factor: float, billed: list[float] = billed) -> Money:
            """The total with what `cur` bills scaled by `factor`, each item in whole cents as
            a quote bills it (rev17a #9: the scaled total was Money(1667585664.108), where the
            JSON printed 1667585664.11)."""
            moved = (cents(x * factor, q.currency) - x for x in billed)
            return Money(summed((q.total, *moved), q.currency), q.currency)

        # A foreign currency that strengthens by x% makes what it bills x% dearer.
        out.append(
            Swing(f"FX {cur}/{q.currency}", 1 - swing, 1 + swing, at(1 - swing), at(1 + swing))
        )
    # An input whose end leaves a phase unpriced first: it decides whether the plan works.
    # A list to read, sealed as the other results (review11b #3).
    return Swings(
        sorted(out, key=lambda s: math.inf if s.swing is None else s.swing, reverse=True), q
    )


def _phase_swings(c: Context, q: Quote, ph: _Placed, swing: float) -> list[Swing]:
    name, mid = ph.quoted.name, ph.eff[1]

    pre = ph.prefill[1] if ph.prefill else None

    def two(
        price: tuple[float, float],
        eff: tuple[float, float],
        work: tuple[float, float],
        prefill: tuple[float | None, float | None] = (pre, pre),
        at: _Placed = ph,
    ) -> tuple[Any, ...]:
        """The total at each end (Money or None), then (a `per_token` phase) its price per
        million output tokens at each end (float or None), then why an end has no total (the
        `unpriced` words, or None): Swing's fields in order. `at`: the
        phase drawing its model error (`eff` is then the error's ln-ratio)."""
        draws = pl.DataFrame(
            {"price_factor": list(price), "eff": list(eff), "work_factor": list(work)}
        )
        if ph.prefill is not None:  # one input at a time: prefill as quoted unless it moves
            draws = draws.with_columns(prefill=pl.Series(list(prefill), dtype=pl.Float64))
        out = _evaluation(c, at, draws)
        # The quote's other phases plus this one's bill, added as a total is (`summed`): a plain
        # `rest + x` can land a float's last bit off the quote of that value.
        rest = q.total - ph.quoted.cost
        lo, hi = (
            None if x is None else Money(summed((rest, x), q.currency), q.currency)
            for x in _billed(c, at.spec, out)
        )
        found = out.select(unpriced(c, at.spec))[:, 0].drop_nulls().unique(maintain_order=True)
        why = "; ".join(f"{name} {w}" for w in found) or None
        if not ph.per_token:
            return lo, hi, None, None, why
        return lo, hi, *out.select(_values(c, at.spec)[PER_MILLION])[:, 0].to_list(), why

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
        # The row's `mfu` is the GEMM efficiency, not the effective MFU the quote reports
        # (review8a #21: "MFU 0.36-0.50" beside "effective MFU 0.21").
        label = "GEMM efficiency (mfu)" if isinstance(ph.spec, TrainPhase) else "decode efficiency"
        out.append(
            Swing(
                f"{name}: {label}",
                ph.eff[0],
                ph.eff[2],
                *two((1.0, 1.0), (ph.eff[0], ph.eff[2]), (1.0, 1.0)),
                kind="efficiency",
            )
        )
    if ph.prefill is not None and ph.prefill[0] != ph.prefill[2]:
        lo, _, hi = ph.prefill
        out.append(
            Swing(
                f"{name}: prefill MFU",
                lo,
                hi,
                *two((1.0, 1.0), (mid, mid), (1.0, 1.0), (lo, hi)),
                kind="efficiency",
            )
        )
    if not (isinstance(ph.spec, TrainPhase) and ph.spec.mfu is not None):
        # The model's own error, P10 to P90 of the held-out residuals its samples draw from
        # (none for a given MFU, as in `sample`); its ends as factors of the hours or the rate.
        kind: Kind = "train" if isinstance(ph.spec, TrainPhase) else "serve"
        lo, hi = (model_error.quantile(kind, p) for p in (0.1, 0.9))
        what = "device-hours" if kind == "train" else "serving rate"
        out.append(
            Swing(
                f"{name}: model error ({what}, held-out P10-P90)",
                math.exp(lo),
                math.exp(hi),
                *two((1.0, 1.0), (lo, hi), (1.0, 1.0), at=replace(ph, error=kind)),
            )
        )
    if isinstance(ph.spec, TrainPhase) or _has_demand(ph.spec):  # no demand: nothing to move
        work = "tokens" if isinstance(ph.spec, TrainPhase) else "demand"
        bounds = (1 - swing, 1 + swing)
        out.append(Swing(f"{name}: {work}", *bounds, *two((1.0, 1.0), (mid, mid), bounds)))
    return out
