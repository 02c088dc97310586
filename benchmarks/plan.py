"""How fast the planner and the Monte Carlo are. Run by hand: `python benchmarks/plan.py`
(never imported by tests).

Figures printed, and their targets on the 2-core reference machine (issue 12):

1. `mixed sweep`: candidates scored per second through `evaluate.evaluate`, the one evaluation
   quotes and plans share (no second path): every option the auto pretrain phase of
   split_auto may use crossed with a grid of device counts (training candidates), plus every
   option its serve-abroad phase may use crossed with a grid of daily demands (serving
   candidates: replica sizes searched, batch solved). Target >= 10,000,000 candidates/s.
   A sweep reads what ranks a candidate (`sweep_columns`), so it asks `evaluate` for those
   columns alone (`columns=`): the same evaluation, with what no asked column reads left out.
2. `plan`: median wall time of `plan(examples/split_auto.toml)` with the catalog's offers as
   they are (1x) and replicated 10x and 100x (each copy a new instance id with its price moved
   by up to +/-5%), in memory (`Catalog.with_table`), so only the plan is timed. The physics
   store (`physics.store`) is emptied before each timed run, so every solve is done; the time
   with the run before's solves read back is printed alongside. Target: 100x < 1 s.
3. `uncertainty`: Monte Carlo samples per second of examples/split_abroad_home.toml (training
   and serving phases), and the peak resident memory of a process that imports the library,
   loads the catalog and draws MC_SAMPLES (VmHWM of /proc/self/status, so the interpreter and
   the libraries are included; not ru_maxrss, which Linux carries over from the forking parent,
   here the 100x plans' few GB). The timed draw starts with an empty physics store.
   Targets >= 1,000,000 samples/s; < 300 MB.

Everything runs with a cache directory of its own (XDG_CACHE_HOME), never the user's.

Last line: `candidates_per_s=N plan_1x_s=S plan_100x_s=S samples_per_s=N peak_mb=N`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPLIT_AUTO = ROOT / "examples" / "split_auto.toml"
SPLIT_ABROAD_HOME = ROOT / "examples" / "split_abroad_home.toml"

PLAN_RUNS = 5
SWEEP_RUNS = 3
DEVICE_STEP = 8  # device counts 8, 16, ...: whole 8-device instances / servers
DEVICE_COUNTS = 20_000  # x the pretrain options -> a few million training candidates
DEMANDS = 2_000  # x the serve-abroad options -> serving candidates
SCALES = (1, 10, 100)
PRICE_COLUMNS = ("price_per_device_hour", "price_low", "price_high")
MC_SAMPLES = 1_000_000


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_time(fn: Callable[[], Any], runs: int) -> float:
    """Median of `runs` timings after one untimed warm-up run."""
    fn()
    return statistics.median(timed(fn)[0] for _ in range(runs))


def sweep_setup(catalog: Any) -> list[tuple[Any, Any, Any]]:
    """(context, phase, candidates) of the training and the serving part of the sweep."""
    import polars as pl

    from estimator import load_scenario
    from estimator.context import prepare
    from estimator.options import OptionQuery, select

    c = prepare(load_scenario(SPLIT_AUTO), catalog)
    train = c.scenario.phase("pretrain")
    serve = c.scenario.phase("serve-abroad")
    devices = pl.DataFrame(
        {"devices": pl.int_range(1, DEVICE_COUNTS + 1, eager=True) * DEVICE_STEP}
    )
    base = serve.output_tokens_per_day
    demand = pl.DataFrame(
        {
            "output_tokens_per_day": pl.int_range(1, DEMANDS + 1, eager=True).cast(pl.Float64)
            * (base / DEMANDS * 2)
        }
    ).with_columns(input_tokens_per_day=pl.col("output_tokens_per_day") * 5.0)
    return [
        (c, train, select(c.options, OptionQuery.of(train.site)).join(devices, how="cross")),
        (c, serve, select(c.options, OptionQuery.of(serve.site)).join(demand, how="cross")),
    ]


# What a sweep reads of each candidate: what it is (the option, its grid value) and what
# `evaluate.rank` orders by; `evaluate(..., columns=)` works out only these.
SWEEP_COLUMNS = ("option_id", "provider", "region", "instance", "pricing", "devices",
                 "wall_clock_days", "total_usd", "verdict", "workable")  # fmt: skip
SERVE_COLUMNS = ("output_tokens_per_day", "rtt_ms", "usd_per_output_token")


def sweep_columns(kind: str) -> list[str]:
    return [*SWEEP_COLUMNS, *(SERVE_COLUMNS if kind == "serve" else ())]


def bench_sweep(catalog: Any) -> float:
    from estimator.evaluate import evaluate

    parts = sweep_setup(catalog)

    def run() -> int:
        return sum(
            evaluate(c, p, cand, columns=sweep_columns(p.kind)).height for c, p, cand in parts
        )

    runs = [timed(run) for _ in range(SWEEP_RUNS)]
    seconds = statistics.median(t for t, _ in runs)
    n = runs[0][1]
    sizes = " + ".join(f"{cand.height:,} {p.kind}" for _, p, cand in parts)
    rate = n / seconds
    print(
        f"mixed sweep: {sizes} candidates in {seconds:.3f} s (median of {SWEEP_RUNS}) = "
        f"{rate:,.0f}/s; target >= 10,000,000/s"
    )
    return rate


def scaled(catalog: Any, k: int) -> Any:
    """The catalog with each offer row present `k` times: copy j > 0 is a new instance id
    with its prices moved by a deterministic factor within +/-5%."""
    import polars as pl

    def grow(offers: pl.DataFrame) -> pl.DataFrame:
        copies = [offers]
        for j in range(1, k):
            factor = 1.0 + ((j * 37) % 101 - 50) / 1000.0
            copies.append(
                offers.with_columns(
                    pl.col("instance") + f"~{j}",
                    *[pl.col(p) * factor for p in PRICE_COLUMNS],
                )
            )
        return pl.concat(copies)

    return catalog.with_table("offers", grow) if k > 1 else catalog


def bench_plans(catalog: Any) -> dict[int, float]:
    """Median plan times with the physics store emptied before each run (every solve done),
    and, printed alongside, with the solves of the run before read back (`physics.store`)."""
    from estimator import load_scenario, plan
    from estimator.physics import store

    scenario = load_scenario(SPLIT_AUTO)
    out = {}
    for k in SCALES:
        cat = scaled(catalog, k)
        offers = cat.table("offers").height

        def new(cat: Any = cat) -> Any:
            shutil.rmtree(store.directory(), ignore_errors=True)
            return plan(scenario, cat)

        out[k] = median_time(new, PLAN_RUNS)
        stored = median_time(lambda cat=cat: plan(scenario, cat), PLAN_RUNS)
        print(
            f"plan(split_auto) at {k}x offers ({offers:,} rows): median {out[k]:.3f} s "
            f"(physics solved); {stored:.3f} s (solved by the run before)"
        )
    return out


MC_CHILD = """
import os, sys, time
from estimator import load_scenario, quote
from estimator.context import prepare
from estimator.uncertainty import sample
from pricing import load_catalog
n = int(sys.argv[1])
catalog = load_catalog()
scenario = load_scenario(sys.argv[2])
base = quote(scenario, catalog)
sample(prepare(scenario, catalog), base, 1_000, seed=2)  # warm-up: imports, polars
c = prepare(scenario, catalog)  # a fresh context: no physics remembered from the warm-up
os.environ["XDG_CACHE_HOME"] = sys.argv[3]  # an empty physics store: every solve is done
start = time.perf_counter()
sample(c, base, n, seed=1)
seconds = time.perf_counter() - start
status = open("/proc/self/status").read().split("VmHWM:")[1].split()
print(seconds, int(status[0]) / 1024)  # kB
"""


def bench_uncertainty() -> tuple[float, float]:
    """Samples/s and the peak RSS (MB) of a fresh process drawing MC_SAMPLES."""
    with tempfile.TemporaryDirectory() as empty:
        out = subprocess.run(
            [sys.executable, "-c", MC_CHILD, str(MC_SAMPLES), str(SPLIT_ABROAD_HOME), empty],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    seconds, peak = float(out[0]), float(out[1])
    rate = MC_SAMPLES / seconds
    print(
        f"uncertainty.sample: {MC_SAMPLES:,} samples of split_abroad_home in {seconds:.3f} s = "
        f"{rate:,.0f}/s; peak RSS {peak:,.0f} MB (VmHWM of the whole process); "
        "targets >= 1,000,000/s, < 300 MB"
    )
    return rate, peak


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache
        measure()


def measure() -> None:
    from pricing import load_catalog

    catalog = load_catalog()
    rate = bench_sweep(catalog)
    plans = bench_plans(catalog)
    samples, peak = bench_uncertainty()
    print(
        f"candidates_per_s={rate:.0f} plan_1x_s={plans[1]:.3f} plan_100x_s={plans[100]:.3f} "
        f"samples_per_s={samples:.0f} peak_mb={peak:.0f}"
    )


if __name__ == "__main__":
    main()
