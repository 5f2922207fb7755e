"""bench.py --quick runs to the end and prints every section, ratio and target (the figures go unchecked)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench.py"

SECTIONS = (
    "== 1. Per-URL presign cost ==",
    "== 2. Batch: every part URL of a 50 GiB multipart upload (10,000 parts) ==",
    "== 3. Cold start: a fresh interpreter that imports and presigns one URL ==",
    "== 4. Setup checker fleet against a loopback storage stub (50 ms per request) ==",
    "== Targets ==",
)
# Every comparison the issue asks for; each prints "ratio  NAME: A / B = 1.23x" or "= n/a (reason)".
COMPARISONS = (
    "S3 vs boto3",
    "S3 vs botocore",
    "S3 library path vs boto3",
    "S3 vs obstore",
    "Azure vs SDK",
    "Azure vs obstore",
    "GCS RSA vs SDK",
    "GCS RSA vs one RSA signature",
    "GCS RSA vs obstore",
    "GCS HMAC vs S3",
    "S3 library path vs signer",
    "S3 library path vs obstore",
    "S3 signer vs obstore",
    "Azure library path vs signer",
    "Azure library path vs obstore",
    "GCS RSA library path vs one RSA signature",
    "S3 10,000 parts vs boto3",
    "cold S3 time vs SDK",
    "cold S3 memory vs SDK",
    "cold Azure time vs SDK",
    "cold Azure memory vs SDK",
    "cold GCS time vs SDK",
    "cold GCS memory vs SDK",
    "fleet concurrency 16 vs 1",
    "fleet concurrency 64 vs 1",
    "fleet concurrency 256 vs 1",
)
TARGETS = (
    "S3 presign_put <= 25 us per URL",
    "S3 >= 10x faster than boto3",
    "Azure sign <= 15 us per URL",
    "Azure >= 2.5x faster than the SDK",
    "GCS RSA <= 1.1x one RSA signature",
    "GCS HMAC <= 25 us per URL",
    "S3 signer <= 1.0x obstore",
    "S3 presign_upload <= 1.3x signer",
    "S3 presign_upload <= 1.0x obstore",
    "Azure presign_upload <= 1.3x signer",
    "Azure presign_upload <= 2x obstore",
    "GCS HMAC presign_upload <= 25 us per URL",
    "GCS RSA presign_upload <= 1.05x one RSA signature",
    "cold S3: import + first URL <= +25 ms",
    "cold S3: import + first URL <= +5 MiB",
    "cold Azure: import + first URL <= +40 ms",
    "cold Azure: import + first URL <= +5 MiB",
    "cold CLI presign --json: start <= +80 ms",
    "no cloud SDK module loaded by byos S3/Azure",
    "fleet: concurrency 64 >= 40x concurrency 1",
)
# What a presigned URL's signature looks like in any of the three dialects.
SIGNATURE = re.compile(r"(X-Amz-Signature|X-Goog-Signature|sig)=[0-9A-Za-z%+/]{16,}")


@pytest.fixture(scope="module")
def quick_run() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_quick_run_exits_zero(quick_run: subprocess.CompletedProcess[str]) -> None:
    assert quick_run.returncode == 0, quick_run.stderr[-2000:]
    assert "Traceback" not in quick_run.stderr


def test_every_section_is_printed_in_order(quick_run: subprocess.CompletedProcess[str]) -> None:
    lines = quick_run.stdout.splitlines()
    positions = [lines.index(header) for header in SECTIONS if header in lines]
    assert len(positions) == len(SECTIONS), [header for header in SECTIONS if header not in lines]
    assert positions == sorted(positions)


@pytest.mark.parametrize("comparison", COMPARISONS)
def test_every_comparison_prints_a_ratio(
    quick_run: subprocess.CompletedProcess[str], comparison: str
) -> None:
    pattern = re.compile(
        rf"^ratio  {re.escape(comparison)}: .+ / .+ = ([0-9]+\.[0-9]+x|n/a \(.+\))$", re.MULTILINE
    )
    assert pattern.search(quick_run.stdout), f"no ratio line for {comparison!r}"


def test_every_target_is_judged(quick_run: subprocess.CompletedProcess[str]) -> None:
    targets = quick_run.stdout.split(SECTIONS[-1], 1)[-1]
    for target in TARGETS:
        assert re.search(rf"^{re.escape(target)}\s.*\s(PASS|MISS|n/a)\b", targets, re.MULTILINE), target


def test_no_presigned_url_is_printed(quick_run: subprocess.CompletedProcess[str]) -> None:
    assert not SIGNATURE.search(quick_run.stdout + quick_run.stderr)
