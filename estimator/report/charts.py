"""Charts drawn from the view models, with matplotlib (the `charts` extra).

matplotlib renders SVG and PNG itself, offline, with no browser or JavaScript runtime, and its
SVG embeds in a self-contained HTML report and prints sharply. Each function takes a view and
returns a `Chart` (title + figure); `svg` / `png` turn it into text or bytes. Figures use the
non-interactive Agg/SVG backends, so nothing opens a window.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from estimator.errors import MissingExtraError, ScenarioError
from estimator.report.plan_view import ComparisonView, SensitivityView
from estimator.report.rows import displayed
from estimator.report.tables import cash_flow_title
from estimator.report.view import QuoteView, UncertaintyView, excludes
from estimator.scenario_file import kind_of
from estimator.timeline import KINDS
from pricing.errors import shown

if TYPE_CHECKING:
    from collections.abc import Callable

    import polars as pl

    from estimator.api import Comparison
    from estimator.planner import Plan
    from estimator.results import Quote
    from pricing import Catalog

COMPONENTS = ("compute", "capital", "resale", "hardware", "energy", "operations", "transfer")
COLORS = {
    "compute": "#4C78A8",
    "capital": "#F58518",
    "resale": "#B0B0B0",
    "hardware": "#E45756",
    "energy": "#54A24B",
    "operations": "#EECA3B",
    "transfer": "#B279A2",
    "rent": "#4C78A8",
}


@dataclass
class Chart:
    """A drawn chart: `name` (its kind), `title`, and the matplotlib figure."""

    name: str
    title: str
    figure: Any  # matplotlib.figure.Figure

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the chart as SVG or PNG, by the file's suffix; returns the path. An existing
        file is kept unless `overwrite` (the CLI's --force: review11b #17)."""
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix not in (".svg", ".png"):
            raise ScenarioError("the chart file must end in .svg or .png", str(target))
        if not target.parent.is_dir():
            where = shown(str(target.parent))
            raise ScenarioError(f"no directory '{where}' to write to", str(target))
        if target.exists() and not overwrite:
            raise ScenarioError("exists: give overwrite=True to replace it", str(target))
        self.titled()
        data = png(self) if suffix == ".png" else (svg(self) + "\n").encode("utf-8")
        target.write_bytes(data)
        return target

    def titled(self) -> Chart:
        """The title drawn in the figure, for a chart on its own (an HTML report captions it
        instead)."""
        if not self.figure.get_suptitle():  # matplotlib >= 3.8
            self.figure.suptitle(self.title, fontsize=11)
        return self


MISSING = "charts need matplotlib: pip install 'splitcompute[charts]'"


def require() -> None:
    """Raise the one-line error now if the charts extra is not installed."""
    _plt()


def _plt() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingExtraError(MISSING, "charts") from None
    return plt


def _plain_text(figure: Any) -> None:
    """Every label is the user's text, never mathtext: a phase named 'cost $\frac{1}{0$' ended
    the chart and the HTML report in matplotlib's parse error (a traceback). Set on the
    figure's own texts, not in rcParams, which a notebook's own charts share (rev11c #6)."""
    from matplotlib.text import Text

    for text in figure.findobj(Text):
        text.set_parse_math(False)


def svg(chart: Chart) -> str:
    """The chart as an SVG element (no XML prologue: it is inlined in HTML as well). Its ids
    are salted with the chart's name so several charts in one page never share one."""
    import matplotlib

    buf = io.StringIO()
    _plain_text(chart.figure)
    # Text stays text (small, searchable, sharp in print); no creation date in the file.
    with matplotlib.rc_context(
        {"svg.hashsalt": f"splitcompute-{chart.name}", "svg.fonttype": "none"}
    ):
        chart.figure.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _plt().close(chart.figure)
    text = buf.getvalue()
    return _own_ids(text[text.index("<svg") :], chart.name)


