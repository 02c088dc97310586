"""The embedded catalogs as an analyst would audit them: public sources, dated history, evidence
of capacity, exchange rates back to 2021, and the seed's regions."""

from __future__ import annotations

import csv
import json
import re
from datetime import date, timedelta
from importlib import resources

import polars as pl
import pytest

from estimator import load_scenario, parse_scenario, plan, quote
from estimator.cli import app
from pricing import load_catalog
from pricing.schema import TABLES
from tests.conftest import EXAMPLES, ROOT
from tests.test_quote import SMALL

DATA = resources.files("pricing") / "data"
# A path on somebody's machine, not a public reference.
LOCAL = re.compile(
    r"(^|[\s;(,\"'])(/(work|tmp|home|root|Users|mnt|var)/|file:|\.\./|~/)|shared/reference"
    r"|reference file|in the corpus|research notes"
)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_row_cites_a_public_source_with_date_and_basis(name):
    with (DATA / TABLES[name].file).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, name
    for line, row in enumerate(rows, start=2):
        assert row["source"].strip(), f"{name}.csv:{line}: no source"
        assert not LOCAL.search(row["source"]), f"{name}.csv:{line}: local path in source"
        assert not LOCAL.search(row.get("note") or ""), f"{name}.csv:{line}: local path in note"
        assert row["as_of"] and row["basis"], f"{name}.csv:{line}: as_of and basis required"


def test_the_local_path_check_can_fail():
    assert LOCAL.search("via /work/shared/reference/accelerators.md")
    assert LOCAL.search("../shared/reference/prices")
    # Words that point at material on this machine rather than a public page.
    assert LOCAL.search("compute unchanged (reference file gives ~2 TB/s)")
    assert LOCAL.search("datasheet value, not re-checked in the corpus")
    assert not LOCAL.search("github:NVIDIA/NeMo docs/x.md @abc ; https://arxiv.org/abs/2412.19437")


def _series(cat, day):
    key = (
        (pl.col("provider") == "lambda")
        & (pl.col("region") == "us-east")
        & (pl.col("accelerator") == "h100-sxm")
        & (pl.col("pricing") == "on_demand")
    )
    return cat.dated("offers", day).filter(key)


def test_price_history_picks_the_row_valid_on_the_date(catalog):
    rows = catalog.table("offers").filter(
        (pl.col("provider") == "lambda")
        & (pl.col("region") == "us-east")
        & (pl.col("accelerator") == "h100-sxm")
    )
    assert rows.height >= 2  # a dated series, not one row
    for day in (date(2025, 11, 27), date(2026, 3, 1), date(2026, 11, 29)):
        (row,) = _series(catalog, day).iter_rows(named=True)
        valid = rows.filter(pl.col("as_of") <= day).sort("as_of")
        assert row["as_of"] == valid["as_of"][-1]
        assert row["price_per_device_hour"] == valid["price_per_device_hour"][-1]


def test_quotes_on_two_dates_use_the_rows_valid_on_each(write, catalog):
    s = load_scenario(write("lambda.toml", SMALL))  # Lambda H100 on demand, us-east
    early, late = quote(s, catalog), quote(s, catalog, as_of=date(2026, 11, 29))
    for q in (early, late):
        (row,) = _series(catalog, q.as_of).iter_rows(named=True)
        (p,) = q.phases
        assert p.offer is not None and p.offer.as_of == row["as_of"]
        assert f"row as of {row['as_of']}" in q.assumptions["offers"]["train"]
        assert p.line_items[0].unit_price == row["price_per_device_hour"]
    assert early.total != late.total


def test_sku_only_capacity_is_left_out_of_auto_sites_and_flagged_when_named(catalog):
    data = {
        "name": "doha",
        "as_of": "2025-11-27",
        "tenant_hq": "US",
        "model": {"preset": "llama-3.1-8b"},
        "phases": [
            {
                "name": "p",
                "tokens": 1e11,
                "devices": 16,
                "site": {"regions": ["qa-doha"], "pricing": ["on_demand", "reserved_1y"]},
            }
        ],
    }
    sku = catalog.dated("offers", date(2025, 11, 27)).filter(pl.col("region") == "qa-doha")
    assert sku.height and set(sku["evidence"]) == {"sku"}
    from estimator.errors import InfeasibleError

    with pytest.raises(InfeasibleError, match="no allowed placement among 0 options"):
        plan(parse_scenario(data), catalog)
    data["phases"][0]["site"]["evidence"] = ["sku"]
    asked = plan(parse_scenario(data), catalog).quote
    assert asked.phases[0].region == "qa-doha"
    assert "sku-only" in {f.code for f in asked.findings}


def test_fx_goes_back_to_2021_for_every_currency_used(catalog):
    used = set()
    for name, column in (("offers", "currency"), ("hardware", "currency"),
                         ("electricity", "currency"), ("transfer", "currency"),
                         ("regions", "currency")):  # fmt: skip
        used |= set(catalog.table(name)[column].to_list())
    for cur in sorted(used):
        rate = catalog.rate(cur, date(2021, 1, 1))
        assert rate.per_usd > 0 and rate.as_of <= date(2021, 1, 1), cur
    cny = catalog.table("fx").filter(pl.col("currency") == "CNY")
    assert cny.height >= 60  # monthly


def test_every_region_has_electricity_and_latency_to_every_market(catalog):
    regions = set(catalog.ids("regions"))
    power = catalog.dated("electricity", date(2026, 11, 29))
    assert set(power["region"]) == regions
    lat = catalog.table("latency")
    pairs = {(r, m) for r, m in lat.select("region", "market").iter_rows()}
    markets = {"cn", "sea", "mena", "eu", "us"}
    assert {(r, m) for r in regions for m in markets} <= pairs


def test_singapore_power_is_not_a_household_tariff(catalog):
    sg = catalog.dated("electricity", date(2025, 11, 27)).filter(pl.col("region") == "sg")
    assert "household" not in sg["tariff"][0].lower()
    assert "High Tension" in sg["tariff"][0]


