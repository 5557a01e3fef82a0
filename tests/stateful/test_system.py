"""The whole system as a hypothesis state machine, checked against an exact Python model after every step.

Lenders deposit, withdraw and redeem; borrowers add and remove collateral, borrow and repay; bidders submit,
activate, retract and claim; prices move (drifts, crashes, spikes, the base asset too); time passes (interest,
activation periods; feeds are re-posted after every jump); the owner and the guardian change parameters and pause;
the keeper liquidates, sometimes in the very block in which a bid becomes active. An attacker acts among them: dust
collateral on other accounts, dust bids in every slot, a `max_repay` that leaves dust, self-liquidation, stale side
feeds, against collateral of 18, 8, 6, 2 and 0 decimals. Each step's transaction is predicted by `SystemModel`
(success and every amount, or the exact revert reason) and a revert must change nothing.

After every step invariants 1 to 11 of DESIGN.md are checked, each in its own `invariant_<n>_...` method:
the chain is read in one JSON-RPC batch and compared with the model; liquidations of the step leave `Evidence`
(the model before and after, the SlotFilled and Liquidation events) that invariants 3, 4, 6, 7, 8, 9, 10 and 11
examine; `liquidate` is simulated for every (borrower, collateral) pair at every step (invariants 3 and 10), and a
liquidatable account that owes against dust is liquidated inside a snapshot that is reverted (invariant 9).

Budget: `STATEFUL_EXAMPLES` x `STATEFUL_STEPS` per hypothesis profile (ci: >= 3,000 steps; deep: >= 50,000),
overridable with the environment variables of the same names (`STATEFUL_SHRINK=0` skips shrinking). The run prints
steps per minute, and a progress line every 5,000 steps.
"""

from __future__ import annotations

import math
import os
import time
from fractions import Fraction

from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from tests.stateful.driver import RATE_CHOICES, ChainState, Driver
from tests.stateful.model import INFINITE, MAX_UINT, WAD, Revert, SystemModel, ceil_div
from tests.stateful.summary import RUN_SUMMARY
from tests.utils.fast_chain import calldata, words

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
# (examples, steps per example, the fewest steps the campaign must run): hypothesis ends a few examples early
BUDGETS = {"ci": (80, 50, 3_000), "deep": (620, 100, 50_000)}
EXAMPLES, STEPS, MIN_STEPS = BUDGETS.get(PROFILE, BUDGETS["ci"])
EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", EXAMPLES))
STEPS = int(os.environ.get("STATEFUL_STEPS", STEPS))
P_FLOOR = 10**27
PROGRESS_EVERY = 5_000  # steps between progress lines (visible with -s)
# collateral of 18, 8, 6, 0 and 2 decimals (DEED and BOND are listed by the market fixture)
SYMBOLS = ["WETH", "WBTC", "GOLD", "DEED", "BOND"]
KEEPER_PICK = len(SYMBOLS)  # `_collateral_for`: the held collateral with the most usable bids
# price moves, per mille: drifts, crashes and spikes
MOVES = [300, 500, 700, 850, 900, 950, 980, 995, 1005, 1020, 1050, 1100, 1250, 1500, 2000, 3000]
CRASHES = [300, 500, 700, 850, 950]
BASE_MOVES = [970, 990, 1010, 1030]
DAY = 86_400

actor = st.integers(0, 2)
pick = st.integers(0, 10**6)  # an index into whatever list the rule picks from
percent = st.integers(1, 100)
everything = st.booleans()


