"""The planner, sampling, sensitivity and policy shocks."""

from __future__ import annotations

import json
import math
import re
import tomllib
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estimator import compare, load_scenario, parse_scenario, percentiles, plan, quote
from estimator import sensitivity as swings
from estimator.cli import app
from estimator.context import prepare
from estimator.errors import InfeasibleError, ScenarioError
from estimator.evaluate import evaluate, rank
from estimator.options import OptionQuery, select
from estimator.planner import Plan
from estimator.shock import ShockResult, apply_shock
from estimator.uncertainty import sample, sensitivity
from tests.conftest import BUY_H200, EXAMPLES

AUTO = EXAMPLES / "split_auto.toml"


def _no_ascend_resale(tmp_path):
    """A user catalog crediting bought Ascend no resale, as the embedded one did before rev12c
    #2 made it a stated estimate (0.53): the shock tests below exercise the planner on the
    plans they were written for (Ascend at home dearer than the offshore options)."""
    from pricing import load_catalog

    head = "accelerator,age_years,value_fraction,basis,note,source,as_of\n"
    rows = "".join(
        f"{acc},1,0.0,estimate,,https://example.com/no-market,2026-01-01\n"
        for acc in ("ascend-910b", "ascend-910c")
    )
    (tmp_path / "resale.csv").write_text(head + rows, encoding="utf-8")
    return load_catalog(tmp_path)


def _train_scenario(**phase) -> dict:
    return {
        "name": "t",
        "as_of": phase.pop("as_of", "2025-11-27"),
        "currency": "USD",
        "tenant_hq": phase.pop("tenant_hq", "CN"),
        "model": {"preset": phase.pop("model", "llama-3.1-8b")},
        "phases": [{"name": "p", "site": "auto", **phase}],
    }


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    tokens=st.floats(1e10, 2e12),
    deadline=st.floats(3, 200),
    data=st.sampled_from(["public", "personal"]),
    as_of=st.sampled_from(["2024-06-01", "2025-03-01", "2025-11-27"]),
    model=st.sampled_from(["llama-3.1-8b", "llama-3.1-70b"]),
)
def test_choice_is_allowed_feasible_and_never_dearer(catalog, tokens, deadline, data, as_of, model):
    scenario = parse_scenario(
        _train_scenario(tokens=tokens, deadline_days=deadline, data=data, as_of=as_of, model=model)
    )
    c = prepare(scenario, catalog)
    phase = scenario.phases[0]
    scored = evaluate(c, phase, select(c.options, OptionQuery.of(phase.site)))
    allowed = scored.filter(pl.col("verdict").is_null())
    try:
        result = plan(scenario, catalog)
    except InfeasibleError:
        assert allowed.is_empty()
        return
    chosen = result.quote.phases[0]
    assert not any(f.severity == "block" for f in result.quote.findings)
    assert chosen.physics["fits"] and chosen.wall_clock_days <= deadline * (1 + 1e-9)
    cheapest_usd = allowed["total_usd"].min()
    cents = 0.005 * len(chosen.line_items)  # the quote bills each item in whole cents
    assert chosen.cost <= cheapest_usd * c.quote_per_usd * (1 + 1e-9) + cents
    if data == "personal":
        assert chosen.region.startswith("cn-")


def test_plan_places_auto_phases_and_keeps_fixed_ones(catalog):
    s = load_scenario(EXAMPLES / "split_abroad_home.toml")
    fixed = plan(s, catalog)
    assert fixed.phases == []  # nothing to place
    assert fixed.quote.total == pytest.approx(quote(s, catalog).total)
    auto = plan(load_scenario(AUTO), catalog)
    placed = {p.phase for p in auto.phases}
    assert placed == {"pretrain", "post-train", "serve-cn", "serve-abroad"}
    serve_cn = next(p for p in auto.quote.phases if p.name == "serve-cn")
    assert serve_cn.region.startswith("cn-")  # personal data stays home
    for p in auto.phases:
        assert p.alternatives[0].verdict == "chosen"
        costs = [a.cost for a in p.alternatives if not a.verdict.startswith("rejected")]
        assert costs == sorted(costs)


def test_a_planned_deadline_is_sized_to_the_whole_terms_it_holds(catalog):
    # rev13a #1 through the planner: an auto site of one-year reservations with a 400-day
    # deadline is sized to finish in the year (960 devices), as its quote is, not to the 896
    # that bill two years; the plan and the quote of its placement agree.
    base = {
        "name": "t", "as_of": "2025-11-27", "currency": "USD",
        "model": {"preset": "qwen3-235b-a22b"},
        "phases": [{"name": "pretrain", "kind": "train", "tokens": 36e12, "deadline_days": 400,
                    "data": "public", "site": {"regions": ["sg"], "accelerators": ["h100-sxm"],
                                               "pricing": ["reserved_1y"]}}],
    }  # fmt: skip
    planned = plan(parse_scenario(base), catalog)
    (p,) = planned.quote.phases
    assert p.devices == 960 and p.wall_clock_days < 365
    assert quote(planned.scenario, catalog).total == planned.quote.total
    assert "term-sized" in {f.code for f in planned.quote.findings}


def test_a_capacity_rejection_names_the_fewest_devices_that_meet_the_deadline(catalog):
    # rev15a #4: under --max-devices 479 the monthly H100 rental was rejected as "needs 720 x
    # h100-sxm", the one-month sizing's count, though 480 meet the 45-day deadline (and are
    # placed once the cap allows them).
    data = {
        "name": "a2", "as_of": "2026-06-01", "currency": "USD", "tenant_hq": "CN",
        "model": {"preset": "llama-3.1-70b"},
        "phases": [{"name": "pt", "kind": "train", "tokens": 2e12, "data": "public",
                    "deadline_days": 45, "site": {"regions": ["cn-east"],
                    "accelerators": ["h100-sxm"], "pricing": ["contract"]}}],
    }  # fmt: skip
    with pytest.raises(InfeasibleError) as err:
        plan(parse_scenario(data), catalog, max_devices=479)
    assert "needs 480 x h100-sxm, more than max_devices 479" in str(err.value)
    placed = plan(parse_scenario(data), catalog, max_devices=480).quote.phases[0]
    assert placed.devices == 480 and placed.wall_clock_days <= 45


def test_objective_time_prefers_faster(catalog):
    data = _train_scenario(tokens=1e12, devices=256)
    by_cost = plan(parse_scenario(data), catalog).quote.phases[0]
    by_time = plan(parse_scenario(data), catalog, objective="time").quote.phases[0]
    assert by_time.wall_clock_days <= by_cost.wall_clock_days
    assert by_cost.cost <= by_time.cost


def test_max_devices_caps_capacity(catalog):
    data = _train_scenario(tokens=1e12, deadline_days=5)
    free = plan(parse_scenario(data), catalog)
    capped_at = free.quote.phases[0].devices * 2
    capped = plan(parse_scenario(data), catalog, max_devices=capped_at)
    assert capped.quote.phases[0].devices <= capped_at
    with pytest.raises(InfeasibleError, match=r"capacity [\d,]+"):
        plan(parse_scenario(data), catalog, max_devices=8)


def test_no_allowed_placement_counts_reasons(runner, write):
    text = """
name = "impossible"
as_of = 2025-11-27
[model]
preset = "llama-3.1-70b"
[[phases]]
name = "ft"
tokens = 1e12
deadline_days = 30
data = "personal"
site = { regions = ["sg", "jp-tokyo"] }
"""
    result = runner.invoke(app, ["plan", str(write("x.toml", text))])
    assert result.exit_code == 1
    assert "phases[0] 'ft': no allowed placement among" in result.stderr
    assert "rule " in result.stderr


def test_seeded_sampling_is_reproducible(catalog):
    s = load_scenario(EXAMPLES / "deepseek_domestic.toml")
    q = quote(s, catalog)
    ctx = prepare(s, catalog)
    a = sample(ctx, q, 2000, seed=7)
    b = sample(ctx, q, 2000, seed=7)
    c = sample(ctx, q, 2000, seed=8)
    assert a == b and a != c
    for p in a:
        assert p.p10 <= p.p50 <= p.p90
    total = next(p for p in a if p.name == "total")
    assert total.p10 < q.total < total.p90 * 1.5


def test_sampling_without_ranges_is_the_quote(catalog, write):
    s = load_scenario(
        write(
            "fixed.toml",
            """
name = "fixed"
as_of = 2025-11-27
[model]
preset = "llama-3.1-8b"
[[phases]]
name = "p"
tokens = 1e11
devices = 16
mfu = 0.4
goodput = 0.9
site = { region = "us-east", accelerator = "h100-sxm", pricing = "on_demand", provider = "lambda" }
""",
        )
    )
    q = quote(s, catalog)
    (phase, total) = sample(prepare(s, catalog), q, 50, seed=1)
    assert phase.p10 == pytest.approx(q.total) and total.p90 == pytest.approx(q.total)


def test_the_librarys_swings_and_shock_costs_are_money_and_plain_floats(catalog):
    # review11b #12: a numpy swing gave numpy ends; the totals and a shock's costs are Money
    # (their currency) though annotated float.
    import numpy as np

    from estimator import sensitivity as swings_of
    from estimator import what_if
    from estimator.money import Money

    path = EXAMPLES / "overseas_serving.toml"
    for w in swings_of(path, catalog, swing=np.float64(0.1)):
        assert type(w.low) is float and type(w.high) is float
        assert w.total_at_low is None or isinstance(w.total_at_low, Money)
    shocked = what_if(AUTO, "remote-access-ends=2026-03-01", catalog)
    assert isinstance(shocked.extra_cost, Money)
    # A stranded phase's costs are None: it does not run (rev15c #6).
    assert all(isinstance(r.rule_cost, Money) or r.stranded for r in shocked.replanned)
    assert all(r.rule_cost is None for r in shocked.replanned if r.stranded)


def test_sensitivity_sorted_by_swing(catalog):
    s = load_scenario(EXAMPLES / "split_abroad_home.toml")
    q = quote(s, catalog)
    swings = sensitivity(prepare(s, catalog), q)
    assert [w.swing for w in swings] == sorted((w.swing for w in swings), reverse=True)
    names = {w.input for w in swings}
    assert (
        "FX USD/CNY" in names
        and "post-train: GEMM efficiency (mfu)" in names
        and "serve-cn: demand" in names
    )


def test_shock_replans_only_affected_phases(catalog):
    s = load_scenario(EXAMPLES / "split_abroad_home.toml")
    result = apply_shock(prepare(s, catalog), ["offshore-access-ends=2026-03-01"])
    moved = {r.phase for r in result.replanned}
    assert moved == {"pretrain", "serve-abroad"}  # the US-origin parts abroad
    before = {p.name: (p.region, p.accelerator) for p in result.base.quote.phases}
    after = {p.name: (p.region, p.accelerator) for p in result.shocked.quote.phases}
    for name in ("post-train", "serve-cn"):
        assert before[name] == after[name]
    placed = {p.name: p for p in result.shocked.quote.phases}
    for name in moved:  # at home, in the US (rev11a #3: not offshore), or (review10a #1)
        # finished abroad before the rule
        home = after[name][0].startswith("cn-") or after[name][1].startswith("ascend")
        assert home or placed[name].country == "US" or placed[name].end <= date(2026, 3, 1)
    assert not any(f.severity == "block" for f in result.shocked.quote.findings)
    # Priced on the plan's date: the headline is the "before", the rule alone makes the change.
    assert result.base.quote.as_of == result.shocked.quote.as_of == s.as_of
    assert result.extra_cost == pytest.approx(result.shocked.quote.total - result.base.quote.total)
    assert all(r.rule_cost >= -0.01 for r in result.replanned)


def test_a_shock_applies_from_its_date(tmp_path):
    """split_abroad_home: pretrain (H100 in Singapore) runs 2025-11-27 to 2026-03-27, then
    serve-abroad (H100 in Singapore) to 2027-04-02, after post-train's 5.8 days hold 6 whole
    ones (rev17a #4) (review6a #2: every date gave one answer)."""
    catalog = _no_ascend_resale(tmp_path)
    s = load_scenario(EXAMPLES / "split_abroad_home.toml")
    c = prepare(s, catalog)
    windows = {p.name: (p.start, p.end) for p in quote(s, catalog).phases}
    assert windows["pretrain"][1] == date(2026, 3, 27)
    assert windows["serve-abroad"][1] == date(2027, 4, 2)

    def shocked(day: str) -> ShockResult:
        return apply_shock(c, [f"remote-access-ends={day}"])

    # Before the plan starts, or while pretraining runs: both phases abroad are re-placed
    # (one running across the date is blocked whole: a phase is not split).
    early, during = shocked("2025-10-01"), shocked("2026-03-01")
    both = {"pretrain", "serve-abroad"}
    assert {r.phase for r in early.replanned} == {r.phase for r in during.replanned} == both
    assert early.judged_on == s.as_of and during.judged_on == date(2026, 3, 1)
    # After pretraining ended, while serving runs: only serving moves; pretraining keeps its
    # site, its findings and its cost, so the rule costs less.
    late = shocked("2026-06-01")
    assert [r.phase for r in late.replanned] == ["serve-abroad"]
    before = {p.name: p for p in late.base.quote.phases}
    after = {p.name: p for p in late.shocked.quote.phases}
    assert (after["pretrain"].region, after["pretrain"].cost) == (
        before["pretrain"].region,
        before["pretrain"].cost,
    )
    assert after["serve-abroad"].country == "CN"
    assert not any(f.severity == "block" for f in late.shocked.quote.findings)

    def of_pretrain(r: Plan) -> list[tuple[str, str]]:
        return [(f.code, f.message) for f in r.quote.findings if f.phase == "pretrain"]

    assert of_pretrain(late.shocked) == of_pretrain(late.base)

    def rule_cost(r: ShockResult) -> float:
        return r.shocked.quote.total - r.unshocked.quote.total

    assert 0 <= rule_cost(late) < rule_cost(during)
    # On the day serving ends, or after: no phase is running, nothing is affected.
    for day in ("2027-04-02", "2028-01-01"):
        after_end = shocked(day)
        assert after_end.replanned == [] and after_end.extra_cost == 0


def test_cli_shock_after_the_plan_ends_affects_no_phase(runner):
    args = ["plan", str(EXAMPLES / "split_abroad_home.toml")]
    result = runner.invoke(app, [*args, "--shock", "offshore-access-ends=2028-01-01"])
    assert result.exit_code == 0, result.output
    assert "the rule costs 0.00 CNY" in result.stdout and "no phase affected" in result.stdout


def test_shock_that_leaves_a_phase_no_option_keeps_it_blocked(catalog):
    # It was an error that lost the report (review8a #2); the phase now stays where it was.
    result = apply_shock(prepare(load_scenario(AUTO), catalog), ["remote-access-ends=2026-03-01"])
    assert [r.phase for r in result.replanned if r.stranded] == ["serve-abroad"]
    # rev19c #5a: and says why, in the planner's words: every option blocked by the rule.
    (stranded,) = [r for r in result.replanned if r.stranded]
    assert stranded.after.startswith("no allowed option: blocked where it was (no allowed ")
    assert "the best: rule remote-access-ends" in stranded.after


def test_a_stranded_phase_has_no_delay_and_days_show_to_a_tenth_everywhere(catalog, runner):
    # rev12b #9: serve-abroad, which cannot run at all, "ended 26 days sooner" (-26.0, its
    # blocked run's own length) in the library and the JSON; the table printed pretrain's
    # -24.13 days as "-24.10" beside the JSON's -24.1.
    import json

    from estimator import as_json, what_if

    w = what_if(AUTO, "remote-access-ends=2026-03-01", catalog)
    moved = {r.phase: r for r in w.replanned}
    assert moved["serve-abroad"].stranded and moved["serve-abroad"].extra_days is None
    days = moved["pretrain"].extra_days
    assert days is not None and not moved["pretrain"].stranded
    shown = {r["phase"]: r["extra_days"] for r in json.loads(as_json(w))["shock"]["replanned"]}
    assert shown == {"pretrain": round(days, 1) + 0.0, "serve-abroad": None}
    args = ["plan", str(AUTO), "--shock", "remote-access-ends=2026-03-01", "-f", "markdown"]
    table = runner.invoke(app, args).stdout.split("## Shock")[1]
    rows = {line.split("|")[1].strip(): line.split("|")[-2].strip()
            for line in table.splitlines() if line.startswith("| ")}  # fmt: skip
    assert rows["pretrain"] == f"{round(days, 1) + 0.0:,.1f}" and rows["serve-abroad"] == ""


def test_a_run_the_rule_would_cut_may_finish_before_it(tmp_path, runner):
    # review10a #1: split_auto's pretrain (1,280 B200 in us-east, 2025-11-27 to 2026-03-27)
    # moved to 3,840 bought Ascend, 90 days later: "the rule costs 253,970,928.41 CNY", where
    # 1,632 B200 on the same offer finish before 2026-03-01 for 3.7 M more. (With the embedded
    # Ascend resale estimate, rev12c #2, bought 910C 90 days later is now cheaper still.)
    catalog = _no_ascend_resale(tmp_path)
    result = apply_shock(prepare(load_scenario(AUTO), catalog), ["remote-access-ends=2026-03-01"])
    pretrain = next(r for r in result.replanned if r.phase == "pretrain")
    assert pretrain.after.endswith("deadline cut to 94 days") and not pretrain.stranded
    placed = next(p for p in result.shocked.quote.phases if p.name == "pretrain")
    assert placed.country == "US" and placed.end <= date(2026, 3, 1)
    assert placed.devices > next(
        p.devices for p in result.base.quote.phases if p.name == "pretrain"
    )
    assert 0 < pretrain.rule_cost < 0.02 * result.base.quote.total
    # Its window ends by the rule's day: nothing blocks it.
    assert not [
        f for f in result.shocked.quote.findings if f.phase == "pretrain" and f.severity == "block"
    ]
    args = ["plan", str(AUTO), "--shock", "remote-access-ends=2026-03-01"]
    text = runner.invoke(app, [*args, "--catalog", str(tmp_path)])
    assert "deadline cut to 94 days" in text.stdout


def _b200_us_east(deadline_days: int = 40) -> dict:
    """rev15a's sh2.toml: a CN tenant pretraining on B200 in us-east only."""
    return {
        "name": "sh2", "as_of": "2026-06-01", "currency": "USD", "tenant_hq": "CN",
        "model": {"preset": "llama-3.1-70b"},
        "phases": [{"name": "pt", "kind": "train", "tokens": 2e12, "data": "public",
                    "deadline_days": deadline_days,
                    "site": {"regions": ["us-east"], "accelerators": ["b200"]}}],
    }  # fmt: skip


