"""Read one catalog CSV and check it against its schema in one vectorised pass.

Every check is derived from `pricing.schema`: missing or unknown column, bad number or date, out
of range, unknown choice, duplicate key, inverted range, unknown reference (accelerator, region,
currency) and match cells that can never match. Every problem of the file is collected and
raised together, each as file:line:column, so a user fixing an override file sees all of it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl

from pricing.countries import COUNTRIES
from pricing.errors import CatalogError, Problem, describe_range, shown, suggest
from pricing.files import MAX_TABLE_BYTES, read_bounded
from pricing.rules import parse_cell
from pricing.schema import (
    MAX_CELL_CHARS,
    MODEL_SHAPE_FIELDS,
    ORDERED_PAIRS,
    REQUIRED_WITH,
    RULE_DATA_CLASSES,
    USER_MARKETS,
    Column,
    Table,
    model_shape_problems,
)

# Hidden bookkeeping columns: where each row came from, for error messages after merging.
FILE_COL = "_file"
LINE_COL = "_line"

REF_KINDS = {"accelerators": "accelerator", "regions": "region", "currency": "currency"}
Known = dict[str, set[str]]


def read_table(
    table: Table, source: Path | str | bytes, label: str, known: Known | None = None
) -> pl.DataFrame:
    """Parse and validate one table; return it typed, with `_file` and `_line` columns.

    `source` is a path or the file's bytes; `label` is the name used in messages. `known` maps
    a reference ("accelerators", "regions", "currency") to the ids that exist; without it,
    references and accelerator cells are not checked (the caller knows no ids yet).
    """
    raw, ragged = _parse(source, label)
    return check_table(table, raw, label, known, ragged)


def check_table(
    table: Table,
    raw: pl.DataFrame,
    label: str,
    known: Known | None = None,
    ragged: list[Problem] | None = None,
) -> pl.DataFrame:
    """`read_table` for a table already read: `raw` holds every column as strings, its first
    row being line 2 (a table changed in memory, `Catalog.with_table`, skips the CSV text).
    `ragged`: the file's rows whose cell count is not the header's (`_ragged`), reported with
    the other rows' problems; their own cells, shifted, are not judged."""
    ragged = ragged or []
    problems = _header_problems(table, raw, label)
    if problems:
        if problems[0].message.startswith("is not "):  # not this table: its one line alone
            raise CatalogError(problems)
        raise CatalogError(sorted([*problems, *ragged], key=lambda p: (p.file, p.line or 0)))
    missing = [c for c in table.all_columns if c.name not in raw.columns]
    # Data starts on line 2 (line 1 is the header). Quoted newlines inside a cell would shift
    # this; the catalogs keep notes on one line.
    raw = (
        raw.with_columns([pl.col(c).str.strip_chars().replace("", None) for c in raw.columns])
        .with_row_index(LINE_COL, offset=2)
        # A blank line (a spreadsheet's or an editor's last line) is no row.
        .filter(~pl.all_horizontal([pl.col(c).is_null() for c in raw.columns]))
        .with_columns([pl.lit(None, pl.String).alias(c.name) for c in missing])
    )
    typed = raw.select(
        pl.col(LINE_COL).cast(pl.Int64), *[_typed(c).alias(c.name) for c in table.all_columns]
    )
    checks = pl.concat(
        [
            typed.select(LINE_COL),
            typed.select([pl.col(c.name).alias(f"__t_{c.name}") for c in table.all_columns]),
            raw.select([pl.col(c.name).alias(f"__r_{c.name}") for c in table.all_columns]),
        ],
        how="horizontal",
    )
    for c in table.all_columns:
        problems.extend(_column_problems(checks, c, label))
        if known is not None:
            problems.extend(_reference_problems(checks, c, label, known))
        if c.pattern is not None:
            problems.extend(_pattern_problems(checks, c, label, known))
    problems.extend(_order_problems(checks, table, label))
    problems.extend(_required_problems(checks, table, label))
    problems.extend(_duplicate_problems(typed, table, label))
    problems.extend(_base_currency_problems(typed, table, label))
    problems.extend(_shape_problems(typed, table, label))
    # rev16a #9: a row with a cell too many or too few hid every other row's problems.
    shifted = {p.line for p in ragged}
    problems = [p for p in problems if p.line not in shifted] + ragged
    if problems:
        raise CatalogError(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    return typed.with_columns(pl.lit(label).alias(FILE_COL))


def _parse(source: Path | str | bytes, label: str) -> tuple[pl.DataFrame, list[Problem]]:
    """The file as strings, and its rows whose cell count is not the header's (`_ragged`:
    read padded or cut to the header, for the other rows to be checked). The parser's own
    message is not shown: it can quote the file's content, which may be anything (a symlink's
    target, a binary), so a message says only what kind of problem it is."""
    raw_bytes = source if isinstance(source, bytes) else read_bounded(Path(source), MAX_TABLE_BYTES)
    # A spreadsheet's UTF-8 byte-order mark would otherwise become part of the first column name.
    raw_bytes = raw_bytes.removeprefix(b"\xef\xbb\xbf")
    if not raw_bytes.strip():
        raise CatalogError([Problem(label, None, None, "is empty (expected a CSV header line)")])
    try:
        raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"at byte {exc.start:,}"
        raise CatalogError(
            [Problem(label, None, None, f"is not a CSV text file (not UTF-8 {where})")]
        ) from None
    ragged = _ragged(raw_bytes.decode("utf-8"), label)
    try:
        raw = pl.read_csv(
            io.BytesIO(raw_bytes), infer_schema=False, truncate_ragged_lines=bool(ragged)
        )
    except pl.exceptions.PolarsError:
        why = "rows with more cells than the header, or an unclosed quote"
        problem = Problem(label, None, None, f"is not valid CSV ({why})")
        raise CatalogError(ragged or [problem]) from None
    return raw, ragged


def _ragged(text: str, label: str) -> list[Problem]:
    """Lines whose cell count is not the header's, by line (the parser says neither which
    line nor that a short row is short: it filled one with empty cells, one error each)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    problems = []
    for record in reader:
        if len(record) != len(header) and any(cell.strip() for cell in record):
            why = f"has {len(record)} cells; the header has {len(header)}"
            if record and record[-1].count("\n"):
                why += " (a quote left open?)"
            problems.append(Problem(label, reader.line_num, None, why))
    return problems


def _header_problems(table: Table, raw: pl.DataFrame, label: str) -> list[Problem]:
    problems: list[Problem] = []
    names = [c.name for c in table.all_columns]
    required = [c.name for c in table.all_columns if not c.optional]
    if not set(raw.columns) & set(names):
        # Not this table at all (another file, a binary): one line, and nothing of its content.
        expected = ", ".join(required)
        msg = f"is not {table.file}: its header has none of its columns ({expected})"
        return [Problem(label, 1, None, msg)]
    for col in raw.columns:
        if col not in names:
            hint = suggest(col, names)
            extra = f": did you mean '{hint}'?" if hint else ""
            problems.append(Problem(label, 1, shown(col), f"unknown column '{shown(col)}'{extra}"))
    for c in table.all_columns:
        if c.name not in raw.columns and not c.optional:
            problems.append(Problem(label, 1, c.name, "missing column"))
    return problems


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


def _bad_rows(
    checks: pl.DataFrame, cond: pl.Expr, c: Column, label: str, message: str
) -> list[Problem]:
    out = []
    bad = checks.filter(cond.fill_null(False))
    for line, value in bad.select(LINE_COL, f"__r_{c.name}").iter_rows():
        quoted = "" if value is None else f"'{shown(value)}' "
        out.append(Problem(label, line, c.name, f"{quoted}{message}".strip()))
    return out


def _column_problems(checks: pl.DataFrame, c: Column, label: str) -> list[Problem]:
    raw, typed = pl.col(f"__r_{c.name}"), pl.col(f"__t_{c.name}")
    what = {"float": "a number", "int": "a whole number", "date": "a date YYYY-MM-DD"}
    rules: list[tuple[pl.Expr, str]] = [
        (raw.str.len_chars() > MAX_CELL_CHARS, f"is longer than {MAX_CELL_CHARS:,} characters")
    ]
    if not c.optional:
        rules.append((raw.is_null(), "empty value in a required column"))
    if c.kind != "str":
        rules.append((raw.is_not_null() & typed.is_null(), f"is not {what[c.kind]}"))
    if c.kind == "float":
        finite = f"is not a finite number (must be {describe_range(c.gt, c.ge, c.le)})"
        rules.append((typed.is_nan() | typed.is_infinite(), finite))
    out_of_range = pl.lit(False)
    if c.gt is not None:
        out_of_range = out_of_range | (typed <= c.gt)
    if c.ge is not None:
        out_of_range = out_of_range | (typed < c.ge)
    if c.le is not None:
        out_of_range = out_of_range | (typed > c.le)
    if c.gt is not None or c.ge is not None or c.le is not None:
        finite_typed = typed.is_finite() if c.kind == "float" else pl.lit(True)
        rules.append((out_of_range & finite_typed, f"must be {describe_range(c.gt, c.ge, c.le)}"))
    if c.choices is not None:
        allowed = list(c.choices) + (["*"] if c.wildcard else [])
        # rev18a #8: fx.csv's `peg` said "must be one of yes", though it may be empty too.
        said = allowed + (["empty"] if c.optional else [])
        choice = (
            f"one of {', '.join(said[:-1])} or {said[-1]}" if len(said) > 2 else " or ".join(said)
        )
        rules.append((raw.is_not_null() & ~raw.is_in(allowed), f"must be {choice}"))
    return [p for cond, msg in rules for p in _bad_rows(checks, cond, c, label, msg)]


def _reference_problems(checks: pl.DataFrame, c: Column, label: str, known: Known) -> list[Problem]:
    if c.ref is None:
        return []
    ids = known[c.ref]
    allowed = sorted(ids | ({"*"} if c.wildcard else set()))
    raw = pl.col(f"__r_{c.name}")
    bad = checks.filter(raw.is_not_null() & ~raw.is_in(allowed))
    out = []
    for line, value in bad.select(LINE_COL, f"__r_{c.name}").iter_rows():
        hint = suggest(value, ids)
        extra = f": did you mean '{hint}'?" if hint else ""
        kind = REF_KINDS[c.ref]
        out.append(Problem(label, line, c.name, f"unknown {kind} '{shown(value)}'{extra}"))
    return out


def _pattern_problems(
    checks: pl.DataFrame, c: Column, label: str, known: Known | None
) -> list[Problem]:
    """Values of match cells and country columns must be able to match."""
    accelerators = known["accelerators"] if known is not None else None
    valid: dict[str, Callable[[str], bool]] = {
        "data": lambda t: t in RULE_DATA_CLASSES,
        "country": lambda t: t in COUNTRIES,
        "accelerator": lambda t: accelerators is None or t in accelerators,
        "market": lambda t: t in USER_MARKETS,
    }
    what = {
        "data": "data class",
        "accelerator": "known accelerator",
        "market": f"market ({', '.join(USER_MARKETS)})",
    }.get(c.pattern or "", "country code (upper-case ISO 3166 alpha-2)")
    out = []
    for line, cell in checks.select(LINE_COL, f"__r_{c.name}").iter_rows():
        if cell is None:
            continue
        parsed = parse_cell(cell)
        if parsed.values is None:
            if not (c.cell or c.wildcard):
                out.append(Problem(label, line, c.name, f"'*' is not a {what}"))
            continue
        if not c.cell and (parsed.negate or len(parsed.values) > 1):
            out.append(Problem(label, line, c.name, f"'{shown(cell)}' is not a {what}"))
            continue
        for token in parsed.values:
            if not valid[c.pattern or "country"](token):
                hint = (
                    suggest(token, accelerators)
                    if accelerators and c.pattern == "accelerator"
                    else _country_hint(token)
                    if c.pattern == "country"
                    else suggest(token, RULE_DATA_CLASSES)
                    if c.pattern == "data"
                    else suggest(token, USER_MARKETS)
                    if c.pattern == "market"
                    else None
                )
                extra = f": did you mean '{hint}'?" if hint else ""
                quoted = f"'{shown(token)}' is not a {what}{extra}"
                out.append(Problem(label, line, c.name, quoted))
    return out


def _country_hint(token: str) -> str | None:
    return token.upper() if token.upper() in COUNTRIES else None


def _order_problems(checks: pl.DataFrame, table: Table, label: str) -> list[Problem]:
    reported: set[int] = set()  # one range problem per row: low > value > high is one mistake
    out = []
    for lo, hi, strict in ORDERED_PAIRS.get(table.name, ()):
        a, b = pl.col(f"__t_{lo}"), pl.col(f"__t_{hi}")
        bad = checks.filter((a >= b) if strict else (a > b))
        for row in bad.iter_rows(named=True):
            if row[LINE_COL] in reported:
                continue
            reported.add(row[LINE_COL])
            if strict:  # an end date: exclusive, so it must come after the start
                message = f"must be after {lo} (the end date is exclusive)"
                out.append(Problem(label, row[LINE_COL], hi, message))
                continue
            text = f"{lo} {shown(row[f'__r_{lo}'])} is greater than {hi} {shown(row[f'__r_{hi}'])}"
            out.append(Problem(label, row[LINE_COL], lo, text))
    return out


def _required_problems(checks: pl.DataFrame, table: Table, label: str) -> list[Problem]:
    out = []
    for needed, given, meaning in REQUIRED_WITH.get(table.name, ()):
        bad = checks.filter(
            pl.col(f"__t_{given}").is_not_null() & pl.col(f"__t_{needed}").is_null()
        )
        message = f"required when {given} is given ({meaning})"
        out += [Problem(label, line, needed, message) for line in bad[LINE_COL]]
    return out


def _base_currency_problems(typed: pl.DataFrame, table: Table, label: str) -> list[Problem]:
    """Rates are per US dollar, so the dollar's own is 1: a 'USD,7.2' row (a CNY rate put
    under USD, an easy slip) rescaled every dollar figure and cut a quote by 76 %."""
    if table.name != "fx":
        return []
    bad = typed.filter((pl.col("currency") == "USD") & (pl.col("per_usd") != 1.0))
    return [
        Problem(label, row[LINE_COL], "per_usd", "USD is the base currency: its per_usd is 1")
        for row in bad.iter_rows(named=True)
    ]


def _duplicate_problems(typed: pl.DataFrame, table: Table, label: str) -> list[Problem]:
    dup = (
        typed.with_columns(pl.len().over(list(table.key)).alias("__n"))
        .filter(pl.col("__n") > 1)
        .filter(pl.all_horizontal([pl.col(k).is_not_null() for k in table.key]))
    )
    out = []
    for row in dup.iter_rows(named=True):
        key = ", ".join(f"{k}={shown(row[k])}" for k in table.key)
        out.append(Problem(label, row[LINE_COL], table.key[0], f"duplicate key ({key})"))
    return out


def _shape_problems(typed: pl.DataFrame, table: Table, label: str) -> list[Problem]:
    """A models.csv row obeys the shape rules a scenario's model does (one implementation,
    `model_shape_problems`): kv_heads 8 on 7 heads passed here and was then blamed on the
    scenario naming the preset, or on a --kv-heads never given (rev19b #4). Its empty shape
    cells are the ones the tool fills; a row whose active parameters are below its total is
    an MoE, as the scenario side reads it."""
    if table.name != "models":
        return []
    out = []
    for row in typed.iter_rows(named=True):
        moe = row["active_params_b"] is not None and row["active_params_b"] < (
            row["total_params_b"] or 0
        )
        model = {**row, "arch": "moe" if moe else row["arch"]}
        filled = [f for f in MODEL_SHAPE_FIELDS if row[f] is None]
        for column, why in model_shape_problems(model, filled):
            out.append(Problem(label, row[LINE_COL], column, why))
    return out


def future_problems(typed: pl.DataFrame, label: str) -> list[Problem]:
    """An override file's rows dated after today: a figure cannot have been true after today,
    unless it is a price agreed to start later (`basis` negotiated). A user's 1.00 USD row
    typed 2062 for 2026 was never in force on any quote date, silently, and moved the newest
    date a quote may take 36 years on (rev19b #6); `import-skypilot --as-of` refuses a date
    after today the same way. Override files, and the rows `Catalog.with_table` adds or edits
    (rev20b #1: a published 2027 row added in a notebook was never used, unsaid); not the
    embedded catalog, which must not stop loading on a clock set back."""
    today = date.today()
    bad = typed.filter((pl.col("as_of") > today) & (pl.col("basis") != "negotiated"))
    why = (
        "is after today ({today}): give the date the figure was true (a price agreed to start "
        "later is basis negotiated)"
    )
    return [
        Problem(label, line, "as_of", f"{day} {why.format(today=today)}")
        for line, day in bad.select(LINE_COL, "as_of").iter_rows()
    ]
