"""Section 3, cold start: a fresh interpreter that imports byos (or an SDK) and presigns one URL."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.bench_fixtures import Keys
from benchmarks.bench_inputs import (
    ACCESS_KEY_ID,
    ACCOUNT,
    ACCOUNT_KEY,
    BUCKET,
    CONTAINER,
    CONTENT_LENGTH,
    CONTENT_TYPE,
    EXPIRES,
    FILENAME,
    GCS_HEADERS,
    GCS_PROJECT,
    KEY,
    METADATA,
    REGION,
    SDK_ROOTS,
    SECRET_ACCESS_KEY,
    SECTION_COLD,
    Plan,
)
from benchmarks.bench_report import Outcome, Run, ratio_line, table


@dataclass(frozen=True, slots=True)
class Cold:
    """One cold-start command: a ``python -c`` program and what it stands for."""

    id: str
    label: str
    code: str
    reports_sdk_modules: bool = False


def cold_commands(keys: Keys) -> list[Cold]:
    """The programs a fresh interpreter runs: nothing, byos per provider, each SDK."""
    sdk_check = (
        "\nimport sys as _s\n"
        f"print('SDK-MODULES=' + ','.join(sorted(m for m in _s.modules if m.split('.')[0] in {SDK_ROOTS!r})))"
    )
    key_file = str(keys.service_account_file)
    cli_config = keys.service_account_file.with_name("s3-cli.toml")
    cli_config.write_text(
        f'provider = "s3"\nbucket = "{BUCKET}"\nregion = "{REGION}"\nprefix = "imports/"\n'
        f'access_key_id = "{ACCESS_KEY_ID}"\nsecret_access_key = "{SECRET_ACCESS_KEY}"\n',
        encoding="utf-8",
    )
    cli_argv = ["byos", "presign", "--config", str(cli_config), "--filename", FILENAME, "--json"]
    s3_settings = {
        "provider": "s3",
        "bucket": BUCKET,
        "region": REGION,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
    }
    put = (
        f"presign_put({BUCKET!r}, {KEY!r}, expires={EXPIRES}, now=datetime.now(UTC),"
        f" content_type={CONTENT_TYPE!r}, content_length={CONTENT_LENGTH}, if_none_match=True,"
        f" metadata={METADATA!r})"
    )
    return [
        Cold("bare", "python -c pass", "pass"),
        Cold(
            "byos.s3",
            "byos S3 (SigV4Signer.presign_put)",
            "import byos\n"
            "from datetime import UTC, datetime\n"
            "from byos.signing.sigv4 import SigV4Signer\n"
            f"SigV4Signer({ACCESS_KEY_ID!r}, {SECRET_ACCESS_KEY!r}, {REGION!r}).{put}" + sdk_check,
            reports_sdk_modules=True,
        ),
        Cold(
            "byos.s3.library",
            "byos S3 (config + presign_upload)",
            "from byos.config import destination_from_dict\n"
            "from byos.uploads import presign_upload\n"
            f"dest = destination_from_dict({s3_settings!r}, env=False)\n"
            f"presign_upload(dest, {FILENAME!r}, content_type={CONTENT_TYPE!r},"
            f" content_length={CONTENT_LENGTH})" + sdk_check,
            reports_sdk_modules=True,
        ),
        Cold(
            "byos.cli",
            "byos presign --config FILE --filename NAME --json",
            # What the byos console script runs; the JSON (a bearer URL) goes to /dev/null.
            "import os, sys\n"
            f"sys.argv = {cli_argv!r}\n"
            "sys.stdout = open(os.devnull, 'w')\n"
            "from byos.cli import main\n"
            "sys.exit(main())",
        ),
        Cold(
            "byos.azure",
            "byos Azure (BlobSasSigner.sign, account key)",
            "import byos\n"
            "from datetime import UTC, datetime, timedelta\n"
            "from byos.signing.sas import BlobSasSigner\n"
            f"BlobSasSigner({ACCOUNT!r}, account_key={ACCOUNT_KEY!r}).sign({CONTAINER!r}, {KEY!r},"
            f" now=datetime.now(UTC), expires=timedelta(seconds={EXPIRES}))" + sdk_check,
            reports_sdk_modules=True,
        ),
        Cold(
            "byos.gcs",
            "byos GCS (presign_url, key file)",
            "import byos\n"
            "from byos.signing.goog4 import ServiceAccountSigner, presign_url\n"
            f"signer = ServiceAccountSigner.from_service_account_file({key_file!r})\n"
            f"presign_url(signer, 'PUT', {BUCKET!r}, {KEY!r}, signed_headers={GCS_HEADERS!r},"
            f" expires={EXPIRES})" + sdk_check,
            reports_sdk_modules=True,
        ),
        Cold(
            "sdk.s3",
            "boto3 generate_presigned_url",
            "import boto3\n"
            f"client = boto3.client('s3', region_name={REGION!r}, aws_access_key_id={ACCESS_KEY_ID!r},"
            f" aws_secret_access_key={SECRET_ACCESS_KEY!r})\n"
            f"client.generate_presigned_url('put_object', Params={{'Bucket': {BUCKET!r}, 'Key': {KEY!r},"
            f" 'ContentType': {CONTENT_TYPE!r}, 'IfNoneMatch': '*'}}, ExpiresIn={EXPIRES})",
        ),
        Cold(
            "sdk.azure",
            "azure-storage-blob generate_blob_sas",
            "from datetime import UTC, datetime, timedelta\n"
            "from urllib.parse import quote\n"
            "from azure.storage.blob import BlobSasPermissions, generate_blob_sas\n"
            "now = datetime.now(UTC)\n"
            f"sas = generate_blob_sas({ACCOUNT!r}, {CONTAINER!r}, {KEY!r}, account_key={ACCOUNT_KEY!r},"
            f" permission=BlobSasPermissions(create=True), expiry=now + timedelta(seconds={EXPIRES}),"
            " start=now - timedelta(minutes=5), protocol='https')\n"
            f"url = 'https://{ACCOUNT}.blob.core.windows.net/{CONTAINER}/'"
            f" + quote({KEY!r}, safe='/~') + '?' + sas",
        ),
        Cold(
            "sdk.gcs",
            "google-cloud-storage generate_signed_url",
            "from datetime import timedelta\n"
            "from google.cloud import storage\n"
            "from google.oauth2 import service_account\n"
            f"credentials = service_account.Credentials.from_service_account_file({key_file!r})\n"
            f"client = storage.Client(project={GCS_PROJECT!r}, credentials=credentials)\n"
            f"client.bucket({BUCKET!r}).blob({KEY!r}).generate_signed_url(version='v4', method='PUT',"
            f" expiration=timedelta(seconds={EXPIRES}), headers={GCS_HEADERS!r})",
        ),
    ]


@dataclass
class ColdResult:
    """Wall and CPU seconds and peak RSS (MiB) of each run of one command, and the SDK modules it listed."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    sdk_modules: list[str] | None = None
    error: str = ""


