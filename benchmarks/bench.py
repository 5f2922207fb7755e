"""Measure byos against the cloud SDKs and obstore in one run: presign cost, batch, cold start, checker.

Usage::

    .venv/bin/python benchmarks/bench.py            # full run, a few minutes
    .venv/bin/python benchmarks/bench.py --quick    # smoke run, under a minute (CI)

The process pins itself to one CPU (``--cpu``, default the last one it may use); every figure is the median
of several repeats, each a timeit-style loop timed with ``time.perf_counter_ns`` with the garbage collector
off; the thread's CPU time is recorded beside it. Repeats of the cases of one table run in turns (case A,
case B, …, then again), so load from other jobs falls on every case alike. Targets are printed as PASS or
MISS; nothing is asserted and the exit status is 0 whatever the figures. No presigned URL is ever printed.
See benchmarks/README.md for what each section measures and the latest figures.
"""

from __future__ import annotations

import argparse
import base64
import gc
import importlib.metadata
import importlib.util
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

from byos.models import Status, UploadRequest, redact_url

# --- inputs shared by every case (fake credentials: nothing is sent to a cloud) -----------------------------

ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key id
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105 - AWS's documented example secret
REGION = "eu-west-1"
BUCKET = "acme-imports"
KEY = "imports/raw/2026/11/22/0f8fad5b-d9cb-469f-a165-70867728950e/quarterly-report-q3.csv"
FILENAME = "Quarterly report Q3.csv"
CONTENT_TYPE = "text/csv"
CONTENT_LENGTH = 48_213_773
EXPIRES = 1800
METADATA = {"original-filename": FILENAME}
ACCOUNT = "acmeimports"
CONTAINER = "uploads"
ACCOUNT_KEY = base64.b64encode(bytes(range(64))).decode("ascii")
GCS_PROJECT = "acme-bench"
GCS_EMAIL = f"uploader@{GCS_PROJECT}.iam.gserviceaccount.com"
GCS_HEADERS = {
    "Content-Type": CONTENT_TYPE,
    "x-goog-if-generation-match": "0",
    "x-goog-meta-original-filename": FILENAME,
}
HMAC_ACCESS_ID = "GOOG1EBENCHACCESSID0123456789ABCDEFGHIJKLMNOPQRSTUVWXY"
HMAC_SECRET = "bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ"  # noqa: S105 - a made-up benchmark key
FROZEN_NOW = datetime(2026, 3, 14, 15, 9, 26, 535_897, tzinfo=UTC)
ORIGIN = "https://app.example.com"
MULTIPART_BYTES = 50 * 1024**3
SINGLE_SIZE = 5_000_000  # a file presign_upload sends in one request (S3 and GCS sign its exact size)
MULTIPART_PARTS = 10_000
UPLOAD_ID = "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA.exampleMultipartUploadId-0123456789"
SDK_ROOTS = ("boto3", "botocore", "s3transfer", "aiobotocore", "azure", "google", "obstore")

SECTION_PRESIGN = "== 1. Per-URL presign cost =="
SECTION_BATCH = "== 2. Batch: every part URL of a 50 GiB multipart upload (10,000 parts) =="
SECTION_COLD = "== 3. Cold start: a fresh interpreter that imports and presigns one URL =="
SECTION_CHECKER = "== 4. Setup checker fleet against a loopback storage stub (50 ms per request) =="
SECTION_TARGETS = "== Targets =="


@dataclass(frozen=True, slots=True)
class Plan:
    """How much to measure: the full run or the quick smoke run."""

    repeats: int
    min_loop_seconds: float
    batch_repeats: int
    sdk_batch_repeats: int
    cold_runs: int
    destinations: int
    serial_destinations: int
    concurrency: tuple[int, ...] = (16, 64, 256)


FULL = Plan(
    repeats=7,
    min_loop_seconds=0.2,
    batch_repeats=5,
    sdk_batch_repeats=3,
    cold_runs=7,
    destinations=1000,
    serial_destinations=30,
)
QUICK = Plan(
    repeats=3,
    min_loop_seconds=0.01,
    batch_repeats=2,
    sdk_batch_repeats=1,
    cold_runs=1,
    destinations=64,
    serial_destinations=2,
)


