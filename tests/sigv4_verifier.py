"""An independent checker of S3 presigned URLs and POST policies, written from the SigV4 specification.

It plays the server: given what a client would send (method, URL, headers, or a form) plus the secret key and
the current time, it rebuilds the canonical request and string to sign, derives the signing key and compares
signatures in constant time. It shares no code with ``byos.signing`` on purpose.

Sources (AWS documentation):

* "Create a signed AWS API request" and "Authenticating Requests: Using Query Parameters (AWS Signature
  Version 4)": canonical request = method, canonical URI, canonical query string, canonical headers, signed
  headers, payload hash (``UNSIGNED-PAYLOAD`` for presigned S3 URLs); URI-encode every byte except
  ``A-Z a-z 0-9 - _ . ~`` as ``%XY`` with upper-case hex; ``/`` is kept in the S3 path, never normalised;
  query parameters are sorted by encoded name, then value; header names are lower-cased and sorted, values
  trimmed with inner runs of spaces folded; ``X-Amz-Signature`` is left out of the canonical query.
* Signing key: ``HMAC("AWS4" + secret, date) → region → service → "aws4_request"``.
* Presigned URLs are valid from ``X-Amz-Date`` for ``X-Amz-Expires`` seconds (at most 604800); every header
  named in ``X-Amz-SignedHeaders`` must be sent with the signed value and ``host`` is always signed;
  S3 refuses ``x-amz-*`` headers that were not signed.
* "Browser-Based Uploads Using POST" / "POST Policy": the signature is the signing key's HMAC of the base64
  policy exactly as sent; the policy has ``expiration`` and ``conditions``; conditions are exact matches
  (``{"field": "value"}`` or ``["eq", "$field", "value"]``), ``["starts-with", "$field", "prefix"]`` and
  ``["content-length-range", min, max]``; field names match case-insensitively; ``${filename}`` in the key
  is replaced by the uploaded file's name; every form field except ``policy``, ``x-amz-signature``, ``file``
  and ``x-ignore-*`` must be named by a condition.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

MAX_EXPIRES = 604800
CLOCK_SKEW = timedelta(minutes=15)
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_HEX = "0123456789ABCDEF"
_DATE_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_ALGORITHM = "AWS4-HMAC-SHA256"


class VerificationError(Exception):
    """The request would be refused; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class VerifiedUrl:
    """What an accepted presigned URL allows."""

    method: str
    host: str
    path: str
    access_key_id: str
    region: str
    signed_headers: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True)
class VerifiedPost:
    """What an accepted form upload writes."""

    bucket: str
    key: str
    access_key_id: str
    region: str
    expires_at: datetime


def uri_encode(data: bytes, *, keep_slash: bool) -> str:
    """Encode every byte except the unreserved characters (and ``/`` when ``keep_slash``) as ``%XY``."""
    out: list[str] = []
    for byte in data:
        if byte in _UNRESERVED or (keep_slash and byte == 0x2F):
            out.append(chr(byte))
        else:
            out.append("%" + _HEX[byte >> 4] + _HEX[byte & 15])
    return "".join(out)


def percent_decode(text: str) -> bytes:
    """Decode ``%XY`` escapes strictly (a stray ``%`` is an error); other characters must be ASCII."""
    out = bytearray()
    index = 0
    while index < len(text):
        char = text[index]
        if char == "%":
            pair = text[index + 1 : index + 3]
            if len(pair) != 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
                raise VerificationError("malformed percent escape in the URL")
            out.append(int(pair, 16))
            index += 3
        else:
            if ord(char) > 0x7E or ord(char) < 0x21:
                raise VerificationError("raw non-ASCII or space character in the URL")
            out.append(ord(char))
            index += 1
    return bytes(out)


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def _parse_time(stamp: str) -> datetime:
    match = _DATE_TIME.fullmatch(stamp)
    if not match:
        raise VerificationError("X-Amz-Date is not YYYYMMDDTHHMMSSZ")
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise VerificationError("X-Amz-Date is not a valid time") from None


