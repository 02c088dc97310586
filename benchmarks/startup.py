"""How fast a command answers, as a ratio to the floor of this stack. Run by hand:
`python benchmarks/startup.py [RUNS]` (never imported by tests).

The floor is the least any command built on these libraries can cost: a typer command that
imports polars, pydantic, typer and tabulate, reads one CSV with polars and prints a tabulate
table. It is written to a temporary directory and timed in the same loop as `splitcompute
quote`, `splitcompute plan examples/split_auto.toml`, `splitcompute catalog offers` and
`splitcompute --help` (round robin, so a noisy machine slows them all alike); what is printed
is the median of each and its ratio to the floor's median, and (a steadier view on a shared
machine) the least CPU time of each run and its ratio to the floor's. Byte-code caching is left on
(PYTHONDONTWRITEBYTECODE removed), as in an installed package: otherwise every run of the tool
recompiles its sixty modules while the floor compiles one file.
The floor ends the way `splitcompute` does, without the interpreter's teardown, so the two
compare like for like.

`quote` and `plan` run with the physics store (`physics.store`) emptied before each run, so
every solve is done (a scenario whose physics is new); `quote_stored` and `plan_stored` find
their solves from the run before, as when a user edits a scenario's prices or dates and quotes
again. Each command has a cache directory of its own (never the user's), so one's runs do not
fill or empty another's store.

Targets (issue 12): quote <= 1.3x, plan (split_auto) <= 1.5x the floor.
Last line: `floor_s=F quote_ratio=Q plan_ratio=P quote_stored_ratio=.. plan_stored_ratio=..
catalog_ratio=C help_ratio=H`.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15

FLOOR = """
from typing import Annotated

import polars as pl
import pydantic  # noqa: F401
import typer
from tabulate import tabulate

app = typer.Typer()


@app.command()
def main(path: Annotated[str, typer.Argument()]) -> None:
    df = pl.read_csv(path)
    print(tabulate(df.head(20).rows(), headers=df.columns))


if __name__ == "__main__":
    # Ends as the `splitcompute` program does (estimator.cli._exit_now): output flushed, atexit
    # run, no interpreter teardown. Without this the floor alone pays ~50-90 ms of teardown and
    # every ratio would flatter the tool.
    import atexit
    import os
    import sys

    try:
        app()
    except SystemExit as end:
        code = end.code if isinstance(end.code, int) else 0
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)
"""


def commands(floor: Path) -> dict[str, list[str]]:
    cli = str(BIN / "splitcompute")
    return {
        "floor": [sys.executable, str(floor), str(ROOT / "pricing" / "data" / "offers.csv")],
        "quote": [cli, "quote", str(ROOT / "examples" / "split_abroad_home.toml")],
        "plan": [cli, "plan", str(ROOT / "examples" / "split_auto.toml")],
        "quote_stored": [cli, "quote", str(ROOT / "examples" / "split_abroad_home.toml")],
        "plan_stored": [cli, "plan", str(ROOT / "examples" / "split_auto.toml")],
        "catalog": [cli, "catalog", "offers"],
        "help": [cli, "--help"],
    }


def run(argv: list[str], cache: Path) -> tuple[float, float]:
    """Wall-clock seconds and the CPU seconds (user + system, all threads) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["XDG_CACHE_HOME"] = str(cache)
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        floor = Path(tmp) / "floor.py"
        floor.write_text(FLOOR)
        cmds = commands(floor)
        caches = {name: Path(tmp) / f"cache-{name}" for name in cmds}
        for name, argv in cmds.items():  # warm-up: page cache, the catalog cache
            run(argv, caches[name])
        times: dict[str, list[float]] = {name: [] for name in cmds}
        cpus: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(RUNS):
            for name, argv in cmds.items():
                if name in ("quote", "plan"):
                    for solved in caches[name].glob("splitcompute/physics-*"):
                        shutil.rmtree(solved)
                wall, cpu = run(argv, caches[name])
                times[name].append(wall)
                cpus[name].append(cpu)
    medians = {name: statistics.median(t) for name, t in times.items()}
    base = medians["floor"]
    # The least CPU time of each is a second view, steadier than wall time on a shared machine
    # (other processes stretch wall time, much less the CPU a run itself needs).
    least = {name: min(t) for name, t in cpus.items()}
    for name, m in medians.items():
        print(
            f"{name:12} median {m:.3f} s  ({m / base:.2f}x the floor, {RUNS} runs); "
            f"least CPU {least[name]:.3f} s ({least[name] / least['floor']:.2f}x)"
        )
    ratios = " ".join(f"{n}_ratio={medians[n] / base:.2f}" for n in cmds if n != "floor")
    print(f"floor_s={base:.3f} {ratios}")


if __name__ == "__main__":
    main()
