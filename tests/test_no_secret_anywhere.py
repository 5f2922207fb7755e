"""Planted secrets never reach any output channel: stdout, stderr, logs at DEBUG, exceptions, reprs, reports.

Each destination carries distinctive secrets (an S3 secret key and session token, an Azure account key, a
GCS HMAC secret, a service account's private key). Presigning, checking against the local servers (moto,
Azurite, fake-gcs-server) and failing on bad configuration are then run with every logger at DEBUG (so
botocore logs its request headers and bodies), and every channel is searched for the secrets, raw and
percent-encoded.

One exception is by design: a presigned URL made with temporary credentials carries the session token in
``X-Amz-Security-Token`` (S3 requires it), so the URL itself, printed by ``byos presign`` and in
``UploadRequest.to_dict()``, holds the token. It is the bearer token the caller asked for; its ``repr`` and
every log line and report redact it.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from rich.console import Console

from byos import log_redaction
from byos.checker import check_setup
from byos.checker.render import print_report, report_json
from byos.cli import main
from byos.config import Destination, destination_from_dict, load_destination
from byos.errors import ByosError, ConfigError
from byos.models import UploadOptions
from byos.providers import s3
from byos.uploads import presign_upload
from tests import gcs_helpers, s3_helpers
from tests.goog4_verifier import service_account_info
from tests.servers import AzuriteServer, FakeGcsServer, MotoServer
from tests.stub_servers import refusing_port

S3_SECRET = "planted-S3-secret-key-7Qx1Wm/Zr+0aa"
S3_TOKEN = "planted-session-token-FwoGZXIvYXdz/EXAMPLE+tok=="
AZURE_KEY = base64.b64encode(b"planted-azure-account-key-" + bytes(range(38))).decode()
GCS_HMAC = "planted-hmac-secret-Zk9/pQ+Rz0123456789ab"
PRIVATE_KEY_PEM = service_account_info(seed=77)["private_key"]
PRIVATE_KEY_LINE = PRIVATE_KEY_PEM.splitlines()[3]  # a line of the key's body, 64 base64 characters
SECRETS = {
    "S3 secret key": S3_SECRET,
    "S3 session token": S3_TOKEN,
    "Azure account key": AZURE_KEY,
    "GCS HMAC secret": GCS_HMAC,
    "private key": PRIVATE_KEY_LINE,
}
# Signature values in URLs are bearer tokens too: outside the URL itself they must be redacted.
_SIGNATURES = re.compile(r"(?i)(X-Amz-Signature|X-Goog-Signature|sig)=(?!REDACTED)[0-9a-zA-Z%+/]{16,}")


# Signatures of the URLs presigned during a test (the SAS ``sig``, ``X-Amz-Signature``, …): secrets too.
SIGNED: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _fresh_signatures() -> Iterator[None]:
    SIGNED.clear()
    yield
    SIGNED.clear()


def find_secrets(text: str, *, allow_token: bool = False, allow_signatures: bool = False) -> list[str]:
    """The names of the planted secrets found in ``text`` (raw, percent-encoded or JSON-escaped)."""
    found = []
    for name, value in ({**SECRETS} if allow_signatures else {**SECRETS, **SIGNED}).items():
        if allow_token and value == S3_TOKEN:
            continue
        forms = {value, quote(value, safe=""), quote(value, safe="/"), json.dumps(value)[1:-1]}
        if any(form in text for form in forms):
            found.append(name)
    return found


def assert_clean(text: str, where: str, *, allow_token: bool = False, allow_signatures: bool = False) -> None:
    leaked = find_secrets(text, allow_token=allow_token, allow_signatures=allow_signatures)
    assert not leaked, f"{leaked} in {where}"
    if not allow_signatures:
        assert not _SIGNATURES.search(text), f"a signature in {where}: {_SIGNATURES.search(text)}"


def exception_texts(error: BaseException) -> Iterator[str]:
    """str, repr and args of an exception and everything chained to it."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield f"{type(current).__name__}: {current!s} {current!r} {current.args!r}"
        pending += [current.__cause__, current.__context__]


