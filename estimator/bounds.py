"""Physically meaningful ranges of scenario numbers, declared once on each field.

`Annotated[float, Range(0, 1e17, low_open=True)]` makes pydantic check that the number is
finite and in range, publishes the bounds in the JSON Schema (`splitcompute schema`), and says
the whole range when a value falls outside it ("must be > 0 and <= 1e+17"). Flags of `train`
and `serve` become scenario fields, so they are checked by the same declarations.

Upper bounds keep every product of the physics and the money far from float overflow and int64
device counts; lower bounds on what divides (a deadline, an efficiency, a latency target) keep
quotients finite. They are generous: they catch a wrong unit or a typo, not a big plan.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, ValidationError
from pydantic_core import PydanticCustomError, core_schema

from estimator import defaults
from pricing.errors import describe_range

_RANGE_ERRORS = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "finite_number",
    "int_parsing_size",  # an integer field given 1e30
}

# Named limits shared by several fields.
MAX_TOKENS = 1e17  # ~100x the largest published pretraining run
MAX_DAYS = 36_500.0  # a century
MIN_DAYS = 0.01  # a quarter of an hour: below it a plan is noise, and 1/days overflows
MAX_DEVICES = 10_000_000
MAX_PARAMS = 1e15
MAX_LEN = 10_000_000  # tokens in one request or sequence
# The training sequence length when none is given: a scenario's global batch is checked
# against it (named in `estimator.defaults`).
DEFAULT_SEQ_LEN = defaults.DEFAULT_SEQ_LEN


@dataclass(frozen=True)
class Range:
    """The closed range [low, high], or (low, high] with `low_open`."""

    low: float
    high: float
    low_open: bool = False

    @property
    def text(self) -> str:
        if self.low_open:
            return describe_range(self.low, None, self.high)
        return describe_range(None, self.low, self.high)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        kind = handler(source).get("type")
        gt = self.low if self.low_open else None
        ge = None if self.low_open else self.low
        inner: core_schema.CoreSchema
        if kind == "float":
            inner = core_schema.float_schema(gt=gt, ge=ge, le=self.high, allow_inf_nan=False)
        elif kind == "int":
            inner = core_schema.int_schema(
                gt=None if gt is None else int(gt),
                ge=None if ge is None else int(ge),
                le=int(self.high),
            )
        else:
            raise TypeError(f"Range applies to float or int fields, not {kind}")
        whole = kind == "int"
        return core_schema.no_info_wrap_validator_function(
            lambda value, handler: self._check(value, handler, whole), inner
        )

    def _check(
        self, value: Any, handler: core_schema.ValidatorFunctionWrapHandler, whole: bool = False
    ) -> Any:
        if as_bool(value) is not None:  # lax mode reads true as 1: `tokens = true` was 1 token
            raise PydanticCustomError("bool_number", "must be a number, not true or false")
        if isinstance(value, str):  # lax mode read `tokens = "5e10"` as 5e10 (rev18a #8)
            number = _number(value)
            meant = number is not None and (not whole or number.is_integer())
            raise text_given(value, "a whole number" if whole else "a number", meant)
        try:
            return handler(value)
        except ValidationError as exc:
            if exc.errors()[0]["type"] not in _RANGE_ERRORS:
                raise
            finite = "a finite number " if exc.errors()[0]["type"] == "finite_number" else ""
            raise PydanticCustomError(
                "out_of_range", "must be {finite}{range}", {"finite": finite, "range": self.text}
            ) from None


def as_bool(value: Any) -> bool | None:
    """`value` as a Python bool when it is a boolean: a bool, or numpy's (`np.bool_`, a 0-d
    boolean array, as polars and pandas give theirs through numpy); None for anything else.
    rev18d #7: `with_changes` refused np.bool_(True) for a boolean field ("must be true or
    false (got True)") and a number field read it as 1, while numpy's numbers pass as numbers."""
    if isinstance(value, bool):
        return value
    dtype = getattr(value, "dtype", None)
    if getattr(dtype, "kind", None) == "b" and getattr(value, "shape", None) == ():
        return bool(value)
    return None


# A number as JSON writes it, which TOML and YAML (1.2, and ours: `scenario_file._yaml_loader`)
# read as the same number.
_EVERY_FORMAT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def _number(text: str) -> float | None:
    """The finite number `text` spells, as every file format reads it without quotes (rev18d
    #8: "did you mean .5e2, without quotes?" answered YAML that had none; `_1` and `09` are
    text unquoted too)."""
    if not _EVERY_FORMAT.fullmatch(text.strip()):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def text_given(value: str, what: str, meant: bool) -> PydanticCustomError:
    """A text value where a number or a boolean belongs, as an error that suggests the value
    without its quotes when the text spells one (`meant`). rev18a #8: pydantic's lax mode read
    `disaggregated = "no"` as false and `tokens = "5e10"` as a number, in every format."""
    hint = f": did you mean {value.strip()}, without quotes?" if meant else ""
    return PydanticCustomError("text_given", "must be {what}{hint}", {"what": what, "hint": hint})
