"""AWS Signature Version 4 presigning for S3: query-signed URLs (PUT, multipart parts) and POST policies.

Standard library only. The output is byte for byte what botocore produces for the same inputs and clock
(``generate_presigned_url`` with ``signature_version="s3v4"`` and ``generate_presigned_post``):

* URL query order: operation parameters first (``partNumber``, ``uploadId``), then ``X-Amz-Algorithm``,
  ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``, ``X-Amz-SignedHeaders``, ``X-Amz-Security-Token``,
  and ``X-Amz-Signature`` last. Values are percent-encoded with only ``A-Z a-z 0-9 - _ . ~`` left as is.
* The object key is percent-encoded once, UTF-8, keeping ``/`` and ``~``; the path is not normalised
  (S3 signs it as sent). ``+ % = ? #``, spaces and non-ASCII characters are always encoded.
* Every header the client must send is signed (none are moved into the query string); header values are
  canonicalised by trimming and folding runs of spaces. The payload is ``UNSIGNED-PAYLOAD``.
* POST policies are ``json.dumps`` with its default separators and ASCII escapes, conditions in the order
  caller fields, ``bucket``, ``key``, ``x-amz-algorithm``, ``x-amz-credential``, ``x-amz-date``,
  ``x-amz-security-token``.

Headers the client must send for a presigned PUT, each exactly as returned in
:attr:`PresignedRequest.headers` (a missing or different value fails with 403):

=================================================  ===========================================================
option                                             header(s)
=================================================  ===========================================================
``content_type``                                   ``Content-Type``
``content_length``                                 ``Content-Length`` (browsers set it from the body)
``content_md5``                                    ``Content-MD5``
``checksum_sha256``                                ``x-amz-checksum-sha256``
``if_none_match=True`` (write once)                ``If-None-Match: *``
``server_side_encryption`` / ``sse_kms_key_id``    ``x-amz-server-side-encryption``,
                                                   ``x-amz-server-side-encryption-aws-kms-key-id``
``metadata``                                       ``x-amz-meta-<name>`` for each entry
=================================================  ===========================================================

``x-amz-sdk-checksum-algorithm`` is never needed: S3 checks ``x-amz-checksum-sha256`` by itself.
The ``Host`` header is always signed; HTTP clients derive it from the URL.
"""

from __future__ import annotations

import binascii
import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, NamedTuple
from urllib.parse import SplitResult, quote, urlsplit

from byos.errors import InvalidInputError
from byos.redaction import redact_url
from byos.signing.hmac_sha256 import HmacSha256, hmac_sha256, sha256
from byos.signing.sigv4_templates import MAX_TEMPLATES, QueryTemplate, encode_key_path

if TYPE_CHECKING:
    pass

__all__ = [
    "ALGORITHM",
    "MAX_EXPIRES_SECONDS",
    "MAX_KEY_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_OBJECT_BYTES",
    "MAX_PART_NUMBER",
    "MAX_UPLOAD_BYTES",
    "UNSIGNED_PAYLOAD",
    "AddressingStyle",
    "PresignedPost",
    "PresignedRequest",
    "S3Endpoint",
    "SigV4Signer",
    "check_bucket_name",
    "check_object_key",
    "encode_checked_key",
]

ALGORITHM: Final = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
MAX_EXPIRES_SECONDS: Final = 7 * 24 * 3600
"""SigV4 presigned URLs and this module's POST policies live at most 7 days."""
MAX_KEY_BYTES: Final = 1024
MAX_PART_NUMBER: Final = 10_000
MAX_UPLOAD_BYTES: Final = 5 * 1024**3
"""Largest body of one request: a single PUT, one multipart part, or a POST upload (5 GiB)."""
MAX_OBJECT_BYTES: Final = 5 * 1024**4
"""Largest object S3 stores, assembled by multipart upload (5 TiB)."""
MAX_METADATA_BYTES: Final = 2048
"""S3 limit on user metadata: UTF-8 bytes of all names and values together."""

AddressingStyle = Literal["auto", "virtual", "path"]

_SHA256_BYTES = 32
_MD5_BYTES = 16
_UNRESERVED = "-_.~"
_SERVER_SIDE_ENCRYPTION = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})

_TOKEN_HEADER = re.compile(r"[a-z0-9][a-z0-9-]*")
_META_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
_FORM_VALUE = re.compile(r"[^\x00-\x1f\x7f]*")
_ACCESS_KEY_ID = re.compile(r"[\x21-\x2e\x30-\x7e]{1,128}")
_SESSION_TOKEN = re.compile(r"[\x21-\x7e]+")
_REGION = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_AWS_REGION = re.compile(r"[a-z]{2,5}(?:-[a-z]+)+-[0-9]{1,3}")
_SERVICE = re.compile(r"[a-z0-9][a-z0-9-]*")
_METHOD = re.compile(r"[A-Z]+")
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_ENCODED_PATH = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|$)")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4_LIKE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

# Regions outside the commercial partition's amazonaws.com, from botocore's partitions.json.
_PARTITION_DNS_SUFFIXES: Final = (
    (re.compile(r"cn-\w+-\d+"), "amazonaws.com.cn"),
    (re.compile(r"eusc-de-\w+-\d+"), "amazonaws.eu"),
    (re.compile(r"us-iso-\w+-\d+"), "c2s.ic.gov"),
    (re.compile(r"us-isob-\w+-\d+"), "sc2s.sgov.gov"),
    (re.compile(r"eu-isoe-\w+-\d+"), "cloud.adc-e.uk"),
    (re.compile(r"us-isof-\w+-\d+"), "csp.hci.ic.gov"),
)
_DEFAULT_DNS_SUFFIX: Final = "amazonaws.com"

# Names the signer sets itself, or that could make an object public; never taken from callers.
_RESERVED_HEADERS = frozenset({"host", "authorization", "x-amz-date", "x-amz-acl", "x-amz-content-sha256"})
_RESERVED_FORM_FIELDS = frozenset(
    {
        "key",
        "bucket",
        "file",
        "policy",
        "acl",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-signature",
    }
)
_MAX_SIGNING_KEYS = 8
_MAX_TARGETS = 64
_MAX_META_NAMES = 1024
# Metadata names already checked: as given -> (lower case, header name). Bounded; threads share it.
_META_NAMES: dict[str, tuple[str, str]] = {}
_PART_QUERY: Final = ("partNumber", "uploadId")


class PresignedRequest(NamedTuple):
    """A presigned URL and the headers that were signed with it.

    Attributes:
        method: HTTP method the URL is valid for.
        url: The presigned URL, a bearer token (``repr`` redacts it).
        headers: Headers the client MUST send, exactly as given (all are signed). ``Host`` comes from the URL.
        expires_at: When S3 stops accepting the URL (timezone-aware UTC).
    """

    method: str
    url: str
    headers: Mapping[str, str]
    expires_at: datetime

    def __repr__(self) -> str:
        return (
            f"PresignedRequest(method={self.method!r}, url={redact_url(self.url)!r}, "
            f"headers={dict(self.headers)!r}, expires_at={self.expires_at.isoformat()!r})"
        )


class PresignedPost(NamedTuple):
    """A presigned browser form upload (``multipart/form-data`` POST).

    Attributes:
        url: Where the form is posted (the bucket).
        fields: Form fields in order; the file goes last, in a field named ``file``.
        expires_at: When the policy expires (timezone-aware UTC).
    """

    url: str
    fields: Mapping[str, str]
    expires_at: datetime

    def __repr__(self) -> str:
        return (
            f"PresignedPost(url={self.url!r}, fields=<{', '.join(self.fields)}>, "
            f"expires_at={self.expires_at.isoformat()!r})"
        )


