"""Every `splitcompute ...` command shown in the README runs (documented examples stay true)."""

from __future__ import annotations

import functools
import re
import shlex
from typing import TYPE_CHECKING

import polars as pl
import pytest

import estimator
from estimator.cli import app
from tests.conftest import ROOT

if TYPE_CHECKING:
    from estimator import Plan

README = (ROOT / "README.md").read_text(encoding="utf-8")
# The README's 85-day example (rev17b #7): DeepSeek-V3 pretraining on a fleet of 2,048 H800.
F85 = """\
name = "fleet small"
as_of = 2025-11-27
currency = "CNY"
tenant_hq = "CN"
[[fleet]]
name = "stock"
region = "cn-east"
accelerator = "h800"
devices = 2048
acquired = 2023-06-01
[model]
preset = "deepseek-v3"
[[phases]]
name = "pretrain"
tokens = 14.8e12
precision = "fp8"
deadline_days = 85
site = { region = "cn-east", accelerator = "h800", pricing = "fleet" }
[[phases]]
name = "serve"
kind = "serve"
days = 30
input_tokens_per_day = 4e9
output_tokens_per_day = 1e9
site = { region = "cn-east", accelerator = "h800", pricing = "fleet" }
"""
BLOCKS = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
COMMANDS = [
    line.split("#")[0].strip()
    for block in BLOCKS
    for line in block.splitlines()
    if line.strip().startswith("splitcompute ")
]
# Commands documented to fail on purpose, with their exit code.
EXPECTED_EXIT = {"splitcompute quote examples/all_abroad.toml --strict": 1}


def test_readme_has_commands():
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs(runner, monkeypatch, tmp_path, command):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    if "--samples" in args:  # keep the suite quick: same code path, fewer draws
        args[args.index("--samples") + 1] = "500"
    written = None
    if "-o" in args:  # files go to a temporary directory, not the checkout
        at = args.index("-o") + 1
        written = args[at] = str(tmp_path / args[at])
    result = runner.invoke(app, args)
    assert result.exit_code == EXPECTED_EXIT.get(command, 0), result.output
    if written is None:
        assert result.stdout.strip()
    else:
        assert (tmp_path / written).stat().st_size > 1000


def test_readme_library_example_runs(monkeypatch, tmp_path):
    (code,) = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    monkeypatch.chdir(tmp_path)  # the example saves a chart in the working directory
    code = code.replace('"examples/', f'"{ROOT}/examples/')
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "deadline.svg").read_text(encoding="utf-8").startswith("<svg")


def test_readme_says_what_the_current_schema_version_changed():
    # rev15e #3: the README's schema-6 note left out `fleet[].book_value_currency`, which the
    # version comment lists, and said "4 significant figures" of a figure in whole cents from
    # 10 up (`costing.per_unit`).
    from pathlib import Path

    from estimator import costing
    from estimator.report import view

    source = Path(view.__file__).read_text(encoding="utf-8")
    version = view.SCHEMA_VERSION
    note = source[source.index(f'# "{version}"') : source.index("SCHEMA_VERSION = ")]
    said = README[README.index(f"`schema_version` {int(version) - 1} added") :]
    said = said[: said.index("How money is computed")]
    for name in re.findall(r"`([^`]+)`", note):
        assert f"`{name}`" in said, name
    six = README[README.index("`schema_version` 6 added") :]
    six = six[: six.index("How money is computed")]
    assert "4 significant figures below 10 and in whole cents from 10" in " ".join(six.split())
    shown = [costing.per_unit(x, "USD") for x in (0.025934, 1.23456, 123.456)]
    assert shown == [0.02593, 1.235, 123.46]


def _imports() -> set[tuple[str, str]]:
    """(importer, imported) among estimator's and pricing's modules, module- and function-level,
    not those under `if TYPE_CHECKING:` (packages cli, report, physics and pricing as one)."""
    import ast

    def unit(name: str) -> str:
        parts = name.split(".")
        if parts[0] == "pricing" or (len(parts) > 1 and parts[1] in {"cli", "report", "physics"}):
            return ".".join(parts[:1] if parts[0] == "pricing" else parts[:2])
        return ".".join(parts[:2])

    def exists(name: str) -> bool:
        path = ROOT.joinpath(*name.split("."))
        return path.is_dir() or path.with_suffix(".py").exists()

    edges = set()
    for path in [*ROOT.glob("estimator/**/*.py"), *ROOT.glob("pricing/**/*.py")]:
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(n)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for n in ast.walk(block)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                package = module.split(".")
                if rel.name != "__init__":
                    package = package[:-1]
                base = node.module or ""
                if node.level:
                    package = package[: len(package) - node.level + 1]
                    base = ".".join([*package, base] if base else package)
                names = [base, *(f"{base}.{a.name}" for a in node.names)]
            for name in names:
                ours = name.split(".")[0] in {"estimator", "pricing"} and name != "estimator"
                if ours and exists(name) and unit(module) != unit(name) and module != "estimator":
                    edges.add((unit(module), unit(name)))
    return edges


