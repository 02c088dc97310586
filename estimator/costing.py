"""Money: device-hours x rates, owned-hardware TCO, energy and transfers, and line items.

Every formula is a polars expression over named columns (the option columns of
`estimator.options.option_table`), so the same code prices one phase (a one-row frame) in a
quote and millions of candidate placements in the planner. Amounts are computed in USD and
converted with the FX rates the option table carries; `line_items` turns one priced row into
the items a quote shows (quantity x unit price in the billed currency, then converted).
"""

from __future__ import annotations

import calendar
import functools
import math
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, Literal

import polars as pl

from estimator.frozen import ResultPart
from pricing.currencies import minor_units

HOURS_PER_DAY = 24.0
DAYS_PER_YEAR = 365.0  # a year of prices per hour (opex per year, the amortised view's life
# in hours); a server's life and age are calendar years (`years_on`, `calendar_years`: a
# 5-year life from 2026-03-01 ends on 2031-03-01, 1,826 days on, rev17a #1b)
HOURS_PER_YEAR = DAYS_PER_YEAR * HOURS_PER_DAY  # 8760


# -- formulas (expressions over columns) ---------------------------------------------


def billed_devices(
    devices: pl.Expr, unit_devices: pl.Expr, replica: pl.Expr | None = None
) -> pl.Expr:
    """Devices are rented or bought in whole instances / servers. `replica`: the devices of one
    serving replica, where the fleet is whole replicas (`devices` rounded up to them). A replica
    that fits one instance stays inside one (its tensor-parallel group runs on the instance's
    scale-up link, as the physics timed it): an instance holds floor(unit / replica) of them,
    so 5 replicas of 6 devices take 5 instances of 8, not the 4 that 30 devices would fill
    (rev14a #4: billed 32, under-billed by a fifth). A replica wider than an instance (an MoE
    across whole servers) spans instances: the devices are billed in whole instances."""
    whole = (devices / unit_devices).ceil() * unit_devices
    if replica is None:
        return whole
    per = (unit_devices / replica).floor()  # whole replicas one instance holds
    packed = ((devices / replica).ceil() / per).ceil() * unit_devices
    # Where `replica` divides the instance this is `whole` to the bit (ceil(ceil(x) / n) =
    # ceil(x / n) for a whole n; both quotients of the same rational are correctly rounded).
    return pl.when(per >= 1).then(packed).otherwise(whole)


# The catalog turns a monthly price into a price per device-hour over 730 h (8760 / 12; a year's
# reservation too: its monthly price / 730 h, see pricing/data/README.md), so a calendar month of
# a commitment bills 730 h and a year 8760 h, whatever the month's or the year's days: one whole
# month then bills the monthly price exactly. (A 31-day January billed as 744 h charged 1.9%
# more than the price a month; a 366-day leap year, 0.3%.)
HOURS_PER_MONTH = HOURS_PER_YEAR / 12
# The Gregorian calendar repeats every 400 years: 146,097 days, 4,800 months.
_CYCLE_DAYS, _CYCLE_MONTHS = 146_097, 4_800