def test_johor_has_oracle_billing_prices_and_no_listing(runner, catalog):
    # No provider lists a training-class GPU machine in Johor: OCI's Kulai region has Oracle's
    # list prices only (evidence sku, from Oracle's first recorded price on 2026-02-11); AWS
    # ap-southeast-5 has L4-class machines only, which the catalog does not carry.
    johor = catalog.table("offers").filter(pl.col("region") == "my-johor")
    assert set(johor["provider"]) == {"oci"} and set(johor["evidence"]) == {"sku"}
    assert set(johor["accelerator"]) == {"h100-sxm", "h200", "b200", "a100-80g", "a100-40g"}
    assert johor["as_of"].min() == date(2026, 2, 11)
    h100 = johor.filter(pl.col("accelerator") == "h100-sxm")
    assert set(h100["price_per_device_hour"]) == {10.0} and set(h100["currency"]) == {"USD"}
    note = catalog.region("my-johor")["note"]
    assert "NO PUBLIC GPU LISTING" in note and "--catalog" in note
    before = runner.invoke(app, ["catalog", "offers", "--region", "my-johor", "--as-of",
                                 "2025-11-27"])  # fmt: skip
    assert before.exit_code == 0 and "first price there is dated 2026-02-11" in before.output
    bangkok = runner.invoke(app, ["catalog", "offers", "--region", "th-bangkok"])
    assert bangkok.exit_code == 0 and "No public GPU rental price" in bangkok.output
    as_json = runner.invoke(app, ["catalog", "offers", "--region", "th-bangkok", "-f", "json"])
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == []


def test_seed_regions_and_chips_are_covered(catalog):
    offers = catalog.table("offers")
    h800_cn = offers.filter(
        (pl.col("accelerator") == "h800") & pl.col("region").str.starts_with("cn-")
    )
    assert h800_cn.height >= 2  # DeepSeek-V3's and MiniMax-M1's stated rental figures
    gulf = offers.filter(pl.col("region").is_in(["ae-uae", "ae-abudhabi", "qa-doha", "sa-dammam"]))
    assert set(gulf["evidence"]) >= {"listed", "sku"}
    ascend = offers.filter(pl.col("accelerator").is_in(["ascend-910b", "ascend-910c"]))
    # No Ascend card-hour is offered for rent: owned cost re-expressed per hour (review6b #1).
    assert set(ascend["basis"]) == {"estimate"} and set(ascend["evidence"]) == {"accounting"}
    assert catalog.accelerator("ascend-910b")["bf16_tflops"] == 280


def test_diffusion_rule_never_blocked_and_new_rules_are_dated(catalog):
    p = catalog.table("policies")
    diffusion = p.filter(pl.col("id") == "us-ai-diffusion-offshore-access").row(0, named=True)
    assert diffusion["effect"] == "warn"
    assert diffusion["effective_to"] == date(2025, 5, 13)
    assert "2025-05-15" in diffusion["message"] + diffusion["note"]
    text = " ".join(p["message"].to_list()).lower()
    # The 2026 H200 rule's own message ("reviewed case by case"): the open-ended H800/A800 and
    # B200 rows no longer name a 2026 policy they took effect before (rev18d #3).
    assert "state-funded" in text and "case by case" in text


