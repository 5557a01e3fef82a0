"""The keeper's command line, defined once and served twice.

    ala-keeper --rpc-url URL --deployment deployments/ethereum-mainnet.json [options]    (console script)
    python -m ala.keeper --rpc-url URL --deployment ...                                    (the same)
    ape run keeper --network ethereum:mainnet:node [options]                              (scripts/keeper.py)

`keeper_options` holds every option of the keeper itself and `build_config` turns them into a `KeeperConfig`;
the console command adds `--rpc-url`, `--deployment` and `--key-env`, the ape script adds ape's network and
accounts. Paths (`--deployment`, `--db`) are relative to the working directory, never to the package.

Defaults that depend on the network ("auto"): on a live network a liquidation whose keeper fee is worth less
than 1.2 x its gas is skipped (`--min-profit`), due bids wait up to 12 s in a per-keeper order before this
keeper activates them (`--activation-stagger`), and a signer below 0.05 ETH is warned about; on a local or
forked chain none of these apply. Bad input ends with one line on stderr and exit code 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ala.keeper.config import GWEI, FeeConfig, KeeperConfig

# chain ids of development chains (Anvil, Hardhat, Ganache): "auto" defaults mean "off" there
LOCAL_CHAIN_IDS = {31337, 1337}
LIVE_MIN_PROFIT = 1.2
LIVE_ACTIVATION_STAGGER = 12.0
LIVE_MIN_BALANCE_ETH = 0.05


def _auto_float(name: str, low: float = 0.0) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def convert(_ctx: click.Context, _param: click.Parameter, value: Any) -> float | str | None:
        if value is None or str(value).lower() in ("auto", ""):
            return "auto"
        if str(value).lower() in ("off", "none", "no"):
            return None
        try:
            number = float(value)
        except ValueError:
            raise click.BadParameter(f"{name} is a number, 'auto' or 'off', not {value!r}") from None
        if number < low:
            raise click.BadParameter(f"{name} must be at least {low}, got {value}")
        return number

    return convert


def keeper_options(*, short_verbose: bool = True) -> Callable[[Callable], Callable]:
    """Every option of the keeper itself, for both commands."""
    verbose = ("--verbose", "-v") if short_verbose else ("--verbose",)
    options = [
        click.option("--db", default="keeper.sqlite", show_default=True, help="SQLite store (working directory)"),
        click.option("--keeper-id", default="", help="instance id in logs and the store (default: from the address)"),
        click.option("--once", is_flag=True, help="one full cycle (backfill, scan, liquidate, activate), then exit"),
        click.option("--json", "json_lines", is_flag=True, help="JSON-lines logs and report"),
        click.option(*verbose, count=True, help="once: actions, twice: debug"),
        click.option("--poll-interval", type=click.FloatRange(min=0.01), default=1.0, show_default=True),
        click.option("--batch-size", type=click.IntRange(1, 500), default=500, show_default=True),
        click.option("--scan-every-blocks", type=click.IntRange(min=1), default=20, show_default=True),
        click.option(
            "--reorg-depth", type=click.IntRange(min=0), default=3, show_default=True, help="blocks re-read each poll"
        ),
        click.option("--max-liquidations-per-step", type=click.IntRange(min=0), default=0, help="0: no cap"),
        click.option("--priority-fee-gwei", type=click.FloatRange(min=0), default=1.0, show_default=True),
        click.option("--max-priority-fee-gwei", type=click.FloatRange(min=0), default=50.0, show_default=True),
        click.option("--max-fee-gwei", type=click.FloatRange(min=0), default=500.0, show_default=True),
        click.option("--base-fee-multiplier", type=click.FloatRange(min=1), default=2.0, show_default=True),
        click.option(
            "--bump-after", type=click.FloatRange(min=0), default=30.0, show_default=True, help="seconds pending"
        ),
        click.option(
            "--bump-after-blocks",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="blocks pending (0: off)",
        ),
        click.option("--rpc-timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True),
        click.option("--no-activate", is_flag=True, help="do not activate due bids"),
        click.option("--no-liquidate", is_flag=True, help="do not liquidate"),
        click.option("--no-auctions", is_flag=True, help="do not settle, redo or take Dutch auctions"),
        click.option(
            "--take-margin",
            type=click.FloatRange(0, 1, max_open=True),
            default=None,
            help="take auctioned collateral priced at least this fraction below the oracle (default: never)",
        ),
        click.option("--take-budget", type=click.IntRange(min=0), default=0, help="base units per take (0: all)"),
        click.option(
            "--min-profit",
            default="auto",
            show_default=True,
            callback=_auto_float("--min-profit"),
            help=f"skip liquidations whose keeper fee < gas cost x this (auto: {LIVE_MIN_PROFIT} live, off local)",
        ),
        click.option("--native-asset", default="", help="token whose oracle price prices gas (default: WETH)"),
        click.option(
            "--activation-stagger",
            default="auto",
            show_default=True,
            callback=_auto_float("--activation-stagger"),
            help=f"seconds a due bid may wait, per keeper (auto: {LIVE_ACTIVATION_STAGGER:g} live, 0 local)",
        ),
        click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, help="Prometheus /metrics"),
        click.option("--metrics-host", default="127.0.0.1", show_default=True),
        click.option(
            "--min-balance-eth",
            default="auto",
            show_default=True,
            callback=_auto_float("--min-balance-eth"),
            help=f"warn below this balance (auto: {LIVE_MIN_BALANCE_ETH:g} live, 0 local)",
        ),
        click.option("--shutdown-grace", type=click.FloatRange(min=0), default=3.0, show_default=True),
    ]

    def decorate(f: Callable) -> Callable:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def build_config(deployment: Any, *, rpc_url: str, private_key: str, live: bool, **o: Any) -> KeeperConfig:
    """A `KeeperConfig` from the options of `keeper_options` ("auto" resolved by `live`)."""

    def auto(value: Any, live_default: float, local_default: float | None) -> float | None:
        return (live_default if live else local_default) if value == "auto" else value

    overrides: dict[str, Any] = {}
    if o["native_asset"]:
        overrides["native_asset"] = o["native_asset"]
    return KeeperConfig.from_deployment(
        deployment,
        rpc_url=rpc_url,
        private_key=private_key,
        db_path=o["db"],
        keeper_id=o["keeper_id"],
        poll_interval=o["poll_interval"],
        batch_size=o["batch_size"],
        scan_every_blocks=o["scan_every_blocks"],
        reorg_depth=o["reorg_depth"],
        max_liquidations_per_step=o["max_liquidations_per_step"],
        rpc_timeout=o["rpc_timeout"],
        liquidate=not o["no_liquidate"],
        activate=not o["no_activate"],
        auctions=not o["no_auctions"],
        take_margin=o["take_margin"],
        take_budget=o["take_budget"],
        min_profit=auto(o["min_profit"], LIVE_MIN_PROFIT, None),
        activation_stagger=auto(o["activation_stagger"], LIVE_ACTIVATION_STAGGER, 0.0) or 0.0,
        metrics_port=o["metrics_port"],
        metrics_host=o["metrics_host"],
        min_balance=int((auto(o["min_balance_eth"], LIVE_MIN_BALANCE_ETH, 0.0) or 0.0) * 10**18),
        shutdown_grace=o["shutdown_grace"],
        fees=FeeConfig(
            priority_fee=int(o["priority_fee_gwei"] * GWEI),
            max_priority_fee=int(max(o["max_priority_fee_gwei"], o["priority_fee_gwei"]) * GWEI),
            max_fee=int(o["max_fee_gwei"] * GWEI),
            base_fee_multiplier=o["base_fee_multiplier"],
            bump_after=o["bump_after"],
            bump_after_blocks=o["bump_after_blocks"],
        ),
        **overrides,
    )


def run(config: KeeperConfig, o: dict[str, Any]) -> int:
    """Serve `config` with the output options of `keeper_options`; the exit code."""
    from ala.keeper.runner import serve

    return serve(config, once=o["once"], json_lines=o["json_lines"], verbosity=o["verbose"])


def _load_deployment(path: str) -> dict:
    import json

    file = Path(path)
    if not file.is_file():
        raise click.UsageError(f"no deployment file at {file.resolve()} (pass --deployment PATH)")
    try:
        data = json.loads(file.read_text())
    except ValueError as exc:
        raise click.UsageError(f"{file}: not JSON ({exc})") from None
    missing = [k for k in ("engine", "vault", "queue", "lens") if k not in data]
    if missing:
        raise click.UsageError(f"{file}: no {', '.join(missing)} address (written by `ape run deploy`?)")
    return data


def _chain_id(rpc_url: str) -> int | None:
    from ala.rpc import RpcClient, RpcError, TransportError

    client = RpcClient(rpc_url, timeout=5.0, max_attempts=2)
    try:
        return int(client.request("eth_chainId"), 16)
    except (RpcError, TransportError, ValueError, TypeError):
        return None  # unknown: the keeper's own startup retries; "auto" defaults then count it as live
    finally:
        client.close()


@click.command(name="ala-keeper", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--rpc-url", required=True, help="HTTP JSON-RPC endpoint of the node")
@click.option(
    "--deployment",
    default="deployments/ethereum-local.json",
    show_default=True,
    help="deployment JSON (`ape run deploy` writes it), relative to the working directory",
)
@click.option("--key-env", default="ALA_KEEPER_PRIVATE_KEY", show_default=True, help="variable holding the hex key")
@keeper_options()
def command(rpc_url: str, deployment: str, key_env: str, **o: Any) -> int:
    """Liquidate unhealthy ALA accounts through the bid queue and activate due bids."""
    from ala.rpc import Signer

    if not rpc_url.startswith(("http://", "https://")):
        raise click.BadParameter(f"an http(s) URL, not {rpc_url!r}", param_hint="--rpc-url")
    key = os.environ.get(key_env, "")
    if not key:
        raise click.UsageError(f"no private key: set {key_env} (hex)")
    try:
        Signer(key)  # a malformed key fails here, with a message that does not echo it
    except ValueError as exc:
        raise click.UsageError(f"{key_env}: {exc}") from None
    data = _load_deployment(deployment)
    chain_id = _chain_id(rpc_url)
    live = chain_id not in LOCAL_CHAIN_IDS
    try:
        config = build_config(data, rpc_url=rpc_url, private_key=key, live=live, **o)
    except (KeyError, ValueError) as exc:
        raise click.UsageError(f"{deployment}: {exc.__class__.__name__}: {exc}") from None
    return run(config, o)


def main(argv: list[str] | None = None) -> int:
    """The console script: bad input is one line on stderr and exit code 2, never a traceback."""
    try:
        code = command.main(args=argv, prog_name="ala-keeper", standalone_mode=False)
    except click.ClickException as exc:
        click.echo(f"ala-keeper: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("ala-keeper: aborted", err=True)
        return 1
    return code if isinstance(code, int) else 0


def console() -> None:
    """Entry point of the `ala-keeper` console script."""
    sys.exit(main())
