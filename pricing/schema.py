"""Columns, types and row rules of every catalog table, declared once.

The loader derives every check from these declarations (see `pricing/data/README.md` for the
meaning of each column), so adding a column is one line here and one column in the CSV.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

Kind = Literal["str", "float", "int", "date"]

# Every enumeration of the domain is declared here once, as a Literal type (for pydantic models
# and mypy) with its tuple of values (for the loader's checks); scenario.py imports these.
# `negotiated`: a price agreed with the tenant (a signed contract, a quote to it), given in a
# user's --catalog; not a list price, so no `list-price` caveat (rev15d #5). The embedded
# catalog holds public figures only and never uses it.
Basis = Literal["published", "reported", "estimate", "derived", "negotiated"]
PricingModel = Literal["on_demand", "spot", "reserved_1y", "reserved_3y", "contract"]
# How a site pays for its devices: one of the rental pricing models, new hardware bought for
# the plan ("owned"), or hardware the tenant already has ("fleet": capital sunk).
SitePricing = Literal[
    "on_demand", "spot", "reserved_1y", "reserved_3y", "contract", "owned", "fleet"
]
# How money is counted: the cash the plan commits (a purchase less its resale at the end, a
# commitment's whole term) or the hours used (capex over its life, rent for the hours).
Accounting = Literal["project", "amortised"]
Workload = Literal["pretrain", "finetune", "prefill", "decode"]
TrainWorkload = Literal["pretrain", "finetune"]
DataClass = Literal["public", "personal", "important"]
# What a rule's data cell names: a phase's data class, or the personal or important data of
# people in China (`personal-cn`, `important-cn`) alone. China's export rules (PIPL Art. 3 and
# 38-40, DSL Art. 31) bind those: a Singapore tenant's data of its Singapore users is personal
# but not of people in China. A phase's data is judged as the `-cn` class when its
# `data_subjects` are in China; a `personal` or `important` cell names both (`DATA_OF_CHINA`).
# Likewise `personal-us`, `important-us`: the data of people in the United States, which the US
# rule on bulk sensitive personal data (28 CFR Part 202) binds (`DATA_OF_US`); and `personal-eu`,
# `important-eu`: that of people in the EEA, whom the GDPR protects (`DATA_OF_EU`; rev20a #8: the
# GDPR row matched a serving phase's EU users only, never training on EU people's data).
RuleDataClass = Literal[
    DataClass,
    "personal-cn",
    "important-cn",
    "personal-us",
    "important-us",
    "personal-eu",
    "important-eu",
]
Effect = Literal["block", "warn", "info"]
Arch = Literal["dense", "moe"]
Ownership = Literal["owned", "rented"]
# What shows that a provider has an offer's capacity in that region: it lists the machine there
# (console, catalog, price page), a marketplace or reseller lists another provider's machine
# there (no size stated), it only bills a SKU there, or the press reports it.
Evidence = Literal["listed", "marketplace", "sku", "reported", "accounting"]
# Where a serving phase's users are: mainland China, or markets abroad.
Market = Literal["cn", "sea", "mena", "eu", "us"]
# A serving phase's users: a market, or "foreign" (outside China: the nearest market abroad).
Users = Literal[Market, "foreign"]
YesNo = Literal["yes", "no"]
# What a hardware.csv price buys: a whole server, or a module without its host server.
HardwareScope = Literal["server", "module"]
# A number format the physics computes at (accelerators.csv has a peak column for each); int8
# serves only. What a phase that names none runs at is DEFAULT_PRECISION, said once.
Precision = Literal["bf16", "fp16", "fp8", "int8"]
DEFAULT_PRECISION: Precision = "bf16"

BASIS: tuple[str, ...] = get_args(Basis)
PRICING_MODELS: tuple[str, ...] = get_args(PricingModel)
WORKLOADS: tuple[str, ...] = get_args(Workload)
RULE_DATA_CLASSES: tuple[str, ...] = get_args(RuleDataClass)
DATA_OF_CHINA: dict[str, str] = {"personal": "personal-cn", "important": "important-cn"}
DATA_OF_US: dict[str, str] = {"personal": "personal-us", "important": "important-us"}
DATA_OF_EU: dict[str, str] = {"personal": "personal-eu", "important": "important-eu"}
# The European Economic Area (the 27 EU member states, Iceland, Liechtenstein, Norway), where the
# GDPR applies: the people whose data a phase's `data_subjects` (or a training tenant) in one of
# these countries names are judged as the `eu` market's (`DATA_OF_EU`).
# fmt: off
EEA = frozenset((
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
))
# fmt: on
EFFECTS: tuple[str, ...] = get_args(Effect)
ARCHS: tuple[str, ...] = get_args(Arch)
OWNERSHIP: tuple[str, ...] = get_args(Ownership)
EVIDENCE: tuple[str, ...] = get_args(Evidence)
MARKETS: tuple[str, ...] = get_args(Market)
USER_MARKETS: tuple[str, ...] = get_args(Users)
PRECISIONS: tuple[str, ...] = get_args(Precision)
YES_NO: tuple[str, ...] = get_args(YesNo)
HARDWARE_SCOPES: tuple[str, ...] = get_args(HardwareScope)


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "str"
    optional: bool = False
    gt: float | None = None  # value must be > gt
    ge: float | None = None  # value must be >= ge
    le: float | None = None  # value must be <= le
    choices: tuple[str, ...] | None = None
    # Foreign key: "accelerators", "regions" or "currency" (a currency present in fx).
    ref: Literal["accelerators", "regions", "currency"] | None = None
    wildcard: bool = False  # '*' is allowed besides the choices / references
    # A match cell (pricing.rules: '*', 'a|b', '!a') whose values are of this kind; the loader
    # checks every value can match ('personl' or 'cn' never would, and would say nothing).
    pattern: Literal["data", "country", "accelerator", "market"] | None = None
    cell: bool = False  # a full match cell ('a|b', '!a'); else one value ('*' if wildcard)


@dataclass(frozen=True)
class Table:
    """`key` identifies a row. A table with `history` keeps several dated rows per key (its
    figures change over time): the key then includes `as_of`, and a lookup on a date uses, per
    key, the latest row on or before it (`Catalog.dated`)."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    history: bool = False
    provenance: tuple[Column, ...] = field(
        default=(
            Column("basis", choices=BASIS),
            Column("note", optional=True),
            Column("source"),
            Column("as_of", "date"),
        )
    )

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.columns + self.provenance

    @property
    def series_key(self) -> tuple[str, ...]:
        """The key of one dated series (the key without `as_of`)."""
        return tuple(k for k in self.key if k != "as_of")

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        for c in self.all_columns:
            if c.name == name:
                return c
        raise KeyError(name)


