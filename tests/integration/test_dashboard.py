"""The dashboard in a real browser (Debian's chromium through Playwright) against the session's Anvil.

The server runs in a background thread on the session's provider (no second node), the wallet is a small
EIP-1193 provider that forwards to Anvil (tests/integration/browser.py), and every check is what a person would
see: the bars against `slot_info`, a bid submitted from the page in its list and in the bars, a crash putting an
account at the top of "At risk" and, once the keeper acts, in "Liquidations", a bad amount refused with nothing
sent. Each page is photographed under reports/. The block-to-page latency during a crash replay with a running
keeper is measured and written to reports/dashboard-latency.json (a figure, not an assertion).
"""

from __future__ import annotations

import contextlib
import json
import socket
import statistics
import time
from decimal import Decimal
from unittest import mock

import pytest

from ala.bid import whole
from tests.integration.browser import REPORTS, Wallet, chromium_path, screenshot, wait_for_block
from tests.integration.helpers import Market, crash, load_script, open_borrowers, params_toml
from tests.integration.helpers import write_deployment as write_record
from tests.integration.participants import Outcome
from tests.utils.actions import Actions

pytestmark = pytest.mark.integration

N_BORROWERS = 9


@pytest.fixture(scope="module")
def market(system, owner, chain, accounts, keeper, stranger):
    """A lender, nine borrowers from 45% to 99% of max LTV over WETH/WBTC/GOLD, active bids in slots 0 and 2
    (fewer borrowers than the keeper's tests: every page view reads each of them). It names the session's actors
    the tests use, so that none is first requested later (ape would then rebase the module's fixtures)."""
    actions = Actions(system, owner, chain)
    actions.lend(accounts[1], 5_000_000)
    borrowers = open_borrowers(actions, chain, accounts, "d", N_BORROWERS)
    bid_ids = [actions.submit(accounts[3], s, slot, 400_000) for s in ("WETH", "WBTC", "GOLD") for slot in (0, 2)]
    actions.activate(bid_ids)
    assert not system.lens.liquidatable(borrowers).count(True)
    return Market(system=system, actions=actions, borrowers=borrowers, bid_ids=bid_ids)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    )
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def dashboard(market, system):
    """The app on a free loopback port, on this session's provider; stopped before the test's chain is reverted."""
    from ala.dashboard import Dashboard, create_app
    from ala.dashboard.serve import Background

    with Background(create_app(Dashboard(system, network="ethereum:local", writes=True, poll_interval=0.1))) as srv:
        yield srv


@pytest.fixture
def open_page(browser, dashboard, chain):
    """`open_page(path, wallet=None)`: a fresh browser context on the dashboard, once it shows the chain's head."""
    contexts = []

    def open_(path: str, wallet: Wallet | None = None):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        if wallet is not None:
            wallet.install(context)
        page = context.new_page()
        page.goto(dashboard.url + path)
        wait_for_block(page, chain.blocks.height)
        return page

    yield open_
    for context in contexts:
        context.close()


def _bars(page, symbol: str, slot: int) -> tuple[str, str]:
    active = page.locator(f'rect.active[data-collateral="{symbol}"][data-slot="{slot}"]')
    pending = page.locator(f'rect.pending[data-collateral="{symbol}"][data-slot="{slot}"]')
    return active.get_attribute("data-active"), pending.get_attribute("data-pending")


# ---------------------------------------------------------------- Pools


def test_pools_page__bars_match_slot_info(open_page, system, chain):
    page = open_page("/pools")
    base_decimals = system.params.base.decimals
    filled = 0
    for symbol, token in system.collaterals.items():
        for slot in range(system.queue.pool_params(token).max_slot + 1):
            info = system.queue.slot_info(token, slot)
            assert _bars(page, symbol, slot) == (whole(info.active, base_decimals), whole(info.pending, base_decimals))
            height = float(
                page.locator(f'rect.active[data-collateral="{symbol}"][data-slot="{slot}"]').get_attribute("height")
            )
            assert (height > 0) == (info.active > 0)
            filled += info.active > 0
        price = system.oracle.price(token) / 10**18
        assert (
            f"oracle ${price:,.4f}".rstrip("0").rstrip(".")
            in page.locator(f'[data-testid="oracle-{symbol}"]').inner_text()
        )
        # the curve's last point: everything the pools would buy down to the deepest discount
        last = page.locator(f'[data-testid="curve-{symbol}"] circle').last
        assert float(last.get_attribute("data-cumulative")) > 0
    assert filled == 6  # slots 0 and 2 of each collateral
    screenshot(page, "pools")


