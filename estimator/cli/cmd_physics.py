"""`splitcompute train`, `serve` and `calibration`: quick estimates from flags, and the physics
against published runs. A quick estimate is a one-phase scenario (`estimator.estimate`)."""

from datetime import date
from typing import Annotated, Any

import typer

from estimator.cli.app import (
    AllErrorsOpt,
    AvoidOpt,
    CatalogDir,
    CurrencyOpt,
    EstimateAsOfOpt,
    ForceOpt,
    FormatOpt,
    OutputOpt,
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
from estimator.defaults import DEFAULT_INPUT_LEN, DEFAULT_OUTPUT_LEN, DEFAULT_SEQ_LEN
from pricing.schema import DEFAULT_PRECISION

# The model: a preset, or a custom architecture (missing fields are inferred and stated).
ModelOpt = Annotated[str | None, typer.Option(help="Model preset (see `catalog models`).")]
ParamsOpt = Annotated[
    float | None,
    typer.Option(
        help="Total parameters of a custom model. Shape fields not given are inferred from the "
        "parameter count (12 x layers x hidden^2 at hidden = 128 x layers, head_dim 128, 8 KV "
        "heads) and stated in the output's assumptions."
    ),
]
ActiveOpt = Annotated[
    float | None,
    typer.Option(help="Active parameters per token; below --params means MoE (default = params)."),
]
LayersOpt = Annotated[int | None, typer.Option(help="Transformer layers (custom model).")]
HiddenOpt = Annotated[int | None, typer.Option(help="Hidden size (custom model).")]
HeadsOpt = Annotated[int | None, typer.Option(help="Attention heads (custom model).")]
KvHeadsOpt = Annotated[int | None, typer.Option(help="Key/value heads (GQA; custom model).")]
HeadDimOpt = Annotated[int | None, typer.Option(help="Attention head dimension (custom model).")]
ExpertsOpt = Annotated[int | None, typer.Option(help="Routed experts (MoE; custom model).")]
ExpertsActiveOpt = Annotated[
    int | None, typer.Option(help="Routed experts per token (MoE; custom model).")
]
KvLoraOpt = Annotated[
    int | None, typer.Option(help="MLA latent KV rank (DeepSeek-style attention; custom model).")
]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Exit 1 when a finding blocks.")]
# rev13a #8: without a start, an estimate starts on its quote date, so every purchase it
# could quote was blocked by its lead time; a scenario's phase may say when it starts.
StartOpt = Annotated[
    str | None,
    typer.Option(
        help="Start on this date, YYYY-MM-DD (default: --as-of); bought hardware must arrive "
        "by then."
    ),
]


# Flag -> scenario field, where the names differ (a serve --devices is one replica's size).
_FIELDS = {"model": "preset", "params": "total_params"}
_NOT_FIELDS = (
    "fmt", "strict", "catalog_dir", "all_errors", "as_of", "currency", "output", "force",
)  # fmt: skip


def _estimate(kind: str, flags: dict[str, Any]) -> None:
    """Run a quick estimate from a command's flags (its `locals()`) and print it."""
    from estimator.errors import ScenarioError
    from estimator.estimate import estimate
    from estimator.physics.model import ARCH_FIELDS
    from estimator.report.estimate_view import estimate_view
    from estimator.report.text import check_finite, render

    output, force = flags["output"], flags["force"]
    fmt, strict = check_format(flags["fmt"], output), flags["strict"]
    if output is not None:  # before any work (rev17a #14: train / serve had no -o)
        from estimator.cli.output import check_output

        check_output(output, force, [flags["catalog_dir"]] if flags["catalog_dir"] else [])
    if (flags["model"] is None) == (flags["params"] is None):
        raise ScenarioError("give exactly one of --model PRESET or --params N")
    reshaped = [f for f in ARCH_FIELDS if flags.get(f) is not None]
    if flags["model"] is not None and reshaped:
        # A preset's parameter count is that of its published shape (rev14a #5: DeepSeek-V3
        # "with 4 layers" kept 671B / 37B and trained 45% cheaper).
        shape = "--" + reshaped[0].replace("_", "-")
        raise ScenarioError(
            f"--model {flags['model']} is its published shape and parameter count: for a model "
            f"with another {shape} give --params (and --active-params for an MoE) instead of "
            "--model",
            shape,
        )
    if kind == "train" and (flags["devices"] is None) == (flags["deadline_days"] is None):
        raise ScenarioError("give exactly one of --devices or --deadline-days")
    names = {**_FIELDS, **({"devices": "replica_devices"} if kind == "serve" else {})}
    fields = {names.get(k, k): v for k, v in flags.items() if k not in _NOT_FIELDS}
    cat = load_catalog(flags["catalog_dir"])
    if flags["avoid"]:
        from estimator.findings import check_avoid

        check_avoid(cat, flags["avoid"], "--avoid")
    q, scenario = estimate(
        kind,
        cat,
        currency=flags["currency"] or "USD",
        as_of=parse_date(flags["as_of"], "--as-of") or date.today(),
        **fields,
    )
    view = estimate_view(q, scenario)
    check_finite(view)
    from estimator.cli.output import emit

    if fmt in ("json", "csv"):
        from estimator.report.rows import render_rows

        data = view.model_dump(mode="json")
        emit(
            render(view, fmt) if fmt == "json" else render_rows([_flat(data)], "csv"), output, force
        )
    else:
        text = _record_text(view.model_dump(mode="json"), fmt, output)
        if fmt == "html":  # a page, as the other commands print (rev17a #19: a fragment)
            from estimator.report.html import page

            text = page(f"{kind.capitalize()} estimate: {view.model}", text)
        emit(text, output, force)  # (checked above: inputs are not written over)
    if strict:
        strict_exit(q.findings)


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """One level of fields for a table or CSV: nested records become dotted fields
    (`offer.provider`), findings `severity code` joined by '; ', other lists joined likewise
    (never Python's repr of a dict)."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if k == "findings" and not prefix:
            out[k] = "; ".join(f"{f['severity']} {f['code']}" for f in v)
        elif isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        elif isinstance(v, list):
            out[f"{prefix}{k}"] = "; ".join(str(x) for x in v)
        else:
            out[f"{prefix}{k}"] = v
    return out


# A serving estimate's figures, blank rows in a training estimate's text (review9a #12).
_SERVING_ONLY = frozenset(
    {
        "cost_per_million_output_tokens",
        "output_tokens_per_s_per_device",
        "demand_output_tokens_per_s_per_device",
        "decode_tokens_per_s_per_device",
        "prefill_tokens_per_s_per_device",
        "ttft_ms",
    }
)


def _record_text(data: dict[str, Any], fmt: str, output: Any = None) -> str:
    """The estimate as quantity / value rows, money in cents as every report shows it, fitted
    to the terminal (COLUMNS) as the other commands' tables are (review8a #16, #17), then its
    findings with their messages (the rows name only their codes: a published run's figures or
    a rule's reason were in the JSON alone)."""
    from estimator.cli.output import terminal
    from estimator.report.rows import Cents, render_rows

    term = terminal(output=output)
    # An unpriced estimate's cost is blank, not 0.00 (rev12a #4), as a quote's phase row is.
    unpriced = not data.get("priced", True)
    rows = [
        {
            "quantity": k,
            "value": (None if unpriced else Cents(v, data["currency"]))
            if k == "cost" and v is not None
            else v,
        }
        for k, v in _flat(data).items()
        if k != "schema_version"
        and not (data["kind"] == "train" and k in _SERVING_ONLY)
        # Said only when there was no allowed option (rev16b #12: an empty row otherwise).
        and not (k == "no_allowed_option" and v is None)
    ]
    parts = [render_rows(rows, fmt, term=term)]
    if data["findings"]:
        found = [{k: f[k] for k in ("severity", "code", "message")} for f in data["findings"]]
        parts.append(render_rows(found, fmt, title="Findings", term=term))
    return "\n\n".join(parts)


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
    head_dim: HeadDimOpt = None,
    experts: ExpertsOpt = None,
    experts_active: ExpertsActiveOpt = None,
    kv_lora_rank: KvLoraOpt = None,
    seq_len: Annotated[
        int | None, typer.Option(help=f"Training sequence length (default {DEFAULT_SEQ_LEN}).")
    ] = None,
    devices: Annotated[int | None, typer.Option(help="Devices to train on.")] = None,
    deadline_days: Annotated[
        float | None, typer.Option(help="Or: finish within this many days.")
    ] = None,
    precision: Annotated[str, typer.Option(help="bf16, fp16 or fp8.")] = DEFAULT_PRECISION,
    mfu: Annotated[
        float | None,
        typer.Option(
            help="Override the GEMM efficiency (share of peak the matmuls reach; the default "
            "comes from efficiency.csv). Communication, pipeline bubbles and recomputation come "
            "on top, so the effective_mfu reported is lower. At FP8 the GEMMs reach "
            "fp8_gemm_ratio (0.77) of it against the FP8 peak. To match a run you measured, "
            "raise it until the device-hours match (README: A faster stack than the "
            "estimate's)."
        ),
    ] = None,
    goodput: Annotated[
        float | None, typer.Option(help="Override the goodput default (1 = no failures).")
    ] = None,
    recompute: Annotated[
        str | None,
        typer.Option(
            help="none, selective or full activation recomputation (default: the fewest layers "
            "recomputed in full that fit)."
        ),
    ] = None,
    tensor_parallel: Annotated[
        int | None, typer.Option(help="Tensor-parallel size (default: searched).")
    ] = None,
    pipeline_parallel: Annotated[
        int | None, typer.Option(help="Pipeline stages (default: searched).")
    ] = None,
    expert_parallel: Annotated[
        int | None, typer.Option(help="Expert-parallel size, MoE (default: searched).")
    ] = None,
    global_batch_tokens: Annotated[
        float | None, typer.Option(help="Tokens per optimizer step (default 2^24 = 16.8M).")
    ] = None,
    workload: Annotated[str, typer.Option(help="pretrain or finetune.")] = "pretrain",
    data: Annotated[
        str | None, typer.Option(help="public, personal or important (rules); default public.")
    ] = None,
    region: RegionOpt = None,
    pricing: PricingOpt = None,
    provider: ProviderOpt = None,
    tenant_hq: TenantOpt = "CN",
    avoid: AvoidOpt = None,
    currency: CurrencyOpt = None,
    as_of: EstimateAsOfOpt = None,
    start: StartOpt = None,
    strict: StrictOpt = False,
    fmt: FormatOpt = None,
    catalog_dir: CatalogDir = None,
    all_errors: AllErrorsOpt = False,
    output: OutputOpt = None,
    force: ForceOpt = False,
) -> None:
    """Training estimate: FLOPs, device-hours, days, layout and cost where cheapest.

    FLOPs, device-hours, days, devices, memory, the parallel layout the tool picks (shown in the
    output) and its cost where it is cheapest within the filters (rented or bought; spot only
    with --pricing spot).

    When the market or the rules allow no option (a part that cannot be bought new, a purchase's
    lead time, a rule, too little capacity), the closest option is shown with what blocks it
    among the findings (--strict exits 1); when the physics has no answer (the model does not
    fit, the precision is missing, the deadline cannot be met), with --region and --pricing too,
    or no offer matches, an error."""
    _estimate("train", locals())


@app.command("serve")
@clean_errors
def serve_cmd(
    accelerator: Annotated[str, typer.Option(help="Accelerator id.")],
    input_len: Annotated[
        int,
        typer.Option(help=f"Input tokens per request (a scenario's default: {DEFAULT_INPUT_LEN})."),
    ] = DEFAULT_INPUT_LEN,
    output_len: Annotated[
        int,
        typer.Option(
            help=f"Output tokens per request (a scenario's default: {DEFAULT_OUTPUT_LEN})."
        ),
    ] = DEFAULT_OUTPUT_LEN,
    model: ModelOpt = None,
    params: ParamsOpt = None,
    active_params: ActiveOpt = None,
    layers: LayersOpt = None,
    hidden: HiddenOpt = None,
    heads: HeadsOpt = None,
    kv_heads: KvHeadsOpt = None,
    head_dim: HeadDimOpt = None,
    experts: ExpertsOpt = None,
    experts_active: ExpertsActiveOpt = None,
    kv_lora_rank: KvLoraOpt = None,
    precision: Annotated[str, typer.Option(help="bf16, fp16, fp8 or int8.")] = DEFAULT_PRECISION,
    kv_precision: Annotated[
        str | None, typer.Option(help="KV cache precision (default: --precision).")
    ] = None,
    disaggregated: Annotated[
        bool,
        typer.Option(
            "--disaggregated",
            help="Size separate prefill and decode pools (as DeepSeek and CloudMatrix-Infer "
            "deploy) instead of serving both on every replica.",
        ),
    ] = False,
    max_batch: Annotated[
        int | None,
        typer.Option(help="Most concurrent sequences per replica (default: what the KV fits)."),
    ] = None,
    tpot_ms: Annotated[float | None, typer.Option(help="Time per output token target, ms.")] = None,
    ttft_ms: Annotated[
        float | None,
        typer.Option(help="Time to first token target, ms, round trip to --users included."),
    ] = None,
    devices: Annotated[
        int | None,
        typer.Option(
            "--devices",
            "--replica-devices",
            help="Devices per replica, as benchmarks run one (default: searched); a scenario's "
            "replica_devices, not its devices (the fleet). A dense model's replica splits its "
            "attention heads; one that fits an instance stays inside one.",
        ),
    ] = None,
    input_tokens_per_day: Annotated[float | None, typer.Option(help="Daily input tokens.")] = None,
    output_tokens_per_day: Annotated[
        float | None, typer.Option(help="Daily output tokens.")
    ] = None,
    peak_to_average: Annotated[float | None, typer.Option(help="Peak / average demand.")] = None,
    days: Annotated[float, typer.Option(help="Days of serving priced.")] = 365.0,
    data: Annotated[
        str | None,
        typer.Option(
            help="public, personal or important (rules); default public, personal for users "
            "in China (their prompts are personal information)."
        ),
    ] = None,
    users: Annotated[
        str,
        typer.Option(
            help="Where the users are (round trip in TTFT, findings): cn, sea, mena, eu, us, "
            "or foreign (the nearest market outside China)."
        ),
    ] = "cn",
    region: RegionOpt = None,
    pricing: PricingOpt = None,
    provider: ProviderOpt = None,
    tenant_hq: TenantOpt = "CN",
    avoid: AvoidOpt = None,
    currency: CurrencyOpt = None,
    as_of: EstimateAsOfOpt = None,
    start: StartOpt = None,
    strict: StrictOpt = False,
    fmt: FormatOpt = None,
    catalog_dir: CatalogDir = None,
    all_errors: AllErrorsOpt = False,
    output: OutputOpt = None,
    force: ForceOpt = False,
) -> None:
    """Serving estimate where cheapest: batch, TPOT, TTFT, devices, cost per 1M tokens.

    Batch, TPOT, TTFT, devices and cost per 1M output tokens where it is cheapest within the
    filters, from four rates, each with one meaning:

    output_tokens_per_s_per_device: sustained output tokens/s per device at --input-len /
    --output-len with the prefill of every input on the same devices (continuous batching, as
    TensorRT-LLM, vLLM, SGLang and NIM benchmarks measure); with --disaggregated, per device of
    prefill + decode pools sized for that shape. At maximum throughput, or under --tpot-ms /
    --ttft-ms when given. Without a daily demand, the fleet and its cost per 1M tokens use
    this figure.

    demand_output_tokens_per_s_per_device: the same at the daily demand's own input per output
    token (--input-tokens-per-day / --output-tokens-per-day), the rate the fleet is sized at:
    peak output tokens/s / serving goodput / this rate, in whole replicas; with
    --disaggregated, of each pool: a prefill pool for the daily input at the prefill rate, a
    decode pool for the daily output at the decode rate. Blank without a demand.

    decode_tokens_per_s_per_device: a dedicated decode pool (no prefill on its devices).

    prefill_tokens_per_s_per_device: a dedicated prefill pool (prompt tokens/s).

    ttft_ms: time to first token before queueing, without the round trip (--ttft-ms adds the
    round trip to --users). Prefill on the same devices: the prompt's own prefill on the replica
    plus one step of the running batch (TPOT), so --ttft-ms caps the batch as --tpot-ms does;
    with --disaggregated, the prompt's prefill on a prefill-pool replica.

    replicas: the fleet's replicas of tensor_parallel devices each; devices_needed: the devices
    the daily demand keeps busy at its peak, in whole replicas (blank without a demand: none is
    needed, and devices is the fleet).

    Without a daily demand the fleet is whole instances of replicas at full load (of each pool
    when disaggregated), and offers are compared by price per output token. When the market or
    the rules allow no option, the closest is shown with what blocks it, as for `train`; when
    the physics has no answer (the model does not fit, the precision is missing, a latency target
    cannot be met), an error, with --region and --pricing too."""
    _estimate("serve", locals())


@app.command("calibration")
@clean_errors
def calibration_cmd(
    phase: Annotated[
        str | None, typer.Option(help="Only train or serve points (default: both).")
    ] = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    catalog_dir: CatalogDir = None,
    all_errors: AllErrorsOpt = False,
) -> None:
    """Public benchmarks and runs vs our prediction, with the error of each and in sum.

    Every point with its source, kind (throughput benchmark, whole run, serving shape), split
    (fit = the constants were tuned on it, heldout = not), figure, prediction and % error; then
    median and max |error| of the scored points per kind, per split and per device family."""
    fmt = check_format(fmt, output)
    from estimator.calibration import calibration_table, summary
    from estimator.cli.output import check_output, emit, terminal
    from estimator.errors import ScenarioError
    from estimator.report.rows import render_rows, to_json

    if phase not in (None, "train", "serve"):
        raise ScenarioError(f"unknown phase '{phase}': use train or serve", "--phase")
    # -o FILE as every other command with --format has it (rev14a nit): written whole or not
    # at all, never over a file without --force, refused before any work.
    if output is not None:
        check_output(output, force, [catalog_dir] if catalog_dir else [])
    table = calibration_table(load_catalog(catalog_dir), phase)
    by_split, by_family = summary(table).to_dicts(), summary(table, "family").to_dicts()
    if fmt == "json":
        payload = {"points": table.to_dicts(), "by_split": by_split, "by_family": by_family}
        emit(to_json(payload), output, force)
        return
    if fmt == "csv":
        emit(render_rows(table.to_dicts(), fmt), output, force)
        return
    cols = [
        "id", "phase", "kind", "split", "scored", "accelerator", "figure", "predicted", "unit",
        "error_pct", "tolerance_pct",
    ]  # fmt: skip
    term = terminal(output=output)  # fitted to COLUMNS, as every table (review8a #16)
    optional = ("scored", "unit", "tolerance_pct", "phase", "kind")
    parts = [
        render_rows(
            table.to_dicts(), fmt, cols, title="Calibration points", term=term, optional=optional
        )
    ]
    for title, rows in (("By split (scored points)", by_split), ("By device family", by_family)):
        parts += ["", render_rows(rows, fmt, title=title, term=term)]
    emit("\n".join(parts), output, force)
