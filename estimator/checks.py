"""The checks: what can be wrong with, or worth knowing about, an evaluated candidate.

Each is a condition over the columns of `estimator.evaluate` and a message built from one row.
`BLOCKING` checks (in verdict order) rule a candidate out of a plan and fail `--strict`;
`ADVISORY` ones are reported when they hold. `estimator.findings` applies them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl

from estimator import timeline
from estimator.bounds import DEFAULT_SEQ_LEN, MAX_DEVICES
from estimator.calibration import calibrated_for_training
from estimator.context import Context
from estimator.costing import HOURS_PER_DAY, term_hours, term_text
from estimator.market import catalog_server_price
from estimator.physics.servestep import PEAK_POOL_COLUMNS, devices_for
from estimator.physics.training import batch_bound
from estimator.published import PublishedRun, published_runs
from estimator.scenario import ServePhase, Site, TrainPhase
from pricing.catalog import STALE_AFTER_DAYS, WITH_CATALOG

Severity = Literal["block", "warn", "info"]
Phase = TrainPhase | ServePhase
Row = dict[str, Any]


@dataclass(frozen=True)
class Check:
    code: str
    severity: Severity
    reason: str  # the planner's name for a rejection of this kind
    when: Callable[[Context, Phase], pl.Expr]
    message: Callable[[Row, Context, Phase], str]
    # A column holding the source of the figure at fault, or how to find it for a row.
    source: str | Callable[[Row, Context, Phase], str] | None = None
    cite: str | None = None  # else a defaults.csv row whose source backs the finding
    # The finding rests on a report dated by its `cite` row's as_of: a quote dated before it
    # says so (`findings.hindsight`).
    reported: bool = False
    # The physics itself has no answer (the model does not fit, the device lacks the precision,
    # a latency target or deadline cannot be met, a fleet past any plan's size): no option of
    # any market or rule would do. Else the block leaves a physical answer worth showing.
    physical: bool = False


def hindsight(announced: date | None, as_of: date, lapsed: date | None = None) -> str:
    """A finding resting on a rule or report made public after the quote's date says so: a
    dated quote judges a phase by the rules in force while it runs, which a decision on that
    date could not have known (rev12d #9: a 2023-09-01 quote blocked by the rule of
    2023-10-17). So does one resting on a rule that `lapsed` after it (its effective_to: a
    rescission, a successor rule), its lapse taken as made public on that day (rev18a #3: a
    2025-02-01 quote was told the AI Diffusion rule "was rescinded on 2025-05-13 ... nothing was
    blocked" as if known then). Here, below `findings`, so a check's message may use it too
    (`list-price`); `findings.hindsight` is the same function."""
    later = [
        f"{what} {day}"
        for what, day in (("announced", announced), ("lapsed", lapsed))
        if day is not None and day > as_of
    ]
    return f" ({', '.join(later)}, after {as_of})" if later else ""


def rule_hindsight(rule: Row, as_of: date) -> str:
    """`hindsight` of a policies.csv row: made public on its `announced` date, else its
    effective_from; lapsed on its effective_to. One wording for a phase's findings and a
    transfer's (`transfers`)."""
    return hindsight(
        rule.get("announced") or rule["effective_from"], as_of, rule.get("effective_to")
    )


def supply_hindsight(r: Row, c: Context) -> str:
    """`hindsight` of the supply.csv row a bought option rests on (`market.SUPPLY_COLUMNS`
    supply_announced: its `announced`, else its effective_from; supply_to: its effective_to, a
    lapse taken as made public that day): the quote applies what the
    catalog knows, and a row made public after the quote's date says so (rev14b #5: H200 ordered
    in China on 2026-01-28 by a quote of 2025-11-27, before anyone knew Beijing would approve
    imports that day). Said inside the supply checks' own messages, so a quote's finding and a
    plan's rejected runner-up read the same."""
    if r.get("ownership") != "owned":
        return ""
    return hindsight(r.get("supply_announced"), c.as_of, _supply_lapse(r, c))


def _supply_lapse(r: Row, c: Context) -> date | None:
    """The row's lapse (supply_to) where a quote of `c.as_of` could not know it: after that
    date, and made public after it too (`market` supply_to_known: its successor's `announced`,
    rev18d #2: a 2025 row ended by a 2026 row announced on 2025-09-29 was known to end then)."""
    known = r.get("supply_to_known") or r.get("supply_to")
    return r.get("supply_to") if known is not None and known > c.as_of else None


def counted(n: float, noun: str) -> str:
    """'1 device', '2,048 devices'."""
    return f"{_n(n)} {noun}" + ("" if n == 1 else "s")


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _fleet_capital_message(r: Row, c: Context, p: Phase) -> str:
    owned = (
        " already owned): its capital is sunk and not charged; "
        if not _bought_later(r, c)
        else f", acquired on {_acquired(r, c)}, after the quote date): its capital is not "
        "charged (fleet-not-yet-bought); "
    )
    said = (
        f"runs on the fleet '{r['instance']}' ({_n(r['capacity_devices'])} x "
        f"{r['accelerator']}{owned}"
    )
    if r.get("total_usd") is None:
        # rev16c M4: "are charged" was said of a phase with no price, where nothing is.
        return (
            f"{said}energy and operations would be charged, operations at "
            f"{_fleet_operations(r, c)}, but the phase is not priced"
        )
    return f"{said}energy and operations are charged, operations at {_fleet_operations(r, c)}"


def _bought_later(r: Row, c: Context) -> bool:
    """A fleet row whose `acquired` date is after the quote's date: not bought yet."""
    acquired = _acquired(r, c) if r.get("option") == "fleet" else None
    return acquired is not None and acquired > c.as_of


def _few_tokens_message(p: TrainPhase) -> str:
    """`tokens-implausibly-few`: the B/T reading only for a count small enough to be one."""
    said = (
        f"tokens = {p.tokens:g} (a count of tokens, not billions or trillions): a training "
        f"phase of fewer than {PLAUSIBLE_TOKENS:,.0f} tokens is no real run, and its bill "
        "rounds to almost nothing"
    )
    if p.tokens < UNIT_SLIP_TOKENS:
        return f"{said}. Did you mean {p.tokens:g}e9 (B) or {p.tokens:g}e12 (T)?"
    return f"{said}: check the count"


def _fleet_later_message(r: Row, c: Context, p: Phase) -> str:
    """rev17a #22: a fleet acquired after the quote date was priced as sunk, silently. Its
    capital is said, not charged: the fleet is the tenant's word that it owns the hardware by
    then, and charging it would price a fleet as a purchase (`pricing = "owned"` does)."""
    servers = r["capacity_devices"] / r["unit_devices"]
    capital = "its capital"
    fleet = next((f for f in c.scenario.fleet if f.name == r["instance"]), None)
    if fleet is None or fleet.book_value is None:
        if r.get("server_price") is not None:
            worth = _priced(servers * r["server_price"], r, c)
            capital = f"its capital ({_n(servers)} servers, {worth} at the catalog's server price)"
    else:
        # rev20a #4: with a book value the row's server price is the book value's share (what
        # operations are costed on), and `book_value = 0` said the capital left out cost 0.
        book = f"{_n(fleet.book_value)} {fleet.book_value_currency or c.scenario.currency}"
        price = catalog_server_price(c.catalog, r["accelerator"], r.get("country"), c.as_of)
        if price is not None:
            amount, currency = price[0] * servers, price[1]
            rate = c.catalog.rate(currency, c.as_of).per_usd
            capital = (
                f"its capital ({_n(servers)} servers, {_in_currencies(amount, currency, rate, c)} "
                f"at the catalog's server price; its book_value, {book}, sets operations only)"
            )
    return (
        f"the fleet '{r['instance']}' is dated acquired on {_acquired(r, c)}, after the quote "
        f"date {c.as_of}: it is not bought yet, and {capital} is not in this quote, which "
        "charges a fleet energy and operations only; budget it if it is still to be paid, or "
        'quote the phase with pricing = "owned" to cost buying it'
    )


def _not_an_offer_message(r: Row, c: Context) -> str:
    """`not-an-offer`, naming the cheapest real offer of the same region, accelerator and
    pricing that the site passed over, by naming the figure's instance or allowing its evidence
    (rev20a #5: DeepSeek's assumed 2 USD an H800-hour quoted an RL run at 1/22.6 of MiniMax's
    21-day rental there, and nothing said that rental existed)."""
    said = (
        f"{r['provider']} {r['instance']} in {r['region']} is an accounting figure (the row's "
        "note says whose), not an offer: nobody is shown renting this capacity at this price"
    )
    same = [pl.col(k) == r[k] for k in ("region", "accelerator", "pricing") if r.get(k)]
    offers = c.options.filter(*same, pl.col("evidence").fill_null("") != "accounting")
    offers = offers.filter(pl.col("price_per_device_hour").is_not_null())
    if len(same) < 3 or offers.is_empty():
        return said
    usd = pl.col("price_per_device_hour") / pl.col("per_usd")
    best = offers.sort(usd, "provider", "instance", nulls_last=True).row(0, named=True)
    term = best.get("min_term_days") or 0
    billed = f", minimum term {term} days" if term else ""
    return (
        f"{said}. It passes over an offer there: {best['provider']} {best['instance']} "
        f"(evidence {best['evidence']}), {best['price_per_device_hour']:g} {best['currency']} "
        f"a device-hour{billed}, which a site naming it quotes"
    )


def _fleet_operations(r: dict[str, Any], c: Context) -> str:
    """What a fleet's operations are costed on (rev15d #2: a book value of 0 made them free and
    nothing said the book value sets them)."""
    if r.get("opex_fraction_per_year") is None or r.get("server_price") is None:
        return "a share of the hardware's price, which hardware.csv does not give for this device"
    share = f"{r['opex_fraction_per_year']:.0%} a year (hardware.csv opex_fraction_per_year)"
    fleet = next((f for f in c.scenario.fleet if f.name == r["instance"]), None)
    if fleet is None or fleet.book_value is None:
        return (
            f"{share} of the catalog's server price ({_n(r['server_price'])} {r['currency']} a "
            "server; give book_value to cost them on yours)"
        )
    return (
        f"{share} of its book_value ({_n(fleet.book_value)} "
        f"{fleet.book_value_currency or c.scenario.currency}): a lower book value lowers them, "
        "0 makes them free"
    )


def _train(phase: Phase) -> bool:
    return isinstance(phase, TrainPhase)


def _memory_message(r: Row, c: Context, p: Phase) -> str:
    if isinstance(p, TrainPhase):
        why = _train_memory_message(r, c, p)
        days = r.get("wall_clock_days") or 0.0
        if days > timeline.MAX_RUN_DAYS:  # its dates stop at that bound (`timeline.later`)
            why += f" (as given it would run {days:,.0f} days: its dates stop at 100 years)"
        return why
    return (
        f"{c.model.name} ({r['weights_gib']:,.0f} GiB of weights plus one request's KV cache) "
        f"does not fit on {r['tensor_parallel']} x {r['accelerator']}"
    )


def _train_memory_message(r: Row, c: Context, p: TrainPhase) -> str:
    if r["min_devices"] is None:
        return (
            f"{c.model.name} cannot be trained on {r['accelerator']}: one sequence's "
            "activations exceed a scale-up group's memory"
        )
    if r["devices"] < r["min_devices"]:
        return (
            f"{c.model.name} needs at least {_n(r['min_devices'])} {r['accelerator']} to hold "
            f"weights, gradients and optimizer state; the phase has {_n(r['devices'])}"
        )
    # Enough devices in total, but no layout the search may build holds a replica: one
    # sequence's activations, or a stage's weights, exceed a device.
    recompute = f", {r['recompute']} recompute" if r.get("recompute") else ""
    return (
        f"{c.model.name} needs {r['memory_per_device_gib']:,.0f} GiB per device in the "
        f"best layout found (TP{r['tensor_parallel']} PP{r['pipeline_parallel']} "
        f"CP{r.get('context_parallel') or 1}{recompute}) for sequences of "
        f"{_n(p.seq_len or DEFAULT_SEQ_LEN)} tokens; {r['accelerator']} has "
        f"{r['hbm_gib']:,.0f} GiB"
    )


def _capacity_when(c: Context, p: Phase) -> pl.Expr:
    over = pl.col("devices") > c.max_devices if c.max_devices else pl.lit(False)
    # What the provider says it can rent (offers.csv max_devices), where it says so.
    over = over | (pl.col("billed_devices") > pl.col("capacity_devices")).fill_null(False)
    return over | given_short(p)


def _capacity_message(r: Row, c: Context, p: Phase) -> str:
    over = r.get("capacity_devices") is not None and r["billed_devices"] > r["capacity_devices"]
    fleet = r.get("option") == "fleet" and r.get("capacity_devices") is not None
    # Serving `devices` given short of the demand say its need (`given_short`), on a fleet
    # after the fleet's own size (rev17a #1: "32 devices given; the demand at peak needs 572"
    # on a fleet of 16 never said it has 16, though that is why it was unpriced).
    needed = r.get("devices_needed") or 0
    demand = (
        f"; the demand at peak needs {_n(needed)}"
        if isinstance(p, ServePhase) and p.devices and needed > p.devices
        else ""
    )
    if (over and fleet) or demand:
        # Devices the phase gives are given, not needed (rev16d M3: "needs 1,024 x h800"
        # for `devices = 1024`, which the phase only asked for).
        asked = (
            f"devices = {_n(p.devices)} given"
            if p.devices
            else f"needs {_n(r['billed_devices'])} x {r['accelerator']}"
        )
        has = f"; the fleet '{r['instance']}' has {_n(r['capacity_devices'])}" if fleet else ""
        said = f"{asked}{has}{demand}"
        own = r.get("fleet_own_days")
        if (
            demand
            or own is None
            or not isinstance(p, TrainPhase)
            or p.deadline_days is None
            or p.devices
        ):
            return said
        # rev15b #1: what the fleet itself would do, and what its owners' peers did;
        # rev16a #3: and the deadline that would let it (a fleet cannot grow).
        # A deadline the tool refuses (past `timeline.MAX_RUN_DAYS`) is not suggested
        # (rev16d M3: 8 H800 were told a deadline_days of 320,706 lets them).
        lets = (
            f" (a deadline_days of {math.ceil(own):,} or more lets them)"
            if math.ceil(own) <= timeline.MAX_RUN_DAYS
            else f", more than any plan ({timeline.MAX_RUN_YEARS} years)"
        )
        return (
            f"needs {_n(r['billed_devices'])} x {r['accelerator']} to finish within the "
            f"{p.deadline_days:g}-day deadline; the fleet '{r['instance']}' has "
            f"{_n(r['capacity_devices'])}, which finish in {own:,.1f} days {_timed_by(p)}"
            f"{lets}" + _published_rate(c, p, r["accelerator"], r["capacity_devices"])
        )
    if over:
        shown = "listed by a marketplace" if r.get("evidence") == "marketplace" else "reported"
        why = (
            f" (only {shown}, no size published: see defaults.csv reported_capacity_devices)"
            if r.get("capacity_assumed")
            else ""
        )
        # Both limits, when both bind: --max-devices is the one the user set.
        also = (
            f", more than max_devices {_n(c.max_devices)} (--max-devices)"
            if c.max_devices and r["devices"] > c.max_devices
            else ""
        )
        return (
            f"needs {_n(r['billed_devices'])} x {r['accelerator']}{also}; {r['provider']} offers "
            f"at most {_n(r['capacity_devices'])} ({r['instance']} {r['pricing']}){why}"
        )
    cap = _n(c.max_devices or 0)
    where = f"{_n(r['devices'])} x {r['accelerator']}"
    return f"needs {where}, more than max_devices {cap} (--max-devices)"


def _unverified_message(r: Row, c: Context, p: Phase) -> str:
    what = (
        f"{_n(r['billed_devices'])} x {r['accelerator']} {r['pricing']} from {r['provider']} in "
        f"{r['region']}"
    )
    most = f"{c.catalog.default('listed_capacity_devices'):,.0f} devices"
    if r.get("basis") == "negotiated":
        # rev19a #7c: a row the user negotiated was told "more is negotiated (ask the
        # provider ...)"; what it lacks is the capacity its contract assures. rev19d #8: nor
        # is it a listing, and the user has given the catalog already.
        return (
            f"{what}: this row's price is negotiated (offers.csv basis), but it gives no "
            f"max_devices, so no more than the {most} sold self-service are taken as assured: "
            "give the devices the contract assures as the row's max_devices"
        )
    return (
        f"{what}: its listing shows the machine there, not that many at once; the largest "
        f"block sold self-service is {most}, more is negotiated (ask the provider, or give the "
        f"offer's max_devices {WITH_CATALOG})"
    )


def _sequences(r: Row, p: Phase) -> str:
    """'the global batch of 16.8M tokens (4,096 sequences of 4,096)': decimal millions."""
    seq = (p.seq_len if isinstance(p, TrainPhase) else None) or DEFAULT_SEQ_LEN
    batch = r["global_batch_tokens"]
    # Under 0.1M in full (rev13a #9: "0.0M tokens (1 sequences of 4,096)").
    tokens = f"{batch / 1e6:,.1f}M" if batch >= 1e5 else _n(batch)
    seqs = round(batch / seq)
    given = p.global_batch_tokens if isinstance(p, TrainPhase) else None
    rounded = (
        f", {_n(given)} given, rounded to whole sequences"
        if given is not None and abs(given - batch) > 0.5
        else ""
    )
    return (
        f"the global batch of {tokens} tokens ({_n(seqs)} sequence{'s' if seqs != 1 else ''} of "
        f"{_n(seq)}{rounded})"
    )


def _starved_message(r: Row, c: Context, p: Phase) -> str:
    return (
        f"{_sequences(r, p)} gives at most {_n(r['batch_replicas'])} data-parallel replicas a "
        f"sequence each per step: {_n(r['idle_devices'])} of the {_n(r['devices'])} devices have "
        "no data and sit idle, billed. Use fewer devices or a larger global_batch_tokens (the "
        "largest published is about 63M tokens)"
    )


def _day_count(days: float | None) -> str:
    """'1 day', '0.5 days', '120 days' (rev12a #7: 'deadline is 1 days')."""
    return f"{days:g} day" + ("" if days == 1 else "s")


def _deadline_message(r: Row, c: Context, p: Phase) -> str:
    deadline = p.deadline_days if isinstance(p, TrainPhase) else None
    # `max_devices`, `data_parallel` and `batch_replicas` are null where no layout holds the
    # model (rev14a #3: a traceback); such a run is not timed (`deadline_met` is null).
    most = r.get("max_devices")
    if most is not None and r["devices"] > most:
        return (
            f"a deadline of {_day_count(deadline)} needs {_n(r['devices'])} x "
            f"{r['accelerator']}, more than the {_n(most)} usable at once (global "
            "batch limit)"
        )
    # Enough digits to tell the run from the deadline: "takes 0.8 days; deadline is 0.8 days"
    # was 0.818 against 0.8.
    run = r["wall_clock_days"]
    days = f"{run:,.4g}" if deadline is not None and round(run, 1) <= deadline else f"{run:,.1f}"
    replicas, dp = r.get("batch_replicas"), r.get("data_parallel")
    if replicas is not None and dp is not None and dp >= replicas:
        # More devices would have no data: the batch, not the count, sets the time.
        return (
            f"takes {days} days on {_n(r['devices'])} devices, the most {_sequences(r, p)} "
            f"keeps busy; deadline is {_day_count(deadline)}: give a larger global_batch_tokens"
        )
    return f"takes {days} days on {_n(r['devices'])} devices; deadline is {_day_count(deadline)}"


def _latency_missed(p: Phase) -> pl.Expr:
    """TPOT unreachable, or TTFT plus the network round trip over the TTFT target (the
    physics' own test, the one its batch and replica were chosen under)."""
    assert isinstance(p, ServePhase)
    slow = ~pl.col("meets_tpot")
    if p.ttft_ms is not None:
        slow = slow | ~pl.col("meets_ttft")
    # Without the precision nothing is timed (precision-unsupported says why): not judged.
    return slow.fill_null(True) & pl.col("precision_ok")


def _latency_message(r: Row, c: Context, p: Phase) -> str:
    assert isinstance(p, ServePhase)
    rtt = r.get("rtt_ms") or 0.0
    # The target that binds (rev19a #1: TTFT with a 317 ms round trip failed, and the block
    # said "no batch meets TPOT 30 ms ... takes 11.5 ms"): TTFT where some replica size meets
    # TPOT, or where the round trip alone uses the TTFT target up (then TPOT too, if no size
    # meets it); else TPOT.
    paced = _tpot_reached(r, p)
    if paced or (p.ttft_ms is not None and rtt >= p.ttft_ms):
        tpot = "" if paced else f"; and {_tpot_missed(r, p)}"
        return _ttft_missed(r, c, p, rtt, paced) + tpot
    return _tpot_missed(r, p)


def _tpot_reached(r: Row, p: Phase) -> bool:
    """Whether the row, or some replica size tried for it, meets the TPOT target."""
    assert isinstance(p, ServePhase)
    if r["meets_tpot"]:
        return True
    reached = r.get("_closest_tpot_ms")
    return p.tpot_ms is not None and reached is not None and reached <= p.tpot_ms


def _tpot_missed(r: Row, p: Phase) -> str:
    assert isinstance(p, ServePhase)
    # The replica size nearest the target, with what it reaches (rev17a #7: the smallest
    # size tried was named, a 2-device problem, where 8-device replicas came closest).
    tp, reached = r.get("_closest_replica"), r.get("_closest_tpot_ms")
    if tp is None or reached is None:
        tp, reached = r["tensor_parallel"], r.get("_single_tpot_ms")
    slower = f"takes {reached:,.1f} ms" if reached is not None else "is slower"
    sizes = "" if p.replica_devices else ", the closest of the replica sizes tried"
    return (
        f"no batch meets TPOT {p.tpot_ms:g} ms on {tp} x {r['accelerator']}{sizes}: "
        f"a single sequence's decode step already {slower}"
    )


def _ttft_missed(r: Row, c: Context, p: Phase, rtt: float, paced: bool) -> str:
    assert isinstance(p, ServePhase) and p.ttft_ms is not None
    # The round trip's row dated when it postdates the quote, as the quote's `latency`
    # assumption dates it (rev18c #2: `serve --ttft-ms` was judged on a later row unsaid).
    row = c.round_trip(p.users, r["region"]) if rtt else None
    later = c.later(row["as_of"]) if row is not None else ""
    dated = f" (latency.csv row as of {row['as_of']}{later})" if later and row else ""
    acc = r["accelerator"]
    # The size meeting TPOT whose first token comes soonest (rev19a #1), as the TPOT message
    # names the closest: the row's own where none is known.
    tp, ttft, prefill = (
        r.get("_closest_ttft_replica"),
        r.get("_closest_ttft_ms"),
        r.get("_closest_prefill_ms"),
    )
    meets = f" that meets TPOT {p.tpot_ms:g} ms" if p.tpot_ms is not None and paced else ""
    sizes = "" if p.replica_devices else f", the soonest replica size tried{meets},"
    if tp is None or ttft is None or prefill is None:
        tp, ttft, prefill, sizes = r["tensor_parallel"], r["ttft_ms"], r["prefill_ms"], ""
    if ttft is None or prefill is None:  # nothing timed: the round trip alone is over
        return (
            f"the {rtt:,.0f} ms round trip to users {_where(p)}{dated} alone uses up the "
            f"{p.ttft_ms:g} ms TTFT target: serve them from a nearer region or loosen ttft_ms"
        )
    # Aggregated: the first token leaves with the step that ends the prompt's prefill, a step
    # that also decodes the running batch (physics.servestep.aggregated_ttft_seconds).
    # prefill: the prompt's own (`servestep.own_prefill_seconds`).
    step = "" if r["disaggregated"] else f" + {ttft - prefill:,.0f} ms step of the batch"
    alone = (
        ", which the round trip alone uses up: serve them from a nearer region or loosen ttft_ms"
        if rtt >= p.ttft_ms
        else ""
    )
    return (
        f"TTFT {ttft + rtt:,.0f} ms ({prefill:,.0f} ms prefill of {p.input_len:,} input "
        f"tokens{step} + {rtt:,.0f} ms round trip to users {_where(p)}{dated}) on {tp} x "
        f"{acc}{sizes} exceeds the {p.ttft_ms:g} ms target{alone}"
    )


def _fleet() -> pl.Expr:
    return pl.col("option") == "fleet"


def _bought() -> pl.Expr:
    return pl.col("ownership") == "owned"


def _acquired(r: Row, c: Context) -> date | None:
    """The `acquired` date of the fleet an evaluated row runs on."""
    return next((f.acquired for f in c.scenario.fleet if f.name == r["instance"]), None)


def _not_purchasable_message(r: Row, c: Context, p: Phase) -> str:
    if r["option"] == "fleet":
        return (
            f"the fleet '{r['instance']}' ({_n(r['capacity_devices'])} x {r['accelerator']}) "
            f"was acquired on {_acquired(r, c)}, when {r['accelerator']} could not be bought "
            f"new in {r['country']}: {r['supply_message']} Check its acquired date, or rent."
            + supply_hindsight(r, c)
        )
    start = c.as_of + timedelta(days=r["days_to_start"])
    # rev16a #3: "use hardware you already have (a [[fleet]])" was said to a lab with one.
    instead = (
        'Rent, or run it on your fleet (pricing = "fleet") where it is large enough.'
        if c.scenario.fleet
        else "Use hardware you already have (a [[fleet]]) or rent."
    )
    if r.get("supply_block") == "delivery":
        # rev12d #1: ordered before a ban, delivered after it ("cannot be bought on" the order
        # date named a day it could be).
        order = c.as_of + timedelta(days=r.get("order_days") or 0)
        # rev19a #7e: "is delivered for the phase's start" beside `owned-capex`'s delivery day
        # (its order plus the lead time, the day the cash flow pays on). The supply rules judge
        # a purchase as acquired when its phase starts (`market.purchases`), said where the
        # delivery comes before the ban.
        lead = r.get("lead_time_days")
        delivered = c.as_of + timedelta(days=lead) if lead is not None else None
        if delivered is None:
            when = f"is wanted for the phase's start ({start}), after the {r['supply_from']} ban"
        elif r["supply_from"] is None or delivered > r["supply_from"]:
            when = f"is delivered on {delivered}, after the {r['supply_from']} ban"
        else:
            when = (
                f"is delivered on {delivered}, but taken as acquired when the phase starts "
                f"({start}), after the {r['supply_from']} ban"
            )
        return (
            f"{r['accelerator']} ordered in {r['country']} on {order} {when}: "
            f"{r['supply_message']} {instead}" + supply_hindsight(r, c)
        )
    until = r.get("supply_until")
    later = f" (until {until}, after the phase starts on {start})" if until else ""
    return (
        f"ordered {c.as_of}, when {r['accelerator']} could not be bought new in "
        f"{r['country']}{later}: {r['supply_message']} {instead}" + supply_hindsight(r, c)
    )


def _lead_time_message(r: Row, c: Context, p: Phase) -> str:
    start = c.as_of + timedelta(days=r["days_to_start"])
    if r["option"] == "fleet":
        return (
            f"the fleet '{r['instance']}' is acquired on {_acquired(r, c)}; the phase starts on "
            f"{start}, {r['lead_time_days'] - r['days_to_start']:,.0f} days before it exists"
        )
    waits = r.get("order_days") or 0
    order = c.as_of + timedelta(days=waits)
    days = r["days_to_start"] - waits
    if days > 0:
        when = f"{days:,} days after the order ({order}), on {start}"
    elif days == 0:  # rev11d #10: "0 days after 2026-11-30"
        when = f"on the order date, {order}"
    elif waits:
        when = f"{-days:,} days before the order ({order})"
    else:
        when = f"{-days:,} days before the quote date {c.as_of}, when nothing can be ordered yet"
    # rev12d #1: a part that cannot be bought on the plan's date is ordered when it can be.
    ordered = (
        f" is ordered on {order}, the first day it can be bought in {r['country']} "
        f"(on {c.as_of} it could not), and"
        if waits
        else ""
    )
    # The order day and the lead time are the supply row's (a fleet's date is its own).
    return (
        f"bought {r['accelerator']}{ordered} arrives about "
        f"{r['lead_time_days'] - waits:,.0f} days after the "
        f"order; the phase starts {when}: start it later or use hardware already owned"
    ) + _lead_hindsight(r, c)


def _lead_hindsight(r: Row, c: Context) -> str:
    """`supply_hindsight` of a `lead-time` block, which rests on the supply row only where the
    row sets the lead time or the first day of the order, and never on its end (rev18d #2: a
    default 90-day lead, for a phase over before the row lapsed, was marked "lapsed 2026-01-01")."""
    if r.get("ownership") != "owned":
        return ""
    rests = r.get("supply_lead_days") is not None or bool(r.get("order_days"))
    return hindsight(r.get("supply_announced") if rests else None, c.as_of)


def vendor_efficiency(c: Context, p: Phase) -> pl.Expr:
    """A domestic accelerator's training efficiency is fitted to its vendor's own benchmarks
    (efficiency.csv): the `vendor-efficiency` finding says so where it prices a run, with the
    independent low end (review8a #8: 910B rated at 1.15x an A800, iFlytek reports
    0.73-0.80x)."""
    if not _train(p):
        return pl.lit(False)  # serving rows have no training efficiency row
    return (
        (pl.col("accelerator_origin") == "CN")
        # the device's own row (not a workload's generic one, nor MFU given)
        & pl.col("efficiency_row").str.contains(pl.col("accelerator"), literal=True)
        & (pl.col("mfu_low") < pl.col("mfu"))
    )


# The run at the low end of its training efficiency range, as the quote evaluates it beside a
# row `vendor_efficiency` holds on (`quoting.with_low_end`: the option evaluated at `mfu_low`,
# the sensitivity's low end): its devices, days, cost (USD, the accounting view's; null where
# unpriced) and verdict.
LOW_END = ("_low_devices", "_low_days", "_low_usd", "_low_verdict")


def _vendor_efficiency_message(r: Row, c: Context, p: Phase) -> str:
    said = (
        f"{r['accelerator']} training efficiency (GEMM {r['mfu']:.2f}) rests on its vendor's "
        f"own benchmarks ({r['efficiency_row']}, whose note gives the evidence for its range); "
        f"at the range's low end, {r['mfu_low']:.2f}, "
    )
    shows = " (sensitivity and --samples show the range)"
    # rev19a #2: "takes 58% longer" was the ratio of GEMM efficiencies (attention, collectives
    # and bubbles do not scale with it; the model gave +42%), and a run sized by its deadline
    # takes more devices, not longer. The figures are the run evaluated at that end.
    days, devices = r.get("_low_days"), r.get("_low_devices")
    if days is None or devices is None:
        return said + "this run is slower" + shows
    # A block the row has already (a purchase too late for its start) is not the low end's.
    verdict = r.get("_low_verdict")
    if verdict is not None and verdict != r.get("verdict"):
        why = BY_CODE[verdict].reason if verdict in BY_CODE else verdict
        return said + f"this option would be ruled out ({why})" + shows
    usd, low_usd = r.get("total_usd"), r.get("_low_usd")
    more = low_usd / usd - 1 if usd and low_usd is not None else None
    cost = "" if more is None else f", at {_more(more)} cost"
    if devices != r["devices"]:
        assert isinstance(p, TrainPhase)
        within = f" within its {p.deadline_days:g}-day deadline" if p.deadline_days else ""
        return (
            said + f"it needs {_n(devices)} devices instead of {_n(r['devices'])} "
            f"({_more(devices / r['devices'] - 1)}) to finish in {days:,.1f} days{within}"
            f"{cost}" + shows
        )
    return (
        said + f"this run takes {days:,.1f} days instead of {r['wall_clock_days']:,.1f} "
        f"({_more(days / r['wall_clock_days'] - 1, 'longer', 'shorter')}){cost}" + shows
    )


def _more(share: float, more: str = "more", less: str = "less") -> str:
    """'42% more', 'under 1% more', '3% less'."""
    word = more if share >= 0 else less
    return f"under 1% {word}" if abs(share) < 0.005 else f"{abs(share):.0%} {word}"


# Fewer training tokens than this are taken for a unit slip (`tokens-implausibly-few`).
PLAUSIBLE_TOKENS = 1e6
# Below this, the count reads as billions or trillions written bare (36 for 36T); above it, no
# unit would make it a run (rev17b #11: 5e5 was asked "500000e12 (T)?").
UNIT_SLIP_TOKENS = 1e4
# A term more than this many times the one reported rental an offer rests on is past its
# evidence (`term-past-evidence`): a few renewals of the deal seen are close to it; a year on a
# three-week deal is not.
EVIDENCE_TERM_FACTOR = 4.0


def _term_too_long_message(r: Row, c: Context, p: Phase) -> str:
    days = r["hours"] / HOURS_PER_DAY
    return (
        f"rents {_n(r['billed_devices'])} x {r['accelerator']} for {days:,.1f} days; "
        f"{r['provider']} sells {r['instance']} {r['pricing']} for at most "
        f"{_day_count(r['max_term_days'])} (offers.csv max_term_days): past it neither this "
        "price nor the capacity is assured. Another offer, more devices for a shorter run, or "
        "the phase split into terms priced separately"
    )


def _untimed_note(c: Context, p: Phase) -> str:
    """What a training run without a length does to the plan's dates (nothing to say for a
    phase no other follows: rev12f #13, `train` spoke of "the phases after it")."""
    if not timeline.needs_run_days(c.scenario, p) or len(c.scenario.phases) < 2:
        return ""
    return ": its run time is unknown, so the phases after it are dated as if it took none"


# In verdict order: a candidate is rejected for the first of these it fails (after the rules).
BLOCKING: tuple[Check, ...] = (
    Check(
        "precision-unsupported",
        "block",
        "precision",
        lambda c, p: ~pl.col("precision_ok"),
        lambda r, c, p: f"{r['accelerator']} has no {p.precision} support" + _untimed_note(c, p),
        physical=True,
    ),
    Check(
        "memory-does-not-fit",
        "block",
        "memory",
        # Memory is not known for a precision the device lacks (the physics does not run it):
        # that is `precision-unsupported`, not a model too big for the device.
        lambda c, p: pl.col("precision_ok") & ~pl.col("fits").fill_null(False),
        _memory_message,
        physical=True,
    ),
    Check(
        # rev11a #11: 1e17 tokens a day sized 15.7 billion H100s with only a warning; no one
        # may give more than MAX_DEVICES, and no plan sized by the tool may use more.
        "fleet-too-large",
        "block",
        "size",
        lambda c, p: (pl.col("devices") > MAX_DEVICES).fill_null(False),
        lambda r, c, p: (
            f"needs {_n(r['devices'])} x {r['accelerator']}: more than the {_n(MAX_DEVICES)} "
            "devices any plan may use (the limit on a device count given as input)"
        ),
        physical=True,
    ),
    Check(
        "replica-spans-instances",
        "block",
        "instance",
        lambda c, p: pl.lit(False) if _train(p) else ~pl.col("within_instance"),
        lambda r, c, p: (
            f"a {r['tensor_parallel']}-device replica does not fit one {r['instance']} "
            f"({counted(r['unit_devices'], 'device')}) and its devices have no fast link between "
            "instances: choose a larger instance (site.instance)"
        ),
    ),
    Check(
        "run-spans-pods",
        "block",
        "instance",
        lambda c, p: _spans_pods() if _train(p) else pl.lit(False),
        lambda r, c, p: (
            f"a run on {counted(r['devices'], 'device')} spans "
            f"{counted(math.ceil(r['devices'] / r['unit_devices']), 'instance')} of "
            f"{r['instance']} ({counted(r['unit_devices'], 'device')} each; a server holds "
            f"{r['scaleup_size']}): pods rented a GPU at a time have no cluster network between "
            "them for tensor, pipeline and gradient traffic; choose whole servers (site.instance)"
        ),
    ),
    Check(
        # rev20b #2: a region added through --catalog without latency.csv rows was judged at a
        # 0 ms round trip (`_rtt`'s null as 0), and the planner placed a phase there for it,
        # where a real round trip leaves no placement. A target the network counts toward
        # cannot be judged without it: no answer, as a target missed has none.
        "round-trip-unknown",
        "block",
        "latency",
        lambda c, p: _round_trip_unknown(p) & pl.lit(getattr(p, "ttft_ms", None) is not None),
        lambda r, c, p: (
            f"{_no_round_trip(r, c, p)}, so the {getattr(p, 'ttft_ms', 0):g} ms TTFT target "
            "cannot be judged (the round trip counts toward it): add a latency.csv row (region "
            f"{r['region']}, market and rtt_ms) to your catalog, or leave ttft_ms out"
        ),
        physical=True,
    ),
    Check(
        "latency-target-missed",
        "block",
        "latency",
        lambda c, p: pl.lit(False) if _train(p) else _latency_missed(p),
        _latency_message,
        physical=True,
    ),
    Check(
        "deadline-missed",
        "block",
        "deadline",
        lambda c, p: pl.col("deadline_met").not_().fill_null(False) if _train(p) else pl.lit(False),
        _deadline_message,
        physical=True,
    ),
    Check("capacity-short", "block", "capacity", _capacity_when, _capacity_message),
    Check(
        # review10a #8: a phase from 2025-01-01 quoted as of 2025-11-27 was priced at the
        # later rows without a word. rev13a #2: as an info, a rented phase moved into the past
        # (a mistyped year) was judged under the rules of its own dates, so a PIPL block
        # vanished, and the phases after it followed it there; owned hardware was blocked
        # (lead time), rentals not. A plan cannot start before the date it is made on; a
        # back-cast is a quote dated then (`as_of`), at that date's prices and rules.
        "starts-before-quote-date",
        "block",
        "start",
        lambda c, p: pl.col("days_to_start") < 0,
        lambda r, c, p: (
            f"starts on {c.as_of + timedelta(days=r['days_to_start'])}, before the quote date "
            f"{c.as_of}: a plan cannot start in the past; to cost it then, date the scenario "
            "(as_of, or --as-of) on or before its start, at that date's prices and rules"
        ),
    ),
    Check(
        # rev13b #2: a 350-day run was priced at one AWS Capacity Block rate; AWS sells a block
        # for at most 182 days and extends one only if capacity allows. Past an offer's longest
        # term (offers.csv max_term_days) its price and its capacity are not assured.
        "term-too-long",
        "block",
        "term",
        lambda c, p: (
            (pl.col("option") == "rented")
            & (pl.col("hours") > pl.col("max_term_days") * HOURS_PER_DAY * (1 + 1e-9))
        ).fill_null(False),
        _term_too_long_message,
        "max_term_source",
    ),
    Check(
        "not-purchasable",
        "block",
        "supply",
        # Ordered on the quote date or the first day after it the part may be bought, and
        # delivered at the phase's start (`market.purchases`); a fleet on its `acquired` date.
        lambda c, p: _bought() & ~pl.col("purchasable").fill_null(True),
        _not_purchasable_message,
        "supply_source",
    ),
    Check(
        "supply-limit",
        "block",
        "supply",
        lambda c, p: (
            (pl.col("option") == "owned")
            & (pl.col("billed_devices") > pl.col("max_devices_per_buyer")).fill_null(False)
        ),
        lambda r, c, p: (
            f"needs {_n(r['billed_devices'])} x {r['accelerator']}; one buyer can get about "
            f"{_n(r['max_devices_per_buyer'])} in {_n(r['per_days'])} days "
            f"({r['supply_message']})" + supply_hindsight(r, c)
        ),
        "supply_source",
    ),
    Check(
        "lead-time",
        "block",
        "lead time",
        # The hardware is there `lead_time_days` after the quote date: a purchase's order (the
        # first day it may be bought, `market.purchases`) plus its lead time
        # (unless the phase may slip until it arrives), a fleet's acquisition.
        lambda c, p: (
            ((pl.lit(p.name not in c.slip) & (pl.col("option") == "owned")) | _fleet())
            & (pl.col("days_to_start") < pl.col("lead_time_days")).fill_null(False)
        ),
        _lead_time_message,
        "supply_source",
    ),
    Check(
        "unpriced",
        "block",
        "price",
        # Work the physics has no answer for (a precision the device lacks, a model that does
        # not fit, a target it cannot meet) has no total either; its price is there, and the
        # physics' own block says what is missing.
        lambda c, p: pl.col("total_usd").is_null() & priced(c, p),
        lambda r, c, p: (
            f"no price for {r['accelerator']} in {r['region']} on {c.as_of}: "
            f"{_missing_price(r)}: add it {WITH_CATALOG}"
        ),
    ),
)


def _missing_price(r: Row) -> str:
    """Which figure an unpriced option lacks, and the catalog table that would hold it."""
    # Hardware owned or bought pays for its energy: a fleet as much as a purchase.
    if r.get("ownership") == "owned" and r.get("electricity_price_kwh") is None:
        return f"no electricity tariff for {r['region']} on that date (an electricity.csv row)"
    if r.get("energy_currency") is not None and r.get("energy_per_usd") is None:
        return f"no exchange rate for {r['energy_currency']} (an fx.csv row)"
    if r.get("currency") is not None and r.get("per_usd") is None:
        return f"no exchange rate for {r['currency']} (an fx.csv row)"
    return "no offer price on that date (an offers.csv row)"


REASONS = ("rule", *dict.fromkeys(c.reason for c in BLOCKING))
# What the physics has no answer for (`Check.physical`): the device lacks the precision, the
# model does not fit, a latency target or the deadline cannot be met, no plan may use the
# fleet it needs. Such a run is not priced, as a precision the device lacks was not (rev12a
# #4: Llama 3.1 405B on 8 L40S was billed for 74 years), and `train`/`serve` refuse it. The
# one list: `answered`, the estimate and `findings.CANNOT_RUN` read it (rev12f #3: three
# hand-written lists disagreed on size and deadline).
PHYSICAL_REASONS = frozenset(c.reason for c in BLOCKING if c.physical)
BY_CODE = {c.code: c for c in BLOCKING}


def answered(c: Context, p: Phase) -> pl.Expr:
    """Whether the physics has an answer for a candidate (none of its physical checks fails)."""
    hits = [ch.when(c, p).fill_null(False) for ch in BLOCKING if ch.physical]
    return ~pl.any_horizontal(hits)


def fleet_outgrown() -> pl.Expr:
    """A fleet row sized past the fleet: more devices than the fleet has (`capacity-short`).
    A rented offer too small still has a price worth showing, since more can be rented
    elsewhere; a fleet cannot grow, and its devices past its size do not exist (rev16a #2: 512
    H800 with a 75-day deadline were charged energy and operations for 2,304, while the same
    fleet given `devices = 512` was unpriced, `deadline-missed`). Such a row is unpriced, as
    that one is: one fleet, one answer, and never a bill for hardware the lab does not own."""
    return (_fleet() & (pl.col("billed_devices") > pl.col("capacity_devices"))).fill_null(False)


def given_short(p: Phase) -> pl.Expr:
    """A serving phase's `devices` given fewer than its demand at peak needs (`capacity-short`):
    the serving twin of a training phase's `devices` that miss its deadline (`deadline-missed`).
    Its bill is for a service that does not carry the demand, and a price per million output
    tokens over that demand divides by tokens its devices cannot serve (rev17a #1: 16 H100 for
    the 512 a demand needs read 0.26 USD a million, where they serve it at 4 to 8.5)."""
    if not (isinstance(p, ServePhase) and p.devices):
        return pl.lit(False)
    return (pl.col("devices_needed") > p.devices).fill_null(False)


def outgrown(p: Phase) -> pl.Expr:
    """A row whose devices are fewer than its work needs and cannot be more: a fleet sized past
    its size (`fleet_outgrown`), or a serving phase's `devices` given short of its demand
    (`given_short`). Unpriced, as a training run past its deadline with `devices` given is:
    one fleet, one answer, whether it is written as the fleet alone or with its devices."""
    return fleet_outgrown() | given_short(p)


def priced(c: Context, p: Phase) -> pl.Expr:
    """Whether a candidate's cost is its total (`total_usd`): the physics has an answer
    (`answered`) and its devices are not fewer than its work needs (`outgrown`)."""
    return answered(c, p) & ~outgrown(p)


def _age(c: Context) -> pl.Expr:
    return (pl.lit(c.as_of) - pl.col("offer_as_of")).dt.total_days()


def _rtt(p: Phase) -> pl.Expr:
    """The network round trip to the phase's users (0 where unknown or not serving)."""
    return pl.col("rtt_ms").fill_null(0.0) if isinstance(p, ServePhase) else pl.lit(0.0)


def _round_trip_unknown(p: Phase) -> pl.Expr:
    """A serving phase whose region has no latency.csv row for its users' market: no round trip
    to judge a TTFT target or `users-far` with (rev20b #2: read as 0 ms)."""
    return pl.col("rtt_ms").is_null() if isinstance(p, ServePhase) else pl.lit(False)


def _no_round_trip(r: Row, c: Context, p: Phase) -> str:
    assert isinstance(p, ServePhase)
    market = "any market abroad" if p.users == "foreign" else f"market {p.users}"
    return f"latency.csv has no round trip from {r['region']} to users {_where(p)} ({market})"


def _users_far(c: Context, p: Phase) -> pl.Expr:
    """Users far from the site while no TTFT target judges it (with one, latency decides)."""
    if not isinstance(p, ServePhase) or p.ttft_ms is not None:
        return pl.lit(False)
    return _rtt(p) > c.catalog.default("far_users_rtt_ms")


def _no_tpot_target(c: Context, p: Phase) -> pl.Expr:
    """A serving phase without a TPOT target is sized at the batch of maximum throughput, whose
    steps can take hundreds of milliseconds: said, with the figure, since a cost per token at
    that speed is no interactive service's."""
    if not isinstance(p, ServePhase) or p.tpot_ms is not None:
        return pl.lit(False)
    return (pl.col("tpot_ms") > 0).fill_null(False)


def _input_below_shape(c: Context, p: Phase) -> pl.Expr:
    """Aggregated serving counts each request's prefill at the request shape (input_len per
    output_len): a daily input below what the shape implies for the daily output is not
    credited (`physics.servestep.replicas_for_demand`), so the fleet is sized for the shape's
    input; disaggregated serving sizes its prefill pool on the daily input (rev15a #5: 1e8, 1e9
    and 4e9 input tokens a day gave the same 24 devices). Said, with the input_len that fits."""
    if not isinstance(p, ServePhase) or p.disaggregated or p.input_tokens_per_day is None:
        return pl.lit(False)
    shape = pl.col("output_tokens_per_day") * (p.input_len / p.output_len)
    below = pl.col("input_tokens_per_day") < shape * (1 - _BELOW_SHAPE)
    return (~pl.col("disaggregated") & below).fill_null(False)


# A daily input this far below the shape's is said (a rounding of the volumes is not).
_BELOW_SHAPE = 0.05


def _volume(x: float) -> str:
    """A daily token volume as one writes it in a file or a flag: 6e11, 1.7e11, 51,200 (the
    exponent form from a million, where it keeps four significant digits; below, the whole
    number with thousands separators, so 12,345 is not shown as 1.234e4)."""
    if abs(x) < 1e6:
        return f"{x:,.0f}"
    text = f"{x:.4g}"
    mantissa, exponent = text.split("e+")
    return f"{mantissa}e{int(exponent)}"


def _input_below_shape_message(r: Row, c: Context, p: Phase) -> str:
    assert isinstance(p, ServePhase)
    given, out = r["input_tokens_per_day"], r["output_tokens_per_day"]
    implied = out * p.input_len / p.output_len
    fitting = max(1, round(p.output_len * given / out))
    # A fleet the phase fixed is not sized: the demand it is checked against is (`capacity`'s
    # devices_needed; rev15c #5).
    sized = (
        f"the {counted(p.devices, 'device')} given are checked against a demand of"
        if p.devices
        else "the fleet is sized for"
    )
    return (
        f"input_tokens_per_day {_volume(given)} is {given / implied:.1%} of the "
        f"{_volume(implied)} the request shape implies for {_volume(out)} output tokens a day "
        f"(input_len {p.input_len:,} per output_len {p.output_len:,}): aggregated serving "
        f"prefills each request at the shape's input, so {sized} {_volume(implied)} input "
        f"tokens a day; set input_len to {fitting:,} (--input-len) for this demand's ratio"
    )


# The catalog tables whose override rows a quote's option rests on: the table, the option
# kind it prices (None: any), and the evaluated columns that name the row, key by key.
_OVERRIDDEN = (
    ("offers", "rented", {"provider": "provider", "region": "region",
                          "accelerator": "accelerator", "instance": "instance",
                          "pricing": "pricing", "as_of": "offer_as_of"}),
    ("hardware", "owned", {"id": "instance", "as_of": "offer_as_of"}),
    ("accelerators", None, {"id": "accelerator"}),
)  # fmt: skip


def _row_key(columns: list[str]) -> pl.Expr:
    return pl.concat_str([pl.col(c).cast(pl.String) for c in columns], separator="\x1f")


def reads_network(
    kind: str, moe: bool, tensor_parallel: Any, devices: Any, unit: Any, scaleup: Any
) -> pl.Expr:
    """Whether a phase's timing reads the network between scale-up domains, on the physics' own
    condition (rev15e #1): a training run on more devices than its scale-up domain, the
    accelerator's NVLink group capped at one instance (`training._inputs`; `trainstep`'s
    gradient, tensor and expert traffic past it runs at scaleout_bw), so a 512-device rental
    "instance" of 8-device groups reads it too; a serving replica of an MoE model wider than the
    accelerator's group (`servestep.collective_seconds_per_token`: the all-to-all's share past
    it; a dense replica's all-reduce stays on the scale-up links). Columns or numbers (then
    evaluate the expression on a row): the override check and the quote's stated network
    (`quoting._network`) ask it the same way."""

    def e(x: Any) -> pl.Expr:
        return (x if isinstance(x, pl.Expr) else pl.lit(x)).cast(pl.Float64)

    if kind == "serve":
        return pl.lit(moe) & (e(tensor_parallel) > e(scaleup))
    return e(devices) > pl.min_horizontal(e(scaleup), e(unit))


def _reads(c: Context, p: Phase, column: str) -> pl.Expr:
    """Whether a row's timing or price reads an override table's optional `column` (rev15c #3:
    an accelerator row without int8_tops and scaleout_gbps was reported for a BF16 run on an
    offer that states its own network). The networks are read where the timing crosses the
    network (`reads_network`): the offer's own first (`evaluate._offer_network`), else the
    accelerator's; a precision's peak, at that precision."""
    kind = "serve" if isinstance(p, ServePhase) else "train"
    crosses = reads_network(
        kind, c.model.arch == "moe", pl.col("tensor_parallel"), pl.col("devices"),
        pl.col("unit_devices"), pl.col("scaleup_size"),
    )  # fmt: skip
    if column == "scaleout_gbps":
        return pl.col("instance_scaleout_gbit_s").is_null() & crosses
    if column == "instance_scaleout_gbit_s":
        return crosses
    if column in _PEAKS:
        return pl.lit(p.precision == _PEAKS[column])
    return pl.lit(True)


# The accelerator columns that give one precision's peak.
_PEAKS = {"fp8_tflops": "fp8", "int8_tops": "int8"}


def _drop_hits(c: Context, p: Phase) -> list[tuple[str, dict[str, Any], pl.Expr]]:
    """The one decision behind `override-drops-figure` (rev15e #5: the check and its message
    decided it apart): per override row and optional column it leaves empty where the embedded
    row gives a figure (`Catalog.dropped`), the table, that dropped row and whether an
    evaluated row rests on the override row (its kind of option, its keys) and reads the
    column (`_reads`)."""
    out = []
    for name, option, columns in _OVERRIDDEN:
        keyed = c.catalog.dropped(name).with_columns(_key=_row_key(list(columns)))
        for d in keyed.iter_rows(named=True):
            here = (_row_key(list(columns.values())) == d["_key"]) & _reads(c, p, d["column"])
            out.append((name, d, here if option is None else (pl.col("option") == option) & here))
    return out


def _dropped_here(c: Context, p: Phase, r: Row) -> list[tuple[str, dict[str, Any]]]:
    """The override rows behind an evaluated row that drop a figure the row reads."""
    hits = _drop_hits(c, p)
    names = sorted({n for _, _, here in hits for n in here.meta.root_names()})
    row = pl.DataFrame({n: [r.get(n)] for n in names})
    return [(name, d) for name, d, here in hits if row.select(here.fill_null(False)).item()]


def _override_drops(c: Context, p: Phase) -> pl.Expr:
    """An option priced or timed on an override row (`--catalog DIR`) that leaves empty an
    optional figure the embedded row of the same series gives (`Catalog.dropped`) and the
    option reads (`_drop_hits`): the row replaces the embedded one whole, so the figure falls
    back to its default (rev15a #9: a price-only GCP row dropped the instance's 1,000 Gbit/s
    network and moved the hours)."""
    hit = pl.lit(False)
    for _, _, here in _drop_hits(c, p):
        hit = hit | here
    return hit.fill_null(False)


# What an empty optional figure means, as the catalog's schema says it (pricing/schema.py).
_EMPTY_MEANS = {
    "instance_scaleout_gbit_s": "the accelerator's network per device is used",
    "max_devices": "the offer states no capacity",
    "max_term_days": "the offer has no longest term",
    "fp8_tflops": "the device counts as lacking FP8",
    "int8_tops": "the device counts as lacking INT8",
    "scaleout_gbps": "the default network is used",
    "scope": "the price counts as a whole server's",
}


def _override_drops_message(r: Row, c: Context, p: Phase) -> str:
    # One clause per override row and meaning: "leaves a, b empty where ... gives 1, 2, so ...".
    clauses: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for name, d in _dropped_here(c, p, r):
        try:
            figure = f"{float(d['embedded']):g}"
        except ValueError:
            figure = str(d["embedded"])
        where = f"{Path(str(d['file'])).name}:{d['line']}"
        meaning = _EMPTY_MEANS.get(d["column"], "its default is used")
        clauses.setdefault((where, name, meaning), []).append((d["column"], figure))
    said = [
        f"{where} leaves {', '.join(k for k, _ in cols)} empty where the embedded {name}.csv "
        f"row gives {', '.join(v for _, v in cols)}, so {meaning}"
        for (where, name, meaning), cols in clauses.items()
    ]
    return (
        "; ".join(said) + ": an override row replaces the embedded row whole (copy the figure "
        "into the row to keep it)"
    )


def _where(p: Phase) -> str:
    users = p.users if isinstance(p, ServePhase) else ""
    return {"cn": "in China", "foreign": "abroad"}.get(users, f"in the {users} market")


users_where = _where  # where a serving phase's users are, as the findings say it


def _spans_pods() -> pl.Expr:
    """A training run over several instances that each hold less than a scale-up domain: pods
    rented one GPU at a time on a marketplace, not servers on a cluster network (the serving
    checks refuse them a replica across instances for the same reason)."""
    unit = pl.col("unit_devices").cast(pl.Float64)
    return (
        (pl.col("devices").cast(pl.Float64) > unit)
        & (unit < pl.col("scaleup_size").cast(pl.Float64))
    ).fill_null(False)


def _replica_on_unstated_network() -> pl.Expr:
    """A rented serving replica over several instances whose offer row states no network
    between them (`instance_scaleout_gbit_s`): its traffic past the server runs at the
    accelerator's figure, which no source of the offer gives."""
    return (
        (pl.col("option") == "rented")
        & (pl.col("tensor_parallel").cast(pl.Float64) > pl.col("unit_devices").cast(pl.Float64))
        & pl.col("instance_scaleout_gbit_s").is_null()
        # A replica `replica-spans-instances` refuses runs on no network at all (rev13d #1:
        # both findings spoke of the same dense replica, one of its "expert traffic").
        & pl.col("within_instance")
    ).fill_null(False)


def _unstated_network_message(r: Row, c: Context, p: Phase) -> str:
    unit, size = int(r["unit_devices"]), int(r["tensor_parallel"])
    net = c.catalog.accelerator(r["accelerator"]).get("scaleout_gbps")
    per_device = float(net if net is not None else c.catalog.default("scaleout_gbps")) * 8.0
    if r.get("price_per_device_hour") is None:
        # rev17a #6: a site no offer matches (quoted unpriced) has no instance nor offer row to
        # name: the message named its placeholder, "(no offer)".
        return (
            f"each {size}-device replica spans {math.ceil(size / unit)} servers "
            f"({counted(unit, 'device')} each): its expert traffic crosses the network between "
            "servers, and with no offer matching this site no row states that network; it is "
            f"sized at the {r['accelerator']}'s {per_device:,.0f} Gbit/s per device, a cluster "
            "fabric's (a priced offer's own figure can change the device count). Give the "
            f"offer with its network (--catalog DIR), or set replica_devices = {unit} "
            "(replicas inside one server)"
        )
    return (
        f"each {size}-device replica spans {math.ceil(size / unit)} instances of "
        f"{r['instance']} ({counted(unit, 'device')} each): its expert traffic crosses the "
        f"network between servers, which the {r['provider']} offer's row does not state (no "
        f"instance_scaleout_gbit_s); it is costed at the {r['accelerator']}'s "
        f"{per_device:,.0f} Gbit/s per device, a cluster fabric's. "
        + (
            "Servers rented one at a time may have no such fabric: confirm it with the provider"
            if r.get("evidence") in ("reported", "marketplace")
            else "Confirm the instances have one (and give its figure with --catalog DIR)"
        )
        + f", or set replica_devices = {unit} (replicas inside one server)"
    )


def _published(c: Context, p: Phase) -> dict[str, PublishedRun]:
    """The published pretraining runs of a pretraining phase's model at its precision, by
    accelerator (one each: the calibration set has no model twice on one device). A fine-tune
    has none: its efficiency row and its work are not a pretraining run's."""
    if not isinstance(p, TrainPhase) or p.workload != "pretrain":
        return {}
    runs = published_runs(c.model.id, c.model.total_params, c.model.active_params, p.precision)
    return {r.accelerator: r for r in runs}


def _published_message(r: Row, c: Context, p: Phase) -> str:
    run = _published(c, p)[r["accelerator"]]
    assert isinstance(p, TrainPhase)
    at_rate = run.device_hours * p.tokens / run.tokens
    return (
        f"published run: {run.source} reports {_n(run.device_hours)} {run.accelerator}-hours "
        f"for {run.tokens / 1e12:g}T tokens of {run.model} pretraining; at that rate this "
        f"phase's {p.tokens / 1e12:g}T tokens take {_n(at_rate)} device-hours, against this "
        f"estimate's {_n(r['device_hours'])} ({r['device_hours'] / at_rate - 1:+.0%}). A "
        "team's reported hours include its failures, restarts and its own software's "
        f"efficiency (`splitcompute calibration`: {run.id})"
    )


def own_fleet_known(c: Context, p: Phase) -> bool:
    """Whether an evaluated row of `p` carries the facts of the scenario's own fleet at its own
    size (`evaluate._with_own_fleet`): a training phase the deadline sizes, in a scenario with a
    [[fleet]]."""
    return (
        isinstance(p, TrainPhase)
        and p.deadline_days is not None
        and p.devices is None
        and bool(c.scenario.fleet)
    )


def _published_hours(c: Context, p: Phase) -> dict[str, float]:
    """Per accelerator, the device-hours this phase takes at a published run's rate
    (`_published`: the same model, device and precision, scaled by tokens)."""
    if not isinstance(p, TrainPhase):
        return {}
    return {a: r.device_hours * p.tokens / r.tokens for a, r in _published(c, p).items()}


def _given_speed(p: Phase) -> str:
    """The phase's own `mfu` and `goodput` where it gives them, in words ("" for neither)."""
    mfu = p.mfu if isinstance(p, TrainPhase) else None
    given = [f"{name} {value:g}" for name, value in (("mfu", mfu), ("goodput", p.goodput))
             if value is not None]  # fmt: skip
    return " and ".join(given)


def _timed_by(p: Phase) -> str:
    """What a training run's time rests on: this estimate, or the speed the phase gave (a
    given `mfu` is the user's statement, DESIGN "Where it is not drawn"; rev15c #2)."""
    given = _given_speed(p)
    return f"at the {given} you gave" if given else "by this estimate"


def _published_rate(
    c: Context, p: Phase, accelerator: str, devices: float, open_site: str = ""
) -> str:
    """What a fleet of `devices` x `accelerator` takes at the published run's rate, as a clause
    of a message ("" when no published run matches): the estimate is a Megatron-class stack's
    (README, "A faster stack than the estimate's"), and a team whose stack matches the
    published run's says so with the phase's `mfu` and `goodput`. A phase that gives either has
    said so already: the rate is then information, with no advice to give them (rev15c #2).
    `open_site` names how to admit the fleet to a phase whose fixed site leaves it out: there
    `mfu` and `goodput` alone would not bring it in (rev15e #2), so that comes first."""
    hours = _published_hours(c, p).get(accelerator)
    if hours is None or not isinstance(p, TrainPhase) or p.deadline_days is None:
        return ""
    run = _published(c, p)[accelerator]
    days = hours / devices / HOURS_PER_DAY
    said = (
        f"; the published run of {run.model} on {accelerator} ({run.source}) took "
        f"{_n(run.device_hours)} {accelerator}-hours for {run.tokens / 1e12:g}T tokens, at which "
        f"rate its {_n(devices)} finish this phase in {days:,.1f} days"
    )
    if days > p.deadline_days:
        return said + ", also past the deadline"
    speed = (
        ""
        if _given_speed(p)
        else "if your stack matches that run, give the phase `mfu` and `goodput` (README, "
        '"A faster stack than the estimate\'s")'
    )
    if not open_site:
        return said + (f": {speed}" if speed else "")
    then = (
        f": by this estimate alone it still misses the deadline there, so {speed}" if speed else ""
    )
    then = then.replace(", give the phase", ", also give the phase", 1)
    return f"{said}: to run the phase on the fleet, open its site to it ({open_site}){then}"


def _own_fleet_late_when(c: Context, p: Phase) -> pl.Expr:
    """A phase placed off the scenario's own fleet, which could run it but for the deadline by
    this estimate and would meet it at a published run's rate (rev15b #1)."""
    hours = _published_hours(c, p)
    if not own_fleet_known(c, p) or not hours:
        return pl.lit(False)
    assert isinstance(p, TrainPhase) and p.deadline_days is not None
    at_rate = pl.col("own_fleet_accelerator").replace_strict(
        hours, default=None, return_dtype=pl.Float64
    )
    # Multiplied by the reciprocal, as every division under `evaluate` is (speed20a): a
    # condition must not flip with the rows beside it.
    days = at_rate / pl.col("own_fleet_devices") * (1.0 / HOURS_PER_DAY)
    return (
        (pl.col("option") != "fleet")
        & (pl.col("own_fleet_days") > p.deadline_days)
        & (days <= p.deadline_days)
    ).fill_null(False)


def _site_fixed(c: Context, p: Phase) -> bool:
    """Whether the scenario fixed the phase's site (before the planner placed it, if it did)."""
    return isinstance(c.site_given(p), Site)


def _own_fleet_late_message(r: Row, c: Context, p: Phase) -> str:
    assert isinstance(p, TrainPhase) and p.deadline_days is not None
    fleet = (
        f"the fleet '{r['own_fleet']}' ({_n(r['own_fleet_devices'])} x "
        f"{r['own_fleet_accelerator']} in {r['own_fleet_region']})"
    )
    late = (
        f"it finishes this phase in {r['own_fleet_days']:,.1f} days {_timed_by(p)}, past the "
        f"{p.deadline_days:g}-day deadline"
    )
    if _site_fixed(c, p):
        # A fixed site left the fleet out, not the estimate (rev15c #1): what the fleet would
        # do is information, with no "so ... instead", and the way to it is the site
        # (rev15e #2).
        opened = f'site = "auto", or a site with pricing = "fleet" in {r["own_fleet_region"]}'
        published = _published_rate(
            c, p, r["own_fleet_accelerator"], r["own_fleet_devices"], opened
        )
        return f"{fleet} is not in this phase's site; {late}{published}"
    published = _published_rate(c, p, r["own_fleet_accelerator"], r["own_fleet_devices"])
    what = "buys" if r.get("option") == "owned" else "rents"
    return (
        f"{fleet} is not used: {late}, so the phase {what} {_n(r['devices'])} x "
        f"{r['accelerator']} in {r['region']} instead{published}"
    )


def _term(r: Row) -> str:
    """A commitment's term as an adjective: "21-day", "1-month", "3-year"."""
    n, unit = term_text(r["min_term_days"]).split()
    return f"{n}-{unit.removesuffix('s')}"


def _billed_terms(r: Row) -> str:
    """The terms a commitment bills, in words: "2 months", "42 days"."""
    term = r["min_term_days"]
    return term_text(term, round(r["billed_hours"] / term_hours(term)))


def _committed_hours(c: Context) -> str:
    """The column of a rental's hours in the project view, its commitment's whole terms: the
    view's own, or in the amortised view (which bills the hours used) the other's, `alt_`
    (rev17a #2c: 3-year reservations for a 119-day run, 2.7 B CNY committed, did not warn)."""
    return "billed_hours" if c.scenario.accounting == "project" else "alt_billed_hours"


def _idle_commitment_message(r: Row, c: Context, p: Phase) -> str:
    """A commitment billed past the work: in the project view, the share of the phase's compute
    cost that pays for idle terms; in the amortised view, the whole commitment against what
    this view charges, as `idle-hardware` says a purchase (rev17a #2c)."""
    committed, hours = r[_committed_hours(c)], r["hours"]
    terms = _billed_terms({**r, "billed_hours": committed})
    work = f"{hours / HOURS_PER_DAY:,.1f} days of work"
    if c.scenario.accounting == "project":
        return (
            f"the {_term(r)} commitment bills {terms} for {work}: {1 - hours / committed:.0%} "
            "of this phase's compute cost pays for idle capacity unless other work uses it"
        )
    per_usd = r["per_usd"]
    whole, charged = (r[f"{k}compute_usd"] * per_usd for k in ("alt_", ""))
    return (
        f"the {_term(r)} commitment commits {_priced(whole, r, c)} over {terms} for {work}; this "
        f"amortised view charges {_priced(charged, r, c)}, assuming other work uses the "
        f"other {1 - hours / committed:.0%} of the term (the project view bills the whole "
        "commitment)"
    )


def _term_sized_message(r: Row, c: Context, p: Phase) -> str:
    assert isinstance(p, TrainPhase) and p.deadline_days is not None
    deadline = p.deadline_days

    def money(usd: float | None) -> str:
        return "no price" if usd is None else _quoted(usd, c)

    return (
        f"sized to finish in {_day_count(r['term_sized_days'])}, {_billed_terms(r)} of the "
        f"{_term(r)} commitment within the {deadline:g}-day deadline: "
        f"{counted(r['devices'], 'device')} for {r['wall_clock_days']:,.1f} days cost "
        f"{money(r['total_usd'])}, less than the fewest devices that meet the deadline "
        f"({_n(r['deadline_sized_devices'])} for {r['deadline_sized_days']:,.1f} days: "
        f"{money(r['deadline_sized_usd'])})"
    )


def _tariff_later(c: Context) -> pl.Expr:
    """Owned hardware (a fleet or a purchase) priced at a tariff dated after the quote date
    (`options.first_tariff`)."""
    return (pl.col("option") != "rented") & (pl.col("energy_as_of") > pl.lit(c.as_of))


def _tariff_is_later(r: Row, c: Context) -> bool:
    return (
        r["option"] != "rented"
        and r.get("energy_as_of") is not None
        and (r["energy_as_of"] > c.as_of)
    )


def _stale_message(r: Row, c: Context, p: Phase) -> str:
    old = (
        f"the {r['provider']} price is from {r['offer_as_of']}, more than a year before the "
        "quote date"
    )
    if not _tariff_is_later(r, c):
        return old
    what = "the fleet's" if r["option"] == "fleet" else "the bought hardware's"
    tariff = (
        f"the {r['region']} electricity tariff is from {r['energy_as_of']}, after the quote "
        f"date {c.as_of}: the catalog has none earlier, so {what} energy is priced at its first"
    )
    stale = r["option"] != "fleet" and (c.as_of - r["offer_as_of"]).days > STALE_AFTER_DAYS
    return f"{tariff}; and {old}" if stale else tariff


def _stale_source(r: Row, c: Context, p: Phase) -> str:
    return str(r["energy_source" if _tariff_is_later(r, c) else "offer_source"])


def _priced(amount: float, r: Row, c: Context) -> str:
    """An amount of a row's price list as a message says it (`_in_currencies`)."""
    return _in_currencies(amount, r["currency"], r["per_usd"], c)


def _in_currencies(amount: float, currency: str, per_usd: float | None, c: Context) -> str:
    """An amount in `currency` (`per_usd` of it to the dollar) as a message says it: in its
    currency, and in the quote's beside it when they differ (rev12b #5: a USD quote's findings
    said only "153,600,000 CNY", which a notebook read beside a USD total)."""
    text = f"{amount:,.0f} {currency}"
    if currency == c.currency or not per_usd:
        return text
    return f"{text} ({_quoted(amount / per_usd, c)})"


# A price at the low end of a range at least this wide (its high end over its low end) is said
# to be at its floor (`price-at-floor`): 2.69-2.70 is one price, 0.75-3.0 is not.
FLOOR_RANGE = 1.1


def _floor_message(r: Row, c: Context, p: Phase) -> str:
    """`price-at-floor`: the price used is the low end of its row's range; what the phase's rent
    would be at the range's middle (the rent scales with the price per device-hour)."""
    used, low, high = r["price_per_device_hour"], r["price_low"], r["price_high"]
    middle = (low + high) / 2
    at_middle = r["compute_usd"] * middle / used
    return (
        f"{r['provider']} {r['instance']} in {r['region']} is priced at {used:g} "
        f"{r['currency']} per device-hour, the low end of its row's range ({low:g}-{high:g} "
        f"{r['currency']}; the row's note says where each end comes from): at the middle of "
        f"the range, {middle:g} {r['currency']}, this phase's rent would be "
        f"{_quoted(at_middle, c)} against the {_quoted(r['compute_usd'], c)} quoted "
        f"({(middle / used - 1) * 100:+.0f}%)"
    )


def _spot_message(r: Row, c: Context, p: Phase) -> str:
    used, high = r["price_per_device_hour"], r["price_high"]
    if used is None:  # no spot offer there: the phase is unpriced, and says so
        return "spot capacity can be reclaimed at any time and its price moves: plan restarts"
    # rev12d #10: with no range recorded, the price used was quoted as the ceiling ("up to").
    price = (
        f"up to {high:g} {r['currency']} per device-hour in the catalog"
        if high is not None and high > used
        else f"{used:g} {r['currency']} per device-hour in the catalog, the price used; no "
        "range is recorded"
    )
    restarts = "plan restarts"
    instances = math.ceil((r.get("billed_devices") or 0) / (r.get("unit_devices") or 1))
    if isinstance(p, TrainPhase) and instances > 1:
        # A synchronous step needs every instance: losing any one stops the whole run.
        restarts = (
            f"a synchronous run of {instances:,} instances on spot restarts from its last "
            "checkpoint whenever any one of them is reclaimed"
        )
    return f"spot capacity can be reclaimed at any time and its price moves ({price}): {restarts}"


def _sold_when(r: Row, p: Phase) -> str:
    """When a purchase is resold: a serving phase's when the phase ends, a training phase's when
    its run ends, which a deadline's window may outlast (rev15a #8: it was sold at the window's
    end, so a day more of deadline cost 7,832 USD more for the same fleet)."""
    if not r.get("resold_at_run_end"):  # `evaluate._resold_at_run_end`
        return "when the phase ends"
    deadline = (
        f" (of the {p.deadline_days:g}-day deadline)"
        if isinstance(p, TrainPhase) and p.deadline_days
        else ""
    )
    return f"when the run ends, {r['wall_clock_days']:,.1f} days after it starts{deadline}"


def _delivery(r: Row, c: Context, servers: float) -> str:
    """When a purchase is ordered and arrives, in words true whether or not it arrives in time
    (rev16a #10: "lead-time says when it can arrive" named a finding shown only when it does
    not). The order day and lead time are `_lead_time_message`'s."""
    it, arrives = ("it", "arrives") if servers == 1 else ("they", "arrive")
    if r.get("lead_time_days") is None:
        return f"no lead time is known for {'it' if servers == 1 else 'them'}"
    waits = r.get("order_days") or 0
    order = c.as_of + timedelta(days=waits)
    # The supply row's own lead time, else the default (`market.with_supply`).
    source = (
        "supply.csv lead_time_days"
        if r.get("supply_lead_days") is not None
        else "defaults.csv purchase_lead_time_days"
    )
    return (
        f"ordered on {order}{_just_in_time(r, c, order, it)}, {it} {arrives} about "
        f"{r['lead_time_days'] - waits:,.0f} days later, on "
        f"{c.as_of + timedelta(days=r['lead_time_days'])} ({source})"
    )


def _for_start(r: Row, c: Context) -> str:
    """'to be delivered by the phase start', where it is (rev19a #7d: said of hardware arriving
    55 days after the start, beside the `lead-time` block that says so)."""
    lead = r.get("lead_time_days")
    if lead is None or lead <= r["days_to_start"]:
        return "to be delivered by the phase start"
    start = c.as_of + timedelta(days=r["days_to_start"])
    late = lead - r["days_to_start"]
    return f"wanted for the phase start ({start}) but delivered {late:,.0f} days after it"


def _just_in_time(r: Row, c: Context, order: date, it: str) -> str:
    """Why a purchase is ordered after the first day it could be (`market.purchases`: the latest
    order that arrives by its phase's start, rev18a #6), and the price it still takes: the
    catalog's on the quote's date, not the order's (a dated hardware.csv row: the quote cannot
    know a later one)."""
    first = r.get("supply_until") or c.as_of
    if order <= first:
        return ""
    priced = (
        f"at hardware.csv's row of {r['offer_as_of']}, the latest on the quote date"
        if r.get("offer_as_of")
        else "as on the quote date"
    )
    return (
        f" (the latest order that arrives in time, not on {first}: ordered then, {it} would be "
        f"paid for and age idle before the phase; priced {priced}: later prices cannot be known)"
    )


# Hardware delivered at least this many days before its phase is said to wait (`_held`).
HELD_SAID_DAYS = 30


def _held(r: Row, c: Context) -> str:
    """', held N months before the phase starts' for hardware delivered long before it
    (`evaluate._held_days`: the delivery the cash flow pays on and the resale's age counts
    from, rev17b #2)."""
    held = int(r.get("held_days") or 0)
    if held < HELD_SAID_DAYS:
        return ""
    months = held / (365.25 / 12)
    when = f"{held} days" if months < 2 else f"{months:.0f} months"
    # Ordered as late as it can be (rev18a #6), it waits only where supply.csv lets no later
    # order arrive by the start (a ban, a longer lead time from a later day).
    # rev18d #1: the rows that let no later order arrive may be ones made public after the
    # quote's date (a longer lead time announced later): the hold rests on them, and says so.
    return (
        f", held {when} before the phase starts (paid and ageing from delivery: supply.csv lets "
        "no later order arrive by then)" + hindsight(r.get("supply_held_announced"), c.as_of)
    )


def _capex_message(r: Row, c: Context, p: Phase) -> str:
    servers = r["billed_devices"] / r["unit_devices"]
    them, their = ("them", "their") if servers != 1 else ("it", "its")
    capital = _priced(r["purchase_price"], r, c)
    if r.get("host_uplift"):
        capital += (
            f" (module price x {r['host_uplift']:g} for the host servers the price excludes: "
            "defaults.csv module_host_uplift, an estimate)"
        )
    n = int(r.get("generations") or 1)
    if c.scenario.accounting == "project" and n > 1:
        # rev14a #6: held past its life, the hardware is bought again at the end of each life.
        return (
            f"buys {counted(servers, 'server')} for {capital}, {_for_start(r, c)}: "
            f"{_delivery(r, c, servers)}{_held(r, c)}, and again at the end of each "
            f"{r['life_years']:g}-year life (hardware.csv life_years): {n} purchases over the "
            f"phase's {r['hours'] / HOURS_PER_DAY:,.0f} days, each replaced generation sold for "
            f"{r['life_resale_fraction']:.0%} of its price, the last when the phase ends, "
            f"{r['resale_age_years']:.1f} years old, for {r['resale_fraction']:.0%}"
            f"{_resale_basis(c, r['accelerator'])}: the quote charges the difference"
        )
    if c.scenario.accounting == "project":
        return (
            f"buys {counted(servers, 'server')} for {capital}, {_for_start(r, c)}: "
            f"{_delivery(r, c, servers)}{_held(r, c)}; "
            f"the plan sells {them} {_sold_when(r, p)}, {r['resale_age_years']:.1f} years old, "
            f"for {r['resale_fraction']:.0%} of that{_resale_basis(c, r['accelerator'])}: the "
            "quote charges the difference"
        )
    if r["life_used"] > 1.0:  # rev14c #7: "200.0% of their life ... the rest is other work"
        return (
            f"uses {counted(servers, 'server')} worth {capital} of capital; the phase outlasts "
            f"{their} {r['life_years']:g}-year life, so the quote charges "
            f"{r['life_used']:,.2f} lives of capital (amortised view: replaced as they wear out)"
        )
    return (
        f"uses {counted(servers, 'server')} worth {capital} of capital; the quote charges the "
        f"{r['life_used']:.1%} of {their} {r['life_years']:g}-year life "
        "this phase uses (amortised view: the rest is assumed used by other work)"
    )


def _rate_index(c: Context) -> dict[str, dict[str, Any]]:
    """Per accelerator, the latest rate_index.csv row on or before the quote's date (the first
    index by name where several cover it)."""

    def latest() -> dict[str, dict[str, Any]]:
        rows = c.catalog.dated("rate_index", c.as_of, future=False).sort("index")
        out: dict[str, dict[str, Any]] = {}
        for row in rows.iter_rows(named=True):
            out.setdefault(row["accelerator"], row)
        return out

    return c.remembered(("rate index", c.as_of), latest)


def index_contract(r: Row, c: Context) -> tuple[float, int, dict[str, Any]] | None:
    """What the row's devices would cost under a term contract at the accelerator's contract
    index (rate_index.csv), in the index's currency, with the number of whole terms and the
    index row; None where no index covers it. The project view bills whole terms, as a
    commitment's are (rev12g #2: a 27-day run was priced at the 1-year rate for its hours
    alone); the amortised view the hours of work (rev19a #3, as `costing.cost_columns`)."""
    index = _rate_index(c).get(r["accelerator"])
    if index is None:
        return None
    rate = index["price_per_device_hour"]
    if c.scenario.accounting == "amortised":
        return r["billed_devices"] * r["hours"] * rate, 0, index
    term = index["term_days"] * HOURS_PER_DAY
    terms = max(1, math.ceil(r["hours"] / term - 1e-9))
    return r["billed_devices"] * terms * term * rate, terms, index


def _list_price_message(r: Row, c: Context, p: Phase) -> str:
    at_list = (
        f"{_n(r['billed_devices'])} x {r['accelerator']} at {r['provider']}'s {r['pricing']} list "
        f"price, {r['price_per_device_hour']:g} {r['currency']} per device-hour"
    )
    contract = index_contract(r, c)
    if contract is None:
        # rev13b #1: 1,280 B200 for four months at AWS on-demand list (92% of a plan) had no
        # word, as rate_index.csv covers H100 alone; nothing is invented for the others.
        return (
            f"{at_list}: the {_quoted(r['compute_usd'], c)} quoted is at list price. A tenant "
            "renting this many negotiates a term contract, usually below list, but the "
            f"catalog has no contract index for {r['accelerator']} on or before {c.as_of} "
            f"(rate_index.csv{_indexed(c)}) to say how far below: treat this phase's rent as a "
            "ceiling"
        )
    cost, terms, index = contract  # cost in the index's currency
    rate = index["price_per_device_hour"]
    per_usd = c.catalog.rate(index["currency"], c.as_of).per_usd
    said = (
        f"{at_list}: a tenant renting this many negotiates a term contract; the "
        f"{index['index']} index was {rate:g} {index['currency']} per device-hour "
        f"({index['as_of']:%Y-%m}, rate_index.csv), at which "
    )
    if not terms:
        # The amortised view: the work's hours, not a term's whole hours (rev19a #3).
        hours = r["billed_devices"] * r["hours"]
        return (
            said + f"the work's {_n(hours)} device-hours would cost "
            f"{_in_currencies(cost, index['currency'], per_usd, c)}, against the "
            f"{_quoted(r['compute_usd'], c)} quoted (both amortised: the hours of work, not "
            "a term's whole hours)" + hindsight(index.get("announced"), c.as_of)
        )
    term = index["term_days"] * HOURS_PER_DAY
    hours = r["billed_devices"] * terms * term
    # rev15a #7: both amounts were said in USD on a CNY quote; the contract's in its index's
    # currency and the quote's, the rent in the quote's, as the other findings say them.
    contract_said = (
        f"a {index['term_days']}-day contract"
        if terms == 1
        else f"{terms} consecutive {index['term_days']}-day contracts"
    )
    return (
        said + f"{contract_said} for these devices ({_n(hours)} device-hours) would cost "
        f"{_in_currencies(cost, index['currency'], per_usd, c)}, against the "
        f"{_quoted(r['compute_usd'], c)} quoted"
        + _idle_contract(terms * term, r["hours"], cost / per_usd > r["compute_usd"])
    ) + hindsight(index.get("announced"), c.as_of)


def list_price_note(r: Row, c: Context, chosen_usd: float) -> str:
    """`list-price` in a clause, for a plan's allowed runner-up (rev19c #1: 4,608 Ascend 910C
    bought for pretraining beat H100 rentals abroad at AWS's on-demand list by 9%, and nothing
    said that a term contract at the index would have cost less than the purchase)."""
    contract = index_contract(r, c)
    if contract is None:
        return (
            f"priced at list (rate_index.csv has no contract index for {r['accelerator']} to "
            "say what a term contract would cost)"
        )
    cost, terms, index = contract
    per_usd = c.catalog.rate(index["currency"], c.as_of).per_usd
    usd = cost / per_usd
    # The rent's other costs (energy, transfers...) stay as quoted: only compute is re-priced.
    total = r["total_usd"] - r["compute_usd"] + usd
    than = "below" if total < chosen_usd else "above"
    # rev20d #1: a 5-day run read "4918% above the chosen option" with no word why: the
    # contract's whole terms, idle past the run, as the finding says them (`_idle_contract`).
    term = index["term_days"] * HOURS_PER_DAY
    idle = _idle_contract(terms * term, r["hours"], usd > r["compute_usd"]) if terms else ""
    return (
        f"priced at list: at the {index['index']} index it would cost "
        f"{_quoted(total, c)} ({abs(1 - total / chosen_usd):.0%} {than} the chosen option)"
        + idle
        + hindsight(index.get("announced"), c.as_of)
    )


def _quoted(usd: float, c: Context) -> str:
    """An amount in USD as the quote's currency says it."""
    return f"{usd * c.quote_per_usd:,.0f} {c.currency}"


# Paid past the work by more than this share, a commitment or a purchase is said to idle
# (`idle-commitment`, `idle-hardware`, `list-price`'s contract): a rounding of whole terms
# or instances is not.
IDLE_PAST = 1.05


def _idle_contract(term_hours: float, hours: float, dearer: bool) -> str:
    """A contract whose terms outlast the run bills idle time (rev15a #7: a 365-day contract
    set against an 80-day run cost more than the list-price rent, and the finding did not say
    why); said past the 5% an idle commitment is said at (`idle-commitment`)."""
    if term_hours <= hours * IDLE_PAST:
        return ""
    why = "; it costs more than the rent because its" if dearer else "; its"
    return (
        f"{why} {term_hours / HOURS_PER_DAY:,.0f} days outlast the {hours / HOURS_PER_DAY:,.1f} "
        f"days of work: {1 - hours / term_hours:.0%} of the contract pays for idle time unless "
        "other work uses it"
    )


def _indexed(c: Context) -> str:
    """', which covers h100-sxm': the accelerators the quote's date has a contract index for."""
    covered = sorted(_rate_index(c))
    return f", which covers {', '.join(covered)}" if covered else ", none on that date"


def _list_price_source(r: Row, c: Context, p: Phase) -> str:
    """The index's source where one covers the accelerator, else the list price's own."""
    index = _rate_index(c).get(r["accelerator"])
    return str(index["source"] if index is not None else r["offer_source"])


def _resale_basis(c: Context, accelerator: str) -> str:
    """What a resale fraction rests on: the part's own resale.csv curve, else the default one,
    with its basis, and whether a used market is observed at all (rev12c #2: the Ascend curve is
    derived from the fall in the new-server price, as no used Ascend market is observed)."""
    table = c.catalog.table("resale")
    own = table.filter(pl.col("accelerator") == accelerator)
    rows = own if own.height else table.filter(pl.col("accelerator") == "*")
    if rows.is_empty():
        return ""
    basis = str(rows["basis"][0])
    unobserved = any("NO OBSERVED USED MARKET" in (n or "") for n in rows["note"].to_list())
    market = ", no used market observed" if unobserved else ""
    curve = f"its {accelerator} curve" if own.height else "its default curve"
    return f" ({_BASIS_WORDS.get(basis, basis)}{market}: resale.csv, {curve})"


def _idle_hardware(c: Context, p: Phase) -> pl.Expr:
    """Hardware bought for the phase whose life the phase mostly does not use. Project view:
    the capital it loses (price less resale) is more than the share of the life it uses, as a
    commitment billed past the work is (`idle-commitment`). Amortised view: it charges only
    that share, assuming other work uses the rest, while the plan still places the whole
    purchase order (rev11a #4: 3,840 Ascend 910C bought for 600 M CNY read as 54 M)."""
    bought = (pl.col("option") == "owned") & pl.col("server_price").is_not_null()
    if c.scenario.accounting == "project":
        idle = _lost() > pl.col("life_used") * IDLE_PAST
    else:  # "mostly does not use": less than half its life
        idle = pl.col("life_used") < 0.5
    return (bought & idle).fill_null(False)


def _lost() -> pl.Expr:
    """The purchases' prices lost, in prices of one generation: 1 - resale, or with servers
    replaced at the end of each life, each generation less what it fetches (rev14a #6)."""
    n = pl.col("generations")
    replaced = n - (n - 1) * pl.col("life_resale_fraction") - pl.col("resale_fraction")
    return pl.when(n > 1).then(replaced).otherwise(1.0 - pl.col("resale_fraction"))


def _idle_hardware_message(r: Row, c: Context, p: Phase) -> str:
    capital, used = r["purchase_price"], r["life_used"]
    work = f"{r['hours'] / HOURS_PER_DAY:,.1f} days of work, {used:.1%} of the hardware's "
    work += f"{r['life_years']:g}-year life"
    if c.scenario.accounting != "project":
        return (
            f"buys {_priced(capital, r, c)} of hardware for {work}; this amortised view "
            f"charges {_priced(capital * used, r, c)}, assuming other work uses the rest "
            "of its life (the project view charges the purchase less its resale)"
        )
    n = int(r.get("generations") or 1)
    lost = 1.0 - r["resale_fraction"]
    bought, sold, when = capital, "and resells it", _sold_when(r, p)
    if n > 1:  # replaced at the end of each life (rev14a #6): n purchases, n sales
        lost = n - (n - 1) * r["life_resale_fraction"] - r["resale_fraction"]
        bought, sold = capital * n, f"({n} purchases) and resells them"
        when = "at the end of each life and of the phase"
    # rev11c #5: the loss is the price less the resale, not hardware left idle: said as what
    # it is, beside what the share of the life used costs. Amounts in the hardware's price
    # list's currency, as owned-capex says them (rev11d #5), and the quote's (`_priced`).
    return (
        f"buys {_priced(bought, r, c)} of hardware for {work} {sold} for "
        f"{_priced(bought - capital * lost, r, c)} {when}: the "
        f"{_priced(capital * lost, r, c)} lost is {lost / used:,.1f}x what the life it uses "
        f"costs (the amortised view charges {_priced(capital * used, r, c)}), unless other "
        "work uses it before the sale"
    )


# A serving phase whose demand at peak uses less than this share of the capacity billed is said
# to idle (`idle-serving-capacity`): the share at which AWS Trusted Advisor's "Low Utilization
# Amazon EC2 Instances" check flags an instance (daily CPU 10% or less; AWS Support user guide,
# cost optimization checks). Judged at the peak, not the average: a fleet sized for its peak
# is not said to idle between peaks.
IDLE_SERVING_SHARE = 0.10


def _serving_peak_share() -> pl.Expr:
    """The share of a serving phase's billed capacity its demand uses at peak: the devices the
    peak keeps busy as the sizing counts them before whole replicas and instances round them
    up (`servestep.devices_for_peak`, the one figure `replicas_for_demand` rounds), over the
    devices billed. Null with no demand."""
    return pl.col("_peak_devices") / pl.col("billed_devices")


def _idle_serving(c: Context, p: Phase) -> pl.Expr:
    """Serving capacity billed far past what its demand uses at peak (rev16a #4: 8 H100 billed
    where 1 serves the demand, 0.0064% used, 13,700 USD per million output tokens, and no
    finding). One device is not said to idle: nothing smaller serves the phase on its own
    devices, and its price per million output tokens shows what it costs. A fleet's capital is
    sunk: the capacity it leaves idle costs only energy and operations."""
    if not isinstance(p, ServePhase) or p.output_tokens_per_day is None:
        return pl.lit(False)
    return (
        (pl.col("option") != "fleet")
        & (pl.col("billed_devices") > 1)
        & (_serving_peak_share() < IDLE_SERVING_SHARE)
    ).fill_null(False)


def _percent(share: float) -> str:
    """'4%', '0.0064%': two significant figures under 1%, never an exponent."""
    pct = share * 100
    if pct >= 1 or pct <= 0:
        return f"{pct:.0f}%"
    return f"{pct:.{1 - math.floor(math.log10(pct))}f}%"


def _idle_serving_message(r: Row, c: Context, p: Phase) -> str:
    assert isinstance(p, ServePhase)
    share = r["_peak_devices"] / r["billed_devices"]
    needed = r["devices_needed"]
    said = (
        f"the demand at peak (output_tokens_per_day x peak_to_average "
        f"{r['peak_to_average']:g}) uses {_percent(share)} of the capacity billed, "
        f"{_n(r['billed_devices'])} x {r['accelerator']} at "
        f"{_n(r['output_tokens_per_s_per_device'])} output tokens/s each (serving goodput "
        f"{r['serve_goodput']:g}), where its whole replicas need {counted(needed, 'device')}: "
        f"under the "
        f"{IDLE_SERVING_SHARE:.0%} at which AWS Trusted Advisor calls an instance underused, so "
        "most of this phase's cost pays for idle capacity"
    )
    unit = int(r.get("unit_devices") or 1)
    kind = "server" if r.get("option") == "owned" else "instance"
    if p.devices:
        said += f" (devices = {_n(p.devices)} is given)"
    elif unit > (needed or 0):
        verb = "is bought in" if kind == "server" else "bills"
        said += f" ({r['instance']} {verb} whole {kind}s of {_n(unit)})"
    helps = _cheaper_serving(r, c, p, unit, kind)
    if helps:
        said = f"{said}; cheaper: {', or '.join(helps)}"
    else:
        least = _smallest_serving(r, r.get("_smallest_replica") or r["tensor_parallel"])
        said = (
            f"{said}; nothing smaller serves it on its own devices: the smallest deployment "
            f"that holds the model at this target is {counted(least, 'device')}"
        )
    # A fixed site may be what "auto" would pick, and with `devices` given "auto" bills them
    # all the same: it is offered to compare, not as cheaper (rev16d M2).
    if isinstance(c.site_given(p), Site) and not p.devices:
        said += (
            '; to compare other instances and sites, site = "auto" prices every one that serves it'
        )
    return said


def _smallest_serving(r: Row, replica: int, disaggregated: bool | None = None) -> int:
    """The devices the sizing needs for the demand's peak in whole replicas of `replica` devices
    (of each pool when disaggregated): `servestep.devices_for`, the sizing's own rounding of
    the row's own per-pool figures (rev16d M1), or for the smallest replica that meets every
    target (`_smallest_replica`) that replica's own (`_smallest_peak_*`; rev16d Q1)."""
    own = replica == r.get("_smallest_replica") and r.get("_smallest_peak_prefill") is not None
    prefix = "_smallest" if own else ""
    together, prefill, decode = (float(r[f"{prefix}{k}"]) for k in PEAK_POOL_COLUMNS)
    split = bool(r.get("disaggregated")) if disaggregated is None else disaggregated
    return devices_for((together, prefill, decode), replica, split)


def _cheaper_serving(r: Row, c: Context, p: ServePhase, unit: int, kind: str) -> list[str]:
    """What the row's own figures show could bill fewer devices than it does (rev16c M1: the
    advice named a smaller replica where the model did not fit, a smaller replica on an
    instance that still bills 8, and `site = "auto"` on a site already auto, and never named
    `disaggregated = false`, which halves the smallest deployment)."""
    billed, tp = int(r["billed_devices"]), int(r["tensor_parallel"] or 1)
    site = c.site_given(p)
    # Smaller instances (servers) where the site is fixed: a site left to the planner was
    # searched through every instance it allows.
    smaller: list[int] = []
    if isinstance(site, Site):
        o = c.options
        same = (
            (o["region"] == site.region)
            & (o["accelerator"] == site.accelerator)
            & (o["pricing"] == site.pricing)
            & (o["unit_devices"] < unit)
        )
        if site.provider is not None:
            same = same & (o["provider"] == site.provider)
        smaller = sorted(set(o.filter(same)["unit_devices"].to_list()))

    def bills(n: int, replica: int) -> int:
        """Devices `n` devices bill in whole units of this one or of the site's smaller ones
        that hold a replica of `replica` devices."""
        return min(math.ceil(n / u) * u for u in [unit, *(u for u in smaller if u >= replica)])

    kind_a = "an instance" if kind == "instance" else "a server"

    def where(n: int, replica: int) -> str:
        here = math.ceil(n / unit) * unit
        return "" if bills(n, replica) == here else f" on {kind_a} of fewer devices"

    helps = []
    at_tp = int(r["devices_needed"])  # the sizing's own count at this replica size
    if p.devices and bills(at_tp, tp) < billed:
        helps.append(f"devices = {_n(at_tp)}, the whole replicas its peak needs{where(at_tp, tp)}")
    elif (sizes := ", ".join(_n(u) for u in smaller if u >= tp)) and bills(at_tp, tp) < billed:
        helps.append(f"{kind_a} of fewer devices ({sizes} at this site)")
    least = r.get("_smallest_replica")
    if p.replica_devices is None and least and least < tp:
        n = _smallest_serving(r, int(least))
        if bills(n, least) < min(billed, bills(at_tp, tp)):
            helps.append(
                f"a replica of {counted(least, 'device')} (replica_devices = {_n(least)}, the "
                f"smallest that holds the model and meets the targets){where(n, least)}"
            )
    if r.get("disaggregated"):
        one = _smallest_serving(r, tp, disaggregated=False)
        if bills(one, tp) < min(billed, bills(at_tp, tp)):
            helps.append(
                f"disaggregated = false (one pool of {counted(one, 'device')} at the aggregated "
                f"rate where two pools need {_n(at_tp)}, if it meets the latency targets)"
                f"{where(one, tp)}"
            )
    return helps


_BASIS_WORDS = {"estimate": "an estimate", "derived": "derived from other figures"}


def _supply_later(c: Context, p: Phase) -> pl.Expr:
    """Bought hardware allowed by a supply.csv row made public after the quote's date, where
    the answer rests on what the row says: a row starting after the quote's date (a purchase
    ordered on the later day it lets it be, a fleet acquired under it) or a lead time the row
    states. A cap it passes under is not one (the purchase is the same without the row: a
    first cut warned every 64-device Ascend purchase of 2024 of a 2025 output figure); a cap
    or lead time that blocks says so in its block (`supply_hindsight`): one fact, one finding."""
    later = _bought() & (pl.col("supply_announced") > pl.lit(c.as_of)).fill_null(False)
    rests = (pl.col("supply_from") > pl.lit(c.as_of)).fill_null(False) | (
        (pl.col("option") == "owned") & pl.col("supply_lead_days").is_not_null()
    )
    limit = BY_CODE["supply-limit"].when(c, p).fill_null(False)
    lead = BY_CODE["lead-time"].when(c, p).fill_null(False) & (pl.col("option") == "owned")
    return later & rests & pl.col("purchasable").fill_null(True) & ~limit & ~lead


def _supply_later_what(r: Row, c: Context) -> str:
    acc, country = r["accelerator"], r["country"]
    if r["option"] == "fleet":
        return f"the fleet '{r['instance']}' ({acc} in {country}, acquired on {_acquired(r, c)})"
    return f"buying {acc} in {country}"


def supply_later_note(r: Row, c: Context) -> str:
    """`supply-announced-later` in a clause, for a plan's allowed runner-up (its verdict is a
    cost, not the findings its quote would list)."""
    return (
        f"{_supply_later_what(r, c)} rests on supply.csv's row from {r['supply_from']}"
        + supply_hindsight(r, c)
    )


def _supply_later_message(r: Row, c: Context, p: Phase) -> str:
    if r["option"] == "fleet":
        did = ["lets it be bought there"]
    else:
        did = []
        # The first day it may be ordered, not the order's (just in time, maybe later: rev18a #6).
        if r.get("supply_until"):
            did.append(f"lets it be ordered there from {r['supply_until']}")
        if r.get("supply_lead_days") is not None:
            did.append(f"sets its lead time to {r['supply_lead_days']:,.0f} days")
        did = did or ["lets it be bought there"]  # a purchasable row announced later
    which = ", ".join(did[:-1]) + (" and " if len(did) > 1 else "") + did[-1]
    return (
        f"{_supply_later_what(r, c)} rests on supply.csv's row from {r['supply_from']}, which "
        f"{which}: {r['supply_message']}" + supply_hindsight(r, c)
    )


# Named: a plan's allowed runner-up says it too (rev19c #1, `list_price_note`).
LIST_PRICE = Check(
    "list-price",
    "info",
    "",
    # Hyperscalers' published prices (on demand, reserved, capacity blocks) are what one
    # tenant pays for a few machines; thousands for months are bought at contract rates a
    # fraction of them (rev12d #5: 2,816 H100 at GCP's 9.91 USD/h against a 1.70-2.35 index).
    # Said for every accelerator, with the index where the catalog has one (rev13b #1).
    lambda c, p: (
        (pl.col("option") == "rented")
        # rev20d #3: an on-demand price a tracker reports (Oracle's uniform list price in
        # Johor and Abu Dhabi) is a list price as much as a published one.
        & (
            (pl.col("basis") == "published")
            | ((pl.col("basis") == "reported") & (pl.col("pricing") == "on_demand"))
        )
        & (pl.col("pricing") != "spot")
        & (pl.col("billed_devices") > c.catalog.default("listed_capacity_devices"))
        # rev13a #7: a phase the physics has no answer for is quoted unpriced; the caveat
        # compared a contract with a rent the report does not have.
        & answered(c, p)
    ),
    _list_price_message,
    source=_list_price_source,
)

# rev14b #5: the verdict applies what the catalog knows (as for policies); a quote dated before
# a supply row was public says it rests on it. Named: a plan's allowed runner-up says it too.
SUPPLY_ANNOUNCED_LATER = Check(
    "supply-announced-later",
    "warn",
    "",
    _supply_later,
    _supply_later_message,
    "supply_source",
)


ADVISORY: tuple[Check, ...] = (
    Check(
        "stale-price",
        "warn",
        "",
        lambda c, p: (((_age(c) > STALE_AFTER_DAYS) & ~_fleet()) | _tariff_later(c)).fill_null(
            False
        ),
        _stale_message,
        _stale_source,
    ),
    SUPPLY_ANNOUNCED_LATER,
    Check(
        # rev19a #7a: an A100 rental priced at its row's floor ("as little as"), range 0.75-3.0,
        # the quote at P7 of its own samples, had no word that it was the bottom of its range.
        "price-at-floor",
        "warn",
        "",
        lambda c, p: (
            (pl.col("option") == "rented")
            & (pl.col("pricing") != "spot")  # `spot-capacity` says its range ("up to ...")
            & (pl.col("price_per_device_hour") <= pl.col("price_low"))
            & (pl.col("price_high") > pl.col("price_low") * FLOOR_RANGE)
        ).fill_null(False),
        _floor_message,
        "offer_source",
    ),
    Check(
        "spot-capacity",
        "warn",
        "",
        lambda c, p: pl.col("pricing") == "spot",
        _spot_message,
        "offer_source",
    ),
    Check(
        "idle-commitment",
        "warn",
        "",
        lambda c, p: (
            (pl.col("option") == "rented")
            & (pl.col(_committed_hours(c)) > pl.col("hours") * IDLE_PAST)
        ).fill_null(False),
        _idle_commitment_message,
    ),
    Check(
        # rev13a #1: a deadline is a bound; the count that bills a term fewer is kept.
        "term-sized",
        "info",
        "",
        lambda c, p: pl.col("term_sized_days").is_not_null() if _train(p) else pl.lit(False),
        _term_sized_message,
    ),
    Check(
        "idle-hardware",
        "warn",
        "",
        _idle_hardware,
        _idle_hardware_message,
    ),
    Check(
        "idle-serving-capacity",
        "warn",
        "",
        _idle_serving,
        _idle_serving_message,
    ),
    Check(
        "owned-capex",
        "info",
        "",
        lambda c, p: (pl.col("option") == "owned") & pl.col("server_price").is_not_null(),
        _capex_message,
    ),
    Check(
        "fleet-capital",
        "info",
        "",
        lambda c, p: pl.col("option") == "fleet",
        _fleet_capital_message,
    ),
    Check(
        "fleet-not-yet-bought",
        "warn",
        "",
        lambda c, p: (pl.col("option") == "fleet") & (pl.col("offer_as_of") > pl.lit(c.as_of)),
        _fleet_later_message,
    ),
    Check(
        "domestic-training-risk",
        "warn",
        "",
        lambda c, p: (
            pl.lit(_train(p))
            & (pl.col("accelerator_origin") == "CN")
            & (pl.col("devices") >= c.catalog.default("domestic_training_risk_devices"))
        ),
        lambda r, c, p: (
            f"large-scale training on {_n(r['devices'])} domestic accelerators: the Financial "
            "Times reported (2025-08) that DeepSeek's attempt to train on Ascend ran into "
            "persistent problems and it trained on Nvidia; plan for lower goodput and delays"
        ),
        cite="domestic_training_risk_devices",
        reported=True,
    ),
    Check(
        "vendor-efficiency",
        "info",
        "",
        vendor_efficiency,
        _vendor_efficiency_message,
    ),
    Check(
        "no-calibration",
        "warn",
        "",
        # A device no public training run checks (estimator/data/calibration_train.csv, nor any
        # of its silicon family) is timed at an efficiency nobody fitted to it (rev12d #3: a
        # frontier MoE planned on 9,984 L40S at the default GEMM efficiency).
        lambda c, p: (
            pl.lit(p.mfu is None) & ~pl.col("accelerator").is_in(sorted(calibrated_for_training()))
            if isinstance(p, TrainPhase)
            else pl.lit(False)
        ),
        lambda r, c, p: (
            f"{r['accelerator']} has no training calibration point (none on it or its silicon "
            f"family in estimator/data/calibration_train.csv): its training efficiency "
            f"(GEMM {r['mfu']:.2f}, {r['efficiency_row']}) is "
            f"{'the default for any device' if '*/' in str(r['efficiency_row']) else 'its row'}"
            ", not fitted to a measured run, so this run's time and cost are unvalidated "
            "(give mfu to set it)"
        ),
    ),
    Check(
        "published-run",
        "info",
        "",
        # What a team reported its own run of this model took on this device, beside this
        # estimate (review8b: DeepSeek-V3 came out +48%, +49% today, and small Llamas 55-88% under
        # their model cards' hours, and no quote said so).
        lambda c, p: (
            pl.col("accelerator").is_in(list(_published(c, p)))
            & pl.col("device_hours").is_not_null()
            if _train(p)
            else pl.lit(False)
        ),
        lambda r, c, p: _published_message(r, c, p),
        source=lambda r, c, p: _published(c, p)[r["accelerator"]].source,
    ),
    Check(
        # rev15b #1: a DeepSeek-like lab with 2,048 H800 and a 60-75-day deadline was told to
        # rent 2,560-3,072 H100 in Iowa for ~341 M CNY: this estimate (a Megatron-class stack)
        # gives the fleet 82 days, DeepSeek's published run 54. The estimate is not tuned to
        # one run; the headline answer says what rests on it. A warning: the plan's site,
        # country and cost (here 34x) turn on a figure a published run of the same model on
        # the same device contradicts by more than the deadline's margin.
        "own-fleet-late-by-estimate",
        "warn",
        "",
        lambda c, p: _own_fleet_late_when(c, p) & pl.lit(not _site_fixed(c, p)),
        _own_fleet_late_message,
        source=lambda r, c, p: _published(c, p)[r["own_fleet_accelerator"]].source,
    ),
    Check(
        # The same, on a site the scenario fixed (rev15e #2): the site, not the estimate, left
        # the fleet out, and nothing the quote chose rests on the estimate, so it is
        # information: what the fleet would do, and how to open the site to it.
        "own-fleet-late-by-estimate",
        "info",
        "",
        lambda c, p: _own_fleet_late_when(c, p) & pl.lit(_site_fixed(c, p)),
        _own_fleet_late_message,
        source=lambda r, c, p: _published(c, p)[r["own_fleet_accelerator"]].source,
    ),
    Check(
        "batch-starved",
        "warn",
        "",
        # Serving rows have neither column.
        lambda c, p: ((pl.col("idle_devices") > 0) & batch_bound()) if _train(p) else pl.lit(False),
        _starved_message,
        cite="max_global_batch_tokens",
    ),
    *(
        Check(
            f"{basis}-price",
            "info",
            "",
            lambda c, p, basis=basis: pl.col("basis") == basis,  # type: ignore[misc]
            lambda r, c, p: (
                f"the price for {r['accelerator']} in {r['region']} is "
                f"{_BASIS_WORDS[r['basis']]}, not a published list price (see the row's note)"
            ),
            "offer_source",
        )
        for basis in ("estimate", "derived")
    ),
    Check(
        "users-far",
        "warn",
        "",
        _users_far,
        lambda r, c, p: (
            f"users {_where(p)} are ~{r['rtt_ms']:,.0f} ms round trip from {r['region']}: more "
            f"than the {c.catalog.default('far_users_rtt_ms'):g} ms a reply can take and still "
            "feel immediate (set ttft_ms to judge it against a target)"
        ),
    ),
    Check(
        # rev20b #2: without a TTFT target an unknown round trip read as 0 ms kept users-far
        # from firing however far the users are.
        "users-distance-unknown",
        "warn",
        "",
        lambda c, p: _round_trip_unknown(p) & pl.lit(getattr(p, "ttft_ms", None) is None),
        lambda r, c, p: (
            f"{_no_round_trip(r, c, p)}: how far they are is not judged (users-far); add a "
            f"latency.csv row (region {r['region']}, market and rtt_ms) to your catalog"
        ),
    ),
    Check(
        "no-tpot-target",
        "info",
        "",
        _no_tpot_target,
        lambda r, c, p: (
            "no TPOT target: the batch is "
            + (
                f"the one of maximum throughput up to max_batch {_n(p.max_batch)}"
                if isinstance(p, ServePhase) and p.max_batch
                else "the one of maximum throughput"
            )
            + f", {r['tpot_ms']:,.0f} ms per output token ({1000.0 / r['tpot_ms']:,.1f} tokens/s "
            "per request), as throughput benchmarks run; set tpot_ms (--tpot-ms) to size the fleet "
            "for a reading or interactive speed (more devices)"
        ),
    ),
    Check(
        "input-below-shape",
        "warn",
        "",
        _input_below_shape,
        _input_below_shape_message,
    ),
    Check(
        # rev13b #7: the China H100 rental (idle data centres renting single servers, its source
        # silent on any fabric) served Qwen3-235B on 16-device replicas, two servers each,
        # costed at the H100's 400 Gbit/s per GPU cluster network. A warn, not a block as for
        # pods (`run-spans-pods`): pods have no cluster network, known; here the network is
        # unknown, many rented servers do have one, and the answer is right if they do. The
        # finding says which figure the replica rests on and how to keep it in one server.
        "replica-network-unstated",
        "warn",
        "",
        lambda c, p: pl.lit(False) if _train(p) else _replica_on_unstated_network(),
        _unstated_network_message,
        "offer_source",
    ),
    Check(
        # rev17a #12: `tokens = 36` (36T meant) quoted 8 H100 for 1e-6 device-hours, 0.00 USD,
        # without a word. No training run, a fine-tune included, is under a million tokens
        # (the smallest instruction sets are tens of thousands of examples of hundreds of
        # tokens): below PLAUSIBLE_TOKENS the figure is likely a unit slip.
        "tokens-implausibly-few",
        "warn",
        "",
        lambda c, p: pl.lit(isinstance(p, TrainPhase) and p.tokens < PLAUSIBLE_TOKENS),
        lambda r, c, p: _few_tokens_message(p),  # type: ignore[arg-type]
    ),
    Check(
        # rev17a #11: `serve --model deepseek-v3 --accelerator h800` rented the one reported
        # 3-week H800 rental (MiniMax-M1's RL run) for 365 days without a word. A `reported`
        # contract with a reported size (max_devices) is one deal seen: its min_term_days is
        # that deal's length; past EVIDENCE_TERM_FACTOR times it, a contract that long at that
        # price and capacity is not evidenced (not a block: nothing says it is refused, as
        # offers.csv max_term_days would). A reported market rate per month (no size: China's
        # 8x H100 monthly leases) is a rate renewed month by month, not one deal: not said.
        "term-past-evidence",
        "warn",
        "",
        lambda c, p: (
            (pl.col("option") == "rented")
            & (pl.col("evidence") == "reported")
            # A size the report states (offers.csv max_devices), not one assumed for it.
            & ~pl.col("capacity_assumed").fill_null(True)
            & pl.col("max_term_days").is_null()
            & (pl.col("min_term_days") > 0)
            & (pl.col("hours") > pl.col("min_term_days") * HOURS_PER_DAY * EVIDENCE_TERM_FACTOR)
        ).fill_null(False),
        lambda r, c, p: (
            f"rents {_n(r['billed_devices'])} x {r['accelerator']} for "
            f"{r['hours'] / HOURS_PER_DAY:,.1f} days at the price of one reported rental of "
            f"{_day_count(r['min_term_days'])} ({r['instance']}), "
            f"{r['hours'] / HOURS_PER_DAY / r['min_term_days']:,.0f}x its term: a contract this "
            "long at this price, and the capacity for it, are assumed, not reported (a term more "
            f"than {EVIDENCE_TERM_FACTOR:g}x the evidence's is said). Confirm a quote for the "
            "term, or price the phase with your own row (--catalog DIR)"
        ),
        "offer_source",
    ),
    Check(
        "override-drops-figure",
        "warn",
        "",
        _override_drops,
        _override_drops_message,
    ),
    LIST_PRICE,
    Check(
        "capacity-unverified",
        "warn",
        "",
        lambda c, p: (
            (pl.col("option") == "rented")
            & (pl.col("evidence") == "listed")
            & pl.col("capacity_devices").is_null()
            & (pl.col("billed_devices") > c.catalog.default("listed_capacity_devices"))
        ),
        _unverified_message,
        cite="listed_capacity_devices",
    ),
    Check(
        "not-an-offer",
        "warn",
        "",
        lambda c, p: pl.col("evidence") == "accounting",
        lambda r, c, p: _not_an_offer_message(r, c),
        "offer_source",
    ),
    Check(
        "sku-only",
        "warn",
        "",
        lambda c, p: pl.col("evidence") == "sku",
        lambda r, c, p: (
            f"{r['provider']} bills a SKU for {r['instance']} in {r['region']}, but no listing "
            "shows the machine there: the capacity is not shown to exist (ask the provider)"
        ),
        "offer_source",
    ),
)
