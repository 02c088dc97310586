"""The view of a `train` / `serve` estimate (`EstimateView`): one phase's placement, physics
and money as shown. Apart from `report.view`, which every quote and plan imports, so they do not
build a model only these commands (and `schema estimate`) use."""

# Annotations are objects here, as in `report.view` (pydantic evaluates string annotations one
# by one as it builds a model).
from datetime import date
from typing import Any

from pydantic import ConfigDict, Field

from estimator.findings import Finding
from estimator.frozen import empty_dict
from estimator.report.view import _UNTIMED, SCHEMA_VERSION, _shown, _View, quote_view
from estimator.results import OfferUsed, Quote
from estimator.scenario import Scenario


class EstimateView(_View):
    """A `train` / `serve` estimate as shown: the one phase's placement, physics and money,
    with its findings. The physics figures are top-level fields (see `estimate_view`)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    schema_version: str = SCHEMA_VERSION
    kind: str
    model: str
    accelerator: str
    region: str
    pricing: str
    provider: str
    instance: str
    offer: OfferUsed | None
    priced: bool = Field(
        description="False: no price for this site; cost is 0 and the findings say why."
    )
    allowed: bool = Field(
        description="False: a finding blocks this placement (severity block); --strict exits 1."
    )
    no_allowed_option: str | None = Field(
        default=None,
        description="Set when no option within the filters is allowed: why, and that the "
        "placement shown is the closest one (its blocks among the findings).",
    )
    devices: int
    billed_devices: int = Field(
        description="Devices paid for: whole instances or servers; `devices` of them work."
    )
    device_hours: float | None = Field(description=_UNTIMED)
    wall_clock_days: float | None = Field(description=_UNTIMED)
    cost: float
    currency: str
    as_of: date = Field(description="The date of the prices, rates and rules used (--as-of).")
    cost_per_million_output_tokens: float | None = Field(
        default=None,
        description="Cost over the phase / output tokens served (the demand, or the fleet's "
        "capacity at output_tokens_per_s_per_device x serve_goodput), per million.",
    )
    findings: list[Finding]
    assumptions: dict[str, Any] = Field(
        default_factory=empty_dict,
        description="The model shape used (and which fields were inferred from the parameter "
        "count), the physics summary, the offer, rates and dates.",
    )
    # Serving figures (serve only), one meaning each.
    output_tokens_per_s_per_device: float | None = Field(
        default=None,
        description="Sustained output tokens/s per device at the request's input/output lengths "
        "with the prefill of every input done on the same devices (continuous batching, the "
        "way TensorRT-LLM, vLLM, SGLang and NIM throughput benchmarks measure); when the phase "
        "is disaggregated, per device of prefill + decode pools sized for that shape. At the "
        "largest batch that fits, or under the TPOT / TTFT targets when given. The cost per "
        "million tokens of a fleet without a demand uses this figure.",
    )
    demand_output_tokens_per_s_per_device: float | None = Field(
        default=None,
        description="The same rate at the daily demand's own input per output token: the rate "
        "the fleet is sized at (devices_needed: the peak output tokens/s over serve_goodput "
        "over this rate, in whole replicas, of each pool when disaggregated: prefill pool for "
        "the daily input at prefill_tokens_per_s_per_device, decode pool for the daily output "
        "at decode_tokens_per_s_per_device). Differs from output_tokens_per_s_per_device when "
        "the demand has more input per output token than the request shape (or, "
        "disaggregated, less). Null without a demand.",
    )
    decode_tokens_per_s_per_device: float | None = Field(
        default=None,
        description="Output tokens/s per device of a dedicated decode pool (no prefill on its "
        "devices), under the TPOT target when given.",
    )
    prefill_tokens_per_s_per_device: float | None = Field(
        default=None,
        description="Prompt tokens/s per device of a dedicated prefill pool.",
    )
    ttft_ms: float | None = Field(
        default=None,
        description="Time to first token, ms, before any queueing and without the network round "
        "trip (a TTFT target counts the round trip to the users). Prefill on the same devices: "
        "the prompt's own prefill on the replica plus one step of the running batch (tpot_ms), "
        "at the batch shown; disaggregated: the prompt's prefill on a prefill-pool replica.",
    )


# Phase-level figures the estimate sets itself; the physics dict's copies are not repeated.
_SET_BY_VIEW = frozenset(
    {"kind", "devices", "device_hours", "wall_clock_days", "cost", "currency", "findings"}
)


def estimate_view(q: Quote, scenario: Scenario) -> EstimateView:
    (p,) = quote_view(q).phases
    physics = {k: v for k, v in p.physics.items() if k not in _SET_BY_VIEW}
    return EstimateView(
        kind=p.kind,
        model=scenario.model.preset or scenario.model.name or "custom",
        accelerator=p.accelerator,
        region=p.region,
        pricing=p.pricing,
        provider=p.provider,
        instance=p.instance,
        offer=p.offer,
        priced=p.priced,
        allowed=not q.blocked,
        no_allowed_option=q.assumptions.get("no_allowed_option"),
        devices=p.devices,
        billed_devices=p.billed_devices,
        device_hours=p.device_hours,
        wall_clock_days=p.wall_clock_days,
        cost=p.cost,
        currency=q.currency,
        as_of=q.as_of,
        cost_per_million_output_tokens=p.cost_per_million_output_tokens,
        findings=q.findings,
        assumptions={
            "model": _shown(q.assumptions.get("model")),
            "physics": _shown(q.assumptions.get("physics", {}).get(p.name)),
            # The warnings --avoid turned into blocks, as a quote lists them (rev19d #4).
            **({"avoid": q.assumptions["avoid"]} if q.assumptions.get("avoid") else {}),
            # The round trip a TTFT target was judged with, dated as the quote dates it
            # (rev18c #2: `serve --ttft-ms` used a later-dated row without saying so); the
            # chosen option's caution warnings and the cheapest option without them (rev19a #6).
            **{
                k: _shown(said)
                for k in ("latency", "caution")
                if (said := q.assumptions.get(k, {}).get(p.name)) is not None
            },
        },
        **physics,
    )
