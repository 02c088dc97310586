"""Rule cells: the one parser of the match cells in policies.csv and shocks.csv.

A cell is `*` (anything), a `|`-list of values (any of them) or a `!`-prefixed list (anything but
them). The loader uses `parse_cell` to check that every value can match something; the rule
evaluator (`estimator.compliance`) turns the same parse into a polars expression.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """A parsed match cell: `values` None means the wildcard."""

    values: tuple[str, ...] | None
    negate: bool = False


def parse_cell(text: str) -> Cell:
    text = text.strip()
    if text == "*":
        return Cell(None)
    negate = text.startswith("!")
    values = tuple(v.strip() for v in text.removeprefix("!").split("|"))
    return Cell(values, negate)
