"""Shared machinery for local storage servers: ports, process groups, readiness and clean shutdown."""

from __future__ import annotations

import abc
import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar, Self

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from tests.servers.containers import ContainerSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO_ROOT / ".tools"
INSTALL_HINT = "run scripts/test (it installs the local servers into .tools/)"

# Environment variables a server must never inherit from the developer's shell.
CLEARED_ENV_PREFIXES = ("BYOS_", "AWS_", "GOOGLE_", "AZURE_", "CLOUDSDK_")
CLEARED_ENV_NAMES = ("STORAGE_EMULATOR_HOST",)

_LOG_TAIL_LINES = 40
_TERM_GRACE_SECONDS = 10.0
_KILL_WAIT_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1


class ToolMissingError(RuntimeError):
    """A server's program is not installed where the test suite looks for it."""


class ServerStartError(RuntimeError):
    """A server did not start or did not answer before its deadline."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Return whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_status(
    url: str, *, method: str = "GET", body: bytes | None = None, timeout: float = 2.0
) -> int | None:
    """Return the HTTP status a server answers with, or None when nothing answers."""
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


def http_body(url: str, *, timeout: float = 2.0) -> bytes | None:
    """Return the body of a 200 answer, or None for any other outcome."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body: bytes = response.read()
            return body
    except (OSError, ValueError):
        return None


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return this process's environment without cloud credentials or byos settings, plus extra."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(CLEARED_ENV_PREFIXES) and name not in CLEARED_ENV_NAMES
    }
    env.update(extra or {})
    return env


class LocalServer(abc.ABC):
    """A storage server on 127.0.0.1: a child process in its own process group, or a container.

    Subclasses describe the command, readiness probe and (optionally) container image; this class
    picks a free port, starts the server, waits until it answers and stops it without leaving orphans.
    """

    name: ClassVar[str]
    start_timeout: ClassVar[float] = 30.0

    def __init__(self, *, use_container: bool = False) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.use_container = use_container
        self.startup_seconds: float | None = None
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._container: Any = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.endpoint} pid={self.pid}>"

    @property
    def endpoint(self) -> str:
        """Base URL of the server, ``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the server (also its process group id), or None when not running as a process."""
        return self._process.pid if self._process is not None else None

    @property
    def workdir(self) -> Path:
        """Private temporary directory of this server (its log file lives here)."""
        if self._workdir is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._workdir

    @property
    def log_path(self) -> Path:
        """File receiving the server's stdout and stderr."""
        return self.workdir / "server.log"

    # -- what subclasses describe ------------------------------------------------------------------

    def check_installed(self) -> None:  # noqa: B027 - optional hook; most servers need no check
        """Raise ToolMissingError when the server's program is not installed."""

    @abc.abstractmethod
    def command(self) -> list[str]:
        """Return the argv that starts the server on self.port."""

    def environment(self) -> dict[str, str]:
        """Return the environment of the server process."""
        return clean_environment()

    @abc.abstractmethod
    def is_ready(self) -> bool:
        """Return whether the server answers requests."""

    def container_spec(self) -> ContainerSpec:
        """Return how to run this server as a container (optional Docker path)."""
        raise NotImplementedError(f"{self.name} has no container image configured")

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the server and wait until it answers.

        Returns:
            The server itself, ready for requests.

        Raises:
            ToolMissingError: The program is not installed.
            ServerStartError: It exited early or did not answer before the deadline.
        """
        if not self.use_container:
            self.check_installed()
        started = time.monotonic()
        self._workdir = Path(tempfile.mkdtemp(prefix=f"byos-{self.name}-"))
        _register(self)
        try:
            if self.use_container:
                from tests.servers.containers import start_container  # noqa: PLC0415 - optional Docker path

                self._container = start_container(self.container_spec(), self.port)
            else:
                self._spawn()
            self._wait_ready(started + self.start_timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM to its process group, SIGKILL after a grace period); idempotent."""
        process = self._process
        if process is not None:
            _terminate_group(process)
            self._process = None
        container, self._container = self._container, None
        if container is not None:
            container.stop()
        _unregister(self)
        workdir, self._workdir = self._workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """Return the last lines the server wrote (or its container logs)."""
        if self._container is not None:
            stdout, stderr = self._container.get_logs()
            text = (stdout + stderr).decode(errors="replace")
        else:
            try:
                text = self.log_path.read_text(errors="replace")
            except (OSError, RuntimeError):
                return ""
        return "\n".join(text.splitlines()[-lines:])

    def _spawn(self) -> None:
        argv = self.command()
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=self.environment(),
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl, loaded before the fork
            )

    def _wait_ready(self, deadline: float) -> None:
        while True:
            process = self._process
            if process is not None and process.poll() is not None:
                raise ServerStartError(
                    f"{self.name} exited with code {process.returncode} before answering on {self.endpoint}."
                    f"\n--- last lines of its log ---\n{self.log_tail()}"
                )
            if self.is_ready():
                return
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"{self.name} did not answer on {self.endpoint} within {self.start_timeout:.0f} s."
                    f"\n--- last lines of its log ---\n{self.log_tail()}"
                )
            time.sleep(0.05)


# -- orphan protection -----------------------------------------------------------------------------

_running: dict[int, LocalServer] = {}
_running_lock = threading.RLock()
_handlers_installed = False


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    prctl: Callable[..., int] = libc.prctl
    return prctl


_PRCTL = _load_prctl()


def _die_with_parent() -> None:
    """Run in the child before exec: on Linux, get SIGTERM when the test process dies, even by SIGKILL."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _terminate_group(process: subprocess.Popen[bytes]) -> None:
    # Waits always carry a timeout: Popen.wait() without one takes a blocking lock, which would deadlock
    # when a signal handler stops servers while the main code is inside wait().
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=_TERM_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=_KILL_WAIT_SECONDS)
    # Children the server may have left behind share its process group.
    _signal_group(process.pid, signal.SIGKILL)


def running_servers() -> list[LocalServer]:
    """Return the servers started by this process and not stopped yet."""
    with _running_lock:
        return list(_running.values())


def stop_all() -> None:
    """Stop every server this process started; used at exit and on SIGINT/SIGTERM/SIGHUP."""
    for server in running_servers():
        with contextlib.suppress(Exception):
            server.stop()


def _register(server: LocalServer) -> None:
    with _running_lock:
        _running[id(server)] = server
    _install_handlers()


def _unregister(server: LocalServer) -> None:
    with _running_lock:
        _running.pop(id(server), None)


def _install_handlers() -> None:
    global _handlers_installed  # noqa: PLW0603 - one-time, process-wide installation
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    _handlers_installed = True
    atexit.register(stop_all)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(signum)
        if previous != signal.SIG_IGN:  # an ignored signal (nohup, background job) stays ignored
            signal.signal(signum, _make_handler(previous))


def _make_handler(
    previous: Callable[[int, FrameType | None], Any] | int | None,
) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop_all()
        if callable(previous):
            previous(signum, frame)  # SIGINT: raises KeyboardInterrupt, pytest then tears down as usual
        else:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    return handler