def term_months(min_term_days: int) -> int | None:
    """The calendar months of a commitment's term: a 30-day term is a month, a multiple of 365
    days that many years (a 3-year reservation is 1095); any other term (a 1-day capacity
    block, 21 or 90 days) is None: whole days."""
    if min_term_days > 0 and min_term_days % 365 == 0:
        return 12 * (min_term_days // 365)
    return 1 if min_term_days == 30 else None


def term_hours(min_term_days: int) -> float:
    """The hours one term of a commitment bills (`HOURS_PER_MONTH` a calendar month)."""
    months = term_months(min_term_days)
    return months * HOURS_PER_MONTH if months else min_term_days * HOURS_PER_DAY


def term_text(min_term_days: int, terms: int = 1) -> str:
    """`terms` terms of a commitment in words: "1 year", "3 months", "42 days"."""
    months = term_months(min_term_days)
    if months is None:
        n, unit = min_term_days * terms, "day"
    elif months % 12 == 0:
        n, unit = months // 12 * terms, "year"
    else:
        n, unit = months * terms, "month"
    return f"{n:,} {unit}{'' if n == 1 else 's'}"


def add_months(day: date, months: int) -> date:
    """`day` `months` calendar months on: the same day of the month, or the month's last day
    when it has fewer (2026-01-31 + 1 month = 2026-02-28; 2028-02-29 + 12 = 2029-02-28)."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def years_on(start: date, years: float) -> date:
    """The day `years` calendar years after `start` (a hardware life's end): `years` x 12
    calendar months, to the nearest month (`add_months`), on the same day of the month as a
    commitment's term ends. 365-day years ended a 5-year life from 2026-03-01 on 2031-02-28
    and bought a second server for the last day of a five-year plan (rev17a #1b)."""
    return add_months(start, round(years * 12))


def calendar_years(start: date, end: date) -> float:
    """The age in calendar years on `end` of what was bought on `start`: the whole calendar
    months between them (`add_months`) plus the share of the month under way, over 12 (the
    scalar of `calendar_years_of`). 2026-03-01 to 2031-03-01 is 5.0 years."""
    months = max(0, (end.year - start.year) * 12 + end.month - start.month)
    while months > 0 and add_months(start, months) > end:
        months -= 1
    lo = add_months(start, months)
    if lo >= end:
        return months / 12
    try:
        span = (add_months(start, months + 1) - lo).days
    except (ValueError, OverflowError):
        # rev19d #2: a month under way in 9999-12 (a phase ending inside the calendar) asked
        # for January 10000, a traceback; that January has December's 31 days, as every one.
        span = 31
    return (months + (end - lo).days / span) / 12


def calendar_years_of(start: date, days: pl.Expr, most: int = _CYCLE_DAYS) -> pl.Expr:
    """`calendar_years(start, start + days)` per row, for whole `days` from 0 to `most` (the
    most the caller's `days` can be; at most one 400-year cycle of `_month_ends`), read from a
    table of those days: a binary search and two gathers per row cost a sweep's ~3M rows ~0.4 s
    (candidates per second 2.1M -> 1.6M); one gather from the table is the same value, bit for
    bit. A table of the whole cycle cost each start date a quote or a plan sees ~3 ms; each day's
    value is worked out on its own, so a shorter table holds the same values for its days."""
    ends = _month_ends(start)
    table = _calendar_years_table(start, max(0, min(most, ends[-1])))
    whole = days.clip(lower_bound=0.0).cast(pl.Int64).clip(upper_bound=len(table) - 1)
    return pl.lit(table).gather(whole)


@functools.lru_cache(maxsize=64)
def _calendar_years_table(start: date, last: int) -> pl.Series:
    """`calendar_years(start, start + d)` for d = 0 .. `last` (at most the cycle's last month
    end): the whole months before day d (`_month_ends`) plus the share of the month under way,
    over 12."""
    ends = _month_ends(start)
    whole = pl.int_range(0, last + 1, dtype=pl.Int64, eager=True)
    # The month ends each day has reached (`ends.search_sorted(whole, side="right") - 1`):
    # counted as a running sum of ones on the month ends, not searched for each day.
    reached = ends[1 : ends.search_sorted(last, side="right")]
    found = pl.zeros(last + 1, pl.Int64, eager=True).scatter(reached, 1).cum_sum()
    month = found.clip(upper_bound=len(ends) - 2).alias(ends.name)
    lo, hi = ends.gather(month), ends.gather(month + 1)
    return (month + (whole - lo) / (hi - lo)) / 12


def terms_end(start: date, min_term_days: int, terms: int) -> date:
    """The day `terms` terms of a commitment taken on `start` end (exclusive), each counted
    from `start` (a month term ends on the same day of the month, see `add_months`)."""
    months = term_months(min_term_days)
    if months is None:
        return start + timedelta(days=min_term_days * terms)
    return add_months(start, months * terms)


# Whole-term sizings a deadline gives an option billed in months or years at most
# (`whole_term_spans`): the last ones. Terms shorter than `EVERY_COUNT_BELOW_DAYS` (a day's
# capacity block) get every count (rev15a #2), and only their sizings are pruned
# (`evaluate._fewer_day_sizings`).
MAX_TERM_SIZINGS = 24
EVERY_COUNT_BELOW_DAYS = 30


def whole_term_spans(start: date, min_term_days: int, days: float) -> list[float]:
    """The days from `start` to the end of each whole number of terms of a commitment taken
    on `start` that ends within `days` of it and before `days` (calendar terms as `terms_end`
    counts them: 365 days for a year from 2025-11-27, 30 for June's month), fewest terms
    first: [] where no term is billed in whole or `days` is shorter than one term. A training
    deadline is a bound: a run sized to finish in one of these bills fewer terms than one sized
    for the deadline itself (rev13a #1).

    A term shorter than a month (a day's capacity block) gives every count: whole days and
    whole instances make the bill jump from one day count to the next (36 days of B200 cost
    2.0% more than 31, rev15a #2), and sizing to each count d is exact, as any fleet that
    finishes in d days bills no less than the fewest that do. The evaluation is vectorised and
    leaves out the sizings that cannot win; `evaluate._fewer_day_sizings` says what the rest
    cost a plan. Months and years give at most the last `MAX_TERM_SIZINGS` counts."""
    if min_term_days <= 0 or not math.isfinite(days):
        return []
    months = term_months(min_term_days)

    def span(terms: int) -> float:
        if months is None:
            return float(terms * min_term_days)
        try:
            return float((terms_end(start, min_term_days, terms) - start).days)
        except (ValueError, OverflowError):  # past the calendar's last day
            return math.inf

    # span(lo) <= days < span(hi): a month has at least 28 days.
    lo, hi = 0, math.ceil(days / min(min_term_days, 28 * (months or 1))) + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if span(mid) <= days + 1e-9 else (lo, mid)
    first = 1 if min_term_days < EVERY_COUNT_BELOW_DAYS else max(1, lo - MAX_TERM_SIZINGS + 1)
    spans = [span(n) for n in range(first, lo + 1) if n >= 1]
    return [d for d in spans if d < days - 1e-9]


def billed_days(start: date, min_term_days: int, billed_hours: float) -> float:
    """The calendar days the rent billed from `start` pays for: its whole terms (3 months from
    2026-07-01: 92 days), else the hours billed (also for terms ending past the calendar's
    last day: a blocked run of 400,000 years, whose dates stop at 100 years anyway)."""
    hours = term_hours(min_term_days)
    if term_months(min_term_days) is None or billed_hours <= 0:
        return billed_hours / HOURS_PER_DAY
    try:
        end = terms_end(start, min_term_days, round(billed_hours / hours))
    except (ValueError, OverflowError):
        return billed_hours / HOURS_PER_DAY
    return float((end - start).days)


@functools.lru_cache(maxsize=64)
def _month_ends(start: date) -> pl.Series:
    """Days from `start` to `add_months(start, k)`, k = 0 .. 4,800 (one 400-year cycle; fewer
    near the calendar's end): polars' "1mo" steps from one start, which clamp to a month's
    end as `add_months` does (checked against it in the tests)."""
    months = min(_CYCLE_MONTHS, (9999 - start.year) * 12 + 12 - start.month)
    ends = pl.date_range(start, add_months(start, months), "1mo", eager=True)
    return (ends - start).dt.total_days().cast(pl.Int64)


def _months_to_cover(start: date, days: pl.Expr) -> pl.Expr:
    """The fewest calendar months from `start` (`add_months`) that cover `days` (>= 0) from
    it, per row; null where `days` is not finite. The work ends during day E = start +
    ceil(days): the first month end (`_month_ends`) on or after E covers it, found by binary
    search in whole 400-year cycles (the calendar repeats: 146,097 days, 4,800 months). A
    date per row (year, month and day of E) cost 6x as much over a sweep's 3M rows."""
    whole = (days - 1e-6).ceil().clip(lower_bound=0.0).cast(pl.Int64, strict=False)
    cycles = whole // _CYCLE_DAYS
    found = pl.lit(_month_ends(start)).search_sorted(whole - cycles * _CYCLE_DAYS, side="left")
    return cycles * _CYCLE_MONTHS + found.cast(pl.Int64)


def billed_hours(
    hours: pl.Expr,
    min_term_days: pl.Expr,
    start: date,
    parts: dict[str, pl.Expr] | None = None,
) -> pl.Expr:
    """A commitment taken on `start` bills whole terms: its whole term even when the work
    finishes sooner, and a second one when the work runs past the first (a one-year
    reservation cannot be bought for the 32 days a 397-day run has left). Months and years
    (`term_months`) are calendar ones counted from `start`, each billed `HOURS_PER_MONTH` a
    month as the price per device-hour was derived: January 2026 (31 days) is one month, 730 h;
    July-August two; a 366-day 2028 one year, 8760 h; 2026-01-31 + 29 days two months. Other
    terms are whole multiples of their days. Work of unknown length (the physics could not
    run it: a precision the device lacks) bills nothing known: null. (Every row of one
    evaluation is one phase: one start.)

    `parts` reads the term's months and the months the work covers from columns made with
    `billed_hours_parts` (the same expressions): planned as one, this expression cost polars
    ~0.7 ms on a frame of a few rows, as two steps ~0.4 ms."""
    days = min_term_days.cast(pl.Int64)
    if parts is None:
        months, covered = _billed_months(hours, days, start)
    else:
        months, covered = (pl.col(name) for name in parts)
    calendar_terms = ((covered + months - 1) // months).clip(lower_bound=1)
    by_calendar = (calendar_terms * months).cast(pl.Float64) * HOURS_PER_MONTH
    # The tolerance keeps a run of exactly n terms at n (float noise in hours / term).
    span = days.cast(pl.Float64) * HOURS_PER_DAY
    by_days = (hours / span - 1e-9).ceil().clip(lower_bound=1.0) * span
    return (
        pl.when(hours.is_null())
        .then(None)
        .when((days <= 0) | hours.is_infinite())
        .then(hours)
        .when(months.is_not_null())
        .then(by_calendar)
        .otherwise(by_days)
    )


def billed_hours_parts(hours: pl.Expr, min_term_days: pl.Expr, start: date) -> dict[str, pl.Expr]:
    """The columns `billed_hours(..., parts=)` reads: a term's calendar months (null for a term
    of days) and the calendar months from `start` the work covers."""
    months, covered = _billed_months(hours, min_term_days.cast(pl.Int64), start)
    return {"_term_months": months, "_covered_months": covered}


def _billed_months(hours: pl.Expr, days: pl.Expr, start: date) -> tuple[pl.Expr, pl.Expr]:
    months = (
        pl.when((days > 0) & (days % 365 == 0))
        .then(days // 365 * 12)
        .when(days == 30)
        .then(1)
        .otherwise(None)
    )
    return months, _months_to_cover(start, hours * (1.0 / HOURS_PER_DAY))


COMPONENTS = ("compute", "capital", "resale", "hardware", "energy", "operations")


def cost_columns(
    devices: pl.Expr,
    hours: pl.Expr,
    price_factor: pl.Expr | None = None,
    *,
    start: date,
    accounting: str = "project",
    detail: bool = False,
    prefix: str = "",
    rent_hours: pl.Expr | None = None,
    generations: pl.Expr | None = None,
    replica: pl.Expr | None = None,
) -> list[pl.Expr]:
    """Money for running `devices` for `hours` from `start` at each option row, in one
    accounting view.

    Each component is a quantity times a unit price in the billing currency (the line items a
    quote shows), and its amount in USD:
      rented  compute    = device-hours x price per device-hour; in the project view the hours
                           of a commitment's whole terms from `start` (`billed_hours`), in
                           the amortised view those used
      owned   capital    = servers x generations x price } project view: what the plan
              resale     = -servers x price x (resale_fraction at the phase's end, plus
                           life_resale_fraction for each generation replaced)    } commits,
              hardware   = server-hours x price / (life_years x 8760)   (amortised view)
      owned and fleet:
              energy     = kWh (server power x PUE x hours) x the region's tariff
              operations = server-hours x capital x opex_fraction_per_year / 8760
    A fleet's capital is sunk: it pays energy and operations only. `price_factor` scales the
    rental price or the capital (sampling). `detail` adds each component's `_quantity` and
    `_unit_price` (a quote's line items; a sweep skips them); `prefix` names another view's
    columns beside the first. `rent_hours` is `billed_hours(hours, min_term_days, start)`
    when the caller has it as a column already: of these expressions it is by far the costliest
    for polars to plan (~0.45 ms a use on a frame of a few rows; a quote's evaluation used it
    three times), and the same values read from a column are the same bits.
    `generations` is how many times the servers are bought in the project view: hardware held
    past its `life_years` is replaced at the end of each life (rev14a #6), each generation but
    the last sold then at `life_resale_fraction`; the amortised view charges the same lives
    (hours / life). None: one purchase. `replica`: a serving replica's devices, which stay
    inside one instance (`billed_devices`).
    """
    factor = price_factor if price_factor is not None else pl.lit(1.0)
    units = billed_devices(devices, pl.col("unit_devices"), replica)
    project = accounting == "project"
    if not project:
        rent_hours = hours
    elif rent_hours is None:
        rent_hours = billed_hours(hours, pl.col("min_term_days"), start)
    parts = _components(units, hours, rent_hours, factor, project, generations)
    option = pl.col("option")
    out = [
        units.alias(f"{prefix}billed_devices"),
        pl.when(option == "rented")
        .then(rent_hours)
        .otherwise(hours)
        .alias(f"{prefix}billed_hours"),
    ]
    for name, (quantity, unit_price, rate, applies) in parts.items():
        out.append(
            pl.when(applies)
            .then(quantity * unit_price * (1.0 / pl.col(rate)))
            .otherwise(0.0)
            .alias(f"{prefix}{name}_usd")
        )
        if detail:
            out += [
                pl.when(applies).then(quantity).otherwise(0.0).alias(f"{prefix}{name}_quantity"),
                pl.when(applies)
                .then(unit_price)
                .otherwise(0.0)
                .alias(f"{prefix}{name}_unit_price"),
            ]
    return out


def _components(
    units: pl.Expr,
    hours: pl.Expr,
    rent_hours: pl.Expr,
    factor: pl.Expr,
    project: bool,
    generations: pl.Expr | None = None,
) -> dict[str, tuple[pl.Expr, pl.Expr, str, pl.Expr]]:
    """Per component: quantity, unit price, the FX column it converts with, where it applies."""
    option = pl.col("option")
    servers = units / pl.col("unit_devices")
    server_hours = servers * hours
    capex = pl.col("server_price") * factor
    bought = option == "owned"
    back = pl.col("resale_fraction")
    purchases = servers
    sales = pl.lit(1.0)  # sales per server bought at the start
    if generations is not None:
        # Each generation but the last is sold at the end of its life (one purchase: the
        # same expression, the same bits).
        back = (
            pl.when(generations > 1)
            .then((generations - 1) * pl.col("life_resale_fraction") + back)
            .otherwise(back)
        )
        purchases = servers * generations
        # rev19a #7b: one line for every sale, each generation's (2 servers sold, not 1 at
        # twice the price): quantity x unit price (their average) = amount.
        sales = pl.when(generations > 1).then(generations).otherwise(1.0)
    return {
        "compute": (
            units * rent_hours,
            pl.col("price_per_device_hour") * factor,
            "per_usd",
            option == "rented",
        ),
        "capital": (purchases, capex, "per_usd", bought & pl.lit(project)),
        "resale": (
            servers * sales,
            # 0 - x, not -x: nothing back (Ascend: no known market) is 0, not "-0".
            0.0 - capex * back / sales,
            "per_usd",
            bought & pl.lit(project),
        ),
        "hardware": (
            server_hours,
            capex / _life_hours(),
            "per_usd",
            bought & pl.lit(not project),
        ),
        "energy": (
            server_hours * pl.col("server_power_w") * (1.0 / 1000.0) * pl.col("pue"),
            pl.col("electricity_price_kwh"),
            "energy_per_usd",
            option != "rented",
        ),
        "operations": (
            server_hours,
            capex * pl.col("opex_fraction_per_year") * (1.0 / HOURS_PER_YEAR),
            "per_usd",
            option != "rented",
        ),
    }


def _life_hours() -> pl.Expr:
    return pl.col("life_years") * HOURS_PER_YEAR


def purchase_columns() -> list[pl.Expr]:
    """Facts of a purchase beside its costs, for the checks to read (rev12e #7: each wrote its
    own formula): `purchase_price`, the servers bought at their price (the hardware's
    currency), and `life_used`, the share of their life the phase's hours use (what the
    amortised view charges). Null where nothing is bought."""
    bought = pl.col("option") == "owned"
    servers = pl.col("billed_devices") / pl.col("unit_devices")
    return [
        pl.when(bought).then(servers * pl.col("server_price")).alias("purchase_price"),
        pl.when(bought).then(pl.col("hours") / _life_hours()).alias("life_used"),
    ]


def total_usd(prefix: str = "") -> pl.Expr:
    """Sum of the components; null when any is unknown (e.g. no exchange rate for the date), so
    an unpriced option can never look free. Added as `pl.sum_horizontal` adds six columns,
    (a + (b + c)) + (d + (e + f)), but written out: it adds a constant column (a component
    that cannot apply in the view, 0.0) in another order, so a query that kept one constant
    gave other last bits than a frame that had made it a column."""
    a, b, c, d, e, f = (pl.col(f"{prefix}{name}_usd") for name in COMPONENTS)
    return ((a + (b + c)) + (d + (e + f))).alias(f"{prefix}total_usd")


def transfer_hours(gigabytes: pl.Expr) -> pl.Expr:
    """Bulk copy time at the link's sustained speed (GB -> Gbit at 8 bits per byte)."""
    return (gigabytes * 8.0 / pl.col("gbps") / 3600.0).alias("transfer_hours")


# -- line items ------------------------------------------------------------------------------

Component = Literal["compute", "capital", "resale", "hardware", "energy", "operations", "transfer"]


def cents(amount: float, currency: str) -> float:
    """An amount billed in `currency`, in its minor unit (whole cents; whole yen, which have
    none: ISO 4217, `pricing.currencies`): an invoice rounds each line, and its total is the
    sum of its lines, so a total here is the same to the cent in the library, the CLI and a
    spreadsheet summing the items (rev18a #10: a JPY quote billed sen)."""
    # `+ 0.0` after the rounding: before it, -0.4 yen rounded to -0.0, printed "-0" (rev18d #9).
    return round(amount, minor_units(currency)) + 0.0


def per_unit(amount: float, currency: str) -> float:
    """A price per unit as shown (per million output tokens): 4 significant figures, or whole
    cents (the currency's minor unit) where those are finer: whole cents from 10 up, whole yen
    from 1,000 up. Whole cents alone are for invoice amounts: a small model's 0.0259 per
    million output tokens read 0.03, 16% off (rev15a #10). The one rule: the report's `rate`,
    a message's `per_unit_text` and `str(Money)` of an amount not in whole cents are this
    figure (rev18d #6: a JPY report printed 250.09 where `print(Money)` gave 250 JPY)."""
    return round(amount, _per_unit_places(amount, currency)) + 0.0


def _per_unit_places(amount: float, currency: str) -> int:
    """The decimals `per_unit` keeps of `amount`: its currency's minor unit, or more when 4
    significant figures need them."""
    places = minor_units(currency)
    if amount == 0 or not math.isfinite(amount):
        return places
    return max(places, 3 - math.floor(math.log10(abs(amount))))


def per_unit_text(amount: float, currency: str) -> str:
    """`per_unit` as a message writes it: thousands separators, never an exponent (a `.4g`
    string of 1.2e-5 reads "1.2e-05"; rev15c #9); whole cents as cents ("12.30"), figures
    finer than cents without trailing zeros ("5", "0.02591")."""
    shown = per_unit(amount, currency)
    if shown == 0:
        return "0"
    places = minor_units(currency)
    decimals = _per_unit_places(shown, currency)
    if decimals == places:
        return f"{shown:,.{places}f}"
    return f"{shown:,.{decimals}f}".rstrip("0").rstrip(".")


def summed(amounts: Iterable[float], currency: str) -> float:
    """Amounts in `currency`'s minor unit added exactly (`math.fsum`) and kept in it (`cents`):
    the very float a report prints, so `q.total == 55401897.4` holds where a running sum gave
    55401897.39999999 (review11b #4). Every total of a result and of a report is this."""
    return cents(math.fsum(amounts), currency)


class LineItem(ResultPart):
    """quantity x unit_price = billed_amount (in unit_currency) = amount (in the quote's), each
    amount in whole cents (`cents`)."""

    phase: str
    region: str
    component: Component
    description: str
    quantity: float
    unit: str
    unit_price: float
    unit_currency: str
    fx_per_usd: float
    fx_as_of: date | None
    """The date of `fx_per_usd`; None for USD, whose rate is 1 by definition (fx.csv's USD row
    carries a placeholder date, not one a reader should see: rev19a #7j)."""
    to_quote_rate: float
    """Units of the quote's currency per unit of unit_currency: quantity x unit_price x
    to_quote_rate is the amount (billed_amount x to_quote_rate, to within billed_amount's
    rounding), so a spreadsheet can rebuild each line (rev12a #6)."""
    billed_amount: float
    amount: float
    currency: str


def rate_date(currency: str, as_of: date) -> date | None:
    """A line item's `fx_as_of`: the rate's date, or None for USD (the base, rate 1)."""
    return None if currency == "USD" else as_of


def line_items(
    row: dict[str, Any],
    phase: str,
    currency: str,
    per_usd: float,
    *,
    accounting: str = "project",
    prefix: str = "",
) -> list[LineItem]:
    """The items of one priced option row (`cost_columns(..., detail=True, prefix=...)`), in
    `currency` at `per_usd` units per USD."""
    items = []
    for component, desc, unit, local in _parts(row, accounting, prefix):
        rate, as_of = (
            (row["energy_per_usd"], row["energy_fx_as_of"])
            if local
            else (row["per_usd"], row["fx_as_of"])
        )
        usd = row[f"{prefix}{component}_usd"]
        items.append(
            LineItem(
                phase=phase,
                region=row["region"],
                component=component,
                description=desc,
                quantity=row[f"{prefix}{component}_quantity"],
                unit=unit,
                unit_price=row[f"{prefix}{component}_unit_price"],
                unit_currency=row["energy_currency" if local else "currency"],
                fx_per_usd=rate,
                fx_as_of=rate_date(row["energy_currency" if local else "currency"], as_of),
                to_quote_rate=per_usd / rate,
                billed_amount=cents(usd * rate, row["energy_currency" if local else "currency"]),
                amount=cents(usd * per_usd, currency),
                currency=currency,
            )
        )
    return items


def _whole_instances(row: dict[str, Any], billed: float) -> str:
    """' (40 devices: whole instances of 8)'; where serving replicas do not divide the
    instance, how many each holds (`billed_devices`): ' (40 devices: 5 instances of 8, one
    6-device replica in each)'."""
    unit = row["unit_devices"]
    # A serving row (training rows have no deployment size) whose replicas fit an instance.
    replica = row.get("tensor_parallel") if row.get("fleet_min_devices") is not None else None
    if replica and replica <= unit and unit % replica:
        per = unit // replica
        held = f"one {replica}-device replica" if per == 1 else f"{per} replicas of {replica}"
        # A fleet given in devices that are not whole replicas is rounded up to them (rev14c #5:
        # 31 devices of 6-device replicas billed 48 without a word on the 31).
        devices = row["devices"]
        whole = math.ceil(devices / replica - 1e-9)
        rounded = (
            f"{devices:,.0f} devices as {whole:,} whole {replica}-device replicas; "
            if abs(whole * replica - devices) > 1e-9
            else ""
        )
        return (
            f" ({rounded}{billed:,.0f} devices: {billed / unit:,.0f} instances of {unit}, "
            f"{held} in each)"
        )
    return f" ({billed:,.0f} devices: whole instances of {unit})"


def _parts(
    row: dict[str, Any], accounting: str, prefix: str
) -> list[tuple[Component, str, str, bool]]:
    """(component, description, unit, billed in the electricity's currency) of an option row."""
    if row["option"] == "rented":
        desc = f"{row['provider']} {row['instance']} {row['pricing']}"
        term = row["min_term_days"]
        # A commitment billing other than the hours used: whole terms, or a calendar month of
        # 730 h (`HOURS_PER_MONTH`) for 31 days' work.
        if term > 0 and abs(row[f"{prefix}billed_hours"] - row["hours"]) > 1e-9:
            terms = round(row[f"{prefix}billed_hours"] / term_hours(term))
            desc += (
                f" (minimum term {term_text(term)} billed)"
                if terms == 1
                else f" ({terms} terms of {term_text(term)} billed)"
            )
        if row[f"{prefix}billed_devices"] > row["devices"]:
            desc += _whole_instances(row, row[f"{prefix}billed_devices"])
        return [("compute", desc, "device-hour", False)]
    servers = row[f"{prefix}billed_devices"] / row["unit_devices"]
    what = f"{servers:,.0f} x {row['instance']} ({row['unit_devices']} devices each)"
    uplift = row.get("host_uplift")
    if uplift and row["option"] == "owned":
        # rev13b #3: a module's price has no host server; the server is priced at an estimate.
        what = what.removesuffix(")") + (
            f"; module {row['server_price'] / uplift:,.0f} {row['currency']} x {uplift:g} for "
            "the host server, an estimate: defaults.csv module_host_uplift)"
        )
    capital: list[tuple[Component, str, str, bool]] = []
    if row["option"] == "owned" and accounting == "project":
        n = int(row.get("generations") or 1)
        # Sold when its run ends, or its window (`evaluate._resold_at_run_end`).
        when = "the run" if row.get("resold_at_run_end") else "the phase"
        bought, sold = (
            f"{what}: bought for the plan",
            (
                f"sold at the end of {when}, {row['resale_age_years']:.1f} years old: "
                f"{row['resale_fraction']:.0%} of the price back"
            ),
        )
        if n > 1:
            life = f"{row['life_years']:g}-year life (hardware.csv life_years)"
            bought += (
                f", and replaced {n - 1:,} time{'s' if n > 2 else ''} at the end of its {life}"
            )
            sold = (
                f"each generation sold: {n - 1} at the end of its {row['life_years']:g}-year "
                f"life for {row['life_resale_fraction']:.0%} of the price, the last at the end "
                f"of the phase, {row['resale_age_years']:.1f} years old, for "
                f"{row['resale_fraction']:.0%} (the unit price: the average sale)"
            )
        capital = [
            ("capital", bought, "server", False),
            ("resale", sold, "server", False),
        ]
    elif row["option"] == "owned":
        capital = [
            ("hardware", f"{what}: capex over {row['life_years']:g} years", "server-hour", False)
        ]
    return [
        *capital,
        ("energy", f"{row['server_power_w']:,.0f} W per server x PUE {row['pue']:g}", "kWh", True),
        (
            "operations",
            f"{row['opex_fraction_per_year']:.0%} of capital per year",
            "server-hour",
            False,
        ),
    ]
