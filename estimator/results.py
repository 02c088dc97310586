"""What a quote returns: `Quote`, its `PhaseQuote`s and the `OfferUsed` of each, with frames.

Each line item's amount is in whole cents, as billed (`costing.cents`); totals and phase costs
are their sums, as `Money` (a float that knows its currency and prints in cents), so a total is
the same to the cent here and in every report. Physics figures (device-hours, days) are
unrounded; the report layer rounds them for display.
"""

# Annotations are objects here, not `from __future__ import annotations` strings: pydantic
# evaluates a model's string annotations one by one as it builds the model (each compiled),
# ~4 ms of every command's imports over the scenario, result and view models. A name defined
# further down, or for type checkers only, is quoted.
import math
from datetime import date
from typing import Any, ClassVar, Literal

import polars as pl
from pydantic import BaseModel, Field, model_validator

from estimator.costing import LineItem, per_unit
from estimator.errors import ScenarioError
from estimator.findings import Finding
from estimator.frozen import RESULTS_ARE_FROZEN, Frozen, ResultPart, empty_list, seal
from estimator.money import Money
from estimator.physics.formulas import SECONDS_PER_DAY
from estimator.timeline import Month
from estimator.transfers import TransferQuote


class OfferUsed(ResultPart):
    """The catalog row a phase is priced at."""

    provider: str
    instance: str
    pricing: str
    region: str
    basis: str
    """published, reported, estimate, derived or negotiated (pricing/data/README.md)."""
    as_of: date
    """The date the row's figure was valid."""
    source: str
    evidence: str | None
    """listed / sku / reported (rented offers); None for bought hardware."""


class PhaseQuote(ResultPart):
    """One phase placed and priced: `cost` is the sum of its line items."""

    name: str
    kind: Literal["train", "serve"]
    region: str
    country: str
    accelerator: str
    pricing: str
    provider: str
    instance: str
    devices: int
    billed_devices: int
    """Devices paid for: whole instances or servers; `devices` of them do the work."""
    device_hours: float
    wall_clock_days: float
    start: date
    end: date
    """The end of the phase's planning window (see estimator.timeline)."""
    cost: Money
    """Sum of the line items, in the quote's currency."""
    cost_other_view: Money
    """The same placement in the other accounting view."""
    priced: bool
    """False: nothing to price it at (its cost is 0 and the total excludes it)."""
    line_items: list[LineItem]
    offer: OfferUsed | None
    """The catalog row used; None when the site has no option to price it at."""
    physics: dict[str, Any]
    """The physics figures of the placement (FLOPs, MFU, layout; tokens/s, batch, TPOT...)."""
    output_tokens: float | None = None
    """Output tokens a serving phase serves over its days: its demand, or with none its fleet at
    full load less the serving goodput (`full_load_output_tokens_per_day`); what its price per
    million output tokens is over. None for training."""

    @property
    def cost_per_million_output_tokens(self) -> Money | None:
        """A priced serving phase's cost over its `output_tokens`, per million, as the reports
        show it (`costing.per_unit`: 4 significant figures, or whole cents where those are
        finer); the JSON's and the report's figure is this one (rev20b #8: a notebook had to
        recompute and re-round it). None for training, an unpriced phase, or one the physics
        could not time (no output rate)."""
        tokens = self.output_tokens
        if not (tokens and self.priced and self.physics.get("output_tokens_per_s_per_device")):
            return None
        currency = self.cost.currency
        return Money(per_unit(float(self.cost) / tokens * 1e6, currency), currency)

    @property
    def timed(self) -> bool:
        """False for a training run the physics could not time (its device lacks the
        precision): its `device_hours` and `wall_clock_days` are 0, not a length."""
        return self.kind == "serve" or self.physics.get("wall_clock_days") is not None

    def full_load_output_tokens_per_day(self) -> float:
        """Output tokens a serving phase's fleet serves a day at full load, less the serving
        goodput: what a phase with no demand is priced per token on, as
        `evaluate._per_output_token` ranks such options (0 when nothing was timed)."""
        x = self.physics
        rate = (x.get("output_tokens_per_s_per_device") or 0.0) * (x.get("serve_goodput") or 1.0)
        return rate * self.devices * SECONDS_PER_DAY


class Result(Frozen):
    """A result of the library (a quote, a plan, a comparison): frozen, as a Scenario is. A total
    reassigned lost its Money and fed percentiles and sensitivity silently (review8b #10)."""

    how_to_change: ClassVar[str] = RESULTS_ARE_FROZEN


