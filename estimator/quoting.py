"""Scenario + Catalog -> Quote. Orchestration only: the physics lives in `workload`/`physics`,
the money in `costing`, the rules in `compliance`; this module wires them and records what it
used (offers, rates, dates) so a reader can audit every figure.

ARCHITECTURE.md calls this module quote.py; it is quoting.py because the package exports the
function `estimator.quote`, and a submodule of the same name would replace that attribute the
moment it is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from estimator import compliance, costing
from estimator.errors import InfeasibleError, ScenarioError
from estimator.models import ModelSpec, resolve_model
from estimator.scenario import Scenario, ServePhase, Site, TrainPhase, load_scenario
from pricing import Catalog, CatalogError, UnknownIdError, load_catalog
from pricing.catalog import STALE_AFTER_DAYS

STALE_FX_DAYS = 92
GB = 1e9
# Prices are extrapolated forward (with a stale-price warning) for planning dates up to this many
# years past the newest catalog figure; beyond, a quote would be a guess and is refused.
MAX_YEARS_PAST_CATALOG = 3


class LineItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    phase: str
    region: str
    component: Literal["compute", "hardware", "energy", "operations", "transfer"]
    description: str
    quantity: float
    unit: str
    unit_price: float
    unit_currency: str
    fx_per_usd: float
    billed_amount: float  # in unit_currency
    amount: float  # in the quote's currency
    currency: str


class PhaseQuote(BaseModel):
    name: str
    kind: Literal["train", "serve"]
    region: str
    accelerator: str
    pricing: str
    provider: str
    instance: str
    devices: int
    device_hours: float
    wall_clock_days: float
    cost: float
    line_items: list[LineItem]
    physics: dict[str, Any] = Field(default_factory=dict)


class TransferQuote(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    what: str
    gigabytes: float
    hours: float
    route: str
    cost: float
    line_items: list[LineItem]


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    severity: Literal["block", "warn", "info"]
    code: str
    message: str
    phase: str | None = None
    source: str | None = None


class Quote(BaseModel):
    name: str
    as_of: date
    currency: str
    total: float
    phases: list[PhaseQuote]
    transfers: list[TransferQuote]
    findings: list[Finding]
    assumptions: dict[str, Any]

    @property
    def blocked(self) -> bool:
        return any(f.severity == "block" for f in self.findings)

    def line_items(self) -> list[LineItem]:
        return [i for p in self.phases for i in p.line_items] + [
            i for t in self.transfers for i in t.line_items
        ]

    def to_polars(self) -> pl.DataFrame:
        """One row per line item (unrounded)."""
        return pl.DataFrame([i.model_dump() for i in self.line_items()])

    def displayed(self) -> dict[str, Any]:
        """The quote as shown: amounts in whole cents, and every total the sum of the items
        shown, so the printed figures add up exactly. This is the JSON contract."""
        from estimator.report import money

        def items(raw: list[LineItem]) -> list[dict[str, Any]]:
            return [
                {
                    **i.model_dump(),
                    # Shown to 3 decimals / 6 digits: float noise is not information.
                    "quantity": round(i.quantity, 3),
                    "unit_price": float(f"{i.unit_price:.6g}"),
                    "amount": money(i.amount),
                    "billed_amount": money(i.billed_amount),
                }
                for i in raw
            ]

        phases = []
        for p in self.phases:
            shown = items(p.line_items)
            d = p.model_dump()
            d.update(line_items=shown, cost=money(sum(i["amount"] for i in shown)))
            phases.append(d)
        transfers = []
        for t in self.transfers:
            shown = items(t.line_items)
            d = t.model_dump(by_alias=True)
            d.update(line_items=shown, cost=money(sum(i["amount"] for i in shown)))
            transfers.append(d)
        all_items = [i for p in phases for i in p["line_items"]] + [
            i for t in transfers for i in t["line_items"]
        ]
        by_region: dict[str, float] = {}
        by_currency: dict[str, dict[str, float]] = {}
        for i in all_items:
            by_region[i["region"]] = money(by_region.get(i["region"], 0.0) + i["amount"])
            cur = by_currency.setdefault(i["unit_currency"], {"amount": 0.0, "converted": 0.0})
            cur["amount"] = money(cur["amount"] + i["billed_amount"])
            cur["converted"] = money(cur["converted"] + i["amount"])
        total = money(sum(p["cost"] for p in phases) + sum(t["cost"] for t in transfers))
        return {
            "name": self.name,
            "as_of": self.as_of,
            "currency": self.currency,
            "total": total,
            "phases": phases,
            "transfers": transfers,
            "by_region": by_region,
            "by_currency": by_currency,
            "findings": [f.model_dump() for f in self.findings],
            "assumptions": self.assumptions,
        }


# -- quoting --------------------------------------------------------------------------------------


def quote(
    scenario: Scenario | str | Path,
    catalog: Catalog | None = None,
    *,
    currency: str | None = None,
    as_of: date | None = None,
) -> Quote:
    """Price a scenario. `currency` / `as_of` override the scenario's own."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    catalog = catalog if catalog is not None else load_catalog()
    quoter = _Quoter(scenario, catalog, currency or scenario.currency, as_of or scenario.as_of)
    quoter.currency_field = "currency" if currency else quoter.where("currency")
    return quoter.run()


