"""Frozen values that say so as the library's error: pydantic's "Instance is frozen" is a
ValidationError and a frozen dataclass raises FrozenInstanceError, both of which
`except SplitcomputeError` (the library's one error type) missed. `how_to_change` says what to
do instead."""

# Annotations are objects here, not `from __future__ import annotations` strings: pydantic
# evaluates a model's string annotations one by one as it builds the model (each compiled),
# ~4 ms of every command's imports over the scenario, result and view models. A name defined
# further down, or for type checkers only, is quoted.
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NoReturn, Self, TypeVar

from pydantic import BaseModel, ConfigDict

from estimator.errors import ScenarioError

RESULTS_ARE_FROZEN = (
    "results are frozen; quote a changed scenario (Scenario.with_changes), or add "
    "assumptions with Quote.assuming"
)


class Frozen(BaseModel):
    """A model whose fields cannot be set (a scenario and its parts, a quote and its parts),
    nor its lists and dicts changed in place: they are sealed (`SealedList`, `SealedDict`) once
    it is built or copied with `_replaced` (review11b #3: `q.findings.clear()`
    unblocked a quote; sorting a plan's phases changed its percentiles). A validator of a
    subclass that sets a field after it is built seals the value itself (`seal`)."""

    model_config = ConfigDict(frozen=True)
    how_to_change: ClassVar[str] = "it is frozen"

    def model_post_init(self, context: Any, /) -> None:
        # Not a model validator: that would name itself in the error paths of unions.
        self._seal(self.__dict__)

    def _seal(self, fields: Mapping[str, Any]) -> None:
        for name in list(fields):  # `fields` may be the __dict__ it sets
            value = self.__dict__.get(name)
            if type(value) in (list, dict):
                object.__setattr__(self, name, seal(value, self.how_to_change))

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy. `update=` is refused: pydantic sets the fields unchecked (rev12b #14: a Quote
        with an int total and currency XYZ under CNY figures); `how_to_change` says how."""
        if update:
            raise ScenarioError(
                f"model_copy(update=...) skips its checks: {self.how_to_change}",
                type(self).__name__,
            )
        return super().model_copy(deep=deep)

    def copy(self, *_: Any, **__: Any) -> NoReturn:
        """pydantic v1's copy (its `update=` unchecked as model_copy's): refused."""
        raise ScenarioError(
            f"copy() is pydantic v1's and skips its checks: use model_copy(); {self.how_to_change}",
            type(self).__name__,
        )

    def _replaced(self, update: Mapping[str, Any]) -> Self:
        """A copy with fields replaced, unchecked: how the library builds one result from
        another (it checks the values where it makes them). Not for library callers: a
        result's figures depend on each other (`Quote.assuming` adds assumptions)."""
        out = super().model_copy(update=update)
        out._seal(update)
        return out

    def __dir__(self) -> list[str]:  # pydantic v1's names, deprecated, are not offered
        return [n for n in super().__dir__() if n not in _PYDANTIC_V1]

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            super().__setattr__(name, value)
            return
        raise ScenarioError(f"'{name}' cannot be set: {self.how_to_change}", type(self).__name__)

    def __delattr__(self, name: str) -> None:  # review10c #8: pydantic's own error otherwise
        raise ScenarioError(f"'{name}' cannot be set: {self.how_to_change}", type(self).__name__)


# pydantic v1's methods, kept (deprecated) by pydantic v2 on every model (rev12b #14).
_PYDANTIC_V1 = frozenset({"copy", "dict", "json", "parse_obj", "parse_raw", "parse_file",
                          "from_orm", "construct", "schema", "schema_json", "validate",
                          "update_forward_refs"})  # fmt: skip


def empty_list() -> list[Any]:
    """A list field's `default_factory`. pydantic reads a factory's signature (does it take the
    data validated so far?) as it builds the model, and `list`'s or `dict`'s is parsed from its
    text: the first such parse compiles `tokenize`'s patterns, ~2 ms of every command's imports
    for a dozen fields. A function's signature is read directly."""
    return []


