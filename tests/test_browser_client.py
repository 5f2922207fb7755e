"""byos-upload.js itself: shipped in the package, valid JavaScript, and refusing a plan it cannot execute.

The refusals run in headless Chromium against a recording proxy, which proves nothing was sent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import byos
from tests.browser import BrowserPage
from tests.browser_proxy import FaultProxy
from tests.servers.base import free_port

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def recorder() -> Iterator[FaultProxy]:
    """A proxy in front of nothing: it records whatever the browser sends."""
    server = FaultProxy(f"http://127.0.0.1:{free_port()}")
    yield server
    server.stop()


def test_client_is_package_data_and_valid_javascript() -> None:
    path = byos.browser_client_path()
    assert path.is_file()
    assert path.parent == Path(byos.__file__).parent
    source = path.read_text(encoding="utf-8")
    assert "export async function upload(file, plan, options = {})" in source
    assert not re.search(r"^\s*import\b|\bimport\(|\brequire\(", source, re.MULTILINE)  # no dependencies
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the syntax check needs it")
    checked = subprocess.run([node, "--check", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


def test_the_wheel_ships_the_client(tmp_path: Path) -> None:
    """The built wheel holds byos-upload.js next to the package, as browser_client_path() finds it."""
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("byos-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("byos/byos-upload.js")
    assert shipped == byos.browser_client_path().read_bytes()


def _plan(url: str, size: int) -> dict[str, Any]:
    return {
        "provider": "s3",
        "key": "imports/x.csv",
        "expires_at": "2099-01-01T00:00:00Z",
        "size": size,
        "part_size": None,
        "parallel": False,
        "parts": [{"method": "PUT", "url": url, "headers": {}, "body": "file", "expect": [200]}],
        "complete": None,
        "abort": None,
    }


def test_a_file_of_another_size_is_refused_before_sending(browser: BrowserPage, recorder: FaultProxy) -> None:
    outcome = browser.upload(_plan(f"{recorder.endpoint}/b/x.csv", 10), b"12345")
    assert not outcome["ok"]
    assert outcome["error"]["code"] == "size"
    assert "the file is 5 bytes but the plan was made for 10 bytes" in outcome["error"]["message"]
    assert recorder.log == []


def test_a_step_of_an_unknown_kind_is_refused_before_sending(
    browser: BrowserPage, recorder: FaultProxy
) -> None:
    plan = _plan(f"{recorder.endpoint}/b/x.csv", 5)
    plan["parts"][0]["body"] = "everything"
    outcome = browser.upload(plan, b"12345")
    assert not outcome["ok"]
    assert outcome["error"]["code"] == "plan"
    assert "parts[0].body" in outcome["error"]["message"]
    assert recorder.log == []


def test_a_session_step_without_a_session_is_refused(browser: BrowserPage, recorder: FaultProxy) -> None:
    plan = _plan(f"{recorder.endpoint}/b/x.csv", 5)
    plan["parts"][0] |= {"url": None, "url_from": "session", "body": "range", "range": [0, 5]}
    outcome = browser.upload(plan, b"12345")
    assert not outcome["ok"]
    assert outcome["error"]["code"] == "plan"
    assert "session" in outcome["error"]["message"]
    assert recorder.log == []


def test_an_already_aborted_signal_sends_nothing(browser: BrowserPage, recorder: FaultProxy) -> None:
    outcome = browser.upload(_plan(f"{recorder.endpoint}/b/x.csv", 5), b"12345", abortBefore=True)
    assert not outcome["ok"]
    assert outcome["error"]["code"] == "aborted"
    assert recorder.log == []
