"""Google Cloud Storage: signing modes, write-only V4 signed uploads (PUT, POST form, resumable) and URLs.

Three ways to sign, chosen from the destination (first match wins):

1. ``hmac_access_id`` + ``hmac_secret``: ``GOOG4-HMAC-SHA256``, no SDK.
2. ``service_account_file``: the service account's RSA key (``GOOG4-RSA-SHA256``), parsed once, no SDK.
3. ``service_account_email``: keyless. Application Default Credentials (``byos[gcs]``) get a bearer token and
   the IAM Credentials API's ``signBlob`` signs as that service account (Cloud Run, GKE workload identity).
   The caller needs ``roles/iam.serviceAccountTokenCreator`` on it.

With none of them, the default credentials sign themselves when they are a service-account key, else through
``signBlob`` as their own service account; a user account cannot sign and is refused with the fix.

Signers are cached per destination settings: a key file is read once, not per URL.

Resumable uploads (large files): :func:`start_resumable` signs ``POST`` with ``x-goog-resumable: start``.
The browser sends that POST (empty body, the returned headers); Cloud Storage answers ``201`` with the session
URI in ``Location``; the browser then sends the file there with ``PUT`` in chunks (multiples of 256 KiB but
the last), each with ``Content-Range: bytes FIRST-LAST/TOTAL`` (``*`` for an unknown total), getting ``308``
until the last chunk (``200``/``201``). The session URI needs no signature, works for one week and writes
only that one object: treat it as a secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import quote, urlsplit

from byos import http
from byos.bounded import SingleFlight, call_within
from byos.endpoints import is_loopback_host
from byos.errors import (
    ConfigError,
    CredentialsError,
    InvalidInputError,
    MissingCredentialsError,
    ProviderError,
    ProviderTimeoutError,
)
from byos.models import UploadOptions, UploadRequest
from byos.option_types import destination_kind
from byos.providers import require
from byos.signing import goog4
from byos.uploads import Prepared, prepare

if TYPE_CHECKING:
    from byos.config import Destination, GCSDestination

NAME = "gcs"
DEFAULT_ENDPOINT: Final = goog4.DEFAULT_ENDPOINT
IAM_CREDENTIALS_ENDPOINT = "https://iamcredentials.googleapis.com"
"""Where ``signBlob`` is called; a module setting so tests (or a private gateway) can point it elsewhere."""
CLOUD_PLATFORM_SCOPE: Final = "https://www.googleapis.com/auth/cloud-platform"
MAX_OBJECT_BYTES: Final = 5 * 1024**4
SIGN_BLOB_TIMEOUT = 10.0
SERVER_CALL_EXPIRES: Final = 60
TOKEN_CREATOR_ROLE: Final = "roles/iam.serviceAccountTokenCreator"  # noqa: S105  (a role name)

SigningMode = Literal["hmac", "key", "signBlob"]

_CONTENT_TYPE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
# --- signing modes ---


@dataclass(frozen=True, slots=True)
class GcsSigning:
    """How a destination signs.

    Attributes:
        signer: The V4 signer (RSA key, signBlob or HMAC).
        mode: ``key`` (a service-account key), ``signBlob`` (keyless, IAM Credentials API) or ``hmac``.
        source: Where it came from: ``service_account_file``, ``service_account_email``, ``hmac key`` or
            ``default credentials``.
        credentials: The google-auth credentials behind ``signBlob`` or default credentials (else None);
            they also give the bearer token for JSON API calls.
    """

    signer: goog4.Goog4Signer
    mode: SigningMode
    source: str
    credentials: Any = field(default=None, repr=False)

    @property
    def client_id(self) -> str:
        """The service-account email or HMAC access id named in every URL."""
        return self.signer.client_id

    def describe(self) -> str:
        """One line for reports, e.g. ``keyless signBlob as x@p.iam.gserviceaccount.com``."""
        what = {
            "key": "service-account key",
            "signBlob": "keyless signBlob",
            "hmac": "HMAC key",
        }[self.mode]
        shown = self.client_id if self.mode != "hmac" else self.client_id[:10] + "…"
        return f"{what} as {shown} (from {self.source})"


_cache: dict[tuple[str, ...], GcsSigning] = {}
_cache_lock = threading.Lock()
_token_flights = SingleFlight()
_build_flights = SingleFlight()


def resolve_signing(destination: GCSDestination, *, timeout: float | None = None) -> GcsSigning:
    """Return the (cached) signing mode of ``destination``.

    ``timeout`` bounds finding the default credentials (which may ask a metadata server), in seconds;
    None gives :data:`SIGN_BLOB_TIMEOUT`.

    Raises:
        ConfigError: The key file is not a service-account key, or disagrees with service_account_email.
        CredentialsError: No usable credentials (or default credentials that cannot sign).
        MissingExtraError: Keyless signing or default credentials need ``byos[gcs]``.
    """
    if destination.hmac_access_id is not None and destination.hmac_secret is not None:
        access_id = destination.hmac_access_id
        secret = destination.hmac_secret.get_secret_value()
        return _cached(
            ("hmac", access_id, secret),
            lambda: GcsSigning(goog4.HmacSigner(access_id, secret), "hmac", "hmac key"),
        )
    if destination.service_account_file is not None:
        path = str(destination.service_account_file)
        signing = _cached(
            ("file", path),
            lambda: GcsSigning(
                goog4.ServiceAccountSigner.from_service_account_file(path), "key", "service_account_file"
            ),
        )
        email = destination.service_account_email
        if email is not None and email != signing.client_id:
            raise ConfigError(
                "service_account_email",
                f"differs from the key file's client_email {signing.client_id}",
                "remove one of service_account_email and service_account_file",
            )
        return signing
    refuse_service_identity(destination)
    if destination.service_account_email is not None:
        email = destination.service_account_email
        return _cached(("signBlob", email), lambda: _keyless(email, "service_account_email", timeout=timeout))
    return _cached(("default",), lambda: _from_default_credentials(timeout))


def refuse_service_identity(destination: GCSDestination) -> None:
    """Refuse the import service's own Google identity for a custom endpoint that is not Google's or loopback.

    Keyless signing and default credentials are the service's Application Default Credentials: their bearer
    token (and signatures made with them) go only to Google's own endpoints.

    Raises:
        CredentialsError: ``endpoint_url`` is the tenant's host.
    """
    if destination.endpoint_url is None:
        return
    host = (urlsplit(destination.endpoint_url).hostname or "").lower()
    if is_loopback_host(host) or host == "googleapis.com" or host.endswith(".googleapis.com"):
        return
    raise CredentialsError(
        f"endpoint_url: {host} is not a Google endpoint, and byos never presents the import service's own "
        "Google identity (keyless signBlob or default credentials) to it; set the destination's own "
        "hmac_access_id and hmac_secret, or service_account_file"
    )


def clear_signer_cache() -> None:
    """Forget cached signers (the next presign reads key files and default credentials again)."""
    with _cache_lock:
        _cache.clear()
    from byos import presigner_cache  # noqa: PLC0415  (compiled presigners hold signers too)

    presigner_cache.clear()


def _cached(key: tuple[str, ...], build: Callable[[], GcsSigning]) -> GcsSigning:
    with _cache_lock:
        found = _cache.get(key)
    if found is not None:
        return found
    # Built once per key (default credentials may call a metadata server), without one lock for all keys.
    with _build_flights.lock(key):
        with _cache_lock:
            found = _cache.get(key)
        if found is not None:
            return found
        built = build()
        with _cache_lock:
            return _cache.setdefault(key, built)


def _keyless(
    email: str,
    source: str,
    credentials: Any = None,  # noqa: ANN401  (google-auth is untyped)
    *,
    timeout: float | None = None,
) -> GcsSigning:
    creds = credentials if credentials is not None else _default_credentials(timeout=timeout)
    sign_bytes = partial(sign_blob, email, credentials=creds)
    return GcsSigning(goog4.SignBlobSigner(email, sign_bytes), "signBlob", source, creds)


def _from_default_credentials(timeout: float | None = None) -> GcsSigning:
    credentials = _default_credentials(timeout=timeout)
    service_account = require(
        "google.oauth2.service_account", feature="Google default credentials", extra="gcs"
    )
    if isinstance(credentials, service_account.Credentials):
        signer = goog4.SignBlobSigner(credentials.service_account_email, credentials.sign_bytes)
        return GcsSigning(signer, "key", "default credentials", credentials)
    email = getattr(credentials, "service_account_email", None)
    if email == "default":  # a metadata-server identity names itself once it has a token
        access_token(credentials, timeout=SIGN_BLOB_TIMEOUT if timeout is None else timeout)
        email = getattr(credentials, "service_account_email", None)
    if not isinstance(email, str) or "@" not in email:
        raise CredentialsError(
            "the default Google credentials are not a service account and cannot sign URLs; set "
            "service_account_email to a service account they may impersonate "
            f"({TOKEN_CREATOR_ROLE}), or service_account_file"
        )
    return _keyless(email, "default credentials", credentials)


def _default_credentials(*, timeout: float | None = None) -> Any:  # noqa: ANN401  (google-auth is untyped)
    google_auth = require("google.auth", feature="Google default credentials and signBlob", extra="gcs")
    exceptions = require("google.auth.exceptions", feature="Google default credentials", extra="gcs")
    try:
        credentials, _ = call_within(
            lambda: google_auth.default(scopes=[CLOUD_PLATFORM_SCOPE]),
            SIGN_BLOB_TIMEOUT if timeout is None else timeout,
            "finding the Google default credentials",
        )
    except exceptions.DefaultCredentialsError as exc:
        raise MissingCredentialsError("gcs") from exc
    except exceptions.GoogleAuthError as exc:
        raise CredentialsError(
            f"the Google default credentials could not be loaded ({type(exc).__name__}); "
            "check GOOGLE_APPLICATION_CREDENTIALS"
        ) from exc
    return credentials


def access_token(credentials: Any, *, timeout: float = SIGN_BLOB_TIMEOUT) -> str:  # noqa: ANN401
    """Return a valid OAuth access token of google-auth ``credentials``, refreshing it when needed.

    Raises:
        CredentialsError: The token could not be refreshed.
        ProviderTimeoutError: The token endpoint did not answer within ``timeout`` seconds.
    """
    transport = require("google.auth.transport.requests", feature="Google access tokens", extra="gcs")
    exceptions = require("google.auth.exceptions", feature="Google access tokens", extra="gcs")
    # One refresh per credentials at a time (never one lock for all), run where it can be abandoned: the
    # token endpoint's answer is read by google-auth, which byos cannot bound.
    flight = _token_flights.lock(id(credentials))
    if not flight.acquire(timeout=max(timeout, 0.1)):
        raise ProviderTimeoutError("another refresh of the Google access token did not finish in time")
    try:
        if not credentials.valid:
            request = transport.Request()
            try:
                call_within(
                    lambda: credentials.refresh(partial(request, timeout=timeout)),
                    timeout,
                    "the Google token endpoint",
                )
            except exceptions.GoogleAuthError as exc:
                raise CredentialsError(
                    f"the Google credentials could not get an access token ({type(exc).__name__}); run "
                    "`gcloud auth application-default login` or check the workload's service account"
                ) from exc
        token = credentials.token
    finally:
        flight.release()
    if not isinstance(token, str) or not token:
        raise CredentialsError("the Google credentials gave no access token; check the default credentials")
    return token


def sign_blob(
    email: str,
    message: bytes,
    *,
    credentials: Any,  # noqa: ANN401  (google-auth credentials)
    timeout: float | None = None,
) -> bytes:
    """Sign ``message`` as service account ``email`` with the IAM Credentials API's ``signBlob``.

    Calls ``POST {IAM_CREDENTIALS_ENDPOINT}/v1/projects/-/serviceAccounts/EMAIL:signBlob`` with a bearer token
    of ``credentials``. Returns the raw RSA-SHA256 signature.

    Raises:
        CredentialsError: The call was refused (the message names the fix) or could not be made.
        ProviderTimeoutError: The IAM Credentials API did not answer in time.
    """
    wait = SIGN_BLOB_TIMEOUT if timeout is None else timeout
    started = time.monotonic()
    token = access_token(credentials, timeout=wait)
    left = max(0.1, wait - (time.monotonic() - started))  # the token and the signature share one bound
    base = IAM_CREDENTIALS_ENDPOINT.rstrip("/")
    url = f"{base}/v1/projects/-/serviceAccounts/{quote(email, safe='@')}:signBlob"
    body = json.dumps({"payload": base64.b64encode(message).decode("ascii")}).encode("ascii")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        answer = http.send("POST", url, headers=headers, body=body, timeout=left)
    except ProviderTimeoutError as exc:
        raise ProviderTimeoutError(
            f"signBlob as {email}: the IAM Credentials API did not answer within {wait:g} s"
        ) from exc
    except ProviderError as exc:
        raise CredentialsError(
            f"signBlob as {email}: the IAM Credentials API could not be reached; allow HTTPS to "
            "iamcredentials.googleapis.com"
        ) from exc
    if answer.status != 200:
        raise CredentialsError(_sign_blob_refusal(email, answer))
    try:
        reply = json.loads(answer.body)
        return base64.b64decode(reply["signedBlob"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise CredentialsError(
            f"signBlob as {email}: the IAM Credentials API answered without a signature"
        ) from None


def _sign_blob_refusal(email: str, answer: http.Response) -> str:
    status, reason = _google_error(answer.body)
    label = f"HTTP {answer.status}" + (f" {status}" if status else "")
    if answer.status == 403 and reason == "SERVICE_DISABLED":
        return (
            f"service_account_email: signBlob as {email} was refused ({label}): the IAM Service Account "
            "Credentials API is disabled; enable iamcredentials.googleapis.com in the caller's project"
        )
    if answer.status == 403:
        return (
            f"service_account_email: signBlob as {email} was refused ({label}); grant the caller "
            f"{TOKEN_CREATOR_ROLE} on {email}"
        )
    if answer.status == 404:
        return f"service_account_email: {email} was not found ({label}); check the service account's email"
    if answer.status == 401:
        return (
            f"service_account_email: the access token was rejected ({label}); refresh the default "
            "credentials (`gcloud auth application-default login`) or check workload identity"
        )
    return f"service_account_email: signBlob as {email} failed ({label}); retry, or check the email"


def _google_error(body: bytes) -> tuple[str, str]:
    """Return ``(status, reason)`` of a Google API JSON error body (empty strings when absent)."""
    try:
        error = json.loads(body).get("error", {})
        status = str(error.get("status", ""))
        reasons = [str(d.get("reason", "")) for d in error.get("details", []) if isinstance(d, dict)]
        reasons += [str(e.get("reason", "")) for e in error.get("errors", []) if isinstance(e, dict)]
    except (ValueError, AttributeError, TypeError):
        return "", ""
    return status[:40], next((r for r in reasons if r), "")[:40]


# --- endpoints and server-side URLs ---


def _gcs(destination: Destination) -> GCSDestination:
    from byos.config import GCSDestination  # noqa: PLC0415  (config is heavier than this module needs at load)

    if not isinstance(destination, GCSDestination):
        raise InvalidInputError(
            "destination", f"is {destination_kind(destination)}", "pass a GCS destination"
        )
    return destination


def endpoint_of(destination: GCSDestination) -> str:
    """Return the destination's ``scheme://host[:port]`` (``https://storage.googleapis.com`` by default).

    Raises:
        ConfigError: ``endpoint_url`` has a path (Cloud Storage URLs are path style from the root).
    """
    endpoint = destination.endpoint_url or DEFAULT_ENDPOINT
    if urlsplit(endpoint).path not in ("", "/"):
        raise ConfigError("endpoint_url", "may not have a path for GCS", "give only scheme://host[:port]")
    return endpoint.rstrip("/")


def is_local(destination: GCSDestination) -> bool:
    """Whether the endpoint is a loopback test server (no Google authentication there)."""
    return is_loopback_host(urlsplit(endpoint_of(destination)).hostname or "")


def object_url(destination: GCSDestination, key: str) -> str:
    """The unsigned path-style URL of an object."""
    return f"{endpoint_of(destination)}/{destination.bucket}/{quote(key, safe='/~')}"


def bucket_url(destination: GCSDestination) -> str:
    """The unsigned path-style URL of the bucket (the XML API's listing)."""
    return f"{endpoint_of(destination)}/{destination.bucket}"


def presign_bucket_url(
    signing: GcsSigning,
    destination: GCSDestination,
    method: str,
    *,
    query: Mapping[str, str] | None = None,
    expires: int = SERVER_CALL_EXPIRES,
    now: datetime | None = None,
) -> str:
    """Return a V4 signed URL for a bucket-level XML API request (``GET /BUCKET?location``, a listing).

    Equal to google-cloud-storage's ``Bucket.generate_signed_url(version="v4")`` for the same inputs; only
    ``host`` is signed.
    """
    if method not in ("GET", "HEAD", "DELETE", "PUT", "POST"):
        raise InvalidInputError(
            "method", f"{method!r} is not supported", "use GET, HEAD, DELETE, PUT or POST"
        )
    if type(expires) is not int or not 1 <= expires <= goog4.MAX_EXPIRES:
        raise InvalidInputError("expires", f"{expires!r} is out of range", "use 1 to 604800 seconds")
    signer = signing.signer
    parts = urlsplit(endpoint_of(destination))
    default_port = 443 if parts.scheme == "https" else 80
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != default_port:
        host = f"{host}:{parts.port}"
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    timestamp = moment.strftime("%Y%m%dT%H%M%SZ")
    datestamp = timestamp[:8]
    scope = f"{datestamp}/auto/storage/goog4_request"
    pairs = [
        f"X-Goog-Algorithm={signer.algorithm}",
        f"X-Goog-Credential={quote(f'{signer.client_id}/{scope}', safe='~')}",
        f"X-Goog-Date={timestamp}",
        f"X-Goog-Expires={expires}",
        "X-Goog-SignedHeaders=host",
    ]
    pairs += [f"{quote(name, safe='~')}={quote(value, safe='~')}" for name, value in (query or {}).items()]
    canonical_query = "&".join(sorted(pairs))
    resource = f"/{destination.bucket}"
    canonical = "\n".join((method, resource, canonical_query, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    string_to_sign = f"{signer.algorithm}\n{timestamp}\n{scope}\n{digest}"
    signature = signer.sign(string_to_sign.encode("ascii"), datestamp).hex()
    return f"{parts.scheme}://{host}{resource}?{canonical_query}&X-Goog-Signature={signature}"


def presign_object_url(
    signing: GcsSigning,
    destination: GCSDestination,
    method: str,
    key: str,
    *,
    headers: Mapping[str, str] | None = None,
    expires: int = SERVER_CALL_EXPIRES,
    now: datetime | None = None,
) -> str:
    """Return a V4 signed URL for ``method`` on one object (the checker's read and delete attempts)."""
    return goog4.presign_url(
        signing.signer,
        method,
        destination.bucket,
        key,
        signed_headers=headers,
        expires=expires,
        now=now,
        endpoint=endpoint_of(destination),
    )


# --- presigned uploads ---


def presign_upload(destination: Destination, options: UploadOptions) -> UploadRequest:
    """Presign a PUT (default) or a browser form POST that writes exactly one new object.

    PUT signs every header the client must send: ``Content-Type`` (when given), ``Content-MD5`` (when
    given), ``x-goog-if-generation-match: 0`` unless ``overwrite`` (Cloud Storage answers 412 rather than
    replace an object), ``x-goog-content-length-range: MIN,MAX`` (from ``content_length``, ``min_bytes``,
    ``max_bytes`` or the destination's ``max_upload_bytes``) and ``x-goog-meta-*`` (the original file name
    first). POST (policy v4) pins the exact key, ``Content-Type``, the metadata and a
    ``content-length-range``; a form upload has no write-once condition on Cloud Storage, so it relies on
    the key's fresh UUID.

    Raises:
        InvalidInputError: A bad option (nothing is sent). ``checksum_sha256`` is refused: Cloud Storage's
            XML API has no SHA-256 header (use ``content_md5``).
        CredentialsError: No usable credentials, or signBlob was refused.
        MissingExtraError: Keyless signing or default credentials need ``byos[gcs]``.
    """
    gcs = _gcs(destination)
    _check_options(options)
    prepared = prepare(gcs, options)
    length = _length_range(options, prepared)
    endpoint = endpoint_of(gcs)
    if options.method == "POST":
        if options.content_md5 is not None:
            raise InvalidInputError(
                "content_md5", "a POST form cannot lock a checksum", "use method PUT with content_md5"
            )
        low, high = length or (0, MAX_OBJECT_BYTES)
        fields: dict[str, str] = {}
        if options.content_type is not None:
            fields["Content-Type"] = options.content_type
        fields.update({f"x-goog-meta-{name}": value for name, value in prepared.metadata.items()})
        signing = resolve_signing(gcs)
        url, form = goog4.presign_post(
            signing.signer,
            gcs.bucket,
            prepared.key,
            conditions=[goog4.content_length_range(low, high)],
            fields=fields,
            expires=prepared.seconds,
            now=prepared.now,
            endpoint=endpoint,
        )
        return UploadRequest(NAME, "POST", url, {}, form, prepared.key, prepared.expires_at)
    headers = _upload_headers(options, prepared, length, resumable=False)
    signing = resolve_signing(gcs)
    url = goog4.presign_url(
        signing.signer,
        "PUT",
        gcs.bucket,
        prepared.key,
        signed_headers=headers,
        expires=prepared.seconds,
        now=prepared.now,
        endpoint=endpoint,
    )
    return UploadRequest(NAME, "PUT", url, headers, {}, prepared.key, prepared.expires_at)


def start_resumable(destination: Destination, options: UploadOptions) -> UploadRequest:
    """Presign the start of a resumable upload: ``POST`` with ``x-goog-resumable: start``.

    The browser sends the returned request with an empty body and exactly the returned headers; Cloud Storage
    answers ``201 Created`` with the session URI in ``Location``. The browser then sends the file to
    that URI with ``PUT`` in chunks (multiples of 256 KiB but the last), each with
    ``Content-Range: bytes A-B/TOTAL``, and gets ``308`` until the upload is complete. Content type,
    metadata, the size range and write-once (``x-goog-if-generation-match: 0`` unless ``overwrite``) are
    fixed by the signed start.

    Raises:
        InvalidInputError: A bad option, ``content_md5`` (the start has no body to hash), or ``method`` other
            than PUT (nothing is sent).
        CredentialsError: No usable credentials, or signBlob was refused.
    """
    gcs = _gcs(destination)
    if options.method != "PUT":
        raise InvalidInputError("method", "a resumable upload signs its own POST", "leave method at PUT")
    if options.content_md5 is not None:
        raise InvalidInputError(
            "content_md5", "cannot be locked on a resumable upload", "use presign_upload for one PUT"
        )
    _check_options(options)
    prepared = prepare(gcs, options)
    headers = _upload_headers(options, prepared, _length_range(options, prepared), resumable=True)
    signing = resolve_signing(gcs)
    url = goog4.presign_url(
        signing.signer,
        "POST",
        gcs.bucket,
        prepared.key,
        signed_headers=headers,
        expires=prepared.seconds,
        now=prepared.now,
        endpoint=endpoint_of(gcs),
    )
    return UploadRequest(NAME, "POST", url, headers, {}, prepared.key, prepared.expires_at)


def _check_options(options: UploadOptions) -> None:
    """Refuse what Cloud Storage cannot enforce, naming the option."""
    if options.checksum_sha256 is not None:
        raise InvalidInputError(
            "checksum_sha256",
            "Cloud Storage's XML API has no SHA-256 checksum header",
            "pass content_md5 (base64 MD5) instead",
        )
    if options.content_type is not None and (
        not isinstance(options.content_type, str) or _CONTENT_TYPE.fullmatch(options.content_type) is None
    ):
        raise InvalidInputError(
            "content_type", "must be printable ASCII without line breaks", "pass a media type like text/csv"
        )
    if options.content_md5 is not None:
        try:
            digest = base64.b64decode(options.content_md5, validate=True)
        except (binascii.Error, ValueError, TypeError):
            digest = b""
        if len(digest) != 16:
            raise InvalidInputError(
                "content_md5", "is not a base64 MD5 digest", "pass base64 of the 16-byte MD5"
            )


def _length_range(options: UploadOptions, prepared: Prepared) -> tuple[int, int] | None:
    """The ``(min, max)`` size range to sign, or None when nothing limits the size."""
    if options.content_length is not None:
        if options.min_bytes is not None and options.content_length < options.min_bytes:
            raise InvalidInputError(
                "content_length", f"is below min_bytes ({options.min_bytes})", "fix the size limits"
            )
        if options.content_length > MAX_OBJECT_BYTES:
            raise InvalidInputError(
                "content_length", "is over 5 TiB", "Cloud Storage objects are at most 5 TiB"
            )
        return options.content_length, options.content_length
    if options.min_bytes is None and prepared.max_bytes is None:
        return None
    low = options.min_bytes or 0
    high = MAX_OBJECT_BYTES if prepared.max_bytes is None else min(prepared.max_bytes, MAX_OBJECT_BYTES)
    if low > high:
        raise InvalidInputError(
            "min_bytes", f"is above the size limit of {high} bytes", "fix the size limits"
        )
    return low, high


def _upload_headers(
    options: UploadOptions, prepared: Prepared, length: tuple[int, int] | None, *, resumable: bool
) -> dict[str, str]:
    """The headers the client sends, exactly as signed."""
    headers: dict[str, str] = {"x-goog-resumable": "start"} if resumable else {}
    if options.content_type is not None:
        headers["Content-Type"] = options.content_type
    if options.content_md5 is not None:
        headers["Content-MD5"] = options.content_md5
    if not options.overwrite:
        headers["x-goog-if-generation-match"] = "0"
    if length is not None:
        headers["x-goog-content-length-range"] = f"{length[0]},{length[1]}"
    for name, value in prepared.metadata.items():
        headers[f"x-goog-meta-{name}"] = value
    return headers
