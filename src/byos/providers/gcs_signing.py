"""GCS signing modes (HMAC key, service-account key, keyless signBlob), cached per destination."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from byos.bounded import SingleFlight, call_within
from byos.endpoints import is_loopback_host
from byos.errors import ConfigError, CredentialsError, MissingCredentialsError
from byos.providers import require
from byos.providers.gcs_sign_blob import (
    CLOUD_PLATFORM_SCOPE,
    SIGN_BLOB_TIMEOUT,
    TOKEN_CREATOR_ROLE,
    access_token,
    sign_blob,
)
from byos.signing import goog4

if TYPE_CHECKING:
    from byos.config import GCSDestination

SigningMode = Literal["hmac", "key", "signBlob"]


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
