"""Drives the deployed system and the `SystemModel` in lockstep, over raw JSON-RPC.

Every operation is first played on a clone of the model, which predicts success (and every amount) or the exact
revert reason; then the transaction is sent. A predicted success must succeed (the clone becomes the model); a
predicted revert must revert with that reason and change no storage anywhere (prestate diff of the mined
transaction). Time is frozen between explicit jumps (Anvil's block timestamp interval is 0), so a view read before a
transaction sees exactly the timestamp the transaction will.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.stateful.model import LIMITS_RAMP, MAX_UINT, WAD, LiquidationOutcome, Revert, RiskLimits, SystemModel
from tests.utils.fast_chain import FastChain, calldata, log_words, logs_of, topic, word, words

# The interest rate models the owner may switch between (base_rate, slope_low, slope_high, kink; annual WAD): the
# deployment's, and a steep one.
RATE_CHOICES = ((0, 4 * 10**16, 75 * 10**16, 8 * 10**17), (10**17, WAD // 2, 3 * WAD, WAD // 2))

SLOT_FILLED = topic("SlotFilled(address,uint256,uint256,uint256,uint256)")
LIQUIDATION = topic(
    "Liquidation(address,address,address,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256)"
)
BAD_DEBT = topic("BadDebtWrittenOff(address,uint256,uint256,uint256)")
BID_CLAIMED = topic("BidClaimed(uint256,address,uint256)")
BID_RETRACTED = topic("BidRetracted(uint256,address,uint256,uint256)")


@dataclass
class Env:
    """Addresses of the deployed system and of the actors, by role."""

    base: str
    tokens: dict[str, str]  # symbol -> token address (base included)
    feeds: dict[str, list[str]]  # symbol -> feed addresses
    oracle: str
    vault: str
    queue: str
    engine: str
    lens: str
    owner: str
    guardian: str
    keeper: str
    donor: str
    lenders: list[str]
    borrowers: list[str]
    bidders: list[str]
    # (base_rate, slope_low, slope_high, kink) -> a KinkedRateModel quoting them, deployed with the market
    rate_models: dict[tuple[int, int, int, int], str] = field(default_factory=dict)
    # the attacker: a stranger to every position, who may act in any role anyone may take
    attacker: str = ""

    @property
    def holders(self) -> list[str]:
        actors = [self.owner, self.keeper, self.donor, self.attacker, *self.lenders, *self.borrowers, *self.bidders]
        return [*dict.fromkeys(actors), self.vault, self.queue, self.engine]


@dataclass
class ChainState:
    """Everything the invariants compare with the model, read in one JSON-RPC batch."""

    balances: dict[str, dict[str, int]]
    vault: dict[str, int]
    shares: dict[str, int]
    share_assets: dict[str, int]
    debts: dict[str, int]
    scaled: dict[str, int]
    collateral: dict[tuple[str, str], int]
    total_collateral: dict[str, int]
    health: dict[str, tuple[int, ...]]
    bids: dict[int, tuple[int, ...]]
    slots: dict[tuple[str, int], tuple[int, int, int]]
    total_active: dict[str, int]
    next_bid_id: int


@dataclass
class Evidence:
    """One liquidation as it happened, for invariants 3, 4, 6, 7 and 8."""

    kind: str  # "liquidated" | "reverted"
    account: str
    symbol: str
    reason: str = ""
    outcome: LiquidationOutcome | None = None
    before: SystemModel | None = None
    after: SystemModel | None = None
    slot_fills: list[tuple[int, int, int, int]] = field(default_factory=list)
    event: list[int] = field(default_factory=list)
    bad_debt_event: list[int] | None = None
    same_block_bids: list[int] = field(default_factory=list)


class Driver:
    def __init__(self, fast: FastChain, env: Env, model: SystemModel) -> None:
        self.fast = fast
        self.env = env
        self.model = model
        self.reverted = False
        self.last_reason = ""
        self.evidence: list[Evidence] = []
        self.stats: Counter[str] = Counter()
        self._static_calls = self._build_static_calls()
        self._bid_calls: dict[int, tuple[str, str]] = {}
        # (attacker move, outcome) -> transactions; `acting_as` names the move being played
        self.attacker_moves: Counter[tuple[str, str]] = Counter()
        self.acting_as: str | None = None

    # ------------------------------------------------------------ core

    def execute(self, sender: str, to: str, data: str, op) -> tuple[dict, Any]:
        """Play `op(model)` on a clone, send the transaction, and hold the chain to the prediction."""
        trial = self.model.clone()
        try:
            result = op(trial)
            expected = None
        except Revert as revert:
            expected, result = revert.reason, None
        self.reverted = expected is not None
        self.last_reason = expected or ""
        if expected is not None:
            ok, reason = self.fast.simulate(sender, to, data)
            assert not ok, f"the model expected a revert ({expected!r}) but the call succeeds"
            assert reason == expected, f"reverted with {reason!r}, the model expected {expected!r}"
        receipt = self.fast.send(sender, to, data)
        block = int(receipt["blockNumber"], 16)
        if expected is None:
            if int(receipt["status"], 16) != 1:
                raise AssertionError(f"the model expected success but it reverted: {self.fast.failure_reason(receipt)}")
            trial.block = block + 1
            self.model = trial
            self.stats["succeeded"] += 1
            if self.acting_as:
                self.attacker_moves[(self.acting_as, "succeeded")] += 1
        else:
            assert int(receipt["status"], 16) == 0, f"expected a revert ({expected!r}) but the transaction succeeded"
            self.assert_changed_nothing(receipt, sender)
            self.model.block = block + 1
            self.stats[f"revert: {expected}"] += 1
            if self.acting_as:
                self.attacker_moves[(self.acting_as, f"revert: {expected}")] += 1
        return receipt, result

    def assert_changed_nothing(self, receipt: dict, sender: str) -> None:
        """A reverted transaction may only have moved the sender's nonce and gas money (and the coinbase's)."""
        diff = self.fast.state_diff(receipt)
        for address, post in diff.get("post", {}).items():
            assert "storage" not in post and "code" not in post, f"a reverted transaction wrote to {address}"
            if address.lower() not in (sender.lower(), "0x0000000000000000000000000000000000000000"):
                unchanged = post.get("balance", diff["pre"].get(address, {}).get("balance"))
                assert set(post) <= {"balance"}, f"a reverted transaction changed {address}"
                assert unchanged == diff["pre"].get(address, {}).get("balance"), (
                    f"a reverted transaction paid {address}"
                )

    def owner_tx(self, to: str, data: str) -> dict:
        receipt = self.fast.transact(self.env.owner, to, data)
        self.model.block = int(receipt["blockNumber"], 16) + 1
        return receipt

    # ------------------------------------------------------------ lenders

    def deposit(self, lender: str, amount: int) -> None:
        data = calldata("deposit(uint256,address)", amount, lender)
        self.execute(lender, self.env.vault, data, lambda m: m.deposit(lender, amount))

    def redeem(self, lender: str, shares: int) -> None:
        data = calldata("redeem(uint256,address,address)", shares, lender, lender)
        self.execute(lender, self.env.vault, data, lambda m: m.redeem(lender, shares))

    def withdraw(self, lender: str, assets: int) -> None:
        data = calldata("withdraw(uint256,address,address)", assets, lender, lender)
        self.execute(lender, self.env.vault, data, lambda m: m.withdraw(lender, assets))

    def donate(self, amount: int) -> None:
        data = calldata("transfer(address,uint256)", self.env.vault, amount)
        self.execute(self.env.donor, self.env.base, data, lambda m: m.donate(self.env.donor, amount))

    # ------------------------------------------------------------ borrowers

    def add_collateral(self, borrower: str, symbol: str, amount: int, sender: str | None = None) -> None:
        """`sender` (the borrower by default; anyone may) posts `amount` of `symbol` for `borrower`."""
        sender = borrower if sender is None else sender
        data = calldata("add_collateral(address,uint256,address)", self.env.tokens[symbol], amount, borrower)
        self.execute(sender, self.env.vault, data, lambda m: m.add_collateral(sender, symbol, amount, borrower))

    def remove_collateral(self, borrower: str, symbol: str, amount: int) -> None:
        data = calldata("remove_collateral(address,uint256,address)", self.env.tokens[symbol], amount, borrower)
        self.execute(borrower, self.env.vault, data, lambda m: m.remove_collateral(borrower, symbol, amount))

    def borrow(self, borrower: str, amount: int) -> None:
        data = calldata("borrow(uint256,address)", amount, borrower)
        self.execute(borrower, self.env.vault, data, lambda m: m.borrow(borrower, amount))

    def repay(self, payer: str, account: str, amount: int) -> None:
        data = calldata("repay(uint256,address)", amount, account)
        self.execute(payer, self.env.vault, data, lambda m: m.repay(payer, account, amount))

    # ------------------------------------------------------------ bidders

    def submit_bid(self, bidder: str, symbol: str, slot: int, amount: int) -> None:
        data = calldata("submit_bid(address,uint256,uint256)", self.env.tokens[symbol], slot, amount)
        self.execute(bidder, self.env.queue, data, lambda m: m.submit_bid(bidder, symbol, slot, amount))

    def activate_bid(self, bid_id: int, caller: str) -> None:
        data = calldata("activate_bids(uint256[])", [bid_id])
        self.execute(caller, self.env.queue, data, lambda m: m.activate_bid(bid_id))

    def retract_bid(self, bid_id: int, amount: int, state: ChainState) -> None:
        bid = self.model.bids[bid_id]
        info = state.bids[bid_id]
        data = calldata("retract_bid(uint256,uint256)", bid_id, amount)
        receipt, taken = self.execute(
            bid.owner, self.env.queue, data, lambda m: m.retract_bid(bid.owner, bid_id, amount, info[3], info[4])
        )
        if not self.reverted:
            [entry] = logs_of(receipt, BID_RETRACTED, self.env.queue)
            assert log_words(entry)[1][0] == taken

    def claim(self, bid_ids: list[int], owner: str, state: ChainState) -> None:
        data = calldata("claim(uint256[])", bid_ids)

        def op(m: SystemModel) -> list[int]:
            return [m.claim(owner, i, state.bids[i][3], state.bids[i][4]) for i in bid_ids]

        receipt, paid = self.execute(owner, self.env.queue, data, op)
        if not self.reverted:
            claimed = [log_words(e)[1][0] for e in logs_of(receipt, BID_CLAIMED, self.env.queue)]
            assert claimed == [p for p in paid if p], "BidClaimed events differ from the claimable views"

    def claim_as(self, caller: str, bid_ids: list[int], state: ChainState) -> None:
        """Someone other than the bids' owner claims: "queue: not bid owner"."""
        data = calldata("claim(uint256[])", bid_ids)
        self.execute(
            caller,
            self.env.queue,
            data,
            lambda m: [m.claim(caller, i, state.bids[i][3], state.bids[i][4]) for i in bid_ids],
        )

    def retract_as(self, caller: str, bid_id: int, state: ChainState) -> None:
        data = calldata("retract_bid(uint256,uint256)", bid_id, MAX_UINT)
        info = state.bids[bid_id]
        self.execute(caller, self.env.queue, data, lambda m: m.retract_bid(caller, bid_id, MAX_UINT, info[3], info[4]))

    # ------------------------------------------------------------ prices and time

    def set_price(self, symbol: str, answer: int) -> None:
        """Post `answer` on every feed of `symbol`: the feed is fresh again, neglected or not."""
        for feed in self.env.feeds[symbol]:
            self.owner_tx(feed, calldata("update_answer(int256)", answer))
        self.model.answers[symbol] = answer
        self.model.updated_at[symbol] = self.model.now
        self.model.neglected.discard(symbol)

    def advance_time(self, seconds: int) -> None:
        """Jump `seconds` ahead and re-post every feed's answer (the oracle accepts answers up to a day old), but
        those of the feeds the attacker lets go stale."""
        self.model.now += seconds
        self.fast.set_next_timestamp(self.model.now)
        for symbol in self.env.feeds:
            if symbol in self.model.neglected:
                continue
            for feed in self.env.feeds[symbol]:
                self.owner_tx(feed, calldata("update_answer(int256)", self.model.answers[symbol]))
            self.model.updated_at[symbol] = self.model.now

    def accrue(self, caller: str) -> None:
        self.execute(caller, self.env.vault, calldata("accrue_interest()"), lambda m: m.accrue())

    # ------------------------------------------------------------ owner and guardian

    def set_paused(self, caller: str, paused: bool) -> None:
        def op(m: SystemModel) -> None:
            if paused and caller not in (self.env.guardian, self.env.owner):
                raise Revert("vault: not guardian or owner")
            if not paused and caller != self.env.owner:
                raise Revert("ownable: caller is not the owner")
            m.paused = paused

        self.execute(caller, self.env.vault, calldata("set_paused(bool)", paused), op)

    def set_engine_params(self, close_ratio: int, dust_value: int, keeper_fee: int, protocol_fee: int) -> None:
        self.owner_tx(self.env.engine, calldata("set_close_ratio(uint256)", close_ratio))
        self.owner_tx(self.env.engine, calldata("set_dust_value(uint256)", dust_value))
        self.owner_tx(self.env.engine, calldata("set_fees(uint256,uint256)", keeper_fee, protocol_fee))
        e = self.model.engine
        e.close_ratio, e.dust_value, e.keeper_fee, e.protocol_fee = close_ratio, dust_value, keeper_fee, protocol_fee

    def set_risk_limits(self, base_rf: int, max_rr: int, liq_rr: int, max_lev: int, liq_lev: int) -> None:
        """The opening limits change at once; with debt outstanding the thresholds ramp from where they stand."""
        started: list[bool] = []

        def op(m: SystemModel) -> None:
            target = (base_rf, liq_rr, liq_lev)
            current = m.liq_limits() if m.total_scaled else target
            if not 0 < max_rr <= min(liq_rr, current[1]):
                raise Revert("engine: bad risk ratio limits")
            if not WAD < max_lev <= min(liq_lev, current[2]):
                raise Revert("engine: bad leverage limits")
            unchanged = target == (m.limits.base_risk_factor, m.limits.liq_risk_ratio, m.limits.liq_leverage)
            m.limits = RiskLimits(base_rf, max_rr, liq_rr, max_lev, liq_lev)
            if not unchanged:  # a new target: ramp from the values in force (a running ramp goes on otherwise)
                m.limits_ramp = (current, m.now + LIMITS_RAMP) if target != current else None
                started.append(m.limits_ramp is not None)

        data = calldata(
            "set_risk_limits(uint256,uint256,uint256,uint256,uint256)", base_rf, max_rr, liq_rr, max_lev, liq_lev
        )
        self.execute(self.env.owner, self.env.engine, data, op)
        if not self.reverted and any(started):
            self.stats["threshold ramps started"] += 1

    def set_rate_model(self, rates: tuple[int, int, int, int]) -> None:
        """Point the vault at the pre-deployed KinkedRateModel quoting `rates`."""
        self.model.accrue()  # the contract accrues at the old rate first
        self.owner_tx(self.env.vault, calldata("set_rate_model(address)", self.env.rate_models[rates]))
        self.model.rate_model = rates

    def set_reserve_factor(self, reserve_factor: int) -> None:
        self.model.accrue()
        self.owner_tx(self.env.vault, calldata("set_reserve_factor(uint256)", reserve_factor))
        self.model.reserve_factor = reserve_factor

    # ------------------------------------------------------------ liquidations

    def liquidate(self, account: str, symbol: str, max_repay: int, caller: str | None = None) -> Evidence:
        """`caller` (the keeper by default; anyone may, the borrower too) liquidates and earns the keeper fee."""
        caller = self.env.keeper if caller is None else caller
        data = calldata("liquidate(address,address,uint256)", account, self.env.tokens[symbol], max_repay)
        before = self.model.clone()
        receipt, outcome = self.execute(
            caller,
            self.env.engine,
            data,
            lambda m: m.liquidate(caller, account, symbol, max_repay),
        )
        return self._record(receipt, outcome, before, account, symbol, [], self.last_reason)

    def liquidate_in_the_block_of(
        self, first: tuple[str, str, str], first_op, account: str, symbol: str, max_repay: int, new_bids: list[int]
    ) -> Evidence:
        """Mine `first` (an activation or an immediate bid) and a liquidation in ONE block."""
        before = self.model.clone()
        trial = self.model.clone()
        first_op(trial)  # must succeed: the caller picked a due bid or an open threshold
        after_first = trial.clone()
        try:
            outcome = trial.liquidate(self.env.keeper, account, symbol, max_repay)
            expected = None
        except Revert as revert:
            outcome, expected = None, revert.reason
        data = calldata("liquidate(address,address,uint256)", account, self.env.tokens[symbol], max_repay)
        first_receipt, receipt = self.fast.same_block([first, (self.env.keeper, self.env.engine, data)])
        assert int(first_receipt["status"], 16) == 1, "the activation of the sandwich failed"
        block = int(receipt["blockNumber"], 16)
        self.stats["same-block liquidations"] += 1
        if expected is None:
            assert int(receipt["status"], 16) == 1, f"liquidation failed: {self.fast.failure_reason(receipt)}"
            trial.block = block + 1
            self.model = trial
            self.reverted = False
        else:
            # the reason of a transaction mined behind another one in the same block comes from its trace
            assert int(receipt["status"], 16) == 0, f"expected {expected!r}, the liquidation succeeded"
            assert self.fast.failure_reason(receipt) == expected
            self.assert_changed_nothing(receipt, self.env.keeper)
            after_first.block = block + 1
            self.model = after_first
            self.reverted = False  # the activation did change the state
            self.stats[f"revert: {expected} (same block)"] += 1
        return self._record(receipt, outcome, before, account, symbol, new_bids, expected or "")

    def _record(self, receipt, outcome, before, account, symbol, same_block_bids, reason: str) -> Evidence:
        if outcome is None:
            evidence = Evidence(
                "reverted",
                account,
                symbol,
                reason=reason,
                before=before,
                after=self.model,
                same_block_bids=same_block_bids,
            )
            self.evidence.append(evidence)
            return evidence
        fills = []
        for entry in logs_of(receipt, SLOT_FILLED, self.env.queue):
            indexed, data = log_words(entry)
            assert indexed[0] == int(self.env.tokens[symbol], 16)
            fills.append((indexed[1], *data[:3]))
        [liquidation] = logs_of(receipt, LIQUIDATION, self.env.engine)
        bad = logs_of(receipt, BAD_DEBT, self.env.vault)
        evidence = Evidence(
            "liquidated",
            account,
            symbol,
            outcome=outcome,
            before=before,
            after=self.model,
            slot_fills=fills,
            event=log_words(liquidation)[1],
            bad_debt_event=log_words(bad[0])[1] if bad else None,
            same_block_bids=same_block_bids,
        )
        self.evidence.append(evidence)
        self.stats["liquidations"] += 1
        if outcome.bad_debt:
            self.stats["bad-debt write-offs"] += 1
        return evidence

    def debt_after_liquidation(self, account: str, symbol: str) -> int:
        """The keeper's `liquidate(account, symbol, max)` sent inside a snapshot, then reverted: the debt it leaves.
        Time is frozen, so the reverted chain mines its next block at the model's `now` as before."""
        snapshot = self.fast.request("evm_snapshot")
        try:
            data = calldata("liquidate(address,address,uint256)", account, self.env.tokens[symbol], MAX_UINT)
            receipt = self.fast.send(self.env.keeper, self.env.engine, data)
            assert int(receipt["status"], 16) == 1, f"the liquidation reverted: {self.fast.failure_reason(receipt)}"
            (debt,) = self.fast.calls([(self.env.vault, calldata("debt_of(address)", account))])
            return word(debt)
        finally:
            assert self.fast.request("evm_revert", [snapshot]), "the snapshot could not be restored"

    def simulate_liquidations(self, pairs: list[tuple[str, str]]) -> list[tuple[bool, str]]:
        items = [
            (
                self.env.keeper,
                self.env.engine,
                calldata("liquidate(address,address,uint256)", a, self.env.tokens[s], MAX_UINT),
            )
            for a, s in pairs
        ]
        return self.fast.try_calls(items)

    # ------------------------------------------------------------ reading the chain

    def _build_static_calls(self) -> list[tuple[str, str, tuple]]:
        env, calls = self.env, []
        for symbol, token in env.tokens.items():
            for holder in env.holders:
                calls.append((token, calldata("balanceOf(address)", holder), ("balance", symbol, holder)))
        for name in (
            "cash",
            "reserves",
            "total_debt",
            "total_scaled_debt",
            "totalAssets",
            "totalSupply",
            "total_bad_debt",
            "borrow_index",
            "available_liquidity",
            "paused",
        ):
            calls.append((env.vault, calldata(f"{name}()"), ("vault", name)))
        for lender in env.lenders:
            calls.append((env.vault, calldata("balanceOf(address)", lender), ("shares", lender)))
        for symbol in self.model.collaterals:
            # the vault's reserve account: the dust of accounts closed with a write-off
            calls.append(
                (
                    env.vault,
                    calldata("collateral_of(address,address)", env.vault, env.tokens[symbol]),
                    ("collateral", env.vault, symbol),
                )
            )
        for borrower in env.borrowers:
            calls.append((env.vault, calldata("debt_of(address)", borrower), ("debt", borrower)))
            calls.append((env.vault, calldata("scaled_debt_of(address)", borrower), ("scaled", borrower)))
            for symbol in self.model.collaterals:
                calls.append(
                    (
                        env.vault,
                        calldata("collateral_of(address,address)", borrower, env.tokens[symbol]),
                        ("collateral", borrower, symbol),
                    )
                )
        calls.append((env.lens, calldata("accounts_health(address[])", env.borrowers), ("health",)))
        for symbol, spec in self.model.collaterals.items():
            token = env.tokens[symbol]
            calls.append((env.vault, calldata("total_collateral(address)", token), ("total_collateral", symbol)))
            calls.append((env.queue, calldata("total_active(address)", token), ("total_active", symbol)))
            for slot in range(spec.max_slot + 1):
                calls.append((env.queue, calldata("slot_info(address,uint256)", token, slot), ("slot", symbol, slot)))
        calls.append((env.queue, calldata("next_bid_id()"), ("next_bid_id",)))
        return calls

    def read(self) -> ChainState:
        bid_ids = sorted(self.model.bids)  # deleted ones too: the chain must keep them deleted
        for bid_id in bid_ids:
            if bid_id not in self._bid_calls:
                self._bid_calls[bid_id] = (self.env.queue, calldata("bid_info(uint256)", bid_id))
        items = [(to, data) for to, data, _ in self._static_calls] + [self._bid_calls[i] for i in bid_ids]
        results = self.fast.calls(items)
        state = ChainState({s: {} for s in self.env.tokens}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0)
        for (_, _, key), data in zip(self._static_calls, results, strict=False):
            kind = key[0]
            if kind == "balance":
                state.balances[key[1]][key[2]] = word(data)
            elif kind == "vault":
                state.vault[key[1]] = word(data)
            elif kind == "shares":
                state.shares[key[1]] = word(data)
            elif kind == "debt":
                state.debts[key[1]] = word(data)
            elif kind == "scaled":
                state.scaled[key[1]] = word(data)
            elif kind == "collateral":
                state.collateral[(key[1], key[2])] = word(data)
            elif kind == "health":
                w = words(data)
                for i, borrower in enumerate(self.env.borrowers):
                    state.health[borrower] = tuple(w[2 + 6 * i : 8 + 6 * i])
            elif kind == "total_collateral":
                state.total_collateral[key[1]] = word(data)
            elif kind == "total_active":
                state.total_active[key[1]] = word(data)
            elif kind == "slot":
                state.slots[(key[1], key[2])] = tuple(words(data))
            elif kind == "next_bid_id":
                state.next_bid_id = word(data)
        for bid_id, data in zip(bid_ids, results[len(self._static_calls) :], strict=True):
            state.bids[bid_id] = tuple(words(data))
        # what each lender's shares are worth (one more batch only when someone holds shares)
        holders = [lender for lender in self.env.lenders if state.shares[lender]]
        if holders:
            worth = self.fast.calls(
                [(self.env.vault, calldata("convertToAssets(uint256)", state.shares[h])) for h in holders]
            )
            state.share_assets = {h: word(w) for h, w in zip(holders, worth, strict=True)}
        return state
