"""The `splitcompute` command line: parse flags, call the library, print.

This is the only module that knows about exit codes and terminals:
0 = answer produced, 1 = infeasible or a rule broken under --strict, 2 = bad input.
Heavy modules are imported inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Price split AI training/inference plans: rented Nvidia capacity abroad, domestic "
    "accelerators at home, and the rules that apply.",
)


@app.callback()
def _root() -> None:
    """Price split AI training/inference plans."""


EXIT_OK, EXIT_INFEASIBLE, EXIT_BAD_INPUT = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])

CatalogDir = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        envvar="SPLITCOMPUTE_CATALOG",
        help="Directory of CSV files overriding the embedded catalogs (same columns).",
    ),
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table, json, csv or markdown.")]
# The offer a quick quote is priced at, and for whom.
PriceRegionOpt = Annotated[str | None, typer.Option(help="Price in this region only.")]
PricePricingOpt = Annotated[str | None, typer.Option(help="Price with this pricing model only.")]
PriceProviderOpt = Annotated[str | None, typer.Option(help="Price with this provider only.")]
TenantOpt = Annotated[
    str, typer.Option("--tenant-hq", help="Headquarters country, for the rules shown.")
]
PricesAsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Prices as of (default today).")]
SamplesOpt = Annotated[
    int | None,
    typer.Option("--samples", help="Monte-Carlo samples for P10/P50/P90 (catalog ranges)."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed for --samples.")]
CurrencyOpt = Annotated[
    str | None, typer.Option("--currency", help="Show money in this currency (ISO code).")
]


def _fail(lines: list[str], code: int) -> typer.Exit:
    for line in lines:
        typer.echo(f"error: {line}" if line is lines[0] else f"  {line}", err=True)
    return typer.Exit(code)


def clean_errors(func: F) -> F:
    """Turn the library's typed errors into one-line messages and exit codes (no traceback).

    SPLITCOMPUTE_DEBUG=1 lets the traceback through.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from estimator.errors import InfeasibleError, SplitcomputeError

        try:
            return func(*args, **kwargs)
        except SplitcomputeError as exc:
            if os.environ.get("SPLITCOMPUTE_DEBUG"):
                raise
            code = EXIT_INFEASIBLE if isinstance(exc, InfeasibleError) else EXIT_BAD_INPUT
            raise _fail(exc.lines(), code) from None

    return wrapper  # type: ignore[return-value]


def _check_format(fmt: str) -> str:
    from estimator.errors import ScenarioError
    from estimator.report import FORMATS

    if fmt not in FORMATS:
        raise ScenarioError(f"'{fmt}' is not one of {', '.join(FORMATS)}", "--format")
    return fmt


def _parse_date(value: str | None, flag: str) -> date | None:
    from estimator.errors import ScenarioError

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ScenarioError(f"'{value}' is not a date YYYY-MM-DD", flag) from None


# -- catalog ------------------------------------------------------------------------------------


