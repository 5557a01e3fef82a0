"""A Python model of the whole ALA system, for the state machine in `test_system.py`.

Two layers:

- the vault, the engine's sizing and the queue's walk are replayed in exact *integer* arithmetic with the rounding
  DESIGN.md prescribes (and the contracts document): every debt, share, fee and fill the chain produces is predicted
  to the unit before the transaction is sent;
- the bid pools are modelled per bid in exact *rational* arithmetic (`Fraction`): each fill is shared pro rata over the
  bids that were active before the fill's block, with no rounding at all. The contract may only be below these exact
  shares, by at most one unit per fill (invariant 5).

Every operation raises `Revert(reason)` before changing anything when the contract must revert; the caller works on a
`clone()` so that a revert leaves the model untouched.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from fractions import Fraction

from tests.utils.ramp_model import ramp_in_force

WAD = 10**18
YEAR = 365 * 86_400
MAX_UINT = 2**256 - 1
INFINITE = MAX_UINT
# a change of the market's liquidation thresholds ramps over this long while anyone owes the vault, seconds
LIMITS_RAMP = 86_400
VIRTUAL_SHARES = 10**6
FEED_SCALE = 10**10  # 8-decimal feed answers to WAD


class Revert(Exception):
    """An EVM revert the model predicts, with its reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def mul_div(x: int, y: int, d: int, round_up: bool) -> int:
    return ceil_div(x * y, d) if round_up else x * y // d


# ---------------------------------------------------------------- parameters


@dataclass
class CollateralSpec:
    symbol: str
    address: str
    decimals: int
    max_ltv: int
    liq_ltv: int
    risk_factor: int
    premium_step: int
    max_slot: int
    waiting_period: int
    bid_threshold: int

    @property
    def unit(self) -> int:
        return 10**self.decimals


@dataclass
class RiskLimits:
    base_risk_factor: int
    max_risk_ratio: int
    liq_risk_ratio: int
    max_leverage: int
    liq_leverage: int


@dataclass
class EngineParams:
    close_ratio: int
    dust_value: int
    keeper_fee: int
    protocol_fee: int


# ---------------------------------------------------------------- the queue's bids


@dataclass
class Bid:
    bid_id: int
    owner: str
    symbol: str
    slot: int
    deposit: Fraction  # exact unspent base
    pending: bool
    activates_at: int
    activation_block: int = 0
    gained: Fraction = Fraction(0)  # exact collateral bought
    claimed: int = 0
    fills: int = 0  # fills this bid took part in with a non-zero deposit
    deleted: bool = False
    # what the bid had bought when it was deleted: its sub-unit rest keeps buying in the pool for nobody
    gained_at_deletion: Fraction = Fraction(0)


@dataclass
class Health:
    collateral_value: int
    debt_value: int
    liquidation_capacity: int
    borrow_capacity: int
    weighted_risk: int
    health: int
    risk_ratio: int
    leverage: int
    liquidatable: bool


@dataclass
class SlotFill:
    slot: int
    spent: int
    bought: int
    price: int


@dataclass
class LiquidationOutcome:
    """What `liquidate(account, collateral, max_repay)` does, predicted to the unit."""

    account: str
    symbol: str
    debt_before: int
    collateral_before: int
    target: int
    funds: int
    fills: list[SlotFill]
    raised: int
    seized: int
    keeper_cut: int
    protocol_cut: int
    repaid: int
    bad_debt: int
    bad_debt_from_reserves: int
    reserves_before_write_off: int
    # the engine's verdict on what is left (invariant 9): every asset priced and the sellable rest below
    # dust_value; the account is then closed (its collateral swept to the vault's reserve account)
    write_off: bool = False


