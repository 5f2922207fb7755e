"""Headless Chromium driven over the Chrome DevTools protocol, and the loopback page server its tests load.

:func:`find_chromium` locates Debian's ``chromium`` (``BYOS_CHROMIUM`` overrides); :class:`Chromium` starts it
headless on a fresh profile with ``--remote-debugging-port=0`` and talks to one page over the DevTools
websocket. :class:`PageServer` serves the page, ``byos-upload.js`` (from :func:`byos.browser_client_path`) and
test files from ``http://localhost:PORT``: an origin other than the storage servers' ``http://127.0.0.1:PORT``,
so every upload is cross-origin and the browser itself enforces CORS. The helpers at the end hold the shapes
every provider's browser tests share (a retried PUT, an abort midway, a second upload refused as existing,
a large file's plan), each with all its assertions.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import websocket

import byos
from byos import browser_client_path, uploads
from byos.config import Destination
from tests.browser_proxy import Fault, FaultProxy
from tests.servers.base import _die_with_parent, _terminate_group

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HARNESS = Path(__file__).with_name("browser_harness.js")
_START_SECONDS = 30.0


def find_chromium() -> str | None:
    """Return the path of a Chromium binary, or None when none is installed."""
    override = os.environ.get("BYOS_CHROMIUM")
    if override:
        return override if Path(override).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    """Chromium did not start, or a page script threw."""


class Chromium:
    """One headless Chromium process with one page, driven over the DevTools protocol."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self._profile = tempfile.mkdtemp(prefix="byos-chromium-")
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: websocket.WebSocket | None = None
        self._ids = itertools.count(1)
        self.console: list[str] = []

    def start(self) -> None:
        """Start Chromium and attach to its first page."""
        arguments = [
            self.binary,
            "--headless=new",
            "--no-sandbox",  # root in CI; the page is our own
            "--disable-gpu",
            "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={self._profile}",
            "about:blank",
        ]
        self._process = subprocess.Popen(
            arguments,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends the renderers and helpers too
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl, loaded before the fork
        )
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + _START_SECONDS
        while not (port_file.is_file() and port_file.read_text().count("\n") >= 1):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BrowserError(f"{self.binary} did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
            targets = json.loads(response.read())
        page = next(t for t in targets if t.get("type") == "page")
        self._socket = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=_START_SECONDS, suppress_origin=True
        )
        self.call("Runtime.enable")
        self.call("Page.enable")

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are kept as console lines)."""
        if self._socket is None:
            raise BrowserError("Chromium is not started")
        ident = next(self._ids)
        self._socket.settimeout(timeout)
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise BrowserError(f"{method}: no answer within {timeout} s")
            message = json.loads(self._socket.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._note(message)

    def _note(self, message: dict[str, Any]) -> None:
        if message.get("method") == "Runtime.consoleAPICalled":
            args = message["params"].get("args", [])
            self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
        elif message.get("method") == "Runtime.exceptionThrown":
            self.console.append(str(message["params"]["exceptionDetails"].get("text")))

    def navigate(self, url: str, ready: str = "window.byosReady === true", timeout: float = 20.0) -> None:
        """Load ``url`` and wait until the expression ``ready`` is true."""
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(BrowserError):
                if self.evaluate(ready, timeout=5) is True:
                    return
            time.sleep(0.05)
        raise BrowserError(f"{url} did not become ready ({ready}); console: {self.console[-5:]}")

    def evaluate(self, expression: str, timeout: float = 60.0) -> Any:
        """Evaluate ``expression`` in the page, await it when it is a promise, and return its JSON value."""
        result = self.call(
            "Runtime.evaluate",
            timeout=timeout,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"page script failed: {text}")
        return result["result"].get("value")

    def stop(self) -> None:
        """Close the DevTools connection and end the Chromium process."""
        if self._socket is not None:
            with contextlib.suppress(Exception):
                self._socket.close()
            self._socket = None
        if self._process is not None:
            _terminate_group(self._process)
            self._process = None
        shutil.rmtree(self._profile, ignore_errors=True)


_PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>byos browser tests</title></head>
<body><script type="module" src="/harness.js"></script></body></html>
"""


