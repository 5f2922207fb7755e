"""Independent checker of Cloud Storage V4 signed URLs and POST policies, written from Google's signing spec.

It shares no code with ``byos.signing``: it rebuilds the canonical request from a URL and the headers a
client will send (or the policy from the form fields a browser posts) and checks the signature with the
public key (RSA) or the HMAC secret, then the expiry and the conditions. Also holds the test key material.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

RSA = "GOOG4-RSA-SHA256"
HMAC = "GOOG4-HMAC-SHA256"
_TIMESTAMP = re.compile(r"\d{8}T\d{6}Z")
_UNRESERVED = "-_.~"  # RFC 3986 unreserved besides letters and digits: never percent-encoded
_NOT_IN_POLICY = {"policy", "x-goog-signature", "file"}


class VerificationError(Exception):
    """The request would be refused: the message says why."""


@dataclass(frozen=True)
class VerifiedUrl:
    """What an accepted signed URL grants."""

    method: str
    bucket: str
    object_name: str
    client_id: str
    algorithm: str
    signed_headers: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True)
class VerifiedPost:
    """What an accepted POST policy upload writes."""

    bucket: str
    key: str
    client_id: str
    algorithm: str
    expires_at: datetime


# ------------------------------------------------------------------------------------------ test keys


_PEMS: dict[int, str] = {}


def _private_key_pem(seed: int) -> str:
    if seed not in _PEMS:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _PEMS[seed] = pem.decode("ascii")
    return _PEMS[seed]


def service_account_info(seed: int = 0, email: str | None = None) -> dict[str, str]:
    """Return a service-account key file (as JSON data) with an RSA-2048 key made at test time.

    The same ``seed`` gives the same key within one test session.
    """
    client_email = email or f"byos-test-{seed}@byos-test.iam.gserviceaccount.com"
    return {
        "type": "service_account",
        "project_id": "byos-test",
        "private_key_id": f"{seed:040x}",
        "private_key": _private_key_pem(seed),
        "client_email": client_email,
        "client_id": str(100000000000000000000 + seed),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def private_key_of(info: Mapping[str, str]) -> rsa.RSAPrivateKey:
    """Return the RSA private key of a service-account key file."""
    key = serialization.load_pem_private_key(info["private_key"].encode("ascii"), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def public_key_of(info: Mapping[str, str]) -> rsa.RSAPublicKey:
    """Return the public half of a service-account key file's private key."""
    return private_key_of(info).public_key()


