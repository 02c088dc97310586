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
from estimator.scenario_file import own_words
from pricing import Catalog
from pricing.schema import MODEL_SHAPE_FIELDS, model_shape_problems

ARCH_FIELDS = MODEL_SHAPE_FIELDS


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
        problems = model_shape_problems(
            {"arch": self.arch, **{f: getattr(self, f) for f in ARCH_FIELDS}}, self.inferred
        )
        if problems:
            raise ValueError(problems[0][1])
        return self

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
    "s2.1) at hidden = 128 x layers in steps of 1,024 (of 128 below 1,024) and head_dim 128 "
    "(GPT-3 175B, Llama 2/3), "
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
    # A model narrower than one group (under ~1e8 parameters) is whole heads of head_dim
    # instead: 1,024 wide it held 3x the parameters of a 2e7 model, which its own shape check
    # then refused (rev14a nit: the documented minimum of 1e6 could not be quoted).
    head_dim = int(out.get("head_dim") or rule.head_dim)
    group = head_dim * rule.kv_heads

    def width(x: float) -> int:
        return _round_to(x, group if x >= group else head_dim)

    if out.get("layers") is None and out.get("hidden") is None:
        layers = max(1, round((n / (12.0 * r * r)) ** (1.0 / 3.0)))
        out["layers"], out["hidden"] = layers, width(r * layers)
        filled += ["layers", "hidden"]
    elif out.get("hidden") is None:
        out["hidden"] = width((n / (12.0 * out["layers"])) ** 0.5)
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


# How far a model's active parameters may be from 12 x layers x hidden^2 (attention 4 h^2 + an
# MLP of 8 h^2; an MoE's per-token path) before its shape is taken for a mistake: embeddings
# and wider or narrower MLPs move real models by well under this (Llama-3.1-70B 1.10x,
# Llama-3.2-1B 1.55x, Qwen2.5-0.5B 2.1x with its large vocabulary, DeepSeek-V3 0.98x,
# Qwen3-235B-A22B 1.16x, Mixtral 8x7B 2.0x).
SHAPE_TOLERANCE = 3.0
# How much wider than the hidden size the attention (heads x head_dim) may be: MLA models are
# (DeepSeek-V3 128 x 128 on 7,168: 2.3x; Qwen3-235B-A22B 2.0x), 32x was a mistake (rev14a #5).
ATTENTION_TOLERANCE = 4.0


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


def _check_shape(
    m: ModelSpec, given: frozenset[str] = frozenset(), preset: str | None = None
) -> None:
    """A model whose parameter count its layers and hidden size cannot hold: 7e9 parameters
    with 80 layers of 8,192 (~64e9) was priced without a word; an MoE is checked by its active
    parameters, and its total cannot exceed its experts' share (rev14a #5). The message says
    which of the fields were given, inferred or the preset's, and is located at a given one."""
    if not m.layers or not m.hidden:
        return
    implied = 12.0 * m.layers * m.hidden**2
    count = "total_params" if m.arch == "dense" else "active_params"
    n = m.total_params if m.arch == "dense" else m.active_params
    # A dense preset's count given as active_params alone sets both: the message names the
    # field the user gave, not total_params "(given)" (rev20b #5).
    alone = m.arch == "dense" and "active_params" in given and "total_params" not in given
    count = "active_params" if alone else count

    def said(f: str) -> str:
        if f in given:
            return "given"
        return "inferred" if f in m.inferred else f"{preset}'s" if preset else "given"

    if not 1 / SHAPE_TOLERANCE <= n / implied <= SHAPE_TOLERANCE:
        what = "parameters" if m.arch == "dense" else "active parameters"
        too = ", which a dense model's total is too" if alone else ""
        shown = [f for f in (count, "hidden", "layers") if f in given]
        raise ScenarioError(
            f"{n:.3g} {what} ({count}, {said(count)}{too}) do not fit {m.layers} layers "
            f"({said('layers')}) of hidden size {m.hidden} ({said('hidden')}): that shape "
            f"holds about {implied:.3g} by 12 x layers x hidden^2; check {count}, layers and "
            "hidden",
            f"model.{shown[0] if shown else count}",
        )
    if m.heads and m.head_dim and m.heads * m.head_dim > ATTENTION_TOLERANCE * m.hidden:
        raise ScenarioError(
            f"heads x head_dim ({m.heads} x {m.head_dim} = {m.heads * m.head_dim}) is more than "
            f"{ATTENTION_TOLERANCE:g}x hidden ({m.hidden}): give heads and head_dim that fit it",
            "model.hidden" if "hidden" in given else "model.heads",
        )
    # total = shared + experts x width and active = shared + experts_active x width, so
    # total / active is at most experts / experts_active (DeepSeek-V3 18 of 32).
    e, k = m.experts or 0, m.experts_active or 0
    routed = m.arch == "moe" and e and k and "experts" not in m.inferred
    if routed and m.total_params / m.active_params > 1.01 * e / k:
        raise ScenarioError(
            f"{m.total_params:.3g} total parameters are {m.total_params / m.active_params:.3g}"
            f"x the {m.active_params:.3g} active, more than {e} experts with {k} per token "
            f"can hold (at most {e / k:.3g}x): check total_params, experts and "
            "experts_active",
            "model.experts" if "experts" in given else "model.total_params",
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
    # A field given as the preset has it changes nothing (a file may repeat the published shape).
    shape = [f for f in ARCH_FIELDS if f in given and given[f] != data.get(f)]
    counted = "total_params" in given or "active_params" in given
    if preset is not None and shape and not counted:
        # A preset's parameter count is that of its published shape: DeepSeek-V3 "with 4
        # layers" kept 671B / 37B and trained 45% cheaper, a hidden of 512 kept 128 heads of
        # 128 (rev14a #5). Another shape is a custom model, whose count the user must give.
        raise ScenarioError(
            f"{preset}'s {data['total_params']:.4g} parameters are those of its published shape "
            f"({data['layers']} layers, hidden {data['hidden']}): with another {shape[0]} give "
            "its total_params (and active_params for an MoE) too, or drop the preset for a "
            "custom model",
            f"model.{shape[0]}",
        )
    # A dense preset stays dense: one count given sets both, as a custom model's does
    # (review10c #4: total_params alone left the preset's active count, and a 70.6e9
    # Llama-3.3-70B became a 9-expert MoE costing 13x); two different counts need experts.
    if preset is not None and data["arch"] == "dense" and not given.get("experts") and counted:
        total = given.get("total_params", given.get("active_params"))
        active = given.get("active_params", total)
        if active != total:
            raise ScenarioError(
                f"{preset} is dense: its active and total parameters are one count (got "
                f"{active:.4g} active of {total:.4g}); give experts to make it an MoE",
                "model.active_params",
            )
        named = frozenset(given)  # what the user gave, which errors name (rev20b #5)
        given["total_params"] = given["active_params"] = total
    else:
        named = frozenset(given)
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
        if preset is None or counted:
            _check_shape(spec, named, preset)
        return spec
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "model"
        raise ScenarioError(own_words(err).removeprefix("Value error, "), where) from None
    except ValueError as exc:
        raise ScenarioError(str(exc), "model") from None
