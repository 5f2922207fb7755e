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
import contextlib
import hashlib
import hmac
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, ClassVar, Final
from urllib.parse import quote, urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from byos.errors import ConfigError, CredentialsError, InvalidInputError
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

DEFAULT_ENDPOINT: Final = "https://storage.googleapis.com"
MAX_EXPIRES: Final = 7 * 24 * 60 * 60
RSA_ALGORITHM: Final = "GOOG4-RSA-SHA256"
HMAC_ALGORITHM: Final = "GOOG4-HMAC-SHA256"
_LOCATION: Final = "auto"
_UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"})
_POLICY_FIELDS: Final = frozenset(
    {
        "key",
        "policy",
        "x-goog-algorithm",
        "x-goog-credential",
        "x-goog-date",
        "x-goog-signature",
        "bucket",
        "file",
    }
)

_PKCS1V15: Final = padding.PKCS1v15()
_SHA256: Final = hashes.SHA256()

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
_DIGITS = re.compile(r"[0-9]{1,19}")
_LENGTH_RANGE = re.compile(r"([0-9]{1,19}),([0-9]{1,19})")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_BUCKET = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_GOOGLE_LOOKALIKE = re.compile(r"g[o0]{2}g[l1]e")
_DOT_SEGMENT = re.compile(r"(?:^|/)\.{1,2}(?:/|$)")
_IDENTITY = re.compile(r"[\x21-\x7e]+")

PolicyCondition = Mapping[str, str] | Sequence[str | int]
"""One POST policy condition: ``{"field": "exact value"}``, ``["eq", "$field", value]``,
``["starts-with", "$field", prefix]`` or ``["content-length-range", min, max]``."""


# --------------------------------------------------------------------------------------------- signers


class Goog4Signer(ABC):
    """One identity that signs V4 strings to sign.

    Attributes:
        algorithm: ``GOOG4-RSA-SHA256`` or ``GOOG4-HMAC-SHA256``.
    """

    algorithm: ClassVar[str]
    __slots__ = ("_client_id", "_credential_prefix")

    def __init__(self, client_id: str) -> None:
        self._client_id = client_id
        self._credential_prefix = quote(client_id, safe="~") + "%2F"

    @property
    def client_id(self) -> str:
        """The identity named in ``X-Goog-Credential``: service-account email or HMAC access id."""
        return self._client_id

    @abstractmethod
    def sign(self, message: bytes, datestamp: str) -> bytes:
        """Return the raw signature of ``message``.

        Args:
            message: The string to sign (signed URL) or the base64 policy (POST policy).
            datestamp: The ``YYYYMMDD`` of the credential scope (HMAC derives its key from it).
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self._client_id!r})"


class ServiceAccountSigner(Goog4Signer):
    """Signs with a service account's RSA private key (``GOOG4-RSA-SHA256``).

    Build it once per destination: the PEM key is parsed here, not per URL.
    """

    algorithm: ClassVar[str] = RSA_ALGORITHM
    __slots__ = ("_key",)

    def __init__(self, client_email: str, private_key: rsa.RSAPrivateKey) -> None:
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ConfigError(
                "private_key", "is not an RSA private key", "use the key file of a service account"
            )
        super().__init__(_identity("client_email", client_email, ConfigError))
        self._key = private_key

    @classmethod
    def from_service_account_info(
        cls, info: Mapping[str, Any], *, field: str = "service_account_info"
    ) -> ServiceAccountSigner:
        """Build a signer from the parsed JSON of a service-account key file.

        Args:
            info: The key file's JSON object.
            field: The setting named in error messages.

        Raises:
            ConfigError: ``info`` is not a service-account key (wrong ``type``, no ``client_email`` or no
                usable RSA ``private_key``).
        """
        fix = "download a JSON key of a service account (IAM > Service accounts > Keys)"
        if not isinstance(info, Mapping):
            raise ConfigError(field, "is not a JSON object", fix)
        kind = info.get("type")
        if kind != "service_account":
            shown = repr(kind) if isinstance(kind, str) and len(kind) <= 40 else "missing"
            raise ConfigError(field, f"is not a service account key (type {shown})", fix)
        email = info.get("client_email")
        if not isinstance(email, str) or not email:
            raise ConfigError(field, "has no client_email", fix)
        pem = info.get("private_key")
        if not isinstance(pem, str) or not pem.strip():
            raise ConfigError(field, "has no private_key", fix)
        key: object = None
        # Raised below, outside a handler: the chain must not keep the key's text.
        with contextlib.suppress(ValueError, TypeError, UnsupportedAlgorithm):
            key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
        if key is None:
            raise ConfigError(field, "private_key is not a readable unencrypted PEM key", fix)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError(field, "private_key is not an RSA key", fix)
        return cls(_identity(f"{field}.client_email", email, ConfigError), key)

    @classmethod
    def from_service_account_file(
        cls, path: str | Path, *, field: str = "service_account_file"
    ) -> ServiceAccountSigner:
        """Read a service-account JSON key file and build a signer.

        Raises:
            ConfigError: The file cannot be read, is not JSON, or is not a service-account key.
        """
        # Errors are raised outside the handlers: the chain would keep the file's text, private key and all.
        fix = "point it at a service-account JSON key file"
        problem = None
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problem = f"cannot read {path}: {getattr(exc, 'strerror', None) or type(exc).__name__}"
        if problem is not None:
            raise ConfigError(field, problem, fix)
        try:
            info = json.loads(text)
        except ValueError:
            problem = f"{path} is not JSON"
        if problem is not None:
            raise ConfigError(field, problem, fix)
        return cls.from_service_account_info(info, field=field)

    def sign(self, message: bytes, datestamp: str) -> bytes:  # noqa: ARG002 - RSA ignores the date
        """Return the PKCS#1 v1.5 SHA-256 signature of ``message``."""
        return self._key.sign(message, _PKCS1V15, _SHA256)


