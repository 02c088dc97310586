"""The fuzz test of issue 14, longer: `python benchmarks/fuzz.py --cases 5000 [--start 0]`.

Runs mutated example scenarios and catalog tables (tests/fuzzing.py: the same cases as
tests/test_fuzz.py, which runs the first few hundred) through the command line and prints each
case that fails, with its seed to reproduce it, then the count of exit codes per kind. Exits 1
if any case failed. Never imported by the tests.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from typer.testing import CliRunner

from tests.fuzzing import check, scenario_case, table_case


def main() -> int:
    parser = argparse.ArgumentParser(description="Fuzz the command line (issue 14).")
    parser.add_argument("--cases", type=int, default=2000, help="cases of each kind")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    args = parser.parse_args()
    runner = CliRunner()
    codes: collections.Counter[str] = collections.Counter()
    failed = 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.start, args.start + args.cases):
            for kind, make in (("scenario", scenario_case), ("table", table_case)):
                case_dir = Path(tmp) / f"{kind}{seed}"
                case_dir.mkdir()
                case = make(seed, case_dir)
                code, problem = check(runner, case)
                codes[f"{kind} exit {code}"] += 1
                if problem:
                    failed += 1
                    print(f"FAIL {kind} {case.what}: {problem}", flush=True)
    elapsed = time.perf_counter() - start
    print(f"{sum(codes.values()):,} cases in {elapsed:.0f} s, {failed} failed")
    print(", ".join(f"{k}: {v:,}" for k, v in sorted(codes.items())))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
