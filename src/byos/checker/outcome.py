"""What a check function returns before the runner stamps it with its id and duration."""

from __future__ import annotations

from dataclasses import dataclass

from byos.models import Status


@dataclass(frozen=True, slots=True)
class Outcome:
    """A check's verdict: status, a message for onboarding staff, and what to do about it."""

    status: Status
    message: str
    remediation: str = ""


def passed(message: str) -> Outcome:
    """The property holds."""
    return Outcome(Status.PASS, message)


def warned(message: str, remediation: str) -> Outcome:
    """Uploads work, but something should change."""
    return Outcome(Status.WARN, message, remediation)


def failed(message: str, remediation: str) -> Outcome:
    """Uploads will not work (or the customer's data is exposed) until this is fixed."""
    return Outcome(Status.FAIL, message, remediation)


def skipped(reason: str) -> Outcome:
    """The check could not run here; the reason says why."""
    return Outcome(Status.SKIP, reason)