# Every number in a catalog is finite and within a physically meaningful range (the loader
# rejects nan, inf, 1e308 and 1e-300 alike): an upper bound keeps products of figures far from
# overflow, and a lower bound on what divides (speeds, rates, lives) keeps quotients finite.
# Bounds are generous: they catch a wrong unit or a typo, not an unusual but real figure.
# A date as every message asks for it: YYYY-MM-DD, ASCII digits (not the other forms
# `date.fromisoformat` reads: 20251127, 2025-W48-4).
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_CELL_CHARS = 4000  # the longest note or source is under 1,000 characters
MAX_COUNT = 100_000  # devices per instance or server, scale-up domain, layers...
MAX_LOCAL_PRICE = 1e13  # any amount in any currency (a 384-device system in IDR is ~1e11)
MAX_RATE = 1e6  # TFLOPS, TB/s, Gbit/s, watts per device, GiB
MAX_DEVICES = 10_000_000  # devices available or allowed: larger than any cluster


def _pos(
    name: str, optional: bool = False, *, hi: float = MAX_RATE, lo: float | None = None
) -> Column:
    """A positive figure: > 0, or >= `lo` where the figure divides (a rate near 0 would make
    a time infinite)."""
    if lo is None:
        return Column(name, "float", optional=optional, gt=0, le=hi)
    return Column(name, "float", optional=optional, ge=lo, le=hi)


def _frac(name: str, optional: bool = False) -> Column:
    # An efficiency divides the work: below 0.1% it is a typo, not a measurement.
    return Column(name, "float", optional=optional, ge=0.001, le=1)


def _count(name: str, optional: bool = False) -> Column:
    return Column(name, "int", optional=optional, ge=1, le=MAX_COUNT)


