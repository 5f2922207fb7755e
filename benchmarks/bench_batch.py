"""Section 2: every part URL of a 10,000-part multipart upload, and the whole 10,000-part plan."""

from __future__ import annotations

import importlib
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from benchmarks.bench_fixtures import boto3_client, botocore_frozen
from benchmarks.bench_inputs import (
    ACCESS_KEY_ID,
    BUCKET,
    CONTENT_TYPE,
    EXPIRES,
    FILENAME,
    FROZEN_NOW,
    KEY,
    MULTIPART_BYTES,
    MULTIPART_PARTS,
    REGION,
    SECRET_ACCESS_KEY,
    SECTION_BATCH,
    UPLOAD_ID,
    Plan,
)
from benchmarks.bench_report import Outcome, Run, contention, ratio_line, short_reason, table
from benchmarks.bench_timing import timed_loop
from byos.models import UploadRequest

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