def test_the_module_map_lists_every_importer_above_what_it_imports():
    # rev16b #3: DESIGN.md said "imports point down" of an order 11 imports went against.
    design = (ROOT / "DESIGN.md").read_text(encoding="utf-8")
    block = design[design.index("```\nestimator/cli/") + 4 :]
    block = block[: block.index("```")]
    rank: dict[str, int] = {}
    for i, entry in enumerate(re.split(r"\n(?=\S)", block.strip())):
        head, _, text = entry.partition(" ")
        head = head.rstrip(",").removesuffix("/").removesuffix(".py").replace("/", ".")
        rank[head] = i
        if head.count(".") == 1 and not head.endswith((".cli", ".report", ".physics")):
            for name in re.findall(r"\b(\w+)\.py\b", text):  # joint.py in placement's entry
                if (ROOT / "estimator" / f"{name}.py").exists():
                    rank.setdefault(f"estimator.{name}", i)
    edges = _imports()
    assert {m for edge in edges for m in edge} <= set(rank)  # every module has its place
    up = sorted((a, b) for a, b in edges if rank[a] > rank[b])
    assert not up, f"imports listed above their importer in DESIGN.md: {up}"
    # The layer chain of estimator/__init__.py, where it names a module.
    chain = estimator.__doc__.split("Layers")[1].split(":\n", 1)[1].split("\n\n")[0]
    chain = re.sub(r"\(-> (\w+)\)", r", \1", chain)
    level = {
        f"estimator.{name.strip().rstrip('/')}" if name.strip() != "pricing" else "pricing": i
        for i, part in enumerate(chain.split("->"))
        for name in part.split(",")
    }
    up = sorted((a, b) for a, b in edges if a in level and b in level and level[a] > level[b])
    assert not up, f"imports against estimator/__init__.py's layers: {up}"


def test_the_docstring_examples_print_todays_total(monkeypatch):
    # rev16b #4: estimator/__init__.py and money.py gave q.total as 1,999,066,191.90 CNY, a
    # figure the same call no longer printed.
    from estimator import money, quote

    (path,) = re.findall(r'q = quote\("([^"]+)"\)', estimator.__doc__ or "")
    monkeypatch.chdir(ROOT)
    total = quote(path).total
    assert f"# Money, e.g. {total}\n" in (estimator.__doc__ or "")
    assert f">>> q.total\n    {total!r}\n    >>> print(q.total)\n    {total}\n" in (
        money.__doc__ or ""
    )
    # The README's table of the same quote's two views (it said 2,044 M after serving on
    # instances began to read the offer's network, which made it 2,058 M).
    assert f"| total (with serving) | {total / 1e6:,.0f} M CNY |" in README


def test_design_gives_the_whole_runs_error_the_monte_carlo_draws():
    # rev16b #4: DESIGN.md gave the whole runs' ln-ratios as -0.31..+0.26 and DeepSeek-V3's
    # gap as +48% and +60% where the shipped residuals say -0.33..+0.29 and +62%.
    import math

    from estimator import model_error

    design = " ".join((ROOT / "DESIGN.md").read_text(encoding="utf-8").split())
    lo, hi = (model_error.quantile("train", p) for p in (0.1, 0.9))
    assert f"against {lo:.2f}..{hi:+.2f} for the whole runs" in design
    assert f"(a quote's band: P10 {math.expm1(lo):+.0%}, P90 {math.expm1(hi):+.0%})" in design
    runs = {r["id"]: float(r["log_ratio"]) for r in model_error._rows() if r["kind"] == "train"}
    gap = {run: math.expm1(-runs[f"{run}-pretrain"]) for run in ("bloom-176b", "deepseek-v3")}
    assert f"BLOOM {gap['bloom-176b']:+.0%}: goodput" in design
    assert f"DeepSeek-V3 {gap['deepseek-v3']:+.0%}: its own stack" in design
    assert f"is {gap['deepseek-v3']:+.1%} in the calibration" in design


