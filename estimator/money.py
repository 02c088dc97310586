"""Money: an amount with its currency.

A `Money` is a float (it adds, compares and goes into polars and JSON as a number; a quote's
amounts are sums of whole-cent line items), that knows its currency and prints with separators:

    >>> q.total
    Money(2018543713.29, 'CNY')
    >>> print(q.total)
    2,018,543,713.29 CNY
    >>> print(p.cost / p.output_tokens * 1e6)  # a price per million output tokens
    0.03603 USD

`str()` and `format(m)` print whole cents (whole yen), as the reports do, except for an amount
that is not whole cents (a price per unit worked out in a notebook), which prints as the
reports' prices per unit do (`costing.per_unit`): 4 significant figures, or whole cents where
those are finer (from 10 up; whole yen from 1,000 up). Whole cents would show 0.036 as 0.04
(rev16c M3), and whole yen 250.09 JPY as 250 where the report says 250.1 (rev18d #6).
`repr()` is exact, and so is `format(m, ".6f")`. The reports never print a `Money` this way:
they round their figures in the report layer.

The sum or difference of amounts in one currency (or of an amount and a plain number) is an
amount in that currency. So is an amount scaled by a plain number: `Money * number`, `number *
Money`, `Money / number` (and `//`, `%`, `divmod`, `round(m, n)`) stay `Money` in the same
currency, the number being any real number on the right (a float, an int, numpy's `np.int64` or
`np.float64`, a `Fraction`), so a
contingency (`1.1 * q.total`), a weight or a share keeps its currency and the guard below still
applies to it (rev16a #5: `usd_total + 1.1 * cny_total` returned USD, the CNY amount added as
if it were dollars). An amount divided by an amount in its currency is a plain float (a ratio:
`q1.total / q2.total`); in two currencies it raises. An amount times an amount has no meaning
(USD squared) and raises `TypeError`: multiply by `float(m)` to mean it. Other arithmetic
(powers, a number divided by an amount) gives plain floats. numpy's scalars on the left are
answered as on the right (`np.int64(3) * m` is Money, `np.float64(1) * cny + usd` raises:
rev17a #8, numpy answered them before Money was asked, dropping the currency), through
`Money.__array_ufunc__`; other ufuncs (`np.log(m)`) and arrays (`np.array([m1, m2])` holds
plain floats, whatever their currencies) give plain numbers.
`statistics.mean` of amounts raises `TypeError` (it rebuilds its result as `Money(value)`, with
no currency): `sum(amounts) / len(amounts)` is their mean in their currency, checked as `sum`
is. The sum of amounts in two currencies is not money until it is converted,
and the library never does that implicitly: adding, subtracting, dividing or ordering two
amounts in different currencies raises `CurrencyMismatchError` (a `TypeError`): `sum()` over
quotes in USD and CNY gave a meaningless number, and `max()` picked the larger figure, not the
larger amount (review9d #4). Amounts in different currencies are never equal.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from estimator.errors import CurrencyMismatchError, ScenarioError
from pricing.currencies import minor_units
from pricing.errors import shown

__all__ = ["CurrencyMismatchError", "Money"]  # the error lives in estimator.errors


class Money(float):
    """An amount in `currency` (ISO code), unrounded; `str()` and `format()` show whole cents,
    or for an amount that is not whole cents a price per unit as the reports show it
    (`_shown`). `+` is float addition: a total is its items added exactly (`costing.summed`),
    so `sum(p.cost for p in q.phases) + ...` can differ from `q.total` by a few 1e-7 (rev20b
    #8): compare such sums rounded to cents, or sum `q.line_items_frame()["amount"]`."""

    __slots__ = ("currency",)
    currency: str

    def __new__(cls, amount: float, currency: str) -> Money:
        if not (isinstance(currency, str) and len(currency) == 3 and currency.isascii()
                and currency.isalpha() and currency.isupper()):  # fmt: skip
            # review11b #18: Money(1, "usd") and Money(1, None) were amounts no quote matches.
            raise ScenarioError(
                f"{shown(currency)!r} is not a currency code (three capital letters: USD)",
                "currency",
            )
        value = super().__new__(cls, amount)
        value.currency = currency
        return value

    def __reduce__(self) -> tuple[type[Money], tuple[float, str]]:
        return Money, (float(self), self.currency)  # copy and pickle keep the currency

    @property
    def amount(self) -> float:
        """The amount as a plain float."""
        return float(self)

    def __str__(self) -> str:
        return f"{_shown(float(self), self.currency)} {self.currency}"

    def __repr__(self) -> str:
        return f"Money({float(self)!r}, {self.currency!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """A number in a model (its currency is the model's: `Quote` wraps its amounts once
        built), dumped as a plain number, so a field can say it is `Money` (review10b #6:
        annotated `float`, `q.total.currency` failed a user's type check)."""
        from pydantic_core import core_schema

        return core_schema.float_schema(
            serialization=core_schema.plain_serializer_function_ser_schema(float)
        )

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else format(float(self), spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Money) and other.currency != self.currency:
            return False
        return float(self) == other

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = float.__hash__  # equal amounts hash alike (a Money equal to a float stays so)

    def __neg__(self) -> Money:  # a refund, a difference turned round: still money
        return Money(-float(self), self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:  # rev12b #15: abs() and unary minus gave plain floats
        return Money(abs(float(self)), self.currency)

    def __mul__(self, other: float) -> Money:  # scaled by a number: the same currency
        if isinstance(other, Money):
            raise TypeError(
                f"cannot multiply {self} by {other}: an amount times an amount is not money "
                "(multiply by a plain number, float(amount), to mean it)"
            )
        return self._scaled(float.__mul__(float(self), _number(other)))

    __rmul__ = __mul__

    def __truediv__(self, other: float) -> Any:  # by a number: money; by money: a ratio
        if isinstance(other, Money):
            return _ratio(self, other, float.__truediv__, "divide")
        return self._scaled(float.__truediv__(float(self), _number(other)))

    def __floordiv__(self, other: float) -> Any:
        if isinstance(other, Money):
            return _ratio(self, other, float.__floordiv__, "divide")
        return self._scaled(float.__floordiv__(float(self), _number(other)))

    def __mod__(self, other: float) -> Money:  # what is left over is an amount either way
        if isinstance(other, Money):
            return self._scaled(_ratio(self, other, float.__mod__, "divide"))
        return self._scaled(float.__mod__(float(self), _number(other)))

    def __divmod__(self, other: float) -> Any:  # rev16c R4: as `//` and `%` are, not floats
        whole, left = self.__floordiv__(other), self.__mod__(other)
        if whole is NotImplemented or left is NotImplemented:
            return NotImplemented
        return whole, left

    def __round__(self, ndigits: Any = None) -> Any:  # round(m) is an int, as for a float
        if ndigits is None:
            return round(float(self))
        return Money(round(float(self), ndigits), self.currency)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """numpy's arithmetic and comparisons between scalars, one of them Money, as Python's
        operators on Money give them (numpy asks here first: `np.int64(3) * m` was a plain
        float, `np.float64(1) * cny + usd` added two currencies, rev17a #8). Anything else (an
        array, another ufunc, `out=`) on the plain amounts, as numpy gave it."""
        ops = _UFUNC_OPS.get(getattr(ufunc, "__name__", ""))
        if ops is not None and method == "__call__" and not kwargs and len(inputs) == 2:
            a, b = inputs
            if not (getattr(a, "ndim", 0) or getattr(b, "ndim", 0)):
                forward, reflected = ops
                if isinstance(a, Money):
                    out = getattr(a, forward)(_number(b))
                else:
                    out = getattr(b, reflected)(_number(a))
                if out is not NotImplemented:
                    return out
        plain = tuple(float(x) if isinstance(x, Money) else x for x in inputs)
        return getattr(ufunc, method)(*plain, **kwargs)

    def _scaled(self, out: float) -> Money:
        """A float result in this currency; anything else (NotImplemented: Python then asks
        the other operand) as it is."""
        if type(out) is not float:
            return out  # type: ignore[return-value]
        return Money(out, self.currency)

    if TYPE_CHECKING:  # set below by `_same_currency`; typed here so `a + b` reads as Money

        def __add__(self, other: float) -> Money: ...
        def __radd__(self, other: float) -> Money: ...
        def __sub__(self, other: float) -> Money: ...
        def __rsub__(self, other: float) -> Money: ...


# numpy's binary ufuncs that Money answers as its operators do (`Money.__array_ufunc__`): the
# method with Money on the left, and with Money on the right.
_UFUNC_OPS: dict[str, tuple[str, str]] = {
    "add": ("__add__", "__radd__"),
    "subtract": ("__sub__", "__rsub__"),
    "multiply": ("__mul__", "__rmul__"),
    "divide": ("__truediv__", "__rtruediv__"),
    "true_divide": ("__truediv__", "__rtruediv__"),
    "floor_divide": ("__floordiv__", "__rfloordiv__"),
    "remainder": ("__mod__", "__rmod__"),
    "less": ("__lt__", "__gt__"),
    "less_equal": ("__le__", "__ge__"),
    "greater": ("__gt__", "__lt__"),
    "greater_equal": ("__ge__", "__le__"),
    "equal": ("__eq__", "__eq__"),
    "not_equal": ("__ne__", "__ne__"),
}


def _number(other: Any) -> Any:
    """A real number other than a float or int (numpy's `np.int64(2)`, a `Fraction`) as a
    float, so `m * np.int64(2)` stays Money as `m * np.float64(2)` does (rev16c R4: float's own
    arithmetic refused it, and numpy's answered with a plain float); anything else as it is."""
    if isinstance(other, numbers.Real) and not isinstance(other, (float, int)):
        return float(other)
    return other


def _shown(amount: float, currency: str) -> str:
    """An amount as `str()` prints it: whole cents (the currency's minor unit: whole yen) for
    whole-cent amounts (every amount a quote holds); an amount that is not whole cents (a
    price per unit a notebook works out, `p.cost / p.output_tokens * 1e6`) as the report
    shows a price per unit (`costing.per_unit_text`, the one rule): 4 significant figures, or
    whole cents where those are finer, so 0.03603, where cents read 0.04 (rev16c M3; 16% off
    is rev15a #10's error), and 250.1 JPY as the report's per-million column (rev18d #6)."""
    if not math.isfinite(amount):  # nan, inf: as printed before (rev16d R2: round(nan) raised)
        return f"{amount:,.2f}"
    places = minor_units(currency)  # whole yen (rev18a #10)
    units = amount * 10**places
    if abs(units - round(units)) <= 1e-9 * max(1.0, abs(units)):
        return f"{amount:,.{places}f}"
    from estimator.costing import per_unit_text

    return per_unit_text(amount, currency)


def _ratio(a: Money, b: Money, op: Callable[[float, float], Any], verb: str) -> Any:
    """`op` on two amounts' plain values, refused across currencies."""
    if a.currency != b.currency:
        raise CurrencyMismatchError(
            f"cannot {verb} {a} by {b}: convert one to the other's currency first"
        )
    return op(float(a), float(b))


def _same_currency(op: Callable[[float, Any], Any], verb: str) -> Callable[[Money, Any], Any]:
    """`op` on the plain amounts, refused for two amounts in different currencies. A sum or a
    difference is an amount in the same currency (so `sum()` of totals keeps it, and checks
    every term); a comparison is a bool."""

    def method(self: Money, other: Any) -> Any:
        if isinstance(other, Money) and other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot {verb} {self} and {other}: convert one to the other's currency first"
            )
        out = op(float(self), _number(other))
        return Money(out, self.currency) if verb != "compare" and type(out) is float else out

    method.__name__ = op.__name__
    return method


for _name, _verb in (
    ("__add__", "add"),
    ("__radd__", "add"),
    ("__sub__", "subtract"),
    ("__rsub__", "subtract"),
    ("__lt__", "compare"),
    ("__le__", "compare"),
    ("__gt__", "compare"),
    ("__ge__", "compare"),
):
    setattr(Money, _name, _same_currency(getattr(float, _name), _verb))