class S3Endpoint:
    """Where S3 requests for one region (or one S3-compatible server) go, and how buckets are addressed.

    Without ``endpoint_url`` requests go to the regional AWS endpoint, virtual-hosted
    (``https://BUCKET.s3.REGION.amazonaws.com/KEY``), never to the global ``s3.amazonaws.com`` host whose
    redirects break browser CORS preflights. Bucket names with dots always use path style
    (``https://s3.REGION.amazonaws.com/BUCKET/KEY``): the TLS certificate does not cover them.

    With ``endpoint_url`` (an S3-compatible store or a local server) ``auto`` and ``path`` use path style
    (``http://127.0.0.1:4566/BUCKET/KEY``); ``virtual`` puts the bucket in the host name unless the host is an
    IP address or the bucket name has dots.

    Args:
        region: The bucket's region (also the signing region).
        endpoint_url: ``scheme://host[:port]`` of an S3-compatible server, without a path.
        addressing_style: ``auto`` (default), ``virtual`` or ``path``.

    Raises:
        InvalidInputError: A bad region, endpoint URL or addressing style.
    """

    __slots__ = ("_custom", "_host", "_ip_host", "_netloc", "_region", "_scheme", "_style")

    def __init__(
        self, region: str, endpoint_url: str | None = None, addressing_style: AddressingStyle = "auto"
    ) -> None:
        _check_region(region)
        if addressing_style not in ("auto", "virtual", "path"):
            raise InvalidInputError(
                "addressing_style", "must be 'auto', 'virtual' or 'path'", "pick one of the three"
            )
        self._region = region
        self._style: AddressingStyle = addressing_style
        if endpoint_url is None:
            if not _AWS_REGION.fullmatch(region):
                raise InvalidInputError(
                    "region",
                    "is not an AWS region name",
                    "use the bucket's region such as 'eu-west-1', or set endpoint_url",
                )
            self._scheme = "https"
            self._netloc = self._host = f"s3.{region}.{_dns_suffix(region)}"
            self._custom = False
            self._ip_host = False
        else:
            parts = _split_endpoint(endpoint_url)
            self._scheme = parts.scheme
            self._netloc = parts.netloc
            self._host = _host_header(parts)
            self._custom = True
            self._ip_host = _is_ip(parts.hostname or "")

    @property
    def region(self) -> str:
        """The region requests are signed for."""
        return self._region

    @property
    def addressing_style(self) -> AddressingStyle:
        """The configured addressing style."""
        return self._style

    def __repr__(self) -> str:
        endpoint = f"{self._scheme}://{self._netloc}"
        return f"S3Endpoint(region={self._region!r}, endpoint={endpoint!r}, addressing_style={self._style!r})"

    def uses_virtual_host(self, bucket: str) -> bool:
        """Whether ``bucket`` is addressed in the host name (virtual-hosted) rather than in the path."""
        if "." in bucket or self._style == "path":
            return False
        if self._custom:
            return self._style == "virtual" and not self._ip_host
        return True

    def object_url(self, bucket: str, key: str) -> str:
        """Return the unsigned URL of an object, the key percent-encoded as S3 signs it.

        Raises:
            InvalidInputError: A bad bucket name or key.
        """
        check_bucket_name(bucket)
        origin, _, path = self._locate(bucket, _encode_key(key))
        return origin + path

    def post_url(self, bucket: str) -> str:
        """Return the URL a browser form posts to for ``bucket``.

        Raises:
            InvalidInputError: A bad bucket name.
        """
        check_bucket_name(bucket)
        if self.uses_virtual_host(bucket):
            return f"{self._scheme}://{bucket}.{self._netloc}/"
        return f"{self._scheme}://{self._netloc}/{bucket}"

    def _locate(self, bucket: str, encoded_key: str) -> tuple[str, str, str]:
        """Return (scheme://netloc, Host header value, encoded path) of an object."""
        if self.uses_virtual_host(bucket):
            return f"{self._scheme}://{bucket}.{self._netloc}", f"{bucket}.{self._host}", "/" + encoded_key
        return f"{self._scheme}://{self._netloc}", self._host, f"/{bucket}/{encoded_key}"


class _DayKey:
    """The SigV4 signing key of one date (an HMAC, key states precomputed), its scope and credential."""

    __slots__ = ("_mac", "credential", "credential_encoded", "scope", "signing_key")

    def __init__(self, key: bytes, scope: str, credential: str) -> None:
        self.signing_key = key
        self._mac = HmacSha256(key)
        self.scope = scope
        self.credential = credential
        self.credential_encoded = quote(credential, safe=_UNRESERVED)

    def sign(self, message: bytes) -> str:
        """Return the hex HMAC-SHA256 of ``message`` under this day's signing key."""
        return self._mac.hexdigest(message)


