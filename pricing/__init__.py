"""Embedded pricing and reference catalogs for splitcompute: schema, loader, lookups, FX.

Names are imported on first use: the errors are light, the catalog pulls in polars, and a
command's `--help` needs only the former.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pricing.catalog import Catalog, FxRate, load_catalog
    from pricing.errors import CatalogError, Problem, SplitcomputeError, UnknownIdError

_EXPORTS = {
    "Catalog": "pricing.catalog",
    "FxRate": "pricing.catalog",
    "load_catalog": "pricing.catalog",
    "CatalogError": "pricing.errors",
    "Problem": "pricing.errors",
    "SplitcomputeError": "pricing.errors",
    "UnknownIdError": "pricing.errors",
}

__all__ = [
    "Catalog",
    "CatalogError",
    "FxRate",
    "Problem",
    "SplitcomputeError",
    "UnknownIdError",
    "load_catalog",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'pricing' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The names imported on first use, too: `dir()` and a REPL's completion listed none
    # (review11b #13).
    # The API and the submodules already loaded, not the imports this file uses (rev11c #16).
    own = {n for n in globals() if n.startswith("__") or n in __all__}
    loaded = {n for n, v in globals().items() if isinstance(v, type(sys))} - {"importlib", "sys"}
    return sorted({*own, *__all__, *loaded})