# --- printing ---------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """A measured figure, or why there is none.

    Attributes:
        value: The median (wall-clock seconds per call, or the figure itself), None when not measured.
        reason: Why there is no figure.
        same: Whether the URL equals byos's at a frozen clock (``yes``, ``NO`` or ``-``).
        samples: Per-round figures, in round order, so two cases measured in the same rounds pair up.
        cpu: Median CPU seconds per call of this thread (equals ``value`` when no other job shares the CPU).
    """

    value: float | None
    reason: str = ""
    same: str = "-"
    samples: list[float] = field(default_factory=list)
    cpu: float | None = None


@dataclass
class TargetLine:
    """One target: its wall-clock figure, whether it was met (None: not measured), the same by CPU time."""

    name: str
    figure: str
    met: bool | None
    cpu_figure: str = "-"
    cpu_met: bool | None = None


@dataclass
class Run:
    """Everything one run prints at the end."""

    targets: list[TargetLine] = field(default_factory=list)

    def target(
        self, name: str, figure: str, met: bool | None, cpu_figure: str = "-", cpu_met: bool | None = None
    ) -> None:
        """Record a target; printed in the Targets section."""
        self.targets.append(TargetLine(name, figure, met, cpu_figure, cpu_met))


def verdict(met: bool | None) -> str:
    """PASS, MISS or n/a."""
    return "n/a" if met is None else ("PASS" if met else "MISS")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a plain table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in (headers, *rows)) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = [str(cell).rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    print(line(headers))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))


def fmt_ratio(value: float) -> str:
    """Format a ratio: two decimals below 10, one above."""
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def ratio_line(
    comparison: str, numerator: tuple[str, Outcome], denominator: tuple[str, Outcome]
) -> float | None:
    """Print ``ratio <comparison>: <numerator> / <denominator> = Nx`` (or ``= n/a (why)``); return N."""
    (top_label, top), (bottom_label, bottom) = numerator, denominator
    text = f"ratio  {comparison}: {top_label} / {bottom_label} = "
    value = ratio_of(top, bottom)
    if value is None:
        missing = top if top.value is None else bottom
        print(text + f"n/a ({missing.reason or 'not measured'})")
        return None
    print(text + fmt_ratio(value))
    return value


def ratio_of(top: Outcome, bottom: Outcome) -> float | None:
    """``top / bottom``: the median of per-round ratios when both were measured in the same rounds."""
    if top.value is None or bottom.value is None or bottom.value <= 0:
        return None
    if top.samples and len(top.samples) == len(bottom.samples):
        return statistics.median(a / b for a, b in zip(top.samples, bottom.samples, strict=True))
    return top.value / bottom.value


def short_reason(exc: BaseException) -> str:
    """One line naming an exception, cut short and with any URL signature redacted."""
    text = redact_url(f"{type(exc).__name__}: {exc}".splitlines()[0])
    return text if len(text) <= 100 else text[:97] + "..."


def contention(outcomes: Iterable[Outcome]) -> str:
    """Say how much of the wall-clock time other jobs on the pinned CPU took (wall / CPU time)."""
    factors = [o.value / o.cpu for o in outcomes if o.value is not None and o.cpu]
    if not factors:
        return "contention: n/a"
    factor = statistics.median(factors)
    verdict = (
        "the CPU was free"
        if factor < 1.1
        else "other jobs shared the pinned CPU: wall-clock figures are inflated"
    )
    return f"contention: wall / CPU time = {factor:.2f} ({verdict})"


def us(outcome: Outcome) -> str:
    """Microseconds of a per-call figure, or ``n/a``."""
    return "n/a" if outcome.value is None else f"{outcome.value * 1e6:,.1f}"


# --- timing -----------------------------------------------------------------------------------------------


def pin_cpu(requested: int | None) -> tuple[int | None, set[int]]:
    """Pin this process to one CPU; return it and the other CPUs it may use."""
    if not hasattr(os, "sched_setaffinity"):
        return None, set()
    allowed = os.sched_getaffinity(0)
    cpu = requested if requested is not None else max(allowed)
    if cpu not in allowed:
        raise SystemExit(f"--cpu {cpu}: not one of the CPUs this process may use ({sorted(allowed)})")
    os.sched_setaffinity(0, {cpu})
    return cpu, allowed - {cpu}


@contextmanager
def gc_off() -> Iterator[None]:
    """Disable the garbage collector inside the block (after collecting once)."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def timed_loop(fn: Callable[[], object], number: int) -> tuple[int, int]:
    """Return the wall-clock and CPU nanoseconds ``number`` calls of ``fn`` take, the collector off."""
    loop = itertools.repeat(None, number)
    with gc_off():
        cpu = time.thread_time_ns()
        start = time.perf_counter_ns()
        for _ in loop:
            fn()
        wall = time.perf_counter_ns() - start
        return wall, time.thread_time_ns() - cpu


def calibrate(fn: Callable[[], object], min_seconds: float) -> int:
    """Return a loop count (1, 2, 5, 10, 20, …) whose loop takes at least ``min_seconds``, as timeit does."""
    scale = 1
    while True:
        for base in (1, 2, 5):
            if timed_loop(fn, base * scale)[0] >= min_seconds * 1e9:
                return base * scale
        scale *= 10


@dataclass
class Case:
    """One timed implementation.

    Attributes:
        id: Key of the case in the results.
        group: Provider shown in the table.
        label: What is timed.
        build: Returns the callable to time; raising means ``n/a`` with the exception as reason.
        same: Returns whether its URL equals byos's at a frozen clock (None: not comparable).
        note: Shown in the table's last column.
    """

    id: str
    group: str
    label: str
    build: Callable[[], Callable[[], object]]
    same: Callable[[], bool | None] | None = None
    note: str = ""


def measure(cases: Sequence[Case], plan: Plan) -> dict[str, Outcome]:
    """Time every case: calibrate each, then ``plan.repeats`` rounds in turn; median seconds per call."""
    runnable: list[tuple[Case, Callable[[], object], int]] = []
    results: dict[str, Outcome] = {}
    for case in cases:
        try:
            fn = case.build()
            fn()
            number = calibrate(fn, plan.min_loop_seconds)
        except Exception as exc:  # noqa: BLE001 - a case that cannot run is reported as n/a
            results[case.id] = Outcome(None, short_reason(exc))
            continue
        runnable.append((case, fn, number))
        results[case.id] = Outcome(None)
    cpu: dict[str, list[float]] = {case.id: [] for case, _, _ in runnable}
    for _ in range(plan.repeats):
        for case, fn, number in runnable:
            wall_ns, cpu_ns = timed_loop(fn, number)
            results[case.id].samples.append(wall_ns / number / 1e9)
            cpu[case.id].append(cpu_ns / number / 1e9)
    for case, _, _ in runnable:
        results[case.id].value = statistics.median(results[case.id].samples)
        results[case.id].cpu = statistics.median(cpu[case.id])
    for case in cases:
        if case.same is not None:
            try:
                same = case.same()
            except Exception as exc:  # noqa: BLE001 - the comparison is informative only
                results[case.id].same = f"? ({type(exc).__name__})"
            else:
                results[case.id].same = "-" if same is None else ("yes" if same else "NO")
    return results


# --- fixtures: keys, clients, frozen clocks ----------------------------------------------------------------


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


