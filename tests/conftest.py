"""Shared fixtures: environment isolation, local storage servers and the opt-in live tier.

Local servers (tests marked ``emulator``), session-scoped, started lazily on a free 127.0.0.1 port
the first time a test asks, stopped at the end of the session (and at exit or on SIGINT/SIGTERM):

- ``azurite``: ``.endpoint``, ``.account_name``, ``.account_key``, ``.blob_endpoint``,
  ``.connection_string``
- ``localstack``: ``.endpoint``, ``.region``, ``.access_key_id``, ``.secret_access_key``
  (S3 checks presigned signatures)
- ``moto_server``: ``.endpoint``, ``.region``, ``.access_key_id``, ``.secret_access_key``,
  ``.reset_auth(on)``, ``.auth()`` (context manager: auth on inside), ``.reset()``
- ``fake_gcs``: ``.endpoint``, ``.location`` (``EUROPE-WEST1``), ``.project``
- ``start_fake_gcs(location)``: another fake-gcs-server whose buckets report ``location`` (one per location)

Every server also has ``.port``, ``.pid``, ``.startup_seconds``, ``.log_tail()`` and ``.stop()``. A server
whose program is missing makes its tests fail (not skip): run ``scripts/test``, which installs them into
``.tools/``.
``BYOS_TESTCONTAINERS=1`` runs the servers as containers when a Docker engine answers (optional path).

Live tier (tests marked ``live``, e.g. ``@pytest.mark.live("s3")``): a live test runs only when the
variable for each provider it names points at a byos destination config file for a real bucket the test
may write to; otherwise it is skipped and the reason is printed:

- ``BYOS_LIVE_S3_CONFIG``, ``BYOS_LIVE_GCS_CONFIG``, ``BYOS_LIVE_AZURE_CONFIG``

The ``live_config`` fixture returns that path. Credentials come from the config file or from the usual
provider environment (``AWS_*``, ``GOOGLE_APPLICATION_CREDENTIALS``, ``AZURE_*``, ``CLOUDSDK_*``), which
live tests keep. These variables are read once at start-up, before any test isolates the environment.

Isolation (autouse): every test runs without ``BYOS_*``, ``AWS_*``, ``GOOGLE_*``, ``AZURE_*``, ``CLOUDSDK_*``
and ``STORAGE_EMULATOR_HOST``, with ``AWS_CONFIG_FILE`` and ``AWS_SHARED_CREDENTIALS_FILE`` pointing at a
file that does not exist, and byos's resolver knowing only ``localhost`` and the names a test puts in
``FAKE_DNS`` (no DNS query leaves the machine). Live tests keep the provider variables (not ``BYOS_*``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import settings as hypothesis_settings

from byos import endpoints
from tests.browser import NO_CHROMIUM, BrowserPage, Chromium, PageServer, find_chromium
from tests.servers import (
    AzuriteServer,
    FakeGcsServer,
    LocalServer,
    LocalStackServer,
    MotoServer,
    ServerStartError,
    ToolMissingError,
)
from tests.servers.base import CLEARED_ENV_NAMES, CLEARED_ENV_PREFIXES

LIVE_CONFIG_VARIABLES = {
    "s3": "BYOS_LIVE_S3_CONFIG",
    "gcs": "BYOS_LIVE_GCS_CONFIG",
    "azure": "BYOS_LIVE_AZURE_CONFIG",
}
CONTAINERS_VARIABLE = "BYOS_TESTCONTAINERS"

# CI replays the same generated cases on every run, so a landing never hangs on luck; a developer's run
# (no CI variable) draws new cases each time and keeps finding what CI would not.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

pytest_plugins = ("pytester",)  # the harness tests run inner sessions

ServerT = TypeVar("ServerT", bound=LocalServer)


@dataclass
class _SessionState:
    live_configs: dict[str, Path]
    use_containers: bool
    container_note: str
    started: list[LocalServer] = field(default_factory=list)


_STATE_KEY = pytest.StashKey[_SessionState]()


def _state(config: pytest.Config) -> _SessionState:
    return config.stash[_STATE_KEY]


def pytest_configure(config: pytest.Config) -> None:
    """Read the live-tier and container settings before any test clears the environment."""
    live_configs: dict[str, Path] = {}
    for provider, variable in LIVE_CONFIG_VARIABLES.items():
        value = os.environ.get(variable, "").strip()
        if not value:
            continue
        path = Path(value).expanduser()
        if not path.is_file():
            raise pytest.UsageError(
                f"{variable}={value}: no such file; point it at a byos destination config"
            )
        live_configs[provider] = path
    use_containers = False
    note = "local processes (tools in .tools/)"
    if os.environ.get(CONTAINERS_VARIABLE) == "1":
        from tests.servers.containers import docker_available  # noqa: PLC0415 - only on request

        use_containers = docker_available()
        note = (
            "containers (testcontainers)" if use_containers else "local processes (no Docker engine answers)"
        )
    config.stash[_STATE_KEY] = _SessionState(live_configs, use_containers, note)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say how servers run and which live providers are on."""
    state = _state(config)
    live = ", ".join(f"{p} {'on' if p in state.live_configs else 'off'}" for p in LIVE_CONFIG_VARIABLES)
    return [f"byos: servers run as {state.container_note}; live tier: {live}"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip live tests whose providers have no config, saying which variable to set."""
    state = _state(config)
    for item in items:
        providers = _live_providers(item)
        if providers is None:
            continue
        missing = [p for p in providers if p not in state.live_configs]
        if missing:
            variables = ", ".join(LIVE_CONFIG_VARIABLES[p] for p in missing)
            item.add_marker(
                pytest.mark.skip(
                    reason=f"live tier off for {', '.join(missing)}: set {variables} to a byos config file"
                )
            )


def _live_providers(item: pytest.Item) -> list[str] | None:
    markers = list(item.iter_markers("live"))
    if not markers:
        return None
    providers = [str(arg) for marker in markers for arg in marker.args]
    unknown = sorted(set(providers) - set(LIVE_CONFIG_VARIABLES))
    if not providers or unknown:
        raise pytest.UsageError(
            f"{item.nodeid}: the live marker names its providers, one or more of "
            f"{sorted(LIVE_CONFIG_VARIABLES)}, e.g. @pytest.mark.live('s3') (got {providers})"
        )
    return providers


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Print server start-up times and a one-line outcome count (skip reasons are listed by -ra)."""
    state = _state(config)
    if state.started:
        times = ", ".join(
            f"{server.name} {server.startup_seconds:.2f} s"
            for server in state.started
            if server.startup_seconds is not None
        )
        terminalreporter.write_line(f"byos servers started: {times}")
    counts = {
        outcome: len(terminalreporter.stats.get(outcome, []))
        for outcome in ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
    }
    skipped = terminalreporter.stats.get("skipped", [])
    no_browser = sum(NO_CHROMIUM in str(report.longrepr) for report in skipped)
    if no_browser:
        terminalreporter.write_line(f"byos: {no_browser} browser tests skipped: {NO_CHROMIUM}")
    summary = ", ".join(f"{count} {outcome}" for outcome, count in counts.items() if count)
    reasons = " (skip reasons in the short test summary below)" if counts["skipped"] else ""
    terminalreporter.write_line(f"byos: {summary or 'no tests ran'}{reasons}")


# -- isolation --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _missing_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("isolation") / "does-not-exist"


@pytest.fixture(autouse=True)
def _isolated_environment(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, _missing_file: Path
) -> None:
    keep_provider_env = request.node.get_closest_marker("live") is not None
    for name in list(os.environ):
        if name.startswith("BYOS_") or (
            not keep_provider_env and (name.startswith(CLEARED_ENV_PREFIXES) or name in CLEARED_ENV_NAMES)
        ):
            monkeypatch.delenv(name)
    if not keep_provider_env:
        monkeypatch.setenv("AWS_CONFIG_FILE", str(_missing_file))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(_missing_file))
        # byos resolves no name but localhost and the names a test puts in FAKE_DNS: no DNS query leaves
        # the machine, and a hostile test name can resolve to any address without any traffic to it.
        FAKE_DNS.clear()
        monkeypatch.setattr(endpoints, "resolver", _loopback_resolver)


