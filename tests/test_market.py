"""The market: fleets, supply and lead times, the timeline and cash flow, both accounting views,
and joint placement (including its properties against brute force)."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import polars as pl
import pytest

from estimator import load_scenario, parse_scenario, plan, quote
from estimator.cli import app
from estimator.context import prepare
from estimator.errors import InfeasibleError, ScenarioError
from estimator.placement import Candidate, Capacity, Infeasible, Problem, brute_force, solve, total
from estimator.shock import apply_shock
from pricing import load_catalog
from tests.conftest import BUY_H200, EXAMPLES

NO_STOCKPILE = EXAMPLES / "cn_lab_no_stockpile.toml"
STOCKPILE = EXAMPLES / "stockpile_owner.toml"


def _phases(q):
    return {p.name: p for p in q.phases}


def test_a_lab_without_stockpile_pretrains_abroad_and_keeps_personal_data_home(catalog):
    p = plan(NO_STOCKPILE, catalog)
    placed = _phases(p.quote)
    pre = placed["pretrain"]
    assert pre.country != "CN" and pre.pricing not in ("owned", "fleet")
    assert catalog.accelerator(pre.accelerator)["origin"] == "US"
    assert placed["post-train"].country == "CN" and placed["serve-cn"].country == "CN"
    assert placed["serve-foreign"].country != "CN"
    assert not p.quote.blocked
    # The runners-up say why home lost: for each kind, a rejected option in China.
    why = {
        a.verdict.split(":")[1].strip()
        for a in p.phases[0].alternatives
        if a.region.startswith("cn-") and a.verdict.startswith("rejected")
    }
    assert {"capacity", "lead time"} <= why


def test_the_same_lab_with_a_stockpile_trains_on_it(catalog):
    placed = _phases(plan(STOCKPILE, catalog).quote)
    assert placed["pretrain"].pricing == "fleet" and placed["pretrain"].country == "CN"
    fleet_line = {i.component for i in placed["pretrain"].line_items}
    assert fleet_line == {"energy", "operations"}  # capital sunk


def test_buying_h800_in_china_after_the_2023_rule_is_blocked(runner, write):
    text = """
name = "new h800"
as_of = 2025-11-27
currency = "CNY"
[model]
preset = "llama-3.1-8b"
[[phases]]
name = "train"
tokens = 1e11
devices = 64
start = 2026-06-01
site = { region = "cn-east", accelerator = "h800", pricing = "owned" }
"""
    path = str(write("h800.toml", text))
    d = json.loads(runner.invoke(app, ["quote", path, "-f", "json"]).stdout)
    f = next(f for f in d["findings"] if f["code"] == "not-purchasable")
    assert f["severity"] == "block" and "2023-10-23" in f["message"] and "fleet" in f["message"]
    assert runner.invoke(app, ["quote", path, "--strict"]).exit_code == 1
    # Bought for a phase starting before the rule (judged on the phase's start, when it is
    # delivered and paid for), it could be bought.
    early = str(write("early.toml", text.replace("start = 2026-06-01", "start = 2023-07-01")))
    before = runner.invoke(app, ["quote", early, "-f", "json", "--as-of", "2023-06-01"])
    assert "not-purchasable" not in {f["code"] for f in json.loads(before.stdout)["findings"]}
    # For one starting after it, not, even ordered before it (review9e #1).
    late = runner.invoke(app, ["quote", path, "-f", "json", "--as-of", "2023-06-01"])
    assert "not-purchasable" in {f["code"] for f in json.loads(late.stdout)["findings"]}


def test_a_purchase_must_arrive_by_the_phase_start(catalog, write):
    text = """
