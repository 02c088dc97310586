"""Seeded mutations of the example scenarios and of each catalog table, and the check every
mutated input must pass through the command line (issue 14).

A case is (kind, seed): `scenario_case` writes one mutated example (deleted keys, wrong types,
non-finite and extreme numbers, unicode and long strings, duplicated keys and phases, BOM, CRLF,
truncation, byte flips) and `table_case` one mutated catalog table in an override directory.
`check` runs the command and says what is wrong, if anything: an exit other than 0/1/2, a
traceback, an error longer than a few lines or lines, control characters, non-strict JSON, or
an input file that changed. Used by tests/test_fuzz.py (a few hundred cases) and
benchmarks/fuzz.py (as many as you like).
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from estimator.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
TABLES = sorted((ROOT / "pricing" / "data").glob("*.csv"))
QUOTED = ROOT / "examples" / "split_abroad_home.toml"
MAX_ERROR_LINES = 12  # a summary line, ten problems and "... and N more"
MAX_LINE_CHARS = 4_060  # the command line cuts at 4,000 (a value no message cut), then says
# the length; a message quotes user values at 60 characters (`pricing.errors.shown`)

NUMBERS: list[Any] = [
    float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 5e-324, 1e-300, 0, -1, 1e30,
    2**63, -(2**63), 0.5, 3,
]  # fmt: skip
STRINGS = [
    "", " ", "é" * 50, "\u202e\u0000rtl", "\x1b[31mred\x1b[0m", "line\nbreak", "x" * 100_000,
    "🚀", "CN", "cn", "XX", "auto", "owned", "spot", "*", "!CN", "a|b",
]  # fmt: skip
CELLS = [
    "nan", "inf", "-inf", "1e308", "1e-300", "-1", "0", "abc", "", "1e30", "2025-13-45",
    "\x1b[2J", "é", "x" * 5000, '"', "1,2", "*", "!CN",
]  # fmt: skip


@dataclass(frozen=True)
class Case:
    what: str  # a line saying which mutation, to reproduce a failure
    args: list[str]
    inputs: list[Path]  # files that must not change


# -- scenarios --------------------------------------------------------------------------------


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in nested dicts and lists."""
    out: list[tuple[Any, ...]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for k, v in items:
        out.append((*prefix, k))
        if isinstance(v, dict | list):
            out += _paths(v, (*prefix, k))
    return out


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        data = data[k]
    return data


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for k in path[:-1]:
        data = data[k]
    return data


def _mutate_data(rng: random.Random, data: dict[str, Any]) -> str:
    op = rng.choice(
        ["delete", "type", "number", "number", "string", "duplicate", "unknown", "nest"]
    )
    paths = _paths(data)
    # Numbers and strings replace leaves of their own kind, where they reach the arithmetic
    # and the messages (a random path is mostly a table or a list).
    kind = {"number": int | float, "string": str}.get(op)
    leaves = [p for p in paths if kind is not None and isinstance(_get(data, p), kind)]
    path = rng.choice(leaves or paths)
    parent, key = _parent(data, path), path[-1]
    value: Any = None
    if op == "delete":
        del parent[key]
    elif op == "type":
        value = parent[key] = rng.choice([[], {}, True, None, "text", [1, 2], {"a": 1}])
    elif op == "number":
        value = parent[key] = rng.choice(NUMBERS)
    elif op == "string":
        value = parent[key] = rng.choice(STRINGS)
    elif op == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))
    elif op == "unknown" and isinstance(parent, dict):
        value = rng.choice(NUMBERS)
        parent[rng.choice(STRINGS) or "k"] = value
    else:
        parent[key] = {"nested": parent[key]}
    shown = "" if value is None else f" {repr(value)[:30]}"
    return f"{op}{shown} at {'.'.join(map(str, path))}"


def _mutate_text(rng: random.Random, text: str) -> tuple[bytes, str]:
    op = rng.choice(["bom", "crlf", "truncate", "flip", "dupline", "binary"])
    raw = text.encode("utf-8")
    if op == "bom":
        return b"\xef\xbb\xbf" + raw, op
    if op == "crlf":
        return raw.replace(b"\n", b"\r\n"), op
    if op == "truncate":
        cut = rng.randrange(len(raw))
        return raw[:cut], f"truncate at {cut}"
    if op == "flip":
        pos = rng.randrange(len(raw))
        return raw[:pos] + bytes([rng.randrange(256)]) + raw[pos + 1 :], f"flip at {pos}"
    if op == "dupline":
        lines = raw.splitlines(keepends=True)
        i = rng.randrange(len(lines))
        return b"".join([*lines[: i + 1], lines[i], *lines[i + 1 :]]), f"duplicate line {i + 1}"
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4000))), op


