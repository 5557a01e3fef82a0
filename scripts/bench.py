"""`ape run bench`: gas per operation and keeper speed; prints tables and writes bench/results.json."""

import json
import sys
from pathlib import Path

import click
from ape import accounts, chain, networks, project
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ala.deploy import code_sizes  # noqa: E402
from bench.gas_bench import AAVE_V3_LIQUIDATION, GasBench, gas_table_rows  # noqa: E402
from bench.gas_breakdown import split  # noqa: E402
from bench.walk_bench import WalkBench, walk_rows  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
EIP_170 = 24_576
# every deployable keeps 4 KB of headroom under EIP-170
CODE_LIMIT = EIP_170 - 4_096


@click.command(short_help="Gas and keeper benchmarks (prints tables, writes bench/results.json)")
@click.option("--network", "network_choice", default="ethereum:local:foundry", show_default=True)
@click.option("--bidders", default=1000, show_default=True, help="Bids in the slot for the many-bidder liquidation")
@click.option("--skip-keeper", is_flag=True, help="Gas only")
@click.option("--keeper-borrowers", default=2000, show_default=True)
@click.option("--keeper-10k/--no-keeper-10k", default=True, show_default=True, help="Also scan 10,000 borrowers")
def cli(network_choice: str, bidders: int, skip_keeper: bool, keeper_borrowers: int, keeper_10k: bool) -> None:
    console = Console()
    results: dict = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    with networks.parse_network_choice(network_choice) as provider:
        console.print(f"[bold]gas[/bold] on {provider.network.ecosystem.name}:{provider.network.name}")
        bench = GasBench(project, accounts.test_accounts, chain, provider.uri)
        gas = bench.run(many=bidders)
        sizes = code_sizes(project, bench.s, provider, accounts.test_accounts[0])
    results["gas"] = gas
    results["code_size"] = sizes
    table = Table(title=f"Deployed code size (eth_getCode: runtime + immutables; limit {CODE_LIMIT:,})")
    for column in ("contract", "bytes", "headroom under EIP-170"):
        table.add_column(column)
    for name, size in sizes.items():
        table.add_row(name, f"{size:,}", f"{EIP_170 - size:,}")
    console.print(table)
    results["reference"] = {"aave_v3_liquidationCall": AAVE_V3_LIQUIDATION}
    table = Table(title="Gas per operation (receipts on Anvil)")
    for column in ("operation", "gas", "target / reference"):
        table.add_column(column)
    for row in gas_table_rows(gas):
        table.add_row(*row)
    console.print(table)
    one = gas.get("liquidate_1_slot")
    if one:
        many = gas.get(f"liquidate_1_slot_{bidders}_bidders")
        three = gas.get("liquidate_3_slots")
        derived = {
            "per_extra_slot": (three - one) // 2 if three else None,
            "many_bidders_vs_one_percent": round(100 * (many - one) / one, 3) if many else None,
        }
        results["gas_derived"] = derived
        console.print(
            f"per extra slot: {derived['per_extra_slot']:,} gas; {bidders} bidders vs 1: "
            f"{derived['many_bidders_vs_one_percent']:+.3f}%"
        )

    for name, rows in bench.breakdowns.items():
        results.setdefault("gas_breakdown", {})[name] = rows
        table = Table(title=f"Where the gas of {name} goes (Anvil traces)")
        for column in ("cause", "gas", "share"):
            table.add_column(column)
        for cause, value in rows.items():
            table.add_row(cause, f"{value:,}", f"{100 * value / rows['total']:.1f}%")
        console.print(table)
        fixed, ours, storage = split(rows)
        console.print(
            f"fixed by the design of record (not our contracts' code): {fixed:,}; "
            f"left of 200,000 for our contracts: {200_000 - fixed:,}; "
            f"they spend {ours:,}, of which storage {storage:,}"
        )

    with networks.parse_network_choice(network_choice):
        walk = WalkBench(project, accounts.test_accounts, chain).run()
    results["walk_gas"] = walk
    table = Table(title="Many small bids: a liquidation that drains N slots of one minimum bid each (100 USDA)")
    for column in ("slots walked", "gas", "gas per slot beyond the first", "base the attacker locks"):
        table.add_column(column)
    for row in walk_rows(walk):
        table.add_row(*row)
    console.print(table)

    with networks.parse_network_choice(network_choice):
        from bench.auction_gas import auction_gas_rows, measure_auction_gas, measure_wired_auction_gas

        auction = measure_auction_gas(project, accounts.test_accounts, chain)
    with networks.parse_network_choice(network_choice):
        auction.update(measure_wired_auction_gas(project, accounts.test_accounts, chain))
    results["auction_gas"] = auction
    table = Table(title="Dutch-auction fallback, gas (standalone auction house, then wired to the engine)")
    for column in ("operation", "gas", "scenario"):
        table.add_column(column)
    for row in auction_gas_rows(auction):
        table.add_row(*row)
    console.print(table)

    if not skip_keeper:
        try:
            from bench.keeper_bench import run_keeper_bench
        except ImportError as exc:  # the keeper bench lives beside this file
            raise click.ClickException(f"keeper bench unavailable: {exc}") from exc
        keeper = run_keeper_bench(
            n_borrowers=keeper_borrowers, also_10k=keeper_10k, metrics_sample=Path("reports") / "metrics-sample.txt"
        )
        results["keeper"] = keeper
        table = Table(title="Keeper (Anvil, loopback)")
        table.add_column("measure")
        table.add_column("value")
        table.add_column("target / reference")
        targets = {
            "scan_seconds_10k": "<= 2 s for 10,000 (auction-keeper: ~6 min per refresh)",
            "reaction_seconds": "<= 1 s",
            "liquidations_per_second": ">= 50",
            "signing_us_per_tx": "libsecp256k1 through coincurve, constant time",
        }
        for key, value in keeper.items():
            table.add_row(key, f"{value:,.3f}" if isinstance(value, float) else str(value), targets.get(key, ""))
        console.print(table)

    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {RESULTS.relative_to(ROOT)}")
