"""A JSON-RPC client stand-in for unit tests of the keeper's parts: answers per method from a table of handlers,
records every call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ala.rpc import RpcError


class FakeRpc:
    def __init__(self, handlers: dict[str, Callable[[list], Any]] | None = None) -> None:
        self.handlers = dict(handlers or {})
        self.calls: list[tuple[str, list]] = []
        self.retries = 0
        self.abort = None
        self.deadline = None

    def _answer(self, method: str, params: Sequence[Any]) -> Any:
        self.calls.append((method, list(params)))
        handler = self.handlers.get(method)
        if handler is None:
            raise AssertionError(f"unexpected call {method}")
        return handler(list(params))

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        answer = self._answer(method, params)
        if isinstance(answer, RpcError | Exception):
            raise answer
        return answer

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        out = []
        for method, params in calls:
            answer = self._answer(method, params)
            if isinstance(answer, Exception) and not isinstance(answer, RpcError):
                raise answer
            out.append(answer)
        return out

    def batches(self, chunks):
        return [self.batch(c) for c in chunks]

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]