FAKE_DNS: dict[str, list[str]] = {}
"""Host name -> addresses for byos's resolver during one test (cleared before each test)."""


def _loopback_resolver(host: str, port: int) -> list[str]:  # noqa: ARG001  (the resolver's signature)
    name = host.lower().rstrip(".")
    if name in FAKE_DNS:
        return list(FAKE_DNS[name])
    if name == "localhost":
        return ["127.0.0.1"]
    raise socket.gaierror(socket.EAI_NONAME, "not resolved in tests")


# -- live tier --------------------------------------------------------------------------------------


@pytest.fixture
def live_config(request: pytest.FixtureRequest) -> Path:
    """Path of the byos config file for the provider named by the test's live marker."""
    providers = _live_providers(request.node) or []
    if len(providers) != 1:
        raise pytest.UsageError(f"live_config needs exactly one provider in the live marker, got {providers}")
    return _state(request.config).live_configs[providers[0]]


# -- local servers ----------------------------------------------------------------------------------


def _start(config: pytest.Config, make: Callable[[bool], ServerT]) -> ServerT:
    state = _state(config)
    try:
        server = make(state.use_containers)
        server.start()
    except ToolMissingError as exc:
        pytest.fail(str(exc), pytrace=False)
    except ServerStartError as exc:
        pytest.fail(str(exc), pytrace=False)
    state.started.append(server)
    return server


