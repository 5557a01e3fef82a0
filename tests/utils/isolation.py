"""Chain isolation per hypothesis example (ape isolates per test, not per example)."""

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def isolated(chain) -> Iterator[None]:
    """`chain.isolate()` that lets the body's exceptions (failed assertions included) through.

    Not `chain.isolate()` alone: ape 0.8's `isolate` catches every exception raised in its body (`except Exception:
    pass`), so a failed assertion inside it would pass the example. This restores the chain the same way and
    re-raises once it has.
    """
    raised: list[Exception] = []
    with chain.isolate():
        try:
            yield
        except Exception as error:  # re-raised below, once the chain is restored
            raised.append(error)
    if raised:
        raise raised[0]
