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

from estimator.bounds import MAX_DAYS, MAX_DEVICES, MAX_LEN, MAX_PARAMS, MAX_TOKENS, MIN_DAYS, Range
from estimator.errors import ScenarioError
from pricing.countries import COUNTRIES
from pricing.errors import shown, suggest
from pricing.files import MAX_SCENARIO_BYTES, InputFileError, read_bounded
from pricing.schema import MAX_COUNT, Accounting, Arch, DataClass, Evidence, TrainWorkload, Users
from pricing.schema import SitePricing as Pricing

Precision = Literal["bf16", "fp16", "fp8", "int8"]
# Every number a scenario (or a `train` / `serve` flag) gives is finite and within the range
# declared here (estimator.bounds says why these bounds).
Tokens = Annotated[float, Range(1, MAX_TOKENS)]  # at least a token: 5e-324 overflowed a quotient
Days = Annotated[float, Range(MIN_DAYS, MAX_DAYS)]
Count = Annotated[int, Range(1, MAX_COUNT)]
Length = Annotated[int, Range(1, MAX_LEN)]
Params = Annotated[float, Range(1e6, MAX_PARAMS)]
Efficiency = Annotated[float, Range(0.001, 1)]
# Names and ids: longer text is no name (a 50 MB name was accepted and echoed); lists of ids
# and of phases are bounded so the work a file can ask for is bounded.
Name = Annotated[str, Field(min_length=1, max_length=200)]
Id = Annotated[str, Field(max_length=100)]
MAX_LIST = 1000
Recompute = Literal["none", "selective", "full"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Site(_Strict):
    """Where a phase runs. `pricing = "owned"` means hardware bought for the plan (see
    hardware.csv); `pricing = "fleet"` runs on a fleet the tenant has (`fleet` names it when
    several share the region and accelerator)."""

    region: Id
    accelerator: Id
    pricing: Pricing = "on_demand"
    provider: Id | None = None
    instance: Id | None = None
    fleet: Id | None = None


class Fleet(_Strict):
    """Hardware the tenant already owns: its capital is sunk (shown, not charged); energy and
    operations are charged for the hours phases use it. `book_value` is in the scenario's
    currency; without it operations are costed on the catalog's server price."""

    name: Name
    region: Id
    accelerator: Id
    devices: Annotated[int, Range(1, MAX_DEVICES)]
    acquired: date | None = None
    book_value: Annotated[float, Range(0, 1e15)] | None = None


class AutoSite(_Strict):
    """A site the planner chooses; each list (empty = any) narrows the search. Spot capacity is
    a candidate only when `pricing` names it; offers whose capacity rests on a billing SKU alone
    only when `evidence` names "sku" (empty = listed or reported capacity)."""

    regions: list[Id] = Field(default_factory=list, max_length=MAX_LIST)
    accelerators: list[Id] = Field(default_factory=list, max_length=MAX_LIST)
    pricing: list[Pricing] = Field(default_factory=list, max_length=MAX_LIST)
    providers: list[Id] = Field(default_factory=list, max_length=MAX_LIST)
    evidence: list[Evidence] = Field(default_factory=list, max_length=MAX_LIST)


class ModelInput(_Strict):
    """A preset from models.csv, or a custom model (parameters as counts, e.g. 7e10)."""

    preset: Id | None = None
    name: Name | None = None
    arch: Arch | None = None
    total_params: Params | None = None
    active_params: Params | None = None
    layers: Count | None = None
    hidden: Length | None = None
    heads: Count | None = None
    kv_heads: Count | None = None
    head_dim: Count | None = None
    vocab: Annotated[int, Range(1, 100_000_000)] | None = None
    experts: Count | None = None
    experts_active: Count | None = None
    kv_lora_rank: Length | None = None
    rope_head_dim: Count | None = None

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
    name: Name
    data: DataClass = "public"
    site: Site | AutoSite | Literal["auto"]
    precision: Precision | None = None
    mfu: Efficiency | None = None
    goodput: Efficiency | None = None
    devices: Annotated[int, Range(1, MAX_DEVICES)] | None = None
    # When the phase runs: a date, or right after another phase (default: training phases in
    # order from the scenario date; serving from the end of the training before it).
    start: date | None = None
    after: Name | None = None

    @property
    def is_auto(self) -> bool:
        return not isinstance(self.site, Site)

    @model_validator(mode="after")
    def _one_start(self) -> _Phase:
        if self.start is not None and self.after is not None:
            raise ValueError("give start or after, not both")
        return self


class TrainPhase(_Phase):
    kind: Literal["train"] = "train"
    tokens: Tokens
    workload: TrainWorkload = "pretrain"
    deadline_days: Days | None = None
    seq_len: Length | None = None
    # The parallel layout; unset, the tool picks the fastest that fits (stated in the quote).
    recompute: Recompute | None = Field(
        default=None,
        description="Activation recomputation; unset: the fewest layers recomputed in full "
        "that make the activations fit.",
    )
    tensor_parallel: Count | None = None
    pipeline_parallel: Count | None = None
    expert_parallel: Count | None = None
    global_batch_tokens: Tokens | None = Field(
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
    # The market the users are in (latency.csv); "foreign" = anywhere outside China, judged
    # by the nearest market abroad.
    users: Users = "cn"
    days: Days
    # Daily demand; without it the fleet is one replica at full load (a capacity estimate).
    input_tokens_per_day: Tokens | None = None
    output_tokens_per_day: Tokens | None = None
    input_len: Length = 2048
    output_len: Length = 512
    # Latency targets in ms: from a tenth of a millisecond to a minute per token, an hour to
    # the first token.
    tpot_ms: Annotated[float, Range(0.1, 60_000)] | None = None
    ttft_ms: Annotated[float, Range(0.1, 3_600_000)] | None = None
    peak_to_average: Annotated[float, Range(1, 100)] | None = None
    # Devices per replica (default: searched); `devices` is the whole fleet.
    replica_devices: Count | None = None
    # Separate prefill and decode pools (as DeepSeek and CloudMatrix-Infer deploy) instead of
    # both on every replica; KV cache precision (default: `precision`); the engine's cap on
    # concurrent sequences per replica (default: what the KV cache holds).
    disaggregated: bool = Field(
        default=False,
        description="Size separate prefill and decode pools; output_tokens_per_s_per_device is "
        "then per device of both pools in proportion to the request shape.",
    )
    kv_precision: Precision | None = None
    max_batch: Count | None = Field(
        default=None, description="Most concurrent sequences per replica (engine limit)."
    )

    @field_validator("users", mode="before")
    @classmethod
    def _market(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value  # "CN" reads as "cn"

    @model_validator(mode="after")
    def _demand(self) -> ServePhase:
        if (self.input_tokens_per_day is None) != (self.output_tokens_per_day is None):
            raise ValueError("give both input_tokens_per_day and output_tokens_per_day, or neither")
        return self


Phase = Annotated[TrainPhase | ServePhase, Field(discriminator="kind")]


class Transfer(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: Name = Field(alias="from")
    to: Name
    what: Literal["weights", "checkpoint", "dataset"] = "weights"
    gigabytes: Annotated[float, Range(0, 1e9, low_open=True)] | None = None  # up to an exabyte


class Scenario(_Strict):
    name: Name = "scenario"
    as_of: date
    currency: str = "USD"
    tenant_hq: str = "CN"  # ISO 3166 alpha-2, as the rules' tenant_hq column
    model: ModelInput
    phases: list[Phase] = Field(min_length=1, max_length=MAX_LIST)
    transfers: list[Transfer] = Field(default_factory=list, max_length=MAX_LIST)
    fleet: list[Fleet] = Field(default_factory=list, max_length=MAX_LIST)
    accounting: Accounting = "project"
    _source: str = PrivateAttr(default="scenario")

    @field_validator("tenant_hq", "currency")
    @classmethod
    def _code(cls, value: str, info: ValidationInfo) -> str:
        # Rules and FX match codes exactly: 'cn' or 'XX' would silently match no rule.
        country = info.field_name == "tenant_hq"
        size = 2 if country else 3
        valid = value in COUNTRIES if country else len(value) == 3 and value.isalpha()
        if not valid or not value.isupper():
            what = "an ISO 3166 country code like 'CN'" if country else "a currency code like 'CNY'"
            hint = value.upper() if len(value) == size and value.isalpha() else None
            if country and hint not in COUNTRIES:
                hint = None
            extra = f": did you mean '{hint}'?" if hint and hint != value else ""
            raise ValueError(f"must be {what} (upper case){extra}")
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
        _unique("phase", names)
        _unique("fleet", [f.name for f in self.fleet])
        for i, t in enumerate(self.transfers):
            for end in (t.from_, t.to):
                _known(f"transfers[{i}] names a missing phase", end, names)
        fleets = [f.name for f in self.fleet]
        for i, p in enumerate(self.phases):
            if p.after is not None:
                _known(f"phases[{i}].after names a missing phase", p.after, names)
                if p.after == p.name:
                    raise ValueError(f"phases[{i}].after: a phase cannot start after itself")
            if isinstance(p.site, Site) and p.site.fleet is not None:
                _known(f"phases[{i}].site.fleet names a missing fleet", p.site.fleet, fleets)
        _no_cycle({p.name: p.after for p in self.phases})
        return self

    @property
    def source(self) -> str:
        return self._source

    def fleet_named(self, name: str) -> Fleet:
        return next(f for f in self.fleet if f.name == name)

    def phase(self, name: str) -> TrainPhase | ServePhase:
        return next(p for p in self.phases if p.name == name)


def _unique(what: str, names: list[str]) -> None:
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"{what} names must be unique; repeated: {shown(', '.join(dupes))}")


def _known(what: str, name: str, names: list[str]) -> None:
    if name not in names:
        hint = suggest(name, names)
        known = shown(", ".join(names), 200) if names else "none"
        extra = f": did you mean '{hint}'?" if hint else f" (known: {known})"
        raise ValueError(f"{what} '{shown(name)}'{extra}")


def _no_cycle(after: dict[str, str | None]) -> None:
    for start in after:
        seen, name = {start}, after[start]
        while name is not None:
            if name in seen:
                raise ValueError(f"phases start after each other in a circle (from '{start}')")
            seen.add(name)
            name = after.get(name)


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
        text = read_bounded(path, MAX_SCENARIO_BYTES, label).decode("utf-8-sig")
    except InputFileError as exc:
        raise ScenarioError(exc.problems[0].message, label) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"is not UTF-8 text (at byte {exc.start:,})", label) from None
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
        msg = shown(msg, 200)
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
    # pydantic's own message may quote the input (a union tag): cut it like any quoted value.
    msg = shown(err["msg"], 200)
    if err["type"] == "union_tag_invalid":
        msg = f"'kind' must be one of {err['ctx']['expected_tags']} (got {_got(err['ctx']['tag'])})"
    elif err["type"] == "extra_forbidden":
        field = str(loc[-1])
        known = _known_fields(loc[:-1], exc)
        hint = suggest(field, known) if known else None
        msg = f"unknown field '{shown(field)}'" + (f": did you mean '{hint}'?" if hint else "")
    elif err["type"] == "missing":
        msg = "missing required field"
    elif "input" in err and not isinstance(err["input"], dict | list):
        # The value given reads best next to what was wrong, before any suggestion.
        head, hint, tail = msg.partition(": did you mean")
        msg = f"{head} (got {_got(err['input'])}){hint}{tail}"
    msg = msg.removeprefix("Value error, ")
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return ScenarioError(msg, f"{source}: {path}" if path else source)


def _got(value: object) -> str:
    """A rejected value as the message quotes it: cut, escaped, and a string in quotes."""
    return f"'{shown(value)}'" if isinstance(value, str) else shown(value)


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
            part = "from" if part == "from_" else shown(part)
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
