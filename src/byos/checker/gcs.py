"""GCS checks: signing mode, bucket existence and location, least privilege, anonymous URLs, encryption.

Bucket metadata comes from the JSON API (``GET /storage/v1/b/BUCKET``) with a bearer token when the
credentials are google-auth ones (keyless signBlob, default credentials), anonymously on a loopback test
server, and otherwise (HMAC keys, key files) from the XML API with a signed ``GET /BUCKET?location``, so no
SDK is needed. A write-only uploader (``roles/storage.objectCreator``) may not read bucket metadata: the
location is then skipped with that reason. Least privilege is tried with signed URLs made by the uploader's
own signer, exactly what someone holding those credentials could do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from byos import http
from byos.checker.common import policy_hint
from byos.checker.outcome import Outcome, failed, passed, skipped, warned
from byos.config import GCSDestination
from byos.errors import CredentialsError
from byos.keys import KeyLayout
from byos.providers import gcs as provider

if TYPE_CHECKING:
    from byos.checker.context import CheckContext

BAD_SIGNATURE_CODES = frozenset(
    {
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "InvalidSecurity",
        "AuthenticationRequired",
        "MalformedSecurityHeader",
    }
)
GOOGLE_AT_REST = "Cloud Storage encrypts all data at rest with Google-managed keys"
_STATE_KEY = "gcs_bucket"


@dataclass(frozen=True, slots=True)
class BucketInfo:
    """What one metadata request told about the bucket.

    Attributes:
        status: HTTP status of the metadata request.
        location: The bucket's location as Cloud Storage names it (empty when not readable).
        kms_key: The default Cloud KMS key (None when none, or not readable).
        via: ``JSON API`` or ``XML API``.
        code: The XML error code, if any.
    """

    status: int
    location: str
    kms_key: str | None
    via: str
    code: str = ""

    @property
    def readable(self) -> bool:
        """Whether the metadata could be read."""
        return self.status == 200


def _dest(ctx: CheckContext) -> GCSDestination:
    assert isinstance(ctx.destination, GCSDestination)  # noqa: S101  (the runner picks this module by provider)
    return ctx.destination


def credentials(ctx: CheckContext) -> Outcome:
    """Find the signing mode and prove it: a real signBlob call, or a signed request Cloud Storage judges."""
    dest = _dest(ctx)
    signing = provider.resolve_signing(dest, timeout=ctx.call_timeout())
    ctx.state["credentials_expire_at"] = None  # keys and signBlob signatures do not expire before the URL
    if signing.mode == "signBlob":
        try:
            provider.sign_blob(
                signing.client_id,
                b"byos credentials check",
                credentials=signing.credentials,
                timeout=ctx.call_timeout(),
            )
        except CredentialsError as exc:
            return failed(
                str(exc),
                f"grant the identity running byos {provider.TOKEN_CREATOR_ROLE} on {signing.client_id}",
            )
        return passed(f"{signing.describe()}: the IAM Credentials API signed a test blob")
    if provider.is_local(dest):
        return passed(f"{signing.describe()} is ready (a local test server does not check signatures)")
    # Without google-auth credentials this is the XML metadata request bucket_exists makes anyway (cached).
    info = bucket_info(ctx) if signing.credentials is None else _xml_bucket(ctx, dest, signing)
    code = info.code
    if code in BAD_SIGNATURE_CODES:
        return failed(
            f"Cloud Storage rejected the signature of the {signing.describe()} ({code})",
            "check the key is active and belongs to this service account (or the HMAC secret matches the id)",
        )
    if info.status == 401:
        return failed(
            f"Cloud Storage refused the {signing.describe()} (HTTP 401)", "check the account is enabled"
        )
    return passed(f"Cloud Storage accepted the {signing.describe()}")


def bucket_exists(ctx: CheckContext) -> Outcome:
    """Read the bucket's metadata: 200 or 403 mean it exists, 404 that it does not."""
    dest = _dest(ctx)
    info = bucket_info(ctx)
    if info.status == 200:
        return passed(f"bucket {dest.bucket} exists (metadata read through the {info.via})")
    if info.status == 404:
        return failed(
            f"bucket {dest.bucket} does not exist (HTTP 404)",
            "create the bucket, or fix bucket (and endpoint_url) in the destination",
        )
    if info.status == 401 or info.code in BAD_SIGNATURE_CODES:
        return failed(
            f"Cloud Storage refused the credentials ({info.code or f'HTTP {info.status}'})",
            "fix the credentials in the destination",
        )
    if info.status == 403:
        return passed(
            f"bucket {dest.bucket} exists (reading its metadata was refused, as a write-only uploader's "
            "should be)"
        )
    return failed(
        f"bucket {dest.bucket} could not be reached (HTTP {info.status})",
        "check endpoint_url and the network",
    )


def bucket_region(ctx: CheckContext) -> Outcome:
    """The bucket's location must equal the configured ``location`` (case-insensitively)."""
    dest = _dest(ctx)
    info = bucket_info(ctx)
    if not info.location:
        if info.status == 403:
            return skipped(
                "the credentials may not read the bucket's metadata (roles/storage.objectCreator has no "
                "storage.buckets.get), so its location is unknown; compare it in the Cloud console"
            )
        return skipped(f"Cloud Storage did not name the bucket's location (HTTP {info.status})")
    ctx.state["bucket_region"] = info.location
    if info.location.upper() != dest.location.upper():
        return failed(
            f"bucket {dest.bucket} is in {info.location}, not in the configured {dest.location}; importers "
            "refuse cross-region uploads",
            f"set location = {info.location!r} in the destination (or use a bucket in {dest.location})",
        )
    return passed(f"bucket {dest.bucket} is in {info.location}, as configured")