def _own_ids(svg_text: str, name: str) -> str:
    """Every id of the SVG (matplotlib numbers figure_1, patch_1, glyph DejaVuSans-48 the same
    in every chart) and every reference to one prefixed with the chart's name, so a page of
    several charts has each id once."""
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', svg_text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{name}-{m.group(1)}"', text)
    return re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{name}-{m.group(1)})", text)


def png(chart: Chart) -> bytes:
    buf = io.BytesIO()
    _plain_text(chart.figure)
    chart.figure.savefig(buf, format="png", dpi=150, bbox_inches="tight")
    _plt().close(chart.figure)
    return buf.getvalue()


def _legend(ax: Any, **kw: Any) -> None:
    """The axes' legend, if anything on them is labelled: an all-unpriced quote draws no bar,
    and `legend()` with nothing to list printed matplotlib's "No artists with labels" warning
    on stderr (rev17b #13)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


def _money_axis(ax: Any, cur: str, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _: _short(v))
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)
    (ax.set_xlabel if axis == "x" else ax.set_ylabel)(cur)


def _short(v: float) -> str:
    """A tick's value in its unit with every digit it has (up to 6 significant figures, trailing
    zeros dropped): ticks must read true, 1.25B not 1.2B, and 17.25M not "17.2M" (`.3g` did,
    rev15e #4), and a tick of 2.5 not "2"."""
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.6g}{unit}"
    return f"{v:.6g}"


def cost_by_phase(q: QuoteView) -> Chart:
    """Stacked bars: each phase's cost by component (resale below zero), and the transfers. A
    phase (or a transfer) a block forbids is labelled "(blocked)", as the uncertainty chart
    labels it, and the title says what the bars include as the headline does (rev20a #6);
    under `accounting = "amortised"` the title names the view (rev20a #10)."""
    plt = _plt()
    held = set(q.blocked)
    moved_held = any(b.startswith("transfer ") for b in held)
    names = [f"{p.name} (blocked)" if p.name in held else p.name for p in q.phases] + (
        [f"transfers{' (blocked)' * moved_held}"] if q.transfers else []
    )
    parts: dict[str, list[float]] = {c: [0.0] * len(names) for c in COMPONENTS}
    for n, p in enumerate(q.phases):
        for item in p.line_items:
            parts[item.component][n] += item.amount
    if q.transfers:
        parts["transfer"][-1] = sum(t.cost for t in q.transfers)
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(names) + 1.5))
    pos, neg = [0.0] * len(names), [0.0] * len(names)
    for comp in COMPONENTS:
        vals = parts[comp]
        if not any(vals):
            continue
        left = [neg[i] if v < 0 else pos[i] for i, v in enumerate(vals)]
        ax.barh(names, vals, left=left, color=COLORS[comp], label=comp)
        for i, v in enumerate(vals):
            (neg if v < 0 else pos)[i] += v
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.6)
    _margined(ax)
    _money_axis(ax, q.currency)
    _legend(ax, **_BESIDE)
    view = ", amortised view: the hours used" if q.accounting == "amortised" else ""
    title = f"Cost by phase and component ({q.currency}{view})"
    return Chart("cost", title + excludes(q.unpriced, len(q.phases), q.blocked), fig)


# A legend beside the axes, not over the bars (rev20a #10: the comparison's hid the first
# scenarios' bars); the saved figure's tight box takes it in.
_BESIDE: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": 8}


def _margined(ax: Any) -> None:
    """Room past the largest bar: stacked bars' zero-length segments sit at its end, and
    matplotlib holds the axis to a bar's edge there ("sticky" edges), so the largest value
    touched the frame and read as clipped (rev20a #10)."""
    ax.use_sticky_edges = False
    ax.autoscale_view()