@app.command("catalog")
@clean_errors
def catalog_cmd(
    table: Annotated[
        str,
        typer.Argument(
            help="accelerators, regions, offers, hardware, fx, "
            "transfer, efficiency, policies, shocks, defaults or models."
        ),
    ],
    accelerator: Annotated[str | None, typer.Option(help="Only this accelerator id.")] = None,
    region: Annotated[str | None, typer.Option(help="Only this region id.")] = None,
    provider: Annotated[str | None, typer.Option(help="Only this provider (offers).")] = None,
    pricing: Annotated[str | None, typer.Option(help="Only this pricing model (offers).")] = None,
    max_price: Annotated[
        float | None,
        typer.Option(
            help="Only offers at or below this price per device-hour, in the shown currency."
        ),
    ] = None,
    currency: CurrencyOpt = None,
    sort: Annotated[str | None, typer.Option(help="Sort by this column.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="FX date and staleness reference (default today).")
    ] = None,
    fmt: FormatOpt = "table",
    catalog_dir: CatalogDir = None,
) -> None:
    """List a catalog table, filtered, with prices in one currency and stale rows flagged."""
    _check_format(fmt)
    from estimator.listing import catalog_rows
    from estimator.report import render_rows
    from pricing import load_catalog

    cat = load_catalog(catalog_dir)
    rows, columns = catalog_rows(
        cat,
        table,
        accelerator=accelerator,
        region=region,
        provider=provider,
        pricing=pricing,
        max_price=max_price,
        currency=currency,
        sort=sort,
        as_of=_parse_date(as_of, "--as-of") or date.today(),
        wide=fmt != "table",
    )
    if not rows:
        typer.echo("no rows match", err=True)
        return
    typer.echo(render_rows(rows, fmt, columns))


def _load_catalog(catalog_dir: Path | None) -> Any:
    from pricing import load_catalog

    return load_catalog(catalog_dir)


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
        bool, typer.Option("--strict", help="Exit 1 when any rule blocks the plan.")
    ] = False,
    samples: SamplesOpt = None,
    seed: SeedOpt = 0,
    catalog_dir: CatalogDir = None,
) -> None:
    """Quote a split plan: devices, time and money per phase, region and currency, and findings."""
    _check_format(fmt)
    from estimator.quoting import quote
    from estimator.report import render_quote
    from estimator.scenario import load_scenario

    scenario = load_scenario(file)
    cat = _load_catalog(catalog_dir)
    day = _parse_date(as_of, "--as-of")
    if any(p.is_auto for p in scenario.phases):
        # Sites left to the planner: place them (cheapest allowed), then quote as usual.
        from estimator.plan import plan

        planned = plan(scenario, cat, currency=currency, as_of=day)
        scenario = planned.scenario
        result = planned.quote
        result.assumptions["placed_by_planner"] = [p.phase for p in planned.phases]
    else:
        result = quote(scenario, cat, currency=currency, as_of=day)
    uncertainty = None
    if samples is not None:
        from estimator.report import samples_data
        from estimator.uncertainty import sample

        pct = sample(scenario, cat, result, samples, seed)
        uncertainty = samples_data(pct, samples, seed)
    typer.echo(render_quote(result, fmt, uncertainty))
    if strict and result.blocked:
        codes = sorted({f.code for f in result.findings if f.severity == "block"})
        raise _fail([f"blocked by {', '.join(codes)} (--strict)"], EXIT_INFEASIBLE)


@app.command("compare")
@clean_errors
def compare_cmd(
    files: Annotated[list[Path], typer.Argument(help="Two or more scenario files.")],
    fmt: FormatOpt = "table",
    currency: CurrencyOpt = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Judge all as of this date.")] = None,
    catalog_dir: CatalogDir = None,
) -> None:
    """Side by side: cost per phase, total, time to train, findings, difference to the first."""
    _check_format(fmt)
    from estimator.quoting import compare
    from estimator.report import render_comparison

    result = compare(
        list(files),
        _load_catalog(catalog_dir),
        currency=currency,
        as_of=_parse_date(as_of, "--as-of"),
    )
    typer.echo(render_comparison(result, fmt))


