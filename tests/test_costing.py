"""Costing formulas on hand-checked numbers, and their properties."""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimator import costing


def _rented(price=2.0, unit=8, min_term_days=0, per_usd=1.0) -> dict:
    return {
        "option": "rented",
        "unit_devices": unit,
        "price_per_device_hour": price,
        "min_term_days": min_term_days,
        "server_price": None,
        "server_power_w": None,
        "life_years": None,
        "opex_fraction_per_year": None,
        "per_usd": per_usd,
        "electricity_price_kwh": 0.1,
        "energy_per_usd": 1.0,
        "pue": 1.3,
        "resale_fraction": None,
    }


def _owned(price=1_000_000.0, unit=8, per_usd=7.0) -> dict:
    return {
        "option": "owned",
        "unit_devices": unit,
        "price_per_device_hour": None,
        "min_term_days": 0,
        "server_price": price,
        "server_power_w": 6000.0,
        "life_years": 5.0,
        "opex_fraction_per_year": 0.05,
        "per_usd": per_usd,
        "electricity_price_kwh": 0.4,
        "energy_per_usd": 7.0,
        "pue": 1.2,
        "resale_fraction": 0.45,
    }


START = date(2026, 1, 1)


def _cost(
    option: dict,
    devices: float,
    hours: float,
    accounting: str = "amortised",
    start: date = START,
) -> dict:
    df = pl.DataFrame(
        [option],
        schema_overrides={
            "server_price": pl.Float64,
            "server_power_w": pl.Float64,
            "life_years": pl.Float64,
            "opex_fraction_per_year": pl.Float64,
            "price_per_device_hour": pl.Float64,
            "resale_fraction": pl.Float64,
        },
    )
    devices_, hours_ = pl.lit(float(devices)), pl.lit(float(hours))
    cols = costing.cost_columns(devices_, hours_, start=start, accounting=accounting, detail=True)
    return df.select(cols).with_columns(costing.total_usd()).row(0, named=True)


def test_rented_hand_checked():
    # 16 devices x 100 h x 2 USD = 3200 USD.
    c = _cost(_rented(), 16, 100)
    assert c["compute_usd"] == pytest.approx(3200.0)
    assert c["hardware_usd"] == c["energy_usd"] == 0


def test_rented_rounds_to_whole_instances():
    # 9 devices on 8-GPU instances: 16 billed.
    c = _cost(_rented(), 9, 10)
    assert c["billed_devices"] == 16 and c["compute_usd"] == pytest.approx(16 * 10 * 2.0)


def test_minimum_term_is_billed_in_the_project_view():
    # 30 days used on a 1-year commitment: 365 days billed; amortised: the 30 days used.
    c = _cost(_rented(min_term_days=365), 8, 30 * 24, "project")
    assert c["billed_hours"] == 365 * 24
    assert c["compute_usd"] == pytest.approx(8 * 365 * 24 * 2.0)
    a = _cost(_rented(min_term_days=365), 8, 30 * 24, "amortised")
    assert a["compute_usd"] == pytest.approx(8 * 30 * 24 * 2.0)


@pytest.mark.parametrize(
    ("days", "terms"), [(30, 1), (365, 1), (366, 2), (397.4, 2), (730, 2), (731, 3)]
)
def test_a_commitment_bills_whole_terms(days, terms):
    # A 397-day run on a one-year reservation was billed 397 days at the committed rate; no
    # provider sells a reservation for the 32 days past the first year (review7a #5).
    c = _cost(_rented(min_term_days=365), 8, days * 24, "project")
    assert c["billed_hours"] == pytest.approx(terms * 365 * 24)
    on_demand = _cost(_rented(), 8, days * 24, "project")
    assert on_demand["billed_hours"] == pytest.approx(days * 24)