def test_a_run_with_no_other_option_may_still_finish_before_the_rule(catalog, runner):
    # rev15a #1: with no allowed whole re-placement the phase was stranded before the deadline
    # cut was tried, and the what-if said "the rule costs 0.00 USD" though 544 B200 on demand
    # finish by the rule's day for 1.18 M more. A second shock that touches no phase of the
    # plan (a ban on buying what it rents) stranded it the same way.
    s = parse_scenario(_b200_us_east())
    c = prepare(s, catalog)
    alone = apply_shock(c, ["remote-access-ends=2026-06-20"])
    (pt,) = alone.replanned
    assert not pt.stranded and pt.after.endswith("deadline cut to 19 days")
    cut = quote(parse_scenario(_b200_us_east(19)), catalog).total
    assert pt.rule_cost == pytest.approx(cut - alone.base.quote.total, abs=0.01)
    assert alone.rule_cost == pt.rule_cost > 0
    both = apply_shock(
        c, ["remote-access-ends=2026-06-20", "china-bans-nvidia-purchases=2026-06-01"]
    )
    assert [(r.after, r.rule_cost) for r in both.replanned] == [(pt.after, pt.rule_cost)]
    # Nothing ends before a rule in force on the first day: the work is lost, and the rule's
    # cost is not 0.00 but unknown.
    lost = apply_shock(c, ["remote-access-ends=2026-06-01"])
    assert [(r.stranded, r.rule_cost, r.extra_cost) for r in lost.replanned] == [(True, None, None)]
    text = " ".join(_shock_text(runner, s, "remote-access-ends=2026-06-01").split())
    assert "pt cannot run under the rule" in text and "the rule costs" not in text
    assert "the rule's cost is unknown: that work is lost" in text
    view = json.loads(_shock_text(runner, s, "remote-access-ends=2026-06-01", "json"))
    assert view["shock"]["lost"] == ["pt"]
    # rev15c #6: its row's costs are no figure either (were 0.0 beside stranded: true).
    (row,) = view["shock"]["replanned"]
    assert row["stranded"] and row["rule_cost"] is None and row["extra_cost"] is None
    assert view["schema_version"] == "12"
    import jsonschema

    jsonschema.validate(view, json.loads(runner.invoke(app, ["schema", "plan"]).stdout))


def _shock_text(runner, s, shock: str, fmt: str = "table") -> str:
    out = runner.invoke(app, ["plan", "-", "--shock", shock, "--format", fmt],
                        input=s.model_dump_json(by_alias=True, exclude_none=True))  # fmt: skip
    assert out.exit_code == 0, out.output
    return out.stdout


_JOHOR = (
    "provider,region,accelerator,instance,devices_per_instance,pricing,price_per_device_hour,"
    "currency,min_term_days,price_low,price_high,evidence,max_devices,instance_scaleout_gbit_s,"
    "instance_scaleout_source,max_term_days,max_term_source,basis,note,source,as_of\n"
    "ytl,my-johor,h100-sxm,HGX H100 8-GPU (negotiated),8,reserved_1y,9.0,MYR,365,,,reported,"
    "4096,3200,https://example.invalid/ytl-contract,,,negotiated,a negotiated 1-year contract,"
    "contract ref 2025-11,2025-11-01\n"
)


def test_a_shock_mid_run_on_a_commitment_says_it_assumes_the_rule_known_in_advance(
    tmp_path, runner
):
    # rev16a #1: a rule 49 days into a run on a 1-year Johor contract re-placed the run from
    # its own start, the contract gone from the total: "the rule costs 0.00 CNY" and the total
    # 85 M lower, with no word that the rule was taken as known before anything was signed.
    (tmp_path / "offers.csv").write_text(_JOHOR)
    s = parse_scenario({
        "name": "Johor contract", "as_of": "2025-11-27", "currency": "CNY", "tenant_hq": "CN",
        "model": {"preset": "qwen3-235b-a22b"},
        "phases": [{"name": "pretrain", "tokens": 20e12, "data": "public", "deadline_days": 90,
                    "precision": "bf16", "site": {"region": "my-johor",
                    "accelerator": "h100-sxm", "pricing": "reserved_1y"}}],
    })  # fmt: skip
    shock = "offshore-access-ends=2026-01-15"

    def run(fmt: str) -> str:
        out = runner.invoke(
            app,
            ["plan", "-", "--catalog", str(tmp_path), "--shock", shock, "--format", fmt],
            input=s.model_dump_json(by_alias=True, exclude_none=True),
        )
        assert out.exit_code == 0, out.output
        return out.stdout

    view = json.loads(run("json"))["shock"]
    (moved,) = view["replanned"]
    assert moved["before"] == "h100-sxm @ my-johor (reserved_1y)"
    billed = view["total_before"]
    said = view["assumption"]
    for part in ("priced as if the rule were known on the plan's date (2025-11-27), before "
                 "anything was committed", "pretrain had run 49 days on h100-sxm @ my-johor "
                 f"(reserved_1y) by 2026-01-15 (billed {billed:,.2f} CNY in the plan as given)",
                 "a commitment's whole term) is not in the total after"):  # fmt: skip
        assert part in said, part
    title = " ".join(run("table").split())
    assert " ".join(said.split()) in title
    # A rule after the plan's end re-places nothing: nothing assumed.
    from pricing import load_catalog

    none = apply_shock(prepare(s, load_catalog(tmp_path)), ["offshore-access-ends=2027-06-01"])
    assert not none.replanned and none.assumption == ""


def test_each_shock_is_judged_from_its_own_day(tmp_path, runner):
    # rev12a #2: with a second shock dated later (which alone affects nothing), pretrain was cut
    # to end on the later day, still blocked by the first rule, and re-placed on Ascend: "the
    # rule costs 254,206,366.64 CNY" against 30.6 M for the first shock alone. (On a catalog
    # crediting Ascend no resale, as when this was found: with the embedded 0.53 estimate,
    # 910C bought 90 days later is the cheaper re-placement for both, alike.)
    catalog = _no_ascend_resale(tmp_path)
    c = prepare(load_scenario(AUTO), catalog)
    alone = apply_shock(c, ["remote-access-ends=2026-01-01"])
    both = apply_shock(
        c, ["remote-access-ends=2026-01-01", "personal-data-exports-banned=2026-04-01"]
    )
    one = next(r for r in alone.replanned if r.phase == "pretrain")
    two = next(r for r in both.replanned if r.phase == "pretrain")
    assert two.rule == "remote-access-ends" and two.after == one.after
    assert two.after.endswith("deadline cut to 35 days")
    assert two.rule_cost == one.rule_cost
    assert both.judged_on == date(2026, 1, 1)
    assert both.rules == [
        ("remote-access-ends", date(2026, 1, 1)),
        ("personal-data-exports-banned", date(2026, 4, 1)),
    ]
    args = ["plan", str(AUTO), "--shock", "personal-data-exports-banned=2026-04-01"]
    text = runner.invoke(app, [*args, "--shock", "remote-access-ends=2026-01-01"]).stdout
    from pricing import load_catalog

    embedded = prepare(load_scenario(AUTO), load_catalog())
    alone, both = (apply_shock(embedded, s) for s in (["remote-access-ends=2026-01-01"], [
        "remote-access-ends=2026-01-01", "personal-data-exports-banned=2026-04-01"]))  # fmt: skip
    assert [(r.phase, r.after, r.extra_cost) for r in both.replanned] == [
        (r.phase, r.after, r.extra_cost) for r in alone.replanned
    ]
    # rev12g #1: free to wait, pretraining waited 90 days for Ascend bought at home (the 0.53
    # resale estimate made it cheap), which the plan as given could not do, and the shock read
    # as a 3.8 M saving; a cut deadline keeps the schedule, and the rule costs what it does.
    (pre,) = [r for r in alone.replanned if r.phase == "pretrain"]
    assert pre.after.endswith("deadline cut to 35 days") and pre.extra_days is not None
    assert pre.extra_days < 0 and pre.rule_cost == pre.extra_cost > 0
    days = "remote-access-ends from 2026-01-01, personal-data-exports-banned from 2026-04-01"
    assert days in text
    # rev19a #7f: "work ends later (days)" read -69.7 for work ending sooner, a double negative;
    # the column says the sign, and the figure carries it.
    args += ["--shock", "remote-access-ends=2026-01-01"]
    shock = runner.invoke(app, [*args, "--table", "shock", "-f", "csv"]).stdout
    (row,) = [r for r in shock.splitlines() if r.startswith("pretrain,")]
    header = shock.splitlines()[0]
    assert "work ends later" not in header
    assert header.endswith(",work ends (days vs before: + later / - earlier)")
    after = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)["shock"]["replanned"]
    ends = next(r["extra_days"] for r in after if r["phase"] == "pretrain")
    assert ends < 0 and row.endswith(f",{ends:+.1f}")


HOME = EXAMPLES / "split_abroad_home.toml"


def _starts(p: Plan) -> dict[str, date]:
    return {q.name: q.start for q in p.quote.phases}


def test_a_cut_deadline_keeps_the_later_phases_starts(catalog, runner):
    # rev20a #1: remote-access-ends 66 days into the shipped example's pretraining cut its
    # deadline to 66 days, and every phase after it moved 54 days earlier with it: the Ascend
    # bought for post-train and serve-cn (90 days' lead time) could no longer arrive, the plan
    # after had two lead-time blocks, and the report priced the rule at 13.5 M CNY, "work ends
    # -54.6 days", with no word of them. A cut run ends early; the rest keeps its place.
    shock = "remote-access-ends=2026-02-01"
    w = apply_shock(prepare(load_scenario(HOME), catalog), [shock])
    (pre,) = [r for r in w.replanned if r.phase == "pretrain"]
    assert pre.after.endswith("deadline cut to 66 days")
    before, after = _starts(w.base), _starts(w.shocked)
    assert after["pretrain"] == before["pretrain"]
    assert {n: d for n, d in after.items() if n != "pretrain"} == {
        n: d for n, d in before.items() if n != "pretrain"
    }
    cut = next(q for q in w.shocked.quote.phases if q.name == "pretrain")
    assert cut.end <= date(2026, 2, 1)
    assert not [f for f in w.shocked.quote.findings if f.severity == "block"]
    # Only the cut run ends sooner; the phases after it end when they did.
    ends = {r.phase: r.extra_days for r in w.replanned}
    assert ends["pretrain"] is not None and ends["pretrain"] < 0
    assert all(d == 0 for n, d in ends.items() if n != "pretrain")


def test_a_plan_after_the_shock_that_is_blocked_says_so_beside_the_rules_cost(catalog, runner):
    # rev20a #1: the rule's cost was given on a plan after the shock that could not go ahead
    # (lead-time blocks), and only shock.quote_after.findings said it. Here the plan as given
    # is already blocked (its pretraining deadline leaves post-train too little time for the
    # Ascend it buys), and the plan after the shock still is: both totals say it, and the
    # JSON's shock summary lists it.
    data = tomllib.loads(HOME.read_text(encoding="utf-8"))
    data["phases"][0]["deadline_days"] = 60
    s = parse_scenario(data)
    shock = "remote-access-ends=2026-01-01"
    w = apply_shock(prepare(s, catalog), [shock])
    from estimator.report.view import blocked_parts

    blocked = blocked_parts(w.shocked.quote)
    assert blocked and blocked_parts(w.base.quote)
    view = json.loads(_shock_text(runner, s, shock, "json"))["shock"]
    assert view["blocked_after"] == blocked == view["quote_after"]["blocked"]
    assert view["blocked_before"] == blocked_parts(w.base.quote)
    title = " ".join(_shock_text(runner, s, shock).split("Shock ", 1)[1].split())
    said = f"includes blocked: {', '.join(blocked)}"
    assert title.count(said) >= 1
    after = title.split(" -> ", 1)[1]
    assert f"CNY ({said}" in after
    cost = title.split("the rule costs", 1)[1].split(";", 1)[0]
    assert "blocked" in cost, cost
    html = _shock_text(runner, s, shock, "html")
    assert said in " ".join(html.split())
    # CSV gives the rows without the heading: each blocked part has its row, or says it in its
    # re-placed row.
    rows = {r.split(",", 1)[0]: r for r in _shock_text(runner, s, shock, "csv").splitlines()}
    for b in blocked:
        # rev20d #2: blocked in the plan as given too, so not blamed on the shock.
        alike = b in view["blocked_before"]
        assert ("as in the plan as given" in rows[b]) == alike, rows
        assert ("in the plan after the shock" in rows[b]) == (not alike), rows
    if set(blocked) <= set(view["blocked_before"]):
        assert "blocked before and after it alike" in title
        assert "cannot go ahead as placed" not in title


def test_a_run_that_starts_after_a_named_phase_may_be_cut(catalog, runner):
    # Found fixing rev20a #1: a deadline cut gave a phase with `after` its start as placed too,
    # and the what-if failed with "phases[1]: give start or after, not both", an error in the
    # user's file that the file does not have.
    data = tomllib.loads(HOME.read_text(encoding="utf-8"))
    post = data["phases"][1]
    del post["devices"]
    post |= {"deadline_days": 30, "after": "pretrain", "data": "public",
             "site": {"regions": ["sg"], "accelerators": ["h100-sxm"]}}  # fmt: skip
    s = parse_scenario(data)
    w = apply_shock(prepare(s, catalog), ["remote-access-ends=2026-04-10"])
    (cut,) = [r for r in w.replanned if r.phase == "post-train"]
    was = _starts(w.base)["post-train"]
    assert cut.after.endswith(f"deadline cut to {(date(2026, 4, 10) - was).days} days")
    assert _starts(w.shocked)["post-train"] == was


@pytest.mark.parametrize("day", ["2026-02-01", "2026-03-26"])
def test_a_deadline_cut_ends_by_the_rules_day_and_never_reads_as_a_saving(catalog, day):
    # rev20a #2: on 2026-03-26, a day before the shipped example's pretraining ends, "the rule
    # costs -18,388,964.36 CNY": the cut variant was placed with the phase free to wait for
    # hardware, so it waited 90 days for Ascend bought at home (ending three months after the
    # rule's day), labelled "deadline cut to 119 days", against a plan without the rule that
    # may not wait. 1,312 B200 in us-east finish within the 119 days.
    w = apply_shock(prepare(load_scenario(HOME), catalog), [f"remote-access-ends={day}"])
    was, now = _starts(w.base), _starts(w.shocked)
    assert w.rule_cost >= 0
    for r in w.replanned:
        assert r.rule_cost is not None and r.rule_cost >= 0, r
        if "deadline cut" in r.after:
            q = next(q for q in w.shocked.quote.phases if q.name == r.phase)
            assert q.start == was[r.phase] and q.end <= date.fromisoformat(day), q
    # No phase waits where a cut deadline keeps the schedule.
    assert now == was or all(now[n] <= was[n] for n in now)


def test_shock_that_hits_nothing(catalog):
    s = load_scenario(EXAMPLES / "deepseek_domestic.toml")
    result = apply_shock(prepare(s, catalog), ["offshore-access-ends=2026-03-01"])
    assert result.replanned == [] and result.extra_cost == 0


def test_a_ban_on_buying_leaves_a_fleet_bought_before_it_in_use(catalog):
    # review9a #1: a ban on new purchases of US parts moved the 2023 H800 stockpile's work
    # abroad and to rented H100s in China, "the rule costs 354,911,954.41 CNY".
    ban = ["china-bans-nvidia-purchases=2026-01-01"]
    s = load_scenario(EXAMPLES / "stockpile_owner.toml")
    result = apply_shock(prepare(s, catalog), ban)
    assert result.replanned == [] and result.extra_cost == 0
    # A fleet acquired after the ban took effect is what it forbids: its phases move.
    late = apply_shock(prepare(s, catalog), ["china-bans-nvidia-purchases=2023-01-01"])
    assert {r.phase for r in late.replanned} >= {"pretrain"} and late.extra_cost > 0


