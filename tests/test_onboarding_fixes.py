"""The stumbles a new user hits: missing credentials, hints, lifetime, DNS, names, durations, endpoints."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from byos.checker import check_setup
from byos.config import destination_from_dict
from byos.errors import ConfigError
from byos.keys import KeyLayout, key_problems, sanitize_filename
from byos.models import Status

REPO = Path(__file__).resolve().parent.parent
BASE = {"provider": "s3", "bucket": "acme-imports", "region": "eu-west-1"}

NO_CREDENTIALS = {
    "s3": (
        'provider = "s3"\nbucket = "acme-imports"\nregion = "eu-west-1"\n',
        ["BYOS_ACCESS_KEY_ID", "BYOS_SECRET_ACCESS_KEY"],
    ),
    "gcs": (
        'provider = "gcs"\nbucket = "acme-imports"\nlocation = "EU"\n',
        ["BYOS_SERVICE_ACCOUNT_FILE", "BYOS_HMAC_ACCESS_ID", "BYOS_HMAC_SECRET"],
    ),
    "azure": (
        'provider = "azure"\naccount_name = "acmeimports"\ncontainer = "imports"\n',
        ["BYOS_ACCOUNT_KEY", "BYOS_CLIENT_SECRET"],
    ),
}


def _clean_env(home: Path) -> dict[str, str]:
    """An environment with no cloud credentials of any kind (and no metadata-server probing)."""
    kept = {name: value for name, value in os.environ.items() if name in ("PATH", "LANG", "SYSTEMROOT")}
    return {
        **kept,
        "HOME": str(home),
        "NO_GCE_CHECK": "True",
        "CLOUDSDK_CONFIG": str(home / "gcloud"),
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AZURE_CONFIG_DIR": str(home / "azure"),
    }


@pytest.mark.parametrize("provider", sorted(NO_CREDENTIALS))
def test_presign_without_credentials_exits_2_naming_the_byos_variables_and_env_file(
    provider: str, tmp_path: Path
) -> None:
    text, names = NO_CREDENTIALS[provider]
    config = tmp_path / f"{provider}.toml"
    config.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "byos.cli", "presign", "--config", str(config), "--filename", "a.csv"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env=_clean_env(tmp_path),
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("byos: error: no "), result.stderr
    assert result.stderr.count("\n") == 1
    assert ".env" in result.stderr
    for name in names:
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def _load(**settings: object) -> object:
    return destination_from_dict(
        {**BASE, "access_key_id": "AKIAEXAMPLE", "secret_access_key": "s", **settings}, env=False
    )


def _refusal(**settings: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _load(**settings)
    assert "\n" not in str(caught.value)
    return caught.value


def _advised_template(error: ConfigError, template: str) -> str:
    """Apply the hint of a 'no unique part' error the way its text says."""
    assert "include {upload_id} right after {prefix}" in error.fix
    return template.replace("{prefix}", "{prefix}{upload_id}", 1)


@pytest.mark.parametrize(
    "template", ["{prefix}{filename}", "{prefix}{import_id}-{filename}", "{prefix}{tenant}/{filename}"]
)
def test_the_raw_template_hint_followed_is_accepted(template: str) -> None:
    error = _refusal(raw_key_template=template, tenant="acme")
    assert error.field == "raw_key_template"
    assert "or {import_id}" not in str(error)
    followed = _advised_template(error, template)
    assert _load(raw_key_template=followed, tenant="acme").raw_key_template == followed  # type: ignore[attr-defined]


def test_the_result_template_still_takes_an_import_id() -> None:
    error = _refusal(result_key_template="{prefix}result.json")
    assert error.field == "result_key_template"
    assert "{import_id}" in error.fix
    assert _load(result_key_template="{prefix}{import_id}.json")


@pytest.mark.parametrize(
    ("settings", "field", "fragment"),
    [
        (
            {"prefix": ".well-known/", "raw_key_template": "{prefix}acme-challenge/{upload_id}-{filename}"},
            "raw_key_template",
            "acme-challenge",
        ),
        (
            {"prefix": ".well-known/", "probe_prefix": "acme-challenge/"},
            "probe_prefix",
            "acme-challenge",
        ),
        (
            {
                "prefix": "p" * 500 + "/",
                "raw_key_template": "{prefix}" + "l" * 520 + "/{upload_id}-{filename}",
            },
            "raw_key_template",
            "leaves no room for a file name",
        ),
        (
            {"prefix": "p" * 500 + "/", "result_key_template": "{prefix}" + "r" * 500 + "/{import_id}.json"},
            "result_key_template",
            "1024",
        ),
        (
            {"prefix": "a/" * 200, "raw_key_template": "{prefix}" + "b/" * 60 + "{upload_id}-{filename}"},
            "raw_key_template",
            "254 path segments",
        ),
        ({"raw_key_template": "{prefix}{upload_id}/{ext}"}, "raw_key_template", "without an extension"),
        ({"raw_key_template": "{prefix}{upload_id}.{ext}"}, "raw_key_template", "without an extension"),
        ({"raw_key_template": "{prefix}{upload_id}/{ext}/{filename}"}, "raw_key_template", "'//'"),
        (
            {"probe_prefix": "2026/", "raw_key_template": "{prefix}{yyyy}/{upload_id}-{filename}"},
            "probe_prefix",
            "probe folder",
        ),
        (
            {"probe_prefix": "1999-12-31/", "raw_key_template": "{prefix}{date}/{upload_id}-{filename}"},
            "probe_prefix",
            "probe folder",
        ),
        (
            {"probe_prefix": "202612/", "raw_key_template": "{prefix}{yyyy}{mm}/{upload_id}-{filename}"},
            "probe_prefix",
            "probe folder",
        ),
    ],
)
def test_templates_that_would_fail_on_a_later_presign_are_refused_at_load(
    settings: dict[str, str], field: str, fragment: str
) -> None:
    error = _refusal(**settings)
    assert error.field == field
    assert fragment in str(error)


@pytest.mark.parametrize(
    "template",
    [
        "{prefix}{upload_id}/{ext}",
        "{prefix}{upload_id}.{ext}",
        "{prefix}{upload_id}/{ext}/{filename}",
        "{prefix}{upload_id}/{ext}/{stem}",
    ],
)
def test_the_empty_extension_hints_followed_either_way_are_accepted(template: str) -> None:
    error = _refusal(raw_key_template=template)
    assert error.fix.startswith(
        "files without an extension leave {ext} empty: use {filename} instead of {ext}"
    )
    for followed in (template.replace("{ext}", "{filename}"), template.replace("{ext}", "{ext}x")):
        destination = _load(raw_key_template=followed)
        layout = KeyLayout.from_destination(destination)  # type: ignore[arg-type]
        for name in ("data", "report.csv", "x" * 300):
            assert key_problems(layout.raw_key(name)) == []


@pytest.mark.parametrize(
    "settings",
    [
        {"probe_prefix": "2026x/", "raw_key_template": "{prefix}{yyyy}/{upload_id}-{filename}"},
        {"probe_prefix": "probes/", "raw_key_template": "{prefix}{yyyy}/{upload_id}-{filename}"},
        {"raw_key_template": "{prefix}{upload_id}/{ext}-{stem}"},
        {"prefix": ".well-known/", "raw_key_template": "{prefix}{upload_id}-{filename}"},
        {"prefix": "p" * 500 + "/", "raw_key_template": "{prefix}" + "l" * 400 + "/{upload_id}-{filename}"},
    ],
)
def test_templates_whose_worst_cases_work_still_load(settings: dict[str, str]) -> None:
    destination = _load(**settings)
    layout = KeyLayout.from_destination(destination)  # type: ignore[arg-type]
    for name in ("data", "x" * 300 + ".csv", ".csv", "a.b.c.verylongextensi"):
        for year in (2026, 1999):
            key = layout.raw_key(name, when=datetime(year, 1, 1, tzinfo=UTC))
            assert key_problems(key) == []
            assert not key.startswith(layout.probe_folder)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("e\u200b\u0301.csv", "\u00e9.csv"),
        ("e\u202e\u0301.csv", "\u00e9.csv"),
        ("\u0301report.csv", "report.csv"),
        ("\u200b\u0301\u0302report.csv", "report.csv"),
        (". \u0301.report.csv", "report.csv"),
    ],
)
def test_sanitised_names_are_nfc_and_never_start_with_a_combining_mark(name: str, expected: str) -> None:
    cleaned = sanitize_filename(name)
    assert cleaned == expected
    assert unicodedata.is_normalized("NFC", cleaned)


def test_a_leading_combining_mark_cannot_join_the_upload_id() -> None:
    upload_id = "12345678-1234-5678-1234-56781234567a"
    layout = KeyLayout(raw_template="{prefix}{upload_id}{filename}")
    key = layout.raw_key("\u0301x.csv", upload_id=upload_id)
    assert key == f"{upload_id}x.csv"
    assert unicodedata.normalize("NFC", key) == key


@pytest.mark.parametrize(
    "text", ["\u0661\u0662", "\u0661\u0662s", "1\uff12m", "PT\u0661\u0662S", "\u096730m"]
)
def test_durations_take_ascii_digits_only(text: str) -> None:
    error = _refusal(expires=text)
    assert error.field == "expires"


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://storage.example.com/?",
        "https://storage.example.com/#",
        "https://storage.example.com/?a=b",
        "http://127.0.0.1:9000?x",
        "https://storage.example.com#frag",
    ],
)
@pytest.mark.parametrize(
    "provider",
    [
        {"provider": "s3", "bucket": "acme-imports", "region": "eu-west-1"},
        {"provider": "gcs", "bucket": "acme-imports", "location": "EU"},
        {"provider": "azure", "account_name": "acmeimports", "container": "imports", "account_key": "a2V5"},
    ],
)
def test_an_endpoint_with_a_query_or_fragment_is_one_line_refusal(
    endpoint: str, provider: dict[str, str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        destination_from_dict({**provider, "endpoint_url": endpoint}, env=False)
    assert caught.value.field == "endpoint_url"
    assert "query or fragment" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_without_credentials_lifetime_is_skipped_and_public_access_names_the_host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in _clean_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    destination = destination_from_dict(
        {**BASE, "endpoint_url": "https://nowhere.invalid", "role_arn": "arn:aws:iam::123456789012:role/x"},
        env=False,
    )
    report = check_setup(destination, timeout=2, deadline=10)
    by_id = {result.id: result for result in report.checks}
    assert by_id["credentials"].status is Status.FAIL
    assert by_id["lifetime"].status is Status.SKIP
    assert "credentials" in by_id["lifetime"].message
    assert "do not expire" not in by_id["lifetime"].message
    public = by_id["public_access"]
    assert "cannot resolve nowhere.invalid" in public.message
    assert "gaierror" not in public.message
    assert "errno" not in public.message
