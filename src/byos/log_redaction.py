"""Keep secrets out of what the cloud SDKs byos drives write to logs, at every level including DEBUG.

botocore at DEBUG logs every request's headers (the session token, the ``Authorization`` signature) and
every response body (an AssumeRole answer holds a secret key); azure-core and google-auth log headers and
token answers. :func:`install` wraps the log record factory so that every record from those SDKs' loggers
(``botocore``, ``boto3``, ``s3transfer``, ``urllib3``, ``azure``, ``google.auth``, ``google.cloud``) is
redacted when it is made, whatever handlers or formatters the application configured: known secret values
(every secret setting of every destination loaded, and credentials byos obtained) and anything shaped like
a credential (``Authorization`` values, security tokens, URL signatures, bearer and OAuth tokens, private
keys). byos installs it itself before it first uses an SDK.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from byos.redaction import REDACTED

SDK_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "azure", "google.auth", "google.cloud", "msal")
_MIN_SECRET_LENGTH = 8

_NAMES = (
    r"authorization|x-amz-security-token|x-amz-signature|x-goog-signature|x-goog-credential|sig|"
    r"x-ms-copy-source-authorization|signature|access_token|refresh_token|id_token|client_secret|"
    r"client_assertion|assertion|password|secretaccesskey|sessiontoken|secret_access_key|session_token|"
    r"aws_secret_access_key|aws_session_token|private_key|private_key_id|accountkey|sharedaccesssignature|"
    r"signedoid|signedtid|value|token"
)
_FLAGS = re.IGNORECASE | re.DOTALL
_VALUE = r"(?!" + REDACTED + r")[^'\"&,;\s}\]\\<>]+"
_SHAPES = (
    # a PEM private key, whole (escaped newlines, as inside JSON or a repr, included)
    re.compile(r"()-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", _FLAGS),
    # bearer tokens and authorization schemes in any form
    re.compile(
        r"(\b(?:Bearer|SharedKey|SharedKeyLite|AWS4-HMAC-SHA256|GOOG4-HMAC-SHA256|GOOG4-RSA-SHA256)\s+)"
        + _VALUE,
        _FLAGS,
    ),
    re.compile(r"(\b(?:Signature|Credential)=)" + _VALUE, _FLAGS),
    # XML elements: <SecretAccessKey>…, <SessionToken>…, the <Value> of a delegation key
    re.compile(r"(<(?:SecretAccessKey|SessionToken|Value|AccessToken|Token|Signature)>)[^<]+", _FLAGS),
    # name: value / 'name': 'value' / "name": "value" / name=value (headers, dicts, JSON, query strings)
    re.compile(rf"((?<![\w-])(?:{_NAMES})['\"]?\s*[:=]\s*(?:b?['\"])?)" + _VALUE, _FLAGS),
)


_lock = threading.Lock()
_secrets: set[str] = set()
_known: re.Pattern[str] | None = None
_previous_factory: Callable[..., logging.LogRecord] | None = None


def remember(*secrets: str | None) -> None:
    """Add secret values to redact from SDK logs (percent-encoded forms too); short ones are ignored.

    Cheap: the pattern is rebuilt only when a log record is next redacted.
    """
    global _known  # noqa: PLW0603  (one registry for the process)
    added = {
        form
        for secret in secrets
        if isinstance(secret, str) and len(secret) >= _MIN_SECRET_LENGTH
        for form in (secret, quote(secret, safe=""), quote(secret, safe="/"))
    }
    with _lock:
        if added - _secrets:
            _secrets.update(added)
            _known = None


def _known_pattern() -> re.Pattern[str] | None:
    global _known  # noqa: PLW0603  (built lazily, shared by every thread)
    with _lock:
        if _known is None and _secrets:
            ordered = sorted(_secrets, key=len, reverse=True)
            _known = re.compile("|".join(re.escape(value) for value in ordered))
        return _known


def redact(text: str) -> str:
    """Return ``text`` with known secret values and credential-shaped substrings replaced by ``REDACTED``."""
    known = _known_pattern()
    if known is not None:
        text = known.sub(REDACTED, text)
    for shape in _SHAPES:
        text = shape.sub(_KEEP_NAME, text)
    return text


_KEEP_NAME = r"\g<1>" + REDACTED


def install() -> None:
    """Redact every log record made by an SDK logger from now on (idempotent, thread-safe)."""
    global _previous_factory  # noqa: PLW0603  (the process has one record factory)
    with _lock:
        if _previous_factory is not None:
            return
        previous = logging.getLogRecordFactory()
        _previous_factory = previous

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:  # noqa: ANN401  (logging's own signature)
            record = previous(*args, **kwargs)
            if record.name.startswith(SDK_LOGGERS):
                _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001  (a malformed SDK log call must not break the caller)
        message = str(record.msg)
    record.msg = redact(message)
    record.args = None
    if record.exc_info:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
