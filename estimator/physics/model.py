"""Model architecture: a frozen description of one network, from a preset or custom fields.

A custom model may give only its parameter counts: the missing shape fields are then inferred
by one documented rule (`infer_shape`), the fields filled are listed in `ModelSpec.inferred`,
and every quote states them. Nothing is silently dropped: attention FLOPs, the KV cache and
the memory-bound work always have a shape to work with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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
    """Parameter counts are plain counts (not billions). `inferred` names the shape fields the
    shape rule filled in (empty for a preset or a fully specified custom model)."""

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
    inferred: tuple[str, ...] = ()

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
        self._check_attention()
        if self.arch == "dense" and (self.experts or self.experts_active):
            raise ValueError(
                "experts given for a dense model: give active_params below total_params (MoE)"
            )
        return self

    def _check_attention(self) -> None:
        """Grouped-query attention shares each KV head among a whole number of query heads, and
        a head size the tool worked out must split the hidden size exactly (MLA models give
        theirs, wider than hidden / heads)."""
        heads, kv = self.heads, self.kv_heads
        given = heads is not None and kv is not None and "kv_heads" not in self.inferred
        if given and (kv > heads or heads % kv):  # type: ignore[operator]
            raise ValueError(f"kv_heads ({kv}) must divide heads ({heads})")
        if (
            "head_dim" in self.inferred
            and heads is not None
            and self.hidden is not None
            and self.hidden % heads
        ):
            raise ValueError(
                f"hidden ({self.hidden}) is not a multiple of heads ({heads}): give head_dim"
            )

    def literals(self) -> dict[str, Any]:
        """The columns the workload expressions read (null where unknown)."""
        return {
            "active_params": float(self.active_params),
            "total_params": float(self.total_params),
            **{f: getattr(self, f) for f in ARCH_FIELDS},
        }

    def describe(self) -> str:
        """One line for the assumptions: the shape used, and which fields were inferred."""
        shape = (
            f"{self.arch}, {self.total_params / 1e9:.4g}B total / "
            f"{self.active_params / 1e9:.4g}B active, {self.layers} layers, hidden "
            f"{self.hidden}, {self.heads} heads ({self.kv_heads} KV, head_dim {self.head_dim})"
        )
        if self.arch == "moe":
            shape += f", {self.experts} experts ({self.experts_active} per token)"
        if self.inferred:
            shape += f"; inferred from the parameter count: {', '.join(self.inferred)} ({RULE})"
        return shape


RULE = (
    "shape rule: 12 x layers x hidden^2 active parameters (Kaplan et al. 2020, arXiv 2001.08361 "
    "s2.1) at hidden = 128 x layers in steps of 1,024 and head_dim 128 (GPT-3 175B, Llama 2/3), "
    "8 KV heads (Llama 3, arXiv 2407.21783 Table 3), 8 routed experts per token (DeepSeek-V3, "
    "Qwen3)"
)


@dataclass(frozen=True)
class ShapeRule:
    """The constants of the shape rule (defaults.csv `shape_*` rows)."""

    hidden_per_layer: float
    head_dim: int
    kv_heads: int
    experts_active: int

    @classmethod
    def of(cls, catalog: Catalog) -> ShapeRule:
        return cls(
            hidden_per_layer=catalog.default("shape_hidden_per_layer"),
            head_dim=int(catalog.default("shape_head_dim")),
            kv_heads=int(catalog.default("shape_kv_heads")),
            experts_active=int(catalog.default("shape_experts_active")),
        )


def _round_to(x: float, step: int) -> int:
    return max(step, round(x / step) * step)


def infer_shape(data: dict[str, Any], rule: ShapeRule) -> dict[str, Any]:
    """`data` with its missing shape fields filled and `inferred` listing them.

    Layers and hidden size come from N = 12 x layers x hidden^2 (N = active parameters, the
    per-token path that sets the shape) with hidden = hidden_per_layer x layers when neither is
    given, or from the one given, rounded to whole groups of 8 KV heads x head_dim; heads from
    hidden / head_dim; KV heads = the largest divisor of heads up to 8; an
    MoE (active < total) gets 8 routed experts per token and experts in the ratio total/active."""
    out = dict(data)
    filled: list[str] = []
    n = float(out["active_params"])
    r = rule.hidden_per_layer
    # An inferred hidden size is whole groups of kv_heads heads of head_dim (1,024 wide), so
    # its heads share KV heads evenly and split over tensor-parallel sizes 1-8, as in every
    # Llama 2/3 size (4,096, 5,120, 8,192, 16,384).
    group = int(out.get("head_dim") or rule.head_dim) * rule.kv_heads
    if out.get("layers") is None and out.get("hidden") is None:
        layers = max(1, round((n / (12.0 * r * r)) ** (1.0 / 3.0)))
        out["layers"], out["hidden"] = layers, _round_to(r * layers, group)
        filled += ["layers", "hidden"]
    elif out.get("hidden") is None:
        out["hidden"] = _round_to((n / (12.0 * out["layers"])) ** 0.5, group)
        filled.append("hidden")
    elif out.get("layers") is None:
        out["layers"] = max(1, round(n / (12.0 * out["hidden"] ** 2)))
        filled.append("layers")
    hidden = int(out["hidden"])
    if out.get("heads") is None:
        out["heads"] = max(1, hidden // int(out.get("head_dim") or rule.head_dim))
        filled.append("heads")
    if out.get("head_dim") is None:
        out["head_dim"] = max(1, hidden // int(out["heads"]))
        filled.append("head_dim")
    if out.get("kv_heads") is None:
        # At most 8, and a divisor of the heads (each KV head serves a whole group of them).
        out["kv_heads"] = math.gcd(int(out["heads"]), rule.kv_heads)
        filled.append("kv_heads")
    if float(out["active_params"]) < float(out["total_params"]):
        out["arch"] = "moe"
        if out.get("experts_active") is None:
            out["experts_active"] = min(rule.experts_active, out.get("experts") or 10**9)
            filled.append("experts_active")
        if out.get("experts") is None:
            ratio = float(out["total_params"]) / float(out["active_params"])
            out["experts"] = max(out["experts_active"] + 1, round(out["experts_active"] * ratio))
            filled.append("experts")
    out["inferred"] = tuple(filled)
    return out


# How far a dense model's parameters may be from 12 x layers x hidden^2 (attention 4 h^2 + an
# MLP of 8 h^2) before its shape is taken for a mistake: embeddings and wider or narrower MLPs
# move real models by well under this (Llama-3.1-70B 1.10x, Llama-3.2-1B 1.55x, Qwen2.5-0.5B
# 2.1x with its large vocabulary).
SHAPE_TOLERANCE = 3.0


def tensor_parallel_problem(model: ModelSpec, tp: int) -> str | None:
    """Why `tp` devices cannot be one tensor-parallel group of `model`, or None. The group
    splits the attention heads evenly among its devices, and the KV heads too, or replicates
    each over a whole number of devices when there are fewer of them than devices (Megatron-LM
    and vLLM require the heads to divide; vLLM, TensorRT-LLM and SGLang the KV heads to divide
    or be divided by the group; the physics replicates them so). Training's `tensor_parallel`
    and a dense serving replica's devices are both checked here."""
    if model.heads and model.heads % tp:
        return f"does not divide the model's {model.heads} attention heads"
    kv = model.kv_heads
    if kv and (tp % kv if tp >= kv else kv % tp):
        return f"does not divide the model's {kv} KV heads, nor is it a multiple of them"
    return None