class Quote(Result):
    """Devices, time and money of every phase and transfer, the findings and the assumptions
    (which offers, rates and dates were used).

    `total`, `total_other_view` and each phase's and transfer's `cost` are `Money` in
    `currency`, sums of line items in whole cents; `print(q.total)` shows them. Frames:
    `phases_frame()`, `line_items_frame()` (also `to_polars()`), `transfers_frame()`,
    `cash_flow_frame()`.
    """

    name: str
    as_of: date
    currency: str
    accounting: str
    """project (what the plan commits) or amortised (the hours used)."""
    total: Money
    total_other_view: Money
    """The same plan in the other accounting view."""
    phases: list[PhaseQuote]
    transfers: list[TransferQuote]
    cash_flow: list[Month] = Field(default_factory=empty_list)
    """What is paid in which month (the project view: the cash)."""
    findings: list[Finding]
    assumptions: dict[str, Any]

    @model_validator(mode="after")
    def _money(self) -> "Quote":
        cur = self.currency
        phases = [
            p._replaced(
                {"cost": Money(p.cost, cur), "cost_other_view": Money(p.cost_other_view, cur)}
            )
            for p in self.phases
        ]
        # Set once while it is built (frozen after: `object.__setattr__` is pydantic's own way),
        # sealed as `Frozen` seals every list.
        for name, value in (
            ("total", Money(self.total, cur)),
            ("total_other_view", Money(self.total_other_view, cur)),
            ("phases", phases),
            (
                "transfers",
                [t._replaced({"cost": Money(t.cost, cur)}) for t in self.transfers],
            ),
        ):
            object.__setattr__(self, name, seal(value))
        return self

    @property
    def blocked(self) -> bool:
        """True when a finding blocks the plan (a rule, a limit of the market)."""
        return any(f.severity == "block" for f in self.findings)

    @property
    def training_days(self) -> float | None:
        """Days from the first training phase's start to the last one's end, waits and
        overlaps as they fall (rev11a #16: the sum of run times counted two overlapping runs
        twice and a wait for hardware not at all); 0 without training, None when a run was not
        timed (its device lacks the precision)."""
        runs = [p for p in self.phases if p.kind == "train"]
        if not all(p.timed for p in runs):
            return None
        if not runs:
            return 0.0
        first = min(p.start for p in runs)
        return max((p.start - first).days + p.wall_clock_days for p in runs)

    def line_items(self) -> list[LineItem]:
        return [i for p in self.phases for i in p.line_items] + [
            i for t in self.transfers for i in t.line_items
        ]

    def to_polars(self) -> pl.DataFrame:
        """One row per line item: the same as `line_items_frame()`."""
        return self.line_items_frame()

    def line_items_frame(self) -> pl.DataFrame:
        """One row per line item: quantity x unit_price in unit_currency, billed_amount in it
        and amount in the quote's currency (both in whole cents)."""
        return pl.DataFrame([i.model_dump() for i in self.line_items()], schema=_schema(LineItem))

    def assuming(self, **more: Any) -> "Quote":
        """A copy with `more` added to its assumptions: numbers, text, true/false, dates, None,
        and lists and tables of them (numpy numbers become Python's); anything else, a number
        that is not finite, or a key the quote already has, is a ScenarioError naming the key.
        (rev20b #4: `assuming(offers=..., physics=None)` replaced the rows used and the physics
        line, and the report printed the caller's text in their place: give a new name.)"""
        for key in more:
            if key in self.assumptions:
                raise ScenarioError(
                    "the quote already has this assumption (the tool's own, or one added "
                    "before): give yours another name",
                    f"assuming: {key}",
                )
        added = {key: _json_value(value, key) for key, value in more.items()}
        return self._replaced({"assumptions": {**self.assumptions, **added}})

    def phases_frame(self) -> pl.DataFrame:
        """One row per phase: where it runs, devices, device-hours, days, its window, cost and
        cost in the other accounting view (sums of whole-cent items; the rest unrounded), and a
        serving phase's cost per million output tokens as the reports show it."""
        rows = [
            {
                **p.model_dump(exclude={"line_items", "offer", "physics"}),
                "cost": float(p.cost),
                "cost_other_view": float(p.cost_other_view),
                "currency": self.currency,
                "cost_per_million_output_tokens": _float(p.cost_per_million_output_tokens),
            }
            for p in self.phases
        ]
        return pl.DataFrame(rows, infer_schema_length=None)

    def transfers_frame(self) -> pl.DataFrame:
        """One row per transfer: from, to, what, gigabytes, hours, route and cost."""
        rows = [
            {
                **t.model_dump(exclude={"line_items"}),
                "cost": float(t.cost),
                "currency": self.currency,
            }
            for t in self.transfers
        ]
        schema = {"from_": pl.String, "to": pl.String, "what": pl.String, "gigabytes": pl.Float64,
                  "hours": pl.Float64, "route": pl.String, "cost": pl.Float64,
                  "currency": pl.String}  # fmt: skip
        return pl.DataFrame(rows, schema=schema).rename({"from_": "from"})

    def cash_flow_frame(self) -> pl.DataFrame:
        """One row per month (YYYY-MM) and one column per kind of payment (rent, capital,
        resale, energy, operations, transfer), plus the month's total."""
        rows = [{"month": m.month, **m.amounts, "total": m.total} for m in self.cash_flow]
        return pl.DataFrame(rows)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _json_value(value: Any, where: str) -> Any:
    """`value` as a report can write it, or a ScenarioError at `where` (review11b #14: a numpy
    number failed in `as_json` far from the call, and NaN was written as null silently)."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        value = value.tolist()  # a numpy scalar or array as Python numbers and lists
    if isinstance(value, float) and not math.isfinite(value):
        raise ScenarioError(f"{value} is not a finite number", f"assuming: {where}")
    if value is None or isinstance(value, str | int | float | date):
        return value
    if isinstance(value, list | tuple):
        return [_json_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_value(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, dict):
        what = "a table with keys that are not text"
    else:
        what = f"a value of type {type(value).__name__}"
    raise ScenarioError(
        f"{what} cannot be written in a report: give a number, text, true/false, a date, "
        "None, or a list or table of them",
        f"assuming: {where}",
    )


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    """A polars schema for a flat model (so an empty list still has its columns)."""
    kinds: dict[Any, Any] = {float: pl.Float64, int: pl.Int64, str: pl.String, date: pl.Date}
    kinds[date | None] = pl.Date  # a USD line's rate date (LineItem.fx_as_of)
    return {
        name: kinds.get(field.annotation, pl.String) for name, field in model.model_fields.items()
    }