def test_a_purchase_delivered_before_a_ban_is_acquired_before_it(catalog, write):
    # review9c #2: the plan's own H200s, delivered before a ban on purchases, were blocked
    # while the same H200s declared as a fleet were not.
    s = load_scenario(write("buy.toml", BUY_H200))
    c = prepare(s, catalog)
    (bought,) = quote(s, catalog).phases
    assert bought.pricing == "owned" and bought.start == date(2026, 7, 1)
    after = apply_shock(c, ["china-bans-nvidia-purchases=2026-09-01"])
    assert after.replanned == [] and after.extra_cost == 0
    # A ban in force before the hardware arrives forbids the purchase: the phase moves.
    before = apply_shock(c, ["china-bans-nvidia-purchases=2026-03-02"])
    assert [r.phase for r in before.replanned] == ["serve"]
    # A purchase is made for its phase's start, as its capital and resale age are counted
    # (review9d #1: a 2028 phase's H200s escaped a 2027 ban, then were paid for in 2028).
    later = BUY_H200.replace("start = 2026-07-01", "start = 2028-01-01")
    c = prepare(load_scenario(write("later.toml", later)), catalog)
    banned = apply_shock(c, ["china-bans-nvidia-purchases=2027-01-01"])
    assert [r.phase for r in banned.replanned] == ["serve"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shock", "offshore-access-ends"], "bad shock 'offshore-access-ends'"),
        (["--shock", "offshore-acess-ends=2026-01-01"], "did you mean 'offshore-access-ends'"),
        # rev13a #9: a bad day read as a malformed expression.
        (["--shock", "offshore-access-ends=2026-02-30"], "'2026-02-30' is not a date"),
        (["--samples", "0"], "--samples: must be between 1 and 1,000,000 (got 0)"),
        (["--objective", "speed"], "--objective: must be cost or time"),
    ],
)
def test_plan_bad_flags_exit_2(runner, args, message):
    result = runner.invoke(app, ["plan", str(AUTO), *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_range_in_override_exit_2(runner, write):
    header = "accelerator,workload,arch,mfu,goodput,mfu_low,mfu_high,basis,note,source,as_of\n"
    path = write(
        "cat/efficiency.csv",
        header + "h100-sxm,pretrain,dense,0.4,0.9,0.5,0.3,estimate,,me,2025-01-01\n",
    )
    result = runner.invoke(app, ["plan", str(AUTO), "--catalog", str(path.parent)])
    assert result.exit_code == 2
    assert "efficiency.csv:2:mfu_low: mfu_low 0.5 is greater than mfu 0.4" in result.stderr


def test_cli_plan_samples_shock_sensitivity(runner):
    result = runner.invoke(
        app, ["plan", str(AUTO), "--samples", "500", "--seed", "2", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert {"quote", "placements", "uncertainty"} <= set(d)
    again = json.loads(
        runner.invoke(
            app, ["plan", str(AUTO), "--samples", "500", "--seed", "2", "-f", "json"]
        ).stdout
    )
    assert again["uncertainty"] == d["uncertainty"]
    shock = runner.invoke(
        app,
        [
            "plan",
            str(EXAMPLES / "split_abroad_home.toml"),
            "--shock",
            "offshore-access-ends=2026-03-01",
        ],
    )
    assert shock.exit_code == 0 and "Shock offshore-access-ends=2026-03-01" in shock.stdout
    sens = runner.invoke(app, ["sensitivity", str(EXAMPLES / "split_abroad_home.toml")])
    assert sens.exit_code == 0 and "swing" in sens.stdout
    q = runner.invoke(
        app, ["quote", str(EXAMPLES / "deepseek_domestic.toml"), "--samples", "300", "-f", "json"]
    )
    assert "uncertainty" in json.loads(q.stdout) and "phases" in json.loads(q.stdout)


def test_a_shocks_samples_are_of_the_shocked_plan_and_say_so(runner):
    # rev12a #11: `plan --shock ... --samples N` gave the percentiles of the plan before the
    # shock ("quoted 383,273,750.89" beside a shocked total of 413.9 M), unlabelled. The
    # question asked is the shocked plan: it is sampled, and the table and JSON say so.
    args = ["plan", str(AUTO), "--shock", "remote-access-ends=2026-01-01", "--samples", "200"]
    d = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    total = next(p for p in d["uncertainty"]["percentiles"] if p["name"] == "total")
    assert d["uncertainty"]["plan"] == "shocked"
    assert total["point"] == d["shock"]["total_after"] != d["quote"]["total"]
    text = runner.invoke(app, [*args, "--table", "uncertainty"]).stdout
    assert text.startswith("Uncertainty of the shocked plan (200 samples")
    plain = json.loads(
        runner.invoke(app, ["plan", str(AUTO), "--samples", "50", "-f", "json"]).stdout
    )
    assert plain["uncertainty"]["plan"] == "as given"


def test_new_block_never_lowers_the_optimum(catalog):
    """On an all-auto plan, a shock re-places phases over a subset of the same options."""
    data = _train_scenario(tokens=1e12, deadline_days=30)
    # Abroad: rented H100 by the hour; at home: Ascend owned cost on a one-year term (dearer for
    # a month; an accounting row, not an offer, so the site asks for it).
    data["phases"][0]["site"] = {
        "regions": ["jp-tokyo", "cn-west"],
        "accelerators": ["h100-sxm", "ascend-910b"],
        "pricing": ["on_demand", "contract"],
        "evidence": ["listed", "reported", "sku", "accounting"],
    }
    s = parse_scenario(data)
    # A date inside the phase's 30 days (from 2025-11-27): a later one would not reach it.
    result = apply_shock(prepare(s, catalog), ["offshore-access-ends=2025-12-15"])
    (p,) = result.shocked.quote.phases  # at home, or finished in Tokyo before the rule
    assert result.replanned and (p.country == "CN" or p.end <= date(2025, 12, 15))
    assert result.extra_cost >= -0.005
    for r in result.replanned:
        assert r.rule_cost == pytest.approx(r.extra_cost, abs=0.01)


def test_empty_shock_file(runner, write, catalog):
    header = (EXAMPLES.parent / "pricing" / "data" / "policies.csv").read_text().splitlines()[0]
    path = write("empty.csv", header + "\n")
    result = runner.invoke(app, ["plan", str(AUTO), "--shock", str(path)])
    assert result.exit_code == 2 and "has no policy rows" in result.stderr


def test_a_shock_file_with_errors_is_named_as_the_shock_file(runner, write):
    # rev17a #16: a --shock CSV of policy rows with errors read "11 problems in the catalog".
    path = write("myshock.csv", "id,effective_from\nx,2026-01-01\n")
    result = runner.invoke(app, ["plan", str(AUTO), "--shock", str(path)])
    assert result.exit_code == 2
    head = result.stderr.splitlines()[0]
    assert "problems in the shock file" in head and "myshock.csv" in head, head
    assert "catalog" not in head


def test_shock_from_a_policies_file(write, catalog):
    header = (EXAMPLES.parent / "pricing" / "data" / "policies.csv").read_text().splitlines()[0]
    row = (
        "no-sg,2026-01-01,,,block,*,SG,*,*,*,*,*,,Singapore closes to us,estimate,,my analysis,"
        "2026-01-01"
    )
    path = write("shock.csv", f"{header}\n{row}\n")
    s = load_scenario(EXAMPLES / "split_abroad_home.toml")
    result = apply_shock(prepare(s, catalog), [str(path)])
    assert {r.phase for r in result.replanned} == {"pretrain", "serve-abroad"}
    assert all(p.region != "sg" for p in result.shocked.quote.phases)


def test_auto_sites_leave_out_spot_unless_listed(catalog):
    auto = plan(parse_scenario(_train_scenario(tokens=1e12, deadline_days=30)), catalog)
    assert all(a.pricing != "spot" for p in auto.phases for a in p.alternatives)
    data = _train_scenario(tokens=1e12, deadline_days=30)
    data["phases"][0]["site"] = {"pricing": ["spot"]}
    spot = plan(parse_scenario(data), catalog)
    assert spot.quote.phases[0].pricing == "spot"
    assert any(f.code == "spot-capacity" for f in spot.quote.findings)


def test_objective_time_uses_the_capacity(catalog):
    data = _train_scenario(tokens=1e12, deadline_days=30)
    fast = plan(parse_scenario(data), catalog, objective="time", max_devices=1024)
    assert fast.quote.phases[0].devices == 1024
    cheap = plan(parse_scenario(data), catalog)
    assert fast.quote.phases[0].wall_clock_days < cheap.quote.phases[0].wall_clock_days


def test_dense_replicas_stay_inside_one_instance(catalog):
    s = load_scenario(EXAMPLES / "overseas_serving.toml")
    q = quote(s, catalog)
    for p in q.phases:
        tp = p.physics["tensor_parallel"]
        unit = catalog.offers(region=p.region, accelerator=p.accelerator).filter(
            pl.col("instance") == p.instance
        )["devices_per_instance"][0]
        assert unit >= tp


def test_a_plan_does_not_depend_on_the_string_hash_seed(tmp_path):
    # Two placements tie on cost and time here; the joint model's rows came from sets, whose
    # order follows PYTHONHASHSEED, and the solver picked Tokyo under one seed and Virginia
    # under another (seeds 0 and 2).
    import os
    import subprocess
    import sys

    argv = [
        sys.executable, "-c", "from estimator.cli import main; main()", "plan",
        str(EXAMPLES / "cn_lab_no_stockpile.toml"), "--objective", "time",
        "--max-devices", "4096", "--format", "json",
    ]  # fmt: skip
    outputs = set()
    for seed in ("0", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "XDG_CACHE_HOME": str(tmp_path / seed)}
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_a_sized_training_count_uses_every_device_it_bills(catalog):
    # Sized for its deadline, gulf_option's pretraining once took 1,796 H200 (449 replicas of
    # 4) on 8-GPU instances, so 1,800 were billed and 4 idled: 36,675,711 USD in 89.42 days.
    # At 1,800 working devices it was cheaper and faster; at the fewest whole replicas that
    # meet the 90-day deadline (1,792, rev13a #1: 36,605,664 USD) cheaper still. Since phys17b's
    # refit (more exposed data-parallel traffic) 1,792 and 1,796 take 90.4 and 90.2 days, so
    # the fewest that meet it are 1,800 on 225 whole instances, all working: 36,907,907.46 USD,
    # where 1,796 billed as 1,800 would pay 1,800 devices for their 90.2 days (~36.99 M).
    placed = plan(load_scenario(EXAMPLES / "gulf_option.toml"), catalog).quote
    (phase,) = placed.phases
    assert phase.devices % 8 == 0
    assert not any("whole instances" in item.description for item in phase.line_items)
    assert float(placed.total) < 36_907_910 and phase.wall_clock_days <= 90


def test_a_cheaper_runner_up_under_the_time_objective_is_said_to_cost_less(catalog):
    # It read "costs -16,227,992 CNY more (+-6.9%)".
    placed = plan(
        load_scenario(EXAMPLES / "split_auto.toml"), catalog, objective="time", max_devices=4096
    )
    verdicts = [a.verdict for p in placed.phases for a in p.alternatives]
    assert not any("costs -" in v or "+-" in v for v in verdicts)
    assert any(" less (-" in v for v in verdicts)


def test_equal_placements_are_broken_by_the_ranking_not_by_unrelated_flags(catalog):
    # split_auto's pretraining costs the same on Lambda B200 in Tokyo and in Virginia (one
    # uniform list price; sku-only rows, so the site asks for them). The solver returned either,
    # depending on rows the tie has nothing to do with: a --max-devices that rules nothing
    # chosen in or out moved it. The ranking puts Tokyo first. The cap sits one 8-GPU instance
    # above the chosen run (1,312 B200 since phys17b's refit; 1,280 under a cap of 1,300 before),
    # so it still rules out other options but not the one chosen.
    scenario = load_scenario(EXAMPLES / "split_auto.toml")
    site = {"regions": ["jp-tokyo", "us-east"], "evidence": ["listed", "reported", "sku"]}
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["phases"][0]["site"] = site
    scenario = parse_scenario(data)
    plain = plan(scenario, catalog).quote
    capped = plan(scenario, catalog, max_devices=1320).quote
    where = [(p.name, p.region, p.accelerator) for p in plain.phases]
    assert where == [(p.name, p.region, p.accelerator) for p in capped.phases]
    assert plain.total == capped.total and where[0][1] == "jp-tokyo"


def test_the_solver_takes_the_first_ranked_of_equal_optima():
    from estimator.placement import Candidate, Capacity, Problem, _first_ranked, solve

    a, b = Candidate(cost=10.0, days=5.0, region="a"), Candidate(cost=10.0, days=5.0, region="b")
    dear = Candidate(cost=11.0, days=5.0, region="c")
    window = [(date(2025, 1, 1), date(2025, 2, 1))]
    for order in ([a, b, dear], [b, a, dear]):
        p = Problem([order], window, training=frozenset({0}))
        assert solve(p) == [0] and solve(p, "time") == [0]
        # Whichever optimum the solver returns, the earlier-ranked equal one is taken ...
        assert _first_ranked(p, [1], {}) == [0]
        # ... but never a dearer one, nor a pinned phase moved.
        assert _first_ranked(p, [2], {}) == [2] and _first_ranked(p, [1], {0: 1}) == [1]
    # An equal candidate that would overfill a capacity shared with another phase stays out.
    full = Candidate(cost=10.0, days=5.0, region="a", uses=((("fleet", "f"), 8.0),))
    other = Candidate(cost=1.0, days=5.0, region="a", uses=((("fleet", "f"), 8.0),))
    p = Problem([[full, b], [other]], window * 2, capacities={("fleet", "f"): Capacity(8.0)})
    assert _first_ranked(p, [1, 0], {}) == [1, 0]


def test_finishing_first_with_no_training_phase_plans(catalog):
    # A serving-only scenario under --objective time crashed in the solver: the days limit of
    # its second solve summed no training phase, and HiGHS was handed `0 <= days`.
    scenario = parse_scenario(
        {
            "name": "serve only", "as_of": "2025-11-27", "currency": "CNY",
            "model": {"preset": "qwen3-235b-a22b"},
            "phases": [{"name": "serve-cn", "kind": "serve", "data": "personal", "days": 365,
                        "input_tokens_per_day": 4e10, "output_tokens_per_day": 8e9,
                        "tpot_ms": 50, "precision": "int8", "site": "auto"}],
        }
    )  # fmt: skip
    fastest = plan(scenario, catalog, objective="time").quote
    cheapest = plan(scenario, catalog).quote
    assert fastest.total == cheapest.total and not fastest.blocked


def test_a_max_devices_that_rules_out_every_option_is_named(catalog):
    # Only the provider's reported capacity was named, though the user's --max-devices binds.
    with pytest.raises(InfeasibleError, match=r"more than max_devices 1,024 \(--max-devices\)"):
        plan(load_scenario(EXAMPLES / "split_auto.toml"), catalog, max_devices=1024)


def test_a_blocked_site_is_quoted_on_an_option_that_could_run_it(catalog):
    # all_abroad serves Chinese personal data from Tokyo: every option there is blocked by the
    # rule. The cheapest of them (one-GPU RunPod pods) cannot even hold a 2-device replica; the
    # quote priced it (3.5 M USD) and then blocked it for that too (review6a #3).
    q = quote(EXAMPLES / "all_abroad.toml", catalog)
    (serve,) = [p for p in q.phases if p.name == "serve"]
    codes = {f.code for f in q.findings if f.phase == "serve" and f.severity == "block"}
    assert "replica-spans-instances" not in codes and codes  # the rule still blocks it
    assert serve.provider == "aws" and serve.devices >= 2


def test_equal_costs_are_broken_by_the_round_trip_to_the_users():
    # Lambda priced B200 alike in Tokyo and Virginia: European users were served from Tokyo
    # (244 ms) rather than Virginia (89 ms) because "jp-tokyo" sorts first (review6a #10).
    rows = pl.DataFrame(
        {
            "verdict": [None, None, None],
            "workable": [True, True, True],
            "total_usd": [10.0, 10.0, 11.0],
            "wall_clock_days": [365.0] * 3,
            "rtt_ms": [244.0, 89.0, 5.0],
            "provider": ["lambda"] * 3,
            "region": ["jp-tokyo", "us-east", "eu-west"],
            "instance": ["8x"] * 3,
            "pricing": ["on_demand"] * 3,
            "option_id": [0, 1, 2],
        }
    )
    assert rank(rows, "cost")["region"].to_list() == ["us-east", "jp-tokyo", "eu-west"]
    # Training phases have no users: the tie-break falls through to the names.
    assert rank(rows.drop("rtt_ms"), "cost")["region"].to_list()[:2] == ["jp-tokyo", "us-east"]


def test_a_plan_places_demandless_serving_by_price_per_token(catalog):
    # Options serve different volumes with no demand: the plan takes the cheapest per output
    # token and says how much more per million tokens the others cost (review6a #9).
    data = {
        "name": "serve only", "as_of": date(2025, 11, 27), "currency": "USD",
        "model": {"preset": "llama-3.3-70b"},
        "phases": [{"name": "serve", "kind": "serve", "data": "public", "users": "us",
                    "days": 30, "input_len": 2048, "output_len": 2048, "tpot_ms": 50,
                    "precision": "fp8", "site": "auto"}],
    }  # fmt: skip
    result = plan(parse_scenario(data), catalog, top_k=5)
    (phase,) = result.phases
    runners = [a for a in phase.alternatives[1:] if not a.verdict.startswith("rejected")]
    assert runners and all("more per million output tokens" in a.verdict for a in runners)
    chosen = result.quote.phases[0]
    assert chosen.billed_devices == chosen.devices  # whole instances at full load


def test_the_time_objective_starts_each_phase_when_the_one_before_finishes(catalog):
    # Under --objective time the pretraining ran 39 days, but the phases after it still waited
    # for its 120-day deadline: the fastest plan ended the day the cheapest did, and it bought
    # 4,096 Ascend 910C to post-train in 0.6 days inside a 14-day window (review6a #6).
    scenario = load_scenario(AUTO)
    cheap = plan(scenario, catalog, max_devices=4096)
    fast = plan(scenario, catalog, objective="time", max_devices=4096)
    assert cheap.scenario.schedule == "deadline" and fast.scenario.schedule == "earliest"
    phases = {p.name: p for p in fast.quote.phases}
    pre, post = phases["pretrain"], phases["post-train"]
    assert pre.wall_clock_days < 100
    assert abs((post.start - pre.start).days - pre.wall_clock_days) <= 1
    assert abs((post.end - post.start).days - post.wall_clock_days) <= 1
    assert phases["serve-cn"].start == post.end
    assert max(p.end for p in fast.quote.phases) < max(p.end for p in cheap.quote.phases)
    # The same schedule, asked for in the scenario, quotes the plan's placement as the plan did.
    assert quote(fast.scenario, catalog).total == fast.quote.total


def test_the_deadline_schedule_reserves_the_deadline_and_earliest_the_run(catalog):
    data = _train_scenario(tokens=1e11, deadline_days=60)
    data["phases"][0]["site"] = {"region": "us-east", "accelerator": "h100-sxm",
                                 "pricing": "on_demand", "provider": "aws"}  # fmt: skip
    data["phases"].append({"name": "next", "tokens": 1e9, "devices": 8,
                           "site": data["phases"][0]["site"]})  # fmt: skip
    reserved = quote(parse_scenario(data), catalog).phases
    soonest = quote(parse_scenario({**data, "schedule": "earliest"}), catalog).phases
    assert (reserved[1].start - reserved[0].start).days == 60
    assert reserved[0].wall_clock_days < 59
    assert soonest[1].start == soonest[0].end
    assert abs((soonest[0].end - soonest[0].start).days - soonest[0].wall_clock_days) <= 1


def test_finishing_first_takes_what_an_offer_of_stated_size_has(catalog):
    # Under --objective time every option was asked for --max-devices, so an offer of stated
    # size (a reported rental, trusted for 512 devices) could only be `capacity-short`.
    data = _train_scenario(tokens=2e11, deadline_days=30, data="personal")
    data["phases"][0]["site"] = {"regions": ["cn-east"], "accelerators": ["h100-sxm"],
                                 "pricing": ["contract"]}  # fmt: skip
    fast = plan(parse_scenario(data), catalog, objective="time", max_devices=4096).quote
    assert fast.phases[0].devices == 512


def test_plan_takes_as_of_and_strict_like_quote(runner):
    # plan had neither (review7b n17): a blocked plan exited 0, and its date was the file's.
    blocked = runner.invoke(app, ["plan", str(EXAMPLES / "all_abroad.toml"), "--strict"])
    assert blocked.exit_code == 1 and "--strict" in blocked.stderr
    dated = runner.invoke(app, ["plan", str(AUTO), "--as-of", "2025-06-01", "--format", "json"])
    assert dated.exit_code == 0, dated.output
    assert json.loads(dated.stdout)["quote"]["as_of"] == "2025-06-01"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: plan(s, max_devices=0), "max_devices"),
        (lambda s: plan(s, max_devices=-1), "max_devices"),
        (lambda s: plan(s, max_devices=True), "max_devices"),
        (lambda s: plan(s, top_k=-1), "top_k"),
        (lambda s: percentiles(quote(s), samples=10), None),
        (lambda s: percentiles(plan(s), samples=100.5), "samples"),
        (lambda s: percentiles(plan(s), samples=10, seed="x"), "seed"),
        (lambda s: swings(quote(s)), None),
        (lambda s: swings(plan(s), swing="0.2"), "swing"),
        (lambda s: swings(plan(s), swing=0), "swing"),  # named as the library names it
        (lambda s: percentiles(plan(s), samples=10**9), "samples"),
        (lambda s: compare(str(EXAMPLES / "deepseek_domestic.toml")), None),
        # review8b #9: a raw polars error, an AttributeError, and the CLI's flag name.
        (lambda s: quote(s, currency=1), "currency"),
        (lambda s: quote(s, currency="XYZ"), "currency"),
        (lambda s: s.with_changes({1: 2}), "changes"),
        (lambda s: s.with_changes([("currency", "USD")]), "changes"),
    ],
)
def test_library_arguments_the_cli_checks_raise_typed_errors(call, field):
    # plan(max_devices=0) applied no cap (the CLI refuses 0); percentiles and sensitivity given
    # a Quote raised AttributeError, a string seed TypeError; compare of one path iterated its
    # characters (review7b #8, n16).
    from estimator.errors import ScenarioError

    scenario = load_scenario(EXAMPLES / "deepseek_domestic.toml")
    with pytest.raises(ScenarioError) as err:
        call(scenario)
    if field:
        assert field in str(err.value) and f"--{field}" not in str(err.value)


def test_a_numpy_count_is_a_count(catalog):
    import numpy as np

    assert plan(EXAMPLES / "deepseek_domestic.toml", catalog, max_devices=np.int64(5000))


def test_percentiles_and_sensitivity_take_a_scenario_as_plan_does(catalog):
    path = EXAMPLES / "deepseek_domestic.toml"
    assert percentiles(path, catalog, samples=20, seed=1) == percentiles(
        plan(path, catalog), catalog, samples=20, seed=1
    )
    assert swings(path, catalog) == swings(plan(path, catalog), catalog)


def test_a_shock_re_places_a_phase_as_the_user_gave_it(catalog, tmp_path):
    # Under --objective time the placed post-train carried the device count of the H100 rental
    # it was on (512, the offer's stated capacity); re-placed by a shock on Ascend it kept
    # those 512 devices instead of taking the 3,840 it could (review7c #3).
    from estimator.context import prepare

    rule = tmp_path / "shock.csv"
    rule.write_text(
        "id,effective_from,effective_to,effect,data,region_country,accelerator,"
        "accelerator_origin,tenant_hq,ownership,message,basis,note,source,as_of\n"
        "no-foreign-chips-cn,2025-12-01,,block,*,CN,h800|h100-sxm|a100-40g|a100-80g|h20,US,*,*,"
        "test shock,estimate,,x,2025-11-27\n"
    )
    c = prepare(load_scenario(AUTO), catalog, objective="time", max_devices=4096)
    shocked = apply_shock(c, [str(rule)])
    post = next(p for p in shocked.shocked.quote.phases if p.name == "post-train")
    assert post.accelerator.startswith("ascend") and post.devices > 512


def test_finishing_first_on_a_shared_fleet_falls_back_to_deadline_sizing(catalog):
    # Training took all 10,000 devices of the fleet while serve-cn needs 160 of it at the same
    # time: "no joint placement fits", exit 1 (review7c #2). The runs are sized for their
    # deadlines instead, and the plan says so.
    data = load_scenario(EXAMPLES / "stockpile_owner.toml").model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    phases = {p["name"]: p for p in data["phases"]}
    phases["pretrain"]["site"] = {"pricing": ["fleet"]}
    phases["serve-cn"]["site"] = {"pricing": ["fleet"]}
    phases["serve-cn"]["start"] = "2025-12-10"
    placed = plan(parse_scenario(data), catalog, objective="time", max_devices=20_000)
    assert "sized for their deadlines" in placed.quote.assumptions["time_objective"]
    assert not placed.quote.blocked


def test_compare_keeps_apart_scenarios_that_share_a_name(catalog):
    # review8b #7: a scenario and its with_changes variant share a name; to_polars() put both
    # under it, so "per scenario the costs add up to its total" failed.
    s = load_scenario(EXAMPLES / "split_abroad_home.toml")
    c = compare([s, s.with_changes({"phases.pretrain.tokens": 2e13})], catalog)
    sums = c.to_polars().group_by("scenario", maintain_order=True).agg(pl.col("cost").sum())
    assert sums["scenario"].to_list() == c.names == [f"1. {s.name}", f"2. {s.name}"]
    assert sums["cost"].to_list() == pytest.approx([float(q.total) for q in c.quotes], abs=0.01)


def test_a_shock_that_leaves_a_phase_no_option_still_re_places_the_rest(tmp_path):
    # review8a #2: ending offshore access left foreign serving nowhere to go, and the whole
    # what-if (pretraining moving home, the rule's cost) was lost to a one-line error.
    catalog = _no_ascend_resale(tmp_path)
    from estimator.context import prepare
    from estimator.shock import apply_shock

    c = prepare(load_scenario(EXAMPLES / "cn_lab_no_stockpile.toml"), catalog)
    result = apply_shock(c, ["remote-access-ends=2026-01-01"])
    moved = {r.phase: r for r in result.replanned}
    assert moved["serve-foreign"].stranded and not moved["pretrain"].stranded
    home = next(p for p in result.shocked.quote.phases if p.name == "pretrain")
    assert (home.country == "CN" or home.end <= date(2026, 1, 1)) and result.extra_cost > 0
    blocked = {f.phase for f in result.shocked.quote.findings if f.code == "remote-access-ends"}
    assert blocked == {"serve-foreign"}


def test_the_time_objective_counts_whole_days(catalog):
    # review8a #10: post-train took an H100 rental 23 minutes faster than an H800 one at 24%
    # more cost, the runner-up said to finish at the same time (both end the same day). The
    # time objective counts the timeline's whole days, then the cost.
    p = plan(AUTO, catalog, objective="time", max_devices=4096)
    (post,) = [x for x in p.phases if x.phase == "post-train"]
    chosen, *others = post.alternatives
    same_day = [a for a in others if a.wall_clock_days and math.ceil(a.wall_clock_days - 1e-9)
                == math.ceil(chosen.wall_clock_days - 1e-9) and a.cost is not None
                and not a.verdict.startswith("rejected")]  # fmt: skip
    assert same_day and all(a.cost >= chosen.cost for a in same_day)


def test_the_library_runs_a_shock_as_plan_shock_does(catalog, runner):
    # review8b #8: the only way was estimator.shock.apply_shock with an internal Context.
    from estimator import ShockResult, what_if

    result = what_if(AUTO, "offshore-access-ends=2026-03-01", catalog)
    assert isinstance(result, ShockResult) and result.replanned
    args = ["plan", str(AUTO), "--shock", "offshore-access-ends=2026-03-01", "-f", "json"]
    shock = json.loads(runner.invoke(app, args).stdout)["shock"]
    assert shock["total_after"] == pytest.approx(float(result.shocked.quote.total), abs=0.01)
    # rev12e #8: the rule's cost and the re-placement's share, plan --shock's headline, were
    # computed in the report only; the result carries them, and the view copies them.
    for figure in ("extra_cost", "rule_cost", "replacement"):
        assert getattr(result, figure) == shock[figure]
    assert result.rule_cost == pytest.approx(
        result.shocked.quote.total - result.unshocked.quote.total, abs=0.005
    )
    assert result.extra_cost == result.rule_cost + result.replacement
    with pytest.raises(ScenarioError, match="shocks: a shock is NAME=YYYY-MM-DD"):
        what_if(AUTO, [5], catalog)
    # rev19b #9: a CSV's path given as a Path was refused as not a shock at all.
    with pytest.raises(ScenarioError, match=r"shocks: shock file 'nope\.csv' does not exist"):
        what_if(AUTO, Path("nope.csv"), catalog)


def test_fixed_phases_that_overfill_a_fleet_are_named(catalog, tmp_path):
    # review8a #11: with one auto phase beside them the error named no fleet and no phase.
    text = (EXAMPLES / "stockpile_owner.toml").read_text(encoding="utf-8")
    fleet = 'site = { region = "cn-east", accelerator = "h800", pricing = "fleet" }'
    text = text.replace("devices = 10000", "devices = 3000").replace(
        'deadline_days = 120\nsite = "auto"', f"deadline_days = 120\ndevices = 2944\n{fleet}"
    )
    text = text.replace(
        'precision = "int8"\nsite = "auto"', f'precision = "int8"\nstart = 2025-12-01\n{fleet}'
    )
    path = tmp_path / "clash.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        InfeasibleError,
        match="fixed phases 'pretrain', 'serve-cn' run at the same time on the fleet "
        r"'h800-hangzhou' for [\d,]+ days \(from 2025-12-01 until [\d-]+\) and need 3,104 devices "
        "together",
    ):
        plan(path, catalog)