def test_the_schema_version_notes_name_the_shock_assumption():
    # rev16c R2: schema_version 7 also added a shock's `assumption`, but README's note and
    # view.py's version comment named only the per-phase fields.
    readme = " ".join(README.split())
    note = readme[readme.index("`schema_version` 7 added") :][:600]
    assert "`shock.assumption`" in note
    view = (ROOT / "estimator" / "report" / "view.py").read_text(encoding="utf-8")
    comment = view[view.index('# "7" (') : view.index('# "8" (')]
    assert "`shock.assumption`" in comment


def test_readme_gives_the_whole_runs_the_training_band_draws():
    # rev17b #1: the band draws from the scored whole runs only; the runs unscored for an
    # unpublished layout (all Llama, leaning one way) stay out of it, and the README says so.
    import csv
    import math
    from importlib import resources

    from estimator import model_error

    readme = " ".join(README.split())
    runs = model_error.log_ratios("train")
    lo, hi = (math.expm1(model_error.quantile("train", p)) for p in (0.1, 0.9))
    assert f"scores: {len(runs)} runs, P10 {lo:+.0%}, P90 {hi:+.0%} on device-hours" in readme
    with (resources.files("estimator") / "data" / "calibration_train.csv").open() as f:
        layout = [
            r["id"]
            for r in csv.DictReader(f)
            if r["kind"] == "whole_run"
            and r["split"] == "heldout"
            and r["not_scored_reason"] == model_error.LAYOUT_ONLY
        ]
    assert all("llama" in i for i in layout)
    assert f"The {len(layout)} it leaves unscored only because their device count" in readme
    assert "all are Meta's Llama runs" in readme


def test_readme_gives_the_share_of_draws_past_the_85_day_deadline(runner, tmp_path):
    # rev17b #7: "with 40% of the draws past an 85-day deadline" went stale when the training
    # band changed. The 85-day scenario: DeepSeek-V3's pretraining on 2,048 rented H800.
    import json

    path = tmp_path / "f85.toml"
    path.write_text(F85, encoding="utf-8")
    args = ["quote", str(path), "--samples", "3000", "--seed", "2", "-f", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["uncertainty"]["percentiles"]}
    share = rows["pretrain"]["unpriced"]
    unpriced = [k for k in ("p10", "p50", "p90") if rows["pretrain"][k] is None]
    assert unpriced == ["p90"]  # the README's "P90 reads 'misses its deadline'"
    readme = " ".join(README.split())
    assert (
        f'with {share:.0%} of the draws past an 85-day deadline, P90 reads "misses its '
        f'deadline", not a P90 of the {1 - share:.0%} that finish' in readme
    )


@functools.cache
def _cn_lab(**changes: object) -> Plan:
    """examples/cn_lab_no_stockpile.toml planned with `changes` (Scenario.with_changes), once per
    test run: the market-story tests below share these plans."""
    from estimator import load_scenario, plan

    s = load_scenario(ROOT / "examples" / "cn_lab_no_stockpile.toml")
    return plan(s.with_changes(changes) if changes else s)


def test_the_b200_date_sentence_tells_pretraining_from_plan_totals():
    # rev17a #21: "pretrains on 2,944 H100 for 434.6 M CNY instead of 1,280 B200 for 396.3 M"
    # gave the plans' totals as the pretraining's.
    from datetime import date

    early, late = (_cn_lab(as_of=date(2025, 10, 15)).quote, _cn_lab().quote)

    def m(x) -> str:
        return f"{float(x) / 1e6:,.1f} M"

    pre = [next(p for p in q.phases if p.name == "pretrain") for q in (early, late)]
    said = (
        f"pretrains on {pre[0].devices:,} H100 for {m(pre[0].cost)} CNY instead of "
        f"{pre[1].devices:,} B200 for {m(pre[1].cost)} (the whole plan: {m(early.total)} instead "
        f"of {m(late.total)})"
    )
    assert said in " ".join(README.split())


