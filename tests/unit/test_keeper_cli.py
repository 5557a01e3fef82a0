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
