"""Interest rate models for the tests: a vault's rates change by pointing it at a new KinkedRateModel."""

from __future__ import annotations

from typing import Any

import ape

# The rates ala.params deploys by default: base_rate, slope_low, slope_high, kink (annual WAD).
DEFAULT_RATES = (0, 4 * 10**16, 75 * 10**16, 8 * 10**17)


def deploy_rate_model(owner: Any, rates: tuple[int, int, int, int] = DEFAULT_RATES) -> Any:
    return ape.project.KinkedRateModel.deploy(*rates, sender=owner)


def set_rates(vault: Any, owner: Any, base_rate: int, slope_low: int, slope_high: int, kink: int) -> Any:
    """Deploy a model with these rates and point `vault` at it; returns the receipt of `set_rate_model`."""
    model = deploy_rate_model(owner, (base_rate, slope_low, slope_high, kink))
    return vault.set_rate_model(model, sender=owner)


def rates_of(vault: Any) -> tuple[int, int, int, int]:
    """The (base_rate, slope_low, slope_high, kink) of the model `vault` uses."""
    model = ape.project.KinkedRateModel.at(vault.rate_model())
    return model.base_rate(), model.slope_low(), model.slope_high(), model.kink()
