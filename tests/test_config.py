"""Destination settings: loading from TOML, environment and .env; errors name the field and the fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from byos.config import (
    AzureDestination,
    GCSDestination,
    S3Destination,
    destination_from_dict,
    load_destination,
    load_fleet,
)
from byos.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
S3 = {"provider": "s3", "bucket": "acme-imports", "region": "eu-west-1"}
GCS = {"provider": "gcs", "bucket": "acme-imports", "location": "europe-west1"}
AZURE = {"provider": "azure", "account_name": "acmeimports", "container": "imports"}


def build(base: dict[str, Any], **changes: Any) -> Any:
    return destination_from_dict({**base, **changes}, env=False)


@pytest.mark.parametrize("example", sorted((REPO / "config").glob("*.toml")), ids=lambda p: p.name)
def test_every_example_config_loads(example: Path) -> None:
    destination = load_destination(example, env=False)
    assert destination.provider in example.name


def test_fleet_folder_loads_every_tenant() -> None:
    fleet = load_fleet(REPO / "config" / "fleet")
    assert len(fleet) >= 3
    assert all(not isinstance(item, ConfigError) for _, item in fleet)
    assert {item.provider for _, item in fleet if not isinstance(item, ConfigError)} == {"s3", "gcs", "azure"}


def test_fleet_reports_a_bad_file_without_stopping(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text('provider = "s3"\nbucket = "good-bucket"\nregion = "us-east-1"\n')
    (tmp_path / "bad.toml").write_text('provider = "s3"\nbucket = "Bad_Bucket"\nregion = "us-east-1"\n')
    results = {path.name: item for path, item in load_fleet(tmp_path)}
    assert isinstance(results["bad.toml"], ConfigError)
    assert isinstance(results["good.toml"], S3Destination)


def test_defaults() -> None:
    destination = build(S3)
    assert isinstance(destination, S3Destination)
    assert destination.expires == timedelta(minutes=30)
    assert destination.raw_key_template == "{prefix}{upload_id}-{filename}"
    assert destination.result_key_template == "{prefix}{import_id}.json"
    assert destination.label == "s3://acme-imports/"


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("30m", 1800), ("1h30m", 5400), ("7d", 604800), ("1s", 1), (90, 90), ("PT2H", 7200), ("45", 45)],
)
def test_expiry_formats(written: object, seconds: int) -> None:
    assert build(S3, expires=written).expires == timedelta(seconds=seconds)


def test_locations_and_origins_are_normalised() -> None:
    assert build(GCS).location == "EUROPE-WEST1"
    assert build(AZURE, location="West Europe").location == "westeurope"
    origins = build(S3, origins=["HTTPS://App.Example.com:443/", "http://localhost:5173"]).origins
    assert origins == ["https://app.example.com", "http://localhost:5173"]


BAD_SETTINGS: list[tuple[dict[str, Any], dict[str, Any], str, str]] = [
    (S3, {"bucket": "Acme_Imports"}, "bucket", "not a valid S3 bucket name"),
    (S3, {"bucket": "ab"}, "bucket", "not a valid S3 bucket name"),
    (S3, {"bucket": "acme..imports"}, "bucket", "dot next to"),
    (S3, {"bucket": "192.168.1.1"}, "bucket", "IP address"),
    (S3, {"bucket": "xn--acme"}, "bucket", "reserved"),
    (S3, {"region": "Europe"}, "region", "region name"),
    (S3, {"region": "europe"}, "region", "not an AWS region name"),
    (S3, {"endpoint_url": "https://minio.example.com/s3"}, "endpoint_url", "has a path"),
    (GCS, {"endpoint_url": "http://127.0.0.1:4443/path"}, "endpoint_url", "has a path"),
    (S3, {"endpoint_url": "http://127.0.0.1:1/a b"}, "endpoint_url", "spaces"),
    (S3, {"sse_kms_key_id": "key\nid"}, "sse_kms_key_id", "not a KMS key"),
    (
        S3,
        {"raw_key_template": "{prefix}byos-probes/{upload_id}-{filename}"},
        "raw_key_template",
        "probe folder",
    ),
    (S3, {"region": None}, "region", "Input should be a valid string"),
    (S3, {"expires": "0s"}, "expires", "out of range"),
    (S3, {"expires": "8d"}, "expires", "out of range"),
    (S3, {"expires": "soon"}, "expires", "not a duration"),
    (S3, {"origins": ["*"]}, "origins.0", "every web site"),
    (S3, {"origins": ["https://app.example.com/path"]}, "origins.0", "more than scheme"),
    (S3, {"origins": ["http://app.example.com"]}, "origins.0", "plain http"),
    (S3, {"endpoint_url": "ftp://x"}, "endpoint_url", "not an http(s) URL"),
    (S3, {"endpoint_url": "http://storage.example.com"}, "endpoint_url", "clear text"),
    (S3, {"prefix": "/abs/"}, "prefix", "starts with '/'"),
    (S3, {"prefix": "a/../b/"}, "prefix", "'..'"),
    (S3, {"prefix": "a\u202eb/"}, "prefix", "invisible"),
    (S3, {"access_key_id": "AKIAEXAMPLE"}, "secret_access_key", "together"),
    (S3, {"external_id": "abc123"}, "external_id", "without role_arn"),
    (S3, {"role_arn": "arn:aws:iam::12:role/x"}, "role_arn", "not a valid IAM role ARN"),
    (S3, {"raw_key_template": "{prefix}{filename}"}, "raw_key_template", "no unique part"),
    (
        S3,
        {"raw_key_template": "{prefix}{import_id}-{filename}"},
        "raw_key_template",
        "include {upload_id}",
    ),
    (S3, {"max_upload_bytes": 0}, "max_upload_bytes", "out of range"),
    (S3, {"probe_prefix": "probes"}, "probe_prefix", "must end with '/'"),
    (S3, {"bucket_name": "x"}, "bucket_name", "did you mean bucket"),
    (GCS, {"bucket": "google-imports"}, "bucket", "google"),
    (GCS, {"bucket": "a" * 64}, "bucket", "outside 1-63 characters"),
    (GCS, {"location": "eu west"}, "location", "not a valid GCS location"),
    (GCS, {"hmac_access_id": "GOOG1X"}, "hmac_secret", "together"),
    (GCS, {"service_account_file": "/nonexistent/key.json"}, "service_account_file", "does not exist"),
    (AZURE, {"account_name": "Acme"}, "account_name", "storage account name"),
    (AZURE, {"container": "my--container"}, "container", "container name"),
    (AZURE, {"account_key": "not base64!"}, "account_key", "not base64"),
    (AZURE, {"client_secret": "x"}, "client_secret", "tenant_id"),
    ({"bucket": "x"}, {}, "provider", "is missing"),
    ({"provider": "dropbox"}, {}, "provider", "not supported"),
]
"""Bad settings: (base, changes, the field the error names, a fragment of its message)."""


@pytest.mark.parametrize(("base", "changes", "field", "fragment"), BAD_SETTINGS)
def test_bad_settings_give_one_line_naming_the_field_and_fix(
    base: dict[str, Any], changes: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build(base, **changes)
    message = str(caught.value)
    assert caught.value.field == field
    assert message.startswith(f"{field}: ")
    assert fragment in message
    assert "\n" not in message
    assert caught.value.fix  # every error says how to fix it


def test_secrets_never_appear_in_repr_str_or_masked_output() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    destination = build(S3, access_key_id="AKIAEXAMPLE", secret_access_key=secret, session_token="tok-SECRET")
    shown = repr(destination) + str(destination) + str(destination.masked())
    assert secret not in shown
    assert "tok-SECRET" not in shown
    assert destination.secret_access_key is not None
    assert destination.secret_access_key.get_secret_value() == secret


def test_secret_in_an_invalid_value_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        build(AZURE, account_key="super secret value!")
    assert "super secret" not in str(caught.value)


def test_environment_fills_what_the_file_leaves_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "acme.toml"
    path.write_text(
        'provider = "s3"\nbucket = "acme-imports"\nregion = "eu-west-1"\naccess_key_id = "AKIAEXAMPLE"\n'
    )
    monkeypatch.setenv("BYOS_SECRET_ACCESS_KEY", "from-env")
    monkeypatch.setenv("BYOS_REGION", "us-east-1")  # the file wins
    destination = load_destination(path, env_file=None)
    assert isinstance(destination, S3Destination)
    assert destination.secret_access_key is not None
    assert destination.secret_access_key.get_secret_value() == "from-env"
    assert destination.region == "eu-west-1"
    assert destination.name == "acme"


def test_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYOS_PROVIDER", "gcs")
    monkeypatch.setenv("BYOS_BUCKET", "env-bucket")
    monkeypatch.setenv("BYOS_LOCATION", "us")
    monkeypatch.setenv("BYOS_ORIGINS", '["https://a.example.com"]')
    destination = load_destination(None, env_file=None)
    assert isinstance(destination, GCSDestination)
    assert (destination.bucket, destination.location, destination.origins) == (
        "env-bucket",
        "US",
        ["https://a.example.com"],
    )


def test_dotenv_file(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("BYOS_PROVIDER=azure\nBYOS_ACCOUNT_NAME=acmeimports\nBYOS_CONTAINER=imports\n")
    destination = load_destination(None, env_file=dotenv)
    assert isinstance(destination, AzureDestination)
    assert destination.blob_endpoint == "https://acmeimports.blob.core.windows.net"


def test_env_off_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYOS_SECRET_ACCESS_KEY", "from-env")
    destination = build(S3)
    assert isinstance(destination, S3Destination)
    assert destination.secret_access_key is None


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, "does not exist"), ("provider = ", "not valid TOML"), ('provider = "s3"', "is required")],
)
def test_unreadable_files(tmp_path: Path, content: str | None, fragment: str) -> None:
    path = tmp_path / "dest.toml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=fragment):
        load_destination(path, env=False)


def test_destinations_are_immutable() -> None:
    destination = build(S3)
    with pytest.raises(ValueError, match="frozen"):
        destination.bucket = "other"