def test_the_amortised_idle_commitment_figures_are_todays(catalog):
    # rev17a #2c: README's "a 120-day run the planner places on 3-year reservations commits
    # 2.7 B CNY that this view charges at 299 M" is split_auto planned in the amortised view
    # (119.2 days and 294 M on 11,264 A100-40G until phys17b's refit, A100 dense 0.54 -> 0.528,
    # made 3,008 H100 for 119.9 days the cheaper 3-year reservation).
    from estimator import load_scenario, plan

    said = " ".join(README.split())
    assert (
        "a 120-day run the planner places on 3-year reservations commits 2.7 B CNY that this"
        in said
    )
    assert "view charges at 299 M" in said
    s = load_scenario(ROOT / "examples" / "split_auto.toml").with_changes(
        {"accounting": "amortised"}
    )
    q = plan(s, catalog).quote
    (f,) = [f for f in q.findings if f.code == "idle-commitment" and f.phase == "pretrain"]
    days, committed, charged = re.search(
        r"commits [\d,]+ USD \(([\d,]+) CNY\) over 3 years for ([\d.]+) days of work; this "
        r"amortised view charges [\d,]+ USD \(([\d,]+) CNY\)",
        f.message,
    ).group(2, 1, 3)
    assert round(float(days)) == 120
    assert round(float(committed.replace(",", "")) / 1e9, 1) == 2.7
    assert round(float(charged.replace(",", "")) / 1e6) == 299


def _m(x) -> str:
    """An amount in whole millions, as the README's four cases say them ("about 408 M")."""
    return f"{float(x) / 1e6:,.0f} M"


def test_the_four_cases_give_todays_plan_totals():
    # rev18b #3: "about 396 M CNY" (twice) outlived phys17b's refit, which made the plan
    # 408.1 M; no test read them.
    from estimator import load_scenario, plan

    said = " ".join(README.split())
    lab = _cn_lab().quote
    (eu,) = [p for p in lab.phases if p.name == "serve-foreign"]
    assert (eu.offer is not None and eu.offer.provider, eu.accelerator, eu.region) == (
        "aws",
        "b200",
        "us-east",
    )
    assert (
        f"serves its European users from abroad (AWS B200 in us-east): about {_m(lab.total)} CNY"
        in said
    )
    owner = plan(load_scenario(ROOT / "examples" / "stockpile_owner.toml")).quote
    (abroad,) = [p for p in owner.phases if p.pricing != "fleet"]
    assert (abroad.name, abroad.offer is not None and abroad.offer.provider) == (
        "serve-foreign",
        "aws",
    )
    assert (
        f"about {_m(owner.total)} CNY against {_m(lab.total)} (`cn_lab_no_stockpile.toml`), "
        f"{_m(abroad.cost)} of it for serving European users from AWS" in said
    )


