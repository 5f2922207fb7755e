"""The README's "Uploading from the browser" example, run as written: its Python and its page, in Chromium.

The test takes the section's ``python`` and ``html`` blocks from README.md, runs the Python as the import
service (a destination file ``acme.toml`` for Azurite, which checks the SAS and CORS), serves the page from
``http://localhost:PORT``, picks a 20 MiB file in the page's file input over the DevTools protocol, and waits
for the blob to land: the README's code alone plans, uploads in blocks and commits it.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import CorsRule

from byos.policy import build_policy
from tests import azure_helpers
from tests.browser import Chromium, sha256

pytestmark = pytest.mark.emulator

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## Uploading from the browser"


def readme_blocks() -> tuple[str, str]:
    """The section's first ``python`` and ``html`` code blocks."""
    text = README.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    python = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    html = re.search(r"```html\n(.*?)```", section, re.DOTALL)
    assert python is not None
    assert html is not None
    return python.group(1), html.group(1)


class ImportService:
    """The README's handlers behind HTTP: ``/``, ``/byos-upload.js`` and ``POST /imports/plan``."""

    def __init__(self, page: str, plan: Callable[[str, int], str], client: Callable[[], bytes]) -> None:
        self.errors: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/":
                    self._send(f"<!doctype html><meta charset=utf-8>{page}".encode(), "text/html")
                elif self.path == "/byos-upload.js":
                    self._send(client(), "text/javascript")
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                if self.path != "/imports/plan":
                    self.send_error(404)
                    return
                asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                try:
                    answer = plan(asked["filename"], asked["size"])
                except Exception as exc:  # noqa: BLE001  (any failure of the example fails the test)
                    outer.errors.append(repr(exc))
                    self.send_error(500)
                    return
                self._send(answer.encode(), "application/json")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.origin = f"http://localhost:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def service_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_example_uploads_a_file_picked_in_the_page(
    chromium: Chromium, azurite: Any, service_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    container = azure_helpers.new_container(azurite)
    settings = {
        "provider": "azure",
        "account_name": azurite.account_name,
        "container": container,
        "endpoint_url": azurite.blob_endpoint,
        "account_key": azurite.account_key,
        "prefix": "imports/",
    }
    (service_dir / "acme.toml").write_text(
        "".join(f"{name} = {json.dumps(value)}\n" for name, value in settings.items()), encoding="utf-8"
    )
    python, html = readme_blocks()
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(python, "README.md", "exec"), namespace)  # noqa: S102  (the README's own example)
    service = ImportService(html, namespace["upload_plan"], namespace["client_module"])
    blobs = azure_helpers.service(azurite)
    before = blobs.get_service_properties()["cors"]
    dest = azure_helpers.destination(azurite, container, origins=[service.origin])
    rule = build_policy(dest).document("cors-rules.json")["corsRules"][0]
    blobs.set_service_properties(
        cors=[
            CorsRule(
                rule["allowedOrigins"],
                rule["allowedMethods"],
                allowed_headers=rule["allowedHeaders"],
                exposed_headers=rule["exposedHeaders"],
                max_age_in_seconds=rule["maxAgeInSeconds"],
            )
        ]
    )
    data = os.urandom(20 * 1024 * 1024)
    picked = tmp_path_factory.mktemp("picked") / "Q3 customers.csv"
    picked.write_bytes(data)
    try:
        # the page's module (and the client it imports) has run once the document is complete: only then
        # is the change listener there to see the picked file
        chromium.navigate(
            f"{service.origin}/",
            ready="document.getElementById('bar') !== null && document.readyState === 'complete'",
        )
        field = chromium.call("Runtime.evaluate", expression="document.getElementById('file')")
        chromium.call("DOM.setFileInputFiles", files=[str(picked)], objectId=field["result"]["objectId"])
        landed = wait_for_blob(blobs.get_container_client(container), timeout=60)
        bar = chromium.evaluate(
            "new Promise((done) => { const bar = document.getElementById('bar'); const t0 = Date.now();"
            " (function poll() { if (bar.value === 1 || Date.now() - t0 > 5000) done(bar.value);"
            " else setTimeout(poll, 50); })(); })"
        )
    finally:
        blobs.set_service_properties(cors=before)
        service.stop()
    assert service.errors == []
    assert landed is not None, f"nothing landed; console: {chromium.console[-5:]}"
    name, stored = landed
    assert name.startswith("imports/")
    assert name.endswith("-Q3 customers.csv")
    assert sha256(stored) == sha256(data)
    assert bar == 1


def wait_for_blob(container: Any, timeout: float) -> tuple[str, bytes] | None:
    """The first blob to appear in ``container`` within ``timeout`` seconds, with its bytes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in container.list_blobs():
            try:
                return item.name, container.download_blob(item.name).readall()
            except ResourceNotFoundError:
                break
        time.sleep(0.2)
    return None
