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
from typing import TYPE_CHECKING, Any

import typer

from estimator.cli.app import CANNOT_WRITE, EXIT_ENVIRONMENT, fail
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
    if output.exists() and not output.is_file():  # /dev/stdout, a FIFO: written in place
        _write(output, data, lambda: output.open("wb"))
        return
    # Written beside the target and renamed: a failure leaves no half-written file. mkstemp
    # makes the file private (0600); the result gets the mode a plain write would give it.
    _write(output, data, lambda: _temporary(output))


def _temporary(output: Path) -> Any:
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    old = output.stat().st_mode & 0o777 if output.exists() else 0o666 & ~umask
    os.fchmod(fd, old)
    return _Replacing(os.fdopen(fd, "wb"), Path(tmp), output)


class _Replacing:
    """A temporary file that replaces `target` when closed without error."""

    def __init__(self, f: Any, tmp: Path, target: Path) -> None:
        self.f, self.tmp, self.target = f, tmp, target

    def __enter__(self) -> Any:
        return self.f

    def __exit__(self, kind: object, *_: object) -> None:
        self.f.close()
        if kind is None:
            os.replace(self.tmp, self.target)
        self.tmp.unlink(missing_ok=True)


def _write(output: Path, data: bytes, opened: Callable[[], Any]) -> None:
    try:
        with opened() as f:
            f.write(data)
    except OSError as exc:
        said = f"cannot write {output}: {exc.strerror or exc}"
        if exc.errno in CANNOT_WRITE:  # rev19b #5: a full disk is the machine's, as on stdout
            raise fail([f"--output: {said}"], EXIT_ENVIRONMENT) from None
        raise ScenarioError(said, "--output") from None


def check_samples(samples: int | None, seed: int | None = None) -> int:
    """--samples in range and --seed a whole number of at least 0, said by flag before any work
    (and before a progress bar is drawn); the seed to draw with (0 unless given). A --seed
    without --samples seeds nothing and is refused (rev20b #9: it was ignored silently)."""
    if samples is None:  # no Monte Carlo: nothing to import
        if seed is not None:
            raise ScenarioError("seeds the --samples draws: give --samples too", "--seed")
        return 0
    from estimator.api import whole
    from estimator.uncertainty import MAX_SAMPLES

    if not 0 < samples <= MAX_SAMPLES:
        raise ScenarioError(f"must be between 1 and {MAX_SAMPLES:,} (got {samples:,})", "--samples")
    return 0 if seed is None else whole(seed, "--seed", least=0)


def check_swing(swing: float) -> None:
    """--swing in range, said by flag before any work."""
    from estimator.uncertainty import check_swing

    check_swing(swing, "--swing")


def check_output(output: Path, force: bool, inputs: Sequence[Path]) -> None:
    """Refuse an output that would replace an input, or an existing file without --force;
    called before any work so a long run does not end in a refusal."""
    where = str(output)
    typed = getattr(output, "typed", where)
    if not typed.strip():  # rev20b #9: was ".: is a directory"
        raise ScenarioError("is empty: give a file name (or - for the terminal)", "--output")
    if typed.endswith(("/", os.sep)):  # rev20b #9: `out.json/` wrote the file out.json
        raise ScenarioError("ends in '/', a directory: give a file name", f"{typed}")
    if not output.parent.is_dir():
        raise ScenarioError(f"no such directory: {output.parent}", where)
    if output.is_dir():
        raise ScenarioError("is a directory: give a file name", where)
    for given in inputs:
        if str(given) == "-":
            continue
        if _same(output, given) or (given.is_dir() and _same(output.parent, given)):
            raise ScenarioError("is an input of this command: choose another file", where)
    if output.is_file() and not force:  # a device or FIFO (/dev/stdout) is written in place
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
