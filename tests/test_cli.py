"""The command line: output shapes, exit codes, one-line errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from byos.checker.render import print_report
from byos.cli import main
from byos.models import CheckResult, Report, Status

REPO = Path(__file__).resolve().parent.parent


def test_config_validate_prints_normalised_settings_with_secrets_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "d.toml"
    path.write_text(
        'provider = "s3"\nbucket = "acme-imports"\nregion = "eu-west-1"\nexpires = "1h"\n'
        'access_key_id = "AKIAEXAMPLE"\nsecret_access_key = "very-secret-value"\n'
    )
    assert main(["config", "validate", str(path)]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["expires"] == "1h"
    assert data["secret_access_key"] == "**********"
    assert "very-secret-value" not in out


def test_bad_config_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "d.toml"
    path.write_text('provider = "s3"\nbucket = "Bad_Name"\nregion = "eu-west-1"\n')
    assert main(["config", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("byos: error: bucket: ")
    assert err.count("\n") == 1


def test_keys_shows_the_layout(capsys: pytest.CaptureFixture[str]) -> None:
    upload_id = "12345678-1234-5678-1234-567812345678"
    code = main(
        [
            "keys",
            "--config",
            str(REPO / "config" / "s3.example.toml"),
            "--filename",
            "../../Q3 report\u202e.csv",
            "--upload-id",
            upload_id,
            "--import-id",
            "imp_9",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["raw"] == f"imports/acme/{upload_id}-Q3 report.csv"
    assert data["result"] == "imports/acme/imp_9.json"
    assert data["metadata_filename"] == "../../Q3 report%E2%80%AE.csv"


def test_bad_argument_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    config = str(REPO / "config" / "s3.example.toml")
    assert main(["keys", "--config", config, "--filename", "a.csv", "--upload-id", "x"]) == 2
    assert capsys.readouterr().err.startswith("byos: error: upload_id: ")


def test_installed_entry_point_runs_and_usage_errors_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "byos.cli", "keys"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--config" in result.stderr


def test_policy_prints_the_documents_as_json_and_writes_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(REPO / "config" / "s3.example.toml")
    assert main(["policy", "--config", config, "--format", "json", "--write", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    statement = data["documents"]["iam-policy.json"]["Statement"]
    actions = {action for item in statement for action in item["Action"]}
    assert actions == {"s3:PutObject", "s3:AbortMultipartUpload"}
    assert json.loads((tmp_path / "iam-policy.json").read_text()) == data["documents"]["iam-policy.json"]


def test_policy_text_names_the_sections_the_checker_points_to(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--config", str(REPO / "config" / "azure.example.toml")]) == 0
    out = capsys.readouterr().out
    assert "(write permission)" in out
    assert "## CORS rules" in out
    assert "az role definition create" in out


def test_policy_bad_origin_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    config = str(REPO / "config" / "gcs.example.toml")
    assert main(["policy", "--config", config, "--origin", "ftp://x"]) == 2
    assert capsys.readouterr().err.startswith("byos: error: origins")


def _s3_config(tmp_path: Path, **extra: str) -> str:
    lines = [
        'provider = "s3"',
        'bucket = "acme-imports"',
        'region = "eu-west-1"',
        'prefix = "imports/"',
        'access_key_id = "AKIAIOSFODNN7EXAMPLE"',
        'secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
    ] + [f"{name} = {value}" for name, value in extra.items()]
    path = tmp_path / "d.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_presign_json_is_the_documented_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _s3_config(tmp_path)
    code = main(
        [
            "presign",
            "--config",
            config,
            "--filename",
            "q3.csv",
            "--content-type",
            "text/csv",
            "--expires",
            "1h",
            "--json",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"provider", "method", "url", "headers", "fields", "key", "expires_at"}
    assert data["provider"] == "s3"
    assert data["method"] == "PUT"
    assert data["headers"]["Content-Type"] == "text/csv"
    assert data["headers"]["If-None-Match"] == "*"
    assert data["key"].startswith("imports/")
    assert "X-Amz-Expires=3600" in data["url"]
    assert data["expires_at"].endswith("Z")


def test_presign_text_shows_every_header_the_client_must_send(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "presign",
                "--config",
                _s3_config(tmp_path),
                "--filename",
                "q3.csv",
                "--content-type",
                "text/csv",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("PUT https://acme-imports.s3.eu-west-1.amazonaws.com/imports/")
    assert "Content-Type: text/csv" in lines
    assert "If-None-Match: *" in lines
    assert any(line.startswith("# key: imports/") for line in lines)


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["--expires", "8d"], "--expires: 8d is out of range"),
        (["--content-length", "-1"], "content_length"),
        (["--method", "POST", "--content-length", "5"], "method"),
    ],
)
def test_presign_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], fragment: str
) -> None:
    assert main(["presign", "--config", _s3_config(tmp_path), "--filename", "a.csv", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert fragment in captured.err


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["--timeout", "0"], "--timeout"),
        (["--deadline", "-1"], "--deadline"),
        (["--origin", "nope"], "--origin"),
    ],
)
def test_check_refuses_bad_arguments_before_checking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], fragment: str
) -> None:
    assert main(["check", "--config", _s3_config(tmp_path), *arguments]) == 2
    assert capsys.readouterr().err.startswith(f"byos: error: {fragment}")


def test_policy_write_to_an_unwritable_folder_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    config = str(REPO / "config" / "s3.example.toml")
    assert main(["policy", "--config", config, "--write", "/proc/byos-nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("byos: error: ")
    assert err.count("\n") == 1


def test_markup_in_names_and_messages_is_printed_not_interpreted() -> None:
    report = Report(
        "acme [/x] [bold]", (CheckResult("upload", Status.FAIL, "server said [/oops]", "fix [red]"),)
    )
    console = Console(record=True, width=200)
    print_report(report, console)
    text = console.export_text()
    assert "acme [/x] [bold]" in text
    assert "server said [/oops]" in text
