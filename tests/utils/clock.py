"""The test chain's clock: one second per block, whatever the wall clock does.

Anvil stamps a new block with the wall-clock time by default, so a test that reads a view (interest, a ramp, an
auction price) and then sends a transaction saw 0, 1 or more seconds pass depending on how loaded the machine was.
With Anvil's block timestamp interval set, every block is exactly `BLOCK_INTERVAL` seconds after the one before,
unless a test sets the next timestamp itself (`chain.pending_timestamp`, `evm_setNextBlockTimestamp`); the setting is
the node's, not the chain state's, so it survives ape's snapshot/revert isolation. The keeper's tests against a live
chain switch back to the wall clock (`wall_clock`), because a moving clock is what they test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BLOCK_INTERVAL = 1  # seconds between two blocks the tests do not time themselves

Request = Callable[[str, list], Any]


def tick_per_block(request: Request, seconds: int = BLOCK_INTERVAL) -> None:
    """Every later block is `seconds` after the latest one (0 freezes the clock)."""
    request("anvil_setBlockTimestampInterval", [seconds])


def wall_clock(request: Request) -> None:
    """Later blocks follow the wall clock again (Anvil's default)."""
    request("anvil_removeBlockTimestampInterval", [])
