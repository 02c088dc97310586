"""Read one catalog CSV and check it against its schema in one vectorised pass.

Every problem in the file is collected (missing column, bad number, out of range, unknown choice,
duplicate key, bad date) and raised together, each with file:line:column, so a user fixing an
override file sees all of it at once. Cross-table references are checked later, after merging,
by `pricing.catalog`.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from pricing.errors import CatalogError, Problem, suggest
from pricing.schema import ORDERED_PAIRS, Column, Table

# Hidden bookkeeping columns: where each row came from, for error messages after merging.
FILE_COL = "_file"
LINE_COL = "_line"


REF_KINDS = {"accelerators": "accelerator", "regions": "region", "currency": "currency"}


def read_table(
    table: Table,
    source: Path | str | bytes,
    label: str,
    known: dict[str, set[str]] | None = None,
) -> pl.DataFrame:
    """Parse and validate one table; return it typed, with `_file` and `_line` columns.

    `source` is a path or the file's bytes; `label` is the name used in messages. `known` maps
    a reference ("accelerators", "regions", "currency") to the ids that exist, so unknown ids
    are reported in the same pass as every other problem of the file.
    """
    try:
        raw_bytes = source if isinstance(source, bytes) else Path(source).read_bytes()
        raw = pl.read_csv(io.BytesIO(raw_bytes), infer_schema=False, truncate_ragged_lines=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CatalogError([Problem(label, None, None, f"cannot read CSV: {first}")]) from exc

    problems: list[Problem] = []
    names = [c.name for c in table.all_columns]
    for col in raw.columns:
        if col not in names:
            hint = suggest(col, names)
            extra = f": did you mean '{hint}'?" if hint else ""
            problems.append(Problem(label, 1, col, f"unknown column '{col}'{extra}"))
    missing = [c for c in table.all_columns if c.name not in raw.columns]
    for c in missing:
        if not c.optional:
            problems.append(Problem(label, 1, c.name, "missing column"))
    if problems:
        raise CatalogError(problems)

    # Data starts on line 2 (line 1 is the header). Quoted newlines inside a cell would shift
    # this; the catalogs keep notes on one line.
    raw = raw.with_columns(
        [pl.col(c).str.strip_chars().replace("", None) for c in raw.columns]
    ).with_row_index(LINE_COL, offset=2)
    raw = raw.with_columns([pl.lit(None, pl.String).alias(c.name) for c in missing])

    typed = raw.select(
        pl.col(LINE_COL).cast(pl.Int64), *[_typed(c).alias(c.name) for c in table.all_columns]
    )

    checks = pl.concat(
        [
            raw.select(pl.col(LINE_COL).cast(pl.Int64)),
            typed.select([pl.col(c.name).alias(f"__t_{c.name}") for c in table.all_columns]),
            raw.select([pl.col(c.name).alias(f"__r_{c.name}") for c in table.all_columns]),
        ],
        how="horizontal",
    )
    for c in table.all_columns:
        problems.extend(_column_problems(checks, c, label))
        if known is not None and c.ref is not None:
            problems.extend(_reference_problems(checks, c, label, known[c.ref]))
    reported: set[int] = set()  # one range problem per row: low > value > high is one mistake
    for lo, hi in ORDERED_PAIRS.get(table.name, ()):
        bad = checks.filter(pl.col(f"__t_{lo}") > pl.col(f"__t_{hi}"))
        for row in bad.iter_rows(named=True):
            if row[LINE_COL] in reported:
                continue
            reported.add(row[LINE_COL])
            problems.append(
                Problem(
                    label,
                    row[LINE_COL],
                    lo,
                    f"{lo} {row[f'__r_{lo}']} is greater than {hi} {row[f'__r_{hi}']}",
                )
            )
    dup = (
        typed.with_columns(pl.len().over(list(table.key)).alias("__n"))
        .filter(pl.col("__n") > 1)
        .filter(pl.all_horizontal([pl.col(k).is_not_null() for k in table.key]))
    )
    for row in dup.iter_rows(named=True):
        key = ", ".join(f"{k}={row[k]}" for k in table.key)
        problems.append(Problem(label, row[LINE_COL], table.key[0], f"duplicate key ({key})"))
    if problems:
        raise CatalogError(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    return typed.with_columns(pl.lit(label).alias(FILE_COL))


def _typed(c: Column) -> pl.Expr:
    col = pl.col(c.name)
    if c.kind == "float":
        return col.cast(pl.Float64, strict=False)
    if c.kind == "int":
        as_float = col.cast(pl.Float64, strict=False)
        return pl.when(as_float == as_float.floor()).then(as_float).cast(pl.Int64, strict=False)
    if c.kind == "date":
        return col.str.to_date("%Y-%m-%d", strict=False)
    return col


def _column_problems(checks: pl.DataFrame, c: Column, label: str) -> list[Problem]:
    raw, typed = pl.col(f"__r_{c.name}"), pl.col(f"__t_{c.name}")
    what = {"float": "a number", "int": "a whole number", "date": "a date YYYY-MM-DD"}
    rules: list[tuple[pl.Expr, str]] = []
    if not c.optional:
        rules.append((raw.is_null(), "empty value in a required column"))
    if c.kind != "str":
        rules.append((raw.is_not_null() & typed.is_null(), f"is not {what[c.kind]}"))
    if c.gt is not None:
        rules.append((typed <= c.gt, f"must be greater than {c.gt:g}"))
    if c.ge is not None:
        rules.append((typed < c.ge, f"must be at least {c.ge:g}"))
    if c.le is not None:
        rules.append((typed > c.le, f"must be at most {c.le:g}"))
    if c.choices is not None:
        allowed = list(c.choices) + (["*"] if c.wildcard else [])
        rules.append(
            (raw.is_not_null() & ~raw.is_in(allowed), f"must be one of {', '.join(allowed)}")
        )
    out: list[Problem] = []
    for cond, message in rules:
        bad = checks.filter(cond.fill_null(False))
        for line, value in bad.select(LINE_COL, f"__r_{c.name}").iter_rows():
            shown = "" if value is None else f"'{value}' "
            out.append(Problem(label, line, c.name, f"{shown}{message}".strip()))
    return out


def _reference_problems(
    checks: pl.DataFrame, c: Column, label: str, ids: set[str]
) -> list[Problem]:
    allowed = sorted(ids | ({"*"} if c.wildcard else set()))
    raw = pl.col(f"__r_{c.name}")
    bad = checks.filter(raw.is_not_null() & ~raw.is_in(allowed))
    out = []
    for line, value in bad.select(LINE_COL, f"__r_{c.name}").iter_rows():
        hint = suggest(value, ids)
        extra = f": did you mean '{hint}'?" if hint else ""
        kind = REF_KINDS[c.ref or ""]
        out.append(Problem(label, line, c.name, f"unknown {kind} '{value}'{extra}"))
    return out
