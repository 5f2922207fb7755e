"""Redact presigned URLs for display: they are bearer tokens (a light module the signers import cheaply)."""

from __future__ import annotations

import re

REDACTED = "REDACTED"
_NAMES = (
    "X-Amz-Signature|X-Goog-Signature|X-Amz-Security-Token|X-Goog-Credential|sig|skoid|sktid|skt|ske|sks|skv"
    "|upload_id"  # a GCS resumable session URI is a bearer token of its own
)
_SECRET_PARAMS = re.compile(rf"(?i)((?:{_NAMES})=)[^&#]*")


def redact_url(url: str) -> str:
    """Return ``url`` with its signature and session token replaced by ``REDACTED``.

    Presigned URLs are bearer tokens: log or print only the redacted form.
    """
    return _SECRET_PARAMS.sub(lambda m: m.group(1) + REDACTED, url)


_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//|[A-Za-z][A-Za-z0-9+.-]*://?)?[^/?#]*@")


def redact_userinfo(url: str) -> str:
    """Return ``url`` with any ``user:password@`` before its host replaced by ``REDACTED@``.

    Works on text that is not a well-formed URL too (``user:pass@host``, ``https:/user:pass@host``).
    """
    return _USERINFO.sub(lambda m: (m.group(1) or "") + REDACTED + "@", url, count=1)
