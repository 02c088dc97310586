"""splitcompute's estimator: scenarios, workload physics, costing, rules, quotes and plans.

    from estimator import load_scenario, quote, plan, compare
    from pricing import load_catalog

Layers (imports point down only; see each module's docstring):
    cli/ -> report/ -> api -> plan, shock, uncertainty -> quoting -> evaluate -> findings,
    costing, compliance, transfers -> options, context -> physics/ -> scenario -> pricing

Names are imported on first use so that `import estimator` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from estimator.api import Comparison, compare, plan, quote
    from estimator.scenario import Scenario, load_scenario, parse_scenario

_EXPORTS = {
    "load_scenario": "estimator.scenario",
    "parse_scenario": "estimator.scenario",
    "Scenario": "estimator.scenario",
    "quote": "estimator.api",
    "plan": "estimator.api",
    "compare": "estimator.api",
    "Comparison": "estimator.api",
}

__all__ = ["Comparison", "Scenario", "compare", "load_scenario", "parse_scenario", "plan", "quote"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'estimator' has no attribute {name!r}")
