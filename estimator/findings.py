"""Findings: what is wrong with, or worth knowing about, a placement, spelled once.

Each check (`estimator.checks`) is a condition over the columns of an evaluated candidate and a
message built from one such row. The planner rejects a candidate for the first blocking check
it fails (its *verdict*); a quote reports every check its chosen row meets, with the message. So
"why did the planner reject X" and "what does the quote of X say" are the same facts.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from estimator import compliance
from estimator.checks import (
    ADVISORY,
    BLOCKING,
    BY_CODE,
    PHYSICAL_REASONS,
    REASONS,
    Check,
    Phase,
    Row,
    Severity,
    hindsight,
    rule_hindsight,
)
from estimator.context import Context, RulesSpan
from estimator.frozen import ResultPart

__all__ = [
    "REASONS",
    "Finding",
    "describe",
    "findings",
    "hindsight",
    "physical_verdict",
    "reason",
    "reason_expr",
    "rule_hindsight",
    "verdict",
    "workable",
]


class Finding(ResultPart):
    """One finding of a quote: `block` fails `--strict` and rules a candidate out of a plan."""

    severity: Severity
    code: str
    message: str
    phase: str | None = None
    source: str | None = None


def verdict(c: Context, p: Phase, span: RulesSpan | None = None) -> pl.Expr:
    """The code of the first blocking fact of a candidate (`rule:<id>` for a rule), or null;
    rules in force over `span` (default the quote date; see `Context.rules_span`)."""
    day, until = span or c.rules_span()
    rules = c.remembered(
        ("blocking rules", day, until),
        lambda: compliance.blocking_rules(c.catalog.table("policies"), day, until),
    )
    blocks = [*((f"rule:{rule}", breaks) for rule, breaks in rules),
              *((check.code, check.when(c, p)) for check in BLOCKING)]  # fmt: skip
    # The first block's position, then its code: a chain of numbers, and text once, built
    # for each row; a chain of texts copied every row's text at each of its ~20 steps (0.4 s
    # CPU of a sweep's 2.92M candidates).
    codes = list(dict.fromkeys(code for code, _ in blocks))
    expr: Any = pl
    for code, on in blocks:
        expr = expr.when(on).then(pl.lit(codes.index(code), pl.UInt32))
    first: pl.Expr = expr.otherwise(pl.lit(None, pl.UInt32))
    return first.replace_strict(
        list(range(len(codes))), codes, default=pl.lit(None, pl.String), return_dtype=pl.String
    )


# Blocks that say an option cannot run the phase (as opposed to a rule or the market forbidding
# or not supplying it): the physics has no answer (`checks.PHYSICAL_REASONS`), or its instances
# cannot hold the run (`instance`: this offer's fault, another's instances would do, so an
# estimate still shows it).
CANNOT_RUN = PHYSICAL_REASONS | {"instance"}


def workable(c: Context, p: Phase) -> pl.Expr:
    """Whether a candidate can run the phase, rules and the market aside: among options a rule
    blocks alike (a quote of a site the law rules out), the one that would work is quoted, not
    a cheaper one that could not hold the model."""
    hits = [check.when(c, p).fill_null(False) for check in BLOCKING if check.reason in CANNOT_RUN]
    return ~pl.any_horizontal(hits) if hits else pl.lit(True)


def physical_verdict(c: Context, p: Phase) -> pl.Expr:
    """The code of the first block that says a candidate cannot run the phase at all (a
    `CANNOT_RUN` one), or null: what rules out an option a rule also blocks (`verdict` names
    the rule first)."""
    expr: Any = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    for check in BLOCKING:
        if check.reason in CANNOT_RUN:
            expr = expr.when(check.when(c, p).fill_null(False)).then(pl.lit(check.code))
    out: pl.Expr = expr.otherwise(pl.lit(None, pl.String))
    return out


def reason(code: str) -> str:
    """The planner's category of a verdict code."""
    return "rule" if code.startswith("rule:") else BY_CODE[code].reason


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
        # rev18a #3: a runner-up ruled out by a rule made public (or lapsing) after the quote's
        # date says so, as the rule's finding does (`rule_hindsight`).
        said = code.removeprefix("rule:")
        rule = said.split(" ", 1)[0]  # "<id>" or "<id> on transfer A->B"
        rows = c.catalog.table("policies").filter(pl.col("id") == rule)
        later = rule_hindsight(rows.row(0, named=True), c.as_of) if rows.height else ""
        return f"rule {said}{later}"
    return f"{BY_CODE[code].reason}: {BY_CODE[code].message(row, c, p)}"