def test_the_lead_time_margin_sentence_is_todays():
    # rev18b #3: README said the 910C bought three months later came out 1.8% cheaper than the
    # B200 rental; the plan says 4.9% (358.6 M against 377.0 M CNY).
    s = _cn_lab().scenario
    month = s.as_of.month + 3
    later = s.as_of.replace(year=s.as_of.year + (month - 1) // 12, month=(month - 1) % 12 + 1)
    # Today the pretraining rents B200 abroad, the bought 910C rejected for its lead time alone.
    today = _cn_lab().to_polars().filter(pl.col("phase") == "pretrain")
    assert today["accelerator"][0] == "b200"
    home = today.filter(pl.col("accelerator") == "ascend-910c")["verdict"]
    assert home.len() and all(v.startswith("rejected: lead time") for v in home)
    moved = _cn_lab(**{"phases.pretrain.start": later})
    (pre,) = [p for p in moved.quote.phases if p.name == "pretrain"]
    assert (pre.accelerator, pre.pricing) == ("ascend-910c", "owned")
    b200 = (
        moved.to_polars()
        .filter(
            (pl.col("phase") == "pretrain")
            & (pl.col("accelerator") == "b200")
            & (pl.col("pricing") == "on_demand")
        )["cost"]
        .min()
    )
    codes = {f.code for f in moved.quote.findings if f.phase == "pretrain"}
    assert {"domestic-training-risk", "idle-hardware"} <= codes
    (idle,) = [
        f for f in moved.quote.findings if f.phase == "pretrain" and f.code == "idle-hardware"
    ]
    bought, resold, days = re.search(
        r"buys ([\d,]+) CNY of hardware .* resells it for ([\d,]+) CNY when the run ends, "
        r"([\d.]+) days after it starts",
        idle.message,
    ).groups()
    resale = float(resold.replace(",", "")) / float(bought.replace(",", ""))
    said = " ".join(README.split())
    assert (
        f"start the pretraining three months later and the lead time no longer binds, and "
        f"{pre.devices:,} Ascend 910C bought in {pre.region} come out "
        f"{1 - float(pre.cost) / b200:.1%} cheaper than the B200 rental (with "
        f"`domestic-training-risk` and `idle-hardware` warnings: bought for {float(days):.0f} days "
        f"and resold at an estimated {resale:.0%})" in said
    )
    # The plan's H100 runner-up at list, and at the contract index (rev19c #1).
    from estimator import load_scenario, plan

    example = load_scenario(ROOT / "examples" / "cn_lab_no_stockpile.toml")
    wider = plan(example.with_changes({"phases.pretrain.start": later}), top_k=8)  # H100: 6th
    (h100,) = [
        a
        for p in wider.phases
        if p.phase == "pretrain"
        for a in p.alternatives
        if a.accelerator == "h100-sxm" and a.pricing == "on_demand"
    ][:1]
    index = re.search(r"it would cost ([\d,]+) CNY \(\d+% below", h100.verdict)
    assert index is not None, h100.verdict
    at_index = float(index[1].replace(",", ""))
    assert (
        f"the H100 rental {h100.cost / float(pre.cost) - 1:.0%} above the Ascend purchase at "
        f"list would be {1 - at_index / float(pre.cost):.0%} below it under a 1-year contract "
        "at the index" in said
    )
    announced = re.search(r"announced (\d{4}-\d\d-\d\d), after", h100.verdict)
    assert announced is not None and f"an index published {announced[1]}, after" in said


def test_the_list_price_sentence_says_what_the_finding_prints():
    # rev18b #4: README said the `list-price` finding printed a 1-year contract index "several
    # times lower" than the B200 list price; the catalog has no B200 index, and the finding
    # says so and calls the rent a ceiling.
    q = _cn_lab().quote
    (pre,) = [p for p in q.phases if p.name == "pretrain"]
    (f,) = [f for f in q.findings if f.phase == "pretrain" and f.code == "list-price"]
    devices, provider, price, covered = re.search(
        r"^([\d,]+) x b200 at (\w+)'s on_demand list price, ([\d.]+) USD per device-hour: .* no "
        r"contract index for b200 on or before [\d-]+ \(rate_index.csv, which covers ([\w, -]+)\)"
        r".* treat this phase's rent as a ceiling$",
        f.message,
    ).groups()
    assert (pre.accelerator, provider, int(devices.replace(",", ""))) == (
        "b200",
        "aws",
        pre.devices,
    )
    assert covered == "h100-sxm"
    said = " ".join(README.split())
    assert (
        f"hyperscaler list prices (AWS on demand, {float(price):.2f} USD per B200-hour). A tenant "
        f"renting {pre.devices:,} B200 negotiates a term contract, usually below list, but the "
        "catalog has no public B200 contract index to say how far below (rate_index.csv covers "
        "only the H100), so the `list-price` finding says to treat the rent as a ceiling." in said
    )


def test_the_aws_skypilot_rows_are_counted_as_the_catalog_holds_them(catalog):
    # rev18b #7: README said the 35 AWS rows from the SkyPilot snapshot covered 8 regions; they
    # cover 6 (ae-uae, id-jakarta, in-mumbai, jp-tokyo, sg, us-east).
    rows = catalog.table("offers").filter(
        (pl.col("provider") == "aws")
        & pl.col("source").str.contains("skypilot-org/skypilot-catalog", literal=True)
    )
    assert set(rows["pricing"]) == {"on_demand", "spot"} and "b200" in set(rows["accelerator"])
    said = " ".join(README.split())
    assert (
        f"AWS's other list prices ({rows.height} rows: on demand and spot in "
        f"{rows['region'].n_unique()} regions, P6-B200 among them)" in said
    )


def test_the_china_to_europe_latency_sentence_is_the_catalogs(catalog):
    # rev18b #2/#5: "the round trip from China to Europe alone is 317 ms ... over its 300 ms
    # TTFT target" read as fact: the README says the margin, that the figure is an estimate
    # from chosen anchors, what TTFT adds to it at home, and that the rows postdate the
    # example. Each figure is recomputed here, so none drifts unseen.
    import polars as pl

    from estimator import load_scenario, quote

    s = load_scenario(ROOT / "examples" / "cn_lab_no_stockpile.toml")
    foreign = s.phase("serve-foreign")
    rows = catalog.dated("latency", s.as_of).filter(
        pl.col("region").str.starts_with("cn-"), pl.col("market") == foreign.users
    )
    (rtt,), (basis,), (as_of,) = (rows[c].unique().to_list() for c in ("rtt_ms", "basis", "as_of"))
    target = foreign.ttft_ms
    said = " ".join(README.split())
    assert f"the round trip from China to Europe alone is {rtt:g} ms" in said
    assert f"over its {target:g} ms TTFT target" in said
    assert basis == "estimate" and f"That {rtt:g} ms is an estimate (the row's `basis`)" in said
    assert f"{rtt - target:g} ms (about {round(100 * (rtt - target) / target)}%) over" in said
    assert as_of > s.as_of
    assert f"The latency rows are dated {as_of}, after the example's date" in said
    assert f"`catalog latency --as-of {s.as_of}` lists them" in said
    # What TTFT adds at home: the prefill and batch step of the H100 rental, as a quote of it
    # there says when it misses the target.
    site = {"region": "cn-east", "accelerator": "h100-sxm", "pricing": "contract"}
    q = quote(s.with_changes({"phases.serve-foreign.site": site}), catalog)
    (f,) = [f for f in q.findings if f.code == "latency-target-missed"]
    prefill, step = map(
        float, re.search(r"\((\d+) ms prefill .* \+ (\d+) ms step", f.message).groups()
    )
    assert f"prompt's prefill and a batch step ({prefill + step:g} ms on the H100 rental" in said
    assert f"under about {target - prefill - step:g} ms that rental meets the target" in said
    # The other anchors' figure: the row's 48 ms mainland access plus their mean (from the
    # cited Azure table: East Asia to Belgium Central 214, France South 224, Spain Central 229,
    # Switzerland North 237 ms).
    note = rows["note"][0]
    access = float(re.search(r"(\d+) ms mainland access", note).group(1))
    assert f"would give about {access + (214 + 224 + 229 + 237) / 4:.0f} ms" in said


def test_readme_gives_the_calibration_figures_splitcompute_calibration_prints(runner):
    """rev18a #7: the README gave 7.6% / 7.4% / 8.3%, worst 31% for training throughput after
    the refit made them 7.24 / 7.16 / 8.22, worst 30.28. The sentence is rebuilt from
    `splitcompute calibration --format json`, so a refit that moves a figure says so here."""
    import json

    out = runner.invoke(app, ["calibration", "--format", "json"])
    assert out.exit_code == 0, out.output
    got = {(r["kind"], r["split"]): r for r in json.loads(out.stdout)["by_split"]}

    def med(kind: str, split: str, places: int) -> str:
        return f"{got[kind, split]['median_abs_error_pct']:.{places}f}%"

    def worst(kind: str, split: str, places: int) -> str:
        return f"{got[kind, split]['max_abs_error_pct']:.{places}f}%"

    t, s = "training throughput", "serving"
    said = (
        f"training throughput median |error| {med(t, 'all', 2)} over {got[t, 'all']['points']} "
        f"points (fit split {med(t, 'fit', 2)}, held out {med(t, 'heldout', 2)}), worst "
        f"{worst(t, 'all', 2)}; serving median {med(s, 'all', 1)} over {got[s, 'all']['points']} "
        f"points (fit {med(s, 'fit', 1)}, worst {worst(s, 'fit', 0)}; held out "
        f"{med(s, 'heldout', 1)}, worst {worst(s, 'heldout', 0)})"
    )
    assert said in " ".join(README.split()), said


@pytest.mark.parametrize("command", ["quote", "plan", "chart", "train", "serve"])
def test_as_of_help_says_what_the_readme_says_of_rules(runner, command):
    """rev18a #7: `quote --help` said --as-of judges "prices, rates and rules as of this date";
    the README (and the quote) judge each phase on every rule in force while it runs. rev18d
    #4: train and serve (one phase, judged the same way with a later --start) too."""
    said = "each phase under the rules in force as it runs"
    assert said in README  # the README's own --as-of example
    out = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    text = " ".join(out.stdout.replace("│", " ").split())
    phase = "the phase" if command in ("train", "serve") else "each phase"
    assert f"{phase} is judged on every rule in force while it runs" in text
    assert "rules as of" not in text
