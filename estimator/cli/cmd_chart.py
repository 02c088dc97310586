"""`splitcompute chart KIND FILE... -o FILE.svg|png`: one chart of a quote, plan or comparison."""

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from estimator.cli.app import (
    CatalogDir,
    CurrencyOpt,
    ForceOpt,
    OutputOpt,
    SeedOpt,
    app,
    clean_errors,
    file_name,
    load_catalog,
    parse_date,
)
from estimator.cli.output import check_output, check_samples, check_swing, emit, progress

if TYPE_CHECKING:
    from estimator.report.charts import Chart
    from pricing import Catalog

KINDS = ("cost", "regions", "timeline", "cash-flow", "uncertainty", "tornado", "compare")


@app.command("chart")
@clean_errors
def chart_cmd(
    kind: Annotated[
        str,
        typer.Argument(
            help="cost (by phase and component), regions (by region and currency), timeline, "
            "cash-flow, uncertainty (P10/P50/P90), tornado (sensitivity) or compare."
        ),
    ],
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="Scenario file (compare: two or more); - for stdin.",
            parser=file_name,
        ),
    ],
    output: OutputOpt = None,
    force: ForceOpt = False,
    samples: Annotated[
        int, typer.Option("--samples", help="Monte Carlo samples for the uncertainty chart.")
    ] = 10_000,
    seed: SeedOpt = None,
    swing: Annotated[
        float, typer.Option(help="tornado: +/- fraction for inputs without a catalog range.")
    ] = 0.2,
    currency: CurrencyOpt = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Use this date's prices and exchange rates; each phase is judged on every rule "
            "in force while it runs.",
        ),
    ] = None,
    catalog_dir: CatalogDir = None,
) -> None:
    """Draw one chart as SVG or PNG (by the --output suffix; SVG on stdout without -o).

    Sites left to the planner are placed first."""
    from estimator.errors import ScenarioError

    if kind not in KINDS:
        raise ScenarioError(f"'{kind}' is not one of {', '.join(KINDS)}", "chart")
    suffix = output.suffix.lower() if output is not None else ".svg"
    if suffix not in (".svg", ".png"):
        raise ScenarioError("the chart file must end in .svg or .png", "--output")
    if (kind == "compare") != (len(files) > 1):
        need = "two or more scenario files" if kind == "compare" else "one scenario file"
        raise ScenarioError(f"{kind} needs {need}, got {len(files)}", "chart")
    inputs = [*files, *([catalog_dir] if catalog_dir else [])]
    seed = check_samples(samples, seed)
    if kind == "tornado":
        check_swing(swing)
    if output is not None:
        check_output(output, force, inputs)
    from estimator.report import charts

    charts.require()  # before the work: a missing extra is said at once
    day = parse_date(as_of, "--as-of")
    cat = load_catalog(catalog_dir, currency, day)
    if kind == "compare":
        from estimator.api import compare

        chart = charts.chart(compare(list(files), cat, currency=currency, as_of=day))
    else:
        chart = _one(kind, files[0], cat, currency, day, samples, seed, swing)
    chart.titled()
    emit(charts.png(chart) if suffix == ".png" else charts.svg(chart), output, force, inputs)


def _one(
    kind: str,
    file: Path,
    cat: "Catalog",
    currency: str | None,
    day: date | None,
    samples: int,
    seed: int,
    swing: float,
) -> "Chart":
    from estimator.api import plan
    from estimator.report import charts
    from estimator.scenario_file import load_scenario

    planned = plan(load_scenario(file), cat, currency=currency, as_of=day)
    with progress(samples if kind == "uncertainty" else 0, "Monte Carlo") as step:
        return charts.chart(
            planned, kind, catalog=cat, samples=samples, seed=seed, swing=swing, progress=step
        )
