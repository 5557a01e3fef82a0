"""Structured logs for long-running tools: human-readable lines by default, JSON lines with `json=True`.

Every record carries an event name and fields (`log.info("liquidation sent", extra=fields(...))`),
and the keeper instance id, so the output of several keepers can be told apart and grepped:

    2026-05-08 07:50:55 INFO  keeper[k-3f2a] liquidation sent account=0xAb… collateral=0x12… tx=0x9f…
    {"ts": "2026-05-08T07:50:55.527Z", "level": "info", "keeper": "k-3f2a", "event": "liquidation sent", ...}

Quiet by default: warnings and errors only; `verbosity=1` adds what the keeper does (one line per
transaction and per step that did something), `verbosity=2` adds per-step debug detail.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def fields(**kw: Any) -> dict[str, Any]:
    """`extra=` payload for a structured record."""
    return {"fields": kw}


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "keeper": getattr(record, "keeper_id", None),
            "event": record.getMessage(),
        }
        out.update(_jsonable(getattr(record, "fields", {}) or {}))
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, separators=(",", ":"))


class HumanFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
        who = f"keeper[{record.keeper_id}]" if getattr(record, "keeper_id", None) else record.name
        extra = " ".join(f"{k}={_short(v)}" for k, v in (getattr(record, "fields", {}) or {}).items())
        line = f"{stamp} {record.levelname:<5} {who} {record.getMessage()}" + (f" {extra}" if extra else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"[{', '.join(map(str, value[:6]))}, …+{len(value) - 6}]"
    return str(value)


class _KeeperIdFilter(logging.Filter):
    def __init__(self, keeper_id: str) -> None:
        super().__init__()
        self.keeper_id = keeper_id

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "keeper_id", None):
            record.keeper_id = self.keeper_id
        return True


def setup(
    *, json_lines: bool = False, verbosity: int = 0, keeper_id: str = "", stream: TextIO | None = None
) -> logging.Handler:
    """Route the `ala` loggers to `stream` (stderr) in the chosen format; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else HumanFormatter())
    if keeper_id:
        handler.addFilter(_KeeperIdFilter(keeper_id))
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    root = logging.getLogger("ala")
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    return handler