class SigV4Signer:
    """Signs S3 requests with one set of credentials for one region and service.

    The derived signing key is cached per date, so a URL costs one SHA-256 of the canonical request and one
    HMAC. The secret sits in a private slot and never appears in ``repr``. Instances are safe to share
    between threads. :meth:`presign_url` signs any URL of any SigV4 service; the region is any lower-case
    name, so S3-compatible stores that sign with ``auto`` work too.

    Args:
        access_key_id: The access key id (appears in every URL).
        secret_access_key: The secret access key.
        region: The signing region (the bucket's region; ``auto`` and the like for S3-compatible stores).
        session_token: The session token of temporary credentials; it is put in the URL and signed.
        service: The signing service name.

    Raises:
        InvalidInputError: Empty or malformed credentials, region or service.
    """

    __slots__ = (
        "_access_key_id",
        "_clock",
        "_default_endpoint",
        "_keys",
        "_region",
        "_secret",
        "_service",
        "_targets",
        "_templates",
        "_token",
        "_token_encoded",
    )

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        region: str,
        session_token: str | None = None,
        service: str = "s3",
    ) -> None:
        if not isinstance(access_key_id, str) or not _ACCESS_KEY_ID.fullmatch(access_key_id):
            raise InvalidInputError(
                "access_key_id", "must be 1..128 printable ASCII characters without '/'", "pass the key id"
            )
        if not isinstance(secret_access_key, str) or not secret_access_key:
            raise InvalidInputError("secret_access_key", "is empty", "pass the secret access key")
        secret = b""
        with contextlib.suppress(UnicodeEncodeError):  # raised below: the error's .object is the secret
            secret = ("AWS4" + secret_access_key).encode("utf-8")
        if not secret:
            raise InvalidInputError(
                "secret_access_key", "is not valid Unicode text", "pass the secret access key"
            )
        if session_token is not None and (
            not isinstance(session_token, str) or not _SESSION_TOKEN.fullmatch(session_token)
        ):
            raise InvalidInputError(
                "session_token", "must be non-empty printable ASCII", "pass the token or None"
            )
        _check_region(region)
        if not isinstance(service, str) or not _SERVICE.fullmatch(service):
            raise InvalidInputError("service", "must be a lower-case service name", "use 's3'")
        self._access_key_id = access_key_id
        self._secret = secret
        self._region = region
        self._service = service
        self._token = session_token
        self._token_encoded = "" if session_token is None else quote(session_token, safe=_UNRESERVED)
        self._keys: dict[str, _DayKey] = {}
        self._default_endpoint: S3Endpoint | None = None
        # Caches for the query-signing fast path; each entry is written whole, so threads may share them.
        self._targets: dict[tuple[S3Endpoint | None, str], tuple[str, str, str]] = {}
        self._templates: dict[tuple[object, ...], QueryTemplate] = {}
        self._clock: tuple[datetime | None, str] = (None, "")

    @property
    def access_key_id(self) -> str:
        """The access key id."""
        return self._access_key_id

    @property
    def region(self) -> str:
        """The signing region."""
        return self._region

    @property
    def service(self) -> str:
        """The signing service."""
        return self._service

    @property
    def has_session_token(self) -> bool:
        """Whether URLs carry a session token (temporary credentials)."""
        return self._token is not None

    def __repr__(self) -> str:
        return f"SigV4Signer(access_key_id={self._access_key_id!r}, region={self._region!r})"

    # -- query-string signing ---------------------------------------------------------------------------

    def presign_url(
        self,
        method: str,
        url: str,
        *,
        signed_headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        expires: int,
        now: datetime,
    ) -> str:
        """Presign any request URL (query-string authentication, ``UNSIGNED-PAYLOAD``).

        Args:
            method: HTTP method, upper case.
            url: ``scheme://host[:port]/path``, the path already percent-encoded (as
                :meth:`S3Endpoint.object_url` returns it); no query string (use ``query``).
            signed_headers: Headers the client will send, all signed. ``Host`` is always signed and must
                not be given.
            query: Operation parameters (unencoded), put before the authentication parameters.
            expires: Lifetime in seconds, 1..604800.
            now: The signing time, timezone-aware.

        Returns:
            The presigned URL.

        Raises:
            InvalidInputError: A bad argument.
        """
        if not isinstance(method, str) or not _METHOD.fullmatch(method):
            raise InvalidInputError("method", "must be an upper-case HTTP method", "use 'PUT', 'GET', …")
        parts = _split_url(url)
        headers = _check_headers(signed_headers)
        encoded_query: list[tuple[str, str]] = []
        if query is not None:
            items = query.items() if isinstance(query, Mapping) else query
            for name, value in items:
                if not isinstance(name, str) or not isinstance(value, str) or not name:
                    raise InvalidInputError("query", "names and values must be strings", "pass str pairs")
                if name.lower().startswith("x-amz-"):
                    raise InvalidInputError(
                        "query", "X-Amz-* parameters are set by the signer", "remove them from query"
                    )
                encoded_query.append((_encode_value(name, "query"), _encode_value(value, "query")))
        _check_expires(expires)
        target = (f"{parts.scheme}://{parts.netloc}", _host_header(parts), parts.path)
        return self._sign(method, target, headers, encoded_query, expires=expires, stamp=_utc_stamp(now)[1])

    def sign_request(
        self,
        method: str,
        url: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        now: datetime,
        content_sha256_header: bool = True,
    ) -> tuple[str, dict[str, str]]:
        """Sign a request in the ``Authorization`` header (the form SDK calls use), payload hash signed.

        Equal to botocore's ``S3SigV4Auth`` (and, without the payload header, ``SigV4Auth`` as other services
        use it) for the same request and clock: every given header, ``Host``, ``X-Amz-Date``,
        ``X-Amz-Content-SHA256`` (the body's SHA-256) and ``X-Amz-Security-Token`` (temporary credentials) are
        signed.

        Args:
            method: HTTP method, upper case.
            url: ``scheme://host[:port]/path``, the path percent-encoded; no query string (use ``query``).
            query: Query parameters (unencoded); sent sorted, as they are signed.
            headers: Headers to send and sign (not ``Host`` or ``Authorization``).
            body: The request body.
            now: The signing time, timezone-aware.
            content_sha256_header: Send the payload hash as ``X-Amz-Content-SHA256`` (S3 wants it; STS and
                other query APIs sign the hash without the header).

        Returns:
            The URL with its query string, and every header to send (``Host`` excepted: HTTP clients derive
            it from the URL, as it was signed).

        Raises:
            InvalidInputError: A bad argument.
        """
        if not isinstance(method, str) or not _METHOD.fullmatch(method):
            raise InvalidInputError("method", "must be an upper-case HTTP method", "use 'GET', 'POST', …")
        parts = _split_url(url)
        pairs = sorted(
            (quote(name, safe=_UNRESERVED), quote(value, safe=_UNRESERVED))
            for name, value in (query or {}).items()
        )
        canonical_query = "&".join(f"{name}={value}" for name, value in pairs)
        stamp = _utc_stamp(now)[1]
        sent = dict(headers or {})
        sent["X-Amz-Date"] = stamp
        payload_hash = sha256(body).hexdigest()
        if content_sha256_header:
            sent["X-Amz-Content-SHA256"] = payload_hash
        if self._token is not None:
            sent["X-Amz-Security-Token"] = self._token
        values = {"host": _host_header(parts)}
        for name, value in sent.items():
            lowered = name.lower()
            if lowered in ("host", "authorization"):
                raise InvalidInputError("headers", f"{name} is set by the signer", "remove it")
            _check_header_value(name, value)
            values[lowered] = " ".join(value.split())
        names = sorted(values)
        signed = ";".join(names)
        canonical_headers = "".join(f"{name}:{values[name]}\n" for name in names)
        canonical_request = "\n".join(
            (method, parts.path, canonical_query, canonical_headers, signed, payload_hash)
        )
        day = self._day(stamp[:8])
        string_to_sign = (
            f"{ALGORITHM}\n{stamp}\n{day.scope}\n{sha256(canonical_request.encode('utf-8')).hexdigest()}"
        )
        signature = day.sign(string_to_sign.encode("ascii"))
        sent["Authorization"] = (
            f"{ALGORITHM} Credential={day.credential}, SignedHeaders={signed}, Signature={signature}"
        )
        target = f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{canonical_query}" if pairs else "")
        return target, sent

    def presign_put(
        self,
        bucket: str,
        key: str,
        *,
        expires: int,
        now: datetime,
        endpoint: S3Endpoint | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
        content_md5: str | None = None,
        checksum_sha256: str | None = None,
        if_none_match: bool = False,
        server_side_encryption: str | None = None,
        sse_kms_key_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        expected_bucket_owner: str | None = None,
    ) -> PresignedRequest:
        """Presign a ``PutObject``: one request that writes exactly ``key`` with the given properties.

        Every option becomes a signed header the client must send (see the module docstring), so an upload
        that deviates fails.

        Args:
            bucket: Bucket name.
            key: Object key, 1..1024 UTF-8 bytes, no ``.``/``..`` path segments.
            expires: Lifetime in seconds, 1..604800.
            now: The signing time, timezone-aware.
            endpoint: Where the bucket lives; default: the signer's region on AWS.
            content_type: Lock the ``Content-Type``.
            content_length: Lock the body size in bytes (0..5 GiB).
            content_md5: Base64 MD5 of the body (S3 rejects a body that does not match).
            checksum_sha256: Base64 SHA-256 of the body (S3 rejects a body that does not match).
            if_none_match: Write once: S3 refuses to overwrite an existing object (412).
            server_side_encryption: ``AES256``, ``aws:kms`` or ``aws:kms:dsse``.
            sse_kms_key_id: KMS key for SSE-KMS (implies ``aws:kms`` when no mode is given).
            metadata: User metadata, sent as ``x-amz-meta-<name>`` headers (names are lower-cased).
            expected_bucket_owner: The 12-digit account id that must own the bucket (S3 answers 403
                otherwise), signed as ``x-amz-expected-bucket-owner``.

        Returns:
            The URL and the headers to send.

        Raises:
            InvalidInputError: A bad argument.
        """
        target = self._resolve(endpoint, bucket, key)
        if expires.__class__ is not int or not 1 <= expires <= MAX_EXPIRES_SECONDS:
            _check_expires(expires)
        whole, stamp = self._stamp(now)
        if if_none_match is not True and if_none_match is not False:  # 0 or "" must not drop write-once
            raise InvalidInputError("if_none_match", "must be True or False", "pass a bool")
        sent: dict[str, str] = {}
        # Signed headers: lower-case names and canonical values (runs of spaces folded), host first.
        names: list[str] = []
        values = [target[1]]
        if content_type is not None:
            _check_header_value("content_type", content_type, allow_empty=False)
            sent["Content-Type"] = content_type
            names.append("content-type")
            values.append(" ".join(content_type.split()))
        if content_length is not None or content_md5 is not None or checksum_sha256 is not None:
            _body_headers(content_length, content_md5, checksum_sha256, sent=sent, names=names, values=values)
        if if_none_match:
            sent["If-None-Match"] = "*"
            names.append("if-none-match")
            values.append("*")
        if server_side_encryption is not None or sse_kms_key_id is not None:
            for name, value in _encryption(server_side_encryption, sse_kms_key_id):
                sent[name] = value
                names.append(name)
                values.append(" ".join(value.split()))
        if metadata:
            for name, value in _check_metadata(metadata):
                sent[name] = value
                names.append(name)
                values.append(" ".join(value.split()))
        _owner_header(expected_bucket_owner, sent, names, values)
        url, lifetime = self._sign_fast("PUT", target, names, values, expires=expires, stamp=stamp)
        return PresignedRequest("PUT", url, MappingProxyType(sent), whole + lifetime)

    def object_location(self, bucket: str, endpoint: S3Endpoint | None = None) -> tuple[str, str, str]:
        """Return (``scheme://netloc``, ``Host`` header, path up to the key) of ``bucket``'s objects.

        Raises:
            InvalidInputError: A bad bucket name or endpoint.
        """
        origin, host, path = self._resolve(endpoint, bucket, "k")
        return origin, host, path[:-1]

    def sign_checked(
        self,
        location: tuple[str, str, str],
        encoded_key: str,
        names: tuple[str, ...],
        values: list[str],
        *,
        expires: int,
        now: datetime,
    ) -> tuple[str, datetime]:
        """Presign a PUT whose every part was checked as :meth:`presign_put` checks them; return URL, expiry.

        For callers that compiled a destination (:mod:`byos.presigner_cache`): ``location`` from
        :meth:`object_location`, the key percent-encoded as S3 signs it, the signed header names (lower case,
        distinct, not ``host``) and canonical values in ``presign_put``'s order, the lifetime checked.
        """
        whole, stamp = self._stamp(now)
        origin, host, prefix = location
        date = stamp[:8]
        cache_key = (date, expires, names)
        template = self._templates.get(cache_key)
        if template is None:
            template = self._template("PUT", date, expires, names, ())
            if len(self._templates) >= MAX_TEMPLATES:
                self._templates.clear()
            self._templates[cache_key] = template
        path = prefix + encoded_key
        values.insert(0, host)
        return f"{origin}{path}?{template.sign(path, stamp, values, ())}", whole + template.lifetime

    def presign_upload_part(
        self,
        bucket: str,
        key: str,
        *,
        upload_id: str,
        part_number: int,
        expires: int,
        now: datetime,
        endpoint: S3Endpoint | None = None,
        content_length: int | None = None,
        content_md5: str | None = None,
        checksum_sha256: str | None = None,
        expected_bucket_owner: str | None = None,
    ) -> PresignedRequest:
        """Presign an ``UploadPart`` of a multipart upload created server side.

        Args:
            bucket: Bucket name.
            key: Object key of the multipart upload.
            upload_id: The ``UploadId`` returned by ``CreateMultipartUpload``.
            part_number: 1..10000.
            expires: Lifetime in seconds, 1..604800.
            now: The signing time, timezone-aware.
            endpoint: Where the bucket lives; default: the signer's region on AWS.
            content_length: Lock the part size in bytes (0..5 GiB).
            content_md5: Base64 MD5 of the part.
            checksum_sha256: Base64 SHA-256 of the part (the upload must have been created with SHA256).
            expected_bucket_owner: The 12-digit account id that must own the bucket, signed.

        Returns:
            The URL and the headers to send.

        Raises:
            InvalidInputError: A bad argument.
        """
        target = self._resolve(endpoint, bucket, key)
        if not isinstance(upload_id, str) or not upload_id or len(upload_id) > 1024:
            raise InvalidInputError(
                "upload_id", "must be a non-empty string", "pass the UploadId from CreateMultipartUpload"
            )
        if (
            not isinstance(part_number, int)
            or isinstance(part_number, bool)
            or not 1 <= part_number <= MAX_PART_NUMBER
        ):
            raise InvalidInputError(
                "part_number",
                f"must be an integer from 1 to {MAX_PART_NUMBER}",
                "use larger parts so that at most 10000 are needed",
            )
        if expires.__class__ is not int or not 1 <= expires <= MAX_EXPIRES_SECONDS:
            _check_expires(expires)
        whole, stamp = self._stamp(now)
        sent: dict[str, str] = {}
        names: list[str] = []
        values = [target[1]]
        if content_length is not None or content_md5 is not None or checksum_sha256 is not None:
            _body_headers(content_length, content_md5, checksum_sha256, sent=sent, names=names, values=values)
        _owner_header(expected_bucket_owner, sent, names, values)
        query = (str(part_number), _encode_value(upload_id, "upload_id"))
        url, lifetime = self._sign_fast(
            "PUT", target, names, values, query=(_PART_QUERY, query), expires=expires, stamp=stamp
        )
        return PresignedRequest("PUT", url, MappingProxyType(sent), whole + lifetime)

    def presign_parts(
        self,
        bucket: str,
        key: str,
        *,
        upload_id: str,
        lengths: Sequence[int],
        expires: int,
        now: datetime,
        endpoint: S3Endpoint | None = None,
        checksums: Sequence[str] | None = None,
        expected_bucket_owner: str | None = None,
    ) -> list[PresignedRequest]:
        """Presign every ``UploadPart`` of a multipart upload at once, part ``i + 1`` of ``lengths[i]`` bytes.

        Equal, part for part, to :meth:`presign_upload_part` with ``content_length`` (and
        ``checksum_sha256``) at the same clock; the checks and the per-day template are done once, so a part
        costs one ``%`` format, one SHA-256 and one HMAC.

        Args:
            bucket: Bucket name.
            key: Object key of the multipart upload.
            upload_id: The ``UploadId`` returned by ``CreateMultipartUpload``.
            lengths: Each part's size in bytes, in order (1 to 10000 parts).
            expires: Lifetime in seconds, 1..604800.
            now: The signing time, timezone-aware.
            endpoint: Where the bucket lives; default: the signer's region on AWS.
            checksums: Base64 SHA-256 of each part (signed as ``x-amz-checksum-sha256``), or None.
            expected_bucket_owner: The 12-digit account id that must own the bucket, signed.

        Returns:
            One request per part, in order.

        Raises:
            InvalidInputError: A bad argument.
        """
        origin, host, path = self._resolve(endpoint, bucket, key)
        _check_parts(upload_id, lengths, checksums)
        if expires.__class__ is not int or not 1 <= expires <= MAX_EXPIRES_SECONDS:
            _check_expires(expires)
        whole, stamp = self._stamp(now)
        owner: dict[str, str] = {}
        owner_names: list[str] = []
        owner_values: list[str] = []
        _owner_header(expected_bucket_owner, owner, owner_names, owner_values)
        names = (
            "content-length",
            *(() if checksums is None else ("x-amz-checksum-sha256",)),
            *owner_names,
        )
        tail = tuple(owner_values)
        date = stamp[:8]
        cache_key = (date, expires, "PUT", *names, "", *_PART_QUERY)
        template = self._templates.get(cache_key)
        if template is None:
            template = self._template("PUT", date, expires, names, _PART_QUERY)
            if len(self._templates) >= MAX_TEMPLATES:
                self._templates.clear()
            self._templates[cache_key] = template
        upload = _encode_value(upload_id, "upload_id")
        # The canonical request of part N is HEAD + N + MIDDLE + length + TAIL (+ checksum + REST): render it
        # once with markers, hash HEAD once, and per part hash only what follows it.
        markers = [host, "\x01", *(() if checksums is None else ("\x02",)), *tail]
        rendered = template.request_format % (path, stamp, "\x00", upload, *template.pick(markers))
        head, rest = rendered.split("\x00")
        middle, after_length = rest.split("\x01")
        after_checksum = ""
        if checksums is not None:
            after_length, after_checksum = after_length.split("\x02")
        head_hash = template.sha256(head.encode("utf-8"))
        mac = template.mac.prefixed(f"{ALGORITHM}\n{stamp}{template.sts_scope}".encode("ascii")).hexdigest
        url_head = f"{origin}{path}?partNumber="
        url_tail = f"&uploadId={upload}&{template.head}{stamp}{template.tail}&X-Amz-Signature="
        expires_at = whole + template.lifetime
        parts: list[PresignedRequest] = []
        append = parts.append
        for index, length in enumerate(lengths):
            number = str(index + 1)
            size = str(length)
            request = head_hash.copy()
            if checksums is None:
                headers = {"Content-Length": size, **owner}
                request.update(f"{number}{middle}{size}{after_length}".encode())
            else:
                checksum = checksums[index]
                headers = {"Content-Length": size, "x-amz-checksum-sha256": checksum, **owner}
                request.update(f"{number}{middle}{size}{after_length}{checksum}{after_checksum}".encode())
            signature = mac(request.hexdigest().encode("ascii"))
            append(
                PresignedRequest(
                    "PUT", f"{url_head}{number}{url_tail}{signature}", MappingProxyType(headers), expires_at
                )
            )
        return parts

    # -- POST policy ------------------------------------------------------------------------------------

    def presign_post(
        self,
        bucket: str,
        key: str | None = None,
        *,
        key_prefix: str | None = None,
        expires: int,
        now: datetime,
        endpoint: S3Endpoint | None = None,
        content_type: str | None = None,
        min_bytes: int | None = None,
        max_bytes: int | None = None,
        server_side_encryption: str | None = None,
        sse_kms_key_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> PresignedPost:
        """Presign a browser form upload whose policy pins the key (or its prefix), type, size and metadata.

        Form fields come in this order, each one also an exact-match policy condition: ``Content-Type``,
        ``x-amz-server-side-encryption``, ``x-amz-server-side-encryption-aws-kms-key-id``,
        ``x-amz-meta-<name>``…, ``fields``…; then ``key``, ``x-amz-algorithm``, ``x-amz-credential``,
        ``x-amz-date``, ``x-amz-security-token``, ``policy``, ``x-amz-signature``. A size limit becomes
        ``["content-length-range", min, max]``, the first condition.

        Args:
            bucket: Bucket name.
            key: The exact key the upload must have. Give exactly one of ``key`` and ``key_prefix``.
            key_prefix: Allow any key starting with this prefix; the ``key`` field is
                ``<prefix>${filename}`` (S3 substitutes the uploaded file's name).
            expires: Lifetime of the policy in seconds, 1..604800.
            now: The signing time, timezone-aware.
            endpoint: Where the bucket lives; default: the signer's region on AWS.
            content_type: The exact ``Content-Type`` of the upload.
            min_bytes: Smallest accepted size (default 0 when ``max_bytes`` is given).
            max_bytes: Largest accepted size (default 5 GiB when ``min_bytes`` is given).
            server_side_encryption: ``AES256``, ``aws:kms`` or ``aws:kms:dsse``.
            sse_kms_key_id: KMS key for SSE-KMS (implies ``aws:kms`` when no mode is given).
            metadata: User metadata (``x-amz-meta-<name>`` fields, names lower-cased).
            fields: Further form fields, each pinned by an exact-match condition.

        Returns:
            The form's URL and fields.

        Raises:
            InvalidInputError: A bad argument.
        """
        endpoint = self._endpoint(endpoint)
        check_bucket_name(bucket)
        if (key is None) == (key_prefix is None):
            raise InvalidInputError("key", "give exactly one of key and key_prefix", "pass one of them")
        if key is not None:
            _check_key_text("key", key, MAX_KEY_BYTES)
            form_key = key
        else:
            assert key_prefix is not None  # noqa: S101 -- narrowed by the exactly-one check above
            _check_key_text("key_prefix", key_prefix, MAX_KEY_BYTES - 1)
            form_key = key_prefix + "${filename}"
        _check_expires(expires)
        utc_now, stamp = _utc_stamp(now)
        conditions = _size_conditions(min_bytes, max_bytes)
        form = _post_fields(content_type, server_side_encryption, sse_kms_key_id, metadata, fields)
        conditions.extend({name: value} for name, value in form.items())
        conditions.append({"bucket": bucket})
        if key_prefix is not None:
            conditions.append(["starts-with", "$key", key_prefix])
        else:
            conditions.append({"key": form_key})
        form["key"] = form_key
        day = self._day(stamp[:8])
        credential = day.credential
        form["x-amz-algorithm"] = ALGORITHM
        form["x-amz-credential"] = credential
        form["x-amz-date"] = stamp
        conditions.append({"x-amz-algorithm": ALGORITHM})
        conditions.append({"x-amz-credential": credential})
        conditions.append({"x-amz-date": stamp})
        if self._token is not None:
            form["x-amz-security-token"] = self._token
            conditions.append({"x-amz-security-token": self._token})
        expires_at = _expires_at(utc_now, expires)
        policy = {"expiration": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "conditions": conditions}
        import base64  # noqa: PLC0415 -- POST only: presigning a PUT never loads base64 and json
        import json  # noqa: PLC0415

        encoded_policy = base64.b64encode(json.dumps(policy).encode("utf-8")).decode("ascii")
        form["policy"] = encoded_policy
        form["x-amz-signature"] = day.sign(encoded_policy.encode("ascii"))
        return PresignedPost(endpoint.post_url(bucket), MappingProxyType(form), expires_at)

    # -- internals --------------------------------------------------------------------------------------

    def _endpoint(self, endpoint: S3Endpoint | None) -> S3Endpoint:
        if endpoint is None:
            if self._default_endpoint is None:
                self._default_endpoint = S3Endpoint(self._region)
            return self._default_endpoint
        if not isinstance(endpoint, S3Endpoint):
            raise InvalidInputError("endpoint", "must be an S3Endpoint", "build one with S3Endpoint(region)")
        if endpoint.region != self._region:
            raise InvalidInputError(
                "endpoint", "its region differs from the signer's region", "sign for the bucket's region"
            )
        return endpoint

    def _resolve(self, endpoint: S3Endpoint | None, bucket: str, key: str) -> tuple[str, str, str]:
        """Return (origin, Host header, encoded path) of an object; the checked bucket's part is cached."""
        try:
            located = self._targets.get((endpoint, bucket))
        except TypeError:  # an unhashable argument: refused below
            located = None
        if located is None:
            resolved = self._endpoint(endpoint)
            check_bucket_name(bucket)
            located = resolved._locate(bucket, "")
            if len(self._targets) >= _MAX_TARGETS:
                self._targets.clear()
            self._targets[(endpoint, bucket)] = located
        origin, host, prefix = located
        return origin, host, prefix + _encode_key(key)

    def _stamp(self, now: datetime) -> tuple[datetime, str]:
        """Return the signing second (aware UTC, no microseconds) of ``now`` and its time stamp."""
        if now.__class__ is datetime and now.tzinfo is UTC:
            whole = now.replace(microsecond=0) if now.microsecond else now
            clock = self._clock
            if whole == clock[0]:
                return whole, clock[1]
            stamp = _utc_stamp(whole)[1]
            self._clock = (whole, stamp)
            return whole, stamp
        utc_now, stamp = _utc_stamp(now)
        return utc_now.replace(microsecond=0), stamp

    def _sign_fast(
        self,
        method: str,
        target: tuple[str, str, str],
        names: list[str],
        values: list[str],
        *,
        query: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
        expires: int,
        stamp: str,
    ) -> tuple[str, timedelta]:
        """Return the presigned URL of ``target`` and its lifetime, through a cached :class:`QueryTemplate`.

        ``names`` are the lower-case signed header names (distinct, not ``host``); ``values`` their canonical
        values after the ``Host`` value. ``query`` holds operation parameter names that sort after every
        ``X-Amz-*`` one (in URL order, which is sorted order) and their encoded values.
        """
        origin, _, path = target
        date = stamp[:8]
        query_names, query_values = query
        cache_key = (date, expires, method, *names, "", *query_names)
        template = self._templates.get(cache_key)
        if template is None:
            template = self._template(method, date, expires, tuple(names), query_names)
            if len(self._templates) >= MAX_TEMPLATES:
                self._templates.clear()
            self._templates[cache_key] = template
        auth = template.sign(path, stamp, values, query_values)
        if query_names:
            operation = "&".join([f"{n}={v}" for n, v in zip(query_names, query_values, strict=True)])
            return f"{origin}{path}?{operation}&{auth}", template.lifetime
        return f"{origin}{path}?{auth}", template.lifetime

    def _template(
        self, method: str, date: str, expires: int, names: tuple[str, ...], query_names: tuple[str, ...]
    ) -> QueryTemplate:
        day = self._day(date)
        return QueryTemplate(
            method=method,
            credential=day.credential,
            scope=day.scope,
            signing_key=day.signing_key,
            expires=expires,
            header_names=names,
            token_encoded=None if self._token is None else self._token_encoded,
            query_names=query_names,
        )

    def _day(self, date: str) -> _DayKey:
        """Return the signing material of a ``YYYYMMDD`` date, derived once and cached."""
        day = self._keys.get(date)
        if day is None:
            key = hmac_sha256(self._secret, date.encode("ascii"))
            key = hmac_sha256(key, self._region.encode("ascii"))
            key = hmac_sha256(key, self._service.encode("ascii"))
            key = hmac_sha256(key, b"aws4_request")
            scope = f"{date}/{self._region}/{self._service}/aws4_request"
            day = _DayKey(key, scope, f"{self._access_key_id}/{scope}")
            if len(self._keys) >= _MAX_SIGNING_KEYS:
                self._keys.clear()
            self._keys[date] = day
        return day

    def _sign(
        self,
        method: str,
        target: tuple[str, str, str],
        headers: list[tuple[str, str]],
        query: list[tuple[str, str]],
        *,
        expires: int,
        stamp: str,
    ) -> str:
        """Return the presigned URL of ``target`` (origin, Host header, encoded path)."""
        origin, host, path = target
        day = self._day(stamp[:8])
        credential = day.credential_encoded
        if headers:
            values = {"host": host}
            for name, value in headers:
                values[name] = " ".join(value.split())
            names = sorted(values)
            signed = ";".join(names)
            canonical_headers = "".join([f"{name}:{values[name]}\n" for name in names])
            signed_encoded = signed.replace(";", "%3B")
        else:
            signed = signed_encoded = "host"
            canonical_headers = f"host:{host}\n"
        token = self._token
        auth = (
            f"X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={credential}&X-Amz-Date={stamp}"
            f"&X-Amz-Expires={expires}&X-Amz-SignedHeaders={signed_encoded}"
        )
        token_encoded = self._token_encoded
        if token is not None:
            auth += f"&X-Amz-Security-Token={token_encoded}"
        if query:
            pairs = [
                ("X-Amz-Algorithm", ALGORITHM),
                ("X-Amz-Credential", credential),
                ("X-Amz-Date", stamp),
                ("X-Amz-Expires", str(expires)),
                ("X-Amz-SignedHeaders", signed_encoded),
                *query,
            ]
            if token is not None:
                pairs.append(("X-Amz-Security-Token", token_encoded))
            pairs.sort()
            canonical_query = "&".join([f"{name}={value}" for name, value in pairs])
            url_query = "&".join([f"{name}={value}" for name, value in query]) + "&" + auth
        else:
            canonical_query = (
                f"X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={credential}&X-Amz-Date={stamp}"
                f"&X-Amz-Expires={expires}"
            )
            if token is not None:
                canonical_query += f"&X-Amz-Security-Token={token_encoded}"
            canonical_query += f"&X-Amz-SignedHeaders={signed_encoded}"
            url_query = auth
        canonical_request = (
            f"{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed}\n{UNSIGNED_PAYLOAD}"
        )
        string_to_sign = (
            f"{ALGORITHM}\n{stamp}\n{day.scope}\n{sha256(canonical_request.encode('utf-8')).hexdigest()}"
        )
        signature = day.sign(string_to_sign.encode("ascii"))
        return f"{origin}{path}?{url_query}&X-Amz-Signature={signature}"


# -- validation and encoding helpers ----------------------------------------------------------------------


def check_bucket_name(bucket: str) -> None:
    """Check a general purpose bucket name against S3's naming rules.

    3..63 characters of ``a-z 0-9 . -``, starting and ending with a letter or digit, no ``..``, not an IP
    address, none of the reserved prefixes (``xn--``, ``sthree-``, ``amzn-s3-demo-``) and suffixes
    (``-s3alias``, ``--ol-s3``, ``.mrap``, ``--x-s3``, ``--table-s3``). Legacy names with capitals or
    underscores are refused: browsers cannot reach them through virtual-hosted URLs.

    Raises:
        InvalidInputError: The name breaks a rule (the message says which).
    """
    if not isinstance(bucket, str):
        raise InvalidInputError("bucket", "must be a string", "use the bucket's exact name")
    _check_bucket_cached(bucket)


@lru_cache(maxsize=1024)
def _check_bucket_cached(bucket: str) -> None:
    if not _BUCKET.fullmatch(bucket):
        raise InvalidInputError(
            "bucket",
            "must be 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit",
            "use the bucket's exact name",
        )
    if ".." in bucket or _IPV4_LIKE.fullmatch(bucket):
        raise InvalidInputError(
            "bucket", "must not contain '..' or look like an IP address", "use the bucket's exact name"
        )
    if bucket.startswith(_BUCKET_RESERVED_PREFIXES) or bucket.endswith(_BUCKET_RESERVED_SUFFIXES):
        raise InvalidInputError(
            "bucket",
            "uses a prefix or suffix S3 reserves for other bucket types",
            "use a general purpose bucket",
        )


def check_object_key(key: str) -> None:
    """Check an object key used in a URL: 1..1024 UTF-8 bytes, valid Unicode, no ``.``/``..`` segments.

    Dot segments are refused because browsers and HTTP clients rewrite them before sending, so the
    request would reach (and be signed for) another key.

    Raises:
        InvalidInputError: The key breaks a rule.
    """
    _encode_key(key)


def _encode_key(key: str) -> str:
    """Return the key percent-encoded for an S3 URL path (UTF-8, ``/`` and ``~`` kept), after checking it."""
    if not isinstance(key, str) or not key:
        raise InvalidInputError("key", "is empty", "pass the object key")
    try:
        encoded = encode_key_path(key)
    except UnicodeEncodeError:
        raise InvalidInputError(
            "key", "is not valid Unicode text (lone surrogate)", "build the key from decoded text"
        ) from None
    if len(key) > MAX_KEY_BYTES // 4 and len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidInputError(
            "key", f"is longer than {MAX_KEY_BYTES} UTF-8 bytes", "shorten the prefix or the file name"
        )
    if ("/." in key or key[0] == ".") and _DOT_SEGMENT.search(key):
        raise InvalidInputError(
            "key", "has a '.' or '..' path segment, which HTTP clients rewrite", "remove the dot segments"
        )
    return encoded


