"""Split-plan quotes: contract, arithmetic, formats, rules by date, errors, golden outputs."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tomllib
from datetime import date, timedelta

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from estimator import Scenario, compare, load_scenario, parse_scenario, plan, quote, sweep
from estimator.cli import app
from estimator.errors import ScenarioError
from estimator.report.view import quote_view
from estimator.scenario_file import _yaml_loader
from tests.conftest import EXAMPLES, ROOT

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.toml"))

SMALL = """
name = "small"
as_of = 2025-11-27
currency = "USD"

[model]
preset = "llama-3.1-8b"

[[phases]]
name = "train"
tokens = 1e11
devices = 16
site = { region = "us-east", accelerator = "h100-sxm", pricing = "on_demand", provider = "lambda" }
"""


# -- contract and arithmetic ---------------------------------------------------------------------


def test_the_library_and_the_json_name_the_same_phase_figures():
    """rev20b #8: the JSON's `cost_per_million_output_tokens` was not on `PhaseQuote` nor in
    `phases_frame()` (a notebook recomputed and re-rounded it), and the frame's `country` was
    not in the JSON. Each is now in both, the same figure. Phase and transfer costs summed as
    Money are float additions: rounded to cents they are the total (the Money docstring)."""
    from estimator import as_json
    from estimator.costing import cents

    served = 0
    for path in EXAMPLE_FILES:
        q = quote(path)
        frame = q.phases_frame()
        shown = json.loads(as_json(q))["phases"]
        assert frame["country"].to_list() == [p["country"] for p in shown]
        assert [p.country for p in q.phases] == [p["country"] for p in shown]
        per_m = [p.cost_per_million_output_tokens for p in q.phases]
        assert per_m == [p["cost_per_million_output_tokens"] for p in shown]
        assert frame["cost_per_million_output_tokens"].to_list() == per_m
        assert all(m is None or m.currency == q.currency for m in per_m)
        served += sum(m is not None for m in per_m)
        parts = sum(p.cost for p in q.phases) + sum(t.cost for t in q.transfers)
        assert cents(parts, q.currency) == q.total
    assert served > 0


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_json_contract_and_sums(runner, path):
    result = runner.invoke(app, ["quote", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert {"currency", "total", "phases", "transfers", "findings", "assumptions"} <= set(d)
    for p in d["phases"]:
        assert {
            "name",
            "kind",
            "region",
            "accelerator",
            "devices",
            "device_hours",
            "wall_clock_days",
            "cost",
            "line_items",
        } <= set(p)
        assert p["cost"] == pytest.approx(sum(i["amount"] for i in p["line_items"]), abs=1e-6)
        assert p["cost"] >= 0 and p["devices"] > 0
    for f in d["findings"]:
        assert {"severity", "code", "message"} <= set(f)
    parts = sum(p["cost"] for p in d["phases"]) + sum(t["cost"] for t in d["transfers"])
    assert d["total"] == pytest.approx(parts, abs=1e-6)
    assert sum(d["by_region"].values()) == pytest.approx(d["total"], abs=0.01 * len(d["by_region"]))


def test_hand_checked_rented_phase(write, catalog):
    q = quote(load_scenario(write("s.toml", SMALL)), catalog)
    phase = q.phases[0]
    (item,) = phase.line_items
    price = catalog.offers(
        provider="lambda", region="us-east", accelerator="h100-sxm", as_of=q.as_of
    )["price_per_device_hour"][0]
    # 16 devices, whole 8-GPU instances, on demand: cost = device-hours x price.
    assert phase.devices == 16
    assert item.quantity == pytest.approx(phase.device_hours)
    assert item.amount == pytest.approx(phase.device_hours * price)
    assert phase.device_hours == pytest.approx(phase.physics["device_hours"])
    assert q.total == pytest.approx(item.amount)


def _rented_for(start: str, days: float, site: dict, currency: str) -> dict:
    """One serving phase of 8 devices (one 8-GPU server) on `site` from `start` for `days`."""
    return {
        "name": "rental",
        "as_of": "2025-11-27",
        "currency": currency,
        "model": {"preset": "llama-3.1-8b"},
        "phases": [
            {
                "name": "serve",
                "kind": "serve",
                "start": start,
                "days": days,
                "devices": 8,
                "users": "CN",
                "data": "public",
                "site": site,
            }
        ],
    }


MONTHLY_H100 = {
    "region": "cn-east",
    "accelerator": "h100-sxm",
    "pricing": "contract",
    "provider": "cn-gpu-rental-market",
}


@pytest.mark.parametrize(
    ("start", "days", "months", "paid_in"),
    [
        ("2026-01-01", 31, 1, ["2026-01"]),  # January: billed 2 terms of 30.44 days before
        ("2026-07-01", 62, 2, ["2026-07", "2026-08"]),  # was 3
        ("2026-07-01", 92, 3, ["2026-07", "2026-08", "2026-09"]),  # Q3: was 4
        ("2026-04-01", 30, 1, ["2026-04"]),  # April: was 720 h, 73,972.80 CNY
    ],
)
def test_a_monthly_rental_bills_calendar_months_at_its_monthly_price(
    catalog, start, days, months, paid_in
):
    # cn-gpu-rental-market: 75,000 CNY a server-month, in offers.csv as 75,000 / (730 h x 8)
    # = 12.8425 CNY per device-hour (rounded: 75,000.20 a month).
    q = quote(parse_scenario(_rented_for(start, days, MONTHLY_H100, "CNY")), catalog)
    (item,) = q.phases[0].line_items
    assert item.quantity == months * 730 * 8
    assert item.billed_amount == pytest.approx(months * 75_000, abs=0.25 * months)
    assert item.billed_amount == round(months * 730 * 8 * item.unit_price, 2)
    assert q.phases[0].cost_other_view == pytest.approx(days * 24 * 8 * item.unit_price)
    # Rent is paid over the calendar months billed, to the cent of the total.
    assert [m.month for m in q.cash_flow] == paid_in
    assert round(sum(m.amounts["rent"] for m in q.cash_flow), 2) == q.total
    if days >= 62:
        assert not [f for f in q.findings if f.code == "idle-commitment"]


def test_a_one_year_reservation_covers_a_leap_year(catalog):
    # 2028-01-01..2029-01-01 is one calendar year of 366 days: one term of 12 x 730 h (GCP's
    # 1-year commitment price a month / 730 h), not two.
    site = {"region": "sg", "accelerator": "h100-sxm", "pricing": "reserved_1y", "provider": "gcp"}
    q = quote(parse_scenario(_rented_for("2028-01-01", 366, site, "USD")), catalog)
    (item,) = q.phases[0].line_items
    assert item.quantity == 8760 * 8
    assert "(2 terms" not in item.description
    assert [m.month for m in q.cash_flow] == [f"2028-{m:02d}" for m in range(1, 13)]
    assert round(sum(m.total for m in q.cash_flow), 2) == q.total
    # A day more is a second year, and says so.
    longer = quote(parse_scenario(_rented_for("2028-01-01", 367, site, "USD")), catalog)
    (item,) = longer.phases[0].line_items
    assert item.quantity == 2 * 8760 * 8
    assert item.description.endswith("(2 terms of 1 year billed)")
    idle = next(f for f in longer.findings if f.code == "idle-commitment")
    assert "the 1-year commitment bills 2 years for 367.0 days of work" in idle.message


def test_an_idle_commitment_warns_in_the_amortised_view_with_the_whole_commitment(catalog):
    # rev17a #2c: under accounting = "amortised" the planner signed 3-year reservations for a
    # 119-day run (2.7 B CNY committed, 294 M charged) without a word, as the view's billed
    # hours are the hours used; a purchase in that view warns with its whole order.
    site = {"region": "sg", "accelerator": "h100-sxm", "pricing": "reserved_1y", "provider": "gcp"}
    data = _rented_for("2028-01-01", 120, site, "USD")
    project = quote(parse_scenario(data), catalog)
    amortised = quote(parse_scenario({**data, "accounting": "amortised"}), catalog)
    (p,) = amortised.phases
    assert p.cost_other_view == project.total and p.cost < 0.4 * project.total
    idle = next(f for f in amortised.findings if f.code == "idle-commitment")
    assert idle.severity == "warn"
    assert (
        f"the 1-year commitment commits {project.total:,.0f} USD over 1 year for 120.0 days of "
        f"work; this amortised view charges {p.cost:,.0f} USD" in idle.message
    ), idle.message
    # The project view says it as before.
    (was,) = [f for f in project.findings if f.code == "idle-commitment"]
    assert "the 1-year commitment bills 1 year for 120.0 days of work: 67%" in was.message
    # A run the term fits warns in neither view.
    fits = _rented_for("2028-01-01", 366, site, "USD")
    for accounting in ("project", "amortised"):
        q = quote(parse_scenario({**fits, "accounting": accounting}), catalog)
        assert "idle-commitment" not in {f.code for f in q.findings}


def _sized_for(deadline: float, model: str, tokens: float, site: dict, as_of: str) -> dict:
    return {
        "name": "deadline",
        "as_of": as_of,
        "currency": "USD",
        "model": {"preset": model},
        "phases": [
            {
                "name": "train",
                "kind": "train",
                "tokens": tokens,
                "deadline_days": deadline,
                "data": "public",
                "site": site,
            }
        ],
    }


RESERVED_SG = {
    "region": "sg",
    "accelerator": "h100-sxm",
    "pricing": "reserved_1y",
    "provider": "gcp",
}


def test_a_looser_deadline_never_costs_more_on_a_yearly_term(catalog):
    # rev13a #1: the fewest devices finishing by 400 days (896, 372 days) billed the one-year
    # reservation twice, 155.6 M USD against 83.3 M for 365 days. A deadline is a bound: the
    # count finishing within the whole years it holds is priced too, and the cheaper kept.
    totals = {}
    for deadline in (340, 365, 400, 730, 800):
        args = (deadline, "qwen3-235b-a22b", 36e12, RESERVED_SG, "2025-11-27")
        q = quote(parse_scenario(_sized_for(*args)), catalog)
        totals[deadline] = q.total
        if deadline == 400:
            (p,) = q.phases
            assert (p.devices, p.cost) == (960, 83_338_883.71)
            (f,) = [f for f in q.findings if f.code == "term-sized"]
            assert f.severity == "info"
            assert f.message.startswith(
                "sized to finish in 365 days, 1 year of the 1-year commitment within the "
                "400-day deadline: 960 devices for "
            )
            assert (
                " days cost 83,338,884 USD, less than the fewest devices that meet the deadline "
                "(832 for "  # 896 for 155,565,916 USD until phys17b's refit (h100 moe 0.442)
                in f.message
                and f.message.endswith(" days: 144,454,065 USD)")
            )
            # A year billed for the run is said idle past 5% (checks.IDLE_PAST): 960 devices took
            # about a year at the session-16 constants; since phys17b's refit they finish in
            # 346.9 days, 5.2% short of the term, and the finding says so.
            idle = 365 / p.wall_clock_days > 1.05
            assert ("idle-commitment" in {f.code for f in q.findings}) == idle
    values = list(totals.values())
    assert values == sorted(values, reverse=True), totals
    # Two years of 512 devices cost more than one of 960: every whole number of terms counts.
    assert totals[730] == totals[800] == totals[365]


def test_a_phase_a_rule_blocks_keeps_the_sizing_it_would_have_unblocked(catalog):
    # rev20a #3: a data label that PIPL blocks abroad dropped the term sizing, so the blocked
    # pretraining was priced at the fewest devices that meet the deadline for two reserved
    # years (+73% on the phase) where the same phase unblocked takes one year. A rule blocks
    # every sizing of an option alike: the block is said beside the unblocked sizing.
    data = {**_sized_for(400, "qwen3-235b-a22b", 36e12, RESERVED_SG, "2025-11-27"),
            "tenant_hq": "CN"}  # fmt: skip
    public = quote(parse_scenario(data), catalog)
    personal = {**data, "phases": [{**data["phases"][0], "data": "personal"}]}
    q = quote(parse_scenario(personal), catalog)
    assert not public.blocked and q.blocked
    assert "cn-pipl-personal-data-abroad" in {f.code for f in q.findings if f.severity == "block"}
    (p,), (u,) = q.phases, public.phases
    assert (p.devices, p.wall_clock_days, p.cost) == (u.devices, u.wall_clock_days, u.cost)
    assert q.total == public.total
    assert "term-sized" in {f.code for f in q.findings}


def test_a_looser_deadline_never_costs_more_on_a_monthly_term(catalog):
    # rev13a #1 on monthly rentals from 2026-06-01 (June: 30 days): 31 days took 352 devices
    # for 487,028.66 USD, 40 days 272 for two months, 752,680.66. A 30-day deadline was sized
    # to 368 (the sizing's headroom, a replica more than the 352 that finish in 29.98 days).
    # Since phys17b's refit 352 no longer finish in June's 30 days: 368 for one month, 28.8 days.
    site = {"region": "cn-east", "accelerator": "h100-sxm", "pricing": "contract"}
    seen = {}
    for deadline in (25, 30, 31, 40, 60, 61, 75, 92, 100):
        args = (deadline, "llama-3.1-70b", 1e12, site, "2026-06-01")
        q = quote(parse_scenario(_sized_for(*args)), catalog)
        seen[deadline] = (q.phases[0].devices, q.total)
    totals = [total for _, total in seen.values()]
    assert totals == sorted(totals, reverse=True), seen
    assert seen[30] == seen[31] == seen[40] == (368, 509_166.33)
    # Three months of 128 devices (deadline 92) cost more than two of 176.
    assert seen[92][1] == seen[61][1]


def test_a_looser_deadline_never_costs_more_on_day_terms(catalog):
    # rev15a #2: AWS Capacity Blocks bill whole days of whole 8-GPU instances, and only the
    # deadline's last day count was sized: 36 days cost 2,329,067.52 USD, 31 days 2,284,139.52.
    # Every whole day count the deadline holds is sized now, and the cheapest kept.
    site = {"region": "us-east", "accelerator": "b200", "pricing": "contract"}
    seen = {}
    for deadline in (20, 29, 30, 31, 35, 36, 40, 60):
        args = (deadline, "llama-3.1-70b", 2e12, site, "2026-06-01")
        q = quote(parse_scenario(_sized_for(*args)), catalog)
        seen[deadline] = (q.phases[0].devices, q.total)
    totals = [total for _, total in seen.values()]
    assert totals == sorted(totals, reverse=True), seen
    # 2,284,139.52 was the 31-day bill at the session-16 constants; phys17b's refit (b200 dense
    # 0.53 -> 0.524, more exposed data-parallel traffic) raises every sizing ~1.3%: 2,314,690.56.
    assert seen[36][1] <= seen[31][1] <= 2_314_690.56
    # The same sizing in the planner and in sweep (one evaluation).
    data = _sized_for(36, "llama-3.1-70b", 2e12, {"regions": ["us-east"],
                      "accelerators": ["b200"], "pricing": ["contract"]}, "2026-06-01")  # fmt: skip
    s = parse_scenario(data)
    assert plan(s, catalog).quote.total == seen[36][1]
    swept = sweep(s, {"phases.train.deadline_days": [31, 36]}, catalog)
    assert swept["total"].to_list() == [seen[31][1], seen[36][1]]


def test_day_sizings_left_out_after_the_physics_never_hold_the_cheapest(catalog, monkeypatch):
    # `_fewer_day_sizings` drops a day sizing with more devices and no smaller bill than
    # another before the money is worked out: the answer is the one every sizing gives.
    from estimator import evaluate

    every = {}
    for prune in (False, True):
        if not prune:
            monkeypatch.setattr(evaluate, "_fewer_day_sizings", lambda df, start: df)
        else:
            monkeypatch.undo()
        for deadline, accelerator, model, tokens in (
            (13, "b200", "llama-3.1-70b", 2e12), (36, "b200", "llama-3.1-70b", 2e12),
            (183, "b200", "llama-3.1-70b", 2e12), (23, "h100-sxm", "llama-3.1-8b", 5e11),
        ):  # fmt: skip
            site = {"region": "us-east", "accelerator": accelerator, "pricing": "contract"}
            q = quote(parse_scenario(_sized_for(deadline, model, tokens, site, "2026-06-01")),
                      catalog)  # fmt: skip
            key = (deadline, accelerator)
            got = (q.phases[0].devices, q.total, q.blocked)
            assert every.setdefault(key, got) == got, key


def test_the_amortised_view_and_a_deadline_of_whole_terms_keep_the_fewest_devices(catalog):
    # Only the project view bills whole terms; a deadline of exactly one term has no other.
    data = _sized_for(365, "qwen3-235b-a22b", 36e12, RESERVED_SG, "2025-11-27")
    q = quote(parse_scenario(data), catalog)
    assert "term-sized" not in {f.code for f in q.findings}
    amortised = quote(parse_scenario({**data, "accounting": "amortised",
                                      "phases": [{**data["phases"][0], "deadline_days": 400}]}),
                      catalog)  # fmt: skip
    # 896 until phys17b's refit raised the H100 MoE efficiency (0.43 -> 0.442).
    assert amortised.phases[0].devices == 832
    assert "term-sized" not in {f.code for f in amortised.findings}


def test_a_transfer_given_only_its_size_is_data_not_weights(catalog):
    # rev12b #17: {"from": "b", "to": "a", "gigabytes": 1000} was 'weights' in the quote and its
    # line item ("weights sg -> cn-east"), `what` defaulting to weights.
    data = tomllib.loads(SMALL)
    site = {"region": "sg", "accelerator": "h100-sxm", "pricing": "on_demand"}
    data["phases"].append({"name": "b", "tokens": 1e11, "devices": 16, "site": site})
    data["transfers"] = [
        {"from": "b", "to": "train", "gigabytes": 1000.0},
        {"from": "train", "to": "b"},
    ]
    s = parse_scenario(data)
    for variant in (s, s.with_changes(currency="EUR"), parse_scenario(s.model_dump(by_alias=True))):
        sized, model = quote(variant, catalog).transfers
        assert (sized.what, sized.gigabytes) == ("data", 1000.0)
        assert sized.line_items[0].description.startswith("data sg -> us-east")
        assert model.what == "weights" and model.line_items[0].description.startswith("weights")
    # Named, it keeps its name; its size and findings are those of weights of that size.
    named = s.with_changes({"transfers.0.what": "weights"})
    as_weights, _ = quote(named, catalog).transfers
    assert as_weights.what == "weights" and as_weights.cost == sized.cost

    def judged(x: object) -> list[tuple[str, str, str | None]]:
        return [(f.code, f.severity, f.phase) for f in quote(x, catalog).findings]

    assert judged(named) == judged(s)


def test_currency_conversion_of_the_quote(write, catalog):
    s = load_scenario(write("s.toml", SMALL))
    usd = quote(s, catalog)
    cny = quote(s, catalog, currency="CNY")
    rate = catalog.rate("CNY", date(2025, 11, 27)).per_usd
    assert cny.total == pytest.approx(usd.total * rate)
    assert cny.assumptions["fx_per_usd"]["CNY"]["per_usd"] == rate


def test_same_scenario_in_toml_yaml_json_quotes_identically(write, catalog):
    path = EXAMPLES / "split_abroad_home.toml"
    data = tomllib.loads(path.read_text())
    y = write("plan.yaml", yaml.safe_dump(data, sort_keys=False))
    j = write("plan.json", json.dumps(data, default=str))
    quotes = [quote_view(quote(load_scenario(p), catalog)) for p in (path, y, j)]
    assert quotes[0] == quotes[1] == quotes[2]


@settings(max_examples=10, deadline=None)
@given(days=st.floats(1, 400), k=st.floats(1.5, 4))
def test_serving_cost_linear_in_days(catalog, days, k):
    base = tomllib.loads((EXAMPLES / "overseas_serving.toml").read_text())
    base["as_of"] = date(2025, 11, 27)

    def total(d: float) -> tuple[float, int]:
        data = json.loads(json.dumps(base, default=str))
        for p in data["phases"]:
            p["days"] = d
        q = quote(parse_scenario(data), catalog)
        return q.total, len(q.line_items())

    (a, n), (b, _) = total(days), total(days * k)
    assert a > 0
    # Each line item is billed in whole cents: half a cent each way per item, k-fold in `a * k`.
    assert b == pytest.approx(a * k, rel=1e-9, abs=0.005 * n * (1 + k))


# -- rules ---------------------------------------------------------------------------------------


def test_personal_data_abroad_blocks_and_strict_exits_1(runner):
    path = EXAMPLES / "all_abroad.toml"
    plain = runner.invoke(app, ["quote", str(path), "--format", "json"])
    assert plain.exit_code == 0
    codes = {(f["severity"], f["code"]) for f in json.loads(plain.stdout)["findings"]}
    assert ("block", "cn-pipl-personal-data-abroad") in codes
    strict = runner.invoke(app, ["quote", str(path), "--strict"])
    assert strict.exit_code == 1
    assert "blocked by cn-pipl-personal-data-abroad" in strict.stderr


def test_clean_plan_passes_strict(runner):
    result = runner.invoke(app, ["quote", str(EXAMPLES / "split_abroad_home.toml"), "--strict"])
    assert result.exit_code == 0, result.output


def test_rules_change_with_the_date(catalog):
    s = load_scenario(EXAMPLES / "split_abroad_home.toml")

    rules = set(catalog.table("policies")["id"])

    def blocks(day: date) -> set[tuple[str, str]]:
        q = quote(s, catalog, as_of=day)
        return {
            (f.phase or "", f.code) for f in q.findings if f.severity == "block" and f.code in rules
        }

    def codes(day: date) -> set[tuple[str, str, str]]:
        return {(f.severity, f.phase or "", f.code) for f in quote(s, catalog, as_of=day).findings}

    # The AI diffusion framework was rescinded before its compliance date: a warning while it
    # was announced, never a block.
    diffusion = ("warn", "pretrain", "us-ai-diffusion-offshore-access")
    assert diffusion in codes(date(2025, 3, 1))
    assert diffusion not in codes(date(2024, 6, 1)) | codes(date(2025, 11, 27))
    assert blocks(date(2025, 3, 1)) == blocks(date(2025, 11, 27)) == set()


def test_a_site_without_a_price_is_still_judged(runner, write):
    """Johor has no public GPU price: personal-data training there is still judged by the
    rules (blocked) and the phase is reported unpriced; exit 0, or 1 under --strict."""
    text = SMALL.replace('region = "us-east"', 'region = "my-johor"').replace(
        "tokens = 1e11", 'tokens = 1e11\ndata = "personal"'
    )
    path = str(write("johor.toml", text))
    result = runner.invoke(app, ["quote", path, "-f", "json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    codes = {f["code"] for f in d["findings"] if f["severity"] == "block"}
    assert {"cn-pipl-personal-data-abroad", "unpriced"} <= codes
    assert d["unpriced"] == ["train"] and d["total"] == 0
    (p,) = d["phases"]
    assert p["priced"] is False and p["device_hours"] > 0 and p["devices"] == 16
    unpriced = next(f for f in d["findings"] if f["code"] == "unpriced")
    assert "--catalog" in unpriced["message"] and "my-johor" in unpriced["message"]
    assert runner.invoke(app, ["quote", path, "--strict"]).exit_code == 1


def test_dataset_transfer_of_personal_data_abroad_is_blocked(write, catalog):
    text = (
        SMALL.replace('name = "train"', 'name = "home"\ndata = "personal"').replace(
            'region = "us-east", accelerator = "h100-sxm", pricing = "on_demand", '
            'provider = "lambda"',
            'region = "cn-west", accelerator = "ascend-910b", pricing = "owned"',
        )
        + """
