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
    Check,
    Phase,
    Row,
    Severity,
    hindsight,
    rule_hindsight,
)
from estimator.checks import (
    REASONS as CHECK_REASONS,
)
from estimator.context import Context, RulesSpan
from estimator.errors import ScenarioError
from estimator.frozen import ResultPart
from pricing.errors import shown

__all__ = [
    "AVOIDED",
    "REASONS",
    "Finding",
    "avoidable",
    "avoided",
    "caution",
    "cautions",
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


# A verdict naming a warning the scenario's `avoid` (or `--avoid`) makes block (rev19a #6: a
# foreign firm's service was placed on China's grey-market H100 rentals, warnings only):
# `avoided:<rule id or check code>`, its reason "avoided", after every block proper.
AVOIDED = "avoided:"
REASONS = (*CHECK_REASONS, "avoided")
# The warning checks `avoid` may name; a warning rule is named by its policies.csv id.
AVOIDABLE_CHECKS = {check.code: check for check in ADVISORY if check.severity == "warn"}
AVOIDED_SAID = " (avoided: the scenario's avoid, or --avoid, names this warning, so it blocks)"


# Warning checks that say an offer is not shown to exist (its availability is not assured), as
# a warning rule says compliance or supply is not: what `caution` names.
CAUTION_CHECKS = ("not-an-offer", "sku-only")


def _cautious(code: str) -> bool:
    """Whether a warning's code is a caution (`caution`): a rule's, or a `CAUTION_CHECKS` one."""
    return code in CAUTION_CHECKS or code not in {*AVOIDABLE_CHECKS, *BY_CODE}


def caution(found: list[Finding]) -> list[str]:
    """The codes of the warnings among `found` whose compliance or availability is not assured:
    every warning rule's (policies.csv), and the `CAUTION_CHECKS`. The planner names them beside
    a choice that carries them, with the cheapest option carrying none (rev19a #6)."""
    return sorted({f.code for f in found if f.severity == "warn" and _cautious(f.code)})


def cautions(catalog: Any) -> list[str]:
    """Every code `caution` may name with `catalog`'s rules."""
    return [code for code in avoidable(catalog) if _cautious(code)]


def avoidable(catalog: Any) -> list[str]:
    """The codes `avoid` may name: the ids of the catalog's warning rules and the warning
    checks' codes."""
    policies = catalog.table("policies")
    rules = policies.filter(pl.col("effect") == "warn")["id"].unique().to_list()
    return sorted({*rules, *AVOIDABLE_CHECKS})


def check_avoid(catalog: Any, codes: Any, where: str) -> None:
    """Every code `avoid` names is a warning the catalog's rules or the checks can give (a typo
    would avoid nothing, silently): else one error, at `where[i]` (a flag: at `where`),
    listing the codes."""
    known = avoidable(catalog)
    problems = [
        ScenarioError(
            f"'{shown(code)}' is not a warning that can be avoided (a warning rule's id or a "
            f"warning finding's code): {', '.join(known)}",
            where if where.startswith("--") else f"{where}[{i}]",
        )
        for i, code in enumerate(codes)
        if code not in known
    ]
    if problems:
        raise ScenarioError(problems[0].message, problems[0].location, problems)


def _avoided_blocks(
    c: Context, p: Phase, codes: Any, span: RulesSpan | None, rules: bool = True
) -> list[tuple[str, pl.Expr]]:
    """The warnings named in `codes` as blocks: their verdict codes and where they hold, by
    the expressions their findings are reported with (a rule where it warns, not where it only
    informs about hardware acquired before it: `compliance.blocking_rules`); the checks alone
    with `rules=False`."""
    names = frozenset(codes)
    if not names:
        return []
    c.remembered(
        ("avoid checked", names), lambda: check_avoid(c.catalog, c.scenario.avoid, c.where("avoid"))
    )
    day, until = span or c.rules_span()
    said = c.remembered(
        ("avoided rules", day, until, names),
        lambda: compliance.blocking_rules(c.catalog.table("policies"), day, until, names),
    )
    named = sorted(names & AVOIDABLE_CHECKS.keys())
    hits = [(code, AVOIDABLE_CHECKS[code].when(c, p)) for code in named]
    return [(f"{AVOIDED}{code}", on) for code, on in [*(said if rules else []), *hits]]


def _first(blocks: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """The code of the first of `blocks` that holds on a row, or null."""
    if not blocks:
        return pl.lit(None, pl.String)
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


def verdict(c: Context, p: Phase, span: RulesSpan | None = None) -> pl.Expr:
    """The code of the first blocking fact of a candidate (`rule:<id>` for a rule), or null;
    rules in force over `span` (default the quote date; see `Context.rules_span`). The
    warnings the scenario's `avoid` names block after every block proper (`avoided`)."""
    day, until = span or c.rules_span()
    rules = c.remembered(
        ("blocking rules", day, until),
        lambda: compliance.blocking_rules(c.catalog.table("policies"), day, until),
    )
    blocks = [*((f"rule:{rule}", breaks) for rule, breaks in rules),
              *((check.code, check.when(c, p)) for check in BLOCKING),
              *_avoided_blocks(c, p, c.scenario.avoid, span)]  # fmt: skip
    return _first(blocks)


def sizing_verdict(c: Context, p: Phase, span: RulesSpan | None = None) -> pl.Expr:
    """`verdict` without the rules (those of policies.csv, and those the scenario's `avoid`
    names): the first block a candidate's sizing can change. A rule blocks every sizing of an
    option alike, so the sizing kept of a blocked option is the one it would have unblocked
    (`evaluate._cheaper_sizing`; rev20a #3: a data label that PIPL blocks abroad priced a
    pretraining at 832 devices for two reserved years instead of 960 for one, +73%)."""
    blocks = [*((check.code, check.when(c, p)) for check in BLOCKING),
              *_avoided_blocks(c, p, c.scenario.avoid, span, rules=False)]  # fmt: skip
    return _first(blocks)


def avoided(c: Context, p: Phase, codes: Any, span: RulesSpan | None = None) -> pl.Expr:
    """The verdict code (`avoided:<code>`) of the first of the warnings `codes` a candidate
    carries, or null: what `verdict` adds for a scenario's `avoid`, and how the planner finds
    the cheapest option without the warnings its choice carries."""
    return _first(_avoided_blocks(c, p, codes, span))


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
    if code.startswith(AVOIDED):
        return "avoided"
    return "rule" if code.startswith("rule:") else BY_CODE[code].reason


def reason_expr(verdict: pl.Expr) -> pl.Expr:
    """`reason` over a column of verdict codes."""
    return (
        pl.when(verdict.str.starts_with("rule:"))
        .then(pl.lit("rule"))
        .when(verdict.str.starts_with(AVOIDED))
        .then(pl.lit("avoided"))
        .otherwise(verdict.replace_strict({c.code: c.reason for c in BLOCKING}, default=None))
    )


def describe(code: str, row: Row, c: Context, p: Phase) -> str:
    """One line on why a candidate was rejected."""
    if code.startswith(AVOIDED):
        said = code.removeprefix(AVOIDED)
        check = AVOIDABLE_CHECKS.get(said)
        if check is not None:
            text = check.message(row, c, p)
        else:
            rows = c.catalog.table("policies").filter(pl.col("id") == said)
            text = rows["message"][0] if rows.height else said
        return f"avoided: warning {said}: {text}"
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


def _binds_from(rule: dict[str, Any], start: date, message: str) -> str:
    """When a rule that takes effect after the phase starts binds it: a phase is judged on every
    rule in force while it runs (`compliance.in_force`), so one dated mid-phase blocks or warns
    the whole phase, and a row whose message gives no date said nothing of the days before it
    (rev20a #10: a user's rule from 2026-06-01 blocked a phase from 2026-04-11, unsaid). The
    date once: where the message gives it (the catalog's "Since 2026-01-12 ..."), the days."""
    day = rule["effective_from"]
    if day <= start:
        return ""
    into = f"{(day - start).days} days into the phase"
    return f" ({into})" if str(day) in message else f" (in force from {day}, {into})"


def avoiding(severity: Severity, message: str, code: str, c: Context) -> tuple[Severity, str]:
    """A warning the scenario's `avoid` names blocks, and says why (`verdict` rules it out)."""
    if severity == "warn" and code in c.scenario.avoid:
        return "block", message + AVOIDED_SAID
    return severity, message


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
                message=message + rule_hindsight(r, c.as_of) + _binds_from(r, day, message),
                phase=p.name,
                source=r["source"],
            )
            for r in matched
            for severity, message in (avoiding(*_as_it_applies(r, row, c, day), r["id"], c),)
        ]
        for check, on in zip(checks, hit, strict=True):
            if on:
                severity, message = avoiding(
                    check.severity, worded(check, row, c, p), check.code, c
                )
                found.append(
                    Finding(
                        severity=severity,
                        code=check.code,
                        message=message,
                        phase=p.name,
                        source=_source(check, row, c, p),
                    )
                )
        out.append(found)
    return out
