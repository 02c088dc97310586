"""Seeded fuzzing through the command line (issue 14): mutated examples and catalog tables must
end with exit 0, 1 or 2, no traceback, a short clean error or strict JSON, and untouched inputs.
`python benchmarks/fuzz.py --cases 5000` runs the same cases longer."""

from __future__ import annotations

import pytest

from estimator.cli import app
from tests.fuzzing import TABLES, check, scenario_case, table_case

SCENARIO_CASES = 160
TABLE_CASES = 12 * len(TABLES)


@pytest.mark.parametrize("seed", range(SCENARIO_CASES))
def test_mutated_scenario(runner, tmp_path, seed):
    case = scenario_case(seed, tmp_path)
    assert check(runner, case)[1] is None, case.what


@pytest.mark.parametrize("seed", range(TABLE_CASES))
def test_mutated_catalog_table(runner, tmp_path, seed):
    case = table_case(seed, tmp_path)
    assert check(runner, case)[1] is None, case.what


def test_a_table_where_a_fleet_name_belongs_is_a_clean_error(runner, tmp_path):
    # Found by seed 75 after `site = { fleet = NAME }` learnt to look fleets up by name: a
    # table as a fleet's name was used as a dict key and raised a traceback.
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "s"\nas_of = 2025-11-27\ncurrency = "USD"\n[model]\npreset = "llama-3.1-8b"\n'
        '[[fleet]]\nname = { nested = "f" }\nregion = "cn-east"\naccelerator = "h800"\n'
        'devices = 64\n[[phases]]\nname = "p"\ntokens = 1e9\ndevices = 8\n'
        'site = { fleet = { nested = "f" } }\n'
    )
    result = runner.invoke(app, ["quote", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "fleet" in result.stderr