def assert_exception_clean(error: BaseException, where: str) -> None:
    for text in exception_texts(error):
        assert_clean(text, f"{where} (exception chain)")


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG, captured; checked for secrets when the test ends."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("byos.tests").debug("capture is on")
    yield caplog
    assert_logs_clean(caplog)


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    records = caplog.get_records("setup") + caplog.get_records("call")
    assert any(r.getMessage() == "capture is on" for r in records), "DEBUG records are not captured"
    for record in records:
        assert_clean(record.getMessage(), f"log record of {record.name}")
        assert_clean(repr(record.args), f"log record args of {record.name}")
        if record.exc_text:
            assert_clean(record.exc_text, f"logged exception of {record.name}")
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    assert_clean("\n".join(formatter.format(record) for record in records), "the formatted log")


def write_toml(path: Path, settings: dict[str, Any]) -> Path:
    path.write_text("".join(f"{name} = {json.dumps(value)}\n" for name, value in settings.items()))
    return path


def s3_settings(moto: MotoServer, bucket: str) -> dict[str, Any]:
    return {
        "provider": "s3",
        "bucket": bucket,
        "region": moto.region,
        "endpoint_url": moto.endpoint,
        "access_key_id": "AKIDPLANTEDEXAMPLE",
        "secret_access_key": S3_SECRET,
        "session_token": S3_TOKEN,
        "prefix": "imports/",
        "origins": ["https://app.example.com"],
    }


def check_outputs(destination: Destination, where: str) -> None:
    """check_setup's report, as object, repr, JSON and text table, holds no secret and no signature."""
    report = check_setup(destination, timeout=5, deadline=30)
    assert report.checks
    assert_clean(repr(report), f"{where}: repr(report)")
    assert_clean(report_json(report), f"{where}: JSON report")
    console = Console(file=io.StringIO(), width=200)
    print_report(report, console)
    assert_clean(console.file.getvalue(), f"{where}: text report")  # type: ignore[attr-defined]


def presign_outputs(destination: Destination, where: str, *, allow_token: bool = False) -> None:
    request = presign_upload(destination, "report.csv", content_type="text/csv")
    query = parse_qs(urlsplit(request.url).query)
    for name in ("sig", "X-Amz-Signature", "X-Goog-Signature"):
        if name in query:
            SIGNED[f"{where} {name}"] = query[name][0]
    assert SIGNED, "the presigned URL carries no signature to look for"
    assert_clean(repr(request), f"{where}: repr(UploadRequest)")
    assert_clean(
        json.dumps(request.to_dict()), f"{where}: to_dict", allow_token=allow_token, allow_signatures=True
    )
    assert_clean(repr(destination), f"{where}: repr(destination)")
    assert_clean(json.dumps(destination.masked()), f"{where}: masked settings")


