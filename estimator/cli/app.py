"""The typer app, the options commands share, and the edge where typed errors become one-line
messages and exit codes: 0 = answer produced, 1 = infeasible or a rule broken under --strict,
2 = bad input. Heavy modules are imported inside the commands so `--help` stays fast."""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Price split AI training/inference plans: rented Nvidia capacity abroad, domestic "
    "accelerators at home, and the rules that apply.",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"splitcompute {version('splitcompute')}")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            typer.echo("splitcompute (not installed)")
        raise typer.Exit()


@app.callback()
def _root(
    _: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Price split AI training/inference plans."""


def _flags_without_type() -> None:
    """typer's help prints `<bool>` after a flag, as if it took a value (`--strict true` is then
    refused). A flag shows no type."""
    try:
        from typer.core import TyperOption
    except ImportError:  # pragma: no cover - other typer versions
        return
    shown = TyperOption.display_type_rich

    def display(self: Any, ctx: Any) -> str | None:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    TyperOption.display_type_rich = display  # type: ignore[method-assign]


_flags_without_type()


EXIT_OK, EXIT_INFEASIBLE, EXIT_BAD_INPUT = 0, 1, 2
EXIT_ENVIRONMENT = 3  # an optional dependency (extra) is not installed; the output is unwritable
# Failures to write that no retry mends: a full disk (or /dev/full), a file past its size
# limit or quota. rev17b #15: `quote ... > /dev/full` printed a Python traceback, exit 1. A
# closed pipe (EPIPE) is not among them: it ends as it always has.
CANNOT_WRITE = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})
F = TypeVar("F", bound=Callable[..., Any])


def _catalog_path(value: str) -> Path:
    """rev19b #1: `Path("")` is ".", so `--catalog "$UNSET"` would price on whatever CSV files
    sit in the working directory (the empty environment variable already counts as unset)."""
    if not value.strip():
        raise typer.BadParameter(
            "an empty path: give a directory, or leave --catalog out for the embedded catalog"
        )
    return Path(value)


CatalogDir = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        envvar="SPLITCOMPUTE_CATALOG",
        parser=_catalog_path,
        metavar="<path>",
        help="Directory of CSV files overriding the embedded catalogs (same columns).",
    ),
]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="table, json, csv, markdown or html (default: by the -o file's suffix .json, "
        ".csv, .md, .html or .txt; table without -o).",
    ),
]


def _stdout_dash(value: Path | None) -> Path | None:
    """`-o -` is the terminal, as `-` is stdin for a scenario (it wrote a file named `-`)."""
    return None if value is not None and str(value) == "-" else value


class TypedPath(type(Path())):  # type: ignore[misc]  # PosixPath or WindowsPath
    """An `-o` path that keeps the text typed (`typed`), which `Path` tidies away: `out.json/`
    reads as `out.json` and "" as "." (rev20b #9). `check_output` judges the text."""

    typed: str


def _output_path(value: str | Path) -> Path:
    """The `-o` path, keeping what was typed for `check_output` (an error raised here, while
    the flags are parsed, would not be one line)."""
    if isinstance(value, Path):
        return value
    path = TypedPath(value)
    path.typed = value
    return path


OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write to this file instead of the terminal (never an input; - is the terminal).",
        parser=_output_path,
        metavar="<path>",
        callback=_stdout_dash,
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Let --output replace an existing file.")]
WideOpt = Annotated[
    bool,
    typer.Option("--wide", help="Every column at full width, whatever the terminal's width."),
]
_QUOTE_TABLES = (
    "phases, line-items, transfers, by-region, by-currency, cash-flow, findings, assumptions, "
    "uncertainty (with --samples)"
)
# Each command's --table lists its own tables (rev12a #12: compare's help left out 'where', and
# every command listed the others').
TableOpt = Annotated[
    str | None,
    typer.Option(
        "--table", help=f"One table of the report (CSV gives one anyway): {_QUOTE_TABLES}."
    ),
]
PlanTableOpt = Annotated[
    str | None,
    typer.Option(
        "--table",
        help=f"One table of the report (CSV gives one anyway: placements, or with --shock the "
        f"shock): {_QUOTE_TABLES}, placements, shock (with --shock).",
    ),
]
CompareTableOpt = Annotated[
    str | None,
    typer.Option(
        "--table", help="One table of the report (CSV gives one anyway): comparison, where, parts."
    ),
]


def file_name(value: str) -> Path:
    """A file argument as a Path; an empty one is refused (`quote ''` was read as '.' and
    said "is a directory")."""
    if not value:
        raise typer.BadParameter("an empty file name: give a file")
    return Path(value)


ScenarioArg = Annotated[
    Path,
    typer.Argument(
        metavar="FILE",
        help="Scenario file (.toml, .yaml, .yml or .json), or - for stdin.",
        parser=file_name,
    ),
]
CurrencyOpt = Annotated[
    str | None, typer.Option("--currency", help="Show money in this currency (ISO code).")
]
SamplesOpt = Annotated[
    int | None,
    typer.Option(
        "--samples",
        help="Monte Carlo samples for P10/P50/P90: prices from their catalog ranges, "
        "physics from the model's own error (see --efficiency-ranges).",
    ),
]
SeedOpt = Annotated[
    int | None, typer.Option("--seed", help="Random seed for --samples (default 0).")
]
ModelErrorOpt = Annotated[
    bool,
    typer.Option(
        "--model-error/--efficiency-ranges",
        help="--samples: draw the model's own error from the held-out calibration (default), "
        "or the efficiencies from their catalog ranges (efficiency.csv low/high).",
    ),
]
# Where a quick estimate (train / serve) is placed, and for whom.
RegionOpt = Annotated[str | None, typer.Option(help="Only this region.")]
PricingOpt = Annotated[
    str | None,
    typer.Option(help="Only this pricing model (on_demand, reserved_1y, spot, owned, ...)."),
]
ProviderOpt = Annotated[str | None, typer.Option(help="Only this provider.")]
TenantOpt = Annotated[
    str, typer.Option("--tenant-hq", help="Headquarters country (ISO code), for the rules.")
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Prices, rates and rules as of (default today).")
]
# rev18a #7: said "rules as of this date", but a phase is judged on every rule in force while
# it runs (README), rules made later included.
JudgeAsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Use this date's prices and exchange rates (default: the scenario's as_of); each "
        "phase is judged on every rule in force while it runs.",
    ),
]
# rev18d #4: train and serve said "Prices, rates and rules as of" too, while with a later
# --start they judge the phase on the rules in force while it runs (catalog's --as-of is right:
# it lists the rows valid that day).
EstimateAsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Use this date's prices and exchange rates (default today); the phase is judged "
        "on every rule in force while it runs.",
    ),
]
# rev19a #6: the cheapest allowed placement took warnings (China's grey-market H100 rentals for
# a US firm's US users); a user names the ones the plan must not take.
AvoidOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--avoid",
        metavar="CODE",
        help="A warning the plan must not take, repeatable: a warning rule's id (`catalog "
        "policies`) or a warning finding's code (users-far, capacity-unverified, ...). It "
        "then blocks as a block does; adds to the scenario's avoid.",
    ),
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Exit 1 when any finding blocks the plan.")
]
AllErrorsOpt = Annotated[
    bool,
    typer.Option(
        "--all-errors",
        help="List every problem of a bad scenario or catalog (default: a scenario's first, "
        "a catalog's first 10). A scenario's fields are checked first, then the ids the "
        "catalog must know (preset, regions, accelerators, fleets): the first of these with "
        "problems lists them all.",
    ),
]
# One printed error line at most this long. A message quotes the values a user gave cut
# already (`pricing.errors.shown`, 60 characters); the tool's own text is never cut: at 400
# this guard cut a latency error mid-word before the target it missed (rev15a #6: "exceeds
# t... (416 characters)"). It stays as the last guard that no input a message forgot to cut
# reaches the terminal whole; control characters are escaped whatever the length.
MAX_ERROR_LINE = 4_000


