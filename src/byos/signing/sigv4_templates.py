"""Precomputed pieces of SigV4 query signing: what stays the same for one day, lifetime and header set.

A presigned S3 URL differs from the next one of the same kind only in the key, the time stamp, the header
values and the signature. :class:`QueryTemplate` holds everything else, built once per signing day, lifetime
and set of signed header names, so that signing a URL costs one ``%`` format of the canonical request, one
SHA-256 and one HMAC. The output is exactly what :meth:`byos.signing.sigv4.SigV4Signer.presign_url` builds
the slow way (the equality tests compare them against botocore).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Final
from urllib.parse import quote

from byos.signing.hmac_sha256 import HmacSha256, best_sha256

__all__ = ["MAX_TEMPLATES", "QueryTemplate", "encode_key_path", "whole_second_stamp"]

ALGORITHM: Final = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
_UNRESERVED = "-_.~"
MAX_TEMPLATES: Final = 256

# quote(key, safe="/~") for ASCII text: every byte outside A-Z a-z 0-9 - _ . ~ / as %XX (upper-case hex).
_KEY_SAFE: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~/"
_KEY_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.~/-]")
_PERCENT: Final = {chr(byte): f"%{byte:02X}" for byte in range(128) if byte not in _KEY_SAFE}


def _percent(match: re.Match[str]) -> str:
    return _PERCENT[match[0]]


def encode_key_path(key: str) -> str:
    """Return ``quote(key, safe="/~")`` (UTF-8); ASCII keys take a shorter way to the same result.

    Raises:
        UnicodeEncodeError: The key has a lone surrogate (callers turn it into their own error).
    """
    if key.isascii():
        if not key.encode("ascii").rstrip(_KEY_SAFE):  # every character is safe
            return key
        return _KEY_UNSAFE.sub(_percent, key)
    return quote(key, safe="/~")


def whole_second_stamp(now: datetime) -> tuple[datetime, str]:
    """Return ``now`` (aware, UTC) cut to the second and its ``YYYYMMDDTHHMMSSZ`` form."""
    whole = now.replace(microsecond=0) if now.microsecond else now
    stamp = "%04d%02d%02dT%02d%02d%02dZ" % (  # noqa: UP031 -- measurably faster than f-string or strftime
        whole.year,
        whole.month,
        whole.day,
        whole.hour,
        whole.minute,
        whole.second,
    )
    return whole, stamp


class QueryTemplate:
    """The constant parts of presigned URLs of one signing day, lifetime and set of signed headers.

    Attributes:
        request_format: The canonical request with ``%s`` for the path, the time stamp, the operation query
            values (sorted by name) and the header values (sorted by name), in that order.
        pick: Takes header values in the given order (``host`` first) and returns them in sorted order.
        head: The URL query up to the time stamp.
        tail: The URL query from the time stamp to the signature.
        sts_scope: The string to sign between the time stamp and the request hash.
        sha256: The SHA-256 implementation for the canonical request.
        mac: The day's signing key.
        lifetime: The URL lifetime as a timedelta.
    """

    __slots__ = ("head", "lifetime", "mac", "pick", "request_format", "sha256", "sts_scope", "tail")

    def __init__(
        self,
        *,
        method: str,
        credential: str,
        scope: str,
        signing_key: bytes,
        expires: int,
        header_names: Sequence[str],
        token_encoded: str | None,
        query_names: Sequence[str] = (),
    ) -> None:
        """Build the template.

        Args:
            method: HTTP method.
            credential: ``ACCESS_KEY_ID/scope``, not encoded.
            scope: ``YYYYMMDD/region/service/aws4_request``.
            signing_key: The day's derived SigV4 signing key.
            expires: Lifetime in seconds (already checked).
            header_names: Lower-case signed header names other than ``host``, in the order their values
                will be passed; none twice.
            token_encoded: The percent-encoded session token, or None.
            query_names: Operation query parameter names (encoded), in URL order; each must sort after every
                ``X-Amz-*`` parameter (lower-case first letter), as ``partNumber`` and ``uploadId`` do.

        Raises:
            ValueError: A query name that would sort before the ``X-Amz-*`` parameters.
        """
        if any(not name[:1].islower() for name in query_names):
            raise ValueError("operation query names must start with a lower-case letter")
        all_names = ["host", *header_names]
        order = sorted(range(len(all_names)), key=all_names.__getitem__)
        sorted_names = [all_names[i] for i in order]
        self.pick: Callable[[Sequence[str]], tuple[str, ...]] = (
            itemgetter(*order) if len(order) > 1 else _first
        )
        signed = ";".join(sorted_names)
        signed_encoded = signed.replace(";", "%3B")
        credential_encoded = quote(credential, safe=_UNRESERVED)
        token_part = "" if token_encoded is None else f"&X-Amz-Security-Token={token_encoded}"
        # URL query, botocore's order: X-Amz-Algorithm, Credential, Date, Expires, SignedHeaders, Token.
        self.head = f"X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={credential_encoded}&X-Amz-Date="
        self.tail = f"&X-Amz-Expires={expires}&X-Amz-SignedHeaders={signed_encoded}{token_part}"
        # Canonical query, sorted: ... Expires, Security-Token, SignedHeaders, then the operation's own.
        sorted_tail = f"&X-Amz-Expires={expires}{token_part}&X-Amz-SignedHeaders={signed_encoded}"
        query_part = "".join(f"&{name}=%s" for name in sorted(query_names))
        header_part = "".join(f"{name}:%s\n" for name in sorted_names)
        self.request_format = (
            f"{method}\n%s\n{_escape(self.head)}%s{_escape(sorted_tail)}{query_part}\n"
            f"{header_part}\n{_escape(signed)}\n{UNSIGNED_PAYLOAD}"
        )
        self.sts_scope = f"\n{scope}\n"
        factory = best_sha256()
        self.sha256 = factory
        self.mac = HmacSha256(signing_key, factory)
        self.lifetime = timedelta(seconds=expires)

    def __repr__(self) -> str:
        return "QueryTemplate(<signing key hidden>)"

    def sign(self, path: str, stamp: str, values: Sequence[str], query: Sequence[str]) -> str:
        """Return the URL query's authentication parameters, signature last.

        Args:
            path: The encoded path.
            stamp: ``YYYYMMDDTHHMMSSZ``.
            values: Canonical (trimmed) header values, ``host`` first, then in ``header_names`` order.
            query: Operation query values (encoded), sorted by name.
        """
        canonical_request = self.request_format % (path, stamp, *query, *self.pick(values))
        request_hash = self.sha256(canonical_request.encode("utf-8")).hexdigest()
        signature = self.mac.hexdigest(f"{ALGORITHM}\n{stamp}{self.sts_scope}{request_hash}".encode("ascii"))
        return f"{self.head}{stamp}{self.tail}&X-Amz-Signature={signature}"


def _first(values: Sequence[str]) -> tuple[str, ...]:
    return (values[0],)


def _escape(text: str) -> str:
    return text.replace("%", "%%")