# ---------------------------------------------------------------- Bid


def test_bid_page__wallet_submit__in_the_list_and_in_the_bars_after_the_next_block(
    open_page, system, chain, give, stranger, rpc_url
):
    give("USDA", stranger, 5_000)  # no allowance: the page approves exactly the bid first
    wallet = Wallet(rpc_url, stranger.address)
    page = open_page("/bid", wallet)
    page.wait_for_selector('[data-testid="wallet"][data-address]')
    weth = system.tokens["WETH"]
    before = system.queue.slot_info(weth, 4)

    page.select_option('select[name="collateral"]', "WETH")
    page.fill('input[name="slot"]', "4")
    page.fill('input[name="amount"]', "1,234.5")
    page.click('#submit-form button[type="submit"]')
    page.wait_for_selector('[data-testid="outcome"]:has-text("submit bid: mined")', timeout=30_000)

    assert [tx["to"].lower() for tx in wallet.sent] == [system.base.address.lower(), system.queue.address.lower()]
    row = page.locator("#bids tbody tr").first
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[1:5] == ["WETH", "4", "4.0%", "1,234.5"]

    pools = open_page("/pools")
    chain.mine()
    wait_for_block(pools, chain.blocks.height)
    after = system.queue.slot_info(weth, 4)
    assert after.active + after.pending == before.active + before.pending + 1_234_500_000
    assert _bars(pools, "WETH", 4) == (whole(after.active, 6), whole(after.pending, 6))
    page.reload()
    page.locator("#bids tbody tr").first.wait_for()
    screenshot(page, "bid")

    # the bid's retract button: the wallet sends retract_bid, the base comes back, the bid leaves the list
    bid_id = int(cells[0])
    balance = system.base.balanceOf(stranger)
    page.click(f'[data-testid="retract-{bid_id}"]')
    page.wait_for_selector('[data-testid="outcome"]:has-text("retract bid: mined")', timeout=30_000)
    assert wallet.sent[-1]["to"].lower() == system.queue.address.lower()
    assert system.base.balanceOf(stranger) == balance + 1_234_500_000
    page.wait_for_function("document.querySelectorAll('#bids tbody tr').length === 0")


def test_bid_page__amount_above_balance__shows_the_reason_and_sends_nothing(open_page, give, stranger, rpc_url, chain):
    give("USDA", stranger, 100)
    wallet = Wallet(rpc_url, stranger.address)
    page = open_page("/bid", wallet)
    page.wait_for_selector('[data-testid="wallet"][data-address]')
    nonce = chain.provider.get_nonce(stranger.address)

    page.fill('input[name="amount"]', "1,000")
    page.click('#submit-form button[type="submit"]')
    reason = page.locator('[data-testid="reason"]')
    reason.wait_for(state="visible")

    assert "USDA balance of" in reason.inner_text()
    assert "is 100.0000, below the 1,000.0000 the bid needs" in reason.inner_text()
    assert wallet.sent == []
    assert chain.provider.get_nonce(stranger.address) == nonce


def test_bid_page__chain_reverts_the_sent_transaction__shows_the_contracts_reason(
    open_page, system, owner, fast, stranger, rpc_url, chain
):
    """The checks passed, then the balance left before the wallet sent: the node refuses the bid, and the page shows
    the token's own reason string."""
    amount = 2_000 * 10**6
    fast.mint_and_approve(owner, system.base, stranger, amount, system.queue, allowance=amount)
    wallet = Wallet(rpc_url, stranger.address)
    page = open_page("/bid", wallet)
    page.wait_for_selector('[data-testid="wallet"][data-address]')

    def spend_it_all():
        data = system.base.transfer.encode_input(owner.address, amount).hex()
        tx = {"from": stranger.address, "to": system.base.address, "data": "0x" + data.removeprefix("0x")}
        assert "result" in wallet.rpc("eth_sendTransaction", [tx])

    wallet.before_send = spend_it_all
    next_bid = system.queue.next_bid_id()
    page.fill('input[name="amount"]', "2,000")
    page.click('#submit-form button[type="submit"]')
    reason = page.locator('[data-testid="reason"]')
    reason.wait_for(state="visible")
    assert reason.inner_text() == "erc20: transfer amount exceeds balance"
    assert [tx["to"].lower() for tx in wallet.sent] == [system.queue.address.lower()]
    assert system.queue.next_bid_id() == next_bid


