"""Rules as data: dated policy rows judged against the facts of a placement.

The facts a rule matches on are columns of an evaluated candidate frame: `data` (the phase's
data class; `personal-cn` or `important-cn` when it is of people in China, `personal-us` or
`important-us` when of people in the United States, `personal-eu` or `important-eu` when of
people in the EEA: `data_fact`),
`country` (where it runs), `accelerator`, `accelerator_origin`, `tenant_hq`, `ownership`
('owned' | 'rented') and `users` (a serving phase's market; null for training). The option table
carries the placement's own facts; the phase adds `data` and `users`, the scenario `tenant_hq`
(`with_rule_facts`). One polars expression per rule
judges a one-row quote and a sweep of millions of candidates alike.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from pricing.rules import parse_cell
from pricing.schema import DATA_OF_CHINA, DATA_OF_EU, DATA_OF_US, EEA

if TYPE_CHECKING:
    from estimator.scenario import ServePhase, TrainPhase

# policy column -> fact column
MATCH_COLUMNS = {
    "data": "data",
    "region_country": "country",
    "accelerator": "accelerator",
    "accelerator_origin": "accelerator_origin",
    "tenant_hq": "tenant_hq",
    "ownership": "ownership",
    "users": "users",
}
FACT_COLUMNS = tuple(MATCH_COLUMNS.values())
SEVERITY_ORDER = {"block": 0, "warn": 1, "info": 2}
# Headquarters a rule (or supply row) naming another also matches: US export controls treat
# Hong Kong as China since 2020-12-23 (85 FR 83765, which removed it as a separate destination)
# and the headquarters licence rule names Macau beside Country Group D:5 (15 CFR 744.23(a)(3);
# BIS guidance 2025-05-13). Chinese labs hold offshore compute through Hong Kong entities:
# matched literally, "HK" escaped every China-headquarters rule (review9a #2). A row naming HK
# or MO itself still matches them (review9c #3).
HQ_MATCHED_AS = {"HK": "CN", "MO": "CN"}


def rules_hq(tenant_hq: str) -> str:
    """The headquarters country the rules also judge a tenant by (HQ_MATCHED_AS)."""
    return HQ_MATCHED_AS.get(tenant_hq, tenant_hq)


def subjects_in_china(data_subjects: str | None, users: str | None, tenant_hq: str) -> bool:
    """Whether a phase's data is of people in mainland China (PIPL Art. 3; for important data,
    collected or produced there: DSL Art. 31). As declared (`data_subjects`: the market `cn`
    or the country `CN`; HK and MO are not mainland and their own law applies); else a serving
    phase's users; else (training) the tenant's headquarters as the rules judge it, HK and MO
    as CN (`rules_hq`): a Chinese lab's data is taken to be of people in China, as Chinese labs
    hold offshore compute through Hong Kong entities and a wrong guess must block, not pass."""
    if data_subjects is not None:
        return data_subjects.lower() == "cn"
    if users is not None:
        return users == "cn"
    return rules_hq(tenant_hq) == "CN"


def subjects_in_us(data_subjects: str | None, users: str | None, tenant_hq: str) -> bool:
    """Whether a phase's data is of people in the United States (US persons, as 28 CFR Part 202
    judges bulk US sensitive personal data), by the same defaults as `subjects_in_china`: as
    declared (`data_subjects` us or US), else a serving phase's users (us), else (training) a
    US tenant's own."""
    if data_subjects is not None:
        return data_subjects.lower() == "us"
    if users is not None:
        return users == "us"
    return tenant_hq == "US"


def subjects_in_eu(data_subjects: str | None, users: str | None, tenant_hq: str) -> bool:
    """Whether a phase's data is of people in the EEA, whom the GDPR protects, by the same
    defaults as `subjects_in_china`: as declared (`data_subjects` eu, or an EEA country code:
    pricing.schema.EEA), else a serving phase's users (eu), else (training) an EEA tenant's
    own (rev20a #8: a German company's personal data trained in Singapore got no GDPR
    warning, the same data served there did)."""
    if data_subjects is not None:
        return data_subjects == "eu" or data_subjects in EEA
    if users is not None:
        return users == "eu"
    return tenant_hq in EEA


