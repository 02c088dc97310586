"""Embedded pricing and reference catalogs for splitcompute: schema, loader, lookups, FX."""

from pricing.catalog import Catalog, FxRate, load_catalog
from pricing.errors import CatalogError, Problem, SplitcomputeError, UnknownIdError

__all__ = [
    "Catalog",
    "CatalogError",
    "FxRate",
    "Problem",
    "SplitcomputeError",
    "UnknownIdError",
    "load_catalog",
]