[[phases]]
name = "abroad"
tokens = 1e11
devices = 16
site = { region = "us-east", accelerator = "h100-sxm", pricing = "on_demand" }

[[transfers]]
from = "home"
to = "abroad"
what = "dataset"
"""
    )
    q = quote(load_scenario(write("t.toml", text)), catalog)
    blocks = {(f.phase, f.code) for f in q.findings if f.severity == "block"}
    assert ("transfer home->abroad", "cn-pipl-personal-data-abroad") in blocks
    # Only the rules on data classes judge the move; the destination's hardware rules are the
    # destination phase's (review9a #4: repeated for the transfer, a fleet's as a rental's).
    data_rules = set(catalog.table("policies").filter(pl.col("data") != "*")["id"])
    moved = {f.code for f in q.findings if f.phase == "transfer home->abroad"}
    assert moved and moved <= data_rules
    (t,) = q.transfers
    assert t.gigabytes == pytest.approx(1e11 * 4 / 1e9)  # 4 bytes per token
    assert t.hours > 0 and t.cost > 0


def test_a_dataset_moved_to_a_fleet_carries_only_its_data_rules(write, catalog):
    # review9a #4: the move repeated the destination's export-control findings, and a fleet's
    # as a rental's ("relies on grey-market supply" on H800s the lab owns).
    text = (
        SMALL.replace(
            'region = "us-east", accelerator = "h100-sxm", pricing = "on_demand", '
            'provider = "lambda"',
            'region = "cn-west", accelerator = "ascend-910b", pricing = "owned"',
        )
        + """
[[phases]]
name = "tune"
workload = "finetune"
tokens = 1e10
devices = 64
site = { region = "cn-east", accelerator = "h800", pricing = "fleet" }

[[fleet]]
name = "stock"
region = "cn-east"
accelerator = "h800"
devices = 512
acquired = 2023-06-01