def encode_checked_key(key: str) -> str:
    """Return ``key`` percent-encoded as S3 signs it, after the checks :meth:`SigV4Signer.presign_put` makes.

    Raises:
        InvalidInputError: The key breaks a rule.
    """
    return _encode_key(key)


def _check_parts(upload_id: object, lengths: Sequence[int], checksums: Sequence[str] | None) -> None:
    """The checks presign_upload_part makes, for every part of a batch."""
    if not isinstance(upload_id, str) or not upload_id or len(upload_id) > 1024:
        raise InvalidInputError(
            "upload_id", "must be a non-empty string", "pass the UploadId from CreateMultipartUpload"
        )
    if not 1 <= len(lengths) <= MAX_PART_NUMBER:
        raise InvalidInputError(
            "part_number",
            f"must be an integer from 1 to {MAX_PART_NUMBER}",
            "use larger parts so that at most 10000 are needed",
        )
    if checksums is not None:
        if len(checksums) != len(lengths):
            raise InvalidInputError("checksums", "must give one checksum per part", "hash every part")
        for checksum in checksums:
            _check_base64("checksum_sha256", checksum, _SHA256_BYTES, "SHA-256")
    for length in lengths:
        _check_length("content_length", length)


def _check_key_text(name: str, key: object, max_bytes: int) -> None:
    """Check a key or prefix sent as a form field: non-empty valid Unicode within ``max_bytes``."""
    if not isinstance(key, str) or not key:
        raise InvalidInputError(name, "is empty", "pass a non-empty object key")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInputError(
            name, "is not valid Unicode text (lone surrogate)", "build the key from decoded text"
        ) from None
    if size > max_bytes:
        raise InvalidInputError(name, f"is longer than {max_bytes} UTF-8 bytes", "shorten it")
    if "${filename}" in key:
        raise InvalidInputError(
            name, "contains '${filename}'", "pass key_prefix to let the browser choose the file name"
        )


