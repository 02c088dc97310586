"""splitcompute's estimator: scenarios, workload physics, costing, rules, quotes and plans.

    from estimator import load_scenario, quote, plan, compare, sweep, what_if
    q = quote("examples/split_abroad_home.toml")   # a path, or a Scenario
    print(q.total)                                 # Money, e.g. 2,018,543,713.29 CNY
    q.phases_frame(); plan("examples/split_auto.toml").to_polars()
    chart(q, "cost").save("cost.svg")              # needs the charts extra

Errors are in one public module, `estimator.errors` (also importable from here): every error
is a `SplitcomputeError`; `ScenarioError` = bad input, `CatalogError` = bad catalog,
`InfeasibleError` = no answer exists (`NoPlacementError`: no option of a phase is allowed),
`CurrencyMismatchError` = amounts in two currencies mixed, `MissingExtraError` = an optional
dependency (the charts or yaml extra) not installed.

Layers (imports point down only, checked by tests/test_readme.py; see each module's docstring
and DESIGN.md's module map):
    cli/ -> report/ -> api -> shock -> planner, uncertainty (-> curve) -> quoting -> evaluate
    -> transfers -> findings -> checks -> context -> market -> options, compliance, costing
    -> physics/ -> scenario -> pricing

Names are imported on first use so that `import estimator` stays cheap.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from estimator.api import (
        Comparison,
        compare,
        percentiles,
        plan,
        quote,
        sensitivity,
        sweep,
        what_if,
    )
    from estimator.errors import (
        CatalogError,
        CurrencyMismatchError,
        InfeasibleError,
        MissingExtraError,
        NoPlacementError,
        ScenarioError,
        SplitcomputeError,
        UnknownIdError,
    )
    from estimator.money import Money
    from estimator.planner import Plan
    from estimator.report.charts import chart
    from estimator.report.text import as_json
    from estimator.results import Quote
    from estimator.scenario import Scenario, ServePhase, TrainPhase
    from estimator.scenario_file import load_scenario, parse_scenario
    from estimator.shock import ShockResult

_EXPORTS = {
    "load_scenario": "estimator.scenario_file",
    "parse_scenario": "estimator.scenario_file",
    "Scenario": "estimator.scenario",
    "TrainPhase": "estimator.scenario",
    "ServePhase": "estimator.scenario",
    "quote": "estimator.api",
    "plan": "estimator.api",
    "compare": "estimator.api",
    "Comparison": "estimator.api",
    "sweep": "estimator.api",
    "percentiles": "estimator.api",
    "sensitivity": "estimator.api",
    "what_if": "estimator.api",
    "ShockResult": "estimator.shock",
    "Quote": "estimator.results",
    "Plan": "estimator.planner",
    "Money": "estimator.money",
    "CurrencyMismatchError": "estimator.errors",
    "NoPlacementError": "estimator.errors",
    "chart": "estimator.report.charts",
    "as_json": "estimator.report.text",
    "SplitcomputeError": "estimator.errors",
    "ScenarioError": "estimator.errors",
    "InfeasibleError": "estimator.errors",
    "MissingExtraError": "estimator.errors",
    "CatalogError": "estimator.errors",
    "UnknownIdError": "estimator.errors",
}

__all__ = [
    "CatalogError",
    "Comparison",
    "CurrencyMismatchError",
    "InfeasibleError",
    "MissingExtraError",
    "Money",
    "NoPlacementError",
    "Plan",
    "Quote",
    "Scenario",
    "ScenarioError",
    "ServePhase",
    "ShockResult",
    "SplitcomputeError",
    "TrainPhase",
    "UnknownIdError",
    "as_json",
    "chart",
    "compare",
    "load_scenario",
    "parse_scenario",
    "percentiles",
    "plan",
    "quote",
    "sensitivity",
    "sweep",
    "what_if",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'estimator' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The names imported on first use, too: `dir()` and a REPL's completion listed none
    # (review11b #13).
    # The API and the submodules already loaded, not the imports this file uses (rev11c #16).
    own = {n for n in globals() if n.startswith("__") or n in __all__}
    loaded = {n for n, v in globals().items() if isinstance(v, type(sys))} - {"importlib", "sys"}
    return sorted({*own, *__all__, *loaded})
