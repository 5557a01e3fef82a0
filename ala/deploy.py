"""Deploy the whole ALA system (mocks where the parameters name no address) and record it.

`deploy_system` is what `ape run deploy`, the demo and the tests' fixtures all call, so every
environment runs the same deployment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ala.params import SystemParams, TokenParams, wad

ROOT = Path(__file__).resolve().parent.parent
# relative to the working directory (an installed package has no repository around it)
DEPLOYMENTS = Path("deployments")


@dataclass
class System:
    """Handles on every deployed contract, keyed the way scripts and tests use them."""

    params: SystemParams
    base: Any
    oracle: Any
    vault: Any
    queue: Any
    engine: Any
    lens: Any
    tokens: dict[str, Any] = field(default_factory=dict)  # symbol -> token (base included)
    auction: Any = None  # the DutchAuction house, when the parameters ask for one
    auctions: Any = None  # the AuctionSettlement that opens and books its auctions, with the house
    feeds: dict[str, list[Any]] = field(default_factory=dict)  # symbol -> feeds
    block: int = 0
    # symbol -> the Chainlink-style proxies in front of `feeds` (what the oracle holds), when deployed with proxies
    proxies: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def collaterals(self) -> dict[str, Any]:
        return {c.symbol: self.tokens[c.symbol] for c in self.params.collaterals}

    def symbol_of(self, address: str) -> str:
        for symbol, token in self.tokens.items():
            if token.address.lower() == str(address).lower():
                return symbol
        raise KeyError(address)

    def to_json(self, network: str) -> dict:
        return {
            "network": network,
            "block": self.block,
            "oracle": self.oracle.address,
            "vault": self.vault.address,
            "queue": self.queue.address,
            "engine": self.engine.address,
            "lens": self.lens.address,
            "auction": self.auction.address if self.auction is not None else "",
            "auctions": self.auctions.address if self.auctions is not None else "",
            "tokens": {s: t.address for s, t in self.tokens.items()},
            "feeds": {s: [f.address for f in fs] for s, fs in (self.proxies or self.feeds).items()},
            **({"aggregators": {s: [f.address for f in fs] for s, fs in self.feeds.items()}} if self.proxies else {}),
            "params": _jsonable(self.params),
        }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if hasattr(obj, "__dataclass_fields__"):
        return {k: _jsonable(getattr(obj, k)) for k in obj.__dataclass_fields__}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    return obj


def feed_answer(price: Decimal, decimals: int) -> int:
    return int(Decimal(price) * 10**decimals)


def _token_and_feeds(project: Any, sender: Any, spec: TokenParams, chain_at: Any) -> tuple[Any, list[Any]]:
    if spec.address:
        token = chain_at(spec.address)
    else:
        token = project.MockERC20.deploy(spec.symbol, spec.symbol, spec.decimals, sender=sender)
    if spec.feeds:
        feeds = [chain_at(a) for a in spec.feeds]
    else:
        answer = feed_answer(spec.price, spec.feed_decimals)
        feeds = [
            project.MockAggregator.deploy(spec.feed_decimals, f"{spec.symbol} / USD", answer, sender=sender)
            for _ in range(spec.mock_feeds)
        ]
    return token, feeds


def _spec(params: SystemParams, symbol: str) -> TokenParams:
    return params.base if symbol == params.base.symbol else params.collateral(symbol)


def deploy_proxies(
    project: Any, sender: Any, params: SystemParams, feeds: dict[str, list[Any]]
) -> dict[str, list[Any]]:
    """A MockAggregatorProxy (EACAggregatorProxy-like: forwards reads, emits nothing) in front of every mock feed;
    feeds the parameters name (real ones, proxies already) stay as they are."""
    out = {}
    for spec in (params.base, *params.collaterals):
        fs = feeds[spec.symbol]
        out[spec.symbol] = fs if spec.feeds else [project.MockAggregatorProxy.deploy(f, sender=sender) for f in fs]
    return out


def deploy_system(
    project: Any, sender: Any, params: SystemParams, chain: Any = None, *, feed_proxies: bool = False
) -> System:
    """Deploy tokens and feeds (mocks unless addresses are given), oracle, vault, queue, engine and lens; wire them.

    With `feed_proxies`, the oracle reads each feed through a Chainlink-style proxy, as on mainnet; `System.feeds`
    stays the aggregators (where prices are posted) and `System.proxies` holds what the oracle holds.
    """
    params.check()

    def chain_at(address: str) -> Any:
        from ape import Contract

        return Contract(address)

    start_block = chain.blocks.head.number if chain is not None else 0
    tokens: dict[str, Any] = {}
    feeds: dict[str, list[Any]] = {}
    for spec in (params.base, *params.collaterals):
        tokens[spec.symbol], feeds[spec.symbol] = _token_and_feeds(project, sender, spec, chain_at)

    proxies = deploy_proxies(project, sender, params, feeds) if feed_proxies else {}
    oracle = project.PriceOracle.deploy(sender=sender)
    spread = wad(params.oracle_max_spread)
    for symbol, fs in (proxies or feeds).items():
        oracle.set_feeds(
            tokens[symbol], [f.address for f in fs], params.oracle_max_age, spread if len(fs) > 1 else 0, sender=sender
        )
        # dev: set_feeds sets the quorum to a majority of the feeds; a file may ask for another one
        quorum = _spec(params, symbol).quorum
        if quorum != oracle.min_sources(tokens[symbol]):
            oracle.set_min_sources(tokens[symbol], quorum, sender=sender)

    base = tokens[params.base.symbol]
    rate_model = project.KinkedRateModel.deploy(
        wad(params.base_rate), wad(params.slope_low), wad(params.slope_high), wad(params.kink), sender=sender
    )
    vault = project.LendingVault.deploy(
        base, oracle, rate_model, f"ALA {params.base.symbol} vault", "alaV", sender=sender
    )
    queue = project.LiquidationQueue.deploy(base, sender=sender)
    engine = project.LiquidationEngine.deploy(vault, queue, sender=sender)
    vault.set_engine(engine, sender=sender)
    queue.set_engine(engine, sender=sender)
    lens = project.LiquidationLens.deploy(engine, sender=sender)

    engine.set_risk_limits(
        wad(params.base_risk_factor),
        wad(params.max_risk_ratio),
        wad(params.liq_risk_ratio),
        wad(params.max_leverage),
        wad(params.liq_leverage),
        sender=sender,
    )
    vault.set_reserve_factor(wad(params.reserve_factor), sender=sender)
    for c in params.collaterals:
        token = tokens[c.symbol]
        engine.configure_collateral(token, wad(c.max_ltv), wad(c.liq_ltv), wad(c.risk_factor), sender=sender)
        queue.set_pool_params(
            token,
            wad(c.premium_step),
            c.max_slot,
            c.waiting_period,
            int(c.bid_threshold * 10**params.base.decimals),
            sender=sender,
        )
        if c.min_bid:
            queue.set_min_bid(token, int(c.min_bid * 10**params.base.decimals), sender=sender)
    engine.set_close_ratio(wad(params.close_ratio), sender=sender)
    engine.set_dust_value(wad(params.dust_value), sender=sender)
    engine.set_fees(wad(params.keeper_fee), wad(params.protocol_fee), sender=sender)
    auction = auctions = None
    if params.auction is not None:
        auction, auctions = deploy_auction(project, sender, params, base, oracle, vault, engine)

    return System(
        params=params,
        base=base,
        oracle=oracle,
        vault=vault,
        queue=queue,
        engine=engine,
        lens=lens,
        tokens=tokens,
        feeds=feeds,
        block=start_block,
        auction=auction,
        auctions=auctions,
        proxies=proxies,
    )


def deploy_auction(project: Any, sender: Any, params: SystemParams, base: Any, oracle: Any, vault: Any, engine: Any):
    """Deploy the auction settlement of `engine` and its Dutch-auction house (the settlement kicks, yanks and
    receives the proceeds), set the house up, wire both. Returns (house, settlement)."""
    a = params.auction
    unit = 10**params.base.decimals
    auctions = project.AuctionSettlement.deploy(engine, sender=sender)
    auction = project.DutchAuction.deploy(base, oracle, auctions, vault, auctions, sender=sender)
    # the floor must stay below the cusp after each call: raise whichever moves up first
    if wad(a.floor) < auction.cusp():
        auction.set_curve(wad(a.cut), a.step, wad(a.floor), sender=sender)
        auction.set_reset_rules(a.tail, wad(a.cusp), wad(a.buf), sender=sender)
    else:
        auction.set_reset_rules(a.tail, wad(a.cusp), wad(a.buf), sender=sender)
        auction.set_curve(wad(a.cut), a.step, wad(a.floor), sender=sender)
    auction.set_incentive(int(a.tip * unit), wad(a.chip), sender=sender)
    auction.set_dust(int(a.dust * unit), sender=sender)
    auctions.set_auction_house(auction, sender=sender)
    engine.set_auctions(auctions, sender=sender)
    return auction, auctions


def code_sizes(project: Any, system: System, provider: Any, deployer: Any) -> dict[str, int]:
    """Bytes of code each deployable has on the node (runtime plus the immutables appended to it), as EIP-170
    counts them; an auction settlement and house are deployed for the measure when the system has none."""
    auctions = system.auctions or project.AuctionSettlement.deploy(system.engine, sender=deployer)
    auction = system.auction or project.DutchAuction.deploy(
        system.base, system.oracle, auctions, system.vault, auctions, sender=deployer
    )
    addresses = {
        "PriceOracle": system.oracle.address,
        "LendingVault": system.vault.address,
        "KinkedRateModel": system.vault.rate_model(),
        "LiquidationQueue": system.queue.address,
        "LiquidationEngine": system.engine.address,
        "LiquidationLens": system.lens.address,
        "DutchAuction": auction.address,
        "AuctionSettlement": auctions.address,
    }
    return {name: len(provider.get_code(address)) for name, address in addresses.items()}


def write_deployment(system: System, ecosystem: str, network: str) -> Path:
    DEPLOYMENTS.mkdir(exist_ok=True)
    path = DEPLOYMENTS / f"{ecosystem}-{network}.json"
    path.write_text(json.dumps(system.to_json(f"{ecosystem}:{network}"), indent=2) + "\n")
    return path


def load_system(project: Any, path: str | Path, params: SystemParams) -> System:
    """Reattach to a recorded deployment."""
    data = json.loads(Path(path).read_text())
    tokens = {s: project.MockERC20.at(a) for s, a in data["tokens"].items()}
    feeds = {s: [project.MockAggregator.at(a) for a in fs] for s, fs in data.get("aggregators", data["feeds"]).items()}
    proxies = {s: [project.MockAggregatorProxy.at(a) for a in fs] for s, fs in data["feeds"].items()}
    return System(
        params=params,
        base=tokens[params.base.symbol],
        oracle=project.PriceOracle.at(data["oracle"]),
        vault=project.LendingVault.at(data["vault"]),
        queue=project.LiquidationQueue.at(data["queue"]),
        engine=project.LiquidationEngine.at(data["engine"]),
        lens=project.LiquidationLens.at(data["lens"]),
        auction=project.DutchAuction.at(data["auction"]) if data.get("auction") else None,
        auctions=project.AuctionSettlement.at(data["auctions"]) if data.get("auctions") else None,
        tokens=tokens,
        feeds=feeds,
        block=int(data["block"]),
        proxies=proxies if "aggregators" in data else {},
    )