class PageServer:
    """Serves the test page, ``byos-upload.js`` and registered files on ``http://localhost:PORT``."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            types: ClassVar[dict[str, str]] = {".js": "text/javascript", ".html": "text/html"}

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/":
                    body, kind = _PAGE, "text/html"
                elif path == "/byos-upload.js":
                    body, kind = browser_client_path().read_bytes(), "text/javascript"
                elif path == "/harness.js":
                    body, kind = HARNESS.read_bytes(), "text/javascript"
                elif path.startswith("/data/") and path[6:] in outer.files:
                    body, kind = outer.files[path[6:]], "application/octet-stream"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.origin = f"http://localhost:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


NO_CHROMIUM = (
    "no Chromium installed (scripts/install_tools.sh installs Debian's chromium when run as root "
    "with apt-get; or set BYOS_CHROMIUM to a Chromium binary)"
)


class BrowserPage:
    """The loaded test page: runs ``upload(file, plan, options)`` of byos-upload.js on given bytes."""

    def __init__(self, chromium: Chromium, server: PageServer) -> None:
        self.chromium = chromium
        self.server = server
        self.origin = server.origin

    def upload(
        self, plan: dict[str, Any], data: bytes, timeout: float = 120.0, **options: Any
    ) -> dict[str, Any]:
        """Upload ``data`` (served to the page as a file) by ``plan``: ``{ok, result|error, events}``."""
        name = f"file-{len(self.server.files)}"
        self.server.files[name] = data
        arguments = json.dumps({"data": name, **options})
        try:
            result: dict[str, Any] = self.chromium.evaluate(
                f"window.runUpload({json.dumps(plan)}, {arguments})", timeout=timeout
            )
        finally:
            del self.server.files[name]
        return result


def assert_progress(events: list[dict[str, Any]], size: int) -> None:
    """Progress events exist, never go back, stay within the size and end at it."""
    assert events, "no progress event"
    sent = [e["bytesSent"] for e in events]
    done = [e["partsDone"] for e in events]
    assert sent == sorted(sent), f"bytesSent went back: {sent}"
    assert done == sorted(done), f"partsDone went back: {done}"
    assert all(0 <= s <= size for s in sent)
    assert sent[-1] == size
    assert all(e["size"] == size for e in events)
    assert done[-1] == events[-1]["partsTotal"]


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


SHAPES = ("plan", "request")
"""The two JSON forms of a one-request upload the client takes: a plan, and ``byos presign --json``."""


def single_upload(
    shape: str, destination: Destination, filename: str, size: int, **options: Any
) -> dict[str, Any]:
    """A one-request upload as ``byos.presign_upload(size=...)`` or ``byos presign --json`` give it."""
    if shape == "plan":
        plan: dict[str, Any] = byos.presign_upload(destination, filename, size=size, **options).to_dict()
        assert len(plan["parts"]) == 1
        assert plan["complete"] is None
        return plan
    request: dict[str, Any] = uploads.presign_upload(destination, filename, **options).to_dict()
    assert "parts" not in request
    return request


# --- the shapes every provider's browser tests share --------------------------------------------------------


@contextlib.contextmanager
def fault_proxy(upstream: str, **options: Any) -> Iterator[FaultProxy]:
    """A :class:`FaultProxy` in front of ``upstream`` (options as FaultProxy takes them), stopped after."""
    server = FaultProxy(upstream, **options)
    try:
        yield server
    finally:
        server.stop()


def uploaded_after_one_failure(
    browser: BrowserPage, proxy: FaultProxy, plan: dict[str, Any], data: bytes
) -> dict[str, Any]:
    """Upload ``data`` by a one-request ``plan`` whose first PUT the proxy fails; the retry must land.

    Asserts the upload succeeded, the proxy saw the failed PUT and then the forwarded one, and the progress
    events are sound. The caller reads the object back.
    """
    proxy.faults.append(Fault("PUT"))
    outcome = browser.upload(plan, data)
    assert outcome["ok"], outcome.get("error")
    assert [s.outcome for s in proxy.seen("PUT")] == ["failed", "forwarded"]
    assert_progress(outcome["events"], len(data))
    return outcome


def aborted_midway(
    browser: BrowserPage, proxy: FaultProxy, plan: dict[str, Any], data: bytes
) -> dict[str, Any]:
    """Upload ``data`` by a one-request ``plan`` whose PUT stalls, aborting after the first byte.

    Asserts the upload failed as aborted and the proxy saw only the stalled PUT. The caller checks that
    nothing landed.
    """
    proxy.faults.append(Fault("PUT", action="stall"))
    outcome = browser.upload(plan, data, abortAtBytes=1)
    assert not outcome["ok"]
    assert outcome["error"]["code"] == "aborted"
    assert [s.outcome for s in proxy.seen("PUT")] == ["stalled"]
    return outcome


def refused_as_existing(
    browser: BrowserPage, plan: dict[str, Any], status: int, before_second: Callable[[], object] | None = None
) -> None:
    """Upload by ``plan`` twice (``first`` then ``second``): the first lands, the second is refused.

    Asserts the second failed with code ``exists``, HTTP ``status`` and a message saying the object already
    exists. ``before_second`` runs between the two (for example to have a proxy answer as the cloud would).
    The caller checks that the first upload's bytes are still there.
    """
    first = browser.upload(plan, b"first\n")
    if before_second is not None:
        before_second()
    second = browser.upload(plan, b"second\n")
    assert first["ok"], first.get("error")
    assert not second["ok"]
    assert second["error"]["code"] == "exists", second["error"]
    assert second["error"]["status"] == status
    assert "already exists" in second["error"]["message"]


def large_plan(
    destination: Destination, filename: str, size: int, *, parts: int, parallel: bool, **options: Any
) -> dict[str, Any]:
    """The plan ``byos.presign_upload(size=...)`` gives a large file, with its step count and parallelism."""
    plan: dict[str, Any] = byos.presign_upload(destination, filename, size=size, **options).to_dict()
    assert len(plan["parts"]) == parts
    assert plan["parallel"] is parallel
    return plan
