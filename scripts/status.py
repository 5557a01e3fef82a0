"""`ape run status`: accounts nearest to liquidation, pool depth per slot, reserves and bad debt."""

import json
from pathlib import Path

import click
from ape import project
from ape.cli import ConnectedProviderCommand
from rich.console import Console
from rich.table import Table

from ala.deploy import DEPLOYMENTS, load_system
from ala.params import DEFAULT_PARAMS, load
from ala.status import status


@click.command(cls=ConnectedProviderCommand, short_help="Status of a recorded deployment")
@click.option("--deployment", type=click.Path(dir_okay=False), help="default: deployments/<ecosystem>-<network>.json")
@click.option("--params", "params_path", default=str(DEFAULT_PARAMS), show_default=True)
@click.option("--nearest", default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def cli(ecosystem, network, deployment, params_path, nearest, as_json):
    path = Path(deployment) if deployment else DEPLOYMENTS / f"{ecosystem.name}-{network.name}.json"
    if not path.exists():
        raise click.ClickException(f"no deployment recorded at {path}: run `ape run deploy` on this network first")
    system = load_system(project, path, load(params_path))
    report = status(system, nearest)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    console = Console()
    summary = Table(title=f"ALA on {ecosystem.name}:{network.name}")
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    for key in ("borrowers", "liquidatable", "total_assets", "total_debt", "reserves", "bad_debt", "utilisation"):
        summary.add_row(key, f"{report[key]:,}")
    console.print(summary)
    accounts = Table(title="Accounts nearest to liquidation")
    for column in ("account", "health", "risk ratio", "leverage", "collateral $", "debt $", "liquidatable"):
        accounts.add_column(column)
    for r in report["nearest"]:
        accounts.add_row(
            r["account"],
            str(r["health"]),
            str(r["risk_ratio"]),
            str(r["leverage"]),
            f"{r['collateral_value']:,}",
            f"{r['debt_value']:,}",
            "yes" if r["liquidatable"] else "",
        )
    console.print(accounts)
    pools = Table(title="Bid pools")
    for column in ("collateral", "slot", "premium", "active", "pending"):
        pools.add_column(column)
    for symbol, slots in report["pools"].items():
        for s in slots:
            pools.add_row(symbol, str(s["slot"]), f"{s['premium']:.2%}", f"{s['active']:,.2f}", f"{s['pending']:,.2f}")
    console.print(pools)
