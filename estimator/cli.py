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
    from estimator.report import FORMATS

    if fmt not in FORMATS:
        raise typer.BadParameter(
            f"'{fmt}' is not one of {', '.join(FORMATS)}", param_hint="--format"
        )
    return fmt


def _parse_date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date YYYY-MM-DD", param_hint=flag) from None


# -- catalog ------------------------------------------------------------------------------------


@app.command("catalog")
@clean_errors
def catalog_cmd(
    table: Annotated[
        str,
        typer.Argument(
            help="accelerators, regions, offers, hardware, fx, "
            "transfer, efficiency, policies or models."
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
    catalog_dir: CatalogDir = None,
) -> None:
    """Quote a split plan: devices, time and money per phase, region and currency, and findings."""
    _check_format(fmt)
    from estimator.quoting import quote
    from estimator.report import render_quote
    from estimator.scenario import load_scenario

    scenario = load_scenario(file)
    result = quote(
        scenario, _load_catalog(catalog_dir), currency=currency, as_of=_parse_date(as_of, "--as-of")
    )
    typer.echo(render_quote(result, fmt))
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
        list(files), _load_catalog(catalog_dir), currency=currency,
        as_of=_parse_date(as_of, "--as-of"),
    )
    typer.echo(render_comparison(result, fmt))


@app.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of scenario files."""
    from estimator.report import to_json
    from estimator.scenario import json_schema

    typer.echo(to_json(json_schema()))


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
