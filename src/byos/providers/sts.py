"""AWS STS ``AssumeRole``, sent by byos itself (SigV4 header-signed, bounded) to the cloud's own STS.

The STS endpoint is never derived from a destination: it is the regional ``https://sts.REGION.amazonaws.com``
(the partition's own domain), or the deployment's ``BYOS_STS_ENDPOINT_URL`` (a private STS gateway, or a local
test server). That variable is read from the process environment only, never from a destination file or
``.env``, so a tenant cannot send the service's base keys to a host of its choosing.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from urllib.parse import urlencode

from byos import http
from byos.errors import CredentialsError, ProviderError, ProviderTimeoutError
from byos.signing.sigv4 import SigV4Signer

STS_ENDPOINT_ENV = "BYOS_STS_ENDPOINT_URL"
"""Deployment setting: where AssumeRole goes instead of the regional AWS STS endpoint."""
API_VERSION = "2011-06-15"
_PARTITION_SUFFIXES = (("cn-", "amazonaws.com.cn"), ("us-iso-", "c2s.ic.gov"), ("us-isob-", "sc2s.sgov.gov"))


def sts_endpoint(region: str) -> str:
    """The STS endpoint for ``region``: the deployment's override, else AWS's regional endpoint."""
    override = os.environ.get(STS_ENDPOINT_ENV, "").strip()
    if override:
        return override.rstrip("/")
    suffix = next((s for prefix, s in _PARTITION_SUFFIXES if region.startswith(prefix)), "amazonaws.com")
    return f"https://sts.{region}.{suffix}"


def assume_role_body(
    role_arn: str, session_name: str, duration_seconds: int, external_id: str | None
) -> bytes:
    """The form body of an AssumeRole call, as botocore's query serializer writes it."""
    form = {
        "Action": "AssumeRole",
        "Version": API_VERSION,
        "RoleArn": role_arn,
        "RoleSessionName": session_name,
        "DurationSeconds": str(duration_seconds),
    }
    if external_id is not None:
        form["ExternalId"] = external_id
    return urlencode(form).encode("ascii")


def assume_role(
    signer: SigV4Signer,
    *,
    role_arn: str,
    session_name: str,
    duration_seconds: int,
    external_id: str | None,
    region: str,
    timeout: float,
) -> tuple[str, str, str, datetime]:
    """Assume ``role_arn`` with the base credentials of ``signer`` (service ``sts``).

    Returns:
        ``(access_key_id, secret_access_key, session_token, expires_at)`` of the role's session.

    Raises:
        CredentialsError: STS refused (the message names the code and the fix) or answered nonsense.
        ProviderTimeoutError: STS did not answer in time.
    """
    body = assume_role_body(role_arn, session_name, duration_seconds, external_id)
    url, headers = signer.sign_request(
        "POST",
        sts_endpoint(region) + "/",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        body=body,
        now=datetime.now(UTC),
        content_sha256_header=False,
    )
    try:
        answer = http.send("POST", url, headers=headers, body=body, timeout=timeout)
    except ProviderTimeoutError:
        raise ProviderTimeoutError(
            f"role_arn: STS did not answer within {timeout:g} s; check the network path to STS"
        ) from None
    except ProviderError as exc:
        raise CredentialsError(f"role_arn: STS could not be reached ({exc})") from None
    if answer.status != 200:
        code = answer.error_code() or f"HTTP {answer.status}"
        raise CredentialsError(
            f"role_arn: assuming {role_arn} was refused ({code}); check the role's trust policy names this "
            "principal and the external id"
        )
    found = [http.xml_text(answer.body, tag) for tag in ("AccessKeyId", "SecretAccessKey", "SessionToken")]
    expiration = http.xml_text(answer.body, "Expiration")
    try:
        parsed = datetime.fromisoformat(expiration)
    except ValueError:
        expires_at = None
    else:
        expires_at = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    if not all(found) or expires_at is None:
        raise CredentialsError(f"role_arn: STS answered AssumeRole for {role_arn} without credentials")
    return found[0], found[1], found[2], expires_at
