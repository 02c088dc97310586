"""The model's own error as a Monte Carlo input (rev13b #4): drawn from the held-out calibration
residuals, shipped precomputed (never recomputed at quote time), widening the bands by what the
residuals say."""

from __future__ import annotations

import csv
import io
import json
import math
from functools import partial
from importlib import resources

import pytest

from estimator import curve, load_scenario, model_error, quote
from estimator.cli import app
from estimator.context import prepare
from estimator.uncertainty import _cost, _evaluated, _evaluation, _phase_draws, _placed, sample
from tests.conftest import EXAMPLES
from tests.test_quote import SMALL

# A serving phase with a daily demand on a fixed rental: its fleet goes as 1 / the output rate.
SERVE = """
name = "serve demand"
as_of = 2025-11-27
currency = "USD"
[model]
preset = "llama-3.3-70b"
[[phases]]
name = "serve"
kind = "serve"
data = "public"
users = "us"
days = 30
precision = "fp8"
input_tokens_per_day = 5e11
output_tokens_per_day = 1e11
site = { region = "us-east", accelerator = "h100-sxm", pricing = "on_demand", provider = "lambda" }
"""


def test_the_shipped_residuals_are_not_stale():
    """estimator/data/model_error.csv is what the calibration gives now: a change to the physics,
    the catalog or the calibration points that moves a held-out error must rewrite it
    (`python -m estimator.model_error`)."""
    text = (resources.files("estimator") / "data" / model_error.FILE).read_text("utf-8")
    shipped = list(csv.DictReader(io.StringIO(text)))
    now = model_error.computed()
    key = [(r["kind"], r["id"], r["quantity"]) for r in now]
    assert [(r["kind"], r["id"], r["quantity"]) for r in shipped] == key, (
        "stale: python -m estimator.model_error"
    )
    for a, b in zip(shipped, now, strict=True):
        assert float(a["log_ratio"]) == pytest.approx(float(b["log_ratio"]), abs=2e-6), a["id"]


def test_the_residuals_are_the_held_out_ones_of_each_kind():
    # Whole runs for training: the held-out ones scored only (rev17b #1). Not those unscored for
    # an unpublished layout: 11 Meta Llama runs leaning one way set P90 near +90% for every
    # training phase and put DeepSeek-V3's own published run below its quote's P10. Nor the
    # distilled ones nor any other unscored run. Every held-out serving point.
    with (resources.files("estimator") / "data" / "calibration_train.csv").open() as f:
        whole = [r for r in csv.DictReader(f) if r["kind"] == "whole_run"]
    held = [r for r in whole if r["split"] == "heldout"]
    drawn = {r["id"] for r in model_error._rows() if r["kind"] == "train"}
    scored = {r["id"] for r in held if r["scored"] == "true"}
    layout = {r["id"] for r in held if r["not_scored_reason"] == model_error.LAYOUT_ONLY}
    assert scored and layout and drawn == scored
    assert not drawn & layout
    assert len(model_error.log_ratios("train")) == len(drawn)
    assert len(model_error.log_ratios("serve")) >= 80
    # DeepSeek-V3's published hours are 37% under the estimate (it is +60% over them).
    deepseek = math.log(2_664_000 / 4_257_764)
    assert model_error.log_ratios("train")[0] == pytest.approx(deepseek, abs=1e-3)
    v = model_error.log_ratios("serve")
    assert list(v) == sorted(v)


def _quoted(catalog, write, text: str):
    s = load_scenario(write("s.toml", text))
    return prepare(s, catalog), quote(s, catalog)


def _expected(kind: model_error.Kind) -> tuple[float, float]:
    return tuple(math.exp(model_error.quantile(kind, p)) for p in (0.1, 0.9))  # type: ignore[return-value]


def test_a_training_band_is_the_whole_runs_error(catalog, write):
    """A fixed fleet rented by the hour at a price without a range: its cost goes as its
    device-hours, so P10 / P90 over the quote are the residuals' e^P10 / e^P90."""
    c, q = _quoted(catalog, write, SMALL)
    (train,) = [p for p in sample(c, q, 20_000, seed=1) if p.name == "train"]
    low, high = _expected("train")
    assert train.p10 / train.point == pytest.approx(low, rel=0.01)
    assert train.p90 / train.point == pytest.approx(high, rel=0.01)
    # The efficiency range alone said about +/-8%: the band is now the calibration's.
    (old,) = [p for p in sample(c, q, 20_000, seed=1, model_error=False) if p.name == "train"]
    assert (train.p90 - train.p10) > 3 * (old.p90 - old.p10)


def test_a_serving_band_is_the_benchmarks_error(catalog, write):
    """A demand's fleet goes as 1 / the output rate: P10 of its cost is 1 / e^P90 of the rate's
    residuals, P90 is 1 / e^P10 (whole instances: within 1%)."""
    c, q = _quoted(catalog, write, SERVE)
    serve, _ = sample(c, q, 20_000, seed=1)
    low, high = _expected("serve")
    assert serve.p10 / serve.point == pytest.approx(1 / high, rel=0.01)
    assert serve.p90 / serve.point == pytest.approx(1 / low, rel=0.01)