def fail(lines: list[str], code: int) -> typer.Exit:
    from pricing.errors import shown

    for n, line in enumerate(lines):
        text = shown(line, MAX_ERROR_LINE)
        typer.echo(f"error: {text}" if n == 0 else f"  {text}", err=True)
    return typer.Exit(code)


def clean_errors(func: F) -> F:
    """Turn the library's typed errors into one-line messages and exit codes (no traceback).

    A long list of problems (a bad catalog) is cut to its first ones unless the command was
    given `--all-errors`. SPLITCOMPUTE_DEBUG=1 lets the traceback through.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from estimator.errors import InfeasibleError, MissingExtraError, SplitcomputeError

        try:
            return func(*args, **kwargs)
        except SplitcomputeError as exc:
            if os.environ.get("SPLITCOMPUTE_DEBUG"):
                raise
            code = (
                EXIT_INFEASIBLE
                if isinstance(exc, InfeasibleError)
                else EXIT_ENVIRONMENT
                if isinstance(exc, MissingExtraError)
                else EXIT_BAD_INPUT
            )
            lines = exc.lines(None) if kwargs.get("all_errors") else exc.lines()
            raise fail(lines, code) from None

    return wrapper  # type: ignore[return-value]


# What a file written with -o and no --format is, by its suffix (rev12e #14: `quote -o o.json`
# wrote the terminal table into o.json without a word); a .txt file or one without a suffix
# gets the table, and any other suffix is refused (rev17b #14: `-o out.xlsx` and `-o out.png`
# wrote the table, exit 0).
FORMAT_OF_SUFFIX = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown",
                    ".html": "html", ".htm": "html", ".txt": "table", "": "table"}  # fmt: skip


def check_format(fmt: str | None, output: Path | None = None) -> str:
    """The format to write: as given, else the `-o` file's by its suffix, else table."""
    from estimator.errors import ScenarioError
    from estimator.report.rows import FORMATS
    from pricing.errors import shown

    if fmt is None:
        suffix = "" if output is None else output.suffix.lower()
        if suffix not in FORMAT_OF_SUFFIX:
            image = suffix in (".svg", ".png")
            chart = "; charts are drawn by `splitcompute chart`" if image else ""
            raise ScenarioError(
                f"no report format ends in '{shown(suffix)}': name the file .json, .csv, .md, "
                f".html or .txt (a table), or give --format{chart}",
                "--output",
            )
        return FORMAT_OF_SUFFIX[suffix]
    if fmt not in FORMATS:
        raise ScenarioError(f"'{shown(fmt)}' is not one of {', '.join(FORMATS)}", "--format")
    # rev20b #9: `-f json -o out.csv` wrote JSON into a .csv file without a word. A given
    # --format wins (rev12e #14), and a suffix of another report format is said on stderr;
    # .txt and other suffixes take any format.
    suffix = "" if output is None else output.suffix.lower()
    named = FORMAT_OF_SUFFIX.get(suffix, fmt) if suffix not in ("", ".txt") else fmt
    if named != fmt:
        typer.echo(f"note: --output: writing {fmt} into a file named {suffix}, which reads as "
                   f"{named} (a given --format wins)", err=True)  # fmt: skip
    return fmt


