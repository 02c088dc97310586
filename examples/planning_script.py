"""Sweep the pretraining deadline of the split plan and print what it does to devices and money.

Run: python examples/planning_script.py
Uses only the library: load a scenario, change one field, quote, tabulate.
"""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from estimator import load_scenario, quote
from pricing import load_catalog

HERE = Path(__file__).resolve().parent


def main() -> None:
    catalog = load_catalog()
    base = load_scenario(HERE / "split_abroad_home.toml")
    rows = []
    for deadline in (60, 90, 120, 180, 365):
        data = base.model_dump(by_alias=True, exclude_none=True)
        data["phases"][0]["deadline_days"] = deadline
        scenario = type(base).model_validate(data)
        q = quote(scenario, catalog)
        pretrain = q.phases[0]
        rows.append(
            {
                "deadline (days)": deadline,
                "devices": pretrain.devices,
                "device-hours": f"{pretrain.device_hours:,.0f}",
                "pretrain (M CNY)": f"{pretrain.cost / 1e6:,.1f}",
                "total (M CNY)": f"{q.total / 1e6:,.1f}",
                "blocked": "yes" if q.blocked else "no",
            }
        )
    print(tabulate(rows, headers="keys", tablefmt="simple", disable_numparse=True))


if __name__ == "__main__":
    main()
