"""Records -> table (tabulate), markdown, HTML, JSON or CSV text: the one renderer of row lists.

Numbers in a column share one number of decimals (four significant figures of the column's
largest value, whole numbers with separators from 1,000) and are right-aligned. Where that
would hide digits (a column spanning magnitudes), and always for unit prices (`Price`: a price
per kWh beside one per server), each value shows its own significant figures instead.
A terminal table is fitted to `Terminal.width`: long text columns are wrapped, then the last
columns are left out with a note naming them (JSON, CSV and `--wide` keep everything).
"""

from __future__ import annotations

import csv
import functools
import html
import io
import json
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Literal, TypeVar, cast

from pricing.currencies import minor_units
from pricing.errors import printable

Format = Literal["table", "json", "csv", "markdown", "html"]
FORMATS: tuple[str, ...] = ("table", "json", "csv", "markdown", "html")
MIN_TEXT_WIDTH = 12  # a wrapped text column is never narrower than this
COMFORTABLE = 28  # optional columns give way before text wraps narrower than this
_NUMBER = re.compile(r"^[+-]?[\d,]*\.?\d+(e[+-]?\d+)?%?$")
_ANSI = {"red": "\x1b[31m", "yellow": "\x1b[33m", "end": "\x1b[0m"}
# Cells whose words are coloured on a terminal: a blocked plan must stand out.
COLOURED = {"block": "red", "blocked": "red", "warn": "yellow", "over_deadline": "yellow"}


@dataclass(frozen=True)
class Terminal:
    """Where a table is shown: `width` in characters (None: no limit, e.g. piped output or
    `--wide`) and whether severity words are coloured."""

    width: int | None = None
    color: bool = False


PLAIN = Terminal()


T = TypeVar("T")


