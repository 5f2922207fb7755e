"""What the cases share: a run-time RSA service-account key, a boto3 client and frozen SDK clocks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks.bench_inputs import ACCESS_KEY_ID, GCS_EMAIL, GCS_PROJECT, REGION, SECRET_ACCESS_KEY


@dataclass
class Keys:
    """Run-time keys: an RSA service-account key (also written as a JSON key file)."""

    rsa: Any
    service_account_file: Path
    rsa_message: bytes


def make_keys(folder: Path) -> Keys:
    """Generate an RSA-2048 service-account key and write its JSON key file into ``folder``."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - timed sections import lazily
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    info = {
        "type": "service_account",
        "project_id": GCS_PROJECT,
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem,
        "client_email": GCS_EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path = folder / "service-account.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    path.chmod(0o600)
    # A string to sign of the size byos signs for the GCS case: the floor signs the same number of bytes.
    message = (
        "GOOG4-RSA-SHA256\n20260314T150926Z\n20260314/auto/storage/goog4_request\n" + "0123456789abcdef" * 4
    ).encode("ascii")
    return Keys(key, path, message)


def boto3_client() -> Any:  # noqa: ANN401 - boto3 ships no types
    """A boto3 S3 client signing SigV4 for the regional virtual-hosted endpoint, as byos does."""
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    return boto3.session.Session().client(
        "s3",
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
    )


@contextmanager
def botocore_frozen(now: datetime) -> Iterator[None]:
    """Make botocore sign at ``now``."""
    import botocore.auth  # noqa: PLC0415
    import botocore.signers  # noqa: PLC0415

    naive = now.astimezone(UTC).replace(tzinfo=None)
    with (
        mock.patch.object(botocore.auth, "get_current_datetime", return_value=naive),
        mock.patch.object(botocore.signers, "get_current_datetime", return_value=naive),
    ):
        yield


@contextmanager
def google_frozen(now: datetime) -> Iterator[None]:
    """Make google-cloud-storage sign at ``now`` (it reads ``_signing._NOW``)."""
    from google.cloud.storage import _signing  # noqa: PLC0415

    def fake_now(tz: Any = None) -> datetime:  # noqa: ANN401 - mirrors datetime.now's signature
        return now if tz is not None else now.replace(tzinfo=None)

    with mock.patch.object(_signing, "_NOW", fake_now):
        yield
