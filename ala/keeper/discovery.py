"""Discovery: what the chain says happened, read from logs and committed with the checkpoint.

- Borrowers and their collateral (vault `CollateralAdded`/`Borrowed`), bids (queue `BidSubmitted`/`BidActivated`),
  risk-parameter changes (vault or engine), the oracle's `FeedsSet`/`AssetRemoved`, and price rounds.
- Price rounds: on a real network the oracle's feeds are Chainlink proxies (EACAggregatorProxy), which emit
  nothing. Each feed is resolved to the aggregator behind it (`aggregator()`; a feed without one is its own
  aggregator) and the keeper listens to the aggregators' `AnswerUpdated`, `NewRound` and `NewTransmission`. On
  every new head one batch re-reads `aggregator()` of each proxy (a repoint starts a new phase and moves the
  events to another address); the oracle's `FeedsSet` resolves everything again. Either one schedules a full
  scan: the price may have moved with the source.
- Reorganisations: the hash of each checkpoint is remembered. When the head does not extend it, the checkpoint
  is walked back to the newest remembered block still on the chain and the logs are read again from there;
  the last `reorg_depth` blocks are re-read on every poll in any case (logs already applied are skipped by
  their block hash and index).
- The in-memory sets (borrowers, positions) change only after the store has committed what the logs said, so
  a failed commit loses nothing: the next poll reads the same logs again.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from ala import abi
from ala.keeper.chain import ORACLE_EVENTS, PARAMETER_EVENTS, PRICE_EVENTS, PRICE_TOPICS, QUEUE_EVENTS, VAULT_EVENTS
from ala.keeper.config import hex_int
from ala.keeper.report import StepReport
from ala.logs import fields
from ala.rpc import RpcError

if TYPE_CHECKING:
    from ala.keeper.runner import Keeper

ZERO = "0x" + "00" * 20
# checkpoints remembered for reorg detection
_REMEMBERED = 128


class Discovery:
    """Log polling, feed resolution and reorg handling for one keeper."""

    def __init__(self, keeper: Keeper) -> None:
        self.k = keeper
        self.checkpoint = keeper.config.start_block - 1
        # feed the oracle holds -> the aggregator whose events announce its rounds (itself when not a proxy)
        self.aggregators: dict[str, str] = {}
        # feeds that answered `aggregator()`: proxies, checked on every new head
        self.proxies: list[str] = []
        self.feeds_stale = True
        # block number -> hash of the checkpoints this keeper reached (newest last)
        self.hashes: OrderedDict[int, str] = OrderedDict()
        # (block hash, log index) of logs already applied within the re-read window
        self._applied: dict[tuple[str, str], int] = {}
        self._last_proxy_check = -1
        self.reorgs = 0

    # ------------------------------------------------------------ feeds

    def resolve_feeds(self) -> None:
        """Read the oracle's feeds of every collateral and of the base asset, and the aggregator behind each."""
        k = self.k
        chain = k.chain
        if not chain.oracle:
            chain.resolve_oracle()
        assets = [*k.collateral_assets(), chain.base_asset()]
        answers = k.rpc.batch([chain.oracle_feeds(a) for a in assets])
        feeds: list[str] = []
        for answer in answers:
            if isinstance(answer, RpcError):
                continue
            for feed in abi.ORACLE_FEEDS.decode(answer):
                address = to_checksum_address(feed)
                if address not in feeds:
                    feeds.append(address)
        behind = k.rpc.batch([chain.aggregator(f) for f in feeds])
        aggregators, proxies = {}, []
        for feed, answer in zip(feeds, behind, strict=True):
            target = None if isinstance(answer, RpcError) or answer in (None, "0x") else abi.AGGREGATOR.decode(answer)
            if target and target.lower() != ZERO:
                aggregators[feed] = to_checksum_address(target)
                proxies.append(feed)
            else:
                aggregators[feed] = feed  # a plain aggregator: it emits its own rounds
        changed = aggregators != self.aggregators
        self.aggregators, self.proxies = aggregators, proxies
        self.feeds_stale = False
        if changed:
            k.log.info(
                "price feeds resolved",
                extra=fields(feeds=len(feeds), proxies=len(proxies), aggregators=sorted(set(aggregators.values()))),
            )

    def check_proxies(self, head: int) -> bool:
        """Whether a proxy now points elsewhere (a new phase): one batch of `aggregator()` per new head."""
        k = self.k
        if not self.proxies or head == self._last_proxy_check:
            return False
        self._last_proxy_check = head
        answers = k.rpc.batch([k.chain.aggregator(p) for p in self.proxies])
        for proxy, answer in zip(self.proxies, answers, strict=True):
            if isinstance(answer, RpcError):
                continue
            if abi.AGGREGATOR.decode(answer).lower() != self.aggregators[proxy].lower():
                k.log.info("price feed repointed", extra=fields(proxy=proxy, was=self.aggregators[proxy]))
                return True
        return False

    # ------------------------------------------------------------ reorgs

    def check_reorg(self, head: dict) -> bool:
        """Walk the checkpoint back when the chain no longer holds the block it names; True after a reorg."""
        k = self.k
        if not self.hashes or self.checkpoint not in self.hashes:
            return False
        number = hex_int(head["number"])
        if number == self.checkpoint + 1 and head.get("parentHash") == self.hashes[self.checkpoint]:
            return False  # the usual case on a chain that moves one block per poll: no request
        if number == self.checkpoint and head.get("hash") == self.hashes[self.checkpoint]:
            return False
        # one request in the usual case: the checkpoint's block is still the one this keeper read
        block = k.rpc.block(self.checkpoint)
        if isinstance(block, dict) and block.get("hash") == self.hashes[self.checkpoint]:
            return False
        numbers = list(reversed(self.hashes))
        blocks = k.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        for n, block in zip(numbers, blocks, strict=True):
            if isinstance(block, dict) and block.get("hash") == self.hashes[n]:
                if n == self.checkpoint:
                    return False
                self._rewind(n, why="reorganisation")
                return True
        # nothing remembered survives: go back as far as the oldest memory and the re-read window allow
        self._rewind(min(numbers) - max(1, k.config.reorg_depth), why="deep reorganisation")
        return True

    def _rewind(self, to: int, *, why: str) -> None:
        k = self.k
        k.log.warning(why, extra=fields(checkpoint=self.checkpoint, rewound_to=to))
        self.reorgs += 1
        self.checkpoint = max(k.config.start_block - 1, to)
        for n in [n for n in self.hashes if n > self.checkpoint]:
            del self.hashes[n]
        self._applied = {key: b for key, b in self._applied.items() if b <= self.checkpoint}
        assert k.store is not None
        k.store.rewind(self.checkpoint)
        k.liquidations.full_scan_needed()  # the replaced blocks may have held price rounds
        k.breakers.price_seen = True

    def remember(self, number: int, block_hash: str | None) -> None:
        if block_hash:
            self.hashes[number] = block_hash
            while len(self.hashes) > _REMEMBERED:
                self.hashes.popitem(last=False)

    # ------------------------------------------------------------ logs

    def poll(self, head_block: dict, report: StepReport) -> None:
        """Read the logs from the checkpoint to the head in chunks; each chunk commits with its checkpoint."""
        k = self.k
        assert k.rpc is not None and k.store is not None
        head = hex_int(head_block["number"])
        if self.feeds_stale:
            self.resolve_feeds()
        elif self.check_proxies(head):
            self.resolve_feeds()
            k.liquidations.full_scan_needed()
            k.breakers.price_seen = True
        self.check_reorg(head_block)
        if head <= self.checkpoint:
            return
        # re-read the last `reorg_depth` blocks: logs of a replaced block come back in its successor
        frm = max(k.config.start_block, self.checkpoint + 1 - k.config.reorg_depth)
        chunk = k.config.log_chunk_blocks
        chain = k.chain
        vault, queue, oracle = chain.vault.lower(), chain.queue.lower(), chain.oracle.lower()
        parameter_sources = {vault, chain.engine.lower()}
        price_sources = {a.lower() for a in self.aggregators.values()}
        events = [*VAULT_EVENTS, *PARAMETER_EVENTS, *QUEUE_EVENTS, *ORACLE_EVENTS, *PRICE_EVENTS]
        topics = [e.topic for e in events]
        addresses = sorted({chain.vault, chain.engine, chain.queue, chain.oracle, *self.aggregators.values()})
        while frm <= head:
            to = min(head, frm + chunk - 1)
            query = {"fromBlock": hex(frm), "toBlock": hex(to), "address": addresses, "topics": [topics]}
            try:
                logs = k.rpc.request("eth_getLogs", [query]) or []
            except RpcError as exc:
                if chunk > 1 and any(w in exc.message.lower() for w in ("range", "limit", "too many", "exceed")):
                    chunk = max(1, chunk // 2)  # the node caps ranges or results: smaller chunks
                    continue
                raise
            borrowers: dict[str, int] = {}
            positions: set[tuple[str, str]] = set()
            bids: list[tuple[int, str, int, str, int]] = []
            activated: list[int] = []
            fresh: list[tuple[tuple[str, str], int]] = []
            feeds_changed: int | None = None  # block of the first FeedsSet/AssetRemoved in this chunk
            for entry in logs:
                if entry.get("removed"):
                    continue
                key = (entry.get("blockHash") or "", entry.get("logIndex") or "")
                block = hex_int(entry["blockNumber"])
                if key in self._applied:
                    continue  # read again within the re-read window: already applied
                fresh.append((key, block))
                topic0, source = entry["topics"][0], entry["address"].lower()
                if source == vault and topic0 in (abi.COLLATERAL_ADDED.topic, abi.BORROWED.topic):
                    account = to_checksum_address("0x" + entry["topics"][1][-40:])
                    if account not in k.borrower_set and account not in borrowers:
                        borrowers[account] = block
                    if topic0 == abi.COLLATERAL_ADDED.topic:
                        asset = to_checksum_address("0x" + entry["topics"][2][-40:])
                        if asset not in k.positions.get(account, ()):
                            positions.add((account, asset))
                elif source in parameter_sources and topic0 in (
                    abi.COLLATERAL_CONFIGURED.topic,
                    abi.RISK_LIMITS_SET.topic,
                ):
                    k.liquidations.full_scan_needed()  # thresholds moved
                    k.liquidations.refresh_assets = True
                    k.breakers.assets = None
                elif source == chain.engine.lower() and topic0 == abi.AUCTIONS_SET.topic:
                    k.auctions.stale = True  # wired (or rewired) after start: read it again this step
                elif source == queue and topic0 == abi.BID_SUBMITTED.topic:
                    event = abi.BID_SUBMITTED.decode(entry)
                    if event["immediate"]:
                        k.liquidations.liquidity_arrived(block)
                    else:
                        bids.append((event["bid_id"], event["collateral"], event["activates_at"], "pending", block))
                elif source == queue and topic0 == abi.BID_ACTIVATED.topic:
                    activated.append(int(entry["topics"][1], 16))
                    k.liquidations.liquidity_arrived(block)
                elif source == oracle and topic0 in (abi.FEEDS_SET.topic, abi.ASSET_REMOVED.topic):
                    feeds_changed = block if feeds_changed is None else min(feeds_changed, block)
                elif source in price_sources and topic0 in PRICE_TOPICS:
                    report.price_updates += topic0 != abi.NEW_ROUND.topic
                    if report.price_seen_at is None:
                        report.price_seen_at = k.clock()
                    k.liquidations.full_scan_needed()
                    k.breakers.price_seen = True
            # commit first; only then does the keeper's memory change (a failed commit is read again next poll)
            k.store.apply_logs(to, list(borrowers.items()), bids, activated, sorted(positions))
            k.borrowers.extend(borrowers)
            k.borrower_set.update(borrowers)
            for account, asset in positions:
                k.positions.setdefault(account, set()).add(asset)
            k.liquidations.recheck.update(borrowers)
            self._applied.update(fresh)
            report.logs += len(fresh)
            report.new_borrowers += len(borrowers)
            report.new_bids += len(bids)
            self.checkpoint = max(self.checkpoint, to)
            frm = to + 1
            if feeds_changed is not None:
                # the oracle's feeds changed: resolve them again and read this chunk again from the change on,
                # now with the new aggregators (what was applied already is skipped)
                self.resolve_feeds()
                price_sources = {a.lower() for a in self.aggregators.values()}
                addresses = sorted({*addresses, *self.aggregators.values()})
                k.liquidations.full_scan_needed()
                k.breakers.price_seen = True
                frm = feeds_changed
        self.remember(head, head_block.get("hash"))
        floor = self.checkpoint - max(k.config.reorg_depth, 1)
        self._applied = {key: b for key, b in self._applied.items() if b > floor}

    def status(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "feeds": len(self.aggregators), "proxies": len(self.proxies)}
