"""`splitcompute quote`, `compare` and `schema`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from estimator.cli.app import (
    AllErrorsOpt,
    CatalogDir,
    CurrencyOpt,
    FormatOpt,
    SamplesOpt,
    SeedOpt,
    app,
    check_format,
    clean_errors,
    load_catalog,
    parse_date,
    strict_exit,
)


@app.command("quote")
@clean_errors
def quote_cmd(
    file: Annotated[Path, typer.Argument(help="Scenario file (.toml, .yaml, .yml or .json).")],
    fmt: FormatOpt = "table",
    currency: CurrencyOpt = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Judge prices, rates and rules as of this date.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when any finding blocks the plan.")
    ] = False,
    samples: SamplesOpt = None,
    seed: SeedOpt = 0,
    catalog_dir: CatalogDir = None,
    all_errors: AllErrorsOpt = False,
) -> None:
    """Quote a split plan: devices, time and money per phase, region and currency, and findings."""
    check_format(fmt)
    from estimator.api import plan
    from estimator.context import prepare
    from estimator.report.text import render
    from estimator.report.view import quote_view, uncertainty_view
    from estimator.scenario import load_scenario

    scenario = load_scenario(file)
    cat = load_catalog(catalog_dir)
    # Sites left to the planner are placed first (cheapest allowed); fixed ones are kept.
    planned = plan(scenario, cat, currency=currency, as_of=parse_date(as_of, "--as-of"))
    result = planned.quote
    if planned.phases:
        result.assumptions["placed_by_planner"] = [p.phase for p in planned.phases]
    uncertainty = None
    if samples is not None:
        from estimator.uncertainty import sample

        c = prepare(planned.scenario, cat, currency=result.currency, as_of=result.as_of)
        uncertainty = uncertainty_view(sample(c, result, samples, seed), samples, seed)
    typer.echo(render(quote_view(result, uncertainty), fmt))
    if strict:
        strict_exit(result.findings)


@app.command("compare")
@clean_errors
def compare_cmd(
    files: Annotated[list[Path], typer.Argument(help="Two or more scenario files.")],
    fmt: FormatOpt = "table",
    currency: CurrencyOpt = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Judge all as of this date.")] = None,
    catalog_dir: CatalogDir = None,
    all_errors: AllErrorsOpt = False,
) -> None:
    """Side by side: cost per phase, total, time to train, findings, difference to the first."""
    check_format(fmt)
    from estimator.api import compare
    from estimator.report.plan_view import comparison_view
    from estimator.report.text import render

    result = compare(
        list(files),
        load_catalog(catalog_dir),
        currency=currency,
        as_of=parse_date(as_of, "--as-of"),
    )
    typer.echo(render(comparison_view(result), fmt))


SCHEMAS = ("scenario", "quote", "plan", "comparison", "estimate")


@app.command("schema")
@clean_errors
def schema_cmd(
    output: Annotated[
        str,
        typer.Option(
            "--output",
            help="scenario (the input file), or the JSON output of quote, plan, "
            "comparison or estimate (train / serve).",
        ),
    ] = "scenario",
) -> None:
    """Print the JSON Schema of scenario files or of a command's JSON output."""
    from estimator.errors import ScenarioError
    from estimator.report.rows import to_json
    from pricing.errors import shown

    if output not in SCHEMAS:
        raise ScenarioError(f"'{shown(output)}' is not one of {', '.join(SCHEMAS)}", "--output")
    if output == "scenario":
        from estimator.scenario import json_schema

        typer.echo(to_json(json_schema()))
        return
    from pydantic import BaseModel

    from estimator.report import plan_view, view

    models: dict[str, type[BaseModel]] = {
        "quote": view.QuoteView,
        "plan": plan_view.PlanView,
        "comparison": plan_view.ComparisonView,
        "estimate": view.EstimateView,
    }
    model = models[output]
    typer.echo(to_json(model.model_json_schema(by_alias=True)))
