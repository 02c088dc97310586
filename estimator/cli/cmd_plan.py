"""`splitcompute plan` and `sensitivity`."""

from pathlib import Path
from typing import Annotated, Any

import typer

from estimator.cli.app import (
    AllErrorsOpt,
    AvoidOpt,
    CatalogDir,
    CurrencyOpt,
    ForceOpt,
    FormatOpt,
    JudgeAsOfOpt,
    ModelErrorOpt,
    OutputOpt,
    PlanTableOpt,
    SamplesOpt,
    ScenarioArg,
    SeedOpt,
    StrictOpt,
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
from estimator.cli.output import check_output, check_samples, check_swing, progress, show
from estimator.defaults import DEFAULT_TOP_K


@app.command("plan")
@clean_errors
def plan_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help='Scenario file (or - for stdin); phases with site = "auto" '
            "(or lists of allowed regions...) are placed.",
            parser=file_name,
        ),
    ],
    objective: Annotated[
        str,
        typer.Option(
            help="cost or time (the fastest plan: each phase starts as soon as the one before "
            "finishes; with --max-devices, training takes that many devices, or what an offer "
            "or a fleet has where it has less; without it, each option keeps the devices its "
            "deadline sizes, so time picks the fastest of those)."
        ),
    ] = "cost",
    max_devices: Annotated[
        int | None, typer.Option(help="Most devices one phase can actually get.")
    ] = None,
    top_k: Annotated[int, typer.Option(help="Alternatives shown per phase.")] = DEFAULT_TOP_K,
    samples: SamplesOpt = None,
    seed: SeedOpt = None,
    model_error: ModelErrorOpt = True,
    shock: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=YYYY-MM-DD (see `catalog shocks`) or a CSV of policy rows; "
            "re-plans the phases it blocks."
        ),
    ] = None,
    fmt: FormatOpt = None,
    currency: CurrencyOpt = None,
    as_of: JudgeAsOfOpt = None,
    strict: StrictOpt = False,
    avoid: AvoidOpt = None,
    table: PlanTableOpt = None,
    wide: WideOpt = False,
    output: OutputOpt = None,
    force: ForceOpt = False,
    catalog_dir: CatalogDir = None,
    all_errors: AllErrorsOpt = False,
) -> None:
    """Cheapest (or fastest) allowed placement of each phase, and why the runners-up lost."""
    fmt = check_format(fmt, output)
    seed = _check_flags(objective, max_devices, top_k, samples, seed)
    # A shock may be a CSV of policy rows: an input too, never replaced by --output.
    shock_files = [Path(s) for s in shock or () if Path(s).is_file()]
    inputs = [file, *([catalog_dir] if catalog_dir else []), *shock_files]
    if output is not None:
        check_output(output, force, inputs)
    from estimator.api import percentiles, plan, what_if
    from estimator.errors import ScenarioError
    from estimator.report.plan_view import plan_view
    from estimator.report.view import uncertainty_view
    from estimator.scenario_file import load_scenario

    day = parse_date(as_of, "--as-of")
    cat = load_catalog(catalog_dir, currency, day)
    scenario = with_avoided(load_scenario(file), avoid, cat)
    goal: Any = objective  # checked (`_check_flags`)
    shocked = None
    if shock:
        try:
            shocked = what_if(scenario, shock, cat, objective=goal, max_devices=max_devices,
                              top_k=top_k, currency=currency, as_of=day)  # fmt: skip
        except ScenarioError as exc:  # the library names its argument; here it is the flag
            where = "--shock" if exc.location == "shocks" else exc.location
            raise ScenarioError(exc.message, where) from None
        chosen = shocked.base
    else:
        chosen = plan(scenario, cat, objective=goal, max_devices=max_devices, top_k=top_k,
                      currency=currency, as_of=day)  # fmt: skip
    uncertainty = None
    if samples is not None:
        # Under a shock, the shocked plan: the question asked (rev12a #11: the percentiles were
        # of the plan before it, unlabelled, beside the shocked total).
        sampled = shocked.shocked if shocked else chosen
        with progress(samples, "Monte Carlo") as step:
            # (the shocked plan on the catalog it was made on: this one and the shock's rules)
            on = sampled.catalog if shocked else cat
            pct = percentiles(sampled, on, samples=samples, seed=seed, progress=step,
                              model_error=model_error)  # fmt: skip
        uncertainty = uncertainty_view(
            pct, samples, seed, plan="shocked" if shocked else "as given"
        )
    view = plan_view(chosen, uncertainty, shocked)
    show(view, fmt, table=table, wide=wide, output=output, force=force, inputs=inputs)
    if strict:  # a block the shock brings counts too (rev11d #1: a stranded phase exited 0)
        strict_exit([*chosen.quote.findings, *(shocked.shocked.quote.findings if shocked else [])])


def _check_flags(
    objective: str, max_devices: int | None, top_k: int, samples: int | None, seed: int | None
) -> int:
    from estimator.api import whole
    from estimator.context import OBJECTIVES
    from estimator.errors import ScenarioError
    from pricing.errors import shown

    if objective not in OBJECTIVES:
        raise ScenarioError(
            f"must be {' or '.join(OBJECTIVES)}, got '{shown(objective)}'", "--objective"
        )
    if max_devices is not None:
        whole(max_devices, "--max-devices")
    whole(top_k, "--top-k")
    return check_samples(samples, seed)


@app.command("sensitivity")
@clean_errors
def sensitivity_cmd(
    file: ScenarioArg,
    swing: Annotated[
        float, typer.Option(help="+/- fraction for inputs without a catalog range.")
    ] = 0.2,
    fmt: FormatOpt = None,
    currency: CurrencyOpt = None,
    as_of: JudgeAsOfOpt = None,
    wide: WideOpt = False,
    output: OutputOpt = None,
    force: ForceOpt = False,
    catalog_dir: CatalogDir = None,
    all_errors: AllErrorsOpt = False,
) -> None:
    """Which inputs (prices, MFU, FX, tokens, demand) move the total most, one at a time.

    Auto sites are placed first."""
    fmt = check_format(fmt, output)
    check_swing(swing)
    inputs = [file, *([catalog_dir] if catalog_dir else [])]
    if output is not None:
        check_output(output, force, inputs)
    from estimator.api import plan, sensitivity
    from estimator.report.plan_view import sensitivity_view
    from estimator.scenario_file import load_scenario

    day = parse_date(as_of, "--as-of")
    cat = load_catalog(catalog_dir, currency, day)
    chosen = plan(load_scenario(file), cat, currency=currency, as_of=day)
    view = sensitivity_view(chosen.quote, sensitivity(chosen, cat, swing=swing))
    show(view, fmt, wide=wide, output=output, force=force, inputs=inputs)