def test_bid_page__someone_elses_bid__retract_refused_with_the_reason(open_page, market, system, stranger, rpc_url):
    """The server's answer for a move the chain would refuse: one line, nothing sent."""
    wallet = Wallet(rpc_url, stranger.address)
    page = open_page("/bid", wallet)
    page.wait_for_selector('[data-testid="wallet"][data-address]')
    answer = page.evaluate(
        """async ([id, from_]) => {
            const body = JSON.stringify({ids: [id], from: from_});
            const r = await fetch('/api/prepare/retract', {method: 'POST', body});
            return [r.status, await r.json()];
        }""",
        [market.bid_ids[0], stranger.address],
    )
    assert answer[0] == 400
    assert answer[1]["error"].startswith(f"bid {market.bid_ids[0]} belongs to ")
    assert wallet.sent == []


# ---------------------------------------------------------------- a crash: At risk, Account, Liquidations


def test_crash__account_tops_at_risk__then_in_liquidations_after_the_keeper(
    open_page, market, system, chain, make_keeper, accounts, rpc_url
):
    page = open_page("/risk")
    assert page.locator("#risk tbody tr.hot").count() == 0
    assert page.locator("#risk tbody tr").count() == N_BORROWERS

    crash(market.actions)
    wait_for_block(page, chain.blocks.height)
    liquidatable = market.liquidatable()
    assert liquidatable
    top = page.locator("#risk tbody tr").first
    assert top.get_attribute("class") == "hot"
    account = top.get_attribute("data-account")
    assert account in liquidatable
    assert page.locator("#risk tbody tr.hot").count() == len(liquidatable)
    screenshot(page, "risk")

    top.locator("a").click()
    page.wait_for_url(f"**/account/{account}")
    status = page.locator('[data-testid="account-status"]')
    status.wait_for()
    page.wait_for_function("document.querySelector('[data-testid=account-status]').textContent.length > 0")
    assert status.inner_text().startswith("LIQUIDATABLE")
    assert page.locator("#metrics tbody tr").count() == 4
    assert page.locator("#collaterals tbody tr").count() >= 1
    screenshot(page, "account")

    liquidations = open_page("/liquidations")
    assert liquidations.locator(f'#liquidations tbody tr[data-account="{account}"]').count() == 0
    keeper = make_keeper()
    keeper.run_once()
    logs = list(system.engine.Liquidation.range(system.block, chain.blocks.height + 1))
    assert account in {log.account for log in logs}
    wait_for_block(liquidations, chain.blocks.height)
    row = liquidations.locator(f'#liquidations tbody tr[data-account="{account}"]').first
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[7] == "queue"
    assert liquidations.locator("#liquidations tbody tr").count() == len(logs)
    liquidations.locator("#chart canvas").first.wait_for()
    # the chart's series: from zero to every repayment the queue made
    cleared = liquidations.evaluate("fetch('/api/liquidations').then((r) => r.json())")["cleared"]
    assert cleared[0]["queue"] == 0
    assert cleared[-1]["queue"] == pytest.approx(sum(log.repaid for log in logs) / 10**system.params.base.decimals)
    screenshot(liquidations, "liquidations")

    # the bidder whose slot-0 bids bought the collateral claims it from the Bid page
    bidder = accounts[3]
    wallet = Wallet(rpc_url, bidder.address)
    page = open_page("/bid", wallet)
    claimable = [i for i in market.bid_ids if system.queue.claimable(i) > 0]
    assert claimable
    bid_id = claimable[0]
    button = page.locator(f'[data-testid="claim-{bid_id}"]')
    button.wait_for()
    token = system.tokens[system.symbol_of(system.queue.bid_info(bid_id).collateral)]
    held, owed = token.balanceOf(bidder), system.queue.claimable(bid_id)
    button.click()
    page.wait_for_selector('[data-testid="outcome"]:has-text("claim: mined")', timeout=30_000)
    assert token.balanceOf(bidder) == held + owed
    assert system.queue.claimable(bid_id) == 0


# ---------------------------------------------------------------- responsiveness during a crash replay