def data_fact(data: str, in_china: bool, in_us: bool = False, in_eu: bool = False) -> str:
    """The data class the rules judge a phase's data as: `personal-cn` / `important-cn` for
    the personal or important data of people in China (pricing.schema.DATA_OF_CHINA),
    `personal-us` / `important-us` for that of people in the United States (DATA_OF_US),
    `personal-eu` / `important-eu` for that of people in the EEA (DATA_OF_EU)."""
    if in_china:
        return DATA_OF_CHINA.get(data, data)
    if in_us:
        return DATA_OF_US.get(data, data)
    return DATA_OF_EU.get(data, data) if in_eu else data


def phase_data(phase: TrainPhase | ServePhase, tenant_hq: str) -> str:
    """The `data` fact of a phase: its data class, of people in China, the US, the EEA or
    elsewhere. Whose data it is, not who the users are, decides the rules on personal data:
    a training phase holds its tenant's (or its declared `data_subjects`') as a serving phase
    holds its users' (rev20a #8)."""
    users = getattr(phase, "users", None)  # serving phases only
    subjects = (phase.data_subjects, users, tenant_hq)
    return data_fact(
        phase.data_class,
        subjects_in_china(*subjects),
        subjects_in_us(*subjects),
        subjects_in_eu(*subjects),
    )


def of_china(data: str) -> bool:
    """Whether a `data` fact is the personal or important data of people in China."""
    return data in DATA_OF_CHINA.values()


def phase_users(phase: TrainPhase | ServePhase) -> str | None:
    """The `users` fact of a phase: a serving phase's market, None for training (no users)."""
    return getattr(phase, "users", None)


def with_rule_facts(
    frame: pl.DataFrame, *, data: str, tenant_hq: str, users: str | None = None
) -> pl.DataFrame:
    """The facts a phase adds to its candidate options (`data` as `data_fact` gives it, `users`
    as `phase_users` does)."""
    return frame.with_columns(
        pl.lit(data).alias("data"),
        pl.lit(tenant_hq).alias("tenant_hq"),
        pl.lit(users, pl.String).alias("users"),
    )


def in_force(policies: pl.DataFrame, as_of: date, until: date | None = None) -> pl.DataFrame:
    """Rules in force at some time from `as_of` until `until` (exclusive; default: on `as_of`
    alone). effective_to is exclusive; empty = still in force. A phase is judged on every rule
    in force while it runs: one dated next month binds a phase running then, one that lapses
    before it starts does not."""
    stop = until if until is not None and until > as_of else as_of + timedelta(days=1)
    return policies.filter(
        (pl.col("effective_from") < stop)
        & (pl.col("effective_to").is_null() | (pl.col("effective_to") > as_of))
    )


def _cell_expr(column: str, text: str | None) -> pl.Expr:
    if text is None:  # an optional match column left empty (`users`): anything
        return pl.lit(True)
    cell = parse_cell(text)
    if cell.values is None:
        return pl.lit(True)
    values = list(cell.values)
    if column == "tenant_hq":  # a CN cell also names HK and MO (HQ_MATCHED_AS)
        values += [hq for hq, group in HQ_MATCHED_AS.items() if group in cell.values]
    if column == "data":  # a personal cell also names the personal data of people in China,
        # in the US and in the EEA
        values += [
            m[v] for m in (DATA_OF_CHINA, DATA_OF_US, DATA_OF_EU) for v in cell.values if v in m
        ]
    expr = pl.col(column).is_in(values)
    expr = ~expr if cell.negate else expr
    # A training phase has no users: a users cell other than '*' names serving phases only.
    return expr.fill_null(False) if column == "users" else expr


def rule_expr(policy: dict[str, Any]) -> pl.Expr:
    """True for placements the rule applies to."""
    return _match_expr(tuple(policy.get(column) for column in MATCH_COLUMNS))


