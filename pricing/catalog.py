"""The Catalog: embedded CSV tables merged with a user's overrides, with lookups and FX.

Lookups are small methods over polars frames; vectorised callers (the planner) take the frames
themselves via `Catalog.table`.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import polars as pl

from pricing.cache import Store, Tables, content_digest, fingerprint
from pricing.errors import CatalogError, Problem, UnknownIdError, shown, suggest
from pricing.files import MAX_TABLE_BYTES, read_bounded
from pricing.loader import FILE_COL, LINE_COL, check_table, future_problems, read_table
from pricing.schema import ISO_DAY, TABLES, Table

STALE_AFTER_DAYS = 365
# Tables of fixed designs (a datasheet, a paper, a model card), dated by their document: a
# product's specification does not age, so these rows are never flagged stale (rev12c #6).
SPEC_TABLES = frozenset({"accelerators", "models"})
# Dated tables whose series a quote takes at its first row when it has none on or before the
# quote date (`dated` with `future`; rev18b #2): a round trip is not a price, and for an egress
# price the first row is the only evidence. Electricity falls forward only where a region has no
# tariff on the day, for owned hardware (`options.first_tariff`). pricing/data/README.md says so;
# a quote names such a row's date in its assumptions (or `stale-price`, for a tariff) and
# `catalog TABLE --as-of` lists it, marked `after_as_of`.
FALLS_FORWARD = ("latency", "transfer")
# How a message that reaches both the command line and the library says where catalog rows are
# added (rev12b #13: "with --catalog" alone spoke to a notebook in a flag it has no use for).
WITH_CATALOG = "with --catalog DIR (in Python: load_catalog(DIR))"
_KIND_NAMES = {
    "accelerators": "accelerator",
    "regions": "region",
    "models": "model",
    "policies": "policy",
}


@dataclass(frozen=True)
class FxRate:
    currency: str
    per_usd: float
    as_of: date
    source: str
    peg: bool = False

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> FxRate:
        """The rate an fx.csv row states."""
        return cls(
            row["currency"], row["per_usd"], row["as_of"], row["source"], row["peg"] == "yes"
        )

    @property
    def fixed(self) -> bool:
        """A rate that cannot go stale however old its row: USD, the base (1 per USD by
        definition), or a central-bank peg. A quote's stale-fx finding and the catalog
        listing's stale flag both ask this."""
        return self.currency == "USD" or self.peg


# The embedded tables; tests point this at a frozen copy (tests/fixtures/catalog).
EMBEDDED_DIR: Traversable = resources.files("pricing") / "data"
# Tables that define the ids other tables refer to, read first.
_ID_TABLES = {"accelerators": "id", "regions": "id", "fx": "currency"}
_REF_OF = {"accelerators": "accelerators", "regions": "regions", "fx": "currency"}


_EMBEDDED: dict[str, Tables] = {}


def _embedded(directory: Traversable) -> Tables:
    """The embedded tables, once per process: from the binary cache when it holds this exact
    data (validated when it was written), else parsed, validated and cached."""
    key = str(directory)
    if key not in _EMBEDDED:
        _EMBEDDED[key] = _open_embedded(directory)
    return _EMBEDDED[key]


def _open_embedded(directory: Traversable) -> Tables:
    files = {name: (directory / table.file).read_bytes() for name, table in TABLES.items()}
    store = Store(fingerprint(files))
    validated: dict[str, pl.DataFrame] = {}

    def rebuilt() -> dict[str, pl.DataFrame]:
        if not validated:
            validated.update(read_embedded(files))
            store.write(validated)
        return validated

    if not store.complete():
        return Tables.of(rebuilt())
    read: dict[str, pl.DataFrame] = {}  # shared by the copies `Tables.replaced` makes

    def table(name: str) -> pl.DataFrame:
        if name not in read:
            cached = None if validated else store.read(name)
            read[name] = cached if cached is not None else rebuilt()[name]
        return read[name]

    return Tables(list(TABLES), table, digests=store.digests)


