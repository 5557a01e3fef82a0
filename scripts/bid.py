"""`ape run bid`: take part in liquidations with standing bids.

    ape run bid submit WETH 2 1,000 --account me --network ethereum:local:foundry   # 1,000 USDA at slot 2 (2% off)
    ape run bid list --account me                   # your bids: slot, premium, remaining, bought, claimable, state
    ape run bid activate --all-due --account me     # your bids whose waiting period is over
    ape run bid retract 7 [500] --account me        # all of bid 7's unspent base, or 500 of it
    ape run bid claim --all --account me            # the collateral your bids bought
    ape run bid pools WETH --size 25,000            # each slot, and what a 25,000 USDA liquidation takes from it

Amounts are whole tokens as people write them (`1,000.5`). Every command takes `--json`, `--deployment`,
`--params` and ape's `--network`; the moves take `--account ALIAS` (or `TEST::<i>`; local networks default to test
account 0). Bad input is one line and exit code 1, and nothing is sent.
"""

from __future__ import annotations

import datetime

import click
from ape import project
from ape.cli import ConnectedProviderCommand
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ala import bid as moves
from ala.cli_common import (
    CommandError,
    account_option,
    deployment_option,
    emit,
    is_local,
    json_option,
    open_system,
    params_option,
    parse_amount,
    sender_account,
)
from ala.cli_guard import one_line_errors

err = Console(stderr=True)


def _setup(ecosystem, network, deployment, params_path, alias):
    system = open_system(project, ecosystem, network, deployment, params_path)
    return system, sender_account(alias, is_local(network))


def _common(fn):
    for option in (json_option, account_option, params_option, deployment_option):
        fn = option(fn)
    return one_line_errors(fn)


def _progress(total: int, what: str, as_json: bool):
    progress = Progress(console=err, transient=True, disable=total <= 1)
    task = progress.add_task(what, total=total)
    return progress, lambda n: progress.advance(task, n)


@click.group(short_help="Submit, activate, retract, claim and list liquidation bids")
def cli():
    pass


@cli.command(cls=ConnectedProviderCommand, short_help="Deposit base into a collateral's pool at a premium slot")
@click.argument("collateral")
@click.argument("slot", type=int)
@click.argument("amount")
@click.option("--no-approve", is_flag=True, help="fail instead of approving the queue for what is missing")
@_common
def submit(ecosystem, network, collateral, slot, amount, no_approve, deployment, params_path, alias, as_json):
    system, sender = _setup(ecosystem, network, deployment, params_path, alias)
    units = parse_amount(amount, system.params.base.decimals)
    result = moves.submit(system, sender, collateral, slot, units, approve=not no_approve)

    def render(r):
        if r["approved"] != "0":
            click.echo(f"approved the queue for {r['approved']} {system.params.base.symbol}")
        when = "now (fills from the next block)" if r["immediate"] else _when(r["activates_at"])
        click.echo(
            f"bid {r['bid_id']}: {r['amount']} {system.params.base.symbol} on {r['collateral']} slot {r['slot']}"
        )
        click.echo(f"activates {when}; tx {r['tx']}")

    emit(result, as_json, render)


@cli.command(cls=ConnectedProviderCommand, short_help="Activate waiting bids whose waiting period is over")
@click.argument("bid_ids", nargs=-1, type=int)
@click.option("--all-due", is_flag=True, help="every bid of yours that is due")
@_common
def activate(ecosystem, network, bid_ids, all_due, deployment, params_path, alias, as_json):
    system, sender = _setup(ecosystem, network, deployment, params_path, alias)
    if bool(bid_ids) == all_due:
        raise CommandError("name the bids to activate, or pass --all-due (not both)")
    ids = moves.due_bids(system, sender.address) if all_due else list(bid_ids)
    if not ids:
        emit({"activated": [], "txs": []}, as_json, lambda r: click.echo("no bid of yours is due"))
        return
    progress, advance = _progress(len(ids), "activating", as_json)
    with progress:
        result = moves.activate(system, sender, ids, advance)
    emit(result, as_json, lambda r: click.echo(f"activated {', '.join(map(str, r['activated']))}"))


@cli.command(cls=ConnectedProviderCommand, short_help="Take back a bid's unspent base (all of it, or AMOUNT)")
@click.argument("bid_id", type=int)
@click.argument("amount", required=False)
@_common
def retract(ecosystem, network, bid_id, amount, deployment, params_path, alias, as_json):
    system, sender = _setup(ecosystem, network, deployment, params_path, alias)
    units = parse_amount(amount, system.params.base.decimals) if amount is not None else None
    result = moves.retract(system, sender, bid_id, units)
    symbol = system.params.base.symbol
    emit(
        result,
        as_json,
        lambda r: click.echo(f"bid {bid_id}: retracted {r['retracted']} {symbol}, {r['remaining']} {symbol} left"),
    )


