"""The input: a scenario (one model, phases placed at sites, transfers between them).

Pydantic models validate shape and values; `estimator.scenario_file` reads TOML, YAML or JSON
and turns every validation problem into one ScenarioError naming the file and the field path.
Checks that need the catalog (does this region exist?) happen in `estimator.context`.
"""

# Annotations are objects here, not `from __future__ import annotations` strings: pydantic
# evaluates a model's string annotations one by one as it builds the model (each compiled),
# ~4 ms of every command's imports over the scenario, result and view models. A name defined
# further down, or for type checkers only, is quoted.
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    ClassVar,
    Literal,
    TypeGuard,
    TypeVar,
    get_args,
)

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from estimator.bounds import (
    DEFAULT_SEQ_LEN,
    MAX_DAYS,
    MAX_DEVICES,
    MAX_LEN,
    MAX_PARAMS,
    MAX_TOKENS,
    MIN_DAYS,
    Range,
    as_bool,
    text_given,
)
from estimator.defaults import DEFAULT_INPUT_LEN, DEFAULT_OUTPUT_LEN
from estimator.errors import ScenarioError
from estimator.frozen import Frozen, empty_list
from pricing.countries import COUNTRIES
from pricing.errors import shown, suggest
from pricing.schema import (
    DEFAULT_PRECISION,
    ISO_DAY,
    MAX_COUNT,
    Accounting,
    Arch,
    DataClass,
    Evidence,
    Precision,
    TrainWorkload,
    Users,
)
from pricing.schema import SitePricing as Pricing

USERS: tuple[str, ...] = get_args(Users)
CHANGED = " (changed in code)"  # after the source of a scenario `with_changes` made
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


def _as_day(value: Any) -> Any:
    """A date field's value: a date, an ISO date string, or a datetime (TOML's too), which
    counts as its day as the library's dates do; a number is refused in plain words (rev12a
    #12: 20251127 gave pydantic's "Datetimes provided to dates should have zero time")."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, bool | int | float):
        raise ValueError("must be a date YYYY-MM-DD")
    if isinstance(value, str):
        text = value.strip()
        # rev19b #9: fromisoformat also reads 20251127 and 2025-W48-4, which no message
        # promises and a catalog cell refuses; a date-time written out still counts as its day.
        if not ISO_DAY.fullmatch(text[:10]) or text[10:11] not in ("", "T", " "):
            raise ValueError("must be a date YYYY-MM-DD")
        try:
            return datetime.fromisoformat(text).date()
        except ValueError:
            raise ValueError("must be a date YYYY-MM-DD") from None
    return value


Day = Annotated[date, BeforeValidator(_as_day)]


def _no_text(value: Any) -> Any:
    """A boolean field's value: true or false as the file types them, never text (rev18a #8:
    lax mode read `disaggregated = "no"`, "off", "n" and "0" as false, in every format);
    numpy's booleans as Python's (`as_bool`, rev18d #7), as numpy's numbers pass for numbers."""
    if isinstance(value, str):
        raise text_given(value, "true or false", value.strip() in ("true", "false"))
    flag = as_bool(value)
    return value if flag is None else flag


# A boolean: true or false, not text nor a number (0 and 1 were read as false and true).
Flag = Annotated[bool, BeforeValidator(_no_text), Strict()]


def currency_code(value: str) -> str:
    """An ISO 4217 code as fx.csv spells it: 'cny' or 'CN' would silently match no rate."""
    if len(value) != 3 or not value.isalpha() or not value.isupper():
        hint = value.upper() if len(value) == 3 and value.isalpha() else None
        extra = f": did you mean '{hint}'?" if hint and hint != value else ""
        raise ValueError(f"must be a currency code like 'CNY' (upper case){extra}")
    return value


Recompute = Literal["none", "selective", "full"]
Schedule = Literal["deadline", "earliest"]


class _Strict(Frozen):
    # Attribute docstrings are the field descriptions of the JSON Schema (`splitcompute schema`),
    # read only when one is asked for (`json_schema`, `estimator.docs`).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    how_to_change: ClassVar[str] = (
        "a scenario and its parts are frozen; use Scenario.with_changes with the field's "
        "dotted path (e.g. 'phases.pretrain.tokens')"
    )

    if not TYPE_CHECKING:  # type checkers keep pydantic's signatures

        def __init__(self, /, **data: Any) -> None:
            # Built in code (`Scenario(...)`, `TrainPhase(...)`), a problem is the library's
            # one-line error naming the field, as a file's is (review11b #6: a raw pydantic
            # ValidationError, which `except SplitcomputeError` missed).
            try:
                super().__init__(**data)
            except ValidationError as exc:
                raise _refused(type(self), exc) from None

        # Pydantic calls a model's own __init__ for it nested in another (a site in a union of
        # forms, where a member's error is a ValidationError); marked as its own, it does not.
        __init__.__pydantic_base_init__ = True

        @classmethod
        def model_validate(cls, obj: Any, **options: Any) -> Any:
            try:
                return super().model_validate(obj, **options)
            except ValidationError as exc:
                raise _refused(cls, exc) from None

        @classmethod
        def model_validate_json(cls, data: Any, **options: Any) -> Any:
            try:
                return super().model_validate_json(data, **options)
            except ValidationError as exc:
                raise _refused(cls, exc) from None


