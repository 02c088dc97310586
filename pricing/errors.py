"""Typed errors shared by both packages.

They carry where the problem is (file, line, column or field path) so the command line can print
one precise line per problem without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class SplitcomputeError(Exception):
    """Base of every error the tool raises on purpose (bad input, infeasible request)."""

    def lines(self) -> list[str]:
        """The message as the lines the command line prints."""
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

    def __init__(self, problems: Iterable[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", None, None, problems)]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        if len(self.problems) == 1:
            return [str(self.problems[0])]
        return [f"{len(self.problems)} problems in the catalog:", *map(str, self.problems)]


class UnknownIdError(CatalogError):
    """An id that is not in a catalog table; the message suggests the nearest ids."""

    def __init__(self, kind: str, value: str, known: Iterable[str]) -> None:
        self.kind, self.value = kind, value
        known = sorted(set(known))
        hint = suggest(value, known)
        if hint:
            msg = f"unknown {kind} '{value}': did you mean '{hint}'?"
        else:
            msg = f"unknown {kind} '{value}' (known: {', '.join(known[:20])}"
            msg += ", ...)" if len(known) > 20 else ")"
        super().__init__([Problem("", None, None, msg)])

    def __str__(self) -> str:
        return self.problems[0].message

    def lines(self) -> list[str]:
        return [str(self)]


def suggest(value: str, known: Iterable[str]) -> str | None:
    """The known id a typo most likely meant, or None.

    Plain difflib prefers 'h200' for 'h1000'; people type ids from the left, so a shared prefix
    counts extra.
    """
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
