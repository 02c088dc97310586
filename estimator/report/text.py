"""Views -> table / markdown / HTML-table / CSV text. JSON is the views' own dump (`render`).

A report is its named tables (`report.tables`) under a heading, with notes below; CSV and
`--table NAME` give one table, so each CSV has one header and one kind of row.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from estimator.errors import ScenarioError
from estimator.report.rows import (
    PLAIN,
    Terminal,
    displayed,
    markdown_text,
    render_rows,
    to_json,
)
from estimator.report.tables import (
    cash_flow_note,
    csv_default,
    is_plan,
    is_sensitivity,
    spoken,
    tables,
)
from estimator.report.view import QuoteView, excludes, non_finite

if TYPE_CHECKING:
    from estimator.uncertainty import Sampled


# The tables a quote's or plan's report gives only with an option (a shock's: plan only).
_NEEDS = {"uncertainty": "--samples N", "shock": "--shock"}


def render(view: BaseModel, fmt: str, term: Terminal = PLAIN, table: str | None = None) -> str:
    """Any view in any format, once every figure in it is known to be finite; `table` picks one
    of `tables(view)` (CSV default: `csv_default`)."""
    check_finite(view)
    if fmt == "json" and table is None:
        return view.model_dump_json(indent=2, by_alias=True)
    if fmt != "json":  # user text with its control characters escaped; JSON keeps the data
        view = displayed(view)
    named = tables(view)
    if fmt in ("csv", "json") or table is not None:
        name = table or csv_default(view)
        if name not in named:
            # rev17a #17: a table the report gives only with an option says which.
            needs = _NEEDS.get(name) if type(view).__name__ in ("QuoteView", "PlanView") else None
            if needs is not None and (needs != "--shock" or is_plan(view)):
                raise ScenarioError(
                    f"'{name}' is a table of this report only with {needs}: without it, "
                    f"{', '.join(named)}",
                    "--table",
                )
            raise ScenarioError(
                f"'{name}' is not a table of this report: {', '.join(named)}", "--table"
            )
        t = named[name]
        # CSV and JSON keep a numeric column numeric (`Table.data`, rev17b #12).
        data = fmt in ("csv", "json") and t.data is not None
        rows = t.data if data and t.data is not None else t.rows
        if fmt == "json":
            return to_json(rows)
        if not rows and fmt != "csv":
            return _heading_only(t.title, fmt, "none", term)
        title = None if fmt == "csv" else t.title
        cols = (t.data_columns if data else t.columns) or None
        return render_rows(
            rows, fmt, cols, title=title, term=term, optional=t.optional, lasting=t.lasting
        )
    head = _heading(view, fmt, term)
    parts = [head] if head else []
    for name, t in named.items():
        if t.rows:
            parts.append(
                render_rows(
                    t.rows, fmt, title=t.title, term=term, optional=t.optional, lasting=t.lasting
                )
            )
        elif name == "findings":  # "none" is an answer too
            parts.append(_heading_only(t.title, fmt, "none", term))
        elif name in ("shock", "placements", "uncertainty", "sensitivity"):
            parts.append(_heading_only(t.title, fmt, "", term))
    parts += [_paragraph(note, fmt, term) for note in _notes(view)]
    return "\n\n".join(parts)


def _paragraph(text: str, fmt: str, term: Terminal) -> str:
    """A note as the format shows a paragraph: escaped in HTML and markdown (it may quote
    phase names), wrapped on a terminal."""
    if fmt == "html":
        return f"<p>{html.escape(text)}</p>"
    if fmt == "markdown":
        return markdown_text(text)
    return _fill(text, term)


def check_finite(view: BaseModel) -> None:
    """No output shows NaN or infinity: a figure that overflowed is an input beyond the range
    the model computes, said in one line (exit 2) instead of printed."""
    bad = non_finite(view)
    if bad:
        more = f" (and {len(bad) - 1:,} more)" if len(bad) > 1 else ""
        raise ScenarioError(
            f"a result is not a finite number ({bad[0]}{more}): the inputs are beyond the "
            "range the model computes"
        )


def _heading_only(title: str, fmt: str, body: str, term: Terminal = PLAIN) -> str:
    if fmt == "html":
        return f"<h2>{html.escape(title)}</h2>\n<p>{body}</p>"
    if fmt == "markdown":
        return f"## {markdown_text(title)}\n\n{body}".rstrip()
    return f"{_fill(title, term)}\n{body}".rstrip()


def _heading(view: BaseModel, fmt: str, term: Terminal) -> str:
    if is_plan(view):
        view = view.quote
    if not isinstance(view, QuoteView):
        return ""
    total = spoken(view.total, view.currency)
    head = f"{view.name} — as of {view.as_of} — total {total} {view.currency}"
    head += excludes(view.unpriced, len(view.phases), view.blocked)
    other = "amortised" if view.accounting == "project" else "project"
    lines = [
        head,
        f"{view.accounting} accounting; {other} view: "
        f"{spoken(view.total_other_view, view.currency)} {view.currency}",
    ]
    if fmt == "markdown":
        return f"# {markdown_text(lines[0])}\n\n{markdown_text(lines[1])}"
    if fmt == "html":
        return ""  # the HTML page has its own heading
    return "\n".join(_fill(line, term) for line in lines)


def _fill(text: str, term: Terminal) -> str:
    """A sentence wrapped to the terminal (as it is when the width is unknown)."""
    import textwrap

    return text if term.width is None else textwrap.fill(text, term.width)


def _no_demand(names: list[str]) -> str:
    """'Serving phase(s) x, y ha(s)' for the phases of `names` (inputs 'phase: input' or phase
    names), '' when there are none."""
    phases = list(dict.fromkeys(n.split(": ")[0] for n in names))
    if not phases:
        return ""
    listed = ", ".join(f"'{p}'" for p in phases)
    return f"Serving phase {listed} has" if len(phases) == 1 else f"Serving phases {listed} have"


def _notes(view: BaseModel) -> list[str]:
    notes = []
    per_token = is_sensitivity(view) and _no_demand(
        [s.input for s in view.swings if s.per_million_output_tokens_at_low is not None]
    )
    if is_sensitivity(view) and any(
        s.swing == 0 and s.per_million_output_tokens_at_low is None for s in view.swings
    ):
        notes.append(
            "A swing of 0 means the input changes the work but not the bill: a commitment's"
            " minimum term, whole instances or servers, or a fixed device count absorbs it."
        )
    if per_token:
        notes.append(
            f"{per_token} no demand: the fleet is whole instances of whole replicas at full load"
            " for its days, so its total is fixed by construction (only a price, or a change of"
            " replica size, moves it). What an efficiency moves is how many tokens that fleet"
            " serves: the last two columns give its price per million output tokens at each end,"
            " the figure its options are ranked on. It has no demand row."
        )
    if is_sensitivity(view) and any(s.swing is None for s in view.swings):
        # Why, in the words of the decision that left the end blank (rev17b #3, #16).
        ends = dict.fromkeys(s.unpriced_reason for s in view.swings if s.unpriced_reason)
        notes.append(
            "A blank total: at that end of the input the phase as placed has no cost ("
            + "; ".join(ends)
            + "), a plan that fails there; such inputs come first."
        )
    shown = view.quote if is_plan(view) else view
    if isinstance(shown, QuoteView) and (cash := cash_flow_note(shown)):
        notes.append(cash)
    u = getattr(view, "uncertainty", None) or getattr(shown, "uncertainty", None)
    if u is not None and u.percentiles:
        which = (
            "the shocked plan's figure (the samples are of the plan under the shock)"
            if u.plan == "shocked"
            else "the headline figure"
        )
        notes.append(
            f"Uncertainty: quoted = {which} (listed prices, default efficiencies); "
            "quoted at = its rank among the samples (P50 = the median; a listed price at the low "
            "end of its range puts the headline low)."
        )
        if any(d.startswith("model error") for d in u.drawn):
            notes.append(
                "Model error: each sample scales a phase's physics by one held-out calibration "
                "error of its kind (`splitcompute calibration`; estimator/data/model_error.csv), "
                "drawn from their empirical distribution: training device-hours by the published "
                "whole runs' ln(published / predicted), a serving output rate by the held-out "
                "benchmarks'. The efficiencies stay as quoted: the errors were measured at them, "
                "so drawing both would count the same spread twice. A phase that bills a fixed "
                "term or fleet moves only where its hours or fleet do."
                + (
                    # rev15d #4: a plan just inside its TTFT target showed no latency risk.
                    " The serving error moves the output rate, not latency: no sample misses a "
                    "latency target here (--efficiency-ranges draws the efficiencies latency is "
                    "computed from; `sensitivity` moves them one at a time)."
                    if any(d.startswith("model error: serving") for d in u.drawn)
                    else ""
                )
            )
        if u.not_drawn:
            # rev18a #5: "drawn: prices (catalog ranges)" read as all the price risk, while the
            # largest phase's price, with no range, was not drawn.
            fx = any(n.input.startswith("FX ") for n in u.not_drawn)
            priced = any(not n.input.startswith("FX ") for n in u.not_drawn)
            why = "; ".join(
                [*(["the catalog gives no range for such a price (or one end only: the other "
                    "side is not drawn)"] if priced else []),
                 *(["exchange rates are the quote's"] if fx else [])]
            )  # fmt: skip
            swung = " and ".join(
                [*(["a phase's price with no range"] if priced else []),
                 *(["each exchange rate"] if fx else [])]
            )  # fmt: skip
            notes.append(
                "Not drawn: the samples keep these as quoted, so P10-P90 holds none of their "
                f"risk: {', '.join(n.input for n in u.not_drawn)}. {why[:1].upper()}{why[1:]}"
                f". `sensitivity` swings {swung} by --swing (default +/-20%): a what-if, not a "
                "published range."
            )
        held = [p for p in u.percentiles if p.blocked and p.name != "total"]
        if held:
            # rev18a #10: a capacity-short rental's band read as a range of what it costs.
            said = "; ".join(f"{p.name} ({p.blocked})" for p in held)
            notes.append(
                f"Blocked: {said}. Their samples price work that cannot go ahead as placed "
                "(the codes in brackets say why: see those block findings), as if it could, as "
                "the total does: the band is not a range of what the plan will cost."
            )
        if any(p.published_gap is not None for p in u.percentiles):
            notes.append(
                "quote vs published run: a team's published whole run of this model on this "
                "device, scaled to the phase's tokens, against the quote's device-hours (the "
                "published-run finding). Its hours include the team's failures, restarts and own "
                "stack; a gap outside the band is a known case the band does not cover."
            )
        rows = [p.name for p in u.percentiles if p.measure == "per_million_output_tokens"]
        if rows:
            phases = _no_demand([r.removesuffix(": per million output tokens") for r in rows])
            notes.append(
                f"{phases} no demand: the fleet is whole instances of whole replicas at full "
                "load, so its total is fixed by construction (only a price, or a change of "
                "replica size, moves it). The row 'per million output tokens' gives the "
                "percentiles of its price per million output tokens, what the efficiency moves "
                "and its options are ranked on; it is not part of the total."
            )
        if any(p.unpriced for p in u.percentiles):
            # Why, in the words of the decision that left them unpriced (rev17b #3, #16).
            why = "; ".join(
                dict.fromkeys(
                    f"{p.name} {p.unpriced_reason}"
                    for p in u.percentiles
                    if p.unpriced_reason and p.name != "total"
                )
            )
            notes.append(
                f"Unpriced samples: at their drawn inputs the phase as placed has no cost ({why}):"
                " a plan that fails, counted above every cost in the percentiles and ranks, so a "
                "percentile among them says why instead of a figure. A larger replica, more "
                "devices or a looser target avoids them."
            )
    return notes


def _sampled_from(planned: Any, uncertainty: Sampled) -> bool:
    """Whether `uncertainty` holds percentiles of this plan or quote: its phases, currency and
    total (review10c #3: EUR percentiles rendered under a USD plan)."""
    from estimator.planner import Plan

    q = planned.quote if isinstance(planned, Plan) else planned
    names = {p.name for p in q.phases} | {"total"}
    foreign = [p.name for p in uncertainty if p.name.split(": per million")[0] not in names]
    total = next((p.point for p in uncertainty if p.name == "total"), None)
    other = total is None or total.currency != q.currency or abs(float(total) - q.total) > 0.01
    return not foreign and not other


def as_json(result: object, uncertainty: Sampled | None = None) -> str:
    """The JSON `--format json` prints for a quote, a plan, a comparison, a shock (`what_if`:
    `plan --shock`) or the swings `sensitivity` returns (`splitcompute sensitivity`): the
    documented contract (`splitcompute schema`), with its schema_version,
    totals by region and currency and `from`/`to` transfer keys. `uncertainty`, what
    `percentiles` returned for the same plan or quote, fills the section `--samples` fills. A
    result's own `model_dump_json()` is the Python model, not that contract."""
    from estimator.api import Comparison
    from estimator.planner import Plan
    from estimator.report.plan_view import comparison_view, plan_view, sensitivity_view
    from estimator.report.view import quote_view, uncertainty_view
    from estimator.results import Quote
    from estimator.shock import ShockResult
    from estimator.uncertainty import Sampled, Swings

    unc = None
    if uncertainty is not None:
        if not isinstance(uncertainty, Sampled):
            raise ScenarioError(
                f"takes what percentiles() returns, not {type(uncertainty).__name__}",
                "uncertainty",
            )
        # A shock's samples are of its shocked plan (what the CLI samples: the question asked)
        # or of the plan as given; each is labelled so (rev12a #11).
        pairs: list[tuple[Literal["as given", "shocked"], object]] = (
            [("shocked", result.shocked), ("as given", result.base)]
            if isinstance(result, ShockResult)
            else [("as given", result)]
        )
        if not all(isinstance(planned, Plan | Quote) for _, planned in pairs):
            # a comparison has no one total to sample
            raise ScenarioError("only a quote, a plan or a shock has one", "uncertainty")
        label = next((k for k, planned in pairs if _sampled_from(planned, uncertainty)), None)
        if label is None:
            kind = type(pairs[0][1]).__name__.lower()
            raise ScenarioError(
                f"these percentiles are of another {kind} (its phases, currency or total "
                "differ): sample this one",
                "uncertainty",
            )
        unc = uncertainty_view(uncertainty, uncertainty.samples, uncertainty.seed, plan=label)
    view: BaseModel
    if isinstance(result, ShockResult):
        view = plan_view(result.base, unc, result)
    elif isinstance(result, Plan):
        view = plan_view(result, unc)
    elif isinstance(result, Comparison):
        view = comparison_view(result)
    elif isinstance(result, Quote):
        view = quote_view(result, unc)
    elif isinstance(result, Swings):  # rev12b #12: the library could not print this one
        view = sensitivity_view(result.quote, result)
    else:
        raise ScenarioError(
            "as_json takes a Quote, a Plan, a Comparison, a ShockResult or what sensitivity() "
            f"returns, not {type(result).__name__}"
        )
    return render(view, "json")
