"""`ape run watch`: every borrower ranked by distance to liquidation, refreshed on each new block.

    ape run watch --network ethereum:local:foundry            # a live table until Ctrl-C
    ape run watch --once --json                            # one ranking, for scripts

A price update reaches the chain in a block, so refreshing on every new block also refreshes on every price
update. `sd 1h` is the distance in standard deviations of one hour's move of that collateral, from the oracle's
volatility estimate (see `ala.watch`). Exit code 1 when any account is liquidatable (after `--once`, or at Ctrl-C
for the last refresh), so alerting can run `ape run watch --once` and look at the code alone.
"""

from __future__ import annotations

import json
import sys
import time

import click
from ape import chain, project
from ape.cli import ConnectedProviderCommand
from rich.console import Console
from rich.live import Live
from rich.progress import Progress
from rich.table import Table

from ala.cli_common import deployment_option, emit, json_option, open_system, params_option
from ala.cli_guard import one_line_errors
from ala.watch import snapshot

err = Console(stderr=True)


def table(s, limit: int) -> Table:
    t = Table(
        title=f"block {s['block']}: {s['borrowers']} borrowers, {s['liquidatable']} liquidatable; "
        + ", ".join(f"{k} ${v:,.2f}" for k, v in s["prices"].items())
    )
    for column in ("#", "account", "distance", "via", "binds", "sd 1h", "health", "debt $", "collateral $"):
        t.add_column(column, justify="left" if column in ("account", "via", "binds") else "right")
    for i, r in enumerate(s["accounts"][:limit], 1):
        style = "bold red" if r["liquidatable"] else None
        t.add_row(
            str(i),
            r["account"],
            "LIQUIDATABLE" if r["liquidatable"] else ("—" if r["distance"] is None else f"{r['distance']:.2%}"),
            r["collateral"] or "",
            r["binding"] or "",
            "—" if r["sigmas"] is None else f"{r['sigmas']:.2f}",
            "∞" if r["health"] is None else f"{r['health']:.4f}",
            f"{r['debt_value']:,.2f}",
            f"{r['collateral_value']:,.2f}",
            style=style,
        )
    return t


@click.command(cls=ConnectedProviderCommand, short_help="Borrowers ranked by distance to liquidation, live")
@click.option("--once", is_flag=True, help="one ranking, then exit")
@click.option("--limit", default=30, show_default=True, help="rows shown (--json lists every borrower)")
@click.option("--interval", default=1.0, show_default=True, help="seconds between checks for a new block")
@click.option("--refreshes", type=int, default=None, help="stop after this many refreshes (default: until Ctrl-C)")
@click.option("--observation-seconds", type=float, default=None, help="seconds between oracle observations")
@json_option
@params_option
@deployment_option
@one_line_errors
def cli(ecosystem, network, once, limit, interval, refreshes, observation_seconds, as_json, params_path, deployment):
    system = open_system(project, ecosystem, network, deployment, params_path)

    def take():
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("reading accounts", total=None)

            def advance(done, total):
                progress.update(task, completed=done, total=total)

            return snapshot(system, observation_seconds, advance)

    if once:
        s = take()
        emit(s, as_json, lambda s: Console().print(table(s, limit)))
        sys.exit(1 if s["liquidatable"] else 0)

    s = first = take()
    try:
        if as_json:
            # one JSON line per refresh
            click.echo(json.dumps(first, default=str))
            for s in _refreshes(system, first["block"], interval, observation_seconds, refreshes):
                click.echo(json.dumps(s, default=str))
        else:
            with Live(table(first, limit), console=Console(), auto_refresh=False) as live:
                for s in _refreshes(system, first["block"], interval, observation_seconds, refreshes):
                    live.update(table(s, limit), refresh=True)
    except KeyboardInterrupt:
        pass
    sys.exit(1 if s["liquidatable"] else 0)


def _refreshes(system, seen: int, interval: float, observation_seconds, limit: int | None):
    """A new ranking each time the chain has a new block (`limit` of them, or without end)."""
    done = 0
    while limit is None or done < limit:
        time.sleep(interval)
        if chain.blocks.height == seen:
            continue
        s = snapshot(system, observation_seconds)
        seen = s["block"]
        done += 1
        yield s