def hmac_signing_key(secret: str, datestamp: str, location: str = "auto") -> bytes:
    """Derive the GOOG4-HMAC-SHA256 signing key (Google's HMAC V4 steps)."""
    key = ("GOOG4" + secret).encode("utf-8")
    for part in (datestamp, location, "storage", "goog4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


# ------------------------------------------------------------------------------------------ signed URLs


def _encode(text: str, safe: str = "") -> str:
    """Percent-encode every byte but letters, digits and ``-_.~`` (and ``safe``)."""
    return quote(text.encode("utf-8"), safe=_UNRESERVED + safe)


def _host_header(scheme: str, netloc_host: str, port: int | None) -> str:
    """The Host header an HTTP client sends for a URL: lowercase host, default port left out."""
    if ":" in netloc_host:  # IPv6 literal
        netloc_host = f"[{netloc_host}]"
    if port is None or port == {"http": 80, "https": 443}[scheme]:
        return netloc_host
    return f"{netloc_host}:{port}"


def _parse_query(query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in query.split("&"):
        name, sep, value = item.partition("=")
        if not sep:
            raise VerificationError(f"query item {item!r} has no '='")
        decoded = unquote(name, errors="strict")
        if decoded in params:
            raise VerificationError(f"query parameter {decoded!r} is repeated")
        params[decoded] = unquote(value, errors="strict")
    return params


def _parse_timestamp(value: str, what: str) -> datetime:
    if _TIMESTAMP.fullmatch(value) is None:
        raise VerificationError(f"{what} {value!r} is not YYYYMMDDTHHMMSSZ")
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _split_credential(credential: str, timestamp: str) -> tuple[str, str, str]:
    """Return ``(client id, datestamp, location)`` of ``ID/DATE/LOCATION/storage/goog4_request``."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[3:] != ["storage", "goog4_request"] or not parts[0]:
        raise VerificationError("credential is not ID/DATE/LOCATION/storage/goog4_request")
    if parts[1] != timestamp[:8]:
        raise VerificationError("credential date differs from the request date")
    return parts[0], parts[1], parts[2]


def _check_signature(
    algorithm: str,
    message: bytes,
    signature_hex: str,
    *,
    datestamp: str,
    location: str,
    public_key: rsa.RSAPublicKey | None,
    hmac_secret: str | None,
) -> None:
    if re.fullmatch(r"(?:[0-9a-f]{2})+", signature_hex) is None:
        raise VerificationError("signature is not lowercase hex")
    signature = bytes.fromhex(signature_hex)
    if algorithm == RSA:
        if public_key is None:
            raise VerificationError("an RSA signature needs the public key")
        try:
            public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise VerificationError("signature does not match") from None
    elif algorithm == HMAC:
        if hmac_secret is None:
            raise VerificationError("an HMAC signature needs the secret")
        key = hmac_signing_key(hmac_secret, datestamp, location)
        expected = hmac.new(key, message, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise VerificationError("signature does not match")
    else:
        raise VerificationError(f"unknown algorithm {algorithm!r}")


def canonical_request(
    method: str, url: str, headers: Mapping[str, str]
) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """Rebuild the canonical request of a signed URL sent with ``headers``.

    Returns:
        The canonical request, the decoded query parameters, and the signed header names.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise VerificationError("not an http(s) URL")
    params = _parse_query(parts.query)
    signed_names = tuple(params.get("X-Goog-SignedHeaders", "").split(";"))
    if list(signed_names) != sorted(set(signed_names)) or any(n != n.lower() for n in signed_names):
        raise VerificationError("signed header names are not sorted lowercase")
    if "host" not in signed_names:
        raise VerificationError("host is not signed")

    sent: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in sent:
            raise VerificationError(f"header {name!r} sent twice")
        sent[name.lower()] = re.sub(" +", " ", value.strip())
    host = _host_header(parts.scheme, parts.hostname, parts.port)
    if "host" in sent and sent["host"] != host:
        raise VerificationError("Host header differs from the URL")
    sent["host"] = host
    missing = [name for name in signed_names if name not in sent]
    if missing:
        raise VerificationError(f"signed header {missing[0]!r} is not sent")

    path = _encode(unquote(parts.path, errors="strict"), safe="/")
    query = "&".join(
        f"{n}={v}"
        for n, v in sorted(
            (_encode(name), _encode(value)) for name, value in params.items() if name != "X-Goog-Signature"
        )
    )
    lines = [method, path, query]
    lines += [f"{name}:{sent[name]}" for name in signed_names]
    payload = sent["x-goog-content-sha256"] if "x-goog-content-sha256" in signed_names else "UNSIGNED-PAYLOAD"
    lines += ["", ";".join(signed_names), payload]
    return "\n".join(lines), params, signed_names


def verify_signed_url(
    url: str,
    *,
    method: str,
    headers: Mapping[str, str],
    now: datetime,
    public_key: rsa.RSAPublicKey | None = None,
    hmac_secret: str | None = None,
) -> VerifiedUrl:
    """Check a signed URL as Cloud Storage would for a request ``method url`` with ``headers``.

    Raises:
        VerificationError: The request would be refused.
    """
    request, params, signed_names = canonical_request(method, url, headers)
    for required in ("X-Goog-Algorithm", "X-Goog-Credential", "X-Goog-Date", "X-Goog-Expires"):
        if required not in params:
            raise VerificationError(f"{required} is missing")
    if "X-Goog-Signature" not in params:
        raise VerificationError("X-Goog-Signature is missing")
    algorithm = params["X-Goog-Algorithm"]
    timestamp = params["X-Goog-Date"]
    signed_at = _parse_timestamp(timestamp, "X-Goog-Date")
    if re.fullmatch(r"[1-9]\d*", params["X-Goog-Expires"]) is None:
        raise VerificationError("X-Goog-Expires is not a positive whole number")
    lifetime = int(params["X-Goog-Expires"])
    if lifetime > 604800:
        raise VerificationError("X-Goog-Expires is over 7 days")
    client_id, datestamp, location = _split_credential(params["X-Goog-Credential"], timestamp)

    digest = hashlib.sha256(request.encode("utf-8")).hexdigest()
    scope = f"{datestamp}/{location}/storage/goog4_request"
    string_to_sign = f"{algorithm}\n{timestamp}\n{scope}\n{digest}"
    _check_signature(
        algorithm,
        string_to_sign.encode("utf-8"),
        params["X-Goog-Signature"],
        datestamp=datestamp,
        location=location,
        public_key=public_key,
        hmac_secret=hmac_secret,
    )

    expires_at = signed_at + timedelta(seconds=lifetime)
    if now < signed_at:
        raise VerificationError("request is not valid yet")
    if now > expires_at:
        raise VerificationError("URL has expired")
    bucket, _, object_path = urlsplit(url).path[1:].partition("/")
    return VerifiedUrl(
        method=method,
        bucket=unquote(bucket),
        object_name=unquote(object_path),
        client_id=client_id,
        algorithm=algorithm,
        signed_headers=signed_names,
        expires_at=expires_at,
    )


# ------------------------------------------------------------------------------------------ POST policies


def decode_policy(policy_b64: str) -> dict[str, Any]:
    """Return the JSON document of a base64 policy."""
    document = json.loads(base64.b64decode(policy_b64, validate=True))
    if not isinstance(document, dict):
        raise VerificationError("policy is not a JSON object")
    return document


def _form_value(form: Mapping[str, str], name: str) -> str | None:
    for key, value in form.items():
        if key.lower() == name.lower():
            return value
    return None


def _check_condition(condition: object, form: Mapping[str, str], bucket: str, size: int) -> set[str]:
    """Check one condition; return the lowercase form field names it covers."""
    if isinstance(condition, dict):
        if len(condition) != 1:
            raise VerificationError("an exact-match condition must name one field")
        ((name, expected),) = condition.items()
        actual = bucket if name == "bucket" else _form_value(form, name)
        if actual != expected:
            raise VerificationError(f"field {name!r} does not equal the policy's value")
        return {name.lower()}
    if not isinstance(condition, list) or len(condition) != 3:
        raise VerificationError("a condition must be an object or a 3-item array")
    operator, first, second = condition
    if operator == "content-length-range":
        if not isinstance(first, int) or not isinstance(second, int):
            raise VerificationError("content-length-range bounds are not integers")
        if not first <= size <= second:
            raise VerificationError(f"upload size {size} is outside {first}..{second}")
        return set()
    if operator not in ("eq", "starts-with") or not isinstance(first, str) or not first.startswith("$"):
        raise VerificationError(f"unknown condition {condition!r}")
    name = first[1:]
    actual = bucket if name == "bucket" else _form_value(form, name)
    if actual is None:
        raise VerificationError(f"field {name!r} is missing")
    if (operator == "eq" and actual != second) or (
        operator == "starts-with" and not actual.startswith(second)
    ):
        raise VerificationError(f"field {name!r} fails its {operator} condition")
    return {name.lower()}


def verify_post_policy(
    url: str,
    form: Mapping[str, str],
    *,
    size: int,
    now: datetime,
    public_key: rsa.RSAPublicKey | None = None,
    hmac_secret: str | None = None,
) -> VerifiedPost:
    """Check a form upload of ``size`` bytes that posts ``form`` to ``url``, as Cloud Storage would.

    Raises:
        VerificationError: The upload would be refused.
    """
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if len(segments) != 3 or segments[0] or segments[2] or not segments[1]:
        raise VerificationError("POST URL is not ENDPOINT/BUCKET/")
    bucket = unquote(segments[1])
    fields = {name.lower(): value for name, value in form.items()}
    for required in (
        "key",
        "policy",
        "x-goog-signature",
        "x-goog-algorithm",
        "x-goog-credential",
        "x-goog-date",
    ):
        if required not in fields:
            raise VerificationError(f"form field {required!r} is missing")
    timestamp = fields["x-goog-date"]
    _parse_timestamp(timestamp, "x-goog-date")
    client_id, datestamp, location = _split_credential(fields["x-goog-credential"], timestamp)
    algorithm = fields["x-goog-algorithm"]
    _check_signature(
        algorithm,
        fields["policy"].encode("ascii"),
        fields["x-goog-signature"],
        datestamp=datestamp,
        location=location,
        public_key=public_key,
        hmac_secret=hmac_secret,
    )
    document = decode_policy(fields["policy"])
    expiration = document.get("expiration")
    if not isinstance(expiration, str):
        raise VerificationError("policy has no expiration")
    expires_at = datetime.fromisoformat(expiration.removesuffix("Z")).replace(tzinfo=UTC)
    if now > expires_at:
        raise VerificationError("policy has expired")
    conditions = document.get("conditions")
    if not isinstance(conditions, list):
        raise VerificationError("policy has no conditions")
    covered: set[str] = set()
    for condition in conditions:
        covered |= _check_condition(condition, form, bucket, size)
    for name in fields:
        if name not in covered and name not in _NOT_IN_POLICY and not name.startswith("x-ignore-"):
            raise VerificationError(f"form field {name!r} is not in the policy")
    return VerifiedPost(
        bucket=bucket, key=fields["key"], client_id=client_id, algorithm=algorithm, expires_at=expires_at
    )
