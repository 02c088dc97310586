"""`splitcompute catalog TABLE`: list a catalog table, filtered, prices in one currency."""

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from estimator.cli.app import (
    AllErrorsOpt,
    AsOfOpt,
    CatalogDir,
    CurrencyOpt,
    ForceOpt,
    FormatOpt,
    OutputOpt,
    WideOpt,
    app,
    check_format,
    clean_errors,
    file_name,
    load_catalog,
    parse_date,
)
from estimator.cli.output import check_output, emit, terminal


@app.command("catalog")
@clean_errors
def catalog_cmd(
    table: Annotated[
        str,
        typer.Argument(
            help="accelerators, regions, offers, hardware, fx, electricity, latency, "
            "transfer, supply, resale, efficiency, policies, shocks, defaults, models, "
            "rate_index or rate-index (public contract-price indices) or aliases (providers' "
            "names for our ids)."
        ),
    ],
    accelerator: Annotated[str | None, typer.Option(help="Only this accelerator id.")] = None,
    region: Annotated[str | None, typer.Option(help="Only this region id.")] = None,
    provider: Annotated[
        str | None, typer.Option(help="Only this provider (offers, transfer: its own egress rows).")
    ] = None,
    pricing: Annotated[str | None, typer.Option(help="Only this pricing model (offers).")] = None,
    max_price: Annotated[
        float | None,
        typer.Option(
            help="Only offers at or below this price per device-hour, in --currency (default "
            "USD; prices are then shown in it)."
        ),
    ] = None,
    currency: CurrencyOpt = None,
    sort: Annotated[str | None, typer.Option(help="Sort by this column.")] = None,
    as_of: AsOfOpt = None,
    history: Annotated[
        bool, typer.Option("--history", help="Every dated row, not only those valid --as-of.")
    ] = False,
    fmt: FormatOpt = None,
    wide: WideOpt = False,
    output: OutputOpt = None,
    force: ForceOpt = False,
    catalog_dir: CatalogDir = None,
    all_errors: AllErrorsOpt = False,
) -> None:
    """List a catalog table, filtered, with prices in one currency and stale rows flagged."""
    fmt = check_format(fmt, output)
    # rate-index as every other multi-word name is spelled (--table line-items, cash-flow;
    # rev16b #11: it was refused with a "did you mean 'rate_index'").
    table = table.replace("-", "_")
    inputs = [catalog_dir] if catalog_dir else []
    if output is not None:
        check_output(output, force, inputs)
    from estimator.listing import OPTIONAL, catalog_rows, why_empty
    from estimator.report.rows import render_rows

    cat = load_catalog(catalog_dir, currency)
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
        as_of=parse_date(as_of, "--as-of") or date.today(),
        wide=wide or fmt != "table",
        history=history,
    )
    when = parse_date(as_of, "--as-of") or date.today()
    stale = None if history else _stale_rate(cat, currency, when)
    if stale is not None:  # rev17a #20b: as a quote's stale-fx, on stderr
        typer.echo(stale, err=True)
    if not rows:
        reason = why_empty(cat, table, region, None if history else when)
        if fmt in ("json", "csv"):  # a consumer still gets a valid (empty) document
            emit(render_rows([], fmt, columns), output, force, inputs)
        elif output is not None:  # the file asked for says why it is empty
            emit(reason, output, force, inputs)
            return
        typer.echo(reason, err=fmt in ("json", "csv"))
        return
    text = render_rows(
        rows, fmt, columns, term=terminal(wide, output), optional=OPTIONAL.get(table, ())
    )
    if fmt == "html":
        from estimator.report.html import page

        text = page(f"Catalog: {table}", text)
    emit(text, output, force, inputs)


def _stale_rate(cat: Any, currency: str | None, as_of: date) -> str | None:
    """A listing converted at an exchange rate older than a quote's `stale-fx` allows."""
    if currency is None:
        return None
    from estimator.quoting import STALE_FX_DAYS

    rate = cat.rate(currency, as_of)
    age = (as_of - rate.as_of).days
    if rate.fixed or age <= STALE_FX_DAYS:
        return None
    return (
        f"note: prices in {currency} at its rate of {rate.as_of}, {age} days before {as_of} "
        "(stale-fx)"
    )


@app.command("import-skypilot")
@clean_errors
def import_skypilot_cmd(
    path: Annotated[
        Path,
        typer.Argument(help="A SkyPilot catalog vms.csv you downloaded.", parser=file_name),
    ],
    provider: Annotated[
        str | None,
        typer.Option(help="aws, gcp, lambda, oci... (default: the file's folder name)."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date the prices were read (default today).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write offers.csv rows here (a new file)."),
    ] = None,
    catalog_dir: CatalogDir = None,
) -> None:
    """Offer rows (offers.csv columns) from a SkyPilot vms.csv, for a --catalog DIR.

    Regions and GPU names map through the catalog's aliases.csv; rows that do not map are
    counted."""
    from estimator.checks import counted
    from estimator.errors import ScenarioError
    from estimator.report.rows import render_rows
    from pricing.errors import UnknownIdError
    from pricing.skypilot import import_vms

    cloud = provider or path.resolve().parent.name
    if not path.is_file():
        raise ScenarioError("no such file", str(path))
    if output is not None and output.exists():
        raise ScenarioError(
            "exists already: choose a new file (nothing is overwritten)", "--output"
        )
    day = parse_date(as_of, "--as-of") or date.today()
    if day > date.today():
        # rev14a nit: a read date in the future was accepted, and the catalog then served the
        # rows from that date on: a price cannot have been read after today.
        raise ScenarioError(
            f"{day} is after today ({date.today()}): give the date the prices were read",
            "--as-of",
        )
    try:
        result = import_vms(load_catalog(catalog_dir), path.read_bytes(), str(path), cloud, day)
    except UnknownIdError as exc:
        where = "--provider" if provider else f"--provider (default: the folder name '{cloud}')"
        raise ScenarioError(str(exc), where) from None
    text = render_rows(result.offers.to_dicts(), "csv", result.offers.columns)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
    skipped = "; ".join(f"{counted(n, 'row')} ({why})" for why, n in result.skipped.items())
    typer.echo(
        f"{result.offers.height:,} offer rows" + (f"; skipped {skipped}" if skipped else ""),
        err=True,
    )
