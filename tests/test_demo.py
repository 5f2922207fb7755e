"""The README's first command: the demo runs on Azurite, ends green, leaks no signature, leaves no trace."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
AZURITE_MAIN = REPO / ".tools" / "azurite" / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"

pytestmark = pytest.mark.emulator


def row(check: str, status: str) -> str:
    return rf"│ {re.escape(check)}\s+│ {status}\s+│"


@pytest.fixture
def demo_output(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    if not AZURITE_MAIN.is_file() or shutil.which("node") is None:
        pytest.skip(
            "the demo needs Azurite in .tools/azurite and node (scripts/test and scripts/demo install it)"
        )
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": str(scratch)},
    )
    return result, scratch


def test_demo_ends_green_with_a_well_configured_destination(
    demo_output: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = demo_output
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "demo done: all green" in output
    good = output.split("3. setup check", 1)[1].split("4. a broken setup", 1)[0]
    assert "acme (local Azurite): OK" in good
    for check in ("config", "credentials", "bucket.exists", "upload", "write_once", "cors", "public_access"):
        assert re.search(row(check, "pass"), good), check
    for check in ("encryption", "clock", "lifetime"):
        assert re.search(row(check, "pass"), good), check
    assert re.search(row("least_privilege", "warn"), good)  # the account key: said why, in the demo's note
    assert re.search(row("bucket.region", "skip"), good)
    assert "fail" not in re.findall(r"│ (pass|warn|fail|skip)\s+│", good)


def test_demo_shows_a_broken_setup_its_remediation_and_the_fix(
    demo_output: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = demo_output
    broken = result.stdout.split("4. a broken setup", 1)[1].split("5. presign", 1)[0]
    assert "globex (local Azurite): FAILED" in broken
    assert re.search(row("public_access", "fail"), broken)
    assert "what the checker says to do: block public access on the bucket" in broken
    assert "public_access after the fix: pass: anonymous list and read were refused" in broken


def test_demo_uploads_refuses_the_overwrite_and_prints_no_signature(
    demo_output: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = demo_output
    output = result.stdout + result.stderr
    assert "upload:            HTTP 201" in output
    assert "same URL again:    HTTP 403 AuthorizationPermissionMismatch" in output
    assert "stored content ok: True" in output
    assert re.search(r"sig=(?!REDACTED)[A-Za-z0-9%]{8}", output) is None
    assert "sig=REDACTED" in output
    assert "Q3 customers (final).csv" in output  # the hostile name's key, bidi override removed


def test_demo_removes_its_temporary_folders_and_stops_azurite(
    demo_output: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, scratch = demo_output
    assert result.returncode == 0, result.stdout[-2000:]
    assert list(scratch.iterdir()) == []
    # Azurite ran with its working folder under scratch: no process may still be there.
    left = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if str(cwd.readlink()).startswith(str(scratch)):
                left.append(cwd.parent.name)
        except OSError:  # the process ended, or is not ours to inspect
            continue
    assert left == []
