"""`splitcompute train`, `serve` and `calibration`: quick estimates from flags, and the physics
against published runs. A quick estimate is a one-phase scenario (`estimator.estimate`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from estimator.cli.app import (
    AllErrorsOpt,
    AsOfOpt,
    CatalogDir,
    CurrencyOpt,
    FormatOpt,
    PricingOpt,
    ProviderOpt,
    RegionOpt,
    TenantOpt,
    app,
    check_format,
    clean_errors,
    load_catalog,
    parse_date,
    strict_exit,
)

# The model: a preset, or a custom architecture (missing fields are inferred and stated).
ModelOpt = Annotated[str | None, typer.Option(help="Model preset (see `catalog models`).")]
ParamsOpt = Annotated[float | None, typer.Option(help="Total parameters of a custom model.")]
ActiveOpt = Annotated[
    float | None, typer.Option(help="Active parameters per token (MoE; default = params).")
]
IntOpt = Annotated[int | None, typer.Option()]
LayersOpt = Annotated[int | None, typer.Option(help="Transformer layers (custom model).")]
HiddenOpt = Annotated[int | None, typer.Option(help="Hidden size (custom model).")]
HeadsOpt = Annotated[int | None, typer.Option(help="Attention heads (custom model).")]
KvHeadsOpt = Annotated[int | None, typer.Option(help="Key/value heads (GQA; custom model).")]
ExpertsOpt = Annotated[int | None, typer.Option(help="Routed experts (MoE; custom model).")]
ExpertsActiveOpt = Annotated[
    int | None, typer.Option(help="Routed experts per token (MoE; custom model).")
]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Exit 1 when a finding blocks.")]


# Flag -> scenario field, where the names differ (a serve --devices is one replica's size).
_FIELDS = {"model": "preset", "params": "total_params"}
_NOT_FIELDS = ("fmt", "strict", "catalog_dir", "all_errors", "as_of", "currency")


def _estimate(kind: str, flags: dict[str, Any]) -> None:
    """Run a quick estimate from a command's flags (its `locals()`) and print it."""
    from estimator.errors import ScenarioError
    from estimator.estimate import estimate
    from estimator.report.text import check_finite, render
    from estimator.report.view import estimate_view

    fmt, strict = check_format(flags["fmt"]), flags["strict"]
    if (flags["model"] is None) == (flags["params"] is None):
        raise ScenarioError("give exactly one of --model PRESET or --params N")
    if kind == "train" and (flags["devices"] is None) == (flags["deadline_days"] is None):
        raise ScenarioError("give exactly one of --devices or --deadline-days")
    names = {**_FIELDS, **({"devices": "replica_devices"} if kind == "serve" else {})}
    fields = {names.get(k, k): v for k, v in flags.items() if k not in _NOT_FIELDS}
    q, scenario = estimate(
        kind,
        load_catalog(flags["catalog_dir"]),
        currency=flags["currency"] or "USD",
        as_of=parse_date(flags["as_of"], "--as-of") or date.today(),
        **fields,
    )
    view = estimate_view(q, scenario)
    check_finite(view)
    if fmt in ("json", "csv"):
        from estimator.report.rows import render_rows

        data = view.model_dump(mode="json")
        typer.echo(render(view, fmt) if fmt == "json" else render_rows([_flat(data)], "csv"))
    else:
        typer.echo(_record_text(view.model_dump(mode="json"), fmt))
    if strict:
        strict_exit(q.findings)


def _flat(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: "; ".join(f"{f['severity']} {f['code']}" for f in v) if k == "findings" else v
        for k, v in data.items()
    }


def _record_text(data: dict[str, Any], fmt: str) -> str:
    from estimator.report.rows import render_rows

    rows = [{"quantity": k, "value": v} for k, v in _flat(data).items() if k != "schema_version"]
    return render_rows(rows, fmt)