@functools.lru_cache(maxsize=4096)
def _match_expr(cells: tuple[str | None, ...]) -> pl.Expr:
    # Built once per distinct rule: every phase of a quote judges the same rules, and building
    # the expressions cost more than evaluating them on a phase's few candidates.
    return pl.all_horizontal(
        [_cell_expr(fact, cell) for fact, cell in zip(FACT_COLUMNS, cells, strict=True)]
    )


def blocking_rules(
    policies: pl.DataFrame,
    as_of: date,
    until: date | None = None,
    avoided: frozenset[str] | None = None,
) -> list[tuple[str, pl.Expr]]:
    """The blocking rules in force (`in_force`), each as its id and where a placement breaks it,
    in the order a placement is judged by them (the first it breaks names its block); `as_of`
    is also when a purchase for the phase is acquired (`acquired_before`). With `avoided`, the
    warning rules of those ids instead, where they warn (a scenario's `avoid` makes them
    block: `findings.verdict`)."""
    # Ordered by id, as `matching_rules` lists them, so both name the same rule first.
    which = (
        pl.col("effect") == "block"
        if avoided is None
        else (pl.col("effect") == "warn") & pl.col("id").is_in(sorted(avoided))
    )
    blocking = in_force(policies, as_of, until).filter(which).sort("id")
    out = []
    for p in blocking.iter_rows(named=True):
        applies = rule_expr(p)
        # A rule on supply spares hardware acquired before it as a rule on owned hardware does
        # (rev16c M2: one decision, not one for fleets and another for purchases).
        if p["ownership"] == "owned" or controls_supply(p):
            applies = applies & ~acquired_before(p["effective_from"], as_of)
        out.append((p["id"], applies))
    return out


def acquired_before(day: date, start: date) -> pl.Expr:
    """Placements on owned hardware acquired before `day`. Every rule on owned hardware controls
    acquiring it (an export licence, a purchase ban): stock acquired before it took effect is
    the stock it leaves in use, so such a rule does not block it and only informs about it
    (review9a #1: a hypothetical ban on new purchases moved DeepSeek's 2023 stockpile's work
    abroad at 355 M CNY). A fleet is acquired on its `acquired` date, or without one by the
    plan's date at the latest (`offer_as_of`); a purchase for a phase when the phase `start`s,
    as its capital, resale age and delivery are counted (review9c #2: the same H200s were
    blocked when bought and not when declared as a fleet; review9d #1: judged as delivered at
    the quote date, they escaped a ban the cash flow then paid for them after)."""
    fleet = ((pl.col("option") == "fleet") & (pl.col("offer_as_of") < day)).fill_null(False)
    if start >= day:
        return fleet
    return fleet | (pl.col("option") == "owned").fill_null(False)


def controls_supply(policy: dict[str, Any]) -> bool:
    """Whether a rule controls getting parts, not using them (its `controls` is `supply`: an
    export licence, an import approval such as us-h20-licence or cn-h200-import-approval). A
    rental relies on the supply it controls; hardware acquired before it took effect, a fleet
    or a purchase delivered for a phase starting before it (`acquired_before`), is stock it
    leaves in use, as for a rule on owned hardware (rev16a #6: an H20 fleet of 2024 was warned
    that "new supply is uncertain"; rev16c M2: H20s bought for a phase starting before the
    rule still were, while the same H20s declared as a fleet were not). Said in the data, not
    read off the rule's other columns: a user's rule says what it controls."""
    return policy.get("controls") == "supply"


def matching_rules(
    facts: pl.DataFrame, policies: pl.DataFrame, as_of: date, until: date | None = None
) -> list[list[dict[str, Any]]]:
    """Per row of `facts` (fact columns), the rules in force (`in_force`) that apply to it,
    most severe first. One query judges every rule, with the same expressions the planner
    filters by."""
    rules = list(in_force(policies, as_of, until).iter_rows(named=True))
    if not rules or facts.is_empty():
        return [[] for _ in range(facts.height)]
    hits = facts.select([rule_expr(p).alias(str(i)) for i, p in enumerate(rules)])
    order = sorted(
        range(len(rules)), key=lambda i: (SEVERITY_ORDER[rules[i]["effect"]], rules[i]["id"])
    )
    return [[rules[i] for i in order if row[i]] for row in hits.iter_rows()]