class SystemMachine(RuleBasedStateMachine):
    driver: Driver
    base_model: SystemModel
    chain = None

    def __init__(self) -> None:
        super().__init__()
        self.snapshot = self.chain.snapshot()
        self.driver.model = self.base_model.clone()
        self.driver.evidence, self.driver.reverted = [], False
        self.initial_answers = dict(self.base_model.answers)
        self.step = 0
        self.state: ChainState = self.driver.read()
        RUN_SUMMARY["examples"] += 1

    def teardown(self) -> None:
        self.chain.restore(self.snapshot)

    # ------------------------------------------------------------ plumbing

    @property
    def model(self) -> SystemModel:
        return self.driver.model

    @property
    def env(self):
        return self.driver.env

    def begin(self) -> ChainState:
        self.step += 1
        RUN_SUMMARY["steps"] += 1
        if RUN_SUMMARY["steps"] % PROGRESS_EVERY == 0:
            steps, minutes = RUN_SUMMARY["steps"], (time.monotonic() - RUN_SUMMARY["started"]) / 60
            print(f"  {steps:>7,} steps, {minutes:5.1f} min, {steps / minutes:,.0f} steps/min")
        self.driver.evidence = []
        self.driver.reverted = False
        return self.state

    def end(self, before: ChainState) -> None:
        self.state = self.driver.read()
        if self.driver.reverted:
            assert self.state == before, "an expected revert changed the state"

    def simulations(self) -> list[tuple[tuple[str, str], tuple[bool, str]]]:
        """`liquidate(borrower, C, max)` simulated (eth_call) for every (borrower, posted C), once per step."""
        if getattr(self, "_simulated_at", None) != self.step:
            pairs = [(b, c) for b in self.env.borrowers for c in SYMBOLS if self.model.held(b, c)]
            self._simulated = list(zip(pairs, self.driver.simulate_liquidations(pairs), strict=True))
            self._simulated_at = self.step
        return self._simulated

    def units(self, symbol: str) -> int:
        return self.model.collaterals[symbol].unit

    def live_bids(self, **filters) -> list[int]:
        out = []
        for bid_id, bid in sorted(self.model.bids.items()):
            if bid.deleted:
                continue
            if all(getattr(bid, k) == v for k, v in filters.items()):
                out.append(bid_id)
        return out

    # ------------------------------------------------------------ lenders

    @rule(who=st.integers(0, 1), amount=st.one_of(st.just(0), st.integers(1, 10**4), st.integers(10**6, 10**12)))
    def lender_deposits(self, who, amount):
        before = self.begin()
        self.driver.deposit(self.env.lenders[who], amount)
        self.end(before)

    @rule(who=st.integers(0, 1), pct=percent, all_shares=everything)
    def lender_redeems(self, who, pct, all_shares):
        before = self.begin()
        lender = self.env.lenders[who]
        held = self.model.shares.get(lender, 0)
        self.driver.redeem(lender, held if all_shares else held * pct // 100)
        self.end(before)

    @rule(who=st.integers(0, 1), pct=st.integers(1, 120))
    def lender_withdraws(self, who, pct):
        before = self.begin()
        lender = self.env.lenders[who]
        worth = self.model.to_assets(self.model.shares.get(lender, 0), False)
        self.driver.withdraw(lender, min(worth, self.model.available_liquidity()) * pct // 100)
        self.end(before)

    @rule(amount=st.integers(1, 10**11))
    def stranger_donates_to_the_vault(self, amount):
        before = self.begin()
        self.driver.donate(amount)
        self.end(before)

    # ------------------------------------------------------------ borrowers

    @rule(who=actor, symbol=st.sampled_from(SYMBOLS), centi=st.one_of(st.just(0), st.integers(1, 5_000)))
    def borrower_adds_collateral(self, who, symbol, centi):
        before = self.begin()
        amount = centi * self.units(symbol) // 100 or centi
        self.driver.add_collateral(self.env.borrowers[who], symbol, amount)
        self.end(before)

    @rule(who=actor, symbol=st.sampled_from(SYMBOLS), pct=percent, all_of_it=everything)
    def borrower_removes_collateral(self, who, symbol, pct, all_of_it):
        before = self.begin()
        borrower = self.env.borrowers[who]
        amount = MAX_UINT if all_of_it else self.model.held(borrower, symbol) * pct // 100
        self.driver.remove_collateral(borrower, symbol, amount)
        self.end(before)

    @rule(who=actor, pct=st.integers(0, 110))
    def borrower_borrows(self, who, pct):
        before = self.begin()
        borrower = self.env.borrowers[who]
        h = self.model.health(borrower)
        room = max(h.borrow_capacity - h.debt_value, 0)
        amount = room * self.model.base_unit // self.model.price(self.model.base_symbol) * pct // 100
        self.driver.borrow(borrower, amount)
        self.end(before)

    @rule(who=actor, pct=percent, all_of_it=everything, by_stranger=everything)
    def borrower_repays(self, who, pct, all_of_it, by_stranger):
        before = self.begin()
        borrower = self.env.borrowers[who]
        amount = MAX_UINT if all_of_it else max(self.model.debt(borrower) * pct // 100, 1)
        payer = self.env.donor if by_stranger else borrower
        self.driver.repay(payer, borrower, amount)
        self.end(before)

    # ------------------------------------------------------------ bidders

    @rule(
        who=actor,
        symbol=st.sampled_from(SYMBOLS),
        slot=st.integers(0, 11),
        amount=st.one_of(st.integers(1, 10**6), st.integers(10**8, 2 * 10**11)),
    )
    def bidder_submits_a_bid(self, who, symbol, slot, amount):
        before = self.begin()
        self.driver.submit_bid(self.env.bidders[who], symbol, slot, amount)
        self.end(before)

    @precondition(lambda self: any(b.pending and not b.deleted for b in self.model.bids.values()))
    @rule(k=pick)
    def keeper_activates_a_bid(self, k):
        before = self.begin()
        pending = self.live_bids(pending=True)
        self.driver.activate_bid(pending[k % len(pending)], self.env.keeper)
        self.end(before)

    @precondition(lambda self: any(not b.deleted for b in self.model.bids.values()))
    @rule(k=pick, pct=percent, all_of_it=everything)
    def bidder_retracts_a_bid(self, k, pct, all_of_it):
        before = self.begin()
        live = self.live_bids()
        bid_id = live[k % len(live)]
        left = self.state.bids[bid_id][3]
        self.driver.retract_bid(bid_id, MAX_UINT if all_of_it else max(left * pct // 100, 1), before)
        self.end(before)

    @precondition(lambda self: any(not b.deleted for b in self.model.bids.values()))
    @rule(k=pick, count=st.integers(1, 3))
    def bidder_claims(self, k, count):
        before = self.begin()
        live = self.live_bids()
        owner = self.model.bids[live[k % len(live)]].owner
        own = [i for i in live if self.model.bids[i].owner == owner]
        self.driver.claim([own[(k + j) % len(own)] for j in range(min(count, len(own)))], owner, before)
        self.end(before)

    @precondition(lambda self: any(not b.deleted for b in self.model.bids.values()))
    @rule(k=pick)
    def stranger_claims_or_retracts_someone_elses_bid(self, k):
        before = self.begin()
        live = self.live_bids()
        bid_id = live[k % len(live)]
        if k % 2:
            self.driver.claim_as(self.env.donor, [bid_id], before)
        else:
            self.driver.retract_as(self.env.donor, bid_id, before)
        self.end(before)

    # ------------------------------------------------------------ the world

    @rule(symbol=st.sampled_from(SYMBOLS), move=st.sampled_from(MOVES))
    def price_moves(self, symbol, move):
        before = self.begin()
        if symbol in self.model.neglected:  # a stale feed posts nothing until it resumes: another asset moves
            symbol = next(s for s in SYMBOLS if s not in self.model.neglected)
        initial = self.initial_answers[symbol]
        answer = min(max(self.model.answers[symbol] * move // 1000, initial // 50), initial * 50)
        self.driver.set_price(symbol, answer)
        self.end(before)

    @rule(symbol=st.sampled_from(SYMBOLS), move=st.sampled_from(CRASHES))
    def price_crashes(self, symbol, move):
        self.price_moves(symbol, move)

    @rule(move=st.sampled_from(CRASHES))
    def every_collateral_crashes(self, move):
        before = self.begin()
        for symbol in [s for s in SYMBOLS if s not in self.model.neglected]:
            initial = self.initial_answers[symbol]
            self.driver.set_price(symbol, max(self.model.answers[symbol] * move // 1000, initial // 50))
        self.end(before)

    @rule(move=st.sampled_from(BASE_MOVES))
    def base_asset_price_moves(self, move):
        before = self.begin()
        symbol = self.model.base_symbol
        initial = self.initial_answers[symbol]
        answer = min(max(self.model.answers[symbol] * move // 1000, initial * 8 // 10), initial * 12 // 10)
        self.driver.set_price(symbol, answer)
        self.end(before)

    @rule(seconds=st.sampled_from([1, 60, 601, 3_600, DAY, 7 * DAY, 30 * DAY, 91 * DAY]))
    def time_passes(self, seconds):
        before = self.begin()
        self.driver.advance_time(seconds)
        self.end(before)

    @rule()
    def keeper_accrues_interest(self):
        before = self.begin()
        self.driver.accrue(self.env.keeper)
        self.end(before)

    # ------------------------------------------------------------ owner and guardian

    @rule(
        close_ratio=st.sampled_from([10**17, WAD // 2, WAD]),
        dust=st.sampled_from([0, 10 * WAD, 1_000 * WAD]),
        keeper_fee=st.sampled_from([0, 5 * 10**15, 5 * 10**16]),
        protocol_fee=st.sampled_from([0, 5 * 10**15, 10**17]),
    )
    def owner_sets_liquidation_parameters(self, close_ratio, dust, keeper_fee, protocol_fee):
        before = self.begin()
        self.driver.set_engine_params(close_ratio, dust, keeper_fee, protocol_fee)
        self.end(before)

    @rule(
        limits=st.sampled_from(
            [
                (2 * 10**16, WAD, 3 * WAD // 2, 10 * WAD, 15 * WAD),  # deployment
                (2 * 10**16, WAD // 2, 6 * 10**17, 3 * WAD, 4 * WAD),  # tight: risk ratio and leverage bite
                (10**17, 5 * WAD, 10 * WAD, 20 * WAD, 50 * WAD),  # loose
            ]
        )
    )
    def owner_sets_risk_limits(self, limits):
        before = self.begin()
        flags = [self.model.health(b).liquidatable for b in self.env.borrowers]
        self.driver.set_risk_limits(*limits)
        # the thresholds ramp: in its own block the change makes no account liquidatable (nor healthy)
        assert [self.model.health(b).liquidatable for b in self.env.borrowers] == flags
        self.end(before)

    @rule(
        rates=st.sampled_from(RATE_CHOICES),
        reserve_factor=st.sampled_from([0, 10**17, WAD // 2]),
    )
    def owner_sets_interest_parameters(self, rates, reserve_factor):
        before = self.begin()
        self.driver.set_rate_model(rates)
        self.driver.set_reserve_factor(reserve_factor)
        self.end(before)

    @rule(who=st.sampled_from(["guardian", "owner", "stranger"]), paused=everything)
    def someone_sets_paused(self, who, paused):
        before = self.begin()
        caller = {"guardian": self.env.guardian, "owner": self.env.owner, "stranger": self.env.donor}[who]
        self.driver.set_paused(caller, paused)
        self.end(before)

    # ------------------------------------------------------------ liquidations

    def _collateral_for(self, borrower: str, choice: int) -> str:
        """An index into SYMBOLS: that collateral; past the end: the held one with most usable bids (what the keeper
        does)."""
        if choice < len(SYMBOLS):
            return SYMBOLS[choice]
        held = [s for s in SYMBOLS if self.model.held(borrower, s)] or SYMBOLS

        def usable(symbol: str) -> int:
            spec = self.model.collaterals[symbol]
            return sum(self.model.slot_active(symbol, k, self.model.block) for k in range(spec.max_slot + 1))

        return max(held, key=usable)

    def _max_repay(self, borrower: str, kind: int, pct: int) -> int:
        if kind == 0:
            return MAX_UINT
        if kind == 1:
            return max(self.model.debt(borrower) * pct // 100, 1)
        return kind - 1  # 1 or 2 units: the dust rule

    @rule(who=actor, choice=st.integers(0, KEEPER_PICK), kind=st.integers(0, 3), pct=percent)
    def keeper_liquidates(self, who, choice, kind, pct):
        before = self.begin()
        borrower = self.env.borrowers[who]
        self.driver.liquidate(borrower, self._collateral_for(borrower, choice), self._max_repay(borrower, kind, pct))
        self.end(before)

    @precondition(lambda self: any(self.model.health(b).liquidatable for b in self.env.borrowers))
    @rule(k=pick, kind=st.integers(0, 3), pct=percent)
    def keeper_liquidates_a_liquidatable_account(self, k, kind, pct):
        """What the keeper does: a liquidatable account, against its collateral with the most usable bids."""
        before = self.begin()
        candidates = [b for b in self.env.borrowers if self.model.health(b).liquidatable]
        borrower = candidates[k % len(candidates)]
        self.driver.liquidate(
            borrower, self._collateral_for(borrower, KEEPER_PICK), self._max_repay(borrower, kind, pct)
        )
        self.end(before)

    @rule(who=actor, choice=st.integers(0, KEEPER_PICK), k=pick, amount=st.integers(10**8, 10**11))
    def keeper_liquidates_in_the_block_a_bid_becomes_active(self, who, choice, k, amount):
        """The sandwich: a bid activated (or submitted under the threshold) in the very block of a liquidation must
        sit that liquidation out. Without a due bid, one is submitted and waited out first."""
        before = self.begin()
        liquidatable = [b for b in self.env.borrowers if self.model.health(b).liquidatable]
        borrower = liquidatable[k % len(liquidatable)] if liquidatable else self.env.borrowers[who]
        symbol = self._collateral_for(borrower, choice)
        spec = self.model.collaterals[symbol]
        bidder, slot = self.env.bidders[k % 3], k % (spec.max_slot + 1)
        if self.model.total_activated(symbol) < spec.bid_threshold:
            bid_id = self.model.next_bid_id
            submit = calldata("submit_bid(address,uint256,uint256)", spec.address, slot, amount)
            self.driver.liquidate_in_the_block_of(
                (bidder, self.env.queue, submit),
                lambda m: m.submit_bid(bidder, symbol, slot, amount),
                borrower,
                symbol,
                MAX_UINT,
                [bid_id],
            )
        else:
            pending = self.live_bids(pending=True, symbol=symbol)
            due = [i for i in pending if self.model.bids[i].activates_at <= self.model.now]
            if not due:
                self.driver.submit_bid(bidder, symbol, slot, amount)
                self.driver.advance_time(spec.waiting_period)
                due = [self.model.next_bid_id - 1]
            bid_id = due[k % len(due)]
            self.driver.liquidate_in_the_block_of(
                (self.env.keeper, self.env.queue, calldata("activate_bids(uint256[])", [bid_id])),
                lambda m: m.activate_bid(bid_id),
                borrower,
                symbol,
                MAX_UINT,
                [bid_id],
            )
        self.end(before)

    # ------------------------------------------------------------ the attacker
    # Each move is one thing a stranger may do to someone else's position (or a borrower to its own); the driver
    # counts its transactions by outcome (`attacker_moves`, printed by summary.py). Invariants 9, 10 and 11 are
    # what none of these may break. Later rules slot in here: a minimum bid makes `attacker_bids_dust_into_every_
    # slot` revert below it (model: `submit_bid`'s reason); delayed pool parameters and the risk_factor ramp are
    # owner moves with their own model replay; an auction house wired here makes `borrower_self_liquidates` open
    # auctions (the fallback machine has one).

    def attack(self, kind: str):
        """Play one attacker move, counted under `kind`."""
        driver = self.driver

        class _Acting:
            def __enter__(self_inner):
                driver.acting_as = kind

            def __exit__(self_inner, *exc):
                driver.acting_as = None
                return False

        return _Acting()

    @rule(who=actor, symbol=st.sampled_from(SYMBOLS), dust=st.sampled_from(["one unit", "a whole token"]))
    def attacker_adds_dust_collateral_to_another_account(self, who, symbol, dust):
        """add_collateral is open to anyone: one base unit (1 wei) or one whole token of any asset, posted on a
        borrower's account, must neither hide its bad debt (9) nor block its liquidation (10)."""
        before = self.begin()
        amount = 1 if dust == "one unit" else self.units(symbol)
        with self.attack(f"dust collateral ({dust})"):
            self.driver.add_collateral(self.env.borrowers[who], symbol, amount, sender=self.env.attacker)
        self.end(before)

    @rule(symbol=st.sampled_from(SYMBOLS), amount=st.sampled_from([1, 2, 10**3]), every=everything)
    def attacker_bids_dust_into_every_slot(self, symbol, amount, every):
        """Bids of a few base units in every slot of a collateral (or the cheapest three): a slot too small to
        buy one collateral unit is skipped, never blocks the deeper ones (invariant 4's walk)."""
        before = self.begin()
        spec = self.model.collaterals[symbol]
        with self.attack("dust bids"):
            for slot in range(spec.max_slot + 1 if every else 3):
                self.driver.submit_bid(self.env.attacker, symbol, slot, amount)
        self.driver.reverted = False  # several transactions: each revert was held to "changes nothing" on its own
        self.end(before)

    @precondition(lambda self: any(self.model.health(b).liquidatable for b in self.env.borrowers))
    @rule(k=pick, choice=st.integers(0, KEEPER_PICK), margin=st.sampled_from([-2, -1, 0, 1, 2]))
    def attacker_liquidates_leaving_dust(self, k, choice, margin):
        """max_repay chosen so the remainder is worth dust_value give or take a unit: either the engine repays the
        whole debt, or refuses ("engine: max repay leaves dust"), or what it leaves is not dust."""
        before = self.begin()
        candidates = [b for b in self.env.borrowers if self.model.health(b).liquidatable]
        borrower = candidates[k % len(candidates)]
        m = self.model
        debt, value = m.debt(borrower), m.health(borrower).debt_value
        keep = ceil_div(m.engine.dust_value * debt, value) if value else 0  # debt units worth dust_value
        max_repay = max(debt - keep + margin, 1)
        symbol = self._collateral_for(borrower, choice)
        with self.attack("max_repay leaving dust"):
            self.driver.liquidate(borrower, symbol, max_repay, caller=self.env.attacker)
        self.end(before)

    @rule(who=actor, choice=st.integers(0, KEEPER_PICK), kind=st.integers(0, 3), pct=percent)
    def borrower_self_liquidates(self, who, choice, kind, pct):
        """A borrower liquidates its own account (and earns the keeper fee): no cheaper for it than anyone's
        liquidation (invariant 11), refused while healthy."""
        before = self.begin()
        borrower = self.env.borrowers[who]
        symbol = self._collateral_for(borrower, choice)
        with self.attack("self-liquidation"):
            self.driver.liquidate(borrower, symbol, self._max_repay(borrower, kind, pct), caller=borrower)
        self.end(before)

    @precondition(lambda self: len(self.model.neglected) < 2)
    @rule(symbol=st.sampled_from(SYMBOLS))
    def attacker_lets_a_side_feed_go_stale(self, symbol):
        """Nobody re-posts `symbol`'s feed while a day and a second pass: its price cannot be read. The base asset's
        feed stays fresh (no debt is valued without it: the liquidation paths revert then, by design)."""
        before = self.begin()
        with self.attack("stale side feed"):
            self.model.neglected.add(symbol)
            self.driver.advance_time(self.model.max_age[symbol] + 1)
            self.driver.attacker_moves[("stale side feed", "succeeded")] += 1
        self.end(before)

    @precondition(lambda self: bool(self.model.neglected))
    @rule(k=pick)
    def stale_feed_resumes(self, k):
        before = self.begin()
        neglected = sorted(self.model.neglected)
        symbol = neglected[k % len(neglected)]
        self.driver.set_price(symbol, self.model.answers[symbol])
        self.end(before)

    @rule(who=actor, k=pick)
    def attacker_makes_a_position_dust(self, who, k):
        """The attacker's full play against one account: a crash of every collateral it holds to a fiftieth, one
        unit of dust of another asset on it, then the keeper's liquidation; the account must end closed or owing
        against collateral that is not dust (invariant 9), whatever the bids."""
        before = self.begin()
        borrower = self.env.borrowers[who]
        held = [s for s in SYMBOLS if self.model.held(borrower, s) and s not in self.model.neglected]
        with self.attack("crash and dust"):
            for symbol in held:
                initial = self.initial_answers[symbol]
                self.driver.set_price(symbol, max(self.model.answers[symbol] // 50, initial // 50))
            others = [s for s in SYMBOLS if s not in held]
            if others:
                self.driver.add_collateral(borrower, others[k % len(others)], 1, sender=self.env.attacker)
            if self.model.debt(borrower) and held:
                self.driver.liquidate(
                    borrower, self._collateral_for(borrower, KEEPER_PICK), MAX_UINT, caller=self.env.keeper
                )
        self.driver.reverted = False  # several transactions: each revert was held to "changes nothing" on its own
        self.end(before)

    # ------------------------------------------------------------ the invariants

    @invariant()
    def invariant_1_token_conservation(self):
        """Every token balance is the model's to the unit; each contract's balance covers what it owes, the excess
        being rounding dust bounded by one unit per bid per fill."""
        s, m = self.state, self.model
        for symbol, holders in s.balances.items():
            for holder, balance in holders.items():
                expected = m.balances[symbol].get(holder, 0)
                assert balance == expected, f"invariant 1: {symbol} balance of {holder}: {balance} != {expected}"
        base = m.base_symbol
        assert s.vault["cash"] == m.cash, "invariant 1: vault cash"
        assert s.balances[base][m.vault] == m.cash + m.donated >= s.vault["cash"], "invariant 1: vault base"
        for symbol in m.collaterals:
            # the borrowers' and the vault's reserve account's (dust swept by write-offs)
            posted = sum(s.collateral[(b, symbol)] for b in [*self.env.borrowers, m.vault])
            assert s.collateral[(m.vault, symbol)] == m.held(m.vault, symbol), f"invariant 1: reserve {symbol}"
            assert s.balances[symbol][m.vault] == posted == s.total_collateral[symbol] == m.total_collateral(symbol), (
                f"invariant 1: vault {symbol} balance vs posted collateral"
            )
        live = [i for i in s.bids if s.bids[i][0] != 0]
        owed_base = sum(s.bids[i][3] for i in live)
        dust_bound = sum(b.fills for b in m.bids.values())
        excess = s.balances[base][m.queue] - owed_base
        assert 0 <= excess <= dust_bound, f"invariant 1: queue base excess {excess} outside [0, {dust_bound}]"
        for symbol in m.collaterals:
            owed = sum(s.bids[i][4] for i in live if m.bids[i].symbol == symbol)
            fills = sum(b.fills for b in m.bids.values() if b.symbol == symbol)
            # plus what base owned by nobody bought: rests of retracted bids and sub-unit deposits of deleted ones
            unowned = sum((b.gained for b in m.orphans if b.symbol == symbol), Fraction(0))
            unowned += sum(
                (b.gained - b.gained_at_deletion for b in m.bids.values() if b.symbol == symbol and b.deleted),
                Fraction(0),
            )
            bound = fills + 1 + fills * m.max_slot_total // P_FLOOR + math.ceil(unowned)
            excess = s.balances[symbol][m.queue] - owed
            assert 0 <= excess <= bound, f"invariant 1: queue {symbol} excess {excess} outside [0, {bound}]"
        for symbol in s.balances:
            assert s.balances[symbol][m.addresses["engine"]] == 0, "invariant 1: the engine holds tokens"

    @invariant()
    def invariant_2_debt_and_lender_accounting(self):
        """total_debt equals the sum of account debts within rounding; lenders' assets never exceed
        cash + debt - reserves; every vault figure is the model's exactly."""
        s, m = self.state, self.model
        assert s.vault["total_scaled_debt"] == sum(s.scaled.values()) == m.total_scaled, "invariant 2: scaled debt"
        debts = sum(s.debts.values())
        assert s.vault["total_debt"] <= debts <= s.vault["total_debt"] + len(s.debts), "invariant 2: sum of debts"
        assert s.vault["total_debt"] == m.total_debt(), "invariant 2: total debt vs model"
        for borrower, debt in s.debts.items():
            assert debt == m.debt(borrower), f"invariant 2: debt of {borrower}"
            assert s.scaled[borrower] == m.scaled.get(borrower, 0), f"invariant 2: scaled debt of {borrower}"
        assert s.vault["reserves"] == m.reserves_now(), "invariant 2: reserves vs model"
        assert s.vault["borrow_index"] == m.accrued()[0], "invariant 2: borrow index vs model"
        assert s.vault["total_bad_debt"] == m.total_bad_debt, "invariant 2: bad debt vs model"
        assert s.vault["paused"] == int(m.paused)
        gross = s.vault["cash"] + s.vault["total_debt"]
        assert s.vault["totalAssets"] == max(gross - s.vault["reserves"], 0) == m.total_assets(), (
            "invariant 2: totalAssets != cash + debt - reserves"
        )
        assert s.vault["totalAssets"] <= gross - min(s.vault["reserves"], gross), "invariant 2: lenders over-credited"
        assert s.vault["totalSupply"] == m.supply == sum(m.shares.values()), "invariant 2: share supply"
        for lender, shares in s.shares.items():
            assert shares == m.shares.get(lender, 0), f"invariant 2: shares of {lender}"
        assert sum(s.share_assets.values()) <= s.vault["totalAssets"], "invariant 2: shares worth more than assets"
        assert s.vault["available_liquidity"] == m.available_liquidity(), "invariant 2: available liquidity"

    @invariant()
    def invariant_3_only_and_every_liquidatable_account_liquidates(self):
        """Health views are the model's exactly. `liquidate` is simulated for every (borrower, posted collateral):
        a healthy account reverts "engine: healthy"; a liquidatable one succeeds, with the model's repayment and
        seizure, whenever that collateral's active bids can buy a unit of it. This step's liquidations did what the
        model predicted."""
        s, m = self.state, self.model
        pairs, expected = [], []
        for borrower in self.env.borrowers:
            h = m.health(borrower)
            chain_h = s.health[borrower]
            assert chain_h == (
                h.collateral_value,
                h.debt_value,
                h.health,
                h.risk_ratio,
                h.leverage,
                int(h.liquidatable),
            ), f"invariant 3: health of {borrower}"
            for symbol in SYMBOLS:
                if m.held(borrower, symbol):
                    pairs.append((borrower, symbol))
                    try:
                        out = m.plan_liquidation(borrower, symbol, MAX_UINT)
                        expected.append((True, (out.repaid, out.seized)))
                    except Revert as revert:
                        expected.append((False, revert.reason))
        simulated = self.simulations()
        assert [pair for pair, _ in simulated] == pairs
        for (borrower, symbol), (ok, got), (want_ok, want) in zip(
            pairs, [result for _, result in simulated], expected, strict=True
        ):
            label = f"invariant 3: liquidate({borrower}, {symbol})"
            if want_ok:
                assert ok, f"{label} reverted ({got}) but the account is liquidatable and bids can fill"
                assert tuple(words(got)) == want, f"{label} returned {words(got)}, model {want}"
            else:
                assert not ok and got == want, f"{label}: {got!r}, model expects a revert {want!r}"
                if want == "engine: no active bids":
                    self._assert_no_bid_can_buy_a_unit(borrower, symbol)
            if not m.health(borrower).liquidatable:
                # the collateral to sell is priced first: a stale one reverts with the oracle's reason, healthy or not
                refusal = "engine: healthy" if m.readable(symbol) else "oracle: stale price"
                assert not ok and got == refusal, f"{label}: a healthy account must not liquidate"
        for ev in self.driver.evidence:
            if ev.kind == "reverted" and ev.reason == "engine: healthy":
                assert not ev.before.health(ev.account).liquidatable, "invariant 3: liquidatable account refused"

    def _assert_no_bid_can_buy_a_unit(self, borrower: str, symbol: str) -> None:
        """A liquidatable account refused "no active bids" beside active bids: no slot with bids can buy one unit of
        the collateral, because the whole position is worth less than one base unit there, or the slot holds less than
        a unit costs, or a unit costs more than the whole debt (no liquidation repays past the debt; the collateral
        then still covers it, so no bad debt hides behind the refusal)."""
        m = self.model
        spec = m.collaterals[symbol]
        debt = m.debt_of_scaled(m.scaled[borrower], m.accrued()[0])
        base_value = m.price(m.base_symbol) * spec.unit
        for slot in range(spec.max_slot + 1):
            active = m.slot_active(symbol, slot, m.block)
            if active:
                price = m.price(symbol) * (WAD - slot * spec.premium_step) // WAD
                value = m.held(borrower, symbol) * price * m.base_unit // base_value
                unit_cost = -(-price * m.base_unit // base_value)
                assert value == 0 or unit_cost > min(active, debt), (
                    f"invariant 3: liquidatable account refused (no active bids) though slot {slot} can buy a unit"
                )

    @invariant()
    def invariant_4_slots_fill_cheapest_first_within_the_collateral(self):
        """A liquidation fills slot k+1 only once slot k is drained, gives the pools exactly the model's walk, and
        never more collateral than the account held."""
        for ev in self.driver.evidence:
            if ev.kind != "liquidated":
                continue
            out, before, after = ev.outcome, ev.before, ev.after
            block = after.block - 1
            assert ev.slot_fills == [(f.slot, f.spent, f.bought, f.price) for f in out.fills], (
                "invariant 4: SlotFilled events differ from the model's walk"
            )
            if not ev.slot_fills:  # a dust account closed with no bid able to buy (invariant 9)
                assert out.write_off and ev.event[1] == ev.event[2] == 0, "invariant 4: a liquidation without fills"
                continue
            slots = [f[0] for f in ev.slot_fills]
            assert slots == sorted(set(slots)), "invariant 4: slots not strictly increasing"
            # since 5a8834d the queue quotes whole collateral units: a slot is left behind once what it has left
            # cannot buy one unit at its price (or, skipped, could not buy one to begin with)
            # cannot buy one unit at its price (or, skipped, could not buy one to begin with), or once the funds
            # still to raise cannot buy one there (a deeper, cheaper slot may then buy that last unit: see
            # SECURITY.md's known limits)
            spent_in = {slot: spent for slot, spent, _, _ in ev.slot_fills}
            funds_left = out.funds
            for slot in range(slots[-1]):
                funds_left -= spent_in.get(slot, 0)
                left = before.slot_active(ev.symbol, slot, block) - spent_in.get(slot, 0)
                if self._buys_a_unit(before, ev.symbol, slot, left):
                    assert not self._buys_a_unit(before, ev.symbol, slot, funds_left), (
                        f"invariant 4: slot {slot} left behind with {left} that buys a unit of {ev.symbol}"
                    )
                    self.driver.stats["invariant 4: last unit bought by a deeper slot"] += 1
            seized = sum(f[2] for f in ev.slot_fills)
            repaid, event_seized, funds, keeper_fee, protocol_fee, first, last, bad = ev.event
            assert seized == event_seized == out.seized <= out.collateral_before, "invariant 4: seized too much"
            assert after.held(ev.account, ev.symbol) == out.collateral_before - seized
            assert (repaid, funds, keeper_fee, protocol_fee, first, last, bad) == (
                out.repaid,
                out.raised,
                out.keeper_cut,
                out.protocol_cut,
                slots[0],
                slots[-1],
                out.bad_debt,
            ), "invariant 4: Liquidation event differs from the model"
            assert funds <= out.funds, "invariant 4: raised more than the funds needed"

    @staticmethod
    def _buys_a_unit(m: SystemModel, symbol: str, slot: int, base: int) -> bool:
        """Whether `base` buys at least one unit of `symbol` at the slot's price (the queue's `_quote`)."""
        spec = m.collaterals[symbol]
        price = m.price(symbol) * (WAD - slot * spec.premium_step) // WAD
        return base * m.price(m.base_symbol) * spec.unit // (price * m.base_unit) != 0

    @invariant()
    def invariant_5_each_bid_gets_its_pro_rata_share(self):
        """Within a slot, each bid's unspent base and claimable collateral equal its exact pro-rata share within
        one unit per fill (base only ever below it); slot totals and total_active are the model's sums exactly."""
        s, m = self.state, self.model
        for symbol, spec in m.collaterals.items():
            for slot in range(spec.max_slot + 1):
                m.max_slot_total = max(m.max_slot_total, m.slot_active(symbol, slot, m.block))
        for bid_id, info in s.bids.items():
            bid = m.bids[bid_id]
            owner, _, slot, amount, claimable, pending, _ = info
            exact_claimable = bid.gained - bid.claimed
            slack = Fraction((bid.fills + 1) * m.max_slot_total, P_FLOOR)
            label = f"invariant 5: bid {bid_id}"
            if owner == 0:
                assert bid.deleted, f"{label} deleted by the contract, alive in the model"
                continue
            assert not bid.deleted, f"{label} alive on chain, deleted in the model"
            assert (slot, bool(pending)) == (bid.slot, bid.pending), f"{label} slot or status"
            assert amount <= bid.deposit, f"{label} holds more base than its exact share"
            assert bid.deposit - amount <= bid.fills, f"{label} lost more than one unit of base per fill"
            assert claimable <= exact_claimable + slack, f"{label} may claim more than its exact share"
            assert exact_claimable - claimable <= bid.fills + slack, f"{label} lost more than a unit per fill"
        for bid_id in [i for i, b in m.bids.items() if b.deleted]:
            bid = m.bids[bid_id]
            assert bid.deposit <= bid.fills, f"invariant 5: deleted bid {bid_id} left more than dust"
            slack = Fraction((bid.fills + 1) * m.max_slot_total, P_FLOOR)
            assert bid.gained_at_deletion - bid.claimed <= bid.fills + slack
        for symbol, spec in m.collaterals.items():
            for slot in range(spec.max_slot + 1):
                active, pending, premium = s.slots[(symbol, slot)]
                waiting = sum(
                    (b.deposit for b in m.bids.values() if b.symbol == symbol and b.slot == slot and b.pending),
                    Fraction(0),
                )
                assert active == m.slot_active(symbol, slot, m.block), f"invariant 5: {symbol} slot {slot} active"
                assert pending == waiting, f"invariant 5: {symbol} slot {slot} pending"
                assert premium == slot * spec.premium_step
            assert s.total_active[symbol] == m.total_activated(symbol), f"invariant 5: total_active {symbol}"
        assert s.next_bid_id == m.next_bid_id

    @invariant()
    def invariant_6_pending_bids_never_fill(self):
        """Waiting bids, and bids that became active in a liquidation's own block, keep every unit through it."""
        s, m = self.state, self.model
        for bid_id, bid in m.bids.items():
            if bid.pending and not bid.deleted:
                info = s.bids[bid_id]
                assert info[5] == 1 and info[3] == bid.deposit and info[4] == 0, f"invariant 6: pending bid {bid_id}"
                assert info[6] == bid.activates_at and bid.fills == 0 and bid.gained == 0
        for ev in self.driver.evidence:
            for bid_id, bid in ev.before.bids.items():
                if bid.pending or bid_id in ev.same_block_bids:
                    later = ev.after.bids[bid_id]
                    assert later.deposit == bid.deposit and later.gained == bid.gained, (
                        f"invariant 6: bid {bid_id} took part in a fill while pending or in its activation block"
                    )
            for bid_id in ev.same_block_bids:
                info = s.bids.get(bid_id)
                if info is not None and info[0] != 0:
                    assert info[3] == ev.after.bids[bid_id].deposit and info[4] == 0, (
                        f"invariant 6: bid {bid_id} filled in its activation block"
                    )
            if ev.kind == "liquidated":
                block = ev.after.block - 1
                for slot, spent, _, _ in ev.slot_fills:
                    assert spent <= ev.before.slot_active(ev.symbol, slot, block), "invariant 6: used pending funds"

    @invariant()
    def invariant_7_liquidation_never_lowers_covered_health(self):
        """A liquidation never lowers the LTV health of an account whose liquidation capacity, after the highest
        premium used and both fees, still covers its debt: Σ v_i·liq_ltv_i·(1-P)(1-f) >= liq_ltv_c·B (for one
        collateral this is DESIGN.md's "collateral covers debt plus premium and fees"), up to the rounding of
        one collateral unit and of the debt's scaled units."""
        for ev in self.driver.evidence:
            if ev.kind != "liquidated":
                continue
            before, after, out = ev.before, ev.after, ev.outcome
            if not out.fills:
                continue  # a write-off without fills: the account is closed (invariant 9)
            spec = before.collaterals[ev.symbol]
            pre = before.health(ev.account)
            post = after.health(ev.account)
            premium = out.fills[-1].slot * spec.premium_step
            fees = before.engine.keeper_fee + before.engine.protocol_fee
            covered = pre.liquidation_capacity * (WAD - premium) * (WAD - fees) >= spec.liq_ltv * pre.debt_value * WAD
            if not covered:
                self.driver.stats["invariant 7: below the line (not applicable)"] += 1
                continue
            self.driver.stats["invariant 7: checked"] += 1
            if post.debt_value == 0:
                assert post.health == INFINITE
                continue
            # rounding, all of it in the protocol's favour. Since 5a8834d a slot gives floor(u / p_k) collateral
            # and takes ceil(x * p_k) base for it, so no slot hands the pools a fraction of a unit; the capacity
            # left loses only the floors of its own value (one wei of value, one of value * liq_ltv). The old walk
            # rounded x up in EVERY slot it touched: a fill over k slots lost up to k collateral units, against
            # a tolerance of one, which is the fall recorded in 5fbd1c1 (5.16e9 against 2.6e9). A repayment burns
            # scaled debt rounded down, so the debt may fall by up to one base unit per unit of the borrow index
            # (plus one) less than what was repaid.
            lost_capacity = 2
            kept_debt = (ceil_div(after.index, WAD) + 1) * ceil_div(before.price(before.base_symbol), before.base_unit)
            tolerance = ceil_div(lost_capacity * WAD + max(pre.health, post.health) * kept_debt, post.debt_value) + 2
            assert post.health + tolerance >= pre.health, (
                f"invariant 7: health fell from {pre.health} to {post.health} although collateral covered the debt"
            )

    @invariant()
    def invariant_8_bad_debt_only_without_collateral(self):
        """Bad debt is written off only when the account's collateral is gone, and always then; reserves absorb it
        before lenders, and lenders lose exactly the rest."""
        s = self.state
        for borrower in self.env.borrowers:
            if s.debts[borrower]:
                assert any(s.collateral[(borrower, c)] for c in SYMBOLS), f"invariant 8: {borrower} owes, no collateral"
        for ev in self.driver.evidence:
            if ev.kind != "liquidated":
                continue
            out, after = ev.outcome, ev.after
            if ev.bad_debt_event is None:
                assert out.bad_debt == 0
                assert after.debt(ev.account) == 0 or any(after.held(ev.account, c) for c in SYMBOLS), (
                    "invariant 8: debt left on an account without collateral"
                )
                continue
            amount, from_reserves, from_lenders = ev.bad_debt_event
            assert not any(after.held(ev.account, c) for c in SYMBOLS), "invariant 8: bad debt with collateral left"
            assert amount == out.bad_debt and amount > 0
            assert from_reserves == min(amount, out.reserves_before_write_off), "invariant 8: reserves not first"
            assert from_lenders == amount - from_reserves
            if from_lenders:
                assert s.vault["reserves"] == 0, "invariant 8: lenders lost money while reserves remained"
            lost = ev.before.total_assets() - after.total_assets()
            # the debt's own rounding (a unit per borrow-index unit) on the repayment and on the write-off
            tolerance = 2 * ceil_div(after.index, WAD) + 1
            assert abs(lost - from_lenders) <= tolerance, f"invariant 8: lenders lost {lost}, write-off {from_lenders}"
            assert after.debt(ev.account) == 0

    @invariant()
    def invariant_9_no_hidden_bad_debt(self):
        """No hidden bad debt, whatever the attacker did (DESIGN.md 9, which strengthens 3 and 8). (a) No liquidation
        of this step leaves an account owing against collateral that is all priced and dust (sellable worth below
        dust_value, an asset below two base units' worth counting as nothing); a write-off happened only on such
        dust. (b) Every liquidatable account that owes against such dust now is closed by the next liquidation:
        one is sent inside a snapshot that is then reverted, and the account must owe nothing after it."""
        m = self.model
        for ev in self.driver.evidence:
            if ev.kind != "liquidated":
                continue
            after, out = ev.after, ev.outcome
            if ev.bad_debt_event is not None:
                assert ev.before.is_dust_after(ev.account, ev.symbol, out.collateral_before - out.seized), (
                    "invariant 9: written off although the collateral left was not dust"
                )
                assert not after.held_assets(ev.account), "invariant 9: a closed account kept collateral"
                self.driver.stats["invariant 9: dust accounts closed by a liquidation"] += 1
            elif after.debt(ev.account):
                assert not after.is_dust_after(ev.account, None, 0), (
                    f"invariant 9: liquidation of {ev.account} left debt {after.debt(ev.account)} against dust"
                )
        for borrower in self.env.borrowers:
            h = m.health(borrower)
            if not (h.liquidatable and m.debt(borrower) and m.is_dust_after(borrower, None, 0)):
                continue
            held = m.held_assets(borrower)
            assert held, f"invariant 9: {borrower} owes with no collateral at all"
            self.driver.stats["invariant 9: dust accounts closed in a snapshot"] += 1
            debt_after = self.driver.debt_after_liquidation(borrower, held[0])
            assert debt_after == 0, f"invariant 9: {borrower} owes {debt_after} after liquidating its dust"

    @invariant()
    def invariant_10_failures_stay_where_they_are(self):
        """A liquidation against C never fails because another asset's price cannot be read: for every (borrower,
        priced collateral C) while the account holds an asset whose feed is stale, the simulated `liquidate` does
        not revert with an oracle reason (it does what the model predicts, invariant 3). No debt is written off
        while an unpriced asset is held. The health views priced the stale asset at zero (invariant 3 compared
        them) instead of failing the batch."""
        m = self.model
        for (borrower, symbol), (ok, got) in self.simulations():
            unpriced = [a for a in m.held_assets(borrower) if not m.readable(a) and a != symbol]
            if not unpriced or not m.readable(symbol):
                continue
            self.driver.stats["invariant 10: liquidations simulated beside a stale asset"] += 1
            assert ok or not str(got).startswith("oracle:"), (
                f"invariant 10: liquidate({borrower}, {symbol}) reverted {got!r} because {unpriced} is unpriced"
            )
        for ev in self.driver.evidence:
            if ev.kind == "liquidated" and ev.bad_debt_event is not None:
                assert ev.before.all_priced(ev.account), "invariant 10: written off while an unpriced asset is held"

    @invariant()
    def invariant_11_every_liquidation_pays_for_what_it_takes(self):
        """The collateral a liquidation seizes is worth at most what it repaid, grossed up by the deepest slot's
        discount P and the fees f, plus one base unit: seized·p·(1-P)·(1-f) <= (repaid + 1)·p_base in value, for
        0 to 18 decimals. (DESIGN.md writes the factor as 1 + premium + fees, its first-order form: a slot prices
        the collateral at p·(1-P) and the funds are R/(1-f), so the exact bound is 1/((1-P)(1-f)).) Checked from
        the Liquidation event and the oracle prices in integers, with the slot price rounded as the queue does."""
        for ev in self.driver.evidence:
            if ev.kind != "liquidated":
                continue
            before = ev.before
            repaid, seized = ev.event[0], ev.event[1]
            if not ev.slot_fills:
                assert seized == 0, "invariant 11: collateral seized without a fill"
                continue
            spec = before.collaterals[ev.symbol]
            premium = ev.event[6] * spec.premium_step
            slot_price = before.price(ev.symbol) * (WAD - premium) // WAD
            fees = before.engine.keeper_fee + before.engine.protocol_fee
            taken = seized * slot_price * before.base_unit * (WAD - fees)
            paid = (repaid + 1) * WAD * before.price(before.base_symbol) * spec.unit
            self.driver.stats[f"invariant 11: liquidations checked ({spec.decimals} decimals)"] += 1
            assert taken <= paid, (
                f"invariant 11: {seized} {ev.symbol} seized for {repaid} repaid: worth more than it paid for"
            )


def test_system__random_operations__keep_the_invariants(market, chain):
    SystemMachine.driver = market
    SystemMachine.base_model = market.model.clone()
    SystemMachine.chain = chain
    profile = settings.get_profile(PROFILE) if PROFILE in ("ci", "deep") else settings.default
    start_steps, start = RUN_SUMMARY["steps"], time.monotonic()
    RUN_SUMMARY.setdefault("started", start)
    # STATEFUL_SHRINK=0 reports the first failure as found (mutation runs: shrinking replays thousands of txs)
    phases = [
        p for p in Phase if os.environ.get("STATEFUL_SHRINK", "1") != "0" or p not in (Phase.shrink, Phase.explain)
    ]
    run_state_machine_as_test(
        SystemMachine,
        # derandomized under the ci profile, like the fallback machine: CI runs the same examples every time
        settings=settings(
            parent=profile,
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            phases=phases,
            derandomize=PROFILE == "ci",
            database=None,
        ),
    )
    seconds = time.monotonic() - start
    steps = RUN_SUMMARY["steps"] - start_steps
    RUN_SUMMARY["seconds"] += seconds
    RUN_SUMMARY["stats"] = dict(market.stats)
    RUN_SUMMARY["attacker"] = RUN_SUMMARY["attacker"] + market.attacker_moves
    print(f"\nsystem state machine: {steps} steps in {seconds:.1f} s = {60 * steps / seconds:,.0f} steps/minute")
    budget = BUDGETS.get(PROFILE, BUDGETS["ci"])[:2] == (EXAMPLES, STEPS)
    assert steps >= (MIN_STEPS if budget else EXAMPLES * STEPS * 8 // 10), f"only {steps} steps ran"