# What a dated rule (policies.csv) or a what-if rule (shocks.csv) matches placements on.
RULE_MATCH_COLUMNS = (
    Column("data", pattern="data", cell=True),
    Column("region_country", pattern="country", cell=True),
    Column("accelerator", pattern="accelerator", cell=True),
    Column("accelerator_origin", pattern="country", cell=True),
    Column("tenant_hq", pattern="country", cell=True),
    Column("ownership", choices=OWNERSHIP, wildcard=True),
    # A serving phase's users (a market, as `users` spells it); a training phase has none and
    # matches only '*'. Optional: a row without the column (a shock, an older --catalog file)
    # matches any users.
    Column("users", pattern="market", cell=True, optional=True),
)
# What a rule controls where that changes whom it judges: `supply` (an export licence, an import
# approval) governs getting the parts, so a fleet acquired before it stays in use and is told,
# not warned or blocked, as under a rule on owned hardware. Empty: using or reaching them.
RULE_CONTROLS = Column("controls", choices=("supply",), optional=True)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "accelerators",
            key=("id",),
            columns=(
                Column("id"),
                Column("name"),
                Column("vendor"),
                Column("origin", pattern="country"),
                _pos("bf16_tflops", lo=0.001),
                _pos("fp16_tflops", lo=0.001),
                _pos("fp8_tflops", optional=True, lo=0.001),
                _pos("int8_tops", optional=True, lo=0.001),
                _pos("hbm_gib", lo=0.001),
                _pos("hbm_tbps", lo=0.001),
                _pos("tdp_w"),
                _pos("scaleup_gbps", lo=0.001),
                _count("scaleup_size"),
                _pos("scaleout_gbps", optional=True, lo=0.001),
            ),
        ),
        Table(
            "regions",
            key=("id",),
            columns=(
                Column("id"),
                Column("name"),
                Column("country", pattern="country"),
                Column("jurisdiction"),
                Column("currency", ref="currency"),
                Column("pue", "float", ge=1, le=3),
            ),
        ),
        Table(
            "electricity",
            # accelerator_origin: empty = every accelerator; a country = only accelerators
            # designed there (rev12c #4: western China's subsidised power is for domestic-chip
            # data centres). A scoped series replaces the region's unscoped one for them.
            key=("region", "accelerator_origin", "as_of"),
            history=True,
            columns=(
                Column("region", ref="regions"),
                _pos("price_kwh", hi=1e5),
                Column("currency", ref="currency"),
                Column("tariff"),
                Column("accelerator_origin", pattern="country", optional=True),
            ),
        ),
        Table(
            "latency",
            key=("region", "market", "as_of"),
            history=True,
            columns=(
                Column("region", ref="regions"),
                Column("market", choices=MARKETS),
                Column("rtt_ms", "float", ge=0, le=10_000),
            ),
        ),
        Table(
            "offers",
            key=("provider", "region", "accelerator", "instance", "pricing", "as_of"),
            history=True,
            columns=(
                Column("provider"),
                Column("region", ref="regions"),
                Column("accelerator", ref="accelerators"),
                Column("instance"),
                _count("devices_per_instance"),
                Column("pricing", choices=PRICING_MODELS),
                _pos("price_per_device_hour", hi=1e7),
                Column("currency", ref="currency"),
                Column("min_term_days", "int", ge=0, le=36_500),
                _pos("price_low", optional=True, hi=1e7),
                _pos("price_high", optional=True, hi=1e7),
                Column("evidence", choices=EVIDENCE),
                Column("max_devices", "int", optional=True, ge=1, le=MAX_DEVICES),
                # The instance's own network between instances (Gbit/s each way, as providers
                # publish it); empty = its accelerator's scaleout_gbps per device.
                _pos("instance_scaleout_gbit_s", optional=True, lo=0.001),
                # The public page that figure is from: the row's `source` is its price's (rev12f
                # #7), and a row copied into an override keeps both.
                Column("instance_scaleout_source", optional=True),
                # The longest term the provider sells at this price, days; empty = no maximum
                # stated (rev13b #2: AWS sells a Capacity Block for at most 182 days, and a
                # 350-day run was priced at one block's rate).
                Column("max_term_days", "int", optional=True, ge=1, le=36_500),
                Column("max_term_source", optional=True),
            ),
        ),
        Table(
            # Public indexes of what renting at scale under a term contract costs (not offers:
            # no provider is named), set beside a quote's list prices (rev12d #5).
            "rate_index",
            key=("accelerator", "index", "as_of"),
            history=True,
            columns=(
                Column("accelerator", ref="accelerators"),
                Column("index"),
                Column("term_days", "int", ge=0, le=36_500),
                _pos("price_per_device_hour", hi=1e7),
                Column("currency", ref="currency"),
                # When the figure was published, where later than its as_of (an index month is
                # published after it): a quote dated between could not have known it (rev12f #5).
                Column("announced", "date", optional=True),
            ),
        ),
        Table(
            "hardware",
            key=("id", "as_of"),
            history=True,
            columns=(
                Column("id"),
                Column("accelerator", ref="accelerators"),
                Column("server"),
                _count("devices_per_server"),
                _pos("price", hi=MAX_LOCAL_PRICE),
                Column("currency", ref="currency"),
                _pos("server_power_w", hi=1e8),
                _pos("life_years", lo=0.5, hi=50),
                Column("opex_fraction_per_year", "float", ge=0, le=1),
                Column("region_scope", pattern="country", wildcard=True),
                # What the price buys: a whole `server`, or a `module` (an 8-GPU baseboard or
                # cards) without its host, priced as a server at defaults.csv module_host_uplift
                # times it (rev13b #3); empty = server.
                Column("scope", choices=HARDWARE_SCOPES, optional=True),
                _pos("price_low", optional=True, hi=MAX_LOCAL_PRICE),
                _pos("price_high", optional=True, hi=MAX_LOCAL_PRICE),
            ),
        ),
        Table(
            "fx",
            key=("currency", "as_of"),
            history=True,
            # A peg ("yes") is fixed by its central bank: its rate does not go stale.
            columns=(
                Column("currency"),
                _pos("per_usd", lo=1e-4, hi=1e7),
                Column("peg", choices=("yes",), optional=True),
            ),
        ),
        Table(
            "transfer",
            key=("from_region", "to_country", "provider", "from_gb", "as_of"),
            history=True,
            columns=(
                Column("from_region", ref="regions", wildcard=True),
                Column("to_country", pattern="country", wildcard=True),
                # The provider whose egress the row prices (rev17a #10); empty = any provider
                # without rows of its own. `from_gb`: the month's volume a price tier starts at
                # (empty = 0, the first tier); tiers are marginal.
                Column("provider", optional=True),
                Column("from_gb", "float", optional=True, gt=0, le=1e12),
                Column("price_per_gb", "float", ge=0, le=1e6),
                Column("currency", ref="currency"),
                _pos("gbps", lo=0.001),
            ),
        ),
        Table(
            "efficiency",
            key=("accelerator", "workload", "arch"),
            columns=(
                Column("accelerator", ref="accelerators", wildcard=True),
                Column("workload", choices=WORKLOADS),
                Column("arch", choices=ARCHS, wildcard=True),
                _frac("mfu"),
                _frac("goodput"),
                _frac("mfu_low", optional=True),
                _frac("mfu_high", optional=True),
            ),
        ),
        Table(
            "policies",
            key=("id",),
            columns=(
                Column("id"),
                Column("effective_from", "date"),
                Column("effective_to", "date", optional=True),
                # When the rule was made public, where not on effective_from (a rule published
                # before it takes effect, or disclosed after): a quote dated earlier could not
                # have known it.
                Column("announced", "date", optional=True),
                Column("effect", choices=EFFECTS),
                *RULE_MATCH_COLUMNS,
                RULE_CONTROLS,
                Column("message"),
            ),
        ),
        Table(
            "supply",
            key=("accelerator", "country", "tenant_hq", "effective_from"),
            columns=(
                Column("accelerator", ref="accelerators", wildcard=True),
                Column("country", pattern="country", wildcard=True),
                Column("tenant_hq", pattern="country", wildcard=True),
                Column("effective_from", "date"),
                Column("effective_to", "date", optional=True),
                # When what the row says was made public, where not on effective_from (a lead
                # time or output figure reported months later, a ban disclosed days after it
                # took effect): a quote dated earlier could not have known it, and its findings
                # say so (`supply-announced-later`, rev14b #5), as for policies.
                Column("announced", "date", optional=True),
                Column("purchasable", choices=YES_NO),
                Column("lead_time_days", "int", optional=True, ge=0, le=3650),
                Column("max_devices_per_buyer", "int", optional=True, ge=1, le=MAX_DEVICES),
                Column("per_days", "int", optional=True, ge=1, le=36_500),
                Column("message"),
            ),
        ),
        Table(
            "resale",
            key=("accelerator", "age_years"),
            columns=(
                Column("accelerator", ref="accelerators", wildcard=True),
                Column("age_years", "float", ge=0, le=50),
                Column("value_fraction", "float", ge=0, le=1),
            ),
        ),
        Table(
            "aliases",
            key=("kind", "system", "name"),
            columns=(
                Column("kind", choices=("region", "accelerator")),
                Column("system"),
                Column("name"),
                Column("id"),
            ),
        ),
        Table(
            "defaults",
            key=("name",),
            columns=(Column("name"), Column("value", "float", gt=0, le=1e12), Column("unit")),
        ),
        Table(
            "shocks",
            key=("id",),
            columns=(
                Column("id"),
                Column("effect", choices=EFFECTS),
                *RULE_MATCH_COLUMNS,
                RULE_CONTROLS,
                Column("message"),
            ),
        ),
        Table(
            "models",
            key=("id",),
            columns=(
                Column("id"),
                Column("name"),
                Column("arch", choices=ARCHS),
                _pos("total_params_b", lo=0.001, hi=1e6),
                _pos("active_params_b", lo=0.001, hi=1e6),
                _count("layers", optional=True),
                Column("hidden", "int", optional=True, ge=1, le=10_000_000),
                _count("heads", optional=True),
                _count("kv_heads", optional=True),
                _count("head_dim", optional=True),
                Column("vocab", "int", optional=True, ge=1, le=100_000_000),
                _count("experts", optional=True),
                _count("experts_active", optional=True),
                Column("kv_lora_rank", "int", optional=True, ge=1, le=10_000_000),
                _count("rope_head_dim", optional=True),
            ),
        ),
    )
}

