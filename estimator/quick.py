"""Quick quotes without a scenario file (`splitcompute train` / `serve`): one phase's physics
plus its cost at the cheapest matching catalog option, in one currency."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from estimator import compliance, costing
from estimator.errors import ScenarioError
from estimator.models import ModelSpec
from pricing import Catalog, UnknownIdError


def cheapest_option(
    catalog: Catalog,
    accelerator: str,
    devices: float,
    hours: float,
    as_of: date,
    *,
    region: str | None = None,
    pricing: str | None = None,
    provider: str | None = None,
    per_billed_hour: bool = False,
) -> dict[str, Any]:
    """The matching option whose cost for `devices` x `hours` is lowest, counting whole
    instances and minimum terms; with its cost columns in USD. Rented offers only, unless
    `pricing` asks for another model ("owned" prices bought hardware) or nothing is for rent."""
    if region is not None:
        catalog.region(region)
    options = costing.options_frame(catalog, as_of).filter(pl.col("accelerator") == accelerator)
    if provider is not None:
        known = options["provider"].unique().to_list()
        if provider not in known:
            raise UnknownIdError(f"provider for {accelerator}", provider, known)
    if pricing is None:
        # "What does it cost to rent": owned hardware only when asked for (--pricing owned).
        options = options.filter(pl.col("option") == "rented")
    for column, value in (("region", region), ("pricing", pricing), ("provider", provider)):
        if value is not None:
            options = options.filter(pl.col(column) == value)
    options = options.filter(pl.col("per_usd").is_not_null())
    if options.is_empty() and pricing is None and provider is None:
        # Nothing to rent (stockpiled H800, say): price what can be owned, and say so.
        return cheapest_option(
            catalog,
            accelerator,
            devices,
            hours,
            as_of,
            region=region,
            pricing="owned",
            per_billed_hour=per_billed_hour,
        )
    if options.is_empty():
        wanted = " ".join(
            f"{k} {v}"
            for k, v in (("region", region), ("pricing", pricing), ("provider", provider))
            if v
        )
        raise ScenarioError(
            f"no catalog option for {accelerator}" + (f" with {wanted}" if wanted else "")
        )
    priced = options.with_columns(
        costing.cost_columns(pl.lit(float(devices)), pl.lit(float(hours)))
    ).with_columns(costing.total_usd())
    # Rank by what the work costs per hour of the billed term: a commitment that bills a year
    # for a day of serving is not dearer per day than on-demand if its hourly rate is lower.
    per_hour = (
        pl.col("total_usd") / pl.col("billed_hours") if per_billed_hour else pl.col("total_usd")
    )
    return priced.sort(per_hour, "provider", "instance", nulls_last=True).row(0, named=True)


def _money(catalog: Catalog, usd: float, currency: str, as_of: date) -> float:
    return usd * catalog.rate(currency, as_of).per_usd


def _offer_fields(
    catalog: Catalog, opt: dict[str, Any], as_of: date, tenant_hq: str
) -> dict[str, Any]:
    """Where the price comes from, and the rules in force there for a tenant (public data)."""
    placement = pl.DataFrame(
        {
            "phase": ["-"],
            "data": ["public"],
            "country": [opt["country"]],
            "accelerator": [opt["accelerator"]],
            "accelerator_origin": [catalog.accelerator(opt["accelerator"])["origin"]],
            "tenant_hq": [tenant_hq],
            "ownership": ["owned" if opt["option"] == "owned" else "rented"],
        }
    )
    found = compliance.evaluate(placement, catalog.table("policies"), as_of)
    return {
        "offer": f"{opt['provider']} {opt['instance']} {opt['pricing']} in {opt['region']}",
        "offer_basis": opt["basis"],
        "offer_as_of": opt["offer_as_of"],
        "offer_source": opt["offer_source"],
        "findings": [f"{f['severity']} {f['code']}" for f in found] or ["none"],
    }


def train_quote(
    catalog: Catalog,
    model: ModelSpec,
    accelerator: str,
    tokens: float,
    *,
    currency: str = "USD",
    as_of: date,
    region: str | None = None,
    pricing: str | None = None,
    provider: str | None = None,
    tenant_hq: str = "CN",
    **physics_args: Any,
) -> dict[str, Any]:
    """The training estimate and its cost at the cheapest matching option."""
    from estimator.physics import training_estimate

    est = training_estimate(catalog, model, accelerator, tokens, **physics_args)
    hours = est.wall_clock_days * costing.HOURS_PER_DAY
    opt = cheapest_option(
        catalog,
        accelerator,
        est.devices,
        hours,
        as_of,
        region=region,
        pricing=pricing,
        provider=provider,
    )
    return {
        **est.model_dump(),
        "billed_devices": opt["billed_devices"],
        "billed_hours_per_device": opt["billed_hours"],
        "cost": _money(catalog, opt["total_usd"], currency, as_of),
        "currency": currency,
        **_offer_fields(catalog, opt, as_of, tenant_hq),
    }


def serve_quote(
    catalog: Catalog,
    model: ModelSpec,
    accelerator: str,
    *,
    currency: str = "USD",
    as_of: date,
    region: str | None = None,
    pricing: str | None = None,
    provider: str | None = None,
    total_devices: int | None = None,
    tenant_hq: str = "CN",
    **physics_args: Any,
) -> dict[str, Any]:
    """The serving estimate and the cost per million output tokens at the cheapest option.

    With a daily demand, the cost covers every device the demand needs for a day (prefill
    included); without one, one fully used decode device."""
    from estimator.physics import serving_estimate

    est = serving_estimate(catalog, model, accelerator, **physics_args)
    out_per_day = physics_args.get("output_tokens_per_day")
    devices = total_devices or est.devices_needed or est.tensor_parallel
    opt = cheapest_option(
        catalog,
        accelerator,
        devices,
        costing.HOURS_PER_DAY,
        as_of,
        region=region,
        pricing=pricing,
        provider=provider,
        per_billed_hour=True,
    )
    # Price a day as the daily share of whatever term is billed.
    per_day_usd = opt["total_usd"] * costing.HOURS_PER_DAY / opt["billed_hours"]
    if out_per_day:
        tokens_per_day = min(out_per_day, est.output_tokens_per_s_per_device * devices * 86_400.0)
    else:
        tokens_per_day = est.output_tokens_per_s_per_device * devices * 86_400.0
    return {
        **est.model_dump(),
        "devices": devices,
        "cost_per_day": _money(catalog, per_day_usd, currency, as_of),
        "cost_per_million_output_tokens": _money(
            catalog, per_day_usd / tokens_per_day * 1e6, currency, as_of
        ),
        "currency": currency,
        **_offer_fields(catalog, opt, as_of, tenant_hq),
    }
