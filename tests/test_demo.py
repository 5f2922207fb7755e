"""The README's first command: the demo runs on a local server and leaks no presigned signature."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_demo_uploads_refuses_the_overwrite_and_prints_no_signature() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "160"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-2000:]
    assert "demo done" in output
    assert "upload:            HTTP 200" in output
    assert "same URL again:    HTTP 412" in output
    assert re.search(r"X-Amz-Signature=[0-9a-f]{8}", output) is None
    assert "X-Amz-Signature=REDACTED" in output
    for check in ("upload", "write_once", "cors", "bucket.region"):
        assert re.search(rf"{re.escape(check)}\s+│\s+pass", output), check
