"""`ape run account`: how far an account is from liquidation, and the borrower's moves that only make it safer.

    ape run account [ADDRESS] --network ethereum:local:foundry   # default: the --account's address
    ape run account add-collateral WETH 2.5 --account me [--for ADDRESS]
    ape run account repay 1,000 --account me                  # or --all

For each collateral: amount, price, value, its LTV limits and the price at which the account becomes liquidatable
with every other price held, and the drop from today's price to it. For each metric (LTV, risk ratio, leverage):
the value beside its opening limit and its liquidation threshold, and where a ramping threshold is headed.
"""

from __future__ import annotations

import datetime

import click
from ape import project
from ape.cli import ConnectedProviderCommand
from rich.console import Console
from rich.table import Table

from ala import account as moves
from ala.cli_common import (
    CommandError,
    account_option,
    collateral_token,
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


class _DefaultShow(click.Group):
    """`account [ADDRESS]` shows; `account add-collateral …` and `account repay …` act."""

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["show", *args]
        return super().parse_args(ctx, args)


def _common(fn):
    for option in (json_option, account_option, params_option, deployment_option):
        fn = option(fn)
    return one_line_errors(fn)


@click.group(cls=_DefaultShow, short_help="An account's distance to liquidation; add collateral, repay")
def cli():
    pass


def _pct(x):
    return "—" if x is None else f"{x:.2%}"


def _num(x, places=2):
    if x is None:
        return "∞"
    if x == float("inf"):
        return "any price"
    return f"{x:,.{places}f}"


def _when(timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _ramp(ramp, fmt) -> str:
    return "" if not ramp else f"→ {fmt(ramp['to'])} by {_when(ramp['ends_at'])}"


def render_report(r) -> None:
    console = Console()
    state = "[bold red]LIQUIDATABLE[/]" if r["liquidatable"] else "healthy"
    console.print(
        f"{r['account']}: {state}; owes {r['debt']} {r['debt_symbol']} (${r['debt_value']:,.2f}) "
        f"against ${r['collateral_value']:,.2f} of collateral"
    )
    table = Table(title="Collateral")
    for column in (
        "asset",
        "amount",
        "price $",
        "value $",
        "max LTV",
        "liq LTV",
        "liquidation price $",
        "drop",
        "binds",
    ):
        table.add_column(column, justify="left" if column in ("asset", "binds") else "right")
    for c in r["collaterals"]:
        liq = _pct(c["liq_ltv"])
        if c["liq_ltv_ramp"]:
            liq += f" → {_pct(c['liq_ltv_ramp']['liq_ltv'])} by {_when(c['liq_ltv_ramp']['ends_at'])}"
        table.add_row(
            c["symbol"],
            c["amount"],
            _num(c["price"]),
            _num(c["value"]),
            _pct(c["max_ltv"]),
            liq,
            "none" if c["liquidation_price"] is None else _num(c["liquidation_price"]),
            _pct(c["drop"]),
            c["binding"] or "",
        )
    console.print(table)
    m = r["metrics"]
    metrics = Table(title="Metrics")
    for column in ("metric", "now", "opening limit", "liquidation threshold"):
        metrics.add_column(column, justify="left" if column == "metric" else "right")
    metrics.add_row("LTV", _pct(m["ltv"]["value"]), _pct(m["ltv"]["opening_limit"]), _pct(m["ltv"]["threshold"]))
    metrics.add_row("LTV health", _num(m["health"]["value"], 4), "", "below 1.0000")
    metrics.add_row(
        "risk ratio",
        _num(m["risk_ratio"]["value"], 4),
        _num(m["risk_ratio"]["opening_limit"], 4),
        f"above {_num(m['risk_ratio']['threshold'], 4)} {_ramp(m['risk_ratio']['ramp'], lambda x: f'{x:.4f}')}",
    )
    metrics.add_row(
        "leverage",
        _num(m["leverage"]["value"], 4),
        _num(m["leverage"]["opening_limit"], 4),
        f"above {_num(m['leverage']['threshold'], 4)} {_ramp(m['leverage']['ramp'], lambda x: f'{x:.4f}')}",
    )
    console.print(metrics)
    if r["base_risk_factor"]["ramp"]:
        console.print(
            f"base risk factor {r['base_risk_factor']['value']:.4f} "
            f"{_ramp(r['base_risk_factor']['ramp'], lambda x: f'{x:.4f}')}"
        )
    if r["nearest"]:
        n = r["nearest"]
        console.print(f"nearest: a {_pct(n['drop'])} fall of {n['symbol']} ({n['binding']} binds)")
    if r["borrowing_paused"]:
        console.print("the vault is paused: borrowing and removing collateral wait; repaying and adding do not")


@cli.command(cls=ConnectedProviderCommand, short_help="Collateral, debt, metrics and liquidation prices")
@click.argument("address", required=False)
@_common
def show(ecosystem, network, address, deployment, params_path, alias, as_json):
    system = open_system(project, ecosystem, network, deployment, params_path)
    if address is None:
        address = sender_account(alias, is_local(network)).address
    elif not _is_address(address):
        raise CommandError(f"{address!r} is not an address (0x and 40 hex digits)")
    emit(moves.account_report(system, address), as_json, render_report)


def _is_address(text: str) -> bool:
    try:
        return text.startswith("0x") and len(text) == 42 and int(text, 16) >= 0
    except ValueError:
        return False


@cli.command("add-collateral", cls=ConnectedProviderCommand, short_help="Post collateral (to your account or --for)")
@click.argument("collateral")
@click.argument("amount")
@click.option("--for", "for_account", default=None, help="the account to credit (default: yours)")
@click.option("--no-approve", is_flag=True, help="fail instead of approving the vault for what is missing")
@_common
def add_collateral(
    ecosystem, network, collateral, amount, for_account, no_approve, deployment, params_path, alias, as_json
):
    system = open_system(project, ecosystem, network, deployment, params_path)
    sender = sender_account(alias, is_local(network))
    if for_account is not None and not _is_address(for_account):
        raise CommandError(f"{for_account!r} is not an address (0x and 40 hex digits)")
    token = collateral_token(system, collateral)
    units = parse_amount(amount, token.decimals())
    result = moves.add_collateral(system, sender, collateral, units, for_account, approve=not no_approve)
    emit(
        result,
        as_json,
        lambda r: click.echo(
            f"added {r['added']} {r['collateral']} to {r['account']} (now {r['balance']}); tx {r['tx']}"
        ),
    )


@cli.command(cls=ConnectedProviderCommand, short_help="Repay debt (AMOUNT, or --all)")
@click.argument("amount", required=False)
@click.option("--all", "repay_all", is_flag=True, help="the whole debt")
@click.option("--for", "for_account", default=None, help="the account whose debt to repay (default: yours)")
@click.option("--no-approve", is_flag=True, help="fail instead of approving the vault for what is missing")
@_common
def repay(ecosystem, network, amount, repay_all, for_account, no_approve, deployment, params_path, alias, as_json):
    system = open_system(project, ecosystem, network, deployment, params_path)
    sender = sender_account(alias, is_local(network))
    if (amount is None) != repay_all:
        raise CommandError("give an AMOUNT to repay, or --all (not both)")
    if for_account is not None and not _is_address(for_account):
        raise CommandError(f"{for_account!r} is not an address (0x and 40 hex digits)")
    units = None if repay_all else parse_amount(amount, system.params.base.decimals)
    result = moves.repay(system, sender, units, for_account, approve=not no_approve)
    base = system.params.base.symbol
    emit(
        result,
        as_json,
        lambda r: click.echo(
            f"repaid {r['repaid']} {base} for {r['account']}, {r['remaining']} {base} left; tx {r['tx']}"
        ),
    )