[[transfers]]
from = "train"
to = "tune"
what = "dataset"
"""
    )
    q = quote(load_scenario(write("fleet.toml", text)), catalog)
    assert any(f.phase == "tune" and f.code.startswith("us-export") for f in q.findings)
    assert not [f for f in q.findings if f.phase == "transfer train->tune"]


def test_border_crossing_uses_the_china_path(catalog):
    q = quote(load_scenario(EXAMPLES / "split_abroad_home.toml"), catalog)
    into_china = next(t for t in q.transfers if t.to == "post-train")
    assert into_china.route.endswith("sg -> CN)")  # (the provider's rows, rev17a #10)
    within = next(t for t in q.transfers if t.to == "serve-abroad")
    assert within.cost == 0 and within.hours == 0


def test_memory_that_does_not_fit_is_a_finding(write, catalog):
    text = SMALL.replace('preset = "llama-3.1-8b"', 'preset = "llama-3.1-405b"').replace(
        "devices = 16", "devices = 8"
    )
    q = quote(load_scenario(write("s.toml", text)), catalog)
    assert any(f.code == "memory-does-not-fit" and f.severity == "block" for f in q.findings)


SERVED = """
name = "served"
as_of = 2026-06-15
currency = "USD"
tenant_hq = "SG"
[model]
preset = "llama-3.1-70b"
[[phases]]
name = "serve"
kind = "serve"
users = "sea"
days = 90
input_tokens_per_day = 2e9
output_tokens_per_day = 4e8
tpot_ms = 40
disaggregated = true
precision = "fp8"
site = { region = "sg", accelerator = "h100-sxm", pricing = "on_demand" }
"""


@pytest.mark.parametrize("disaggregated", [True, False])
def test_the_fleet_is_sized_at_the_rate_shown(runner, write, disaggregated):
    # rev18a #9: a disaggregated phase showed 811.6 output tok/s per device (the request
    # shape's 4:1) and billed 16 devices, sized on the demand's own 5:1 input per output (about
    # 695): the bill could not be worked out from the rate shown. The rate the fleet is sized
    # at is shown beside it, and the devices follow from it.
    text = SERVED.replace("disaggregated = true", f"disaggregated = {str(disaggregated).lower()}")
    result = runner.invoke(app, ["quote", str(write("s.toml", text)), "--format", "json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["schema_version"] == "12"
    x = d["phases"][0]["physics"]
    rate = x["demand_output_tokens_per_s_per_device"]
    peak, g, tp = x["peak_to_average"], x["serve_goodput"], x["tensor_parallel"]
    out_s, in_s = 4e8 * peak / 86_400, 2e9 * peak / 86_400
    busy = out_s / g / rate  # the devices the peak keeps busy, before whole replicas
    if disaggregated:  # each pool in whole replicas
        prefill = in_s / g / x["prefill_tokens_per_s_per_device"]
        decode = out_s / g / x["decode_tokens_per_s_per_device"]
        assert busy == pytest.approx(prefill + decode, rel=1e-9)
        assert rate < x["output_tokens_per_s_per_device"]  # 5:1 input is more than 4:1
        needed = (math.ceil(prefill / tp - 1e-9) + math.ceil(decode / tp - 1e-9)) * tp
    else:
        needed = math.ceil(busy / tp - 1e-9) * tp
    assert x["devices_needed"] == needed == d["phases"][0]["devices"]
    said = d["assumptions"]["physics"]["serve"]
    assert f"fleet sized at {rate:.4g} output tok/s/device (the demand" in said, said


def test_amounts_are_in_the_currencys_minor_unit(runner, write, catalog):
    # rev18a #10: a JPY quote printed "113,630,977.46 JPY", though the yen has no minor unit
    # (ISO 4217: 0). Each amount is rounded to its currency's minor unit and printed in it; a
    # currency with cents keeps them (IDR: 2 in ISO 4217, as USD).
    from estimator.money import Money
    from pricing.currencies import minor_units

    path = write("s.toml", SERVED)
    result = runner.invoke(app, ["quote", str(path), "--currency", "JPY", "--format", "json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert minor_units("JPY") == 0 and minor_units("IDR") == minor_units("USD") == 2
    amounts = [d["total"], d["total_other_view"], *d["by_region"].values()]
    for p in d["phases"]:
        amounts += [p["cost"], *(i["amount"] for i in p["line_items"])]
    for m in d["cash_flow"]:
        amounts += [v for k, v in m.items() if k != "month"]
    amounts += [c["converted"] for c in d["by_currency"].values()]
    assert amounts and all(float(a).is_integer() for a in amounts), amounts
    items = [i["amount"] for p in d["phases"] for i in p["line_items"]]
    assert d["total"] == sum(items) and d["total"] > 1e6
    # What USD bills stays in cents; the table prints whole yen.
    assert any(not float(c["amount"]).is_integer() for c in d["by_currency"].values())
    text = runner.invoke(app, ["quote", str(path), "--currency", "JPY"]).stdout
    head = text.splitlines()[0]
    assert head.endswith(f"total {d['total']:,.0f} JPY"), head
    assert re.search(r"\d\.\d\d JPY", text) is None
    q = quote(load_scenario(path), catalog, currency="JPY")
    assert str(q.total) == f"{d['total']:,.0f} JPY" and float(q.total) == d["total"]
    assert str(Money(1234.5, "USD")) == "1,234.50 USD" and str(Money(1234.0, "JPY")) == "1,234 JPY"


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("tokens = 1e11", "tokns = 1e11"),
            "phases[0].tokns: unknown field 'tokns': did you mean 'tokens'?",
        ),
        (("tokens = 1e11", "tokens = -5"), "phases[0].tokens: must be between 1 and 1e+17 (got -5"),
        (("tokens = 1e11", 'tokens = "many"'), "phases[0].tokens: must be a number (got 'many')"),
        (
            ("tokens = 1e11", 'tokens = 1e11\nprecision = "fp4"'),
            "phases[0].precision: must be 'bf16', 'fp16', 'fp8' or 'int8' (got 'fp4'): did you "
            "mean 'fp8'?",
        ),
        (('name = "train"', 'name = ""'), "phases[0].name: must not be empty (got '')"),
        (
            (SMALL[SMALL.index("[model]") :], 'phases = []\n[model]\npreset = "llama-3.1-8b"\n'),
            "phases: must not be empty",
        ),
        (('name = "train"\n', ""), "phases[0].name: missing required field"),
        (
            ('region = "us-east"', 'region = "us-eats"'),
            "phases[0].site.region: unknown region 'us-eats': did you mean 'us-east'?",
        ),
        (
            ('accelerator = "h100-sxm"', 'accelerator = "h1000"'),
            "phases[0].site.accelerator: unknown accelerator 'h1000': did you mean 'h100-sxm'?",
        ),
        (
            ('provider = "lambda"', 'provider = "lamda"'),
            "phases[0].site.provider: unknown provider 'lamda': did you mean 'lambda'?",
        ),
        (('currency = "USD"', 'currency = "XAU"'), "currency: unknown currency 'XAU'"),
        (("as_of = 2025-11-27", "as_of = 1999-01-01"), "is before the oldest price in the catalog"),
        (
            ('preset = "llama-3.1-8b"', 'preset = "llama-3.1-8"'),
            "model.preset: unknown model 'llama-3.1-8'",
        ),
    ],
)
def test_bad_scenarios_are_one_line_exit_2(runner, write, change, expected):
    path = write("bad.toml", SMALL.replace(*change))
    before = path.read_text()
    result = runner.invoke(app, ["quote", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}")
    assert expected in lines[0]
    assert "Traceback" not in result.output
    assert path.read_text() == before


# pydantic's own wording, which no message may use (rev18b #8).
_PYDANTIC_WORDS = re.compile(
    r"should (be|have)|Input |Field required|Extra inputs|valid (number|integer|string|list|"
    r"dictionary|date|boolean)|after validation|instance of"
)


def test_no_scenario_error_is_in_pydantic_words():
    # rev18b #8: beside the product's own messages ("must be between 1 and 1e+17"), pydantic's
    # reached the user: "phases: List should have at least 1 item after validation, not 0",
    # "String should have at least 1 character", "Input should be a valid number, unable to
    # parse string as a number". Every field of the examples, given a wrong value of each kind.
    wrong = ["abc", "", 1.5, -1, True, None, [], ["a"], {}, {"x": 1}, "x" * 300, 10**30]
    said: set[str] = set()

    def fields(d: object, path: tuple[object, ...]):
        items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else []
        for k, v in items:
            yield from fields(v, (*path, k))
        yield path

    for example in ("split_auto", "stockpile_owner", "split_abroad_home"):
        base = tomllib.loads((EXAMPLES / f"{example}.toml").read_text())
        for path in [p for p in fields(base, ()) if p]:
            for value in wrong:
                data = json.loads(json.dumps(base, default=str))
                at = data
                for k in path[:-1]:
                    at = at[k]
                at[path[-1]] = value
                try:
                    parse_scenario(data, "s.toml")
                except ScenarioError as e:
                    said |= {str(p) for p in e.problems or [e]}
    leaked = sorted(m for m in said if _PYDANTIC_WORDS.search(m))
    assert len(said) > 100 and not leaked, leaked[:5]
    # Built in code and read from JSON text, as from a file.
    for build in (lambda: Scenario.model_validate([1]), lambda: Scenario.model_validate_json("{")):
        with pytest.raises(ScenarioError) as err:
            build()
        assert not _PYDANTIC_WORDS.search(str(err.value)), str(err.value)


def test_codes_must_be_upper_case(write):
    path = write(
        "lower.toml", SMALL.replace('currency = "USD"', 'currency = "USD"\ntenant_hq = "cn"')
    )
    with pytest.raises(
        ScenarioError,
        match=r"tenant_hq: must be an ISO 3166 country code like 'CN'.*did you mean 'CN'",
    ):
        load_scenario(path)


def test_yaml_errors_name_the_line(write):
    path = write("bad.yaml", "name: x\nas_of: 2025-01-01\nmodel: {preset: x\nphases: []\n")
    with pytest.raises(ScenarioError, match=r"not valid YAML: .*\(line 4, column 7\)"):
        load_scenario(path)


def test_yaml_refuses_a_key_given_twice(write):
    # review11a #12: the last of two `tokens` silently won (TOML and JSON refuse).
    data = tomllib.loads((EXAMPLES / "split_abroad_home.toml").read_text())
    text = yaml.safe_dump(data, sort_keys=False)
    assert "  tokens: 36000000000000.0\n" in text
    twice = text.replace("  tokens: 36000000000000.0\n", "  tokens: 1.0e12\n  tokens: 1.0e13\n")
    line = twice.splitlines().index("  tokens: 1.0e12") + 1
    with pytest.raises(
        ScenarioError, match=rf"key 'tokens' is given twice in one mapping \(lines {line} and "
    ):
        load_scenario(write("twice.yaml", twice))
    merged = "base: &b {days: 1}\nother:\n  <<: *b\n  days: 2\n"  # a merge is overridden
    assert yaml.load(merged, Loader=_yaml_loader())["other"]["days"] == 2


def test_yaml_reads_no_yes_on_off_as_strings(write):
    # review11a #12: `tenant_hq: NO` (Norway) was YAML 1.1's false ("got False").
    data = tomllib.loads((EXAMPLES / "overseas_serving.toml").read_text())
    text = yaml.safe_dump(data, sort_keys=False)
    assert "tenant_hq: " in text
    text = "tenant_hq: NO\n" + "\n".join(
        line for line in text.splitlines() if not line.startswith("tenant_hq:")
    )
    s = load_scenario(write("no.yaml", text))
    assert s.tenant_hq == "NO"
    # `yes` is text, which a boolean field refuses as in TOML and JSON (rev18a #8: it was read
    # as true, and "off", "n" and "0" as false).
    text = text.replace("  kind: serve\n", "  kind: serve\n  disaggregated: yes\n", 1)
    with pytest.raises(ScenarioError, match=r"disaggregated: must be true or false \(got 'yes'\)"):
        load_scenario(write("yes.yaml", text))
    assert yaml.load("a: true\nb: off", Loader=_yaml_loader()) == {"a": True, "b": "off"}


def test_transfer_to_missing_phase(write):
    path = write("bad.toml", SMALL + '\n[[transfers]]\nfrom = "train"\nto = "serv"\n')
    with pytest.raises(ScenarioError, match=r"transfers\[0\] names a missing phase 'serv'"):
        load_scenario(path)


def test_file_errors(runner, write):
    missing = runner.invoke(app, ["quote", "nope.toml"])
    assert missing.exit_code == 2 and "nope.toml: no such file" in missing.stderr
    broken = write("broken.toml", "name = \n")
    result = runner.invoke(app, ["quote", str(broken)])
    assert result.exit_code == 2 and "not valid TOML" in result.stderr
    other = write("plan.txt", SMALL)
    result = runner.invoke(app, ["quote", str(other)])
    assert result.exit_code == 2 and "unknown file type '.txt'" in result.stderr


def test_unreachable_latency_is_a_blocking_finding(runner, write):
    text = SMALL.replace(
        "tokens = 1e11\ndevices = 16",
        # Users in the US: users in China (the default) would make it personal data served
        # abroad (rev12d #7), blocked before the latency is judged.
        'kind = "serve"\nusers = "us"\ndays = 30\n'
        "input_tokens_per_day = 1e9\noutput_tokens_per_day = 1e8\ntpot_ms = 0.5",
    )
    path = str(write("slow.toml", text))
    result = runner.invoke(app, ["quote", path, "-f", "json"])
    assert result.exit_code == 0, result.output
    f = next(f for f in json.loads(result.stdout)["findings"] if f["severity"] == "block")
    assert f["code"] == "latency-target-missed" and "no batch meets TPOT 0.5 ms" in f["message"]
    strict = runner.invoke(app, ["quote", path, "--strict"])
    assert strict.exit_code == 1 and "latency-target-missed" in strict.stderr


# -- outputs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_golden_outputs(runner, golden, frozen, path):
    for fmt, ext in (("json", "json"), ("table", "txt")):
        result = runner.invoke(app, ["quote", str(path), "--format", fmt])
        assert result.exit_code == 0, result.output
        golden(f"quote-{path.stem}.{ext}", result.stdout)


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_other_formats(runner, fmt):
    result = runner.invoke(app, ["quote", str(EXAMPLES / "split_abroad_home.toml"), "-f", fmt])
    assert result.exit_code == 0
    # CSV is one table with one header: the line items (other tables with --table).
    assert result.stdout.startswith("phase,region,component" if fmt == "csv" else "# ")


def test_compare(runner, catalog):
    files = [EXAMPLES / "split_abroad_home.toml", EXAMPLES / "deepseek_domestic.toml"]
    result = runner.invoke(app, ["compare", *map(str, files), "--format", "json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    rows = {r[""]: r for r in d["rows"]}
    a, b = d["scenarios"]
    assert rows["total (CNY)"][b] - rows["total (CNY)"][a] == pytest.approx(
        rows["vs first (CNY)"][b], abs=0.01
    )
    assert rows["vs first (CNY)"][a] == 0
    lib = compare(files, catalog)
    assert [q.name for q in lib.quotes] == [a, b]
    frame = lib.to_polars()
    assert frame.filter(pl.col("scenario") == a)["cost"].sum() == pytest.approx(lib.quotes[0].total)
    one = runner.invoke(app, ["compare", str(files[0])])
    assert one.exit_code == 2 and "needs two or more scenario files, got 1" in one.stderr


def test_schema_command(runner):
    result = runner.invoke(app, ["schema"])
    schema = json.loads(result.stdout)
    assert "phases" in schema["properties"] and "as_of" in schema["required"]


def test_to_polars(catalog):
    q = quote(load_scenario(EXAMPLES / "deepseek_domestic.toml"), catalog)
    df = q.to_polars()
    assert df["amount"].sum() == pytest.approx(q.total)


def test_planning_script_sweeps_and_saves_a_chart(tmp_path):
    chart = tmp_path / "deadline.svg"
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "planning_script.py"), str(chart)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert "deadline (days)" in out.stdout and f"chart: {chart}" in out.stdout
    svg = chart.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "phases.pretrain.deadline_days" in svg
    # a longer deadline needs fewer devices at once: the pretraining bill falls
    rows = [line for line in out.stdout.splitlines() if line.startswith("│ ") and "CNY" in line]
    pretrain = [float(r.split("┆")[1]) for r in rows]
    assert len(pretrain) == 5 and pretrain == sorted(pretrain, reverse=True)


def test_capital_arriving_after_its_phase_starts_is_not_said_to_be_there_by_then(catalog):
    # rev19a #7d: a purchase started 35 days after the quote date, against a 90-day lead time,
    # read "to be delivered by the phase start: ordered on 2025-11-27, it arrives about 90 days
    # later, on 2026-02-25" beside the `lead-time` block that says it is late.
    text = """