name = "ascend"
as_of = 2025-11-27
currency = "CNY"
[model]
preset = "llama-3.1-8b"
[[phases]]
name = "train"
tokens = 1e11
devices = 64
site = { region = "cn-west", accelerator = "ascend-910b", pricing = "owned" }
"""
    now = quote(load_scenario(write("now.toml", text)), catalog)
    assert "lead-time" in {f.code for f in now.findings if f.severity == "block"}
    later = quote(
        load_scenario(
            write("later.toml", text.replace("devices = 64", "devices = 64\nstart = 2026-06-01"))
        ),
        catalog,
    )
    assert "lead-time" not in {f.code for f in later.findings}


_ON_A_FLEET = """
name = "on a fleet"
as_of = 2025-11-27
currency = "CNY"
tenant_hq = "CN"
[[fleet]]
name = "stock"
region = "{region}"
accelerator = "{accelerator}"
devices = 64
{acquired}
[model]
preset = "llama-3.1-8b"
[[phases]]
name = "train"
tokens = 1e11
devices = 64
{start}
site = {{ region = "{region}", accelerator = "{accelerator}", pricing = "fleet" }}
"""


def _on_a_fleet(write, acquired=None, start=None, accelerator="h800", region="cn-east"):
    text = _ON_A_FLEET.format(
        region=region,
        accelerator=accelerator,
        acquired=f"acquired = {acquired}" if acquired else "",
        start=f"start = {start}" if start else "",
    )
    return load_scenario(write("fleet.toml", text))


def _blocks(q):
    return {f.code: f.message for f in q.findings if f.severity == "block"}


@pytest.mark.parametrize(
    ("acquired", "blocked"),
    [(None, False), ("2023-06-01", False), ("2023-10-22", False), ("2023-10-23", True),
     ("2024-06-01", True)],
)  # fmt: skip
def test_a_fleet_bought_when_it_could_not_be_bought_is_blocked(catalog, write, acquired, blocked):
    # supply.csv: H800 could be bought in China until 2023-10-23 (review6a #4: a fleet
    # "acquired" in 2024 was used silently). The stockpile case is stock bought before that.
    q = quote(_on_a_fleet(write, acquired), catalog)
    assert ("not-purchasable" in _blocks(q)) == blocked
    if blocked:
        assert _blocks(q)["not-purchasable"].startswith(
            f"the fleet 'stock' (64 x h800) was acquired on {acquired}, when h800 could not be "
            "bought new in CN: H800 cannot be bought new in China since 2023-10-23"
        )
        f = next(f for f in q.findings if f.code == "not-purchasable")
        assert f.source and "2023" in f.source  # the supply row's source
    assert "lead-time" not in _blocks(q)


def test_a_fleet_with_no_hardware_row_is_owned_hardware(catalog, write):
    # rev12e #1: a fleet of an accelerator with no hardware.csv row (a800) was judged as rented
    # capacity ("Renting H800/A800 inside China ... grey-market supply") and lost its fleet
    # findings; it is the tenant's own, as the same fleet of h800 (which has a row) is.
    assert catalog.table("hardware").filter(pl.col("accelerator") == "a800").is_empty()
    codes = {}
    for accelerator in ("a800", "h800"):
        q = quote(_on_a_fleet(write, "2023-06-01", accelerator=accelerator), catalog)
        codes[accelerator] = {(f.severity, f.code) for f in q.findings} - {("block", "unpriced")}
        assert q.phases[0].pricing == "fleet"
    assert codes["a800"] == codes["h800"]
    assert {("info", "fleet-capital"), ("info", "us-export-2023-h800-a800-cn")} <= codes["a800"]
    assert not any(code.endswith("-rented") for _, code in codes["a800"])
    unpriced = quote(_on_a_fleet(write, "2023-06-01", accelerator="a800"), catalog)
    capital = next(f for f in unpriced.findings if f.code == "fleet-capital")
    assert capital.message.startswith("runs on the fleet 'stock' (64 x a800 already owned)")
    # rev12f #2: supply and lead time too. Acquired after the phase starts, and when supply.csv
    # says neither could be bought in China (since 2023-10-23), both fleets are blocked alike.
    late = {}
    for accelerator in ("a800", "h800"):
        q = quote(_on_a_fleet(write, "2026-06-01", accelerator=accelerator), catalog)
        late[accelerator] = _blocks(q)
    assert set(late["a800"]) - {"unpriced"} == set(late["h800"]) == {"lead-time", "not-purchasable"}
    assert late["a800"]["lead-time"] == late["h800"]["lead-time"]
    assert late["a800"]["not-purchasable"].startswith(
        "the fleet 'stock' (64 x a800) was acquired on 2026-06-01, when a800 could not be "
        "bought new in CN: A800 cannot be bought new in China since 2023-10-23"
    )


def test_a_fleet_book_value_keeps_its_currency(catalog, write):
    # rev15a #3: book_value was read in the scenario's currency at quote time, so
    # `with_changes(currency="USD")` or a sweep over currency turned 50 M CNY into 50 M USD
    # (2.1x the cost). It is pinned to the currency the file was read in.
    text = _ON_A_FLEET.format(
        region="cn-east", accelerator="h800", acquired="book_value = 50000000", start=""
    )
    s = load_scenario(write("book.toml", text))
    assert s.fleet[0].book_value_currency == "CNY"
    in_cny = quote(s, catalog)
    as_usd = quote(s, catalog, currency="USD").total
    moved = quote(s.with_changes({}, currency="USD"), catalog)
    assert moved.total.currency == "USD"
    assert moved.total.amount == pytest.approx(as_usd.amount, rel=1e-9)
    assert in_cny.total.amount / as_usd.amount == pytest.approx(
        catalog.rate("CNY", s.as_of).per_usd, rel=1e-4
    )
    said = moved.assumptions["fleet_book_value"]["stock"]
    assert said.startswith("50,000,000 CNY (") and " USD)" in said
    # Given apart, the currency is the one given, whatever the scenario's.
    usd_book = load_scenario(
        write("book_usd.toml", text.replace("book_value = 50000000",
                                            'book_value = 50000000\nbook_value_currency = "USD"'))
    )  # fmt: skip
    assert usd_book.fleet[0].book_value_currency == "USD"
    assert quote(usd_book, catalog).total.amount > 2 * in_cny.total.amount
    with pytest.raises(ScenarioError, match="book_value_currency"):
        s.with_changes({"fleet.stock.book_value_currency": "cny"})
    with pytest.raises(ScenarioError, match="book_value_currency"):
        quote(s.with_changes({"fleet.stock.book_value_currency": "XYZ"}), catalog)
    # rev15c #7: a bad scenario currency is one error, on `currency`, not a second one on the
    # book_value_currency the file never wrote.
    bad = write("bad.toml", text.replace('currency = "CNY"', 'currency = "cny"'))
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert "currency: must be a currency code" in str(err.value)
    assert "more problem" not in str(err.value) and "book_value_currency" not in str(err.value)


def test_a_phase_cannot_start_before_its_fleet_is_acquired(catalog, write):
    # Review6a #4: a fleet acquired on 2026-06-01 pretrained from 2025-11-27, before it existed.
    ascend = {"accelerator": "ascend-910b", "region": "cn-west"}  # no supply rule in the way
    early = quote(_on_a_fleet(write, "2026-06-01", **ascend), catalog)
    assert _blocks(early) == {
        "lead-time": "the fleet 'stock' is acquired on 2026-06-01; the phase starts on "
        "2025-11-27, 186 days before it exists"
    }
    on_the_day = quote(_on_a_fleet(write, "2026-06-01", "2026-06-01", **ascend), catalog)
    assert not _blocks(on_the_day)
    # The planner never places a phase on a fleet it does not have yet.
    data = _lab(fleet=10_000)
    data["fleet"][0]["acquired"] = "2026-06-01"
    placed = _phases(plan(parse_scenario(data), catalog).quote)
    assert placed["pretrain"].pricing != "fleet"
    owned = _phases(plan(parse_scenario(_lab(fleet=10_000)), catalog).quote)
    assert owned["pretrain"].pricing == "fleet"


def test_timeline_and_cash_flow_add_up(catalog):
    q = quote(EXAMPLES / "split_abroad_home.toml", catalog)
    placed = _phases(q)
    assert placed["pretrain"].start == q.as_of
    assert placed["post-train"].start == placed["pretrain"].end  # after the training before it
    assert placed["serve-cn"].start == placed["post-train"].end
    assert sum(m.total for m in q.cash_flow) == pytest.approx(q.total, rel=1e-9)
    capital = next(m for m in q.cash_flow if m.amounts["capital"])
    # Paid on delivery (rev17a #3): ordered just in time, the lead time before the phase starts
    # (rev18a #6: not on the quote date, to wait a month paid for and ageing), delivered then.
    delivered = placed["post-train"].start
    assert delivered - timedelta(days=catalog.default("purchase_lead_time_days")) > q.as_of
    assert capital.month == delivered.strftime("%Y-%m")
    # Ascend is bought here; with no observed used market its resale is an estimate from the
    # fall in the new-server price (resale.csv, rev12c #2), credited when the phase ends.
    resale = [m for m in q.cash_flow if m.amounts["resale"]]
    assert resale and all(m.amounts["resale"] < 0 for m in resale)


def test_the_cash_flow_kinds_are_listed_once():
    # rev12e #9: MonthView's fields and the chart's bars each copied timeline's kinds: a new
    # kind would fail MonthView(**parts) and be left out of the chart without a word.
    from estimator.report import charts
    from estimator.report.view import MonthView
    from estimator.timeline import KINDS

    assert tuple(MonthView.model_fields) == ("month", *KINDS, "total")
    assert charts.KINDS is KINDS


def test_the_chart_command_lists_the_kinds_chart_draws():
    # rev12e #11: cli/cmd_chart.py lists the kinds (it does not import the charts at start-up);
    # they are the kinds `charts.chart` dispatches on, with "compare" (a comparison's).
    from estimator.cli import cmd_chart
    from estimator.report import charts

    assert (*charts.QUOTE_CHARTS, *charts.PLAN_CHARTS, "compare") == cmd_chart.KINDS


def test_both_accounting_views_on_every_quote(catalog):
    s = load_scenario(EXAMPLES / "split_abroad_home.toml")
    project = quote(s, catalog)
    data = s.model_dump(by_alias=True, exclude_none=True)
    amortised = quote(parse_scenario({**data, "accounting": "amortised"}), catalog)
    assert project.total == pytest.approx(amortised.total_other_view)
    assert amortised.total == pytest.approx(project.total_other_view)
    pre_p, pre_a = _phases(project)["pretrain"], _phases(amortised)["pretrain"]
    # A one-year reservation for ~120 days: the project view bills the year, amortised the days.
    assert pre_p.cost == pytest.approx(pre_a.cost * 365 / pre_a.wall_clock_days, rel=1e-6)


@pytest.mark.parametrize("fmt", ["json", "table", "markdown", "csv"])
def test_quote_and_plan_show_timeline_and_cash_flow_in_every_format(runner, fmt):
    for command in ("quote", "plan"):
        table = ["--table", "cash-flow"] if fmt == "csv" else []
        out = runner.invoke(
            app, [command, str(EXAMPLES / "deepseek_domestic.toml"), "-f", fmt, *table]
        ).stdout
        if fmt == "json":
            d = json.loads(out)
            d = d.get("quote", d)
            assert d["cash_flow"] and all("start" in p and "end" in p for p in d["phases"])
        elif fmt == "csv":
            assert out.startswith("month,rent,capital,resale,energy,operations,transfer,total")
        elif fmt != "csv":
            assert "Cash flow by month" in out and "2026-03-01" in out


def _lab(fleet: int | None = None, deadline: float = 120) -> dict:
    data = load_scenario(STOCKPILE if fleet else NO_STOCKPILE).model_dump(
        by_alias=True, exclude_none=True
    )
    data["phases"] = [p for p in data["phases"] if p["name"] != "serve-foreign"]
    data["transfers"] = [t for t in data["transfers"] if t["to"] != "serve-foreign"]
    data["phases"][0]["deadline_days"] = deadline
    if fleet:
        data["fleet"][0]["devices"] = fleet
    return data


def test_a_reimposed_offshore_rule_moves_pretraining_or_ends_it_first_never_lowering_the_total(
    tmp_path,
):
    from tests.test_plan import _no_ascend_resale

    # On the plan this was written for (bought Ascend credited no resale): with rev12c #2's
    # resale estimate the re-plan buys 910C arriving 90 days after the order, cheaper than
    # the base plan, which starts on the order date and could not wait for them.
    catalog = _no_ascend_resale(tmp_path)
    c = prepare(parse_scenario(_lab()), catalog)
    result = apply_shock(c, ["remote-access-ends=2026-03-01"])  # US cloud included
    moved = {r.phase for r in result.replanned}
    assert "pretrain" in moved
    pretrain = _phases(result.shocked.quote)["pretrain"]  # home, or done before the rule
    assert pretrain.country == "CN" or pretrain.end <= date(2026, 3, 1)
    assert result.extra_cost >= 0  # every phase was placed by the planner: a new block costs
    assert all(r.rule_cost >= -0.01 for r in result.replanned)


@pytest.mark.parametrize("small, big", [(2_000, 4_000), (3_000, 10_000)])
def test_a_bigger_fleet_never_raises_the_optimum(catalog, small, big):
    a = plan(parse_scenario(_lab(fleet=small)), catalog).quote.total
    b = plan(parse_scenario(_lab(fleet=big)), catalog).quote.total
    assert b <= a + 0.01


def _twins(fleet: int) -> dict:
    """Two identical trainings at the same time, each able to use a fleet in cn-east."""
    phase = {
        "tokens": 3e11,
        "deadline_days": 20,
        "start": "2025-11-27",
        "data": "personal",
        "site": {"regions": ["cn-east"]},
    }
    return {
        "name": "twins",
        "as_of": "2025-11-27",
        "currency": "CNY",
        "model": {"preset": "llama-3.1-8b"},
        "fleet": [{"name": "f", "region": "cn-east", "accelerator": "h800", "devices": fleet}],
        "phases": [{"name": "a", **phase}, {"name": "b", **phase}],
    }


def test_no_fleet_is_over_used_at_any_time(catalog):
    alone = plan(parse_scenario(_twins(100_000)), catalog).quote
    need = alone.phases[0].devices
    assert {p.pricing for p in alone.phases} == {"fleet"}  # room for both
    p = plan(parse_scenario(_twins(int(need * 1.5))), catalog).quote
    on_fleet = [x for x in p.phases if x.pricing == "fleet"]
    assert len(on_fleet) == 1  # the other one rents: both would over-use it
    assert p.total > alone.total


def test_more_purchase_supply_never_raises_the_optimum(catalog):
    import polars as pl

    from pricing import load_catalog  # noqa: F401  (the session catalog is shared)

    data = _lab()
    data["phases"][0]["site"] = {"regions": ["cn-west"], "accelerators": ["ascend-910c"]}
    data["phases"][0]["start"] = "2026-06-01"
    s = parse_scenario(data)
    base = plan(s, catalog).quote.total
    limited = catalog.with_table(
        "supply",
        lambda df: df.with_columns(
            pl.when(pl.col("accelerator") == "ascend-910c")
            .then(pl.lit(1000, pl.Int64))
            .otherwise(pl.col("max_devices_per_buyer"))
            .alias("max_devices_per_buyer"),
            pl.when(pl.col("accelerator") == "ascend-910c")
            .then(pl.lit(365, pl.Int64))
            .otherwise(pl.col("per_days"))
            .alias("per_days"),
        ),
    )
    with pytest.raises(InfeasibleError):
        plan(s, limited)  # 2,600 910C cannot come from a supply of 1,000 a year
    assert base > 0


def _random_problem(rng: random.Random) -> Problem:
    regions = ["a", "b", "c"]
    n = rng.randint(1, 4)
    cands, wins = [], []
    for _ in range(n):
        phase = []
        for _ in range(rng.randint(1, 4)):
            uses = ((("fleet", "f"), rng.choice([4.0, 8.0, 12.0])),) if rng.random() < 0.5 else ()
            phase.append(
                Candidate(rng.uniform(1, 100), rng.uniform(1, 10), rng.choice(regions), uses)
            )
        cands.append(phase)
        start = date(2025, 1, 1) + timedelta(days=rng.randint(0, 20))
        wins.append((start, start + timedelta(days=rng.randint(1, 20))))
    moves = (
        [(0, 1, {(x, y): rng.uniform(0, 50) for x in regions for y in regions})] if n > 1 else []
    )
    return Problem(cands, wins, moves, {("fleet", "f"): Capacity(12.0)}, frozenset(range(n)))


@pytest.mark.parametrize("seed", range(40))
def test_the_solver_equals_brute_force_on_small_problems(seed):
    prob = _random_problem(random.Random(seed))
    for objective in ("cost", "time"):
        try:
            expected = brute_force(prob, objective)
        except Infeasible:
            with pytest.raises(Infeasible):
                solve(prob, objective)
            continue
        got = solve(prob, objective)
        assert total(prob, got) == pytest.approx(total(prob, expected), abs=1e-6)
        if objective == "time":
            days = [
                sum(prob.candidates[i][k].days for i, k in enumerate(c)) for c in (got, expected)
            ]
            assert days[0] == pytest.approx(days[1], abs=1e-6)


def test_joint_placement_weighs_transfers(catalog):
    """Alone, the second training is cheapest in us-east; with a huge dataset to move from the
    first (fixed in sg), the joint plan keeps it in sg, and its runner-up says why."""

    def scenario(gigabytes: float) -> dict:
        train = {"tokens": 1e11, "devices": 64, "data": "public"}
        return {
            "name": "move",
            "as_of": "2025-11-27",
            "tenant_hq": "US",
            "model": {"preset": "llama-3.1-8b"},
            "phases": [
                {
                    "name": "a",
                    **train,
                    "site": {"region": "sg", "accelerator": "h100-sxm", "pricing": "on_demand"},
                },
                {
                    "name": "b",
                    **train,
                    "site": {"regions": ["sg", "us-east"], "accelerators": ["h100-sxm"]},
                },
            ],
            "transfers": [{"from": "a", "to": "b", "what": "dataset", "gigabytes": gigabytes}],
        }

    light = plan(parse_scenario(scenario(1.0)), catalog)
    assert _phases(light.quote)["b"].region == "us-east"
    heavy = plan(parse_scenario(scenario(1e8)), catalog)
    assert _phases(heavy.quote)["b"].region == "sg"
    runner_up = next(a for a in heavy.phases[0].alternatives if a.region == "us-east")
    assert "cheaper on its own, but the whole plan costs" in runner_up.verdict


def test_the_monthly_cash_flow_adds_up_to_the_total_to_the_cent():
    # Months rounded one by one drifted from the total: 0.12 USD on all_abroad (review6a nit 15).
    import glob

    from estimator import quote
    from estimator.report.view import quote_view

    for path in sorted(glob.glob(str(EXAMPLES / "*.toml"))):
        q = quote(path)
        v = quote_view(q)
        total = v.total if q.accounting == "project" else v.total_other_view
        assert round(sum(m.total for m in v.cash_flow), 2) == total, path


def test_a_small_payment_spread_over_months_keeps_each_part_within_a_cent_of_its_share():
    # The last month took what cent-rounded months left: 0.07 over 13 months ended on -0.05
    # (review6c #2).
    from estimator.timeline import Payment, _shares, monthly

    pay = Payment(kind="rent", amount=0.07, start=date(2025, 1, 15), end=date(2026, 1, 20))
    months = monthly([pay], "USD")
    shares = dict(_shares(pay.start, pay.end))
    assert len(months) == 13
    assert round(sum(m.amounts["rent"] for m in months), 2) == 0.07
    for m in months:
        assert m.amounts["rent"] >= 0
        assert abs(m.amounts["rent"] - 0.07 * shares[m.month]) < 0.01 + 1e-12


def test_a_phase_starting_before_the_quote_date_says_so(runner):
    # "the phase starts -457 days after 2027-06-01" (review7a nit 11).
    from estimator.cli import app
    from tests.conftest import EXAMPLES

    path = str(EXAMPLES / "deepseek_domestic.toml")
    out = runner.invoke(app, ["quote", path, "--as-of", "2027-06-01", "--format", "json"])
    lead = [f["message"] for f in json.loads(out.stdout)["findings"] if f["code"] == "lead-time"]
    assert lead and "457 days before the quote date 2027-06-01" in lead[0]
    assert not any("-457" in m for m in lead)


def test_a_fleet_is_costed_on_its_own_countrys_hardware():
    # review8a #3: from 2025-02-21 (a US reseller's H800 listing) the cn-east H800 fleet's
    # operations were costed on that US price, 30% up overnight; a purchase there uses the
    # China row, and so does a fleet.
    from estimator import load_scenario, quote
    from tests.conftest import EXAMPLES

    s = load_scenario(EXAMPLES / "deepseek_domestic.toml")

    def operations(day: str) -> float:
        q = quote(s, as_of=day)
        p = next(p for p in q.phases if p.name == "pretrain")
        return next(i.amount for i in p.line_items if i.component == "operations")

    assert operations("2025-02-21") == operations("2025-02-20")


def test_a_demand_sized_purchase_beyond_a_years_output_is_refused():
    # review8b #4: a large demand bought 2.9 billion Ascend 910C with no finding; one buyer
    # gets at most the whole year's output (supply.csv, an upper bound, not an allocation).
    from estimator import load_scenario, quote
    from tests.conftest import EXAMPLES

    s = load_scenario(EXAMPLES / "split_abroad_home.toml")
    big = {
        "phases.serve-cn.input_tokens_per_day": 1e17,
        "phases.serve-cn.output_tokens_per_day": 1e17,
    }
    q = quote(s.with_changes(big))
    assert "supply-limit" in {
        f.code for f in q.findings if f.phase == "serve-cn" and f.severity == "block"
    }
    assert "supply-limit" not in {f.code for f in quote(s).findings}


def test_a_china_h100_fleet_keeps_its_countrys_row_over_an_unscoped_one():
    # review8c #3: the "*" row of an H100 server described "outside China" (2025-01-31) is newer
    # than the China row, and displaced it for a cn-east fleet overnight (operations -19.5%).
    from estimator import parse_scenario, quote

    data = {
        "name": "h100 fleet", "as_of": "2025-01-30", "currency": "CNY", "tenant_hq": "CN",
        "fleet": [{"name": "f", "region": "cn-east", "accelerator": "h100-sxm",
                   "devices": 1024, "acquired": "2022-06-01"}],
        "model": {"preset": "llama-3.1-70b"},
        "phases": [{"name": "t", "kind": "train", "tokens": 2e12, "devices": 1024,
                    "site": {"region": "cn-east", "accelerator": "h100-sxm", "pricing": "fleet"}}],
    }  # fmt: skip
    s = parse_scenario(data)

    def operations(day: str) -> float:
        (p,) = quote(s, as_of=day).phases
        return next(i.amount for i in p.line_items if i.component == "operations")

    assert operations("2025-01-31") == operations("2025-01-30")


def test_a_supply_row_for_the_tenants_own_headquarters_beats_the_china_row(catalog, tmp_path):
    # review9d #2: a user's HK row tied with the built-in CN row (HK tenants are judged with CN)
    # and lost whenever the CN row was newer.
    d = _supply_override(
        tmp_path,
        'b200,*,HK,2020-01-01,,yes,365,,,"Our HK entity holds a US licence for B200.",estimate,,'
        "user,2025-11-27",
    )
    text = (EXAMPLES / "gulf_option.toml").read_text(encoding="utf-8")
    text = text.replace("deadline_days = 90", "deadline_days = 90\nstart = 2026-12-01")
    path = tmp_path / "hk.toml"
    path.write_text(text.replace('tenant_hq = "CN"', 'tenant_hq = "HK"'), encoding="utf-8")
    (placed,) = plan(path, load_catalog(str(d))).quote.phases
    assert placed.pricing == "owned" and placed.accelerator == "b200"
    (cn,) = plan(path, catalog).quote.phases
    assert cn.pricing != "owned"


def test_a_purchase_is_judged_against_supply_on_its_phases_start(tmp_path):
    # review9e #1: a supply row forbidding H200 in China from 2027 let a 2028 phase buy them
    # (judged on the plan's date, 2026), while the rules and the cash flow put the purchase
    # at the phase's start.
    d = _supply_override(
        tmp_path,
        'h200,CN,CN,2027-01-01,,no,,,,"H200 cannot be bought in China from 2027.",estimate,,'
        "user,2026-03-01",
    )
    catalog = load_catalog(str(d))

    def codes(start: str) -> set[str]:
        path = tmp_path / f"{start}.toml"
        text = BUY_H200.replace("start = 2026-07-01", f"start = {start}")
        path.write_text(text, encoding="utf-8")
        return {f.code for f in quote(load_scenario(path), catalog).findings}

    assert "not-purchasable" in codes("2028-01-01")
    assert "not-purchasable" not in codes("2026-07-01")


def _supply_override(tmp_path, row: str):
    """A --catalog directory whose supply.csv holds `row` alone."""
    d = tmp_path / "cat"
    d.mkdir()
    (d / "supply.csv").write_text(
        "accelerator,country,tenant_hq,effective_from,effective_to,purchasable,lead_time_days,"
        f"max_devices_per_buyer,per_days,message,basis,note,source,as_of\n{row}\n",
        encoding="utf-8",
    )
    return d


RESALE_TIMING = """
name = "resale timing"
as_of = 2025-11-27
currency = "USD"
tenant_hq = "SG"