def _as_it_applies(
    rule: dict[str, Any], row: dict[str, Any], c: Context, start: date
) -> tuple[Severity, str]:
    """A rule's severity and message for a row. The rules on owned hardware control acquiring
    it: hardware acquired before one took effect is the stock it lets be used, so for it the
    rule, a warning or a block, is information (review8a #20: three warnings a plan said the
    stockpile was what the rule allows; `compliance.acquired_before` says when it is). So is
    a rule on any ownership that controls supply (`compliance.controls_supply`), for hardware
    acquired before it, a fleet or a purchase alike; a rental still gets its warning (rev16a #6,
    rev16c M2)."""
    effect: Severity = rule["effect"]  # policies.csv's effect column is block, warn or info
    if effect == "info":
        return effect, rule["message"]
    if rule["ownership"] != "owned" and not compliance.controls_supply(rule):
        return effect, rule["message"]
    acquired = _acquired(row, c, start)
    if acquired is None or acquired[0] >= rule["effective_from"]:
        return effect, rule["message"]
    day, said = acquired
    return "info", f"{rule['message']} ({said} {day}, before it)"


def worded(check: Check, row: Row, c: Context, p: Phase) -> str:
    """A check's finding message on an evaluated row, with the hindsight of its report."""
    return check.message(row, c, p) + _report_hindsight(check, c)


def _report_hindsight(check: Check, c: Context) -> str:
    """`hindsight` of a check resting on a report (its cited defaults.csv row's as_of)."""
    if not (check.reported and check.cite):
        return ""
    cite = check.cite
    rows = c.catalog.table("defaults").filter(pl.col("name") == cite)
    return hindsight(rows["as_of"][0], c.as_of)


def _source(check: Check, row: Row, c: Context, p: Phase) -> str | None:
    if callable(check.source):
        return check.source(row, c, p)
    if check.source:
        value = row[check.source]
        return None if value is None else str(value)
    return c.catalog.default_source(check.cite) if check.cite else None


def _acquired(row: dict[str, Any], c: Context, start: date) -> tuple[date, str] | None:
    """When the row's owned hardware is acquired, and how to say it (`acquired_before`): a
    purchase when the phase `start`s. None where it could not have been bought then
    (`not-purchasable`): a rule is not softened for stock the quote itself calls impossible to
    have acquired (rev16c R5: a B200 fleet "acquired" in China in 2024, blocked, was told the
    B200 export rule was information "(this fleet was acquired on 2024-02-01, before it)")."""
    if row.get("purchasable") is False:
        return None
    if row.get("option") == "fleet" and row.get("offer_as_of") is not None:
        given = any(f.name == row.get("instance") and f.acquired for f in c.scenario.fleet)
        said = "this fleet was acquired on" if given else "this fleet is owned by the plan's date,"
        return row["offer_as_of"], said
    if row.get("option") == "owned":
        return start, "the plan buys it for the phase's start,"
    return None


def findings(
    rows: pl.DataFrame, c: Context, p: Phase, span: RulesSpan | None = None
) -> list[list[Finding]]:
    """Every finding of each evaluated row (a quote's chosen option, a plan's runner-up);
    rules in force over `span`, as in `verdict`."""
    day, until = span or c.rules_span()
    checks = (*BLOCKING, *ADVISORY)
    hits = rows.select(
        [check.when(c, p).fill_null(False).alias(str(i)) for i, check in enumerate(checks)]
    )
    facts = rows.select(compliance.FACT_COLUMNS)
    policies = c.remembered(
        ("policies in force", day, until),
        lambda: compliance.in_force(c.catalog.table("policies"), day, until),
    )
    # The same few placements recur across a quote's phases: judge each set of facts once.
    rules = c.remembered(
        ("rules", day, until, tuple(facts.iter_rows())),
        lambda: compliance.matching_rules(facts, policies, day, until),
    )
    out = []
    for row, hit, matched in zip(rows.iter_rows(named=True), hits.iter_rows(), rules, strict=True):
        found = [
            Finding(
                severity=severity,
                code=r["id"],
                message=message + rule_hindsight(r, c.as_of),
                phase=p.name,
                source=r["source"],
            )
            for r in matched
            for severity, message in (_as_it_applies(r, row, c, day),)
        ]
        for check, on in zip(checks, hit, strict=True):
            if on:
                found.append(
                    Finding(
                        severity=check.severity,
                        code=check.code,
                        message=worded(check, row, c, p),
                        phase=p.name,
                        source=_source(check, row, c, p),
                    )
                )
        out.append(found)
    return out
