"""What every check sees: the destination, a deadline, HTTP with timeouts and retries, and a clock.

Every network call takes ``min(timeout, time left before the deadline)``, so a server that accepts and never
answers cannot hold a check past its deadline. Throttling answers (429, 503, S3's ``SlowDown``) are retried
with exponential backoff, still within the deadline, and reported if they persist.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from byos import http
from byos.errors import ProviderTimeoutError

if TYPE_CHECKING:
    from byos.config import Destination

THROTTLED = frozenset({429, 503})
RETRIES = 3
BACKOFF_SECONDS = 0.25


class DeadlineExceededError(ProviderTimeoutError):
    """The whole check ran out of time."""


@dataclass
class CheckContext:
    """Shared state of one destination's checks.

    Attributes:
        destination: The destination under test.
        origins: Browser origins the CORS check tries (the destination's when none are given).
        timeout: Longest wait for one network call, in seconds.
        deadline: Monotonic time by which every check must be done.
        deadline_seconds: The whole run's allowance, for messages.
        clock: Returns the local time (UTC); tests inject skew here.
        transport: Sends one HTTP request (default :func:`byos.http.send`); tests may point it elsewhere.
        state: Facts one check leaves for later ones (the probe request, the server's Date, …).
    """

    destination: Destination
    origins: list[str]
    timeout: float
    deadline: float
    deadline_seconds: float = 60.0
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    transport: Callable[..., http.Response] = http.send
    state: dict[str, Any] = field(default_factory=dict)

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())

    def call_timeout(self) -> float:
        """The timeout for the next network call.

        Raises:
            DeadlineExceededError: No time is left.
        """
        left = self.remaining()
        if left <= 0.05:
            raise DeadlineExceededError("the check's deadline was reached")
        return min(self.timeout, left)

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> http.Response:
        """Send one request, retrying throttled answers with backoff; remembers the server's ``Date``.

        Raises:
            ProviderTimeoutError: No answer in time (or the deadline was reached).
            ProviderError: The connection failed.
        """
        delay = BACKOFF_SECONDS
        answer = self.transport(method, url, headers=headers, body=body, timeout=self.call_timeout())
        for _ in range(RETRIES - 1):
            if not _throttled(answer) or self.remaining() <= delay:
                break
            time.sleep(delay)
            delay *= 2
            answer = self.transport(method, url, headers=headers, body=body, timeout=self.call_timeout())
        if answer.header("date"):
            self.state.setdefault("server_date", (answer.header("date"), self.clock()))
        if _throttled(answer):
            self.state["throttled"] = answer.status
        return answer


def _throttled(answer: http.Response) -> bool:
    return answer.status in THROTTLED or b"<Code>SlowDown</Code>" in answer.body