# --- 1. per-URL presign cost -------------------------------------------------------------------------------


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


def section_presign(run: Run, plan: Plan, keys: Keys) -> None:  # noqa: PLR0915 - one table, its ratios, targets
    """Section 1: the cost of one URL, byos against each SDK and obstore."""
    print(SECTION_PRESIGN)
    cases = presign_cases(keys)
    results = measure(cases, plan)
    baselines = {"S3": "s3.byos", "Azure": "azure.byos", "GCS": "gcs.byos"}
    rows = []
    for case in cases:
        outcome = results[case.id]
        base = results[baselines[case.group]]
        relative = (
            fmt_ratio(outcome.value / base.value)
            if outcome.value is not None and base.value is not None
            else "n/a"
        )
        note = case.note if outcome.value is not None else f"n/a: {outcome.reason}"[:80]
        cpu = "n/a" if outcome.cpu is None else f"{outcome.cpu * 1e6:,.1f}"
        rows.append([f"{case.group:<6}{case.label}", us(outcome), cpu, relative, outcome.same, note])
    table(["case", "us/URL", "CPU us", "x byos", "same URL", "note"], rows)
    print(
        f"(medians of {plan.repeats} rounds; 'us/URL' wall clock, 'CPU us' this thread's CPU time;"
        " 'x byos': paired per-round ratio to byos's signer; 'same URL': equal to byos's at a frozen clock)"
    )
    print(contention(results.values()))
    print()

    def pick(case_id: str, label: str) -> tuple[str, Outcome]:
        return label, results[case_id]

    ratio_line("S3 vs boto3", pick("s3.boto3", "boto3"), pick("s3.byos", "byos presign_put"))
    ratio_line("S3 vs botocore", pick("s3.botocore", "S3SigV4QueryAuth"), pick("s3.byos", "byos presign_put"))
    library_boto3 = ratio_line(
        "S3 library path vs boto3", pick("s3.boto3", "boto3"), pick("s3.library", "byos presign_upload")
    )
    ratio_line("S3 vs obstore", pick("s3.obstore", "obstore"), pick("s3.byos", "byos presign_put"))
    ratio_line("Azure vs SDK", pick("azure.sdk", "generate_blob_sas+URL"), pick("azure.byos", "byos sign"))
    ratio_line("Azure vs obstore", pick("azure.obstore", "obstore"), pick("azure.byos", "byos sign"))
    ratio_line("GCS RSA vs SDK", pick("gcs.sdk", "generate_signed_url"), pick("gcs.byos", "byos RSA"))
    ratio_line(
        "GCS RSA vs one RSA signature", pick("gcs.byos", "byos RSA"), pick("gcs.floor", "RSA signature")
    )
    ratio_line("GCS RSA vs obstore", pick("gcs.obstore", "obstore"), pick("gcs.byos", "byos RSA"))
    ratio_line("GCS HMAC vs S3", pick("gcs.hmac", "byos GCS HMAC"), pick("s3.byos", "byos S3 presign_put"))
    ratio_line(
        "S3 library path vs signer", pick("s3.library", "presign_upload"), pick("s3.byos", "presign_put")
    )
    ratio_line(
        "S3 library path vs obstore", pick("s3.library", "presign_upload"), pick("s3.obstore", "obstore")
    )
    ratio_line("S3 signer vs obstore", pick("s3.byos", "presign_put"), pick("s3.obstore", "obstore"))
    ratio_line(
        "S3 request path vs signer",
        pick("s3.request", "uploads.presign_upload"),
        pick("s3.byos", "presign_put"),
    )
    ratio_line(
        "Azure library path vs signer", pick("azure.library", "presign_upload"), pick("azure.byos", "sign")
    )
    ratio_line(
        "Azure library path vs obstore",
        pick("azure.library", "presign_upload"),
        pick("azure.obstore", "obstore"),
    )
    ratio_line(
        "GCS RSA library path vs one RSA signature",
        pick("gcs.library", "presign_upload"),
        pick("gcs.floor", "RSA signature"),
    )
    print()

    if library_boto3 is not None:
        print(f"(library path presign_upload is {fmt_ratio(library_boto3)} faster than boto3; no target)")
        print()

    def at_most(name: str, case_id: str, limit: float) -> None:
        outcome = results[case_id]
        wall, cpu = outcome.value, outcome.cpu
        run.target(
            name,
            fig_us(wall),
            None if wall is None else wall <= limit,
            fig_us(cpu),
            None if cpu is None else cpu <= limit,
        )

    def ratio_target(name: str, top: str, bottom: str, ok: Callable[[float], bool]) -> None:
        wall = ratio_of(results[top], results[bottom])
        top_cpu, bottom_cpu = results[top].cpu, results[bottom].cpu
        cpu = top_cpu / bottom_cpu if top_cpu and bottom_cpu else None
        run.target(
            name,
            fig_x(wall),
            None if wall is None else ok(wall),
            fig_x(cpu),
            None if cpu is None else ok(cpu),
        )

    at_most("S3 presign_put <= 25 us per URL", "s3.byos", 25e-6)
    ratio_target("S3 >= 10x faster than boto3", "s3.boto3", "s3.byos", lambda x: x >= 10)
    at_most("Azure sign <= 15 us per URL", "azure.byos", 15e-6)
    ratio_target("Azure >= 2.5x faster than the SDK", "azure.sdk", "azure.byos", lambda x: x >= 2.5)
    ratio_target("GCS RSA <= 1.1x one RSA signature", "gcs.byos", "gcs.floor", lambda x: x <= 1.1)
    at_most("GCS HMAC <= 25 us per URL", "gcs.hmac", 25e-6)
    # The path users call (presign_upload) against the bare signers and obstore, measured in the same rounds.
    ratio_target("S3 signer <= 1.0x obstore", "s3.byos", "s3.obstore", lambda x: x <= 1.0)
    ratio_target("S3 presign_upload <= 1.3x signer", "s3.library", "s3.byos", lambda x: x <= 1.3)
    ratio_target("S3 presign_upload <= 1.0x obstore", "s3.library", "s3.obstore", lambda x: x <= 1.0)
    ratio_target("Azure presign_upload <= 1.3x signer", "azure.library", "azure.byos", lambda x: x <= 1.3)
    ratio_target("Azure presign_upload <= 2x obstore", "azure.library", "azure.obstore", lambda x: x <= 2.0)
    at_most("GCS HMAC presign_upload <= 25 us per URL", "gcs.library_hmac", 25e-6)
    ratio_target(
        "GCS RSA presign_upload <= 1.05x one RSA signature", "gcs.library", "gcs.floor", lambda x: x <= 1.05
    )