class SignBlobSigner(Goog4Signer):
    """Signs through a callable, for identities without a key (IAM Credentials ``signBlob``).

    The output equals :class:`ServiceAccountSigner`'s when the callable signs with the same
    service account's key: ``GOOG4-RSA-SHA256`` either way.
    """

    algorithm: ClassVar[str] = RSA_ALGORITHM
    __slots__ = ("_sign_bytes",)

    def __init__(self, client_email: str, sign_bytes: Callable[[bytes], bytes]) -> None:
        """Create the signer.

        Args:
            client_email: The service account whose key signs (``…@….iam.gserviceaccount.com``).
            sign_bytes: Returns the raw RSA-SHA256 signature of its argument (``signedBlob``, base64-decoded).
                Its exceptions propagate unchanged.
        """
        if not callable(sign_bytes):
            raise ConfigError("sign_bytes", "is not callable", "pass a function that signs bytes")
        super().__init__(_identity("service_account_email", client_email, ConfigError))
        self._sign_bytes = sign_bytes

    def sign(self, message: bytes, datestamp: str) -> bytes:  # noqa: ARG002 - RSA ignores the date
        """Return the signature the callable gives for ``message``."""
        signature = self._sign_bytes(message)
        if not isinstance(signature, bytes | bytearray) or not signature:
            raise CredentialsError("signBlob returned no signature bytes")
        return bytes(signature)


class HmacSigner(Goog4Signer):
    """Signs with an HMAC key (``GOOG4-HMAC-SHA256``): the SigV4 key derivation with Google's names."""

    algorithm: ClassVar[str] = HMAC_ALGORITHM
    __slots__ = ("_cache", "_root")

    def __init__(self, access_id: str, secret: str) -> None:
        if not isinstance(secret, str) or not secret:
            raise ConfigError("hmac_secret", "is empty", "set the secret of the HMAC key")
        super().__init__(_identity("hmac_access_id", access_id, ConfigError))
        self._root = b"GOOG4" + secret.encode("utf-8")
        self._cache: tuple[str, hmac.HMAC] | None = None

    def _mac(self, datestamp: str) -> hmac.HMAC:
        """Return an HMAC keyed for ``datestamp`` (``YYYYMMDD``); the last date's is kept."""
        cached = self._cache
        if cached is not None and cached[0] == datestamp:
            return cached[1]
        key = self._root
        for part in (datestamp, _LOCATION, "storage", "goog4_request"):
            key = hmac.digest(key, part.encode("ascii"), "sha256")
        mac = hmac.new(key, digestmod=hashlib.sha256)
        self._cache = (datestamp, mac)
        return mac

    def sign(self, message: bytes, datestamp: str) -> bytes:
        """Return HMAC-SHA256 of ``message`` under the key derived for ``datestamp``."""
        mac = self._mac(datestamp).copy()
        mac.update(message)
        return mac.digest()