[model]
preset = "llama-3.1-70b"

[[phases]]
name = "finetune"
workload = "finetune"
tokens = 5e10
devices = 256
start = 2026-03-01
site = { region = "sg", accelerator = "h200", pricing = "owned" }

[[phases]]
name = "serve"
kind = "serve"
users = "sea"
days = SERVE_DAYS
input_tokens_per_day = 5e9
output_tokens_per_day = 1e9
tpot_ms = 40
precision = "fp8"
site = { region = "sg", accelerator = "h100-sxm", pricing = "on_demand" }
"""


def test_hardware_bought_for_a_phase_is_resold_when_the_phase_ends(catalog):
    # review10a #4: a 2-day fine-tune's 256 bought H200 were resold when the whole plan ended,
    # so its cost was 3.5, 7.0 or 9.5 M USD as an unrelated serving phase after it ran 90
    # days, 3 or 6 years (operations charged only for the hours used).
    import tomllib

    from estimator import parse_scenario, quote

    costs = []
    for days in (90, 1095, 2190):
        text = RESALE_TIMING.replace("SERVE_DAYS", str(days))
        q = quote(parse_scenario(tomllib.loads(text)), catalog)
        tune = q.phases[0]
        resale = next(i for i in tune.line_items if i.component == "resale")
        assert "sold at the end of the run" in resale.description
        costs.append(tune.cost)
    assert costs[0] == costs[1] == costs[2]


def test_a_looser_deadline_with_the_same_bought_fleet_costs_the_same(catalog):
    # rev15a #8: 448 H100 bought for a 354.1-day run were resold when the deadline's window
    # ended, so 366 days cost 7,832 USD more than 365 for the same fleet and run. Nothing can
    # reuse a phase's purchase (review10a #5): it is resold when the run ends, and says so.
    from estimator import parse_scenario, quote

    site = {"region": "us-east", "accelerator": "h100-sxm", "pricing": "owned"}
    seen = {}
    for deadline in (365, 366, 400):
        phase = {"name": "pt", "tokens": 15e12, "data": "public", "deadline_days": deadline,
                 "start": "2027-10-01", "site": site}  # fmt: skip
        q = quote(parse_scenario({"name": "t", "as_of": "2026-06-01", "currency": "USD",
                                  "tenant_hq": "US", "model": {"preset": "llama-3.1-70b"},
                                  "phases": [phase]}), catalog)  # fmt: skip
        (p,) = q.phases
        resold = [m.month for m in q.cash_flow if m.amounts["resale"]]
        seen[deadline] = (p.devices, q.total, resold)
        idle = next(f.message for f in q.findings if f.code == "idle-hardware")
        assert f"when the run ends, {p.wall_clock_days:,.1f} days after it starts (of the " in idle
    # 6,687,648.21 USD for a 354.1-day run until phys17b's refit (H100 dense 0.59 -> 0.587,
    # dp_comm_exposed 0.065 -> 0.077): the same 448 devices now take 356.0 days. 6,694,226.80
    # USD until rev17b #2: ordered on the scenario date (2026-06-01), delivered 2027-04-05
    # (supply.csv's 308-day lead), held 6 months, the servers were resold 1.5 years old (from
    # delivery), 8,004,443.40 USD. Since rev18a #6 they are ordered just in time (308 days
    # before the start) and delivered on it: resold 1.0 years old again.
    assert seen[365] == seen[366] == (448, 6_694_226.80, ["2028-09"])
    assert seen[400][1] <= seen[366][1]


def test_when_a_purchase_is_resold_is_decided_once(catalog, monkeypatch):
    # rev15c #8: "a training purchase is resold when its run ends" was decided in four places
    # (the age, the finding, the line item, the cash flow's month), by four tests. One column
    # decides it: turned off, every one of them says the phase's end.
    from estimator import evaluate, parse_scenario, quote

    # The cash flow is monthly, so the run must end in an earlier month than the deadline's
    # window for its resale month to tell them apart. At 400 days it did by 4 days (the run
    # ended 2028-10-31, the window 2028-11-04) until phys17b's refit moved the run's end to
    # 2028-11-02; at 428 days the run ends 2028-11-18 and the window 2028-12-02.
    site = {"region": "us-east", "accelerator": "h100-sxm", "pricing": "owned"}
    phase = {"name": "pt", "tokens": 15e12, "data": "public", "deadline_days": 428,
             "start": "2027-10-01", "site": site}  # fmt: skip
    s = parse_scenario({"name": "t", "as_of": "2026-06-01", "currency": "USD", "tenant_hq": "US",
                        "model": {"preset": "llama-3.1-70b"}, "phases": [phase]})  # fmt: skip
    (run,) = quote(s, catalog).phases
    run_end = run.start + timedelta(days=run.wall_clock_days)
    assert (run_end.year, run_end.month) != (run.end.year, run.end.month), "no month between"

    def said(q):
        resale = next(i for i in q.phases[0].line_items if i.component == "resale")
        idle = next(f.message for f in q.findings if f.code == "idle-hardware")
        months = [m.month for m in q.cash_flow if m.amounts["resale"]]
        return resale.description, idle, months

    at_run = said(quote(s, catalog))
    assert "sold at the end of the run" in at_run[0] and "when the run ends" in at_run[1]
    monkeypatch.setattr(evaluate, "_resold_at_run_end", lambda phase: pl.lit(False))
    at_window = said(quote(s, catalog))
    assert "sold at the end of the phase" in at_window[0]
    assert "when the phase ends" in at_window[1]
    assert at_window[2] != at_run[2]


H200_CN = """
name = "H200 in China before approvals"
as_of = 2025-11-27
currency = "CNY"
tenant_hq = "CN"