def fig_us(seconds: float | None) -> str:
    """Seconds as microseconds for the targets table."""
    return "n/a" if seconds is None else f"{seconds * 1e6:.1f} us"


def fig_x(value: float | None) -> str:
    """A ratio for the targets table."""
    return "n/a" if value is None else fmt_ratio(value)


# --- 2. batch of part URLs ---------------------------------------------------------------------------------


def section_batch(run: Run, plan: Plan) -> None:
    """Section 2: every part URL of a 50 GiB multipart upload, byos's start_multipart loop against boto3."""
    from byos.presigner_cache import part_requests  # noqa: PLC0415
    from byos.providers.s3 import plan_parts  # noqa: PLC0415
    from byos.signing.sigv4 import S3Endpoint, SigV4Signer  # noqa: PLC0415

    print(SECTION_BATCH)
    part_size, count = plan_parts(MULTIPART_BYTES, -(-MULTIPART_BYTES // MULTIPART_PARTS))
    signer = SigV4Signer(ACCESS_KEY_ID, SECRET_ACCESS_KEY, REGION)
    endpoint = S3Endpoint(REGION)
    client = boto3_client()

    def lengths() -> Iterator[tuple[int, int]]:
        for number in range(1, count + 1):
            yield number, min(part_size, MULTIPART_BYTES - (number - 1) * part_size)

    sizes = [length for _, length in lengths()]

    def byos_parts() -> list[UploadRequest]:
        # What byos.providers.s3.start_multipart does once S3 created the upload: every part URL at once.
        parts = signer.presign_parts(
            BUCKET,
            KEY,
            upload_id=UPLOAD_ID,
            lengths=sizes,
            expires=EXPIRES,
            now=datetime.now(UTC),
            endpoint=endpoint,
        )
        return part_requests("s3", parts, KEY)

    def boto3_parts() -> list[str]:
        return [
            client.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": BUCKET,
                    "Key": KEY,
                    "PartNumber": number,
                    "UploadId": UPLOAD_ID,
                    "ContentLength": length,
                },
                ExpiresIn=EXPIRES,
            )
            for number, length in lengths()
        ]

    first = byos_parts()
    with botocore_frozen(FROZEN_NOW):
        same = (
            client.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": BUCKET,
                    "Key": KEY,
                    "PartNumber": 1,
                    "UploadId": UPLOAD_ID,
                    "ContentLength": part_size,
                },
                ExpiresIn=EXPIRES,
            )
            == signer.presign_upload_part(
                BUCKET,
                KEY,
                upload_id=UPLOAD_ID,
                part_number=1,
                expires=EXPIRES,
                now=FROZEN_NOW,
                endpoint=endpoint,
                content_length=part_size,
            ).url
        )
    wall: dict[str, list[float]] = {"byos": [], "boto3": []}
    cpu: dict[str, list[float]] = {"byos": [], "boto3": []}
    for index in range(max(plan.batch_repeats, plan.sdk_batch_repeats)):
        for name, fn, runs in (
            ("byos", byos_parts, plan.batch_repeats),
            ("boto3", boto3_parts, plan.sdk_batch_repeats),
        ):
            if index < runs:
                wall_ns, cpu_ns = timed_loop(fn, 1)
                wall[name].append(wall_ns / 1e9)
                cpu[name].append(cpu_ns / 1e9)
    byos = Outcome(
        statistics.median(wall["byos"]), same="yes" if same else "NO", cpu=statistics.median(cpu["byos"])
    )
    boto3 = Outcome(statistics.median(wall["boto3"]), cpu=statistics.median(cpu["boto3"]))
    print(f"{count:,} parts of {part_size:,} bytes (last {first[-1].headers['Content-Length']} bytes)")
    rows = []
    for label, outcome, runs in (
        ("byos presign_parts (start_multipart's)", byos, plan.batch_repeats),
        ("boto3 generate_presigned_url('upload_part')", boto3, plan.sdk_batch_repeats),
    ):
        assert outcome.value is not None  # noqa: S101 - both were measured above
        assert outcome.cpu is not None  # noqa: S101 - measured with the wall time
        rows.append(
            [
                label,
                f"{outcome.value * 1000:,.0f}",
                f"{outcome.cpu * 1000:,.0f}",
                f"{outcome.value / count * 1e6:.1f}",
                f"{count / outcome.value:,.0f}",
                str(runs),
                outcome.same,
            ]
        )
    table(["implementation", "ms total", "CPU ms", "us/part", "parts/s", "runs", "same URL"], rows)
    print(contention([byos, boto3]))
    print()
    ratio_line("S3 10,000 parts vs boto3", ("boto3", boto3), ("byos", byos))
    print()
    plan_outcome = measure_plan(plan)
    figure = (
        "n/a (" + plan_outcome.reason + ")"
        if plan_outcome.value is None
        else f"{plan_outcome.value * 1000:.0f} ms"
    )
    print(f"byos.presign_upload plan, 10,000 parts (S3): {figure}")
    print(
        f"(median of {plan.batch_repeats}; includes CreateMultipartUpload on a loopback stub that answers at"
        " once, and the complete and abort requests)"
    )
    print()
    run.target(
        "plan of 10,000 parts <= 100 ms",
        "n/a" if plan_outcome.value is None else f"{plan_outcome.value * 1000:.0f} ms",
        None if plan_outcome.value is None else plan_outcome.value <= 0.100,
        "n/a" if plan_outcome.cpu is None else f"{plan_outcome.cpu * 1000:.0f} ms",
        None if plan_outcome.cpu is None else plan_outcome.cpu <= 0.100,
    )
    run.target(
        "10,000 part URLs <= 100 ms",
        "n/a" if byos.value is None else f"{byos.value * 1000:.0f} ms",
        None if byos.value is None else byos.value <= 0.100,
        "n/a" if byos.cpu is None else f"{byos.cpu * 1000:.0f} ms",
        None if byos.cpu is None else byos.cpu <= 0.100,
    )


