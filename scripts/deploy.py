"""`ape run deploy`: deploy the whole system from a parameter file and record it in deployments/.

    ape run deploy                                            # a throwaway local Anvil (see README)
    APE_FOUNDRY_HOST=http://127.0.0.1:8545 ape run deploy   # an Anvil you already run (not ethereum:local:node,
                                                            # which signs for chain id 1337)
    ALA_TESTNET_RPC_URL=... ape run deploy --network ethereum:sepolia:node --account deployer \\
        --params params/sepolia.example.toml --dry-run        # the same deployment on a fork first
"""

from pathlib import Path

import click
from ape import accounts, chain, networks, project

from ala.deploy import deploy_system, write_deployment
from ala.params import DEFAULT_PARAMS, load


def fork_of(choice: str) -> str:
    """`ecosystem:network[:provider]` -> the same network's foundry fork."""
    parts = choice.split(":")
    ecosystem, network = parts[0], parts[1] if len(parts) > 1 else "local"
    if network == "local" or network.endswith("-fork"):
        return choice
    return f"{ecosystem}:{network}-fork:foundry"


@click.command(short_help="Deploy ALA and write deployments/<ecosystem>-<network>.json")
@click.option("--network", "network_choice", default="ethereum:local:foundry", show_default=True)
@click.option("--params", "params_path", default=str(DEFAULT_PARAMS), show_default=True, type=click.Path(exists=True))
@click.option("--account", "alias", default=None, help="ape account alias (live networks); default: test account 0")
@click.option("--dry-run", is_flag=True, help="Run the same deployment on a fork of --network and record nothing")
@click.option(
    "--proxies/--no-proxies",
    default=True,
    show_default=True,
    help="Put a Chainlink-style proxy in front of every mock feed, as on mainnet (feeds the parameters name stay)",
)
def cli(network_choice: str, params_path: str, alias: str | None, dry_run: bool, proxies: bool) -> None:
    params = load(Path(params_path))
    choice = fork_of(network_choice) if dry_run else network_choice
    with networks.parse_network_choice(choice) as provider:
        network = provider.network
        if alias and dry_run:
            # dev: on a fork the deployer is impersonated, so the dry run needs no password
            sender = accounts[accounts.load(alias).address]
        elif alias:
            sender = accounts.load(alias)
        else:
            sender = accounts.test_accounts[0]
        click.echo(f"deploying on {network.ecosystem.name}:{network.name} from {sender.address}")
        system = deploy_system(project, sender, params, chain, feed_proxies=proxies)
        for name in ("oracle", "vault", "queue", "engine", "lens"):
            click.echo(f"  {name:<7} {getattr(system, name).address}")
        if dry_run:
            click.echo("dry run: nothing recorded")
            return
        path = write_deployment(system, network.ecosystem.name, network.name)
        click.echo(f"wrote {path}")
