"""Section 1, the per-URL presign cost: the table, its ratios and targets."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.bench_fixtures import Keys
from benchmarks.bench_inputs import SECTION_PRESIGN, Plan
from benchmarks.bench_presign_cases import presign_cases
from benchmarks.bench_report import (
    Outcome,
    Run,
    contention,
    fig_us,
    fig_x,
    fmt_ratio,
    ratio_line,
    ratio_of,
    table,
    us,
)
from benchmarks.bench_timing import measure


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
