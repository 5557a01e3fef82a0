"""The vault's threshold ramps replayed: one formula for liq_ltv and for the market limits."""

RAMP = 86_400  # LIQ_LTV_RAMP, seconds


def ramp_in_force(old: int, new: int, start: int, now: int, duration: int = RAMP) -> int:
    """The value a ramp from `old` (at `start`) to `new` (at `start + duration`) has at `now`, rounded toward `old`."""
    elapsed = min(now - start, duration)
    if new >= old:
        return old + (new - old) * elapsed // duration
    return old - (old - new) * elapsed // duration
