"""What a participant command prints, guarded: one line and exit code 1 for every failure, never a traceback; with
`--json`, nothing on stdout but the JSON.

The moves check what a person can get wrong and raise `CommandError` with a specific message; this guard catches
the rest (a node that stops answering, a view that reverts, a contract that is not what the deployment says) and
says it in one line too. Ape logs each confirmed transaction at INFO on stdout; with `--json` only warnings and
errors are logged (they go to stderr).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from ala.cli_common import CommandError, revert_reason


def one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("as_json"):
            from ape.logging import LogLevel, logger

            logger.set_level(LogLevel.WARNING)
        try:
            return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130) from None
        except Exception as exc:
            raise CommandError(f"{type(exc).__name__}: {revert_reason(exc)}") from None

    return wrapper
