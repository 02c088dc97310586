"""Model architecture: a frozen description of one network, from a preset or custom fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from estimator.errors import ScenarioError
from pricing import Catalog

ARCH_FIELDS = (
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


class ModelSpec(BaseModel):
    """Parameter counts are plain counts (not billions). Architecture fields are optional: without
    them the physics falls back to 6 x params FLOPs and no KV cache / attention terms."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = "custom"
    name: str = "custom model"
    arch: Literal["dense", "moe"] = "dense"
    total_params: float
    active_params: float
    layers: int | None = None
    hidden: int | None = None
    heads: int | None = None
    kv_heads: int | None = None
    head_dim: int | None = None
    vocab: int | None = None
    experts: int | None = None
    experts_active: int | None = None
    kv_lora_rank: int | None = None
    rope_head_dim: int | None = None

    @model_validator(mode="after")
    def _check(self) -> ModelSpec:
        if not self.total_params > 0 or not self.active_params > 0:
            raise ValueError("total_params and active_params must be > 0")
        if self.active_params > self.total_params:
            raise ValueError(
                f"active_params {self.active_params:g} exceeds total_params {self.total_params:g}"
            )
        for f in ARCH_FIELDS:
            v = getattr(self, f)
            if v is not None and v < 1:
                raise ValueError(f"{f} must be >= 1, got {v}")
        if (
            self.experts is not None
            and self.experts_active is not None
            and self.experts_active > self.experts
        ):
            raise ValueError("experts_active exceeds experts")
        if self.heads is not None and self.head_dim is None and self.hidden is not None:
            object.__setattr__(self, "head_dim", self.hidden // self.heads)
        if self.heads is not None and self.kv_heads is None:
            object.__setattr__(self, "kv_heads", self.heads)
        return self

    def literals(self) -> dict[str, Any]:
        """The columns the workload expressions read (null where unknown)."""
        return {
            "active_params": float(self.active_params),
            "total_params": float(self.total_params),
            **{f: getattr(self, f) for f in ARCH_FIELDS},
        }


def resolve_model(catalog: Catalog, preset: str | None = None, **fields: Any) -> ModelSpec:
    """A ModelSpec from a models.csv preset (params in billions there), optionally with fields
    overridden, or from custom fields alone (`total_params`, `active_params` default = total).

    Raises ScenarioError for bad values and pricing UnknownIdError for an unknown preset."""
    data: dict[str, Any] = {}
    if preset is not None:
        row = catalog.model(preset)
        data = {
            "id": row["id"],
            "name": row["name"],
            "arch": row["arch"],
            "total_params": row["total_params_b"] * 1e9,
            "active_params": row["active_params_b"] * 1e9,
            **{f: row.get(f) for f in ARCH_FIELDS},
        }
    data.update({k: v for k, v in fields.items() if v is not None})
    if "total_params" not in data:
        raise ScenarioError("a custom model needs total_params (or a preset)", "model")
    data.setdefault("active_params", data["total_params"])
    try:
        return ModelSpec(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "model"
        raise ScenarioError(str(err["msg"]).removeprefix("Value error, "), where) from None