@pytest.fixture(scope="session")
def azurite(pytestconfig: pytest.Config) -> Iterator[AzuriteServer]:
    """Azurite Blob service (validates SAS, permissions and CORS)."""
    server = _start(pytestconfig, lambda containers: AzuriteServer(use_container=containers))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def localstack(pytestconfig: pytest.Config) -> Iterator[LocalStackServer]:
    """LocalStack S3 with presigned-signature validation on (secret ``test``, region ``us-east-1``)."""
    server = _start(pytestconfig, lambda containers: LocalStackServer(use_container=containers))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_server(pytestconfig: pytest.Config) -> Iterator[MotoServer]:
    """moto S3 server; IAM auth is off until ``reset_auth(True)``."""
    server = _start(pytestconfig, lambda containers: MotoServer(use_container=containers))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def start_fake_gcs(pytestconfig: pytest.Config) -> Iterator[Callable[[str], FakeGcsServer]]:
    """Factory: ``start_fake_gcs("US-EAST1")`` gives a fake-gcs-server whose buckets report that location."""
    servers: dict[str, FakeGcsServer] = {}

    def start(location: str) -> FakeGcsServer:
        key = location.upper()
        if key not in servers:
            servers[key] = _start(
                pytestconfig, lambda containers: FakeGcsServer(key, use_container=containers)
            )
        return servers[key]

    yield start
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session")
def fake_gcs(start_fake_gcs: Callable[[str], FakeGcsServer]) -> FakeGcsServer:
    """fake-gcs-server whose buckets report location ``EUROPE-WEST1``."""
    return start_fake_gcs("EUROPE-WEST1")


# -- a real browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    """Headless Chromium over the DevTools protocol; skipped, saying why, when none is installed."""
    binary = find_chromium()
    if binary is None:
        pytest.skip(NO_CHROMIUM)
    browser = Chromium(binary)
    browser.start()
    yield browser
    browser.stop()


@pytest.fixture(scope="session")
def page_server() -> Iterator[PageServer]:
    """The test page, byos-upload.js and test files on http://localhost:PORT (a second loopback origin)."""
    server = PageServer()
    yield server
    server.stop()


@pytest.fixture
def browser(chromium: Chromium, page_server: PageServer) -> BrowserPage:
    """The test page freshly loaded in Chromium, ready to run uploads."""
    chromium.navigate(f"{page_server.origin}/")
    return BrowserPage(chromium, page_server)