PLAN_BYTES = 10_000 * 8 * 1024**2  # 10,000 parts of byos's default 8 MiB


def measure_plan(plan: Plan) -> Outcome:
    """Time byos.presign_upload for a 10,000-part S3 upload, CreateMultipartUpload served by the stub."""
    bench_fleet: Any = importlib.import_module("bench_fleet")
    from byos.planner import presign_upload  # noqa: PLC0415

    wall: list[float] = []
    cpu: list[float] = []
    try:
        with bench_fleet.storage_stub(0.0, set()) as endpoint:
            destination = bench_fleet.destinations(endpoint, 1)[0]
            first = presign_upload(destination, FILENAME, size=PLAN_BYTES, content_type=CONTENT_TYPE)
            if len(first.parts) != MULTIPART_PARTS:
                return Outcome(None, f"the plan has {len(first.parts)} parts, not {MULTIPART_PARTS}")
            for _ in range(plan.batch_repeats):
                wall_ns, cpu_ns = timed_loop(
                    lambda: presign_upload(destination, FILENAME, size=PLAN_BYTES, content_type=CONTENT_TYPE),
                    1,
                )
                wall.append(wall_ns / 1e9)
                cpu.append(cpu_ns / 1e9)
    except Exception as exc:  # noqa: BLE001 - reported as n/a
        return Outcome(None, short_reason(exc))
    return Outcome(statistics.median(wall), cpu=statistics.median(cpu))


# --- 3. cold start -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cold:
    """One cold-start command: a ``python -c`` program and what it stands for."""

    id: str
    label: str
    code: str
    reports_sdk_modules: bool = False


def cold_commands(keys: Keys) -> list[Cold]:
    """The programs a fresh interpreter runs: nothing, byos per provider, each SDK."""
    sdk_check = (
        "\nimport sys as _s\n"
        f"print('SDK-MODULES=' + ','.join(sorted(m for m in _s.modules if m.split('.')[0] in {SDK_ROOTS!r})))"
    )
    key_file = str(keys.service_account_file)
    cli_config = keys.service_account_file.with_name("s3-cli.toml")
    cli_config.write_text(
        f'provider = "s3"\nbucket = "{BUCKET}"\nregion = "{REGION}"\nprefix = "imports/"\n'
        f'access_key_id = "{ACCESS_KEY_ID}"\nsecret_access_key = "{SECRET_ACCESS_KEY}"\n',
        encoding="utf-8",
    )
    cli_argv = ["byos", "presign", "--config", str(cli_config), "--filename", FILENAME, "--json"]
    s3_settings = {
        "provider": "s3",
        "bucket": BUCKET,
        "region": REGION,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
    }
    put = (
        f"presign_put({BUCKET!r}, {KEY!r}, expires={EXPIRES}, now=datetime.now(UTC),"
        f" content_type={CONTENT_TYPE!r}, content_length={CONTENT_LENGTH}, if_none_match=True,"
        f" metadata={METADATA!r})"
    )
    return [
        Cold("bare", "python -c pass", "pass"),
        Cold(
            "byos.s3",
            "byos S3 (SigV4Signer.presign_put)",
            "import byos\n"
            "from datetime import UTC, datetime\n"
            "from byos.signing.sigv4 import SigV4Signer\n"
            f"SigV4Signer({ACCESS_KEY_ID!r}, {SECRET_ACCESS_KEY!r}, {REGION!r}).{put}" + sdk_check,
            reports_sdk_modules=True,
        ),
        Cold(
            "byos.s3.library",
            "byos S3 (config + presign_upload)",
            "from byos.config import destination_from_dict\n"
            "from byos.uploads import presign_upload\n"
            f"dest = destination_from_dict({s3_settings!r}, env=False)\n"
            f"presign_upload(dest, {FILENAME!r}, content_type={CONTENT_TYPE!r},"
            f" content_length={CONTENT_LENGTH})" + sdk_check,
            reports_sdk_modules=True,
        ),
        Cold(
            "byos.cli",
            "byos presign --config FILE --filename NAME --json",
            # What the byos console script runs; the JSON (a bearer URL) goes to /dev/null.
            "import os, sys\n"
            f"sys.argv = {cli_argv!r}\n"
            "sys.stdout = open(os.devnull, 'w')\n"
            "from byos.cli import main\n"
            "sys.exit(main())",
        ),
        Cold(
            "byos.azure",
            "byos Azure (BlobSasSigner.sign, account key)",
            "import byos\n"
            "from datetime import UTC, datetime, timedelta\n"
            "from byos.signing.sas import BlobSasSigner\n"
            f"BlobSasSigner({ACCOUNT!r}, account_key={ACCOUNT_KEY!r}).sign({CONTAINER!r}, {KEY!r},"
            f" now=datetime.now(UTC), expires=timedelta(seconds={EXPIRES}))" + sdk_check,
            reports_sdk_modules=True,
        ),
        Cold(
            "byos.gcs",
            "byos GCS (presign_url, key file)",
            "import byos\n"
            "from byos.signing.goog4 import ServiceAccountSigner, presign_url\n"
            f"signer = ServiceAccountSigner.from_service_account_file({key_file!r})\n"
            f"presign_url(signer, 'PUT', {BUCKET!r}, {KEY!r}, signed_headers={GCS_HEADERS!r},"
            f" expires={EXPIRES})" + sdk_check,
            reports_sdk_modules=True,
        ),
        Cold(
            "sdk.s3",
            "boto3 generate_presigned_url",
            "import boto3\n"
            f"client = boto3.client('s3', region_name={REGION!r}, aws_access_key_id={ACCESS_KEY_ID!r},"
            f" aws_secret_access_key={SECRET_ACCESS_KEY!r})\n"
            f"client.generate_presigned_url('put_object', Params={{'Bucket': {BUCKET!r}, 'Key': {KEY!r},"
            f" 'ContentType': {CONTENT_TYPE!r}, 'IfNoneMatch': '*'}}, ExpiresIn={EXPIRES})",
        ),
        Cold(
            "sdk.azure",
            "azure-storage-blob generate_blob_sas",
            "from datetime import UTC, datetime, timedelta\n"
            "from urllib.parse import quote\n"
            "from azure.storage.blob import BlobSasPermissions, generate_blob_sas\n"
            "now = datetime.now(UTC)\n"
            f"sas = generate_blob_sas({ACCOUNT!r}, {CONTAINER!r}, {KEY!r}, account_key={ACCOUNT_KEY!r},"
            f" permission=BlobSasPermissions(create=True), expiry=now + timedelta(seconds={EXPIRES}),"
            " start=now - timedelta(minutes=5), protocol='https')\n"
            f"url = 'https://{ACCOUNT}.blob.core.windows.net/{CONTAINER}/'"
            f" + quote({KEY!r}, safe='/~') + '?' + sas",
        ),
        Cold(
            "sdk.gcs",
            "google-cloud-storage generate_signed_url",
            "from datetime import timedelta\n"
            "from google.cloud import storage\n"
            "from google.oauth2 import service_account\n"
            f"credentials = service_account.Credentials.from_service_account_file({key_file!r})\n"
            f"client = storage.Client(project={GCS_PROJECT!r}, credentials=credentials)\n"
            f"client.bucket({BUCKET!r}).blob({KEY!r}).generate_signed_url(version='v4', method='PUT',"
            f" expiration=timedelta(seconds={EXPIRES}), headers={GCS_HEADERS!r})",
        ),
    ]


