"""What every participant command shares: the recorded deployment, amounts as people write them, the sender,
a check before sending, and `--json` output.

Every failure a person can cause ends as one `click.ClickException` line and a non-zero exit, never a traceback,
and nothing is sent: `preflight` runs each transaction as an `eth_call` first and turns a revert into its reason.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from ala.deploy import DEPLOYMENTS, System, load_system
from ala.params import DEFAULT_PARAMS, load


class CommandError(click.ClickException):
    """One line for the person at the terminal; exit code 1."""


def deployment_path(ecosystem: Any, network: Any, deployment: str | None) -> Path:
    return Path(deployment) if deployment else DEPLOYMENTS / f"{ecosystem.name}-{network.name}.json"


def open_system(project: Any, ecosystem: Any, network: Any, deployment: str | None, params_path: str | None) -> System:
    """The recorded deployment of the connected network, checked to be on this chain."""
    path = deployment_path(ecosystem, network, deployment)
    if not path.is_file():
        raise CommandError(f"no deployment recorded at {path}: run `ape run deploy` on this network first")
    params_file = Path(params_path or DEFAULT_PARAMS)
    if not params_file.is_file():
        raise CommandError(f"no parameter file at {params_file}")
    try:
        system = load_system(project, path, load(params_file))
    except (KeyError, ValueError) as exc:
        raise CommandError(f"{path} is not a deployment record ({exc})") from None
    from ape import chain

    if not chain.provider.get_code(system.vault.address):
        vault = system.vault.address
        raise CommandError(f"the deployment in {path} is not on this chain (no code at the vault {vault})")
    return system


def parse_scaled(text: str, scale: int, what: str, *, positive: bool, too_fine: str) -> int:
    """A number as people write it (`1,000.5`, `0.85`) times `scale`. Refuses what is not a number, what is
    negative, zero when `positive`, and what would be rounded (the message then ends with `too_fine`)."""
    cleaned = str(text).replace(",", "").replace("_", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise CommandError(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or value < 0 or (positive and value == 0):
        wanted = "a positive number" if positive else "a number of at least 0"
        raise CommandError(f"{what} {text!r} must be {wanted}")
    units = value * scale
    if units != units.to_integral_value():
        raise CommandError(f"{what} {text!r} {too_fine}")
    return int(units)


def parse_amount(text: str, decimals: int, what: str = "amount") -> int:
    """Whole tokens as people write them (`1,000.5`) -> token units; refuses what would be rounded, zero or less."""
    return parse_scaled(text, 10**decimals, what, positive=True, too_fine=f"has more than {decimals} decimals")


def format_amount(units: int, decimals: int, places: int = 4) -> str:
    value = Decimal(int(units)) / Decimal(10**decimals)
    return f"{value:,.{min(places, decimals)}f}"


def collateral_token(system: System, symbol: str) -> Any:
    """A listed collateral by symbol (case-insensitive), or one line naming the ones there are."""
    for known, token in system.collaterals.items():
        if known.lower() == symbol.lower():
            return token
    raise CommandError(f"unknown collateral {symbol!r}: this deployment lists {', '.join(system.collaterals)}")


def any_token(system: System, symbol: str) -> Any:
    for known, token in system.tokens.items():
        if known.lower() == symbol.lower():
            return token
    raise CommandError(f"unknown token {symbol!r}: this deployment has {', '.join(system.tokens)}")


def sender_account(alias: str | None, local: bool) -> Any:
    """`--account ALIAS` (an ape account), `TEST::<i>` (ape's test account i); on local networks test account 0."""
    from ape import accounts

    if alias:
        if alias.upper().startswith("TEST::"):
            try:
                return accounts.test_accounts[int(alias.split("::", 1)[1])]
            except (ValueError, IndexError):
                raise CommandError(f"no test account {alias!r}") from None
        try:
            return accounts.load(alias)
        except Exception:  # ape raises its own error types for an unknown alias
            raise CommandError(f"no ape account named {alias!r} (`ape accounts list`)") from None
    if local:
        return accounts.test_accounts[0]
    raise CommandError("no sender: pass --account ALIAS")


def is_local(network: Any) -> bool:
    return network.name == "local" or network.name.endswith("-fork")


def revert_reason(exc: Exception) -> str:
    message = getattr(exc, "revert_message", None) or str(exc)
    return str(message).strip().splitlines()[0] if str(message).strip() else type(exc).__name__


def preflight(method: Any, *args: Any, sender: Any) -> None:
    """Run the transaction as a call from `sender`; a revert becomes one line with the contract's reason."""
    try:
        method.call(*args, sender=sender)
    except Exception as exc:  # ape wraps reverts in several types (ContractLogicError, VirtualMachineError)
        raise CommandError(f"would revert: {revert_reason(exc)}") from None


def send(method: Any, *args: Any, sender: Any) -> Any:
    """Preflight, then send; a revert on the way (state changed in between) is still one line."""
    preflight(method, *args, sender=sender)
    try:
        return method(*args, sender=sender)
    except Exception as exc:
        raise CommandError(f"reverted: {revert_reason(exc)}") from None


def emit(data: Any, as_json: bool, render: Any = None) -> None:
    """`--json`: the data, nothing else on stdout; otherwise `render(data)` (rich tables) or the JSON."""
    if as_json or render is None:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        render(data)


deployment_option = click.option(
    "--deployment", type=click.Path(dir_okay=False), default=None, help="default: deployments/<network>.json"
)
params_option = click.option("--params", "params_path", default=None, help=f"parameter file (default {DEFAULT_PARAMS})")
account_option = click.option("--account", "alias", default=None, help="ape account alias, or TEST::<i>")
json_option = click.option("--json", "as_json", is_flag=True, help="machine-readable output on stdout")
