#!/usr/bin/env python3
"""The byos demo on Azurite, the local Azure Blob server that checks the most: no cloud account needed.

Azurite checks SAS signatures and permissions, CORS preflights and anonymous access, so the setup checker's
verdicts here are the ones a customer would get on Azure. The demo:

1. starts Azurite (from ``.tools/azurite``, which ``scripts/demo`` installs) on a free loopback port;
2. sets up a destination the way ``byos policy`` says (its CORS rule, a private container) and shows the
   keys a hostile file name gets;
3. runs ``byos check`` on it: the verdict is OK;
4. breaks a second setup on purpose (a container anyone can list and read), shows the failing check and its
   remediation, applies the remediation and checks again;
5. presigns a write-once upload of a sample CSV, sends it as a browser would, and shows that a second upload
   to the same URL is refused and the stored file is unchanged.

Everything it creates lives in temporary folders that are removed at the end, and Azurite is stopped.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from azure.storage.blob import BlobServiceClient, CorsRule
from rich.console import Console

from byos.checker import check_setup
from byos.checker.render import print_report
from byos.config import AzureDestination, load_destination
from byos.keys import KeyLayout
from byos.models import Report, Status, redact_url
from byos.policy import build_policy
from byos.uploads import presign_upload

REPO = Path(__file__).resolve().parent.parent
AZURITE = REPO / ".tools" / "azurite" / "node_modules" / "azurite"
BLOB_MAIN = AZURITE / "dist" / "src" / "blob" / "main.js"
CONSTANTS_JS = AZURITE / "dist" / "src" / "blob" / "utils" / "constants.js"
ACCOUNT = "devstoreaccount1"
ORIGIN = "https://importer.example.com"
SAMPLE_NAME = "../../Q3 customers \u202e(final).csv"
SAMPLE = b"id,name,email\n1,Ada Lovelace,ada@example.com\n2,Grace Hopper,grace@example.com\n"
# What the local server cannot prove, and why (everything else passes).
NOT_PROVABLE_HERE = {
    "least_privilege": Status.WARN,  # the account key is Azurite's only credential without Microsoft Entra ID
    "bucket.region": Status.SKIP,  # Azure names an account's region only in the management API
    "bucket.owner": Status.SKIP,  # an S3 check: an Azure container cannot be taken over by another account
}


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def account_key() -> str:
    """Azurite's well-known development account key, read from the installed package."""
    found = re.search(r"EMULATOR_ACCOUNT_KEY_STR\s*=\s*[\"']([A-Za-z0-9+/=]+)[\"']", CONSTANTS_JS.read_text())
    if found is None:
        raise SystemExit(f"demo: no account key in {CONSTANTS_JS}; reinstall Azurite with scripts/demo")
    return found.group(1)