def run_cold(command: Cold, folder: Path, env: dict[str, str], result: ColdResult) -> None:
    """Run one fresh interpreter; add its wall time and peak RSS to ``result``."""
    time_tool = shutil.which("time", path="/usr/bin")
    program = command.code
    rss_file = folder / "rss.txt"
    if time_tool is None:
        # Peak RSS of this process image only (VmHWM), read just before exit.
        program += (
            "\nfor _l in open('/proc/self/status'):\n"
            "    if _l.startswith('VmHWM:'): print('VMHWM-KIB=' + _l.split()[1])"
        )
        argv = [sys.executable, "-c", program]
    else:
        argv = [time_tool, "-f", "%M", "-o", str(rss_file), sys.executable, "-c", program]
    out_file, err_file = folder / "stdout.txt", folder / "stderr.txt"
    with out_file.open("wb") as out, err_file.open("wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        # wait4 gives the CPU time of the child and its own children (the interpreter under /usr/bin/time).
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        lines = err_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        result.error = (lines or [f"exit status {child.returncode}"])[-1][:100]
        return
    rss_kib: int | None = None
    for line in out_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("SDK-MODULES="):
            names = line.removeprefix("SDK-MODULES=")
            result.sdk_modules = names.split(",") if names else []
        elif line.startswith("VMHWM-KIB="):
            rss_kib = int(line.removeprefix("VMHWM-KIB="))
    if time_tool is not None:
        rss_kib = int(rss_file.read_text(encoding="ascii").split()[-1])
    assert rss_kib is not None  # noqa: S101 - one of the two ways always reports it
    result.wall.append(wall)
    result.cpu.append(usage.ru_utime + usage.ru_stime)
    result.rss.append(rss_kib / 1024)


def section_cold(run: Run, plan: Plan, keys: Keys, folder: Path) -> None:
    """Section 3: wall time and peak RSS of a fresh interpreter that imports and presigns one URL."""
    print(SECTION_COLD)
    commands = cold_commands(keys)
    # Compiled bytecode, as an installed application has it, for byos and the SDKs alike: the children
    # write it once (warm-up) into a cache outside the source tree, even where PYTHONDONTWRITEBYTECODE is set.
    pycache = Path(tempfile.gettempdir()) / "byos-bench-pycache"
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        {
            "PYTHONPYCACHEPREFIX": str(pycache),
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    results = {command.id: ColdResult() for command in commands}
    for command in commands:  # warm-up: bytecode caches and the page cache
        run_cold(command, folder, env, ColdResult())
    for _ in range(plan.cold_runs):
        for command in commands:
            if not results[command.id].error:
                run_cold(command, folder, env, results[command.id])
    method = "/usr/bin/time %M" if shutil.which("time", path="/usr/bin") else "VmHWM of the child"
    print(
        f"{plan.cold_runs} runs each after a warm-up, medians; peak RSS by {method}; bytecode cache {pycache}"
    )
    bare = results["bare"]
    bare_wall, bare_cpu, bare_rss = (statistics.median(v) for v in (bare.wall, bare.cpu, bare.rss))
    extra: dict[str, tuple[Outcome, Outcome]] = {}
    rows = []
    for command in commands:
        result = results[command.id]
        if result.error or not result.wall:
            extra[command.id] = (Outcome(None, result.error), Outcome(None, result.error))
            rows.append([command.label, "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"])
            continue
        wall, cpu, rss = (statistics.median(v) for v in (result.wall, result.cpu, result.rss))
        extra[command.id] = (Outcome(wall - bare_wall, cpu=cpu - bare_cpu), Outcome(rss - bare_rss))
        rows.append(
            [
                command.label,
                f"{wall * 1000:.1f}",
                f"{(wall - bare_wall) * 1000:+.1f}",
                f"{cpu * 1000:.1f}",
                f"{(cpu - bare_cpu) * 1000:+.1f}",
                f"{rss:.1f}",
                f"{rss - bare_rss:+.1f}",
            ]
        )
    table(["command", "wall ms", "extra ms", "CPU ms", "extra CPU ms", "peak RSS MiB", "extra MiB"], rows)
    for command in commands:
        if results[command.id].error:
            print(f"n/a: {command.label}: {results[command.id].error}")
    print()
    for command in commands:
        modules = results[command.id].sdk_modules
        if command.reports_sdk_modules and modules is not None:
            verdict = "OK" if not modules else "NOT EMPTY"
            print(f"cloud SDK modules in sys.modules after {command.label}: {modules} {verdict}")
    print()
    for provider, byos_id, sdk_id in (
        ("S3", "byos.s3", "sdk.s3"),
        ("Azure", "byos.azure", "sdk.azure"),
        ("GCS", "byos.gcs", "sdk.gcs"),
    ):
        ratio_line(
            f"cold {provider} time vs SDK",
            ("SDK extra ms", extra[sdk_id][0]),
            ("byos extra ms", extra[byos_id][0]),
        )
        ratio_line(
            f"cold {provider} memory vs SDK",
            ("SDK extra MiB", extra[sdk_id][1]),
            ("byos extra MiB", extra[byos_id][1]),
        )
    print()
    cold_targets(run, extra)
    sdk_free = [results[i].sdk_modules for i in ("byos.s3", "byos.azure")]
    run.target(
        "no cloud SDK module loaded by byos S3/Azure",
        "none" if sdk_free == [[], []] else str(sdk_free),
        None if None in sdk_free else sdk_free == [[], []],
    )


def cold_targets(run: Run, extra: dict[str, tuple[Outcome, Outcome]]) -> None:
    """Record the cold-start targets: extra time (and memory) over ``python -c pass``."""
    for provider, byos_id, limit_ms in (
        ("S3", "byos.s3", 25),
        ("Azure", "byos.azure", 40),
        ("CLI presign --json", "byos.cli", 80),
    ):
        ms, mib = extra[byos_id]
        what = "start" if provider.startswith("CLI") else "import + first URL"
        run.target(
            f"cold {provider}: {what} <= +{limit_ms} ms",
            "n/a" if ms.value is None else f"{ms.value * 1000:+.1f} ms",
            None if ms.value is None else ms.value <= limit_ms / 1000,
            "n/a" if ms.cpu is None else f"{ms.cpu * 1000:+.1f} ms",
            None if ms.cpu is None else ms.cpu <= limit_ms / 1000,
        )
        if provider.startswith("CLI"):
            continue
        run.target(
            f"cold {provider}: import + first URL <= +5 MiB",
            "n/a" if mib.value is None else f"{mib.value:+.1f} MiB",
            None if mib.value is None else mib.value <= 5.0,
        )
