"""The system state machine again, with the mechanisms of the thin-market issue switched on.

The market of `test_system.py` is deployed with a Dutch-auction house wired to the engine, circuit breakers on
WETH (10%, 30 min) and WBTC (5%, 30 min), a volatility-adjusted opening limit on WETH (k = 3, floor 0.5) and
bids worth a fraction of the debt, so crashes outrun the queue. Rules: prices move (poked by the keeper or not),
time passes, the guardian confirms prices, borrowers repay, post collateral and borrow, bidders bid, the keeper
liquidates, buyers take auctions (sometimes with a too-low `max_price`), keepers redo and settle them, and the
owner changes liquidation thresholds (which must ramp).

Every step's outcome is predicted before it is sent: the breaker, the volatility estimate and the threshold
ramps by exact Python replays (tests/utils/oracle_model.py and a linear ramp), each take by the auction's
integer arithmetic (tests/utils/auction_model.py), and every revert by its reason, and a revert must change
nothing. After every step the DESIGN.md invariants that concern these mechanisms are checked by name:
1 (token conservation across vault, engine and auction house), 2 (debt and lender accounting), 3 (every
liquidatable account can be liquidated, here even with no bids, while its asset is not paused and it has no
auction running), 8 (bad debt only once the collateral is gone, reserves first), and the fallback's own
(auction bookkeeping, breaker state, volatility estimate, thresholds in force).

Budget: `FALLBACK_EXAMPLES` x `FALLBACK_STEPS` (ci profile 25 x 40, deep 200 x 60). A scripted crash runs the
same rules and checks through every mechanism in turn, so no path depends on the campaign's luck.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from tests.stateful.summary import RUN_SUMMARY, attacker_table
from tests.utils.auction_model import contract_take
from tests.utils.fast_chain import FastChain, Reverted, calldata, word, words
from tests.utils.oracle_model import Breaker, Observation, ltv_factor
from tests.utils.ramp_model import ramp_in_force

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
BUDGETS = {"ci": (25, 40), "deep": (200, 60)}
EXAMPLES, STEPS = BUDGETS.get(PROFILE, BUDGETS["ci"])
EXAMPLES = int(os.environ.get("FALLBACK_EXAMPLES", EXAMPLES))
STEPS = int(os.environ.get("FALLBACK_STEPS", STEPS))

WAD = 10**18
USD = 10**6  # the base asset, USDA, has 6 decimals
MAX_UINT = 2**256 - 1
SYMBOLS = ["WETH", "WBTC", "GOLD"]
BREAKERS = {"WETH": (10 * WAD // 100, 1_800), "WBTC": (5 * WAD // 100, 1_800)}
WETH_VOLATILITY = (90 * WAD // 100, 3 * WAD, WAD // 2)  # lambda, k, min_factor
LIQ_LTV_RAMP = 86_400
MOVES = [500, 700, 850, 920, 960, 990, 1010, 1040, 1080, 1200]
STAT = Counter()
SUMMARY = {"steps": 0, "seconds": 0.0}
# (attacker move, outcome) -> transactions, added to the session's table (summary.py)
ATTACKS: Counter = Counter()


def liq_ltv_in_force(ramp: tuple[int, int, int, int], now: int) -> int:
    """The vault's liq_ltv ramp: from `old` at `start` to `new` at `end`, rounded toward `old`."""
    old, new, start, end = ramp
    return new if now >= end else ramp_in_force(old, new, start, now, end - start)


@dataclasses.dataclass
class Market:
    fast: FastChain
    system: object
    owner: str
    guardian: str
    keeper: str
    taker: str
    lenders: list[str]
    borrowers: list[str]
    bidders: list[str]
    tokens: dict[str, str]
    feeds: dict[str, list[str]]
    decimals: dict[str, int]
    attacker: str = ""

    @property
    def holders(self) -> list[str]:
        return [self.keeper, self.taker, *self.lenders, *self.borrowers, *self.bidders]