def by_region_and_currency(q: QuoteView) -> Chart:
    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
    left.bar(list(q.by_region), list(q.by_region.values()), color="#4C78A8")
    left.set_title("by region", fontsize=10)
    right.bar(list(q.by_currency), [v.converted for v in q.by_currency.values()], color="#F58518")
    right.set_title(f"by billing currency (in {q.currency})", fontsize=10)
    for ax in (left, right):
        _money_axis(ax, q.currency, "y")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return Chart("regions", f"Cost by region and by billing currency ({q.currency})", fig)


def timeline(q: QuoteView) -> Chart:
    """Each phase's planning window (light) and its run (solid)."""
    plt = _plt()
    import matplotlib.dates as mdates

    fig, ax = plt.subplots(figsize=(9, 0.5 * len(q.phases) + 1.5))
    for n, p in enumerate(q.phases):
        color = "#4C78A8" if p.kind == "train" else "#54A24B"
        start = mdates.date2num(p.start)  # type: ignore[no-untyped-call]
        window = (p.end - p.start).days
        ax.barh(n, window, left=start, color=color, alpha=0.25)
        run = min(p.wall_clock_days or 0.0, window) or window
        ax.barh(n, run, left=start, color=color)
    ax.set_yticks(range(len(q.phases)), [p.name for p in q.phases])
    ax.invert_yaxis()
    ax.xaxis_date()
    fig.autofmt_xdate()
    return Chart("timeline", "Timeline: planning windows (light) and runs (solid)", fig)


def cash_flow(q: QuoteView) -> Chart:
    plt = _plt()
    months = [m.month for m in q.cash_flow]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(months) + 2), 3.5))
    pos, neg = [0.0] * len(months), [0.0] * len(months)
    for kind in KINDS:
        vals = [getattr(m, kind) for m in q.cash_flow]
        if not any(vals):
            continue
        bottom = [neg[i] if v < 0 else pos[i] for i, v in enumerate(vals)]
        ax.bar(months, vals, bottom=bottom, color=COLORS.get(kind, "#999999"), label=kind)
        for i, v in enumerate(vals):
            (neg if v < 0 else pos)[i] += v
    ax.axhline(0, color="black", linewidth=0.6)
    _margined(ax)
    _money_axis(ax, q.currency, "y")
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    _legend(ax, fontsize=8, ncols=3)
    return Chart("cash-flow", cash_flow_title(q), fig)


def uncertainty(u: UncertaintyView, cur: str) -> Chart:
    """P10-P90 range, P50 and the quoted figure of each phase and the total (costs: a price per
    million output tokens is on another scale, in the table). A percentile among the samples
    that fail has no figure: the bar runs from P10 to the quote (or the dearest percentile
    priced), and a note names the percentiles unpriced, why and their share (rev17b #4: a row
    whose P50 failed drew no bar at all, as if it had no spread). The title names what is not
    drawn, and a blocked phase's label says so (rev18a #5, #10)."""
    plt = _plt()
    shown = [p for p in u.percentiles if p.measure == "cost"]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(shown) + 1.5))
    priced = [n for n, p in enumerate(shown) if p.p50 is not None]
    for n, p in enumerate(shown):
        top = p.point
        if p.p10 is not None:  # some sample priced: draw what is, up to the quote (rev17b #4)
            top = p.p90 if p.p90 is not None else max(p.p10, p.point, p.p50 or p.p10)
            ax.plot([p.p10, top], [n, n], color="#4C78A8", linewidth=6, alpha=0.5)
        if p.p50 is not None:
            label = "P50" if n == priced[0] else None
            ax.plot([p.p50], [n], "|", color="#4C78A8", markersize=16, label=label)
        missing = [k for k, v in (("P10", p.p10), ("P50", p.p50), ("P90", p.p90)) if v is None]
        if missing:  # among the samples that fail (rev17a #2): say which and why
            ax.annotate(
                f"  {'/'.join(missing)}: {p.unpriced_reason} ({p.unpriced:.0%} of samples)",
                (top, n),
                va="center",
                fontsize=7,
            )
        ax.plot([p.point], [n], "o", color="#E45756", label="quoted" if n == 0 else None)
    # A blocked phase's band prices what cannot go ahead as placed (rev18a #10): said by it.
    ax.set_yticks(
        range(len(shown)), [f"{p.name} (blocked)" if p.blocked else p.name for p in shown]
    )
    ax.invert_yaxis()
    _money_axis(ax, cur)
    _legend(ax, fontsize=8)
    of = " of the shocked plan" if u.plan == "shocked" else ""
    over = f"{u.samples:,} sample{'' if u.samples == 1 else 's'}"
    # What the band holds none of the risk of (rev18a #5), as the table's title says it.
    # A line of its own: the list can be as long as the title.
    left = f"\nnot drawn: {', '.join(n.input for n in u.not_drawn)}" if u.not_drawn else ""
    return Chart("uncertainty", f"P10-P90{of} over {over} ({cur}){left}", fig)


