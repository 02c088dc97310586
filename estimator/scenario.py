"""The input: a scenario (one model, phases placed at sites, transfers between them).

Pydantic models validate shape and values; `load_scenario` reads TOML, YAML or JSON and turns
every validation problem into one ScenarioError naming the file and the field path. Checks that
need the catalog (does this region exist?) happen in `estimator.quoting`.
"""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from estimator.errors import ScenarioError
from pricing.errors import suggest
from pricing.schema import Arch, DataClass, TrainWorkload
from pricing.schema import SitePricing as Pricing

Precision = Literal["bf16", "fp16", "fp8", "int8"]
Recompute = Literal["none", "selective", "full"]
Positive = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Site(_Strict):
    """Where a phase runs. `pricing = "owned"` means bought hardware (see hardware.csv)."""

    region: str
    accelerator: str
    pricing: Pricing = "on_demand"
    provider: str | None = None
    instance: str | None = None


class AutoSite(_Strict):
    """A site the planner chooses; each list (empty = any) narrows the search."""

    regions: list[str] = Field(default_factory=list)
    accelerators: list[str] = Field(default_factory=list)
    pricing: list[Pricing] = Field(default_factory=list)
    providers: list[str] = Field(default_factory=list)


class ModelInput(_Strict):
    """A preset from models.csv, or a custom model (parameters as counts, e.g. 7e10)."""

    preset: str | None = None
    name: str | None = None
    arch: Arch | None = None
    total_params: Positive | None = None
    active_params: Positive | None = None
    layers: PositiveInt | None = None
    hidden: PositiveInt | None = None
    heads: PositiveInt | None = None
    kv_heads: PositiveInt | None = None
    head_dim: PositiveInt | None = None
    vocab: PositiveInt | None = None
    experts: PositiveInt | None = None
    experts_active: PositiveInt | None = None
    kv_lora_rank: PositiveInt | None = None
    rope_head_dim: PositiveInt | None = None

    @model_validator(mode="after")
    def _preset_or_params(self) -> ModelInput:
        if self.preset is None and self.total_params is None:
            raise ValueError("give either preset or total_params")
        if (
            self.total_params is not None
            and self.active_params is not None
            and self.active_params > self.total_params
        ):
            raise ValueError(
                f"active_params {self.active_params:g} is larger than total_params "
                f"{self.total_params:g}"
            )
        return self

    def custom_fields(self) -> dict[str, Any]:
        return self.model_dump(exclude={"preset"}, exclude_none=True)


class _Phase(_Strict):
    name: str = Field(min_length=1)
    data: DataClass = "public"
    site: Site | AutoSite | Literal["auto"]
    precision: Precision | None = None
    mfu: Annotated[float, Field(gt=0, le=1)] | None = None
    goodput: Annotated[float, Field(gt=0, le=1)] | None = None
    devices: PositiveInt | None = None

    @property
    def is_auto(self) -> bool:
        return not isinstance(self.site, Site)


class TrainPhase(_Phase):
    kind: Literal["train"] = "train"
    tokens: Positive
    workload: TrainWorkload = "pretrain"
    deadline_days: Positive | None = None
    seq_len: PositiveInt | None = None
    # The parallel layout; unset, the tool picks the fastest that fits (stated in the quote).
    recompute: Recompute | None = Field(
        default=None,
        description="Activation recomputation; unset: the fewest layers recomputed in full "
        "that make the activations fit.",
    )
    tensor_parallel: PositiveInt | None = None
    pipeline_parallel: PositiveInt | None = None
    expert_parallel: PositiveInt | None = None
    global_batch_tokens: Positive | None = Field(
        default=None, description="Tokens per optimizer step (default 16M, as Llama 3 405B)."
    )

    @field_validator("precision")
    @classmethod
    def _trainable(cls, value: str | None) -> str | None:
        if value == "int8":
            raise ValueError("int8 is not supported for training (use bf16, fp16 or fp8)")
        return value

    @model_validator(mode="after")
    def _devices_or_deadline(self) -> TrainPhase:
        if self.devices is None and self.deadline_days is None:
            raise ValueError("give devices or deadline_days")
        return self


class ServePhase(_Phase):
    kind: Literal["serve"]
    users: str = "CN"
    days: Positive
    # Daily demand; without it the fleet is one replica at full load (a capacity estimate).
    input_tokens_per_day: Positive | None = None
    output_tokens_per_day: Positive | None = None
    input_len: PositiveInt = 2048
    output_len: PositiveInt = 512
    tpot_ms: Positive | None = None
    ttft_ms: Positive | None = None
    peak_to_average: Annotated[float, Field(ge=1)] | None = None
    # Devices per replica (default: searched); `devices` is the whole fleet.
    replica_devices: PositiveInt | None = None
    # Separate prefill and decode pools (as DeepSeek and CloudMatrix-Infer deploy) instead of
    # both on every replica; KV cache precision (default: `precision`); the engine's cap on
    # concurrent sequences per replica (default: what the KV cache holds).
    disaggregated: bool = Field(
        default=False,
        description="Size separate prefill and decode pools; output_tokens_per_s_per_device is "
        "then per device of both pools in proportion to the request shape.",
    )
    kv_precision: Precision | None = None
    max_batch: PositiveInt | None = Field(
        default=None, description="Most concurrent sequences per replica (engine limit)."
    )

    @model_validator(mode="after")
    def _demand(self) -> ServePhase:
        if (self.input_tokens_per_day is None) != (self.output_tokens_per_day is None):
            raise ValueError("give both input_tokens_per_day and output_tokens_per_day, or neither")
        return self


Phase = Annotated[TrainPhase | ServePhase, Field(discriminator="kind")]