@dataclass
class SystemModel:
    base_symbol: str
    base_address: str
    base_decimals: int
    collaterals: dict[str, CollateralSpec]
    limits: RiskLimits
    engine: EngineParams
    reserve_factor: int
    rate_model: tuple[int, int, int, int]  # base_rate, slope_low, slope_high, kink
    addresses: dict[str, str]  # "vault", "queue", "engine" -> address
    # a running ramp of the liquidation thresholds: (base_risk_factor, liq_risk_ratio, liq_leverage) in force when
    # it started, and when it ends; `limits` holds where it goes
    limits_ramp: tuple[tuple[int, int, int], int] | None = None
    # time: the timestamp and number of the next block (time is frozen between explicit jumps)
    now: int = 0
    block: int = 0
    # token -> holder -> balance, every token movement the model predicts
    balances: dict[str, dict[str, int]] = field(default_factory=dict)
    # symbol -> 8-decimal feed answer
    answers: dict[str, int] = field(default_factory=dict)
    # symbol -> when its feed last posted an answer, and the oldest answer the oracle accepts (seconds)
    updated_at: dict[str, int] = field(default_factory=dict)
    max_age: dict[str, int] = field(default_factory=dict)
    # side feeds the attacker lets go stale: nobody re-posts them when time passes (only a price move does)
    neglected: set[str] = field(default_factory=set)
    # the vault
    index: int = WAD
    last_accrual: int = 0
    cash: int = 0
    reserves: int = 0
    donated: int = 0
    total_scaled: int = 0
    scaled: dict[str, int] = field(default_factory=dict)
    supply: int = 0
    shares: dict[str, int] = field(default_factory=dict)
    total_bad_debt: int = 0
    collateral: dict[str, dict[str, int]] = field(default_factory=dict)
    paused: bool = False
    # the queue
    bids: dict[int, Bid] = field(default_factory=dict)
    # sub-unit rests of exact shares that retractions left in the pools (the contract re-snapshots a bid at the
    # floor of its share): owned by nobody, they take part in fills like any base in the slot
    orphans: list[Bid] = field(default_factory=list)
    next_bid_id: int = 1
    delivered: dict[str, int] = field(default_factory=dict)  # collateral delivered to the queue by fills
    max_slot_total: int = 1

    def clone(self) -> SystemModel:
        return copy.deepcopy(self)

    # ------------------------------------------------------------ tokens

    def move(self, symbol: str, sender: str, receiver: str, amount: int) -> None:
        held = self.balances[symbol].get(sender, 0)
        if held < amount:
            raise Revert("erc20: transfer amount exceeds balance")
        self.balances[symbol][sender] = held - amount
        self.balances[symbol][receiver] = self.balances[symbol].get(receiver, 0) + amount

    @property
    def vault(self) -> str:
        return self.addresses["vault"]

    @property
    def queue(self) -> str:
        return self.addresses["queue"]

    @property
    def base_unit(self) -> int:
        return 10**self.base_decimals

    def price(self, symbol: str) -> int:
        return self.answers[symbol] * FEED_SCALE

    def readable(self, symbol: str) -> bool:
        """PriceOracle._read's staleness rule for the next block (one feed per asset here)."""
        updated = self.updated_at[symbol]
        return updated <= self.now and self.now - updated <= self.max_age[symbol]

    def liq_price(self, symbol: str) -> int:
        """The price liquidation paths and the lens read (`try_prices`): 0 when it cannot be read (invariant 10)."""
        return self.price(symbol) if self.readable(symbol) else 0

    def held_assets(self, account: str) -> list[str]:
        """The assets `account` holds, in listing order (the vault's `position_of`)."""
        return [s for s in self.collaterals if self.held(account, s)]

    # ------------------------------------------------------------ interest (LendingVault._accrued / _accrue)

    def debt_of_scaled(self, scaled: int, index: int) -> int:
        return mul_div(scaled, index, WAD, True)

    def _utilisation(self, debt: int) -> int:
        gross = self.cash + debt
        if debt == 0 or gross <= self.reserves:
            return 0
        return min(debt * WAD // (gross - self.reserves), WAD)

    def _annual_rate(self, utilisation: int) -> int:
        base_rate, slope_low, slope_high, kink = self.rate_model
        if utilisation <= kink:
            return base_rate + slope_low * utilisation // kink
        return base_rate + slope_low + slope_high * (utilisation - kink) // (WAD - kink)

    def accrued(self) -> tuple[int, int]:
        elapsed = self.now - self.last_accrual
        if elapsed == 0 or self.total_scaled == 0:
            return self.index, 0
        old_debt = self.debt_of_scaled(self.total_scaled, self.index)
        annual = self._annual_rate(self._utilisation(old_debt))
        new_index = self.index + mul_div(self.index, annual * elapsed, WAD * YEAR, True)
        interest = self.debt_of_scaled(self.total_scaled, new_index) - old_debt
        return new_index, interest * self.reserve_factor // WAD

    def accrue(self) -> int:
        if self.last_accrual == self.now:
            return self.index
        index, added = self.accrued()
        self.last_accrual = self.now
        if index != self.index:
            self.reserves += added
            self.index = index
        return self.index

    # ------------------------------------------------------------ vault views

    def debt(self, account: str) -> int:
        return self.debt_of_scaled(self.scaled.get(account, 0), self.accrued()[0])

    def total_debt(self) -> int:
        return self.debt_of_scaled(self.total_scaled, self.accrued()[0])

    def reserves_now(self) -> int:
        return self.reserves + self.accrued()[1]

    def total_assets(self) -> int:
        index, added = self.accrued()
        gross = self.cash + self.debt_of_scaled(self.total_scaled, index)
        reserves = self.reserves + added
        return 0 if gross <= reserves else gross - reserves

    def available_liquidity(self) -> int:
        reserves = self.reserves_now()
        return 0 if self.cash <= reserves else self.cash - reserves

    def to_shares(self, assets: int, round_up: bool) -> int:
        return mul_div(assets, self.supply + VIRTUAL_SHARES, self.total_assets() + 1, round_up)

    def to_assets(self, shares: int, round_up: bool) -> int:
        return mul_div(shares, self.total_assets() + 1, self.supply + VIRTUAL_SHARES, round_up)

    def held(self, account: str, symbol: str) -> int:
        return self.collateral.get(account, {}).get(symbol, 0)

    def total_collateral(self, symbol: str) -> int:
        return sum(c.get(symbol, 0) for c in self.collateral.values())

    # ------------------------------------------------------------ risk (risk.vy, LendingVault._totals)

    def health(self, account: str, index: int | None = None) -> Health:
        if index is None:
            index = self.accrued()[0]
        base_risk_factor, liq_risk_ratio, liq_leverage = self.liq_limits()
        cv = liq = borrow = weighted = 0
        for spec in self.collaterals.values():
            amount = self.held(account, spec.symbol)
            if amount:
                value = amount * self.liq_price(spec.symbol) // spec.unit
                cv += value
                liq += value * spec.liq_ltv // WAD
                borrow += value * spec.max_ltv // WAD
                weighted += ceil_div(value * spec.risk_factor, WAD)  # risk.vy rounds risk up
        dv = 0
        scaled = self.scaled.get(account, 0)
        if scaled:
            dv = ceil_div(self.debt_of_scaled(scaled, index) * self.price(self.base_symbol), self.base_unit)
        health = INFINITE if dv == 0 else liq * WAD // dv
        if cv <= dv:
            risk_ratio = leverage = INFINITE
        else:
            equity = cv - dv
            risk_ratio = ceil_div((weighted + ceil_div(dv * base_risk_factor, WAD)) * WAD, equity)
            leverage = ceil_div(cv * WAD, equity)
        if dv == 0:
            liquidatable = False
        else:
            liquidatable = cv <= dv or health < WAD or risk_ratio > liq_risk_ratio or leverage > liq_leverage
        return Health(cv, dv, liq, borrow, weighted, health, risk_ratio, leverage, liquidatable)

    def liq_limits(self) -> tuple[int, int, int]:
        """(base_risk_factor, liq_risk_ratio, liq_leverage) in force now: each moves linearly from where it was to
        its new value over LIMITS_RAMP seconds, the fraction truncated toward the old value."""
        new = (self.limits.base_risk_factor, self.limits.liq_risk_ratio, self.limits.liq_leverage)
        if self.limits_ramp is None or self.limits_ramp[1] <= self.now:
            return new
        old, end = self.limits_ramp
        return tuple(
            ramp_in_force(a, b, end - LIMITS_RAMP, self.now, LIMITS_RAMP) for a, b in zip(old, new, strict=True)
        )

    def check_opening_limits(self, account: str, index: int) -> None:
        if self.scaled.get(account, 0) == 0:
            return
        # the opening paths read every price strictly (`prices`), the account's assets in listing order first
        for symbol in [*self.held_assets(account), self.base_symbol]:
            if not self.readable(symbol):
                raise Revert("oracle: stale price")
        h = self.health(account, index)
        if h.debt_value > h.borrow_capacity:
            raise Revert("engine: exceeds max ltv")
        if h.risk_ratio > self.limits.max_risk_ratio:
            raise Revert("engine: exceeds max risk ratio")
        if h.leverage > self.limits.max_leverage:
            raise Revert("engine: exceeds max leverage")

    # ------------------------------------------------------------ lenders

    def deposit(self, sender: str, assets: int) -> int:
        if self.paused:
            raise Revert("vault: paused")
        if assets == 0:
            raise Revert("vault: zero amount")
        self.accrue()
        shares = self.to_shares(assets, False)
        if shares == 0:
            raise Revert("vault: zero shares")
        self.move(self.base_symbol, sender, self.vault, assets)
        self.cash += assets
        self.supply += shares
        self.shares[sender] = self.shares.get(sender, 0) + shares
        return shares

    def _exit(self, owner: str, assets: int, shares: int) -> None:
        if assets > self.available_liquidity():
            raise Revert("vault: insufficient liquidity")
        if self.shares.get(owner, 0) < shares:
            raise Revert("erc20: burn amount exceeds balance")
        self.shares[owner] -= shares
        self.supply -= shares
        self.cash -= assets
        self.move(self.base_symbol, self.vault, owner, assets)

    def redeem(self, owner: str, shares: int) -> int:
        if shares == 0:
            raise Revert("vault: zero amount")
        self.accrue()
        assets = self.to_assets(shares, False)
        if assets == 0:
            raise Revert("vault: zero assets")
        self._exit(owner, assets, shares)
        return assets

    def withdraw(self, owner: str, assets: int) -> int:
        if assets == 0:
            raise Revert("vault: zero amount")
        self.accrue()
        shares = self.to_shares(assets, True)
        self._exit(owner, assets, shares)
        return shares

    def donate(self, sender: str, amount: int) -> None:
        self.move(self.base_symbol, sender, self.vault, amount)
        self.donated += amount

    # ------------------------------------------------------------ borrowers

    def add_collateral(self, sender: str, symbol: str, amount: int, account: str | None = None) -> None:
        """`sender` posts `amount` for `account` (itself by default): anyone may top up any account."""
        account = sender if account is None else account
        if amount == 0:
            raise Revert("vault: zero amount")
        self.move(symbol, sender, self.vault, amount)
        self.collateral.setdefault(account, {})
        self.collateral[account][symbol] = self.held(account, symbol) + amount

    def remove_collateral(self, sender: str, symbol: str, amount: int) -> int:
        if self.paused:
            raise Revert("vault: paused")
        if amount == 0:
            raise Revert("vault: zero amount")
        posted = self.held(sender, symbol)
        taken = posted if amount == MAX_UINT else amount
        if taken == 0 or taken > posted:
            raise Revert("vault: insufficient collateral")
        index = self.accrue()
        self.collateral[sender][symbol] = posted - taken
        self.check_opening_limits(sender, index)
        self.move(symbol, self.vault, sender, taken)
        return taken

    def borrow(self, sender: str, amount: int) -> None:
        if self.paused:
            raise Revert("vault: paused")
        if amount == 0:
            raise Revert("vault: zero amount")
        index = self.accrue()
        if amount > self.available_liquidity():
            raise Revert("vault: insufficient liquidity")
        scaled = mul_div(amount, WAD, index, True)
        self.scaled[sender] = self.scaled.get(sender, 0) + scaled
        self.total_scaled += scaled
        self.cash -= amount
        self.check_opening_limits(sender, index)
        self.move(self.base_symbol, self.vault, sender, amount)

    def _reduce_debt(self, account: str, scaled: int, debt: int, paid: int, index: int) -> int:
        burned = scaled
        if paid < debt:
            burned = min(mul_div(paid, WAD, index, False), scaled)
        self.scaled[account] = scaled - burned
        self.total_scaled -= burned
        return self.debt_of_scaled(scaled - burned, index)

    def repay(self, sender: str, account: str, amount: int) -> int:
        if amount == 0:
            raise Revert("vault: zero amount")
        index = self.accrue()
        scaled = self.scaled.get(account, 0)
        if scaled == 0:
            raise Revert("vault: no debt")
        debt = self.debt_of_scaled(scaled, index)
        paid = min(amount, debt)
        self.move(self.base_symbol, sender, self.vault, paid)
        self.cash += paid
        self._reduce_debt(account, scaled, debt, paid, index)
        return paid

    # ------------------------------------------------------------ the queue

    def active_bids(self, symbol: str, slot: int, block: int) -> list[Bid]:
        """Bids of a slot that take part in a fill in `block` (activated in an earlier block); deleted ones keep
        their sub-unit remainder in the pool, exactly as the contract's slot total does."""
        return [
            b
            for b in [*self.bids.values(), *self.orphans]
            if b.symbol == symbol and b.slot == slot and not b.pending and b.activation_block < block
        ]

    def slot_active(self, symbol: str, slot: int, block: int) -> int:
        total = sum((b.deposit for b in self.active_bids(symbol, slot, block)), Fraction(0))
        assert total.denominator == 1, "a slot total is always a whole number of units"
        return int(total)

    def total_activated(self, symbol: str) -> Fraction:
        every = [*self.bids.values(), *self.orphans]
        return sum((b.deposit for b in every if b.symbol == symbol and not b.pending), Fraction(0))

    def submit_bid(self, sender: str, symbol: str, slot: int, amount: int) -> Bid:
        spec = self.collaterals[symbol]
        if slot > spec.max_slot:
            raise Revert("queue: slot above max slot")
        if amount == 0:
            raise Revert("queue: zero amount")
        immediate = self.total_activated(symbol) < spec.bid_threshold
        self.move(self.base_symbol, sender, self.queue, amount)
        bid = Bid(
            bid_id=self.next_bid_id,
            owner=sender,
            symbol=symbol,
            slot=slot,
            deposit=Fraction(amount),
            pending=not immediate,
            activates_at=self.now if immediate else self.now + spec.waiting_period,
            activation_block=self.block if immediate else 0,
        )
        self.bids[bid.bid_id] = bid
        self.next_bid_id += 1
        return bid

    def activate_bid(self, bid_id: int) -> None:
        bid = self.bids.get(bid_id)
        if bid is None or bid.deleted or not bid.pending:
            raise Revert("queue: bid not pending")
        if self.now < bid.activates_at:
            raise Revert("queue: bid not due")
        bid.pending = False
        bid.activation_block = self.block

    def retract_bid(self, sender: str, bid_id: int, amount: int, left_now: int, claimable_now: int) -> int:
        """`left_now` and `claimable_now` are the contract's own views of the bid (its floors), which the per-bid
        bounds of invariant 5 keep honest."""
        bid = self.bids.get(bid_id)
        if bid is None or bid.deleted or bid.owner != sender:
            raise Revert("queue: not bid owner")
        if amount == 0:
            raise Revert("queue: zero amount")
        available = int(bid.deposit) if bid.pending else left_now
        taken = available if amount == MAX_UINT else amount
        if taken == 0:
            raise Revert("queue: zero amount")
        if taken > available:
            raise Revert("queue: amount exceeds bid")
        if not bid.pending and bid.deposit != left_now:
            # the contract re-snapshots the bid at `left_now`, the floor of its exact share: the rest stays in the
            # slot, owned by nobody (so are the gains it makes from now on)
            rest = replace(bid, deposit=bid.deposit - left_now, gained=Fraction(0), claimed=0, deleted=True)
            self.orphans.append(rest)
            bid.deposit = Fraction(left_now)
        bid.deposit -= taken
        self.move(self.base_symbol, self.queue, sender, taken)
        left = available - taken
        if left == 0 and (bid.pending or claimable_now == 0):
            bid.deleted = True
            bid.gained_at_deletion = bid.gained
        return taken

    def claim(self, sender: str, bid_id: int, left_now: int, claimable_now: int) -> int:
        bid = self.bids.get(bid_id)
        if bid is None or bid.deleted or bid.owner != sender:
            raise Revert("queue: not bid owner")
        if bid.pending:
            return 0
        if claimable_now:
            self.move(bid.symbol, self.queue, sender, claimable_now)
        bid.claimed += claimable_now
        if left_now == 0:
            bid.deleted = True
            bid.gained_at_deletion = bid.gained
        return claimable_now

    # ------------------------------------------------------------ one liquidation (engine + queue walk + settle)

    def walk(self, symbol: str, collateral_price: int, base_price: int, funds: int, cap: int, block: int):
        """LiquidationQueue.fill's walk, cheapest slot first."""
        spec = self.collaterals[symbol]
        fills: list[SlotFill] = []
        funds_left, collateral_left = funds, cap
        base_value = base_price * spec.unit
        for slot in range(spec.max_slot + 1):
            if funds_left == 0 or collateral_left == 0:
                break
            active = self.slot_active(symbol, slot, block)
            if active == 0:
                continue
            price = collateral_price * (WAD - slot * spec.premium_step) // WAD
            if price == 0:
                break
            slot_value = price * self.base_unit
            # collateral rounds down (never more than the base is worth), the base paid for it rounds up
            x = min(mul_div(min(active, funds_left), base_value, slot_value, False), collateral_left)
            u = mul_div(x, slot_value, base_value, True)
            if u == 0:
                if active < funds_left:
                    continue  # a slot too small to buy one collateral unit is skipped
                break
            fills.append(SlotFill(slot, u, x, price))
            funds_left -= u
            collateral_left -= x
        return fills

    def _target(self, debt: int, debt_value: int, max_repay: int, unit_cost: int) -> int:
        dust = self.engine.dust_value
        if debt_value <= dust:
            if max_repay < debt:
                raise Revert("engine: max repay leaves dust")
            return debt
        # liquidation_plan._target_repay: the close ratio's slice, lifted to the cost of one whole collateral unit
        target = min(max(mul_div(debt, self.engine.close_ratio, WAD, True), unit_cost), max_repay, debt)
        if mul_div(debt - target, debt_value, debt, False) < dust:
            if max_repay < debt:
                raise Revert("engine: max repay leaves dust")
            return debt
        return target

    def plan_liquidation(self, account: str, symbol: str, max_repay: int) -> LiquidationOutcome:
        """What `liquidate` would do in the next block, without changing the model."""
        if max_repay == 0:
            raise Revert("engine: zero max repay")
        index, added = self.accrued()
        h = self.health(account, index)
        held = self.held(account, symbol)
        if held and not self.readable(symbol):
            raise Revert("oracle: stale price")  # the collateral sold must be priced; a side asset need not be
        if not h.liquidatable:
            raise Revert("engine: healthy")
        if held == 0:
            raise Revert("engine: no such collateral")
        scaled = self.scaled[account]
        debt = self.debt_of_scaled(scaled, index)
        unit_cost = mul_div(
            self.price(symbol), self.base_unit, self.price(self.base_symbol) * self.collaterals[symbol].unit, True
        )
        target = self._target(debt, h.debt_value, max_repay, unit_cost)
        kf, pf = self.engine.keeper_fee, self.engine.protocol_fee
        funds = mul_div(target, WAD, WAD - kf - pf, True)
        fills = self.walk(symbol, self.price(symbol), self.price(self.base_symbol), funds, held, self.block)
        raised = sum(f.spent for f in fills)
        seized = sum(f.bought for f in fills)
        write_off = self.is_dust_after(account, symbol, held - seized)
        if raised == 0 and not write_off:
            raise Revert("engine: no active bids")
        keeper_cut = raised * kf // WAD
        protocol_cut = raised * pf // WAD
        repaid = raised - keeper_cut - protocol_cut
        if repaid > debt:
            protocol_cut += repaid - debt
            repaid = debt
        # LendingVault._reduce_debt and the write-off test of settle_liquidation
        burned = scaled if repaid >= debt else min(mul_div(repaid, WAD, index, False), scaled)
        remaining = self.debt_of_scaled(scaled - burned, index)
        reserves_before = self.reserves + added + protocol_cut
        bad_debt = from_reserves = 0
        if remaining != 0 and write_off:
            bad_debt = remaining
            from_reserves = min(remaining, reserves_before)
        return LiquidationOutcome(
            account=account,
            symbol=symbol,
            debt_before=debt,
            collateral_before=held,
            target=target,
            funds=funds,
            fills=fills,
            raised=raised,
            seized=seized,
            keeper_cut=keeper_cut,
            protocol_cut=protocol_cut,
            repaid=repaid,
            bad_debt=bad_debt,
            bad_debt_from_reserves=from_reserves,
            reserves_before_write_off=reserves_before,
            write_off=write_off,
        )

    def liquidate(self, keeper: str, account: str, symbol: str, max_repay: int) -> LiquidationOutcome:
        out = self.plan_liquidation(account, symbol, max_repay)
        index = self.accrue()
        # the pools: exact pro-rata shares of every fill, over the bids active before this block
        for f in out.fills:
            members = self.active_bids(symbol, f.slot, self.block)
            total = sum((b.deposit for b in members), Fraction(0))
            for b in members:
                if b.deposit > 0:
                    b.fills += 1
                b.gained += Fraction(f.bought) * b.deposit / total
                b.deposit -= Fraction(f.spent) * b.deposit / total
            self.max_slot_total = max(self.max_slot_total, int(total))
        self.delivered[symbol] = self.delivered.get(symbol, 0) + out.seized
        self.move(self.base_symbol, self.queue, keeper, out.keeper_cut)
        self.move(self.base_symbol, self.queue, self.vault, out.raised - out.keeper_cut)
        self.move(symbol, self.vault, self.queue, out.seized)
        # the vault's settlement
        self.cash += out.repaid + out.protocol_cut
        self.reserves += out.protocol_cut
        self._reduce_debt(account, self.scaled[account], out.debt_before, out.repaid, index)
        self.collateral[account][symbol] = out.collateral_before - out.seized
        if out.bad_debt:
            # LendingVault._sweep: the dust moves to the vault's reserve account, still in custody
            reserve = self.collateral.setdefault(self.vault, {})
            for held in self.held_assets(account):
                reserve[held] = reserve.get(held, 0) + self.collateral[account][held]
                self.collateral[account][held] = 0
            self.total_scaled -= self.scaled[account]
            self.scaled[account] = 0
            self.reserves -= out.bad_debt_from_reserves
            self.total_bad_debt += out.bad_debt
        return out

    def sellable(self, worth: int) -> int:
        """LiquidationEngine._sellable: `worth` (WAD USD) of one asset, or 0 below two base units' worth."""
        return 0 if worth < 2 * ceil_div(self.price(self.base_symbol), self.base_unit) else worth

    def sellable_worth(self, account: str, symbol: str | None = None, amount_of_symbol: int = 0) -> int:
        """What the engine counts of `account`'s collateral, with `amount_of_symbol` of `symbol` instead of what
        it holds: each asset at its liquidation-path price, valued down, 0 when it cannot buy a base unit."""
        worth = 0
        for spec in self.collaterals.values():
            amount = amount_of_symbol if spec.symbol == symbol else self.held(account, spec.symbol)
            worth += self.sellable(amount * self.liq_price(spec.symbol) // spec.unit)
        return worth

    def all_priced(self, account: str) -> bool:
        return all(self.readable(s) for s in self.held_assets(account))

    def is_dust_after(self, account: str, symbol: str, amount_of_symbol: int) -> bool:
        """The engine's write-off test (invariants 9 and 10): every held asset priced, and the sellable rest worth
        nothing or less than dust_value."""
        if not self.all_priced(account):
            return False
        worth = self.sellable_worth(account, symbol, amount_of_symbol)
        return worth == 0 or worth < self.engine.dust_value