def read_embedded(files: Mapping[str, bytes]) -> dict[str, pl.DataFrame]:
    """Parse and validate the embedded tables (their bytes by table name) together: the id
    tables first, then every table with its references checked against them."""
    out: dict[str, pl.DataFrame] = {}
    for name in _ID_TABLES:
        out[name] = read_table(TABLES[name], files[name], _label(name))
    known = {_REF_OF[t]: set(out[t][col].to_list()) for t, col in _ID_TABLES.items()}
    problems: list[Problem] = []
    for name, table in TABLES.items():
        try:
            out[name] = read_table(table, files[name], _label(name), known)
        except CatalogError as exc:
            problems.extend(exc.problems)
    if problems:
        raise CatalogError(problems)
    return out


def _label(name: str) -> str:
    return f"pricing/data/{TABLES[name].file}"


def load_catalog(overrides: str | Path | None = None) -> Catalog:
    """The embedded catalogs, with the CSV files in `overrides` (a directory) merged over them.

    A row in an override file replaces the embedded row with the same key; other rows are added.
    Raises CatalogError listing every problem found (file:line:column).
    """
    tables = _embedded(EMBEDDED_DIR)
    origin = ["embedded"]
    if overrides is not None:
        if not isinstance(overrides, str | Path):  # review11b #17: a raw TypeError
            raise CatalogError(
                f"the catalog overrides must be a directory path, not {type(overrides).__name__}"
            )
        if not str(overrides).strip():
            # rev19b #1: Path("") is ".", so an unset shell variable or an empty notebook default
            # would price on whatever CSV files sit in the working directory.
            raise CatalogError(
                "the catalog override directory is an empty path: give a directory, or leave it "
                "out for the embedded catalog"
            )
        directory = Path(overrides)
        if not directory.is_dir():
            why = "is a file, not a directory" if directory.exists() else "does not exist"
            raise CatalogError(f"catalog override directory '{shown(directory)}' {why}")
        files, problems = _override_files(directory)
        known = _known_ids(tables, files)
        for name, (path, data) in files.items():
            table = TABLES[name]
            try:
                user = read_table(table, data, str(path), known)
            except CatalogError as exc:
                problems.extend(exc.problems)
                continue
            if future := future_problems(user, str(path)):
                problems.extend(future)
                continue
            tables = tables.replaced(name, _merge(table, tables[name], user))
            origin.append(str(path))
        if not files and not problems:
            # Given and silently empty, the quote would be the embedded prices without a word.
            raise CatalogError(
                f"catalog override directory '{shown(directory)}' has no catalog table in it "
                "(files named like offers.csv or fx.csv, directly in the directory)"
            )
        if problems:
            raise CatalogError(problems)
    return Catalog(tables, origin)


def _override_files(directory: Path) -> tuple[dict[str, tuple[Path, bytes]], list[Problem]]:
    """The bytes of each table file in an override directory, read once, and the problems of
    the files that cannot be used: unknown table names, and symlinks that lead out of the
    directory (a catalog must not make the tool read, and quote, any file on the machine)."""
    files: dict[str, tuple[Path, bytes]] = {}
    problems: list[Problem] = []
    root = directory.resolve()
    for path in sorted(directory.iterdir()):
        if not path.name.lower().endswith(".csv") or path.name.startswith("."):
            continue  # a note, a spreadsheet's lock file: not meant as a table
        table = TABLES.get(path.stem) if path.suffix == ".csv" else None
        if table is None:
            # Refused, not skipped: a misspelt override left out would quote list prices in
            # place of the negotiated ones without a word.
            hint = suggest(path.stem, TABLES) or suggest(path.stem.lower(), TABLES)
            extra = (
                f": did you mean '{hint}.csv'?"
                if hint
                else f" (tables: {', '.join(sorted(TABLES))}; move other files elsewhere)"
            )
            problems.append(Problem(str(path), None, None, f"not a catalog table{extra}"))
            continue
        if not path.resolve().is_relative_to(root):
            why = "is a symlink to a file outside the catalog directory (not followed)"
            problems.append(Problem(str(path), None, None, why))
            continue
        try:
            files[table.name] = (path, read_bounded(path, MAX_TABLE_BYTES))
        except CatalogError as exc:
            problems.extend(exc.problems)
    return files, problems


