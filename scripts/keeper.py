"""`ape run keeper`: run the ALA keeper against the connected network's recorded deployment.

    ape run keeper --network ethereum:local:foundry [--once] [--json] [-v]
    ape run keeper --network ethereum:local:http://127.0.0.1:8545 --deployment path/to.json

The deployment is `deployments/<ecosystem>-<network>.json` (written by `ape run deploy` through
`ala.deploy.write_deployment`) unless `--deployment` names another file.

The signing key, first match wins (it stays in memory; nothing is written):
  1. `--account ALIAS`: an ape account (`ape accounts import ALIAS`); its passphrase comes from
     `APE_ACCOUNTS_<ALIAS>_PASSPHRASE` or a prompt. `--account TEST::<i>` takes ape's test account i.
  2. the environment variable named by `--key-env` (default `ALA_KEEPER_PRIVATE_KEY`), hex.
  3. on local and fork networks only: ape's test account 4 (the `keeper` role of the tests).

Everything else is `ala.keeper` (see its module docstring for the strategies and the store).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ala.keeper import FeeConfig, KeeperConfig, serve  # noqa: E402

GWEI = 10**9


def _key(account: str | None, key_env: str, network_name: str) -> str:
    from ape import accounts

    if account:
        if account.upper().startswith("TEST::"):
            return accounts.test_accounts[int(account.split("::", 1)[1])].private_key
        from eth_account import Account

        keyfile_account = accounts.load(account)
        passphrase = os.environ.get(f"APE_ACCOUNTS_{account}_PASSPHRASE") or click.prompt(
            f"Passphrase for '{account}'", hide_input=True
        )
        return "0x" + bytes(Account.decrypt(keyfile_account.keyfile, passphrase)).hex()
    if os.environ.get(key_env):
        return os.environ[key_env]
    if network_name == "local" or network_name.endswith("-fork"):
        return accounts.test_accounts[4].private_key
    raise click.UsageError(f"no key: pass --account ALIAS or set {key_env}")


@click.command(cls=ConnectedProviderCommand, short_help="Liquidate unhealthy accounts and activate due bids")
@click.option("--deployment", type=click.Path(dir_okay=False), default=None, help="deployment JSON to use")
@click.option("--account", default=None, help="ape account alias, or TEST::<i>")
@click.option("--key-env", default="ALA_KEEPER_PRIVATE_KEY", show_default=True)
@click.option("--db", default="keeper.sqlite", show_default=True, help="SQLite store")
@click.option("--keeper-id", default="", help="instance id in logs and the store")
@click.option("--once", is_flag=True, help="one full cycle (backfill, scan, liquidate, activate), then exit")
@click.option("--json", "json_lines", is_flag=True, help="JSON-lines logs and report")
@click.option("--verbose", count=True, help="--verbose: actions, twice: debug (-v is ape's own log level)")
@click.option("--poll-interval", default=1.0, show_default=True)
@click.option("--batch-size", default=500, show_default=True)
@click.option("--scan-every-blocks", default=20, show_default=True)
@click.option("--reorg-depth", default=0, show_default=True, help="blocks of logs re-read on every poll (3-5 on L1)")
@click.option("--priority-fee-gwei", default=1.0, show_default=True)
@click.option("--max-fee-gwei", default=500.0, show_default=True)
@click.option("--bump-after", default=30.0, show_default=True, help="seconds before a pending tx is re-priced")
def cli(
    ecosystem,
    network,
    provider,
    deployment,
    account,
    key_env,
    db,
    keeper_id,
    once,
    json_lines,
    verbose,
    poll_interval,
    batch_size,
    scan_every_blocks,
    reorg_depth,
    priority_fee_gwei,
    max_fee_gwei,
    bump_after,
):
    path = Path(deployment) if deployment else ROOT / "deployments" / f"{ecosystem.name}-{network.name}.json"
    if not path.exists():
        raise click.UsageError(f"no deployment at {path}: run `ape run deploy` first or pass --deployment")
    rpc_url = getattr(provider, "http_uri", None) or provider.uri
    config = KeeperConfig.from_deployment(
        path,
        rpc_url=rpc_url,
        private_key=_key(account, key_env, network.name),
        db_path=db,
        keeper_id=keeper_id,
        poll_interval=poll_interval,
        batch_size=batch_size,
        scan_every_blocks=scan_every_blocks,
        reorg_depth=reorg_depth,
        fees=FeeConfig(
            priority_fee=int(priority_fee_gwei * GWEI), max_fee=int(max_fee_gwei * GWEI), bump_after=bump_after
        ),
    )
    code = serve(config, once=once, json_lines=json_lines, verbosity=verbose)
    if code:
        sys.exit(code)