# A tornado chart stays legible up to this many bars; the rest are counted in its title.
TORNADO_BARS = 12
TORNADO_ENDS = {"low": "#4C78A8", "high": "#F58518"}
TORNADO_UNPRICED: dict[str, Any] = {"facecolor": "none", "edgecolor": "#888888", "hatch": "//"}


def tornado(s: SensitivityView) -> Chart:
    """One row per input, two half-height bars from the quote (0): the input's low end in one
    colour, its high end in another, each to that end's change of the total, as the table
    lists them. Both ends on one side (+3 and +7) draw 0..3 and 0..7 (rev15d #1). An end with
    no price (a phase misses its target there; the legend says why) has no bar: it is hatched
    across the row's half and labelled, and the row's name says so, so the input the table
    ranks first for it is not drawn as having no effect."""
    plt = _plt()
    from matplotlib.patches import Patch

    swings = s.swings[:TORNADO_BARS]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(swings) + 1.5))
    ends = [x - s.total for w in swings for x in (w.total_at_low, w.total_at_high) if x is not None]
    reach = max((abs(x) for x in ends), default=0.0) or 1.0
    names, unpriced = [], []
    for n, w in enumerate(swings):
        missing = []
        for side, total, offset in (("low", w.total_at_low, -0.2), ("high", w.total_at_high, 0.2)):
            style = TORNADO_ENDS[side]
            if total is None:
                missing.append(side)
                ax.barh(n + offset, 2 * reach, left=-reach, height=0.4, **TORNADO_UNPRICED)
                ax.text(
                    0,
                    n + offset,
                    f" {side} end: unpriced ",
                    fontsize=7,
                    va="center",
                    ha="left",
                    color="#444444",
                )
                continue
            ax.barh(n + offset, total - s.total, height=0.4, color=style)
        why = w.unpriced_reason or "a phase has no cost"
        if missing and why not in unpriced:
            unpriced.append(why)
        names.append(w.input + (f" ({' and '.join(missing)} end unpriced)" if missing else ""))
    ax.set_yticks(range(len(swings)), names, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.6)
    _money_axis(ax, f"change of the total ({s.currency})")
    handles = [Patch(color=TORNADO_ENDS[k], label=f"{k} end of the input") for k in TORNADO_ENDS]
    if unpriced:  # why, in the words the swing's own decision gave (rev17b #3)
        handles.append(Patch(**TORNADO_UNPRICED, label=f"end unpriced: {'; '.join(unpriced)}"))
    below = 0.6 / (fig.get_figheight() * (fig.subplotpars.top - fig.subplotpars.bottom))
    ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -below), ncol=3)
    left = len(s.swings) - len(swings)
    # "not shown": "not drawn" is what the Monte Carlo keeps fixed (rev20a #10).
    more = f"; the {left} smallest of {len(s.swings)} inputs not shown" if left else ""
    return Chart("tornado", f"Sensitivity of the total ({s.currency}{more})", fig)


