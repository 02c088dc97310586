"""Quick estimates (`splitcompute train` / `serve`): a one-phase scenario built from flags.

The flags become a scenario (validated by the same pydantic models as a file) and go through
the same path as any quote: a region and a pricing model make a fixed site; otherwise the site
is left to the planner within the filters given. So `train ... --region sg --pricing on_demand`
and the equivalent one-phase scenario file give the same choice and the same findings.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from typing import Any

from estimator.checks import BY_CODE, PHYSICAL_REASONS
from estimator.errors import InfeasibleError, NoPlacementError, ScenarioError
from estimator.scenario import ModelInput, Scenario
from estimator.scenario_file import parse_scenario
from pricing import Catalog
from pricing.errors import shown

SOURCE = "command line"
# The model's fields a flag sets (a custom model from flags has no name; its arch is inferred).
_MODEL_FIELDS = tuple(f for f in ModelInput.model_fields if f not in ("name", "arch"))


def one_phase(
    kind: str,
    *,
    accelerator: str,
    region: str | None = None,
    pricing: str | None = None,
    provider: str | None = None,
    instance: str | None = None,
    tenant_hq: str = "CN",
    currency: str = "USD",
    as_of: date,
    avoid: list[str] | None = None,
    **fields: Any,
) -> Scenario:
    """A scenario of one `kind` ("train" | "serve") phase named after it. `fields` holds the
    model's fields (`preset`, `total_params`, ...) and the phase's (`tokens`, `days`, ...);
    None values are left out. Validation errors name the flag (`--tokens`)."""
    if pricing == "fleet":
        # rev13a #9: "no options match", exit 1, where the flag asks for what flags cannot give.
        raise ScenarioError(
            "a fleet is hardware a scenario's [[fleet]] describes (devices, where, acquired): "
            "quote a scenario file to price one",
            "--pricing",
        )
    if pricing == "owned" and provider not in (None, "owned"):
        # rev20b #9: "no allowed placement among 0 options", exit 1, for two flags that conflict.
        raise ScenarioError(
            f"bought hardware (--pricing owned) has no cloud provider, so none is "
            f"'{shown(provider)}': drop --provider, or give a rented --pricing",
            "--provider",
        )
    flags = {*fields, "accelerator", "region", "pricing", "provider", "tenant_hq", "currency"}
    model = {k: fields.pop(k) for k in _MODEL_FIELDS if fields.get(k) is not None}
    phase = {k: v for k, v in fields.items() if v is not None}
    if region is not None and pricing is not None:
        site: Any = {"region": region, "accelerator": accelerator, "pricing": pricing}
        if provider is not None:
            site["provider"] = provider
        if instance is not None:
            site["instance"] = instance
    else:
        lists = {"accelerators": accelerator, "regions": region, "pricing": pricing,
                 "providers": provider}  # fmt: skip
        # A list not given is any (an empty one given is refused: rev14a #8).
        site = {k: [v] for k, v in lists.items() if v is not None}
    data = {
        "name": f"{kind} estimate",
        "as_of": as_of,
        "currency": currency,
        "tenant_hq": tenant_hq,
        "model": model,
        "phases": [{"name": kind, "kind": kind, "site": site, **phase}],
        **({"avoid": avoid} if avoid else {}),
    }
    try:
        return parse_scenario(data, SOURCE)
    except ScenarioError as exc:
        raise flagged(exc, flags) from None


def estimate(kind: str, catalog: Catalog, **fields: Any) -> tuple[Any, Scenario]:
    """The quote of a one-phase scenario built from flags (see `one_phase`), with any error
    located at the flag that caused it.

    When the planner finds no allowed option only because of the market or the rules (a part
    that cannot be bought new, a lead time, a rule, too little capacity), the estimate is the
    quote of the closest option, fixed at its site, with what blocks it among its findings, as
    a quote of a fixed site shows it: `train --accelerator ascend-910b` today still answers
    with device-hours (the 90-day lead time of a purchase blocks it). A quote's blocks fail
    `--strict`."""
    from estimator.api import quote

    scenario = one_phase(kind, **fields)
    try:
        return _answered(quote(scenario, catalog)), scenario
    except ScenarioError as exc:
        raise flagged(exc, {*fields, "accelerator"}) from None
    except NoPlacementError as exc:
        if exc.closest is None:
            fixed = fields.get("region") and fields.get("pricing")
            hint = "; give --region and --pricing for the physics at a site without an offer"
            raise InfeasibleError(exc.message + ("" if fixed else hint)) from None
        # The physics has no answer (`Check.physical`): an error. Anything else (supply,
        # lead time, rules, capacity, instances, price) leaves one worth showing.
        if exc.reason in PHYSICAL_REASONS:
            raise InfeasibleError(exc.message) from None
        closest, why = one_phase(kind, **{**fields, **exc.closest}), exc.message
    except InfeasibleError as exc:
        raise InfeasibleError(exc.message) from None
    try:
        shown = quote(closest, catalog)
    except InfeasibleError as err:  # the closest option as a quote: not expected to refuse
        raise InfeasibleError(err.message) from None
    try:
        # The closest option may be blocked by a rule and by its physics too (a rule that
        # blocks every option abroad hid that none met a 1 ms TPOT): the physics decides.
        shown = _answered(shown)
    except InfeasibleError as err:
        raise InfeasibleError(f"{why}; and {err.message}") from None
    # Said first among the assumptions, not only as a block among the findings (rev11d #3: the
    # answer read as a priced, allowed one).
    return shown.assuming(no_allowed_option=f"{why}: shown, the closest option"), closest


def _answered(q: Any) -> Any:
    """The quote, unless the physics has no answer at its site: a fixed site (`--region` and
    `--pricing`) is an error then too, as the planner's choice is (rev12a #4: 405B on 8 L40S
    was priced for 74 years and exited 0 with a fixed site, 1 without)."""
    from estimator.findings import reason

    physical = [
        f
        for f in q.findings
        if f.severity == "block" and f.code in BY_CODE and reason(f.code) in PHYSICAL_REASONS
    ]
    if physical:
        # The first in verdict order, as the planner's: findings are sorted by code, which put
        # `latency` (and `deadline`) before `memory` (rev14a #3: a model that does not fit
        # was said to miss its TTFT).
        first = min(physical, key=lambda f: _VERDICT_ORDER[f.code])
        raise InfeasibleError(f"{reason(first.code)}: {first.message}")
    return q


_VERDICT_ORDER = {code: n for n, code in enumerate(BY_CODE)}


def flagged(exc: ScenarioError, flags: Collection[str]) -> ScenarioError:
    """A scenario's error as the command line says it: located at the flag; a check of the
    whole phase, which no one flag is at ("give both input_tokens_per_day and ..."), names
    the flags that set the fields it names (review11a #17), and only those: a field no flag
    sets (`data_subjects`) keeps its name (rev11c #13). Each of its problems is located so
    (`--all-errors` lists them)."""
    if len(exc.problems) > 1:
        each = [_flagged(p, flags) for p in exc.problems]
        return ScenarioError(each[0].message, each[0].location, each)
    return _flagged(exc, flags)


def _flagged(exc: ScenarioError, flags: Collection[str]) -> ScenarioError:
    """`flagged` of one problem."""
    where = flag(exc.location)
    # A check of the whole model ("active_params ... is larger than total_params") is at the
    # first flag it names, not --model (rev12a #12).
    whole_model = (exc.location or "").removeprefix(f"{SOURCE}: ") == "model"
    if where != SOURCE and not whole_model:
        return ScenarioError(exc.message, where)

    def as_flag(m: re.Match[str]) -> str:
        word = m.group(0)
        return flag(f"{SOURCE}: {word}") if word in flags else word

    fields = r"\b[a-z]+(?:_[a-z]+)+\b"
    if whole_model:
        # The model's one-word fields too ("must divide heads (32)"), and only those: a word
        # such as "model" in the message is no flag.
        words = set(_MODEL_FIELDS) & set(flags)
        named = [w for w in re.findall(r"\b[a-z]+(?:_[a-z]+)*\b", exc.message) if w in words]
        where = flag(f"{SOURCE}: {named[0]}") if named else where
        alone = r"\b(?:" + "|".join(sorted(words, key=len, reverse=True)) + r")\b(?!-)"
        message = re.sub(alone, as_flag, exc.message) if words else exc.message
        return ScenarioError(message, where)
    return ScenarioError(re.sub(fields, as_flag, exc.message), where)


def flag(location: str | None) -> str:
    """'command line: phases[0].deadline_days' -> '--deadline-days'."""
    path = (location or "").removeprefix(f"{SOURCE}: ").removeprefix(SOURCE)
    field = path.rsplit(".", 1)[-1] if path else ""
    if not field or field.startswith("phases["):
        return SOURCE
    field = _FLAG_NAMES.get(field, field)
    return "--" + field.replace("_", "-")


# Scenario field -> flag, where they differ.
_FLAG_NAMES = {
    "preset": "model",
    "total_params": "params",
    "regions": "region",
    "accelerators": "accelerator",
    "providers": "provider",
    "replica_devices": "devices",
}