@app.command("train")
@clean_errors
def train_cmd(
    tokens: Annotated[float, typer.Option(help="Training tokens, e.g. 15e12.")],
    accelerator: Annotated[str, typer.Option(help="Accelerator id (see `catalog accelerators`).")],
    model: ModelOpt = None,
    params: ParamsOpt = None,
    active_params: ActiveOpt = None,
    layers: LayersOpt = None,
    hidden: HiddenOpt = None,
    heads: HeadsOpt = None,
    kv_heads: KvHeadsOpt = None,
    experts: ExpertsOpt = None,
    experts_active: ExpertsActiveOpt = None,
    seq_len: Annotated[int | None, typer.Option(help="Training sequence length.")] = None,
    devices: Annotated[int | None, typer.Option(help="Devices to train on.")] = None,
    deadline_days: Annotated[
        float | None, typer.Option(help="Or: finish within this many days.")
    ] = None,
    precision: Annotated[str, typer.Option(help="bf16, fp16 or fp8.")] = "bf16",
    mfu: Annotated[float | None, typer.Option(help="Override the MFU default.")] = None,
    goodput: Annotated[float | None, typer.Option(help="Override the goodput default.")] = None,
    workload: Annotated[str, typer.Option(help="pretrain or finetune.")] = "pretrain",
    data: Annotated[str, typer.Option(help="public, personal or important (rules).")] = "public",
    region: RegionOpt = None,
    pricing: PricingOpt = None,
    provider: ProviderOpt = None,
    tenant_hq: TenantOpt = "CN",
    currency: CurrencyOpt = None,
    as_of: AsOfOpt = None,
    strict: StrictOpt = False,
    fmt: FormatOpt = "table",
    catalog_dir: CatalogDir = None,
    all_errors: AllErrorsOpt = False,
) -> None:
    """Training estimate: FLOPs, device-hours, days, devices, memory, and its cost where it is
    cheapest within the filters (rented or bought; spot only with --pricing spot)."""
    _estimate("train", locals())


@app.command("serve")
@clean_errors
def serve_cmd(
    accelerator: Annotated[str, typer.Option(help="Accelerator id.")],
    input_len: Annotated[int, typer.Option(help="Input tokens per request.")],
    output_len: Annotated[int, typer.Option(help="Output tokens per request.")],
    model: ModelOpt = None,
    params: ParamsOpt = None,
    active_params: ActiveOpt = None,
    layers: LayersOpt = None,
    hidden: HiddenOpt = None,
    heads: HeadsOpt = None,
    kv_heads: KvHeadsOpt = None,
    experts: ExpertsOpt = None,
    experts_active: ExpertsActiveOpt = None,
    precision: Annotated[str, typer.Option(help="bf16, fp16, fp8 or int8.")] = "bf16",
    tpot_ms: Annotated[float | None, typer.Option(help="Time per output token target, ms.")] = None,
    ttft_ms: Annotated[float | None, typer.Option(help="Time to first token target, ms.")] = None,
    devices: Annotated[
        int | None, typer.Option(help="Devices per replica (default: searched).")
    ] = None,
    input_tokens_per_day: Annotated[float | None, typer.Option(help="Daily input tokens.")] = None,
    output_tokens_per_day: Annotated[
        float | None, typer.Option(help="Daily output tokens.")
    ] = None,
    peak_to_average: Annotated[float | None, typer.Option(help="Peak / average demand.")] = None,
    days: Annotated[float, typer.Option(help="Days of serving priced.")] = 365.0,
    data: Annotated[str, typer.Option(help="public, personal or important (rules).")] = "public",
    region: RegionOpt = None,
    pricing: PricingOpt = None,
    provider: ProviderOpt = None,
    tenant_hq: TenantOpt = "CN",
    currency: CurrencyOpt = None,
    as_of: AsOfOpt = None,
    strict: StrictOpt = False,
    fmt: FormatOpt = "table",
    catalog_dir: CatalogDir = None,
    all_errors: AllErrorsOpt = False,
) -> None:
    """Serving estimate: prefill and decode tokens/s per device, batch, devices, cost per 1M
    output tokens where it is cheapest within the filters. Without a daily demand the fleet is
    one replica at full load."""
    _estimate("serve", locals())


@app.command("calibration")
@clean_errors
def calibration_cmd(
    fmt: FormatOpt = "table", catalog_dir: CatalogDir = None, all_errors: AllErrorsOpt = False
) -> None:
    """Published training and serving runs vs our prediction with default settings (% error)."""
    check_format(fmt)
    from estimator.calibration import calibration_table, summary
    from estimator.report.rows import render_rows

    table = calibration_table(load_catalog(catalog_dir))
    rows = table.to_dicts()
    if fmt in ("json", "csv"):
        typer.echo(render_rows(rows, fmt))
        return
    cols = [
        "run", "kind", "scored", "accelerator", "published", "predicted", "unit", "error_pct",
        "tolerance_pct",
    ]  # fmt: skip
    typer.echo(render_rows(rows, fmt, cols, title="Calibration against published runs"))
    typer.echo("")
    typer.echo(render_rows(summary(table).to_dicts(), fmt, title="Summary (scored runs)"))
