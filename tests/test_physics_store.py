"""Physics results kept between runs (`estimator.physics.store`): the same bits back for the very
same solve, a fresh solve when anything it reads differs, and no harm from a damaged, foreign or
unwritable store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from estimator import load_scenario, quote
from estimator.physics import store
from pricing import Catalog, load_catalog
from pricing.cache import write_checked
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "split_abroad_home.toml"


@pytest.fixture
def solves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """An empty store of its own, and the number of solves each quote made."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    counted: list[int] = []
    real = store.remembered

    def counting(catalog: Catalog, model: Any, keys: pl.DataFrame, settings: Any, solve: Any):
        def solve_counted() -> pl.DataFrame:
            counted.append(keys.height)
            return solve()

        return real(catalog, model, keys, settings, solve_counted)

    monkeypatch.setattr(store, "remembered", counting)
    return counted


def _quoted(catalog: Catalog) -> str:
    """The whole quote unrounded, every float as its shortest exact form."""
    return quote(load_scenario(EXAMPLE), catalog).model_dump_json()


def _files() -> list[Path]:
    return sorted(store.directory().glob("*.arrow"))


def test_a_second_run_reads_every_solve_back_bit_for_bit(
    solves: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    first = _quoted(load_catalog())
    n = len(solves)
    assert n >= 2 and len(_files()) == n  # one file per solve
    second = _quoted(load_catalog())  # a new catalog object: nothing remembered in memory
    assert len(solves) == n  # nothing solved again
    assert second == first
    blocker = tmp_path / "blocker"  # and the same as with no store at all
    blocker.write_text("a file where the cache directory would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert _quoted(load_catalog()) == first and len(solves) == 2 * n


def test_a_changed_physics_figure_is_solved_afresh(solves: list[int]):
    catalog = load_catalog()
    first = _quoted(catalog)
    n = len(solves)
    # (Catalog.with_table checks its result: each range keeps its low <= point <= high.)
    slower = catalog.with_table(
        "efficiency", lambda df: df.with_columns(pl.col("mfu", "mfu_low") * 0.9)
    )
    changed = _quoted(slower)
    assert len(solves) == 2 * n and changed != first
    # A change to a table physics does not read (prices) keeps the stored solves.
    cheaper = catalog.with_table(
        "offers", lambda df: df.with_columns(pl.col("price_per_device_hour", "price_low") * 0.9)
    )
    _quoted(cheaper)
    assert len(solves) == 2 * n


def test_a_damaged_or_foreign_file_is_solved_again_and_replaced(solves: list[int]):
    first = _quoted(load_catalog())
    n = len(solves)
    files = _files()
    assert len(files) >= 3
    files[0].write_bytes(b"not arrow")
    # A flipped bit in a figure still reads as Arrow, as another figure (48 devices read back
    # as 268,435,504): the checksum catches it.
    flipped = bytearray(files[1].read_bytes())
    flipped[len(flipped) // 2] ^= 0x10
    files[1].write_bytes(bytes(flipped))
    other = pl.DataFrame({"accelerator": ["nobody"]})  # a file whose rows were not asked for
    for path in files[2:]:
        write_checked(path, other)
    assert _quoted(load_catalog()) == first
    assert len(solves) == 2 * n
    assert _quoted(load_catalog()) == first and len(solves) == 2 * n  # replaced: read back now


def test_an_unwritable_store_means_solving_every_run(
    solves: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache directory would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    first = _quoted(load_catalog())
    n = len(solves)
    assert _quoted(load_catalog()) == first and len(solves) == 2 * n


def test_a_new_code_version_removes_the_old_versions_results(solves: list[int]):
    old = store.directory().parent / "physics-0123456789abcdef"
    old.mkdir(parents=True)
    (old / "x.arrow").write_bytes(b"")
    _quoted(load_catalog())
    assert not old.exists() and _files()


def test_the_least_recently_used_files_go_first(tmp_path: Path):
    for i in range(10):
        path = tmp_path / f"{i}.arrow"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_000 + i, 1_000 + i))
    store._trim(tmp_path, limit=1_000)  # 1,000 bytes held: at the limit, nothing removed
    assert len(list(tmp_path.iterdir())) == 10
    store._trim(tmp_path, limit=999)  # over: down to three quarters of it
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{i}.arrow" for i in range(3, 10)]


def test_a_file_read_is_kept_longest(solves: list[int]):
    _quoted(load_catalog())
    for path in _files():
        os.utime(path, (1_000, 1_000))
    _quoted(load_catalog())
    assert all(path.stat().st_mtime > 1_000 for path in _files())


def test_other_files_in_the_store_do_not_stop_it_being_trimmed(tmp_path: Path):
    (tmp_path / "a folder.arrow").mkdir()
    (tmp_path / "notes.txt").write_bytes(b"x" * 500)
    for i in range(4):
        path = tmp_path / f"{i}.arrow"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_000 + i, 1_000 + i))
    store._trim(tmp_path, limit=300)  # 400 bytes of the store's own files: down to 225
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["2.arrow", "3.arrow", "a folder.arrow", "notes.txt"]


def test_each_input_of_a_solve_names_it_apart(catalog: Catalog):
    from estimator.physics import ServeSettings, resolve_model

    keys = pl.DataFrame({"accelerator": ["h100-sxm"], "replica_cap": [8.0]})
    model = resolve_model(catalog, "llama-3.3-70b")
    other_model = resolve_model(catalog, "llama-3.1-8b")
    settings = ServeSettings(precision="fp8", input_len=1000, output_len=1000)
    key = store.solve_key(catalog, model, keys, settings)
    assert key == store.solve_key(catalog, model, keys.clone(), settings)
    variants = [
        store.solve_key(catalog, other_model, keys, settings),
        store.solve_key(catalog, model, keys, ServeSettings("fp8", 1000, 1001)),
        store.solve_key(catalog, model, keys.with_columns(replica_cap=pl.lit(4.0)), settings),
        store.solve_key(catalog, model, keys.rename({"replica_cap": "cap"}), settings),
        store.solve_key(
            catalog, model, keys.with_columns(pl.col("replica_cap").cast(pl.Float32)), settings
        ),
        store.solve_key(
            catalog.with_table("accelerators", lambda df: df.with_columns(pl.col("hbm_gib") + 1)),
            model,
            keys,
            settings,
        ),
    ]
    assert len({key, *variants}) == 1 + len(variants)


def test_a_null_is_not_any_string():
    texts = {
        store._text(pl.DataFrame({"a": [v]}, schema={"a": pl.String}))
        for v in (None, "", "<null>", "null")
    }
    assert len(texts) == 4


def test_large_sweeps_are_not_kept(solves: list[int]):
    catalog = load_catalog()
    keys = pl.DataFrame({"accelerator": ["h100-sxm"] * (store.STORE_KEYS + 1)})
    out = store.remembered(catalog, None, keys, None, lambda: keys)
    assert out.height == keys.height and not store.directory().exists()
