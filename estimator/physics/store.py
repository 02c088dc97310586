"""Physics results kept between runs, so that quoting a scenario again after editing its prices,
dates or rules does not solve the same physics again.

A solve is a pure function of its inputs: the rows asked for (accelerator, replica limits,
per-row inputs), the settings, the model, the catalog figures the physics reads and the code
that computes it. Its result is kept as one Arrow IPC file named by a hash of all of those (and
of polars' version, its thread count and the machine's architecture, which can move a result by
its last bit), so a run finds it only when the very same solve was done before and gets back the
very same bits: the output of a command never depends on what was run before it. A file that
cannot be read, fails its checksum (`pricing.cache.write_checked`) or holds other rows than those
asked for is solved again and replaced.

The files live in $XDG_CACHE_HOME/splitcompute/physics-<code hash> (next to the catalog
cache, `pricing.cache`); a new version of the physics code starts a new directory and removes
the old ones. The directory is kept under STORE_BYTES by removing the files least recently
used. When it cannot be written, physics is simply solved every run. Only solves of up to
STORE_KEYS rows are kept (a quote's, a plan's or a Monte Carlo cost curve's; not a sweep of
millions).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from pricing import Catalog
from pricing.cache import cache_root, read_checked, write_checked

# Bump when the file layout changes (the hash covers the code and the inputs).
# 3: Arrow IPC stream files (`pricing.cache.write_checked`).
FORMAT = "3"
# The catalog tables physics reads (devices, efficiency tiers, defaults, model presets).
PHYSICS_TABLES = ("accelerators", "efficiency", "defaults", "models")
# A training cost curve's cut cells are ~6,000 keys (split_abroad_home's pretrain: 6,350, a
# 2 MB file, ~7 ms to write): kept, a Monte Carlo run again on the same scenario solves none of
# its curves (only draws of another seed), ~0.17 s CPU of a 1M-sample run's ~0.5 s.
STORE_KEYS = 16_384
STORE_BYTES = 64 * 2**20


@cache
def code_digest() -> str:
    """A hash of the physics code (this package and the bounds it reads) and polars' version."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256(f"{FORMAT}\0{pl.__version__}\0".encode())
    for path in [*sorted(here.glob("*.py")), here.parent / "bounds.py"]:
        h.update(f"\0{path.name}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def directory() -> Path:
    return cache_root() / f"physics-{code_digest()}"


def solve_key(catalog: Catalog, model: Any, keys: pl.DataFrame, settings: Any) -> str:
    """The name of a solve: everything its result depends on."""
    # The machine's architecture and polars' threads: either can move a result by its last bit.
    where = f"{code_digest()}\0{platform.machine()}\0{pl.thread_pool_size()}\0"
    h = hashlib.sha256(where.encode())
    h.update(catalog.digest(PHYSICS_TABLES).encode())
    h.update(f"\0{model!r}\0{settings!r}\0{keys.schema!r}\0".encode())
    h.update(_text(keys).encode())
    return h.hexdigest()[:40]


def remembered(
    catalog: Catalog,
    model: Any,
    keys: pl.DataFrame,
    settings: Any,
    solve: Callable[[], pl.DataFrame],
) -> pl.DataFrame:
    """`solve()`, or its result from an earlier run of the very same solve."""
    if keys.height > STORE_KEYS:
        return solve()
    path = directory() / f"{solve_key(catalog, model, keys, settings)}.arrow"
    out = _read(path, keys)
    if out is None:
        out = solve()
        _write(path, out)
    return out


def _text(df: pl.DataFrame) -> str:
    """A frame's values as text, each float in its shortest exact form; a null (bare, empty)
    is told apart from an empty or any other string (quoted)."""
    return df.write_csv(quote_style="non_numeric", null_value="")


def _read(path: Path, keys: pl.DataFrame) -> pl.DataFrame | None:
    out = read_checked(path)
    if out is None:
        return None
    names = keys.columns
    if out.height != keys.height or not set(names) <= set(out.columns):
        return None
    if not out.select(names).equals(keys, null_equal=True):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept longest
    return out


def _write(path: Path, out: pl.DataFrame) -> None:
    """Write `out` (`write_checked`); on any OS error give up silently (no store)."""
    try:
        fresh = not path.parent.is_dir()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_checked(path, out)
        if fresh:  # a new version of the code: the old versions' results are of no use
            for old in path.parent.parent.glob("physics-*"):
                if old != path.parent and old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
        _trim(path.parent)
    except OSError:
        return


def _trim(folder: Path, limit: int = STORE_BYTES) -> None:
    """Remove the least recently used files until the folder holds at most three quarters of
    `limit` bytes, once it holds more than `limit` (files of the store only)."""
    files = []
    for entry in os.scandir(folder):
        with contextlib.suppress(OSError):
            if entry.name.endswith(".arrow") and entry.is_file(follow_symlinks=False):
                stat = entry.stat(follow_symlinks=False)
                files.append((stat.st_mtime, stat.st_size, entry.path))
    total = sum(size for _, size, _ in files)
    if total <= limit:
        return
    for _, size, name in sorted(files):
        with contextlib.suppress(OSError):
            os.unlink(name)
        total -= size
        if total <= limit * 3 // 4:
            return
