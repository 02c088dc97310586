"""Uncertainty: Monte-Carlo percentiles and one-at-a-time sensitivity of a quote's total.

A quote fixes the placements (site, option, devices); what stays uncertain is how fast the work
runs (MFU for training, decode efficiency for serving: efficiency.csv ranges), what the
capacity costs (offer / hardware price ranges), how much work there is (tokens, demand) and the
exchange rates. Every sample re-runs the same physics and costing expressions as the quote, on a
frame with one row per sample, so 100,000 samples cost a few vectorised passes, not 100,000
quotes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import polars as pl

from estimator import costing
from estimator.errors import ScenarioError
from estimator.models import ModelSpec, resolve_model
from estimator.quoting import Quote
from estimator.scenario import Scenario, ServePhase, TrainPhase
from pricing import Catalog

# Inputs without a published range (tokens, demand, exchange rates) swing by this fraction either
# way in `sensitivity`; the CLI's --swing changes it.
DEFAULT_SWING = 0.2
PERCENTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class _Phase:
    name: str
    spec: TrainPhase | ServePhase
    option: dict[str, Any]
    devices: int  # total devices (train) or devices per replica (serve)
    price_range: tuple[float, float]  # as factors of the price used
    eff: tuple[float, float, float]  # low, default, high of MFU / decode efficiency
    foreign_share: float  # share of the phase's cost billed in another currency than the quote's


def _context(scenario: Scenario, catalog: Catalog, quote: Quote) -> tuple[ModelSpec, list[_Phase]]:
    model = resolve_model(catalog, scenario.model.preset, **scenario.model.custom_fields())
    options = costing.options_frame(catalog, quote.as_of)
    phases = []
    for pq in quote.phases:
        spec = scenario.phase(pq.name)
        opt = options.filter(
            (pl.col("provider") == pq.provider)
            & (pl.col("region") == pq.region)
            & (pl.col("accelerator") == pq.accelerator)
            & (pl.col("pricing") == pq.pricing)
            & (pl.col("instance") == pq.instance)
        ).row(0, named=True)
        base = opt["price_per_device_hour"] if opt["option"] == "rented" else opt["server_price"]
        low = (opt["price_low"] or base) / base
        high = (opt["price_high"] or base) / base
        if isinstance(spec, TrainPhase):
            phys = pq.physics
            eff = (phys["mfu"], phys["mfu"], phys["mfu"])
            if spec.mfu is None:
                lo_hi = _eff_range(catalog, model, spec.workload, pq.accelerator)
                eff = (lo_hi[0], phys["mfu"], lo_hi[1])
            devices = pq.devices
        else:
            phys = pq.physics
            d = phys["decode_efficiency"]
            lo_hi = _eff_range(catalog, model, "decode", pq.accelerator)
            eff = (lo_hi[0], d, lo_hi[1])
            devices = phys["tensor_parallel"]
        foreign = sum(i.amount for i in pq.line_items if i.unit_currency != quote.currency)
        phases.append(
            _Phase(
                pq.name, spec, opt, devices, (low, high), eff, foreign / pq.cost if pq.cost else 0.0
            )
        )
    return model, phases


def _eff_range(catalog: Catalog, model: ModelSpec, workload: str, acc: str) -> tuple[float, float]:
    """The efficiency.csv range (mfu_low, mfu_high) of the row a phase's default comes from:
    a lookup, not a physics run."""
    from estimator.physics import efficiency_lookup

    row = efficiency_lookup(
        catalog, pl.DataFrame({"accelerator": [acc]}), workload, model.arch, "e_"
    ).row(0, named=True)
    return row["e_mfu_low"], row["e_mfu_high"]


def phase_usd(catalog: Catalog, model: ModelSpec, ph: _Phase, draws: pl.DataFrame) -> pl.Series:
    """Cost in USD of one phase for every row of `draws` (columns: price_factor, eff,
    work_factor). The phase's site and devices stay as quoted."""
    from estimator import physics

    spec = ph.spec
    frame = draws.with_columns(
        [pl.lit(v).alias(k) for k, v in ph.option.items() if k not in draws.columns]
    )
    if isinstance(spec, TrainPhase):
        work = frame.with_columns(
            pl.col("eff").alias("mfu"), (pl.col("work_factor") * spec.tokens).alias("tokens")
        )
        if spec.devices:  # a fixed fleet: more work takes longer
            work = work.with_columns(pl.lit(ph.devices, pl.Int64).alias("devices"))
        # else the fleet is sized for the deadline per row: more work needs more devices
        out = physics.training_frame(catalog, model, work, **{**spec.physics_args(), "mfu": None})
        hours = pl.col("wall_clock_days") * costing.HOURS_PER_DAY
        devices = pl.col("devices").cast(pl.Float64)
    else:
        out = physics.serving_frame(
            catalog,
            model,
            frame.with_columns(
                pl.lit(ph.devices, pl.Int64).alias("devices"),
                pl.col("eff").alias("decode_efficiency"),
                (pl.col("work_factor") * spec.input_tokens_per_day).alias("input_tokens_per_day"),
                (pl.col("work_factor") * spec.output_tokens_per_day).alias("output_tokens_per_day"),
            ),
            **spec.physics_args(),
        )
        hours = pl.lit(spec.days * costing.HOURS_PER_DAY)
        devices = (
            pl.lit(float(spec.devices))
            if spec.devices
            else pl.col("devices_needed").cast(pl.Float64)
        )
    costs = out.with_columns(
        costing.cost_columns(devices, hours, pl.col("price_factor"))
    ).with_columns(costing.total_usd())
    return costs["total_usd"]


