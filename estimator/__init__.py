"""splitcompute's estimator: scenarios, workload physics, costing, rules, quotes and plans.

    from estimator import load_scenario, quote, compare
    from pricing import load_catalog

Names are imported on first use so that `import estimator` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from estimator.quoting import compare, quote
    from estimator.scenario import Scenario, load_scenario, parse_scenario

_EXPORTS = {
    "load_scenario": "estimator.scenario",
    "parse_scenario": "estimator.scenario",
    "Scenario": "estimator.scenario",
    "quote": "estimator.quoting",
    "compare": "estimator.quoting",
}

__all__ = ["Scenario", "compare", "load_scenario", "parse_scenario", "quote"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'estimator' has no attribute {name!r}")
