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


def _refuse(self: Any, name: object = None, *_: Any) -> None:
    what = f"'{name}' cannot be set" if isinstance(name, str) else "it cannot be changed"
    raise ScenarioError(f"{what}: {RESULTS_ARE_FROZEN}", type(self).__name__)


def sealed(cls: T, *mutators: str) -> T:
    """A frozen result class whose fields refuse to be set or deleted with the library's error,
    and so do its `mutators` (a list's append, sort...): a frozen dataclass (its own `__init__`
    sets its fields through `object.__setattr__`), or `sealed(Cls, "append", ...)`."""
    for name in ("__setattr__", "__delattr__", *mutators):
        setattr(cls, name, _refuse)
    return cls
