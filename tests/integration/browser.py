"""A real browser for the dashboard's tests: Debian's chromium driven by Playwright, with a small EIP-1193 wallet.

The wallet (`window.ethereum`) forwards every request to the test Anvil through a Playwright binding, so the
test sees each one: `Wallet.sent` lists the `eth_sendTransaction` calls the page made. The wallet's account is
impersonated on Anvil (`anvil_impersonateAccount`), which then signs for it; no key reaches the page or the server.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"

PROVIDER_JS = """
(() => {
  const listeners = {};
  window.ethereum = {
    isAlaTestWallet: true,
    async request({ method, params }) {
      const answer = JSON.parse(await window.__ala_wallet(JSON.stringify({ method, params: params || [] })));
      if (answer.error) {
        const err = new Error(answer.error.message);
        err.code = answer.error.code;
        err.data = answer.error.data;
        throw err;
      }
      return answer.result;
    },
    on(event, fn) { (listeners[event] = listeners[event] || []).push(fn); },
    removeListener(event, fn) { listeners[event] = (listeners[event] || []).filter((f) => f !== fn); },
  };
})();
"""


def chromium_path() -> str:
    """Debian's chromium (the Makefile installs it); Playwright's own browser download cannot work here."""
    for name in (os.environ.get("ALA_CHROMIUM", ""), "chromium", "chromium-browser"):
        if name and (path := shutil.which(name)):
            return path
    raise AssertionError("no chromium on PATH: `make test` installs Debian's (apt-get install -y chromium)")


class Wallet:
    """The injected EIP-1193 provider's Python side: one account, every request forwarded to Anvil."""

    def __init__(self, rpc_url: str, address: str) -> None:
        self.rpc_url = rpc_url
        self.address = address
        self.sent: list[dict[str, Any]] = []
        # called before each eth_sendTransaction is forwarded (a test changes the chain under the page here)
        self.before_send: Callable[[], Any] | None = None
        self.rpc("anvil_impersonateAccount", [address])

    def rpc(self, method: str, params: list[Any]) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return requests.post(self.rpc_url, json=body, timeout=30).json()

    def handle(self, raw: str) -> str:
        request = json.loads(raw)
        method, params = request["method"], request["params"]
        if method in ("eth_requestAccounts", "eth_accounts"):
            return json.dumps({"result": [self.address]})
        if method == "eth_sendTransaction":
            self.sent.append(params[0])
            if self.before_send is not None:
                self.before_send()
        answer = self.rpc(method, params)
        return json.dumps({k: v for k, v in answer.items() if k in ("result", "error")})

    def install(self, context: Any) -> None:
        context.expose_function("__ala_wallet", self.handle)
        context.add_init_script(PROVIDER_JS)


def screenshot(page: Any, name: str) -> Path:
    REPORTS.mkdir(exist_ok=True)
    path = REPORTS / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_block(page: Any, block: int, timeout_ms: float = 30_000) -> None:
    """Until the page shows data read at `block` or later."""
    page.wait_for_function(f"Number(document.body.dataset.block) >= {block}", timeout=timeout_ms)