class Transfer(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    what: Literal["weights", "checkpoint", "dataset"] = "weights"
    gigabytes: Positive | None = None


class Scenario(_Strict):
    name: str = "scenario"
    as_of: date
    currency: str = "USD"
    tenant_hq: str = "CN"  # ISO 3166 alpha-2, as the rules' tenant_hq column
    model: ModelInput
    phases: list[Phase] = Field(min_length=1)
    transfers: list[Transfer] = Field(default_factory=list)
    _source: str = PrivateAttr(default="scenario")

    @field_validator("tenant_hq", "currency")
    @classmethod
    def _code(cls, value: str, info: ValidationInfo) -> str:
        # Rules and FX match codes exactly: 'cn' would silently match no rule.
        size = 2 if info.field_name == "tenant_hq" else 3
        if len(value) != size or not value.isalpha() or not value.isupper():
            what = "a country code like 'CN'" if size == 2 else "a currency code like 'CNY'"
            raise ValueError(f"must be {what} (upper case)")
        return value

    @model_validator(mode="before")
    @classmethod
    def _default_kind(cls, data: Any) -> Any:
        # `kind` defaults to "train" so a minimal training phase needs no kind line.
        if isinstance(data, dict) and isinstance(data.get("phases"), list):
            data = dict(data)
            data["phases"] = [
                {"kind": "train", **p} if isinstance(p, dict) and "kind" not in p else p
                for p in data["phases"]
            ]
        return data

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        names = [p.name for p in self.phases]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"phase names must be unique; repeated: {', '.join(dupes)}")
        for i, t in enumerate(self.transfers):
            for end in (t.from_, t.to):
                if end not in names:
                    hint = suggest(end, names)
                    extra = (
                        f": did you mean '{hint}'?" if hint else f" (phases: {', '.join(names)})"
                    )
                    raise ValueError(f"transfers[{i}] names a missing phase '{end}'{extra}")
        return self

    @property
    def source(self) -> str:
        return self._source

    def phase(self, name: str) -> TrainPhase | ServePhase:
        return next(p for p in self.phases if p.name == name)


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    """Validate already-parsed data (a dict); errors name `source` and the field path."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _scenario_error(exc, source) from None
    scenario._source = source
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario from a .toml, .yaml/.yml or .json file. The file is only read."""
    path = Path(path)
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("no such file", label) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read: {exc}", label) from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise ScenarioError(
                    "reading YAML needs PyYAML: pip install 'splitcompute[yaml]'", label
                ) from None
            data = yaml.safe_load(text)
        else:
            raise ScenarioError(
                f"unknown file type '{suffix or '(none)'}': use .toml, .yaml, .yml or .json", label
            )
    except ScenarioError:
        raise
    except Exception as exc:  # parser errors of three libraries; their message has the line
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        mark = getattr(exc, "problem_mark", None)  # PyYAML keeps the position apart
        if mark is not None:
            problem = getattr(exc, "problem", None) or msg
            msg = f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
        raise ScenarioError(f"not valid {suffix.lstrip('.').upper()}: {msg}", label) from None
    if not isinstance(data, dict):
        raise ScenarioError("the top level must be a table of fields", label)
    return parse_scenario(data, label)


_UNION_TAGS = ("train", "serve", "Site", "AutoSite", "literal['auto']")


def _scenario_error(exc: ValidationError, source: str) -> ScenarioError:
    errors = _likeliest_branch(exc.errors())
    # A typo shows up twice: the unknown field and the missing one it meant. Name the typo.
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc = [part for part in err["loc"] if part not in _UNION_TAGS]
    path = _format_loc(loc)
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        field = str(loc[-1])
        known = _known_fields(loc[:-1], exc)
        hint = suggest(field, known) if known else None
        msg = f"unknown field '{field}'" + (f": did you mean '{hint}'?" if hint else "")
    elif err["type"] == "missing":
        msg = "missing required field"
    elif "input" in err and not isinstance(err["input"], dict | list):
        msg = f"{msg} (got {err['input']!r})"
    msg = msg.removeprefix("Value error, ")
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return ScenarioError(msg, f"{source}: {path}" if path else source)


def _likeliest_branch(errors: list[Any]) -> list[Any]:
    """A site is `Site | AutoSite | "auto"`, and pydantic reports a failure per member. Keep the
    member the user meant: a fixed site when the table names a region or accelerator."""

    def branch(err: Any) -> str | None:
        return next((p for p in err["loc"] if p in ("Site", "AutoSite", "literal['auto']")), None)

    site_input = next((e["input"] for e in errors if branch(e) == "literal['auto']"), None)
    if isinstance(site_input, dict):
        meant = "Site" if {"region", "accelerator"} & set(site_input) else "AutoSite"
    else:
        meant = "literal['auto']"
    kept = [e for e in errors if branch(e) in (None, meant)]
    return kept or errors


def _format_loc(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            part = "from" if part == "from_" else str(part)
            out += f".{part}" if out else part
    return out


def _known_fields(loc: list[Any], exc: ValidationError) -> list[str]:
    """Field names allowed at a location, for 'did you mean' on typos."""
    if not loc:
        return list(Scenario.model_fields)
    head = loc[0]
    models: dict[str, type[BaseModel]] = {"model": ModelInput}
    if head in models and len(loc) == 1:
        return list(models[head].model_fields)
    if head == "phases":
        if len(loc) >= 3 and loc[2] == "site":
            return list(Site.model_fields) + list(AutoSite.model_fields)
        return sorted(set(TrainPhase.model_fields) | set(ServePhase.model_fields))
    if head == "transfers":
        return ["from", "to", "what", "gigabytes"]
    return []


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of a scenario file (`splitcompute schema`)."""
    return Scenario.model_json_schema(by_alias=True)
