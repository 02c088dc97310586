"""ISO 4217 minor units: the decimals a currency's amounts are billed and shown in.

Most currencies have 2 (cents); the Japanese yen has none, and the Bahraini dinar 3. An amount
is rounded to its currency's minor unit (`estimator.costing.cents`) and printed with as many
decimals (rev18a #10: "113,630,977.46 JPY" billed sen, which no yen invoice has).

Source: ISO 4217 List One (current currency and funds), as published in
github:datasets/currency-codes data/codes-all.csv @1434fbe05b8c2d12303b0bdeaa549d9beeb11891
(column MinorUnit; as_of 2025, basis published). Listed here: every current code whose minor
unit is not 2; a code not listed (USD, CNY, EUR, IDR, ...) has 2, and a code ISO 4217 gives
none ("-": gold, SDR) is priced in 2 too.
"""

from __future__ import annotations

DEFAULT_MINOR_UNITS = 2
MINOR_UNITS: dict[str, int] = {
    # none: yen, won, dong, the CFA and CFP francs ...
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # three: the dinars of Bahrain, Iraq, Jordan, Kuwait, Libya, Tunisia, and the Omani rial
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # four: units of account (Chile's UF, Uruguay's UP)
    "CLF": 4, "UYW": 4,
}  # fmt: skip


def minor_units(currency: str) -> int:
    """The decimals of `currency`'s amounts (ISO 4217 minor unit; 2 when not listed)."""
    return MINOR_UNITS.get(currency, DEFAULT_MINOR_UNITS)