def _parse_credential(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise VerificationError("credential is not AKID/date/region/service/aws4_request")
    return parts[0], parts[1], parts[2], parts[3]


def host_of(url: str) -> str:
    """The Host header an HTTP client sends for ``url``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != {"http": 80, "https": 443}[parts.scheme]:
        host = f"{host}:{parts.port}"
    return host


def _fold(value: str) -> str:
    return " ".join(value.strip().split())


def _parse_query(query: str) -> tuple[dict[str, str], list[tuple[bytes, bytes]]]:
    """Return the decoded parameters and the raw (decoded bytes) pairs of a query string."""
    params: dict[str, str] = {}
    pairs: list[tuple[bytes, bytes]] = []
    for item in query.split("&") if query else []:
        raw_name, _, raw_value = item.partition("=")
        name, value = percent_decode(raw_name), percent_decode(raw_value)
        text = name.decode("utf-8")
        if text in params:
            raise VerificationError(f"query parameter {text} repeated")
        params[text] = value.decode("utf-8")
        pairs.append((name, value))
    return params, pairs


def _check_validity(params: Mapping[str, str], now: datetime, access_key_id: str | None) -> datetime:
    """Check the authentication parameters and the time window; return when the URL expires."""
    for required in (
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ):
        if required not in params:
            raise VerificationError(f"missing {required}")
    if params["X-Amz-Algorithm"] != _ALGORITHM:
        raise VerificationError("unsupported algorithm")
    key_id, date, _, _ = _parse_credential(params["X-Amz-Credential"])
    if access_key_id is not None and key_id != access_key_id:
        raise VerificationError("unknown access key id")
    signed_at = _parse_time(params["X-Amz-Date"])
    if params["X-Amz-Date"][:8] != date:
        raise VerificationError("credential date differs from X-Amz-Date")
    if not params["X-Amz-Expires"].isdigit() or not 1 <= int(params["X-Amz-Expires"]) <= MAX_EXPIRES:
        raise VerificationError("X-Amz-Expires out of range")
    expires_at = signed_at + timedelta(seconds=int(params["X-Amz-Expires"]))
    if now > expires_at:
        raise VerificationError("request has expired")
    if now < signed_at - CLOCK_SKEW:
        raise VerificationError("request is not valid yet")
    if not _SIGNATURE.fullmatch(params["X-Amz-Signature"]):
        raise VerificationError("malformed signature")
    return expires_at


def _sent_headers(url: str, headers: Mapping[str, str], signed_names: list[str]) -> dict[str, str]:
    """Return the headers the server sees (lower-case names, Host from the URL), checked against the list."""
    if signed_names != sorted(set(signed_names)) or any(n != n.lower() or not n for n in signed_names):
        raise VerificationError("signed headers are not lower-case, unique and sorted")
    if "host" not in signed_names:
        raise VerificationError("host is not signed")
    sent: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in sent:
            raise VerificationError(f"header {lower} sent twice")
        sent[lower] = value
    host = host_of(url)
    if "host" in sent and sent["host"].lower() != host:
        raise VerificationError("Host header differs from the URL")
    sent["host"] = host
    for name in signed_names:
        if name not in sent:
            raise VerificationError(f"signed header {name} was not sent")
    for name in sent:
        if name.startswith("x-amz-") and name not in signed_names:
            raise VerificationError(f"header {name} was sent but not signed")
    return sent


def verify_presigned_url(
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    secret_access_key: str,
    now: datetime,
    access_key_id: str | None = None,
) -> VerifiedUrl:
    """Accept or refuse a request made with a presigned URL, as S3 would.

    Args:
        method: The method the client uses.
        url: The URL the client requests.
        headers: The headers the client sends (``Host`` is taken from the URL).
        secret_access_key: The secret of the credential named in the URL.
        now: The server's clock.
        access_key_id: When given, the URL must name this key id.

    Raises:
        VerificationError: The request would be refused.
    """
    parts = urlsplit(url)
    if parts.fragment:
        raise VerificationError("URL has a fragment")
    params, raw_pairs = _parse_query(parts.query)
    expires_at = _check_validity(params, now, access_key_id)
    key_id, date, region, service = _parse_credential(params["X-Amz-Credential"])
    signed_names = params["X-Amz-SignedHeaders"].split(";")
    sent = _sent_headers(url, headers, signed_names)

    path = parts.path or "/"
    canonical_uri = uri_encode(percent_decode(path), keep_slash=True)
    encoded = sorted(
        (uri_encode(name, keep_slash=False), uri_encode(value, keep_slash=False))
        for name, value in raw_pairs
        if name != b"X-Amz-Signature"
    )
    canonical_query = "&".join(f"{name}={value}" for name, value in encoded)
    canonical_headers = "".join(f"{name}:{_fold(sent[name])}\n" for name in signed_names)
    canonical_request = "\n".join(
        [
            method,
            canonical_uri,
            canonical_query,
            canonical_headers,
            ";".join(signed_names),
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            _ALGORITHM,
            params["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        ]
    )
    expected = hmac.new(
        signing_key(secret_access_key, date, region, service),
        string_to_sign.encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        raise VerificationError("signature does not match")
    return VerifiedUrl(
        method=method,
        host=sent["host"],
        path=percent_decode(path).decode("utf-8"),
        access_key_id=key_id,
        region=region,
        signed_headers=tuple(signed_names),
        expires_at=expires_at,
    )


def bucket_of_post_url(url: str) -> str:
    """The bucket a form posted to ``url`` goes to: the first path segment, else the first host label."""
    parts = urlsplit(url)
    segment = parts.path.strip("/")
    if segment:
        if "/" in segment:
            raise VerificationError("POST URL has more than a bucket in its path")
        return segment
    return (parts.hostname or "").split(".")[0]


def verify_presigned_post(
    url: str,
    fields: Mapping[str, str],
    *,
    filename: str,
    size: int,
    secret_access_key: str,
    now: datetime,
) -> VerifiedPost:
    """Accept or refuse a browser form upload, as S3 would.

    Args:
        url: Where the form is posted.
        fields: The form fields sent (the file itself goes in ``file`` and is not given here).
        filename: The uploaded file's name (replaces ``${filename}`` in the key).
        size: The uploaded file's size in bytes.
        secret_access_key: The secret of the credential named in the form.
        now: The server's clock.

    Raises:
        VerificationError: The upload would be refused.
    """
    form = _lower_form(fields)
    if form["x-amz-algorithm"] != _ALGORITHM:
        raise VerificationError("unsupported algorithm")
    key_id, date, region, service = _parse_credential(form["x-amz-credential"])
    if form["x-amz-date"][:8] != date:
        raise VerificationError("credential date differs from x-amz-date")
    _parse_time(form["x-amz-date"])
    expected = hmac.new(
        signing_key(secret_access_key, date, region, service),
        form["policy"].encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()
    if not hmac.compare_digest(expected, form["x-amz-signature"]):
        raise VerificationError("policy signature does not match")
    expiration, conditions = _decode_policy(form["policy"])
    if now >= expiration:
        raise VerificationError("policy has expired")

    bucket = bucket_of_post_url(url)
    values = dict(form)
    values["key"] = form["key"].replace("${filename}", filename)
    values["bucket"] = bucket
    covered: set[str] = set()
    for condition in conditions:
        _check_condition(condition, values, size, covered)
    for name in form:
        if name in ("policy", "x-amz-signature", "file") or name.startswith("x-ignore-"):
            continue
        if name not in covered:
            raise VerificationError(f"field {name} is not allowed by the policy")
    return VerifiedPost(
        bucket=bucket, key=values["key"], access_key_id=key_id, region=region, expires_at=expiration
    )


def _lower_form(fields: Mapping[str, str]) -> dict[str, str]:
    """Return the form with lower-case field names, checking the required ones are there."""
    form: dict[str, str] = {}
    for name, value in fields.items():
        lower = name.lower()
        if lower in form:
            raise VerificationError(f"field {lower} sent twice")
        form[lower] = value
    for required in ("policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "key"):
        if required not in form:
            raise VerificationError(f"missing field {required}")
    return form


def _decode_policy(encoded: str) -> tuple[datetime, list[object]]:
    """Return the expiration and conditions of a base64 JSON policy."""
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise VerificationError("policy is not base64 JSON") from None
    if not isinstance(policy, dict) or set(policy) != {"expiration", "conditions"}:
        raise VerificationError("policy must have exactly expiration and conditions")
    try:
        expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise VerificationError("policy expiration is not ISO 8601") from None
    conditions = policy["conditions"]
    if not isinstance(conditions, list):
        raise VerificationError("policy conditions must be a list")
    return expiration, conditions


def _check_condition(condition: object, values: Mapping[str, str], size: int, covered: set[str]) -> None:
    if isinstance(condition, dict):
        if len(condition) != 1:
            raise VerificationError("an exact-match condition must have one entry")
        ((name, value),) = condition.items()
        _match(str(name), "eq", value, values, covered)
        return
    if not isinstance(condition, list) or len(condition) != 3:
        raise VerificationError("unknown policy condition")
    operator = str(condition[0]).lower()
    if operator == "content-length-range":
        low, high = condition[1], condition[2]
        if not isinstance(low, int) or not isinstance(high, int):
            raise VerificationError("content-length-range needs integers")
        if size < low:
            raise VerificationError("upload is smaller than the policy allows")
        if size > high:
            raise VerificationError("upload is larger than the policy allows")
        return
    if operator not in ("eq", "starts-with"):
        raise VerificationError(f"unknown policy operator {operator}")
    target = condition[1]
    if not isinstance(target, str) or not target.startswith("$"):
        raise VerificationError("condition field must start with $")
    _match(target[1:], operator, condition[2], values, covered)


def _match(name: str, operator: str, expected: object, values: Mapping[str, str], covered: set[str]) -> None:
    lower = name.lstrip("$").lower()
    if not isinstance(expected, str):
        raise VerificationError(f"condition on {lower} needs a string")
    if lower not in values:
        raise VerificationError(f"condition on {lower}, but the form has no such field")
    actual = values[lower]
    if operator == "eq" and actual != expected:
        raise VerificationError(f"field {lower} does not match the policy")
    if operator == "starts-with" and not actual.startswith(expected):
        raise VerificationError(f"field {lower} does not start with the policy's prefix")
    covered.add(lower)