# --------------------------------------------------------------------------------------------- signed URL


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


# --------------------------------------------------------------------------------------------- POST policy


def content_length_range(min_bytes: int, max_bytes: int) -> list[str | int]:
    """Return the POST policy condition ``["content-length-range", min_bytes, max_bytes]``."""
    return ["content-length-range", min_bytes, max_bytes]


def starts_with(field: str, prefix: str) -> list[str | int]:
    """Return the POST policy condition ``["starts-with", "$field", prefix]``."""
    return ["starts-with", f"${field}", prefix]


def presign_post(
    signer: Goog4Signer,
    bucket: str,
    key: str,
    *,
    conditions: Sequence[PolicyCondition] = (),
    fields: Mapping[str, str] | None = None,
    expires: int,
    now: datetime | None = None,
    endpoint: str = DEFAULT_ENDPOINT,
) -> tuple[str, dict[str, str]]:
    """Return ``(url, fields)`` of a V4 POST policy for a browser form upload.

    Equal to ``Client.generate_signed_post_policy_v4(bucket, key, expiration=timedelta(seconds=expires),
    conditions=conditions, fields=fields)`` of google-cloud-storage (its ``url`` and ``fields``, in order).
    The form sends every returned field, then the file last.

    Args:
        signer: Who signs.
        bucket: Bucket name.
        key: Object name; always an exact ``{"key": key}`` condition (it may contain ``${filename}``).
        conditions: Extra conditions, e.g. ``content_length_range(0, 10_000_000)``,
            ``{"Content-Type": "text/csv"}``, ``starts_with("key", "uploads/")``.
        fields: Extra form fields (``Content-Type``, ``x-goog-meta-*``, ``success_action_status``…); each
            also becomes an exact condition.
        expires: Lifetime in seconds, 1 to 604800 (7 days).
        now: The signing time (timezone-aware); the current time when omitted.
        endpoint: ``scheme://host[:port]``.

    Raises:
        InvalidInputError: An argument is invalid; the message names it.
    """
    _check_bucket(bucket)
    _check_object_name(key)
    _check_expires(expires)
    base, _ = _endpoint(endpoint)
    moment = _utc(now)

    policy_conditions: list[dict[str, str] | list[str | int]] = [
        _condition(i, condition, key) for i, condition in enumerate(_sequence(conditions))
    ]
    form = _form_fields(fields)
    policy_conditions.extend({name: value} for name, value in form.items())

    timestamp = _timestamp(moment)
    datestamp = timestamp[:8]
    credential = f"{signer.client_id}/{datestamp}/{_LOCATION}/storage/goog4_request"
    policy_conditions += [
        {"bucket": bucket},
        {"key": key},
        {"x-goog-date": timestamp},
        {"x-goog-credential": credential},
        {"x-goog-algorithm": signer.algorithm},
    ]
    expiration = (moment + timedelta(seconds=expires)).replace(tzinfo=None).isoformat() + "Z"
    document = json.dumps({"conditions": policy_conditions, "expiration": expiration}, separators=(",", ":"))
    policy = base64.b64encode(document.encode("utf-8"))
    signature = signer.sign(policy, datestamp).hex()

    form.update(
        {
            "key": key,
            "x-goog-algorithm": signer.algorithm,
            "x-goog-credential": credential,
            "x-goog-date": timestamp,
            "x-goog-signature": signature,
            "policy": policy.decode("ascii"),
        }
    )
    return f"{base}/{bucket}/", form


def _sequence(conditions: Sequence[PolicyCondition]) -> Sequence[PolicyCondition]:
    if isinstance(conditions, str | bytes | Mapping) or not isinstance(conditions, Sequence):
        raise InvalidInputError(
            "conditions", "is not a list of conditions", "pass a list such as [{...}, [...]]"
        )
    return conditions