def parse_date(value: str | None, flag: str) -> date | None:
    from estimator.errors import ScenarioError
    from pricing.errors import shown
    from pricing.schema import ISO_DAY

    if value is None:
        return None
    try:
        if not ISO_DAY.fullmatch(value):  # rev19b #9: not 20251127 or 2025-W48-4
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ScenarioError(f"'{shown(value)}' is not a date YYYY-MM-DD", flag) from None


def load_catalog(
    catalog_dir: Path | None, currency: str | None = None, as_of: date | None = None
) -> Any:
    """The catalog (`--catalog DIR` merged over the embedded one), and `--currency` and
    `--as-of` checked against it (the library names its arguments, not these flags)."""
    from estimator.context import check_date
    from estimator.errors import ScenarioError
    from pricing import load_catalog as load
    from pricing.errors import CatalogError, UnknownIdError

    try:
        cat = load(catalog_dir)
    except CatalogError as exc:
        raise _from_environment(exc, catalog_dir) from None
    if currency is not None and currency not in cat.currencies:
        raise ScenarioError(str(UnknownIdError("currency", currency, cat.currencies)), "--currency")
    if as_of is not None:
        check_date(cat, as_of, "--as-of")
    return cat


def _from_environment(exc: Any, catalog_dir: Path | None) -> Any:
    """A catalog directory's error, saying where the directory came from when it was the
    SPLITCOMPUTE_CATALOG environment variable, not --catalog (rev14a nit: a variable set in a
    shell profile is not where a user looks)."""
    from pricing.errors import CatalogError, Problem

    try:  # recent typer vendors click; older ones use the click package
        from typer._click.core import ParameterSource  # type: ignore[import-not-found,unused-ignore]
        from typer._click.globals import (  # type: ignore[import-not-found,unused-ignore]
            get_current_context,
        )
    except ImportError:  # pragma: no cover - depends on the installed typer
        from click import get_current_context  # type: ignore[no-redef,unused-ignore]
        from click.core import ParameterSource  # type: ignore[no-redef,unused-ignore]

    ctx = get_current_context(silent=True)
    source = ctx.get_parameter_source("catalog_dir") if ctx is not None else None
    if catalog_dir is None or source is not ParameterSource.ENVIRONMENT:
        return exc
    first, *rest = exc.problems
    if first.file:  # a file's problem names the file, in the directory
        return exc
    said = "SPLITCOMPUTE_CATALOG (set in the environment, used as --catalog)"
    return CatalogError([Problem("", None, None, f"{said}: {first.message}"), *rest])


def strict_exit(findings: list[Any]) -> None:
    """Under --strict, a blocking finding ends the command with exit 1 (after the output)."""
    codes = sorted({f.code for f in findings if f.severity == "block"})
    if codes:
        raise fail([f"blocked by {', '.join(codes)} (--strict)"], EXIT_INFEASIBLE)


def with_avoided(scenario: Any, avoid: list[str] | None, catalog: Any) -> Any:
    """The scenario with `--avoid`'s codes added to its `avoid` (each checked, at the flag),
    still named after its file (`with_changes` would call it "changed in code")."""
    if not avoid:
        return scenario
    from estimator.findings import check_avoid
    from estimator.scenario_file import parse_scenario

    check_avoid(catalog, avoid, "--avoid")
    data = scenario.model_dump(by_alias=True, exclude_none=True)
    return parse_scenario(
        {**data, "avoid": list(dict.fromkeys([*scenario.avoid, *avoid]))}, scenario.source
    )
