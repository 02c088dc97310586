"""The `splitcompute` command line: parse flags, call the library, render, exit.

This package is the only place that knows about exit codes and terminals (see `app`); one
module per group of commands registers them on the shared typer app.

The `cmd_*` modules do not use `from __future__ import annotations`: typer reads every
command's signature at each start-up, and string annotations would be evaluated there
(~35 ms of every command, `--help` included).
"""

from __future__ import annotations

import gc

# What the command line imports before `main` runs (typer, the commands and what they import)
# is imported as `main` runs a command: without a collector pass. At the usual thresholds these
# imports made ~27 passes over what they build, ~5-10 ms of every command, `--help` included.
# The caller's thresholds are back once they are imported; what the imports made is moved to
# the oldest generation (frozen, then thawed), where passes would have moved what lives on,
# so restoring the thresholds starts no pass over it.
_THRESHOLDS = gc.get_threshold()
gc.set_threshold(200_000, 20, 20)
try:
    import atexit
    import contextlib
    import copy
    import inspect
    import os
    import sys
    import threading
    from types import FrameType
    from typing import NoReturn

    import typer

    # Import order is the order of `--help`: the everyday commands first.
    from estimator.cli import cmd_quote  # isort: skip
    from estimator.cli import cmd_plan  # isort: skip
    from estimator.cli import cmd_chart, cmd_catalog, cmd_physics  # isort: skip
    from estimator.cli.app import (
        CANNOT_WRITE,
        EXIT_BAD_INPUT,
        EXIT_ENVIRONMENT,
        EXIT_OK,
        app,
    )
finally:
    gc.freeze()
    gc.set_threshold(*_THRESHOLDS)
    gc.unfreeze()

__all__ = ["app", "cmd_catalog", "cmd_chart", "cmd_physics", "cmd_plan", "cmd_quote", "main"]


def _reflowed(doc: str) -> str:
    """A docstring as help: each paragraph one line, so the terminal wraps it (typer keeps a
    docstring's line breaks, and at 80 columns every source line left a ragged stub)."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


for _info in app.registered_commands:
    if _info.help is None and _info.callback is not None and _info.callback.__doc__:
        _info.help = _reflowed(_info.callback.__doc__)


def main() -> None:
    """Console-script entry point. Click's own usage errors (unknown flag, missing argument,
    a value of the wrong type) are printed as one line like every other error."""
    # The command line loads no pydantic plugins (observability hooks found by scanning every
    # installed package's entry points: ~10-15 ms of each command), as typer does for its own
    # adapters; the library leaves them to its user. A value the user set is kept.
    ours = "PYDANTIC_DISABLE_PLUGINS" not in os.environ
    if ours:
        os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
    # The garbage collector's passes over every object the libraries made at import were ~15%
    # of a quote's CPU (127 passes): one command's few cycles wait for a rarer pass, and what
    # is loaded so far (typer, the commands) is frozen out of them. Measured peak memory did
    # not grow (a quote with 1M samples: 265 -> 240 MB). At 50,000 a quote or a plan still made
    # one pass, ~10-20 ms over what the command imports (pydantic's schemas); at 200,000 none.
    thresholds = gc.get_threshold()
    gc.set_threshold(200_000, 20, 20)
    gc.freeze()
    try:
        code = _run()
    finally:
        # What the command made joins the oldest generation, as the frozen objects do: left in
        # the youngest, the thresholds restored started a pass over all of it as the process
        # was about to exit (~5-20 ms).
        gc.freeze()
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        if ours:
            os.environ.pop("PYDANTIC_DISABLE_PLUGINS", None)
    code = code if isinstance(code, int) else EXIT_OK
    if _is_the_program(sys._getframe(1)):
        _exit_now(code)
    sys.exit(code)


def _is_the_program(caller: FrameType) -> bool:
    """Whether `main` was called by the very file Python runs as the program (the
    `splitcompute` console script): nothing but the interpreter's teardown follows it. A caller
    that may go on after main's SystemExit (a script of its own, a test, `python -c`) gets it."""
    return (
        caller.f_globals.get("__name__") == "__main__"
        and bool(sys.argv)
        # Python makes the program's own file name absolute but leaves argv[0] as typed
        # (`./splitcompute`, a relative path, a symlink): compare the files, not the strings.
        and os.path.realpath(caller.f_code.co_filename) == os.path.realpath(sys.argv[0])
    )