def _encode_value(value: str, name: str) -> str:
    try:
        return quote(value, safe=_UNRESERVED)
    except UnicodeEncodeError:
        raise InvalidInputError(name, "is not valid Unicode text", "pass decoded text") from None


def _check_expires(expires: object) -> None:
    if not isinstance(expires, int) or isinstance(expires, bool) or not 1 <= expires <= MAX_EXPIRES_SECONDS:
        raise InvalidInputError(
            "expires",
            f"must be a whole number of seconds from 1 to {MAX_EXPIRES_SECONDS} (7 days)",
            "ask for at most 7 days",
        )


def _check_length(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInputError(name, "must be a whole number of bytes, 0 or more", "pass the size in bytes")
    if value > MAX_UPLOAD_BYTES:
        raise InvalidInputError(
            name,
            f"exceeds {MAX_UPLOAD_BYTES} bytes (5 GiB), S3's limit for one request",
            "use a multipart upload for larger files",
        )


def _check_base64(name: str, value: object, size: int, algorithm: str) -> None:
    problem = f"must be the base64 encoding of a {size}-byte {algorithm} digest"
    if not isinstance(value, str):
        raise InvalidInputError(name, problem, f"pass base64({algorithm.lower()}(body))")
    import base64  # noqa: PLC0415 -- only for the checksum options

    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError(name, problem, f"pass base64({algorithm.lower()}(body))") from None
    if len(raw) != size or base64.b64encode(raw).decode("ascii") != value:
        raise InvalidInputError(name, problem, f"pass base64({algorithm.lower()}(body)), not hex")


def _check_header_value(name: str, value: object, *, allow_empty: bool = True) -> None:
    if value.__class__ is str and value.isascii() and value.isprintable() and (allow_empty or value):
        return  # printable ASCII: what the pattern below accepts
    if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value) or (not allow_empty and not value):
        raise InvalidInputError(
            name,
            "must be printable ASCII (no control characters or line breaks)",
            "encode other characters first",
        )


