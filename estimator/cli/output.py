"""Where a command's output goes: the terminal (fitted to its width, coloured) or a file.

Tables fit `COLUMNS` when it is set, else the terminal's width; piped output without `COLUMNS`
keeps every column (it is read by programs or pagers). Colour marks blocking findings on a
terminal only, never when `NO_COLOR` is set (https://no-color.org). A file given with `-o` is
written whole or not at all, never over an input, and over an existing file only with --force.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from estimator.errors import ScenarioError
from estimator.report.rows import Terminal

if TYPE_CHECKING:  # pydantic is imported by the command that builds the view, not by --help
    from pydantic import BaseModel

PROGRESS_FROM = 200_000  # samples: below this a run takes about a second, no bar needed


def terminal(wide: bool = False, output: Path | None = None) -> Terminal:
    if output is not None:
        return Terminal()
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    if wide:
        return Terminal(None, color)
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return Terminal(int(columns), color)
    if sys.stdout.isatty():
        import shutil

        return Terminal(shutil.get_terminal_size().columns, color)
    return Terminal(None, color)


def emit(
    content: str | bytes,
    output: Path | None,
    force: bool = False,
    inputs: Sequence[Path] = (),
) -> None:
    """Print `content`, or write it to `output` (see the module docstring for the rules)."""
    if output is None:
        if isinstance(content, bytes):
            raise ScenarioError("binary output needs a file: add -o FILE", "--output")
        typer.echo(content)
        return
    check_output(output, force, inputs)
    data = content if isinstance(content, bytes) else (content + "\n").encode("utf-8")
    # Written beside the target and renamed: a failure leaves no half-written file.
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, output)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ScenarioError(f"cannot write: {exc.strerror or exc}", str(output)) from None


def check_output(output: Path, force: bool, inputs: Sequence[Path]) -> None:
    """Refuse an output that would replace an input, or an existing file without --force;
    called before any work so a long run does not end in a refusal."""
    where = str(output)
    if not output.parent.is_dir():
        raise ScenarioError(f"no such directory: {output.parent}", where)
    if output.is_dir():
        raise ScenarioError("is a directory: give a file name", where)
    for given in inputs:
        if str(given) == "-":
            continue
        if _same(output, given) or (given.is_dir() and _same(output.parent, given)):
            raise ScenarioError("is an input of this command: choose another file", where)
    if output.exists() and not force:
        raise ScenarioError("exists already: choose a new file or add --force", where)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return a.resolve() == b.resolve()


def show(
    view: BaseModel,
    fmt: str,
    *,
    table: str | None = None,
    wide: bool = False,
    output: Path | None = None,
    force: bool = False,
    inputs: Sequence[Path] = (),
) -> None:
    """Render a report view in `fmt` (html: the self-contained page) and emit it."""
    if fmt == "html":
        from estimator.report.html import html_report

        if table is not None:
            raise ScenarioError("--table picks one table of a text report, not of HTML", "--table")
        text = html_report(view)
    else:
        from estimator.report.text import render

        text = render(view, fmt, terminal(wide, output), table)
    emit(text, output, force, inputs)


@contextmanager
def progress(total: int, label: str, force: bool = False) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for long runs on a terminal (never in pipes or files); yields
    the callback to report samples done, or None when no bar is shown."""
    if not force and (total < PROGRESS_FROM or not sys.stderr.isatty()):
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)
