"""ALA tooling: deploy, fund, drive and keep the Asynchronous Liquidation Auction system."""

__all__ = ["__version__"]

__version__ = "0.1.0"
