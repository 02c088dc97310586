"""`splitcompute catalog` through typer's runner: formats, filters, currency, errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from estimator.cli import app


def test_h100_offers_json_from_three_regions_abroad(runner, catalog):
    result = runner.invoke(
        app, ["catalog", "offers", "--accelerator", "h100-sxm", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    abroad = {r["region"] for r in rows if not r["region"].startswith("cn-")}
    assert len(abroad) >= 3
    for r in rows:
        for key in ("provider", "region", "pricing", "price", "currency", "source", "as_of"):
            assert r[key] is not None, key
    # Rows listed in different currencies are ordered by their USD equivalent.
    rate = {"USD": 1.0, "CNY": catalog.rate("CNY", date.today()).per_usd}
    usd = [r["price"] / rate[r["currency"]] for r in rows]
    assert usd == sorted(usd)


def test_domestic_rows_in_cny(runner, catalog):
    result = runner.invoke(
        app, ["catalog", "offers", "--region", "cn-west", "--currency", "CNY", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and {r["currency"] for r in rows} == {"CNY"}
    assert all(r["region"] == "cn-west" for r in rows)


def test_currency_conversion_in_listing(runner, catalog):
    args = [
        "catalog",
        "offers",
        "--provider",
        "aws",
        "--region",
        "us-east",
        "--format",
        "json",
        "--as-of",
        "2025-11-27",
    ]
    usd = json.loads(runner.invoke(app, args).stdout)
    cny = json.loads(runner.invoke(app, [*args, "--currency", "CNY"]).stdout)
    rate = catalog.rate("CNY", __import__("datetime").date(2025, 11, 27)).per_usd
    by_key = {(r["instance"], r["pricing"]): r["price"] for r in usd}
    for r in cny:
        assert r["price"] == pytest.approx(by_key[(r["instance"], r["pricing"])] * rate)
        assert r["list_currency"] == "USD"


def test_max_price_and_table_format(runner):
    result = runner.invoke(app, ["catalog", "offers", "--max-price", "2", "--pricing", "spot"])
    assert result.exit_code == 0, result.output
    assert "spot" in result.stdout and "on_demand" not in result.stdout


def test_stale_flag(runner):
    result = runner.invoke(
        app, ["catalog", "offers", "--region", "sg", "--format", "json", "--as-of", "2030-01-01"]
    )
    assert all(r["stale"] for r in json.loads(result.stdout))
    result = runner.invoke(
        app, ["catalog", "offers", "--region", "sg", "--format", "json", "--as-of", "2025-11-27"]
    )
    assert not any(r["stale"] for r in json.loads(result.stdout) if r["as_of"] >= "2025-01-01")


@pytest.mark.parametrize("table", ["accelerators", "models"])
def test_specifications_are_dated_by_their_document_and_never_listed_stale(runner, table):
    # rev12c #6: accelerators and models carried the review date as as_of, which hid their
    # age instead of exempting it. Dated by the datasheet / paper / model card now, they would
    # all read stale; a fixed design's specification does not age, so the listing exempts them.
    args = ["catalog", table, "--format", "json", "--as-of", "2030-01-01"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and not any(r["stale"] for r in rows)
    assert all(r["as_of"] <= "2025-06-15" for r in rows), "dated by the document, not a review"
    # Other undated tables still go stale.
    regions = json.loads(
        runner.invoke(app, ["catalog", "regions", "-f", "json", "--as-of", "2030-01-01"]).stdout
    )
    assert regions and all(r["stale"] for r in regions)


def test_the_base_currency_and_pegs_are_never_listed_stale(runner, catalog):
    # review #2: `catalog fx` flagged USD (1 by definition) and the AED/QAR/SAR pegs as stale
    # while a quote raises no stale-fx for them; both now ask FxRate.fixed.
    for day in ("2025-11-27", "2030-01-01"):
        args = ["catalog", "fx", "--format", "json", "--as-of", day]
        rows = {r["currency"]: r for r in json.loads(runner.invoke(app, args).stdout)}
        for cur in ("USD", "AED", "QAR", "SAR"):
            assert catalog.rate(cur, date.fromisoformat(day)).fixed
            assert rows[cur]["stale"] is False, (day, cur)
    # Market rates still go stale.
    assert rows["CNY"]["stale"] is True and not catalog.rate("CNY", date(2030, 1, 1)).fixed
    # The quote asks the same: a Gulf plan billed in USD and AED has no stale-fx.
    from estimator import load_scenario, quote
    from tests.conftest import EXAMPLES

    s = load_scenario(EXAMPLES / "gulf_option.toml").with_changes({"currency": "AED"})
    assert not [f for f in quote(s, catalog).findings if f.code == "stale-fx"]


@pytest.mark.parametrize(
    "table",
    ["accelerators", "regions", "hardware", "fx", "transfer", "efficiency", "policies", "models"],
)
def test_every_table_lists(runner, table):
    result = runner.invoke(app, ["catalog", table, "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("|")


def test_unknown_accelerator_is_one_line_exit_2(runner):
    result = runner.invoke(app, ["catalog", "offers", "--accelerator", "h1000"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --accelerator: unknown accelerator 'h1000': did you mean 'h100-sxm'?"
    )  # located at its flag (rev12e #14)
    assert "Traceback" not in result.output


def test_bad_override_lists_every_problem(runner, write):
    header = (
        "provider,region,accelerator,instance,devices_per_instance,pricing,price_per_device_hour,"
        "currency,min_term_days,price_low,price_high,evidence,max_devices,basis,note,source,as_of\n"
    )
    path = write(
        "cat/offers.csv",
        header + "x,sg,h100-sxm,i,8,on_demand,-1,USD,0,,,listed,,published,,s,Nov 2025\n",
    )
    result = runner.invoke(app, ["catalog", "offers", "--catalog", str(path.parent)])
    assert result.exit_code == 2
    assert "2 problems in the catalog" in result.stderr
    assert f"{path}:2:price_per_device_hour" in result.stderr and f"{path}:2:as_of" in result.stderr
    assert path.read_text().startswith("provider")  # the user's file is untouched


def test_override_from_environment(runner, write, monkeypatch):
    path = write("cat/offers.csv", "not,a,catalog\n1,2,3\n")
    monkeypatch.setenv("SPLITCOMPUTE_CATALOG", str(path.parent))
    result = runner.invoke(app, ["catalog", "offers"])
    assert result.exit_code == 2 and "is not offers.csv: its header has none" in result.stderr


def test_debug_variable_shows_traceback(runner, monkeypatch):
    monkeypatch.setenv("SPLITCOMPUTE_DEBUG", "1")
    result = runner.invoke(app, ["catalog", "offers", "--accelerator", "h1000"])
    assert result.exit_code != 0 and result.exception is not None


def test_filter_that_does_not_apply(runner):
    result = runner.invoke(app, ["catalog", "fx", "--pricing", "spot"])
    assert result.exit_code == 2 and "--pricing does not apply to table 'fx'" in result.stderr


def test_unknown_table(runner):
    result = runner.invoke(app, ["catalog", "offer"])
    assert result.exit_code == 2 and "did you mean 'offers'" in result.stderr


def test_bad_format(runner):
    result = runner.invoke(app, ["catalog", "offers", "--format", "xml"])
    assert result.exit_code == 2


def test_negative_max_price_and_file_as_catalog_dir(runner, write):
    result = runner.invoke(app, ["catalog", "offers", "--max-price", "-1"])
    assert result.exit_code == 2 and "--max-price: must be a positive price" in result.stderr
    path = write("plan.toml", "x = 1\n")
    result = runner.invoke(app, ["catalog", "offers", "--catalog", str(path)])
    assert result.exit_code == 2 and "is a file, not a directory" in result.stderr


def test_a_converted_price_carries_no_float_noise(runner):
    # review9a #12: a CSV showed 8.317948366000001 CNY per device-hour.
    args = ["catalog", "offers", "--accelerator", "h100-sxm", "--currency", "CNY", "--format",
            "csv"]  # fmt: skip
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert rows and all(len(r["price"].partition(".")[2]) <= 6 for r in rows)
    # A row already in the currency shown keeps its listed figure (review9c #9).
    out = runner.invoke(app, ["catalog", "transfer", "--max-price", "0.08", "--format", "csv"])
    listed = [r for r in csv.DictReader(io.StringIO(out.stdout)) if r["list_currency"] == "USD"]
    assert listed and all(float(r["price"]) == float(r["list_price"]) for r in listed)
    assert any(len(r["list_price"].partition(".")[2]) > 6 for r in listed)


def test_a_known_provider_with_no_row_on_the_date_is_no_typo(runner):
    # review10c #13: gcp before its first row said "unknown provider 'gcp' (known:
    # cn-gpu-cloud-market)", where the library's Catalog.offers returns no rows.
    result = runner.invoke(app, ["catalog", "offers", "--provider", "gcp", "--as-of", "2024-01-01"])
    assert result.exit_code == 0 and "no rows match" in result.stdout.lower()
    result = runner.invoke(app, ["catalog", "offers", "--provider", "gcpx"])
    assert result.exit_code == 2 and "did you mean 'gcp'" in result.stderr


def test_catalog_help_lists_every_table(runner):
    # review11a #17: `catalog aliases` worked, but the help did not list it.
    err = runner.invoke(app, ["catalog", "nosuch"]).stderr
    known = err.split("(known: ")[1].rstrip(")\n").split(", ")
    help_text = " ".join(runner.invoke(app, ["catalog", "--help"]).stdout.replace("│", "").split())
    assert "aliases" in known and all(name in help_text for name in known), known


SKY = str(Path(__file__).parent / "fixtures" / "skypilot" / "aws_vms.csv")


def test_import_skypilot_refuses_an_unknown_provider(runner):
    # review11a #17: --provider nosuch imported 0 rows and exited 0.
    result = runner.invoke(app, ["import-skypilot", SKY, "--provider", "awz"])
    assert result.exit_code == 2 and "--provider: unknown provider 'awz'" in result.stderr
    assert "did you mean 'aws'" in result.stderr


def test_import_skypilot_counts_rows_in_words(runner):
    result = runner.invoke(app, ["import-skypilot", SKY, "--provider", "aws"])
    assert result.exit_code == 0 and "1 row (region not mapped for aws" in result.stderr


def test_import_skypilot_of_another_kind_of_file_says_what_is_missing(runner):
    # review11a #17: a TOML file said "found more fields than defined in 'Schema'" (polars).
    toml = str(Path(__file__).parent.parent / "examples" / "split_auto.toml")
    result = runner.invoke(app, ["import-skypilot", toml, "--provider", "aws"])
    assert result.exit_code == 2 and "Schema" not in result.stderr
    assert "not a SkyPilot vms.csv: missing InstanceType" in result.stderr


def test_policies_and_supply_list_the_rows_in_force_on_the_day(runner):
    # rev12a #5: `--as-of 2020-01-01` listed the 2026 rules, and the H200 supply rows of
    # 2025-06-01 held both the 2022-2026 "no" row and the 2026-01-28 "yes" row.
    def rows(*args: str) -> list[dict[str, str]]:
        out = runner.invoke(app, ["catalog", *args, "--format", "csv"]).stdout
        return list(csv.DictReader(io.StringIO(out)))

    everything = rows("policies", "--history")
    on = rows("policies", "--as-of", "2026-02-01")
    assert 0 < len(on) < len(everything)
    for r in on:
        assert r["effective_from"] <= "2026-02-01"
        assert r["effective_to"] in ("", None) or r["effective_to"] > "2026-02-01"
    ids = {r["id"] for r in on}
    assert "us-remote-access-bill" in ids
    assert "us-remote-access-bill" not in {
        r["id"] for r in rows("policies", "--as-of", "2025-06-01")
    }
    h200 = rows("supply", "--accelerator", "h200", "--as-of", "2025-06-01")
    cn = [r for r in h200 if r["country"] == "CN"]
    assert [r["purchasable"] for r in cn] == ["no"]
    later = rows("supply", "--accelerator", "h200", "--as-of", "2026-02-01")
    assert "2026-01-28" not in {r["effective_to"] for r in later}


def test_a_bad_catalog_directory_from_the_environment_says_so(runner, monkeypatch, tmp_path):
    # rev14a nit: "catalog override directory '/tmp/nonexist' does not exist" did not say it
    # came from SPLITCOMPUTE_CATALOG, which a shell profile may set unseen.
    missing = str(tmp_path / "nonexist")
    monkeypatch.setenv("SPLITCOMPUTE_CATALOG", missing)
    result = runner.invoke(app, ["catalog", "offers"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: SPLITCOMPUTE_CATALOG (set in the environment")
    assert "does not exist" in result.stderr
    monkeypatch.delenv("SPLITCOMPUTE_CATALOG")
    result = runner.invoke(app, ["catalog", "offers", "--catalog", missing])
    assert result.exit_code == 2 and "SPLITCOMPUTE_CATALOG" not in result.stderr


def test_import_skypilot_refuses_a_read_date_in_the_future(runner, tmp_path):
    # rev14a nit: --as-of 2030-11-20 was accepted, and the catalog then served the rows from
    # 2030 on.
    later = date.today().replace(year=date.today().year + 4, day=1).isoformat()
    out = tmp_path / "imp.csv"
    args = ["import-skypilot", SKY, "--provider", "aws", "--as-of", later, "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr.startswith(f"error: --as-of: {later} is after today")
    assert len(result.stderr.strip().splitlines()) == 1
    today = runner.invoke(app, [*args[:4], "--as-of", date.today().isoformat()])
    assert today.exit_code == 0


def test_a_negotiated_price_in_a_users_catalog_is_not_called_a_list_price(runner, write, catalog):
    # rev15d #5: a user's own signed contract (--catalog) could only say basis = published, and
    # the quote then called it a "contract list price" a tenant of this size would negotiate.
    from estimator import plan
    from pricing import load_catalog

    header = (
        "provider,region,accelerator,instance,devices_per_instance,pricing,price_per_device_hour,"
        "currency,min_term_days,price_low,price_high,evidence,max_devices,"
        "instance_scaleout_gbit_s,instance_scaleout_source,basis,note,source,as_of\n"
    )
    row = "ytl,my-johor,h100-sxm,hgx-h100-contract,8,contract,2.0,USD,30,1.8,2.4,listed,4096,3200,"
    auto = str(Path(__file__).parent.parent / "examples" / "split_auto.toml")
    codes = {}
    for basis in ("published", "negotiated"):
        path = write(
            f"{basis}/offers.csv", header + row + f"ours,{basis},,contract 117,2025-11-01\n"
        )
        p = plan(auto, load_catalog(path.parent))
        pre = next(x for x in p.quote.phases if x.name == "pretrain")
        assert (pre.provider, pre.offer.basis if pre.offer else None) == ("ytl", basis)
        codes[basis] = {f.code for f in p.quote.findings if f.phase == "pretrain"}
    assert "list-price" in codes["published"] and "list-price" not in codes["negotiated"]
    # The embedded catalog's figures are public: none is negotiated.
    assert "negotiated" not in catalog.table("offers")["basis"].to_list()


def test_a_negotiated_row_without_a_capacity_is_not_told_to_negotiate(write):
    # rev19a #7c: `capacity-unverified` told a row whose basis is negotiated "more is
    # negotiated (ask the provider ...)"; it lacks the capacity its contract assures.
    from estimator import quote
    from pricing import load_catalog

    header = (
        "provider,region,accelerator,instance,devices_per_instance,pricing,price_per_device_hour,"
        "currency,min_term_days,price_low,price_high,evidence,max_devices,"
        "instance_scaleout_gbit_s,instance_scaleout_source,basis,note,source,as_of\n"
    )
    row = "gcp,sg,h100-sxm,a3-highgpu-8g,8,reserved_1y,3.0,USD,365,,,listed,,,,"
    home = str(Path(__file__).parent.parent / "examples" / "split_abroad_home.toml")
    said = {}
    for basis in ("published", "negotiated"):
        path = write(f"{basis}/offers.csv", header + row + f"{basis},ours,contract,2025-11-01\n")
        q = quote(home, load_catalog(path.parent))
        (f,) = [f for f in q.findings if f.code == "capacity-unverified"]
        said[basis] = f.message
    assert "more is negotiated (ask the provider" in said["published"]
    assert (
        "ask the provider" not in said["negotiated"]
        and "more is negotiated" not in said["negotiated"]
    )
    assert (
        "this row's price is negotiated (offers.csv basis), but it gives no max_devices"
        in (said["negotiated"])
    )
    # rev19d #8: a negotiated row is no listing, and its catalog is given already.
    assert "listing" not in said["negotiated"] and "--catalog" not in said["negotiated"]


def test_rate_index_takes_a_hyphen_as_other_names_do(runner):
    # rev16b #11: `catalog rate-index` was refused; every other multi-word name uses hyphens.
    hyphen = runner.invoke(app, ["catalog", "rate-index", "-f", "json"])
    assert hyphen.exit_code == 0, hyphen.output
    assert json.loads(hyphen.stdout) == json.loads(
        runner.invoke(app, ["catalog", "rate_index", "-f", "json"]).stdout
    )


def test_an_empty_dated_listing_gives_the_first_price_date_and_a_stale_rate_is_said(runner):
    # rev17a #20b: a 2020 listing of sg gave only the region's note; a 2027 CNY listing was
    # converted at the 2026-07 rate without a word.
    import polars as pl

    from estimator.quoting import STALE_FX_DAYS
    from pricing import load_catalog

    cat = load_catalog()
    first = cat.table("offers").filter(pl.col("region") == "sg")["as_of"].min()
    early = runner.invoke(app, ["catalog", "offers", "--region", "sg", "--as-of", "2020-01-01"])
    assert f"first price there is dated {first}" in early.output
    rate = cat.rate("CNY", date(2027, 6, 1))
    assert (date(2027, 6, 1) - rate.as_of).days > STALE_FX_DAYS
    args = ["catalog", "offers", "--region", "sg", "--currency", "CNY"]
    late = runner.invoke(app, [*args, "--as-of", "2027-06-01"])
    assert f"at its rate of {rate.as_of}" in late.output and "(stale-fx)" in late.output
    fresh = runner.invoke(app, [*args, "--as-of", rate.as_of.isoformat()])
    assert "stale-fx" not in fresh.output


@pytest.mark.parametrize(("table", "column"), [("latency", "region"), ("transfer", "from_region")])
def test_a_dated_listing_shows_the_later_rows_a_quote_that_day_uses(runner, catalog, table, column):
    # rev18b #2: a quote dated 2025-11-27 judges latency on rows of 2026-07-30 and prices a
    # transfer at a row of 2026-10-07 (a series with no row by then falls forward to its first:
    # pricing.catalog.FALLS_FORWARD), while `catalog TABLE --as-of 2025-11-27` said "no rows
    # match". The listing shows the rows the quote uses, a later one marked after_as_of.
    import polars as pl

    from pricing.schema import TABLES

    day = date(2025, 11, 27)
    series = list(TABLES[table].series_key)
    rows = catalog.table(table).filter(pl.col(column) == "cn-east").to_dicts()
    latest: dict[tuple, date] = {}  # per series, its latest row on or before the day
    first: dict[tuple, date] = {}  # and its first row after it
    for r in rows:
        key, when = tuple(r[k] for k in series), r["as_of"]
        if when <= day:
            latest[key] = max(latest.get(key, when), when)
        else:
            first[key] = min(first.get(key, when), when)
    expected = {**{k: d for k, d in first.items() if k not in latest}, **latest}
    assert any(d > day for d in expected.values())  # the case: a series first dated later
    args = ["catalog", table, "--region", "cn-east", "--as-of", day.isoformat(), "-f", "json"]
    listed = json.loads(runner.invoke(app, args).stdout)
    got = {tuple(r[k] for k in series): r["as_of"] for r in listed}
    assert got == {k: d.isoformat() for k, d in expected.items()}
    assert all(r["after_as_of"] == (r["as_of"] > day.isoformat()) for r in listed)
    history = json.loads(runner.invoke(app, [*args[:4], "--history", "-f", "json"]).stdout)
    assert "after_as_of" not in history[0]


def test_a_dated_electricity_listing_shows_the_tariff_owned_hardware_falls_forward_to(runner):
    # rev18b #2, as `options.first_tariff` prices owned hardware in a region with no tariff on
    # the day: at the first later tariff that applies (listed, marked after_as_of); a region
    # with a tariff that day lists none of its later rows.
    import polars as pl

    from pricing import load_catalog

    rows = load_catalog().table("electricity")
    first = rows.group_by("region").agg(pl.col("as_of").min()).sort("as_of")[-1].row(0, named=True)
    before = first["as_of"] - timedelta(days=1)
    args = ["catalog", "electricity", "--region", first["region"], "-f", "json", "--as-of"]
    listed = json.loads(runner.invoke(app, [*args, before.isoformat()]).stdout)
    assert listed and all(r["after_as_of"] for r in listed)
    assert {r["as_of"] for r in listed} == {first["as_of"].isoformat()}
    on = json.loads(runner.invoke(app, [*args, first["as_of"].isoformat()]).stdout)
    assert on and not any(r["after_as_of"] for r in on)


def test_transfer_lists_one_providers_egress_rows(runner, catalog):
    # rev18c #8: `catalog transfer --provider aws` was refused though the table has a provider
    # column and a quote prices a move by its source provider's own rows.
    import polars as pl

    result = runner.invoke(
        app, ["catalog", "transfer", "--provider", "aws", "--history", "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    own = catalog.table("transfer").filter(pl.col("provider") == "aws")
    assert own.height and len(rows) == own.height
    assert {r["provider"] for r in rows} == {"aws"}
    # A provider with offers but no egress rows of its own is no typo: none of its own.
    result = runner.invoke(app, ["catalog", "transfer", "--provider", "lambda"])
    assert result.exit_code == 0 and "no rows match" in result.output
    result = runner.invoke(app, ["catalog", "transfer", "--provider", "awz"])
    assert result.exit_code == 2 and "did you mean 'aws'" in result.stderr


def test_an_empty_catalog_path_is_refused_not_read_as_the_working_directory(
    runner, write, monkeypatch
):
    # rev19b #1: `--catalog ''` (an unset shell variable) was Path("") = ".", so the CSV files
    # in the working directory priced the quote; the library's `catalog=""` did the same.
    import subprocess
    import sys

    from pricing import CatalogError, load_catalog

    cwd = write("cwd/offers.csv", "provider\n").parent
    entry = [sys.executable, "-c", "from estimator.cli import main; main()"]
    args = [*entry, "catalog", "offers", "--catalog", ""]
    result = subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: Invalid value for '--catalog'")
    assert "an empty path" in result.stderr and "offers.csv" not in result.stderr
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("SPLITCOMPUTE_CATALOG", "")  # empty in the environment: unset, as before
    assert runner.invoke(app, ["catalog", "offers"]).exit_code == 0
    for empty in ("", "  "):
        with pytest.raises(CatalogError, match="is an empty path"):
            load_catalog(empty)
