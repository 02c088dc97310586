"""Seeded fuzzing through the command line (issue 14): mutated examples and catalog tables must
end with exit 0, 1 or 2, no traceback, a short clean error or strict JSON, and untouched inputs.
`python benchmarks/fuzz.py --cases 5000` runs the same cases longer."""

from __future__ import annotations

import pytest

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