def _check_shape(m: ModelSpec) -> None:
    """A custom dense model whose parameter count its layers and hidden size cannot hold: 7e9
    parameters with 80 layers of 8,192 (~64e9) was priced without a word."""
    if m.arch != "dense" or not m.layers or not m.hidden:
        return
    implied = 12.0 * m.layers * m.hidden**2
    if not 1 / SHAPE_TOLERANCE <= m.total_params / implied <= SHAPE_TOLERANCE:
        raise ScenarioError(
            f"{m.total_params:.3g} parameters do not fit {m.layers} layers of hidden size "
            f"{m.hidden} (about {implied:.3g} by 12 x layers x hidden^2): check total_params, "
            "layers and hidden",
            "model.total_params",
        )


def resolve_model(catalog: Catalog, preset: str | None = None, **fields: Any) -> ModelSpec:
    """A ModelSpec from a models.csv preset (params in billions there), optionally with fields
    overridden, or from custom fields alone (`total_params`, `active_params` default = total);
    missing shape fields are inferred (`infer_shape`). Active < total means MoE.

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
    given = {k: v for k, v in fields.items() if v is not None}
    # A dense preset stays dense: one count given sets both, as a custom model's does
    # (review10c #4: total_params alone left the preset's active count, and a 70.6e9
    # Llama-3.3-70B became a 9-expert MoE costing 13x); two different counts need experts.
    counted = "total_params" in given or "active_params" in given
    if preset is not None and data["arch"] == "dense" and not given.get("experts") and counted:
        total = given.get("total_params", given.get("active_params"))
        active = given.get("active_params", total)
        if active != total:
            raise ScenarioError(
                f"{preset} is dense: its active and total parameters are one count (got "
                f"{active:.4g} active of {total:.4g}); give experts to make it an MoE",
                "model.active_params",
            )
        given["total_params"] = given["active_params"] = total
    data.update(given)
    if "total_params" not in data:
        raise ScenarioError("a custom model needs total_params (or a preset)", "model")
    data.setdefault("active_params", data["total_params"])
    try:
        if not float(data["total_params"]) > 0 or not float(data["active_params"]) > 0:
            raise ValueError("total_params and active_params must be > 0")
        for f in ARCH_FIELDS:  # the shape rule divides by these
            if data.get(f) is not None and data[f] < 1:
                raise ValueError(f"{f} must be >= 1, got {data[f]}")
        spec = ModelSpec(**infer_shape(data, ShapeRule.of(catalog)))
        # A preset's own shape is its published one; a preset whose size or shape a user
        # changes is checked as a custom model is (review10b #4: an 8B count on the 70B's
        # 80 layers of 8,192 was priced, the CLI refusing the same model).
        reshaped = ("layers", "hidden", "total_params", "active_params")
        if preset is None or any(fields.get(f) for f in reshaped):
            _check_shape(spec)
        return spec
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "model"
        raise ScenarioError(str(err["msg"]).removeprefix("Value error, "), where) from None
    except ValueError as exc:
        raise ScenarioError(str(exc), "model") from None