def test_s3_presign_check_and_cli_leak_nothing(
    moto_server: MotoServer,
    debug_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = s3_helpers.new_bucket(moto_server)
    settings = s3_settings(moto_server, bucket)
    destination = destination_from_dict(settings, env=False)
    presign_outputs(destination, "s3", allow_token=True)
    check_outputs(destination, "s3")
    assert any(r.name.startswith("botocore") for r in debug_logs.get_records("call")), (
        "botocore was not driven"
    )

    config = write_toml(tmp_path / "acme.toml", settings)
    for arguments in (["check", "--config", str(config)], ["check", "--config", str(config), "--json"]):
        main(arguments)
        captured = capsys.readouterr()
        assert_clean(captured.out, f"stdout of byos {' '.join(arguments[:1])}")
        assert_clean(captured.err, "stderr of byos check")
    assert main(["config", "validate", str(config)]) == 0
    captured = capsys.readouterr()
    assert_clean(captured.out + captured.err, "byos config validate")
    assert main(["presign", "--config", str(config), "--filename", "a.csv", "--json"]) == 0
    captured = capsys.readouterr()
    assert_clean(captured.out, "byos presign", allow_token=True, allow_signatures=True)
    assert_clean(captured.err, "stderr of byos presign")


@pytest.mark.usefixtures("debug_logs")
def test_s3_transport_failures_and_bad_input_leak_nothing(moto_server: MotoServer) -> None:
    bucket = s3_helpers.new_bucket(moto_server)
    with refusing_port() as port:
        settings = {**s3_settings(moto_server, bucket), "endpoint_url": f"http://127.0.0.1:{port}"}
        destination = destination_from_dict(settings, env=False)
        with pytest.raises(ByosError) as caught:
            s3.start_multipart(destination, UploadOptions(filename="big.bin"), 10 * 1024**2)
        assert_exception_clean(caught.value, "multipart start on a refused port")
        check_outputs(destination, "s3 on a refused port")
    destination = destination_from_dict(s3_settings(moto_server, bucket), env=False)
    with pytest.raises(ByosError) as bad_input:
        presign_upload(destination, "a.csv", overwrite="false")  # type: ignore[arg-type]
    assert_exception_clean(bad_input.value, "presign with a bad option")


@pytest.mark.usefixtures("debug_logs")
def test_azure_presign_and_check_leak_nothing(
    azurite: AzuriteServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = {
        "provider": "azure",
        "account_name": azurite.account_name,
        "container": "uploads",
        "endpoint_url": azurite.blob_endpoint,
        "account_key": AZURE_KEY,  # not Azurite's key: the checks fail, nothing may say why with the key
        "prefix": "imports/",
    }
    destination = destination_from_dict(settings, env=False)
    presign_outputs(destination, "azure")
    check_outputs(destination, "azure")
    config = write_toml(tmp_path / "azure.toml", settings)
    main(["check", "--config", str(config)])
    main(["config", "validate", str(config)])
    captured = capsys.readouterr()
    assert_clean(captured.out + captured.err, "byos check / config validate (azure)")


@pytest.mark.usefixtures("debug_logs")
def test_gcs_hmac_and_key_file_presign_and_check_leak_nothing(
    fake_gcs: FakeGcsServer, tmp_path: Path
) -> None:
    bucket = gcs_helpers.new_bucket(fake_gcs)
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(service_account_info(seed=77)))
    base = {
        "provider": "gcs",
        "bucket": bucket,
        "location": fake_gcs.location,
        "endpoint_url": fake_gcs.endpoint,
    }
    for name, extra in (
        ("hmac", {"hmac_access_id": "GOOG1EPLANTEDHMACID", "hmac_secret": GCS_HMAC}),
        ("key file", {"service_account_file": str(key_file)}),
    ):
        destination = destination_from_dict({**base, **extra}, env=False)
        presign_outputs(destination, f"gcs {name}")
        check_outputs(destination, f"gcs {name}")


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"account_key": "planted-not-base64!!" + AZURE_KEY}, "account_key"),
        ({"account_key": AZURE_KEY, "container": "Bad_Container"}, "container"),
        ({"account_key": AZURE_KEY, "origins": [f"https://user:{AZURE_KEY}@app.example.com"]}, "origins.0"),
        (
            {"account_key": AZURE_KEY, "endpoint_url": f"https://{AZURE_KEY[:20]}:{AZURE_KEY}@example.com"},
            "endpoint_url",
        ),
        ({"account_key": AZURE_KEY, "client_secret": S3_SECRET}, "client_secret"),
    ],
)
def test_config_errors_carry_no_secret_in_message_or_chain(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        destination_from_dict(
            {"provider": "azure", "account_name": "acmeimports", "container": "uploads", **settings},
            env=False,
        )
    assert caught.value.field == field
    assert_exception_clean(caught.value, f"config error on {field}")
    assert caught.value.__context__ is None


def test_config_file_errors_carry_no_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad_utf8 = tmp_path / "bad.toml"
    bad_utf8.write_bytes(
        f'provider = "s3"\nsecret_access_key = "{S3_SECRET}"\nbucket = "\xff"\n'.encode("latin-1")
    )
    bad_toml = tmp_path / "syntax.toml"
    bad_toml.write_text(f'provider = "s3"\nsecret_access_key = "{S3_SECRET}\n')
    for path in (bad_utf8, bad_toml):
        with pytest.raises(ConfigError) as caught:
            load_destination(path, env=False)
        assert_exception_clean(caught.value, f"loading {path.name}")
        assert main(["config", "validate", str(path)]) == 2
        captured = capsys.readouterr()
        assert_clean(captured.out + captured.err, f"byos config validate {path.name}")


def test_env_file_errors_carry_no_secret(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(f"BYOS_SECRET_ACCESS_KEY={S3_SECRET}\nBYOS_BUCKET=\xff\n".encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        destination_from_dict({"provider": "s3"}, env_file=env_file)
    assert_exception_clean(caught.value, "a non-UTF-8 .env")


def test_the_sdk_log_filter_redacts_known_secrets_and_credential_shapes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log_redaction.install()
    log_redaction.remember(S3_SECRET, S3_TOKEN)
    caplog.set_level(logging.DEBUG)
    logger = logging.getLogger("botocore.endpoint")
    logger.debug(
        "headers: %r",
        {
            "X-Amz-Security-Token": S3_TOKEN,
            "Authorization": "AWS4-HMAC-SHA256 Credential=A/x, Signature=abcdef0123456789abcdef",
        },
    )
    logging.getLogger("botocore.parsers").debug(
        "Response body:\n%r", b"<SecretAccessKey>other-secret-value</SecretAccessKey>"
    )
    logging.getLogger("urllib3.connectionpool").debug(
        '"PUT /c/b?sv=1&sig=%s HTTP/1.1" 201', quote(AZURE_KEY, safe="")
    )
    logging.getLogger("google.auth.transport").debug(
        '{"access_token": "ya29.planted-token", "token_type": "Bearer"}'
    )
    logging.getLogger("azure.core").debug("Authorization: Bearer eyJplanted.token.value")
    logging.getLogger("botocore.credentials").debug("key: %s", PRIVATE_KEY_PEM)
    error = ValueError(f"token {S3_TOKEN}")
    logging.getLogger("boto3.resources").error("failed", exc_info=(ValueError, error, None))
    text = caplog.text
    for planted in (
        S3_TOKEN,
        S3_SECRET,
        "other-secret-value",
        "ya29.planted-token",
        "eyJplanted",
        PRIVATE_KEY_LINE,
        "abcdef0123456789abcdef",
    ):
        assert planted not in text
    assert quote(AZURE_KEY, safe="") not in text
    assert text.count("REDACTED") >= 8
    logging.getLogger("byos.other").debug("not an SDK logger: %s", "kept-as-is-1234")
    assert "kept-as-is-1234" in caplog.text


def test_remembering_a_fleets_secrets_stays_cheap() -> None:
    started = time.monotonic()
    for number in range(1000):
        log_redaction.remember(f"fleet-secret-{number:06d}-xxxxxxxxxxxx", f"fleet-token-{number:06d}-yyyyyyy")
    assert time.monotonic() - started < 2.0  # rebuilding the pattern per secret took 30 s for 1000
    assert log_redaction.redact("a fleet-secret-000999-xxxxxxxxxxxx b") == "a REDACTED b"


def _broken_json(text: str) -> str:
    return text + "\n,,,"


def _broken_pem(text: str) -> str:
    info = json.loads(text)
    info["private_key"] = info["private_key"].replace("-----END", "garbage\n-----END")
    return json.dumps(info)


def _not_utf8(text: str) -> str:
    return text  # written with a stray byte below


@pytest.mark.parametrize("damage", [_broken_json, _broken_pem, _not_utf8], ids=["json", "pem", "utf8"])
def test_a_damaged_key_file_error_keeps_no_key_text_in_its_chain(tmp_path: Path, damage: Any) -> None:
    key_file = tmp_path / "sa.json"
    content = damage(json.dumps(service_account_info(seed=77))).encode()
    key_file.write_bytes(content + (b"\xff" if damage is _not_utf8 else b""))
    assert PRIVATE_KEY_LINE.encode() in key_file.read_bytes() or damage is _broken_pem
    destination = destination_from_dict(
        {
            "provider": "gcs",
            "bucket": "acme-imports",
            "location": "EU",
            "service_account_file": str(key_file),
        },
        env=False,
    )
    with pytest.raises(ConfigError) as caught:
        presign_upload(destination, "a.csv")
    assert caught.value.field == "service_account_file"
    assert_exception_clean(caught.value, f"presign with a damaged key file ({damage.__name__})")
    assert caught.value.__context__ is None


def test_signer_key_errors_keep_no_key_in_their_chain() -> None:
    from byos.signing.sas import BlobSasSigner  # noqa: PLC0415
    from byos.signing.sigv4 import SigV4Signer  # noqa: PLC0415

    surrogate_secret = S3_SECRET + "\ud800"
    with pytest.raises(ByosError) as caught:
        SigV4Signer("AKIDPLANTEDEXAMPLE", surrogate_secret, "us-east-1")
    assert_exception_clean(caught.value, "SigV4Signer with an unencodable secret")
    assert caught.value.__context__ is None
    with pytest.raises(ByosError) as sas:
        BlobSasSigner("acmeimports", account_key=AZURE_KEY + "!")
    assert_exception_clean(sas.value, "BlobSasSigner with a key that is not base64")
    assert sas.value.__context__ is None