def test_a_bad_shock_names_the_argument_in_the_library_and_the_flag_in_the_cli(catalog, runner):
    # review8c nit: the library's error said --shock.
    from estimator import what_if

    with pytest.raises(ScenarioError, match=r"^shocks: unknown shock 'nonsense'"):
        what_if(AUTO, "nonsense=2026-01-01", catalog)
    result = runner.invoke(app, ["plan", str(AUTO), "--shock", "nonsense=2026-01-01"])
    assert result.exit_code == 2 and "error: --shock: unknown shock 'nonsense'" in result.output


def test_an_option_that_cannot_run_the_phase_shows_no_size_or_cost(runner):
    # review9a #7: serve-foreign's runners-up showed 8 H800 at 181,310 CNY, rejected on
    # latency, beside a load that needs 14 B200 or 48 H100: a minimum fleet, never sized.
    out = runner.invoke(app, ["plan", str(EXAMPLES / "stockpile_owner.toml"), "-f", "json"])
    assert out.exit_code == 0, out.output
    shown = [a for p in json.loads(out.stdout)["placements"] for a in p["alternatives"]]
    physical = ("rejected: latency", "rejected: instance", "rejected: memory")
    unsized = [a for a in shown if a["verdict"].startswith(physical)]
    assert unsized and all(
        a["devices"] is None and a["cost"] is None and a["wall_clock_days"] is None for a in unsized
    )
    # A rule, the market or the supply leaves the option sized: it could run, it may not.
    sized = [a for a in shown if a["verdict"].startswith("rejected: supply")]
    assert sized and all(a["devices"] and a["cost"] for a in sized)


def test_an_option_a_rule_rejects_that_could_not_run_either_shows_no_size(write):
    # review9c #4: an A100 without FP8, rejected by the personal-data rule, showed 8 devices.
    text = """
name = "Rule-blocked option that cannot run"
as_of = 2025-11-27
currency = "CNY"

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
precision = "fp8"
[phases.site]
regions = ["cn-east", "us-east"]
accelerators = ["h800", "a100-80g"]
providers = ["cn-h800-rental", "aws"]
pricing = ["contract", "on_demand"]
"""
    (placed,) = plan(write("unworkable.toml", text)).phases
    (a100,) = [a for a in placed.alternatives if a.accelerator == "a100-80g"]
    assert a100.verdict.startswith("rejected: rule") and a100.devices is None and a100.cost is None


def test_the_chosen_placement_shows_the_quotes_cost_of_its_phase(catalog):
    # review9c: the placements table said 20,882,881.16 CNY for stockpile_owner's pretraining
    # where the phases table said .17 (the ranking's figure is not rounded item by item).
    result = plan(EXAMPLES / "stockpile_owner.toml", catalog)
    quoted = {p.name: p.cost for p in result.quote.phases}
    assert result.phases and all(
        pp.alternatives[0].cost == quoted[pp.phase] for pp in result.phases
    )


def test_offshore_access_is_outside_the_us_and_remote_access_reaches_it(catalog):
    # rev11a #3: the offshore rule and shock matched "anywhere outside China", so capacity in
    # us-east was blocked as "abroad"; the AI Diffusion framework controlled exports, and
    # renting US-sited capacity is none. The Remote Access Security Act (passed by the House
    # on 2026-01-12) would reach it: an info finding now, a shock of its own.
    c = prepare(load_scenario(AUTO), catalog)
    pretrain = next(p for p in quote(load_scenario(AUTO), catalog).phases if p.name == "pretrain")
    assert pretrain.country == "US"
    offshore = apply_shock(c, ["offshore-access-ends=2026-03-01"])
    assert "pretrain" not in {r.phase for r in offshore.replanned}
    remote = apply_shock(c, ["remote-access-ends=2026-03-01"])
    assert "pretrain" in {r.phase for r in remote.replanned}
    q = quote(load_scenario(AUTO).with_changes({"as_of": "2026-02-01"}), catalog)
    bill = [f for f in q.findings if f.code == "us-remote-access-bill"]
    assert bill and all(f.severity == "info" for f in bill)
    assert {f.phase for f in bill} <= {p.name for p in q.phases if p.country != "CN"}


def test_a_shock_that_strands_a_phase_says_it_cannot_run_and_fails_strict(runner):
    # rev11d #1: "the rule costs 0.00 CNY" led, the stranded phase's row read 0.00, and
    # --strict exited 0 though the shocked plan held a block.
    import csv
    import io

    args = ["plan", str(AUTO), "--shock", "offshore-access-ends=2026-03-01"]
    out = runner.invoke(app, [*args, "--format", "csv", "--table", "shock"]).stdout
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["phase"] == "serve-abroad" and row["extra cost (CNY)"] == ""
    text = " ".join(runner.invoke(app, args).stdout.split())
    assert "from 2026-03-01: serve-abroad cannot run under the rule" in text
    strict = runner.invoke(app, [*args, "--strict"])
    assert strict.exit_code == 1 and "blocked by offshore-access-ends" in strict.stderr
    # rev11d #8: in HTML the sentence is a paragraph under a short heading.
    page = runner.invoke(app, [*args, "--format", "html"]).stdout
    head = "<h2>Shock offshore-access-ends=2026-03-01</h2>\n<p>offshore-access-ends from 2026-03-01"
    assert head in page


KIMI = {"total_params": 1.04e12, "active_params": 32.6e9, "layers": 61, "hidden": 7168,
        "heads": 64, "experts": 384, "experts_active": 8, "kv_lora_rank": 512}  # fmt: skip


def test_an_instances_network_is_its_offers_not_its_accelerators(catalog):
    """GCP's a2-highgpu-8g has 100 Gbit/s per VM for its 8 A100 (offers.csv
    instance_scaleout_gbit_s), not the 200 Gbit/s per GPU of the accelerator row: a 1T MoE's
    expert and data traffic over it takes longer (rev12d #4: it was planned on A100 at a DGX's
    network). The figure is part of the physics key, so rows differing in it alone differ."""
    scenario = parse_scenario(
        {
            "name": "t", "as_of": "2025-06-01", "currency": "USD", "tenant_hq": "CN",
            "model": KIMI,
            "phases": [{"name": "p", "tokens": 15.5e12, "deadline_days": 150, "site": "auto"}],
        }
    )  # fmt: skip
    c = prepare(scenario, catalog)
    phase = scenario.phases[0]
    query = OptionQuery(("us-central",), ("a100-40g",), ("on_demand",), ("gcp",))
    rows = select(c.options, query)
    assert rows["instance_scaleout_gbit_s"].unique().to_list() == [100.0]
    both = pl.concat([rows, rows.with_columns(instance_scaleout_gbit_s=pl.lit(None, pl.Float64))])
    scored = evaluate(c, phase, both)
    own = scored.filter(pl.col("instance_scaleout_gbit_s").is_not_null())
    dgx = scored.filter(pl.col("instance_scaleout_gbit_s").is_null())
    # Sized to the same deadline, the slower network needs more devices or more time.
    assert own["device_hours"][0] > dgx["device_hours"][0] * 1.05
    # The planner no longer picks the A100 VM for this run (it did at 3,584 devices).
    chosen = plan(scenario, catalog).quote.phases[0]
    assert chosen.accelerator != "a100-40g"


def _l40s(devices: int, **site) -> dict:
    return {
        "name": "t", "as_of": "2026-06-01", "currency": "USD", "tenant_hq": "CN",
        "model": {"preset": "llama-3.1-70b"},
        "phases": [{"name": "p", "tokens": 1e12, "devices": devices, "site": {
            "region": "us-east", "accelerator": "l40s", "pricing": "on_demand", **site}}],
    }  # fmt: skip


def test_a_marketplace_listing_is_trusted_for_no_more_than_a_reported_rental(catalog):
    """A reseller's listing (Shadeform passing Crusoe through) shows a machine can be rented,
    not thousands at once: past defaults.csv reported_capacity_devices it is blocked, as a
    press-reported rental is (rev12d #3: 9,984 L40S from it carried a pretraining plan)."""
    rows = catalog.table("offers").filter(pl.col("provider").str.starts_with("shadeform-"))
    assert set(rows["evidence"]) == {"marketplace"}
    site = {"provider": "shadeform-crusoe"}
    big = quote(parse_scenario(_l40s(1024, **site)), catalog)
    (blocked,) = [f for f in big.findings if f.code == "capacity-short"]
    assert blocked.severity == "block" and "only listed by a marketplace" in blocked.message
    small = quote(parse_scenario(_l40s(256, **site)), catalog)
    assert "capacity-short" not in {f.code for f in small.findings}


def test_training_on_a_device_no_benchmark_checks_is_flagged(catalog):
    """L40S has no training calibration point (nor has its family): its efficiency is the
    catalog's default for any device, and the quote says so (rev12d #3)."""
    l40s = quote(parse_scenario(_l40s(256)), catalog)
    (warn,) = [f for f in l40s.findings if f.code == "no-calibration"]
    assert warn.severity == "warn" and warn.message.startswith("l40s has no training")
    assert "the default for any device" in warn.message
    given = _l40s(256)
    given["phases"][0]["mfu"] = 0.4
    assert "no-calibration" not in {f.code for f in quote(parse_scenario(given), catalog).findings}
    h200 = _l40s(256, accelerator="h200", provider="aws")  # Hopper: the H100 points check it
    h200["phases"][0]["site"]["instance"] = "p5en.48xlarge"
    assert "no-calibration" not in {f.code for f in quote(parse_scenario(h200), catalog).findings}


def _h100_sg(devices: int, as_of: str = "2025-11-27", **site) -> dict:
    return {
        "name": "t", "as_of": as_of, "currency": "USD", "tenant_hq": "CN",
        "model": {"preset": "llama-3.1-70b"},
        "phases": [{"name": "p", "tokens": 2e12, "devices": devices, "site": {
            "region": "sg", "accelerator": "h100-sxm", "pricing": "on_demand",
            "provider": "gcp", **site}}],
    }  # fmt: skip


def test_a_large_rental_at_list_price_is_set_beside_the_contract_index(catalog):
    """Over the largest self-service block, a hyperscaler's list price is not what a lab pays:
    the quote names the dated public contract index (rate_index.csv) and what the phase would
    cost at it (rev12d #5); only for accelerators an index covers, from its date on."""

    def found(data: dict) -> list:
        return [f for f in quote(parse_scenario(data), catalog).findings if f.code == "list-price"]

    (info,) = found(_h100_sg(1024))
    assert info.severity == "info" and "1.7 USD per device-hour (2025-10" in info.message
    (later,) = found(_h100_sg(1024, as_of="2026-04-15"))
    assert "2.35 USD per device-hour (2026-03" in later.message
    hours = float(later.message.split("devices (")[1].split(" device-hours")[0].replace(",", ""))
    at = float(later.message.split("would cost ")[1].split(" USD")[0].replace(",", ""))
    assert at == pytest.approx(hours * 2.35, rel=1e-5)
    # rev12g #2: the index is a 1-year contract's price: a run of weeks is billed the year, as
    # a commitment is, not its hours at the contract's rate.
    assert "a 365-day contract for these devices" in later.message
    assert hours == 1024 * 365 * 24
    # rev12f #5: the October 2025 figure was published with March's on 2026-04-02 (rate_index
    # announced): a quote dated between could not have known it, and says so, as for a rule.
    assert info.message.endswith(
        " of the contract pays for idle time unless other work uses it (announced 2026-04-02, "
        "after 2025-11-27)"
    )
    assert "announced" not in later.message
    # rev15a #7: on a quote in CNY the amounts are the quote's (the contract in the index's
    # currency too), not "USD quoted"; a year's contract set against a run of weeks says that
    # most of it pays for idle time.
    (cny,) = found({**_h100_sg(1024, as_of="2026-04-15"), "currency": "CNY"})
    rent = quote(parse_scenario({**_h100_sg(1024, as_of="2026-04-15"), "currency": "CNY"}),
                 catalog).phases[0].line_items  # fmt: skip
    compute = sum(float(i.amount) for i in rent if i.component == "compute")
    assert f"against the {compute:,.0f} CNY quoted; it costs more than the rent because its " \
        "365 days outlast the " in cny.message  # fmt: skip
    assert f"would cost {at:,.0f} USD (" in cny.message and " CNY), against" in cny.message
    assert "USD quoted" not in cny.message
    days = float(cny.message.split("outlast the ")[1].split(" days of work")[0])
    assert days < 365 / 2 and "of the contract pays for idle time" in cny.message
    assert found(_h100_sg(256)) == []  # a self-service block
    # rev13b #1: with no index for the accelerator on the date (H100 before the index's first
    # figure, H200 and B200 never), the list price is still said, and that no index exists.
    (before,) = found(_h100_sg(1024, as_of="2025-06-01"))
    assert "quoted is at list price" in before.message
    assert "no contract index for h100-sxm on or before 2025-06-01" in before.message
    assert "none on that date" in before.message
    (h200,) = found(_h100_sg(1024, accelerator="h200", provider="aws", region="us-east"))
    assert "1,024 x h200 at aws's on_demand list price" in h200.message
    assert "no contract index for h200 on or before 2025-11-27 (rate_index.csv, which covers " \
        "h100-sxm)" in h200.message  # fmt: skip
    assert h200.source == "github:skypilot-org/skypilot-catalog catalogs/v8/aws/vms.csv" \
        " @00148f2af3672e2229b4f7bf8157d5a3f36e3c35"  # fmt: skip
    assert found(_h100_sg(256, accelerator="h200", provider="aws", region="us-east")) == []
    # rev13a #7: a phase the physics cannot run (a deadline far out of reach) is unpriced:
    # no caveat compares a contract with a rent the report does not have.
    unrunnable = _h100_sg(1024)
    unrunnable["phases"][0] |= {"tokens": 1e17, "devices": None, "deadline_days": 30}
    assert found({**unrunnable, "phases": [{k: v for k, v in unrunnable["phases"][0].items()
                                            if v is not None}]}) == []  # fmt: skip