class _Quoter:
    def __init__(self, scenario: Scenario, catalog: Catalog, currency: str, as_of: date) -> None:
        self.s, self.cat, self.currency, self.as_of = scenario, catalog, currency, as_of
        self.findings: list[Finding] = []
        self.currency_field = self.where("currency")
        self._dense_replica: dict[str, int] = {}
        self.rates_used: dict[str, dict[str, Any]] = {}
        self.offers_used: dict[str, str] = {}
        self.physics_used: dict[str, str] = {}

    def where(self, path: str) -> str:
        return f"{self.s.source}: {path}"

    def run(self) -> Quote:
        self._check_date()
        try:
            self.quote_per_usd = self._rate(self.currency)
        except UnknownIdError as exc:
            raise ScenarioError(str(exc), self.currency_field) from None
        try:
            model = resolve_model(self.cat, self.s.model.preset, **self.s.model.custom_fields())
        except UnknownIdError as exc:
            raise ScenarioError(str(exc), self.where("model.preset")) from None
        except ScenarioError as exc:
            raise ScenarioError(exc.message, self.where("model")) from None
        options = costing.options_frame(self.cat, self.as_of)
        phases = [self._phase(i, p, model, options) for i, p in enumerate(self.s.phases)]
        transfers = [self._transfer(i, t, model, phases) for i, t in enumerate(self.s.transfers)]
        self._rules(phases)
        total = sum(p.cost for p in phases) + sum(t.cost for t in transfers)
        return Quote(
            name=self.s.name,
            as_of=self.as_of,
            currency=self.currency,
            total=total,
            phases=phases,
            transfers=transfers,
            findings=sorted(
                self.findings,
                key=lambda f: (compliance.SEVERITY_ORDER[f.severity], f.phase or "", f.code),
            ),
            assumptions={
                "as_of": self.as_of.isoformat(),
                "catalog": ", ".join(self.cat.origin),
                "fx_per_usd": self.rates_used,
                "offers": self.offers_used,
                "physics": self.physics_used,
                "tenant_hq": self.s.tenant_hq,
                "owned_hardware": "capex spread over life_years for the hours used, plus energy "
                "(server power x PUE x regional tariff) and yearly operations",
                "rented_minimum_terms": "whole instances; a commitment bills its full term",
            },
        )

    def _check_date(self) -> None:
        """A date far past every figure in the catalog is not a quote, it is a guess."""
        newest: date = max(
            self.cat.table(t)["as_of"].sort(descending=True).to_list()[0]
            for t in ("offers", "hardware", "fx")
        )
        if (self.as_of - newest).days > MAX_YEARS_PAST_CATALOG * 365:
            raise ScenarioError(
                f"{self.as_of} is more than {MAX_YEARS_PAST_CATALOG} years after the newest price "
                f"in the catalog ({newest}): add prices for that date with --catalog",
                self.where("as_of"),
            )

    # -- helpers ----------------------------------------------------------------------------------
    def _rate(self, currency: str) -> float:
        try:
            r = self.cat.rate(currency, self.as_of)
        except CatalogError as exc:
            if isinstance(exc, UnknownIdError):
                raise
            raise ScenarioError(str(exc), self.where("as_of")) from None
        if currency in self.rates_used:
            return r.per_usd
        self.rates_used[currency] = {"per_usd": r.per_usd, "as_of": r.as_of.isoformat()}
        # USD is the catalog's base: its rate is a definition, never stale.
        if currency != "USD" and (self.as_of - r.as_of).days > STALE_FX_DAYS:
            self.findings.append(
                Finding(
                    severity="info",
                    code="stale-fx",
                    message=f"{currency} rate is from {r.as_of}, "
                    f"{(self.as_of - r.as_of).days} days before the quote date",
                    source=r.source,
                )
            )
        return r.per_usd

    def _item(
        self,
        phase: str,
        region: str,
        component: str,
        description: str,
        quantity: float,
        unit: str,
        unit_price: float,
        unit_currency: str,
        usd: float,
    ) -> LineItem:
        per_usd = self._rate(unit_currency)
        return LineItem(
            phase=phase,
            region=region,
            component=component,  # type: ignore[arg-type]
            description=description,
            quantity=quantity,
            unit=unit,
            unit_price=unit_price,
            unit_currency=unit_currency,
            fx_per_usd=per_usd,
            billed_amount=usd * per_usd,
            amount=usd * self.quote_per_usd,
            currency=self.currency,
        )

    def _site_options(self, i: int, site: Site, options: pl.DataFrame) -> pl.DataFrame:
        """The catalog options that match a site; errors name the field and what exists."""
        loc = f"phases[{i}].site"
        try:
            self.cat.region(site.region)
        except UnknownIdError as exc:
            raise ScenarioError(str(exc), self.where(f"{loc}.region")) from None
        try:
            self.cat.accelerator(site.accelerator)
        except UnknownIdError as exc:
            raise ScenarioError(str(exc), self.where(f"{loc}.accelerator")) from None
        for field in ("provider", "instance"):
            value = getattr(site, field)
            known = options[field].unique().to_list()
            if value is not None and value not in known:
                raise ScenarioError(
                    str(UnknownIdError(field, value, known)), self.where(f"{loc}.{field}")
                )
        same = options.filter(
            (pl.col("region") == site.region) & (pl.col("accelerator") == site.accelerator)
        )
        for field in ("provider", "instance"):
            if getattr(site, field) is not None:
                same = same.filter(pl.col(field) == getattr(site, field))
        match = same.filter(pl.col("pricing") == site.pricing)
        if match.is_empty():
            what = "owned hardware" if site.pricing == "owned" else f"{site.pricing} offer"
            msg = f"no {what} for {site.accelerator} in {site.region}"
            if site.provider:
                msg += f" from {site.provider}"
            there = sorted(set(same["pricing"].to_list()))
            elsewhere = sorted(
                set(
                    options.filter(
                        (pl.col("accelerator") == site.accelerator)
                        & (pl.col("pricing") == site.pricing)
                    )["region"].to_list()
                )
            )
            if there:
                msg += f" (there: {', '.join(there)})"
            elif elsewhere:
                msg += f" ({site.pricing} {site.accelerator} is offered in: {', '.join(elsewhere)})"
            raise ScenarioError(msg, self.where(loc))
        return match

    def _cheapest(self, i: int, match: pl.DataFrame, devices: int, hours: float) -> dict[str, Any]:
        """The matching option that costs least for this phase's devices and hours (whole
        instances and minimum terms count), with its cost columns."""
        priced = match.with_columns(
            pl.lit(float(devices)).alias("_devices"), pl.lit(float(hours)).alias("_hours")
        )
        priced = priced.with_columns(
            costing.cost_columns(pl.col("_devices"), pl.col("_hours"), detail=True)
        ).with_columns(costing.total_usd())
        usable = priced.filter(pl.col("total_usd").is_not_null())
        if usable.is_empty():
            # Only an exchange rate can be missing here: let the catalog say which and why.
            for column in ("currency", "region_currency"):
                for cur in match[column].drop_nulls().unique().to_list():
                    self.cat.rate(cur, self.as_of)
            raise ScenarioError("no priced option for this site", self.where(f"phases[{i}].site"))
        return usable.sort("total_usd", "provider", "instance").row(0, named=True)

    # -- phases -----------------------------------------------------------------------------------
    def _phase(
        self, i: int, phase: TrainPhase | ServePhase, model: ModelSpec, options: pl.DataFrame
    ) -> PhaseQuote:
        if not isinstance(phase.site, Site):
            raise ScenarioError(
                "site is chosen by the planner: use `splitcompute plan` or estimator.plan.plan",
                self.where(f"phases[{i}].site"),
            )
        site = phase.site
        match = self._site_options(i, site, options)
        loc = self.where(f"phases[{i}]")
        try:
            if isinstance(phase, TrainPhase):
                devices, hours, physics_row = self._train(phase, model, site)
            else:
                devices, hours, physics_row = self._serve(phase, model, site)
        except InfeasibleError as exc:
            raise InfeasibleError(exc.message, loc) from None
        except ScenarioError as exc:
            raise ScenarioError(exc.message, exc.location or loc) from None

        replica = self._dense_replica.get(phase.name, 0)
        whole = match.filter(pl.col("unit_devices") >= replica)
        if replica and not whole.is_empty():
            # A tensor-parallel replica needs its devices in one instance: skip smaller ones.
            match = whole
        try:
            opt = self._cheapest(i, match, devices, hours)
        except CatalogError as exc:
            raise ScenarioError(str(exc).split(": ", 1)[-1], self.where("as_of")) from None
        items = self._phase_items(phase.name, opt, hours)
        self.offers_used[phase.name] = (
            f"{opt['provider']} {opt['instance']} {opt['pricing']} in {opt['region']} "
            f"({opt['basis']}, as of {opt['offer_as_of']}; {opt['offer_source']})"
        )
        age = (self.as_of - opt["offer_as_of"]).days
        if age < 0:
            self._find(
                "warn",
                "price-after-date",
                phase.name,
                f"the {opt['provider']} price is from {opt['offer_as_of']}, after the quote date: "
                "the catalog has no earlier price for this option",
                opt["offer_source"],
            )
        if replica > opt["unit_devices"]:
            self._find(
                "warn",
                "replica-spans-instances",
                phase.name,
                f"a {replica}-device tensor-parallel replica does not fit one {opt['instance']} "
                f"({opt['unit_devices']} devices): choose a larger instance (site.instance)",
            )
        if opt["pricing"] == "spot":
            high = opt["price_high"] or opt["price_per_device_hour"]
            self._find(
                "warn",
                "spot-capacity",
                phase.name,
                f"spot capacity can be reclaimed at any time and its price moves (up to "
                f"{high:g} {opt['currency']} per device-hour in the catalog): plan restarts",
                opt["offer_source"],
            )
        if opt["option"] == "rented" and opt["billed_hours"] > hours * 1.05:
            idle = 1 - hours / opt["billed_hours"]
            self._find(
                "warn",
                "idle-commitment",
                phase.name,
                f"the {opt['min_term_days']}-day commitment bills {opt['billed_hours'] / 24:,.0f} "
                f"days for {hours / 24:,.1f} days of work: {idle:.0%} of this phase's compute "
                "cost pays for idle capacity unless other work uses it",
            )
        if opt["option"] == "owned":
            capex = opt["server_price"] * opt["billed_devices"] / opt["unit_devices"]
            life_share = hours / (opt["life_years"] * costing.HOURS_PER_YEAR)
            self._find(
                "info",
                "owned-capex",
                phase.name,
                f"uses {opt['billed_devices'] / opt['unit_devices']:g} servers worth "
                f"{capex:,.0f} {opt['currency']} of capital; the quote charges the "
                f"{life_share:.1%} of their {opt['life_years']:g}-year life this phase uses",
            )
        if isinstance(phase, ServePhase) and phase.users == "CN" and opt["country"] != "CN":
            rtt = self.cat.region(opt["region"])["rtt_ms_to_cn"]
            slow = phase.ttft_ms is not None and rtt >= phase.ttft_ms
            self._find(
                "warn" if slow else "info",
                "users-far",
                phase.name,
                f"users in China are ~{rtt:g} ms round trip from {opt['region']}"
                + (f", more than the {phase.ttft_ms:g} ms TTFT target" if slow else ""),
            )
        if age > STALE_AFTER_DAYS:
            self._find(
                "warn",
                "stale-price",
                phase.name,
                f"the {opt['provider']} price is from {opt['offer_as_of']}, "
                "more than a year before the quote date",
                opt["offer_source"],
            )
        if opt["basis"] in ("estimate", "derived"):
            self._find(
                "info",
                f"{opt['basis']}-price",
                phase.name,
                f"the price for {opt['accelerator']} in {opt['region']} is {opt['basis']}, "
                "not a published list price (see the catalog row's note)",
                opt["offer_source"],
            )
        return PhaseQuote(
            name=phase.name,
            kind=phase.kind,
            region=site.region,
            accelerator=site.accelerator,
            pricing=opt["pricing"],
            provider=opt["provider"],
            instance=opt["instance"],
            devices=devices,
            device_hours=devices * hours,
            wall_clock_days=hours / costing.HOURS_PER_DAY,
            cost=sum(it.amount for it in items),
            line_items=items,
            physics=physics_row,
        )

    def _find(
        self, severity: str, code: str, phase: str | None, message: str, source: str | None = None
    ) -> None:
        self.findings.append(
            Finding(severity=severity, code=code, phase=phase, message=message, source=source)  # type: ignore[arg-type]
        )

    def _train(
        self, phase: TrainPhase, model: ModelSpec, site: Site
    ) -> tuple[int, float, dict[str, Any]]:
        from estimator import physics

        est = physics.training_estimate(
            self.cat,
            model,
            site.accelerator,
            # A deadline with fixed devices is checked below, not solved for.
            **{
                **phase.physics_args(),
                "deadline_days": None if phase.devices else phase.deadline_days,
            },
            check_fit=False,
        )
        devices = int(est.devices)
        if not est.fits:
            self._find(
                "block",
                "memory-does-not-fit",
                phase.name,
                f"{model.name} needs at least {est.min_devices} {site.accelerator} to hold "
                f"weights, gradients and optimizer state; the phase has {devices}",
            )
        if phase.deadline_days and est.wall_clock_days > phase.deadline_days * (1 + 1e-9):
            self._find(
                "warn",
                "deadline-missed",
                phase.name,
                f"takes {est.wall_clock_days:.1f} days on {devices} devices; "
                f"deadline is {phase.deadline_days:g} days",
            )
        self.physics_used[phase.name] = (
            f"{est.flops:.3g} FLOPs at {est.precision}, MFU {est.mfu:.3g}, "
            f"goodput {est.goodput:.3g}, peak {est.peak_tflops:g} TFLOPS/device"
        )
        return devices, est.wall_clock_days * costing.HOURS_PER_DAY, est.model_dump(mode="json")

    def _serve(
        self, phase: ServePhase, model: ModelSpec, site: Site
    ) -> tuple[int, float, dict[str, Any]]:
        from estimator import physics

        est = physics.serving_estimate(self.cat, model, site.accelerator, **phase.physics_args())
        needed = int(est.devices_needed or 0)
        if model.arch == "dense":
            self._dense_replica[phase.name] = est.tensor_parallel
        if phase.devices and phase.devices < needed:
            self._find(
                "warn",
                "capacity-short",
                phase.name,
                f"{phase.devices} devices given; the demand at peak needs {needed}",
            )
        self.physics_used[phase.name] = (
            f"{est.output_tokens_per_s_per_device:.4g} output tok/s/device at batch "
            f"{est.batch:g}, TPOT {est.tpot_ms:.3g} ms, {est.tensor_parallel} devices per "
            f"replica, {est.precision}"
        )
        return (
            phase.devices or needed,
            phase.days * costing.HOURS_PER_DAY,
            est.model_dump(mode="json"),
        )

    def _phase_items(self, name: str, c: dict[str, Any], hours: float) -> list[LineItem]:
        """Line items from the priced option row `c` (costing.cost_columns)."""
        if c["option"] == "rented":
            desc = f"{c['provider']} {c['instance']} {c['pricing']}"
            if c["billed_hours"] > hours + 1e-9:
                desc += f" (minimum term {c['min_term_days']} days billed)"
            if c["billed_devices"] > c["_devices"]:
                desc += (
                    f" ({c['billed_devices']:g} devices: whole instances of {c['unit_devices']})"
                )
            parts = [("compute", desc, "device-hour", c["currency"])]
        else:
            servers = c["billed_devices"] / c["unit_devices"]
            parts = [
                (
                    "hardware",
                    f"{servers:g} x {c['instance']} ({c['unit_devices']} devices each): "
                    f"capex over {c['life_years']:g} years",
                    "server-hour",
                    c["currency"],
                ),
                (
                    "energy",
                    f"{c['server_power_w']:g} W per server x PUE {c['pue']:g}",
                    "kWh",
                    c["region_currency"],
                ),
                (
                    "operations",
                    f"{c['opex_fraction_per_year']:.0%} of capex per year",
                    "server-hour",
                    c["currency"],
                ),
            ]
        return [
            self._item(
                name,
                c["region"],
                component,
                desc,
                c[f"{component}_quantity"],
                unit,
                c[f"{component}_unit_price"],
                currency,
                c[f"{component}_usd"],
            )
            for component, desc, unit, currency in parts
        ]

    # -- transfers --------------------------------------------------------------------------------
    def _transfer(
        self, i: int, t: Any, model: ModelSpec, phases: list[PhaseQuote]
    ) -> TransferQuote:
        from estimator.physics import checkpoint_bytes, weight_bytes

        src = next(p for p in phases if p.name == t.from_)
        dst = next(p for p in phases if p.name == t.to)
        src_phase = self.s.phase(t.from_)
        precision = src_phase.precision or "bf16"
        if t.gigabytes is not None:
            gb = t.gigabytes
        elif t.what == "weights":
            gb = weight_bytes(model, precision) / GB
        elif t.what == "checkpoint":
            gb = checkpoint_bytes(model) / GB
        else:
            if not isinstance(src_phase, TrainPhase):
                raise ScenarioError(
                    "a dataset transfer from a serving phase needs gigabytes = N",
                    self.where(f"transfers[{i}]"),
                )
            gb = src_phase.tokens * self.cat.default("dataset_bytes_per_token") / GB
        if src.region == dst.region:
            return TransferQuote(
                **{"from": t.from_},
                to=t.to,
                what=t.what,
                gigabytes=gb,
                hours=0.0,
                route=f"within {src.region}",
                cost=0.0,
                line_items=[],
            )
        dst_country = self.cat.region(dst.region)["country"]
        row = self._route(src.region, dst_country)
        frame = pl.DataFrame([{**row, "per_usd": self._rate(row["currency"])}])
        out = frame.select(
            costing.transfer_cost_usd(pl.lit(gb)), costing.transfer_hours(pl.lit(gb))
        ).row(0, named=True)
        route = f"{src.region} -> {dst.region} ({row['from_region']} -> {row['to_country']})"
        item = self._item(
            t.from_,
            src.region,
            "transfer",
            f"{t.what} {src.region} -> {dst.region} at {row['gbps']:g} Gbit/s",
            gb,
            "GB",
            row["price_per_gb"],
            row["currency"],
            out["transfer_usd"],
        )
        if t.what == "dataset":
            placement = self._placements([(f"transfer {t.from_}->{t.to}", src_phase.data, dst)])
            self._rule_findings(placement)
        return TransferQuote(
            **{"from": t.from_},
            to=t.to,
            what=t.what,
            gigabytes=gb,
            hours=out["transfer_hours"],
            route=route,
            cost=item.amount,
            line_items=[item],
        )

    def _route(self, from_region: str, to_country: str) -> dict[str, Any]:
        table = self.cat.table("transfer")
        for f, c in ((from_region, to_country), (from_region, "*"), ("*", to_country), ("*", "*")):
            hit = table.filter((pl.col("from_region") == f) & (pl.col("to_country") == c))
            if not hit.is_empty():
                return hit.row(0, named=True)
        raise CatalogError(f"no transfer price from {from_region} to {to_country} (and no '*' row)")

    # -- rules ------------------------------------------------------------------------------------
    def _placements(self, rows: Sequence[tuple[str, str, PhaseQuote]]) -> pl.DataFrame:
        origin = {a: self.cat.accelerator(a)["origin"] for _, _, p in rows for a in [p.accelerator]}
        return pl.DataFrame(
            {
                "phase": [name for name, _, _ in rows],
                "data": [data for _, data, _ in rows],
                "country": [self.cat.region(p.region)["country"] for _, _, p in rows],
                "accelerator": [p.accelerator for _, _, p in rows],
                "accelerator_origin": [origin[p.accelerator] for _, _, p in rows],
                "tenant_hq": [self.s.tenant_hq] * len(rows),
                "ownership": ["owned" if p.pricing == "owned" else "rented" for _, _, p in rows],
            },
            schema={
                c: pl.String
                for c in (
                    "phase",
                    "data",
                    "country",
                    "accelerator",
                    "accelerator_origin",
                    "tenant_hq",
                    "ownership",
                )
            },
        )

    def _rule_findings(self, placements: pl.DataFrame) -> None:
        for f in compliance.evaluate(placements, self.cat.table("policies"), self.as_of):
            self.findings.append(Finding(**f))

    def _rules(self, phases: list[PhaseQuote]) -> None:
        rows = [(p.name, self.s.phase(p.name).data, p) for p in phases]
        self._rule_findings(self._placements(rows))


