"""`ape run demo`: deploy, fund, replay the March 2020 crash, keep, report (reports/demo.json + .png)."""

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ala.demo import DemoOptions, run_demo
from ala.params import DEFAULT_PARAMS


@click.command(short_help="The ALA crash demo on a fresh Anvil (or --fork)")
@click.option("--scenario", type=click.Choice(["crash", "thin", "random", "csv"]), default="crash", show_default=True)
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False), help="Price path for --scenario csv")
@click.option("--fork", is_flag=True, help="Fork a loopback upstream (chain id 1) that has the system deployed")
@click.option("--borrowers", default=200, show_default=True)
@click.option("--bidders", default=20, show_default=True)
@click.option("--seed", default=2020, show_default=True)
@click.option("--params", "params_path", default=str(DEFAULT_PARAMS), show_default=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON")
def cli(scenario, csv_path, fork, borrowers, bidders, seed, params_path, as_json):
    console = Console(stderr=as_json)
    options = DemoOptions(
        scenario=scenario,
        csv_path=csv_path,
        fork=fork,
        borrowers=borrowers,
        bidders=bidders,
        seed=seed,
        params_path=Path(params_path),
    )
    report = run_demo(options, console)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    table = Table(title=f"ALA demo: {scenario} on {report['network']}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in (
        "borrowers",
        "liquidations",
        "accounts_liquidated",
        "debt_repaid",
        "funds_raised",
        "average_premium",
        "keeper_fees",
        "protocol_fees",
        "bad_debt",
        "accounts_left_liquidatable",
        "keeper_reaction_seconds_max",
        "wall_seconds",
    ):
        table.add_row(key, f"{report[key]:,}" if isinstance(report[key], (int, float)) else str(report[key]))
    gas = report["gas_per_liquidation"]
    table.add_row("gas per liquidation", f"{gas['mean']:,} (min {gas['min']:,}, max {gas['max']:,})")
    console.print(table)
    for symbol, rows in report["collateral_sold_per_slot"].items():
        sold = ", ".join(f"slot {k}: {v['collateral_sold']:.4f}" for k, v in rows.items())
        console.print(f"{symbol} sold per slot: {sold}")
    cleared = report["debt_cleared_by"]
    console.print(
        "debt cleared by the bid queue: {bid_queue:,}, by Dutch auctions: {dutch_auctions:,},"
        " written off: {bad_debt_write_off:,}".format(**cleared)
    )
    if "auctions" in report:
        a = report["auctions"]
        console.print(
            f"auctions: {a['opened']} opened, {a['finished']} finished, {a['still_running']} running;"
            f" {a['takes']} takes, {a['redos']} redos; refunded to borrowers {a['refunded_to_borrowers']:,}"
        )
    b = report["breakers"]
    per_asset = ", ".join(f"{s} {n}" for s, n in b["trips_per_asset"].items() if n)
    console.print(f"circuit breakers: {b['trips']} trips ({per_asset or 'none'}), {b['confirmations']} confirmations")
    if "upstream_unchanged" in report:
        console.print(f"upstream unchanged by the fork run: {report['upstream_unchanged']}")
    console.print(f"wrote {', '.join(report['files'])}")