@pytest.mark.parametrize(("days", "months"), [(20, 1), (45, 2), (365, 12), (370, 13)])
def test_a_monthly_term_is_a_calendar_month(days, months):
    # A 365-day service on a monthly (30-day) rental billed 13 months and warned of 25 idle
    # days (review7c #7): twelve months cover a year. Each month bills 730 h.
    c = _cost(_rented(min_term_days=30), 8, days * 24, "project")
    assert c["billed_hours"] == pytest.approx(months * 730)


# 8x H100 server rented by the month: 75,000 CNY a server-month, priced per device-hour over
# 730 h as offers.csv does (cn-gpu-rental-market "8x H100 server (monthly rental)").
MONTHLY = 75_000 / (730 * 8)


@pytest.mark.parametrize(
    ("start", "days", "months"),
    [
        (date(2026, 1, 1), 31, 1),  # January: was billed 2 terms of 30.44 days
        (date(2026, 7, 1), 62, 2),  # July-August: was 3
        (date(2026, 7, 1), 92, 3),  # Q3: was 4
        (date(2026, 4, 1), 30, 1),  # April: was 1 term of 720 h, 73,972.80
        (date(2026, 2, 1), 28, 1),  # February
        (date(2026, 1, 31), 28, 1),  # to 2026-02-28: the end of a month that has no 31st
        (date(2026, 1, 31), 29, 2),
        (date(2026, 1, 31), 59, 2),  # to 2026-03-31: counted from the start, not from Feb 28
        (date(2026, 1, 31), 60, 3),
        (date(2026, 1, 1), 365, 12),
        (date(2026, 1, 1), 730, 24),  # two years of monthly rent
        (date(2026, 1, 1), 731, 25),
        (date(2026, 1, 1), 30.2, 1),  # part of a day: within January
        (date(2026, 1, 1), 31.01, 2),  # into February
    ],
)
def test_monthly_rental_bills_calendar_months_at_the_monthly_price(start, days, months):
    c = _cost(_rented(price=MONTHLY, min_term_days=30), 8, days * 24, "project", start)
    assert c["billed_hours"] == pytest.approx(months * 730)
    assert c["compute_usd"] == pytest.approx(months * 75_000)
    # The amortised view charges the hours used, wherever they fall.
    a = _cost(_rented(price=MONTHLY, min_term_days=30), 8, days * 24, "amortised", start)
    assert a["billed_hours"] == pytest.approx(days * 24)
    assert a["compute_usd"] == pytest.approx(days * 24 * 8 * MONTHLY)


@pytest.mark.parametrize(
    ("start", "days", "term", "terms"),
    [
        (date(2028, 1, 1), 366, 365, 1),  # the leap year 2028: was billed 2 terms
        (date(2028, 1, 1), 367, 365, 2),
        (date(2027, 3, 1), 366, 365, 1),  # to 2028-03-01, over 2028-02-29
        (date(2028, 2, 29), 365, 365, 1),  # to 2029-02-28: a year from a leap day
        (date(2028, 2, 29), 366, 365, 2),
        (date(2026, 1, 1), 1096, 1095, 1),  # three years with 2028's leap day: one term
        (date(2026, 1, 1), 1097, 1095, 2),
        (date(2026, 1, 1), 4 * 365 + 2, 365, 5),  # 2026..2029 has one leap day: past 4 years
        (date(2026, 1, 1), 30, 90, 1),  # 90 days is no calendar term: whole days
        (date(2026, 1, 1), 100, 90, 2),
        (date(2026, 1, 1), 10.5, 1, 11),  # one-day capacity blocks
    ],
)
def test_yearly_terms_are_calendar_years_and_others_whole_days(start, days, term, terms):
    c = _cost(_rented(min_term_days=term), 8, days * 24, "project", start)
    per_term = term / 365 * 8760 if term % 365 == 0 else term * 24
    assert c["billed_hours"] == pytest.approx(terms * per_term)
    assert c["compute_usd"] == pytest.approx(8 * terms * per_term * 2.0)


