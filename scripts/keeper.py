"""`ape run keeper`: the ALA keeper against the connected network's recorded deployment.

    ape run keeper --network ethereum:local:foundry [--once] [--json] [--verbose]
    ape run keeper --network ethereum:mainnet:node --deployment path/to.json --metrics-port 9108

The options are the keeper's own (`ala.keeper.cli.keeper_options`, shared with the `ala-keeper` console
script); this script adds ape's network and accounts. The deployment is
`deployments/<ecosystem>-<network>.json` in the working directory unless `--deployment` names another file.

The signing key, first match wins (it stays in memory; nothing is written):
  1. `--account ALIAS`: an ape account (`ape accounts import ALIAS`); its passphrase comes from
     `APE_ACCOUNTS_<ALIAS>_PASSPHRASE` or a prompt. `--account TEST::<i>` takes ape's test account i.
  2. the environment variable named by `--key-env` (default `ALA_KEEPER_PRIVATE_KEY`), hex.
  3. on local and fork networks only: ape's test account 4 (the `keeper` role of the tests).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from ala.keeper.cli import build_config, keeper_options, run


def _key(account: str | None, key_env: str, local: bool) -> str:
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
    if local:
        return accounts.test_accounts[4].private_key
    raise click.UsageError(f"no key: pass --account ALIAS or set {key_env}")


@click.command(cls=ConnectedProviderCommand, short_help="Liquidate unhealthy accounts and activate due bids")
@click.option("--deployment", type=click.Path(dir_okay=False), default=None, help="deployment JSON to use")
@click.option("--account", default=None, help="ape account alias, or TEST::<i>")
@click.option("--key-env", default="ALA_KEEPER_PRIVATE_KEY", show_default=True)
@keeper_options(short_verbose=False)
def cli(ecosystem, network, provider, deployment, account, key_env, **options):
    path = Path(deployment) if deployment else Path("deployments") / f"{ecosystem.name}-{network.name}.json"
    if not path.is_file():
        raise click.UsageError(f"no deployment at {path}: run `ape run deploy` first or pass --deployment")
    local = network.name == "local" or network.name.endswith("-fork")
    rpc_url = getattr(provider, "http_uri", None) or provider.uri
    config = build_config(path, rpc_url=rpc_url, private_key=_key(account, key_env, local), live=not local, **options)
    code = run(config, options)
    if code:
        sys.exit(code)
