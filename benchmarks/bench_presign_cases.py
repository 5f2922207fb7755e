"""Section 1's cases: one URL signed by byos, each cloud SDK and obstore, with the same inputs."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from benchmarks.bench_fixtures import Keys, boto3_client, botocore_frozen, google_frozen
from benchmarks.bench_inputs import (
    ACCESS_KEY_ID,
    ACCOUNT,
    ACCOUNT_KEY,
    BUCKET,
    CONTAINER,
    CONTENT_LENGTH,
    CONTENT_TYPE,
    EXPIRES,
    FILENAME,
    FROZEN_NOW,
    GCS_HEADERS,
    GCS_PROJECT,
    HMAC_ACCESS_ID,
    HMAC_SECRET,
    KEY,
    METADATA,
    REGION,
    SECRET_ACCESS_KEY,
    SINGLE_SIZE,
)
from benchmarks.bench_timing import Case


def presign_cases(keys: Keys) -> list[Case]:  # noqa: PLR0915 - one builder per case, read top to bottom
    """Every per-URL case, grouped by provider; byos first in each group."""
    from byos.config import destination_from_dict  # noqa: PLC0415
    from byos.planner import presign_upload  # noqa: PLC0415 - byos.presign_upload, what services call
    from byos.signing import goog4  # noqa: PLC0415
    from byos.signing.sas import BlobSasSigner  # noqa: PLC0415
    from byos.signing.sigv4 import S3Endpoint, SigV4Signer  # noqa: PLC0415

    signer = SigV4Signer(ACCESS_KEY_ID, SECRET_ACCESS_KEY, REGION)
    endpoint = S3Endpoint(REGION)

    def byos_put(now: datetime) -> str:
        return signer.presign_put(
            BUCKET,
            KEY,
            expires=EXPIRES,
            now=now,
            endpoint=endpoint,
            content_type=CONTENT_TYPE,
            content_length=CONTENT_LENGTH,
            if_none_match=True,
            metadata=METADATA,
        ).url

    def s3_byos() -> Callable[[], object]:
        return lambda: byos_put(datetime.now(UTC))

    def s3_library() -> Callable[[], object]:
        dest = destination_from_dict(
            {
                "provider": "s3",
                "bucket": BUCKET,
                "region": REGION,
                "access_key_id": ACCESS_KEY_ID,
                "secret_access_key": SECRET_ACCESS_KEY,
                "prefix": "imports/",
            },
            env=False,
        )
        return lambda: presign_upload(dest, FILENAME, content_type=CONTENT_TYPE, size=SINGLE_SIZE)

    def s3_request() -> Callable[[], object]:
        from byos import uploads  # noqa: PLC0415 - the request API under the plan

        dest = destination_from_dict(
            {
                "provider": "s3",
                "bucket": BUCKET,
                "region": REGION,
                "access_key_id": ACCESS_KEY_ID,
                "secret_access_key": SECRET_ACCESS_KEY,
                "prefix": "imports/",
            },
            env=False,
        )
        return lambda: uploads.presign_upload(
            dest, FILENAME, content_type=CONTENT_TYPE, content_length=SINGLE_SIZE
        )

    client = boto3_client()
    put_params = {
        "Bucket": BUCKET,
        "Key": KEY,
        "ContentType": CONTENT_TYPE,
        "ContentLength": CONTENT_LENGTH,
        "IfNoneMatch": "*",
        "Metadata": METADATA,
    }

    def s3_boto3() -> Callable[[], object]:
        return lambda: client.generate_presigned_url("put_object", Params=put_params, ExpiresIn=EXPIRES)

    def s3_boto3_same() -> bool:
        with botocore_frozen(FROZEN_NOW):
            theirs = client.generate_presigned_url("put_object", Params=put_params, ExpiresIn=EXPIRES)
        return bool(theirs == byos_put(FROZEN_NOW))

    def botocore_put() -> str:
        from botocore.auth import S3SigV4QueryAuth  # noqa: PLC0415
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415
        from botocore.credentials import Credentials  # noqa: PLC0415

        request = AWSRequest(method="PUT", url=object_url, headers=put_headers)
        S3SigV4QueryAuth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "s3", REGION, EXPIRES).add_auth(
            request
        )
        return str(request.url)

    object_url = endpoint.object_url(BUCKET, KEY)
    put_headers = {
        "Content-Type": CONTENT_TYPE,
        "Content-Length": str(CONTENT_LENGTH),
        "If-None-Match": "*",
        "x-amz-meta-original-filename": FILENAME,
    }

    def s3_botocore() -> Callable[[], object]:
        from botocore.auth import S3SigV4QueryAuth  # noqa: PLC0415
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415
        from botocore.credentials import Credentials  # noqa: PLC0415

        auth = S3SigV4QueryAuth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "s3", REGION, EXPIRES)

        def sign() -> str:
            request = AWSRequest(method="PUT", url=object_url, headers=put_headers)
            auth.add_auth(request)
            return str(request.url)

        return sign

    def s3_botocore_same() -> bool:
        with botocore_frozen(FROZEN_NOW):
            theirs = botocore_put()
        return theirs == byos_put(FROZEN_NOW)

    def s3_obstore() -> Callable[[], object]:
        import obstore  # noqa: PLC0415
        from obstore.store import S3Store  # noqa: PLC0415

        store = S3Store(
            BUCKET,
            region=REGION,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
            virtual_hosted_style_request=True,
        )
        lifetime = timedelta(seconds=EXPIRES)
        return lambda: obstore.sign(store, "PUT", KEY, lifetime)

    sas = BlobSasSigner(ACCOUNT, account_key=ACCOUNT_KEY)
    lifetime = timedelta(seconds=EXPIRES)

    def byos_sas(now: datetime) -> str:
        return sas.sign(CONTAINER, KEY, now=now, expires=lifetime).url

    def azure_byos() -> Callable[[], object]:
        return lambda: byos_sas(datetime.now(UTC))

    def azure_library() -> Callable[[], object]:
        if importlib.util.find_spec("byos.providers.azure") is None:
            raise LookupError("byos.providers.azure does not exist yet")
        dest = destination_from_dict(
            {
                "provider": "azure",
                "account_name": ACCOUNT,
                "container": CONTAINER,
                "account_key": ACCOUNT_KEY,
            },
            env=False,
        )
        # An Azure SAS signs no headers, so byos refuses content_length there: only the Content-Type.
        return lambda: presign_upload(dest, FILENAME, content_type=CONTENT_TYPE, size=SINGLE_SIZE)

    def sdk_sas(now: datetime, *, blob_client: bool = False) -> str:
        from azure.storage.blob import BlobClient, BlobSasPermissions, generate_blob_sas  # noqa: PLC0415

        token = generate_blob_sas(
            ACCOUNT,
            CONTAINER,
            KEY,
            account_key=ACCOUNT_KEY,
            permission=BlobSasPermissions(create=True),
            expiry=now + lifetime,
            start=now - timedelta(minutes=5),
            protocol="https",
        )
        if blob_client:
            return f"{BlobClient(f'https://{ACCOUNT}.blob.core.windows.net', CONTAINER, KEY).url}?{token}"
        return f"https://{ACCOUNT}.blob.core.windows.net/{CONTAINER}/{quote(KEY, safe='/~')}?{token}"

    def azure_sdk() -> Callable[[], object]:
        sdk_sas(FROZEN_NOW)  # import outside the timing
        return lambda: sdk_sas(datetime.now(UTC))

    def azure_sdk_client() -> Callable[[], object]:
        return lambda: sdk_sas(datetime.now(UTC), blob_client=True)

    def azure_obstore() -> Callable[[], object]:
        import obstore  # noqa: PLC0415
        from obstore.store import AzureStore  # noqa: PLC0415

        store = AzureStore(CONTAINER, account_name=ACCOUNT, account_key=ACCOUNT_KEY)
        return lambda: obstore.sign(store, "PUT", KEY, lifetime)

    rsa_signer = goog4.ServiceAccountSigner.from_service_account_file(keys.service_account_file)
    hmac_signer = goog4.HmacSigner(HMAC_ACCESS_ID, HMAC_SECRET)

    def byos_gcs(signer: goog4.Goog4Signer, now: datetime | None) -> str:
        return goog4.presign_url(
            signer, "PUT", BUCKET, KEY, signed_headers=GCS_HEADERS, expires=EXPIRES, now=now
        )

    def gcs_floor() -> Callable[[], object]:
        from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import padding  # noqa: PLC0415

        pad, digest = padding.PKCS1v15(), hashes.SHA256()
        return lambda: keys.rsa.sign(keys.rsa_message, pad, digest)

    def gcs_library() -> Callable[[], object]:
        if importlib.util.find_spec("byos.providers.gcs") is None:
            raise LookupError("byos.providers.gcs does not exist yet")
        dest = destination_from_dict(
            {
                "provider": "gcs",
                "bucket": BUCKET,
                "location": "EUROPE-WEST1",
                "service_account_file": str(keys.service_account_file),
            },
            env=False,
        )
        return lambda: presign_upload(dest, FILENAME, content_type=CONTENT_TYPE, size=SINGLE_SIZE)

    def gcs_library_hmac() -> Callable[[], object]:
        dest = destination_from_dict(
            {
                "provider": "gcs",
                "bucket": BUCKET,
                "location": "EUROPE-WEST1",
                "hmac_access_id": HMAC_ACCESS_ID,
                "hmac_secret": HMAC_SECRET,
            },
            env=False,
        )
        return lambda: presign_upload(dest, FILENAME, content_type=CONTENT_TYPE, size=SINGLE_SIZE)

    blob_cache: list[Any] = []

    def sdk_blob() -> Any:  # noqa: ANN401 - google-cloud-storage ships no types here
        if not blob_cache:
            from google.cloud import storage  # noqa: PLC0415
            from google.oauth2 import service_account  # noqa: PLC0415

            credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                str(keys.service_account_file)
            )
            gcs_client = storage.Client(project=GCS_PROJECT, credentials=credentials)
            blob_cache.append(gcs_client.bucket(BUCKET).blob(KEY))
        return blob_cache[0]

    def sdk_gcs() -> str:
        # A copy: the SDK adds a Host entry to the dict it is given.
        url: str = sdk_blob().generate_signed_url(
            version="v4", method="PUT", expiration=lifetime, headers=dict(GCS_HEADERS)
        )
        return url

    def gcs_sdk_same() -> bool:
        with google_frozen(FROZEN_NOW):
            theirs = sdk_gcs()
        return theirs == byos_gcs(rsa_signer, FROZEN_NOW)

    def gcs_obstore() -> Callable[[], object]:
        import obstore  # noqa: PLC0415
        from obstore.store import GCSStore  # noqa: PLC0415

        store = GCSStore(BUCKET, service_account_path=str(keys.service_account_file))
        return lambda: obstore.sign(store, "PUT", KEY, lifetime)

    def azure_sdk_same() -> bool:
        return sdk_sas(FROZEN_NOW) == byos_sas(FROZEN_NOW)

    return [
        Case("s3.byos", "S3", "byos SigV4Signer.presign_put", s3_byos, note="5 signed headers"),
        Case("s3.library", "S3", "byos presign_upload (library path)", s3_library, note="a one-request plan"),
        Case("s3.request", "S3", "byos uploads.presign_upload (one request)", s3_request, note="no plan"),
        Case("s3.boto3", "S3", "boto3 generate_presigned_url", s3_boto3, s3_boto3_same),
        Case("s3.botocore", "S3", "botocore S3SigV4QueryAuth", s3_botocore, s3_botocore_same),
        Case("s3.obstore", "S3", "obstore sign (S3Store)", s3_obstore, note="signs no headers"),
        Case("azure.byos", "Azure", "byos BlobSasSigner.sign", azure_byos),
        Case("azure.library", "Azure", "byos presign_upload (library path)", azure_library),
        Case("azure.sdk", "Azure", "generate_blob_sas + quote URL", azure_sdk, azure_sdk_same),
        Case("azure.sdk_client", "Azure", "generate_blob_sas + BlobClient.url", azure_sdk_client),
        Case("azure.obstore", "Azure", "obstore sign (AzureStore)", azure_obstore, note="sp=w, other sv"),
        Case("gcs.floor", "GCS", "one RSA-2048 PKCS1v15-SHA256 signature", gcs_floor, note="the floor"),
        Case("gcs.byos", "GCS", "byos presign_url, RSA key", lambda: lambda: byos_gcs(rsa_signer, None)),
        Case("gcs.library", "GCS", "byos presign_upload (library path)", gcs_library),
        Case("gcs.sdk", "GCS", "blob.generate_signed_url(version='v4')", lambda: sdk_gcs, gcs_sdk_same),
        Case("gcs.obstore", "GCS", "obstore sign (GCSStore)", gcs_obstore, note="signs no headers"),
        Case("gcs.hmac", "GCS", "byos presign_url, HMAC key", lambda: lambda: byos_gcs(hmac_signer, None)),
        Case("gcs.library_hmac", "GCS", "byos presign_upload, HMAC key (library path)", gcs_library_hmac),
    ]