def displayed(value: T) -> T:
    """`value` (a view model, rows, a title) with every string in it `printable`: user text
    (scenario, phase, fleet names, notes) with control characters escaped, as the error path
    quotes it (review11a #10: an OSC 52 clipboard write in a phase name reached the
    terminal). What the table, markdown, HTML and CSV output shows; JSON keeps the data as
    given (it escapes control characters itself). Printable text is returned unchanged."""
    from pydantic import BaseModel

    from estimator.frozen import Frozen

    new: Any = value
    if isinstance(value, str):
        new = printable(value)
    elif isinstance(value, list | tuple):
        items = [displayed(v) for v in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            new = items if isinstance(value, list) else tuple(items)
    elif isinstance(value, dict):
        pairs = [(displayed(k), displayed(v)) for k, v in value.items()]
        if any(
            k is not k0 or v is not v0
            for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True)
        ):
            new = dict(pairs)
    elif isinstance(value, BaseModel):  # fields and extras; a copy, the model is frozen
        update = {k: d for k, v in value if (d := displayed(v)) is not v}
        if update:  # a result's part (a plan's alternatives) is copied as the library does
            new = (
                value._replaced(update)
                if isinstance(value, Frozen)
                else value.model_copy(update=update)
            )
    return cast(T, new)


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\|`*[]"} | {"&": "&amp;", "<": "&lt;"})


def markdown_text(text: str) -> str:
    """Text with no markdown meaning: `|` escaped (in a table it ended the cell: a phase
    named 'serve|abroad' added a column), `<` and `&` as entities (raw HTML, a `<script>` in
    a heading, passed through to the page), and the marks of code, emphasis and links
    (`` ` * [ ] ``: a phase named '[x](http://...)' was a link, rev11c #15) and the backslash
    escaped. Underscores inside words make no emphasis in CommonMark (on_demand stays as is)."""
    return text.translate(_MARKDOWN)


class Cents(float):
    """A money cell in `currency`: shown with separators and its minor unit (cents; none for
    yen: ISO 4217, `pricing.currencies`; rev18a #10 printed "113,630,977.46 JPY"); a plain
    number in CSV and JSON."""

    __slots__ = ()
    decimals: ClassVar[int] = 2

    def __new__(cls, value: float, currency: str) -> Cents:
        return float.__new__(_cents_of(minor_units(currency)), value)

    @property
    def text(self) -> str:
        """The amount with separators, in its currency's decimals."""
        return f"{self:,.{self.decimals}f}"

    def __reduce__(self) -> tuple[Any, ...]:  # (a copy keeps the decimals)
        return _cell_of, (float(self), self.decimals)


def _cell_of(value: float, decimals: int) -> Cents:
    return float.__new__(_cents_of(decimals), value)


@functools.cache
def _cents_of(decimals: int) -> type[Cents]:
    """The cell type of amounts with `decimals` (Cents itself for 2)."""
    if decimals == Cents.decimals:
        return Cents
    return type(f"Cents{decimals}", (Cents,), {"__slots__": (), "decimals": decimals})


class Price(float):
    """A unit price cell: shown with its own significant figures (up to 6), not its column's
    decimals, so that quantity x price reads as the amount (rev11d #7: 470 GB x 0.21 beside
    100.68 USD, the rate being 0.2142); a plain number in CSV and JSON."""

    __slots__ = ()


class Rate(Price):
    """An exchange rate cell: every digit of the rate used (fx.csv gives four decimals), with
    separators from 1,000 (rev19a #7g: `compare` showed "JPY per USD 155.141" where the quote
    converted at 155.1411); a cross rate (CNY to JPY) to 10 significant figures, which rebuild
    a line to its minor unit (rev19d #3); a plain number in CSV and JSON."""

    __slots__ = ()


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _finite(data: Any) -> Any:
    """JSON has no NaN or Infinity (strict parsers reject them): a missing figure is null."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    return data


def to_json(data: Any) -> str:
    return json.dumps(
        _finite(data), indent=2, default=_json_default, ensure_ascii=False, allow_nan=False
    )


def cell(value: Any, digits: int = 4) -> Any:
    """A single value as a table shows it (columns of numbers use `_column`)."""
    if isinstance(value, Cents):
        return value.text
    if isinstance(value, Price) and math.isfinite(value):
        return _price(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if abs(value) >= 1e15:
            return f"{value:.4g}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if value is None:
        return ""
    return value


def _price(value: float) -> str:
    """Up to 6 significant figures, with separators from 1,000 (rev12a #9: 1,369.863 read
    1,370, and 8,760 x 1,370 is not the 12,000,000.00 beside it); whole numbers past 6 digits
    in full. A `Rate` shows every digit."""
    if isinstance(value, Rate):
        return f"{float(f'{value:.10g}'):,}".removesuffix(".0")
    if abs(float(f"{value:.6g}")) < 1000 or abs(value) >= 1e15:
        return f"{value:.6g}"
    places = max(0, 5 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _decimals(values: list[float]) -> int | None:
    """One number of decimals for a column: 4 significant figures of its largest value, or
    None when that would show a non-zero value as 0 (then each value keeps its own)."""
    top = max(abs(v) for v in values)
    if top == 0:
        return 0
    if min(abs(v) for v in values if v) < top / 1000:
        return None  # spans magnitudes (prices per kWh and per server): each its own figures
    if top >= 1e15:
        return None
    if top >= 1000:
        return 0
    places = max(0, 3 - math.floor(math.log10(top)))
    if any(v and round(v, places) == 0 for v in values):
        return None
    return places


def _column(values: list[Any]) -> list[Any]:
    if any(isinstance(v, Cents) for v in values) and all(
        isinstance(v, float) or v is None for v in values
    ):  # a transposed table (compare): money in cents, a rate (Price) with its own figures,
        # other figures (%, days) with one decimal
        return ["" if v is None else v.text if isinstance(v, Cents)
                else _price(v) if isinstance(v, Price) else f"{v:,.1f}"
                for v in values]  # fmt: skip
    if any(isinstance(v, Price) for v in values):
        return [cell(v, 6) for v in values]
    floats = [v for v in values if isinstance(v, float) and v == v]
    if floats and all(isinstance(v, Cents) or v is None for v in values):
        return ["" if v is None else v.text for v in values]
    if floats and all(isinstance(v, float) or v is None for v in values):
        places = _decimals(floats)
        if places is not None:
            return ["" if v is None or v != v else f"{v:,.{places}f}" for v in values]
    return [cell(v) for v in values]


def _numeric(column: list[Any]) -> bool:
    shown = [str(v) for v in column if v not in ("", None)]
    return bool(shown) and all(_NUMBER.match(v) for v in shown)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return ""
    return "" if value is None else value


def render_rows(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    term: Terminal = PLAIN,
    optional: Sequence[str] = (),
    lasting: Sequence[str] = (),
) -> str:
    """A list of records in one of FORMATS. `columns` picks and orders the columns shown;
    `optional` names those a narrow terminal leaves out first, `lasting` those it keeps
    longest, most needed first (see `_fitted`)."""
    cols = list(columns) if columns else (list(rows[0]) if rows else [])
    if fmt == "json":
        return to_json([{c: r.get(c) for c in cols} for r in rows])
    rows = [{displayed(c): displayed(r.get(c)) for c in cols} for r in rows]
    cols, optional, title = displayed(cols), displayed(optional), displayed(title)
    lasting = displayed(lasting)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({c: _csv_cell(r.get(c)) for c in cols})
        return buf.getvalue().rstrip("\n")
    shown = [_column([r.get(c) for r in rows]) for c in cols]
    numeric = [_numeric(col) for col in shown]
    body = [list(r) for r in zip(*shown, strict=True)] if cols else []
    if fmt == "html":
        return html_table(cols, body, numeric, title)
    if fmt == "markdown":
        cols = [markdown_text(c) for c in cols]
        body = [[markdown_text(str(v)) for v in row] for row in body]
        text = _tabulate(cols, body, numeric, "pipe")  # pipe: alignment colons
        return f"## {markdown_text(title)}\n\n{text}" if title else text
    text = _fitted(cols, body, numeric, term, optional, lasting)
    if title:
        head = title if term.width is None else textwrap.fill(title, term.width)
        text = f"{head}\n{text}"
    return text


def _tabulate(
    cols: list[str],
    body: list[list[Any]],
    numeric: list[bool],
    tablefmt: str,
    widths: list[int | None] | None = None,
) -> str:
    from tabulate import tabulate

    if widths is not None:  # wrapped here: tabulate's own wrapping re-parses numbers
        cols = [_wrap_name(c, w and w - 2) for c, w in zip(cols, widths, strict=True)]  # + pad
        body = [[_wrap(v, w) for v, w in zip(row, widths, strict=True)] for row in body]
    return tabulate(
        body,
        headers=cols,
        tablefmt=tablefmt,
        disable_numparse=True,
        colalign=["right" if n else "left" for n in numeric],
    )


def _wrap_name(name: str, width: int | None) -> str:
    """A header wrapped between its words or after an underscore, never inside a word
    (rev13a #5: `wall_clock_d` over `ays`); a word longer than `width` stays whole (it uses
    the header's padding)."""
    if not width or len(_strip(name)) <= width:
        return name
    lines, line = [], ""
    for token in re.findall(r"[^_ ]+[_ ]?|[_ ]", name):
        if line and len((line + token).rstrip()) > width:
            lines.append(line.rstrip())
            line = token
        else:
            line += token
    return "\n".join([*lines, line.rstrip()])


def _wrap(value: Any, width: int | None) -> Any:
    if not width or len(_strip(str(value))) <= width:
        return value
    return "\n".join(textwrap.wrap(str(value), width, break_on_hyphens=False))


def _fitted(
    cols: list[str],
    body: list[list[Any]],
    numeric: list[bool],
    term: Terminal,
    optional: Sequence[str],
    lasting: Sequence[str] = (),
) -> str:
    """The table at the terminal's width: first without the optional columns (in their order)
    while text would wrap narrower than COMFORTABLE, then wrapped, then without the last
    columns, the `lasting` ones (least needed first) and the money after the others. A note
    names what is not shown."""
    if term.color:
        body = [[_colour(v) for v in row] for row in body]
    text = _tabulate(cols, body, numeric, "simple")
    if term.width is None or _widest(text) <= term.width:
        return text
    hidden: list[str] = []
    cols = [_header(c, [row[i] for row in body]) if n else c for i, (c, n) in
            enumerate(zip(cols, numeric, strict=True))]  # fmt: skip
    optional = [_header(c, [""]) if c not in cols else c for c in optional]
    lasting = [_header(c, [""]) if c not in cols else c for c in lasting]

    def drop(name: str) -> None:
        i = cols.index(name)
        hidden.append(cols.pop(i).replace("_\n", "_").replace("\n", " "))
        numeric.pop(i)
        for row in body:
            row.pop(i)

    body = [list(row) for row in body]
    for name in optional:
        if name in cols and _wrap_widths(cols, body, numeric, term.width, COMFORTABLE) is None:
            drop(name)
    while _wrap_widths(cols, body, numeric, term.width, MIN_TEXT_WIDTH) is None and len(cols) > 1:
        # The money goes last (rev13a #5: at 60 columns a quote's phases lost their cost
        # before their region), and a price never stays without its currency. A table's
        # `lasting` columns go after the other ones (rev14a #7: a plan's runners-up lost
        # their verdict first, so rejected options read as cheaper ones the plan ignored).
        spare = [c for c in cols[1:] if not _money(c) and c not in lasting]
        spare = spare or [c for c in reversed(lasting) if c in cols[1:]][::-1]
        spare = spare or [c for c in cols[1:] if not _money(c)]
        drop(spare[-1] if spare else cols[-1])
    for pair in _PRICED_IN:
        for gone, kept in (pair, pair[::-1]):
            if gone not in cols and kept in cols and len(cols) > 1:
                drop(kept)
    widths = _wrap_widths(cols, body, numeric, term.width, MIN_TEXT_WIDTH)
    text = _tabulate(cols, body, numeric, "simple", widths)
    if hidden:
        note = f"not shown: {', '.join(hidden)} (--wide, --format csv or json show every column)"
        text += "\n" + textwrap.fill(note, term.width)
    return text


# A column of prices and the column saying their currency: shown together or not at all.
_PRICED_IN = (("unit_price", "unit_currency"),)


def _money(column: str) -> bool:
    """A column of amounts in the report's currency."""
    return column.startswith(("cost", "amount", "total"))


def _header(name: str, values: list[Any]) -> str:
    """A long header over a column of figures, wrapped to the figures' width (at least 12)."""
    width = max([12] + [len(_strip(str(v))) for v in values])
    return _wrap_name(name, width) if len(name) > width + 2 else name


def _widest(text: str) -> int:
    return max((len(_strip(line)) for line in text.splitlines()), default=0)


def _strip(text: str) -> str:
    return re.sub(r"\x1b\[\d+m", "", text)


def _wrap_widths(
    cols: list[str], body: list[list[Any]], numeric: list[bool], width: int, least: int
) -> list[int | None] | None:
    """Widths that wrap text columns so the table fits `width`, or None if that needs a text
    column narrower than `least` (or nothing can wrap and it is too wide).

    Numbers are never wrapped, and words without spaces (ids, dates) only when wrapping prose
    alone is not enough; the widest columns are narrowed first, evenly."""
    cells = [[_strip(str(row[i])) for row in body] for i in range(len(cols))]
    natural = [  # tabulate pads a header by 2
        max([_widest(c) + 2] + [len(v) for v in col]) for c, col in zip(cols, cells, strict=True)
    ]
    # rev16b #1: tabulate never draws a column narrower than its header's longest unbroken
    # part plus that padding; a cap below it (`accelerator` capped at 12 drawn 13 wide) made
    # the table a character wider than the terminal.
    floors = [_unbroken(c) + 2 for c in cols]
    prose = [not n and any(" " in v for v in col) for n, col in zip(numeric, cells, strict=True)]
    room = width - 2 * (len(cols) - 1)
    for wrapped, floor in ((prose, max(least, COMFORTABLE)), ([not n for n in numeric], least)):
        cap = _cap(natural, floors, wrapped, room, floor)
        if cap is not None:
            return [
                _capped(w, f, cap) if wrap else None
                for w, f, wrap in zip(natural, floors, wrapped, strict=True)
            ]
    return None


def _unbroken(header: str) -> int:
    """The width of a header's longest part that `_wrap_name` never breaks (a word and the
    underscore after it)."""
    tokens = re.findall(r"[^_ ]+[_ ]?|[_ ]", _strip(header).replace("\n", " "))
    return max((len(t.rstrip()) for t in tokens), default=0)


def _capped(natural: int, floor: int, cap: int) -> int:
    """A wrapped column's width under `cap`: never wider than its content, never narrower
    than its header's floor."""
    return min(natural, max(cap, floor))


def _cap(
    natural: list[int], floors: list[int], wrapped: list[bool], room: int, least: int
) -> int | None:
    """The largest width cap for the `wrapped` columns that fits `room`, if it is >= least."""
    fixed = sum(w for w, wrap in zip(natural, wrapped, strict=True) if not wrap)
    text = [(w, f) for w, f, wrap in zip(natural, floors, wrapped, strict=True) if wrap]
    room -= fixed
    if not text or room < sum(_capped(w, f, least) for w, f in text):
        return None
    cap = max(w for w, _ in text)
    while sum(_capped(w, f, cap) for w, f in text) > room:  # ends at `least` or above (checked)
        cap -= 1
    return cap


def _colour(value: Any) -> Any:
    colour = COLOURED.get(value) if isinstance(value, str) else None
    return f"{_ANSI[colour]}{value}{_ANSI['end']}" if colour else value


def html_table(
    cols: list[str], body: list[list[Any]], numeric: list[bool], title: str | None
) -> str:
    """An HTML table (escaped), numbers right-aligned, with its title as a heading."""
    esc = html.escape

    def named(c: str) -> str:
        # A column name may break after its underscores ("wall_clock_/days"): unbroken, the
        # phases table ran past the page's column and its per-million price was cut (rev20a #7).
        return esc(c).replace("_", "_<wbr>")

    head = "".join(
        f'<th class="num">{named(c)}</th>' if n else f"<th>{named(c)}</th>"
        for c, n in zip(cols, numeric, strict=True)
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f'<td class="{_css(v, n)}">{esc(str(v))}</td>'
            for v, n in zip(row, numeric, strict=True)
        )
        + "</tr>\n"
        for row in body
    )
    # In a box of the page's width that scrolls what is still wider, not the page (rev20a #7).
    table = (
        f'<div class="wide"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}</tbody>\n'
        "</table></div>"
    )
    if not title:
        return table
    # A title with a summary after its dash ("Placements — pretrain: 45 of 146 options...")
    # is a heading and a paragraph: the whole sentence made an h2 of a paragraph's length.
    heading, dash, summary = title.partition(" — ")
    lead = f"<p>{esc(summary)}</p>\n" if dash else ""
    return f"<h2>{esc(heading)}</h2>\n{lead}{table}"


# A cell longer than this may wrap in HTML, an id at its hyphens (`_css`).
SHORT = 16


def _css(value: Any, numeric: bool) -> str:
    """num: right-aligned; nw: kept on one line (short ids, dates, short words; a longer id
    may break at its hyphens: a rule's id in the phases table's `blocked` column, a provider's
    in the placements table, pushed the table past the page, rev20a #7); block / warn."""
    text = str(value)
    classes = ["num"] if numeric else []
    if not numeric and len(text) <= SHORT:
        classes.append("nw")
    severity = {"red": "block", "yellow": "warn"}.get(COLOURED.get(text, ""))
    return " ".join([*classes, *([severity] if severity else [])])
