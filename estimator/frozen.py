"""Frozen values that say so as the library's error: pydantic's "Instance is frozen" is a
ValidationError and a frozen dataclass raises FrozenInstanceError, both of which
`except SplitcomputeError` (the library's one error type) missed. `how_to_change` says what to
do instead."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from estimator.errors import ScenarioError

RESULTS_ARE_FROZEN = (
    "results are frozen; quote a changed scenario (Scenario.with_changes), or add "
    "assumptions with Quote.assuming"
)


class Frozen(BaseModel):
    """A model whose fields cannot be set (a scenario and its parts, a quote and its parts)."""

    model_config = ConfigDict(frozen=True)
    how_to_change: ClassVar[str] = "it is frozen"

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            super().__setattr__(name, value)
            return
        raise ScenarioError(f"'{name}' cannot be set: {self.how_to_change}", type(self).__name__)

    def __delattr__(self, name: str) -> None:  # review10c #8: pydantic's own error otherwise
        raise ScenarioError(f"'{name}' cannot be set: {self.how_to_change}", type(self).__name__)


class ResultPart(Frozen):
    """A part of a result (a phase's quote, a line item, a finding, a month of cash flow)."""

    how_to_change: ClassVar[str] = RESULTS_ARE_FROZEN


T = TypeVar("T", bound=type)


def sealed(cls: T) -> T:
    """A frozen dataclass of results whose fields refuse to be set or deleted with the
    library's error (its own `__init__` sets them through `object.__setattr__`)."""

    def refuse(self: Any, name: str, *_: Any) -> None:
        raise ScenarioError(f"'{name}' cannot be set: {RESULTS_ARE_FROZEN}", type(self).__name__)

    setattr(cls, "__setattr__", refuse)  # noqa: B010 (a method, set on the class)
    setattr(cls, "__delattr__", refuse)  # noqa: B010
    return cls
