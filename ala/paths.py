"""Price paths to replay into the feeds: the March 2020 crash, CSV files, and random walks.

A path is a list of `Step`s: seconds since the start and a USD price per symbol. Symbols a step
does not name keep their last price (the driver re-posts them so feeds stay fresh).
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

HOUR = 3600


@dataclass(frozen=True)
class Step:
    at: int  # seconds since the start of the path
    prices: dict[str, Decimal]


# ETH/USD on 12-13 March 2020, hourly (UTC), rounded from public exchange candles: about $194 at the open
# of the 12th, $111 by its close, an intraday low near $90 early on the 13th, and a close near $133.
# BTC fell from about $7,900 to a low near $3,900 and closed the 13th near $5,600; gold dipped a few percent.
_ETH_MARCH_2020 = [
    194, 193, 192, 190, 189, 187, 186, 184, 181, 176, 171, 168,
    163, 156, 148, 141, 136, 131, 127, 124, 120, 117, 114, 111,
    106, 101, 96, 92, 90, 93, 99, 104, 110, 116, 121, 124,
    127, 125, 123, 126, 129, 131, 130, 132, 134, 133, 132, 133,
]  # fmt: skip
_BTC_MARCH_2020 = [
    7900, 7880, 7850, 7800, 7750, 7700, 7650, 7600, 7500, 7300, 7100, 6950,
    6800, 6600, 6350, 6100, 5900, 5700, 5550, 5450, 5350, 5250, 5100, 4950,
    4700, 4450, 4200, 4000, 3900, 4100, 4400, 4650, 4850, 5050, 5200, 5300,
    5400, 5350, 5300, 5400, 5500, 5550, 5500, 5550, 5600, 5600, 5580, 5600,
]  # fmt: skip
_GOLD_MARCH_2020 = [
    1640, 1638, 1636, 1634, 1632, 1630, 1628, 1625, 1620, 1615, 1610, 1605,
    1600, 1595, 1590, 1585, 1582, 1580, 1578, 1576, 1575, 1574, 1573, 1572,
    1570, 1565, 1560, 1555, 1552, 1555, 1558, 1560, 1562, 1564, 1566, 1568,
    1570, 1569, 1568, 1570, 1571, 1572, 1571, 1572, 1573, 1573, 1572, 1573,
]  # fmt: skip


def march_2020(symbols: dict[str, str] | None = None) -> list[Step]:
    """The 12-13 March 2020 crash, 48 hourly steps. `symbols` maps "ETH"/"BTC"/"GOLD" to token symbols."""
    names = {"ETH": "WETH", "BTC": "WBTC", "GOLD": "GOLD", **(symbols or {})}
    series = {"ETH": _ETH_MARCH_2020, "BTC": _BTC_MARCH_2020, "GOLD": _GOLD_MARCH_2020}
    steps = []
    for i in range(len(_ETH_MARCH_2020)):
        prices = {names[k]: Decimal(v[i]) for k, v in series.items() if names.get(k)}
        steps.append(Step(at=i * HOUR, prices=prices))
    return steps


def from_csv(path: str | Path) -> list[Step]:
    """A CSV with a `seconds` column and one column of USD prices per token symbol."""
    steps = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            at = int(row.pop("seconds"))
            steps.append(Step(at=at, prices={k: Decimal(v) for k, v in row.items() if v not in ("", None)}))
    steps.sort(key=lambda s: s.at)
    return steps


def random_walk(
    start: dict[str, Decimal], steps: int = 48, hourly_vol: float = 0.03, drift: float = -0.005, seed: int = 0
) -> list[Step]:
    """Geometric Brownian motion per symbol, hourly, reproducible from `seed`."""
    rng = random.Random(seed)
    prices = {k: float(v) for k, v in start.items()}
    out = [Step(at=0, prices={k: Decimal(str(round(v, 6))) for k, v in prices.items()})]
    for i in range(1, steps):
        for k in prices:
            prices[k] *= math.exp(drift - hourly_vol**2 / 2 + hourly_vol * rng.gauss(0, 1))
        out.append(Step(at=i * HOUR, prices={k: Decimal(str(round(v, 6))) for k, v in prices.items()}))
    return out