# Pairs of columns where the first must not exceed the second (ranges, active <= total); a
# third element True means it must be strictly smaller (an end date is exclusive).
ORDERED_PAIRS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "offers": (
        ("price_low", "price_per_device_hour", False),
        ("price_per_device_hour", "price_high", False),
        ("min_term_days", "max_term_days", False),
    ),
    "hardware": (("price_low", "price", False), ("price", "price_high", False)),
    "efficiency": (("mfu_low", "mfu", False), ("mfu", "mfu_high", False)),
    "models": (("active_params_b", "total_params_b", False),),
    "policies": (("effective_from", "effective_to", True),),
    "supply": (("effective_from", "effective_to", True),),
}

# Columns a row must fill when it fills another, with what the pair means: a figure that is
# only read with its partner has no default (rev12e #4: an empty `per_days` beside
# `max_devices_per_buyer` was 365 days to the solver and "0 days" in the message).
REQUIRED_WITH: dict[str, tuple[tuple[str, str, str], ...]] = {
    "offers": (
        (
            "instance_scaleout_source",
            "instance_scaleout_gbit_s",
            "the public page the instance's network figure is from",
        ),
        ("max_term_source", "max_term_days", "the public page that states the longest term"),
    ),
    "supply": (
        ("per_days", "max_devices_per_buyer", "the most one buyer can get in how many days"),
    ),
}


