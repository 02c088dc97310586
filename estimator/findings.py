"""Findings: what is wrong with, or worth knowing about, a placement, spelled once.

Each check is a condition over the columns of an evaluated candidate (`estimator.evaluate`) and
a message built from one such row. The planner rejects a candidate for the first blocking check
it fails (its *verdict*); a quote reports every check its chosen row meets, with the message. So
"why did the planner reject X" and "what does the quote of X say" are the same facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict

from estimator import compliance
from estimator.context import Context
from estimator.scenario import ServePhase, TrainPhase
from pricing.catalog import STALE_AFTER_DAYS

Severity = Literal["block", "warn", "info"]
Phase = TrainPhase | ServePhase
Row = dict[str, Any]


class Finding(BaseModel):
    """One finding of a quote: `block` fails `--strict` and rules a candidate out of a plan."""

    model_config = ConfigDict(frozen=True)

    severity: Severity
    code: str
    message: str
    phase: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Check:
    code: str
    severity: Severity
    reason: str  # the planner's name for a rejection of this kind
    when: Callable[[Context, Phase], pl.Expr]
    message: Callable[[Row, Context, Phase], str]
    source: str | None = None  # a column holding the source of the figure at fault


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _train(phase: Phase) -> bool:
    return isinstance(phase, TrainPhase)


def _memory_message(r: Row, c: Context, p: Phase) -> str:
    if isinstance(p, TrainPhase):
        if r["min_devices"] is None:
            return (
                f"{c.model.name} cannot be trained on {r['accelerator']}: one sequence's "
                "activations exceed a scale-up group's memory"
            )
        return (
            f"{c.model.name} needs at least {_n(r['min_devices'])} {r['accelerator']} to hold "
            f"weights, gradients and optimizer state; the phase has {_n(r['devices'])}"
        )
    return (
        f"{c.model.name} ({r['weights_gib']:,.0f} GiB of weights plus one request's KV cache) "
        f"does not fit on {r['tensor_parallel']} x {r['accelerator']}"
    )


def _capacity_when(c: Context, p: Phase) -> pl.Expr:
    over = pl.col("devices") > c.max_devices if c.max_devices else pl.lit(False)
    if isinstance(p, ServePhase) and p.devices:
        over = over | (pl.col("devices_needed") > p.devices)
    return over


def _capacity_message(r: Row, c: Context, p: Phase) -> str:
    if isinstance(p, ServePhase) and p.devices and (r["devices_needed"] or 0) > p.devices:
        return f"{_n(p.devices)} devices given; the demand at peak needs {_n(r['devices_needed'])}"
    cap = _n(c.max_devices or 0)
    return f"needs {_n(r['devices'])} x {r['accelerator']}, more than --max-devices {cap}"


def _deadline_message(r: Row, c: Context, p: Phase) -> str:
    deadline = p.deadline_days if isinstance(p, TrainPhase) else None
    if r["devices"] > r["max_devices"]:
        return (
            f"a deadline of {deadline:g} days needs {_n(r['devices'])} x {r['accelerator']}, more "
            f"than the {_n(r['max_devices'])} usable at once (global batch limit)"
        )
    days = f"{r['wall_clock_days']:,.1f}"
    return f"takes {days} days on {_n(r['devices'])} devices; deadline is {deadline:g} days"


def _latency_message(r: Row, c: Context, p: Phase) -> str:
    assert isinstance(p, ServePhase)
    if not r["meets_tpot"]:
        return (
            f"no batch meets TPOT {p.tpot_ms:g} ms on {r['tensor_parallel']} x {r['accelerator']}: "
            "a single sequence's decode step is already slower"
        )
    return (
        f"TTFT {r['ttft_ms']:,.0f} ms for {p.input_len:,} input tokens exceeds the "
        f"{p.ttft_ms:g} ms target on {r['tensor_parallel']} x {r['accelerator']}"
    )


# In verdict order: a candidate is rejected for the first of these it fails (after the rules).
BLOCKING: tuple[Check, ...] = (
    Check(
        "precision-unsupported",
        "block",
        "precision",
        lambda c, p: ~pl.col("precision_ok"),
        lambda r, c, p: f"{r['accelerator']} has no {p.precision or 'bf16'} support",
    ),
    Check(
        "memory-does-not-fit",
        "block",
        "memory",
        lambda c, p: ~pl.col("fits").fill_null(False),
        _memory_message,
    ),
    Check(
        "replica-spans-instances",
        "block",
        "instance",
        lambda c, p: pl.lit(False) if _train(p) else ~pl.col("within_instance"),
        lambda r, c, p: (
            f"a {r['tensor_parallel']}-device replica does not fit one {r['instance']} "
            f"({r['unit_devices']} devices) and its devices have no fast link between "
            "instances: choose a larger instance (site.instance)"
        ),
    ),
    Check(
        "latency-target-missed",
        "block",
        "latency",
        lambda c, p: (
            pl.lit(False)
            if _train(p)
            else ~(pl.col("meets_tpot") & pl.col("meets_ttft")).fill_null(False)
        ),
        _latency_message,
    ),
    Check(
        "deadline-missed",
        "block",
        "deadline",
        lambda c, p: pl.col("deadline_met").not_().fill_null(False) if _train(p) else pl.lit(False),
        _deadline_message,
    ),
    Check("capacity-short", "block", "capacity", _capacity_when, _capacity_message),
    Check(
        "unpriced",
        "block",
        "price",
        lambda c, p: pl.col("total_usd").is_null(),
        lambda r, c, p: (
            f"no price for {r['accelerator']} in {r['region']} on {c.as_of} (no exchange rate "
            "or no offer): add one with --catalog DIR (an offers.csv row)"
        ),
    ),
)
REASONS = ("rule", *dict.fromkeys(c.reason for c in BLOCKING))
_BY_CODE = {c.code: c for c in BLOCKING}


def _age(c: Context) -> pl.Expr:
    return (pl.lit(c.as_of) - pl.col("offer_as_of")).dt.total_days()


def _users_far(slow: bool) -> Callable[[Context, Phase], pl.Expr]:
    """Users in China served from abroad; `slow`: the round trip alone exceeds the TTFT target."""

    def when(c: Context, p: Phase) -> pl.Expr:
        if not isinstance(p, ServePhase) or p.users != "CN":
            return pl.lit(False)
        too_slow = pl.col("rtt_ms_to_cn") >= p.ttft_ms if p.ttft_ms is not None else pl.lit(False)
        return (pl.col("country") != "CN") & (too_slow if slow else ~too_slow)

    return when


def _users_far_message(r: Row, c: Context, p: Phase) -> str:
    ttft = p.ttft_ms if isinstance(p, ServePhase) else None
    slow = ttft is not None and r["rtt_ms_to_cn"] >= ttft
    extra = f", more than the {ttft:g} ms TTFT target" if slow else ""
    return f"users in China are ~{r['rtt_ms_to_cn']:g} ms round trip from {r['region']}{extra}"


_BASIS_WORDS = {"estimate": "an estimate", "derived": "derived from other figures"}

ADVISORY: tuple[Check, ...] = (
    Check(
        "price-after-date",
        "warn",
        "",
        lambda c, p: _age(c) < 0,
        lambda r, c, p: (
            f"the {r['provider']} price is from {r['offer_as_of']}, after the quote date: the "
            "catalog has no earlier price for this option"
        ),
        "offer_source",
    ),
    Check(
        "stale-price",
        "warn",
        "",
        lambda c, p: _age(c) > STALE_AFTER_DAYS,
        lambda r, c, p: (
            f"the {r['provider']} price is from {r['offer_as_of']}, more than a year before the "
            "quote date"
        ),
        "offer_source",
    ),
    Check(
        "spot-capacity",
        "warn",
        "",
        lambda c, p: pl.col("pricing") == "spot",
        lambda r, c, p: (
            "spot capacity can be reclaimed at any time and its price moves (up to "
            f"{r['price_high'] or r['price_per_device_hour']:g} {r['currency']} per device-hour "
            "in the catalog): plan restarts"
        ),
        "offer_source",
    ),
    Check(
        "idle-commitment",
        "warn",
        "",
        lambda c, p: (
            (pl.col("option") == "rented") & (pl.col("billed_hours") > pl.col("hours") * 1.05)
        ),
        lambda r, c, p: (
            f"the {r['min_term_days']}-day commitment bills {r['billed_hours'] / 24:,.0f} days "
            f"for {r['hours'] / 24:,.1f} days of work: {1 - r['hours'] / r['billed_hours']:.0%} "
            "of this phase's compute cost pays for idle capacity unless other work uses it"
        ),
    ),
    Check(
        "owned-capex",
        "info",
        "",
        lambda c, p: pl.col("option") == "owned",
        lambda r, c, p: (
            f"uses {_n(r['billed_devices'] / r['unit_devices'])} "
            f"server{'s' if r['billed_devices'] > r['unit_devices'] else ''} worth "
            f"{r['server_price'] * r['billed_devices'] / r['unit_devices']:,.0f} "
            f"{r['currency']} of capital; the quote charges the "
            f"{r['hours'] / (r['life_years'] * 8760):.1%} of their "
            f"{r['life_years']:g}-year life this phase uses"
        ),
    ),
    *(
        Check(
            f"{basis}-price",
            "info",
            "",
            lambda c, p, basis=basis: pl.col("basis") == basis,  # type: ignore[misc]
            lambda r, c, p: (
                f"the price for {r['accelerator']} in {r['region']} is "
                f"{_BASIS_WORDS[r['basis']]}, not a published list price (see the row's note)"
            ),
            "offer_source",
        )
        for basis in ("estimate", "derived")
    ),
    Check("users-far", "warn", "", _users_far(slow=True), _users_far_message),
    Check("users-far", "info", "", _users_far(slow=False), _users_far_message),
)


def verdict(c: Context, p: Phase) -> pl.Expr:
    """The code of the first blocking fact of a candidate (`rule:<id>` for a rule), or null."""
    rule = c.remembered(
        "first_blocking_rule",
        lambda: compliance.first_blocking_rule(c.catalog.table("policies"), c.rules_date),
    )
    expr: Any = pl.when(rule.is_not_null()).then(pl.lit("rule:") + rule)
    for check in BLOCKING:
        expr = expr.when(check.when(c, p)).then(pl.lit(check.code))
    out: pl.Expr = expr.otherwise(pl.lit(None, pl.String))
    return out


def reason(code: str) -> str:
    """The planner's category of a verdict code."""
    return "rule" if code.startswith("rule:") else _BY_CODE[code].reason


