"""Records -> table (tabulate), markdown, JSON or CSV text: the one renderer of row lists."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

Format = Literal["table", "json", "csv", "markdown"]
FORMATS: tuple[str, ...] = ("table", "json", "csv", "markdown")


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
    """A value as a terminal or markdown table shows it."""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if abs(value) >= 1e15:
            return f"{value:.4g}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    if isinstance(value, bool):
        return "yes" if value else ""
    if value is None:
        return ""
    return value


def _csv_cell(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def render_rows(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> str:
    """A list of records in one of FORMATS. `columns` picks and orders the columns shown."""
    cols = list(columns) if columns else (list(rows[0]) if rows else [])
    if fmt == "json":
        return to_json([{c: r.get(c) for c in cols} for r in rows])
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({c: _csv_cell(r.get(c)) for c in cols})
        return buf.getvalue().rstrip("\n")
    from tabulate import tabulate

    body = [[cell(r.get(c)) for c in cols] for r in rows]
    tablefmt = "github" if fmt == "markdown" else "simple"
    text = tabulate(body, headers=cols, tablefmt=tablefmt, disable_numparse=True)
    if title:
        text = (f"## {title}\n\n" if fmt == "markdown" else f"{title}\n") + text
    return text