def _triangular(rng: random.Random, n: int, low: float, mode: float, high: float) -> pl.Series:
    """n draws of random.triangular(low, high, mode), its inverse CDF applied vectorised to
    rng.random() (the same draws for the same seed, without n Python calls of the formula)."""
    if high <= low:
        return pl.Series([mode] * n, dtype=pl.Float64)
    c = (mode - low) / (high - low)
    u = pl.Series([rng.random() for _ in range(n)], dtype=pl.Float64)
    return pl.select(
        pl.when(u > c)
        .then(high + (low - high) * ((1.0 - u) * (1.0 - c)).sqrt())
        .otherwise(low + (high - low) * (u * c).sqrt())
    ).to_series()


@dataclass(frozen=True)
class Percentiles:
    name: str
    p10: float
    p50: float
    p90: float


def sample(
    scenario: Scenario, catalog: Catalog, quote: Quote, samples: int, seed: int = 0
) -> list[Percentiles]:
    """P10 / P50 / P90 of each phase and of the total, in the quote's currency. Prices and
    efficiencies are drawn from triangular distributions over their catalog ranges (the value
    used as the mode); the same seed gives the same figures."""
    if samples <= 0:
        raise ScenarioError(f"samples must be a positive whole number, got {samples}", "--samples")
    rng = random.Random(seed)
    model, phases = _context(scenario, catalog, quote)
    per_usd = catalog.rate(quote.currency, quote.as_of).per_usd
    columns: dict[str, pl.Series] = {}
    for ph in phases:
        draws = pl.DataFrame(
            {
                "price_factor": _triangular(
                    rng, samples, ph.price_range[0], 1.0, ph.price_range[1]
                ),
                "eff": _triangular(rng, samples, *ph.eff),
                "work_factor": [1.0] * samples,
            }
        )
        columns[ph.name] = phase_usd(catalog, model, ph, draws) * per_usd
    transfers = sum(t.cost for t in quote.transfers)
    frame = pl.DataFrame(columns).with_columns(
        (pl.sum_horizontal(list(columns)) + transfers).alias("total")
    )
    return [
        Percentiles(name, *(float(frame[name].quantile(q, "linear") or 0.0) for q in PERCENTILES))
        for name in [*columns, "total"]
    ]


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


def sensitivity(
    scenario: Scenario, catalog: Catalog, quote: Quote, swing: float = DEFAULT_SWING
) -> list[Swing]:
    """One input at a time from its low to its high, everything else as quoted; sorted by how
    far the total moves. Prices and efficiencies use their catalog ranges (prices without one
    move by +/- `swing`); tokens, demand and each foreign currency move by +/- `swing`."""
    if not 0 < swing < 1:
        raise ScenarioError(f"swing must be between 0 and 1, got {swing}", "--swing")
    model, phases = _context(scenario, catalog, quote)
    per_usd = catalog.rate(quote.currency, quote.as_of).per_usd
    base = {ph.name: p.cost for ph, p in zip(phases, quote.phases, strict=True)}
    total = quote.total
    out: list[Swing] = []

    def two(
        ph: _Phase, price: tuple[float, float], eff: tuple[float, float], work: tuple[float, float]
    ) -> tuple[float, float]:
        draws = pl.DataFrame(
            {"price_factor": list(price), "eff": list(eff), "work_factor": list(work)}
        )
        lo, hi = (phase_usd(catalog, model, ph, draws) * per_usd).to_list()
        return total - base[ph.name] + lo, total - base[ph.name] + hi

    for ph in phases:
        mid = ph.eff[1]
        if ph.price_range[0] != ph.price_range[1]:
            lo, hi = two(ph, ph.price_range, (mid, mid), (1.0, 1.0))
            out.append(Swing(f"{ph.name}: price", ph.price_range[0], ph.price_range[1], lo, hi))
        else:  # no published range: a negotiated or future price may still move
            lo, hi = two(ph, (1 - swing, 1 + swing), (mid, mid), (1.0, 1.0))
            out.append(
                Swing(f"{ph.name}: price (no range, +/-{swing:.0%})", 1 - swing, 1 + swing, lo, hi)
            )
        if ph.eff[0] != ph.eff[2]:
            label = "MFU" if isinstance(ph.spec, TrainPhase) else "decode efficiency"
            lo, hi = two(ph, (1.0, 1.0), (ph.eff[0], ph.eff[2]), (1.0, 1.0))
            out.append(Swing(f"{ph.name}: {label}", ph.eff[0], ph.eff[2], lo, hi))
        work = "tokens" if isinstance(ph.spec, TrainPhase) else "demand"
        lo, hi = two(ph, (1.0, 1.0), (mid, mid), (1 - swing, 1 + swing))
        out.append(Swing(f"{ph.name}: {work}", 1 - swing, 1 + swing, lo, hi))
    foreign = {i.unit_currency for i in quote.line_items() if i.unit_currency != quote.currency}
    for cur in sorted(foreign):
        billed = sum(i.amount for i in quote.line_items() if i.unit_currency == cur)
        # A foreign currency that strengthens by x% makes what it bills x% dearer.
        out.append(
            Swing(
                f"FX {cur}/{quote.currency}",
                1 - swing,
                1 + swing,
                total - billed * swing,
                total + billed * swing,
            )
        )
    return sorted(out, key=lambda s: s.swing, reverse=True)
