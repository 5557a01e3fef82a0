"""`ape run admin` against a live Anvil: every subcommand sends what it printed, and every refusal sends nothing.

The click group runs in-process (`click.testing.CliRunner`) on the test session's Anvil, with the deployment and a
parameter file written from the system under test. A refusal is checked three ways: a non-zero exit, the message
naming the problem, and the sender's nonce unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from ala.deploy import deploy_auction
from ala.params import AuctionParams
from tests.integration.admin_helpers import Admin, admin_cli, params_toml, write_files

WAD = 10**18
DAY = 86_400


@pytest.fixture(scope="module")
def auction_system(system, project, owner):
    """The shared system with a Dutch-auction house wired, as `[auction]` in a parameter file deploys it."""
    system.params = replace(system.params, auction=AuctionParams())
    system.auction = deploy_auction(
        project, owner, system.params, system.base, system.oracle, system.vault, system.engine
    )
    return system


@pytest.fixture(scope="module")
def admin(auction_system, tmp_path_factory):
    deployment, params = write_files(auction_system, tmp_path_factory.mktemp("admin"))
    return Admin(admin_cli(), deployment, params)


@pytest.fixture
def refused(admin):
    """Run a command that must be refused: non-zero exit, the message, and nothing sent (the nonce unchanged)."""

    def check(*args: str, account, message: str) -> str:
        nonce = account.nonce
        result = admin.run(*args, account=account)
        assert result.exit_code != 0, result.output
        assert message in result.output, result.output
        assert account.nonce == nonce
        return result.output

    return check


def test_pause__guardian_pauses_owner_unpauses(admin, auction_system, owner, guardian, refused):
    vault = auction_system.vault
    vault.set_guardian(guardian, sender=owner)

    out = admin.json("pause", account=guardian)

    assert vault.paused()
    assert out["calls"][0]["changes"] == [{"parameter": "paused", "before": "false", "after": "true"}]
    assert len(out["sent"]) == 1
    refused("pause", account=guardian, message="the vault is already paused: nothing to send")
    refused("unpause", account=guardian, message=f"{guardian.address} is not the owner of LendingVault")
    admin.json("unpause", account=owner)
    assert not vault.paused()
