"""The installed entry point turns click's usage errors into one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES

ENTRY = [sys.executable, "-c", "from estimator.cli import main; main()"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["quote"], "error: Missing argument 'FILE'."),
        (["quote", str(EXAMPLES / "split_auto.toml"), "--bogus"], "error: No such option: --bogus"),
        (  # rev13a #9: typer's own wording, without the value
            ["plan", str(EXAMPLES / "split_auto.toml"), "--samples", "abc"],
            "error: --samples: must be a whole number (got 'abc')",
        ),
        (
            ["train", "--model", "llama-3.1-8b", "--tokens=1e12x", "--accelerator", "h100-sxm"],
            "error: --tokens: must be a number (got '1e12x')",
        ),
        (
            ["quote", str(EXAMPLES / "split_auto.toml"), "--format", "xml"],
            "error: --format: 'xml' is not one of",
        ),
        (
            ["quote", str(EXAMPLES / "split_auto.toml"), "--as-of", "2025-13-01"],
            "error: --as-of: '2025-13-01' is not a date",
        ),
    ],
)
def test_usage_errors_are_one_line(args, message):
    out = subprocess.run([*ENTRY, *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), out.stderr


def test_help_exits_0():
    out = subprocess.run([*ENTRY, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "quote" in out.stdout
    bare = subprocess.run(ENTRY, capture_output=True, text=True, timeout=60)
    assert bare.returncode == 0 and "Usage" in bare.stdout


@pytest.mark.parametrize("command", [["quote"], ["plan"], ["sensitivity"], ["compare", "x.toml"]])
def test_an_empty_file_name_is_said(command):
    # review11a #17: `quote ''` read '.' and said "is a directory".
    out = subprocess.run([*ENTRY, *command, ""], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "an empty file name" in out.stderr, out.stderr


def test_a_check_of_two_flags_names_the_flags():
    # review11a #17: it named the scenario fields input_tokens_per_day, output_tokens_per_day.
    serve = ["serve", "--model", "llama-3.3-70b", "--accelerator", "h100-sxm"]
    out = subprocess.run([*ENTRY, *serve, "--input-tokens-per-day", "1e9"], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert out.returncode == 2
    assert "give both --input-tokens-per-day and --output-tokens-per-day" in out.stderr


def test_rmb_suggests_cny():
    args = ["quote", str(EXAMPLES / "split_auto.toml"), "--currency", "RMB"]
    out = subprocess.run([*ENTRY, *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "did you mean 'CNY'" in out.stderr


def test_help_paragraphs_wrap_at_the_terminal_not_at_the_source():
    # rev11c #17: typer kept the docstrings' line breaks, so at 80 columns every source line
    # left a ragged stub ("(shown in the" / "output) and its cost ...").
    import re

    from estimator.cli import app

    helps = [info.help for info in app.registered_commands if info.help]
    assert len(helps) >= 10
    for text in helps:
        assert not re.search(r"[^\n]\n[^\n]", text), text[:80]


def test_the_help_spells_monte_carlo_as_the_readme_does():
    # rev16b #11: `--samples` said "Monte-Carlo" in quote, plan and chart; README and DESIGN
    # say "Monte Carlo".
    from typer.testing import CliRunner

    from estimator.cli import app

    for command in (["quote"], ["plan"], ["chart", "uncertainty"]):
        text = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "300"}).output
        assert "Monte Carlo" in text and "Monte-Carlo" not in text, command


# The console script as pip writes it: `main` called by the file Python runs as the program.
PROGRAM = """import atexit, sys
from estimator.cli import main
atexit.register(lambda: print("atexit ran", file=sys.stderr))
sys.exit(main())
"""


@pytest.mark.parametrize(
    "args",
    [
        ["quote", str(EXAMPLES / "split_abroad_home.toml"), "-f", "json"],
        ["quote", str(EXAMPLES / "split_auto.toml"), "--format", "xml"],
        ["--version"],
    ],
)
def test_the_program_ends_as_main_called_from_elsewhere(tmp_path, args):
    # Run as the program, main ends without the interpreter's teardown (`_exit_now`): the
    # same output, errors and exit code as main called by a caller that may go on, and what
    # the program registered with atexit still runs.
    program = tmp_path / "splitcompute"
    program.write_text(PROGRAM)
    fast = subprocess.run(
        [sys.executable, str(program), *args], capture_output=True, text=True, timeout=120
    )
    usual = subprocess.run([*ENTRY, *args], capture_output=True, text=True, timeout=120)
    assert fast.returncode == usual.returncode
    assert fast.stdout == usual.stdout
    assert fast.stderr == usual.stderr + "atexit ran\n"


def test_the_program_run_by_a_relative_path_skips_the_teardown(tmp_path):
    # rev17b #9b: the program's file name is absolute in its code object while argv[0] stays
    # as typed, so `./splitcompute` took the usual (slow) exit. An object finalised in the
    # teardown says whether there was one.
    program = tmp_path / "splitcompute"
    program.write_text(
        "import sys\n"
        "class Teardown:\n"
        "    def __del__(self):\n"
        "        print('teardown ran', file=sys.stderr)\n"
        "witness = Teardown()\n" + PROGRAM
    )
    for path in (str(program), "./splitcompute"):
        ended = subprocess.run(
            [sys.executable, path, "--version"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert ended.returncode == 0 and "atexit ran" in ended.stderr, ended.stderr
        assert "teardown ran" not in ended.stderr, path
    # The witness does report a teardown where there is one (main called by `python -c`).
    usual = subprocess.run(
        [sys.executable, "-c", program.read_text(), "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "teardown ran" in usual.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
@pytest.mark.parametrize("run_as", ["program", "called"])
@pytest.mark.parametrize(
    "args", [["quote", str(EXAMPLES / "split_auto.toml")], ["--version"]], ids=["quote", "version"]
)
def test_output_that_cannot_be_written_is_one_line(tmp_path, run_as, args):
    # rev17b #15: `quote ... > /dev/full` printed a Python traceback (OSError ENOSPC), exit 1;
    # run as the program, the flush before the fast exit must fail as cleanly.
    program = tmp_path / "splitcompute"
    program.write_text(PROGRAM)
    command = [sys.executable, str(program)] if run_as == "program" else ENTRY
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*command, *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120
        )
    errors = [line for line in result.stderr.splitlines() if line != "atexit ran"]
    assert errors == ["error: cannot write the output: No space left on device"]
    assert result.returncode == 3


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_a_full_disk_behind_output_exits_3_as_on_stdout(tmp_path):
    # rev19b #5: `-o /dev/full --force` exited 2 ("bad input") where stdout's full disk exits 3,
    # as the README's exit codes say; a path that cannot be (no directory) stays bad input.
    args = ["quote", str(EXAMPLES / "split_auto.toml"), "-f", "json"]
    full = subprocess.run(
        [*ENTRY, *args, "-o", "/dev/full", "--force"], capture_output=True, text=True, timeout=120
    )
    assert full.returncode == 3 and full.stdout == ""
    assert full.stderr == "error: --output: cannot write /dev/full: No space left on device\n"
    nowhere = str(tmp_path / "missing" / "out.json")
    bad = subprocess.run(
        [*ENTRY, *args, "-o", nowhere], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")


IMPORT_PASSES = """import gc, py_compile, sys
from pathlib import Path
import estimator, typing  # the library package, and what Python itself may import first
# Compiling the package's own source (no byte code yet: a fresh clone under
# PYTHONDONTWRITEBYTECODE) runs before its first line can set the thresholds; an installed
# package has its byte code, as this makes it.
py_compile.compile(str(Path(estimator.__file__).parent / "cli" / "__init__.py"), doraise=True)
passes = []
gc.callbacks.append(lambda phase, info: phase == "start" and passes.append(info["generation"]))
gc.set_threshold(1000, 9, 9)
from estimator.cli import main
print(len(passes), gc.get_threshold(), gc.get_freeze_count())
"""


def test_the_command_line_imports_without_a_collector_pass():
    # What the command line imports before `main` runs (typer, the commands) made ~27 collector
    # passes at the caller's thresholds (~5 ms of every command, `--help` included); it is
    # imported without one, and the caller's thresholds are its own again after, nothing left
    # frozen.
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PASSES], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(maxsplit=1) == ["0", "(1000, 9, 9) 0\n"]


def test_no_model_field_has_a_builtin_default_factory():
    # pydantic reads a default factory's signature as it builds a model (does it take the data
    # validated so far?); `list`'s or `dict`'s is parsed from its text, and the first parse
    # compiles tokenize's patterns: ~2-4 ms of every quote and plan, before any work.
    import inspect

    from pydantic import BaseModel

    import estimator.report.plan_view
    import estimator.shock
    import estimator.uncertainty  # noqa: F401

    def models(cls: type) -> list[type]:
        return [m for sub in cls.__subclasses__() for m in (sub, *models(sub))]

    builtin = [
        f"{m.__name__}.{name}"
        for m in models(BaseModel)
        if m.__module__.startswith(("estimator", "pricing"))
        for name, field in m.model_fields.items()
        if inspect.isbuiltin(field.default_factory)
        or getattr(field.default_factory, "__module__", None) == "builtins"
    ]
    assert builtin == []


def test_the_scenario_result_and_view_models_are_annotated_with_objects():
    # pydantic evaluates a model's string annotations (`from __future__ import annotations`) one
    # by one as it builds the model, each compiled: ~4 ms of every command's imports over these
    # modules' ~320 fields. Written as objects, they are read as they are.
    import inspect

    from pydantic import BaseModel

    import estimator.frozen
    import estimator.report.plan_view
    import estimator.report.view
    import estimator.results
    import estimator.scenario

    modules = (estimator.frozen, estimator.results, estimator.scenario, estimator.report.view,
               estimator.report.plan_view)  # fmt: skip
    strings = [
        f"{m.__name__}.{name}.{field}"
        for m in modules
        for name, model in inspect.getmembers(m, inspect.isclass)
        if issubclass(model, BaseModel) and model.__module__ == m.__name__
        for field, annotation in vars(model).get("__annotations__", {}).items()
        if isinstance(annotation, str)
    ]
    assert strings == []


def test_a_quote_and_a_plan_do_not_build_the_estimate_view():
    # The `train` / `serve` view model is built by its commands (and `schema estimate`) only:
    # in `report.view`, every quote and plan built it (~1 ms of their imports).
    program = (
        "import sys, estimator.report.plan_view, estimator.report.view as v; "
        "print(hasattr(v, 'EstimateView'), 'estimator.report.estimate_view' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert out.stdout == "False False\n", out.stderr
