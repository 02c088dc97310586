"""`splitcompute catalog TABLE`: list a catalog table, filtered, prices in one currency."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from estimator.cli.app import (
    AllErrorsOpt,
    AsOfOpt,
    CatalogDir,
    CurrencyOpt,
    FormatOpt,
    app,
    check_format,
    clean_errors,
    load_catalog,
    parse_date,
)


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
    as_of: AsOfOpt = None,
    fmt: FormatOpt = "table",
    catalog_dir: CatalogDir = None,
    all_errors: AllErrorsOpt = False,
) -> None:
    """List a catalog table, filtered, with prices in one currency and stale rows flagged."""
    check_format(fmt)
    from estimator.listing import catalog_rows
    from estimator.report.rows import render_rows

    rows, columns = catalog_rows(
        load_catalog(catalog_dir),
        table,
        accelerator=accelerator,
        region=region,
        provider=provider,
        pricing=pricing,
        max_price=max_price,
        currency=currency,
        sort=sort,
        as_of=parse_date(as_of, "--as-of") or date.today(),
        wide=fmt != "table",
    )
    if not rows:
        typer.echo("no rows match", err=True)
        return
    typer.echo(render_rows(rows, fmt, columns))