def _refused(model: type[_Strict], exc: ValidationError) -> ScenarioError:
    from estimator.scenario_file import model_error

    return model_error(exc, model)


class Site(_Strict):
    """Where a phase runs. `pricing = "owned"` means hardware bought for the plan (see
    hardware.csv); `pricing = "fleet"` runs on a fleet the tenant has (`fleet` names it when
    several share the region and accelerator). Offers whose capacity rests on a billing SKU
    alone (evidence = sku) are used when the site names their provider or instance, or when
    the site has no other offer, as the planner does (`AutoSite.evidence`)."""

    region: Id
    """Region id (regions.csv), e.g. sg, cn-west."""
    accelerator: Id
    """Accelerator id (accelerators.csv), e.g. h100-sxm, ascend-910b."""
    pricing: Pricing = "on_demand"
    """on_demand, spot, reserved_1y, reserved_3y, contract (rented), owned (bought for the plan) or
    fleet (already owned)."""
    provider: Id | None = None
    """Only this provider's offers (default: the cheapest allowed one)."""
    instance: Id | None = None
    """Only this instance type or server (offers.csv instance, hardware.csv id)."""
    fleet: Id | None = None
    """The scenario fleet to run on, when several share the region and accelerator. In a
    scenario, a site naming a fleet may leave out region, accelerator and pricing: the fleet
    fixes them (rev17a #15)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        json_schema_extra=lambda schema: _fleet_or_place(schema),
    )


def _fleet_or_place(schema: dict[str, Any]) -> None:
    """A scenario's site gives region and accelerator, or names a fleet (which gives them)."""
    required = schema.pop("required", [])
    schema["anyOf"] = [{"required": required}, {"required": ["fleet"]}]


