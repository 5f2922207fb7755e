"""SDK calls that cannot be cut short run in a worker the caller abandons at its deadline; refreshes fly once.

:func:`call_within` runs a blocking call (a credential chain, a token refresh) in a daemon thread and stops
waiting after ``timeout`` seconds, so no SDK can hold byos past its deadline. :class:`SingleFlight` gives one
lock per key (a destination's credentials): one caller refreshes while the others wait for its result,
and different keys never wait for each other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from byos.errors import ProviderTimeoutError

T = TypeVar("T")


def call_within(call: Callable[[], T], timeout: float, what: str) -> T:
    """Return ``call()``, or give up on it after ``timeout`` seconds (the worker is left to finish alone).

    Raises:
        ProviderTimeoutError: ``call`` did not return in time (named by ``what``).
        Exception: Whatever ``call`` raised.
    """
    box: list[tuple[bool, object]] = []

    def work() -> None:
        try:
            box.append((True, call()))
        except BaseException as exc:  # noqa: BLE001  (handed to the waiting caller)
            box.append((False, exc))

    worker = threading.Thread(target=work, name="byos-bounded-call", daemon=True)
    worker.start()
    worker.join(max(0.0, timeout))
    if not box:
        raise ProviderTimeoutError(f"{what} did not answer within {timeout:g} s")
    ok, value = box[0]
    if not ok:
        assert isinstance(value, BaseException)  # noqa: S101  (what work() stored)
        raise value
    return value  # type: ignore[return-value]


class SingleFlight:
    """One lock per key, made on first use; a key's refresh runs once however many threads ask."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, threading.Lock] = {}

    def lock(self, key: Hashable) -> threading.Lock:
        """Return the lock of ``key``."""
        with self._guard:
            found = self._locks.get(key)
            if found is None:
                found = self._locks[key] = threading.Lock()
            return found

    def clear(self) -> None:
        """Forget every lock (held ones stay valid for their holders)."""
        with self._guard:
            self._locks.clear()
