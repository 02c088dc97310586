"""How fast the planner is. Run by hand: `python benchmarks/plan.py` (never imported by tests).

Figures printed, and their targets on the 2-core reference machine:

1. `import` and `load_catalog()`: one-off start-up costs, shown so the plan time below can be
   read on its own.
   `plan(split_auto)`: median wall time of the full-catalog plan of examples/split_auto.toml
   (every auto phase searched over the whole catalog, then quoted), after one warm-up.
   Target < 1 s.
2. `vectorised`: candidate training placements evaluated per second. Every option an "auto"
   site may use (`options.select`: the catalog less spot) is crossed with a grid of device
   counts (a few million rows) and scored by `evaluate.evaluate`, the one evaluation quotes and
   plans share: physics (once per distinct device count), money and rules.
   Target >= 2,000,000 candidates/s.
3. `one at a time`: the same `evaluate` called on one-row frames in a Python loop, over a
   sample of the same candidates (no second implementation of any formula).
4. `uncertainty.sample`: 100,000 Monte-Carlo samples of examples/split_abroad_home.toml.
   Target < 2 s.

Last line: `candidates_per_s=N loop_per_s=M ratio=R` (target ratio >= 100).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPLIT_AUTO = ROOT / "examples" / "split_auto.toml"
SPLIT_ABROAD_HOME = ROOT / "examples" / "split_abroad_home.toml"

PLAN_RUNS = 5
VECTOR_RUNS = 3  # the candidate frame is big: median of a few runs, the first one included
DEVICE_STEP = 8  # device counts 8, 16, ... : whole 8-device instances / servers
DEVICE_COUNTS = 20_000  # x ~140 catalog options -> ~2.8M candidate rows
LOOP_SAMPLE = 300  # candidates evaluated one at a time
MC_SAMPLES = 100_000


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_time(fn: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    """Median of `runs` timings after one untimed warm-up run."""
    fn()
    times = [timed(fn)[0] for _ in range(runs)]
    return statistics.median(times), times


def bench_plan(catalog: Any) -> None:
    from estimator import load_scenario, plan

    scenario = load_scenario(SPLIT_AUTO)
    median, times = median_time(lambda: plan(scenario, catalog), PLAN_RUNS)
    runs = ", ".join(f"{t:.2f}" for t in times)
    print(f"plan(split_auto): median {median:.3f} s over {PLAN_RUNS} runs ({runs}); target < 1 s")


def training_candidates(catalog: Any) -> tuple[Any, ...]:
    """(context, phase, candidates): every option the auto pretrain phase of split_auto may use
    (`options.select`) crossed with DEVICE_COUNTS device counts."""
    import polars as pl

    from estimator import load_scenario
    from estimator.context import prepare
    from estimator.options import OptionQuery, select

    c = prepare(load_scenario(SPLIT_AUTO), catalog)
    phase = c.scenario.phase("pretrain")
    placements = select(c.options, OptionQuery.of(phase.site))
    grid = pl.DataFrame({"devices": pl.int_range(1, DEVICE_COUNTS + 1, eager=True) * DEVICE_STEP})
    return c, phase, placements.join(grid, how="cross")


def bench_vectorised(catalog: Any, setup: tuple[Any, ...]) -> float:
    from estimator.evaluate import evaluate

    c, phase, candidates = setup
    runs = [timed(lambda: evaluate(c, phase, candidates)) for _ in range(VECTOR_RUNS)]
    seconds = statistics.median(t for t, _ in runs)
    scored = runs[-1][1]
    rate = scored.height / seconds
    rejected = scored["verdict"].is_not_null().sum()
    print(
        f"vectorised: {scored.height:,} candidates ({candidates.height // DEVICE_COUNTS} options x "
        f"{DEVICE_COUNTS:,} device counts) in {seconds:.3f} s (median of {VECTOR_RUNS}) = "
        f"{rate:,.0f}/s "
        f"({rejected:,} rejected); target >= 2,000,000/s"
    )
    return rate


def bench_loop(catalog: Any, setup: tuple[Any, ...]) -> float:
    from estimator.evaluate import evaluate

    c, phase, candidates = setup
    sample = candidates.sample(LOOP_SAMPLE, seed=1)
    rows = [sample.slice(i, 1) for i in range(sample.height)]

    def loop() -> int:
        return sum(evaluate(c, phase, r).height for r in rows)

    evaluate(c, phase, rows[0])  # warm-up
    seconds, n = timed(loop)
    rate = n / seconds
    print(
        f"one at a time: {n:,} candidates in {seconds:.3f} s = {rate:,.1f}/s "
        f"({seconds / n * 1000:.2f} ms per evaluate call on a one-row frame)"
    )
    return rate


def bench_uncertainty(catalog: Any) -> None:
    from estimator import load_scenario, quote
    from estimator.context import prepare
    from estimator.uncertainty import sample

    scenario = load_scenario(SPLIT_ABROAD_HOME)
    base = quote(scenario, catalog)
    c = prepare(scenario, catalog)
    seconds, _ = timed(lambda: sample(c, base, MC_SAMPLES, seed=1))
    print(
        f"uncertainty.sample: {MC_SAMPLES:,} samples of split_abroad_home in {seconds:.3f} s; "
        "target < 2 s"
    )


def import_library() -> None:
    import estimator.planner  # noqa: F401  (pulls polars, pydantic and the estimator modules)
    import pricing  # noqa: F401


def main() -> None:
    t_import, _ = timed(import_library)
    from pricing import load_catalog

    t_catalog, catalog = timed(load_catalog)
    print(
        f"import estimator.planner + pricing: {t_import:.3f} s; load_catalog(): {t_catalog:.3f} s"
    )
    bench_plan(catalog)
    setup = training_candidates(catalog)
    vec = bench_vectorised(catalog, setup)
    loop = bench_loop(catalog, setup)
    bench_uncertainty(catalog)
    print(f"candidates_per_s={vec:.0f} loop_per_s={loop:.0f} ratio={vec / loop:.1f}")


if __name__ == "__main__":
    main()