def test_the_contract_index_is_priced_in_the_quotes_accounting_view(catalog):
    """rev19a #3: under `accounting = "amortised"` the rent is charged for the hours of work,
    and the finding set a whole 1-year contract beside it and said the contract "costs more
    than the rent" (at the index's 1.7 USD the work costs a third of the quote). The amortised
    view prices the index on the same hours."""
    data = {**_h100_sg(1024, as_of="2026-04-15"), "currency": "CNY", "accounting": "amortised"}
    q = quote(parse_scenario(data), catalog)
    (f,) = [f for f in q.findings if f.code == "list-price"]
    (pq,) = q.phases
    compute = sum(float(i.amount) for i in pq.line_items if i.component == "compute")
    device_hours = 1024 * pq.wall_clock_days * 24
    said = f.message.split("the work's ")[1]
    hours = float(said.split(" device-hours")[0].replace(",", ""))
    usd = float(said.split("would cost ")[1].split(" USD")[0].replace(",", ""))
    assert hours == pytest.approx(device_hours, rel=1e-6) and hours < 1024 * 365 * 24 / 2
    assert usd == pytest.approx(hours * 2.35, rel=1e-6)
    assert f"against the {compute:,.0f} CNY quoted (both amortised" in f.message
    assert "costs more than the rent" not in f.message and "365-day contract" not in f.message
    # The project view keeps the contract's whole terms (the test above).
    project = quote(parse_scenario({**data, "accounting": "project"}), catalog)
    (f,) = [f for f in project.findings if f.code == "list-price"]
    assert "a 365-day contract for these devices" in f.message


def test_a_dated_quote_marks_rules_and_reports_made_public_after_its_date(catalog):
    """A quote dated 2023-09-01 is judged by the October 2023 rule while its phase runs, but
    that rule was announced on 2023-10-17 (policies.csv announced); the FT report behind
    domestic-training-risk is from 2025-08-14 (rev12d #9). Known rules are not marked."""
    data = {
        "name": "t", "as_of": "2023-09-01", "currency": "USD", "tenant_hq": "CN",
        "model": {"preset": "llama-3.1-70b"},
        "phases": [{"name": "p", "tokens": 2e12, "devices": 1024, "start": "2023-12-01",
                    "site": {"region": "cn-east", "accelerator": "h800", "pricing": "owned"}}],
    }  # fmt: skip
    by_code = {f.code: f.message for f in quote(parse_scenario(data), catalog).findings}
    assert by_code["us-export-2023-h800-a800-cn"].endswith(
        "(announced 2023-10-17, after 2023-09-01)"
    )
    data["phases"][0]["site"]["accelerator"] = "ascend-910b"
    by_code = {f.code: f.message for f in quote(parse_scenario(data), catalog).findings}
    assert by_code["domestic-training-risk"].endswith("(announced 2025-08-14, after 2023-09-01)")
    data["as_of"] = "2025-11-27"
    data["phases"][0]["start"] = "2025-12-01"
    by_code = {f.code: f.message for f in quote(parse_scenario(data), catalog).findings}
    assert "announced" not in by_code["domestic-training-risk"]