[model]
preset = "qwen3-235b-a22b"

[[phases]]
name = "serve-cn"
kind = "serve"
users = "cn"
data = "personal"
days = 365
input_tokens_per_day = 4e10
output_tokens_per_day = 8e9
tpot_ms = 50
precision = "int8"
start = START
site = { region = "cn-west", accelerator = "h200", pricing = "owned" }
"""


def test_a_purchase_is_ordered_when_the_part_can_first_be_bought(catalog):
    # rev12d #1: judged only on the phase start, H200 were bought in China on 2025-11-27, two
    # months before any could be (supply.csv: from 2026-01-28), for a phase from 2026-03-01.
    def blocks(start: str) -> dict[str, str]:
        return _blocks(quote(parse_scenario_text(H200_CN.replace("START", start)), catalog))

    march = blocks("2026-03-01")
    assert march["lead-time"].startswith(
        "bought h200 is ordered on 2026-01-28, the first day it can be bought in CN "
        "(on 2025-11-27 it could not), and arrives about 90 days after the order; the phase "
        "starts 32 days after the order (2026-01-28), on 2026-03-01"
    )
    assert "not-purchasable" not in march
    # Ordered on 2026-01-28, it is there by 2026-04-28.
    assert blocks("2026-04-28") == {}
    # A phase starting before the first day it can be ordered cannot have it at all.
    early = blocks("2026-01-15")
    assert early["not-purchasable"].startswith(
        "ordered 2025-11-27, when h200 could not be bought new in CN (until 2026-01-28, after "
        "the phase starts on 2026-01-15)"
    )


def test_the_planner_does_not_buy_h200_in_china_before_they_can_be_ordered(catalog):
    # rev12d #1: serve-cn's runner-up was "h200 cn-west owned, costs 538,862 more" for a phase
    # from 2026-04-26, before H200 ordered on 2026-01-28 could arrive (2026-04-28).
    p = plan(NO_STOCKPILE, catalog)
    (serve,) = [ph for ph in p.phases if ph.phase == "serve-cn"]
    h200 = [a for a in serve.alternatives if a.accelerator == "h200" and a.pricing == "owned"]
    assert h200 and all(a.verdict.startswith("rejected: lead time") for a in h200)
    # The quote of that placement as a fixed site says the same.
    fixed = H200_CN.replace("START", "2026-04-26")
    assert "lead-time" in _blocks(quote(parse_scenario_text(fixed), catalog))


def _found(q, code: str) -> list[str]:
    return [f.message for f in q.findings if f.code == code]


def test_a_purchase_resting_on_a_supply_row_announced_later_says_so(catalog):
    # rev14b #5: a quote of 2025-11-27 ordered H200 in China on 2026-01-28, the day Beijing's
    # first approvals were reported (supply.csv), allowed with no word that nobody knew it then.
    late = quote(parse_scenario_text(H200_CN.replace("START", "2026-06-01")), catalog)
    assert _blocks(late) == {}  # the verdict applies what the catalog knows, as for policies
    (warn,) = [f for f in late.findings if f.code == "supply-announced-later"]
    assert warn.severity == "warn"
    assert warn.message.startswith(
        "buying h200 in CN rests on supply.csv's row from 2026-01-28, which lets it be ordered "
        "there from 2026-01-28: H200 can be bought in China only by firms Beijing approves"
    )
    assert warn.message.endswith(" (announced 2026-01-28, after 2025-11-27)")
    assert warn.source and "businesstimes" in warn.source
    # Dated after the approval, the same purchase rests on nothing unknown.
    after = H200_CN.replace("as_of = 2025-11-27", "as_of = 2026-02-01").replace(
        "START", "2026-06-01"
    )
    assert _found(quote(parse_scenario_text(after), catalog), "supply-announced-later") == []


H100_US = """
name = "H100 bought in the US"
as_of = 2026-01-15
currency = "USD"
tenant_hq = "US"
[model]
preset = "llama-3.3-70b"
[[phases]]
name = "serve"
kind = "serve"
data = "public"
days = 365
start = START
input_tokens_per_day = 1e9
output_tokens_per_day = 2e8
tpot_ms = 50
precision = "fp8"
site = { region = "us-east", accelerator = "h100-sxm", pricing = "owned" }
"""


def test_a_lead_time_published_after_the_quote_date_says_so(catalog):
    # rev14b #5: supply.csv's 308-day H100 lead time of 2026 rests on a post the catalog can show
    # public on 2026-03-31 (`announced`); a quote of 2026-01-15 applied it with no word.
    allowed = quote(parse_scenario_text(H100_US.replace("START", "2027-01-01")), catalog)
    assert _found(allowed, "supply-announced-later") == [
        "buying h100-sxm in US rests on supply.csv's row from 2026-01-01, which sets its lead "
        "time to 308 days: In 2026 resellers again quoted 36-52 week lead times for H100 SXM "
        "nodes, per one GPU-rental vendor's undated blog (low confidence). (announced "
        "2026-03-31, after 2026-01-15)"
    ]
    # The lead time blocks an earlier start: the block says it, once (no warning beside it).
    blocked = quote(parse_scenario_text(H100_US.replace("START", "2026-06-01")), catalog)
    assert _blocks(blocked)["lead-time"].endswith(
        "start it later or use hardware already owned (announced 2026-03-31, after 2026-01-15)"
    )
    assert _found(blocked, "supply-announced-later") == []
    # A row on the record by the quote's date (effective_from 2026-01-01, no `announced` in
    # 2024) says nothing: the 70-day lead time of spring 2024 was published then.
    known = H100_US.replace("as_of = 2026-01-15", "as_of = 2024-06-01").replace(
        "START", "2025-01-01"
    )
    assert _found(quote(parse_scenario_text(known), catalog), "supply-announced-later") == []


def test_a_plans_runner_ups_and_their_quotes_agree_on_a_supply_row_announced_later(catalog):
    # rev14b #5: the planner's table and a quote of the same placement read one condition
    # (`checks.SUPPLY_ANNOUNCED_LATER`) and one message. cn_lab_no_stockpile dated 2025-11-27
    # with pretraining from 2026-03-01: H200 bought in China to serve from mid-2026 are allowed,
    # on the approval of
    # 2026-01-28, and the pretraining's, for 2026-03-01, are rejected on their lead time.
    data = load_scenario(NO_STOCKPILE).model_dump(by_alias=True, exclude_none=True)
    data["phases"][0]["start"] = date(2026, 3, 1)
    p = plan(parse_scenario(data), catalog)
    note = (
        "buying h200 in CN rests on supply.csv's row from 2026-01-28 "
        "(announced 2026-01-28, after 2025-11-27)"
    )
    by_phase = {ph.phase: ph for ph in p.phases}
    pre = [a for a in by_phase["pretrain"].alternatives if a.accelerator == "h200"]
    assert pre and all(a.verdict.startswith("rejected: lead time") for a in pre)
    lead = quote(parse_scenario_text(H200_CN.replace("START", "2026-03-01")), catalog)
    assert _blocks(lead)["lead-time"].endswith("(announced 2026-01-28, after 2025-11-27)")
    assert all(a.verdict.endswith("(announced 2026-01-28, after 2025-11-27)") for a in pre)
    serve = [
        a
        for a in by_phase["serve-cn"].alternatives
        if a.accelerator == "h200" and a.pricing == "owned" and a.verdict != "chosen"
    ]
    assert serve and all(a.verdict.endswith(f"; {note}") for a in serve), serve
    # The quote of the first of them as a fixed site warns of the same row.
    (warn,) = _found(quote(parse_scenario_text(H200_CN.replace("START", "2026-06-01")), catalog),
                     "supply-announced-later")  # fmt: skip
    assert warn.startswith(note.split(" (announced")[0])
    assert warn.endswith(note[note.index(" (announced") :])


def test_a_purchase_ordered_before_a_ban_and_delivered_after_it_says_so(catalog):
    # rev12d #1: "h800 cannot be bought new in CN on 2023-09-01" named a day it could be.
    text = """