def _known_ids(
    tables: Mapping[str, pl.DataFrame], files: dict[str, tuple[Path, bytes]]
) -> dict[str, set[str]]:
    """Ids an override file may refer to: the embedded ones plus those the directory adds
    (read raw, so a reference is judged even while the file defining it has other problems)."""
    known = {_REF_OF[t]: set(tables[t][col].to_list()) for t, col in _ID_TABLES.items()}
    for t, column in _ID_TABLES.items():
        if t not in files:
            continue
        try:
            text = files[t][1].decode("utf-8-sig")
            rows = csv.DictReader(io.StringIO(text, newline=""))
            known[_REF_OF[t]] |= {(row.get(column) or "").strip() for row in rows} - {""}
        except (UnicodeDecodeError, csv.Error):
            pass  # read_table reports the unreadable file itself
    return known


def _checked(
    table: Table, frame: pl.DataFrame, label: str, known: dict[str, set[str]]
) -> pl.DataFrame:
    """`frame` (a table changed in memory) checked as an override file is, its cells as text
    (`check_table`), and the rows dated after today (`future_problems`), with problems placed
    at the row's position in `frame`. Rows
    that kept their `_file` / `_line` keep them; the others are `label`'s."""
    data = frame.drop(FILE_COL, LINE_COL, strict=False)
    raw = data.select(pl.all().cast(pl.String))  # dates as YYYY-MM-DD, as a file has them
    try:
        typed = check_table(table, raw, label, known)
    except CatalogError as exc:
        raise CatalogError(_at_row(p) for p in exc.problems) from None
    checked = typed
    if typed.height == frame.height:  # else blank rows dropped: no bookkeeping to carry over
        carried = [c for c in (FILE_COL, LINE_COL) if c in frame.columns]
        checked = typed.with_columns(
            [frame[c].fill_null(typed[c]).alias(c) for c in carried]
        ).select(typed.columns)
    # rev20b #1: a row the change adds or edits (the user's: `label`'s) dated after today is
    # refused as an override file's is (`future_problems`): a published 2027 row added in a
    # notebook was accepted, and a quote dated before it never used it, unsaid. The rows the
    # change left as they were are not judged (the embedded catalog loads on a clock set back).
    if future := future_problems(checked.filter(pl.col(FILE_COL) == label), label):
        raise CatalogError(_at_row(p) for p in future)
    return checked


def _at_row(p: Problem) -> Problem:
    """A problem of a table changed in memory at the row's position in the returned frame:
    read_table counts CSV lines (the header is line 1); the user knows rows (from 0)."""
    where = p.file if p.line is None or p.line < 2 else f"{p.file}, row {p.line - 2}"
    where += f", column {p.column}" if p.column else ""
    return Problem(where, None, None, p.message)


