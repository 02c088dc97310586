from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pricing import Catalog, load_catalog

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture(scope="session", autouse=True)
def _cache_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The catalog cache of a test run is its own (never the user's ~/.cache), so the first
    load of the session parses and validates the embedded CSV files."""
    import os

    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite tests/golden/* from the current output instead of comparing.",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Compare text with tests/golden/NAME (or rewrite it with --update-golden)."""
    update = request.config.getoption("--update-golden")

    def _check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update or not path.exists():
            if not update:
                pytest.fail(f"missing golden file {path}: run pytest --update-golden")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            import difflib

            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=f"golden/{name}",
                    tofile="now",
                    n=2,
                )
            )
            pytest.fail(f"output differs from golden/{name} (pytest --update-golden):\n{diff}")

    return _check


EXAMPLES = ROOT / "examples"

# A serving phase that buys H200 in China for a July start (rules and supply on purchases).
BUY_H200 = """
name = "Buy H200 in China before a ban"
as_of = 2026-03-01
currency = "CNY"

[model]
preset = "qwen3-235b-a22b"

[[phases]]
name = "serve"
kind = "serve"
days = 365
input_tokens_per_day = 1e10
output_tokens_per_day = 2e9
tpot_ms = 50
precision = "fp8"
start = 2026-07-01
site = { region = "cn-west", accelerator = "h200", pricing = "owned" }
"""


FROZEN_CATALOG = Path(__file__).resolve().parent / "fixtures" / "catalog"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Catalog:
    """The embedded catalog replaced by a frozen copy (tests/fixtures/catalog), so golden
    outputs change when the code changes, not when the data is updated."""
    import pricing.catalog

    monkeypatch.setattr(pricing.catalog, "EMBEDDED_DIR", FROZEN_CATALOG)
    return load_catalog()


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # Pin the terminal so table output is reproducible.
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("SPLITCOMPUTE_CATALOG", raising=False)
    monkeypatch.delenv("SPLITCOMPUTE_DEBUG", raising=False)
    return CliRunner()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a small file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip("\n"), encoding="utf-8")
        return path

    return _write