def least_privilege(ctx: CheckContext) -> Outcome:
    """With the uploader's signer, reading, listing and deleting must all be refused.

    Deleting is tried on a key under the probe folder that was never written, so the probe stays for the
    other checks: Cloud Storage answers 404 to a permitted delete of a missing object and 403 to a refused
    one.
    """
    dest = _dest(ctx)
    signing = provider.resolve_signing(dest)
    key = _probe_key(ctx)
    absent = KeyLayout.from_destination(dest).probe_key()  # never written: deleting it harms nothing
    now = ctx.clock()
    listing: dict[str, str] = {"max-keys": "1"}
    if dest.prefix:
        listing["prefix"] = dest.prefix
    trials = (
        ("read", "GET", provider.presign_object_url(signing, dest, "GET", key, now=now)),
        ("list", "GET", provider.presign_bucket_url(signing, dest, "GET", query=listing, now=now)),
        ("delete", "DELETE", provider.presign_object_url(signing, dest, "DELETE", absent, now=now)),
    )
    allowed = []
    for name, method, url in trials:
        answer = ctx.send(method, url)
        missing = answer.status == 404 and name == "delete"  # permitted, and nothing was there to delete
        if 200 <= answer.status < 300 or missing or http.xml_text(answer.body, "Code") == "NoSuchKey":
            allowed.append(name)
    if allowed:
        return warned(
            f"the uploader's credentials can also {', '.join(allowed)}; the customer was promised write-only",
            "the uploader should hold only roles/storage.objectCreator, limited to the prefix; "
            + policy_hint("IAM policy"),
        )
    return passed("reading, listing and deleting with the uploader's credentials were refused")


def anonymous_urls(ctx: CheckContext) -> dict[str, str]:
    """The bucket listing and the probe object, without credentials."""
    dest = _dest(ctx)
    return {"list": provider.bucket_url(dest), "read": provider.object_url(dest, _probe_key(ctx))}


def encryption(ctx: CheckContext) -> Outcome:
    """The bucket's default Cloud KMS key when readable; Google encrypts at rest either way."""
    dest = _dest(ctx)
    info = bucket_info(ctx)
    kms_key = info.kms_key
    readable = info.readable
    if info.via == "XML API" and readable:
        signing = provider.resolve_signing(dest)
        url = provider.presign_bucket_url(
            signing, dest, "GET", query={"encryptionConfig": ""}, now=ctx.clock()
        )
        answer = ctx.send("GET", url)
        readable = answer.status in (200, 404) and http.xml_text(answer.body, "Code") != "NoSuchBucket"
        kms_key = http.xml_text(answer.body, "DefaultKmsKeyName") or None
    if not readable:
        return skipped(
            "the credentials may not read the bucket's settings (a write-only uploader should not); "
            f"{GOOGLE_AT_REST} regardless"
        )
    if kms_key:
        return passed(f"default encryption: customer-managed Cloud KMS key {kms_key}")
    return passed(f"no customer-managed default key; {GOOGLE_AT_REST}")


# --- plumbing ---


def bucket_info(ctx: CheckContext) -> BucketInfo:
    """Read the bucket's metadata once per run (cached in ``ctx.state``)."""
    cached = ctx.state.get(_STATE_KEY)
    if isinstance(cached, BucketInfo):
        return cached
    dest = _dest(ctx)
    signing = provider.resolve_signing(dest, timeout=ctx.call_timeout())
    if provider.is_local(dest) or signing.credentials is not None:
        info = _json_bucket(ctx, dest, signing)
    else:
        info = _xml_bucket(ctx, dest, signing)
    ctx.state[_STATE_KEY] = info
    return info


def _xml_bucket(ctx: CheckContext, dest: GCSDestination, signing: provider.GcsSigning) -> BucketInfo:
    url = provider.presign_bucket_url(signing, dest, "GET", query={"location": ""}, now=ctx.clock())
    answer = ctx.send("GET", url)
    location = http.xml_text(answer.body, "LocationConstraint") if answer.status == 200 else ""
    return BucketInfo(answer.status, location, None, "XML API", http.xml_text(answer.body, "Code"))


def _json_bucket(ctx: CheckContext, dest: GCSDestination, signing: provider.GcsSigning) -> BucketInfo:
    headers: dict[str, str] = {}
    if not provider.is_local(dest):
        token = provider.access_token(signing.credentials, timeout=ctx.call_timeout())
        headers["Authorization"] = f"Bearer {token}"
    url = f"{provider.endpoint_of(dest)}/storage/v1/b/{quote(dest.bucket, safe='')}"
    answer = ctx.send("GET", url, headers=headers)
    data = _json_object(answer) if answer.status == 200 else {}
    location = data.get("location")
    encryption_settings = data.get("encryption")
    kms_key = encryption_settings.get("defaultKmsKeyName") if isinstance(encryption_settings, dict) else None
    return BucketInfo(
        answer.status,
        location if isinstance(location, str) else "",
        kms_key if isinstance(kms_key, str) and kms_key else None,
        "JSON API",
    )


def _json_object(answer: http.Response) -> dict[str, Any]:
    try:
        data = json.loads(answer.body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _probe_key(ctx: CheckContext) -> str:
    dest = _dest(ctx)
    probe = ctx.state.get("probe")
    return probe.key if probe is not None else f"{dest.prefix}{dest.probe_prefix}absent.txt"