def test_imported_skypilot_rows_load_as_a_catalog_override(runner, tmp_path):
    out = tmp_path / "cat" / "offers.csv"
    out.parent.mkdir()
    src = ROOT / "tests" / "fixtures" / "skypilot" / "aws_vms.csv"
    args = [
        "import-skypilot",
        str(src),
        "--provider",
        "aws",
        "--as-of",
        "2026-11-20",
        "-o",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (
        "skipped 1 row (GPU not in the catalog); 1 row (region not mapped for aws" in result.stderr
    )
    merged = load_catalog(out.parent)
    new = merged.table("offers").filter(pl.col("as_of") == date(2026, 11, 20))
    assert new.height == 5
    spot = new.filter((pl.col("region") == "us-east") & (pl.col("pricing") == "spot")).row(
        0, named=True
    )
    assert spot["price_per_device_hour"] == pytest.approx(17.628 / 8)
    assert spot["price_high"] == pytest.approx(19.1 / 8)
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "nothing is overwritten" in again.stderr


def test_gcp_gpu_rows_say_the_host_is_not_included(runner):
    src = ROOT / "tests" / "fixtures" / "skypilot" / "gcp_vms.csv"
    result = runner.invoke(app, ["import-skypilot", str(src), "--provider", "gcp"])
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert rows and all("host VM is billed separately" in r["note"] for r in rows)


def test_examples_quote_on_the_new_catalog(catalog):
    for path in sorted(EXAMPLES.glob("*.toml")):
        q = quote(path, catalog)
        assert q.total > 0, path.name


def test_cn_west_power_series_holds_tariffs_not_supply_prices(catalog):
    # A quote uses the latest row on or before its date, so a wholesale supply price in the
    # series would price every later cn-west quote (review6b #8).
    rows = catalog.table("electricity").filter(pl.col("region") == "cn-west")
    for tariff in rows["tariff"].to_list():
        assert "coal" not in tariff.lower() and "supply" not in tariff.lower(), tariff
    latest = {
        r["accelerator_origin"]: r
        for r in catalog.dated("electricity", date(2026, 11, 29))
        .filter(pl.col("region") == "cn-west")
        .iter_rows(named=True)
    }
    # rev12c #4: the subsidised 0.4 is for domestic-chip data centres only; the region's row
    # for every other accelerator is the unsubsidised estimate.
    assert set(latest) == {None, "CN"}
    assert latest["CN"]["price_kwh"] == 0.4 and "domestic chips" in latest["CN"]["note"]
    assert latest[None]["price_kwh"] == 0.5 and latest[None]["basis"] == "estimate"
    assert "0.7 x 0.7" in latest[None]["note"]


def test_subsidised_power_prices_only_the_accelerators_of_its_origin(catalog, tmp_path):
    from estimator.options import option_table

    def power(cat, day):
        t = option_table(cat, day).filter(pl.col("region") == "cn-west")
        pairs = t.select("accelerator_origin", "electricity_price_kwh").unique().iter_rows()
        return dict(pairs)

    assert power(catalog, date(2026, 11, 29)) == {"CN": 0.4, "US": 0.5}
    # Before the scoped row's date both origins take the region's row then valid.
    assert power(catalog, date(2025, 6, 1)) == {"CN": 0.7582, "US": 0.7582}
    # A user's file without the column still loads: its rows apply to every accelerator.
    head = "region,price_kwh,currency,tariff,basis,note,source,as_of\n"
    row = "cn-west,0.3,CNY,negotiated,estimate,,https://example.com/contract,2026-11-01\n"
    (tmp_path / "electricity.csv").write_text(head + row, encoding="utf-8")
    mine = load_catalog(tmp_path)
    assert power(mine, date(2026, 11, 29)) == {"CN": 0.4, "US": 0.3}


# This catalog's own files: a row computed from other rows cites their public sources instead.
OWN_FILE = re.compile(
    r"(?<![/\w])(" + "|".join(re.escape(t.file) for t in TABLES.values()) + r")\b"
)


def test_no_offer_cites_a_catalog_file_as_its_source():
    assert OWN_FILE.search("derived from hardware.csv ascend-910c-cloudmatrix384")
    assert not OWN_FILE.search("github:skypilot-org/skypilot-catalog catalogs/v8/aws/vms.csv")
    with (DATA / "offers.csv").open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            assert not OWN_FILE.search(row["source"]), f"offers.csv:{line}: {row['source']}"


def test_every_instance_network_figure_names_its_own_public_page():
    # rev12f #7: 368 offers rows set instance_scaleout_gbit_s (it moves the physics: 2,816 ->
    # 3,072 H100 in split_abroad_home) while their `source` is the price catalog's; the pages
    # the figures are from were named only in the data README.
    with (DATA / "offers.csv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["instance_scaleout_gbit_s"]]
    assert len(rows) > 300
    pages = set()
    for row in rows:
        page = row["instance_scaleout_source"]
        assert page.startswith("https://"), f"{row['instance']}: {page!r}"
        assert not LOCAL.search(page) and page.split()[0] not in row["source"], row["instance"]
        pages.add(page.split()[0])
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert pages and all(page in readme for page in pages)  # the pages the README explains


def test_owned_cost_rows_are_not_offers_and_date_from_their_newest_input(catalog):
    # rev12c #7: the rows were dated at their oldest input, so a quote dated 2024-06 got a
    # figure built from a 2025-11 tariff. Each row is now dated at its newest input and uses
    # the inputs valid on that date: a quote never sees a figure before its inputs existed.
    derived = catalog.table("offers").filter(pl.col("provider") == "derived-owned")
    assert derived.height == 8
    hardware = catalog.table("hardware")
    origin = {"ascend-910b": "CN", "ascend-910c": "CN"}
    for row in derived.iter_rows(named=True):
        assert row["evidence"] == "accounting" and row["basis"] == "estimate", row
        day = row["as_of"]
        server = hardware.filter(
            (pl.col("accelerator") == row["accelerator"]) & (pl.col("as_of") <= day)
        ).sort("as_of")
        assert server.height, row  # never before the server price it is computed from
        power = catalog.dated("electricity", day, future=False).filter(
            (pl.col("region") == row["region"])
            & (
                pl.col("accelerator_origin").is_null()
                | (pl.col("accelerator_origin") == origin[row["accelerator"]])
            )
        )
        tariff = power.sort(pl.col("accelerator_origin").is_not_null()).row(-1, named=True)
        assert day == max(server["as_of"][-1], tariff["as_of"]), row
        assert f"{tariff['price_kwh']:g} CNY/kWh" in row["note"], row
        assert "NEWEST INPUT" in row["note"]
    # An auto site leaves them out (a fixed site naming them gets them, flagged not-an-offer).
    s = load_scenario(EXAMPLES / "cn_lab_no_stockpile.toml")
    placed = plan(s, catalog).quote.phases
    assert all(p.offer is None or p.offer.provider != "derived-owned" for p in placed)


def test_skypilot_lambda_catalog_is_no_evidence_of_regional_capacity(catalog):
    # SkyPilot's Lambda fetcher writes every instance type into every region of a fixed list
    # (fetch_lambda_cloud.py, `for r in REGIONS`), so a row resting on it is a SKU at best.
    lam = catalog.table("offers").filter(pl.col("provider") == "lambda")
    assert lam.height and set(lam["evidence"]) == {"sku"}
    assert all("fetch_lambda_cloud.py" in n for n in lam["note"].to_list())


def _owned_findings(runner, accelerator, day, *more):
    args = ["train", "--params", "7e9", "--tokens", "1e11", "--accelerator", accelerator,
            "--devices", "64", "--region", "cn-east", "--pricing", "owned",
            "--as-of", day, *more]  # fmt: skip
    result = runner.invoke(app, args)
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("findings")]
    return line


def test_a100_h100_china_licence_starts_on_2022_08_26(runner, catalog):
    # NVIDIA 8-K (filed 2022-08-31): licence requirement 'effective immediately' on 2022-08-26.
    assert "not-purchasable" in _owned_findings(runner, "a100-80g", "2022-09-15")
    assert "not-purchasable" not in _owned_findings(runner, "a100-80g", "2022-08-20")
    supply = catalog.table("supply").filter(
        pl.col("accelerator").is_in(["a100-80g", "a100-40g", "h100-sxm"])
        & (pl.col("country") == "CN")
    )
    assert set(supply["effective_from"]) == {date(2022, 8, 26)}
    rule = catalog.table("policies").filter(pl.col("id") == "us-export-2022-08-a100-h100-cn")
    assert rule["effective_from"][0] == date(2022, 8, 26)


def test_china_variants_cannot_be_bought_before_their_launch(runner, tmp_path):
    # Give the tool a negotiated 2022 price (as a user's --catalog would), so supply decides.
    header = (DATA / "hardware.csv").read_text(encoding="utf-8").splitlines()[0]
    rows = [
        f"my-{acc},{acc},8-GPU server,8,2000000,CNY,10200,5,0.05,CN,server,,,estimate,test row,"
        "https://example.com/quote,2022-01-01"
        for acc in ("h800", "a800")
    ]
    (tmp_path / "hardware.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")

    def findings(acc, day):
        return _owned_findings(runner, acc, day, "--catalog", str(tmp_path))

    # H800 launched 2023-03-21 (Reuters), A800 2022-11-07 (NVIDIA to Reuters).
    assert "not-purchasable" in findings("h800", "2022-11-15")
    assert "not-purchasable" not in findings("h800", "2023-04-01")
    assert "not-purchasable" in findings("a800", "2022-10-15")
    assert "not-purchasable" not in findings("a800", "2022-12-01")


def test_no_b200_rule_row_starts_before_the_b200_existed(catalog):
    announced = date(2024, 3, 18)  # NVIDIA GTC 2024 keynote
    supply = catalog.table("supply").filter(pl.col("accelerator") == "b200")
    # Save the row that says none could be bought before then (rev12f #8), which runs on to
    # the first dated availability (rev13c #10).
    before = (pl.col("purchasable") == "no") & (pl.col("effective_to") == date(2024, 10, 15))
    assert supply.filter(before).height == 1
    supply = supply.filter(~before)
    assert supply.height and (supply["effective_from"] >= announced).all()
    rules = catalog.table("policies").filter(pl.col("accelerator") == "b200")
    assert rules.height and (rules["effective_from"] >= announced).all()
    # A multi-chip rule may start earlier, but none that names B200 may end before it existed.
    named = catalog.table("policies").filter(pl.col("accelerator").str.contains("b200"))
    assert (named["effective_to"].is_null() | (named["effective_to"] > announced)).all()
    # rev12c #19: the same for H200 (announced 2023-11-13 at SC23), whose China supply row
    # started with the 2022 rule.
    h200 = catalog.table("supply").filter(pl.col("accelerator") == "h200")
    before = (pl.col("purchasable") == "no") & (pl.col("effective_to") == date(2024, 3, 27))
    assert h200.filter(before).height == 1
    h200 = h200.filter(~before)
    assert h200.height and (h200["effective_from"] >= date(2023, 11, 13)).all()


@pytest.mark.parametrize(("accelerator", "announced", "available"),
                         [("h200", "2023-11-13", "2024-03-27"),
                          ("b200", "2024-03-18", "2024-10-15")])  # fmt: skip
def test_nvidia_parts_cannot_be_bought_before_their_first_availability(
    catalog, accelerator, announced, available
):
    # rev12f #8: an Ascend 910C before its launch was not-purchasable, an H200 or B200 only
    # unpriced (no supply row before them, and no row means purchasable). rev13c #10: nor
    # between the announcement and the first dated availability, where an order at the
    # default lead time would have been delivered before any part shipped.
    def blocks(day):
        data = {
            "name": "t", "as_of": day, "currency": "USD", "tenant_hq": "US",
            "model": {"preset": "llama-3.1-8b"},
            "phases": [{"name": "p", "tokens": 1e11, "devices": 64, "data": "public",
                        "site": {"region": "us-east", "accelerator": accelerator,
                                 "pricing": "owned"}}],
        }  # fmt: skip
        q = quote(parse_scenario(data), catalog)
        return {f.code: f.message for f in q.findings if f.severity == "block"}

    first = date.fromisoformat(available)
    for day in (date.fromisoformat(announced) - timedelta(days=60), first - timedelta(days=30)):
        message = blocks(str(day))["not-purchasable"]
        assert f"could not be bought before its first dated availability ({available})" in message
    assert "not-purchasable" not in blocks(available)


RETRIEVAL_DATE = re.compile(r"as_of (is|=) the (date|day) (it was |we )?read", re.IGNORECASE)


@pytest.mark.parametrize("name", ["offers", "hardware", "electricity", "transfer", "fx"])
def test_no_price_is_dated_by_the_day_it_was_read(name):
    # A retrieval date makes an undated figure look current for ever (review6b #5): date it by
    # the earliest date its source allows and say the date is estimated.
    assert RETRIEVAL_DATE.search("the index carries no date: as_of is the date it was read here")
    with (DATA / TABLES[name].file).open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            assert not RETRIEVAL_DATE.search(row.get("note") or ""), f"{name}.csv:{line}"
            if "DATE ESTIMATED" in (row.get("note") or ""):
                assert "earliest" in row["note"], f"{name}.csv:{line}"


def test_a_labs_accounting_assumption_is_not_rentable_capacity(catalog):
    offers = catalog.table("offers").filter(pl.col("provider") == "cn-h800-rental")
    (deepseek,) = offers.filter(pl.col("instance").str.contains("DeepSeek")).iter_rows(named=True)
    assert deepseek["basis"] == "estimate" and deepseek["evidence"] == "accounting"
    assert deepseek["max_devices"] is None  # 2,048 was DeepSeek's own cluster
    # rev11a #6: a site that accepts SKU-only capacity rented 2,944 H800 at DeepSeek's assumed
    # 2 USD/h, uncapped. An accounting figure is placed only where a site names it.
    s = load_scenario(EXAMPLES / "cn_lab_no_stockpile.toml")
    sku = s.with_changes({"phases.pretrain.site.evidence": ["listed", "reported", "sku"]})
    placed = plan(sku, catalog).quote.phases
    assert all(p.offer is None or p.offer.evidence != "accounting" for p in placed)
    named = s.with_changes(
        {"phases.pretrain.site": {"region": "cn-east", "accelerator": "h800",
                                  "pricing": "contract", "instance": deepseek["instance"]}}
    )  # fmt: skip
    q = quote(named, catalog)
    assert q.phases[0].offer is not None and q.phases[0].offer.evidence == "accounting"
    assert "not-an-offer" in {f.code for f in q.findings if f.phase == "pretrain"}
    # rev20a #5: naming the provider alone swapped the provider's real rental (MiniMax's 512
    # H800 for 21 days) for the figure, 22.6x cheaper. A provider names the figure only where
    # it has no offer there; naming the instance still takes it, and says what it passes over.
    (rental,) = offers.filter(pl.col("evidence") != "accounting").iter_rows(named=True)
    site = {"region": "cn-east", "accelerator": "h800", "pricing": "contract"}
    rl = {"name": "rl", "kind": "train", "workload": "finetune", "tokens": 5e10,
          "data": "public", "devices": 512}  # fmt: skip
    small = {"name": "rl", "as_of": "2025-11-27", "currency": "USD",
             "model": {"preset": "qwen3-235b-a22b"}, "phases": [rl]}  # fmt: skip
    quoted = {}
    for name, named_too in (("provider", {}), ("instance", {"instance": deepseek["instance"]})):
        given = {**rl, "site": {**site, "provider": "cn-h800-rental", **named_too}}
        quoted[name] = quote(parse_scenario({**small, "phases": [given]}), catalog)
    offer = quoted["provider"].phases[0].offer
    assert offer is not None and offer.instance == rental["instance"]
    assert "not-an-offer" not in {f.code for f in quoted["provider"].findings}
    offer = quoted["instance"].phases[0].offer
    assert offer is not None and offer.evidence == "accounting"
    assert quoted["instance"].total < quoted["provider"].total
    (said,) = [f.message for f in quoted["instance"].findings if f.code == "not-an-offer"]
    assert f"passes over an offer there: cn-h800-rental {rental['instance']} " in said
    assert f"minimum term {rental['min_term_days']} days" in said


def test_parts_without_an_observed_market_carry_a_stated_estimate_not_an_invented_zero(catalog):
    # rev12c #2: Ascend resale was 0.0 at every age with no source ("the zero is our
    # assumption"). It is now an estimate derived from the fall in the new 910B server price
    # (CNY 2.25 M in 2023 -> ~1.2 M in 2024, hardware.csv), and its rows say so.
    from estimator.market import resale_fraction

    for age in (0.02, 1.0, 3.0):
        values = resale_fraction(catalog, ["ascend-910b", "ascend-910c", "h100-sxm"], age)
        got = dict(values.iter_rows())
        assert 0 < got["ascend-910b"] == got["ascend-910c"] <= got["h100-sxm"] + 0.05, age
    ascend = catalog.table("resale").filter(pl.col("accelerator").str.starts_with("ascend"))
    assert ascend.height == 2 and set(ascend["basis"]) == {"estimate"}
    for row in ascend.iter_rows(named=True):
        assert row["note"].startswith("ESTIMATE, NO OBSERVED USED MARKET"), row
        assert "2.25" in row["note"] and "1.2" in row["note"] and "0.53" in row["note"]
        assert row["source"].startswith("Reuters") and "none" not in row["source"]
    # A site that does not publish its method supports an estimate at most.
    resale = catalog.table("resale")
    seo = resale.filter(pl.col("source").str.contains("pseo", literal=True))
    assert seo.height and set(seo["basis"]) == {"estimate"}


def test_a_bought_ascend_says_its_resale_is_an_estimate_with_no_used_market(catalog):
    q = quote(EXAMPLES / "split_abroad_home.toml", catalog)
    capex = [f.message for f in q.findings if f.code == "owned-capex"]
    assert capex and all("an estimate, no used market observed" in m for m in capex), capex


def test_a_server_sold_within_a_year_fetches_the_used_markets_first_figure(catalog):
    # review9a #3: a straight line from the new price at purchase credited 91% back on 109
    # B200 servers sold after 89 days; the used market is observed from a year on.
    from estimator.market import resale_fraction

    def value(acc: str, age: float) -> float:
        return resale_fraction(catalog, [acc], age)["resale_fraction"][0]

    for acc in ("b200", "h100-sxm", "a100-80g"):
        assert value(acc, 0.0) == value(acc, 0.25) == value(acc, 1.0) < 0.7, acc
        assert value(acc, 2.0) < value(acc, 1.0)
        # Past a device's own last figure it falls as the default curve does (review9d #3:
        # the A100 curve ends at three years, and a 9-year-old A100 got 22% back).
        assert value(acc, 9.0) <= value("*", 9.0) + 1e-12 < value(acc, 3.0), acc


def test_the_december_2024_hbm_rule_is_dated_and_changes_no_verdict(catalog):
    (rule,) = (
        catalog.table("policies")
        .filter(pl.col("id") == "us-export-2024-12-hbm-fdp-cn")
        .iter_rows(named=True)
    )
    assert rule["effect"] == "info" and rule["effective_from"] == date(2024, 12, 2)
    assert "89 FR 96790" in rule["source"] and "2024-28270" in rule["source"]
    ascend = catalog.table("supply").filter(
        pl.col("accelerator").str.starts_with("ascend") & pl.col("effective_to").is_null()
    )
    assert ascend.height and all("89 FR 96790" in n for n in ascend["note"].to_list())


def test_the_2026_h200_licence_rule_concerns_purchases_not_rentals(catalog):
    # review9a #10: renting A100/H100 stock already in China showed the 2026 case-by-case
    # export-licence rule as a warning beside the grey-market one; it governs new exports.
    (rule,) = (
        catalog.table("policies")
        .filter(pl.col("id") == "us-h200-case-by-case")
        .iter_rows(named=True)
    )
    assert rule["ownership"] == "owned"


def test_the_china_border_is_as_slow_out_as_in():
    # review #3: sg -> cn-west moved at 1 Gbit/s through congested cross-border gateways,
    # cn-west -> sg fell to the '*,*' fallback at 5 Gbit/s through the same border.
    from estimator.transfers import routes

    table = routes(load_catalog(), date(2025, 11, 27))

    def route(src: str, dst: str) -> dict:
        picked = table.filter((pl.col("from_region") == src) & (pl.col("to_region") == dst))
        return picked.row(0, named=True)

    abroad = ("sg", "us-east", "jp-tokyo", "qa-doha")
    for home in ("cn-east", "cn-north", "cn-west"):
        for away in abroad:
            out, into = route(home, away), route(away, home)
            assert out["gbps"] == into["gbps"] == 1, (home, away)
            assert out["route_from"] == home, "out of China has its own row, not the fallback"
        # Within mainland China the domestic row still applies.
        assert route(home, "cn-east" if home != "cn-east" else "cn-west")["gbps"] == 10
    # The out-of-China price is a placeholder, and its row says so.
    catalog = load_catalog()
    rows = catalog.table("transfer").filter(
        pl.col("from_region").str.starts_with("cn-") & (pl.col("to_country") == "*")
    )
    assert rows.height == 3 and set(rows["basis"]) == {"estimate"}
    assert all("placeholder" in n and "NOT a Chinese cloud" in n for n in rows["note"])


# rev15b #3: GCP a3-highgpu-8g per GPU-hour on 2024-05-17 (on demand, 1-year, 3-year): the
# machine's price in Cyclenerd pricing.yml @cc7959e plus the 6 TB of local SSD an A3 always
# carries, at that commit's local-SSD price; the calculator bundled the SSD itself at 2561275
# (2024-05-21) to the same totals, which the 2024-06-13 rows carry.
A3_2024_05_17 = {
    "us-central": (11.0612, 7.67296, 4.85805),
    "in-mumbai": (11.5168, 7.98816, 5.05829),
    "sg": (14.2848, 9.90997, 6.27351),
}
A3_FIXED = """
name = "a3"
as_of = DAY
currency = "USD"

[model]
preset = "llama-3.1-8b"

[[phases]]
name = "train"
tokens = 1e11
devices = 16
site = { region = "us-central", accelerator = "h100-sxm", pricing = "on_demand", provider = "gcp" }
"""


def test_gcp_a3_is_priced_from_the_first_stored_listing_of_2024_05_17(write, catalog):
    # A plan dated 2024-06-01 had no price for 45 of 47 options: every a3 row began
    # 2024-06-13, yet the source lists the machine from 2024-05-17 (none of its commits from
    # 2023-06 to 2024-05-16 does).
    offers = catalog.table("offers")
    a3 = offers.filter(pl.col("instance") == "a3-highgpu-8g")
    first = a3.group_by("region", "pricing").agg(pl.col("as_of").min())
    assert first.height == 8 * 4 and set(first["as_of"]) == {date(2024, 5, 17)}

    def row(region: str, pricing: str, day: date) -> dict:
        picked = catalog.dated("offers", day, future=False).filter(
            (pl.col("instance") == "a3-highgpu-8g")
            & (pl.col("region") == region)
            & (pl.col("pricing") == pricing)
        )
        (r,) = picked.iter_rows(named=True)
        return r

    for region, prices in A3_2024_05_17.items():
        for pricing, price in zip(("on_demand", "reserved_1y", "reserved_3y"), prices, strict=True):
            may = row(region, pricing, date(2024, 5, 17))
            assert may["as_of"] == date(2024, 5, 17) and "cc7959e" in may["source"]
            assert may["price_per_device_hour"] == price
            # GCP did not change the price between the two dates: the June row is the same.
            assert row(region, pricing, date(2024, 6, 13))["price_per_device_hour"] == price
        # The first spot figure leaves the bundled SSD out and says so; the whole-instance
        # spot price follows from 2024-05-21.
        spot = row(region, "spot", date(2024, 5, 17))
        assert "WITHOUT the 6,000 GB local SSD" in spot["note"]
        whole = row(region, "spot", date(2024, 5, 21))
        assert whole["as_of"] == date(2024, 5, 21) and "2561275" in whole["source"]
        assert spot["price_per_device_hour"] < whole["price_per_device_hour"]
    # A quote dated inside the old gap is priced at the May row; one before it is not.
    june = quote(load_scenario(write("june.toml", A3_FIXED.replace("DAY", "2024-06-01"))), catalog)
    assert june.phases[0].priced and june.phases[0].offer.as_of == date(2024, 5, 17)
    early = quote(load_scenario(write("may.toml", A3_FIXED.replace("DAY", "2024-05-16"))), catalog)
    assert not early.phases[0].priced


def test_aws_p5_on_demand_says_its_first_date_is_the_logs_not_the_prices(catalog):
    # rev15b #3: 12.29 USD is dated 2025-04-23, the first day of the public Price List log it
    # cites (the log's backfill rows before it are empty), not the day AWS set the price.
    (row,) = (
        catalog.table("offers")
        .filter(
            (pl.col("provider") == "aws")
            & (pl.col("instance") == "p5.48xlarge")
            & (pl.col("pricing") == "on_demand")
            & (pl.col("as_of") == date(2025, 4, 23))
        )
        .iter_rows(named=True)
    )
    assert row["price_per_device_hour"] == 12.29
    assert "first log day, NOT the day the price took effect" in row["note"]
    assert "Rented prices abroad begin in mid-2024" in (ROOT / "README.md").read_text("utf-8")


def _offer(catalog, provider: str, accelerator: str) -> dict:
    rows = catalog.table("offers").filter(
        (pl.col("provider") == provider) & (pl.col("accelerator") == accelerator)
    )
    (row,) = rows.iter_rows(named=True)
    return row


def test_china_rentals_quoted_as_a_floor_or_from_a_weak_page_carry_their_sources_range(catalog):
    # rev15b #4: the FT's "as little as $6 an hour" from four small providers is a floor;
    # Alibaba and ByteDance charge two to four times as much (up to 3.0 USD per GPU-hour).
    a100 = _offer(catalog, "cn-small-csp", "a100-40g")
    assert a100["price_low"] == a100["price_per_device_hour"] == 0.75
    assert a100["price_high"] == 3.0 and a100["currency"] == "USD"
    assert a100["note"].startswith("FLOOR") and "as little as" in a100["note"]
    # rev15b #7: the page that says 8-12 CNY/h prices an A100 40GB at up to 25,000 CNY a month
    # in its own table (34 CNY/h at 730 h).
    for acc in ("a100-80g", "a800"):
        row = _offer(catalog, "cn-gpu-cloud-market", acc)
        assert (row["price_low"], row["price_per_device_hour"], row["price_high"]) == (8, 10, 34)
        assert row["note"].startswith("WEAK SOURCE") and "40 GB" in row["note"]


def test_the_2026_h100_lead_time_says_it_rests_on_one_vendors_undated_post(catalog):
    # rev15b #5: 308 days blocks every H100 purchase outside China in 2026 that starts sooner;
    # its only source is a GPU-rental seller's undated blog. supply.csv has no range column,
    # so the row takes the weakest basis and its message says where the figure comes from.
    (row,) = (
        catalog.table("supply")
        .filter(
            (pl.col("accelerator") == "h100-sxm") & (pl.col("effective_from") == date(2026, 1, 1))
        )
        .iter_rows(named=True)
    )
    assert row["lead_time_days"] == 308 and row["basis"] == "estimate"
    assert "one GPU-rental vendor's undated blog" in row["message"]
    assert row["note"].startswith("WEAKEST BASIS") and "spheron.network" in row["source"]


def test_the_317k_h100_server_names_the_quote_it_is_and_not_epochs_dataset(catalog):
    # rev15b #6: the figure is right (Thinkmate's quotation archived 2024-08-22, via a public
    # spreadsheet of August 2024 prices), but the note credited Epoch's dataset, which has no
    # such point: its nearest H100 HGX figure is USD 288,142 on 2024-07-31.
    (row,) = (
        catalog.table("hardware")
        .filter((pl.col("id") == "h100-sxm-8gpu-server") & (pl.col("as_of") == date(2024, 8, 22)))
        .iter_rows(named=True)
    )
    assert row["price"] == 317_000 and "thinkmate.com" in row["source"]
    assert "Not a point of Epoch's dated price dataset" in row["note"]
    assert "per-GPU price x 8 from Epoch" not in row["note"] and "288,142" in row["note"]


def test_power_prices_are_not_one_month_and_say_which_tariff_class_is_assumed(catalog):
    # rev15b #8: Iowa's April 2025 industrial price alone (6.04 c, April runs ~10% under the
    # year) priced every quote from 2025-04; the newest multi-month EIA figure does now.
    power = catalog.table("electricity")
    assert not power.filter(pl.col("tariff").str.contains("single month")).height
    (iowa,) = (
        catalog.dated("electricity", date(2025, 6, 1), future=False)
        .filter((pl.col("region") == "us-central") & pl.col("accelerator_origin").is_null())
        .iter_rows(named=True)
    )
    assert iowa["price_kwh"] == 0.0679 and iowa["as_of"] == date(2024, 1, 1)
    # The Saudi industrial tariff is right for its class; no source shows a data centre in it.
    saudi = power.filter(pl.col("region").str.starts_with("sa-"))
    assert saudi.height == 3
    assert all("is NOT shown by these sources" in n for n in saudi["note"])


def test_repository_sources_of_defaults_and_china_egress_name_their_commit(catalog):
    # rev15b #8: a repository is a public reference only at a commit (README).
    pinned = re.compile(r"github:\S+ \S+ @[0-9a-f]{40}")
    (peak,) = (
        catalog.table("defaults").filter(pl.col("name") == "peak_to_average").iter_rows(named=True)
    )
    assert pinned.search(peak["source"])
    assert "@56d86855fcf6e08fdfd45ce6280bd24322c93351" in peak["source"]
    assert "226.75" in peak["source"] and "278" in peak["source"]
    qiniu = catalog.table("transfer").filter(pl.col("source").str.contains("qiniu"))
    assert qiniu.height == 3
    for src in qiniu["source"]:
        assert pinned.search(src) and "@0b441a4971e0451c1dbcff0ce1a33530e35e81cb" in src


# rev16b #5: a repository is a public reference only at a commit (a branch such as main moves);
# a Hugging Face repository or dataset only at a revision.
REPOSITORY = re.compile(r"github\.com/|github:|raw\.githubusercontent\.com/|huggingface\.co/")
PINNED = re.compile(
    r"@[0-9a-f]{7,40}\b|/(blob|tree|resolve|commit|raw)/[0-9a-f]{7,40}(/|\b)"
    r"|raw\.githubusercontent\.com/[^/\s]+/[^/\s]+/[0-9a-f]{40}/|/releases/(tag|download)/"
)
# Sources no public copy lets us pin, each with why it is still cited. A row listed here must say
# so in its note; an entry no row uses any more fails, so the list only shrinks.
UNPINNED_ALLOWED = {
    # Gated or plain Hugging Face model repositories: no stored public copy or public repository
    # names a revision. Each row also cites a pinned copy of the same figures (llama-models
    # sku_list.py at a commit; DeepSeek-V3's config at a revision for R1), except Qwen2.5-72B.
    "https://huggingface.co/meta-llama/Llama-3.1-70B/blob/main/config.json": "cited on main",
    "https://huggingface.co/meta-llama/Llama-3.1-405B/blob/main/config.json": "cited on main",
    "https://huggingface.co/meta-llama/Llama-2-70b-hf/blob/main/config.json": "cited on main",
    "https://huggingface.co/deepseek-ai/DeepSeek-R1/blob/main/config.json": "cited on main",
    "https://huggingface.co/Qwen/Qwen2.5-72B/blob/main/config.json": "cited on main",
    # Rolling Hugging Face price datasets with no revision in any public copy: the only public
    # China A800 and H20 rental prices, and RunPod's Singapore price on two dates.
    "https://huggingface.co/datasets/brian8808/gpu-price-index": "SOURCE NOT PINNED",
    "https://huggingface.co/datasets/privum/ai-compute-prices": "SOURCE NOT PINNED",
    "https://huggingface.co/datasets/600me/gpu-cloud-h100-a100-pricing-benchmark": (
        "SOURCE NOT PINNED"
    ),
    # datareceipts/data-receipts has no stored snapshot or indexed copy to name the commit read.
    "https://raw.githubusercontent.com/datareceipts/data-receipts/main/": "SOURCE NOT PINNED",
}


def _unpinned_repository_sources(source: str) -> list[str]:
    parts = (part.strip() for part in source.split(";"))
    return [p for p in parts if REPOSITORY.search(p) and not PINNED.search(p)]


def test_the_pin_check_can_fail():
    assert _unpinned_repository_sources(
        "https://raw.githubusercontent.com/a/b/refs/heads/main/x.yml ; github:a/b c.csv"
    ) == ["https://raw.githubusercontent.com/a/b/refs/heads/main/x.yml", "github:a/b c.csv"]
    assert _unpinned_repository_sources("https://huggingface.co/Qwen/Q/blob/main/config.json")
    assert not _unpinned_repository_sources(
        "github:a/b c.csv @0123abc; https://huggingface.co/Q/Q/blob/8efa61729e24bd65b1d1/c.json"
        "; https://raw.githubusercontent.com/a/b/" + "0" * 40 + "/x.yml; arXiv 2412.19437"
    )


@pytest.mark.parametrize("name", sorted(TABLES))
def test_repository_sources_are_pinned_to_a_commit_or_revision(name):
    with (DATA / TABLES[name].file).open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            for part in _unpinned_repository_sources(row["source"]):
                allowed = [url for url in UNPINNED_ALLOWED if part.startswith(url)]
                assert allowed, f"{name}.csv:{line}: source not pinned to a commit: {part[:120]}"
                assert UNPINNED_ALLOWED[allowed[0]] in row["note"], f"{name}.csv:{line}"


def test_every_unpinned_allowance_is_still_needed():
    parts = []
    for table in TABLES.values():
        with (DATA / table.file).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                parts += _unpinned_repository_sources(row["source"])
    assert {url for url in UNPINNED_ALLOWED if any(p.startswith(url) for p in parts)} == set(
        UNPINNED_ALLOWED
    )


def test_efficiency_rows_are_not_dated_before_what_they_rest_on(catalog):
    # rev18b #9: the a800 rows were dated 2022-09-07 (the A100 fit's date), before the A800
    # existed (2022-11-07, accelerators.csv), and the a100-80g MoE rows 2022-09-07 though the
    # MoE penalty they apply is the Hopper fit's (pricing/data/README.md: `as_of` is the date
    # the figure was true, which a derived figure is not before its newest input).
    parts = catalog.table("accelerators")
    made = dict(zip(parts["id"].to_list(), parts["as_of"].to_list(), strict=True))
    eff = catalog.table("efficiency")
    day = {
        (r["accelerator"], r["workload"], r["arch"]): r["as_of"] for r in eff.iter_rows(named=True)
    }
    based = re.compile(r"Derived from this device's pretraining row \(([\w-]+)/pretrain/(\w+)")
    checked = {"part": 0, "base": 0, "hopper": 0}
    for r in eff.iter_rows(named=True):
        key = f"efficiency.csv {r['accelerator']}/{r['workload']}/{r['arch']}"
        if r["accelerator"] != "*":
            assert r["as_of"] >= made[r["accelerator"]], (key, "before the part existed")
            checked["part"] += 1
        if m := based.search(r["note"] or ""):
            assert r["as_of"] >= day[(m[1], "pretrain", m[2])], (key, "before its pretraining row")
            checked["base"] += 1
        if "Hopper-fitted MoE penalty" in (r["note"] or ""):
            assert r["as_of"] >= day[("h100-sxm", "pretrain", "moe")], (
                key,
                "before the Hopper fit",
            )
            checked["hopper"] += 1
    assert all(checked.values()), checked


# A date or year in a message (what a quote prints), read as an event: an ISO date, a month
# and year ("Aug 2025", "August 2025": later than the month it was known), or a year 19xx/20xx
# standing alone once the ISO dates are taken out ("2026", "2022-2023"; not "H.R. 2683" or
# "91 FR 1684", which are numbers, not years).
ISO_DAY = re.compile(r"\b\d{4}-\d\d-\d\d\b")
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTH_YEAR = re.compile(
    r"\b(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.? ((?:19|20)\d\d)\b",
    re.I,
)

# Dates an open-ended row may name though they lie after the day it was known: only the row's
# own effective date, checked below. Empty: `known` is max(announced, effective_from), so a
# row's own effective_from is never later; an entry reads {(table, key): {"YYYY-MM-DD"}}.
LATER_DATE_ALLOWED: dict[tuple[str, str], set[str]] = {}


def _named_after(message: str, known: date) -> list[str]:
    """The dates and years `message` names that lie after `known`."""
    late = [d for d in ISO_DAY.findall(message) if date.fromisoformat(d) > known]
    month = (known.year, known.month)
    late += [
        f"{m} {y}"
        for m, y in MONTH_YEAR.findall(message)
        if (int(y), MONTHS.index(m[:3].lower()) + 1) > month
    ]
    return late + [y for y in YEAR.findall(ISO_DAY.sub(" ", message)) if int(y) > known.year]


def test_the_later_date_scan_can_fail():
    day = date(2024, 3, 18)
    assert _named_after("above the 2026 case-by-case thresholds", day) == ["2026"]
    assert _named_after("codified by the 2025-10-07 rule", day) == ["2025-10-07"]
    assert _named_after("stock that came in under the 2024-2025 controls", day) == ["2025"]
    assert _named_after("licences reported from Aug 2025", day) == ["Aug 2025", "2025"]
    # A later month of the year it was known (rev18d #3: H20 licences "from August 2025" on a
    # row known on 2025-04-15).
    assert _named_after("licences reported from August 2025", date(2025, 4, 15)) == ["August 2025"]
    assert _named_after("from March 2024, in early 2024", day) == []
    # Known by then, or not a year at all.
    assert _named_after("since 2024-03-18, in 2024, under the 2023-10-23 rule", day) == []
    assert _named_after("H.R. 2683, S. 3519, 91 FR 1684, TPP 21,000, 2,048 GPUs", day) == []


@pytest.mark.parametrize("name", ["supply", "policies"])
def test_an_open_ended_row_names_no_date_it_could_not_have_known(catalog, name):
    # fix18e left it: four supply rows with no `effective_to` said "presumption of denial until
    # 2026-01-15" in their message, so a quote dated 2025 printed an end published in 2026 as
    # fact (rev18a #3). 27c156a caught only "until DATE"; open-ended rows still printed "the
    # 2026 case-by-case thresholds" on a 2024 quote, "licences were granted in 2025" on a 2023
    # one, the EU-US Data Privacy Framework (2023) on a 2019 one (rev18d #3). A row that runs on
    # may name no date or year later than the day it was known (max of announced and
    # effective_from): a later event belongs in `note`, or in a row of its own from its date;
    # an end the row has is `effective_to`, which the quote marks when it lies after its date.
    rows = catalog.table(name).filter(pl.col("effective_to").is_null())
    assert rows.height
    late = []
    for r in rows.iter_rows(named=True):
        key = (
            r.get("id")
            or f"{r['accelerator']},{r['country']},{r['tenant_hq']},{r['effective_from']}"
        )
        known = max(d for d in (r["announced"], r["effective_from"]) if d is not None)
        allowed = LATER_DATE_ALLOWED.get((name, key), set())
        # An allowance is only for the row's own effective date.
        assert allowed <= {str(r["effective_from"])}, (name, key, allowed)
        late += [(key, d) for d in _named_after(r["message"] or "", known) if d not in allowed]
    assert late == []


# Later events an open-ended message once named without a date the scan above can read, with
# the day each was made public (rev18d #3): such a row may name one only if known by then.
LATER_EVENTS = {
    # BIS policy statement of 2025-05-13: IaaS to train models for China-HQ firms a red flag.
    "red flag": date(2025, 5, 13),
    # The H200 case-by-case policy, announced 2025-12-08 (91 FR 1684, effective 2026-01-15).
    "case-by-case": date(2025, 12, 8),
    "case by case": date(2025, 12, 8),
    # EU-US Data Privacy Framework adequacy decision.
    "Data Privacy Framework": date(2023, 7, 10),
    # Korea's PIPC suspension of DeepSeek, announced 2025-02-17.
    "PIPC": date(2025, 2, 17),
}


@pytest.mark.parametrize("name", ["supply", "policies"])
def test_an_open_ended_row_names_no_undated_event_it_could_not_have_known(catalog, name):
    rows = catalog.table(name).filter(pl.col("effective_to").is_null())
    late = []
    for r in rows.iter_rows(named=True):
        known = max(d for d in (r["announced"], r["effective_from"]) if d is not None)
        message = (r["message"] or "").lower()
        late += [
            (r.get("id") or r["accelerator"], event)
            for event, day in LATER_EVENTS.items()
            if event.lower() in message and day > known
        ]
    assert late == []
