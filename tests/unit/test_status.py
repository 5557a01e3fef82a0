"""ala.status: the keeper-facing snapshot reads the chain correctly."""

from ala.status import borrowers_of, status


def test_status__orders_accounts_by_health_and_reports_pools(actions, system, lender, borrower, other_borrower, bidder):
    actions.lend(lender, 100_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 15_000)  # health 1.13
    actions.post(other_borrower, "WBTC", 1)
    actions.borrow(other_borrower, 10_000)  # health 4.68
    actions.bid(bidder, "WETH", 2, 5_000)
    actions.submit(bidder, "WETH", 0, 1_000)  # still waiting
    actions.set_price("WETH", 1_700)

    report = status(system)

    assert borrowers_of(system, system.block) == [borrower.address, other_borrower.address]
    assert [r["account"] for r in report["nearest"]] == [borrower.address, other_borrower.address]
    assert report["liquidatable"] == 1 and report["nearest"][0]["liquidatable"]
    assert report["nearest"][0]["health"] < 1 < report["nearest"][1]["health"]
    assert report["pools"]["WETH"] == [
        {"slot": 0, "premium": 0.0, "active": 0.0, "pending": 1_000.0},
        {"slot": 2, "premium": 0.02, "active": 5_000.0, "pending": 0.0},
    ]
    assert report["pools"]["WBTC"] == []
    assert report["total_debt"] >= 25_000
    assert report["bad_debt"] == 0
