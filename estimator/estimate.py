"""Quick estimates (`splitcompute train` / `serve`): a one-phase scenario built from flags.

The flags become a scenario (validated by the same pydantic models as a file) and go through
the same path as any quote: a region and a pricing model make a fixed site; otherwise the site
is left to the planner within the filters given. So `train ... --region sg --pricing on_demand`
and the equivalent one-phase scenario file give the same choice and the same findings.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from estimator.errors import InfeasibleError, ScenarioError
from estimator.scenario import Scenario
from estimator.scenario_file import parse_scenario
from pricing import Catalog

SOURCE = "command line"
_MODEL_FIELDS = (
    "preset", "total_params", "active_params", "layers", "hidden", "heads", "kv_heads",
    "head_dim", "vocab", "experts", "experts_active", "kv_lora_rank", "rope_head_dim",
)  # fmt: skip


def one_phase(
    kind: str,
    *,
    accelerator: str,
    region: str | None = None,
    pricing: str | None = None,
    provider: str | None = None,
    tenant_hq: str = "CN",
    currency: str = "USD",
    as_of: date,
    **fields: Any,
) -> Scenario:
    """A scenario of one `kind` ("train" | "serve") phase named after it. `fields` holds the
    model's fields (`preset`, `total_params`, ...) and the phase's (`tokens`, `days`, ...);
    None values are left out. Validation errors name the flag (`--tokens`)."""
    model = {k: fields.pop(k) for k in _MODEL_FIELDS if fields.get(k) is not None}
    phase = {k: v for k, v in fields.items() if v is not None}
    if region is not None and pricing is not None:
        site: Any = {"region": region, "accelerator": accelerator, "pricing": pricing}
        if provider is not None:
            site["provider"] = provider
    else:
        site = {
            "accelerators": [accelerator],
            "regions": [region] if region else [],
            "pricing": [pricing] if pricing else [],
            "providers": [provider] if provider else [],
        }
    data = {
        "name": f"{kind} estimate",
        "as_of": as_of,
        "currency": currency,
        "tenant_hq": tenant_hq,
        "model": model,
        "phases": [{"name": kind, "kind": kind, "site": site, **phase}],
    }
    try:
        return parse_scenario(data, SOURCE)
    except ScenarioError as exc:
        raise ScenarioError(exc.message, flag(exc.location)) from None


def estimate(kind: str, catalog: Catalog, **fields: Any) -> tuple[Any, Scenario]:
    """The quote of a one-phase scenario built from flags (see `one_phase`), with any error
    located at the flag that caused it."""
    from estimator.api import quote

    scenario = one_phase(kind, **fields)
    try:
        return quote(scenario, catalog), scenario
    except ScenarioError as exc:
        raise ScenarioError(exc.message, flag(exc.location)) from None
    except InfeasibleError as exc:
        raise InfeasibleError(exc.message) from None


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