@pytest.fixture(scope="module")
def fallback_market(project, accounts, chain, system_params):
    from ala.deploy import deploy_system
    from ala.params import AuctionParams
    from tests.utils.actions import Actions

    owner = accounts[0]
    thin = dataclasses.replace(system_params, auction=AuctionParams())
    system = deploy_system(project, owner, thin, chain)
    actions = Actions(system, owner, chain)
    guardian, keeper, taker, attacker = accounts[5], accounts[6], accounts[13], accounts[18]
    lenders, borrowers, bidders = (
        [accounts[1], accounts[14]],
        [accounts[2], accounts[15], accounts[16]],
        [
            accounts[3],
            accounts[17],
        ],
    )
    system.oracle.set_guardian(guardian, sender=owner)
    for symbol, (tolerance, delay) in BREAKERS.items():
        system.oracle.set_breaker(system.tokens[symbol], tolerance, delay, sender=owner)
    system.oracle.set_volatility_params(system.tokens["WETH"], *WETH_VOLATILITY, sender=owner)
    for symbol in SYMBOLS:
        system.oracle.poke(system.tokens[symbol], sender=keeper)

    for lender in lenders:
        actions.lend(lender, 1_000_000)
    positions = {0: [("WETH", 60)], 1: [("WBTC", 2), ("GOLD", 20)], 2: [("GOLD", 30), ("WETH", 10)]}
    for i, posts in positions.items():
        for symbol, amount in posts:
            actions.post(borrowers[i], symbol, amount)
    for borrower in borrowers:  # collateral of every kind to post later
        for symbol in SYMBOLS:
            actions.mint(symbol, borrower, 100, system.vault)
    actions.borrow(borrowers[0], 85_000)
    actions.borrow(borrowers[1], 90_000)
    actions.borrow(borrowers[2], 62_000)
    for who in (*borrowers, taker):
        actions.mint("USDA", who, 5_000_000, system.vault)
    actions.mint("USDA", taker, 5_000_000, system.auction)
    for bidder in bidders:
        actions.mint("USDA", bidder, 5_000_000, system.queue)
    # the attacker: collateral of every kind to post on others' accounts, base to bid dust with
    for symbol in SYMBOLS:
        actions.mint(symbol, attacker, 100, system.vault)
    actions.mint("USDA", attacker, 1_000, system.queue)
    # thin standing bids: about a tenth of the debt
    ids = [
        actions.submit(bidders[0], "WETH", 2, 6_000),
        actions.submit(bidders[1], "WBTC", 4, 5_000),
        actions.submit(bidders[0], "GOLD", 1, 4_000),
    ]
    actions.activate(ids)

    fast = FastChain(chain.provider.uri)
    market = Market(
        fast=fast,
        system=system,
        owner=owner.address,
        guardian=guardian.address,
        keeper=keeper.address,
        taker=taker.address,
        lenders=[a.address for a in lenders],
        borrowers=[a.address for a in borrowers],
        bidders=[a.address for a in bidders],
        tokens={s: t.address for s, t in system.tokens.items()},
        feeds={s: [f.address for f in feeds] for s, feeds in system.feeds.items()},
        decimals={s: t.decimals() for s, t in system.tokens.items()},
        attacker=attacker.address,
    )
    fast.freeze_time()
    try:
        yield market
    finally:
        fast.unfreeze_time()