def _condition(index: int, condition: PolicyCondition, key: str) -> dict[str, str] | list[str | int]:
    """Validate one POST policy condition and return it as the JSON value the policy holds."""
    field = f"conditions[{index}]"
    if isinstance(condition, Mapping):
        items = list(condition.items())
        if len(items) != 1 or not all(isinstance(part, str) for part in items[0]) or not items[0][0]:
            raise InvalidInputError(
                field, "must map one field name to one text value", 'e.g. {"Content-Type": "x"}'
            )
        name, value = items[0]
        _check_unicode(field, value)
        if name.lower() == "key" and value != key:
            raise InvalidInputError(
                field, "does not match the key being signed", "sign a key that satisfies it"
            )
        return {name: value}
    if isinstance(condition, str | bytes) or not isinstance(condition, Sequence) or len(condition) != 3:
        raise InvalidInputError(field, "is not a policy condition", "use a dict or a 3-item list")
    operator, first, second = condition
    if operator == "content-length-range":
        if not all(type(bound) is int for bound in (first, second)) or not 0 <= int(first) <= int(second):
            raise InvalidInputError(
                field, "needs two whole numbers 0 <= MIN <= MAX", "use content_length_range()"
            )
        return ["content-length-range", first, second]
    if operator not in ("eq", "starts-with"):
        raise InvalidInputError(
            field, f"has an unknown operator {operator!r}", "use eq, starts-with or a dict"
        )
    if (
        not isinstance(first, str)
        or not first.startswith("$")
        or len(first) < 2
        or not isinstance(second, str)
    ):
        raise InvalidInputError(
            field, "must be [operator, '$field', text]", 'e.g. ["starts-with", "$key", "a/"]'
        )
    _check_unicode(field, second)
    if first.lower() == "$key" and not (
        key.startswith(second) if operator == "starts-with" else key == second
    ):
        raise InvalidInputError(field, "does not match the key being signed", "sign a key that satisfies it")
    return [operator, first, second]


def _form_fields(fields: Mapping[str, str] | None) -> dict[str, str]:
    """Validate extra form fields; return them sorted by name, as the SDK orders them."""
    if fields is None:
        return {}
    if not isinstance(fields, Mapping):
        raise InvalidInputError("fields", "is not a mapping", "pass a dict of form field name to value")
    out: dict[str, str] = {}
    for name, value in sorted(fields.items()):
        field = f"fields[{name}]"
        if not isinstance(name, str) or _TOKEN.fullmatch(name) is None:
            raise InvalidInputError(
                "fields", f"{name!r} is not a valid field name", "use letters, digits and '-'"
            )
        lowered = name.lower()
        if lowered in _POLICY_FIELDS:
            raise InvalidInputError(field, "is set by the signer", "remove it")
        if lowered.startswith("x-ignore-"):
            raise InvalidInputError(
                field, "is ignored by Cloud Storage and left out of the policy", "remove it"
            )
        if not isinstance(value, str):
            raise InvalidInputError(field, "is not text", "pass a string value")
        _check_unicode(field, value)
        out[name] = value
    return out


# --------------------------------------------------------------------------------------------- validation


def _identity(field: str, value: object, error: type[ConfigError] | type[InvalidInputError]) -> str:
    if not isinstance(value, str) or _IDENTITY.fullmatch(value) is None or "/" in value:
        raise error(field, "must be non-empty printable ASCII without '/' or spaces", "check the credentials")
    return value


def _method(method: str) -> str:
    if method in _METHODS:
        return method
    verb = method.upper() if isinstance(method, str) else ""
    if verb not in _METHODS:
        raise InvalidInputError(
            "method", f"{method!r} is not supported", "use PUT, POST, GET, HEAD or DELETE"
        )
    return verb


def _check_bucket(bucket: object) -> None:
    """Raise InvalidInputError unless ``bucket`` follows Cloud Storage's naming rules."""
    if not isinstance(bucket, str):
        raise InvalidInputError("bucket", "is not text", "pass the bucket name")
    _check_bucket_name(bucket)