def _edits_are_users(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """`after` (a table as a change returned it) with the bookkeeping (`_file` / `_line`) of
    each row the change added or edited cleared, so the row counts as the user's, as an
    override file's does: a row keeps its place in the embedded data only when its cells are
    those of the row it names, once (rev12b #2: a row copied from an embedded one and given a
    new price kept the embedded file's name, and a newer public row shadowed it)."""
    bookkeeping = (FILE_COL, LINE_COL)
    data = [c for c in before.columns if c not in bookkeeping]
    if not set((*bookkeeping, *data)) <= set(after.columns):
        return after  # a column removed: `check_table` names it

    def cells(df: pl.DataFrame) -> pl.Series:
        return df.select(pl.col(data).cast(pl.String)).hash_rows()

    was = before.select(*bookkeeping).with_columns(_cells=cells(before))
    now = after.select(*bookkeeping).with_columns(_cells=cells(after), _row=pl.int_range(pl.len()))
    kept = (
        now.join(was, on=[*bookkeeping, "_cells"], how="semi", nulls_equal=True)
        .filter(pl.struct(*bookkeeping).is_first_distinct())
        .get_column("_row")
    )
    same = pl.int_range(pl.len()).is_in(kept.implode())
    return after.with_columns(
        pl.when(same).then(pl.col(c)).otherwise(None).alias(c) for c in bookkeeping
    )


def _merge(table: Table, base: pl.DataFrame, user: pl.DataFrame) -> pl.DataFrame:
    kept = base.join(user.select(table.key), on=list(table.key), how="anti", nulls_equal=True)
    return pl.concat([kept, user], how="vertical_relaxed")


# A price's range: the spread of the public price a row gives, not a figure of its own.
RANGE_COLUMNS = ("price_low", "price_high")


class Catalog:
    """Validated, merged catalog tables. Construct with `load_catalog`."""

    def __init__(self, tables: Mapping[str, pl.DataFrame], origin: list[str]) -> None:
        # The caller's frames and list copied (rev18b #1): a frame or list edited in place
        # after would change this catalog, and a catalog made from another shared its origin.
        if isinstance(tables, Tables):
            self._tables = tables
        else:
            self._tables = Tables.of({name: df.clone() for name, df in tables.items()})
        self.origin = list(origin)
        # Tables and dated views already worked out: a catalog never changes (`with_table`
        # makes a new one), and a plan asks for the same ones ~100 times (a polars query each).
        self._views: dict[tuple[Any, ...], pl.DataFrame] = {}
        self._digests: dict[str, str] = {}  # table name -> hash of its content
        self._rates: dict[tuple[str, date], FxRate] = {}  # a quote asks for a rate ~5 times

    def __reduce__(self) -> tuple[type[Catalog], tuple[dict[str, pl.DataFrame], list[str]]]:
        """Pickled as its tables (all of them read) and origin, so a catalog goes to a worker
        process (rev12b #3: the embedded catalog's lazy readers could not be pickled, and a
        process-pool sweep failed on its first argument)."""
        return Catalog, ({name: self._tables[name] for name in self._tables}, list(self.origin))

    def __repr__(self) -> str:
        """Where its rows come from and its tables, without reading any (review11b #13: the
        default repr said only an address): Catalog(embedded + my-prices/offers.csv; tables:
        accelerators, ...)."""
        return f"Catalog({' + '.join(self.origin)}; tables: {', '.join(self._tables)})"

    # -- tables ---------------------------------------------------------------------------------
    def table(self, name: str) -> pl.DataFrame:
        """A whole table without the bookkeeping columns. The frame is the caller's: changing
        it in place (`df[i, col] = v`) leaves the catalog as it is (rev12b #1: an edit of a
        looked-up table moved every later quote, unchecked); `with_table` changes a table."""
        if name not in self._tables:
            raise UnknownIdError("table", name, TABLES)
        key = ("table", name)
        if key not in self._views:
            df = self._tables[name]
            kept = [c for c in df.columns if c not in (FILE_COL, LINE_COL)]
            # Columns picked without a polars query (`drop` is one); `drop` says what is missing.
            short = len(kept) != len(df.columns) - 2
            self._views[key] = df.drop(FILE_COL, LINE_COL) if short else df[kept]
        return self._views[key].clone()  # shallow: the columns are shared until written

    def dropped(self, name: str) -> pl.DataFrame:
        """The optional figures an override file's rows leave empty that the embedded row of
        the same series gives: one row per such row and column, with the row's key, `column`,
        `embedded` (the embedded row's figure, as text; its latest row's for a dated series),
        and the override's `file` and `line`. An override row replaces the embedded one whole,
        so a row written to change a price also drops the instance network or the longest
        term the embedded row had (rev15a #9: a price-only row moved the device-hours).
        Notes and sources are not figures and are left out, and so is a price's range
        (`RANGE_COLUMNS`): it describes the public price an override replaces, and copying it
        into a negotiated price's row would draw a price the user has fixed (rev15c #4: the
        README's own negotiated-price row was warned and told to copy 0.75-3.0 into it)."""
        key = ("dropped", name)
        if key in self._views:
            return self._views[key].clone()
        table = TABLES[name]
        df = self._tables[name]
        columns = {**{k: pl.String() for k in table.key}, "column": pl.String(),
                   "embedded": pl.String(), "file": pl.String(), "line": pl.Int64()}  # fmt: skip
        found = [pl.DataFrame(schema={k: df.schema.get(k, v) for k, v in columns.items()})]
        if len(self.origin) > 1 and FILE_COL in df.columns:
            user = df.filter(pl.col(FILE_COL).is_in(self.origin[1:]))
            base = _embedded(EMBEDDED_DIR)[name]
            series = list(table.series_key)
            figures = [
                c.name
                for c in table.columns
                if c.optional and "source" not in c.name and c.name not in RANGE_COLUMNS
            ]
            for col in (c for c in figures if c in user.columns and c in base.columns):
                had = base.filter(pl.col(col).is_not_null())
                had = had.sort("as_of") if table.history else had
                had = had.group_by(series, maintain_order=True).last()
                found.append(
                    user.filter(pl.col(col).is_null())
                    .select(
                        *table.key, pl.col(FILE_COL).alias("file"), pl.col(LINE_COL).alias("line")
                    )
                    .join(
                        had.select(*series, pl.col(col).cast(pl.String).alias("embedded")),
                        on=series,
                        how="inner",
                        nulls_equal=True,
                    )
                    .with_columns(column=pl.lit(col))
                )
        out = pl.concat(found, how="diagonal_relaxed").select(list(columns))
        self._views[key] = out
        return out.clone()  # the caller's, as `table`'s (rev18b #1)

    def with_table(self, name: str, change: Callable[[pl.DataFrame], pl.DataFrame]) -> Catalog:
        """A new Catalog with one table changed by `change` (what-if analyses).

        `change` receives a copy of the frame, with its `_file` / `_line` columns, and may edit
        it in place (`f[i, col] = v`) before returning it: this catalog's table (and every
        other catalog's) stays as it was, as with `table`'s frames. The result is checked as an
        override file is (pricing.schema: types, ranges, choices, references, duplicate keys; a
        row it adds or edits dated after today, unless negotiated), and a problem raises
        CatalogError naming the row (its position in the returned frame)
        and column. Rows the change adds or edits are the user's, as an override file's are: a
        series they date wins from that date over newer embedded rows.
        The catalog's `origin` (a quote's `catalog` assumption) says a table was changed. A
        price or efficiency moved alone can leave its range behind (`price_low` above the
        price): move `price_low` / `price_high` (`mfu_low` / `mfu_high`) with it.
        """
        if name not in self._tables:
            raise UnknownIdError("table", name, TABLES)
        label = f"Catalog.with_table('{name}')"
        # A copy (rev18b #1): the table is the process-wide embedded one, and a change that
        # edited it in place (`f[i, col] = v`) became every later catalog's baseline.
        changed = change(self._tables[name].clone())
        if not isinstance(changed, pl.DataFrame):
            raise CatalogError(
                f"{label}: the change returned {type(changed).__name__}, not a polars DataFrame"
            )
        changed = _edits_are_users(self._tables[name], changed)
        checked = _checked(TABLES[name], changed, label, _known_ids(self._tables, {}))
        self._check_still_named(name, checked, label)
        return Catalog(self._tables.replaced(name, checked), [*self.origin, label])

    def _check_still_named(self, name: str, changed: pl.DataFrame, label: str) -> None:
        """An id a change removes from an id table (an accelerator, a region, a currency)
        that another table's rows still name is refused: an override file cannot remove a
        row, a change can, and the quote then failed on the missing id (rev11c #3)."""
        if name not in _ID_TABLES:
            return
        column = _ID_TABLES[name]
        removed = set(self._tables[name][column].to_list()) - set(changed[column].to_list())
        for other, table in TABLES.items():
            for c in table.all_columns:
                if other == name or c.ref != _REF_OF[name] or other not in self._tables:
                    continue
                named = removed & set(self._tables[other][c.name].drop_nulls().to_list())
                if named:
                    ids = ", ".join(f"'{i}'" for i in sorted(named)[:5])
                    raise CatalogError(
                        f"{label}: removes {ids}, which {other}.csv rows still name in "
                        f"{c.name}: change those rows first"
                    )

    def _with_rows(self, name: str, change: Callable[[pl.DataFrame], pl.DataFrame]) -> Catalog:
        """`with_table` for rows the library has already validated (a policy shock's rows, read
        by `read_table`), which keep their own `_file` and leave `origin` as it is."""
        return Catalog(self._tables.replaced(name, change(self._tables[name])), self.origin)

    def digest(self, names: Iterable[str]) -> str:
        """A hash of the content of the named tables (not where their rows came from), so
        results worked out from them can be kept between runs and found again only while the
        figures they read are the same."""
        h = hashlib.sha256()
        for name in names:
            if name not in self._digests:
                # Kept beside the cached tables when they were written (a table's CSV text
                # and hash, ~1 ms each, 3-4 ms of every quote); else worked out here.
                known = self._tables.digest(name)
                self._digests[name] = known or content_digest(self.table(name))
            h.update(f"{name}\0{self._digests[name]}\0".encode())
        return h.hexdigest()

    def fingerprint(self) -> str:
        """A hash of every table's content and of which rows are the user's (they win over
        newer embedded rows from their date), not of the paths they were read from: two
        catalogs with one fingerprint quote alike. It reads every table (~0.01 s)."""
        h = hashlib.sha256()
        users = self.origin[1:]
        for name in self._tables:
            df = self._tables[name]
            mine = df[FILE_COL].is_in(users) if FILE_COL in df.columns else pl.lit(False)
            h.update(f"{name}\0{self.digest([name])}\0".encode())
            h.update(df.select(mine.alias("mine")).hash_rows(seed=0).to_numpy().tobytes())
        return h.hexdigest()

    # -- lookups --------------------------------------------------------------------------------
    @functools.cached_property
    def _index(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {
            name: {row["id"]: row for row in self.table(name).iter_rows(named=True)}
            for name in _KIND_NAMES
        }

    def ids(self, table: str) -> list[str]:
        return list(self._rows_by_id(table))

    def _rows_by_id(self, table: str) -> dict[str, dict[str, Any]]:
        """The rows of a table keyed by id (review11b #17: a KeyError for any other name)."""
        if table in self._index:
            return self._index[table]
        if table in TABLES:
            raise CatalogError(
                f"'{table}' rows have no id: ids are in {', '.join(self._index)}; read the "
                f"rows with Catalog.table('{table}')"
            )
        raise UnknownIdError("table", table, TABLES)

    def get(self, table: str, id_: str) -> dict[str, Any]:
        """One row by id (a copy: editing it changes no quote, as `table`'s frames), or
        UnknownIdError with a suggestion."""
        rows = self._rows_by_id(table)
        if id_ not in rows:
            raise UnknownIdError(_KIND_NAMES[table], id_, rows)
        return dict(rows[id_])

    @functools.cached_property
    def _defaults(self) -> dict[str, float]:
        return dict(self._tables["defaults"].select("name", "value").iter_rows())

    def default(self, name: str) -> float:
        """A modelling default from defaults.csv (calibrated constants, planning defaults)."""
        if name not in self._defaults:
            raise UnknownIdError("default", name, self._defaults)
        return float(self._defaults[name])

    def default_source(self, name: str) -> str:
        """Where a defaults.csv figure comes from."""
        self.default(name)
        rows = self._tables["defaults"].filter(pl.col("name") == name)
        return str(rows["source"][0])

    def dated(self, name: str, on: date | str, *, future: bool = True) -> pl.DataFrame:
        """The rows of a dated table valid on `on`: per series (the key without `as_of`), the
        latest row with `as_of` on or before it. With `future`, a series whose rows all come
        later contributes its earliest row (its `as_of` then says it postdates `on`), as a quote
        dated `on` takes the tables of FALLS_FORWARD (and electricity, where a region has no
        tariff on `on`). `on` is a date or YYYY-MM-DD, as `rate` and `offers` take it (rev19b
        #8: a string raised polars' own error)."""
        on = as_date(on)
        key = ("dated", name, on, future)
        if key not in self._views:
            self._views[key] = self._dated(name, on, future)
        return self._views[key].clone()  # the caller's, as `table`'s

    def _dated(self, name: str, on: date, future: bool) -> pl.DataFrame:
        df = self.table(name)
        table = TABLES[name]
        if not table.history:
            return df
        series = list(table.series_key)
        past = self._tables[name].filter(pl.col("as_of") <= on)
        if len(self.origin) > 1:
            # A series the user's files date on or before `on` is theirs from that date: a
            # negotiated price is not shadowed by a newer public row of the same offer.
            mine = pl.col(FILE_COL).is_in(self.origin[1:])
            theirs = past.filter(mine).select(series).unique().with_columns(_theirs=pl.lit(True))
            past = (
                past.join(theirs, on=series, how="left", nulls_equal=True, maintain_order="left")
                .filter(mine | pl.col("_theirs").is_null())
                .drop("_theirs")
            )
        past = past.select(df.columns)
        latest = past.sort("as_of").group_by(series, maintain_order=True).last()
        if not future:
            return latest.select(df.columns)
        later = (
            df.join(past.select(series).unique(), on=series, how="anti", nulls_equal=True)
            .sort("as_of")
            .group_by(series, maintain_order=True)
            .first()
        )
        return pl.concat([latest.select(df.columns), later.select(df.columns)])

    def accelerator(self, id_: str) -> dict[str, Any]:
        return self.get("accelerators", id_)

    def region(self, id_: str) -> dict[str, Any]:
        return self.get("regions", id_)

    def model(self, id_: str) -> dict[str, Any]:
        return self.get("models", id_)

    def offers(
        self,
        *,
        accelerator: str | None = None,
        region: str | None = None,
        provider: str | None = None,
        pricing: str | None = None,
        as_of: date | str | None = None,
        history: bool = False,
    ) -> pl.DataFrame:
        """Offers matching every given filter, as `splitcompute catalog offers` lists them:
        per offer the row valid on `as_of` (default today; a user's row of a series wins from
        its date), or with `history` every dated row of it. Unknown ids, a pricing model
        included, raise with a suggestion (review10b #2: the whole price history came back,
        superseded and shadowed rows beside the one a quote uses, and a misspelt pricing
        filter gave an empty frame)."""
        if history:
            if as_of is not None:
                raise CatalogError("give as_of or history=True, not both")
            df = self.table("offers")
        else:
            day = date.today() if as_of is None else as_date(as_of)
            df = self.dated("offers", day, future=False)
        if accelerator is not None:
            self.accelerator(accelerator)
            df = df.filter(pl.col("accelerator") == accelerator)
        if region is not None:
            self.region(region)
            df = df.filter(pl.col("region") == region)
        for column, value in (("provider", provider), ("pricing", pricing)):
            if value is None:
                continue
            known = self.table("offers")[column].unique().sort().to_list()
            if value in ("owned", "fleet") and column == "pricing":  # review11b #16
                raise CatalogError(
                    f"offers are rented capacity: '{value}' hardware (bought for the plan, or a "
                    "fleet already owned) is priced from "
                    "the hardware table (Catalog.table('hardware'), `catalog hardware`)"
                )
            if value not in known:
                kind = "pricing model" if column == "pricing" else column
                raise UnknownIdError(kind, value, known)
            df = df.filter(pl.col(column) == value)
        return df

    # -- currency -------------------------------------------------------------------------------
    @property
    def currencies(self) -> list[str]:
        return sorted(self._tables["fx"]["currency"].unique().to_list())

    def fx_table(self, as_of: date | str) -> pl.DataFrame:
        """Per currency, the latest rate on or before `as_of` (a date or YYYY-MM-DD).

        Columns: currency, per_usd, fx_as_of, fx_source.
        """
        return self.dated("fx", as_of, future=False).select(
            "currency",
            "per_usd",
            pl.col("as_of").alias("fx_as_of"),
            pl.col("source").alias("fx_source"),
        )

    def rate(self, currency: str, as_of: date | str) -> FxRate:
        """Units of `currency` per USD as of a date (the latest rate not after it)."""
        as_of = as_date(as_of)
        key = (currency, as_of)
        if isinstance(currency, str) and key in self._rates:
            return self._rates[key]
        all_fx = self._tables["fx"]
        rows = all_fx.filter(pl.col("currency") == currency)
        if rows.is_empty():
            raise UnknownIdError("currency", currency, self.currencies)
        # The dated view's row, as `fx_table` gives it: a user's rate wins from its date on
        # (`_dated`), so a quote's rate and its conversions cannot differ (review8c #1).
        usable = self.dated("fx", as_of, future=False).filter(pl.col("currency") == currency)
        if usable.is_empty():
            first = rows.sort("as_of")["as_of"][0]
            raise CatalogError(
                f"no exchange rate for {currency} on or before {as_of} (earliest is {first})"
            )
        self._rates[key] = FxRate.of_row(usable.row(-1, named=True))
        return self._rates[key]

    def convert(self, amount: float, from_cur: str, to_cur: str, as_of: date | str) -> float:
        """`amount` of `from_cur` in `to_cur` at the rates of a date (a `date` or YYYY-MM-DD),
        as a plain float. An amount that knows its currency (estimator's `Money`) must be in
        `from_cur` (review11b #11: 100 CNY converted as if USD); both codes are checked even
        when equal, and the amount must be finite."""
        if isinstance(amount, bool) or not isinstance(amount, numbers.Real):  # numpy's too
            raise CatalogError(f"'{shown(amount)}' is not an amount (a number)")
        if not math.isfinite(float(amount)):
            raise CatalogError(f"'{shown(amount)}' is not a finite amount")
        own = getattr(amount, "currency", None)
        if own is not None and own != from_cur:
            raise CatalogError(f"the amount is in {own}, not {from_cur}: convert it from {own}")
        as_of = as_date(as_of)
        if from_cur == to_cur:  # no rate needed on the date: the code only must exist
            if from_cur not in self.currencies:
                raise UnknownIdError("currency", from_cur, self.currencies)
            return float(amount)
        return float(amount) / self.rate(from_cur, as_of).per_usd * self.rate(to_cur, as_of).per_usd


def as_date(value: object) -> date:
    """A `date`, the day of a `datetime`, or an ISO string YYYY-MM-DD as a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    # rev19b #9: date.fromisoformat also reads 20251127 and 2025-W48-4, which no message
    # promises and a catalog cell refuses.
    raise CatalogError(f"'{shown(value)}' is not a date YYYY-MM-DD")


def stale_expr(today: date, col: str = "as_of") -> pl.Expr:
    """True where a row's figure is older than STALE_AFTER_DAYS at `today`."""
    return (pl.lit(today) - pl.col(col)).dt.total_days() > STALE_AFTER_DAYS