# -- compare --------------------------------------------------------------------------------------


class Comparison(BaseModel):
    quotes: list[Quote]

    def to_polars(self) -> pl.DataFrame:
        """One row per scenario and phase: cost, device-hours and days (unrounded)."""
        return pl.DataFrame(
            [
                {
                    "scenario": q.name,
                    "phase": p.name,
                    "kind": p.kind,
                    "region": p.region,
                    "accelerator": p.accelerator,
                    "cost": p.cost,
                    "currency": q.currency,
                    "device_hours": p.device_hours,
                    "wall_clock_days": p.wall_clock_days,
                }
                for q in self.quotes
                for p in q.phases
            ]
        )

    def displayed(self) -> dict[str, Any]:
        shown = [q.displayed() for q in self.quotes]
        names = [f"{d['name']}" for d in shown]
        if len(set(names)) < len(names):
            names = [f"{i + 1}. {n}" for i, n in enumerate(names)]
        cur = shown[0]["currency"]
        phase_names: list[str] = []
        for d in shown:
            for p in d["phases"]:
                if p["name"] not in phase_names:
                    phase_names.append(p["name"])
        rows: list[dict[str, Any]] = []

        def row(label: str, values: list[Any]) -> None:
            rows.append({"": label, **dict(zip(names, values, strict=True))})

        for ph in phase_names:
            row(
                f"{ph} ({cur})",
                [next((p["cost"] for p in d["phases"] if p["name"] == ph), None) for d in shown],
            )
            row(
                f"{ph} where",
                [
                    next(
                        (
                            f"{p['accelerator']} @ {p['region']} ({p['pricing']})"
                            for p in d["phases"]
                            if p["name"] == ph
                        ),
                        None,
                    )
                    for d in shown
                ],
            )
        row(f"transfers ({cur})", [money_sum(t["cost"] for t in d["transfers"]) for d in shown])
        row(f"total ({cur})", [d["total"] for d in shown])
        first = shown[0]["total"]
        row(f"vs first ({cur})", [round(d["total"] - first, 2) for d in shown])
        row(
            "vs first (%)",
            [round((d["total"] - first) / first * 100, 1) if first else None for d in shown],
        )
        row(
            "days to train",
            [
                round(sum(p["wall_clock_days"] for p in d["phases"] if p["kind"] == "train"), 1)
                for d in shown
            ],
        )
        for sev in ("block", "warn"):
            row(
                f"findings: {sev}",
                [
                    ", ".join(sorted({f["code"] for f in d["findings"] if f["severity"] == sev}))
                    or "-"
                    for d in shown
                ],
            )
        return {"currency": cur, "scenarios": names, "rows": rows}


def money_sum(values: Any) -> float:
    return round(sum(values), 2)


def compare(
    scenarios: list[Scenario | str | Path],
    catalog: Catalog | None = None,
    *,
    currency: str | None = None,
    as_of: date | None = None,
) -> Comparison:
    """Quote several scenarios in one currency (the first one's unless given)."""
    catalog = catalog if catalog is not None else load_catalog()
    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    if not loaded:
        raise ScenarioError("compare needs at least one scenario")
    cur = currency or loaded[0].currency
    return Comparison(quotes=[quote(s, catalog, currency=cur, as_of=as_of) for s in loaded])
