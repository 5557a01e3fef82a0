"""`ape run dashboard`: the auction in the browser, live on every block.

    ape run dashboard --network ethereum:local:foundry            # http://127.0.0.1:8700
    ape run dashboard --port 9000 --network ...                    # another port
    ape run dashboard --demo                                       # a fresh Anvil, the crash replayed slowly

Pages: Pools (bars per premium slot, the cumulative curve, oracle, breaker, volatility), At risk (borrowers by
distance to liquidation, each linking to its account), Liquidations (history and debt cleared over time) and
Bid (a browser wallet submits, activates, retracts and claims). It reads the recorded deployment of the connected
network through the same `ala` functions as `ape run bid`, `account` and `watch`. The server binds loopback unless
told otherwise (`--host`) and never holds a key: the browser's wallet signs. On a live network it is read-only
unless `--writes` is given.
"""

from __future__ import annotations

import click
from ape import project
from ape.cli import ConnectedProviderCommand
from rich.console import Console

from ala.cli_common import CommandError, deployment_option, is_local, open_system, params_option
from ala.cli_guard import one_line_errors
from ala.dashboard import Dashboard, check_port, create_app, serve
from ala.dashboard.serve import LOOPBACK, is_loopback

err = Console(stderr=True)


@click.command(
    cls=ConnectedProviderCommand, short_help="The live dashboard: pools, accounts at risk, liquidations, bids"
)
@click.option("--host", default=LOOPBACK, show_default=True, help="address to listen on (loopback unless told)")
@click.option("--port", type=int, default=8700, show_default=True)
@click.option("--writes/--read-only", default=None, help="let the Bid page send (default: on local networks only)")
@click.option("--demo", is_flag=True, help="deploy on this (local) chain and replay the March 2020 crash slowly")
@click.option("--step-seconds", type=float, default=3.0, show_default=True, help="--demo: wall seconds per step")
@click.option("--open", "open_browser", is_flag=True, help="open the dashboard in the default browser")
@click.option("--poll", type=float, default=0.2, show_default=True, help="seconds between checks for a new block")
@params_option
@deployment_option
@one_line_errors
def cli(ecosystem, network, host, port, writes, demo, step_seconds, open_browser, poll, params_path, deployment):
    check_port(host, port)
    if not is_loopback(host):
        err.print(f"[yellow]listening on {host}: anyone who reaches this address sees the dashboard[/]")
    writes = is_local(network) if writes is None else writes
    label = f"{ecosystem.name}:{network.name}"
    replay = None
    if demo:
        if not is_local(network):
            raise CommandError("--demo deploys and replays a crash: local networks only")
        from ala.dashboard.replay import Replay

        replay = Replay(params_path, step_seconds, err)
        system = replay.deploy(ecosystem.name, network.name)
    else:
        system = open_system(project, ecosystem, network, deployment, params_path)
    dashboard = Dashboard(system, network=label, writes=writes, poll_interval=poll)
    if replay is not None:
        replay.start(dashboard.lock)
    err.print(
        f"ALA dashboard on {label}: http://{host}:{port} ({'writes on' if writes else 'read-only'}); Ctrl-C stops"
    )
    try:
        serve(create_app(dashboard), host, port)
    finally:
        if replay is not None:
            replay.stop()
