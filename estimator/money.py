"""Money: an amount with its currency.

A `Money` is a float (it adds, compares and goes into polars and JSON as a number; a quote's
amounts are sums of whole-cent line items), that knows its currency and prints with separators:

    >>> q.total
    Money(1999074806.66, 'CNY')
    >>> print(q.total)
    1,999,074,806.66 CNY

Arithmetic gives plain floats: the sum of amounts in two currencies is not money until it is
converted, and the library never does that implicitly.
"""

from __future__ import annotations


class Money(float):
    """An amount in `currency` (ISO code), unrounded; `str()` and `format()` show cents."""

    __slots__ = ("currency",)
    currency: str

    def __new__(cls, amount: float, currency: str) -> Money:
        value = super().__new__(cls, amount)
        value.currency = currency
        return value

    def __reduce__(self) -> tuple[type[Money], tuple[float, str]]:
        return Money, (float(self), self.currency)  # copy and pickle keep the currency

    @property
    def amount(self) -> float:
        """The amount as a plain float."""
        return float(self)

    def rounded(self) -> float:
        """The amount in whole cents, as shown."""
        return round(float(self) + 0.0, 2)

    def __str__(self) -> str:
        return f"{float(self):,.2f} {self.currency}"

    def __repr__(self) -> str:
        return f"Money({float(self)!r}, {self.currency!r})"

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else format(float(self), spec)
