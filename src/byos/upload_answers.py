"""Checks on what a storage service answers during an upload: every value is bounded before it is used.

A tenant chooses the endpoint (``endpoint_url``, a GCS or Azure endpoint), so the server that answers a
multipart or resumable upload may be hostile. What it says and byos reuses is checked here first: the S3
``UploadId`` (presigned into every part URL), each part's ``ETag`` (sent back in the completion body), the
GCS resumable session URI (where the file's bytes go), and the ETag and generation a result reports.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from byos.errors import ProviderError

MAX_UPLOAD_ID_CHARS = 1024
"""Longest S3 ``UploadId`` accepted (AWS's are about 100-200 characters)."""
MAX_SESSION_URI_CHARS = 8192
"""Longest GCS session URI accepted."""
MAX_SHOWN_CHARS = 256
"""Longest ETag or generation a result reports."""

_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
_PART_ETAG = re.compile(r'"?[0-9A-Za-z-]{1,64}"?')
_GENERATION = re.compile(r"[0-9]{1,32}")


def checked_upload_id(value: str) -> str:
    """Return the ``UploadId`` S3 answered, or refuse one that is empty, huge or not visible ASCII.

    Raises:
        ProviderError: The id is not one byos will presign into thousands of part URLs.
    """
    if not value or len(value) > MAX_UPLOAD_ID_CHARS or not _VISIBLE_ASCII.fullmatch(value):
        raise ProviderError(
            f"CreateMultipartUpload: S3 answered a malformed UploadId (empty, over {MAX_UPLOAD_ID_CHARS} "
            "characters, or not visible ASCII); is endpoint_url an S3 service?"
        )
    return value


def checked_part_etag(value: str, part_number: int) -> str:
    """Return a part's ``ETag`` as answered, or refuse a missing, huge or malformed one.

    Raises:
        ProviderError: Naming the part.
    """
    if not value:
        raise ProviderError(f"part {part_number}: the answer has no ETag")
    if not _PART_ETAG.fullmatch(value):
        raise ProviderError(
            f"part {part_number}: the answer's ETag is malformed (not 1-64 letters or digits)"
        )
    return value


def checked_session_uri(value: str, start_url: str) -> str:
    """Return the GCS session URI (``Location``) if it is on the start URL's own scheme, host and port.

    The file's bytes go to the session URI: one on another host (or downgraded to ``http``) would send the
    customer's data elsewhere, so it is refused, as is one without an ``upload_id``.

    Raises:
        ProviderError: The session URI is missing, malformed, or not on the start URL's origin.
    """
    if not value:
        raise ProviderError("the resumable upload's start answered without a session URI")
    if len(value) > MAX_SESSION_URI_CHARS or not _VISIBLE_ASCII.fullmatch(value):
        raise ProviderError("the resumable upload's session URI is malformed (huge or not visible ASCII)")
    try:
        session, start = urlsplit(value), urlsplit(start_url)
        same = (
            session.scheme == start.scheme
            and (session.hostname or "") == (start.hostname or "")
            and _port(session.scheme, session.port) == _port(start.scheme, start.port)
            and session.username is None
            and session.password is None
        )
    except ValueError:  # a malformed port or host
        same = False
    if not same:
        raise ProviderError(
            "the resumable upload's session URI is not on the storage endpoint's own host; refused "
            "(the file's bytes would go elsewhere)"
        )
    if not parse_qs(session.query).get("upload_id"):
        raise ProviderError("the resumable upload's session URI has no upload_id; refused")
    return value


def _port(scheme: str, port: int | None) -> int:
    return port if port is not None else (443 if scheme == "https" else 80)


def shown_etag(value: str) -> str:
    """The final ETag as a result reports it: "" unless it is at most 256 visible ASCII characters."""
    return value if len(value) <= MAX_SHOWN_CHARS and _VISIBLE_ASCII.fullmatch(value) else ""


def shown_generation(value: str) -> str:
    """The GCS generation as a result reports it: "" unless it is a decimal number."""
    return value if _GENERATION.fullmatch(value) else ""
