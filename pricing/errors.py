"""Typed errors shared by both packages.

They carry where the problem is (file, line, column or field path) so the command line can print
one precise line per problem without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

# A message quotes at most this many characters of a value the user gave: a 2 MB cell or a
# 50 MB name must not come back as a million-line error.
SHOWN_CHARS = 60
# "Did you mean" compares the value with every known id (quadratic in their lengths): ids are
# short, so a longer value is no typo of one and is not compared (a 10 MB id took 104 s).
SUGGEST_MAX_CHARS = 64
# Past this many problems an error lists the first ones and counts the rest (`--all-errors`).
SHOWN_PROBLEMS = 10


def printable(text: str) -> str:
    """`text` with every character that is not printable (control characters: ESC, BEL,
    newline, tab; other format and separator characters) written as its Python escape
    (\\x1b, \\n), so user text cannot break a line or a table or drive the terminal (an
    OSC 52 clipboard write, a title change). Printable text comes back unchanged."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A user-given value as a message may quote it: cut to `limit` characters (the length
    said), with control characters escaped (`printable`) so a newline or a terminal escape
    sequence in the input cannot break the one-line message or drive the terminal."""
    text = value if isinstance(value, str) else str(value)
    out = printable(text[:limit])
    if len(text) > limit:
        out += f"... ({len(text):,} characters)"
    return out


def describe_range(gt: float | None, ge: float | None, le: float | None) -> str:
    """A declared range as a message says it: '> 0 and <= 1e+17', 'between 1 and 3'."""

    def n(x: float) -> str:
        return f"{x:,.0f}" if float(x).is_integer() and abs(x) <= 1e9 else f"{x:g}"

    if ge is not None and le is not None:
        return f"between {n(ge)} and {n(le)}"
    parts = []
    if gt is not None:
        parts.append(f"> {n(gt)}")
    if ge is not None:
        parts.append(f">= {n(ge)}")
    if le is not None:
        parts.append(f"<= {n(le)}")
    return " and ".join(parts) or "any number"


class SplitcomputeError(Exception):
    """Base of every error the tool raises on purpose (bad input, infeasible request)."""

    def lines(self, limit: int | None = SHOWN_PROBLEMS) -> list[str]:
        """The message as the lines the command line prints (at most `limit` problems listed;
        None lists all)."""
        return [str(self)]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one cell of a catalog file."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        if not self.file:
            return self.message
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.column:
            where += f":{self.column}"
        return f"{where}: {self.message}"


class CatalogError(SplitcomputeError):
    """A catalog file is malformed, or a lookup names something the catalog lacks."""

    # What the problems are in, as the command line's header names it ("11 problems in the
    # catalog:"); a reader of another file of catalog rows (a --shock CSV) sets its own
    # (rev17a #16).
    where = "the catalog"

    def __init__(self, problems: Iterable[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", None, None, problems)]
        self.problems = list(problems)
        # The message lists the first problems, as the command line does (rev12b #8: a
        # library traceback printed 483 lines); `problems` holds them all.
        shown_ = [str(p) for p in self.problems[:SHOWN_PROBLEMS]]
        rest = len(self.problems) - len(shown_)
        if rest:
            shown_.append(f"... and {rest:,} more (the error's .problems lists them all)")
        super().__init__("\n".join(shown_))

    def lines(self, limit: int | None = SHOWN_PROBLEMS) -> list[str]:
        if len(self.problems) == 1:
            return [str(self.problems[0])]
        listed = self.problems if limit is None else self.problems[:limit]
        out = [f"{len(self.problems):,} problems in {self.where}:", *map(str, listed)]
        rest = len(self.problems) - len(listed)
        if rest:
            out.append(f"... and {rest:,} more (--all-errors lists them all)")
        return out


# Names in common use for an id that are not the id (and no typo of it).
_COMMON_NAMES = {("currency", "RMB"): "CNY"}  # renminbi, the yuan's ISO code is CNY


class UnknownIdError(CatalogError):
    """An id that is not in a catalog table; the message suggests the nearest ids."""

    def __init__(self, kind: str, value: str, known: Iterable[str]) -> None:
        self.kind, self.value = kind, value
        known = sorted(set(known))
        if not isinstance(value, str):  # review11b #17: an int id raised AttributeError here
            value = str(value)
        hint = _COMMON_NAMES.get((kind, value.upper()))
        hint = hint if hint in known else suggest(value, known)
        if hint:
            msg = f"unknown {kind} '{shown(value)}': did you mean '{hint}'?"
        else:
            msg = f"unknown {kind} '{shown(value)}' (known: {', '.join(known[:20])}"
            msg += ", ...)" if len(known) > 20 else ")"
        super().__init__([Problem("", None, None, msg)])

    def __str__(self) -> str:
        return self.problems[0].message

    def lines(self, limit: int | None = SHOWN_PROBLEMS) -> list[str]:
        return [str(self)]


def suggest(value: str, known: Iterable[str]) -> str | None:
    """The known id a typo most likely meant, or None.

    Plain difflib prefers 'h200' for 'h1000'; people type ids from the left, so a shared prefix
    counts extra. A value longer than any sane id is no typo of one (SUGGEST_MAX_CHARS).
    """
    if len(value) > SUGGEST_MAX_CHARS:
        return None
    value_l = value.lower()
    best: tuple[float, str] | None = None
    for cand in known:
        ratio = difflib.SequenceMatcher(None, value_l, cand.lower()).ratio()
        prefix = 0
        for a, b in zip(value_l, cand.lower(), strict=False):
            if a != b:
                break
            prefix += 1
        if ratio < 0.5 and prefix < 3:
            continue
        score = ratio + 0.1 * prefix
        if best is None or score > best[0]:
            best = (score, cand)
    return best[1] if best else None