def _check_headers(headers: Mapping[str, str] | None) -> list[tuple[str, str]]:
    if not headers:
        return []
    checked: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower() if isinstance(name, str) else ""
        if not _TOKEN_HEADER.fullmatch(lower) and not (
            lower.startswith("x-amz-meta-") and _META_NAME.fullmatch(lower[11:])
        ):
            raise InvalidInputError("signed_headers", "has an invalid header name", "use token characters")
        if lower in _RESERVED_HEADERS or lower.startswith("x-amz-grant-"):
            raise InvalidInputError(
                "signed_headers", f"must not set {lower}", "the signer sets Host; ACL headers are refused"
            )
        if lower in checked:
            raise InvalidInputError("signed_headers", f"has {lower} twice", "give each header once")
        _check_header_value("signed_headers", value)
        checked[lower] = value
    return list(checked.items())


def _check_metadata(metadata: Mapping[str, str]) -> list[tuple[str, str]]:
    checked: list[tuple[str, str]] = []
    seen: set[str] = set()
    size = 0
    for name, value in metadata.items():
        known = _META_NAMES.get(name) if name.__class__ is str else None
        lower, header = _check_metadata_name(name) if known is None else known
        if lower in seen:
            raise InvalidInputError("metadata", "has a name twice (names are case-insensitive)", "merge them")
        seen.add(lower)
        _check_header_value("metadata", value)
        size += len(lower) + len(value)
        checked.append((header, value))
    if size > MAX_METADATA_BYTES:
        raise InvalidInputError(
            "metadata", f"is larger than {MAX_METADATA_BYTES} bytes in total", "send fewer or shorter entries"
        )
    return checked