def reason_expr(verdict: pl.Expr) -> pl.Expr:
    """`reason` over a column of verdict codes."""
    return (
        pl.when(verdict.str.starts_with("rule:"))
        .then(pl.lit("rule"))
        .otherwise(verdict.replace_strict({c.code: c.reason for c in BLOCKING}, default=None))
    )


def describe(code: str, row: Row, c: Context, p: Phase) -> str:
    """One line on why a candidate was rejected."""
    if code.startswith("rule:"):
        return f"rule {code.removeprefix('rule:')}"
    return f"{_BY_CODE[code].reason}: {_BY_CODE[code].message(row, c, p)}"


def findings(rows: pl.DataFrame, c: Context, p: Phase) -> list[list[Finding]]:
    """Every finding of each evaluated row (a quote's chosen option, a plan's runner-up)."""
    checks = (*BLOCKING, *ADVISORY)
    hits = rows.select(
        [check.when(c, p).fill_null(False).alias(str(i)) for i, check in enumerate(checks)]
    )
    facts = rows.select(compliance.FACT_COLUMNS)
    policies = c.remembered(
        "policies in force", lambda: compliance.in_force(c.catalog.table("policies"), c.rules_date)
    )
    # The same few placements recur across a quote's phases: judge each set of facts once.
    rules = c.remembered(
        ("rules", tuple(facts.iter_rows())),
        lambda: compliance.matching_rules(facts, policies, c.rules_date),
    )
    out = []
    for row, hit, matched in zip(rows.iter_rows(named=True), hits.iter_rows(), rules, strict=True):
        found = [
            Finding(
                severity=r["effect"],
                code=r["id"],
                message=r["message"],
                phase=p.name,
                source=r["source"],
            )
            for r in matched
        ]
        for check, on in zip(checks, hit, strict=True):
            if on:
                found.append(
                    Finding(
                        severity=check.severity,
                        code=check.code,
                        message=check.message(row, c, p),
                        phase=p.name,
                        source=row[check.source] if check.source else None,
                    )
                )
        out.append(found)
    return out
