"""Columns, types and row rules of every catalog table, declared once.

The loader derives every check from these declarations (see `pricing/data/README.md` for the
meaning of each column), so adding a column is one line here and one column in the CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

Kind = Literal["str", "float", "int", "date"]

# Every enumeration of the domain is declared here once, as a Literal type (for pydantic models
# and mypy) with its tuple of values (for the loader's checks); scenario.py imports these.
Basis = Literal["published", "reported", "estimate", "derived"]
PricingModel = Literal["on_demand", "spot", "reserved_1y", "reserved_3y", "contract"]
# How a site pays for its devices: one of the rental pricing models, or bought hardware.
SitePricing = Literal["on_demand", "spot", "reserved_1y", "reserved_3y", "contract", "owned"]
Workload = Literal["pretrain", "finetune", "prefill", "decode"]
TrainWorkload = Literal["pretrain", "finetune"]
DataClass = Literal["public", "personal", "important"]
Effect = Literal["block", "warn", "info"]
Arch = Literal["dense", "moe"]
Ownership = Literal["owned", "rented"]

BASIS: tuple[str, ...] = get_args(Basis)
PRICING_MODELS: tuple[str, ...] = get_args(PricingModel)
SITE_PRICING: tuple[str, ...] = get_args(SitePricing)
WORKLOADS: tuple[str, ...] = get_args(Workload)
TRAIN_WORKLOADS: tuple[str, ...] = get_args(TrainWorkload)
DATA_CLASSES: tuple[str, ...] = get_args(DataClass)
EFFECTS: tuple[str, ...] = get_args(Effect)
ARCHS: tuple[str, ...] = get_args(Arch)
OWNERSHIP: tuple[str, ...] = get_args(Ownership)


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
    pattern: Literal["data", "country", "accelerator"] | None = None
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


def _pos(name: str, optional: bool = False) -> Column:
    return Column(name, "float", optional=optional, gt=0)


def _frac(name: str, optional: bool = False) -> Column:
    return Column(name, "float", optional=optional, gt=0, le=1)


# What a dated rule (policies.csv) or a what-if rule (shocks.csv) matches placements on.
RULE_MATCH_COLUMNS = (
    Column("data", pattern="data", cell=True),
    Column("region_country", pattern="country", cell=True),
    Column("accelerator", pattern="accelerator", cell=True),
    Column("accelerator_origin", pattern="country", cell=True),
    Column("tenant_hq", pattern="country", cell=True),
    Column("ownership", choices=OWNERSHIP, wildcard=True),
)

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
                _pos("bf16_tflops"),
                _pos("fp16_tflops"),
                _pos("fp8_tflops", optional=True),
                _pos("int8_tops", optional=True),
                _pos("hbm_gib"),
                _pos("hbm_tbps"),
                _pos("tdp_w"),
                _pos("scaleup_gbps"),
                Column("scaleup_size", "int", ge=1),
                _pos("scaleout_gbps", optional=True),
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
                _pos("electricity_price_kwh"),
                Column("pue", "float", ge=1),
                Column("rtt_ms_to_cn", "float", ge=0),
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
                Column("devices_per_instance", "int", ge=1),
                Column("pricing", choices=PRICING_MODELS),
                _pos("price_per_device_hour"),
                Column("currency", ref="currency"),
                Column("min_term_days", "int", ge=0),
                _pos("price_low", optional=True),
                _pos("price_high", optional=True),
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
                Column("devices_per_server", "int", ge=1),
                _pos("price"),
                Column("currency", ref="currency"),
                _pos("server_power_w"),
                _pos("life_years"),
                Column("opex_fraction_per_year", "float", ge=0, le=1),
                Column("region_scope", pattern="country", wildcard=True),
                _pos("price_low", optional=True),
                _pos("price_high", optional=True),
            ),
        ),
        Table(
            "fx",
            key=("currency", "as_of"),
            history=True,
            columns=(Column("currency"), _pos("per_usd")),
        ),
        Table(
            "transfer",
            key=("from_region", "to_country", "as_of"),
            history=True,
            columns=(
                Column("from_region", ref="regions", wildcard=True),
                Column("to_country", pattern="country", wildcard=True),
                Column("price_per_gb", "float", ge=0),
                Column("currency", ref="currency"),
                _pos("gbps"),
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
                Column("effect", choices=EFFECTS),
                *RULE_MATCH_COLUMNS,
                Column("message"),
            ),
        ),
        Table(
            "defaults",
            key=("name",),
            columns=(Column("name"), Column("value", "float", gt=0), Column("unit")),
        ),
        Table(
            "shocks",
            key=("id",),
            columns=(
                Column("id"),
                Column("effect", choices=EFFECTS),
                *RULE_MATCH_COLUMNS,
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
                _pos("total_params_b"),
                _pos("active_params_b"),
                Column("layers", "int", optional=True, ge=1),
                Column("hidden", "int", optional=True, ge=1),
                Column("heads", "int", optional=True, ge=1),
                Column("kv_heads", "int", optional=True, ge=1),
                Column("head_dim", "int", optional=True, ge=1),
                Column("vocab", "int", optional=True, ge=1),
                Column("experts", "int", optional=True, ge=1),
                Column("experts_active", "int", optional=True, ge=1),
                Column("kv_lora_rank", "int", optional=True, ge=1),
                Column("rope_head_dim", "int", optional=True, ge=1),
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
    ),
    "hardware": (("price_low", "price", False), ("price", "price_high", False)),
    "efficiency": (("mfu_low", "mfu", False), ("mfu", "mfu_high", False)),
    "models": (("active_params_b", "total_params_b", False),),
    "policies": (("effective_from", "effective_to", True),),
}
