"""The fork network: a loopback upstream (chain id 1) holding the deployment, forked by Anvil.

These run the real entry points (`ape run demo --fork`, `ape run deploy --dry-run`) as a user would.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ala.bulk import Rpc
from ala.demo import upstream_anvil

ROOT = Path(__file__).resolve().parents[2]
# Both tests start the fork's upstream on its fixed port (ape-config.yaml): `make test` runs a module on one
# xdist worker (--dist loadscope), so they take turns.
pytestmark = pytest.mark.fork


def ape_run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, APE_FOUNDRY_HOST="auto")
    ape = str(Path(sys.executable).parent / "ape")
    return subprocess.run(
        [ape, "run", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_demo_on_fork__keeper_liquidates_on_the_fork__upstream_unchanged(tmp_path):
    result = ape_run("demo", "--fork", "--borrowers", "40", "--bidders", "4", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    # ape's own INFO lines share stdout with the report
    report, _ = json.JSONDecoder().raw_decode(result.stdout[result.stdout.index("{\n") :])
    assert report["network"] == "ethereum:mainnet-fork"
    assert report["liquidations"] > 0
    assert report["accounts_left_liquidatable"] == 0
    assert report["bad_debt"] == 0
    assert report["upstream_unchanged"] is True


def test_deploy_dry_run__deploys_on_a_fork__and_leaves_the_upstream_untouched():
    with upstream_anvil() as upstream:
        before = Rpc(upstream).call("eth_blockNumber")
        result = ape_run("deploy", "--network", "ethereum:mainnet:node", "--dry-run")
        assert result.returncode == 0, result.stderr[-3000:]
        assert "deploying on ethereum:mainnet-fork" in result.stdout
        assert "dry run: nothing recorded" in result.stdout
        assert Rpc(upstream).call("eth_blockNumber") == before
        assert Rpc(upstream).call("eth_getCode", [_engine_address(result.stdout), "latest"]) == "0x"


def _engine_address(stdout: str) -> str:
    for line in stdout.splitlines():
        if line.strip().startswith("engine"):
            return line.split()[-1]
    raise AssertionError(f"no engine address in {stdout!r}")
