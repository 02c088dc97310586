"""Rules as data: dated policy rows evaluated against placements.

A placement is a row with the columns a rule can match on:
  data ('public' | 'personal' | 'important'), country, accelerator, accelerator_origin,
  tenant_hq, ownership ('owned' | 'rented').
A policy cell is '*' (anything), a '|'-list of values, or '!'-prefixed (anything but). The
matcher is one polars expression per rule, so the quote (a few rows) and the planner (millions
of candidates) judge placements with the same code.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

# policy column -> placement column
MATCH_COLUMNS = {
    "data": "data",
    "region_country": "country",
    "accelerator": "accelerator",
    "accelerator_origin": "accelerator_origin",
    "tenant_hq": "tenant_hq",
    "ownership": "ownership",
}
SEVERITY_ORDER = {"block": 0, "warn": 1, "info": 2}


def in_force(policies: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Rules in force on `as_of` (effective_to is exclusive; empty = still in force)."""
    return policies.filter(
        (pl.col("effective_from") <= as_of)
        & (pl.col("effective_to").is_null() | (pl.col("effective_to") > as_of))
    )


def _cell(column: str, pattern: str) -> pl.Expr:
    pattern = pattern.strip()
    if pattern == "*":
        return pl.lit(True)
    negate = pattern.startswith("!")
    values = [v.strip() for v in pattern.lstrip("!").split("|")]
    expr = pl.col(column).is_in(values)
    return ~expr if negate else expr


def rule_expr(policy: dict[str, Any]) -> pl.Expr:
    """True for placements the rule applies to."""
    return pl.all_horizontal(
        [
            _cell(placement_col, policy[rule_col])
            for rule_col, placement_col in MATCH_COLUMNS.items()
        ]
    )


def blocking_rule_expr(policies: pl.DataFrame, as_of: date) -> pl.Expr:
    """The id of the first blocking rule in force a placement breaks, or null: the planner's
    filter and the reason it gives."""
    blocking = in_force(policies, as_of).filter(pl.col("effect") == "block")
    expr: pl.Expr = pl.lit(None, pl.String)
    for p in reversed(list(blocking.iter_rows(named=True))):
        expr = pl.when(rule_expr(p)).then(pl.lit(p["id"])).otherwise(expr)
    return expr


def evaluate(placements: pl.DataFrame, policies: pl.DataFrame, as_of: date) -> list[dict[str, Any]]:
    """Findings for every (placement, rule in force) that matches: one dict per finding with
    severity, code, message, phase, source. Placements need a `phase` column."""
    findings: list[dict[str, Any]] = []
    for p in in_force(policies, as_of).iter_rows(named=True):
        hit = placements.filter(rule_expr(p))
        for phase in hit["phase"].to_list():
            findings.append(
                {
                    "severity": p["effect"],
                    "code": p["id"],
                    "message": p["message"],
                    "phase": phase,
                    "source": p["source"],
                }
            )
    return sorted(
        findings, key=lambda f: (SEVERITY_ORDER[f["severity"]], f["phase"] or "", f["code"])
    )


def placement_columns(catalog_accelerators: pl.DataFrame) -> pl.DataFrame:
    """accelerator -> accelerator_origin lookup to join onto placements."""
    return catalog_accelerators.select(
        pl.col("id").alias("accelerator"), pl.col("origin").alias("accelerator_origin")
    )
