"""Every `splitcompute ...` command shown in the README runs (documented examples stay true)."""

from __future__ import annotations

import re
import shlex

import pytest

from estimator.cli import app
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
COMMANDS = [
    line.split("#")[0].strip()
    for block in BLOCKS
    for line in block.splitlines()
    if line.strip().startswith("splitcompute ")
]
# Commands documented to fail on purpose, with their exit code.
EXPECTED_EXIT = {"splitcompute quote examples/all_abroad.toml --strict": 1}


def test_readme_has_commands():
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs(runner, monkeypatch, tmp_path, command):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    if "--samples" in args:  # keep the suite quick: same code path, fewer draws
        args[args.index("--samples") + 1] = "500"
    written = None
    if "-o" in args:  # files go to a temporary directory, not the checkout
        at = args.index("-o") + 1
        written = args[at] = str(tmp_path / args[at])
    result = runner.invoke(app, args)
    assert result.exit_code == EXPECTED_EXIT.get(command, 0), result.output
    if written is None:
        assert result.stdout.strip()
    else:
        assert (tmp_path / written).stat().st_size > 1000


def test_readme_library_example_runs(monkeypatch, tmp_path):
    (code,) = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    monkeypatch.chdir(tmp_path)  # the example saves a chart in the working directory
    code = code.replace('"examples/', f'"{ROOT}/examples/')
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "deadline.svg").read_text(encoding="utf-8").startswith("<svg")


def test_readme_says_what_the_current_schema_version_changed():
    # rev15e #3: the README's schema-6 note left out `fleet[].book_value_currency`, which the
    # version comment lists, and said "4 significant figures" of a figure in whole cents from
    # 10 up (`costing.per_unit`).
    from pathlib import Path

    from estimator import costing
    from estimator.report import view

    source = Path(view.__file__).read_text(encoding="utf-8")
    version = view.SCHEMA_VERSION
    note = source[source.index(f'# "{version}"') : source.index("SCHEMA_VERSION = ")]
    said = README[README.index(f"`schema_version` {int(version) - 1} added") :]
    said = said[: said.index("How money is computed")]
    for name in re.findall(r"`([^`]+)`", note):
        assert f"`{name}`" in said, name
    assert "4 significant figures below 10 and in whole cents from 10" in " ".join(said.split())
    assert [costing.per_unit(x) for x in (0.025934, 1.23456, 123.456)] == [0.02593, 1.235, 123.46]