@lru_cache(maxsize=256)
def _check_bucket_name(bucket: str) -> None:
    if not 3 <= len(bucket) <= 222:
        raise InvalidInputError("bucket", f"has {len(bucket)} characters", "use 3 to 63 (222 with dots)")
    if _BUCKET.fullmatch(bucket) is None:
        raise InvalidInputError(
            "bucket",
            "may hold only a-z, 0-9, '-', '_' and '.', and must start and end with a letter or digit",
            "rename the bucket",
        )
    labels = bucket.split(".")
    if len(labels) == 1 and len(bucket) > 63:
        raise InvalidInputError("bucket", f"has {len(bucket)} characters", "use at most 63 without dots")
    if any(not 1 <= len(label) <= 63 for label in labels):
        raise InvalidInputError("bucket", "has an empty or over-63-character dot-separated part", "rename it")
    if _IPV4.fullmatch(bucket) is not None:
        raise InvalidInputError("bucket", "looks like an IP address", "rename the bucket")
    if bucket.startswith("goog") or _GOOGLE_LOOKALIKE.search(bucket) is not None:
        raise InvalidInputError(
            "bucket", "may not start with 'goog' or contain 'google'", "rename the bucket"
        )


def _check_object_name(key: str) -> None:
    """Raise InvalidInputError unless ``key`` is a valid object name that HTTP clients keep as is."""
    if not isinstance(key, str):
        raise InvalidInputError("key", "is not text", "pass the object name as a string")
    size = len(key) if key.isascii() else len(key.encode("utf-8", "surrogatepass"))
    if not 1 <= size <= 1024:
        raise InvalidInputError("key", f"is {size} bytes in UTF-8", "use 1 to 1024 bytes")
    if size != len(key):
        _check_unicode("key", key)
    if "\r" in key or "\n" in key:
        raise InvalidInputError("key", "contains a carriage return or line feed", "remove them")
    if key.startswith(".well-known/acme-challenge/"):
        raise InvalidInputError("key", "is under .well-known/acme-challenge/", "use another prefix")
    if _DOT_SEGMENT.search(key) is not None:
        raise InvalidInputError(
            "key", "has a '.' or '..' path segment, which HTTP clients rewrite", "remove the dot segment"
        )


def _check_unicode(field: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(field, "contains an unpaired surrogate", "pass valid Unicode text") from None


def _check_expires(expires: int) -> None:
    if type(expires) is not int:
        raise InvalidInputError("expires", "is not a whole number of seconds", "pass an int such as 1800")
    if not 1 <= expires <= MAX_EXPIRES:
        raise InvalidInputError("expires", f"is {expires} s", f"use 1 to {MAX_EXPIRES} seconds (7 days)")


_ENDPOINT_FIX: Final = "use scheme://host[:port], e.g. https://storage.googleapis.com"


def _endpoint(endpoint: object) -> tuple[str, str]:
    """Return ``(base URL, Host header)`` for ``scheme://host[:port]``, as a browser would send Host."""
    if not isinstance(endpoint, str):
        raise InvalidInputError("endpoint", "is not text", _ENDPOINT_FIX)
    return _parse_endpoint(endpoint)


@lru_cache(maxsize=32)
def _parse_endpoint(endpoint: str) -> tuple[str, str]:
    fix = _ENDPOINT_FIX
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise InvalidInputError("endpoint", "is not a valid URL", fix) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError("endpoint", "needs an http or https scheme and a host", fix)
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise InvalidInputError("endpoint", "may not hold credentials, a query or a fragment", fix)
    if parts.path not in ("", "/"):
        raise InvalidInputError("endpoint", "may not have a path (URLs are path style)", fix)
    host = parts.hostname
    if not host.isascii() or any(c in host for c in " \t\\%"):
        raise InvalidInputError("endpoint", "has an invalid host", fix)
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != (443 if parts.scheme == "https" else 80):
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}", host


def _utc(now: datetime | None) -> datetime:
    """Return ``now`` in UTC (the current time when None)."""
    if now is None:
        return datetime.now(UTC)
    if now.__class__ is datetime and now.tzinfo is UTC:
        return now
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidInputError("now", "is not a timezone-aware datetime", "pass e.g. datetime.now(UTC)")
    return now.astimezone(UTC)


def _timestamp(moment: datetime) -> str:
    """Return ``YYYYMMDDTHHMMSSZ`` of a UTC datetime (fractions of a second dropped, as the SDK does)."""
    iso = moment.isoformat(timespec="seconds")
    return f"{iso[0:4]}{iso[5:7]}{iso[8:10]}T{iso[11:13]}{iso[14:16]}{iso[17:19]}Z"