class FallbackMachine(RuleBasedStateMachine):
    m: Market
    chain = None

    def __init__(self) -> None:
        super().__init__()
        self.snapshot = self.chain.snapshot()
        m, s = self.m, self.m.system
        self.fast = m.fast
        self.engine, self.vault, self.oracle = s.engine.address, s.vault.address, s.oracle.address
        self.lens = s.lens.address
        self.house, self.queue = s.auction.address, s.queue.address
        # the engine's auction settlement: it opens, books and releases the auctions
        self.settlement = s.auctions.address
        # a restored snapshot does not rewind the node's clock: pin the next block a second after the head
        self.now = self.fast.head()[1] + 1
        self.fast.set_next_timestamp(self.now)
        self.fast.request("evm_mine", [])
        self.breakers: dict[str, Breaker] = {}
        self.observations: dict[str, Observation] = {}
        for symbol in SYMBOLS:
            token = m.tokens[symbol]
            status = words(self.call(self.oracle, "breaker_status(address)", token))
            if symbol in BREAKERS:
                breaker = Breaker(*BREAKERS[symbol])
                breaker.accepted, breaker.accepted_at = status[1], status[2]
                self.breakers[symbol] = breaker
            lam = WETH_VOLATILITY[0] if symbol == "WETH" else Observation().lam
            self.observations[symbol] = Observation(
                lam=lam,
                price=self.price(symbol),
                updated_at=self.updated_at(symbol),
                variance=word(self.call(self.oracle, "variance(address)", token)),
            )
        self.floors = {symbol: self.answer(symbol) // 50 for symbol in SYMBOLS}
        self.ramps = {}
        for symbol in SYMBOLS:
            liq = words(self.call(self.engine, "collateral_config(address)", m.tokens[symbol]))[1]
            self.ramps[symbol] = (liq, liq, 0, 0)
        self.auctions: list[int] = []
        self.pending_bids: list[tuple[int, int]] = []  # (bid id, due at)
        self.bad_debt = word(self.call(self.vault, "total_bad_debt()"))
        self.step_started = time.monotonic()
        self.acting_as: str | None = None

    def teardown(self) -> None:
        SUMMARY["seconds"] += time.monotonic() - self.step_started
        self.chain.restore(self.snapshot)

    # ------------------------------------------------------------ plumbing

    def call(self, to: str, signature: str, *args) -> str:
        return self.fast.calls([(to, calldata(signature, *args))])[0]

    def price(self, symbol: str) -> int:
        return word(self.call(self.oracle, "price(address)", self.m.tokens[symbol]))

    def updated_at(self, symbol: str) -> int:
        return max(words(self.call(feed, "latestRoundData()"))[3] for feed in self.m.feeds[symbol])

    def send(self, sender: str, to: str, signature: str, *args, expect: str | None = None) -> dict | None:
        """Send; `expect` is the predicted revert reason (None: success). A revert must change nothing."""
        if self.acting_as:
            ATTACKS[(self.acting_as, "succeeded" if expect is None else f"revert: {expect}")] += 1
        data = calldata(signature, *args)
        if expect is not None:
            ok, reason = self.fast.simulate(sender, to, data)
            assert not ok and reason == expect, f"{signature}: expected revert {expect!r}, got {ok}, {reason!r}"
            receipt = self.fast.send(sender, to, data)
            assert int(receipt["status"], 16) == 0
            diff = self.fast.state_diff(receipt)
            for address, post in diff.get("post", {}).items():
                assert "storage" not in post, f"a reverted {signature} wrote to {address}"
            STAT[f"revert: {expect}"] += 1
            return None
        try:
            receipt = self.fast.transact(sender, to, data)
        except Reverted as error:
            raise AssertionError(f"{signature} was expected to succeed: {error.reason}") from None
        STAT[signature.split("(")[0]] += 1
        return receipt

    def balance(self, symbol: str, holder: str) -> int:
        return word(self.call(self.m.tokens[symbol], "balanceOf(address)", holder))

    def health(self, account: str) -> list[int]:
        return words(self.call(self.lens, "account_health(address)", account))

    def running_auction(self, account: str) -> int:
        return word(self.call(self.settlement, "auction_of(address)", account))

    def info(self, auction_id: int) -> list[int]:
        return words(self.call(self.house, "auction_info(uint256)", auction_id))

    def poke(self, symbol: str, sender: str) -> None:
        price, updated = self.price(symbol), self.updated_at(symbol)
        self.send(sender, self.oracle, "poke(address)", self.m.tokens[symbol])
        self.observations[symbol].observe(price, updated)
        if symbol in self.breakers:
            self.breakers[symbol].poke(price, self.now)

    def paused(self, symbol: str) -> bool:
        breaker = self.breakers.get(symbol)
        return breaker is not None and breaker.paused(self.price(symbol))

    def move_answer(self, symbol: str, move: int) -> None:
        """Move `symbol`'s feeds by `move` per mille, never below 2% of where the example started."""
        self.set_answer(symbol, max(self.answer(symbol) * move // 1000, self.floors[symbol]))

    def set_answer(self, symbol: str, answer: int) -> None:
        for feed in self.m.feeds[symbol]:
            self.fast.transact(self.m.owner, feed, calldata("update_answer(int256)", answer))

    def answer(self, symbol: str) -> int:
        return words(self.call(self.m.feeds[symbol][0], "latestRoundData()"))[1]

    # ------------------------------------------------------------ prices, time, guardian

    @rule(symbol=st.sampled_from(SYMBOLS), move=st.sampled_from(MOVES), poked=st.booleans())
    def price_moves(self, symbol, move, poked):
        self.move_answer(symbol, move)
        if poked:
            self.poke(symbol, self.m.keeper)

    @rule(move=st.sampled_from([400, 600, 750]))
    def everything_crashes(self, move):
        for symbol in SYMBOLS:
            self.move_answer(symbol, move)
            self.poke(symbol, self.m.keeper)

    @rule(symbol=st.sampled_from(SYMBOLS))
    def keeper_pokes(self, symbol):
        self.poke(symbol, self.m.keeper)

    @rule(seconds=st.sampled_from([60, 600, 1_799, 1_800, 3_600, 9_000, 86_400]))
    def time_passes(self, seconds):
        self.now += seconds
        self.fast.set_next_timestamp(self.now)
        self.fast.request("evm_mine", [])
        for symbol in self.m.feeds:  # feeds stay fresh (the base asset's too): the same answers, re-posted now
            self.set_answer(symbol, self.answer(symbol))

    @rule(symbol=st.sampled_from(sorted(BREAKERS)), who=st.sampled_from(["guardian", "stranger"]))
    def guardian_confirms_the_price(self, symbol, who):
        sender = self.m.guardian if who == "guardian" else self.m.bidders[0]
        breaker = self.breakers[symbol]
        if who == "stranger":
            expect = "oracle: not owner or guardian"
        elif not breaker.tripped:
            expect = "oracle: breaker not tripped"
        else:
            expect = None
        price, updated = self.price(symbol), self.updated_at(symbol)
        if self.send(sender, self.oracle, "confirm_price(address)", self.m.tokens[symbol], expect=expect):
            self.observations[symbol].observe(price, updated)
            breaker.accept(price, self.now)

    # ------------------------------------------------------------ borrowers and bidders

    @rule(who=st.integers(0, 2), pct=st.integers(1, 100))
    def borrower_repays_even_while_paused(self, who, pct):
        account = self.m.borrowers[who]
        debt = word(self.call(self.vault, "debt_of(address)", account))
        if debt == 0:
            return
        self.send(account, self.vault, "repay(uint256,address)", max(1, debt * pct // 100), account)

    @rule(who=st.integers(0, 2), symbol=st.sampled_from(SYMBOLS), tenths=st.integers(1, 30))
    def borrower_posts_collateral_even_while_paused(self, who, symbol, tenths):
        account, token = self.m.borrowers[who], self.m.tokens[symbol]
        amount = tenths * 10 ** self.m.decimals[symbol] // 10
        self.send(account, self.vault, "add_collateral(address,uint256,address)", token, amount, account)

    @rule(who=st.integers(0, 2), usd=st.integers(100, 60_000))
    def borrower_borrows_within_volatility_adjusted_limits(self, who, usd):
        """The opening LTV limit is Σ value_i · max_ltv_i · ltv_factor_i; the factor shrinks with WETH's
        volatility. A borrow within it (with room for rounding) must not fail for the LTV, one beyond it must."""
        account = self.m.borrowers[who]
        if self.running_auction(account):
            return
        capacity = Fraction(0)
        for symbol in SYMBOLS:
            token = self.m.tokens[symbol]
            held = word(self.call(self.vault, "collateral_of(address,address)", account, token))
            max_ltv = words(self.call(self.engine, "collateral_config(address)", token))[0]
            obs = self.observations[symbol]
            factor = ltv_factor(obs.variance, WETH_VOLATILITY[1], WETH_VOLATILITY[2]) if symbol == "WETH" else WAD
            assert word(self.call(self.oracle, "ltv_factor(address)", token)) == factor
            value = Fraction(held * self.price(symbol), 10 ** self.m.decimals[symbol])
            capacity += value * max_ltv * factor / WAD / WAD
        debt = word(self.call(self.vault, "debt_of(address)", account)) + usd * USD
        debt_value = Fraction(debt * self.price("USDA"), USD)
        data = calldata("borrow(uint256,address)", usd * USD, account)
        ok, reason = self.fast.simulate(account, self.vault, data)
        if debt_value * (1 + Fraction(1, 10**9)) < capacity:
            assert ok or reason != "engine: exceeds max ltv", "a borrow within the opening limit failed on LTV"
        if debt_value > capacity * (1 + Fraction(1, 10**9)):
            assert not ok, "a borrow beyond the volatility-adjusted limit succeeded"
            assert reason in ("engine: exceeds max ltv", "vault: insufficient liquidity"), reason
        self.send(account, self.vault, "borrow(uint256,address)", usd * USD, account, expect=None if ok else reason)

    @rule(who=st.integers(0, 1), symbol=st.sampled_from(SYMBOLS), slot=st.integers(0, 10), usd=st.integers(500, 20_000))
    def bidder_bids(self, who, symbol, slot, usd):
        bidder = self.m.bidders[who]
        receipt = self.send(
            bidder, self.queue, "submit_bid(address,uint256,uint256)", self.m.tokens[symbol], slot, usd * USD
        )
        bid_id = word(self.call(self.queue, "next_bid_id()")) - 1
        assert receipt is not None
        self.pending_bids.append((bid_id, self.now + 600))

    @precondition(lambda self: self.pending_bids)
    @rule()
    def keeper_activates_due_bids(self):
        due = [bid for bid, at in self.pending_bids if at <= self.now]
        if not due:
            self.send(
                self.m.keeper,
                self.queue,
                "activate_bids(uint256[])",
                [self.pending_bids[0][0]],
                expect="queue: bid not due",
            )
            return
        self.send(self.m.keeper, self.queue, "activate_bids(uint256[])", due)
        self.pending_bids = [(b, at) for b, at in self.pending_bids if at > self.now]

    # ------------------------------------------------------------ owner: thresholds ramp

    @rule(symbol=st.sampled_from(SYMBOLS), delta=st.sampled_from([-10, -5, -2, 2, 5]))
    def owner_moves_liq_ltv(self, symbol, delta):
        """The step itself makes no account liquidatable: in its block the old threshold is still in force."""
        token = self.m.tokens[symbol]
        risk_factor = words(self.call(self.engine, "collateral_config(address)", token))[2]
        current = liq_ltv_in_force(self.ramps[symbol], self.now)
        new = min(max(current + delta * WAD // 100, 50 * WAD // 100), 97 * WAD // 100)
        new_max = min(new, current) - 5 * WAD // 100
        before = [self.health(b)[5] for b in self.m.borrowers]
        self.send(
            self.m.owner,
            self.engine,
            "configure_collateral(address,uint256,uint256,uint256)",
            token,
            new_max,
            new,
            risk_factor,
        )
        self.ramps[symbol] = (current, new, self.now, self.now + LIQ_LTV_RAMP) if new != current else (new, new, 0, 0)
        assert [self.health(b)[5] for b in self.m.borrowers] == before, "a threshold step flipped an account"

    # ------------------------------------------------------------ keeper: liquidations and auctions

    @rule(who=st.integers(0, 2), symbol=st.sampled_from(SYMBOLS))
    def keeper_liquidates(self, who, symbol, caller: str | None = None):
        account, token = self.m.borrowers[who], self.m.tokens[symbol]
        caller = self.m.keeper if caller is None else caller
        held = word(self.call(self.vault, "collateral_of(address,address)", account, token))
        running = self.running_auction(account)
        finished = running and self.info(running)[8]
        if self.paused(symbol):
            expect = "engine: liquidations paused"
        elif running and not finished:
            expect = "engine: auction running"
        elif running:
            return  # a finished auction settles first, which changes the health the prediction would need
        elif not self.health(account)[5]:
            expect = "engine: healthy"
        elif held == 0:
            expect = "engine: no such collateral"
        else:
            expect = None
        reserves, assets = word(self.call(self.vault, "reserves()")), word(self.call(self.vault, "totalAssets()"))
        receipt = self.send(
            caller, self.engine, "liquidate(address,address,uint256)", account, token, MAX_UINT, expect=expect
        )
        if receipt is None:
            return
        opened = self.running_auction(account)
        if opened:
            self.auctions.append(opened)
            info = self.info(opened)
            assert info[0] == int(account, 16) and info[1] == int(token, 16)
            assert 0 < info[2] <= held and info[3] == info[4] > 0
            STAT["auction opened"] += 1
        self.check_bad_debt(account, reserves, assets)

    @rule(k=st.integers(0, 10**6))
    def keeper_liquidates_a_liquidatable_account(self, k):
        """What a keeper does: pick an account and collateral that can be liquidated now (invariant 3 says
        every such pair succeeds), whether or not bids stand for that collateral."""
        candidates = []
        for account in self.m.borrowers:
            if self.running_auction(account) or not self.health(account)[5]:
                continue
            for symbol in SYMBOLS:
                held = word(self.call(self.vault, "collateral_of(address,address)", account, self.m.tokens[symbol]))
                if held and not self.paused(symbol):
                    candidates.append((self.m.borrowers.index(account), symbol))
        if candidates:
            self.keeper_liquidates(*candidates[k % len(candidates)])

    @precondition(lambda self: self.auctions)
    @rule(
        k=st.integers(0, 10**6), pct=st.sampled_from([1, 10, 50, 99, 100]), stingy=st.sampled_from([False] * 4 + [True])
    )
    def taker_takes(self, k, pct, stingy):
        live = [i for i in self.auctions if not self.info(i)[8]]
        if not live:
            return
        auction_id = live[k % len(live)]
        account, collateral, lot, tab, *_ = self.info(auction_id)
        account, collateral = f"0x{account:040x}", f"0x{collateral:040x}"
        symbol = next(s for s, t in self.m.tokens.items() if t.lower() == collateral)
        price = words(self.call(self.house, "auction_status(uint256)", auction_id))[1]
        amount = max(1, lot * pct // 100)
        dust = word(self.call(self.house, "dust()"))
        try:
            bought, owe = contract_take(price, amount, tab, lot, dust, 6, self.m.decimals[symbol])
            expect = None
        except ValueError as error:
            expect = str(error)
        if stingy:
            expect = "auction: too expensive"
        held_before = self.balance(symbol, self.m.taker)
        base_before, engine_before = self.balance("USDA", self.m.taker), self.balance("USDA", self.settlement)
        wallet_before = self.balance(symbol, account)
        receipt = self.send(
            self.m.taker,
            self.house,
            "take(uint256,uint256,uint256,address,bytes)",
            auction_id,
            amount,
            price - 1 if stingy else price,
            self.m.taker,
            b"",
            expect=expect,
        )
        if receipt is None:
            return
        assert self.balance(symbol, self.m.taker) - held_before == bought
        assert base_before - self.balance("USDA", self.m.taker) == owe
        assert self.balance("USDA", self.settlement) - engine_before == owe, "proceeds go to the settlement"
        info = self.info(auction_id)
        assert (info[2], info[3]) == ((lot - bought, tab - owe) if not info[8] else (info[2], info[3]))
        if info[8] and tab - owe == 0:
            # the tab is raised: the unsold lot goes back to the borrower
            assert self.balance(symbol, account) - wallet_before == lot - bought
            STAT["auction raised its tab"] += 1
        elif info[8]:
            STAT["auction sold out short"] += 1

    @precondition(lambda self: self.auctions)
    @rule(k=st.integers(0, 10**6))
    def keeper_redoes(self, k):
        live = [i for i in self.auctions if not self.info(i)[8]]
        if not live:
            return
        auction_id = live[k % len(live)]
        needs_redo = word(self.call(self.house, "auction_status(uint256)", auction_id))
        expect = None if needs_redo else "auction: cannot reset"
        if self.send(self.m.keeper, self.house, "redo(uint256,address)", auction_id, self.m.keeper, expect=expect):
            info = self.info(auction_id)
            assert info[7] == self.now and not word(self.call(self.house, "auction_status(uint256)", auction_id))

    @precondition(lambda self: self.auctions)
    @rule(k=st.integers(0, 10**6))
    def anyone_settles(self, k):
        auction_id = self.auctions[k % len(self.auctions)]
        account = f"0x{self.info(auction_id)[0]:040x}"
        expect = None if self.running_auction(account) == auction_id else "auctions: auction already settled"
        reserves, assets = word(self.call(self.vault, "reserves()")), word(self.call(self.vault, "totalAssets()"))
        if self.send(self.m.bidders[1], self.settlement, "settle_auction(uint256)", auction_id, expect=expect):
            info = self.info(auction_id)
            assert word(self.call(self.settlement, "auction_booked(uint256)", auction_id)) == info[5]
            assert (self.running_auction(account) == 0) == bool(info[8]), "settled and finished release the account"
            self.check_bad_debt(account, reserves, assets)

    # ------------------------------------------------------------ the attacker
    # Later rules slot in here: with per-collateral auctions, `keeper_liquidates` expects "engine: auction running"
    # only for the auctioned collateral; with the dust-auction floor, `borrower_self_liquidates_into_an_auction`
    # opens no auction below it (and invariant 9 drops its "or auctioned" branch); with a minimum bid,
    # `attacker_bids_dust_into_every_slot` expects the queue's reason below it.

    def attack(self, kind: str, play) -> None:
        self.acting_as = kind
        try:
            play()
        finally:
            self.acting_as = None

    @rule(who=st.integers(0, 2), symbol=st.sampled_from(SYMBOLS), whole=st.booleans())
    def attacker_adds_dust_collateral_to_another_account(self, who, symbol, whole):
        account, token = self.m.borrowers[who], self.m.tokens[symbol]
        amount = 10 ** self.m.decimals[symbol] if whole else 1
        kind = "dust collateral (a whole token)" if whole else "dust collateral (one unit)"
        self.attack(
            kind,
            lambda: self.send(
                self.m.attacker, self.vault, "add_collateral(address,uint256,address)", token, amount, account
            ),
        )

    @rule(symbol=st.sampled_from(SYMBOLS))
    def attacker_bids_dust_into_every_slot(self, symbol):
        def play() -> None:
            for slot in range(11):
                self.send(
                    self.m.attacker, self.queue, "submit_bid(address,uint256,uint256)", self.m.tokens[symbol], slot, 1
                )
                bid_id = word(self.call(self.queue, "next_bid_id()")) - 1
                self.pending_bids.append((bid_id, self.now + 600))

        self.attack("dust bids", play)

    @rule(who=st.integers(0, 2), symbol=st.sampled_from(SYMBOLS))
    def borrower_self_liquidates_into_an_auction(self, who, symbol):
        """A borrower liquidates its own account: with thin bids the rest of the slice goes to a Dutch auction of
        its own, which blocks every other liquidation of the account while it runs (the rule a later change makes
        per collateral)."""
        self.attack("self-liquidation", lambda: self.keeper_liquidates(who, symbol, caller=self.m.borrowers[who]))

    def check_bad_debt(self, account: str, reserves: int, assets: int) -> None:
        """Invariant 8 around one step: bad debt only once the account's collateral is gone (none left in the
        vault, none being auctioned), and reserves absorb it before lenders."""
        bad = word(self.call(self.vault, "total_bad_debt()"))
        written = bad - self.bad_debt
        self.bad_debt = bad
        if written == 0:
            return
        STAT["bad debt written off"] += 1
        for symbol in SYMBOLS:
            assert word(self.call(self.vault, "collateral_of(address,address)", account, self.m.tokens[symbol])) == 0
        assert self.running_auction(account) == 0
        assert word(self.call(self.vault, "debt_of(address)", account)) == 0
        reserves_after = word(self.call(self.vault, "reserves()"))
        assert reserves_after == reserves - min(written, reserves), "reserves absorb bad debt first"
        lost = assets - word(self.call(self.vault, "totalAssets()"))
        assert lost <= max(0, written - reserves) + 2, "lenders lose only what the reserves could not absorb"

    # ------------------------------------------------------------ invariants

    @invariant()
    def count_step(self):
        SUMMARY["steps"] += 1

    @invariant()
    def invariant_1_token_conservation(self):
        """Collateral: the vault holds every posted unit, the auction house every unit it sells. Base: the
        settlement holds exactly the refunds it keeps plus the proceeds it has not booked yet."""
        m = self.m
        infos = {i: self.info(i) for i in self.auctions}
        for symbol in SYMBOLS:
            token = m.tokens[symbol]
            posted = sum(word(self.call(self.vault, "collateral_of(address,address)", b, token)) for b in m.borrowers)
            assert word(self.call(self.vault, "total_collateral(address)", token)) == posted
            assert self.balance(symbol, self.vault) >= posted
            selling = sum(info[2] for info in infos.values() if info[1] == int(token, 16) and not info[8])
            assert word(self.call(self.house, "held(address)", token)) == selling
            assert self.balance(symbol, self.house) >= selling
        unbooked = sum(
            info[5] - word(self.call(self.settlement, "auction_booked(uint256)", i)) for i, info in infos.items()
        )
        refunds = sum(word(self.call(self.settlement, "refunds(address)", b)) for b in m.borrowers)
        assert self.balance("USDA", self.settlement) == refunds + unbooked
        assert self.balance("USDA", self.vault) >= word(self.call(self.vault, "cash()"))

    @invariant()
    def invariant_2_debt_and_lender_accounting(self):
        total = word(self.call(self.vault, "total_debt()"))
        debts = sum(word(self.call(self.vault, "debt_of(address)", b)) for b in self.m.borrowers)
        assert abs(total - debts) <= len(self.m.borrowers)
        cash, reserves = word(self.call(self.vault, "cash()")), word(self.call(self.vault, "reserves()"))
        assert word(self.call(self.vault, "totalAssets()")) <= cash + total - reserves + 1

    @invariant()
    def invariant_3_every_liquidatable_account_can_be_liquidated(self):
        """With the auction house wired, bids are no longer needed: the only things that may stop the
        liquidation of a liquidatable account are its asset's breaker and an auction already running for it.
        One collateral may still refuse (`engine: no active bids`) when what the account holds of it is worth
        less than `dust_value`: no bid buys a unit of it and no auction opens below the floor. The account is then
        liquidated against another collateral, or closed as dust, so at least one of its collaterals goes through
        unless a breaker holds one of them."""
        dust = word(self.call(self.engine, "dust_value()"))
        items, labels = [], []
        for account in self.m.borrowers:
            if self.running_auction(account) or not self.health(account)[5]:
                continue
            for symbol in SYMBOLS:
                token = self.m.tokens[symbol]
                held = word(self.call(self.vault, "collateral_of(address,address)", account, token))
                if self.paused(symbol) or not held:
                    continue
                items.append(
                    (
                        self.m.keeper,
                        self.engine,
                        calldata("liquidate(address,address,uint256)", account, token, MAX_UINT),
                    )
                )
                labels.append((account, symbol, held * self.price(symbol) // 10 ** self.m.decimals[symbol]))
        went_through: dict[str, bool] = {}
        for (account, symbol, value), (ok, reason) in zip(labels, self.fast.try_calls(items), strict=True):
            went_through[account] = went_through.get(account, False) or ok
            if not ok and reason == "engine: no active bids" and value < dust:
                STAT["invariant 3: dust collateral refused beside another"] += 1
                continue
            assert ok, f"{account} is liquidatable against {symbol} but liquidate reverts: {reason}"
        for account, ok in went_through.items():
            if not any(self.paused(s) for s in SYMBOLS):
                assert ok, f"invariant 3: {account} is liquidatable and no collateral of it liquidates"

    @invariant()
    def invariant_9_no_hidden_bad_debt(self):
        """An account that owes while its collateral is all priced and worth less than dust_value is closed by the
        next liquidation, whatever the attacker did: one is sent in a snapshot that is reverted, and the account
        must then owe nothing, or have handed its dust to an auction (main today: a dust slice is auctioned, and
        the settlement of the ended auction writes the rest off; the dust-auction floor will remove that branch)."""
        dust = word(self.call(self.engine, "dust_value()"))
        for account in self.m.borrowers:
            health = self.health(account)
            if not health[5] or self.running_auction(account) or health[0] >= dust:
                continue
            held = [
                s
                for s in SYMBOLS
                if word(self.call(self.vault, "collateral_of(address,address)", account, self.m.tokens[s]))
            ]
            usable = [s for s in held if not self.paused(s)]
            if not usable:
                continue
            STAT["invariant 9: dust accounts liquidated in a snapshot"] += 1
            snapshot = self.fast.request("evm_snapshot")
            try:
                data = calldata("liquidate(address,address,uint256)", account, self.m.tokens[usable[0]], MAX_UINT)
                receipt = self.fast.send(self.m.keeper, self.engine, data)
                assert int(receipt["status"], 16) == 1, f"invariant 9: {self.fast.failure_reason(receipt)}"
                debt = word(self.call(self.vault, "debt_of(address)", account))
                auctioned = self.running_auction(account)
            finally:
                assert self.fast.request("evm_revert", [snapshot])
            assert debt == 0 or auctioned, f"invariant 9: {account} still owes {debt} against dust, no auction"
            if auctioned and debt:
                STAT["invariant 9: dust handed to an auction (dust-auction floor pending)"] += 1

    @invariant()
    def invariant_auctions_are_booked_and_priced_on_the_curve(self):
        for auction_id in self.auctions:
            account, _, lot, tab, due, raised, top, started_at, finished = self.info(auction_id)
            assert raised == due - tab
            booked = word(self.call(self.settlement, "auction_booked(uint256)", auction_id))
            assert booked <= raised
            if not finished:
                price = word(self.call(self.house, "auction_price(uint256)", auction_id))
                assert 0 < price <= top and lot > 0 and tab > 0 and started_at <= self.now
                assert self.running_auction(f"0x{account:040x}") == auction_id, "a running auction blocks its account"

    @invariant()
    def invariant_breakers_and_volatility_follow_their_models(self):
        for symbol in SYMBOLS:
            token = self.m.tokens[symbol]
            tripped, accepted, accepted_at, candidate, tripped_at, _ = words(
                self.call(self.oracle, "breaker_status(address)", token)
            )
            paused = word(self.call(self.engine, "liquidations_paused(address)", token))
            breaker = self.breakers.get(symbol)
            if breaker is None:
                assert not tripped and not paused
            else:
                assert (tripped, accepted, accepted_at, candidate, tripped_at) == (
                    breaker.tripped,
                    breaker.accepted,
                    breaker.accepted_at,
                    breaker.candidate,
                    breaker.tripped_at,
                )
                assert bool(paused) == breaker.paused(self.price(symbol))
            assert word(self.call(self.oracle, "variance(address)", token)) == self.observations[symbol].variance

    @invariant()
    def invariant_thresholds_in_force_follow_their_ramps(self):
        for symbol in SYMBOLS:
            liq = words(self.call(self.engine, "collateral_config(address)", self.m.tokens[symbol]))[1]
            assert liq == liq_ltv_in_force(self.ramps[symbol], self.now)


def test_fallbacks_state_machine(fallback_market, chain):
    FallbackMachine.m = fallback_market
    FallbackMachine.chain = chain
    started = time.monotonic()
    run_state_machine_as_test(
        FallbackMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            phases=[Phase.generate, Phase.target, Phase.shrink],
            derandomize=PROFILE == "ci",
            database=None,
        ),
    )
    seconds = time.monotonic() - started
    print(
        f"\nfallback machine: {SUMMARY['steps']} steps in {seconds:.1f} s = {60 * SUMMARY['steps'] / seconds:,.0f}/min"
    )
    for key, count in sorted(STAT.items()):
        print(f"  {key}: {count}")
    RUN_SUMMARY["attacker"] = RUN_SUMMARY["attacker"] + ATTACKS
    for line in attacker_table(ATTACKS):
        print(line)
    assert STAT["liquidate"] > 0 and STAT["poke"] > 0, "the campaign never liquidated"


# A crash played through the same machine, every invariant checked after every step: the paths a random campaign
# reaches only by luck (a trip and its persistence, an auction taken, redone, taken out and settled) every time.
SCRIPT = [
    ("price_moves", {"symbol": "WETH", "move": 800, "poked": True}),  # -20%: the breaker trips
    ("keeper_liquidates", {"who": 0, "symbol": "WETH"}),  # paused
    ("guardian_confirms_the_price", {"symbol": "WETH", "who": "stranger"}),
    ("time_passes", {"seconds": 1_800}),
    ("keeper_pokes", {"symbol": "WETH"}),  # the move persisted past the delay: accepted
    ("keeper_liquidates", {"who": 0, "symbol": "WETH"}),  # the bids raise 6,000 USDA: the rest goes to auction
    ("keeper_liquidates", {"who": 0, "symbol": "WETH"}),  # the account's auction is running
    ("keeper_redoes", {"k": 0}),  # not due
    ("taker_takes", {"k": 0, "pct": 10, "stingy": True}),  # max_price one wei low
    ("taker_takes", {"k": 0, "pct": 10, "stingy": False}),
    ("anyone_settles", {"k": 0}),  # books the proceeds, the auction runs on
    ("time_passes", {"seconds": 9_000}),  # past tail
    ("keeper_redoes", {"k": 0}),
    ("taker_takes", {"k": 0, "pct": 100, "stingy": False}),  # raises the rest of the tab
    ("anyone_settles", {"k": 0}),  # releases the account
    ("anyone_settles", {"k": 0}),  # already settled
    ("borrower_borrows_within_volatility_adjusted_limits", {"who": 2, "usd": 100}),
    ("borrower_borrows_within_volatility_adjusted_limits", {"who": 1, "usd": 60_000}),  # beyond the limit
    ("owner_moves_liq_ltv", {"symbol": "GOLD", "delta": -10}),
    ("time_passes", {"seconds": 3_600}),
    ("borrower_repays_even_while_paused", {"who": 0, "pct": 100}),
]


def test_fallbacks__scripted_crash__every_mechanism_in_turn(fallback_market, chain):
    FallbackMachine.m = fallback_market
    FallbackMachine.chain = chain
    before = Counter(STAT)
    machine = FallbackMachine()
    checks = [getattr(machine, name) for name in dir(machine) if name.startswith("invariant_")]
    try:
        for name, kwargs in SCRIPT:
            getattr(machine, name)(**kwargs)
            for check in checks:
                check()
    finally:
        machine.teardown()
    seen = Counter(STAT)
    seen.subtract(before)
    for needed in (
        "revert: engine: liquidations paused",
        "revert: oracle: not owner or guardian",
        "auction opened",
        "revert: engine: auction running",
        "revert: auction: cannot reset",
        "revert: auction: too expensive",
        "redo",
        "auction raised its tab",
        "revert: auctions: auction already settled",
        "revert: engine: exceeds max ltv",
        "configure_collateral",
    ):
        assert seen[needed] > 0, f"the script never reached {needed!r}: {dict(seen)}"
    assert seen["take"] == 2 and seen["settle_auction"] == 2
