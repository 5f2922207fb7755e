"""Google Cloud Storage V4 signing: signed URLs and POST policies with RSA keys, IAM signBlob or HMAC keys.

Standard library plus ``cryptography``; no Google SDK. The output is byte for byte what
google-cloud-storage's ``Blob.generate_signed_url(version="v4")`` and
``Client.generate_signed_post_policy_v4`` produce for the same inputs and clock.

Three signers share one canonicalisation:

* :class:`ServiceAccountSigner`: a service-account key file (``GOOG4-RSA-SHA256``), PEM parsed once.
* :class:`SignBlobSigner`: no key at all; a callable signs bytes, typically through the IAM Credentials
  ``signBlob`` method (Cloud Run, GKE workload identity). Same algorithm and output as the key file.
* :class:`HmacSigner`: an HMAC access id and secret (``GOOG4-HMAC-SHA256``), key derived as for AWS SigV4.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache, partial
from typing import Final
from urllib.parse import quote

from byos.errors import InvalidInputError
from byos.signing.goog4_checks import (
    _DIGITS,
    _HEADER_VALUE,
    _LENGTH_RANGE,
    _LOCATION,
    _SHA256_HEX,
    _TOKEN,
    _UNSIGNED_PAYLOAD,
    DEFAULT_ENDPOINT,
    HMAC_ALGORITHM,
    MAX_EXPIRES,
    RSA_ALGORITHM,
    _check_bucket,
    _check_expires,
    _check_object_name,
    _check_unicode,
    _endpoint,
    _method,
    _timestamp,
    _utc,
)
from byos.signing.goog4_post import PolicyCondition, content_length_range, presign_post, starts_with
from byos.signing.goog4_signers import Goog4Signer, HmacSigner, ServiceAccountSigner, SignBlobSigner
from byos.signing.sigv4_templates import encode_key_path

__all__ = [
    "DEFAULT_ENDPOINT",
    "HMAC_ALGORITHM",
    "MAX_EXPIRES",
    "RSA_ALGORITHM",
    "Goog4Signer",
    "HmacSigner",
    "PolicyCondition",
    "ServiceAccountSigner",
    "SignBlobSigner",
    "content_length_range",
    "presign_post",
    "presign_url",
    "starts_with",
]


def presign_url(
    signer: Goog4Signer,
    method: str,
    bucket: str,
    key: str,
    *,
    signed_headers: Mapping[str, str] | None = None,
    query_params: Mapping[str, str] | None = None,
    expires: int,
    now: datetime | None = None,
    endpoint: str = DEFAULT_ENDPOINT,
) -> str:
    """Return a V4 signed URL, path style: ``ENDPOINT/BUCKET/KEY?X-Goog-Algorithm=…&X-Goog-Signature=…``.

    Equal to ``Blob.generate_signed_url(version="v4", method=method, headers=signed_headers,
    query_parameters=query_params, expiration=timedelta(seconds=expires), api_access_endpoint=endpoint)``
    of google-cloud-storage at the same clock. A resumable upload start is ``method="POST"`` with the
    header ``x-goog-resumable: start`` (what the SDK's ``method="RESUMABLE"`` signs).

    The client MUST send every header of ``signed_headers`` with the same value (``Host`` is implied).
    The URL works until ``now`` (truncated to the second) plus ``expires`` seconds.

    Args:
        signer: Who signs.
        method: ``PUT``, ``POST``, ``GET``, ``HEAD`` or ``DELETE``.
        bucket: Bucket name.
        key: Object name (1 to 1024 UTF-8 bytes).
        signed_headers: Headers to sign (printable ASCII), e.g. ``Content-Type``,
            ``x-goog-if-generation-match: 0`` (write once), ``x-goog-content-length-range: MIN,MAX``,
            ``x-goog-meta-*``, ``Content-MD5``.
        query_params: Extra query parameters to sign (rarely needed).
        expires: Lifetime in seconds, 1 to 604800 (7 days).
        now: The signing time (timezone-aware); the current time when omitted.
        endpoint: ``scheme://host[:port]``; e.g. ``http://127.0.0.1:4443`` for a local server.

    Raises:
        InvalidInputError: An argument is invalid; the message names it.
    """
    verb = _method(method)
    _check_bucket(bucket)
    _check_object_name(key)
    _check_expires(expires)
    base, host = _endpoint(endpoint)
    timestamp = _timestamp(_utc(now))
    datestamp = timestamp[:8]

    headers = _canonical_headers(signed_headers, verb)
    headers["host"] = host
    names = sorted(headers)
    header_names = ";".join(names)

    # Sorted "name=value" strings, as the SDK sorts them; the five X-Goog-* are already in order.
    pairs = [
        "X-Goog-Algorithm=" + signer.algorithm,
        f"X-Goog-Credential={signer._credential_prefix}{datestamp}%2F{_LOCATION}%2Fstorage%2Fgoog4_request",
        "X-Goog-Date=" + timestamp,
        f"X-Goog-Expires={expires}",
        "X-Goog-SignedHeaders=" + _quote_names(header_names),
    ]
    if query_params:
        pairs += _query_pairs(query_params)
        pairs.sort()
        # Cloud Storage orders by name; the SDK orders "name=value" strings. They disagree when a name is
        # a prefix of another followed by a character below '=' ("a" and "a-b"): such a URL never verifies.
        names_in_order = [pair.partition("=")[0] for pair in pairs]
        if names_in_order != sorted(names_in_order):
            raise InvalidInputError(
                "query_params",
                "has a name that is a prefix of another name",
                "rename it (e.g. 'a' and 'a-b')",
            )
    query = "&".join(pairs)

    resource = f"/{bucket}/{encode_key_path(key)}"  # quote(key, safe="/~"), faster
    canonical_request = "\n".join(
        (
            verb,
            resource,
            query,
            "".join([f"{name}:{headers[name]}\n" for name in names]),
            header_names,
            headers.get("x-goog-content-sha256", _UNSIGNED_PAYLOAD),
        )
    )
    digest = hashlib.sha256(canonical_request.encode("ascii")).hexdigest()
    string_to_sign = (
        f"{signer.algorithm}\n{timestamp}\n{datestamp}/{_LOCATION}/storage/goog4_request\n{digest}"
    )
    signature = signer.sign(string_to_sign.encode("ascii"), datestamp).hex()
    return f"{base}{resource}?{query}&X-Goog-Signature={signature}"


def _canonical_headers(signed_headers: Mapping[str, str] | None, method: str) -> dict[str, str]:
    """Validate the headers to sign; return lowercase name to trimmed value (host excluded)."""
    out: dict[str, str] = {}
    if signed_headers is None:
        return out
    if not isinstance(signed_headers, Mapping):
        raise InvalidInputError("signed_headers", "is not a mapping", "pass a dict of header name to value")
    for raw_name, raw_value in signed_headers.items():
        if type(raw_name) is not str or type(raw_value) is not str:
            raise InvalidInputError("signed_headers", "names and values must be text", "pass str values")
        name, value = _canonical_header(raw_name, raw_value, method)
        if name in out:
            raise InvalidInputError(
                f"signed_headers[{raw_name}]", "is given twice (names ignore case)", "give each header once"
            )
        out[name] = value
    return out


@lru_cache(maxsize=1024)
def _canonical_header(raw_name: str, raw_value: str, method: str) -> tuple[str, str]:
    """Validate one header; return its lowercase name and its value with whitespace runs collapsed."""
    field = f"signed_headers[{raw_name}]"
    if _TOKEN.fullmatch(raw_name) is None:
        raise InvalidInputError(
            "signed_headers", f"{raw_name!r} is not a valid header name", "use a-z, 0-9, '-'"
        )
    if _HEADER_VALUE.fullmatch(raw_value) is None:
        raise InvalidInputError(
            field, "must be printable ASCII text", "percent-encode other characters (e.g. in x-goog-meta-*)"
        )
    name = raw_name.lower()
    value = " ".join(raw_value.split())
    _check_header(field, name, value, method)
    return name, value


def _check_header(field: str, name: str, value: str, method: str) -> None:
    """Check the values Cloud Storage gives a meaning to."""
    if name == "host":
        raise InvalidInputError(field, "is set from the endpoint", "remove it and pass endpoint= instead")
    if name == "x-goog-resumable":
        if value != "start" or method != "POST":
            raise InvalidInputError(
                field, "must be 'start' on a POST", "sign a resumable start as POST with 'start'"
            )
    elif name == "x-goog-if-generation-match":
        if _DIGITS.fullmatch(value) is None:
            raise InvalidInputError(field, "must be a generation number", "use 0 to allow only new objects")
    elif name == "x-goog-content-length-range":
        match = _LENGTH_RANGE.fullmatch(value)
        if match is None or int(match[1]) > int(match[2]):
            raise InvalidInputError(field, "must be 'MIN,MAX' with MIN <= MAX", "e.g. '0,10485760'")
    elif name == "content-md5":
        if len(_b64decode(value)) != 16:
            raise InvalidInputError(field, "is not a base64 MD5 digest", "pass base64 of the 16-byte MD5")
    elif name == "x-goog-content-sha256":
        if value != _UNSIGNED_PAYLOAD and _SHA256_HEX.fullmatch(value) is None:
            raise InvalidInputError(field, "is not a hex SHA-256", "pass 64 lowercase hex digits")
    elif name == "content-type" and not value:
        raise InvalidInputError(field, "is empty", "pass a media type such as 'text/csv'")


_quote_names: Final = lru_cache(maxsize=256)(partial(quote, safe="~"))


def _b64decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        return b""


def _query_pairs(query_params: Mapping[str, str]) -> list[str]:
    """Encode extra query parameters as the SDK does: ``quote(name)=quote(value)``, ``~`` kept."""
    if not isinstance(query_params, Mapping):
        raise InvalidInputError("query_params", "is not a mapping", "pass a dict of name to value")
    pairs: list[str] = []
    for name, value in query_params.items():
        field = f"query_params[{name}]"
        if not isinstance(name, str) or not name:
            raise InvalidInputError("query_params", "has an empty or non-text name", "use text names")
        if name.lower().startswith("x-goog-"):
            raise InvalidInputError(field, "is reserved for the signature", "remove it")
        if not isinstance(value, str):
            raise InvalidInputError(field, "is not text", "pass a string value")
        _check_unicode(field, name)
        _check_unicode(field, value)
        pairs.append(f"{quote(name, safe='~')}={quote(value, safe='~')}")
    return pairs
