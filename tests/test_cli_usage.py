"""The installed entry point turns click's usage errors into one line and exit 2."""

from __future__ import annotations

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
        (
            ["plan", str(EXAMPLES / "split_auto.toml"), "--samples", "abc"],
            "error: Invalid value for '--samples'",
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