# A model's shape fields (models.csv columns, a scenario's model fields), in that order.
MODEL_SHAPE_FIELDS = (
    "layers",
    "hidden",
    "heads",
    "kv_heads",
    "head_dim",
    "vocab",
    "experts",
    "experts_active",
    "kv_lora_rank",
    "rope_head_dim",
)


def model_shape_problems(
    model: Mapping[str, Any], filled: Collection[str]
) -> list[tuple[str, str]]:
    """The shape rules every model obeys, as (field, why) for each one broken: one
    implementation for a models.csv row (checked at load, where the row is) and a scenario's
    model (`ModelSpec`), so a bad override row is not blamed on the scenario naming its preset
    or on a flag never given (rev19b #4). `filled` names the fields the tool works out itself
    (the shape rule's, or a row's empty cells): grouped-query attention shares each given KV
    head among a whole number of query heads, and a head size worked out must split the hidden
    size exactly (MLA models give theirs, wider than hidden / heads)."""
    out = []
    heads, kv, hidden = model.get("heads"), model.get("kv_heads"), model.get("hidden")
    experts, active = model.get("experts"), model.get("experts_active")
    if experts is not None and active is not None and active > experts:
        out.append(("experts_active", f"experts_active ({active}) exceeds experts ({experts})"))
    if heads and kv and "kv_heads" not in filled and (kv > heads or heads % kv):
        out.append(("kv_heads", f"kv_heads ({kv}) must divide heads ({heads})"))
    if heads and hidden and "head_dim" in filled and hidden % heads:
        why = f"hidden ({hidden}) is not a multiple of heads ({heads}): give head_dim"
        out.append(("hidden", why))
    if model.get("arch") == "dense" and (experts or active):
        # rev20b #9: experts_active alone was reported as experts, which was not given.
        field = "experts" if experts else "experts_active"
        why = f"{field} given for a dense model: give active_params below total_params (MoE)"
        out.append((field, why))
    return out