def _check_metadata_name(name: object) -> tuple[str, str]:
    """Check a metadata name; return it lower-cased and its header name (plain ``str`` names are kept)."""
    lower = name.lower() if isinstance(name, str) else ""
    if not _META_NAME.fullmatch(lower) or lower.startswith("x-amz-meta-"):
        raise InvalidInputError(
            "metadata",
            "names must be letters, digits, '-', '_' and '.', without the x-amz-meta- prefix",
            "rename the entry",
        )
    checked = (lower, "x-amz-meta-" + lower)
    if name.__class__ is str:
        if len(_META_NAMES) >= _MAX_META_NAMES:
            _META_NAMES.clear()
        _META_NAMES[name] = checked
    return checked


def _check_form_field(name: object, value: object, form: Mapping[str, str]) -> None:
    if not isinstance(name, str) or not _META_NAME.fullmatch(name.lower()):
        raise InvalidInputError("fields", "has an invalid field name", "use letters, digits, '-', '_', '.'")
    lower = name.lower()
    if lower in _RESERVED_FORM_FIELDS or lower.startswith(("x-amz-grant-", "x-ignore-")):
        raise InvalidInputError("fields", f"must not set {lower}", "the signer sets it, or it is refused")
    if any(existing.lower() == lower for existing in form):
        raise InvalidInputError("fields", f"sets {lower} twice", "give it once (or through its own argument)")
    if not isinstance(value, str) or not _FORM_VALUE.fullmatch(value):
        raise InvalidInputError("fields", "values must be text without control characters", "fix the value")


