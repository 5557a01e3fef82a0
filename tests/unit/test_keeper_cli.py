"""The keeper's command line: one clear line and exit code 2 for bad input, never a traceback; the metrics."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ala.keeper.cli import main
from ala.keeper.metrics import Metrics
from ala.keeper.report import StepReport

KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        ([], {}, "Missing option '--rpc-url'"),
        (["--rpc-url", "127.0.0.1:8545"], {}, "an http(s) URL"),
        (["--rpc-url", "http://127.0.0.1:1", "--batch-size", "0"], {}, "--batch-size"),
        (["--rpc-url", "http://127.0.0.1:1", "--min-profit", "lots"], {}, "--min-profit"),
        (["--rpc-url", "http://127.0.0.1:1", "--no-such-flag"], {}, "No such option"),
        (["--rpc-url", "http://127.0.0.1:1"], {"ALA_KEEPER_PRIVATE_KEY": ""}, "no private key"),
        (["--rpc-url", "http://127.0.0.1:1"], {"ALA_KEEPER_PRIVATE_KEY": "0xabc"}, "32 bytes"),
        (["--rpc-url", "http://127.0.0.1:1", "--deployment", "missing.json"], {}, "no deployment file"),
    ],
)
def test_cli__bad_input__one_line_and_exit_2(args, env, says, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALA_KEEPER_PRIVATE_KEY", KEY)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err and "Traceback" not in err
    assert "4c0883a6" not in err  # the key never shows


def test_cli__module_entry_point__help_exits_zero():
    done = subprocess.run([sys.executable, "-m", "ala.keeper", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for option in ("--rpc-url", "--min-profit", "--metrics-port", "--reorg-depth", "--activation-stagger"):
        assert option in done.stdout


def test_metrics__observe__counts_skips_by_reason_and_reaction():
    metrics = Metrics("k1")
    assert metrics.health()[0] is False
    report = StepReport(block=42, complete=True, liquidations_sent=3, scanned=10, scan_seconds=0.02)
    report.skip("unprofitable", 2)
    report.skip("race")
    report.price_seen_at, report.first_liquidation_at = 10.0, 10.08
    metrics.observe(report, in_flight=3)
    from prometheus_client import generate_latest

    text = generate_latest(metrics.registry).decode()
    assert 'ala_keeper_skips_total{keeper="k1",reason="unprofitable"} 2.0' in text
    assert 'ala_keeper_skips_total{keeper="k1",reason="race"} 1.0' in text
    assert 'ala_keeper_liquidations_total{keeper="k1",status="sent"} 3.0' in text
    assert 'ala_keeper_last_block{keeper="k1"} 42.0' in text
    assert 'ala_keeper_reaction_seconds_bucket{keeper="k1",le="0.1"} 1.0' in text
    assert metrics.health() == (True, "ok")


DEPLOYMENT = {"engine": "0x" + "11" * 20, "vault": "0x" + "22" * 20, "queue": "0x" + "33" * 20, "block": 7}


def _config(args, live):
    from ala.keeper.cli import build_config, command

    ctx = command.make_context("ala-keeper", ["--rpc-url", "http://127.0.0.1:1", *args])
    options = {k: v for k, v in ctx.params.items() if k not in ("rpc_url", "deployment", "key_env")}
    return build_config(DEPLOYMENT, rpc_url="http://127.0.0.1:1", private_key=KEY, live=live, **options)


def test_cli__auto_defaults__on_for_live_networks_off_for_local():
    live, local = _config([], live=True), _config([], live=False)
    assert (live.min_profit, local.min_profit) == (1.2, None)
    assert (live.activation_stagger, local.activation_stagger) == (12.0, 0.0)
    assert (live.min_balance, local.min_balance) == (5 * 10**16, 0)
    assert live.reorg_depth == local.reorg_depth == 3
    assert live.start_block == 7


def test_cli__explicit_values__win_over_auto():
    config = _config(["--min-profit", "off", "--activation-stagger", "3", "--min-balance-eth", "1"], live=True)
    assert config.min_profit is None and config.activation_stagger == 3.0 and config.min_balance == 10**18
    assert _config(["--min-profit", "2.5"], live=False).min_profit == 2.5
