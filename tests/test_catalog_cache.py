"""The embedded catalog's binary cache: validated CSV data in, the same frames out; rebuilt
when a data file changes or a cached file is damaged; no cache when it cannot be written."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import pricing.catalog
from pricing import load_catalog
from pricing.cache import DIGESTS, Store, cache_root, content_digest, read_checked, write_checked
from pricing.schema import TABLES
from tests.conftest import FROZEN_CATALOG

EMBEDDED = Path(pricing.__file__).parent / "data"


def test_embedded_csv_files_validate():
    """The cache skips validation at run time; this is where the shipped data is validated."""
    files = {name: (EMBEDDED / t.file).read_bytes() for name, t in TABLES.items()}
    tables = pricing.catalog.read_embedded(files)
    assert set(tables) == set(TABLES)
    assert all(df.height for df in tables.values())


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the frozen catalog as the embedded data, and an empty cache directory."""
    copy = tmp_path / "data"
    shutil.copytree(FROZEN_CATALOG, copy)
    monkeypatch.setattr(pricing.catalog, "EMBEDDED_DIR", copy)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(pricing.catalog, "_EMBEDDED", {})
    return copy


def _fresh() -> pricing.Catalog:
    """A load as a new process would do it (the per-process memo forgotten)."""
    pricing.catalog._EMBEDDED.clear()
    return load_catalog()


def _stores() -> list[Path]:
    return sorted(cache_root().glob("catalog-*"))


def test_cached_tables_equal_the_validated_ones(data: Path):
    first = _fresh()  # parses, validates, writes the cache
    assert len(_stores()) == 1
    second = _fresh()  # reads the cache
    for name in TABLES:
        assert_frame_equal(second.table(name), first.table(name))


def test_a_changed_data_file_invalidates_the_cache(data: Path):
    qar = pl.col("currency") == "QAR"
    assert _fresh().table("fx").filter(qar)["per_usd"].to_list() == [3.64]
    fx = data / "fx.csv"
    fx.write_text(fx.read_text(encoding="utf-8").replace("QAR,3.64,", "QAR,3.65,"), "utf-8")
    assert _fresh().table("fx").filter(qar)["per_usd"].to_list() == [3.65]
    assert len(_stores()) == 1  # the old fingerprint's files are removed


def test_a_corrupt_cache_file_is_rebuilt_not_trusted(data: Path):
    expected = _fresh().table("offers")
    (store,) = _stores()
    (store / "offers.arrow").write_bytes(b"not an arrow file")
    assert_frame_equal(_fresh().table("offers"), expected)
    rebuilt = read_checked(store / "offers.arrow")
    assert rebuilt is not None and rebuilt.height == expected.height


def test_a_cache_file_with_a_flipped_bit_is_rebuilt(data: Path):
    # Arrow IPC has no checksum: a bit flipped in a price still reads, as another price.
    expected = _fresh().table("offers")
    (store,) = _stores()
    path = store / "offers.arrow"
    data_bytes = bytearray(path.read_bytes())
    data_bytes[len(data_bytes) // 2] ^= 0x10
    path.write_bytes(bytes(data_bytes))
    assert_frame_equal(_fresh().table("offers"), expected)


def test_a_cache_file_of_another_shape_is_rebuilt(data: Path):
    expected = _fresh().table("regions")
    (store,) = _stores()
    write_checked(store / "regions.arrow", pl.DataFrame({"id": ["xx"]}))
    assert_frame_equal(_fresh().table("regions"), expected)


def test_an_unwritable_cache_means_no_cache(data: Path, tmp_path: Path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert _fresh().table("offers").height > 0


def test_overrides_are_validated_not_cached(data: Path, write):
    _fresh()
    (store,) = _stores()
    names = {p.name for p in store.iterdir()}
    header = "currency,per_usd,peg,basis,note,source,as_of"
    path = write("cat/fx.csv", f"{header}\nUSD,abc,yes,published,,x,2025-01-01\n")
    with pytest.raises(pricing.CatalogError, match="not a number"):
        load_catalog(path.parent)
    assert {p.name for p in store.iterdir()} == names


def test_only_the_tables_used_are_read(data: Path, monkeypatch: pytest.MonkeyPatch):
    _fresh()
    read: list[str] = []
    original = Store.read

    def spy(self: Store, name: str) -> pl.DataFrame | None:
        read.append(name)
        return original(self, name)

    monkeypatch.setattr(Store, "read", spy)
    _fresh().table("regions")
    assert read == ["regions"]


def _own_digests(catalog: pricing.Catalog) -> dict[str, str]:
    """Each table's digest worked out from the table itself."""
    return {name: content_digest(catalog.table(name)) for name in TABLES}


def test_the_kept_digests_are_the_tables_own(data: Path, monkeypatch: pytest.MonkeyPatch):
    built = _fresh()  # writes the tables and their digests
    expected = _own_digests(built)
    again = _fresh()
    worked_out: list[int] = []
    monkeypatch.setattr(pricing.catalog, "content_digest", lambda df: worked_out.append(1))
    kept = {name: again.digest([name]) for name in TABLES}
    assert worked_out == []  # all read from the store
    fresh = pricing.Catalog({name: again._tables[name] for name in TABLES}, ["embedded"])
    monkeypatch.undo()
    assert kept == {name: fresh.digest([name]) for name in TABLES}
    assert {name: again._digests[name] for name in TABLES} == expected


def test_a_damaged_digest_file_means_digests_worked_out(data: Path):
    expected = _own_digests(_fresh())
    (store,) = _stores()
    (store / f"{DIGESTS}.arrow").write_bytes(b"not an arrow file")
    again = _fresh()
    assert {name: (again.digest([name]), again._digests[name])[1] for name in TABLES} == expected


def test_an_overridden_table_has_its_own_digest(data: Path, write):
    embedded = _fresh()
    header = "currency,per_usd,peg,basis,note,source,as_of"
    path = write("cat/fx.csv", f"{header}\nQAR,3.70,,published,,x,2025-01-02\n")
    merged = load_catalog(path.parent)
    merged.digest(["fx", "offers"])
    assert merged._digests["fx"] == content_digest(merged.table("fx"))
    assert merged._digests["fx"] != content_digest(embedded.table("fx"))
    assert merged._digests["offers"] == content_digest(embedded.table("offers"))


def test_a_relative_cache_home_is_ignored_as_the_xdg_spec_says(tmp_path: Path, monkeypatch):
    # rev19b #9: XDG_CACHE_HOME=relcache made ./relcache/splitcompute wherever a command ran.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "relcache")
    assert cache_root() == tmp_path / ".cache" / "splitcompute"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "abs"))
    assert cache_root() == tmp_path / "abs" / "splitcompute"