name = "early"
as_of = 2025-11-27
currency = "CNY"
tenant_hq = "CN"
[model]
preset = "qwen3-235b-a22b"
[[phases]]
name = "serve-cn"
kind = "serve"
start = 2026-01-01
users = "cn"
data = "personal"
days = 365
input_tokens_per_day = 4e10
output_tokens_per_day = 8e9
tpot_ms = 50
precision = "int8"
site = { region = "cn-west", accelerator = "ascend-910c", pricing = "owned" }
"""
    q = quote(parse_scenario(tomllib.loads(text)), catalog)
    codes = {f.code: f.message for f in q.findings}
    assert "lead-time" in codes
    capex = codes["owned-capex"]
    arrives = date.fromisoformat(re.search(r"days later, on (\d{4}-\d\d-\d\d)", capex).group(1))
    late = (arrives - date(2026, 1, 1)).days
    assert late > 0 and "to be delivered by the phase start" not in capex
    assert f"wanted for the phase start (2026-01-01) but delivered {late} days after it" in capex
    # Started after the lead time, it is there by then.
    on_time = quote(
        parse_scenario(tomllib.loads(text.replace("2026-01-01", "2026-03-01"))), catalog
    )
    (capex,) = [f.message for f in on_time.findings if f.code == "owned-capex"]
    assert "to be delivered by the phase start: " in capex and "wanted for" not in capex


def test_library_quote_of_auto_sites_plans_them(catalog):
    q = quote(EXAMPLES / "split_auto.toml", catalog)
    assert q.assumptions["placed_by_planner"] == [
        "pretrain",
        "post-train",
        "serve-cn",
        "serve-abroad",
    ]


def test_findings_for_dates_capital_and_distance(catalog, write):
    s = load_scenario(EXAMPLES / "split_abroad_home.toml")
    early = quote(s, catalog, as_of=date(2024, 5, 1))
    unpriced = next(f for f in early.findings if f.phase == "pretrain" and f.code == "unpriced")
    assert "valid on 2024-05-01 (the catalog's first price is from" in unpriced.message
    assert "pretrain" in quote_view(early).unpriced
    q = quote(s, catalog)
    capex = next(f for f in q.findings if f.code == "owned-capex" and f.phase == "post-train")
    # 1024 Ascend 910B = 128 eight-card servers at the catalog's server price.
    hw = catalog.dated("hardware", s.as_of).filter(pl.col("id") == "ascend-910b-atlas800t-a2")
    assert f"{128 * hw['price'][0]:,.0f} CNY" in capex.message
    # rev16a #10: "(lead-time says when it can arrive)" named a finding shown only when the
    # hardware is late; the delivery is said in the finding itself, true either way.
    assert "lead-time" not in {f.code for f in q.findings if f.phase == "post-train"}
    assert "lead-time says" not in capex.message
    # Ordered just in time (rev18a #6): the lead time before the phase start.
    (post,) = [p for p in q.phases if p.name == "post-train"]
    lead = catalog.default("purchase_lead_time_days")
    order = post.start - timedelta(days=lead)
    assert (
        f"to be delivered by the phase start: ordered on {order} (the latest order that arrives "
        f"in time, not on {s.as_of}: " in capex.message
    )
    assert (
        f"they arrive about {lead:,.0f} days later, on {post.start} (defaults.csv "
        "purchase_lead_time_days)" in capex.message
    )
    far = SMALL.replace(
        "tokens = 1e11\ndevices = 16",
        'kind = "serve"\nusers = "CN"\ndays = 30\n'
        "input_tokens_per_day = 1e9\noutput_tokens_per_day = 1e8\nttft_ms = 100",
    )
    q = quote(load_scenario(write("far.toml", far)), catalog)
    f = next(f for f in q.findings if f.code == "latency-target-missed")
    assert f.severity == "block" and "round trip to users in China" in f.message
    q = quote(load_scenario(write("far2.toml", far.replace("\nttft_ms = 100", ""))), catalog)
    f = next(f for f in q.findings if f.code == "users-far")
    assert f.severity == "warn" and "us-east" in f.message


def test_peak_to_average_default_comes_from_the_catalog(write, catalog):
    text = SMALL.replace(
        "tokens = 1e11\ndevices = 16",
        'kind = "serve"\ndays = 30\ninput_tokens_per_day = 1e10\noutput_tokens_per_day = 2e9',
    )
    s = load_scenario(write("serve.toml", text))
    base = quote(s, catalog).phases[0]
    doubled = catalog.with_table(
        "defaults",
        lambda df: df.with_columns(
            pl.when(pl.col("name") == "peak_to_average")
            .then(pl.col("value") * 2)
            .otherwise(pl.col("value"))
            .alias("value")
        ),
    )
    assert quote(s, doubled).phases[0].devices > base.devices


def test_idle_commitment_is_flagged(catalog):
    q = quote(load_scenario(EXAMPLES / "all_abroad.toml"), catalog)
    f = next(f for f in q.findings if f.code == "idle-commitment")
    assert f.phase == "pretrain" and "3-year commitment bills 3 years" in f.message


def test_date_far_past_every_catalog_is_refused(runner, write):
    path = write("far.toml", SMALL.replace("as_of = 2025-11-27", "as_of = 2099-01-01"))
    result = runner.invoke(app, ["quote", str(path)])
    assert result.exit_code == 2
    assert "as_of: 2099-01-01 is more than 3 years after the newest price" in result.stderr


def test_more_than_a_self_service_block_on_a_listing_is_unverified(catalog):
    # review8a #6: 1,280 B200 on demand in us-east (and 262,144 H100 for a two-day deadline)
    # rested on capacity no listing shows, and the output never said so.
    from estimator import plan

    p = plan(EXAMPLES / "cn_lab_no_stockpile.toml", catalog)
    pre = next(x for x in p.quote.phases if x.name == "pretrain")
    found = {f.code: f for f in p.quote.findings if f.phase == "pretrain"}
    assert pre.billed_devices > 512 and found["capacity-unverified"].severity == "warn"
    small = {f.code for f in p.quote.findings if f.phase == "serve-foreign"}
    assert "capacity-unverified" not in small  # 14 devices: within a block


def test_spot_training_says_any_reclaimed_instance_restarts_the_run(catalog):
    # rev12d #10: "its price moves (up to 2.62685 USD per device-hour)" quoted the price used
    # as a ceiling, and "plan restarts" did not say a reclaimed node stops all 160.
    from estimator import parse_scenario

    data = {
        "name": "spot pretrain", "as_of": "2025-11-27", "currency": "USD", "tenant_hq": "CN",
        "model": {"preset": "llama-3.1-8b"},
        "phases": [{"name": "pretrain", "tokens": 1e12, "data": "public", "devices": 1280,
                    "site": {"region": "us-east", "accelerator": "b200", "pricing": "spot",
                             "provider": "aws"}}],
    }  # fmt: skip
    q = quote(parse_scenario(data), catalog)
    (p,) = q.phases
    (msg,) = [f.message for f in q.findings if f.code == "spot-capacity"]
    (compute,) = [i for i in p.line_items if i.component == "compute"]
    assert f"{compute.unit_price:g} USD per device-hour" in msg
    assert "up to" not in msg and "the price used" in msg
    assert "a synchronous run of 160 instances on spot restarts" in msg
    assert next(f for f in q.findings if f.code == "spot-capacity").severity == "warn"


def test_a_quote_in_hong_kong_dollars_converts_at_the_linked_rate(catalog):
    # rev12d #12: --currency HKD was unknown, though Hong Kong entities are how many Chinese
    # labs contract abroad; the HKMA holds it at 7.80 (7.75-7.85 band), a peg like AED's.
    from estimator.report.view import quote_view

    s = load_scenario(EXAMPLES / "gulf_option.toml")
    usd, hkd = quote(s, catalog), quote(s, catalog, currency="HKD")
    assert hkd.assumptions["fx_per_usd"]["HKD"] == {
        "per_usd": 7.8,
        "as_of": "2005-05-18",
        "peg": True,
    }
    assert abs(quote_view(hkd).total - 7.8 * quote_view(usd).total) < 1.0
    assert "stale-fx" not in {f.code for f in hkd.findings}


def test_unit_prices_of_a_thousand_or_more_keep_six_significant_figures(runner, tmp_path):
    # rev12a #9: amortised serve-cn hardware read "8,760 server-hour x 1,370 = 12,000,000.00";
    # the price is 1,369.863 (60 M / 5 / 8,760), and 8,760 x 1,370 is 12,001,200.
    from estimator.report.rows import Price, cell

    assert [cell(Price(v), 6) for v in (1369.863, 1_200_000.0, 999.9999, 9.90997)] == [
        "1,369.86", "1,200,000", "1,000", "9.90997"
    ]  # fmt: skip
    text = (EXAMPLES / "split_abroad_home.toml").read_text(encoding="utf-8")
    path = tmp_path / "am.toml"
    path.write_text(
        text.replace('tenant_hq = "CN"', 'tenant_hq = "CN"\naccounting = "amortised"', 1),
        encoding="utf-8",
    )
    out = runner.invoke(app, ["quote", str(path), "--table", "line-items"]).stdout
    assert "1,369.86" in out and " 1,370 " not in out


def test_a_fleet_with_a_deadline_is_held_to_it(write, catalog):
    # rev12a #7: `train` takes one of --devices and --deadline-days; a scenario may give both
    # (the time objective pins a fleet beside a deadline the same way): that fleet, held to the
    # deadline. A run past it is blocked, not priced (rev12a #4), and "1 day" is singular.
    path = write(
        "dd.toml",
        'name = "x"\nas_of = 2025-11-27\ncurrency = "CNY"\n[model]\npreset = "llama-3.1-8b"\n'
        '[[phases]]\nname = "a"\nkind = "train"\ntokens = 1e11\ndevices = 64\n'
        'deadline_days = 1\nsite = { region = "sg", accelerator = "h100-sxm", '
        'pricing = "on_demand" }\n',
    )
    q = quote(load_scenario(path), catalog)
    (p,) = q.phases
    assert p.devices == 64 and not p.priced and (p.end - p.start).days == 1
    (block,) = [f for f in q.findings if f.code == "deadline-missed"]
    assert block.message.endswith("deadline is 1 day")
    text = path.read_text(encoding="utf-8").replace("deadline_days = 1", "deadline_days = 3")
    longer = quote(load_scenario(write("dd2.toml", text)), catalog)
    assert longer.phases[0].priced and not longer.blocked


def test_the_headline_total_marks_the_blocked_phases_it_counts(runner, tmp_path):
    """rev13b #10: all_abroad's header read "total 757,798,774.70 USD", counting two phases the
    data-export rules block, unmarked; unpriced phases were already named as left out. The
    text, HTML and JSON views say which phases the total counts that cannot go ahead."""
    path = str(EXAMPLES / "all_abroad.toml")
    text = runner.invoke(app, ["quote", path])
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0].endswith(" USD (includes blocked: post-train, serve)")
    d = json.loads(runner.invoke(app, ["quote", path, "-f", "json"]).stdout)
    assert d["blocked"] == ["post-train", "serve"] and d["unpriced"] == []
    page = tmp_path / "r.html"
    assert runner.invoke(app, ["quote", path, "-f", "html", "-o", str(page)]).exit_code == 0
    assert "</span> (includes blocked: post-train, serve)" in page.read_text(encoding="utf-8")
    plan = json.loads(runner.invoke(app, ["plan", path, "-f", "json"]).stdout)
    assert plan["quote"]["blocked"] == ["post-train", "serve"]
    # A clean plan has none; the schemas of the quote and the plan publish the field.
    clean = json.loads(
        runner.invoke(app, ["quote", str(EXAMPLES / "split_abroad_home.toml"), "-f", "json"]).stdout
    )
    assert clean["blocked"] == []
    for what in ("quote", "plan"):
        schema = runner.invoke(app, ["schema", what]).stdout
        assert '"blocked": {' in schema and "the total includes them" in schema
    # With unpriced phases too, one parenthesis says both.
    from estimator.report.view import excludes

    assert excludes(["a"], 3, ["b"]) == " (excludes unpriced: a; includes blocked: b)"
    assert excludes([], 3, []) == ""


def test_a_blocked_transfer_is_named_in_the_headline_and_the_json(runner, write, catalog):
    """rev14a #2: a dataset of personal data sent from cn-east to a phase in sg is blocked
    (`Quote.blocked`, --strict exits 1) while the headline said nothing and the JSON's
    `blocked` was []. The transfer is named as its finding names it, once for two transfers
    between the same phases; the schema version says the list's meaning grew."""
    path = write(
        "tr.toml",
        'name = "tr"\nas_of = 2025-11-27\ncurrency = "USD"\ntenant_hq = "CN"\n'
        '[model]\npreset = "llama-3.1-8b"\n'
        '[[phases]]\nname = "pretrain"\ntokens = 1e11\ndata = "personal"\ndevices = 64\n'
        'site = { region = "cn-east", accelerator = "h100-sxm", pricing = "contract" }\n'
        '[[phases]]\nname = "ft"\nworkload = "finetune"\ntokens = 1e9\ndata = "public"\n'
        'devices = 8\nsite = { region = "sg", accelerator = "h100-sxm", pricing = "on_demand" }\n'
        '[[transfers]]\nfrom = "pretrain"\nto = "ft"\nwhat = "dataset"\n'
        '[[transfers]]\nfrom = "pretrain"\nto = "ft"\nwhat = "checkpoint"\n',
    )
    q = quote(load_scenario(path), catalog)
    assert q.blocked
    assert [f.phase for f in q.findings if f.severity == "block"] == ["transfer pretrain->ft"]
    text = runner.invoke(app, ["quote", str(path)])
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0].endswith(" USD (includes blocked: transfer pretrain->ft)")
    d = json.loads(runner.invoke(app, ["quote", str(path), "-f", "json"]).stdout)
    assert d["blocked"] == ["transfer pretrain->ft"] and d["schema_version"] == "12"
    assert runner.invoke(app, ["quote", str(path), "--strict"]).exit_code == 1
    # Within one region nothing leaves it: nothing blocked.
    home = path.read_text(encoding="utf-8").replace(
        'region = "sg", accelerator = "h100-sxm", pricing = "on_demand"',
        'region = "cn-east", accelerator = "h100-sxm", pricing = "contract"',
    )
    d = json.loads(runner.invoke(app, ["quote", str(write("h.toml", home)), "-f", "json"]).stdout)
    assert d["blocked"] == []


_T1 = """
name = "t1"
as_of = 2026-07-01
currency = "USD"
tenant_hq = "SG"
[model]
preset = "llama-3.1-70b"
[[phases]]
name = "pt"
tokens = 2e12
data = "public"
devices = 512
site = { region = "sg", accelerator = "h100-sxm", pricing = "on_demand", provider = "gcp" }
"""


def test_an_override_row_that_drops_a_figure_is_said_and_the_network_is_stated(write, tmp_path):
    # rev15a #9: a price-only override row for GCP's a3-highgpu-8g left the optional
    # instance_scaleout_gbit_s empty; the whole row replaced the embedded one, its timing fell
    # back to the accelerator's network and the device-hours moved with no word.
    from pricing import load_catalog

    offers = load_catalog().table("offers")
    header = ",".join(offers.columns)
    row = ("gcp,sg,h100-sxm,a3-highgpu-8g,8,on_demand,5.00,USD,0,,,listed,,{net},,,published,"
           "my discount,email,2026-07-01")  # fmt: skip
    assert header.startswith("provider,region,accelerator,instance,devices_per_instance,pricing")
    s = load_scenario(write("t1.toml", _T1))
    said = {}
    for name, net in (("dropped", ","), ("kept", "1000,https://cloud.google.com")):
        write(f"{name}/offers.csv", f"{header}\n{row.format(net=net)}\n")
        q = quote(s, load_catalog(tmp_path / name))
        said[name] = (q, {f.code: f.message for f in q.findings})
    q, found = said["dropped"]
    assert found["override-drops-figure"] == (
        "offers.csv:2 leaves instance_scaleout_gbit_s empty where the embedded offers.csv row "
        "gives 1000, so the accelerator's network per device is used: an override row replaces "
        "the embedded row whole (copy the figure into the row to keep it)"
    )
    assert q.assumptions["physics"]["pt"].endswith(
        "network between instances 400 Gbit/s per device (the h100-sxm's figure, "
        "accelerators.csv; the offer's row gives none)"
    )
    kept, found = said["kept"]
    assert "override-drops-figure" not in found
    assert (
        "125 Gbit/s per device (the offer's 1,000 Gbit/s per 8-device instance"
        in (kept.assumptions["physics"]["pt"])
    )
    assert kept.phases[0].device_hours != q.phases[0].device_hours
    # The embedded catalog alone drops nothing.
    assert load_catalog().dropped("offers").is_empty()