@app.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of scenario files."""
    from estimator.report import to_json
    from estimator.scenario import json_schema

    typer.echo(to_json(json_schema()))


@app.command("plan")
@clean_errors
def plan_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            help='Scenario file; phases with site = "auto" '
            "(or lists of allowed regions...) are placed."
        ),
    ],
    objective: Annotated[str, typer.Option(help="cost or time.")] = "cost",
    max_devices: Annotated[
        int | None, typer.Option(help="Most devices one phase can actually get.")
    ] = None,
    top_k: Annotated[int, typer.Option(help="Alternatives shown per phase.")] = 3,
    samples: SamplesOpt = None,
    seed: SeedOpt = 0,
    shock: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=YYYY-MM-DD (see `catalog shocks`) or a CSV of policy rows; "
            "re-plans the phases it blocks."
        ),
    ] = None,
    fmt: FormatOpt = "table",
    currency: CurrencyOpt = None,
    catalog_dir: CatalogDir = None,
) -> None:
    """Cheapest (or fastest) allowed placement of each phase, and why the runners-up lost."""
    _check_format(fmt)
    from estimator.errors import ScenarioError
    from estimator.plan import apply_shock, plan
    from estimator.report import plan_data, render_plan, samples_data
    from estimator.scenario import load_scenario

    if objective not in ("cost", "time"):
        raise ScenarioError(f"--objective must be cost or time, got '{objective}'")
    if max_devices is not None and max_devices <= 0:
        raise ScenarioError(f"--max-devices must be positive, got {max_devices}")
    if top_k < 1:
        raise ScenarioError(f"--top-k must be at least 1, got {top_k}")
    if samples is not None and samples <= 0:
        raise ScenarioError(f"--samples must be a positive whole number, got {samples}")
    scenario = load_scenario(file)
    cat = _load_catalog(catalog_dir)
    kwargs: dict[str, Any] = {
        "objective": objective,
        "max_devices": max_devices,
        "currency": currency,
    }
    shocked = apply_shock(scenario, cat, shock, **kwargs) if shock else None
    chosen = shocked.base if shocked else plan(scenario, cat, top_k=top_k, **kwargs)
    pct = None
    if samples is not None:
        from estimator.uncertainty import sample

        fixed = chosen.scenario
        pct = samples_data(sample(fixed, cat, chosen.quote, samples, seed), samples, seed)
    typer.echo(render_plan(plan_data(chosen, pct, shocked), fmt))


@app.command("sensitivity")
@clean_errors
def sensitivity_cmd(
    file: Annotated[Path, typer.Argument(help="Scenario file (auto sites are planned first).")],
    swing: Annotated[
        float, typer.Option(help="+/- fraction for inputs without a catalog range.")
    ] = 0.2,
    fmt: FormatOpt = "table",
    currency: CurrencyOpt = None,
    catalog_dir: CatalogDir = None,
) -> None:
    """Which inputs (prices, MFU, FX, tokens, demand) move the total most, one at a time."""
    _check_format(fmt)
    from estimator.plan import plan
    from estimator.report import render_sensitivity
    from estimator.scenario import load_scenario
    from estimator.uncertainty import sensitivity

    scenario = load_scenario(file)
    cat = _load_catalog(catalog_dir)
    chosen = plan(scenario, cat, currency=currency)
    fixed = chosen.scenario
    typer.echo(render_sensitivity(sensitivity(fixed, cat, chosen.quote, swing), chosen.quote, fmt))


# -- quick physics quotes ---------------------------------------------------------------------


def _model_from_flags(
    cat: Any, model: str | None, params: float | None, active: float | None
) -> Any:
    from estimator.errors import ScenarioError
    from estimator.models import resolve_model

    if (model is None) == (params is None):
        raise ScenarioError("give exactly one of --model PRESET or --params N")
    if model is not None:
        return resolve_model(cat, model)
    return resolve_model(cat, total_params=params, active_params=active or params)


def _render_record(record: dict[str, Any], fmt: str) -> str:
    from estimator.report import render_rows, to_json

    if fmt == "json":
        return to_json(record)
    if fmt == "csv":
        return render_rows([record], "csv")
    rows = [
        {"quantity": k, "value": "; ".join(v) if isinstance(v, list) else v}
        for k, v in record.items()
    ]
    return render_rows(rows, fmt)


@app.command("train")
@clean_errors
def train_cmd(
    tokens: Annotated[float, typer.Option(help="Training tokens, e.g. 15e12.")],
    accelerator: Annotated[str, typer.Option(help="Accelerator id (see `catalog accelerators`).")],
    model: Annotated[str | None, typer.Option(help="Model preset (see `catalog models`).")] = None,
    params: Annotated[
        float | None, typer.Option(help="Total parameters of a custom model.")
    ] = None,
    active_params: Annotated[
        float | None, typer.Option(help="Active parameters per token (MoE; default = params).")
    ] = None,
    devices: Annotated[int | None, typer.Option(help="Devices to train on.")] = None,
    deadline_days: Annotated[
        float | None, typer.Option(help="Or: finish within this many days.")
    ] = None,
    precision: Annotated[str, typer.Option(help="bf16, fp16 or fp8.")] = "bf16",
    mfu: Annotated[float | None, typer.Option(help="Override the MFU default.")] = None,
    goodput: Annotated[float | None, typer.Option(help="Override the goodput default.")] = None,
    workload: Annotated[str, typer.Option(help="pretrain or finetune.")] = "pretrain",
    region: PriceRegionOpt = None,
    pricing: PricePricingOpt = None,
    provider: PriceProviderOpt = None,
    tenant_hq: TenantOpt = "CN",
    currency: CurrencyOpt = None,
    as_of: PricesAsOfOpt = None,
    fmt: FormatOpt = "table",
    catalog_dir: CatalogDir = None,
) -> None:
    """Training estimate: FLOPs, device-hours, days, devices, memory, cost at the cheapest offer."""
    _check_format(fmt)
    from estimator.errors import ScenarioError
    from estimator.quick import train_quote

    if (devices is None) == (deadline_days is None):
        raise ScenarioError("give exactly one of --devices or --deadline-days")
    cat = _load_catalog(catalog_dir)
    record = train_quote(
        cat,
        _model_from_flags(cat, model, params, active_params),
        accelerator,
        tokens,
        currency=currency or "USD",
        as_of=_parse_date(as_of, "--as-of") or date.today(),
        region=region,
        pricing=pricing,
        provider=provider,
        tenant_hq=tenant_hq,
        devices=devices,
        deadline_days=deadline_days,
        precision=precision,
        mfu=mfu,
        goodput=goodput,
        workload=workload,
    )
    typer.echo(_render_record(record, fmt))


@app.command("serve")
@clean_errors
def serve_cmd(
    model: Annotated[str, typer.Option(help="Model preset (see `catalog models`).")],
    accelerator: Annotated[str, typer.Option(help="Accelerator id.")],
    input_len: Annotated[int, typer.Option(help="Input tokens per request.")],
    output_len: Annotated[int, typer.Option(help="Output tokens per request.")],
    precision: Annotated[str, typer.Option(help="bf16, fp16, fp8 or int8.")] = "bf16",
    tpot_ms: Annotated[float | None, typer.Option(help="Time per output token target, ms.")] = None,
    ttft_ms: Annotated[float | None, typer.Option(help="Time to first token target, ms.")] = None,
    devices: Annotated[
        int | None, typer.Option(help="Devices per replica (default: searched).")
    ] = None,
    input_tokens_per_day: Annotated[float | None, typer.Option(help="Daily input tokens.")] = None,
    output_tokens_per_day: Annotated[
        float | None, typer.Option(help="Daily output tokens.")
    ] = None,
    peak_to_average: Annotated[float | None, typer.Option(help="Peak / average demand.")] = None,
    region: PriceRegionOpt = None,
    pricing: PricePricingOpt = None,
    provider: PriceProviderOpt = None,
    tenant_hq: TenantOpt = "CN",
    currency: CurrencyOpt = None,
    as_of: PricesAsOfOpt = None,
    fmt: FormatOpt = "table",
    catalog_dir: CatalogDir = None,
) -> None:
    """Serving estimate: prefill and decode tokens/s per device, batch, devices, cost per 1M."""
    _check_format(fmt)
    from estimator.quick import serve_quote

    cat = _load_catalog(catalog_dir)
    record = serve_quote(
        cat,
        _model_from_flags(cat, model, None, None),
        accelerator,
        currency=currency or "USD",
        as_of=_parse_date(as_of, "--as-of") or date.today(),
        region=region,
        pricing=pricing,
        provider=provider,
        tenant_hq=tenant_hq,
        precision=precision,
        input_len=input_len,
        output_len=output_len,
        tpot_ms=tpot_ms,
        ttft_ms=ttft_ms,
        devices=devices,
        input_tokens_per_day=input_tokens_per_day,
        output_tokens_per_day=output_tokens_per_day,
        peak_to_average=peak_to_average,
    )
    typer.echo(_render_record(record, fmt))


@app.command("calibration")
@clean_errors
def calibration_cmd(fmt: FormatOpt = "table", catalog_dir: CatalogDir = None) -> None:
    """Published training and serving runs vs our prediction with default settings (% error)."""
    _check_format(fmt)
    from estimator.calibration import calibration_table, summary
    from estimator.report import render_rows

    table = calibration_table(_load_catalog(catalog_dir))
    rows = table.to_dicts()
    if fmt in ("json", "csv"):
        typer.echo(render_rows(rows, fmt))
        return
    cols = [
        "run",
        "kind",
        "scored",
        "accelerator",
        "published",
        "predicted",
        "unit",
        "error_pct",
        "tolerance_pct",
    ]
    typer.echo(render_rows(rows, fmt, cols, title="Calibration against published runs"))
    typer.echo("")
    typer.echo(render_rows(summary(table).to_dicts(), fmt, title="Summary (scored runs)"))


def main() -> None:
    """Console-script entry point. Click's own usage errors (unknown flag, missing argument,
    a value of the wrong type) are printed as one line like every other error."""
    try:  # recent typer vendors click; older ones use the click package
        from typer._click import exceptions as cx  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # pragma: no cover - depends on the installed typer
        from click import exceptions as cx  # type: ignore[no-redef,unused-ignore]

    try:
        code = app(standalone_mode=False)
    except cx.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
            typer.echo(exc.ctx.get_help())
            code = EXIT_OK
        else:
            typer.echo(f"error: {exc.format_message()}", err=True)
            code = EXIT_BAD_INPUT
    except typer.Abort:  # pragma: no cover - interactive only
        code = 130
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        code = 130
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
