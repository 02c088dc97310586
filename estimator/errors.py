"""Typed errors of the estimator. The command line maps them to exit codes:
ScenarioError (bad input) -> 2, InfeasibleError (no answer exists) -> 1."""

from __future__ import annotations

from pricing.errors import CatalogError, SplitcomputeError, UnknownIdError

__all__ = [
    "CatalogError",
    "InfeasibleError",
    "ScenarioError",
    "SplitcomputeError",
    "UnknownIdError",
]


class ScenarioError(SplitcomputeError):
    """Bad input: a scenario file or an argument. `location` is 'file: field.path' or a flag."""

    def __init__(self, message: str, location: str | None = None) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}" if location else message)


class InfeasibleError(SplitcomputeError):
    """The input is well-formed but no answer exists (does not fit, target unreachable)."""

    def __init__(self, message: str, location: str | None = None) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}" if location else message)