def comparison(c: ComparisonView) -> Chart:
    plt = _plt()
    names = c.scenarios
    if len({q.accounting for q in c.quotes}) > 1:  # rev19a #5: each bar in its own view
        names = [f"{n} ({q.accounting} view)" for n, q in zip(names, c.quotes, strict=True)]
    phases = list(dict.fromkeys(p.name for q in c.quotes for p in q.phases))
    fig, ax = plt.subplots(figsize=(8, 0.7 * len(names) + 1.5))
    left = [0.0] * len(names)
    for phase in phases:
        vals = [next((p.cost for p in q.phases if p.name == phase), 0.0) for q in c.quotes]
        ax.barh(names, vals, left=left, label=phase)
        left = [a + b for a, b in zip(left, vals, strict=True)]
    transfers = [sum(t.cost for t in q.transfers) for q in c.quotes]
    if any(transfers):
        ax.barh(names, transfers, left=left, label="transfers", color=COLORS["transfer"])
    ax.invert_yaxis()
    _margined(ax)
    _money_axis(ax, c.currency)
    _legend(ax, **_BESIDE)
    return Chart("compare", f"Scenarios side by side ({c.currency})", fig)


def sweep(frame: pl.DataFrame, x: str, y: str = "total") -> Chart:
    """`y` against the swept input `x` of an `estimator.sweep` frame: one line per combination
    of the other swept inputs; blocked points (a rule forbids the plan) drawn as crosses. A
    total with a phase left unpriced (it misses its target, no offer on the date) leaves that
    phase out, so it is not drawn: the line has a gap there and a dotted line marks the point
    (rev15d #3: it was drawn at 0 and joined, so a tighter target read as free)."""
    plt = _plt()
    import polars as pl

    if x not in frame.columns or y not in frame.columns:
        raise ScenarioError(f"the sweep has no column '{x if x not in frame.columns else y}'", "x")
    from estimator.api import SWEEP_OUTPUTS

    if frame.is_empty():
        raise ScenarioError("the sweep has no rows to draw", "frame")
    outputs = set(SWEEP_OUTPUTS)
    cur = frame["currency"][0] if "currency" in frame.columns and frame.height else ""
    if "currency" in frame.columns and frame["currency"].n_unique() > 1:
        outputs.discard("currency")  # a swept currency: one line per currency, no shared unit
        cur = ""
    others = [c for c in frame.columns if c not in outputs | {x} and not c.startswith("cost:")]
    partial = pl.lit(False)
    if y.startswith("total") and "unpriced" in frame.columns:
        partial = pl.col("unpriced").list.len().fill_null(0) > 0
    frame = frame.with_columns(
        pl.when(partial).then(None).otherwise(pl.col(y)).alias(y), _unpriced=partial
    )
    fig, ax = plt.subplots(figsize=(7, 4))
    groups = (
        frame.partition_by(others, maintain_order=True, as_dict=True) if others else {(): frame}
    )
    for key, part in groups.items():
        label = ", ".join(f"{c}={v}" for c, v in zip(others, key, strict=True)) or None
        ys = part[y].cast(pl.Float64).to_numpy()  # null -> NaN: a gap in the line
        line = ax.plot(part[x].to_list(), ys, marker="o", label=label)
        if "blocked" in part.columns:
            bad = part.filter(part["blocked"])
            ax.plot(bad[x].to_list(), bad[y].cast(pl.Float64).to_numpy(), "x",
                    color=line[0].get_color(), ms=10)  # fmt: skip
        for at in part.filter(part["_unpriced"])[x].to_list():
            ax.axvline(at, color=line[0].get_color(), linestyle=":", linewidth=1)
    ax.set_xlabel(x)
    _money_axis(ax, f"{y} ({cur})" if cur else y, "y")
    if others:
        ax.legend(fontsize=8)
    notes = []
    if "blocked" in frame.columns and not frame.filter(frame["blocked"])[y].is_null().all():
        notes.append("x: blocked")
    if bool(frame["_unpriced"].any()):
        notes.append("dotted: a phase unpriced, no total drawn")
    return Chart("sweep", f"{y} by {x}" + (f" ({'; '.join(notes)})" if notes else ""), fig)


