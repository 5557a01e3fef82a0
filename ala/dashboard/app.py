"""The dashboard's web app: Jinja2 pages, JSON views, server-sent events on every new block, wallet moves.

One thread reads the chain at a time (ape's provider is not made for concurrent use): every view runs in a worker
thread under `Dashboard.lock`, and each view is read once per block and then served from the cache. A watcher
polls `eth_blockNumber` and pushes `{"block": n}` to every open page (`/events`); the page then fetches its view
and shows the block it was read at. The server never holds a key: writes are prepared here and signed by the
browser's wallet (EIP-1193 `window.ethereum`), and only when `writes` is on (local networks by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ala.cli_common import CommandError
from ala.dashboard import views, wallet
from ala.deploy import ROOT, System

HERE = Path(__file__).resolve().parent
# front-end libraries installed by npm (package.json + lock), served from here: nothing comes from a CDN
UPLOT = ROOT / "node_modules" / "uplot" / "dist"
PAGES = ("pools", "risk", "liquidations", "bid")


class Dashboard:
    """The state one server shares between requests: the system, the per-block cache, the open event streams."""

    def __init__(self, system: System, *, network: str, writes: bool, poll_interval: float = 0.2) -> None:
        self.system = system
        self.network = network
        self.writes = writes
        self.poll_interval = poll_interval
        self.lock = threading.Lock()
        self.history = views.History(system)
        self.block = -1
        self.cache: dict[tuple, tuple[int, Any]] = {}
        self.subscribers: set[asyncio.Queue] = set()

    def _height(self) -> int:
        with self.lock:
            return int(self.system.vault.provider.make_request("eth_blockNumber", []), 16)

    def read(self, key: tuple, fn: Callable[[], Any]) -> Any:
        """`fn()` under the lock, once per block for each key."""
        with self.lock:
            height = self.system.vault.chain_manager.blocks.height
            hit = self.cache.get(key)
            if hit is not None and hit[0] == height:
                return hit[1]
            value = fn()
            self.cache[key] = (height, value)
            return value

    async def watch(self) -> None:
        """Push every new block to every open page."""
        while True:
            try:
                height = await asyncio.to_thread(self._height)
            except Exception:  # a node that stops answering: keep trying, the pages keep their last view
                height = self.block
            if height != self.block:
                self.block = height
                for queue in list(self.subscribers):
                    queue.put_nowait(height)
            await asyncio.sleep(self.poll_interval)


def create_app(dashboard: Dashboard) -> Starlette:
    templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())
    system = dashboard.system

    def page(name: str, **extra: Any) -> Callable[[Request], Any]:
        async def render(request: Request) -> HTMLResponse:
            context = {
                "page": name,
                "network": dashboard.network,
                "writes": dashboard.writes,
                "base": system.params.base.symbol,
                "collaterals": list(system.collaterals),
                "params": dict(request.path_params),
                **extra,
            }
            return HTMLResponse(templates.get_template(f"{name}.html").render(**context))

        return render

    async def view(key: tuple, fn: Callable[[], Any]) -> Response:
        try:
            data = await asyncio.to_thread(dashboard.read, key, fn)
        except CommandError as exc:
            return JSONResponse({"error": exc.message}, status_code=400)
        return Response(json.dumps(data, default=str), media_type="application/json")

    async def api_pools(request: Request) -> Response:
        size = request.query_params.get("size") or views.DEFAULT_PREVIEW
        try:
            size = int(size)
        except ValueError:
            return JSONResponse({"error": f"size {size!r} is not a whole number"}, status_code=400)
        return await view(("pools", size), lambda: views.pools_view(system, size))

    async def api_risk(request: Request) -> Response:
        return await view(("risk",), lambda: views.at_risk_view(system))

    async def api_account(request: Request) -> Response:
        address = request.path_params["address"]
        if not (address.startswith("0x") and len(address) == 42):
            return JSONResponse({"error": f"{address!r} is not an address"}, status_code=400)
        return await view(("account", address.lower()), lambda: views.account_view(system, address))

    async def api_liquidations(request: Request) -> Response:
        return await view(("liquidations",), dashboard.history.view)

    async def api_bids(request: Request) -> Response:
        owner = request.path_params["owner"]
        return await view(("bids", owner.lower()), lambda: views.bids_view(system, owner))

    async def api_prepare(request: Request) -> Response:
        if not dashboard.writes:
            return JSONResponse({"error": "read-only dashboard: start it with --writes to send"}, status_code=403)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the request is not JSON"}, status_code=400)
        address = str(body.get("from", ""))
        if not (address.startswith("0x") and len(address) == 42):
            return JSONResponse({"error": "connect a wallet first"}, status_code=400)

        def prepare() -> Any:
            with dashboard.lock:
                return wallet.next_step(system, address, request.path_params["move"], body)

        try:
            step = await asyncio.to_thread(prepare)
        except CommandError as exc:
            return JSONResponse({"error": exc.message}, status_code=400)
        return JSONResponse(step)

    async def events(request: Request) -> StreamingResponse:
        queue: asyncio.Queue = asyncio.Queue()
        dashboard.subscribers.add(queue)
        if dashboard.block >= 0:
            queue.put_nowait(dashboard.block)

        async def stream() -> AsyncIterator[str]:
            try:
                while True:
                    try:
                        block = await asyncio.wait_for(queue.get(), timeout=15)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    yield f"data: {json.dumps({'block': block})}\n\n"
            finally:
                dashboard.subscribers.discard(queue)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(dashboard.watch())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def home(request: Request) -> Response:
        return await page("pools")(request)

    routes = [
        Route("/", home),
        Route("/pools", page("pools")),
        Route("/risk", page("risk")),
        Route("/account/{address}", page("account")),
        Route("/liquidations", page("liquidations")),
        Route("/bid", page("bid")),
        Route("/api/pools", api_pools),
        Route("/api/risk", api_risk),
        Route("/api/account/{address}", api_account),
        Route("/api/liquidations", api_liquidations),
        Route("/api/bids/{owner}", api_bids),
        Route("/api/prepare/{move}", api_prepare, methods=["POST"]),
        Route("/events", events),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    if UPLOT.is_dir():
        routes.append(Mount("/vendor/uplot", StaticFiles(directory=UPLOT), name="uplot"))
    return Starlette(routes=routes, lifespan=lifespan)