class Fleet(_Strict):
    """Hardware the tenant already owns: its capital is sunk (shown, not charged); energy and
    operations are charged for the hours phases use it. `book_value` is in
    `book_value_currency`, which defaults to the scenario's currency when the scenario is read
    and is then kept: a later change of `currency` (`with_changes`, `sweep`) changes the
    currency the totals are shown in, not what the fleet was worth (rev15a #3: 50 M CNY became
    50 M USD). Without a book value, operations are costed on the catalog's server price."""

    name: Name
    """A name phases refer to (site.fleet)."""
    region: Id
    """Where the fleet is (regions.csv id)."""
    accelerator: Id
    """Its accelerator (accelerators.csv id)."""
    devices: Annotated[int, Range(1, MAX_DEVICES)]
    """How many devices the tenant owns."""
    acquired: Day | None = None
    """When it was bought: judged against supply.csv on that date (not-purchasable), no phase
    may use it before (lead-time), and a rule on owned hardware that took effect after it only
    informs about it. Without it, the supply and lead time are not checked, and the fleet
    counts as owned by the plan's date."""
    book_value: Annotated[float, Range(0, 1e15)] | None = None
    """Its value in book_value_currency (default: the catalog's server price), for
    operations."""
    book_value_currency: str | None = None
    """The currency of book_value (ISO code, e.g. CNY), given only with it. Default: the
    scenario's currency as the scenario is read, kept when `currency` is changed later."""

    @field_validator("book_value_currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else currency_code(value)

    @model_validator(mode="after")
    def _currency_of_a_value(self) -> "Fleet":
        # rev19b #9: given alone it was silently ignored (the catalog's price was used).
        if self.book_value_currency is not None and self.book_value is None:
            raise ValueError(
                "book_value_currency is the currency of book_value, which is not given: give "
                "book_value too, or leave book_value_currency out"
            )
        return self


# An auto site's lists: what one item is, and what leaving the list out means.
_SITE_LISTS = {"regions": "region", "accelerators": "accelerator", "pricing": "pricing model",
               "providers": "provider", "evidence": "kind of evidence"}  # fmt: skip
_ANY = {"regions": "any", "accelerators": "any", "pricing": "any but spot", "providers": "any",
        "evidence": "listed, marketplace or reported"}  # fmt: skip


def _site_list() -> Any:
    """An auto site's list field: any when not given, one value at least when given (the
    published schema says so too)."""
    return Field(default_factory=empty_list, max_length=MAX_LIST, json_schema_extra={"minItems": 1})


class AutoSite(_Strict):
    """A site the planner chooses; each list (not given = any) narrows the search. Spot
    capacity is a candidate only when `pricing` names it; offers whose capacity rests on a
    billing SKU alone only when `evidence` names "sku" (not given = listed, marketplace or
    reported capacity). A list given names at least one value: an empty one reads as "none"
    to most people, and meant "any" (rev14a #8)."""

    regions: list[Id] = _site_list()
    """Allowed regions (not given: any)."""
    accelerators: list[Id] = _site_list()
    """Allowed accelerators (not given: any)."""
    pricing: list[Pricing] = _site_list()
    """Allowed pricing models (not given: any but spot)."""
    providers: list[Id] = _site_list()
    """Allowed providers (not given: any)."""
    evidence: list[Evidence] = _site_list()
    """Accepted evidence of capacity: listed, marketplace, sku, reported, accounting (a lab's
    accounting figure, not an offer) (not given: listed, marketplace or reported)."""

    @field_validator(*_SITE_LISTS)
    @classmethod
    def _named(cls, value: list[Any], info: ValidationInfo) -> list[Any]:
        if not value:
            field = str(info.field_name)
            what, anything = _SITE_LISTS[field], _ANY[field]
            raise ValueError(f"give at least one {what}, or leave {field} out for {anything}")
        return value

    @model_serializer(mode="wrap")
    def _without_empty_lists(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A list not given is empty inside (any); written back out (`Scenario.with_changes`,
        # a plan's sites) it is left out again, not refused as an empty list given.
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if not (k in _SITE_LISTS and v == [])}


class ModelInput(_Strict):
    """A preset from models.csv, or a custom model (parameters as counts, e.g. 7e10)."""

    preset: Id | None = None
    """A model of models.csv (e.g. llama-3.1-405b). The fields below override it; a shape field
    needs total_params (and active_params for an MoE) with it: a preset's count is its shape's."""
    name: Name | None = None
    """A name for a custom model."""
    arch: Arch | None = None
    """dense or moe (default: moe when active_params < total_params)."""
    total_params: Params | None = None
    """Parameters (a count, e.g. 7e10)."""
    active_params: Params | None = None
    """Parameters active per token (MoE; default: total_params). On a dense preset either
    count, given alone, sets both: the model is resized, not made an MoE."""
    layers: Count | None = None
    """Transformer layers (default: inferred from the parameter count and stated)."""
    hidden: Length | None = None
    """Hidden size (default: inferred)."""
    heads: Count | None = None
    """Attention heads (default: hidden / head_dim)."""
    kv_heads: Count | None = None
    """Key/value heads (default: min(heads, 8))."""
    head_dim: Count | None = None
    """Attention head size (default 128)."""
    vocab: Annotated[int, Range(1, 100_000_000)] | None = None
    """Vocabulary size."""
    experts: Count | None = None
    """Routed experts (MoE)."""
    experts_active: Count | None = None
    """Routed experts per token (MoE)."""
    kv_lora_rank: Length | None = None
    """MLA compressed KV rank (DeepSeek-style attention)."""
    rope_head_dim: Count | None = None
    """MLA rotary head size."""

    @model_validator(mode="after")
    def _preset_or_params(self) -> "ModelInput":
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
    """What training and serving phases share."""

    name: Name
    """A unique name (transfers and `after` refer to it)."""
    data: DataClass | None = None
    """public, personal or important: what the rules judge a placement by (PIPL, DSL). Default:
    personal for a serving phase whose users are in China (cn: the prompts of logged-in users
    are personal information, PIPL Art. 4), else public."""
    data_subjects: Annotated[str, Field(max_length=10)] | None = None
    """Whose personal or important data it is (important data: where it was collected or
    produced): a market (cn, sea, mena, eu, us, foreign, as `users`) or a country code (CN, SG).
    China's export rules (PIPL Art. 3, 38-40; DSL Art. 31) bind only the data of people in
    mainland China (cn or CN; not HK or MO); the US rule on bulk sensitive personal data (28 CFR
    Part 202) that of people in the United States (us or US). Default: a serving phase's users;
    a training phase's tenant_hq, a Hong Kong or Macau one as CN."""
    site: Site | AutoSite | Literal["auto"]
    """A fixed site, an auto site (the planner chooses within its lists) or "auto"."""
    precision: Precision = DEFAULT_PRECISION
    """bf16, fp16, fp8 or int8 (serving only)."""
    goodput: Efficiency | None = None
    """Override the share of wall-clock time doing useful work (efficiency.csv's, e.g. 0.9 for
    pretraining: failures, restarts, checkpoints)."""
    devices: Annotated[int, Range(1, MAX_DEVICES)] | None = None
    """Devices (training: the cluster; serving: the whole fleet). Default: sized by the deadline or
    the demand."""
    start: Day | None = None
    """The date the phase starts (default: after the phase before it)."""
    after: Name | None = None
    """Start when this phase ends (a phase name)."""

    @property
    def data_class(self) -> DataClass:
        """`data` as given, else its default (`data_defaulted`)."""
        if self.data is not None:
            return self.data
        return "personal" if self.data_defaulted else "public"

    @property
    def data_defaulted(self) -> bool:
        """A serving phase for users in China that does not say `data`: judged as personal
        (rev12d #7: served from Singapore with no finding, as public data)."""
        return self.data is None and getattr(self, "users", None) == "cn"

    @property
    def is_auto(self) -> bool:
        return not isinstance(self.site, Site)

    @field_validator("data_subjects")
    @classmethod
    def _subjects(cls, value: str | None) -> str | None:
        # A market as `users` spells it (lower case) or a country code (upper case): 'cn' and
        # 'CN' both say mainland China; anything else would silently say "not China".
        if value is None:
            return None
        if value.lower() in USERS:
            return value.lower()
        if value.upper() in COUNTRIES:
            return value.upper()
        # A country's name for mainland China is the commonest slip, and the nearest code to
        # 'china' is CH (Switzerland: review10c #12).
        named = {"china": "cn", "prc": "cn", "mainland": "cn", "mainland china": "cn"}
        hint = named.get(value.strip().lower()) or suggest(value, [*USERS, *sorted(COUNTRIES)])
        extra = f": did you mean '{hint}'?" if hint else ""
        raise ValueError(
            f"'{shown(value)}' is not a market ({', '.join(USERS)}) or an ISO 3166 country "
            f"code{extra}"
        )

    @model_validator(mode="after")
    def _one_start(self) -> "_Phase":
        if self.start is not None and self.after is not None:
            raise ValueError("give start or after, not both")
        return self


class TrainPhase(_Phase):
    """Training: tokens on devices, sized by `devices` or by `deadline_days`."""

    kind: Literal["train"] = "train"
    """train (the default)."""
    tokens: Tokens
    """Training tokens."""
    workload: TrainWorkload = "pretrain"
    """pretrain or finetune (efficiency.csv row)."""
    mfu: Efficiency | None = None
    """Override the large-GEMM efficiency of efficiency.csv: the share of the peak the linear
    layers' matrix multiplies reach at BF16 (at FP8 they reach fp8_gemm_ratio, 0.77, of it
    against the FP8 peak), not the whole-step MFU papers quote (`effective_mfu`, lower:
    attention, communication and bubbles come on top). The default is a Megatron-class stack's;
    a faster stack sets it (with `goodput`) to reproduce its own measured run (README: A faster
    stack than the estimate's)."""
    deadline_days: Days | None = None
    """Finish within this many days (sizes the cluster when devices is not given)."""
    seq_len: Length | None = None
    """Sequence length (default 4,096)."""
    # The parallel layout; unset, the tool picks the fastest that fits (stated in the quote).
    recompute: Recompute | None = Field(
        default=None,
        description="Activation recomputation; unset: the fewest layers recomputed in full "
        "that make the activations fit.",
    )
    tensor_parallel: Count | None = None
    """Tensor-parallel size (default: searched)."""
    pipeline_parallel: Count | None = None
    """Pipeline-parallel size (default: searched)."""
    expert_parallel: Count | None = None
    """Expert-parallel size, MoE (default: searched)."""
    global_batch_tokens: Tokens | None = Field(
        default=None, description="Tokens per optimizer step (default 2^24 = 16.8M, Llama 3)."
    )

    @field_validator("precision")
    @classmethod
    def _trainable(cls, value: str) -> str:
        if value == "int8":
            raise ValueError("int8 is not supported for training (use bf16, fp16 or fp8)")
        return value

    @model_validator(mode="after")
    def _devices_or_deadline(self) -> "TrainPhase":
        if self.devices is None and self.deadline_days is None:
            raise ValueError("give devices or deadline_days")
        return self

    @model_validator(mode="after")
    def _batch_holds_a_sequence(self) -> "TrainPhase":
        # A step trains whole sequences: a smaller batch has no data-parallel replica at all
        # (it used to size trillions of devices).
        seq = self.seq_len or DEFAULT_SEQ_LEN
        if self.global_batch_tokens is not None and self.global_batch_tokens < seq:
            raise ValueError(
                f"global_batch_tokens ({self.global_batch_tokens:,.0f}) is less than one "
                f"sequence of {seq:,} tokens (seq_len)"
            )
        return self


class ServePhase(_Phase):
    """Serving for `days`: a fleet sized by the daily demand under the latency targets."""

    kind: Literal["serve"] = "serve"
    """serve (a phase without `kind` in a file is a training phase; `ServePhase(...)` in code
    needs no `kind`)."""
    # The loader reads a market in any case ("CN" is cn); the published schema says so too,
    # or an editor flags a file the tool takes (rev13a #6).
    users: Users = Field("cn", json_schema_extra={"enum": [*USERS, *(u.upper() for u in USERS)]})
    """Where the users are: cn, sea, mena, eu, us (latency.csv markets) or foreign (the nearest
    market abroad); any case."""
    days: Days
    """How long the service runs."""
    input_tokens_per_day: Tokens | None = None
    """Daily prompt tokens (with output_tokens_per_day; without both, whole instances of replicas
    at full load, compared by price per output token)."""
    output_tokens_per_day: Tokens | None = None
    """Daily output tokens."""
    input_len: Length = DEFAULT_INPUT_LEN
    """Prompt length per request."""
    output_len: Length = DEFAULT_OUTPUT_LEN
    """Output length per request."""
    # Latency targets in ms: from a tenth of a millisecond to a minute per token, an hour to
    # the first token.
    tpot_ms: Annotated[float, Range(0.1, 60_000)] | None = None
    """Target time per output token in ms (caps the batch)."""
    ttft_ms: Annotated[float, Range(0.1, 3_600_000)] | None = None
    """Target time to first token in ms, including the round trip to the users."""
    peak_to_average: Annotated[float, Range(1, 100)] | None = None
    """Peak demand over average (sizes the fleet for the peak)."""
    replica_devices: Count | None = None
    """Devices per replica (default: searched); `devices` is the whole fleet. A dense model's
    replica splits its attention heads (and divides or is a multiple of its KV heads); one that
    fits an instance stays inside one, so instances are billed whole replicas at a time."""
    # Separate prefill and decode pools (as DeepSeek and CloudMatrix-Infer deploy) instead of
    # both on every replica; KV cache precision (default: `precision`); the engine's cap on
    # concurrent sequences per replica (default: what the KV cache holds).
    disaggregated: Flag = Field(
        default=False,
        description="Size separate prefill and decode pools; output_tokens_per_s_per_device is "
        "then per device of both pools in proportion to the request shape.",
    )
    kv_precision: Precision | None = None
    """KV-cache precision (default: precision)."""
    max_batch: Count | None = Field(
        default=None, description="Most concurrent sequences per replica (engine limit)."
    )

    @field_validator("users", mode="before")
    @classmethod
    def _market(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.lower() in USERS:
            return value.lower()  # "CN" reads as "cn"
        # rev12a #12: 'SG' was refused as "(got 'sg')", a value not given, with no word that
        # users takes markets where data_subjects also takes country codes.
        raise ValueError(
            f"must be a market, one of {', '.join(USERS)} (not a country code: data_subjects "
            "takes those)"
        )

    @model_validator(mode="after")
    def _demand(self) -> "ServePhase":
        if (self.input_tokens_per_day is None) != (self.output_tokens_per_day is None):
            raise ValueError("give both input_tokens_per_day and output_tokens_per_day, or neither")
        return self


Phase = Annotated[TrainPhase | ServePhase, Field(discriminator="kind")]


class Transfer(_Strict):
    """Data moved from one phase's site to another's: priced as egress, timed at the link."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: Name = Field(alias="from")
    """The phase whose output moves."""
    to: Name
    """The phase that receives it."""
    what: Literal["weights", "checkpoint", "dataset"] | None = None
    """weights, checkpoint or dataset (the tokens of the training phase it comes from, at
    4 bytes per token: the data that phase trained on). Not given: the model's weights, or with
    `gigabytes` data of that size (judged as weights are: only a dataset carries its data
    class)."""
    gigabytes: Annotated[float, Range(0, 1e9, low_open=True)] | None = None
    """Size (default: from the model: weights, or weights + optimizer state for a checkpoint)."""

    @property
    def label(self) -> str:
        """What a quote calls it: `what`, else "data" when only its size is given, else
        "weights" (rev12b #17: 1,000 GB given alone was priced as 'weights sg -> cn-east')."""
        return self.what or ("data" if self.gigabytes is not None else "weights")


class Scenario(_Strict):
    """A plan to price: one model, its phases placed at sites, and transfers between them.

    Read one with `load_scenario(path)`; vary one with `with_changes({...})`."""

    name: Name = "scenario"
    """A title for reports."""
    as_of: Day
    """The planning date: prices and exchange rates valid then; each phase is judged on every
    rule in force while it runs."""
    currency: str = "USD"
    """The currency of the totals (ISO code)."""
    tenant_hq: str = "CN"
    """Headquarters country of the tenant (ISO 3166 alpha-2), as the rules' tenant_hq column."""
    model: ModelInput
    """The model trained and served."""
    phases: list[Phase] = Field(min_length=1, max_length=MAX_LIST)
    """Training and serving phases, in order."""
    transfers: list[Transfer] = Field(default_factory=empty_list, max_length=MAX_LIST)
    """Weights, checkpoints or datasets moved between phases (egress); each move once (weights,
    a checkpoint or a dataset twice between the same phases, whatever sizes are written, or
    plain data of the same size twice, is refused: it would be billed twice)."""
    fleet: list[Fleet] = Field(default_factory=empty_list, max_length=MAX_LIST)
    """Hardware the tenant already owns."""
    accounting: Accounting = "project"
    """project (what the plan commits: a purchase less its resale, a commitment's whole term) or
    amortised (the hours used)."""
    schedule: Schedule = "deadline"
    """deadline (a training phase with a deadline reserves the whole deadline; the phases after
    it start when the deadline ends) or earliest (every training phase reserves only its run
    time, so the phases after it start as soon as it finishes). `plan --objective time` places
    with earliest."""
    avoid: list[Name] = Field(default_factory=empty_list, max_length=MAX_LIST)
    """Warnings the plan must not take: a warning rule's id (policies.csv) or a warning
    finding's code (users-far, capacity-unverified...). A named warning blocks as a block does:
    the planner never chooses an option carrying it, and a fixed site's quote reports it as a
    block. --avoid CODE adds to it."""
    _source: str = PrivateAttr(default="scenario")

    @field_validator("tenant_hq", "currency")
    @classmethod
    def _code(cls, value: str, info: ValidationInfo) -> str:
        if info.field_name == "currency":
            return currency_code(value)
        # Rules and FX match codes exactly: 'cn' or 'XX' would silently match no rule.
        if value not in COUNTRIES or not value.isupper():
            hint = value.upper() if len(value) == 2 and value.isalpha() else None
            hint = hint if hint in COUNTRIES and hint != value else None
            extra = f": did you mean '{hint}'?" if hint else ""
            raise ValueError(f"must be an ISO 3166 country code like 'CN' (upper case){extra}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _pin_book_value_currency(cls, data: Any) -> Any:
        # A fleet's book value is money written in the scenario's currency as the file is
        # read; pinned here, a later `with_changes(currency=...)` or a `sweep` over currency
        # (which go through a dump of the scenario) no longer re-denominates it (rev15a #3).
        data = _lists(data)
        if not isinstance(data, dict) or not isinstance(data.get("fleet"), list):
            return data
        currency = data.get("currency", "USD")
        try:  # a bad currency is reported once, on `currency`, not on a field not written
            currency_code(currency)
        except (TypeError, ValueError):
            return data
        fleets = []
        for f in data["fleet"]:
            given = f if isinstance(f, dict) else f.__dict__ if isinstance(f, Fleet) else {}
            if given.get("book_value") is None or given.get("book_value_currency") is not None:
                fleets.append(f)
            else:  # a Fleet built in code is checked again as its fields
                fleets.append({**given, "book_value_currency": currency})
        return {**data, "fleet": fleets}

    @model_validator(mode="before")
    @classmethod
    def _fleet_site_facts(cls, data: Any) -> Any:
        # rev17a #15: `site = { fleet = "f" }` was refused until region, accelerator and
        # pricing were repeated, though the fleet fixes all three. A site naming a fleet takes
        # those it leaves out from it (pricing "fleet"); one it gives is kept, and judged.
        data = _lists(data)
        if not isinstance(data, dict) or not isinstance(data.get("phases"), list):
            return data
        fleets = _fleet_facts(data)
        phases = []
        for i, p in enumerate(data["phases"]):
            site = p.get("site") if isinstance(p, dict) else None
            named = site.get("fleet") if isinstance(site, dict) else None
            if not isinstance(site, dict) or not _is_name(named):
                phases.append(p)
                continue
            fleet = fleets.get(named)
            if fleet is None and not {"region", "accelerator"} <= site.keys():
                # rev17b #5: a misspelt name said the site also needs region and accelerator.
                hint = suggest(named, list(fleets))
                known = shown(", ".join(fleets), 200) if fleets else "none"
                extra = f": did you mean '{hint}'?" if hint else ""
                raise ValueError(
                    f"phases[{i}].site.fleet: no fleet '{shown(named)}' (declared: {known}){extra}"
                )
            if fleet is not None:
                implied = {k: fleet[k] for k in ("region", "accelerator") if k in fleet}
                p = {**p, "site": {**implied, "pricing": "fleet", **site}}
            phases.append(p)
        return {**data, "phases": phases}

    @model_validator(mode="before")
    @classmethod
    def _default_kind(cls, data: Any) -> Any:
        # `kind` defaults to "train" so a minimal training phase needs no kind line.
        data = _lists(data)
        if isinstance(data, dict) and isinstance(data.get("phases"), list):
            data = dict(data)
            data["phases"] = [
                {"kind": "train", **p} if isinstance(p, dict) and "kind" not in p else p
                for p in data["phases"]
            ]
        return data

    @model_validator(mode="after")
    def _references(self) -> "Scenario":
        names = [p.name for p in self.phases]
        # rev19b #9: " a" beside "a" were two phases, and "(known: a,  a)" read as one twice;
        # a name others refer to by its text has no space at either end.
        for what, items in (("phases", self.phases), ("fleet", self.fleet)):
            for i, item in enumerate(items):
                if item.name != item.name.strip():
                    raise ValueError(
                        f"{what}[{i}].name: '{shown(item.name)}' begins or ends with a space "
                        "(transfers and after name it by its text)"
                    )
                if "." in item.name:  # rev20b #7: `phases.post.train.tokens` found no 'post'
                    raise ValueError(
                        f"{what}[{i}].name: '{shown(item.name)}' has a '.', which a "
                        f"with_changes or sweep path ({what}.NAME.field) splits on: name it "
                        "without one"
                    )
        _unique("phase", names)
        _unique("fleet", [f.name for f in self.fleet])
        for i, t in enumerate(self.transfers):
            for end in (t.from_, t.to):
                _known(f"transfers[{i}] names a missing phase", end, names)
            if t.from_ == t.to:
                raise ValueError(f"transfers[{i}]: a phase cannot send data to itself")
            # rev19b #7: a block pasted twice was billed twice without a word, where a phase
            # or fleet given twice is refused. Two moves of one kind between two phases are one
            # move of their sum: give it once, with that size. A phase has one set of weights,
            # one checkpoint and one dataset, so those repeat whatever sizes are written (one
            # given with its derived size was billed twice: session 19); only plain `data` of
            # two sizes can be two things.
            first = next(
                j
                for j, u in enumerate(self.transfers)
                if (u.from_, u.to, u.label) == (t.from_, t.to, t.label)
                and (t.label != "data" or u.gigabytes == t.gigabytes)
            )
            if first < i:
                raise ValueError(
                    f"transfers[{i}] repeats transfers[{first}] ({t.label} "
                    f"{shown(t.from_)} -> {shown(t.to)}): each would be billed; give it once"
                )
        fleets = [f.name for f in self.fleet]
        for i, p in enumerate(self.phases):
            if p.after is not None:
                _known(f"phases[{i}].after names a missing phase", p.after, names)
                if p.after == p.name:
                    raise ValueError(f"phases[{i}].after: a phase cannot start after itself")
            if isinstance(p.site, Site) and p.site.fleet is not None:
                _known(f"phases[{i}].site.fleet names a missing fleet", p.site.fleet, fleets)
                if p.site.pricing != "fleet":  # rev17b #5: the fleet was silently ignored
                    raise ValueError(
                        f"phases[{i}].site names the fleet '{p.site.fleet}', so it runs on it: "
                        f'pricing is "fleet" (or left out), not "{p.site.pricing}"; to buy or '
                        "rent instead, leave fleet out"
                    )
        _no_cycle(predecessors(self.phases))
        return self

    @property
    def source(self) -> str:
        """Where the scenario came from (a file name), for error messages."""
        return self._source

    def __eq__(self, other: object) -> bool:
        """Equal content is equal, whichever file it was read from (rev12b #6: a copy of a
        file, or a JSON round trip, compared unequal though its dump and hash were the same):
        `source` is a label for messages, not part of the scenario."""
        if not isinstance(other, Scenario):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:  # as equality: the fields (a frozen model's hash)
        return hash(tuple(self.__dict__.values()))

    def with_changes(
        self, changes: Mapping[str, Any] | None = None, /, **fields: Any
    ) -> "Scenario":
        """A copy with some fields changed, validated like a file (errors name the path).

        Keys are dotted paths; a phase, fleet or transfer is named by its name or index:

            s.with_changes({"phases.pretrain.tokens": 2e13, "currency": "USD"})
            s.with_changes({"phases.0.site.region": "sg"}, accounting="amortised")
        """
        from estimator.scenario_file import parse_scenario, set_path

        if changes is not None and not isinstance(changes, Mapping):
            why = f"changes are a dict of dotted paths and values, not {type(changes).__name__}"
            raise ScenarioError(why, "changes")
        twice = sorted(set(changes or {}) & set(fields))
        if twice:  # two values for one field: almost surely a slip (review9d #7)
            raise ScenarioError(
                f"'{twice[0]}' is given both in the dict and as a keyword", "changes"
            )
        data = self.model_dump(by_alias=True, exclude_none=True)
        _fleet_sites_short(data)
        for path, value in {**(changes or {}), **fields}.items():
            if not isinstance(path, str):
                raise ScenarioError(f"a path is a dotted string, not '{shown(path)}'", "changes")
            set_path(data, path, value)
        # rev13a #9: an error in a changed value named the file, which never said it (no
        # change, as `quote` checking a scenario again, keeps the source as it is).
        source = self.source.removesuffix(CHANGED) + CHANGED if changes or fields else self.source
        return parse_scenario(data, source)

    def fleet_named(self, name: str | int) -> Fleet:
        """The fleet called `name`, or at that index as `with_changes` paths take it
        (ScenarioError, with the nearest name, if none is)."""
        return _named("fleet", name, self.fleet)

    def phase(self, name: str | int) -> TrainPhase | ServePhase:
        """The phase called `name`, or at that index as `with_changes` paths take it
        (`phase(0)`, `phase("0")`; ScenarioError, with the nearest name, if none is)."""
        return _named("phase", name, self.phases)


_Named = TypeVar("_Named", Fleet, TrainPhase | ServePhase)


def _named(what: str, name: str | int, items: Sequence[_Named]) -> _Named:
    found = next((x for x in items if x.name == name), None)
    if found is not None:
        return found
    # An index, as a `with_changes` path takes it (rev12b #12: phase(0) was "no phase '0'").
    index = name if isinstance(name, int) and not isinstance(name, bool) else None
    if isinstance(name, str) and name.isdigit():
        index = int(name)
    if index is not None and 0 <= index < len(items):
        return items[index]
    # review11b #7: a bare StopIteration, which a generator or `map` turned into a silently
    # shorter answer.
    names = [x.name for x in items]
    hint = suggest(name, names) if isinstance(name, str) else None
    known = shown(", ".join(names), 200) if names else "none"
    extra = f": did you mean '{hint}'?" if hint else f" (names: {known})"
    if index is not None and not hint:
        extra = f" (indices 0 to {len(items) - 1}; names: {known})" if items else " (none)"
    raise ScenarioError(f"no {what} '{shown(name)}'{extra}")


def _is_name(value: object) -> TypeGuard[str]:
    """Whether a raw field could be a fleet's name (a mapping key), before validation."""
    return isinstance(value, str)


def _lists(data: Any) -> Any:
    """A scenario's lists given as tuples, as lists: the validators that fill defaults in
    (a phase's kind, a fleet site's facts) read lists, so a tuple of phases got pydantic's
    "Unable to extract tag using discriminator" (rev19b #8), where the list quoted."""
    if not isinstance(data, dict):
        return data
    tuples = {
        k: list(v) for k in ("phases", "transfers", "fleet") if isinstance(v := data.get(k), tuple)
    }
    return {**data, **tuples} if tuples else data


def _fleet_facts(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A raw scenario's fleets by name (dicts, or `Fleet`s built in code), before validation.
    Only well-formed names are looked up: a malformed one (a table where a name belongs) is
    left for the field validators to report."""
    given = data.get("fleet")
    listed: list[Any] = given if isinstance(given, list) else []
    facts = [f.__dict__ if isinstance(f, Fleet) else f for f in listed]
    return {f["name"]: f for f in facts if isinstance(f, dict) and _is_name(f.get("name"))}


def _fleet_sites_short(data: dict[str, Any]) -> None:
    """Write each site naming a fleet as short as the fleet allows (in place, on a dump): the
    region, accelerator and pricing the fleet implies are left out, so that reading the dump
    again takes them from the fleet as it then is (rev17b #5: `with_changes` of
    `site.fleet` kept the first fleet's region and accelerator, and quoted nothing)."""
    fleets = _fleet_facts(data)
    for p in data.get("phases", []):
        site = p.get("site") if isinstance(p, dict) else None
        named = site.get("fleet") if isinstance(site, dict) else None
        fleet = fleets.get(named) if _is_name(named) else None
        if not isinstance(site, dict) or fleet is None:
            continue
        for key in ("region", "accelerator"):
            if key in site and site[key] == fleet.get(key):
                del site[key]
        if site.get("pricing") == "fleet":
            del site["pricing"]


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


def predecessors(phases: Sequence[TrainPhase | ServePhase]) -> dict[str, str | None]:
    """The phase whose end starts each phase (the timeline's rule): none when it has its own
    start, its `after` when given, else the last training phase listed before it."""
    out: dict[str, str | None] = {}
    last_training: str | None = None
    for p in phases:
        out[p.name] = None if p.start is not None else (p.after or last_training)
        if isinstance(p, TrainPhase):
            last_training = p.name
    return out


def _no_cycle(after: dict[str, str | None]) -> None:
    for start in after:
        seen, name = {start}, after[start]
        while name is not None:
            if name in seen:
                raise ValueError(
                    f"phases start after each other in a circle (from '{start}'; a phase "
                    "without start or after starts when the training phase listed before it ends)"
                )
            seen.add(name)
            name = after.get(name)


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of a scenario file (`splitcompute schema`), each field
    described by its docstring."""
    from estimator.docs import described

    return described(Scenario, Scenario.model_json_schema(by_alias=True), by_alias=True)