def quote_charts(q: QuoteView) -> list[Chart]:
    charts = [cost_by_phase(q), by_region_and_currency(q), timeline(q), cash_flow(q)]
    if q.uncertainty is not None:
        charts.append(uncertainty(q.uncertainty, q.currency))
    return charts


# The kinds `chart` draws of a quote or a plan, and of a plan only (`splitcompute chart` lists
# them, with "compare", in cli/cmd_chart.py: a test holds the two equal).
QUOTE_CHARTS: dict[str, Callable[[QuoteView], Chart]] = {
    "cost": cost_by_phase,
    "regions": by_region_and_currency,
    "timeline": timeline,
    "cash-flow": cash_flow,
}
PLAN_CHARTS = ("uncertainty", "tornado")


def chart(
    result: Quote | Plan | Comparison | pl.DataFrame,
    kind: str = "cost",
    x: str = "",
    *,
    catalog: Catalog | None = None,
    samples: int = 10_000,
    seed: int = 0,
    swing: float = 0.2,
    progress: Callable[[int], None] | None = None,
) -> Chart:
    """The library's way to a chart: of a quote or plan (`kind`: cost, regions, timeline or
    cash-flow; of a plan also uncertainty, by Monte Carlo over `samples`, and tornado, the
    sensitivity at +/- `swing`), of a comparison, or of a `sweep` frame (`x`: the swept
    column, default the first). Save it with `.save("file.svg")` or `.save("file.png")`.

        frame = sweep("plan.toml", {"phases.0.deadline_days": [90, 180, 365]})
        chart(frame, x="phases.0.deadline_days").save("deadline.svg")
    """
    import polars as pl

    from estimator.api import Comparison, percentiles, sensitivity
    from estimator.planner import Plan
    from estimator.report.plan_view import comparison_view, sensitivity_view
    from estimator.report.view import quote_view, uncertainty_view
    from estimator.results import Quote

    known = ", ".join([*QUOTE_CHARTS, *PLAN_CHARTS])
    if not isinstance(kind, str):  # rev19b #8: None was a TypeError
        raise ScenarioError(f"must be one of {known}, not {kind_of(kind)}", "kind")
    if isinstance(result, pl.DataFrame):
        # rev19b #8: a frame drew its sweep whatever `kind` said ("tornado" too), and a frame
        # without columns was an IndexError.
        if kind != "cost":
            raise ScenarioError(
                f"a sweep frame has one chart, its total against x: leave kind out (got "
                f"'{kind[:40]}')",
                "kind",
            )
        if not result.columns:
            raise ScenarioError("the sweep has no rows to draw", "frame")
        return sweep(result, x or result.columns[0])
    if isinstance(result, Comparison):
        return comparison(displayed(comparison_view(result)))
    if not isinstance(result, Quote | Plan):  # rev12b #12: an AttributeError on '.phases'
        raise ScenarioError(
            "chart draws a Quote, a Plan, a Comparison or a sweep frame, not "
            f"{type(result).__name__}",
            "result",
        )
    draw = QUOTE_CHARTS
    if kind in PLAN_CHARTS:
        if not isinstance(result, Plan):
            raise ScenarioError(f"the {kind} chart needs a plan (estimator.plan)", "kind")
        if kind == "tornado":
            swings = sensitivity(result, catalog, swing=swing)
            return tornado(displayed(sensitivity_view(result.quote, swings)))
        pct = percentiles(result, catalog, samples=samples, seed=seed, progress=progress)
        return uncertainty(displayed(uncertainty_view(pct, samples, seed)), result.quote.currency)
    if kind not in draw:
        raise ScenarioError(f"'{kind[:40]}' is not one of {known}", "kind")
    # The SVG is XML: a control character in a phase name made it ill-formed (review11a #10).
    return draw[kind](displayed(quote_view(result.quote if isinstance(result, Plan) else result)))
