"""`splitcompute quote`, `compare` and `schema`."""

from pathlib import Path
from typing import Annotated, Any

import typer

from estimator.cli.app import (
    AllErrorsOpt,
    AvoidOpt,
    CatalogDir,
    CompareTableOpt,
    CurrencyOpt,
    ForceOpt,
    FormatOpt,
    JudgeAsOfOpt,
    ModelErrorOpt,
    OutputOpt,
    SamplesOpt,
    ScenarioArg,
    SeedOpt,
    StrictOpt,
    TableOpt,
    WideOpt,
    app,
    check_format,
    clean_errors,
    file_name,
    load_catalog,
    parse_date,
    strict_exit,
    with_avoided,
)
from estimator.cli.output import check_output, check_samples, emit, progress, show


@app.command("quote")
@clean_errors
def quote_cmd(
    file: ScenarioArg,
    fmt: FormatOpt = None,
    currency: CurrencyOpt = None,
    as_of: JudgeAsOfOpt = None,
    strict: StrictOpt = False,
    avoid: AvoidOpt = None,
    samples: SamplesOpt = None,
    seed: SeedOpt = None,
    model_error: ModelErrorOpt = True,
    table: TableOpt = None,
    wide: WideOpt = False,
    output: OutputOpt = None,
    force: ForceOpt = False,
    catalog_dir: CatalogDir = None,
    all_errors: AllErrorsOpt = False,
) -> None:
    """Quote a split plan: devices, time and money per phase, region and currency, and findings."""
    fmt = check_format(fmt, output)
    inputs = [file, *([catalog_dir] if catalog_dir else [])]
    seed = check_samples(samples, seed)
    if output is not None:
        check_output(output, force, inputs)
    from estimator.api import percentiles, plan
    from estimator.report.view import quote_view, uncertainty_view
    from estimator.scenario_file import load_scenario

    day = parse_date(as_of, "--as-of")
    cat = load_catalog(catalog_dir, currency, day)
    # Sites left to the planner are placed first (cheapest allowed); fixed ones are kept.
    scenario = with_avoided(load_scenario(file), avoid, cat)
    planned = plan(scenario, cat, currency=currency, as_of=day)
    result = planned.placed_quote()
    uncertainty = None
    if samples is not None:
        with progress(samples, "Monte Carlo") as step:
            pct = percentiles(planned, cat, samples=samples, seed=seed, progress=step,
                              model_error=model_error)  # fmt: skip
        uncertainty = uncertainty_view(pct, samples, seed)
    view = quote_view(result, uncertainty)
    show(view, fmt, table=table, wide=wide, output=output, force=force, inputs=inputs)
    if strict:
        strict_exit(result.findings)


@app.command("compare")
@clean_errors
def compare_cmd(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE...", help="Two or more scenario files.", parser=file_name),
    ],
    fmt: FormatOpt = None,
    currency: CurrencyOpt = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Price and convert every file at this date's prices and rates (each file's "
            "phases judged on the rules in force while they run); default: each file's own as_of.",
        ),
    ] = None,
    avoid: AvoidOpt = None,
    table: CompareTableOpt = None,
    wide: WideOpt = False,
    output: OutputOpt = None,
    force: ForceOpt = False,
    catalog_dir: CatalogDir = None,
    all_errors: AllErrorsOpt = False,
) -> None:
    """Side by side: cost per phase, total, time to train, findings, difference to the first.

    In one currency (the first file's, or --currency), each file on its own date: its as_of's
    prices and exchange rates, shown as each scenario's `as of` and `CUR per USD` rows."""
    fmt = check_format(fmt, output)
    from estimator.errors import ScenarioError

    if len(files) < 2:
        raise ScenarioError(f"needs two or more scenario files, got {len(files)}", "compare")
    if sum(str(f) == "-" for f in files) > 1:
        raise ScenarioError("standard input (-) can be read once only", "compare")
    inputs = [*files, *([catalog_dir] if catalog_dir else [])]
    if output is not None:
        check_output(output, force, inputs)
    from estimator.api import compare
    from estimator.report.plan_view import comparison_view

    day = parse_date(as_of, "--as-of")
    cat = load_catalog(catalog_dir, currency, day)
    scenarios: list[Any] = list(files)
    if avoid:  # each file's own avoid, and the flag's
        from estimator.scenario_file import load_scenario

        scenarios = [with_avoided(load_scenario(f), avoid, cat) for f in files]
    result = compare(scenarios, cat, currency=currency, as_of=day)
    view = comparison_view(result)
    show(view, fmt, table=table, wide=wide, output=output, force=force, inputs=inputs)


SCHEMAS = ("scenario", "quote", "plan", "comparison", "estimate", "sensitivity")
# A command's own name for the schema of its JSON (rev16b #8: `schema compare` was refused).
SCHEMA_ALIASES = {"compare": "comparison", "train": "estimate", "serve": "estimate"}


@app.command("schema")
@clean_errors
def schema_cmd(
    what: Annotated[
        str,
        typer.Argument(
            help="scenario (the input file), or the JSON output of quote, plan, "
            "comparison (compare), estimate (train / serve) or sensitivity."
        ),
    ] = "scenario",
    output: OutputOpt = None,
    force: ForceOpt = False,
) -> None:
    """Print the JSON Schema of scenario files or of a command's JSON output."""
    from estimator.errors import ScenarioError
    from estimator.report.rows import to_json
    from pricing.errors import shown, suggest

    what = SCHEMA_ALIASES.get(what, what)
    if what not in SCHEMAS:
        hint = suggest(what, [*SCHEMAS, *SCHEMA_ALIASES])
        extra = f": did you mean '{hint}'?" if hint else ""
        raise ScenarioError(f"'{shown(what)}' is not one of {', '.join(SCHEMAS)}{extra}", "schema")
    if what == "scenario":
        from estimator.scenario import json_schema

        emit(to_json(json_schema()), output, force)
        return
    from pydantic import BaseModel

    from estimator.docs import described, with_physics
    from estimator.report import estimate_view, plan_view, view

    models: dict[str, type[BaseModel]] = {
        "quote": view.QuoteView,
        "plan": plan_view.PlanView,
        "comparison": plan_view.ComparisonView,
        "estimate": estimate_view.EstimateView,
        "sensitivity": plan_view.SensitivityView,
    }
    model = models[what]
    schema = described(model, model.model_json_schema(by_alias=True), True)
    emit(to_json(with_physics(schema, estimate=what == "estimate")), output, force)
