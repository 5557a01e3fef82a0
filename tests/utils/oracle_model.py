"""Python replay of the PriceOracle's volatility estimate and circuit breaker, rounding included."""

from __future__ import annotations

from dataclasses import dataclass
from math import isqrt

WAD = 10**18
DEFAULT_LAMBDA = 94 * WAD // 100
MAX_RETURN = 100 * WAD


def ceil_div(x: int, y: int) -> int:
    return -(-x // y)


def next_variance(variance: int, previous: int, price: int, lam: int) -> int:
    """Exact integer replay of PriceOracle._next_variance."""
    ret = min(ceil_div(abs(price - previous) * WAD, previous), MAX_RETURN)
    return ceil_div(lam * variance + (WAD - lam) * ceil_div(ret * ret, WAD), WAD)


def volatility(variance: int) -> int:
    scaled = variance * WAD
    root = isqrt(scaled)
    return root + (root * root < scaled)


def ltv_factor(variance: int, k: int, min_factor: int) -> int:
    if k == 0:
        return WAD
    cut = ceil_div(k * volatility(variance), WAD)
    return min_factor if cut >= WAD - min_factor else WAD - cut


def within(accepted: int, price: int, tolerance: int) -> bool:
    return abs(price - accepted) <= tolerance * accepted // WAD


@dataclass
class Observation:
    """The volatility estimate of one asset: `observe` is what every poke (and confirmation) does to it."""

    lam: int = DEFAULT_LAMBDA
    price: int = 0
    updated_at: int = 0
    variance: int = 0

    def observe(self, price: int, updated_at: int) -> None:
        if updated_at <= self.updated_at:
            return
        if self.price != 0:
            self.variance = next_variance(self.variance, self.price, price, self.lam)
        self.price, self.updated_at = price, updated_at


@dataclass
class Breaker:
    """One asset's circuit breaker (the rule documented on PriceOracle.poke)."""

    tolerance: int
    delay: int
    accepted: int = 0
    accepted_at: int = 0
    candidate: int = 0
    tripped_at: int = 0

    @property
    def tripped(self) -> bool:
        return self.candidate != 0

    def paused(self, price: int) -> bool:
        if self.candidate:
            return True
        return self.accepted != 0 and not within(self.accepted, price, self.tolerance)

    def poke(self, price: int, now: int) -> None:
        if self.accepted == 0:
            self.accepted, self.accepted_at = price, now
        elif within(self.accepted, price, self.tolerance):
            self.candidate = self.tripped_at = 0
            if price != self.accepted:
                self.accepted, self.accepted_at = price, now
        elif self.candidate == 0:
            self.candidate, self.tripped_at = price, now
        elif now >= self.tripped_at + self.delay:
            self.accept(price, now)
        else:
            self.candidate = price

    def accept(self, price: int, now: int) -> None:
        self.accepted, self.accepted_at, self.candidate, self.tripped_at = price, now, 0, 0