def empty_dict() -> dict[str, Any]:
    """A dict field's `default_factory` (see `empty_list`)."""
    return {}


class ResultPart(Frozen):
    """A part of a result (a phase's quote, a line item, a finding, a month of cash flow)."""

    how_to_change: ClassVar[str] = RESULTS_ARE_FROZEN


T = TypeVar("T", bound=type)


def _refusal(method: str) -> Callable[..., NoReturn]:
    def refuse(self: Any, *_: Any, **__: Any) -> NoReturn:
        how = getattr(self, "how_to_change", RESULTS_ARE_FROZEN)
        raise ScenarioError(f"'{method}' cannot change it: {how}", type(self).__name__)

    refuse.__name__ = method
    return refuse


def _refuse(self: Any, name: object = None, *_: Any) -> None:
    what = f"'{name}' cannot be set" if isinstance(name, str) else "it cannot be changed"
    how = getattr(self, "how_to_change", RESULTS_ARE_FROZEN)
    raise ScenarioError(f"{what}: {how}", type(self).__name__)


def sealed(cls: T, *mutators: str) -> T:
    """A frozen result class whose fields refuse to be set or deleted with the library's error,
    and so do its `mutators` (a list's append, sort...): a frozen dataclass (its own `__init__`
    sets its fields through `object.__setattr__`), or `sealed(Cls, "append", ...)`."""
    for name in ("__setattr__", "__delattr__"):
        setattr(cls, name, _refuse)
    for name in mutators:
        setattr(cls, name, _refusal(name))
    return cls


LIST_MUTATORS = ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend",
                 "insert", "pop", "remove", "clear", "sort", "reverse")  # fmt: skip
DICT_MUTATORS = ("__setitem__", "__delitem__", "__ior__", "clear", "pop", "popitem",
                 "setdefault", "update")  # fmt: skip

V = TypeVar("V")


class SealedList(list[V]):
    """A list inside a result or a scenario: read, index, slice, compare with a list and hash;
    changing it in place raises `ScenarioError` saying how to change its owner. Pickles and
    copies as itself (pickle's default rebuilds a list subclass with `append`)."""

    __slots__ = ("how_to_change",)
    how_to_change: str

    def __init__(self, items: Any = (), how_to_change: str = RESULTS_ARE_FROZEN) -> None:
        super().__init__(items)
        object.__setattr__(self, "how_to_change", how_to_change)

    def __reduce__(self) -> tuple[Any, ...]:
        return SealedList, (list(self), self.how_to_change)

    def __hash__(self) -> int:  # type: ignore[override]  # a frozen model hashes its fields
        return hash(tuple(self))


class SealedDict(dict[Any, V]):
    """A dict inside a result (assumptions, physics, a month's amounts): as `SealedList`."""

    __slots__ = ("how_to_change",)
    how_to_change: str

    def __init__(self, items: Any = (), how_to_change: str = RESULTS_ARE_FROZEN) -> None:
        super().__init__(items)
        object.__setattr__(self, "how_to_change", how_to_change)

    def __reduce__(self) -> tuple[Any, ...]:
        return SealedDict, (dict(self), self.how_to_change)

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


sealed(SealedList, *LIST_MUTATORS)
sealed(SealedDict, *DICT_MUTATORS)


def seal(value: Any, how_to_change: str = RESULTS_ARE_FROZEN) -> Any:
    """`value` with every list and dict in it (at any depth) sealed; other values as they are
    (a model inside is sealed when it is built; a list of its own kind, as `Sampled`, too)."""
    if type(value) is list:
        return SealedList([seal(v, how_to_change) for v in value], how_to_change)
    if type(value) is dict:
        return SealedDict({k: seal(v, how_to_change) for k, v in value.items()}, how_to_change)
    return value