@contextmanager
def azurite(workdir: Path) -> Iterator[str]:
    """Run Azurite's Blob service on a free loopback port (in memory, files in ``workdir``); yield its URL."""
    node = shutil.which("node")
    if node is None or not BLOB_MAIN.is_file():
        raise SystemExit("demo: Azurite is not installed; run ./scripts/demo (it installs it with npm)")
    port = free_port()
    command = [node, str(BLOB_MAIN), "--blobHost", "127.0.0.1", "--blobPort", str(port)]
    command += ["--skipApiVersionCheck", "--loose", "--disableTelemetry", "--inMemoryPersistence"]
    log = (workdir / "azurite.log").open("wb")
    env = {**os.environ, "TMPDIR": str(workdir)}
    process = subprocess.Popen(
        command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    try:
        endpoint = f"http://127.0.0.1:{port}/{ACCOUNT}"
        deadline = time.monotonic() + 30
        while not answers(endpoint):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"demo: Azurite did not start; see {workdir / 'azurite.log'}")
            time.sleep(0.1)
        yield endpoint
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def answers(endpoint: str) -> bool:
    """Whether the Blob service answers (an unsigned listing is refused with 403 once it is up)."""
    try:
        with urllib.request.urlopen(f"{endpoint}?comp=list", timeout=1):  # noqa: S310  (loopback)
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def put(url: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    """Send a PUT as a browser would; return the HTTP status and Azure's error code."""
    request = urllib.request.Request(url, data=body, headers=headers, method="PUT")  # noqa: S310  (loopback)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return int(answer.status), ""
    except urllib.error.HTTPError as refused:
        return int(refused.code), refused.headers.get("x-ms-error-code", "")


def write_config(folder: Path, name: str, endpoint: str, key: str, container: str) -> Path:
    """Write the destination file an import service would keep for this customer."""
    config = folder / f"{name}.toml"
    lines = [
        'provider = "azure"',
        f'name = "{name} (local Azurite)"',
        f'account_name = "{ACCOUNT}"',
        f'container = "{container}"',
        f'endpoint_url = "{endpoint}"',
        f'account_key = "{key}"',
        f'prefix = "imports/{name}/"',
        f'origins = ["{ORIGIN}"]',
    ]
    config.write_text("\n".join(lines) + "\n")
    return config


def apply_cors_from_policy(service: BlobServiceClient, destination: AzureDestination) -> None:
    """Set the Blob service CORS rule exactly as `byos policy` prints it (cors-rules.json)."""
    (rule,) = build_policy(destination).document("cors-rules.json")["corsRules"]
    service.set_service_properties(
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


def well_configured(report: Report) -> bool:
    """Every check passes but those the local server cannot prove, which end as NOT_PROVABLE_HERE says."""
    return all(check.status is NOT_PROVABLE_HERE.get(check.id, Status.PASS) for check in report.checks)


def show_keys(destination: AzureDestination, console: Console) -> None:
    """Show the keys an untrusted file name gets."""
    layout = KeyLayout.from_destination(destination)
    console.print(f"file name from the browser: {SAMPLE_NAME!r}")
    console.print(f"raw upload key:            {layout.raw_key(SAMPLE_NAME)!r}")
    console.print(f"cleaned result key:        {layout.result_key('imp_0001')!r}")
    console.print(f"setup probes go under:     {layout.probe_folder!r}")


def broken_and_fixed(service: BlobServiceClient, destination: AzureDestination, console: Console) -> bool:
    """Check a container anyone can read, show the remediation, apply it, and check again."""
    report = check_setup(destination)
    print_report(report, console)
    public = next(check for check in report.checks if check.id == "public_access")
    console.print(f"[bold]what the checker says to do:[/] {public.remediation}", markup=True, highlight=False)
    console.print("applying it: the container's public access level is set to private")
    service.get_container_client(destination.container).set_container_access_policy(signed_identifiers={})
    again = check_setup(destination)
    fixed = next(check for check in again.checks if check.id == "public_access")
    console.print(f"public_access after the fix: {fixed.status.value}: {fixed.message}", highlight=False)
    return public.status is Status.FAIL and fixed.status is Status.PASS and again.ok


def upload_like_a_browser(
    service: BlobServiceClient, destination: AzureDestination, console: Console
) -> bool:
    """Presign a sample CSV upload, send it as a browser would, and try to overwrite it."""
    upload = presign_upload(destination, SAMPLE_NAME, content_type="text/csv")
    console.print(f"method:     {upload.method}")
    console.print(f"url:        {redact_url(upload.url)}")
    console.print(f"headers:    {dict(upload.headers)}")
    console.print(f"key:        {upload.key}")
    console.print(f"expires at: {upload.expires_at.isoformat()}")
    first, _ = put(upload.url, {**upload.headers, "Origin": ORIGIN}, SAMPLE)
    second, code = put(upload.url, {**upload.headers, "Origin": ORIGIN}, b"attacker,overwrite\n")
    blob = service.get_blob_client(destination.container, upload.key)
    landed = blob.download_blob().readall() == SAMPLE
    metadata = blob.get_blob_properties().metadata
    console.print(f"upload:            HTTP {first}")
    console.print(f"same URL again:    HTTP {second} {code} (write-once: the file is never replaced)")
    console.print(f"stored content ok: {landed}; metadata: {metadata}")
    return first == 201 and second in (403, 409) and landed


def main() -> int:
    """Run the demo; return 0 when every step showed what it should."""
    logging.getLogger("azure").setLevel(logging.ERROR)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # a pipe or a file: wide enough for the report tables
    with tempfile.TemporaryDirectory(prefix="byos-demo-") as work:
        folder = Path(work)
        with azurite(folder) as endpoint:
            key = account_key()
            service = BlobServiceClient(endpoint, credential={"account_name": ACCOUNT, "account_key": key})
            service.create_container("acme-imports")
            service.create_container("globex-imports", public_access="container")
            good = load_destination(write_config(folder, "acme", endpoint, key, "acme-imports"), env=False)
            broken = load_destination(
                write_config(folder, "globex", endpoint, key, "globex-imports"), env=False
            )
            assert isinstance(good, AzureDestination)  # noqa: S101  (written just above)
            assert isinstance(broken, AzureDestination)  # noqa: S101
            apply_cors_from_policy(service, good)

            console.rule(f"[bold]1. a destination, set up as `byos policy` says[/]  {folder.name}/acme.toml")
            console.print_json(data=good.masked())
            console.rule("[bold]2. keys for an untrusted file name")
            show_keys(good, console)
            console.rule("[bold]3. setup check: a well-configured destination")
            report = check_setup(good)
            print_report(report, console)
            console.print(
                "[dim]Azurite proves the SAS, its permissions, CORS and anonymous access, so these passes "
                "are real. Two checks need what only Azure has: least_privilege warns because the account "
                "key (Azurite's only credential without Microsoft Entra ID) controls the whole account, and "
                "bucket.region is skipped (Azure names regions only in its management API); bucket.owner is "
                "skipped as an S3-only check. On Azure, with user delegation and the role `byos policy` "
                "prints, least_privilege passes.[/]"
            )
            console.rule("[bold]4. a broken setup: a container anyone can list and read")
            fixed = broken_and_fixed(service, broken, console)
            console.rule("[bold]5. presign an upload, send it as a browser would, then try to overwrite it")
            uploaded = upload_like_a_browser(service, good, console)
    ok = report.ok and well_configured(report) and fixed and uploaded
    console.rule("[bold green]demo done: all green" if ok else "[bold red]demo failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
