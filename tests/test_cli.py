"""The command line: output shapes, exit codes, one-line errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from byos.cli import main

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
