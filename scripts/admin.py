"""`ape run admin`: the owner's and the guardian's actions on a recorded deployment (logic in `ala.admin`).

    ape run admin pause --network ethereum:local:foundry --account guardian
    ape run admin collateral WETH --liq-ltv 0.82            # prints the change and the ramp it starts, then sends
    ape run admin diff --params params/local.toml           # each parameter: file vs chain
    ape run admin apply --params params/local.toml [--yes]  # the calls that reconcile them; sends only with --yes
    ape run admin transfer-ownership 0xSAFE...              # step one on every contract; the multisig accepts

Every command prints what will change before it sends, checks bounds and the sender's role first (a refusal sends
nothing), and takes `--json`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import click
from ape import project
from ape.cli import ConnectedProviderCommand

from ala import admin
from ala.admin import Call
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
    preflight,
    sender_account,
)
from ala.cli_guard import one_line_errors
from ala.deploy import System


@click.group(short_help="Owner and guardian actions: pause, parameters, breakers, reserves, ownership, diff/apply")
def cli() -> None:
    """Owner and guardian actions on the recorded deployment of the connected network."""


def command(name: str, short_help: str) -> Callable:
    """A subcommand on a connected network with the options every admin command takes."""

    def wrap(f: Callable) -> Callable:
        # one line for any unexpected failure; with --json, ape's INFO lines stay off stdout
        f = one_line_errors(f)
        for option in (json_option, account_option, params_option, deployment_option):
            f = option(f)
        return cli.command(name, cls=ConnectedProviderCommand, short_help=short_help)(f)

    return wrap


def _open(ecosystem: Any, network: Any, deployment: str | None, params_path: str | None) -> System:
    return open_system(project, ecosystem, network, deployment, params_path)


def _act(
    ecosystem: Any,
    network: Any,
    deployment: str | None,
    params_path: str | None,
    alias: str | None,
    as_json: bool,
    build: Callable[[System, Any], list[Call]],
) -> None:
    """Build the calls, refuse what the sender may not do or what changes nothing, print, preflight all, send."""
    system = _open(ecosystem, network, deployment, params_path)
    sender = sender_account(alias, is_local(network))
    calls = build(system, sender)
    for call in calls:
        admin.check_sender(system, call, sender.address)
        if not call.changes:
            raise CommandError(f"nothing changes: {call.title()} sets what the chain already holds")
    if not as_json:
        for call in calls:
            for line in call.lines():
                click.echo(line)
    for call in calls:
        preflight(call.method(system), *call.args, sender=sender)
    sent = admin.execute(system, calls, sender)
    data = {"sender": sender.address, "calls": [c.to_json(system) for c in calls], "sent": sent}
    emit(data, as_json, lambda d: [click.echo(f"sent {s['call']}: {s['tx']} (block {s['block']})") for s in d["sent"]])


def _values(system: System, function: str, **texts: str | None) -> dict[str, int | None]:
    """Option texts in the parameter file's units -> raw values (None: keep the chain's)."""
    units = dict(admin.SETTERS[function].parameters)
    decimals = system.params.base.decimals
    return {
        name: None if text is None else admin.parse(text, units[name], name.replace("_", "-"), decimals)
        for name, text in texts.items()
    }


def _setter(function: str, symbol: str = "", **texts: str | None) -> Callable[[System, Any], list[Call]]:
    def build(system: System, sender: Any) -> list[Call]:
        if all(t is None for t in texts.values()):
            names = ", ".join("--" + n.replace("_", "-") for n in texts)
            raise CommandError(f"nothing to change: pass one of {names}")
        return [admin.setter(system, function, _values(system, function, **texts), symbol)]

    return build


# ---------------------------------------------------------------- pause, guardians


@command("pause", "Pause deposit, mint, borrow and remove_collateral (owner or vault guardian)")
def pause(ecosystem, network, deployment, params_path, alias, as_json):
    _act(ecosystem, network, deployment, params_path, alias, as_json, lambda s, _: [admin.pause(s, True)])


@command("unpause", "Unpause the vault (owner)")
def unpause(ecosystem, network, deployment, params_path, alias, as_json):
    _act(ecosystem, network, deployment, params_path, alias, as_json, lambda s, _: [admin.pause(s, False)])


@command("set-guardian", "Set the vault's (pause) or the oracle's (confirm_price) guardian")
@click.argument("guardian")
@click.option("--contract", type=click.Choice(["vault", "oracle"]), required=True)
def set_guardian(ecosystem, network, deployment, params_path, alias, as_json, guardian, contract):
    name = {"vault": "LendingVault", "oracle": "PriceOracle"}[contract]
    _act(
        ecosystem,
        network,
        deployment,
        params_path,
        alias,
        as_json,
        lambda s, _: [admin.set_guardian(s, name, guardian)],
    )


# ---------------------------------------------------------------- engine, vault, queue parameters


@command("collateral", "A listed collateral's max_ltv, liq_ltv and risk_factor (both thresholds ramp over a day)")
@click.argument("symbol")
@click.option("--max-ltv")
@click.option("--liq-ltv")
@click.option("--risk-factor")
def collateral(ecosystem, network, deployment, params_path, alias, as_json, symbol, max_ltv, liq_ltv, risk_factor):
    def build(system: System, sender: Any) -> list[Call]:
        collateral_token(system, symbol)
        return _setter("configure_collateral", symbol, max_ltv=max_ltv, liq_ltv=liq_ltv, risk_factor=risk_factor)(
            system, sender
        )

    _act(ecosystem, network, deployment, params_path, alias, as_json, build)


@command("risk-limits", "Market opening limits (at once) and liquidation thresholds (ramp over a day)")
@click.option("--base-risk-factor")
@click.option("--max-risk-ratio")
@click.option("--liq-risk-ratio")
@click.option("--max-leverage")
@click.option("--liq-leverage")
def risk_limits(ecosystem, network, deployment, params_path, alias, as_json, **texts):
    _act(ecosystem, network, deployment, params_path, alias, as_json, _setter("set_risk_limits", **texts))


@command(
    "pool",
    "A collateral's bid pool: premium step, max slot (queued: standing bids get max(1 day, waiting period) of "
    "notice), waiting period, bid threshold (base tokens; at once)",
)
@click.argument("symbol")
@click.option("--premium-step")
@click.option("--max-slot")
@click.option("--waiting-period")
@click.option("--bid-threshold")
def pool(ecosystem, network, deployment, params_path, alias, as_json, symbol, **texts):
    def build(system: System, sender: Any) -> list[Call]:
        collateral_token(system, symbol)
        return _setter("set_pool_params", symbol, **texts)(system, sender)

    _act(ecosystem, network, deployment, params_path, alias, as_json, build)


@command("min-bid", "A collateral's smallest bid (base tokens); applies at once")
@click.argument("symbol")
@click.argument("min_bid")
def min_bid(ecosystem, network, deployment, params_path, alias, as_json, symbol, min_bid):
    def build(system: System, sender: Any) -> list[Call]:
        collateral_token(system, symbol)
        return _setter("set_min_bid", symbol, min_bid=min_bid)(system, sender)

    _act(ecosystem, network, deployment, params_path, alias, as_json, build)


@command("fees", "Keeper and protocol fees")
@click.option("--keeper-fee")
@click.option("--protocol-fee")
def fees(ecosystem, network, deployment, params_path, alias, as_json, **texts):
    _act(ecosystem, network, deployment, params_path, alias, as_json, _setter("set_fees", **texts))


@command("close-ratio", "Largest share of the debt one liquidation repays")
@click.argument("close_ratio")
def close_ratio(ecosystem, network, deployment, params_path, alias, as_json, close_ratio):
    build = _setter("set_close_ratio", close_ratio=close_ratio)
    _act(ecosystem, network, deployment, params_path, alias, as_json, build)


@command("dust-value", "Debt or remainder worth less than this (USD) is repaid whole")
@click.argument("dust_value")
def dust_value(ecosystem, network, deployment, params_path, alias, as_json, dust_value):
    build = _setter("set_dust_value", dust_value=dust_value)
    _act(ecosystem, network, deployment, params_path, alias, as_json, build)


@command("reserve-factor", "Share of interest booked as reserves")
@click.argument("reserve_factor")
def reserve_factor(ecosystem, network, deployment, params_path, alias, as_json, reserve_factor):
    build = _setter("set_reserve_factor", reserve_factor=reserve_factor)
    _act(ecosystem, network, deployment, params_path, alias, as_json, build)


@command("set-rate-model", "Point the vault at another (deployed) rate model")
@click.argument("model")
def set_rate_model(ecosystem, network, deployment, params_path, alias, as_json, model):
    _act(ecosystem, network, deployment, params_path, alias, as_json, lambda s, _: [admin.set_rate_model(s, model)])


# ---------------------------------------------------------------- oracle


@command("oracle", "An asset's oracle limits: max_age (seconds) and max_spread; its feeds stay")
@click.argument("symbol")
@click.option("--max-age")
@click.option("--max-spread")
def oracle(ecosystem, network, deployment, params_path, alias, as_json, symbol, **texts):
    def build(system: System, sender: Any) -> list[Call]:
        if all(t is None for t in texts.values()):
            raise CommandError("nothing to change: pass one of --max-age, --max-spread")
        return admin.feeds(system, _values(system, "set_feeds", **texts), symbol)

    _act(ecosystem, network, deployment, params_path, alias, as_json, build)


@command("min-sources", "An asset's oracle quorum: fewest fresh answers its price needs, 1 to its feed count")
@click.argument("symbol")
@click.argument("min_sources")
def min_sources(ecosystem, network, deployment, params_path, alias, as_json, symbol, min_sources):
    _act(
        ecosystem,
        network,
        deployment,
        params_path,
        alias,
        as_json,
        _setter("set_min_sources", symbol, min_sources=min_sources),
    )


@command("breaker", "An asset's circuit breaker: tolerance and confirmation delay (seconds); --off turns it off")
@click.argument("symbol")
@click.option("--tolerance")
@click.option("--delay", "confirmation_delay")
@click.option("--off", is_flag=True)
def breaker(ecosystem, network, deployment, params_path, alias, as_json, symbol, tolerance, confirmation_delay, off):
    if off:
        tolerance, confirmation_delay = "0", "0"
    build = _setter("set_breaker", symbol, tolerance=tolerance, confirmation_delay=confirmation_delay)
    _act(ecosystem, network, deployment, params_path, alias, as_json, build)


@command("confirm-price", "Accept a tripped breaker's current price now (owner or oracle guardian)")
@click.argument("symbol")
def confirm_price(ecosystem, network, deployment, params_path, alias, as_json, symbol):
    _act(ecosystem, network, deployment, params_path, alias, as_json, lambda s, _: [admin.confirm_price(s, symbol)])


@command("volatility", "An asset's EWMA decay (lambda), k and min_factor of its ltv factor")
@click.argument("symbol")
@click.option("--lambda", "ewma_lambda")
@click.option("--k")
@click.option("--min-factor")
def volatility(ecosystem, network, deployment, params_path, alias, as_json, symbol, **texts):
    _act(ecosystem, network, deployment, params_path, alias, as_json, _setter("set_volatility_params", symbol, **texts))


# ---------------------------------------------------------------- reserves


@command("withdraw-reserves", "Send base reserves (whole tokens) to a receiver")
@click.argument("amount")
@click.option("--to", "receiver", required=True)
def withdraw_reserves(ecosystem, network, deployment, params_path, alias, as_json, amount, receiver):
    def build(system: System, sender: Any) -> list[Call]:
        units = parse_amount(amount, system.params.base.decimals)
        return [admin.withdraw_reserves(system, units, receiver)]

    _act(ecosystem, network, deployment, params_path, alias, as_json, build)


@command("withdraw-reserve-collateral", "Send the reserve account's collateral (swept dust) to a receiver")
@click.argument("symbol")
@click.argument("amount")
@click.option("--to", "receiver", required=True)
def withdraw_reserve_collateral(ecosystem, network, deployment, params_path, alias, as_json, symbol, amount, receiver):
    def build(system: System, sender: Any) -> list[Call]:
        token = collateral_token(system, symbol)
        units = parse_amount(amount, system.params.collateral(system.symbol_of(token.address)).decimals)
        return [admin.withdraw_reserve_collateral(system, symbol, units, receiver)]

    _act(ecosystem, network, deployment, params_path, alias, as_json, build)


# ---------------------------------------------------------------- the Dutch auction


@command("auction-curve", "The auction's price curve: cut per step, step (seconds), floor")
@click.option("--cut")
@click.option("--step")
@click.option("--floor")
def auction_curve(ecosystem, network, deployment, params_path, alias, as_json, **texts):
    _act(ecosystem, network, deployment, params_path, alias, as_json, _setter("set_curve", **texts))


@command("auction-reset", "The auction's redo rules: tail (seconds), cusp, buf")
@click.option("--tail")
@click.option("--cusp")
@click.option("--buf")
def auction_reset(ecosystem, network, deployment, params_path, alias, as_json, **texts):
    _act(ecosystem, network, deployment, params_path, alias, as_json, _setter("set_reset_rules", **texts))


@command("auction-incentive", "The redo incentive: tip (whole base tokens) and chip")
@click.option("--tip")
@click.option("--chip")
def auction_incentive(ecosystem, network, deployment, params_path, alias, as_json, **texts):
    _act(ecosystem, network, deployment, params_path, alias, as_json, _setter("set_incentive", **texts))


@command("auction-dust", "Smallest tab a partial take may leave (whole base tokens)")
@click.argument("dust")
def auction_dust(ecosystem, network, deployment, params_path, alias, as_json, dust):
    _act(ecosystem, network, deployment, params_path, alias, as_json, _setter("set_dust", dust=dust))


@command("withdraw-incentives", "Take base (whole tokens) out of the auction's redo incentive balance")
@click.argument("amount")
@click.option("--to", "receiver", required=True)
def withdraw_incentives(ecosystem, network, deployment, params_path, alias, as_json, amount, receiver):
    def build(system: System, sender: Any) -> list[Call]:
        return [admin.withdraw_incentives(system, parse_amount(amount, system.params.base.decimals), receiver)]

    _act(ecosystem, network, deployment, params_path, alias, as_json, build)


@command("sweep", "Send tokens the auction house holds beyond what it owes (donations, mistakes) to a receiver")
@click.argument("symbol")
@click.option("--to", "receiver", required=True)
def sweep(ecosystem, network, deployment, params_path, alias, as_json, symbol, receiver):
    _act(ecosystem, network, deployment, params_path, alias, as_json, lambda s, _: [admin.sweep(s, symbol, receiver)])


# ---------------------------------------------------------------- ownership


@command("owners", "Owner, pending owner and guardian of every contract")
def owners(ecosystem, network, deployment, params_path, alias, as_json):
    system = _open(ecosystem, network, deployment, params_path)
    rows = admin.owners(system)

    def render(rows: list[dict]) -> None:
        for r in rows:
            extra = f"  guardian {r['guardian']}" if "guardian" in r else ""
            click.echo(f"{r['contract']:<18} owner {r['owner']}  pending {r['pending_owner']}{extra}")

    emit(rows, as_json, render)


@command("transfer-ownership", "Step one of two: offer every contract (or --contract ...) to a new owner")
@click.argument("new_owner")
@click.option("--contract", "contracts", multiple=True, type=click.Choice(list(admin.CONTRACTS)))
def transfer_ownership(ecosystem, network, deployment, params_path, alias, as_json, new_owner, contracts):
    build = lambda s, _: admin.transfer_ownership(s, new_owner, list(contracts) or None)  # noqa: E731
    _act(ecosystem, network, deployment, params_path, alias, as_json, build)


@command("accept-ownership", "Step two: the pending owner accepts every contract offered to it")
@click.option("--calldata", "as_owner", default=None, help="print the calls for this pending owner (a multisig)")
def accept_ownership(ecosystem, network, deployment, params_path, alias, as_json, as_owner):
    if as_owner:
        system = _open(ecosystem, network, deployment, params_path)
        data = [admin.calldata(system, c) for c in admin.accept_ownership(system, as_owner)]
        emit(data, as_json, lambda d: [click.echo(f"{x['call']}  to {x['to']}  data {x['data']}") for x in d])
        return
    build = lambda s, sender: admin.accept_ownership(s, sender.address)  # noqa: E731
    _act(ecosystem, network, deployment, params_path, alias, as_json, build)


# ---------------------------------------------------------------- diff and apply


def _render_rows(data: dict) -> None:
    rows = data["rows"] if data.get("all") else [r for r in data["rows"] if r["differs"]]
    if rows:
        click.echo(f"{'contract':<18} {'parameter':<26} {'file':>22} {'chain':>22}")
    else:
        click.echo("no difference: the chain holds every parameter of the file")
    for r in rows:
        name = f"{r['asset']} {r['parameter']}".strip()
        mark = "" if r["differs"] else "  ="
        click.echo(f"{r['contract']:<18} {name:<26} {r['file']!s:>22} {r['chain']!s:>22}{mark}")
    for r in data["rows"]:
        if "ramp_end" in r:
            name = f"{r['asset']} {r['parameter']}".strip()
            at = datetime.datetime.fromtimestamp(r["ramp_end"], datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if r["contract"] == "LiquidationQueue":
                # dev: a bid pool's terms do not ramp: the queued value applies whole at its time
                click.echo(f"queued: {name} in force {r['in_force']}, becomes {r['chain']} at {at}")
            else:
                click.echo(f"ramp running: {name} in force {r['in_force']}, moving to {r['chain']} until {at}")


@command("diff", "Each parameter of --params: file vs chain")
@click.option("--all", "show_all", is_flag=True, help="list equal parameters too")
def diff(ecosystem, network, deployment, params_path, alias, as_json, show_all):
    system = _open(ecosystem, network, deployment, params_path)
    rows = admin.diff(system, system.params, project)
    data = {
        "differences": sum(r.differs for r in rows),
        "rows": [r.to_json(system.params.base.decimals) for r in rows],
        "all": show_all,
    }
    emit(data, as_json, _render_rows)


@command("apply", "The calls that make the chain match --params; prints them, sends only with --yes")
@click.option("--yes", is_flag=True, help="send the calls")
def apply(ecosystem, network, deployment, params_path, alias, as_json, yes):
    system = _open(ecosystem, network, deployment, params_path)
    sender = sender_account(alias, is_local(network))
    rows = admin.diff(system, system.params, project)
    calls, unreconcilable = admin.reconcile(system, rows)
    for call in calls:
        admin.check_sender(system, call, sender.address)
    if not as_json:
        if not calls:
            click.echo("nothing to apply: the chain holds every parameter of the file a setter can change")
        for call in calls:
            for line in call.lines():
                click.echo(line)
        for line in unreconcilable:
            click.echo(f"not applied: {line}")
        if calls and not yes:
            click.echo(f"{len(calls)} call(s) not sent: pass --yes to send them")
    sent = admin.execute(system, calls, sender) if yes else []
    data = {
        "sender": sender.address,
        "calls": [c.to_json(system) for c in calls],
        "not_applied": unreconcilable,
        "sent": sent,
    }
    emit(data, as_json, lambda d: [click.echo(f"sent {s['call']}: {s['tx']} (block {s['block']})") for s in d["sent"]])