def test_the_error_draw_is_reproducible_and_seeded(catalog, write):
    c, q = _quoted(catalog, write, SMALL)
    ph = _placed(c, q, error=True)[0]
    a, _ = _phase_draws(ph, 0, 10_000, seed=3)
    b, _ = _phase_draws(ph, 0, 10_000, seed=3)
    other, _ = _phase_draws(ph, 0, 10_000, seed=4)
    assert a.equals(b) and not a.equals(other)
    v = model_error.log_ratios("train")
    assert v[0] <= a.min() and a.max() <= v[-1]  # type: ignore[operator]
    assert a.quantile(0.9, "linear") == pytest.approx(model_error.quantile("train", 0.9), abs=0.01)


def test_the_cli_band_is_reproducible_with_seed_and_says_what_it_drew(runner):
    path = str(EXAMPLES / "deepseek_domestic.toml")
    args = ["plan", path, "--samples", "3000", "--table", "uncertainty"]
    one = runner.invoke(app, [*args, "--seed", "7"])
    assert one.exit_code == 0, one.output
    assert one.stdout == runner.invoke(app, [*args, "--seed", "7"]).stdout
    assert one.stdout != runner.invoke(app, [*args, "--seed", "8"]).stdout
    n = len(model_error.log_ratios("train"))
    assert f"; model error: training device-hours, {n} held-out whole runs" in one.stdout
    assert "serving output rate" in one.stdout
    # The published run beside the percentiles, not only among the findings.
    assert "+49% device-hours (deepseek-v3-pretrain)" in one.stdout
    old = runner.invoke(app, [*args, "--seed", "7", "--efficiency-ranges"]).stdout
    assert "MFU (catalog range)" in old and "model error" not in old


def test_the_json_says_what_was_drawn_and_the_published_gap(runner):
    result = runner.invoke(
        app, ["quote", str(EXAMPLES / "deepseek_domestic.toml"), "--samples", "500", "-f", "json"]
    )
    u = json.loads(result.stdout)["uncertainty"]
    assert any(d.startswith("model error: training") for d in u["drawn"])
    pre = next(p for p in u["percentiles"] if p["name"] == "pretrain")
    assert pre["published_run"] == "deepseek-v3-pretrain"
    assert pre["published_gap"] == pytest.approx(0.49, abs=0.01)
    assert all(p["published_gap"] is None for p in u["percentiles"] if p["name"] != "pretrain")


@pytest.mark.parametrize("name", ["split_auto", "deepseek_domestic", "split_abroad_home"])
def test_an_error_curve_agrees_with_evaluating_each_draw(catalog, name):
    """On the model error's axis the cost curve is as exact as on the efficiency's."""
    s = load_scenario(EXAMPLES / f"{name}.toml")
    c, q = prepare(s, catalog), quote(s, catalog)
    for k, ph in enumerate(_placed(c, q, error=True)):
        eff, price = _phase_draws(ph, k, 1500, seed=3)
        rows = eff.to_frame("eff").with_columns(price_factor=price)
        exact = _cost(c, ph, rows)
        got = curve.build(partial(_evaluated, c, ph), *ph.axis).cost(eff, price)
        error = ((got - exact).abs() / exact.abs()).max()
        assert error is not None and error <= curve.TOLERANCE, (ph.quoted.name, error)


def test_the_efficiency_stays_as_quoted_when_the_error_is_drawn(catalog):
    """No double count: the residuals were measured at the default efficiencies, so a sample
    that draws the model error keeps them (and the prefill MFU) as quoted."""
    s = load_scenario(EXAMPLES / "split_abroad_home.toml")
    c, q = prepare(s, catalog), quote(s, catalog)
    for ph in _placed(c, q, error=True):
        rows = _phase_draws(ph, 0, 50, seed=1)[0].to_frame("eff").with_columns(price_factor=1.0)
        out = _evaluation(c, ph, rows)
        assert (out[ph.eff_column] == ph.eff[1]).all()
        if ph.prefill is not None:
            assert (out["prefill_mfu"] == ph.prefill[1]).all()


def test_sensitivity_moves_the_model_error_over_its_held_out_p10_p90(catalog, write):
    """The tornado shows what the bands now draw: a row per phase, its ends the residuals'
    e^P10 and e^P90 (a rented fixed fleet's cost goes as its hours)."""
    from estimator.uncertainty import sensitivity

    c, q = _quoted(catalog, write, SMALL)
    rows = {s.input: s for s in sensitivity(c, q)}
    row = rows["train: model error (device-hours, held-out P10-P90)"]
    low, high = _expected("train")
    assert (row.low, row.high) == pytest.approx((low, high))
    assert row.total_at_low == pytest.approx(q.total * low, rel=1e-3)
    assert row.total_at_high == pytest.approx(q.total * high, rel=1e-3)
    # A phase that gives its own MFU states its efficiency: no model error, as in `sample`.
    given = SMALL.replace("devices = 16", "devices = 16\nmfu = 0.4")
    c, q = _quoted(catalog, write, given)
    assert not any("model error" in s.input for s in sensitivity(c, q))
    assert not any(d.startswith("model error") for d in sample(c, q, 100).drawn)
