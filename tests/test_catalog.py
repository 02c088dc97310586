"""The embedded catalogs, the loader's error reports, overrides and currency conversion."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from pricing import CatalogError, UnknownIdError, load_catalog
from pricing.schema import TABLES

ABROAD = [
    "sg",
    "my-johor",
    "th-bangkok",
    "id-jakarta",
    "jp-tokyo",
    "in-mumbai",
    "ae-uae",
    "qa-doha",
    "sa-dammam",
    "us-east",
    "us-central",
]
OFFER_HEADER = (
    "provider,region,accelerator,instance,devices_per_instance,pricing,price_per_device_hour,"
    "currency,min_term_days,price_low,price_high,evidence,max_devices,basis,note,source,as_of\n"
)
GOOD_OFFER = (
    "acme,sg,h100-sxm,acme-8x,8,on_demand,1.50,USD,0,,,listed,,published,,"
    "https://acme.example/prices,2025-11-01\n"
)


def test_embedded_catalogs_validate_and_have_provenance(catalog):
    for name in TABLES:
        df = catalog.table(name)
        assert df.height > 0, name
        assert df["source"].null_count() == 0 and df["as_of"].null_count() == 0, name


def test_required_ids_present(catalog):
    accelerators = {
        "h100-sxm",
        "h200",
        "b200",
        "a100-80g",
        "a100-40g",
        "h800",
        "a800",
        "h20",
        "l40s",
        "ascend-910b",
        "ascend-910c",
        "mlu370-x8",
    }
    assert accelerators <= set(catalog.ids("accelerators"))
    assert set(ABROAD) | {"cn-east", "cn-north", "cn-west"} <= set(catalog.ids("regions"))
    fx = set(catalog.currencies)
    assert {"CNY", "USD", "SGD", "MYR", "THB", "IDR", "JPY", "INR", "AED", "QAR", "SAR"} <= fx
    models = {
        "llama-3.1-8b",
        "llama-3.1-70b",
        "llama-3.3-70b",
        "llama-3.1-405b",
        "llama-2-70b",
        "deepseek-v3",
        "qwen2.5-72b",
        "qwen3-235b-a22b",
    }
    assert models <= set(catalog.ids("models"))


def test_offers_cover_abroad_and_home(catalog):
    offers = catalog.table("offers")
    assert offers.height >= 40
    h100_abroad = offers.filter(
        (pl.col("accelerator") == "h100-sxm") & pl.col("region").is_in(ABROAD)
    )["region"].unique()
    assert h100_abroad.len() >= 3
    assert set(offers["pricing"].unique()) >= {"on_demand", "spot", "reserved_1y", "reserved_3y"}
    home = offers.filter(pl.col("region").str.starts_with("cn-"))
    assert home.height > 0
    # Ascend card-hours have no published rental price: any such row is our estimate of owned
    # cost per hour, and only a billing-SKU-like row (not an offer the planner picks by itself).
    ascend = offers.filter(pl.col("accelerator").str.starts_with("ascend"))
    assert ascend.height > 0 and set(ascend["basis"]) == {"estimate"}
    assert set(ascend["evidence"]) == {"accounting"}


def test_hardware_covers_domestic_and_stockpiled(catalog):
    hw = set(catalog.table("hardware")["accelerator"])
    assert {"ascend-910b", "ascend-910c", "h20", "h800", "h100-sxm"} <= hw


def test_unknown_id_suggests_nearest(catalog):
    with pytest.raises(
        UnknownIdError, match=r"unknown accelerator 'h1000': did you mean 'h100-sxm'\?"
    ):
        catalog.accelerator("h1000")
    with pytest.raises(UnknownIdError, match="did you mean 'cn-west'"):
        catalog.region("cn-wst")


# -- loader errors: one test per kind of problem --------------------------------------------------


def _override_error(write, text: str, name: str = "offers.csv") -> str:
    path = write(f"cat/{name}", text)
    with pytest.raises(CatalogError) as info:
        load_catalog(path.parent)
    return "\n".join(info.value.lines())


def test_missing_column(write):
    header = OFFER_HEADER.replace("min_term_days,", "")
    row = GOOD_OFFER.replace(",0,,,", ",,,")
    msg = _override_error(write, header + row)
    assert "offers.csv:1:min_term_days: missing column" in msg


def test_bad_number(write):
    msg = _override_error(write, OFFER_HEADER + GOOD_OFFER.replace("1.50", "1,5".join('""')))
    assert "offers.csv:2:price_per_device_hour: '1,5' is not a number" in msg


@pytest.mark.parametrize("price", ["0", "-2"])
def test_zero_or_negative_price(write, price):
    msg = _override_error(write, OFFER_HEADER + GOOD_OFFER.replace("1.50", price))
    assert f"offers.csv:2:price_per_device_hour: '{price}' must be > 0 and <= 10,000,000" in msg


def test_unknown_currency(write):
    msg = _override_error(write, OFFER_HEADER + GOOD_OFFER.replace("USD", "XYZ"))
    assert "offers.csv:2:currency: unknown currency 'XYZ'" in msg


def test_unknown_region_and_accelerator_listed_together(write):
    bad = GOOD_OFFER.replace("sg,h100-sxm", "sgp,h1000")
    msg = _override_error(write, OFFER_HEADER + bad)
    assert "offers.csv:2:region: unknown region 'sgp': did you mean 'sg'?" in msg
    assert "offers.csv:2:accelerator: unknown accelerator 'h1000': did you mean 'h100-sxm'?" in msg


def test_duplicate_key(write):
    msg = _override_error(write, OFFER_HEADER + GOOD_OFFER + GOOD_OFFER)
    assert "offers.csv:2:provider: duplicate key" in msg and "offers.csv:3:provider" in msg


def test_bad_date(write):
    msg = _override_error(write, OFFER_HEADER + GOOD_OFFER.replace("2025-11-01", "2025-13-01"))
    assert "offers.csv:2:as_of: '2025-13-01' is not a date YYYY-MM-DD" in msg


def test_unknown_choice_and_column(write):
    msg = _override_error(write, OFFER_HEADER + GOOD_OFFER.replace("on_demand", "hourly"))
    assert "offers.csv:2:pricing: 'hourly' must be one of" in msg
    msg = _override_error(write, OFFER_HEADER.replace("note", "notes") + GOOD_OFFER)
    assert "unknown column 'notes': did you mean 'note'?" in msg


def test_an_optional_choice_says_it_may_be_empty(write):
    # rev18a #8: fx.csv `peg = false` said "'false' must be one of yes", a list of one that
    # hid that the cell may also be left empty.
    header = "currency,per_usd,peg,basis,note,source,as_of\n"
    row = "SGD,1.3,false,published,n,s,2025-11-01\n"
    msg = _override_error(write, header + row, "fx.csv")
    assert "fx.csv:2:peg: 'false' must be yes or empty" in msg
    path = write("other/offers.csv", OFFER_HEADER + GOOD_OFFER.replace("on_demand", "hourly"))
    with pytest.raises(CatalogError) as info:  # a required column's choice cannot be empty
        load_catalog(path.parent)
    msg = "\n".join(info.value.lines())
    assert "offers.csv:2:pricing: 'hourly' must be one of" in msg and "or empty" not in msg


def test_every_problem_reported_at_once(write):
    rows = GOOD_OFFER.replace("1.50", "-1") + GOOD_OFFER.replace("acme,", "beta,").replace(
        "2025-11-01", "yesterday"
    )
    msg = _override_error(write, OFFER_HEADER + rows)
    assert ":2:price_per_device_hour" in msg and ":3:as_of" in msg


def test_unknown_table_file(write):
    msg = _override_error(write, OFFER_HEADER + GOOD_OFFER, name="offer.csv")
    assert "not a catalog table: did you mean 'offers.csv'?" in msg
    # A file like no table: the tables are named (review6a nit 18).
    msg = _override_error(write, OFFER_HEADER + GOOD_OFFER, name="my_scratch_data.csv")
    assert "not a catalog table (tables: accelerators, aliases," in msg


def test_ragged_rows_are_named_by_line_and_blank_lines_skipped(write):
    # review8b #5: a long row had no line, a short one gave an "empty value" per missing cell,
    # and an editor's trailing blank line was a row of empty values.
    long_row = GOOD_OFFER.rstrip("\n") + ",1\n"
    msg = _override_error(write, OFFER_HEADER + GOOD_OFFER + long_row)
    assert msg.endswith("offers.csv:3: has 18 cells; the header has 17")
    msg = _override_error(write, OFFER_HEADER + "acme,sg,h100-sxm\n")
    assert msg.endswith("offers.csv:2: has 3 cells; the header has 17")
    path = write("blank/offers.csv", OFFER_HEADER + GOOD_OFFER + "\n\n")
    assert load_catalog(path.parent).offers(provider="acme").height == 1


def test_a_ragged_row_does_not_hide_the_other_rows_problems(write):
    # rev16a #9: a row with a cell too few hid a bad date two rows up, even with --all-errors.
    bad_date = GOOD_OFFER.replace("2025-11-01", "01/11/2025")
    short = GOOD_OFFER.replace("acme,", "beta,").rstrip("\n").rsplit(",", 1)[0] + "\n"
    bad_price = GOOD_OFFER.replace("acme,", "gamma,").replace("1.50", "-1")
    msg = _override_error(write, OFFER_HEADER + bad_date + short + bad_price)
    lines = msg.splitlines()
    assert lines[0] == "3 problems in the catalog:"
    assert ":2:as_of: '01/11/2025' is not a date" in lines[1]
    assert lines[2].endswith("offers.csv:3: has 16 cells; the header has 17")
    assert ":4:price_per_device_hour" in lines[3] and len(lines) == 4
    # The shifted row's own cells are not judged (they are not where the header says).
    assert not any(":3:" in line for line in lines if "cells" not in line)


def test_an_override_directory_without_a_table_is_refused(tmp_path, write):
    # review8b #6: an empty directory, `Offers.CSV` or a table in a subdirectory quoted the
    # embedded prices without a word.
    with pytest.raises(CatalogError, match="has no catalog table in it"):
        load_catalog(tmp_path)
    with pytest.raises(CatalogError, match="has no catalog table in it"):
        load_catalog(write("deep/sub/offers.csv", OFFER_HEADER + GOOD_OFFER).parent.parent)
    msg = _override_error(write, OFFER_HEADER + GOOD_OFFER, name="Offers.CSV")
    assert "not a catalog table: did you mean 'offers.csv'?" in msg


def test_a_negotiated_price_is_not_shadowed_by_a_newer_public_row(write, catalog):
    # review8b #2: a contract row dated before the embedded list price of the same offer was
    # never used; from its date on, the user's rows of a series are the ones used.
    row = catalog.offers(accelerator="h100-sxm", region="sg").sort("as_of").row(-1, named=True)
    earlier = row["as_of"] - timedelta(days=20)
    contract = (
        f"{row['provider']},sg,h100-sxm,{row['instance']},{row['devices_per_instance']},"
        f"{row['pricing']},0.99,USD,{row['min_term_days']},,,listed,,published,negotiated,"
        f"contract 42,{earlier.isoformat()}\n"
    )
    merged = load_catalog(write("cat/offers.csv", OFFER_HEADER + contract).parent)
    key = (pl.col("provider") == row["provider"]) & (pl.col("instance") == row["instance"])
    key = key & (pl.col("pricing") == row["pricing"]) & (pl.col("region") == "sg")
    price = "price_per_device_hour"
    assert merged.dated("offers", row["as_of"]).filter(key)[price].to_list() == [0.99]
    before = earlier - timedelta(days=1)
    assert merged.dated("offers", before).filter(key)[price].to_list() == (
        catalog.dated("offers", before).filter(key)[price].to_list()
    )
    # Other series keep their public history.
    assert (
        merged.dated("offers", row["as_of"]).height == catalog.dated("offers", row["as_of"]).height
    )


def test_missing_override_directory(tmp_path):
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog(tmp_path / "nope")


# -- overrides -------------------------------------------------------------------------------------


def test_override_replaces_by_key_and_adds(write, catalog):
    base = catalog.offers(accelerator="h100-sxm", region="sg")
    row = base.row(0, named=True)
    same_day = row["as_of"].isoformat()
    replaced = (
        f"{row['provider']},sg,h100-sxm,{row['instance']},{row['devices_per_instance']},"
        f"{row['pricing']},0.99,USD,{row['min_term_days']},,,listed,,negotiated,from 2030,"
        "contract 42,"
        f"{same_day}\n"
    )
    path = write("cat/offers.csv", OFFER_HEADER + replaced + GOOD_OFFER)
    merged = load_catalog(path.parent)
    assert merged.table("offers").height == catalog.table("offers").height + 1
    new = merged.offers(accelerator="h100-sxm", region="sg")
    key = (
        (pl.col("provider") == row["provider"])
        & (pl.col("instance") == row["instance"])
        & (pl.col("pricing") == row["pricing"])
        & (pl.col("as_of") == row["as_of"])
    )
    assert new.filter(key)["price_per_device_hour"].to_list() == [0.99]
    assert new.filter(pl.col("provider") == "acme").height == 1
    # The embedded catalog object is unchanged.
    assert catalog.offers(accelerator="h100-sxm", region="sg").filter(key)[
        "price_per_device_hour"
    ].to_list() == [row["price_per_device_hour"]]


def test_override_with_a_later_date_adds_price_history(write, catalog):
    row = catalog.offers(accelerator="h100-sxm", region="sg").row(0, named=True)
    later = (
        f"{row['provider']},sg,h100-sxm,{row['instance']},{row['devices_per_instance']},"
        f"{row['pricing']},0.99,USD,{row['min_term_days']},,,listed,,negotiated,from 2030,"
        "contract 42,"
        "2030-01-01\n"
    )
    merged = load_catalog(write("cat/offers.csv", OFFER_HEADER + later).parent)
    key = (pl.col("provider") == row["provider"]) & (pl.col("instance") == row["instance"])
    key = key & (pl.col("pricing") == row["pricing"]) & (pl.col("region") == "sg")
    before = merged.dated("offers", date(2029, 12, 31)).filter(key)
    after = merged.dated("offers", date(2030, 1, 1)).filter(key)
    assert before["price_per_device_hour"].to_list() == [row["price_per_device_hour"]]
    assert after["price_per_device_hour"].to_list() == [0.99]


def test_override_can_add_a_region_used_by_its_offers(write):
    regions = (
        "id,name,country,jurisdiction,currency,pue,basis,note,source,as_of\n"
        "my-cyberjaya,Cyberjaya,MY,southeast-asia,MYR,1.4,estimate,,my notes,2025-11-01\n"
    )
    write("cat/regions.csv", regions)
    path = write("cat/offers.csv", OFFER_HEADER + GOOD_OFFER.replace(",sg,", ",my-cyberjaya,"))
    merged = load_catalog(path.parent)
    assert merged.offers(region="my-cyberjaya").height == 1


# -- currency --------------------------------------------------------------------------------------


def test_fx_uses_latest_rate_on_or_before_date(catalog):
    fx = catalog.table("fx").filter(pl.col("currency") == "CNY").sort("as_of")
    first, second = fx.row(0, named=True), fx.row(1, named=True)
    assert catalog.rate("CNY", second["as_of"]).per_usd == second["per_usd"]
    day_before = date.fromordinal(second["as_of"].toordinal() - 1)
    assert catalog.rate("CNY", day_before).per_usd == first["per_usd"]


def test_convert_round_trip_and_hand_value(catalog):
    d = date(2025, 11, 27)
    cny = catalog.rate("CNY", d).per_usd
    assert catalog.convert(100.0, "USD", "CNY", d) == pytest.approx(100.0 * cny)
    sgd = catalog.rate("SGD", d).per_usd
    assert catalog.convert(sgd, "SGD", "CNY", d) == pytest.approx(cny)
    assert catalog.convert(catalog.convert(7.0, "CNY", "JPY", d), "JPY", "CNY", d) == pytest.approx(
        7.0
    )


def test_no_rate_before_earliest(catalog):
    with pytest.raises(CatalogError, match="no exchange rate for CNY on or before 1999-01-01"):
        catalog.rate("CNY", date(1999, 1, 1))
    with pytest.raises(UnknownIdError, match="unknown currency 'CNH'"):
        catalog.rate("CNH", date(2025, 1, 1))


def test_rule_cells_must_be_able_to_match(write):
    header = (
        "id,effective_from,effective_to,effect,data,region_country,accelerator,"
        "accelerator_origin,tenant_hq,ownership,message,basis,note,source,as_of\n"
    )
    rows = (
        "r1,2025-01-01,,block,personl,!CN,*,US,CN,*,m,estimate,,s,2025-01-01\n"
        "r2,2025-01-01,2025-01-01,warn,*,cn,h100,*,*,*,m,estimate,,s,2025-01-01\n"
    )
    msg = _override_error(write, header + rows, name="policies.csv")
    assert "policies.csv:2:data: 'personl' is not a data class" in msg
    assert "policies.csv:3:region_country: 'cn' is not a country code" in msg
    assert "3:accelerator: 'h100' is not a known accelerator: did you mean 'h100-sxm'?" in msg
    assert "policies.csv:3:effective_to: must be after effective_from" in msg


def test_a_supply_limit_names_its_period(write):
    # rev12e #4: a limit with no `per_days` was "in 365 days" to the solver and "in 0 days" in
    # its message; the period has no default, so the row must give it.
    header = (
        "accelerator,country,tenant_hq,effective_from,effective_to,purchasable,lead_time_days,"
        "max_devices_per_buyer,per_days,message,basis,note,source,as_of\n"
    )
    row = "ascend-910b,CN,*,2026-01-01,,yes,,100,{days},m,estimate,,s,2026-01-01\n"
    msg = _override_error(write, header + row.format(days=""), name="supply.csv")
    assert msg.endswith(
        "supply.csv:2:per_days: required when max_devices_per_buyer is given (the most one "
        "buyer can get in how many days)"
    )
    good = write("ok/supply.csv", header + row.format(days=30))
    assert load_catalog(good.parent).table("supply")["per_days"].drop_nulls().min() == 30


def test_a_supply_row_may_say_when_it_was_announced(write):
    # rev14b #5: `announced` is optional, as in policies.csv: a file without the column (any
    # override written before it) loads, its rows announced on their effective_from.
    header = (
        "accelerator,country,tenant_hq,effective_from,effective_to,{announced}purchasable,"
        "lead_time_days,max_devices_per_buyer,per_days,message,basis,note,source,as_of\n"
    )
    row = "ascend-910b,CN,*,2026-01-01,,{day}yes,30,,,m,estimate,,s,2026-01-01\n"
    old = write("old/supply.csv", header.format(announced="") + row.format(day=""))
    rows = load_catalog(old.parent).table("supply").filter(pl.col("lead_time_days") == 30)
    assert rows.height == 1 and rows["announced"].to_list() == [None]
    with_it = header.format(announced="announced,")
    given = write("new/supply.csv", with_it + row.format(day="2025-09-29,"))
    rows = load_catalog(given.parent).table("supply").filter(pl.col("lead_time_days") == 30)
    assert rows["announced"].to_list() == [date(2025, 9, 29)]
    msg = _override_error(write, with_it + row.format(day="Sept 2025,"), name="supply.csv")
    assert "supply.csv:2:announced: 'Sept 2025' is not a date YYYY-MM-DD" in msg


def test_an_instance_network_figure_names_its_page(write):
    # rev12f #7: an offer's own network figure moves the physics; the row's `source` is its
    # price's, so the figure carries its own (a row copied into an override keeps both).
    header = OFFER_HEADER.replace("max_devices,", "max_devices,instance_scaleout_gbit_s,"
                                  "instance_scaleout_source,")  # fmt: skip
    row = GOOD_OFFER.replace("listed,,", "listed,,400,{page},")
    msg = _override_error(write, header + row.format(page=""))
    assert msg.endswith(
        "offers.csv:2:instance_scaleout_source: required when instance_scaleout_gbit_s is "
        "given (the public page the instance's network figure is from)"
    )
    good = write("ok/offers.csv", header + row.format(page="https://acme.example/network"))
    offers = load_catalog(good.parent).table("offers").filter(pl.col("provider") == "acme")
    assert offers["instance_scaleout_source"].to_list() == ["https://acme.example/network"]


def test_a_longest_term_names_its_page_and_is_no_shorter_than_the_minimum(write):
    # rev13b #2: an offer's longest term (max_term_days) blocks a longer phase; like the
    # instance network figure it carries its own source, and it cannot be below the minimum.
    header = OFFER_HEADER.replace("max_devices,", "max_devices,max_term_days,max_term_source,")
    row = GOOD_OFFER.replace(",0,,,listed,,", ",{min},,,listed,,{max},{page},")
    msg = _override_error(write, header + row.format(min=0, max=182, page=""))
    assert msg.endswith(
        "offers.csv:2:max_term_source: required when max_term_days is given (the public page "
        "that states the longest term)"
    )
    msg = _override_error(write, header + row.format(min=365, max=182, page="https://a.example"))
    assert msg.endswith(
        "offers.csv:2:min_term_days: min_term_days 365 is greater than max_term_days 182"
    )
    good = write("ok/offers.csv", header + row.format(min=1, max=182, page="https://a.example"))
    offers = load_catalog(good.parent).table("offers").filter(pl.col("provider") == "acme")
    assert offers["max_term_days"].to_list() == [182]


def test_only_capacity_blocks_state_a_longest_term(catalog):
    # AWS sells a Capacity Block for at most 182 days (capacity-blocks-purchase.html); no other
    # row's source states a maximum, and none is invented (an empty cell: no maximum).
    offers = catalog.table("offers")
    blocks = offers.filter(pl.col("instance").str.contains("(EC2 Capacity Block)", literal=True))
    assert blocks.height > 0 and blocks["max_term_days"].to_list() == [182] * blocks.height
    assert all("capacity-blocks-purchase" in s for s in blocks["max_term_source"])
    others = offers.filter(~pl.col("instance").str.contains("(EC2 Capacity Block)", literal=True))
    assert others["max_term_days"].null_count() == others.height


def test_a_rule_data_cell_says_which_data_class_it_meant(write):
    # `personal-cn` / `important-cn` name the data of people in China alone; a near miss of a
    # data class would match nothing and is told with the class it meant.
    header = (
        "id,effective_from,effective_to,effect,data,region_country,accelerator,"
        "accelerator_origin,tenant_hq,ownership,message,basis,note,source,as_of\n"
    )
    rows = (
        "r1,2025-01-01,,block,personal-CN,!CN,*,*,*,*,m,estimate,,s,2025-01-01\n"
        "r2,2025-01-01,,block,public|importnt-cn,!CN,*,*,*,*,m,estimate,,s,2025-01-01\n"
        "r3,2025-01-01,,block,personal-cn|important,!CN,*,*,*,*,m,estimate,,s,2025-01-01\n"
    )
    msg = _override_error(write, header + rows, name="policies.csv")
    assert "2:data: 'personal-CN' is not a data class: did you mean 'personal-cn'?" in msg
    assert "3:data: 'importnt-cn' is not a data class: did you mean 'important-cn'?" in msg
    assert "policies.csv:4" not in msg


def test_unknown_references_reported_with_other_problems(write):
    rows = GOOD_OFFER.replace("1.50", "-1") + GOOD_OFFER.replace(
        "acme,sg,h100-sxm", "beta,sgp,h1000"
    )
    msg = _override_error(write, OFFER_HEADER + rows)
    assert "offers.csv:2:price_per_device_hour" in msg
    assert "offers.csv:3:region: unknown region 'sgp': did you mean 'sg'?" in msg
    assert "offers.csv:3:accelerator: unknown accelerator 'h1000'" in msg


def test_defaults_table_and_override(write, catalog):
    assert catalog.default("peak_to_average") >= 1
    with pytest.raises(UnknownIdError, match="unknown default 'peak_to_averag'"):
        catalog.default("peak_to_averag")
    path = write(
        "cat/defaults.csv",
        "name,value,unit,basis,note,source,as_of\n"
        "peak_to_average,3,ratio,estimate,,our traffic logs,2026-01-01\n",
    )
    assert load_catalog(path.parent).default("peak_to_average") == 3


def test_inverted_range_is_one_problem(write):
    row = GOOD_OFFER.replace(",0,,,", ",0,3,1,")  # price_low 3 > price 1.50 > price_high 1
    msg = _override_error(write, OFFER_HEADER + row)
    assert msg.count("offers.csv:2:") == 1
    assert "price_low 3 is greater than price_per_device_hour 1.50" in msg


def test_the_dollar_is_one_dollar(write):
    # 'USD,7.2' (a CNY rate put under USD) was accepted and cut a quote by 76 % (review7a #6).
    header = "currency,per_usd,peg,basis,note,source,as_of\n"
    msg = _override_error(write, header + "USD,7.2,,published,,x,2025-11-01\n", "fx.csv")
    assert "fx.csv:2:per_usd: USD is the base currency: its per_usd is 1" in msg


def test_a_users_rate_is_the_quotes_rate_and_its_conversions(write, catalog):
    # review8c #1: a user's CNY row dated before the embedded one won in the dated view (its
    # conversions) but not in rate() (the quote's stated rate): two rates in one quote.
    head = "currency,per_usd,peg,basis,note,source,as_of\n"
    path = write("fx/fx.csv", head + "CNY,8.0,,published,,my treasury,2025-10-15\n")
    merged = load_catalog(path.parent)
    day = date(2025, 11, 27)
    assert catalog.rate("CNY", day).per_usd != 8.0
    assert merged.rate("CNY", day).per_usd == 8.0
    table = merged.fx_table(day).filter(pl.col("currency") == "CNY")
    assert table["per_usd"].to_list() == [8.0]


def test_offers_are_the_rows_valid_on_a_date_as_the_cli_lists_them(catalog, runner):
    # review10b #2: Catalog.offers returned every dated row (30 for H100 in sg where the CLI
    # lists 5: superseded prices beside the one a quote uses), and a misspelt pricing filter
    # returned an empty frame where the CLI raises.
    import json

    from estimator.cli import app
    from pricing.errors import UnknownIdError

    flags = ["--accelerator", "h100-sxm", "--region", "sg", "--as-of", "2025-11-27"]
    listed = json.loads(runner.invoke(app, ["catalog", "offers", *flags, "-f", "json"]).stdout)
    rows = catalog.offers(accelerator="h100-sxm", region="sg", as_of="2025-11-27")
    assert rows.height == len(listed)
    everything = catalog.offers(accelerator="h100-sxm", region="sg", history=True)
    assert everything.height > rows.height  # the history is there when asked for
    key = ["provider", "instance", "pricing"]
    assert rows.select(key).is_duplicated().sum() == 0  # one row per offer
    with pytest.raises(UnknownIdError, match="on_demand"):
        catalog.offers(pricing="ondemand")
    with pytest.raises(CatalogError, match="not both"):
        catalog.offers(as_of="2025-11-27", history=True)


def test_a_table_changed_in_memory_is_checked_like_an_override_file(catalog):
    # rev11b #2: with_table validated nothing: a negative price was quoted (pretrain -175 M
    # CNY), an FX rate of 0 blamed the scenario, a dropped column or an emptied table leaked
    # polars errors or a bare AssertionError, a misspelt table a KeyError.
    negative = pl.col("price_per_device_hour") * -1.0
    with pytest.raises(CatalogError, match=r"\('offers'\), row 0, column price_per_device_hour:"):
        catalog.with_table("offers", lambda df: df.with_columns(negative))
    with pytest.raises(CatalogError, match=r"row 0, column per_usd: '0.0' must be between"):
        catalog.with_table("fx", lambda df: df.with_columns(pl.lit(0.0).alias("per_usd")))
    with pytest.raises(CatalogError, match=r"\('offers'\), column currency: missing column"):
        catalog.with_table("offers", lambda df: df.drop("currency"))
    with pytest.raises(CatalogError, match="returned NoneType, not a polars DataFrame"):
        catalog.with_table("offers", lambda df: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(UnknownIdError, match="did you mean 'offers'"):
        catalog.with_table("offer", lambda df: df)
    # rev11c #3: removing a region other tables name failed later, in the quote.
    with pytest.raises(CatalogError, match=r"removes 'us-east', which .* still name in region"):
        catalog.with_table("regions", lambda df: df.filter(pl.col("id") != "us-east"))
    same = catalog.with_table("offers", lambda df: df)
    assert same.table("offers").equals(catalog.table("offers"))
    assert same.origin == ["embedded", "Catalog.with_table('offers')"]


def test_rows_added_in_memory_win_from_their_date_as_an_override_files_do(catalog, write):
    # rev11b #2: a negotiated row added by with_table, dated before the newest public row of
    # its offer, was shadowed by that row; the same row in an override directory wins.
    row = catalog.offers(accelerator="h100-sxm", region="sg").row(0, named=True)
    key = (pl.col("provider") == row["provider"]) & (pl.col("instance") == row["instance"])
    key = key & (pl.col("pricing") == row["pricing"]) & (pl.col("region") == "sg")
    day = row["as_of"] - timedelta(days=30)
    ours = catalog.table("offers").filter(key).head(1).with_columns(
        price_per_device_hour=pl.lit(0.99), price_low=pl.lit(None, pl.Float64),
        price_high=pl.lit(None, pl.Float64), as_of=pl.lit(day),
    )  # fmt: skip

    def add(df: pl.DataFrame) -> pl.DataFrame:
        return pl.concat([df, ours], how="diagonal_relaxed")

    added = catalog.with_table("offers", add)
    assert added.dated("offers", row["as_of"]).filter(key)["price_per_device_hour"].to_list() == [
        0.99
    ]


def test_a_row_copied_and_edited_in_memory_is_the_users_too(catalog):
    # rev12b #2: copied with its `_file` / `_line`, the edited row stayed "embedded" and the
    # newer public row of its offer shadowed it; only a row identical to the one it names, once,
    # keeps its place in the embedded data.
    row = catalog.offers(accelerator="h100-sxm", region="sg").row(0, named=True)
    key = (pl.col("provider") == row["provider"]) & (pl.col("instance") == row["instance"])
    key = key & (pl.col("pricing") == row["pricing"]) & (pl.col("region") == "sg")
    day = row["as_of"] - timedelta(days=30)

    def copy_edit(df: pl.DataFrame) -> pl.DataFrame:
        copied = df.filter(key).head(1).with_columns(
            price_per_device_hour=pl.lit(0.99), price_low=pl.lit(None, pl.Float64),
            price_high=pl.lit(None, pl.Float64), as_of=pl.lit(day),
        )  # fmt: skip
        return pl.concat([df, copied])

    edited = catalog.with_table("offers", copy_edit)
    prices = edited.dated("offers", row["as_of"]).filter(key)["price_per_device_hour"]
    assert prices.to_list() == [0.99]
    # A row passed through untouched is still the embedded one: the newest public row wins.
    same = catalog.with_table("offers", lambda df: pl.concat([df, df.head(0)]))
    assert (
        same.dated("offers", row["as_of"])
        .filter(key)
        .equals(catalog.dated("offers", row["as_of"]).filter(key))
    )


def test_what_the_catalog_hands_out_is_the_callers_to_change(catalog):
    # rev12b #1: a looked-up row dict and a table frame were the catalog's own: editing one
    # in place moved every later quote, unchecked.
    peak = catalog.accelerator("h100-sxm")["bf16_tflops"]
    catalog.accelerator("h100-sxm")["bf16_tflops"] = 1.0
    frame = catalog.table("accelerators")
    frame[0, "bf16_tflops"] = 1.0
    dated = catalog.dated("offers", date(2025, 11, 27))
    dated[0, "price_per_device_hour"] = 0.0
    assert catalog.accelerator("h100-sxm")["bf16_tflops"] == peak
    assert catalog.table("accelerators").equals(load_catalog().table("accelerators"))
    assert catalog.dated("offers", date(2025, 11, 27)).equals(
        load_catalog().dated("offers", date(2025, 11, 27))
    )


def test_a_change_edited_in_place_leaves_every_other_catalog_as_it_was(catalog, write):
    # rev18b #1: `with_table` handed `change` the process-wide embedded frame itself; a change
    # that edited it in place (`f[i, col] = v`) and returned it became the baseline of every
    # catalog in the process (load_catalog(), a default quote), and the edited rows kept their
    # embedded `_file`, so the what-if and its baseline quoted alike.
    day = date(2025, 11, 27)
    cny = load_catalog().rate("CNY", day).per_usd
    fx = load_catalog().table("fx")

    def in_place(f: pl.DataFrame) -> pl.DataFrame:
        for i in f.with_row_index().filter(pl.col("currency") == "CNY")["index"].to_list():
            f[i, "per_usd"] = f[i, "per_usd"] * 1.10
        return f

    what_if = load_catalog().with_table("fx", in_place)
    assert what_if.rate("CNY", day).per_usd == pytest.approx(cny * 1.10)
    assert load_catalog().table("fx").equals(fx)
    assert load_catalog().rate("CNY", day).per_usd == cny
    assert catalog.convert(100, "USD", "CNY", day) == pytest.approx(100 * cny)
    # The frame a change returns is checked into a frame of the catalog's own: editing the
    # caller's copy afterwards moves nothing.
    kept: list[pl.DataFrame] = []

    def keep(f: pl.DataFrame) -> pl.DataFrame:
        kept.append(f)
        return f

    held = load_catalog().with_table("fx", keep)
    kept[0][0, "per_usd"] = 0.5
    assert held.table("fx").equals(fx)
    # `dropped` and `origin` are the caller's too (a shocked catalog shared its origin list).
    offers = catalog.table("offers").filter(pl.col("instance_scaleout_gbit_s").is_not_null())
    no_network = offers.head(1).with_columns(
        pl.lit(None, pl.Float64).alias("instance_scaleout_gbit_s")
    )
    override = write("ov/offers.csv", no_network.write_csv()).parent
    ours = load_catalog(override)
    dropped = ours.dropped("offers")
    assert dropped["column"].to_list() == ["instance_scaleout_gbit_s"]
    dropped[0, "embedded"] = "edited"
    assert ours.dropped("offers").equals(load_catalog(override).dropped("offers"))
    origin = list(ours.origin)
    ours._with_rows("policies", lambda p: p).origin.append("elsewhere")
    assert ours.origin == origin


def test_a_catalog_pickles_with_its_tables_and_origin(catalog, write):
    # rev12b #3: no catalog could be pickled (its lazy readers), so none went to a worker.
    import pickle

    override = write("ov/offers.csv", OFFER_HEADER + GOOD_OFFER).parent
    for cat in (catalog, load_catalog(override), catalog.with_table("offers", lambda df: df)):
        back = pickle.loads(pickle.dumps(cat))
        assert back.origin == cat.origin
        assert back.fingerprint() == cat.fingerprint()
        assert back.table("offers").equals(cat.table("offers"))
    assert load_catalog(override).fingerprint() != catalog.fingerprint()


def test_a_catalog_error_lists_its_first_problems_and_keeps_them_all(catalog):
    # rev12b #8: a library traceback printed all 483 problems of one bad column.
    with pytest.raises(CatalogError) as err:
        catalog.with_table("offers", lambda df: df.with_columns(price_per_device_hour=-1.0))
    lines = str(err.value).splitlines()
    assert len(err.value.problems) > 100
    assert len(lines) == 11 and lines[-1].startswith(f"... and {len(err.value.problems) - 10:,}")


def test_a_catalog_says_where_its_rows_come_from_and_the_packages_list_their_names(write):
    # review11b #13: `<pricing.catalog.Catalog object at 0x...>`, and dir(estimator) and
    # dir(pricing) listed none of the names imported on first use (nor did a REPL complete them).
    import estimator
    import pricing

    embedded = load_catalog()
    assert repr(embedded).startswith("Catalog(embedded; tables: accelerators, regions, ")
    assert "offers" in repr(embedded) and "\n" not in repr(embedded)
    mine = write("cat/offers.csv", OFFER_HEADER + GOOD_OFFER)
    assert repr(load_catalog(mine.parent)).startswith(f"Catalog(embedded + {mine}; tables: ")
    assert {"quote", "plan", "Scenario", "parse_scenario", "what_if"} <= set(dir(estimator))
    assert {"load_catalog", "Catalog", "CatalogError"} <= set(dir(pricing))
    assert set(estimator.__all__) <= set(dir(estimator))
    assert not {"importlib", "sys", "TYPE_CHECKING", "_EXPORTS"} & {*dir(estimator), *dir(pricing)}


def test_a_type_checker_sees_every_public_name_and_both_packages_are_typed():
    # rev18b #6: `TrainPhase` and `ServePhase` were in `__all__` but not in the TYPE_CHECKING
    # imports, so to mypy they were `Any` (the module's `__getattr__`); and `pricing` shipped no
    # py.typed, so an installed copy's `Catalog` was `Any` in every estimator signature.
    import ast
    import tomllib
    from pathlib import Path

    import estimator
    import pricing

    root = Path(__file__).resolve().parent.parent
    for package in (estimator, pricing):
        tree = ast.parse(Path(str(package.__file__)).read_text())
        seen: dict[str, str] = {}
        for block in tree.body:
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
                for imp in block.body:
                    assert isinstance(imp, ast.ImportFrom) and imp.module
                    seen.update({a.asname or a.name: imp.module for a in imp.names})
        name = package.__name__
        assert seen == package._EXPORTS, name  # each name, from the module it is loaded from
        assert sorted(seen) == sorted(package.__all__), name
        assert (root / name / "py.typed").is_file(), name
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert all("py.typed" in data["package-data"][p] for p in data["packages"])


def test_convert_takes_an_amount_in_its_own_currency(catalog):
    # review11b #11, #18: 100 CNY converted as if it were USD (729.57), an unknown code passed
    # when both sides were it, NaN converted, and Money took any "currency".
    from estimator import ScenarioError
    from estimator.money import Money

    day = "2025-01-01"
    with pytest.raises(CatalogError, match="the amount is in CNY, not USD"):
        catalog.convert(Money(100, "CNY"), "USD", "CNY", day)
    assert type(catalog.convert(Money(100, "USD"), "USD", "USD", day)) is float
    assert catalog.convert(1, "USD", "USD", "1990-01-01") == 1.0  # no rate needed (rev11c #7)
    assert catalog.convert(Money(100, "USD"), "USD", "CNY", day) == pytest.approx(
        catalog.convert(100, "USD", "CNY", day)
    )
    with pytest.raises(UnknownIdError, match="unknown currency 'XYZ'"):
        catalog.convert(100, "XYZ", "XYZ", day)
    with pytest.raises(CatalogError, match="not a finite amount"):
        catalog.convert(float("nan"), "USD", "CNY", day)
    for code in ("usd", None, "US", "US$"):
        with pytest.raises(ScenarioError, match="is not a currency code"):
            Money(1, code)  # type: ignore[arg-type]


def test_offers_of_owned_hardware_point_to_the_hardware_table(catalog):
    # review11b #16: offers(pricing="owned") suggested 'on_demand'; owned hardware is priced
    # from the hardware table, not the offers.
    for pricing in ("owned", "fleet"):
        with pytest.raises(CatalogError, match="priced from the hardware table"):
            catalog.offers(pricing=pricing)


def test_ordinary_slips_in_catalog_calls_are_the_librarys_errors(catalog):
    # review11b #17: KeyError, AttributeError ('int' object has no attribute 'upper') and a raw
    # TypeError for a table without ids, an id that is a number, a path that is not one.
    with pytest.raises(CatalogError, match=r"'offers' rows have no id: .*table\('offers'\)"):
        catalog.get("offers", "x")
    with pytest.raises(UnknownIdError, match="unknown table 'ofers': did you mean 'offers'"):
        catalog.ids("ofers")
    with pytest.raises(UnknownIdError, match="unknown region '5'"):
        catalog.offers(region=5)  # type: ignore[arg-type]
    with pytest.raises(UnknownIdError, match="unknown table '5'"):
        catalog.table(5)  # type: ignore[arg-type]
    with pytest.raises(CatalogError, match="must be a directory path, not int"):
        load_catalog(123)  # type: ignore[arg-type]


_MODEL_HEADER = (
    "id,name,arch,total_params_b,active_params_b,layers,hidden,heads,kv_heads,head_dim,vocab,"
    "experts,experts_active,kv_lora_rank,rope_head_dim,basis,note,source,as_of\n"
)
_MODEL_ROW = "m,M,dense,70.55,70.55,80,8192,64,8,128,128256,,,,,published,,x,2024-07-23\n"


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        ((",64,8,128,", ",7,8,128,"), "kv_heads: kv_heads (8) must divide heads (7)"),
        ((",64,8,128,", ",96,8,,"), "hidden: hidden (8192) is not a multiple of heads (96)"),
        ((",128256,,,", ",128256,8,,"), "experts: experts given for a dense model"),
        (("dense,70.55,70.55", "moe,70.55,9.0"), ""),  # an MoE without experts: filled later
        (
            ("dense,70.55,70.55,80,8192,64,8,128,128256,,,", "moe,70.55,9,80,8192,64,8,128,1,8,9,"),
            "experts_active: experts_active (9) exceeds experts (8)",
        ),
    ],
)
def test_a_model_row_obeys_the_shape_rules_a_scenarios_model_does(write, catalog, edit, where):
    # rev19b #4: heads 7 beside kv_heads 8 passed at load and was then blamed on the scenario
    # naming the preset, or on a --kv-heads flag never given; the rules are the scenario's own.
    from estimator.errors import ScenarioError
    from estimator.physics.model import resolve_model

    row = _MODEL_ROW.replace(*edit)
    assert row != _MODEL_ROW
    if not where:
        load_catalog(write("cat/models.csv", _MODEL_HEADER + row).parent)
        return
    assert f"models.csv:2:{where}" in _override_error(write, _MODEL_HEADER + row, "models.csv")
    names = _MODEL_HEADER.strip().split(",")
    fields = dict(zip(names, row.strip().split(","), strict=True))
    shape = {
        k: int(fields[k])
        for k in ("layers", "hidden", "heads", "kv_heads", "head_dim", "experts", "experts_active")
        if fields[k]
    }
    total, active = float(fields["total_params_b"]) * 1e9, float(fields["active_params_b"]) * 1e9
    with pytest.raises(ScenarioError) as info:
        resolve_model(
            catalog, total_params=total, active_params=active, arch=fields["arch"], **shape
        )
    assert where.split(": ", 1)[1] in str(info.value)


def test_a_row_dated_after_today_is_refused_unless_agreed_to_start_later(write):
    # rev19b #6: a user's 1.00 USD row typed 2062 for 2026 was never in force on any quote date,
    # and nothing said so; import-skypilot refuses a listing dated after today the same way.
    today, later = date.today(), date.today() + timedelta(days=1)
    typo = GOOD_OFFER.replace("2025-11-01", later.isoformat())
    msg = _override_error(write, OFFER_HEADER + typo)
    assert f"offers.csv:2:as_of: {later} is after today ({today})" in msg
    assert "basis negotiated" in msg
    agreed = typo.replace(",published,", ",negotiated,")
    cat = load_catalog(write("ok/offers.csv", OFFER_HEADER + agreed).parent)
    assert later in cat.table("offers")["as_of"].to_list()
    fx = "currency,per_usd,peg,basis,note,source,as_of\n" + f"EUR,0.9,,published,,x,{later}\n"
    assert f"fx.csv:2:as_of: {later} is after today" in _override_error(write, fx, "fx.csv")
    dated_today = GOOD_OFFER.replace("2025-11-01", today.isoformat())
    load_catalog(write("now/offers.csv", OFFER_HEADER + dated_today).parent)


def test_a_row_added_in_memory_dated_after_today_is_refused_as_a_file_row_is(catalog):
    # rev20b #1: with_table accepted a published row dated after today that an override file
    # refuses; a quote dated before it never used it, and nothing said so (a mistyped year in
    # a notebook is the rev19b #6 hazard). The same rule, the same words, the row named.
    today, later = date.today(), date.today() + timedelta(days=1)

    def added(table: str, **cells: object):
        def change(df: pl.DataFrame) -> pl.DataFrame:
            row = (
                df.sort("as_of")
                .tail(1)
                .with_columns(*(pl.lit(v).alias(k) for k, v in cells.items()), as_of=pl.lit(later))
            )
            return pl.concat([df, row])

        return change

    for table, cells in (
        ("offers", {"price_per_device_hour": 5.0}),
        ("fx", {}),
        ("policies", {"id": "my-rule"}),
    ):
        n = catalog.table(table).height  # the added row's position in the returned frame
        with pytest.raises(CatalogError) as info:
            catalog.with_table(table, added(table, **cells))
        assert str(info.value) == (
            f"Catalog.with_table('{table}'), row {n}, column as_of: {later} is after today "
            f"({today}): give the date the figure was true (a price agreed to start later is "
            "basis negotiated)"
        )
    # A price agreed to start later is one, as in a file; and the embedded rows left as they
    # were are not judged (the embedded catalog loads on a clock set back).
    agreed = catalog.with_table("offers", added("offers", basis="negotiated"))
    assert later in agreed.table("offers")["as_of"].to_list()