def test_a_dated_quote_marks_a_rule_that_lapsed_after_its_date(catalog):
    """rev18a #3: a 2025-02-01 quote was told the AI Diffusion rule "was rescinded on
    2025-05-13 ... nothing was blocked" as a fact, and the October 2023 rule's message its end
    "until 2026-01-15", both unknowable on the quote's date. A rule whose effective_to lies
    after the quote's date says "(lapsed DATE, after AS_OF)", beside "announced" when both are
    later; its lapse is taken as made public on that day (policies.csv has no other date)."""
    rows = catalog.table("policies")

    def row(rule: str) -> dict:
        (r,) = rows.filter(pl.col("id") == rule).iter_rows(named=True)
        return r

    def messages(as_of: str, start: str, site: dict, tenant: str = "CN") -> dict[str, str]:
        data = {
            "name": "t", "as_of": as_of, "currency": "USD", "tenant_hq": tenant,
            "model": {"preset": "llama-3.1-70b"},
            "phases": [{"name": "serve", "kind": "serve", "users": "sea", "days": 365,
                        "start": start, "output_tokens_per_day": 2e9,
                        "input_tokens_per_day": 8e9, "tpot_ms": 40, "precision": "fp8",
                        "site": site}],
        }  # fmt: skip
        return {f.code: f.message for f in quote(parse_scenario(data), catalog).findings}

    sg = {"region": "sg", "accelerator": "h100-sxm", "pricing": "reserved_1y"}
    diffusion = row("us-ai-diffusion-offshore-access")
    announced, lapsed = diffusion["effective_from"], diffusion["effective_to"]
    assert diffusion["announced"] is None and announced < lapsed
    between = announced + (lapsed - announced) // 2
    found = messages(str(between), str(between + (lapsed - between) // 2), sg)
    assert found[diffusion["id"]].endswith(f" (lapsed {lapsed}, after {between})")
    before = announced.replace(day=1) - timedelta(days=40)
    found = messages(str(before), str(between), sg)
    assert found[diffusion["id"]].endswith(
        f" (announced {announced}, lapsed {lapsed}, after {before})"
    )
    # A rule that ends after the phase is marked too: its message states the end.
    export = row("us-export-2023-advanced-chips-cn")
    day = export["effective_to"] - timedelta(days=200)
    cn = {"region": "cn-east", "accelerator": "h100-sxm", "pricing": "owned"}
    found = messages(str(day), str(day + timedelta(days=60)), cn)
    assert found[export["id"]].endswith(f" (lapsed {export['effective_to']}, after {day})")
    # Open-ended rules known on the quote's date carry no mark.
    assert all("lapsed" not in m for code, m in found.items() if code != export["id"])


def test_a_transfer_marks_a_data_rule_made_public_or_lapsed_after_the_quote(tmp_path):
    """rev18a #3: a transfer's data findings carried no mark at all; they now read as a
    phase's do (`checks.rule_hindsight`, one wording)."""
    from pricing import load_catalog

    header = (EXAMPLES.parent / "pricing" / "data" / "policies.csv").read_text().splitlines()[0]
    rule = ("my-data-rule,2025-06-01,2026-06-01,2026-01-10,warn,personal-cn,!CN,*,*,*,*,*,,"
            "My counsel's reading,estimate,,my counsel,2026-01-10")  # fmt: skip
    (tmp_path / "policies.csv").write_text(f"{header}\n{rule}\n", encoding="utf-8")
    cat = load_catalog(tmp_path)
    s = parse_scenario(_collect_then_train(
        {"region": "cn-east", "accelerator": "h100-sxm", "pricing": "on_demand"},
        {"region": "us-east", "accelerator": "h100-sxm", "pricing": "on_demand"}))  # fmt: skip
    (mine,) = [f for f in quote(s, cat).findings if f.code == "my-data-rule"]
    assert mine.phase == "transfer collect->train"
    assert mine.message == "My counsel's reading (announced 2026-01-10, lapsed 2026-06-01, after " \
        f"{s.as_of})"  # fmt: skip


def test_a_runner_up_ruled_out_by_a_rule_made_public_later_says_so(tmp_path):
    """rev18a #3: a plan's runner-up rejected by a rule made public after the quote's date read
    "rule ID", as if known then; it now carries the rule's finding's mark."""
    from pricing import load_catalog

    header = (EXAMPLES.parent / "pricing" / "data" / "policies.csv").read_text().splitlines()[0]
    rule = ("my-sg-ban,2026-01-01,2027-01-01,,block,*,SG,*,*,*,*,*,,Singapore closes,estimate,,"
            "my analysis,2026-01-01")  # fmt: skip
    (tmp_path / "policies.csv").write_text(f"{header}\n{rule}\n", encoding="utf-8")
    data = _h100_sg(64)
    data["phases"][0]["site"] = {"regions": ["sg", "jp-tokyo"], "accelerators": ["h100-sxm"]}
    p = plan(parse_scenario(data), load_catalog(tmp_path))
    verdicts = [a.verdict for a in p.phases[0].alternatives if a.region == "sg"]
    s = p.scenario
    assert verdicts and all(
        v == f"rejected: rule my-sg-ban (announced 2026-01-01, lapsed 2027-01-01, after {s.as_of})"
        for v in verdicts
    ), verdicts


def test_h200_bought_in_china_is_priced_at_the_china_channel_price(catalog):
    """Reuters and Tencent reported the China price of an H200 8-GPU module (RMB 1.4 M, about
    USD 27,000 a chip), not the outside-China listing (rev12d #11): hardware.csv has a row
    scoped to CN; outside China the listing stays."""

    def bought(region: str) -> tuple[str, float]:
        data = {
            "name": "t", "as_of": "2026-02-01", "currency": "CNY", "tenant_hq": "CN",
            "model": {"preset": "llama-3.1-70b"},
            "phases": [{"name": "p", "tokens": 1e11, "devices": 64, "site": {
                "region": region, "accelerator": "h200", "pricing": "owned"}}],
        }  # fmt: skip
        (phase,) = quote(parse_scenario(data), catalog).phases
        (capital,) = [i for i in phase.line_items if i.component == "capital"]
        return phase.instance, capital.unit_price

    # rev13b #3: the module's price has no host server: a server is 1.25 x it (an estimate)
    assert bought("cn-west") == ("h200-8gpu-module-cn", 1_400_000 * 1.25)
    instance, price = bought("sg")
    assert instance == "h200-8gpu-server" and price != 1_400_000 * 1.25


def _buy_h200_in_china(days: int = 365) -> dict:
    return {
        "name": "t", "as_of": "2026-03-01", "currency": "CNY", "tenant_hq": "CN",
        "model": {"preset": "llama-3.3-70b"},
        "phases": [{"name": "serve", "kind": "serve", "users": "cn", "days": days,
                    "input_len": 2048, "output_len": 512, "tpot_ms": 50, "devices": 64,
                    "precision": "fp8", "site": {"region": "cn-west", "accelerator": "h200",
                                                 "pricing": "owned"}}],
    }  # fmt: skip


def test_a_module_price_is_not_ranked_as_a_whole_server(catalog, tmp_path):
    """hardware.csv's China H200 row prices the 8-GPU module without its host server (rev13b
    #3: it was bought, and outranked full servers, as if it were one, and charged a whole
    server's power). Its scope says so and a quote prices the server at defaults.csv
    module_host_uplift times it, in every figure read from the capital (resale, operations),
    and says so in the line item, the owned-capex finding and the assumptions; the uplift is
    data: a catalog that sets it to 1 gets the module price back."""
    from pricing import load_catalog

    hardware = catalog.table("hardware")
    assert hardware.filter(pl.col("scope") == "module")["id"].unique().to_list() == [
        "h200-8gpu-module-cn"
    ]
    assert catalog.default("module_host_uplift") == 1.25
    q = quote(parse_scenario(_buy_h200_in_china()), catalog)
    (phase,) = q.phases
    items = {i.component: i for i in phase.line_items}
    assert items["capital"].unit_price == 1_750_000
    assert "module 1,400,000 CNY x 1.25 for the host server" in items["capital"].description
    assert items["resale"].unit_price == pytest.approx(-1_750_000 * 0.65)
    assert items["operations"].unit_price == pytest.approx(1_750_000 * 0.05 / 8760)
    capex = next(f for f in q.findings if f.code == "owned-capex")
    assert "(module price x 1.25 for the host servers" in capex.message
    assert "h200-8gpu-module-cn is priced as a module" in q.assumptions["host_uplift"]["serve"]
    head = "name,value,unit,basis,note,source,as_of\n"
    row = "module_host_uplift,1,x,estimate,,https://example.com/none,2026-01-01\n"
    (tmp_path / "defaults.csv").write_text(head + row, encoding="utf-8")
    (plain,) = quote(parse_scenario(_buy_h200_in_china()), load_catalog(tmp_path)).phases
    assert {i.component: i for i in plain.line_items}["capital"].unit_price == 1_400_000
    # A fleet of the same hardware pays operations on a whole server's price too.
    fleet = _buy_h200_in_china()
    fleet["fleet"] = [{"name": "mine", "region": "cn-west", "accelerator": "h200",
                       "devices": 64}]  # fmt: skip
    fleet["phases"][0]["site"]["pricing"] = "fleet"
    (owned,) = quote(parse_scenario(fleet), catalog).phases
    operations = {i.component: i for i in owned.line_items}["operations"]
    assert operations.unit_price == pytest.approx(1_750_000 * 0.05 / 8760)


@pytest.mark.parametrize(
    "fixed",
    [
        {"model": "llama-3.1-405b", "precision": None},  # does not fit 8 L40S (rev12a #4)
        {"model": "llama-3.1-8b", "precision": "fp8"},  # an A100 has no FP8
    ],
)
def test_an_unpriced_fixed_phase_beside_an_auto_one_is_planned(catalog, fixed):
    # A fixed site with no total (the physics has no answer) crashed the joint placement of
    # the auto phase beside it (float(None)); it is left out of the total, as a quote does.
    accelerator = "l40s" if fixed["precision"] is None else "a100-80g"
    site = {"region": "us-east", "accelerator": accelerator, "pricing": "on_demand"}
    a = {"name": "a", "kind": "train", "tokens": 1e11, "devices": 8, "site": site}
    if fixed["precision"]:
        a["precision"] = fixed["precision"]
    b = {"name": "b", "kind": "train", "tokens": 1e11, "deadline_days": 30,
         "site": {"regions": ["us-east"], "accelerators": ["h100-sxm"]}}  # fmt: skip
    data = {"name": "mix", "as_of": "2025-11-27", "currency": "USD",
            "model": {"preset": fixed["model"]}, "phases": [a, b]}  # fmt: skip
    p = plan(parse_scenario(data), catalog)
    priced = {q.name: q.priced for q in p.quote.phases}
    assert priced == {"a": False, "b": True}
    assert p.quote.total == next(q.cost for q in p.quote.phases if q.name == "b")


def _public_serving_cn(output_per_day: float, **phase: object) -> dict:
    """rev13b #5's scenario: a public service for users in China, input 5x output."""
    return {
        "name": "public serving for Chinese users", "as_of": "2025-11-27", "currency": "CNY",
        "tenant_hq": "CN", "model": {"preset": "qwen3-235b-a22b"},
        "phases": [{"name": "serve-cn", "kind": "serve", "users": "cn", "data": "public",
                    "days": 365, "input_tokens_per_day": 5 * output_per_day,
                    "output_tokens_per_day": output_per_day, "tpot_ms": 50, "ttft_ms": 1000,
                    "precision": "fp8", "site": "auto", **phase}],
    }  # fmt: skip


SPLIT = "phase-exceeds-largest-offer"


def test_a_serving_phase_larger_than_the_cheapest_offer_says_it_was_not_split(catalog):
    # rev13b #5: 7% more demand moved the whole service from the China H100 rental (trusted
    # for 512 devices) to Virginia at 3.2x the cost, with no word on why: a phase is never
    # split across offers.
    small = plan(parse_scenario(_public_serving_cn(2.8e10)), catalog)
    assert small.quote.phases[0].country == "CN"
    assert SPLIT not in {f.code for f in small.quote.findings}
    large = plan(parse_scenario(_public_serving_cn(3.0e10)), catalog)
    (p,) = large.quote.phases
    assert p.country != "CN"
    (found,) = [f for f in large.quote.findings if f.code == SPLIT]
    assert found.severity == "warn" and found.phase == "serve-cn"
    needed = int(found.message.split(" x ")[0].removeprefix("needs ").replace(",", ""))
    assert needed > 512 and "has at most 512" in found.message and "cn-east" in found.message
    assert "never split across offers" in found.message and found.source
    # The offer it names is the alternative rejected for its size, cheaper than the chosen one.
    rejected = [a for a in large.phases[0].alternatives if "rejected: capacity" in a.verdict]
    assert rejected and rejected[0].cost is not None and rejected[0].cost < float(p.cost)
    assert f"{rejected[0].cost:,.0f} CNY" in found.message


def test_no_split_finding_when_the_users_own_device_cap_is_what_binds(catalog):
    # --max-devices below what the China rental would need: the user's limit rules it out
    # (capacity-short says so), whatever the offer's size.
    placed = plan(parse_scenario(_public_serving_cn(3.0e10)), catalog, max_devices=520)
    assert placed.quote.phases[0].country != "CN"
    assert SPLIT not in {f.code for f in placed.quote.findings}


def test_a_training_run_larger_than_an_offer_gets_no_split_finding(catalog):
    # A run's devices share one cluster network: splitting it across providers is no option.
    q = plan(load_scenario(EXAMPLES / "cn_lab_no_stockpile.toml"), catalog).quote
    pretrain = next(p for p in q.phases if p.name == "pretrain")
    assert pretrain.country != "CN"  # 1,280 devices: more than the China rentals' 512
    assert SPLIT not in {f.code for f in q.findings if f.phase == "pretrain"}


def test_a_fleet_too_small_for_the_demand_is_named_as_the_fleet(catalog):
    # The same flip from a fleet: 64 owned H800 against a demand needing more moved the whole
    # service to a rental at about 5x the cost; the finding names the fleet, not "fleet fleet".
    data = _public_serving_cn(4e9)
    data["fleet"] = [{"name": "h800-small", "region": "cn-east", "accelerator": "h800",
                      "devices": 64, "acquired": "2023-06-01"}]  # fmt: skip
    placed = plan(parse_scenario(data), catalog)
    assert placed.quote.phases[0].pricing != "fleet"
    (found,) = [f for f in placed.quote.findings if f.code == SPLIT]
    assert "the fleet 'h800-small' in cn-east" in found.message and "at most 64" in found.message
    # rev16c Q3: not "the cheapest option otherwise allowed" by the cost of a run on devices
    # the fleet does not have (its `run_usd`, capital sunk): a device of it costs less to run
    # than one of the placement chosen, and it is named as hardware already owned.
    assert "cheapest" not in found.message
    assert "the fleet 'h800-small' in cn-east, already owned and otherwise allowed" in (
        found.message
    )
    (fleet,) = [a for a in placed.phases[0].alternatives if a.pricing == "fleet"]
    assert fleet.verdict.startswith("rejected: capacity")


def _serve_on_a_capacity_block(days: int) -> dict:
    return {
        "name": "t", "as_of": "2026-03-01", "currency": "USD", "tenant_hq": "CN",
        "model": {"preset": "llama-3.3-70b"},
        "phases": [{"name": "serve", "kind": "serve", "data": "public", "users": "us",
                    "days": days, "input_len": 2048, "output_len": 512, "tpot_ms": 50,
                    "precision": "fp8", "site": {
                        "region": "us-east", "accelerator": "b200", "pricing": "contract",
                        "instance": "p6-b200.48xlarge (EC2 Capacity Block)"}}],
    }  # fmt: skip


def test_an_offer_is_not_rented_past_its_longest_term(catalog):
    """AWS sells a Capacity Block for at most 182 days and extends one only if capacity allows
    (offers.csv max_term_days): a longer phase is blocked on it, with the page that says so,
    and the planner takes another option (rev13b #2: a 350-day pretraining run was priced at
    one block's rate)."""

    def codes(days: int) -> dict:
        found = quote(parse_scenario(_serve_on_a_capacity_block(days)), catalog).findings
        return {f.code: f for f in found}

    assert "term-too-long" not in codes(182)
    blocked = codes(183)["term-too-long"]
    assert blocked.severity == "block" and "capacity-blocks-purchase" in blocked.source
    assert (
        "for 183.0 days; aws sells p6-b200.48xlarge (EC2 Capacity Block) contract for at most "
        "182 days" in blocked.message
    )
    scenario = load_scenario(EXAMPLES / "cn_lab_no_stockpile.toml")
    data = scenario.model_dump(mode="json", exclude_none=True)
    pretrain = next(p for p in data["phases"] if p["name"] == "pretrain")
    pretrain["deadline_days"] = 365
    result = plan(parse_scenario(data), catalog, as_of=date(2026, 3, 1))
    chosen = next(p for p in result.quote.phases if p.name == "pretrain")
    assert "Capacity Block" not in chosen.instance and chosen.wall_clock_days > 182
    assert next(p for p in result.phases if p.phase == "pretrain").removed.get("term", 0) >= 1


def test_a_swap_between_phases_at_the_same_total_is_called_a_tie(catalog):
    """Two serving phases that each need 288 H100 of a 512-device China rental: one gets it,
    the other H800, and which is which makes no difference to the total. The runner-up said
    "cheaper on its own, but the whole plan costs 0 CNY more with it" (rev13b #12)."""
    serve = {
        "kind": "serve", "users": "cn", "data": "personal", "days": 365,
        "input_tokens_per_day": 8e10, "output_tokens_per_day": 1.6e10, "tpot_ms": 50,
        "ttft_ms": 1000, "precision": "int8",
        "site": {"regions": ["cn-east"], "pricing": ["contract"]},
    }  # fmt: skip
    scenario = parse_scenario(
        {
            "name": "t", "as_of": "2025-11-27", "currency": "CNY", "tenant_hq": "CN",
            "model": {"preset": "qwen3-235b-a22b"},
            "phases": [{"name": "a", **serve}, {"name": "b", **serve}],
        }
    )  # fmt: skip
    p = plan(scenario, catalog)
    assert sorted(q.accelerator for q in p.quote.phases) == ["h100-sxm", "h800"]
    swapped = next(pp for pp in p.phases if pp.alternatives[0].accelerator == "h800")
    other = "'b'" if swapped.phase == "a" else "'a'"
    verdict = next(a.verdict for a in swapped.alternatives if a.accelerator == "h100-sxm")
    assert "costs the same with it" in verdict and other in verdict
    assert "tie between equal plans" in verdict
    assert "0 CNY more" not in verdict


def test_no_placement_for_want_of_prices_says_so_not_a_supply_rule(catalog, runner):
    """rev13b #6: before the catalog's first foreign rental price (GCP, 2024-05-17), a Chinese
    lab's pretraining had no allowed placement, and the error named the supply rule that
    blocks buying H800 as the best, as if renting abroad had been weighed and lost. Renting
    H100 abroad was allowed: the catalog has no price for it then, and the error says that
    first, the options it does price after it."""
    s = load_scenario(EXAMPLES / "cn_lab_no_stockpile.toml")
    with pytest.raises(InfeasibleError) as err:
        plan(s, catalog, as_of="2024-01-15")
    said = str(err.value)
    gap = said.index("the catalog has no price on 2024-01-15 for ")
    assert "options nothing else rules out (a gap in its price history, not a rule)" in said
    assert "its first is from 2024-05-17, h100-sxm from gcp in " in said
    assert gap < said.index("of the options it prices on 2024-01-15, the best: supply:")
    # On the command line: the gap on the error line, the options priced on a line of its own
    # (two facts, read apart).
    args = ["plan", str(EXAMPLES / "cn_lab_no_stockpile.toml"), "--as-of", "2024-01-15"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    first, second = result.stderr.splitlines()
    assert "a gap in its price history" in first and "characters)" not in first
    assert second.startswith("  of the options it prices on 2024-01-15, the best: supply:")
    # A gap the rules would block anyway is no gap worth naming: personal data of Chinese
    # users may not be trained on abroad, priced or not.
    abroad = _train_scenario(
        as_of="2024-01-15", tokens=1e10, workload="finetune", data="personal", devices=64,
        site={"regions": ["us-east"]},
    )  # fmt: skip
    with pytest.raises(InfeasibleError) as err:
        plan(parse_scenario(abroad), catalog)
    assert "gap in its price history" not in str(err.value)
    assert "(its first is from 2024-05-17; nor is any it prices later allowed)" in str(err.value)


def test_a_replica_across_rented_servers_on_an_unstated_network_is_warned(catalog):
    """rev13b #7: Qwen3-235B served on the China H100 rental in 16-device replicas, two of its
    8-GPU servers each, was costed at the H100's 400 Gbit/s per GPU cluster network, though
    the rental's source (idle data centres renting single servers) says nothing of a fabric.
    A warn (the network is unknown, not known absent as for pods), naming the figure used and
    the way to keep replicas inside one server; none once the row states its network."""
    from estimator import quote

    def serve(replica: int, cat=catalog, model: str = "qwen3-235b-a22b"):
        data = {
            "name": "t", "as_of": "2025-11-27", "currency": "CNY", "tenant_hq": "CN",
            "model": {"preset": model},
            "phases": [{
                "name": "s", "kind": "serve", "users": "cn", "data": "personal", "days": 365,
                "input_tokens_per_day": 4e10, "output_tokens_per_day": 8e9, "tpot_ms": 50,
                "ttft_ms": 1000, "precision": "int8", "replica_devices": replica,
                "site": {"region": "cn-east", "accelerator": "h100-sxm", "pricing": "contract",
                         "provider": "cn-gpu-rental-market"},
            }],
        }  # fmt: skip
        q = quote(parse_scenario(data), cat)
        return {f.code: f for f in q.findings}

    found = serve(16)
    warn = found["replica-network-unstated"]
    assert warn.severity == "warn"
    assert warn.message.startswith("each 16-device replica spans 2 instances of 8x H100 server")
    assert "costed at the h100-sxm's 400 Gbit/s per device" in warn.message
    assert "Servers rented one at a time may have no such fabric" in warn.message
    assert warn.message.endswith("or set replica_devices = 8 (replicas inside one server)")
    assert "replica-network-unstated" not in serve(8)
    stated = catalog.with_table(
        "offers",
        lambda df: df.with_columns(
            instance_scaleout_gbit_s=pl.when(pl.col("provider") == "cn-gpu-rental-market")
            .then(3200.0)
            .otherwise(pl.col("instance_scaleout_gbit_s")),
            instance_scaleout_source=pl.when(pl.col("provider") == "cn-gpu-rental-market")
            .then(pl.lit("https://example.com/fabric"))
            .otherwise(pl.col("instance_scaleout_source")),
        ),
    )
    assert "replica-network-unstated" not in serve(16, stated)
    # rev13d #1: a dense replica across instances is refused (`replica-spans-instances`), not
    # also said to run its "expert traffic" over a network.
    dense = serve(16, model="llama-3.1-70b")
    assert "replica-spans-instances" in dense and "replica-network-unstated" not in dense


# rev14a #1: the cn-east A100 rental re-priced to 200 USD/h (a user catalog), so that training
# abroad is the cheaper option for a phase that receives a dataset of personal data.
_DEAR_HOME = (
    "provider,region,accelerator,instance,devices_per_instance,pricing,price_per_device_hour,"
    "currency,min_term_days,price_low,price_high,evidence,max_devices,instance_scaleout_gbit_s,"
    "instance_scaleout_source,max_term_days,max_term_source,basis,note,source,as_of\n"
    "cn-small-csp,cn-east,a100-40g,8x A100 server,8,on_demand,200,USD,0,,,reported,,,,,,"
    "reported,test,https://example.com/dear,2025-11-20\n"
)


def _collect_then_train(collect_site: object, train_site: object) -> dict:
    return {
        "name": "pt",
        "as_of": "2025-11-27",
        "currency": "USD",
        "tenant_hq": "CN",
        "model": {"preset": "llama-3.1-8b"},
        "phases": [
            {"name": "collect", "workload": "finetune", "tokens": 1e10, "data": "personal",
             "deadline_days": 10, "site": collect_site},
            {"name": "train", "tokens": 1e12, "data": "public", "deadline_days": 30,
             "site": train_site},
        ],
        "transfers": [{"from": "collect", "to": "train", "what": "dataset"}],
    }  # fmt: skip


def test_a_plan_never_sends_personal_data_abroad_through_a_transfer(tmp_path):
    """rev14a #1: the planner placed phases on their own rules only and judged a transfer's
    data once placed, so the cheapest plan sent a dataset of personal data of people in China
    to a phase abroad (exit 0), listing the allowed placement at home as "costs more". Now the
    pair of placements is ruled out: the receiving phase stays at home, the quote of the
    placement is not blocked, and the options abroad say which transfer rules them out."""
    from pricing import load_catalog

    (tmp_path / "offers.csv").write_text(_DEAR_HOME, encoding="utf-8")
    cat = load_catalog(tmp_path)
    open_site = {"regions": ["cn-east", "us-east"], "pricing": ["on_demand"]}
    s = parse_scenario(_collect_then_train("auto", open_site))
    p = plan(s, cat, top_k=12)
    placed = {x.name: x.region for x in p.quote.phases}
    assert placed == {"collect": "cn-east", "train": "cn-east"}
    assert not p.quote.blocked
    # The placements quoted as fixed sites: the plan's figures, and nothing blocked.
    again = quote(p.scenario, cat)
    assert again.total == p.quote.total and not again.blocked
    (train,) = [x for x in p.phases if x.phase == "train"]
    assert train.removed["rule"] == 8 and train.allowed == 1
    abroad = [a for a in train.alternatives if a.region == "us-east"]
    assert abroad and all(
        a.verdict == "rejected: rule cn-pipl-personal-data-abroad on transfer collect->train"
        for a in abroad
    )
    # Without the transfer, training abroad is the cheaper plan (the rule is what moved it).
    free = parse_scenario({**_collect_then_train("auto", open_site), "transfers": []})
    assert {x.name: x.region for x in plan(free, cat).quote.phases}["train"] == "us-east"


def test_no_allowed_plan_when_every_placement_sends_personal_data_abroad(catalog):
    """The receiving phase fixed abroad: its personal-data source can run neither abroad (its
    own rule) nor at home (its dataset would then go abroad): no allowed placement, exit 1,
    naming the transfer's rule, as for a phase with no allowed option."""
    from estimator.errors import NoPlacementError

    abroad = {"region": "us-east", "accelerator": "h100-sxm", "pricing": "on_demand"}
    s = parse_scenario(_collect_then_train("auto", abroad))
    with pytest.raises(NoPlacementError) as err:
        plan(s, catalog)
    assert err.value.phase == "collect"
    assert "the best: rule cn-pipl-personal-data-abroad on transfer collect->train" in str(
        err.value
    )
    # Both ends fixed: not placed, quoted with its block (exit 0; --strict fails).
    home = {"region": "cn-east", "accelerator": "h100-sxm", "pricing": "contract"}
    fixed = plan(parse_scenario(_collect_then_train(home, abroad)), catalog)
    assert [f.phase for f in fixed.quote.findings if f.severity == "block"] == [
        "transfer collect->train"
    ]


def test_split_auto_with_its_personal_dataset_sent_to_pretraining_has_no_allowed_plan(
    runner, tmp_path
):
    """rev14a #1's repro: split_auto with the personal-data post-training first, its dataset
    sent to the pretraining, planned pretraining in us-east (exit 0). No pretraining in China
    meets its deadline, so no plan is allowed: exit 1, the transfer's rule named."""
    text = AUTO.read_text(encoding="utf-8")
    a = text.find('[[phases]]\nname = "pretrain"')
    b = text.find('[[phases]]\nname = "post-train"')
    c = text.find('[[phases]]\nname = "serve-cn"')
    swapped = text[:a] + text[b:c] + text[a:b] + text[c:]
    old = '[[transfers]]\nfrom = "pretrain"\nto = "post-train"\nwhat = "weights"'
    assert old in swapped
    new = '[[transfers]]\nfrom = "post-train"\nto = "pretrain"\nwhat = "dataset"'
    path = tmp_path / "sa_ds.toml"
    path.write_text(swapped.replace(old, new), encoding="utf-8")
    out = runner.invoke(app, ["plan", str(path)])
    assert out.exit_code == 1 and out.stdout == ""
    assert "phases[1] 'pretrain': no allowed placement among" in out.stderr
    assert "rule cn-pipl-personal-data-abroad on transfer post-train->pretrain" in out.stderr


def test_a_shock_that_blocks_only_a_transfer_re_places_the_receiving_phase(write, catalog):
    """A shock on a data class blocked a dataset sent from sg to cn-east, not either phase:
    `plan --shock` took the transfer's finding for a phase ("no phase 'transfer
    collect->train'", exit 2). The receiving phase is re-placed, where the data may go."""
    header = (EXAMPLES.parent / "pricing" / "data" / "policies.csv").read_text().splitlines()[0]
    row = (
        "us-data-stays,2025-11-27,,,block,personal-us,!US,*,*,*,*,*,,US personal data stays in "
        "the US,estimate,,my analysis,2025-11-27"
    )
    path = write("shock.csv", f"{header}\n{row}\n")
    fixed = parse_scenario(
        {
            **_collect_then_train(
                {"region": "us-east", "accelerator": "h100-sxm", "pricing": "on_demand"},
                {"region": "cn-east", "accelerator": "a100-40g", "pricing": "on_demand"},
            ),
            "tenant_hq": "US",
        }
    )
    result = apply_shock(prepare(fixed, catalog), [str(path)])
    assert [r.phase for r in result.replanned] == ["train"]
    assert {x.name: x.region for x in result.shocked.quote.phases}["train"] == "us-east"
    assert not result.shocked.quote.blocked


def test_no_joint_placement_names_the_capacity_and_phases_that_clash(catalog):
    # rev14a #10: two serving phases that together overfill China's 512-device rental market
    # were told only "each phase has allowed options, but not all at once".
    serve = {
        "kind": "serve",
        "days": 90,
        "devices": 300,
        "data": "personal",
        "site": {"regions": ["cn-east"], "accelerators": ["h100-sxm"]},
    }
    data = {
        "name": "two",
        "as_of": "2025-11-27",
        "currency": "CNY",
        "tenant_hq": "CN",
        "model": {"preset": "llama-3.1-70b"},
        "phases": [{"name": "s1", **serve}, {"name": "s2", "start": "2025-11-27", **serve}],
    }
    with pytest.raises(InfeasibleError) as err:
        plan(parse_scenario(data), catalog)
    message = str(err.value)
    assert "not all at once (on their first-ranked options: phases 's1', 's2' run at" in message
    assert "need 608 devices together: it has 512)" in message


def test_owned_training_without_a_deadline_ranks_each_run_at_its_own_resale_age(catalog):
    # rev14c #1: a training phase without a deadline has the first-ranked option's run as its
    # window, and every candidate was resold at that age: an H100 run of 1,965 days was priced
    # with the 2.6-year resale of the B200 run (939 days) and chosen at 8.8% more than it.
    site = {"regions": ["us-east"], "accelerators": ["h100-sxm", "b200"], "pricing": ["owned"]}
    phase = {"name": "pretrain", "tokens": 1.2e13, "data": "public", "devices": 64,
             "start": "2026-09-01", "site": site}  # fmt: skip
    data = {
        "name": "long run owned",
        "as_of": "2025-11-27",
        "currency": "USD",
        "tenant_hq": "US",
        "model": {"preset": "llama-3.1-70b"},
        "phases": [phase],
    }
    p = plan(parse_scenario(data), catalog)
    (chosen,) = p.quote.phases
    assert chosen.accelerator == "b200"
    # The runner-up's cost is what quoting it gives: resold at the end of its own run.
    (h100,) = [a for a in p.phases[0].alternatives if a.accelerator == "h100-sxm"]
    fixed = {"region": "us-east", "accelerator": "h100-sxm", "pricing": "owned"}
    data["phases"][0]["site"] = fixed
    alone = quote(parse_scenario(data), catalog)
    # To the cent per line item: the quote adds whole-cent line items, a runner-up rounds its
    # row's total (as tests/test_one_path.py allows); 365-day years happened to agree.
    items = alone.phases[0].line_items
    assert h100.cost == pytest.approx(float(alone.total), abs=0.005 * len(items))
    (resale,) = [i for i in items if i.component == "resale"]
    # 5.4 years from the phase start, 6.0 from the delivery (2026-02-05) the capital was paid
    # on: ordered on the scenario date, held 7 months before the phase (rev17b #2). Ordered as
    # late as it arrives in time (rev18a #6): 2025-12-31, the last day of supply.csv's 70-day
    # lead (its 308 days from 2026-01-01 arrive late), delivered 2026-03-11: 5.9 years.
    assert "5.9 years old" in resale.description


# -- a stockpile owner's fleet late by the estimate, not by a published run (rev15b #1) -------

LATE = "own-fleet-late-by-estimate"


def _deepseek_lab(deadline: float, **pretrain: object) -> dict:
    """rev15b's ds_v3.toml, pretraining only: DeepSeek's own 2,048 H800 and V3's 14.8T FP8."""
    return {
        "name": "DeepSeek-like lab", "as_of": "2024-09-01", "currency": "CNY", "tenant_hq": "CN",
        "fleet": [{"name": "h800", "region": "cn-east", "accelerator": "h800", "devices": 2048,
                   "acquired": "2023-06-01"}],
        "model": {"preset": "deepseek-v3"},
        "phases": [{"name": "pretrain", "tokens": 14.8e12, "data": "public", "precision": "fp8",
                    "deadline_days": deadline, "site": "auto", **pretrain}],
    }  # fmt: skip


@pytest.mark.parametrize(
    "as_of, rents", [("2024-09-01", "h100-sxm"), ("2025-11-27", "b200")], ids=["2024", "today"]
)
def test_a_fleet_late_only_by_the_estimate_says_what_it_would_do_and_what_was_published(
    catalog, as_of, rents
):
    # rev15b #1: DeepSeek's 2,048 H800 were rejected as "needs 2,304 x h800; the fleet 'h800'
    # has 2,048", and the lab told to rent 2,560 H100 in Iowa for 341 M CNY: this estimate (a
    # Megatron-class stack) gives the fleet 81.9 days (80.7 since phys17b's refit raised the
    # H800's MoE efficiency 0.43 -> 0.442), DeepSeek's published run 54.
    # rev17a #2b: on today's catalog (README's example) the fleet's row vanished from the
    # runners-up: a cheaper rental rejected for capacity, the same kind, kept the only place.
    from estimator import parse_scenario

    lab = parse_scenario({**_deepseek_lab(75), "as_of": as_of})
    p = plan(lab, catalog)
    (train,) = p.quote.phases
    assert train.pricing != "fleet" and train.country == "US"  # the estimate is not tuned
    assert train.accelerator == rents  # README: "B200 planned on 2025-11-27, H100 on 2024-09-01"
    # The fleet's row is there whatever the number of runners-up asked for.
    one = plan(lab, catalog, top_k=1).phases[0].alternatives
    assert [a.pricing for a in one].count("fleet") == 1
    (fleet,) = [a for a in p.phases[0].alternatives if a.pricing == "fleet"]
    assert fleet.verdict.startswith("rejected: capacity: needs 2,304 x h800 to finish within")
    for said in ("the 75-day deadline", "has 2,048, which finish in 80.7 days by this estimate",
                 "the published run of deepseek-v3 on h800 (DeepSeek-V3 Technical Report",
                 "2,664,000 h800-hours for 14.8T tokens", "finish this phase in 54.2 days",
                 "give the phase `mfu` and `goodput`"):  # fmt: skip
        assert said in fleet.verdict, said
    # rev17b #6: the row shows the fleet as it is, as the phase row of a quote on it does (it
    # showed the 2,304 the deadline sizes, and their 73 days, beside that verdict).
    on_fleet = quote(lab.with_changes({"phases.pretrain.site": {"fleet": "h800"}}), catalog)
    (shown,) = on_fleet.phases
    assert fleet.devices == shown.devices == lab.fleet_named("h800").devices
    assert fleet.wall_clock_days == pytest.approx(shown.wall_clock_days)
    # The headline answer says so too, once, on the phase.
    (late,) = [f for f in p.quote.findings if f.code == LATE]
    assert late.severity == "warn" and late.phase == "pretrain"
    assert "the fleet 'h800' (2,048 x h800 in cn-east) is not used" in late.message
    assert (
        "80.7 days by this estimate, past the 75-day deadline, so the phase rents" in late.message
    )
    assert "54.2 days" in late.message and "2412.19437" in (late.source or "")
    # Quoting the chosen rental as a fixed site gives the same finding (pinning the plan's
    # choice gives its answer), said of a site that leaves the fleet out (rev15c #1).
    (pinned,) = [f for f in quote(p.scenario, catalog).findings if f.code == LATE]
    assert pinned.message.startswith(
        "the fleet 'h800' (2,048 x h800 in cn-east) is not in this phase's site; it finishes "
        "this phase in 80.7 days by this estimate"
    )
    assert "instead" not in pinned.message and "54.2 days" in pinned.message
    # The site, not the estimate, keeps the fleet out of that quote: information (rev15e #2).
    assert pinned.severity == "info"


def test_a_fleet_the_phases_site_leaves_out_is_not_blamed_on_the_estimate(catalog):
    # rev15c #1: a site narrowed to us-central was told "the fleet 'h800' ... is not used: by
    # this estimate it finishes ... so the phase rents 2,560 x h100-sxm in us-central instead".
    from estimator import parse_scenario

    narrowed = {"regions": ["us-central"], "accelerators": ["h100-sxm"]}
    p = plan(parse_scenario(_deepseek_lab(75, site=narrowed)), catalog)
    assert LATE not in {f.code for f in p.quote.findings}
    assert not [a for a in p.phases[0].alternatives if a.pricing == "fleet"]
    # A fixed site written by hand: the fleet is not in it, no "so ... instead".
    fixed = {"region": "us-central", "accelerator": "h100-sxm", "pricing": "on_demand"}
    q = quote(parse_scenario(_deepseek_lab(75, site=fixed)), catalog)
    (late,) = [f for f in q.findings if f.code == LATE]
    assert "is not in this phase's site" in late.message and "instead" not in late.message
    # rev15e #2: `mfu` and `goodput` alone would leave the phase on the rental; the way to the
    # fleet is the site, said first, and nothing the quote chose rests on the estimate.
    assert late.severity == "info"
    assert late.message.endswith(
        "finish this phase in 54.2 days: to run the phase on the fleet, open its site to it "
        '(site = "auto", or a site with pricing = "fleet" in cn-east): by this estimate alone '
        "it still misses the deadline there, so if your stack matches that run, also give the "
        'phase `mfu` and `goodput` (README, "A faster stack than the estimate\'s")'
    )
    given = quote(parse_scenario(_deepseek_lab(75, site=fixed, mfu=0.5, goodput=0.9)), catalog)
    (late,) = [f for f in given.findings if f.code == LATE]
    assert late.message.endswith(
        'open its site to it (site = "auto", or a site with pricing = "fleet" in cn-east)'
    )


def test_a_what_if_reads_the_site_the_user_gave_too(catalog, runner):
    # rev15c #1: a shock re-places serving abroad; pretraining stays on the plan's pinned
    # rental, and its quote after the shock said the fleet "is not in this phase's site", of
    # the site the planner chose where the plan's own quote said why it was not used.
    from estimator import parse_scenario

    data = _deepseek_lab(75)
    data["phases"].append({"name": "serve-abroad", "kind": "serve", "users": "foreign",
                           "data": "public", "days": 180, "input_tokens_per_day": 4e9,
                           "output_tokens_per_day": 8e8, "tpot_ms": 50, "precision": "fp8",
                           "site": {"regions": ["sg"]}})  # fmt: skip
    s = parse_scenario(data)
    view = json.loads(_shock_text(runner, s, "offshore-access-ends=2024-10-01", "json"))
    assert [r["phase"] for r in view["shock"]["replanned"]] == ["serve-abroad"]
    (late,) = [f for f in view["shock"]["quote_after"]["findings"] if f["code"] == LATE]
    assert "is not used:" in late["message"] and "so the phase rents" in late["message"]


def test_a_late_fleet_at_the_speed_the_phase_gave_is_not_told_to_give_it(catalog):
    # rev15c #2: a phase with mfu 0.5 and goodput 0.9 was told "by this estimate ... give the
    # phase `mfu` and `goodput`": the time is the user's own statement.
    from estimator import parse_scenario

    # 75.3 days until phys17b's refit (dp_comm_exposed 0.065 -> 0.077: `mfu` sets the GEMM
    # efficiency, not the exposed traffic); still past 75, as the test needs.
    p = plan(parse_scenario(_deepseek_lab(75, mfu=0.5, goodput=0.9)), catalog)
    (late,) = [f for f in p.quote.findings if f.code == LATE]
    (fleet,) = [a for a in p.phases[0].alternatives if a.pricing == "fleet"]
    for said in (late.message, fleet.verdict):
        assert "75.4 days at the mfu 0.5 and goodput 0.9 you gave" in said, said
        assert "by this estimate" not in said and "give the phase" not in said, said
        assert "finish this phase in 54.2 days" in said  # the published rate, as information


_H800_FLEET = {"region": "cn-east", "accelerator": "h800", "pricing": "fleet"}


def _small_fleet_quotes(catalog):
    """512 H800 of a fleet with a 75-day deadline, sized by it and with `devices = 512`."""
    from estimator import parse_scenario

    data = _deepseek_lab(75, site=_H800_FLEET)
    data["fleet"][0]["devices"] = 512
    sized = quote(parse_scenario(data), catalog)
    data["phases"][0]["devices"] = 512
    return sized, quote(parse_scenario(data), catalog)


def test_a_fleet_too_small_for_its_deadline_is_priced_as_the_same_fleet_given_devices(catalog):
    # rev16a #2: 512 H800 with a 75-day deadline were billed energy and operations for the
    # 2,304 the deadline needs (1,792 of which do not exist), while the same fleet with
    # `devices = 512` was unpriced (`deadline-missed`). A fleet cannot grow: both unpriced.
    sized, given = _small_fleet_quotes(catalog)
    for q, block in ((sized, "capacity-short"), (given, "deadline-missed")):
        (run,) = q.phases
        assert not run.priced and not run.line_items, block
        assert float(q.total) == 0.0, block
        codes = {f.code: f for f in q.findings}
        assert codes[block].severity == "block"
        assert "unpriced" not in codes, block  # no price is missing: the fleet is too small
    short = next(f for f in sized.findings if f.code == "capacity-short")
    assert "needs 2,304 x h800" in short.message and "has 512, which finish in" in short.message


def test_a_fleet_too_small_for_its_deadline_shows_the_fleet_it_is(catalog):
    # rev16c M4: 512 H800 with a 75-day deadline showed devices 2,304 and 73 days on the fleet
    # (1,792 devices that do not exist), and fleet-capital said energy and operations "are
    # charged" on a phase with no price. It shows the fleet's own run, as `devices = 512` does.
    sized, given = _small_fleet_quotes(catalog)
    (run,) = sized.phases
    assert run.devices == run.billed_devices == 512 and not run.priced
    assert round(run.wall_clock_days, 1) == 317.9  # 322.9 before phys17b's refit
    assert run.model_dump() == given.phases[0].model_dump()
    for q in (sized, given):
        (capital,) = [f for f in q.findings if f.code == "fleet-capital"]
        assert "are charged" not in capital.message
        assert capital.message.endswith("but the phase is not priced")
    short = next(f for f in sized.findings if f.code == "capacity-short")
    assert "needs 2,304 x h800" in short.message  # what the deadline needs is said there
    from estimator import parse_scenario

    priced = quote(parse_scenario(_deepseek_lab(400, site=_H800_FLEET)), catalog)
    (capital,) = [f for f in priced.findings if f.code == "fleet-capital"]
    assert "energy and operations are charged" in capital.message


def test_the_published_run_is_set_beside_the_run_the_phase_row_shows(catalog):
    # rev17a #5: on a fleet sized past itself the phase row shows the fleet's own run, but the
    # published-run finding beside it quoted the oversized row's device-hours (4,016,916 where
    # the row shows 3,986,431, and `devices = 1024` said 3,986,431).
    sized, given = _small_fleet_quotes(catalog)
    for q in (sized, given):
        (run,) = q.phases
        (published,) = [f for f in q.findings if f.code == "published-run"]
        assert f"against this estimate's {run.device_hours:,.0f} (" in published.message
    assert [f.message for f in sized.findings if f.code == "published-run"] == [
        f.message for f in given.findings if f.code == "published-run"
    ]


def test_a_fleet_that_meets_its_deadline_is_sized_at_most_at_the_fleet(catalog):
    # rev16c W2: 512 H800 finish in 322.9 days, yet a 323-day deadline sized 768 of them (the
    # sizing's headroom and whole replicas) and blocked the fleet, while `devices = 512` was
    # priced; and the capacity-short hint named that very deadline as the one that lets them.
    import re

    from estimator import parse_scenario

    site = {"region": "cn-east", "accelerator": "h800", "pricing": "fleet"}

    def quoted(deadline: float, devices: int | None = None):
        data = _deepseek_lab(deadline, site=site)
        data["fleet"][0]["devices"] = 512
        if devices:
            data["phases"][0]["devices"] = devices
        return quote(parse_scenario(data), catalog)

    short = next(f for f in quoted(75).findings if f.code == "capacity-short")
    hint = re.search(r"a deadline_days of ([\d,]+) or more lets them", short.message)
    assert hint is not None
    n = int(hint.group(1).replace(",", ""))
    sized, given = quoted(n), quoted(n, devices=512)
    for q in (sized, given):
        (run,) = q.phases
        assert run.priced and run.devices == run.billed_devices == 512
        assert run.wall_clock_days <= n
    assert sized.total == given.total
    late = quoted(n - 1)
    assert not late.phases[0].priced
    (short,) = [f for f in late.findings if f.code == "capacity-short"]
    assert f"to finish within the {n - 1}-day deadline; the fleet 'h800' has 512" in short.message


@pytest.mark.parametrize("deadline", [75, 250])
def test_no_placement_beside_a_fleet_too_small_says_how_short_it_falls(catalog, deadline):
    # rev16a #3: 512 H800 and a V3-size run at home: the error named a B200 purchase China
    # cannot make as the best, and told a lab with a fleet to "use hardware you already have
    # (a [[fleet]])". It names the fleet, the days it takes, and what would let it.
    from estimator.errors import NoPlacementError

    data = _deepseek_lab(deadline, site={"regions": ["cn-east", "cn-north", "cn-west"]})
    data["fleet"][0]["devices"] = 512
    data["as_of"] = "2025-11-27"
    with pytest.raises(NoPlacementError) as err:
        plan(parse_scenario(data), catalog)
    text = str(err.value)
    assert "[[fleet]]" not in text and "hardware you already have" not in text
    assert "; the best: capacity: needs " in text
    for said in (f"to finish within the {deadline}-day deadline",
                 # 322.9 days and 323 before phys17b's refit (H800 MoE 0.43 -> 0.442)
                 "the fleet 'h800' has 512, which finish in 317.9 days by this estimate",
                 "(a deadline_days of 318 or more lets them)",
                 "at which rate its 512 finish this phase in 216.8 days"):  # fmt: skip
        assert said in text, said
    # The published rate meets 250 days: the faster stack is the advice; at 75 it is late too.
    assert ("`mfu` and `goodput`" in text) == (deadline == 250)
    assert ("216.8 days, also past the deadline" in text) == (deadline == 75)
    assert err.value.closest is not None and err.value.closest["pricing"] == "fleet"
    assert err.value.reason == "capacity"
    if deadline == 75:  # the fleet held to the deadline with its devices given: named too
        data["phases"][0]["devices"] = 512
        with pytest.raises(NoPlacementError) as err:
            plan(parse_scenario(data), catalog)
        assert "[[fleet]]" not in str(err.value)
        assert (
            "the fleet 'h800' (512 x h800 in cn-east) is ruled out too, deadline: takes 317.9 "
            "days on 512 devices; deadline is 75 days" in err.value.detail
        )


def test_a_purchase_the_market_rules_out_does_not_tell_a_fleet_owner_to_get_a_fleet(catalog):
    # rev16a #3: the not-purchasable advice "use hardware you already have (a [[fleet]])" is
    # for a lab with none.
    site = {"region": "cn-west", "accelerator": "b200", "pricing": "owned"}
    data = _deepseek_lab(75, site=site)
    data["as_of"] = "2025-11-27"
    del data["phases"][0]["deadline_days"]
    data["phases"][0]["devices"] = 2048

    def advice(scenario: dict) -> str:
        q = quote(parse_scenario(scenario), catalog)
        return next(f.message for f in q.findings if f.code == "not-purchasable")

    assert advice(data).endswith('Rent, or run it on your fleet (pricing = "fleet") where it is '
                                 "large enough.")  # fmt: skip
    del data["fleet"]
    assert advice(data).endswith("Use hardware you already have (a [[fleet]]) or rent.")


@pytest.mark.parametrize("deadline", [90, 45])
def test_no_late_fleet_finding_where_the_fleet_is_used_or_the_published_run_is_late_too(
    catalog, deadline
):
    from estimator import parse_scenario

    p = plan(parse_scenario(_deepseek_lab(deadline)), catalog)
    assert LATE not in {f.code for f in p.quote.findings}
    if deadline == 90:  # the estimate's 80.7 days fit: the fleet trains
        assert p.quote.phases[0].pricing == "fleet"
    else:  # 54.2 days at the published rate miss 45 as well: said, no advice to change mfu
        (fleet,) = [a for a in p.phases[0].alternatives if a.pricing == "fleet"]
        assert "54.2 days, also past the deadline" in fleet.verdict
        assert "`mfu`" not in fleet.verdict


def test_a_lab_stating_its_stacks_speed_trains_on_its_fleet(catalog):
    # rev15b #1 (b): a lab whose stack is as fast as DeepSeek's says so with `mfu` (the BF16
    # large-GEMM efficiency; FP8 reaches 0.77 of it) and `goodput`: 0.9 and 0.95 reproduce
    # DeepSeek's 2.664M H800-hours within 0.15% (README, "A faster stack than the estimate's"):
    # 2,662,333 h (-0.06%) until phys17b's refit, 2,667,414 h (+0.13%) since (dp_comm_exposed
    # 0.065 -> 0.077, which `mfu` does not set).
    from estimator import parse_scenario

    site = {"region": "cn-east", "accelerator": "h800", "pricing": "fleet", "fleet": "h800"}
    data = _deepseek_lab(75, mfu=0.9, goodput=0.95)
    del data["phases"][0]["deadline_days"]
    data["phases"][0] |= {"devices": 2048, "site": site}
    (run,) = quote(parse_scenario(data), catalog).phases
    assert run.device_hours == pytest.approx(2.664e6, rel=1.5e-3)
    assert run.wall_clock_days == pytest.approx(54.3, abs=0.05)
    # mfu alone cannot: at goodput 0.9 even mfu = 1 is slower than the published run.
    del data["phases"][0]["goodput"]
    data["phases"][0]["mfu"] = 1.0
    assert quote(parse_scenario(data), catalog).phases[0].device_hours > 2.664e6
    for deadline in (60, 75):  # DeepSeek's own ~2 months, and rev15b's 75 days
        p = plan(parse_scenario(_deepseek_lab(deadline, mfu=0.9, goodput=0.95)), catalog)
        (train,) = p.quote.phases
        assert (train.pricing, train.region) == ("fleet", "cn-east")
        assert LATE not in {f.code for f in p.quote.findings}


def test_a_fleet_sized_past_itself_ends_when_the_run_it_shows_does(catalog):
    # rev16d M3: a fleet sized past its size showed its own 322.9 days but ended after the
    # oversized run (`--objective time`: the 2,304-device run's 72 days; `devices = 1024` on a
    # 512 fleet: 162 days, with the next phase starting then on the same fleet), and 8 H800
    # were told a deadline_days of 320,706 lets them, which the tool refuses (100 years).
    import copy

    from estimator import parse_scenario

    data = _deepseek_lab(75, site=_H800_FLEET)
    data["fleet"][0]["devices"] = 512
    given = copy.deepcopy(data)
    given["phases"][0]["devices"] = 512
    runs = [
        plan(parse_scenario(d), catalog, objective="time").quote.phases[0] for d in (data, given)
    ]
    assert runs[0].model_dump() == runs[1].model_dump()
    assert abs((runs[0].end - runs[0].start).days - runs[0].wall_clock_days) < 1  # as shown
    more = copy.deepcopy(data)
    del more["phases"][0]["deadline_days"]
    more["phases"][0]["devices"] = 1024
    more["phases"].append(
        {"name": "serve", "kind": "serve", "users": "cn", "data": "public", "days": 30,
         "output_tokens_per_day": 1e9, "input_tokens_per_day": 4e9, "precision": "fp8",
         "site": _H800_FLEET}
    )  # fmt: skip
    q = quote(parse_scenario(more), catalog)
    train, serve = q.phases
    assert round(train.wall_clock_days, 1) == 317.9  # 322.9 before phys17b's refit
    assert abs((train.end - train.start).days - train.wall_clock_days) < 1
    assert serve.start == train.end
    (short,) = [f for f in q.findings if f.code == "capacity-short" and f.phase == "pretrain"]
    assert short.message == "devices = 1,024 given; the fleet 'h800' has 512"
    tiny = _deepseek_lab(300, site=_H800_FLEET)
    tiny["fleet"][0]["devices"] = 8
    tiny["model"]["preset"] = "llama-3.1-8b"
    tiny["phases"][0].update(tokens=3000e12, precision="bf16")
    short = next(
        f for f in quote(parse_scenario(tiny), catalog).findings if f.code == "capacity-short"
    )
    assert "deadline_days of" not in short.message
    assert "more than any plan (100 years)" in short.message


def test_plan_csv_under_a_shock_gives_the_shock_table(runner):
    # rev18a #10: `plan --shock -f csv` of fixed sites printed the placements table (a header
    # only: nothing to place) and the shock needed --table shock. CSV gives one table: under a
    # shock, the shock's, as --table shock does; without one, the placements as before.
    fixed = EXAMPLES / "split_abroad_home.toml"
    args = ["plan", str(fixed), "--shock", "offshore-access-ends=2026-03-01", "--format", "csv"]
    default = runner.invoke(app, args)
    assert default.exit_code == 0, default.stderr
    picked = runner.invoke(app, [*args, "--table", "shock"]).stdout
    assert default.stdout == picked and picked.startswith("phase,rule,before,after"), picked
    placements = runner.invoke(app, [*args, "--table", "placements"]).stdout
    assert placements.splitlines()[0] != picked.splitlines()[0]
    plain = runner.invoke(app, ["plan", str(fixed), "--format", "csv"]).stdout
    assert plain == placements, plain


# rev19a #6: a foreign tenant's service was placed on China's grey-market H100 rentals, the
# ranking being price alone among options with no block.
_US_SERVICE = {
    "name": "us-serve",
    "as_of": "2025-11-27",
    "currency": "USD",
    "tenant_hq": "US",
    "model": {"preset": "llama-3.3-70b"},
    "phases": [
        {"name": "serve", "kind": "serve", "users": "us", "data": "public", "precision": "fp8",
         "tpot_ms": 30, "days": 365, "site": {"accelerators": ["h100-sxm"]}}
    ],
}  # fmt: skip
_GREY = "us-export-2023-advanced-chips-cn-rented"


def _phase_codes(q, name: str) -> dict[str, str]:
    return {f.code: f.severity for f in q.findings if f.phase == name}


def test_the_chosen_option_names_its_caution_warnings_and_the_cheapest_option_without_them(
    catalog,
):
    placed = plan(parse_scenario(_US_SERVICE), catalog, top_k=10)
    (phase,) = placed.phases
    chosen = phase.alternatives[0]
    assert chosen.verdict == "chosen"  # the JSON's verdict keeps its meaning
    assert _phase_codes(placed.quote, "serve")[_GREY] == "warn"
    assert chosen.caution is not None and _GREY in chosen.caution
    # The cheapest allowed option with no such warning is what a plan avoiding them chooses,
    # and the caution says what it costs more in the runner-up's own words (one computation).
    avoiding = plan(parse_scenario({**_US_SERVICE, "avoid": [_GREY]}), catalog)
    other = avoiding.phases[0].alternatives[0]
    assert other.caution is None and other.region != chosen.region
    named = f"{other.accelerator} {other.pricing} from {other.provider} in {other.region}"
    assert named in chosen.caution
    runner_up = next(
        a
        for a in phase.alternatives[1:]
        if (a.provider, a.region, a.instance, a.pricing)
        == (other.provider, other.region, other.instance, other.pricing)
    )
    assert f"{named}: {runner_up.verdict} " in chosen.caution
    # Runners-up carry no caution; a quote of the auto site (no placements table) says it in
    # its assumptions.
    assert all(a.caution is None for a in phase.alternatives[1:])
    assert placed.placed_quote().assumptions["caution"] == {"serve": chosen.caution}


def test_a_choice_with_no_caution_warning_says_nothing_more(catalog):
    placed = plan(parse_scenario({**_US_SERVICE, "avoid": [_GREY]}), catalog)
    assert placed.phases[0].alternatives[0].caution is None


def test_avoid_makes_a_named_warning_block_in_the_plan_and_in_a_fixed_sites_quote(catalog):
    avoiding = plan(parse_scenario({**_US_SERVICE, "avoid": [_GREY]}), catalog)
    assert _GREY not in _phase_codes(avoiding.quote, "serve")
    assert avoiding.phases[0].removed["avoided"] > 0
    assert avoiding.quote.assumptions["avoid"] == [_GREY]  # the quote says what it avoided
    assert "avoid" not in plan(parse_scenario(_US_SERVICE), catalog).quote.assumptions
    # A fixed site carrying it is quoted with the warning as a block that says why.
    fixed = {**_US_SERVICE, "avoid": [_GREY]}
    fixed["phases"] = [
        {**_US_SERVICE["phases"][0],
         "site": {"region": "cn-east", "accelerator": "h100-sxm", "pricing": "contract"}}
    ]  # fmt: skip
    q = quote(parse_scenario(fixed), catalog)
    (finding,) = [f for f in q.findings if f.code == _GREY]
    assert finding.severity == "block" and "avoid" in finding.message
    assert q.blocked
    # Without avoid, the same site only warns.
    q = quote(parse_scenario({**fixed, "avoid": []}), catalog)
    assert _phase_codes(q, "serve")[_GREY] == "warn" and not q.blocked


def test_avoid_names_a_warning_check_too(catalog):
    # users-far: US users served from cn-east (228 ms away) without a TTFT target.
    placed = plan(parse_scenario(_US_SERVICE), catalog)
    assert "users-far" in _phase_codes(placed.quote, "serve")
    avoiding = plan(parse_scenario({**_US_SERVICE, "avoid": ["users-far"]}), catalog)
    assert "users-far" not in _phase_codes(avoiding.quote, "serve")


def test_an_unknown_avoid_code_is_one_error_listing_the_codes(catalog, runner, write):
    with pytest.raises(ScenarioError, match=r"avoid\[1\].*'no-such-code' is not a warning"):
        plan(parse_scenario({**_US_SERVICE, "avoid": [_GREY, "no-such-code"]}), catalog)
    path = write("s.json", json.dumps(_US_SERVICE))
    for command in (["plan", str(path)], ["quote", str(path)], ["compare", str(path), str(path)]):
        result = runner.invoke(app, [*command, "--avoid", "nope"])
        assert result.exit_code == 2, result.output
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("error: --avoid: 'nope' is not a warning") and _GREY in line
        assert "users-far" in line and "Traceback" not in result.output


def test_the_avoid_flag_rules_a_warning_out_on_every_command_that_places(runner, write):
    path = write("s.json", json.dumps(_US_SERVICE))
    serve = ["serve", "--model", "llama-3.3-70b", "--accelerator", "h100-sxm", "--precision",
             "fp8", "--tpot-ms", "30", "--users", "us", "--tenant-hq", "US", "--as-of",
             "2025-11-27", "-f", "json"]  # fmt: skip

    def codes(out: dict) -> set[str]:
        return {f["code"] for f in out.get("quote", out)["findings"]}

    for args in (["plan", str(path), "-f", "json"], ["quote", str(path), "-f", "json"], serve):
        before = runner.invoke(app, args)
        after = runner.invoke(app, [*args, "--avoid", _GREY])
        assert before.exit_code == after.exit_code == 0, after.output
        assert _GREY in codes(json.loads(before.stdout))
        assert _GREY not in codes(json.loads(after.stdout))
        if args is serve:  # the estimate says the caution among its assumptions
            assert _GREY in json.loads(before.stdout)["assumptions"]["caution"]
            assert "caution" not in json.loads(after.stdout)["assumptions"]
            # rev19d #4: and what it avoided, as a quote lists it.
            assert json.loads(after.stdout)["assumptions"]["avoid"] == [_GREY]
            assert "avoid" not in json.loads(before.stdout)["assumptions"]
    args = ["compare", str(path), str(path), "-f", "json"]
    found = f'"code": "{_GREY}"'
    assert found in runner.invoke(app, args).stdout
    compared = runner.invoke(app, [*args, "--avoid", _GREY])
    assert compared.exit_code == 0 and found not in compared.stdout
    trained = runner.invoke(
        app,
        ["train", "--model", "llama-3.1-8b", "--tokens", "1e11", "--devices", "8",
         "--accelerator", "a100-40g", "--region", "cn-east", "--pricing", "on_demand",
         "--as-of", "2025-11-27", "--avoid", "us-export-2023-advanced-chips-cn-rented",
         "-f", "json"],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    blocks = [f for f in json.loads(trained.stdout)["findings"] if f["severity"] == "block"]
    assert any(f["code"] == _GREY and "avoid" in f["message"] for f in blocks)


def test_a_shock_names_the_caution_warnings_of_the_placement_it_moves_a_phase_to(catalog):
    # The remote-access shock moved a Chinese firm's foreign services onto the grey-market H100
    # rentals in cn-east, "the rule costs 0", with no word on the warning they carry there.
    s = load_scenario(EXAMPLES / "overseas_serving.toml")
    shocked = apply_shock(prepare(s, catalog), ["remote-access-ends=2026-01-15"])
    for r in shocked.replanned:
        q = shocked.shocked.quote
        carried = {f.code for f in q.findings if f.phase == r.phase and f.severity == "warn"}
        assert (_GREY in r.after) == (_GREY in carried)
    assert any(_GREY in r.after for r in shocked.replanned)


def test_a_plan_the_avoid_flag_leaves_no_option_names_the_file_and_counts_the_avoided(runner):
    result = runner.invoke(app, ["plan", str(AUTO), "--avoid", "capacity-unverified"])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {AUTO}: phases[0] 'pretrain': no allowed placement")
    assert "avoided " in line and "changed in code" not in line


def test_a_caution_says_when_every_allowed_option_carries_such_a_warning(catalog):
    # Finishing first, split_auto's serve-cn phase starts before any purchase arrives: only
    # the China rentals are left, each warned.
    placed = plan(load_scenario(AUTO), catalog, objective="time", max_devices=4096)
    serve = next(p for p in placed.phases if p.phase == "serve-cn")
    assert serve.alternatives[0].caution is not None
    assert serve.alternatives[0].caution.endswith("every allowed option carries such a warning")
    # Avoiding every such warning leaves the phase no placement: the caution was right.
    from estimator.findings import cautions

    avoiding = load_scenario(AUTO).with_changes(avoid=cautions(catalog))
    with pytest.raises(InfeasibleError, match=r"'(post-train|serve-cn)'.*avoided \d"):
        plan(avoiding, catalog, objective="time", max_devices=4096)


def test_avoid_blocks_a_warning_rule_on_a_transfers_data_in_quote_and_plan(catalog):
    # rev19d #1: a warning rule met by a transfer's data (the US DOJ bulk-data rule on a dataset
    # sent to China) stayed a warning with `avoid` naming it, and the planner placed the
    # receiving phase where the transfer carries it.
    doj = "us-doj-bulk-personal-data-cn"
    site = {"region": "us-east", "accelerator": "h100-sxm", "pricing": "on_demand"}
    china = {"region": "cn-east", "accelerator": "h100-sxm", "pricing": "contract"}
    s = {
        "name": "tr", "as_of": "2025-11-27", "currency": "USD", "tenant_hq": "US",
        "model": {"preset": "llama-3.1-8b"},
        "phases": [
            {"name": "a", "kind": "train", "tokens": 1e10, "devices": 8, "data": "personal",
             "site": site},
            {"name": "b", "kind": "train", "tokens": 1e10, "devices": 8, "data": "public",
             "site": china},
        ],
        "transfers": [{"from": "a", "to": "b", "what": "dataset", "gigabytes": 100}],
    }  # fmt: skip
    warned = [f for f in quote(parse_scenario(s), catalog).findings if f.code == doj]
    assert [f.severity for f in warned] == ["warn"]
    avoided = quote(parse_scenario({**s, "avoid": [doj]}), catalog)
    (blocked,) = [f for f in avoided.findings if f.code == doj]
    assert blocked.severity == "block" and "avoid" in blocked.message and avoided.blocked
    auto = {**s, "avoid": [doj], "phases": [s["phases"][0], {**s["phases"][1], "site": "auto"}]}
    placed = plan(parse_scenario(auto), catalog)
    assert doj not in {f.code for f in placed.quote.findings}
    (b,) = [p for p in placed.quote.phases if p.name == "b"]
    assert b.country != "CN"


def _fleet_shared_by_serving() -> dict:
    # rev20a #9 (its s18): the shipped split plan with an H800 fleet of 1,024 that an RL run of
    # 1,000 devices holds on the day foreign serving (48 devices, placed) starts.
    data = tomllib.loads((EXAMPLES / "split_abroad_home.toml").read_text())
    data["fleet"] = [{"name": "h800-own", "region": "cn-east", "accelerator": "h800",
                      "devices": 1024, "acquired": "2023-06-01"}]  # fmt: skip
    train = [p for p in data["phases"] if p["kind"] == "train"]
    serve = [p for p in data["phases"] if p["kind"] == "serve"]
    rl = {"name": "rl", "kind": "train", "workload": "finetune", "tokens": 5e10,
          "data": "personal", "devices": 1000, "start": "2026-04-11",
          "site": {"fleet": "h800-own"}}  # fmt: skip
    abroad = next(p for p in serve if p["users"] != "cn")
    abroad.update({"start": "2026-04-11", "site": "auto"})
    data["phases"] = [*train, rl, *serve]
    return data


def test_a_caution_names_the_option_a_plan_avoiding_its_warnings_takes_and_its_cost(catalog):
    # rev20a #9: the caution named the H800 fleet, cheapest on its own without the warning but
    # held by the RL run then, and no cost; --avoid took B200 abroad at +1.07 M EUR unsaid.
    data = _fleet_shared_by_serving()
    placed = plan(parse_scenario(data), catalog)
    name = next(p["name"] for p in data["phases"] if p.get("site") == "auto")
    phase = next(p for p in placed.phases if p.phase == name)
    chosen = phase.alternatives[0]
    assert chosen.caution is not None and _GREY in chosen.caution
    # The fleet without the warning is there, cheaper on its own, and the plan cannot take it.
    fleet = next(a for a in phase.alternatives if a.pricing == "fleet")
    assert "cheaper on its own, but" in fleet.verdict and fleet.caution is None
    avoiding = plan(parse_scenario({**data, "avoid": [_GREY]}), catalog)
    took = next(p for p in avoiding.phases if p.phase == name).alternatives[0]
    named = f"{took.accelerator} {took.pricing} from {took.provider} in {took.region}"
    assert "fleet" not in named and f"can take, {named}: " in chosen.caution
    extra = avoiding.quote.total - placed.quote.total
    assert extra > 0 and f"the whole plan costs {extra:,.0f} {placed.quote.currency} more" in (
        chosen.caution
    )


def test_a_caution_names_bought_hardware_without_a_seller(catalog):
    # rev19d #8: "ascend-910b owned from owned in cn-west": bought hardware has no provider.
    placed = plan(EXAMPLES / "split_auto.toml", catalog)
    said = [a.caution for p in placed.phases for a in p.alternatives if a.caution]
    assert any(" owned in " in c for c in said), said
    assert not any("from owned " in c for c in said)


def test_a_runner_up_rented_at_list_says_what_a_contract_at_the_index_would_cost(catalog):
    # rev19c #1: with time for delivery, 4,608 Ascend 910C bought to pretrain beat H100 rented
    # abroad at AWS's on-demand list by 9%, and nothing said that price was a list price: at
    # the H100 contract index the rental costs less than the purchase, the advice reversed.
    data = tomllib.loads((EXAMPLES / "cn_lab_no_stockpile.toml").read_text())
    data["phases"] = [{**data["phases"][0], "start": "2026-03-01"}]
    data["transfers"] = []
    placed = plan(parse_scenario(data), catalog, top_k=8)
    chosen, *others = placed.phases[0].alternatives
    assert chosen.pricing == "owned" and chosen.cost is not None
    rented = [a for a in others if a.pricing == "on_demand" and not a.verdict.startswith("rej")]
    assert rented and all("priced at list" in a.verdict for a in rented)
    assert not any("priced at list" in a.verdict for a in others if a.pricing == "owned")
    h100 = next(a for a in rented if a.accelerator == "h100-sxm")
    said = re.search(
        r"index it would cost ([\d,]+) CNY \((\d+)% (below|above) the chosen", h100.verdict
    )
    assert said is not None, h100.verdict
    at_index = float(said[1].replace(",", ""))
    assert at_index < h100.cost  # a contract is below the list rent
    share = (1 - at_index / chosen.cost) if said[3] == "below" else (at_index / chosen.cost - 1)
    assert round(share * 100) == int(said[2])
    # No index for B200: said so, nothing invented.
    b200 = [a for a in rented if a.accelerator == "b200"]
    assert all("has no contract index for b200" in a.verdict for a in b200)


def test_a_short_runs_list_price_note_says_why_the_contract_costs_more(catalog):
    # rev20d #1: a 5-day run's runner-up read "4918% above the chosen option" with no word why;
    # the 1-year contract's idle days are said, as the quote's `list-price` finding says them.
    placed = plan(
        parse_scenario({
            "name": "short", "as_of": "2025-11-27", "currency": "USD", "tenant_hq": "CN",
            "model": {"preset": "qwen3-235b-a22b"},
            "phases": [{"name": "pretrain", "kind": "train", "tokens": 1e12, "data": "public",
                        "deadline_days": 5,
                        "site": {"regions": ["jp-tokyo", "sg", "us-east"],
                                 "accelerators": ["h100-sxm"], "pricing": ["on_demand"]}}],
        }),
        catalog,
        top_k=4,
    )  # fmt: skip
    _, *others = placed.phases[0].alternatives
    noted = [a for a in others if "priced at list" in a.verdict]
    assert noted, [a.verdict for a in others]
    for a in noted:
        assert "above the chosen option" in a.verdict
        assert "365 days outlast the" in a.verdict and "pays for idle time" in a.verdict