def _exit_now(code: int) -> NoReturn:
    """End the program with `code` as `sys.exit` would, less the interpreter's teardown: every
    module's objects freed and collected one by one, memory the OS takes back at once anyway
    (~60-100 ms of CPU after a quote or a plan: polars, pydantic and typer alone cost ~60).
    What the program asked to run at exit (`atexit`: logging's flush, coverage's data,
    finalizers) runs; output is flushed first, and where that fails, or a thread of ours still
    runs, the exit is the usual one (which reports a closed pipe as it always has, and waits
    for the thread)."""
    if threading.active_count() > 1:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError as exc:
        if exc.errno not in CANNOT_WRITE:
            sys.exit(code)
        code = _cannot_write(exc)
    except ValueError:
        sys.exit(code)
    atexit._run_exitfuncs()
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _cannot_write(exc: OSError) -> int:
    """Say in one line that the output cannot be written, and return the exit code. What stdout
    still buffers goes to the null device, or the interpreter's last flush would fail again
    and print its own message."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            os.close(null)
    with contextlib.suppress(OSError, ValueError):  # stderr may be the full one
        typer.echo(f"error: cannot write the output: {exc.strerror or exc}", err=True)
    return EXIT_ENVIRONMENT


def _run() -> object:
    try:  # recent typer vendors click; older ones use the click package
        from typer._click import exceptions as cx  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # pragma: no cover - depends on the installed typer
        from click import exceptions as cx  # type: ignore[no-redef,unused-ignore]

    try:
        code = _invoked(sys.argv[1:])(standalone_mode=False)
    except cx.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
            typer.echo(exc.ctx.get_help())
            code = EXIT_OK
        else:
            typer.echo(f"error: {_said(exc.format_message(), sys.argv[1:])}", err=True)
            code = EXIT_BAD_INPUT
    except typer.Abort:  # pragma: no cover - interactive only
        code = 130
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        code = 130
    except OSError as exc:
        if exc.errno not in CANNOT_WRITE:
            raise
        code = _cannot_write(exc)
    return code


def _invoked(args: list[str]) -> typer.Typer:
    """The app with only the command `args` name, when they start with one: typer builds a
    click command of every registered one, signature and type hints read, at each start
    (~7 ms of the 11 commands), where one is run. Anything else (no command, an option first,
    a misspelt name) gets the whole app, so help and "No such command" are its own."""
    if not args:
        return app
    only = [c for c in app.registered_commands if c.name == args[0]]
    if not only:
        return app
    one = copy.copy(app)
    one.registered_commands = only
    return one


_WRONG_TYPE = r"Invalid value for '(--[a-z-]+)': Input should be a valid (integer|number)"
_KINDS = {"integer": "a whole number", "number": "a number"}


def _said(message: str, args: list[str]) -> str:
    """A flag of the wrong type as the other messages say it (rev13a #9: typer's wording, and
    not the value): "--samples: must be a whole number (got 'abc')"."""
    import re
    from itertools import pairwise

    from pricing.errors import printable

    m = re.match(_WRONG_TYPE, message)
    if m is None:
        return message
    flag, kind = m.groups()
    given = [a.split("=", 1)[1] for a in args if a.startswith(flag + "=")]
    given += [b for a, b in pairwise(args) if a == flag]
    got = f" (got '{printable(given[-1])[:40]}')" if given else ""
    return f"{flag}: must be {_KINDS[kind]}{got}"


if __name__ == "__main__":  # pragma: no cover
    main()