def _months_between(start: date, end: date) -> int:
    """The fewest months from `start` (`costing.add_months`) reaching `end`, one by one."""
    n = 0
    while costing.add_months(start, n) < end:
        n += 1
    return n


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(date(1990, 1, 1), date(2200, 12, 31)),
    days=st.floats(0, 4000),
    term=st.sampled_from([30, 365, 1095]),
)
def test_calendar_terms_agree_with_counting_month_by_month(start, days, term):
    """The vectorised count agrees with adding months one by one: the fewest terms whose end
    is on or after the day the work ends."""
    months = costing.term_months(term)
    assert months is not None
    end = start + timedelta(days=-(-days // 1))  # the work ends during the day before
    terms = max(1, -(-_months_between(start, end) // months))
    c = _cost(_rented(min_term_days=term), 8, days * 24, "project", start)
    assert c["billed_hours"] == pytest.approx(terms * months * 730)
    assert costing.terms_end(start, term, terms) >= end


def test_one_evaluation_bills_each_row_its_own_terms():
    # The planner prices many rows of one phase at once (one start, many run times and terms):
    # from 2026-01-01, 59 days are January and February, 366 days run into 2027.
    rows = [(31, 30), (59, 30), (366, 365), (10.5, 1), (20, 0), (1096, 1095), (4e6, 30)]
    df = pl.DataFrame({"hours": [d * 24.0 for d, _ in rows], "min_term_days": [t for _, t in rows]})
    out = df.select(costing.billed_hours(pl.col("hours"), pl.col("min_term_days"), START))
    expected = [730, 1460, 8760 * 2, 11 * 24, 20 * 24, 26280]
    assert out.to_series().to_list()[:6] == pytest.approx(expected)
    # 4 million days (10,951 years, past the year 9999) in Gregorian months of 365.2425 / 12
    # days: 131,421.3; no date overflows.
    months = out.to_series()[6] / 730
    assert months == round(months) and 0 < months - 4e6 / (365.2425 / 12) < 1


def test_billed_days_are_the_calendar_days_of_the_terms():
    # Rent is paid over the calendar terms: Q3 is 92 days, a leap year 366; past the calendar's
    # last day (a blocked run of 400,000 years) the hours billed, which the timeline caps.
    assert costing.billed_days(date(2026, 7, 1), 30, 3 * 730) == 92
    assert costing.billed_days(date(2028, 1, 1), 365, 8760) == 366
    assert costing.billed_days(date(2026, 1, 1), 21, 42 * 24) == 42
    assert costing.billed_days(date(2026, 1, 1), 0, 100.0) == pytest.approx(100 / 24)
    huge = 5_000_000 * 730.0
    assert costing.billed_days(date(2025, 11, 27), 30, huge) == huge / 24


@pytest.mark.parametrize(
    ("term", "days", "text"),
    [
        (30, 92, "(3 terms of 1 month billed)"),
        (30, 31, "(minimum term 1 month billed)"),
        (365, 120, "(minimum term 1 year billed)"),
        (365, 400, "(2 terms of 1 year billed)"),
        (1095, 30, "(minimum term 3 years billed)"),
        (21, 30, "(2 terms of 21 days billed)"),
        (1, 2.5, "(3 terms of 1 day billed)"),
    ],
)
def test_line_item_says_the_terms_billed(term, days, text):
    row = {
        **_cost(_rented(min_term_days=term), 8, days * 24, "project", date(2026, 7, 1)),
        **_rented(min_term_days=term),
        "hours": days * 24.0,
        "devices": 8,
        "provider": "p",
        "instance": "i",
        "pricing": "contract",
        "region": "r",
        "currency": "USD",
        "fx_as_of": START,
    }
    (item,) = costing.line_items(row, "phase", "USD", 1.0)
    assert item.description == f"p i contract {text}"


def test_owned_in_the_project_view_bills_capital_less_resale():
    # One server of 1,000,000 CNY at 7 CNY/USD, resold at 45% of its price at the end:
    #   capital 1e6/7 = 142,857.14 USD, resale -0.45 x that = -64,285.71 USD; energy and
    #   operations for the hours used as in the amortised view; no amortised hardware line.
    c = _cost(_owned(), 8, 876, "project")
    assert c["capital_usd"] == pytest.approx(1e6 / 7)
    assert c["resale_usd"] == pytest.approx(-0.45 * 1e6 / 7)
    assert c["hardware_usd"] == 0
    assert c["energy_usd"] == pytest.approx(6 * 1.2 * 876 * 0.4 / 7)
    assert c["total_usd"] == pytest.approx(1e6 / 7 * 0.55 + c["energy_usd"] + c["operations_usd"])


def test_a_fleet_pays_energy_and_operations_only():
    fleet = {**_owned(), "option": "fleet"}
    for view in ("project", "amortised"):
        c = _cost(fleet, 8, 876, view)
        assert c["capital_usd"] == c["resale_usd"] == c["hardware_usd"] == 0
        assert c["total_usd"] == pytest.approx(c["energy_usd"] + c["operations_usd"])
        assert c["operations_usd"] == pytest.approx(1e6 / 7 * 0.005)


def test_price_in_other_currency_is_converted():
    # 14 CNY per device-hour at 7 CNY/USD = 2 USD.
    c = _cost(_rented(price=14.0, per_usd=7.0), 8, 1)
    assert c["compute_usd"] == pytest.approx(16.0)


def test_owned_hand_checked():
    # One server of 8 devices, 1,000,000 CNY at 7 CNY/USD, 5-year life, for 876 h (0.1 year):
    #   hardware   = 1e6/7 x 876 / (5 x 8760)        = 2857.14 USD
    #   operations = 1e6/7 x 0.05 x 876 / 8760        = 714.29 USD
    #   energy     = 6 kW x 1.2 x 876 h x 0.4 CNY / 7 = 360.43 USD
    c = _cost(_owned(), 8, 876)
    assert c["hardware_usd"] == pytest.approx(1e6 / 7 * 0.02)
    assert c["operations_usd"] == pytest.approx(1e6 / 7 * 0.005)
    assert c["energy_usd"] == pytest.approx(6 * 1.2 * 876 * 0.4 / 7)
    assert c["compute_usd"] == 0


def test_line_item_quantities_and_unit_prices():
    # Owned, 8 devices = 1 server, 876 h: 876 server-hours; 6 kW x 1.2 PUE x 876 h = 6307.2 kWh;
    # capex per server-hour 1e6 / (5 x 8760) = 22.83 CNY; operations 1e6 x 0.05 / 8760 = 5.708.
    c = _cost(_owned(), 8, 876)
    assert c["hardware_quantity"] == pytest.approx(876)
    assert c["hardware_unit_price"] == pytest.approx(1e6 / (5 * 8760))
    assert c["energy_quantity"] == pytest.approx(6 * 1.2 * 876)
    assert c["operations_unit_price"] == pytest.approx(1e6 * 0.05 / 8760)
    for part, rate in (("hardware", 7.0), ("energy", 7.0), ("operations", 7.0)):
        assert c[f"{part}_usd"] == pytest.approx(
            c[f"{part}_quantity"] * c[f"{part}_unit_price"] / rate
        )
    r = _cost(_rented(min_term_days=365), 9, 10, "project")
    assert r["compute_quantity"] == 16 * 365 * 24 and r["compute_unit_price"] == 2.0


def test_transfer_hours():
    df = pl.DataFrame({"gbps": [10.0]})
    out = df.select(costing.transfer_hours(pl.lit(1000.0)))
    # 8000 Gbit / 10 Gbit/s = 800 s. (The price is `transfers.Route.billed`, tested there.)
    assert out.item() == pytest.approx(800 / 3600)


@settings(max_examples=50, deadline=None)
@given(
    devices=st.integers(1, 4096),
    hours=st.floats(1, 1e5),
    k=st.floats(1.1, 10),
    owned=st.booleans(),
)
def test_cost_is_never_negative_and_linear_in_hours(devices, hours, k, owned):
    """In the amortised view every part of the cost is per hour used."""
    option = _owned() if owned else _rented()
    a = _cost(option, devices, hours)["total_usd"]
    b = _cost(option, devices, hours * k)["total_usd"]
    assert a >= 0
    assert b == pytest.approx(a * k, rel=1e-9)


@pytest.mark.parametrize(
    "start", [date(2024, 1, 31), date(2024, 2, 29), date(2023, 3, 31), date(2025, 11, 27)]
)
def test_month_ends_are_add_months_for_a_whole_calendar_cycle(start):
    # The fast month count (a binary search over polars' "1mo" steps) relies on these being
    # exactly add_months, month-end clamping and leap days included, over 400 years.
    from estimator.costing import _month_ends, add_months

    ends = _month_ends(start).to_list()
    assert len(ends) == 4_801
    assert ends == [(add_months(start, k) - start).days for k in range(4_801)]


@pytest.mark.parametrize(
    "start", [date(2024, 1, 31), date(2024, 2, 29), date(2025, 11, 27), date(9999, 11, 30)]
)
def test_calendar_years_table_is_the_searched_one_and_a_shorter_one_its_first_days(start):
    # The table counts the month ends each day has reached instead of searching for them: the
    # same bits as the search, and a table of the first days only (a resale's at most
    # MAX_RUN_DAYS, a held purchase's days to its start) holds the whole cycle's first values.
    ends = costing._month_ends(start)
    whole = pl.int_range(0, ends[-1] + 1, dtype=pl.Int64, eager=True)
    found = ends.search_sorted(whole, side="right").cast(pl.Int64) - 1
    month = found.clip(upper_bound=len(ends) - 2)
    lo, hi = ends.gather(month), ends.gather(month + 1)
    searched = ((month + (whole - lo) / (hi - lo)) / 12).to_numpy().view("u8")
    table = costing._calendar_years_table(start, ends[-1])
    assert (table.to_numpy().view("u8") == searched).all()
    for last in (0, 31, 365, 36_525):
        if last <= ends[-1]:
            part = costing._calendar_years_table(start, last).to_numpy().view("u8")
            assert len(part) == last + 1 and (part == searched[: last + 1]).all()
    days = pl.DataFrame({"d": [0.0, 1.0, 59.0, 365.0, 366.0, 1826.0]})
    bounded = days.select(costing.calendar_years_of(start, pl.col("d"), 1826))
    assert bounded.equals(days.select(costing.calendar_years_of(start, pl.col("d"))))


@pytest.mark.parametrize("start", [date(2024, 2, 29), date(2025, 1, 31), date(9990, 6, 30)])
def test_months_to_cover_are_the_binary_search_of_the_month_ends(start):
    # The months a run covers, found in whole 400-year cycles, are the month ends' search
    # position of each day: on every day of a cycle and past it, near the calendar's end (fewer
    # month ends), and null where the days are not finite (a guard for any faster lookup).
    from estimator.costing import _CYCLE_DAYS, _CYCLE_MONTHS, _month_ends, _months_to_cover

    days = [*range(0, _CYCLE_DAYS + 2), 3 * _CYCLE_DAYS + 17, 10**9]
    frame = pl.DataFrame({"d": [float(d) for d in days] + [math.inf, math.nan, None]})
    got = frame.select(_months_to_cover(start, pl.col("d")))[:, 0].to_list()
    ends = _month_ends(start)
    whole = pl.Series([int(d) for d in days])  # whole days: ceil(d - 1e-6) is d itself
    cycles = whole // _CYCLE_DAYS
    searched = ends.search_sorted(whole - cycles * _CYCLE_DAYS, side="left").cast(pl.Int64)
    assert got == [*(cycles * _CYCLE_MONTHS + searched).to_list(), None, None, None]


def test_hardware_bought_for_a_short_phase_says_what_its_idle_life_costs(catalog):
    # The README's example bought 1,024 Ascend 910B for a 5.8-day post-train and, with no
    # resale market, charged all 153.6 M CNY: only an info line said "the quote charges the
    # difference". A commitment billed past its work warns (idle-commitment); so does this,
    # with the figure the amortised view charges, which is that view's own hardware line.
    import re

    from estimator import load_scenario, quote
    from tests.conftest import EXAMPLES

    s = load_scenario(EXAMPLES / "split_abroad_home.toml")
    project = quote(s, catalog)
    idle = {f.phase: f.message for f in project.findings if f.code == "idle-hardware"}
    assert set(idle) == {"post-train", "serve-cn"}
    # Every amount says its currency (rev11d #5: "resells it for 11,850,866,471,374").
    # rev12c #2: Ascend resale is an estimate from the new-server price fall (0.53), not 0.
    # rev15a #8: a training phase's purchase is resold when its run ends, and says so.
    said = (
        "resells it for 81,408,000 CNY when the run ends, 5.8 days after it starts: the "
        "72,192,000 CNY lost"
    )
    assert said in idle["post-train"]
    amortised = quote(s.with_changes(accounting="amortised"), catalog)
    # rev11a #4: the amortised view charges the share of life used, and says what it buys.
    bought = {f.phase: f.message for f in amortised.findings if f.code == "idle-hardware"}
    assert set(bought) == set(idle)
    assert "buys 153,600,000 CNY of hardware" in bought["post-train"]
    assert "assuming other work uses the rest of its life" in bought["post-train"]
    for phase, message in idle.items():
        shown = re.search(r"amortised view charges ([\d,]+) CNY", message)
        assert shown, message
        items = amortised.line_items()
        (line,) = [i for i in items if i.phase == phase and i.component == "hardware"]
        assert float(shown.group(1).replace(",", "")) == pytest.approx(float(line.amount), abs=1)
    # Rented phases never get it, nor does hardware the tenant already owns (a fleet).
    assert {f.phase for f in project.findings if f.code == "idle-hardware"} <= {
        p.name for p in project.phases if p.pricing == "owned"
    }
    fleet = quote(load_scenario(EXAMPLES / "stockpile_owner.toml"), catalog)
    assert "fleet" in {p.pricing for p in fleet.phases}
    assert "idle-hardware" not in {f.code for f in fleet.findings}


def _own_for(days: int, catalog, accounting: str = "project"):
    # rev14a #6's repro: one CloudMatrix384 (60 M CNY, hardware.csv life_years 5) bought to
    # serve for `days` from 2026-09-01.
    from estimator import parse_scenario, quote

    site = {"region": "cn-west", "accelerator": "ascend-910c", "pricing": "owned"}
    phase = {"name": "s", "kind": "serve", "days": days, "devices": 384, "data": "public",
             "start": "2026-09-01", "site": site}  # fmt: skip
    model = {"preset": "llama-3.1-70b"}
    s = {"name": "o", "as_of": "2026-06-01", "currency": "CNY", "tenant_hq": "CN",
         "accounting": accounting, "model": model, "phases": [phase]}  # fmt: skip
    return quote(parse_scenario(s), catalog)


@pytest.mark.parametrize(("days", "purchases"), [(1825, 1), (2190, 2), (3650, 2), (7300, 4)])
def test_hardware_held_past_its_life_is_replaced_in_both_views(catalog, days, purchases):
    # rev14a #6: one purchase served 10 or 20 years and still fetched 4% back, while the
    # amortised view charged capex over 5 years for the hours used (two or four lives): the
    # views differed 1.6-2.1x. Now each life ends in a sale and a new purchase.
    q = _own_for(days, catalog)
    items = {i.component: i for i in q.phases[0].line_items}
    assert items["capital"].quantity == purchases
    assert items["capital"].amount == pytest.approx(60e6 * purchases)
    assert ("replaced" in items["capital"].description) == (purchases > 1)
    # The amortised view's capex is that many lives too; the views now differ by the resale.
    amortised = _own_for(days, catalog, "amortised")
    assert amortised.total == q.total_other_view
    (hardware,) = [i for i in amortised.phases[0].line_items if i.component == "hardware"]
    assert float(hardware.amount) == pytest.approx(60e6 * days / 1825, rel=1e-6)
    if purchases > 1:
        assert 0.9 < float(q.total_other_view) / float(q.total) < 1.15
    # Each purchase is paid, and each replaced generation sold, on the day its life ends: the
    # same calendar day 5 years on (rev17a #1b; 365-day years ended them in August); the
    # first on delivery (rev17a #3), on the phase start: ordered just in time, 90 days before it
    # (rev18a #6; ordered on the scenario date, 2026-06-01, it was paid in August).
    capital = {m.month: m.amounts["capital"] for m in q.cash_flow if m.amounts["capital"]}
    assert sum(capital.values()) == items["capital"].amount
    assert list(capital) == [f"{2026 + 5 * g}-09" for g in range(purchases)]
    resale = sum(m.amounts["resale"] for m in q.cash_flow)
    assert resale == pytest.approx(float(items["resale"].amount), abs=0.01)
    # rev19a #7b: the resale line counts every sale (it read 1 server for 2 sales, so
    # quantity x price was one server resold at twice its fraction): a sale per purchase.
    sold = items["resale"]
    assert sold.quantity == purchases and sold.unit == "server"
    sales = [m.amounts["resale"] for m in q.cash_flow if m.amounts["resale"]]
    assert len(sales) == purchases
    assert float(sold.quantity * sold.unit_price) == pytest.approx(float(sold.amount), abs=0.01)
    # The average sale (cents aside).
    assert min(sales) - 0.01 <= sold.unit_price <= max(sales) + 0.01
    said = {f.code: f.message for f in q.findings}
    assert (f"{purchases} purchases over the phase" in said["owned-capex"]) == (purchases > 1)


def test_one_life_or_less_is_one_purchase_as_before(catalog):
    q = _own_for(1825, catalog)
    (resale,) = [i for i in q.phases[0].line_items if i.component == "resale"]
    assert (
        resale.description == "sold at the end of the phase, 5.0 years old: 10% of the price back"
    )


def test_a_training_window_past_the_life_keeps_one_purchase(catalog):
    # rev14c #2: a 327-day run with a 2,500-day deadline bought a second set of servers four
    # years after the run ended (2.11 -> 3.09 M USD). A training run's hardware is not
    # replaced, and is resold when the run ends (rev15a #8: not when the window ends, 6.8
    # years old, which made a looser deadline with the same fleet cost more): 0.94 M USD.
    from estimator import parse_scenario, quote

    site = {"region": "us-east", "accelerator": "h100-sxm", "pricing": "owned"}
    phase = {"name": "pretrain", "tokens": 2e12, "data": "public", "deadline_days": 2500,
             "devices": 64, "start": "2026-09-01", "site": site}  # fmt: skip
    s = {"name": "t", "as_of": "2025-11-27", "currency": "USD", "tenant_hq": "US",
         "model": {"preset": "llama-3.1-70b"}, "phases": [phase]}  # fmt: skip
    q = quote(parse_scenario(s), catalog)
    items = {i.component: i for i in q.phases[0].line_items}
    assert items["capital"].quantity == 8  # eight 8-GPU servers, bought once
    assert "replaced" not in items["capital"].description
    # 0.9 years from the phase start; 1.5 from the delivery the capital was paid on, 2026-02-05
    # (ordered on the scenario date, held 7 months before the phase: rev17b #2). Ordered as late
    # as it arrives in time (rev18a #6): on 2025-12-31, the last day of supply.csv's 70-day lead
    # (from 2026-01-01 its 308 days arrive after the start), delivered 2026-03-11: 1.4 years.
    assert items["resale"].description.startswith("sold at the end of the run, 1.4 years old")
    resold = [m.month for m in q.cash_flow if m.amounts["resale"]]
    assert resold == ["2027-07"]  # 327 days after 2026-09-01


def test_the_amortised_view_of_a_phase_past_its_life_counts_lives(catalog):
    # rev14c #7: it said "charges the 200.0% of their 5-year life ... the rest is assumed used
    # by other work".
    q = _own_for(3650, catalog, "amortised")
    said = {f.code: f.message for f in q.findings}["owned-capex"]
    assert "charges 2.00 lives of capital" in said and "200.0%" not in said


def test_a_fleet_that_is_not_whole_replicas_says_it_was_rounded_up(catalog):
    # rev14c #5: 31 devices of 6-device replicas billed 48 (6 instances of 8, one replica in
    # each) with nothing said about the 31.
    from estimator import parse_scenario, quote

    site = {"region": "us-east", "accelerator": "h100-sxm", "pricing": "on_demand"}
    phase = {"name": "s", "kind": "serve", "users": "us", "data": "public", "days": 30,
             "input_tokens_per_day": 2e9, "output_tokens_per_day": 4e8,
             "replica_devices": 6, "devices": 31, "site": site}  # fmt: skip
    model = {"total_params": 7e10, "layers": 80, "hidden": 8192, "heads": 48, "kv_heads": 12,
             "head_dim": 128}  # fmt: skip
    s = {"name": "r", "as_of": "2025-11-27", "currency": "USD", "tenant_hq": "US",
         "model": model, "phases": [phase]}  # fmt: skip
    (item,) = [i for i in quote(parse_scenario(s), catalog).phases[0].line_items]
    assert item.description.endswith(
        "(31 devices as 6 whole 6-device replicas; 48 devices: 6 instances of 8, one 6-device "
        "replica in each)"
    )


@pytest.mark.parametrize("start", [date(2026, 3, 1), date(2028, 2, 29), date(2025, 1, 31)])
def test_a_life_in_calendar_years_row_by_row_and_on_its_own(start):
    # rev17a #1b: lives and ages are calendar years; the vectorised age is the scalar one.
    days = [0, 1, 27, 365, 366, 1825, 1826, 1827, 3652, 3653, 36524]
    frame = pl.DataFrame({"d": [float(d) for d in days]})
    rows = frame.select(costing.calendar_years_of(start, pl.col("d")))[:, 0].to_list()
    one = [costing.calendar_years(start, start + timedelta(days=d)) for d in days]
    assert rows == pytest.approx(one, rel=1e-12)
    five = costing.years_on(start, 5.0)
    assert costing.calendar_years(start, five) == 5.0
    assert five.month == start.month and five.year == start.year + 5
    assert costing.years_on(date(2026, 3, 1), 5.0) == date(2031, 3, 1)


@pytest.mark.parametrize(("amount", "currency"), [(-0.4, "JPY"), (-0.004, "USD"), (-0.0, "EUR")])
def test_an_amount_rounded_to_nothing_is_a_plain_zero(amount, currency):
    # rev18d #9: cents(-0.4, "JPY") was -0.0 (the + 0.0 came before the rounding), printed "-0".
    import math

    from estimator.costing import cents, per_unit

    assert cents(amount, currency) == 0.0
    assert math.copysign(1.0, cents(amount, currency)) == 1.0
    assert math.copysign(1.0, per_unit(-0.0, currency)) == 1.0