def scenario_case(seed: int, directory: Path) -> Case:
    """One mutated example scenario, written as TOML text, JSON or YAML."""
    rng = random.Random(seed)
    example = rng.choice(EXAMPLES)
    text = example.read_text(encoding="utf-8")
    if rng.random() < 0.3:
        raw, what = _mutate_text(rng, text)
        path = directory / f"s{seed}.toml"
        path.write_bytes(raw)
    else:
        data = tomllib.loads(text)
        whats = [_mutate_data(rng, data) for _ in range(rng.choice([1, 1, 2, 3]))]
        what = "; ".join(whats)
        if rng.random() < 0.5:
            path = directory / f"s{seed}.json"
            path.write_text(json.dumps(data, default=str), encoding="utf-8")  # NaN, Infinity
        else:
            path = directory / f"s{seed}.yaml"
            path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    command = rng.choice(["quote", "quote", "plan", "sensitivity"])
    args = [command, str(path), "--format", "json"]
    if command == "plan" and rng.random() < 0.3:
        args += ["--samples", "300"]
    return Case(f"seed {seed}: {example.name}: {what} ({command})", args, [path])


# -- catalog tables ---------------------------------------------------------------------------


def _mutate_csv(rng: random.Random, text: str) -> tuple[bytes, str]:
    lines = text.splitlines()
    header, rows = lines[0].split(","), lines[1:]
    op = rng.choice(
        ["cell", "cell", "cell", "delete_column", "rename", "duplicate_row", "ragged", "text"]
    )
    if op in ("cell", "delete_column", "rename"):
        col = rng.randrange(len(header))
        if op == "rename":
            header[col] = rng.choice(STRINGS[:8]) or "x"
            return "\n".join([",".join(header), *rows]).encode(), f"rename column {col}"
        if op == "delete_column":
            keep = [c for c in range(len(header)) if c != col]
            body = [",".join(line.split(",")[c] for c in keep if c < len(line.split(",")))
                    for line in rows]  # fmt: skip
            head = ",".join(header[c] for c in keep)
            return "\n".join([head, *body]).encode(), f"delete column {header[col]}"
        # A cell by position in a row without quoted commas (notes may hold commas).
        plain = [i for i, line in enumerate(rows) if '"' not in line] or [0]
        i = rng.choice(plain)
        cells = rows[i].split(",")
        c = min(col, len(cells) - 1)
        value = rng.choice(CELLS)
        cells[c] = f'"{value}"' if "," in value or "\n" in value else value
        rows[i] = ",".join(cells)
        return "\n".join([",".join(header), *rows]).encode(), f"row {i + 2} {header[c]}={value!r}"
    if op == "duplicate_row":
        i = rng.randrange(len(rows))
        rows.insert(i, rows[i])
        return "\n".join([",".join(header), *rows]).encode(), f"duplicate row {i + 2}"
    if op == "ragged":
        i = rng.randrange(len(rows))
        rows[i] += ",extra"
        return "\n".join([",".join(header), *rows]).encode(), f"ragged row {i + 2}"
    return _mutate_text(rng, text)


def table_case(seed: int, directory: Path) -> Case:
    """One mutated catalog table in an override directory, then a quote over it."""
    rng = random.Random(seed)
    table = TABLES[seed % len(TABLES)]
    raw, what = _mutate_csv(rng, table.read_text(encoding="utf-8"))
    catalog = directory / f"c{seed}"
    catalog.mkdir()
    path = catalog / table.name
    path.write_bytes(raw)
    args = ["quote", str(QUOTED), "--catalog", str(catalog), "--format", "json"]
    return Case(f"seed {seed}: {table.name}: {what}", args, [path, QUOTED])


# -- the check --------------------------------------------------------------------------------


def _digest(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def check(runner: CliRunner, case: Case) -> tuple[int, str | None]:
    """The exit code, and None when the command ended cleanly on the case, else what went
    wrong."""
    before = _digest(case.inputs)
    result = runner.invoke(app, case.args)
    return result.exit_code, _problem(result, case, before)


def _problem(result: Any, case: Case, before: list[str]) -> str | None:
    code, err = result.exit_code, result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return f"traceback: {type(result.exception).__name__}: {result.exception}"[:500]
    if code not in (0, 1, 2):
        return f"exit {code}"
    if "Traceback" in err or "Traceback" in result.stdout:
        return "traceback in the output"
    if code != 0:
        lines = err.splitlines()
        if not 1 <= len(lines) <= MAX_ERROR_LINES:
            return f"{len(lines)} error lines"
        if any(len(line) > MAX_LINE_CHARS for line in lines):
            return "an error line longer than the limit"
        if any(not ch.isprintable() for ch in err.replace("\n", "")):
            return "a control character in the error"
    elif "--format" in case.args:
        try:
            json.loads(result.stdout, parse_constant=_refuse)
        except ValueError as exc:
            return f"output is not strict JSON: {exc}"[:300]
    if _digest(case.inputs) != before:
        return "an input file changed"
    return None


def _refuse(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")