@cli.command(cls=ConnectedProviderCommand, short_help="Pay out the collateral your bids bought")
@click.argument("bid_ids", nargs=-1, type=int)
@click.option("--all", "claim_all", is_flag=True, help="every bid of yours with something to claim")
@_common
def claim(ecosystem, network, bid_ids, claim_all, deployment, params_path, alias, as_json):
    system, sender = _setup(ecosystem, network, deployment, params_path, alias)
    if bool(bid_ids) == claim_all:
        raise CommandError("name the bids to claim, or pass --all (not both)")
    ids = moves.claimable_bids(system, sender.address) if claim_all else list(bid_ids)
    if not ids:
        emit({"claimed": [], "txs": []}, as_json, lambda r: click.echo("nothing to claim"))
        return
    progress, advance = _progress(len(ids), "claiming", as_json)
    with progress:
        result = moves.claim(system, sender, ids, advance)

    def render(r):
        for c in r["claimed"]:
            click.echo(f"bid {c['bid_id']}: claimed {c['amount']} {c['collateral']}")

    emit(result, as_json, render)


@cli.command("list", cls=ConnectedProviderCommand, short_help="Your bids")
@click.option("--owner", default=None, help="whose bids (default: the --account's)")
@_common
def list_(ecosystem, network, owner, deployment, params_path, alias, as_json):
    system = open_system(project, ecosystem, network, deployment, params_path)
    owner = owner or sender_account(alias, is_local(network)).address
    rows = moves.list_bids(system, owner)

    def render(rows):
        table = Table(title=f"Bids of {owner}")
        for column in ("id", "collateral", "slot", "premium", "remaining", "bought", "claimable", "state", "activates"):
            table.add_column(column, justify="right" if column not in ("collateral", "state") else "left")
        for r in rows:
            activates = "" if r["activates_at"] is None else f"{_when(r['activates_at'])} (in {r['activates_in']} s)"
            table.add_row(
                str(r["id"]),
                r["collateral"],
                str(r["slot"]),
                f"{r['premium']:.2%}",
                r["remaining"],
                r["bought"],
                r["claimable"],
                r["state"],
                activates,
            )
        Console().print(table)

    emit(rows, as_json, render)


@cli.command(cls=ConnectedProviderCommand, short_help="A collateral's pools, slot by slot")
@click.argument("collateral")
@click.option("--size", default="10,000", show_default=True, help="the liquidation to preview, whole base tokens")
@json_option
@params_option
@deployment_option
@one_line_errors
def pools(ecosystem, network, collateral, size, as_json, params_path, deployment):
    system = open_system(project, ecosystem, network, deployment, params_path)
    result = moves.pools(system, collateral, parse_amount(size, system.params.base.decimals, "size"))
    base = system.params.base.symbol

    def render(r):
        table = Table(
            title=f"{r['collateral']} pools at ${r['oracle_price']:,.2f}: a {r['size']} {base} liquidation"
            f" raises {r['raised']} for {r['collateral_sold']} {r['collateral']}"
        )
        for column in ("slot", "premium", "price $", f"active {base}", f"pending {base}", "takes", "gives"):
            table.add_column(column, justify="right")
        for s in r["slots"]:
            table.add_row(
                str(s["slot"]),
                f"{s['premium']:.2%}",
                f"{s['price']:,.2f}",
                s["active"],
                s["pending"],
                s["takes"],
                s["gives"],
            )
        Console().print(table)
        if r["short"] != "0":
            click.echo(f"the pools are {r['short']} {base} short of a {r['size']} {base} liquidation")
        if r["liquidations_paused"]:
            click.echo(f"liquidations in {r['collateral']} are paused by the oracle's circuit breaker")
        if r["min_bid"] != "0":
            click.echo(f"smallest bid: {r['min_bid']} {base}; a partial retraction must leave at least that")
        pending = r["pending_terms"]
        if pending:
            click.echo(
                f"queued: premium step {pending['premium_step']:.2%}, max slot {pending['max_slot']} apply to every "
                f"standing bid from {_when(pending['effective_at'])} (retract before then to leave)"
            )

    emit(result, as_json, render)


def _when(timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