name = "H800 bought Sept 2023"
as_of = 2023-09-01
currency = "CNY"
tenant_hq = "CN"
[model]
preset = "llama-2-70b"
[[phases]]
name = "pretrain"
tokens = 2e12
data = "public"
devices = 1024
start = 2023-12-01
site = { region = "cn-east", accelerator = "h800", pricing = "owned" }
"""
    why = _blocks(quote(parse_scenario_text(text), catalog))["not-purchasable"]
    # Ordered just in time (rev18a #6): 90 days (defaults.csv) before the start, 2023-09-02,
    # delivered on the start (rev19a #7e: the day the quote delivers it, not "for the start").
    assert why.startswith(
        "h800 ordered in CN on 2023-09-02 is delivered on 2023-12-01, after the 2023-10-23 ban: "
    )
    assert "on 2023-09-01:" not in why
    # rev14b #5: the ban was announced on 2023-10-17 (supply.csv `announced`), after the
    # quote's date: a block known only later says so, as a rule's finding does.
    assert why.endswith(" (announced 2023-10-17, after 2023-09-01)")
    # Dated after the announcement (the ban's effective date still ahead), it was known.
    known = text.replace("as_of = 2023-09-01", "as_of = 2023-10-20")
    assert (
        "(announced" not in _blocks(quote(parse_scenario_text(known), catalog))["not-purchasable"]
    )


H20_HELD = """
name = "h20 owned"
as_of = 2024-12-01
currency = "CNY"
tenant_hq = "CN"
[model]
preset = "qwen3-235b-a22b"
[[phases]]
name = "serve-cn"
kind = "serve"
data = "personal"
days = 365
start = 2025-09-01
input_tokens_per_day = 4e10
output_tokens_per_day = 8e9
tpot_ms = 50
precision = "int8"
site = { region = "cn-east", accelerator = "h20", pricing = "owned" }
"""


def test_the_supply_block_and_the_capital_give_one_delivery_day(catalog):
    # rev19a #7e: the block said the H20 ordered on 2025-04-08 "is delivered for the phase's
    # start (2025-09-01)", `owned-capex` that it arrives on 2025-07-07 (the day the cash flow
    # pays it): both now give the delivery the quote uses.
    import re

    q = quote(parse_scenario_text(H20_HELD), catalog)
    why = _blocks(q)["not-purchasable"]
    (capex,) = _found(q, "owned-capex")
    arrives = re.search(r"arrive about [\d,]+ days later, on (\d{4}-\d\d-\d\d)", capex).group(1)
    ordered = re.search(r"ordered on (\d{4}-\d\d-\d\d)", capex).group(1)
    assert why.startswith(f"h20 ordered in CN on {ordered} is delivered on {arrives}, after the ")
    assert "for the phase's start" not in why
    paid = {m.month for m in q.cash_flow if m.amounts.get("capital")}
    assert arrives[:7] in paid


def parse_scenario_text(text: str):
    import tomllib

    return parse_scenario(tomllib.loads(text))


@pytest.mark.parametrize(
    ("accelerator", "as_of", "devices", "cap"),
    [("ascend-910c", "2025-06-01", 500_000, "300,000 in 245 days"),
     ("h20", "2024-06-15", 2_000_000, "1,000,000 in 275 days")],
)  # fmt: skip
def test_one_buyer_gets_at_most_the_markets_output(accelerator, as_of, devices, cap):
    # rev12d #2: 500,000 Ascend 910C within five months of launch (capped at 2026's planned
    # output) and 2,000,000 H20 in 2024 (no cap) were bought with no finding.
    data = {
        "name": "big purchase", "as_of": as_of, "currency": "CNY", "tenant_hq": "CN",
        "model": {"preset": "llama-3.1-405b"},
        "phases": [{"name": "pretrain", "tokens": 15e12, "data": "public", "devices": devices,
                    "start": "2025-10-01" if accelerator == "ascend-910c" else "2024-10-01",
                    "site": {"region": "cn-east", "accelerator": accelerator,
                             "pricing": "owned"}}],
    }  # fmt: skip
    blocks = _blocks(quote(parse_scenario(data), load_catalog()))
    assert f"one buyer can get about {cap}" in blocks["supply-limit"]
    # rev14b #5: the 910C's 2025 output figure was reported on 2025-09-29 (supply.csv
    # `announced`): a cap a quote of 2025-06-01 could not have known says so; the H20's row
    # gives no publication date, so it is taken as known from its effective_from.
    # rev18a #3: both caps end on their row's effective_to (the 910C's 2026 split, the H20's
    # 2025-04-09 licence), which a quote of that date could not have known either.
    (row,) = (
        load_catalog()
        .table("supply")
        .filter((pl.col("accelerator") == accelerator) & (pl.col("country") == "CN"))
        .filter(pl.col("effective_from") <= date.fromisoformat(as_of))
        .sort("effective_from")
        .tail(1)
        .iter_rows(named=True)
    )
    announced = "announced 2025-09-29, " if accelerator == "ascend-910c" else ""
    assert blocks["supply-limit"].endswith(
        f"({announced}lapsed {row['effective_to']}, after {as_of})"
    )
    # A quarter of it is within the output: nothing rests on the cap, nothing is said of it.
    data["phases"][0]["devices"] = devices // 4
    small = quote(parse_scenario(data), load_catalog())
    assert "supply-limit" not in _blocks(small)
    assert not [f for f in small.findings if f.code == "supply-announced-later"]


@pytest.mark.parametrize("scoped_from", [date(2024, 1, 1), date(2025, 2, 1)])
def test_a_fleet_before_the_first_tariff_takes_its_own_origins_tariff(catalog, write, scoped_from):
    # rev12f #4: the first tariff of a fleet's region was taken whatever its accelerator_origin,
    # so a China-only (domestic-chip) tariff starting the series priced an H800 fleet. As
    # `options._scoped_power` has it, the origin's own row comes first, also on the same day.
    unscoped = catalog.table("electricity").filter(
        (pl.col("region") == "cn-west") & pl.col("accelerator_origin").is_null()
    )
    first = unscoped.sort("as_of").row(0, named=True)
    assert first["as_of"] == date(2025, 2, 1)  # the series starts after the quote (2023-09-01)

    def cheap_for_domestic_chips(df):
        row = df.filter(pl.col("region") == "cn-west").head(1)
        row = row.with_columns(
            price_kwh=pl.lit(0.01), accelerator_origin=pl.lit("CN"), as_of=pl.lit(scoped_from)
        )
        return pl.concat([df, row])

    edited = catalog.with_table("electricity", cheap_for_domestic_chips)

    def energy(accelerator):
        s = _on_a_fleet(write, "2023-08-15", accelerator=accelerator, region="cn-west")
        q = quote(s, edited, as_of="2023-09-01")
        return {i.unit_price for i in q.line_items() if i.component == "energy"}

    assert energy("h800") == {first["price_kwh"]}
    assert energy("ascend-910b") == {0.01}


def test_a_fleet_before_the_first_tariff_is_priced_at_it_and_says_so(catalog):
    # rev12d #8: cn-east's tariffs start in 2024, so in 2023 the H800 stockpile (capital sunk)
    # was dropped as unpriced and every phase of the domestic plan was unpriced.
    q = quote(load_scenario(EXAMPLES / "deepseek_domestic.toml"), catalog, as_of="2023-11-01")
    pre = _phases(q)["pretrain"]
    assert pre.pricing == "fleet" and pre.priced
    stale = [f.message for f in q.findings if f.code == "stale-price" and f.phase == "pretrain"]
    assert stale and "electricity tariff is from" in stale[0]
    assert "after the quote date 2023-11-01" in stale[0]
    assert "unpriced" not in {f.code for f in q.findings if f.phase == "pretrain"}


def test_a_purchase_before_the_first_tariff_is_priced_as_a_fleet_there_is(catalog, write):
    """rev13b #6: cn-east's tariffs start 2024-01-01. On 2023-09-01 a fleet of 910B there was
    priced at that first tariff with a `stale-price` warn, and 910B bought there was blocked
    as unpriced ("no electricity tariff"): one gap, two answers. Both take the first row now,
    and both say so alike."""
    fleet = quote(_on_a_fleet(write, "2023-08-15", accelerator="ascend-910b"), catalog,
                  as_of="2023-09-01")  # fmt: skip
    text = _ON_A_FLEET.format(
        region="cn-east", accelerator="ascend-910b", acquired="", start="start = 2023-12-01"
    ).replace('pricing = "fleet"', 'pricing = "owned"')
    bought = quote(load_scenario(write("buy.toml", text)), catalog, as_of="2023-09-01")
    said = []
    for q in (fleet, bought):
        (phase,) = q.phases
        assert phase.priced and "unpriced" not in {f.code for f in q.findings}
        energy = {i.unit_price for i in q.line_items() if i.component == "energy"}
        (stale,) = [f.message for f in q.findings if f.code == "stale-price"]
        assert stale.startswith(
            "the cn-east electricity tariff is from 2024-01-01, after the quote date 2023-09-01"
        )
        said.append(energy)
    assert said[0] == said[1] and len(said[0]) == 1
    assert "the bought hardware's energy is priced at its first" in stale


def test_no_placement_before_any_rental_price_says_so_not_a_lead_time(catalog):
    # rev12d #8: with no rental price before 2023-12, the planner's error named a purchase's
    # lead time as the best option.
    data = {
        "name": "CN lab pretrain 70B auto, 2023-06-01", "as_of": "2023-06-01",
        "currency": "USD", "tenant_hq": "CN", "model": {"preset": "llama-3.1-70b"},
        "phases": [{"name": "pretrain", "tokens": 15e12, "data": "public",
                    "deadline_days": 120, "site": "auto"}],
    }  # fmt: skip
    with pytest.raises(InfeasibleError) as err:
        plan(parse_scenario(data), catalog)
    said = str(err.value)
    # rev13b #6: the gap is said first, as a gap; the purchases weighed come after it.
    gap = "the catalog has no price on 2023-06-01 for"
    assert gap in said and "(a gap in its price history, not a rule)" in said
    assert said.index(gap) < said.index("of the options it prices on 2023-06-01, the best:")
    # rev12f #1: the date named is the first rental's, not a hardware row's (H100 servers are
    # listed from 2023-05-29; the first H100 rental in us-east is from 2024-06-13).
    data["phases"][0]["site"] = {"accelerators": ["h100-sxm"], "regions": ["us-east"]}
    data |= {"as_of": "2023-01-01", "tenant_hq": "US"}
    first = catalog.table("offers").filter(
        (pl.col("accelerator") == "h100-sxm") & (pl.col("region") == "us-east")
        & (pl.col("pricing") != "spot") & (pl.col("evidence") != "sku")
    )["as_of"].min()  # fmt: skip
    with pytest.raises(InfeasibleError) as err:
        plan(parse_scenario(data), catalog)
    assert f"its first is from {first}, h100-sxm from " in str(err.value)


def test_purchases_share_a_buyers_cap_over_its_window_not_a_time_of_use(tmp_path):
    # rev12d #12: two phases months apart that together buy more than the per-buyer cap were
    # said to "run at the same time".
    d = _supply_override(
        tmp_path, 'h200,*,*,2025-01-01,,yes,30,100,365,"Test cap.",estimate,,user,2025-11-27'
    )
    phase = {"kind": "train", "tokens": 1e10, "data": "public", "devices": 64,
             "site": {"region": "sg", "accelerator": "h200", "pricing": "owned"}}  # fmt: skip
    data = {
        "name": "two buys", "as_of": "2025-11-27", "currency": "USD", "tenant_hq": "SG",
        "model": {"preset": "llama-3.1-8b"},
        "phases": [{"name": "a", "start": "2026-01-01", **phase},
                   {"name": "b", "start": "2026-06-01", **phase}],
    }  # fmt: skip
    q = quote(parse_scenario(data), load_catalog(str(d)))
    (shared,) = [f.message for f in q.findings if f.code == "capacity-shared"]
    assert shared.startswith(
        "phases 'a', 'b' buy h200 in SG within 365 days of each other and need 128 devices "
        "together: one buyer can get about 100 in 365 days"
    )


def test_a_part_bought_before_its_launch_is_not_purchasable_not_only_unpriced():
    # rev12d #12: Ascend 910C bought in December 2024 was only `unpriced` (no hardware price
    # yet); it was not shipping before about May 2025 (supply.csv, from the launch report).
    data = {
        "name": "910C before launch", "as_of": "2024-12-01", "currency": "CNY",
        "tenant_hq": "CN", "model": {"preset": "llama-3.1-70b"},
        "phases": [{"name": "pretrain", "tokens": 1e12, "data": "public", "devices": 1024,
                    "start": "2025-02-01", "site": {"region": "cn-west",
                                                    "accelerator": "ascend-910c",
                                                    "pricing": "owned"}}],
    }  # fmt: skip
    blocks = _blocks(quote(parse_scenario(data), load_catalog()))
    assert blocks["not-purchasable"].startswith(
        "ordered 2024-12-01, when ascend-910c could not be bought new in CN (until 2025-05-01, "
        "after the phase starts on 2025-02-01)"
    )


def test_dated_supply_caps_of_one_part_and_country_are_separate_capacities(catalog):
    # rev12f #6: the joint problem keyed a buyer's cap by (accelerator, country) and kept the
    # last row seen, so purchases under two dated supply.csv rows (910B in China: 1,000,000 in
    # 365 days from 2024-02-01, 1,600,000 in 365 from 2026-01-01) shared one arbitrary cap.
    from estimator.joint import capacity_of, limits
    from estimator.market import with_supply
    from estimator.options import option_table

    day = date(2026, 6, 1)
    owned = option_table(catalog, day).filter(
        (pl.col("option") == "owned")
        & (pl.col("accelerator") == "ascend-910b")
        & (pl.col("region") == "cn-west")
    )
    rows = [
        with_supply(catalog, owned.head(1), "CN", bought).to_dicts()[0] | {"billed_devices": 1000}
        for bought in (date(2024, 6, 1), day)
    ]
    caps = limits(rows)
    assert sorted((cap.devices, cap.per_days) for cap in caps.values()) == [
        (1_000_000, 365),
        (1_600_000, 365),
    ]
    for row in rows:
        ((group, _),) = capacity_of(row)
        assert caps[group].devices == row["max_devices_per_buyer"]


def test_the_fleet_capital_finding_says_what_operations_are_costed_on(catalog, write):
    # rev15d #2: "its capital is sunk and not charged" while operations ran at 5% a year of
    # the book value: a book value of 0 made them free and nothing said so.
    s = _on_a_fleet(write, "2023-06-01")

    def finding(q):
        return next(f.message for f in q.findings if f.code == "fleet-capital")

    def operations(q):
        return sum(i.amount for i in q.line_items() if i.component == "operations")

    q = quote(s, catalog)
    assert "operations at 5% a year (hardware.csv opex_fraction_per_year) of the catalog's " \
        "server price (2,000,000 CNY a server" in finding(q)  # fmt: skip
    assert operations(q) > 0
    free = quote(s.with_changes({"fleet.stock.book_value": 0}), catalog)
    assert operations(free) == 0
    assert finding(free).endswith(
        "of its book_value (0 CNY): a lower book value lowers them, 0 makes them free"
    )


def _fleet_acquired(acquired: str) -> dict:
    site = {"region": "us-east", "accelerator": "h100-sxm", "pricing": "fleet"}
    return {
        "name": "f", "as_of": "2025-11-27", "currency": "USD", "tenant_hq": "US",
        "fleet": [{"name": "f", "region": "us-east", "accelerator": "h100-sxm", "devices": 256,
                   "acquired": acquired}],
        "model": {"preset": "llama-3.1-8b"},
        "phases": [{"name": "a", "tokens": 2e12, "deadline_days": 30, "start": "2026-07-01",
                    "site": site}],
    }  # fmt: skip


def test_a_fleet_dated_after_the_quote_is_not_yet_bought_and_its_capital_is_said(catalog):
    # rev17a #22: a fleet acquired after the scenario date was "already owned: its capital is
    # sunk and not charged", silently: a budget on that date leaves out hardware not yet paid.
    later = quote(parse_scenario(_fleet_acquired("2026-06-01")), catalog)
    (warn,) = [f for f in later.findings if f.code == "fleet-not-yet-bought"]
    assert warn.severity == "warn" and warn.phase == "a"
    (info,) = [f for f in later.findings if f.code == "fleet-capital"]
    assert "already owned" not in info.message
    price = float(info.message.split(" USD a server")[0].rsplit("(", 1)[1].replace(",", ""))
    assert f"32 servers, {32 * price:,.0f} USD" in warn.message and "2026-06-01" in warn.message
    # Bought before the quote's date: sunk, as before.
    owned = quote(parse_scenario(_fleet_acquired("2025-06-01")), catalog)
    assert "fleet-not-yet-bought" not in {f.code for f in owned.findings}
    assert later.total == owned.total


def test_a_fleet_not_yet_bought_gives_the_catalogs_capital_whatever_its_book_value(catalog):
    # rev20a #4: with a book value the warning gave the book value "at the catalog's server
    # price": 0 CNY with book_value = 0, which only makes operations free. The capital left
    # out is the catalog's price of its servers; the book value is said as what it sets.
    data = _fleet_acquired("2026-06-01")
    (warn,) = [f for f in quote(parse_scenario(data), catalog).findings
               if f.code == "fleet-not-yet-bought"]  # fmt: skip
    capital = warn.message.split("its capital (")[1].split(")")[0]
    assert capital.startswith("32 servers, ") and capital.endswith(" at the catalog's server price")
    for book in (0, 1_000_000):
        fleet = {**data["fleet"][0], "book_value": book}
        q = quote(parse_scenario({**data, "fleet": [fleet]}), catalog)
        (said,) = [f.message for f in q.findings if f.code == "fleet-not-yet-bought"]
        assert (
            f"its capital ({capital}; its book_value, {book:,} USD, sets operations only) is not "
            "in this quote" in said
        )


def test_a_fleet_not_yet_bought_gives_its_capital_once_whatever_its_phases(catalog):
    # rev17b #8: three phases on one fleet gave three warnings, each with the whole capital
    # (8.2 M USD): a reader adding them up budgeted 24.5 M. The first phase's gives the
    # capital; the later ones name it as that same fleet's.
    s = _fleet_acquired("2026-06-01")
    site = s["phases"][0]["site"]
    s["phases"] += [
        {"name": "b", "tokens": 2e12, "deadline_days": 30, "after": "a", "site": site},
        {"name": "c", "tokens": 2e12, "deadline_days": 30, "start": "2025-12-01", "site": site},
    ]
    q = quote(parse_scenario(s), catalog)
    warns = {f.phase: f.message for f in q.findings if f.code == "fleet-not-yet-bought"}
    assert set(warns) == {"a", "b", "c"}
    with_capital = [p for p, m in warns.items() if " USD at the catalog's server price" in m]
    assert with_capital == ["a"]
    for later in ("b", "c"):
        assert "phase 'a''s warning gives (the same fleet's capital)" in warns[later]


def test_a_purchase_a_ban_would_make_late_is_ordered_on_the_last_day_before_it(tmp_path):
    # rev18a #6: ordered just in time, unless supply.csv forbids that day: then on the last day
    # before the ban (an order after it ends would arrive after the start), and the server waits,
    # paid for and ageing from its delivery, which owned-capex says.
    from estimator.costing import calendar_years
    from tests.test_quote import LATE_OWN

    ok = '"910C may be bought.",estimate,,user,2025-01-01'
    d = _supply_override(
        tmp_path,
        f"ascend-910c,CN,CN,2020-01-01,2026-06-01,yes,,,,{ok}\n"
        'ascend-910c,CN,CN,2026-06-01,2027-05-01,no,,,,"No 910C for a year.",estimate,,user,'
        f"2025-01-01\nascend-910c,CN,CN,2027-05-01,,yes,,,,{ok}",
    )
    catalog = load_catalog(str(d))
    s = parse_scenario_text(LATE_OWN)
    q = quote(s, catalog)
    (pq,) = q.phases
    assert "not-purchasable" not in {f.code for f in q.findings}
    (capex,) = [f.message for f in q.findings if f.code == "owned-capex"]
    lead = int(catalog.default("purchase_lead_time_days"))
    order = date(2026, 5, 31)
    arrived = order + timedelta(days=lead)
    assert f"ordered on {order} (the latest order that arrives in time, not on {s.as_of}: " in capex
    assert f"arrives about {lead} days later, on {arrived} " in capex
    held = (pq.start - arrived).days
    assert f"held {held / (365.25 / 12):.0f} months before the phase starts" in capex
    assert [m.month for m in q.cash_flow if m.amounts["capital"]] == [arrived.strftime("%Y-%m")]
    assert f"{calendar_years(arrived, pq.end):.1f} years old" in capex
    # Without the ban, just in time: delivered on the start.
    (tmp_path / "free").mkdir()
    free = quote(
        s,
        load_catalog(
            str(_supply_override(tmp_path / "free", f"ascend-910c,CN,CN,2020-01-01,,yes,,,,{ok}"))
        ),
    )
    (free_capex,) = [f.message for f in free.findings if f.code == "owned-capex"]
    assert f"later, on {pq.start} " in free_capex and "held" not in free_capex
    assert free.total < q.total


H100_HELD = """
name = "h100 owned us"
as_of = 2025-11-27
currency = "USD"
tenant_hq = "US"
[model]
preset = "llama-3.1-8b"
[[phases]]
name = "serve"
kind = "serve"
data = "public"
days = 365
input_tokens_per_day = 4e10
output_tokens_per_day = 1e10
tpot_ms = 50
precision = "fp8"
start = 2026-06-01
site = { region = "us-east", accelerator = "h100-sxm", pricing = "owned" }
"""


@pytest.mark.parametrize("later", [True, False])
def test_a_purchase_held_by_a_later_rows_lead_time_says_when_it_was_known(tmp_path, later):
    # rev18d #1: H100 for a 2026-06-01 phase were ordered on 2025-12-31 and held three months,
    # as supply.csv's 2026 row (308 days' lead) lets no later order arrive in time; that row
    # was announced on 2026-03-31, after the quote's 2025-11-27, and nothing said so.
    catalog = load_catalog()
    s = parse_scenario_text(H100_HELD)
    (row,) = (
        catalog.table("supply")
        .filter(
            (pl.col("accelerator") == "h100-sxm")
            & (pl.col("country") == "*")
            & (pl.col("effective_from") > s.as_of)
            & (pl.col("effective_from") < s.phases[0].start)
        )
        .iter_rows(named=True)
    )
    assert row["announced"] > s.as_of  # the case the finding is about
    if not later:  # the same row, public before the quote
        text = (EXAMPLES.parent / "pricing" / "data" / "supply.csv").read_text(encoding="utf-8")
        old = f"h100-sxm,*,*,{row['effective_from']},,{row['announced']},"
        assert old in text
        (tmp_path / "cat").mkdir()
        (tmp_path / "cat" / "supply.csv").write_text(
            text.replace(old, f"h100-sxm,*,*,{row['effective_from']},,{s.as_of},"),
            encoding="utf-8",
        )
        catalog = load_catalog(str(tmp_path / "cat"))
    (capex,) = _found(quote(s, catalog), "owned-capex")
    assert "held 3 months before the phase starts" in capex
    mark = f"arrive by then) (announced {row['announced']}, after {s.as_of});"
    assert (mark in capex) is later
    assert "after 2025-11-27" not in capex or later


def test_a_lead_time_block_on_the_default_lead_says_no_lapse(catalog):
    # rev18d #2: a default 90-day lead time blocked a 2025-12-20 start of 910B bought on
    # 2025-11-27, marked "(lapsed 2026-01-01, after 2025-11-27)": the block rests on no row's
    # end (the phase is not waiting on it), and that end was public since 2025-09-29 anyway.
    text = H100_HELD.replace('currency = "USD"', 'currency = "CNY"').replace(
        'tenant_hq = "US"', 'tenant_hq = "CN"'
    )
    text = text.replace("2026-06-01", "2025-12-20").replace('"us-east"', '"cn-west"')
    text = text.replace('"h100-sxm"', '"ascend-910b"').replace('"fp8"', '"int8"')
    (block,) = _found(quote(parse_scenario_text(text), catalog), "lead-time")
    assert "arrives about 90 days after the order" in block
    assert "lapsed" not in block and "announced" not in block


def test_a_supply_rows_end_announced_before_the_quote_is_not_hindsight():
    # rev18d #2: the 910C's 2025 cap ends on 2026-01-01 as the 2026 row replaces it, announced
    # on 2025-09-29 (supply.csv): a quote of 2025-10-15 knew both; before, it was told the cap
    # "(lapsed 2026-01-01, after 2025-10-15)". A quote of 2025-06-01 knew neither (pinned in
    # test_one_buyer_gets_at_most_the_markets_output).
    data = {
        "name": "big purchase", "as_of": "2025-10-15", "currency": "CNY", "tenant_hq": "CN",
        "model": {"preset": "llama-3.1-405b"},
        "phases": [{"name": "pretrain", "tokens": 15e12, "data": "public", "devices": 500_000,
                    "start": "2025-10-15",
                    "site": {"region": "cn-east", "accelerator": "ascend-910c",
                             "pricing": "owned"}}],
    }  # fmt: skip
    catalog = load_catalog()
    (row,) = (
        catalog.table("supply")
        .filter(
            (pl.col("accelerator") == "ascend-910c")
            & (pl.col("country") == "CN")
            & (pl.col("effective_from") == date(2026, 1, 1))
        )
        .iter_rows(named=True)
    )
    assert row["announced"] < date(2025, 10, 15)
    limit = _blocks(quote(parse_scenario(data), catalog))["supply-limit"]
    assert "one buyer can get about" in limit
    assert "lapsed" not in limit and "after 2025-10-15" not in limit