def _body_headers(
    content_length: int | None,
    content_md5: str | None,
    checksum_sha256: str | None,
    *,
    sent: dict[str, str],
    names: list[str],
    values: list[str],
) -> None:
    """Check the body options and add their headers: display names to ``sent``, signed ones to the lists."""
    if content_length is not None:
        _check_length("content_length", content_length)
        length = sent["Content-Length"] = str(content_length)
        names.append("content-length")
        values.append(length)
    if content_md5 is not None:
        _check_base64("content_md5", content_md5, _MD5_BYTES, "MD5")
        sent["Content-MD5"] = content_md5
        names.append("content-md5")
        values.append(content_md5)
    if checksum_sha256 is not None:
        _check_base64("checksum_sha256", checksum_sha256, _SHA256_BYTES, "SHA-256")
        sent["x-amz-checksum-sha256"] = checksum_sha256
        names.append("x-amz-checksum-sha256")
        values.append(checksum_sha256)


def check_account_id(value: object, field: str = "expected_bucket_owner") -> str:
    """Return ``value`` if it is a 12-digit AWS account id.

    Raises:
        InvalidInputError: It is not.
    """
    if not isinstance(value, str) or not _ACCOUNT_ID.fullmatch(value):
        raise InvalidInputError(
            field, "is not a 12-digit AWS account id", "copy the bucket owner's account id, like 111122223333"
        )
    return value


def _owner_header(owner: str | None, sent: dict[str, str], names: list[str], values: list[str]) -> None:
    if owner is not None:
        sent["x-amz-expected-bucket-owner"] = check_account_id(owner)
        names.append("x-amz-expected-bucket-owner")
        values.append(owner)


def _size_conditions(min_bytes: int | None, max_bytes: int | None) -> list[object]:
    """Return ``[["content-length-range", min, max]]`` for a POST policy, or nothing without limits."""
    if min_bytes is None and max_bytes is None:
        return []
    low = 0 if min_bytes is None else min_bytes
    high = MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    _check_length("min_bytes", low)
    _check_length("max_bytes", high)
    if low > high:
        raise InvalidInputError("min_bytes", "is larger than max_bytes", "swap or fix the limits")
    return [["content-length-range", low, high]]


def _post_fields(
    content_type: str | None,
    server_side_encryption: str | None,
    sse_kms_key_id: str | None,
    metadata: Mapping[str, str] | None,
    fields: Mapping[str, str] | None,
) -> dict[str, str]:
    """Return the caller's POST form fields in order, checked (each becomes an exact-match condition)."""
    form: dict[str, str] = {}
    if content_type is not None:
        _check_header_value("content_type", content_type, allow_empty=False)
        form["Content-Type"] = content_type
    form.update(_encryption(server_side_encryption, sse_kms_key_id))
    if metadata:
        form.update(_check_metadata(metadata))
    if fields:
        for name, value in fields.items():
            _check_form_field(name, value, form)
            form[name] = value
    return form


def _encryption(mode: str | None, kms_key_id: str | None) -> list[tuple[str, str]]:
    if mode is None and kms_key_id is None:
        return []
    if mode is None:
        mode = "aws:kms"
    if mode not in _SERVER_SIDE_ENCRYPTION:
        raise InvalidInputError(
            "server_side_encryption", "must be 'AES256', 'aws:kms' or 'aws:kms:dsse'", "pick one of them"
        )
    headers = [("x-amz-server-side-encryption", mode)]
    if kms_key_id is not None:
        if mode == "AES256":
            raise InvalidInputError(
                "sse_kms_key_id", "needs server_side_encryption 'aws:kms'", "drop the key id or use aws:kms"
            )
        _check_header_value("sse_kms_key_id", kms_key_id, allow_empty=False)
        headers.append(("x-amz-server-side-encryption-aws-kms-key-id", kms_key_id))
    return headers


def _check_region(region: object) -> None:
    if not isinstance(region, str) or len(region) > 63 or not _REGION.fullmatch(region):
        raise InvalidInputError(
            "region", "must be a region name such as 'eu-west-1'", "use the bucket's region"
        )


def _dns_suffix(region: str) -> str:
    for pattern, suffix in _PARTITION_DNS_SUFFIXES:
        if pattern.fullmatch(region):
            return suffix
    return _DEFAULT_DNS_SUFFIX


def _is_ip(hostname: str) -> bool:
    import ipaddress  # noqa: PLC0415 -- only custom endpoints need it; keeps the cold start lean

    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


def _split_http(value: object, field: str, fix: str) -> SplitResult:
    """Split an http(s) URL with a host and no credentials; raise naming ``field`` otherwise."""
    if not isinstance(value, str):
        raise InvalidInputError(field, "must be a string", fix)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidInputError(field, "is not a valid URL", fix) from None
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(field, "must be an http or https URL with a host", fix)
    if parts.username is not None or parts.password is not None:
        raise InvalidInputError(field, "must not contain credentials", fix)
    return parts


def _split_endpoint(endpoint_url: object) -> SplitResult:
    fix = "use scheme://host[:port], for example http://127.0.0.1:4566"
    parts = _split_http(endpoint_url, "endpoint_url", fix)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidInputError("endpoint_url", "must not have a path, query or fragment", fix)
    if not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", parts.netloc):
        raise InvalidInputError("endpoint_url", "has invalid characters in its host", fix)
    return parts


def _split_url(url: object) -> SplitResult:
    fix = "pass scheme://host/percent-encoded-path and give query parameters through query"
    parts = _split_http(url, "url", fix)
    if parts.query or parts.fragment or "?" in parts.geturl() or "#" in parts.geturl():
        raise InvalidInputError("url", "must not have a query string or fragment", fix)
    if not _ENCODED_PATH.fullmatch(parts.path):
        raise InvalidInputError("url", "path must start with '/' and be percent-encoded", fix)
    return parts


def _host_header(parts: SplitResult) -> str:
    """Return the ``Host`` header an HTTP client sends: lower case, default port dropped, IPv6 bracketed."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{port}"
    return host


def _utc_stamp(now: object) -> tuple[datetime, str]:
    """Return ``now`` in UTC and its ``YYYYMMDDTHHMMSSZ`` form; ``now`` must be timezone-aware."""
    if not isinstance(now, datetime):
        raise InvalidInputError("now", "must be a timezone-aware datetime", "pass datetime.now(UTC)")
    if now.tzinfo is not UTC:
        if now.tzinfo is None or now.utcoffset() is None:
            raise InvalidInputError("now", "must be a timezone-aware datetime", "pass datetime.now(UTC)")
        now = now.astimezone(UTC)
    stamp = "%04d%02d%02dT%02d%02d%02dZ" % (  # noqa: UP031 -- measurably faster than f-string or strftime
        now.year,
        now.month,
        now.day,
        now.hour,
        now.minute,
        now.second,
    )
    return now, stamp


def _expires_at(utc_now: datetime, expires: int) -> datetime:
    """Return when a request signed at ``utc_now`` stops working: the signed second plus ``expires``."""
    return utc_now + timedelta(seconds=expires, microseconds=-utc_now.microsecond)