def test_dashboard__block_to_page_latency_during_a_crash_replay(
    open_page, market, system, chain, keeper_process, capsys
):
    """A keeper process runs while WETH and WBTC fall 3% a step for ten steps (one block per feed update); two
    pages (At risk, Pools) are open. For each block: from the moment the node has it to the moment each page shows
    data read at it or later. Written to reports/dashboard-latency.json and printed; no timing is asserted."""
    keeper = keeper_process("dashboard-keeper", "--json", "--poll-interval", "0.1")
    pages = {"risk": open_page("/risk"), "pools": open_page("/pools")}
    mined: list[tuple[int, float]] = []
    for _ in range(10):
        for symbol in ("WETH", "WBTC"):
            price = Decimal(system.oracle.price(system.tokens[symbol])) / 10**18 * Decimal("0.97")
            for feed in system.feeds[symbol]:
                feed.update_answer(
                    int(price.quantize(Decimal("0.01")) * 10 ** feed.decimals()), sender=market.actions.owner
                )
                mined.append((chain.blocks.height, time.time()))
        time.sleep(0.3)
    final = chain.blocks.height
    for page in pages.values():
        wait_for_block(page, final, timeout_ms=120_000)
    liquidations = list(system.engine.Liquidation.range(system.block, chain.blocks.height + 1))
    keeper.stop()
    assert liquidations, "the keeper liquidated nothing: the replay was not a crash"

    figures = {}
    for name, page in pages.items():
        shown = {int(k): v / 1000 for k, v in page.evaluate("window.__shown").items()}
        latency = [min(t for b, t in shown.items() if b >= block) - at for block, at in mined]
        figures[name] = {
            "blocks": len(latency),
            "median_s": round(statistics.median(latency), 3),
            "p90_s": round(sorted(latency)[int(0.9 * (len(latency) - 1))], 3),
            "max_s": round(max(latency), 3),
            "renders": len(shown),
        }
    result = {"borrowers": N_BORROWERS, "liquidations": len(liquidations), "pages": figures}
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "dashboard-latency.json").write_text(json.dumps(result, indent=2) + "\n")
    with capsys.disabled():
        print(f"\ndashboard block-to-page latency during the crash replay: {json.dumps(result)}")
    assert all(f["blocks"] == len(mined) for f in figures.values())


# ---------------------------------------------------------------- the command's bad input


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _run_dashboard(chain, *args: str) -> Outcome:
    from ape.cli import commands as ape_commands
    from click.testing import CliRunner

    provider = chain.provider
    with mock.patch.object(ape_commands, "parse_network", lambda ctx: contextlib.nullcontext(provider)):
        result = CliRunner(mix_stderr=False).invoke(
            load_script("dashboard"), [*args, "--network", "ethereum:local:foundry"], catch_exceptions=True
        )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def test_dashboard_command__missing_deployment__one_line(chain, tmp_path):
    out = _run_dashboard(chain, "--port", _free_port(), "--deployment", str(tmp_path / "none.json"))
    assert out.code == 1
    assert (
        out.error_line
        == f"Error: no deployment recorded at {tmp_path / 'none.json'}: run `ape run deploy` on this network first"
    )


def test_dashboard_command__deployment_not_on_this_chain__one_line(chain, system, tmp_path):
    record = write_record(system, tmp_path / "elsewhere.json")
    data = json.loads(record.read_text())
    data["vault"] = "0x" + "ab" * 20
    record.write_text(json.dumps(data))
    params = tmp_path / "params.toml"
    params.write_text(params_toml(system.params))
    out = _run_dashboard(chain, "--port", _free_port(), "--deployment", str(record), "--params", str(params))
    assert out.code == 1
    assert "is not on this chain (no code at the vault" in out.error_line


def test_dashboard_command__port_in_use__one_line(chain, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = _run_dashboard(chain, "--port", str(port))
    assert out.code == 1
    assert out.error_line == f"Error: port {port} on 127.0.0.1 is in use: pick another with --port"


def test_read_only_dashboard__prepares_nothing_and_says_so(market, system, stranger):
    """On a live network the dashboard starts read-only: the Bid page has no form and the server prepares nothing."""
    import requests

    from ala.dashboard import Dashboard, create_app
    from ala.dashboard.serve import Background

    app = create_app(Dashboard(system, network="ethereum:sepolia", writes=False))
    with Background(app) as srv:
        page = requests.get(f"{srv.url}/bid", timeout=10).text
        body = {"from": stranger.address, "collateral": "WETH", "slot": 0, "amount": "1"}
        answer = requests.post(f"{srv.url}/api/prepare/submit", json=body, timeout=10)
    assert 'id="submit-form"' not in page
    assert "Read-only: this dashboard sends nothing on ethereum:sepolia" in page
    assert answer.status_code == 403
    assert answer.json() == {"error": "read-only dashboard: start it with --writes to send"}
