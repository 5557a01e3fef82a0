"""`ape run dashboard`: the auction in the browser (pools, accounts at risk, liquidations, one's bids)."""

from ala.dashboard.app import Dashboard, create_app
from ala.dashboard.serve import check_port, serve

__all__ = ["Dashboard", "check_port", "create_app", "serve"]
