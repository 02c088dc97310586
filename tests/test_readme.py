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
def test_readme_command_runs(runner, monkeypatch, command):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    if "--samples" in args:  # keep the suite quick: same code path, fewer draws
        args[args.index("--samples") + 1] = "500"
    result = runner.invoke(app, args)
    assert result.exit_code == EXPECTED_EXIT.get(command, 0), result.output
    assert result.stdout.strip()