@dataclass
class ColdResult:
    """Wall and CPU seconds and peak RSS (MiB) of each run of one command, and the SDK modules it listed."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    sdk_modules: list[str] | None = None
    error: str = ""


def run_cold(command: Cold, folder: Path, env: dict[str, str], result: ColdResult) -> None:
    """Run one fresh interpreter; add its wall time and peak RSS to ``result``."""
    time_tool = shutil.which("time", path="/usr/bin")
    program = command.code
    rss_file = folder / "rss.txt"
    if time_tool is None:
        # Peak RSS of this process image only (VmHWM), read just before exit.
        program += (
            "\nfor _l in open('/proc/self/status'):\n"
            "    if _l.startswith('VmHWM:'): print('VMHWM-KIB=' + _l.split()[1])"
        )
        argv = [sys.executable, "-c", program]
    else:
        argv = [time_tool, "-f", "%M", "-o", str(rss_file), sys.executable, "-c", program]
    out_file, err_file = folder / "stdout.txt", folder / "stderr.txt"
    with out_file.open("wb") as out, err_file.open("wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        # wait4 gives the CPU time of the child and its own children (the interpreter under /usr/bin/time).
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        lines = err_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        result.error = (lines or [f"exit status {child.returncode}"])[-1][:100]
        return
    rss_kib: int | None = None
    for line in out_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("SDK-MODULES="):
            names = line.removeprefix("SDK-MODULES=")
            result.sdk_modules = names.split(",") if names else []
        elif line.startswith("VMHWM-KIB="):
            rss_kib = int(line.removeprefix("VMHWM-KIB="))
    if time_tool is not None:
        rss_kib = int(rss_file.read_text(encoding="ascii").split()[-1])
    assert rss_kib is not None  # noqa: S101 - one of the two ways always reports it
    result.wall.append(wall)
    result.cpu.append(usage.ru_utime + usage.ru_stime)
    result.rss.append(rss_kib / 1024)


def section_cold(run: Run, plan: Plan, keys: Keys, folder: Path) -> None:
    """Section 3: wall time and peak RSS of a fresh interpreter that imports and presigns one URL."""
    print(SECTION_COLD)
    commands = cold_commands(keys)
    # Compiled bytecode, as an installed application has it, for byos and the SDKs alike: the children
    # write it once (warm-up) into a cache outside the source tree, even where PYTHONDONTWRITEBYTECODE is set.
    pycache = Path(tempfile.gettempdir()) / "byos-bench-pycache"
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        {
            "PYTHONPYCACHEPREFIX": str(pycache),
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    results = {command.id: ColdResult() for command in commands}
    for command in commands:  # warm-up: bytecode caches and the page cache
        run_cold(command, folder, env, ColdResult())
    for _ in range(plan.cold_runs):
        for command in commands:
            if not results[command.id].error:
                run_cold(command, folder, env, results[command.id])
    method = "/usr/bin/time %M" if shutil.which("time", path="/usr/bin") else "VmHWM of the child"
    print(
        f"{plan.cold_runs} runs each after a warm-up, medians; peak RSS by {method}; bytecode cache {pycache}"
    )
    bare = results["bare"]
    bare_wall, bare_cpu, bare_rss = (statistics.median(v) for v in (bare.wall, bare.cpu, bare.rss))
    extra: dict[str, tuple[Outcome, Outcome]] = {}
    rows = []
    for command in commands:
        result = results[command.id]
        if result.error or not result.wall:
            extra[command.id] = (Outcome(None, result.error), Outcome(None, result.error))
            rows.append([command.label, "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"])
            continue
        wall, cpu, rss = (statistics.median(v) for v in (result.wall, result.cpu, result.rss))
        extra[command.id] = (Outcome(wall - bare_wall, cpu=cpu - bare_cpu), Outcome(rss - bare_rss))
        rows.append(
            [
                command.label,
                f"{wall * 1000:.1f}",
                f"{(wall - bare_wall) * 1000:+.1f}",
                f"{cpu * 1000:.1f}",
                f"{(cpu - bare_cpu) * 1000:+.1f}",
                f"{rss:.1f}",
                f"{rss - bare_rss:+.1f}",
            ]
        )
    table(["command", "wall ms", "extra ms", "CPU ms", "extra CPU ms", "peak RSS MiB", "extra MiB"], rows)
    for command in commands:
        if results[command.id].error:
            print(f"n/a: {command.label}: {results[command.id].error}")
    print()
    for command in commands:
        modules = results[command.id].sdk_modules
        if command.reports_sdk_modules and modules is not None:
            verdict = "OK" if not modules else "NOT EMPTY"
            print(f"cloud SDK modules in sys.modules after {command.label}: {modules} {verdict}")
    print()
    for provider, byos_id, sdk_id in (
        ("S3", "byos.s3", "sdk.s3"),
        ("Azure", "byos.azure", "sdk.azure"),
        ("GCS", "byos.gcs", "sdk.gcs"),
    ):
        ratio_line(
            f"cold {provider} time vs SDK",
            ("SDK extra ms", extra[sdk_id][0]),
            ("byos extra ms", extra[byos_id][0]),
        )
        ratio_line(
            f"cold {provider} memory vs SDK",
            ("SDK extra MiB", extra[sdk_id][1]),
            ("byos extra MiB", extra[byos_id][1]),
        )
    print()
    cold_targets(run, extra)
    sdk_free = [results[i].sdk_modules for i in ("byos.s3", "byos.azure")]
    run.target(
        "no cloud SDK module loaded by byos S3/Azure",
        "none" if sdk_free == [[], []] else str(sdk_free),
        None if None in sdk_free else sdk_free == [[], []],
    )


def cold_targets(run: Run, extra: dict[str, tuple[Outcome, Outcome]]) -> None:
    """Record the cold-start targets: extra time (and memory) over ``python -c pass``."""
    for provider, byos_id, limit_ms in (
        ("S3", "byos.s3", 25),
        ("Azure", "byos.azure", 40),
        ("CLI presign --json", "byos.cli", 80),
    ):
        ms, mib = extra[byos_id]
        what = "start" if provider.startswith("CLI") else "import + first URL"
        run.target(
            f"cold {provider}: {what} <= +{limit_ms} ms",
            "n/a" if ms.value is None else f"{ms.value * 1000:+.1f} ms",
            None if ms.value is None else ms.value <= limit_ms / 1000,
            "n/a" if ms.cpu is None else f"{ms.cpu * 1000:+.1f} ms",
            None if ms.cpu is None else ms.cpu <= limit_ms / 1000,
        )
        if provider.startswith("CLI"):
            continue
        run.target(
            f"cold {provider}: import + first URL <= +5 MiB",
            "n/a" if mib.value is None else f"{mib.value:+.1f} MiB",
            None if mib.value is None else mib.value <= 5.0,
        )


# --- 4. setup checker fleet ----------------------------------------------------------------------------

STUB_LATENCY = 0.05
FLEET_SPEEDUP_AT = 64
FLEET_SPEEDUP_TARGET = 40.0


def summarize(reports: Sequence[Any]) -> str:
    """Count check statuses over reports: ``pass 9 warn 2 skip 1 fail 0``."""
    counts = dict.fromkeys(Status, 0)
    for report in reports:
        for check in report.checks:
            counts[check.status] += 1
    return " ".join(f"{status.value} {counts[status]}" for status in Status)


def not_passed(reports: Sequence[Any]) -> list[str]:
    """One line per check id that failed somewhere: its count and first message."""
    seen: dict[str, tuple[int, str]] = {}
    for report in reports:
        for check in report.checks:
            if check.status is Status.FAIL:
                count, message = seen.get(check.id, (0, check.message))
                seen[check.id] = (count + 1, message)
    return [
        f"fail {check_id} ({count} of {len(reports)}): {redact_url(message)[:110]}"
        for check_id, (count, message) in sorted(seen.items())
    ]


def section_checker(run: Run, plan: Plan, cpus: set[int]) -> None:
    """Section 4: check_fleet on many destinations served by a stub that answers after 50 ms."""
    bench_fleet: Any = importlib.import_module("bench_fleet")  # the fleet's parts, next to this script

    print(SECTION_CHECKER)
    with bench_fleet.storage_stub(STUB_LATENCY, cpus) as endpoint:
        fleet = bench_fleet.destinations(endpoint, plan.destinations)
        serial = bench_fleet.run_fleet(fleet[: plan.serial_destinations], 1)
        runs = [bench_fleet.run_fleet(fleet, concurrency) for concurrency in plan.concurrency]
    per_destination = serial.seconds / serial.destinations
    at_one = Outcome(per_destination * plan.destinations)
    print(
        f"stub: asyncio, one process on CPU(s) {sorted(cpus) or 'any'}, {STUB_LATENCY * 1000:.0f} ms before"
        f" every answer; {plan.destinations} S3 destinations, each its own bucket; byos checks in threads"
    )
    rows = [
        [
            "1",
            f"{serial.destinations}",
            f"{serial.seconds:.2f}",
            f"{at_one.value:.1f} (x{plan.destinations / serial.destinations:.0f})",
            f"{serial.destinations / serial.seconds:.1f}",
            "1.0x",
            f"{serial.cpu_seconds:.2f}",
            f"{serial.rss_peak - serial.rss_before:+.1f}",
            summarize(serial.reports),
        ]
    ]
    speedups: dict[int, Outcome] = {}
    for fleet_run in runs:
        speedup = at_one.value / fleet_run.seconds if at_one.value else 0.0
        speedups[fleet_run.concurrency] = Outcome(fleet_run.seconds)
        rows.append(
            [
                str(fleet_run.concurrency),
                str(fleet_run.destinations),
                f"{fleet_run.seconds:.2f}",
                f"{fleet_run.seconds:.1f}",
                f"{fleet_run.destinations / fleet_run.seconds:.1f}",
                fmt_ratio(speedup),
                f"{fleet_run.cpu_seconds:.2f}",
                f"{fleet_run.rss_peak - fleet_run.rss_before:+.1f}",
                summarize(fleet_run.reports),
            ]
        )
    table(
        [
            "concurrency",
            "checked",
            "seconds",
            f"s for {plan.destinations}",
            "destinations/s",
            "speed-up",
            "CPU s",
            "peak MiB",
            "check statuses",
        ],
        rows,
    )
    print(
        f"(concurrency 1 checks {serial.destinations} destinations one after another; its time for"
        f" {plan.destinations} is that x{plan.destinations / serial.destinations:.0f}. 'peak MiB': resident"
        " memory above the run's start, sampled every 20 ms; 'CPU s': this process's CPU time)"
    )
    for line in not_passed([serial.reports[0], *[r for fleet_run in runs for r in fleet_run.reports]]):
        print("  " + line)
    if runs:
        cpu_per_destination = runs[-1].cpu_seconds / runs[-1].destinations
        print(
            f"(CPU per destination {cpu_per_destination * 1000:.1f} ms: one CPU checks at most"
            f" {1 / cpu_per_destination:.0f} destinations/s whatever the concurrency; the GIL keeps the"
            " threads on one core)"
        )
    print()
    for concurrency, outcome in speedups.items():
        ratio_line(
            f"fleet concurrency {concurrency} vs 1",
            (f"seconds at 1 for {plan.destinations}", at_one),
            (f"seconds at {concurrency}", outcome),
        )
    print()
    at_target = speedups.get(FLEET_SPEEDUP_AT)
    value = ratio_of(at_one, at_target) if at_target is not None else None
    run.target(
        f"fleet: concurrency {FLEET_SPEEDUP_AT} >= {FLEET_SPEEDUP_TARGET:.0f}x concurrency 1",
        fig_x(value),
        None if value is None else value >= FLEET_SPEEDUP_TARGET,
    )


# --- main -----------------------------------------------------------------------------------------------


def versions() -> str:
    """Versions of the packages compared."""
    names = (
        "boto3",
        "botocore",
        "azure-storage-blob",
        "google-cloud-storage",
        "cryptography",
        "obstore",
        "moto",
    )
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every section and print the tables, ratios and targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats and 64 fleet destinations (CI smoke run)"
    )
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the last allowed one)")
    parser.add_argument(
        "--sections",
        default="presign,batch,cold,checker",
        help="comma-separated subset of presign,batch,cold,checker (default: all)",
    )
    options = parser.parse_args(argv)
    sections = set(options.sections.split(","))
    plan = QUICK if options.quick else FULL
    started = time.perf_counter()
    cpu, others = pin_cpu(options.cpu)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    mode = "quick" if options.quick else "full"
    pinned = cpu if cpu is not None else "n/a (no sched_setaffinity)"
    print(f"byos benchmarks ({mode} run), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    system = f"{platform.machine()} {platform.system()}"
    print(f"Python {platform.python_version()} on {system}, {os.cpu_count()} CPUs,")
    print(f"pinned to CPU {pinned}, load average {load[0]:.2f}")
    print(versions())
    print()
    run = Run()
    with tempfile.TemporaryDirectory(prefix="byos-bench-") as folder:
        keys = make_keys(Path(folder))
        if "presign" in sections:
            section_presign(run, plan, keys)
        if "batch" in sections:
            section_batch(run, plan)
        if "cold" in sections:
            section_cold(run, plan, keys, Path(folder))
        if "checker" in sections:
            section_checker(run, plan, others)
    print(SECTION_TARGETS)
    table(
        ["target", "figure", "result", "by CPU time", "result by CPU"],
        [
            [
                t.name,
                t.figure,
                verdict(t.met),
                t.cpu_figure,
                "-" if t.cpu_figure == "-" else verdict(t.cpu_met),
            ]
            for t in run.targets
        ],
    )
    print(
        "(results by wall clock, as measured; 'by CPU time' discounts other jobs that shared the pinned CPU)"
    )
    passed = sum(1 for t in run.targets if t.met)
    missed = sum(1 for t in run.targets if t.met is False)
    end_load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print()
    print(
        f"{passed} PASS, {missed} MISS of {len(run.targets)} targets (wall clock);"
        f" run took {time.perf_counter() - started:.1f} s; load average at the end {end_load:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
