"""A customer's budget against the catalog's prices: "under $80" on a catalog priced in won, "15만원
이하" on one without prices.

A budget is compared in the catalog's own currency. One said in another currency is converted at
the rates below (approximate, and the reply says which rate it used); one in a currency without a
rate is not guessed at. A catalog without prices cannot hold a budget at all: the search goes on
without it and the reply says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tools.search.engine import SearchEngine

# Won per unit of each currency: round figures of recent years, enough to keep to a budget ("under
# $80"), not for accounting. The reply states the rate it used.
KRW_PER_UNIT: dict[str, float] = {"KRW": 1.0, "USD": 1400.0, "EUR": 1500.0, "GBP": 1750.0, "JPY": 9.5}


@dataclass(frozen=True, slots=True)
class CatalogPrices:
    """What the catalog's prices are: in which currency, if it has any."""

    priced: int  # perfumes with a price
    currency: str | None  # their one currency (None: no prices, or several)

    @classmethod
    def of(cls, engine: SearchEngine) -> CatalogPrices:
        """Read from the index's price column: the priced rows only, never the whole catalog's objects."""
        rows = np.flatnonzero(np.isfinite(engine.index.price))
        currencies = {engine.index.perfumes[int(i)].currency or "KRW" for i in rows[:200]}
        return cls(int(rows.size), currencies.pop() if len(currencies) == 1 else None)


def convert(amount: float, source: str, target: str) -> float | None:
    """`amount` in `source` currency expressed in `target`; None without a rate for either."""
    if source == target:
        return amount
    if source not in KRW_PER_UNIT or target not in KRW_PER_UNIT:
        return None
    return amount * KRW_PER_UNIT[source] / KRW_PER_UNIT[target]


def apply_budget(filters: dict[str, Any], prices: CatalogPrices) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The search filters with the budget in the catalog's currency (`price_currency`: the currency the
    customer named, "catalog" for an amount without one), and what the reply should say
    about it: {"asked", "asked_currency", "price_max", "currency", "rate"} for a converted budget,
    {"no_prices": True} for a catalog without prices, {"cannot_convert": currency} for a currency
    without a rate (the budget is then left out rather than guessed), None when nothing needs saying."""
    out = {k: v for k, v in filters.items() if k != "price_currency"}
    if out.get("price_max") is None:
        return out, None
    asked, said = float(out["price_max"]), filters.get("price_currency")
    said = None if said == "catalog" else said  # a budget named without a currency: the catalog's own
    if prices.priced == 0:
        out.pop("price_max")
        return out, {"no_prices": True, "asked": asked, "asked_currency": said}
    target = prices.currency or "KRW"
    if not said or said == target:
        return out, None
    converted = convert(asked, said, target)
    if converted is None:
        out.pop("price_max")
        return out, {"cannot_convert": said, "currency": target, "asked": asked}
    out["price_max"] = round(converted, -2) if converted >= 1000 else round(converted, 2)
    rate = KRW_PER_UNIT[said] / KRW_PER_UNIT[target]
    return out, {
        "asked": asked,
        "asked_currency": said,
        "price_max": out["price_max"],
        "currency": target,
        "rate": rate,
    }
