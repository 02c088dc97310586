"""Attribute docstrings as the field descriptions of a published JSON Schema.

The input and result models document each field with a docstring under it. pydantic can read
those itself (`use_attribute_docstrings`), but it does so by reading and parsing the source of
every model class when the class is created, on every run of every command (about 70 ms of a
quote's start-up). Only `splitcompute schema` shows the descriptions, so they are read here,
from the same docstrings, when a schema is asked for.
"""

from __future__ import annotations

import ast
import csv
import inspect
import itertools
import textwrap
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel


def attribute_docs(cls: type) -> dict[str, str]:
    """Field name -> the docstring written under it, in `cls` and the classes it extends (the
    nearest wins)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not issubclass(klass, BaseModel) or klass is BaseModel:
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body if isinstance(tree.body[0], ast.ClassDef) else []
        for field, doc in itertools.pairwise(body):
            if (
                isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(doc, ast.Expr)
                and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str)
            ):
                docs[field.target.id] = inspect.cleandoc(doc.value.value)
    return docs


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) is not None or isinstance(annotation, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def reachable(root: type[BaseModel]) -> list[type[BaseModel]]:
    """`root` and every model its fields hold, at any depth."""
    seen: list[type[BaseModel]] = []
    todo = [root]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.append(model)
        for field in model.model_fields.values():
            todo += _models_in(field.annotation)
    return seen


def described(root: type[BaseModel], schema: dict[str, Any], by_alias: bool) -> dict[str, Any]:
    """`schema` (of `root`) with a description on every property whose field has a docstring
    and no description of its own."""
    defs = schema.get("$defs", {})
    for model in reachable(root):
        node = schema if model is root else defs.get(model.__name__)
        if node is None:
            continue
        docs = attribute_docs(model)
        props = node.get("properties", {})
        for name, field in model.model_fields.items():
            key = (field.alias or name) if by_alias else name
            if key in props and name in docs and "description" not in props[key]:
                # pydantic sorts a property's keys; so does this, for the same bytes.
                props[key] = dict(sorted({**props[key], "description": docs[name]}.items()))
    return schema


PHYSICS_FIELDS = Path(__file__).parent / "data" / "physics_fields.csv"


def physics_fields() -> list[dict[str, str]]:
    """The physics figures a quote shows per phase (`physics`) and an estimate at its top level:
    name, kind (train, serve or both), JSON type and description with its unit. Data, so the
    schema and the test that every figure is described read one list."""
    with PHYSICS_FIELDS.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def physics_properties(kind: str | None = None) -> dict[str, Any]:
    """JSON Schema properties of the physics figures of `kind` (None: both kinds). Every
    figure may be null: a phase the physics cannot run (a precision the device lacks) has none."""
    return {
        f["name"]: {"description": f["description"], "type": [f["type"], "null"]}
        for f in physics_fields()
        if kind is None or f["kind"] in (kind, "both")
    }


def with_physics(schema: dict[str, Any], estimate: bool) -> dict[str, Any]:
    """`schema` with the physics figures declared: an estimate's at its top level, a quote's
    in each phase's `physics` object (only the figures listed there)."""
    if estimate:
        props = schema.setdefault("properties", {})
        for name, prop in physics_properties().items():
            props.setdefault(name, prop)
        return schema
    phase = schema.get("$defs", {}).get("PhaseView")
    if phase is not None:
        phase["properties"]["physics"] = {
            "additionalProperties": False,
            "description": "The physics of the phase's kind (training or serving figures).",
            "properties": physics_properties(),
            "type": "object",
        }
    return schema
