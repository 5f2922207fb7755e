"""GCS keyless signatures: OAuth access tokens of Google credentials and the IAM ``signBlob`` call."""

from __future__ import annotations

import base64
import binascii
import json
import time
from functools import partial
from typing import Any, Final
from urllib.parse import quote

from byos import http
from byos.bounded import SingleFlight, call_within
from byos.errors import CredentialsError, ProviderError, ProviderTimeoutError
from byos.providers import require

IAM_CREDENTIALS_ENDPOINT = "https://iamcredentials.googleapis.com"
"""Where ``signBlob`` is called; a module setting so tests (or a private gateway) can point it elsewhere."""
CLOUD_PLATFORM_SCOPE: Final = "https://www.googleapis.com/auth/cloud-platform"
SIGN_BLOB_TIMEOUT = 10.0
TOKEN_CREATOR_ROLE: Final = "roles/iam.serviceAccountTokenCreator"  # noqa: S105  (a role name)

_token_flights = SingleFlight()


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