def _embedded_rows(table: str) -> list[dict[str, str]]:
    import csv

    from pricing.catalog import EMBEDDED_DIR

    with open(EMBEDDED_DIR / f"{table}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _embedded_row(table: str, first: str) -> tuple[list[str], dict[str, str]]:
    """The header and the row of the embedded `table` whose first cells are `first`."""
    rows = _embedded_rows(table)
    (row,) = [r for r in rows if ",".join(r.values()).startswith(first)]
    return list(rows[0]), row


def _override(directory, table: str, header: list[str], row: dict[str, str]) -> None:
    import csv

    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / f"{table}.csv", "w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, header)
        out.writeheader()
        out.writerow(row)


_H100 = """
name = "h"
as_of = 2026-06-01
currency = "USD"
[model]
preset = "llama-3.1-70b"
[[phases]]
name = "pt"
tokens = 1e12
data = "public"
devices = {devices}
site = {{ region = "us-east", accelerator = "h100-sxm", {site} }}
"""


def test_an_override_is_said_only_for_the_figures_the_quote_reads(write, tmp_path):
    # rev15c #3: an accelerators.csv row without scaleout_gbps and int8_tops warned "so no
    # INT8 support is used; ... so the default network is used" on a BF16 run over AWS p5,
    # whose own 3,200 Gbit/s network times it: the quote (1,748,851.21 USD) did not move.
    from pricing import load_catalog

    header, row = _embedded_row("accelerators", "h100-sxm,")
    _override(
        tmp_path / "cat", "accelerators", header, row | {"scaleout_gbps": "", "int8_tops": ""}
    )
    catalog, embedded = load_catalog(tmp_path / "cat"), load_catalog()

    def said(devices: int, site: str) -> tuple[str | None, float, float]:
        s = load_scenario(write("h.toml", _H100.format(devices=devices, site=site)))
        q, base = quote(s, catalog), quote(s, embedded)
        found = {f.code: f.message for f in q.findings}.get("override-drops-figure")
        return found, q.total.amount, base.total.amount

    for devices, site in ((512, 'pricing = "on_demand", provider = "aws"'),
                          (8, 'pricing = "owned"')):  # fmt: skip
        found, total, base = said(devices, site)
        assert found is None and total == base, (devices, site)
    # Bought servers state no network of their own: a run over several reads the device's.
    found, total, base = said(512, 'pricing = "owned"')
    assert found == (
        "accelerators.csv:2 leaves scaleout_gbps empty where the embedded accelerators.csv row "
        "gives 50, so the default network is used: an override row replaces the embedded row "
        "whole (copy the figure into the row to keep it)"
    )
    assert total != base


_SV = """
name = "sv"
as_of = 2026-06-01
currency = "USD"
[model]
preset = "deepseek-v3"
[[phases]]
name = "serve"
kind = "serve"
users = "us"
data = "public"
days = 90
input_tokens_per_day = 2e10
output_tokens_per_day = 4e9
tpot_ms = 50
precision = "fp8"
site = { region = "us-east", accelerator = "h100-sxm", pricing = "on_demand", provider = "aws" }
"""

_MM = """
name = "mm"
as_of = 2025-07-01
currency = "USD"
[model]
preset = "llama-3.1-70b"
[[phases]]
name = "pt"
tokens = 1e12
data = "public"
devices = 512
[phases.site]
region = "cn-east"
accelerator = "h800"
pricing = "contract"
provider = "cn-h800-rental"
instance = "512x H800 cluster, 3-week rental (MiniMax-M1 RL run)"
"""


def test_an_override_is_judged_on_the_network_the_physics_reads(write, tmp_path):
    # rev15e #1: the rule was "devices (serving: the replica) > devices per instance". An MoE
    # replica reads the network past its NVLink group only, and a 512-device rental "instance"
    # of 8-device NVLink groups crosses the network too. Both read the offer's figure first.
    from pricing import load_catalog

    embedded = load_catalog()

    def run(text: str, table: str, first: str, column: str, name: str):
        header, row = _embedded_row(table, first)
        return cut(text, table, header, row, column, name)

    def cut(text: str, table: str, header: list[str], row: dict[str, str], column: str, name: str):
        _override(tmp_path / name, table, header, row | {column: ""})
        s = load_scenario(write(f"{name}.toml", text))
        q, base = quote(s, load_catalog(tmp_path / name)), quote(s, embedded)
        found = {f.code: f.message for f in q.findings}.get("override-drops-figure")
        return found, q, base

    # An MoE replica of 16 on p5 (8 per server) is timed on the offer's network, as training is
    # (3,200 Gbit/s per server): emptying the h100-sxm's figure moves nothing and is not said.
    found, q, base = run(_SV, "accelerators", "h100-sxm,", "scaleout_gbps", "sv_acc")
    assert found is None and q.total.amount == base.total.amount
    assert base.assumptions["physics"]["serve"].endswith(
        "network between instances 400 Gbit/s per device (the offer's 3,200 Gbit/s per "
        "8-device instance, offers.csv instance_scaleout_gbit_s)"
    )
    # Emptying the offer's figure falls back to the accelerator's, and both say so.
    offer = base.phases[0].offer
    assert offer is not None
    header, _ = _embedded_row("offers", "aws,us-east,h100-sxm,p5.48xlarge,8,on_demand,12.29,")
    (row,) = [r for r in _embedded_rows("offers") if r["instance"] == "p5.48xlarge"
              and r["pricing"] == "on_demand" and r["as_of"] == str(offer.as_of)]  # fmt: skip
    found, q, base = cut(_SV, "offers", header, row, "instance_scaleout_gbit_s", "sv_offer")
    assert q.phases[0].offer is not None and q.phases[0].offer.as_of == offer.as_of
    assert found is not None and found.startswith("offers.csv:2 leaves instance_scaleout_gbit_s")
    assert q.assumptions["physics"]["serve"].endswith(
        "network between instances 400 Gbit/s per device (the h100-sxm's figure, "
        "accelerators.csv; the offer's row gives none)"
    )
    # A slower instance network slows the replicas' all-to-all: more devices, more money.
    _override(tmp_path / "sv_slow", "offers", header, row | {"instance_scaleout_gbit_s": "400"})
    slow = quote(load_scenario(write("sv_slow.toml", _SV)), load_catalog(tmp_path / "sv_slow"))
    assert slow.phases[0].devices > base.phases[0].devices
    assert slow.total.amount > base.total.amount
    # 512 H800 rented as one "instance" still cross the network past 8-device NVLink groups.
    found, q, base = run(_MM, "accelerators", "h800,", "scaleout_gbps", "mm_acc")
    assert found is not None and found.startswith("accelerators.csv:2 leaves scaleout_gbps")
    # The run's time reads the network; its cost moves only when the run crosses a whole
    # 3-week term, which it no longer does at phys17b's refitted efficiencies.
    assert q.phases[0].wall_clock_days != base.phases[0].wall_clock_days
    assert base.assumptions["physics"]["pt"].endswith(
        "network between instances 400 Gbit/s per device (the h800's figure, accelerators.csv; "
        "the offer's row gives none)"
    )


def test_a_negotiated_price_row_without_the_public_range_is_not_warned(write, tmp_path):
    # rev15c #4: the README's own use case, a negotiated 2.00 USD row for cn-small-csp's A100,
    # was warned "so no price range is used" (twice) and told to copy the public 0.75-3.0 in.
    from pricing import load_catalog

    header, row = _embedded_row("offers", "cn-small-csp,cn-east,a100-40g,")
    mine = row | {"price_per_device_hour": "2.0", "price_low": "", "price_high": "",
                  "note": "my negotiated price", "source": "email"}  # fmt: skip
    _override(tmp_path / "cat", "offers", header, mine)
    catalog = load_catalog(tmp_path / "cat")
    assert catalog.dropped("offers").is_empty()
    text = _T1.replace("2e12", "1e11").replace("devices = 512", "devices = 64")
    text = text.replace('tenant_hq = "SG"', 'tenant_hq = "CN"').replace("2026-07-01", "2025-06-01")
    text = text.replace(
        'region = "sg", accelerator = "h100-sxm", pricing = "on_demand", provider = "gcp"',
        'region = "cn-east", accelerator = "a100-40g", provider = "cn-small-csp"',
    )
    q = quote(load_scenario(write("a.toml", text)), catalog)
    assert q.phases[0].offer is not None and q.phases[0].offer.source == "email"
    assert "override-drops-figure" not in {f.code for f in q.findings}


TINY_SERVICE = """
name = "tiny service"
as_of = 2025-11-27
currency = "USD"
tenant_hq = "SG"

[model]
total_params = 1e9

[[phases]]
name = "serve"
kind = "serve"
users = "sea"
data = "public"
days = 30
input_tokens_per_day = 1e6
output_tokens_per_day = 2e5
tpot_ms = 30
site = { region = "sg", accelerator = "h100-sxm", pricing = "on_demand", provider = "gcp" }
"""


def test_serving_capacity_billed_far_past_its_peak_demand_is_warned(runner, write, catalog):
    # rev16a #4: 8 H100 billed (whole a3-highgpu-8g instances) for a demand one device serves
    # at 0.0064% of their capacity, 13,713 USD per million output tokens, and no finding.
    q = quote(parse_scenario(tomllib.loads(TINY_SERVICE)), catalog)
    (p,) = q.phases
    assert (p.devices, p.billed_devices) == (1, 8)
    (f,) = [f for f in q.findings if f.code == "idle-serving-capacity"]
    assert f.severity == "warn" and f.phase == "serve"
    # The sizing's own figure: test_idle_serving_capacity_reads_the_sizings_own_figure.
    assert "uses 0.0064% of the capacity billed" in f.message
    assert "under the 10%" in f.message and "Trusted Advisor" in f.message
    assert "a3-highgpu-8g bills whole instances of 8" in f.message and 'site = "auto"' in f.message
    # Bought: servers, not instances.
    owned = TINY_SERVICE.replace('"on_demand", provider = "gcp"', '"owned"')
    q = quote(parse_scenario(tomllib.loads(owned)), catalog)
    (f,) = [f for f in q.findings if f.code == "idle-serving-capacity"]
    assert "is bought in whole servers of 8" in f.message
    # A demand that uses the instance is not warned.
    busy = TINY_SERVICE.replace("output_tokens_per_day = 2e5", "output_tokens_per_day = 4e10")
    busy = busy.replace("input_tokens_per_day = 1e6", "input_tokens_per_day = 1e11")
    q = quote(parse_scenario(tomllib.loads(busy)), catalog)
    assert q.phases[0].billed_devices > 1
    assert not [f for f in q.findings if f.code == "idle-serving-capacity"]


def test_idle_serving_capacity_reads_the_sizings_own_figure(catalog):
    # rev16c Q1: the check re-derived the sizing's count with the pooled output rate, which for
    # a disaggregated phase with less input than the request shape overstated the share. The
    # share is the sizing's own unrounded count (`_peak_devices`) over the devices billed.
    from estimator.checks import _percent
    from estimator.context import prepare
    from estimator.evaluate import evaluate
    from estimator.options import OptionQuery, select

    text = TINY_SERVICE.replace("input_tokens_per_day = 1e6", "input_tokens_per_day = 1e5")
    for disaggregated in ("false", "true"):
        scenario = parse_scenario(tomllib.loads(f"{text}disaggregated = {disaggregated}\n"))
        (phase,) = scenario.phases
        q = quote(scenario, catalog)
        (p,) = q.phases
        (f,) = [f for f in q.findings if f.code == "idle-serving-capacity"]
        c = prepare(scenario, catalog)
        rows = evaluate(c, phase, select(c.options, OptionQuery.of(phase.site)))
        (row,) = rows.filter(pl.col("instance") == p.instance).to_dicts()
        tp, busy = row["tensor_parallel"], row["_peak_devices"]
        if disaggregated == "false":  # the figure the sizing rounds up to whole replicas
            assert row["replicas"] == max(1, math.ceil(busy / tp))
        assert f"uses {_percent(busy / p.billed_devices)} of the capacity billed" in f.message
        physics = p.physics
        pooled = (2e5 * physics["peak_to_average"] / 86_400) / physics[
            "output_tokens_per_s_per_device"
        ]
        if disaggregated == "true":  # the pooled rate's count is not the sizing's
            assert pooled / physics["serve_goodput"] > busy * 1.1


IDLE_70B = """
name = "idle 70b"
as_of = 2025-11-27
currency = "USD"
tenant_hq = "SG"

[model]
preset = "llama-3.3-70b"

[[phases]]
name = "serve"
kind = "serve"
users = "sea"
data = "public"
days = 90
input_tokens_per_day = 2e7
output_tokens_per_day = 5e6
tpot_ms = 30
precision = "fp8"
site = { region = "sg", accelerator = "h100-sxm", pricing = "on_demand" }
"""


def _idle_advice(text: str, catalog) -> str:
    q = quote(parse_scenario(tomllib.loads(text)), catalog)
    (f,) = [f for f in q.findings if f.code == "idle-serving-capacity"]
    return f.message


def test_idle_serving_capacity_offers_only_what_could_be_cheaper(catalog):
    # rev16c M1: the advice named a smaller replica where the model does not fit on a site
    # already "auto", a smaller replica on an instance that still bills 8, and never
    # `disaggregated = false`.
    # DeepSeek-V3 at FP8 needs 16 x 80 GB, and "auto" searched every instance: nothing cheaper.
    dsv3 = IDLE_70B.replace('"llama-3.3-70b"', '"deepseek-v3"').replace("tpot_ms = 30", "")
    dsv3 = dsv3.replace(
        '{ region = "sg", accelerator = "h100-sxm", pricing = "on_demand" }', '"auto"'
    )
    dsv3 = dsv3.replace("2e7", "4e7").replace("5e6", "1e7")
    message = _idle_advice(dsv3, catalog)
    assert "cheaper" not in message and "replica_devices" not in message
    assert "the smallest deployment that holds the model at this target is 16 devices" in message
    # A 70B replica of 2 (the smallest meeting the 30 ms target) still bills a whole
    # a3-highgpu-8g: only another site could be cheaper.
    message = _idle_advice(IDLE_70B, catalog)
    assert "replica_devices" not in message and "fewer devices" not in message
    assert "cheaper" not in message and 'site = "auto" prices every one' in message
    # Two pools of 1 device on an 8-device instance, where the site also rents 1-device ones:
    # one pool, or the smaller instance, is cheaper.
    tiny = TINY_SERVICE.replace('"on_demand", provider = "gcp"', '"on_demand", provider = "aws"')
    tiny = tiny.replace('region = "sg"', 'region = "us-east", instance = "p5.48xlarge"')
    message = _idle_advice(tiny + "disaggregated = true\n", catalog)
    assert "an instance of fewer devices (1 at this site)" in message
    one = "disaggregated = false (one pool of 1 device at the aggregated rate where two pools"
    assert one in message


def test_idle_serving_capacity_sizes_a_smaller_replica_at_its_own_rates(catalog):
    # rev16d Q1: the advice sized the smallest replica meeting the targets with the chosen
    # replica's per-device rates. The row keeps that replica's own pool figures: those the
    # sizing has when the phase is given that replica size.
    from estimator.context import prepare
    from estimator.evaluate import evaluate
    from estimator.options import OptionQuery, select
    from estimator.physics.servestep import PEAK_POOL_COLUMNS

    def row_of(text: str) -> dict:
        scenario = parse_scenario(tomllib.loads(text))
        (phase,) = scenario.phases
        c = prepare(scenario, catalog)
        rows = evaluate(c, phase, select(c.options, OptionQuery.of(phase.site)))
        return rows.filter(pl.col("instance") == "a3-highgpu-8g").to_dicts()[0]

    chosen = row_of(IDLE_70B)
    least = chosen["_smallest_replica"]
    assert least < chosen["tensor_parallel"]
    at_least = row_of(IDLE_70B + f"replica_devices = {least}\n")
    assert at_least["tensor_parallel"] == least
    for k in PEAK_POOL_COLUMNS:
        assert chosen[f"_smallest{k}"] == pytest.approx(at_least[k], rel=1e-12), k


def test_idle_serving_capacity_offers_site_auto_to_compare_not_as_cheaper(catalog):
    # rev16d M2: `site = "auto"` was called cheaper on every fixed site, where the fixed site is
    # what "auto" picks (the same 16 devices and cost) and where `devices` is given (auto bills
    # them all the same).
    dsv3 = IDLE_70B.replace('"llama-3.3-70b"', '"deepseek-v3"').replace("tpot_ms = 30", "")
    dsv3 = dsv3.replace("2e7", "4e7").replace("5e6", "1e7")
    fixed = dsv3.replace(
        '{ region = "sg", accelerator = "h100-sxm", pricing = "on_demand" }',
        '{ region = "cn-east", accelerator = "h100-sxm", pricing = "contract" }',
    )
    auto = dsv3.replace(
        '{ region = "sg", accelerator = "h100-sxm", pricing = "on_demand" }', '"auto"'
    )
    a = quote(parse_scenario(tomllib.loads(auto)), catalog)
    f = quote(parse_scenario(tomllib.loads(fixed)), catalog)
    assert a.total.amount == f.total.amount  # the fixed site is what "auto" picks
    message = _idle_advice(fixed, catalog)
    assert "cheaper" not in message and "to compare" in message
    given = IDLE_70B.replace("2e7", "4e8").replace("5e6", "3.95e8") + "devices = 128\n"
    assert 'site = "auto"' not in _idle_advice(given, catalog)


def test_idle_serving_capacity_advises_only_counts_the_sizing_accepts(catalog):
    # rev16d M1: a disaggregated phase's advice rounded the pools' sum into replicas, not each
    # pool (`servestep.whole_replicas`), and advised "devices = 8" (and "one pool of 8 where two
    # pools need 8") where the sizing blocks 8 as capacity-short: its pools need 12.
    import re

    dg = IDLE_70B.replace("2e7", "4e8").replace("5e6", "3.95e8")
    dg += "disaggregated = true\ndevices = 128\n"
    message = _idle_advice(dg, catalog)
    assert "whole replicas need 12 devices" in message
    advised = [int(n) for n in re.findall(r"devices = (\d+)\b(?! is given)", message)]
    pools = [int(n) for n in re.findall(r"one pool of (\d+) device", message)]
    assert advised == [12]
    for n, split in [*((n, "true") for n in advised), *((n, "false") for n in pools)]:
        text = dg.replace("devices = 128", f"devices = {n}")
        text = text.replace("disaggregated = true", f"disaggregated = {split}")
        q = quote(parse_scenario(tomllib.loads(text)), catalog)
        assert not [f for f in q.findings if f.severity == "block"], (n, split)


def test_every_serving_phase_gives_its_price_per_million_output_tokens(runner, write):
    # rev16a #4: only `serve` gave the price per million output tokens; quote and plan JSON had
    # none. One rule (`costing.per_unit`) for every figure of it.
    path = write("tiny.toml", TINY_SERVICE)
    for command in ("quote", "plan"):
        result = runner.invoke(app, [command, str(path), "--format", "json"])
        assert result.exit_code == 0, result.output
        d = json.loads(result.stdout)
        d = d.get("quote", d)
        (p,) = d["phases"]
        assert p["output_tokens"] == 2e5 * 30
        assert p["cost_per_million_output_tokens"] == round(p["cost"] / 6e6 * 1e6, 2) == 13713.41
    text = runner.invoke(app, ["quote", str(path)]).stdout
    assert "per M output tokens (USD)" in text and "13,713.4" in text
    serve = runner.invoke(
        app,
        ["serve", "--params", "1e9", "--accelerator", "h100-sxm", "--region", "sg",
         "--pricing", "on_demand", "--output-tokens-per-day", "2e5", "--input-tokens-per-day",
         "1e6", "--tpot-ms", "30", "--days", "30", "--users", "sea", "--as-of", "2025-11-27",
         "--format", "json"],
    )  # fmt: skip
    assert serve.exit_code == 0, serve.output
    assert json.loads(serve.stdout)["cost_per_million_output_tokens"] == 13713.41
    # A training phase has none, and no column when nothing serves.
    small = runner.invoke(app, ["quote", str(write("small.toml", SMALL)), "--format", "json"])
    assert json.loads(small.stdout)["phases"][0]["cost_per_million_output_tokens"] is None
    assert "per M output" not in runner.invoke(app, ["quote", str(write("s.toml", SMALL))]).stdout


# -- egress by provider and volume (rev17a #10) ----------------------------------------------------

DATASET_MOVE = """
name = "ds"
as_of = 2025-11-27
currency = "USD"
tenant_hq = "SG"
[model]
preset = "llama-3.1-8b"
[[phases]]
name = "prep"
tokens = 1e12
data = "public"
devices = 256
site = { region = "us-east", accelerator = "h100-sxm", pricing = "on_demand", provider = "PROV" }
[[phases]]
name = "train"
tokens = 1e12
data = "public"
devices = 256
site = { region = "sg", accelerator = "h100-sxm", pricing = "on_demand" }
[[transfers]]
from = "prep"
to = "train"
what = "dataset"
gigabytes = GB
"""


def _egress(provider: str, gb: float) -> tuple[float, float]:
    """The transfer's cost and its line's unit price, from us-east by `provider`."""
    text = DATASET_MOVE.replace("PROV", provider).replace("GB", repr(gb))
    s = parse_scenario(tomllib.loads(text))
    (t,) = quote(s).transfers
    (item,) = t.line_items
    assert item.quantity * item.unit_price == pytest.approx(item.amount)
    return float(t.cost), item.unit_price


def test_egress_is_priced_at_the_source_providers_volume_tiers():
    from estimator.transfers import routes
    from pricing import load_catalog

    table = routes(load_catalog(), date(2025, 11, 27)).filter(
        (pl.col("from_region") == "us-east") & (pl.col("to_region") == "sg")
    )

    def tiers(provider: str) -> tuple[list[float], list[float]]:
        rows = table.filter(pl.col("provider") == provider).sort("from_gb")
        return rows["from_gb"].to_list(), rows["price_per_gb"].to_list()

    # AWS: its own marginal tiers, from the table's rows (no figure here is typed twice).
    bounds, prices = tiers("aws")
    assert len(bounds) > 1 and prices == sorted(prices, reverse=True)
    gb = 500_000.0
    expected = sum(
        p * max(0.0, min(gb, e) - b)
        for b, e, p in zip(bounds, [*bounds[1:], math.inf], prices, strict=True)
    )
    cost, unit = _egress("aws", gb)
    assert cost == pytest.approx(expected, abs=0.01)
    assert unit < prices[0], "500 TB is past AWS's first tier"
    # Within the first tier the price is the first tier's.
    assert _egress("aws", 1000.0)[1] == pytest.approx(prices[0])
    # GCP's own tiers differ from AWS's; a provider with no rows of its own keeps the flat
    # fallback (no provider), at every volume, as its row says.
    gcp_bounds, gcp_prices = tiers("gcp")
    assert (gcp_bounds, gcp_prices) != (bounds, prices) and len(gcp_bounds) > 1
    (flat,) = tiers("*")[1]
    assert _egress("lambda", gb)[1] == pytest.approx(flat)
    assert _egress("aws", gb)[0] < _egress("lambda", gb)[0]


def _moved_within(src: dict, dst: dict, gb: float) -> tuple:
    """The one transfer of `DATASET_MOVE` (`gb` of it) from a phase at `src` to one at `dst`."""
    data = tomllib.loads(DATASET_MOVE.replace("GB", repr(gb)))
    data["phases"][0]["site"], data["phases"][1]["site"] = src, dst
    data["fleet"] = [
        {"name": "lab", "region": "us-east", "accelerator": "h100-sxm", "devices": 512}
    ]
    q = quote(parse_scenario(data))
    (t,) = q.transfers
    return t, q


def test_a_move_between_two_providers_in_one_region_pays_the_source_egress():
    # rev18a #2: 80,000 GB from AWS us-east to GCP us-east was free and instant ("within
    # us-east"), the same to GCP us-central 6,419.20 USD. Free only within one site: one
    # provider's (or one fleet's) hardware in one region.
    from estimator.transfers import routes
    from pricing import load_catalog

    h100 = {"accelerator": "h100-sxm", "pricing": "on_demand"}
    aws, gcp = (
        {"region": region, **h100, "provider": p}
        for region, p in (("us-east", "aws"), ("us-east", "gcp"))
    )
    fleet = {"region": "us-east", "accelerator": "h100-sxm", "pricing": "fleet", "fleet": "lab"}
    gb = 80_000.0
    table = routes(load_catalog(), date(2025, 11, 27)).filter(
        (pl.col("from_region") == "us-east") & (pl.col("to_region") == "us-east")
    )

    def expected(provider: str) -> tuple[float, float]:
        """Cost and hours from the route's rows: the source provider's own, else no one's."""
        own = table.filter(pl.col("provider") == provider)
        rows = (own if own.height else table.filter(pl.col("provider") == "*")).sort("from_gb")
        bounds, prices = rows["from_gb"].to_list(), rows["price_per_gb"].to_list()
        assert set(rows["currency"]) == {"USD"}
        cost = sum(
            p * max(0.0, min(gb, e) - b)
            for b, e, p in zip(bounds, [*bounds[1:], math.inf], prices, strict=True)
        )
        return round(cost, 2), gb * 8 / rows["gbps"][0] / 3600

    for src, dst, provider in ((aws, gcp, "aws"), (gcp, aws, "gcp"), (fleet, aws, "*")):
        t, q = _moved_within(src, dst, gb)
        cost, hours = expected(provider)
        assert cost > 0 and (float(t.cost), t.hours) == pytest.approx((cost, hours))
        assert t.route.startswith("us-east ") and "within" not in t.route
        # As for any route: the transfer's line item, in the total.
        assert [i.component for i in q.line_items() if i.component == "transfer"] == ["transfer"]
    # The README's figure: AWS us-east to GCP us-east costs what it costs to GCP us-central.
    near = float(_moved_within(aws, gcp, gb)[0].cost)
    far = float(_moved_within(aws, {**gcp, "region": "us-central"}, gb)[0].cost)
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert near == far and f"({near:,.2f} USD, as to GCP us-central)" in readme
    # Within one provider, or on one fleet, nothing leaves the site.
    for site in (aws, fleet):
        t, _ = _moved_within(site, site, gb)
        assert (t.cost, t.hours, t.line_items) == (0, 0.0, [])
        assert t.route.startswith("within us-east (")


def test_a_transfers_line_names_the_tiers_it_spans():
    # rev18a #10: 470 GB read "3 volume tiers", the route's count; it spans the first only.
    q = quote(load_scenario(EXAMPLES / "split_abroad_home.toml"))
    (item,) = [i for i in q.line_items() if i.component == "transfer"]
    assert item.description.endswith(", 1 tier (0-1 TiB)") and item.quantity < 1100
    # 80,000 GB at AWS's tiers (10,240 / 51,200 / 153,600 GB): into the third.
    gcp = {
        "region": "us-east",
        "accelerator": "h100-sxm",
        "pricing": "on_demand",
        "provider": "gcp",
    }
    aws = {**gcp, "provider": "aws"}
    (item,) = _moved_within(aws, gcp, 80_000.0)[0].line_items
    assert item.description.endswith(", 3 tiers (0-153,600 GB)")
    (item,) = _moved_within(aws, gcp, 500_000.0)[0].line_items
    assert item.description.endswith(", 4 tiers (0 to over 153,600 GB)")


def test_an_unpriced_sites_network_warning_names_no_placeholder(runner):
    # rev17a #6: "spans 2 instances of (no offer) ... which the (no offer) offer's row does not
    # state" when no offer matches the site on the quote's date.
    path = str(EXAMPLES / "split_abroad_home.toml")
    out = runner.invoke(app, ["quote", path, "--as-of", "2024-01-01", "-f", "json"])
    found = [
        f for f in json.loads(out.stdout)["findings"] if f["code"] == "replica-network-unstated"
    ]
    assert found
    for f in found:
        assert "(no offer)" not in f["message"] and "no offer matching this site" in f["message"]


def test_a_training_phase_of_a_few_tokens_is_taken_for_a_unit_slip():
    # rev17a #12: `tokens = 36` (36T meant) quoted 0.00 USD without a word.
    from estimator.checks import PLAUSIBLE_TOKENS

    data = tomllib.loads(SMALL)

    def codes(tokens: float) -> set[str]:
        data["phases"][0]["tokens"] = tokens
        return {f.code for f in quote(parse_scenario(data)).findings}

    assert "tokens-implausibly-few" in codes(36)
    assert "tokens-implausibly-few" not in codes(PLAUSIBLE_TOKENS)


def test_a_unit_slip_is_guessed_only_for_a_count_small_enough_to_be_one():
    # rev17b #11: tokens = 5e5 was asked "Did you mean 500000e9 (B) or 500000e12 (T)?", a
    # run of 500 quadrillion tokens: the B/T reading is offered only for small counts.
    from estimator.checks import UNIT_SLIP_TOKENS

    data = tomllib.loads(SMALL)

    def said(tokens: float) -> str:
        data["phases"][0]["tokens"] = tokens
        q = quote(parse_scenario(data))
        (m,) = [f.message for f in q.findings if f.code == "tokens-implausibly-few"]
        return m

    assert "Did you mean 36e9 (B) or 36e12 (T)?" in said(36)
    big = said(UNIT_SLIP_TOKENS * 50)
    assert "Did you mean" not in big and "e12 (T)" not in big


def test_a_site_naming_a_fleet_needs_nothing_the_fleet_fixes():
    # rev17a #15: `site = { fleet = "f" }` was refused until region, accelerator and pricing
    # were repeated. The short spelling is the long one.
    data = {
        "name": "f",
        "as_of": "2025-11-27",
        "model": {"preset": "llama-3.1-8b"},
        "fleet": [{"name": "own", "region": "cn-east", "accelerator": "h800", "devices": 256}],
        "phases": [{"name": "train", "tokens": 1e12, "devices": 256, "site": {"fleet": "own"}}],
    }
    short = parse_scenario(data)
    long = {"fleet": "own", "region": "cn-east", "accelerator": "h800", "pricing": "fleet"}
    assert short == parse_scenario({**data, "phases": [{**data["phases"][0], "site": long}]})
    # What the site gives is kept, and judged as before.
    other = {**data, "phases": [{**data["phases"][0], "site": {"fleet": "own", "region": "sg"}}]}
    assert parse_scenario(other).phases[0].site.region == "sg"
    # The published schema accepts the short spelling too.
    from estimator.scenario import json_schema

    assert {"required": ["fleet"]} in json_schema()["$defs"]["Site"]["anyOf"]


# Two fleets in two regions with two accelerators; the site names the first (rev17b #5).
_TWO_FLEETS = """
name = "two fleets"
as_of = 2025-11-27
currency = "USD"
tenant_hq = "CN"
[[fleet]]
name = "f"
region = "cn-east"
accelerator = "h800"
devices = 1024
acquired = 2023-06-01
[[fleet]]
name = "g"
region = "cn-west"
accelerator = "h20"
devices = 1024
acquired = 2023-06-01
[model]
preset = "llama-3.1-70b"
[[phases]]
name = "a"
kind = "serve"
days = 30
tpot_ms = 40
input_tokens_per_day = 4e9
output_tokens_per_day = 1e9
site = { fleet = "f" }
"""


def test_changing_the_fleet_a_site_names_runs_on_the_new_fleet(tmp_path):
    # rev17b #5: the fleet's region and accelerator were written into the site as it was read,
    # so `with_changes` and `sweep` of `site.fleet` kept the first fleet's and quoted 0.00
    # ("no server to cost the fleet on for h800 in cn-east").
    path = tmp_path / "f.toml"
    path.write_text(_TWO_FLEETS)
    other = tmp_path / "g.toml"
    other.write_text(_TWO_FLEETS.replace('site = { fleet = "f" }', 'site = { fleet = "g" }'))
    s, on_g = load_scenario(path), quote(load_scenario(other))
    assert on_g.total > 0 and not on_g.blocked
    changed = s.with_changes({"phases.a.site.fleet": "g"})
    assert changed == load_scenario(other)
    assert (changed.phases[0].site.region, changed.phases[0].site.accelerator) == ("cn-west", "h20")
    assert quote(changed).total == on_g.total
    rows = sweep(s, {"phases.a.site.fleet": ["f", "g"]})
    assert rows["total"].to_list() == [quote(s).total, on_g.total]
    # A fleet moved takes the site with it; a region the site gives is its own, and kept.
    moved = s.with_changes({"fleet.f.region": "cn-north"})
    assert moved.phases[0].site.region == "cn-north"
    given = s.with_changes({"phases.a.site.region": "sg"})
    assert given.phases[0].site.region == "sg"
    # Fleets built in code are looked up as those read from a file.
    from estimator.scenario import Fleet, Scenario

    data = tomllib.loads(_TWO_FLEETS)
    built = Scenario(**{**data, "fleet": [Fleet(**f) for f in data["fleet"]]})
    assert built == s


def test_a_site_naming_a_fleet_is_refused_when_it_contradicts_it(tmp_path, runner):
    # rev17b #5: pricing "owned" silently ignored the fleet; another accelerator was told about
    # a `pricing = "fleet"` never written; a misspelt name said the site needs a region.
    cases = {
        'site = { fleet = "f", pricing = "owned" }':
            'phases[0].site names the fleet \'f\', so it runs on it: pricing is "fleet" (or left '
            'out), not "owned"',
        'site = { fleet = "f", accelerator = "h20" }':
            "phases[0].site.fleet: the fleet 'f' is h800 in cn-east, not h20 in cn-east",
        'site = { fleet = "F" }': "phases[0].site.fleet: no fleet 'F' (declared: f, g)",
        'site = { fleet = "x" }': "phases[0].site.fleet: no fleet 'x' (declared: f, g)",
    }  # fmt: skip
    path = tmp_path / "s.toml"
    for site, message in cases.items():
        path.write_text(_TWO_FLEETS.replace('site = { fleet = "f" }', site))
        result = runner.invoke(app, ["quote", str(path)])
        assert result.exit_code == 2 and message in result.output, (site, result.output)
        assert "Traceback" not in result.output and 'pricing = "fleet" needs' not in result.output


def test_a_table_given_only_with_an_option_names_the_option(runner):
    # rev17a #17: `quote --table uncertainty` without --samples said "'uncertainty' is not a
    # table of this report", as if it never was one.
    path = str(EXAMPLES / "split_auto.toml")
    result = runner.invoke(app, ["quote", path, "--table", "uncertainty"])
    assert result.exit_code == 2 and "only with --samples" in result.stderr
    result = runner.invoke(app, ["plan", path, "--table", "shock"])
    assert result.exit_code == 2 and "only with --shock" in result.stderr
    result = runner.invoke(app, ["quote", path, "--table", "shock"])  # quote has no --shock
    assert result.exit_code == 2 and "'shock' is not a table of this report" in result.stderr
    with_samples = ["quote", path, "--table", "uncertainty", "--samples", "50"]
    assert runner.invoke(app, with_samples).exit_code == 0


# Llama 3.1 70B served at 1e10 output tokens a day in us-east: the demand at peak needs 512
# H100 (rev17a #1).
def _short_service(devices: int | None, site: dict | None = None, fleet: int | None = None):
    data = {
        "name": "short service", "as_of": "2025-11-27", "currency": "USD", "tenant_hq": "US",
        "model": {"preset": "llama-3.1-70b"},
        "phases": [{
            "name": "a", "kind": "serve", "users": "us", "days": 30, "tpot_ms": 40,
            "input_tokens_per_day": 4e10, "output_tokens_per_day": 1e10,
            "site": site or {"region": "us-east", "accelerator": "h100-sxm",
                             "pricing": "on_demand"},
        }],
    }  # fmt: skip
    if devices is not None:
        data["phases"][0]["devices"] = devices
    if fleet is not None:
        data["tenant_hq"] = "CN"
        data["phases"][0]["users"] = "cn"
        data["fleet"] = [{"name": "f", "region": "cn-east", "accelerator": "h800",
                          "devices": fleet, "acquired": date(2023, 6, 1)}]  # fmt: skip
    return parse_scenario(data)


def test_serving_devices_given_short_of_their_demand_are_unpriced(catalog):
    # rev17a #1: 16 H100 given for a demand that needs 512 were priced at 79,257.60 USD, and
    # their price per million output tokens (0.2642 USD) was over the whole demand, 32 times
    # what they can serve. They are unpriced, as training's `devices` past its deadline are.
    short = quote(_short_service(16), catalog)
    (a,) = short.phases
    assert not a.priced and a.cost == 0 and short.total == 0
    assert quote_view(short).phases[0].cost_per_million_output_tokens is None
    (block,) = [f for f in short.findings if f.code == "capacity-short"]
    assert block.message == "devices = 16 given; the demand at peak needs 512"
    assert plan(_short_service(16), catalog).quote.model_dump() == short.model_dump()
    # Enough devices are priced, over the demand they serve; a sweep leaves the short point out.
    enough = quote(_short_service(512), catalog)
    assert enough.phases[0].priced and not any(f.code == "capacity-short" for f in enough.findings)
    swept = sweep(_short_service(16), {"phases.a.devices": [16, 64, 512, 1024]}, catalog)
    assert swept["unpriced"].to_list() == [["a"], ["a"], [], []]
    assert swept["cost:a"].to_list()[:2] == [None, None]
    assert swept["total"].to_list()[2] == enough.total


def test_a_serving_fleet_too_small_gets_one_answer_whichever_spelling(catalog):
    # rev17a #1: a fleet of 16 H800 for a demand needing 572 was unpriced showing 572 devices
    # (the fleet alone), priced at 4,193.73 USD (with `devices = 16`), and unpriced showing 32
    # with `devices = 32`, whose block never said the fleet has 16. One fleet, one answer: the
    # fleet's own 16, unpriced, and the block names its size.
    site = {"region": "cn-east", "accelerator": "h800", "pricing": "fleet"}
    quotes = [quote(_short_service(n, site, fleet=16), catalog) for n in (None, 16, 32)]
    shown = [q.phases[0].model_dump() for q in quotes]
    assert shown[0] == shown[1] == shown[2]
    (a,) = quotes[0].phases
    assert a.devices == a.billed_devices == 16 and not a.priced
    blocks = [next(f for f in q.findings if f.code == "capacity-short") for q in quotes]
    assert all("the fleet 'f' has 16" in b.message for b in blocks)
    assert blocks[2].message.startswith("devices = 32 given; the fleet 'f' has 16")


def test_a_phase_that_needs_part_of_a_day_holds_that_day(catalog):
    # rev17a #4: a run's end was cut to a whole day, so the phase after it started on the day
    # it still ran (post-train on 2026-02-16, pretrain held the fleet until ~21:30), and
    # "days to train" read 84.6 for runs of 81.90 + 3.58 days back to back.
    q = quote(load_scenario(EXAMPLES / "deepseek_domestic.toml"), catalog)
    pre, post = (p for p in q.phases if p.kind == "train")
    assert post.start == pre.end
    assert (pre.end - pre.start).days == math.ceil(pre.wall_clock_days)
    assert q.training_days >= pre.wall_clock_days + post.wall_clock_days


def test_a_transfer_a_day_and_a_half_late_is_said(catalog):
    # rev17a #4: serving starts 1.46 days before the weights it needs can arrive; the lateness
    # was counted from the day the run's end was cut to, and not flagged.
    s = {
        "name": "sched", "as_of": "2025-11-27", "currency": "USD", "tenant_hq": "CN",
        "fleet": [{"name": "f", "region": "cn-east", "accelerator": "h800", "devices": 512,
                   "acquired": "2023-06-01"}],
        "model": {"preset": "llama-3.1-8b"},
        "phases": [
            {"name": "pt", "tokens": 1e12, "devices": 512,
             "site": {"region": "cn-east", "accelerator": "h800", "pricing": "fleet",
                      "fleet": "f"}},
            {"name": "srv", "kind": "serve", "start": "2025-11-28", "days": 60,
             "input_tokens_per_day": 4e10, "output_tokens_per_day": 1e10, "tpot_ms": 50,
             "site": {"region": "cn-east", "accelerator": "h800", "pricing": "fleet"}},
        ],
        "transfers": [{"from": "pt", "to": "srv", "what": "weights"}],
    }  # fmt: skip
    q = quote(parse_scenario(s), catalog)
    (pt, _) = q.phases
    late = [f.message for f in q.findings if f.code == "transfer-late"]
    assert len(late) == 1
    assert f"~{pt.wall_clock_days - 1:.1f} days before" in late[0]
    # rev17b #9: "sent 2025-11-29, when 'pt' ends" beside pt's row ending 2025-11-30 (the day
    # after its part day) read as two end dates: the send is dated on the run's last day.
    last = re.search(r"sent during 'pt''s last day, ([\d-]+)", late[0])
    assert last and date.fromisoformat(last[1]) < pt.end
    assert "when 'pt' ends" not in late[0]


def test_bought_hardware_is_paid_for_on_delivery_as_the_finding_dates_it(catalog):
    # rev17a #3: owned-capex said "ordered on 2025-11-27, they arrive about 90 days later, on
    # 2026-02-25", the README "capital at delivery", and the cash flow paid the 153.6 M CNY
    # post-train servers and the 60 M serve-cn one on their phases' starts (2026-03, 2026-04).
    # Ordered just in time since rev18a #6, each purchase arrives on its phase's start, and is
    # paid then.
    q = quote(load_scenario(EXAMPLES / "split_abroad_home.toml"), catalog)
    capex = {f.phase: f.message for f in q.findings if f.code == "owned-capex"}
    starts = {p.name: p.start for p in q.phases}
    arrive = {
        n: date.fromisoformat(re.search(r"arrives? about [\d,]+ days later, on ([\d-]+)", m)[1])
        for n, m in capex.items()
    }
    assert arrive == {n: starts[n] for n in capex}
    capital = {m.month: m.amounts["capital"] for m in q.cash_flow if m.amounts["capital"]}
    paid: dict[str, float] = {}
    for p in q.phases:
        for i in p.line_items:
            if i.component == "capital":
                month = arrive[p.name].strftime("%Y-%m")
                paid[month] = paid.get(month, 0.0) + float(i.amount)
    assert capital == pytest.approx(paid, abs=0.005)
    assert sum(m.total for m in q.cash_flow) == pytest.approx(float(q.total), abs=0.005)


LATE_OWN = """
name = "late"
as_of = 2025-11-27
currency = "CNY"
tenant_hq = "CN"
[model]
preset = "qwen3-235b-a22b"
[[phases]]
name = "srv"
kind = "serve"
days = 365
start = 2027-06-01
input_tokens_per_day = 4e10
output_tokens_per_day = 8e9
tpot_ms = 50
precision = "int8"
site = { region = "cn-west", accelerator = "ascend-910c", pricing = "owned" }
"""


def test_hardware_for_a_late_phase_is_ordered_just_in_time(catalog):
    # rev18a #6: ordered on the scenario date (2025-11-27), the server for a phase from
    # 2027-06-01 was paid 15 months early and resold 2.3 years old (45.19 M CNY; 33.48 M
    # dated 2027-03-01). Ordered its lead time before the start, it is delivered, paid for and
    # ages from the start. One delivery date still dates the capital, the resale's age and
    # owned-capex's words (rev17b #2).
    from estimator.costing import calendar_years
    from estimator.market import resale_fraction

    s = parse_scenario(tomllib.loads(LATE_OWN))
    q = quote(s, catalog)
    (pq,) = q.phases
    (capex,) = [f.message for f in q.findings if f.code == "owned-capex"]
    found = re.search(
        r"ordered on ([\d-]+).*?arrives? about ([\d,]+) days later, on ([\d-]+)", capex
    )
    order, lead, arrived = date.fromisoformat(found[1]), int(found[2]), date.fromisoformat(found[3])
    assert arrived == pq.start and order == pq.start - timedelta(days=lead) > s.as_of
    assert (
        f"(the latest order that arrives in time, not on {s.as_of}: " in capex
        and "held" not in capex
    )
    capital = [m.month for m in q.cash_flow if m.amounts["capital"]]
    assert capital == [arrived.strftime("%Y-%m")]
    age = calendar_years(arrived, pq.end)
    assert f"{age:.1f} years old" in capex
    (price,) = [float(i.amount) for i in pq.line_items if i.component == "capital"]
    (back,) = [-float(i.amount) for i in pq.line_items if i.component == "resale"]
    at = resale_fraction(catalog, ["ascend-910c"], age)["resale_fraction"][0]
    assert back == pytest.approx(price * at, rel=0.01)
    # Priced at the scenario date's catalog, as it says: a hardware.csv row dated between the
    # scenario date and the order does not move the quote (it cannot know later prices).
    row = re.search(
        r"priced at hardware.csv's row of ([\d-]+), the latest on the quote date", capex
    )
    assert row and date.fromisoformat(row[1]) <= s.as_of

    def cheaper_later(t: pl.DataFrame) -> pl.DataFrame:
        # Negotiated: a row added in memory dated after today is refused otherwise, as a
        # file's is (rev20b #1); a price agreed to start later is the case in point here.
        mine = t.filter(pl.col("accelerator") == "ascend-910c").with_columns(
            pl.col("price") / 2,
            as_of=pl.lit(order - timedelta(days=30)),
            basis=pl.lit("negotiated"),
        )
        return pl.concat([t, mine])

    assert quote(s, catalog.with_table("hardware", cheaper_later)).total == q.total
    # Planned, the same: the planner's vectorised path agrees with the quote to the cent.
    assert quote_view(plan(s, catalog).quote).total == quote_view(q).total


def test_rows_dated_after_the_quote_are_named_in_its_assumptions(catalog):
    # rev18b #2: the latency and transfer rows a quote falls forward to (a series with no row
    # by its date: pricing.catalog.FALLS_FORWARD) were used without a word; the assumptions
    # date them as they date an offer, and say when one postdates the quote.
    from estimator.listing import catalog_rows

    q = quote(EXAMPLES / "deepseek_domestic.toml", catalog)
    day, (moved,) = q.as_of, q.transfers
    src = next(p for p in q.phases if p.name == moved.from_)
    dst = next(p for p in q.phases if p.name == moved.to)
    # The transfer row the quote prices is the one `catalog transfer --as-of` lists for its day.
    listed, _ = catalog_rows(catalog, "transfer", region=src.region, as_of=day)
    country = catalog.region(dst.region)["country"]
    (row,) = [r for r in listed if r["to_country"] == country]
    assert row["as_of"] > day and row["after_as_of"]
    text = q.assumptions["transfers"][f"{moved.what} {moved.from_}->{moved.to}"]
    assert moved.route in text
    assert f"{row['basis']}, row as of {row['as_of']}, after the quote date {day}" in text
    # Each serving phase's round trip, with its row's date.
    serving = [p for p in q.phases if p.kind == "serve"]
    assert serving and set(q.assumptions["latency"]) == {p.name for p in serving}
    for p in serving:
        users = load_scenario(EXAMPLES / "deepseek_domestic.toml").phase(p.name).users
        r = (
            catalog.dated("latency", day)
            .filter(pl.col("region") == p.region, pl.col("market") == users)
            .row(0, named=True)
        )
        said = q.assumptions["latency"][p.name]
        assert said.startswith(f"{r['rtt_ms']:g} ms round trip from {p.region} to users in {users}")
        assert f"row as of {r['as_of']}, after the quote date {day}" in said
    # Dated on or after the rows, the quote names them without the word.
    later = max(row["as_of"], r["as_of"])
    q2 = quote(EXAMPLES / "deepseek_domestic.toml", catalog, as_of=later)
    for said in [*q2.assumptions["transfers"].values(), *q2.assumptions["latency"].values()]:
        assert "row as of" in said and "after the quote date" not in said


def test_a_serve_estimate_dates_the_round_trip_its_ttft_target_is_judged_on(runner, catalog):
    # rev18c #2: `serve --users eu --ttft-ms 400 --region cn-east --as-of 2025-11-27` added a
    # round trip from a row dated 2026-07-30 to its TTFT and said nothing of it, where a quote
    # of the same phase names the row and that it postdates the quote; with --ttft-ms 300 the
    # rejection named the round trip undated. Both now say it as the quote does.
    day = date(2025, 11, 27)
    r = (
        catalog.dated("latency", day)
        .filter(pl.col("region") == "cn-east", pl.col("market") == "eu")
        .sort("rtt_ms")
        .row(0, named=True)
    )
    assert r["as_of"] > day  # the case: the only row postdates the quote
    flags = ["serve", "--model", "llama-3.1-8b", "--accelerator", "h100-sxm", "--users", "eu",
             "--region", "cn-east", "--as-of", str(day)]  # fmt: skip
    result = runner.invoke(app, [*flags, "--ttft-ms", "400", "-f", "json"])
    assert result.exit_code == 0, result.output
    said = json.loads(result.output)["assumptions"]["latency"]
    assert said.startswith(f"{r['rtt_ms']:g} ms round trip from cn-east to users in eu")
    assert f"row as of {r['as_of']}, after the quote date {day}: the catalog has none" in said
    # The same words as the quote of that phase: one implementation.
    (q,) = [quote(parse_scenario({
        "name": "s", "as_of": str(day), "currency": "USD", "tenant_hq": "CN",
        "model": {"preset": "llama-3.1-8b"},
        "phases": [{"name": "serve", "kind": "serve", "users": "eu", "ttft_ms": 400, "days": 30,
                    "site": {"region": "cn-east", "accelerator": "h100-sxm",
                             "pricing": "on_demand"}}],
    }), catalog)]  # fmt: skip
    assert q.assumptions["latency"]["serve"] == said
    # A target the round trip alone nearly spends: the rejection dates the row too.
    result = runner.invoke(app, [*flags, "--ttft-ms", f"{r['rtt_ms'] - 17:g}"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert f"latency.csv row as of {r['as_of']}, after the quote date {day}" in result.output


def test_a_usd_rate_has_no_date(runner):
    # rev19a #7j: USD lines carried fx_as_of "2000-01-01" (fx.csv's base row's placeholder) in
    # the JSON's line items and assumptions.fx_per_usd.USD.as_of: a 25-year-old rate to a
    # reader of dates. USD's rate is 1 by definition: no date (schema_version 12).
    path = str(EXAMPLES / "split_abroad_home.toml")
    result = runner.invoke(app, ["quote", path, "--format", "json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["schema_version"] == "12"
    items = [i for p in d["phases"] for i in p["line_items"]]
    usd = [i for i in items if i["unit_currency"] == "USD"]
    other = [i for i in items if i["unit_currency"] != "USD"]
    assert usd and other
    assert all(i["fx_as_of"] is None and i["fx_per_usd"] == 1 for i in usd)
    fx = d["assumptions"]["fx_per_usd"]
    assert fx["USD"]["as_of"] is None and fx["USD"]["per_usd"] == 1
    # Every other rate keeps its date, the one its assumption gives.
    assert all(i["fx_as_of"] == fx[i["unit_currency"]]["as_of"] for i in other)
    assert "2000-01-01" not in result.stdout
    # A USD quote too (the quote's own currency).
    usd_quote = json.loads(
        runner.invoke(app, ["quote", path, "--currency", "USD", "-f", "json"]).stdout
    )
    assert usd_quote["assumptions"]["fx_per_usd"]["USD"]["as_of"] is None


def test_a_usd_rate_has_no_date_in_the_library_either(catalog):
    # The library's LineItem said 2000-01-01 where the JSON said null: a notebook reading
    # `item.fx_as_of` saw the placeholder the JSON hides. Transfers' lines too.
    q = quote(load_scenario(EXAMPLES / "split_abroad_home.toml"), catalog)
    items = q.line_items()
    usd = [i for i in items if i.unit_currency == "USD"]
    assert usd and any(i.component == "transfer" for i in usd)
    assert all(i.fx_as_of is None for i in usd)
    assert all(i.fx_as_of is not None for i in items if i.unit_currency != "USD")


def _floor_scenario(region: str, accelerator: str) -> dict:
    return {
        "name": "f", "as_of": "2025-11-27", "currency": "CNY", "tenant_hq": "CN",
        "model": {"preset": "llama-3.1-8b"},
        "phases": [{"name": "ft", "kind": "train", "tokens": 1e11, "devices": 64,
                    "site": {"region": region, "accelerator": accelerator,
                             "pricing": "on_demand"}}],
    }  # fmt: skip


def test_a_price_at_the_floor_of_its_rows_range_is_said_with_the_middles_cost(catalog):
    # rev19a #7a: the A100 rental at its row's floor ("as little as" 0.75 USD, range 0.75-3.0;
    # the quote at P7 of its own samples) had no word that it was the bottom of its range.
    q = quote(parse_scenario(_floor_scenario("cn-east", "a100-40g")), catalog)
    (item,) = [i for i in q.phases[0].line_items if i.component == "compute"]
    row = (
        catalog.table("offers")
        .filter(
            pl.col("provider") == "cn-small-csp",
            pl.col("accelerator") == "a100-40g",
            pl.col("price_per_device_hour") == item.unit_price,
        )
        .row(0, named=True)
    )
    low, high = row["price_low"], row["price_high"]
    assert item.unit_price == low < high
    (floor,) = [f for f in q.findings if f.code == "price-at-floor"]
    middle = (low + high) / 2
    assert floor.severity == "warn" and floor.phase == "ft"
    assert f"range ({low:g}-{high:g} USD" in floor.message
    assert f"at the middle of the range, {middle:g} USD" in floor.message
    at_middle = item.amount * middle / item.unit_price
    assert f"would be {at_middle:,.0f} CNY against the {item.amount:,.0f} CNY quoted" in (
        floor.message
    )
    # A list price with no range is no floor.
    q = quote(parse_scenario(_floor_scenario("us-east", "h100-sxm")), catalog)
    assert "price-at-floor" not in {f.code for f in q.findings}


def test_a_checkpoint_from_a_serving_phase_is_refused_as_a_dataset_from_one_is(runner, write):
    # rev20b #3: a checkpoint moved from a serving phase was sized as a training checkpoint
    # (weights + fp32 master + Adam state, 7x the bf16 weights) and billed 7x the egress and
    # link time, without a word. A serving phase holds no optimizer state.
    text = (EXAMPLES / "split_abroad_home.toml").read_text()
    text += '\n[[transfers]]\nfrom = "serve-abroad"\nto = "post-train"\nwhat = "checkpoint"\n'
    path = write("ckpt.toml", text)
    n = len(load_scenario(path).transfers) - 1
    result = runner.invoke(app, ["quote", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {path}: transfers[{n}]: a checkpoint transfer from a serving ")
    assert 'what = "weights"' in line and "gigabytes = N" in line
    # Given its size, it is moved as given; from a training phase, it is still a checkpoint.
    sized = text.replace('what = "checkpoint"\n', 'what = "checkpoint"\ngigabytes = 500\n')
    assert runner.invoke(app, ["quote", str(write("sized.toml", sized))]).exit_code == 0


_NO_RTT_DAY = "2025-11-01"


def _region_without_round_trips(directory) -> None:
    """An override catalog adding `sg-test`, a copy of sg (its region row and its newest GCP
    H100 1-year offer) with no latency.csv row: a region a user adds without its round trips."""
    rows = _embedded_rows("regions")
    (sg,) = [r for r in rows if r["id"] == "sg"]
    _override(directory, "regions", list(rows[0]), sg | {"id": "sg-test", "name": "Test"})
    rows = _embedded_rows("offers")
    key = ("gcp", "sg", "h100-sxm", "reserved_1y")
    offer = max(
        (r for r in rows if (r["provider"], r["region"], r["accelerator"], r["pricing"]) == key),
        key=lambda r: r["as_of"],
    )
    # Dated before the scenarios below, as an offer's row must be to price them.
    _override(
        directory, "offers", list(rows[0]), offer | {"region": "sg-test", "as_of": _NO_RTT_DAY}
    )


def test_a_round_trip_the_catalog_does_not_have_is_not_read_as_0_ms(runner, write, tmp_path):
    # rev20b #2: a region added through --catalog with no latency.csv row was served at a 0 ms
    # round trip: its TTFT target judged without the network (the planner placed a phase there
    # for it, where a real round trip leaves no placement), users-far unable to fire, unsaid.
    _region_without_round_trips(tmp_path / "cat")
    cat = ["--catalog", str(tmp_path / "cat")]
    serve = """
name = "far"
as_of = 2025-11-27
tenant_hq = "CN"
[model]
preset = "llama-3.1-70b"
[[phases]]
name = "s"
kind = "serve"
days = 30
users = "cn"
data = "public"
input_tokens_per_day = 1e9
output_tokens_per_day = 2e8
tpot_ms = 50
ttft_ms = 300
site = { region = "sg-test", accelerator = "h100-sxm", pricing = "reserved_1y" }
"""
    result = runner.invoke(app, ["quote", str(write("t.toml", serve)), *cat, "-f", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    (block,) = [f for f in out["findings"] if f["code"] == "round-trip-unknown"]
    assert block["severity"] == "block"
    unknown = "latency.csv has no round trip from sg-test to users in China (market cn)"
    assert unknown in block["message"]
    assert "300 ms TTFT target cannot be judged" in block["message"]
    said = out["assumptions"]["latency"]["s"]
    assert said.startswith("unknown: latency.csv has no round trip from sg-test to users")
    strict = runner.invoke(app, ["quote", str(write("t.toml", serve)), *cat, "--strict"])
    assert strict.exit_code == 1 and "round-trip-unknown" in strict.stderr
    # Without a TTFT target: a warning, since users-far cannot judge the distance either.
    loose = serve.replace("ttft_ms = 300\n", "")
    result = runner.invoke(app, ["quote", str(write("l.toml", loose)), *cat, "-f", "json"])
    out = json.loads(result.stdout)
    (warn,) = [f for f in out["findings"] if f["code"] == "users-distance-unknown"]
    assert warn["severity"] == "warn" and "sg-test" in warn["message"]
    assert "round-trip-unknown" not in [f["code"] for f in out["findings"]]
    assert out["assumptions"]["latency"]["s"].startswith("unknown: ")
    # The planner does not pick the region for the round trip it lacks: the regions with one
    # miss the 150 ms target, so no placement, the unknown one named.
    auto = serve.replace("ttft_ms = 300", "ttft_ms = 150").replace(
        'region = "sg-test", accelerator = "h100-sxm", pricing = "reserved_1y"',
        'regions = ["sg", "sg-test", "jp-tokyo"], accelerators = ["h100-sxm"]',
    )
    result = runner.invoke(app, ["plan", str(write("a.toml", auto)), *cat])
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.splitlines()
    assert "no allowed placement" in line and "exceeds the 150 ms target" in line
