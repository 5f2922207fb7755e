"""S3 credentials (static keys, the default chain, an assumed role), cached, and the signers they give."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from byos.bounded import SingleFlight, call_within
from byos.endpoints import is_loopback_host
from byos.errors import CredentialsError, InvalidInputError, MissingCredentialsError, ProviderTimeoutError
from byos.log_redaction import remember
from byos.option_types import destination_kind
from byos.providers import require, sts
from byos.signing.sigv4 import S3Endpoint, SigV4Signer

if TYPE_CHECKING:
    from byos.config import Destination, S3Destination


NAME = "s3"
REFRESH_MARGIN = timedelta(minutes=5)
ROLE_DURATION_SECONDS = 3600
STS_TIMEOUT = 10.0
"""Seconds for each call to STS (or the credential chain's sources) when presigning; one retry."""


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    """A resolved set of AWS credentials.

    Attributes:
        access_key_id: The access key id (not secret: it appears in every URL).
        secret_access_key: The secret; never shown in ``repr``.
        session_token: The session token of temporary credentials; never shown.
        expires_at: When temporary credentials expire (None for long-term keys).
        source: Where they came from: ``static``, ``session``, ``profile``, ``chain`` or ``role``.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    source: str = "static"


_cache: dict[tuple[Any, ...], AwsCredentials] = {}
_cache_lock = threading.Lock()
_flights = SingleFlight()
AWS_ENDPOINT_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".amazonaws.eu")


def resolve_credentials(
    destination: S3Destination, *, now: datetime | None = None, timeout: float | None = None
) -> AwsCredentials:
    """Return the credentials ``destination`` signs with, refreshing temporary ones before they expire.

    A role is assumed at the cloud's own STS (see :mod:`byos.providers.sts`), never at ``endpoint_url``. The
    import service's own identity (the default chain or a profile, without the destination's own keys) is
    refused for a custom endpoint that is neither AWS's nor loopback. A refresh is single-flight: however many
    threads ask at once, one of them calls STS and the others get its answer.

    Args:
        destination: An S3 destination.
        now: The signing time (UTC now when None).
        timeout: Total seconds for the role assumption or the credential chain, tried once (the setup
            checker's bound); None gives :data:`STS_TIMEOUT` with one retry.

    Raises:
        CredentialsError: None found, the role cannot be assumed, or the service's own identity would be
            sent to a tenant's endpoint.
        ProviderTimeoutError: STS (or the chain's credential source) did not answer in time.
        MissingExtraError: A profile or the default chain needs ``byos[s3]``.
    """
    if destination.role_arn is None and destination.access_key_id is not None:
        assert destination.secret_access_key is not None  # noqa: S101  (config requires both together)
        token = destination.session_token.get_secret_value() if destination.session_token else None
        return AwsCredentials(
            destination.access_key_id,
            destination.secret_access_key.get_secret_value(),
            token,
            None,
            "session" if token else "static",
        )
    if destination.role_arn is None:
        refuse_service_identity(
            destination,
            "the AWS credential chain" + (f" (profile {destination.profile})" if destination.profile else ""),
        )
    cache_key = (
        destination.role_arn,
        destination.external_id,
        destination.role_session_name,
        destination.profile,
        destination.access_key_id,
        destination.region,
    )
    moment = now or datetime.now(UTC)
    cached = _fresh(cache_key, moment)
    if cached is not None:
        return cached
    wait = STS_TIMEOUT * 2 + 1 if timeout is None else max(timeout, 0.1)
    flight = _flights.lock(cache_key)
    started = time.monotonic()
    if not flight.acquire(timeout=wait):
        raise ProviderTimeoutError("another refresh of these AWS credentials did not finish in time")
    try:
        cached = _fresh(cache_key, moment)  # refreshed by the thread this one waited for
        if cached is not None:
            return cached
        left = None if timeout is None else max(0.1, timeout - (time.monotonic() - started))
        fresh = _assume_role(destination, left) if destination.role_arn else _from_chain(destination, left)
        with _cache_lock:
            _cache[cache_key] = fresh
        return fresh
    finally:
        flight.release()


def _fresh(cache_key: tuple[Any, ...], moment: datetime) -> AwsCredentials | None:
    with _cache_lock:
        cached = _cache.get(cache_key)
    if cached is not None and (cached.expires_at is None or cached.expires_at - moment > REFRESH_MARGIN):
        return cached
    return None


def refuse_service_identity(destination: S3Destination, what: str) -> None:
    """Refuse to present the import service's own AWS identity to a custom, non-AWS, non-loopback endpoint.

    Raises:
        CredentialsError: ``endpoint_url`` is the tenant's host.
    """
    if destination.endpoint_url is None:
        return
    host = (urlsplit(destination.endpoint_url).hostname or "").lower()
    if is_loopback_host(host) or host.endswith(AWS_ENDPOINT_SUFFIXES):
        return
    raise CredentialsError(
        f"endpoint_url: {host} is not an AWS endpoint, and byos never presents the import service's own "
        f"identity ({what}) to it; set the destination's own access_key_id and secret_access_key (with "
        "role_arn to assume its role at AWS STS)"
    )


def clear_credential_cache() -> None:
    """Forget cached temporary credentials (the next presign fetches new ones)."""
    with _cache_lock:
        _cache.clear()
    from byos import presigner_cache  # noqa: PLC0415  (compiled presigners hold signers too)

    presigner_cache.clear()


def _session(destination: S3Destination, timeout: float) -> Any:  # noqa: ANN401  (boto3 ships no types)
    boto3 = require("boto3", feature="AWS profiles and the default credential chain", extra="s3")
    botocore_session = require("botocore.session", feature="AWS profiles and the default chain", extra="s3")
    config = require("botocore.config", feature="AWS profiles and the default credential chain", extra="s3")
    try:
        core = botocore_session.get_session()
        # Bound what the chain itself may fetch (STS or SSO for a profile's role, instance metadata); the
        # whole fetch is abandoned at the deadline anyway.
        wait = max(timeout, 0.1)
        core.set_default_client_config(
            config.Config(connect_timeout=wait, read_timeout=wait, retries={"total_max_attempts": 1})
        )
        if timeout < 1:
            core.set_config_variable("metadata_service_timeout", wait)
        return boto3.session.Session(
            profile_name=destination.profile, region_name=destination.region, botocore_session=core
        )
    except Exception as exc:
        raise CredentialsError(
            f"profile: cannot be loaded ({type(exc).__name__}); check ~/.aws/config"
        ) from exc


def _from_chain(destination: S3Destination, timeout: float | None) -> AwsCredentials:
    """The default chain or a profile, in a worker abandoned after ``timeout`` (botocore cannot be cut)."""
    wait = STS_TIMEOUT if timeout is None else timeout
    return call_within(lambda: _chain_now(destination, wait), wait, "the AWS credential chain's source")


def _chain_now(destination: S3Destination, timeout: float) -> AwsCredentials:
    session = _session(destination, timeout)
    botocore_exceptions = require("botocore.exceptions", feature="the AWS credential chain", extra="s3")
    try:
        found = session.get_credentials()
        frozen = found.get_frozen_credentials() if found is not None else None
    except (botocore_exceptions.ConnectTimeoutError, botocore_exceptions.ReadTimeoutError) as exc:
        raise ProviderTimeoutError(
            f"the AWS credential chain's source did not answer in time ({type(exc).__name__})"
        ) from exc
    except Exception as exc:
        raise CredentialsError(
            f"the AWS credential chain failed ({type(exc).__name__}); check the profile"
        ) from exc
    if frozen is None or not frozen.access_key:
        raise MissingCredentialsError("s3")
    expiry = getattr(found, "_expiry_time", None)
    source = "profile" if destination.profile else "chain"
    return AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token, expiry, source)


def _assume_role(destination: S3Destination, timeout: float | None) -> AwsCredentials:
    """Assume the destination's role at STS with its own keys (or the service's chain as the base)."""
    assert destination.role_arn is not None  # noqa: S101  (callers check)
    started = time.monotonic()
    if destination.access_key_id is not None and destination.secret_access_key is not None:
        token = destination.session_token.get_secret_value() if destination.session_token else None
        base = AwsCredentials(
            destination.access_key_id, destination.secret_access_key.get_secret_value(), token
        )
    else:
        base = _from_chain(destination, timeout)
    signer = SigV4Signer(
        base.access_key_id, base.secret_access_key, destination.region, base.session_token, service="sts"
    )
    attempts = 2 if timeout is None else 1
    for attempt in range(attempts):
        left = STS_TIMEOUT if timeout is None else max(0.1, timeout - (time.monotonic() - started))
        try:
            key_id, secret, token, expires_at = sts.assume_role(
                signer,
                role_arn=destination.role_arn,
                session_name=destination.role_session_name,
                duration_seconds=ROLE_DURATION_SECONDS,
                external_id=destination.external_id,
                region=destination.region,
                timeout=left,
            )
        except ProviderTimeoutError:
            if attempt + 1 == attempts:
                raise
            continue
        return AwsCredentials(key_id, secret, token, expires_at, "role")
    raise AssertionError("unreachable")  # pragma: no cover


@lru_cache(maxsize=256)
def _signer(access_key_id: str, secret: str, token: str | None, region: str) -> SigV4Signer:
    remember(secret, token)  # credentials from a role or the chain, too: never in SDK logs
    return SigV4Signer(access_key_id, secret, region, session_token=token)


@lru_cache(maxsize=256)
def _endpoint(region: str, endpoint_url: str | None, addressing_style: str) -> S3Endpoint:
    return S3Endpoint(region, endpoint_url, addressing_style)  # type: ignore[arg-type]


def signer_for(destination: S3Destination, credentials: AwsCredentials) -> tuple[SigV4Signer, S3Endpoint]:
    """Return the (cached) signer and endpoint for ``destination`` and ``credentials``."""
    return (
        _signer(
            credentials.access_key_id,
            credentials.secret_access_key,
            credentials.session_token,
            destination.region,
        ),
        _endpoint(destination.region, destination.endpoint_url, destination.addressing_style),
    )


def owner_headers(destination: S3Destination) -> dict[str, str]:
    """``x-amz-expected-bucket-owner`` when the destination names the bucket's owner (sent and signed)."""
    owner = destination.expected_bucket_owner
    return {} if owner is None else {"x-amz-expected-bucket-owner": owner}


def s3_destination(destination: Destination) -> S3Destination:
    """Return ``destination`` as an S3 destination, or refuse it naming what it is."""
    from byos.config import S3Destination  # noqa: PLC0415  (config is heavier than this module needs at load)

    if not isinstance(destination, S3Destination):
        raise InvalidInputError(
            "destination", f"is {destination_kind(destination)}", "pass an S3 destination"
        )
    return destination
