"""``byos upload`` and ``byos presign --size``: shapes, exit codes, one-line errors, on the local servers."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from byos.cli import main
from tests import azure_helpers, plan_client, s3_helpers

MIB = 1024**2


def _s3_config(localstack: Any, bucket: str, directory: Path) -> Path:
    path = directory / "s3.toml"
    path.write_text(
        f'provider = "s3"\nbucket = "{bucket}"\nregion = "{localstack.region}"\n'
        f'endpoint_url = "{localstack.endpoint}"\nprefix = "imports/"\n'
        f'access_key_id = "{localstack.access_key_id}"\n'
        f'secret_access_key = "{localstack.secret_access_key}"\n'
    )
    return path


def _azure_config(azurite: Any, container: str, directory: Path) -> Path:
    path = directory / "azure.toml"
    path.write_text(
        f'provider = "azure"\naccount_name = "{azurite.account_name}"\ncontainer = "{container}"\n'
        f'endpoint_url = "{azurite.blob_endpoint}"\naccount_key = "{azurite.account_key}"\n'
        'prefix = "imports/"\n'
    )
    return path


@pytest.mark.emulator
def test_presign_size_prints_a_plan_a_client_can_send(
    localstack: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = s3_helpers.new_bucket(localstack)
    config = str(_s3_config(localstack, bucket, tmp_path))
    size = 11 * MIB
    args = [
        "presign",
        "--config",
        config,
        "--filename",
        "big.csv",
        "--size",
        str(size),
        "--part-size",
        str(5 * MIB),
    ]
    assert main([*args, "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["provider"] == "s3"
    assert [part["part_number"] for part in plan["parts"]] == [1, 2, 3]
    assert plan["complete"]["headers"] == {"If-None-Match": "*"}
    data = os.urandom(size)
    plan_client.run(plan, data)
    stored = s3_helpers.client(localstack).get_object(Bucket=bucket, Key=plan["key"])["Body"].read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()

    assert main([*args[:-4], "--size", "10"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# s3 raw upload of 10 bytes to imports/")
    assert "\nPUT http://" in text
    assert "Content-Length: 10" in text


@pytest.mark.emulator
def test_small_plan_keeps_the_presign_json_fields(
    localstack: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_s3_config(localstack, "acme-imports", tmp_path))
    assert main(["presign", "--config", config, "--filename", "a.csv", "--json"]) == 0
    today = json.loads(capsys.readouterr().out)
    assert main(["presign", "--config", config, "--filename", "a.csv", "--size", "5", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert set(today) <= set(plan)
    assert plan["method"] == "PUT"
    assert plan["headers"]["Content-Length"] == "5"
    assert plan["parts"][0]["url"] == plan["url"]


@pytest.mark.emulator
def test_upload_json_and_read_back(azurite: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    container = azure_helpers.new_container(azurite)
    config = str(_azure_config(azurite, container, tmp_path))
    file = tmp_path / "report.csv"
    file.write_bytes(os.urandom(MIB + 3))
    assert (
        main(["upload", "--config", config, "--file", str(file), "--part-size", str(256 * 1024), "--json"])
        == 0
    )
    captured = capsys.readouterr()
    assert captured.err == ""  # no progress bar when stderr is not a terminal
    result = json.loads(captured.out)
    assert result["parts"] == 5
    assert result["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    blob = azure_helpers.service(azurite).get_blob_client(container, result["key"])
    assert blob.download_blob().readall() == file.read_bytes()

    cleaned = tmp_path / "cleaned.json"
    cleaned.write_text('{"rows": 1}')
    arguments = [
        "upload",
        "--config",
        config,
        "--file",
        str(cleaned),
        "--kind",
        "result",
        "--import-id",
        "imp-7",
    ]
    assert main(arguments) == 0
    assert capsys.readouterr().out.startswith("uploaded 11 bytes to imports/imp-7.json in 1 part(s)\n")
    assert main(arguments) == 1  # write-once
    err = capsys.readouterr().err
    assert err.startswith("byos: error: PUT file: 403 ")
    assert err.count("\n") == 1


def test_upload_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = Path(__file__).resolve().parent.parent / "config" / "s3.example.toml"
    file = tmp_path / "c.json"
    file.write_text("{}")
    assert main(["upload", "--config", str(config), "--file", str(file), "--kind", "result"]) == 2
    assert (
        capsys.readouterr().err
        == "byos: error: import_id: is required for a result upload; pass the import's id (import_id=...)\n"
    )
    assert main(["upload", "--config", str(config), "--file", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("byos: error: ")
    assert main(["presign", "--config", str(config), "--filename", "a", "--size", "10", "--overwrite"]) == 2
    assert capsys.readouterr().err.startswith("byos: error: --size: plans are write-once")


@pytest.mark.emulator
def test_upload_shows_progress_on_a_terminal(
    azurite: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich then treats stderr as a terminal
    monkeypatch.setenv("COLUMNS", "100")
    container = azure_helpers.new_container(azurite)
    config = str(_azure_config(azurite, container, tmp_path))
    file = tmp_path / "big.csv"
    file.write_bytes(os.urandom(MIB))
    assert main(["upload", "--config", config, "--file", str(file), "--part-size", str(256 * 1024)]) == 0
    captured = capsys.readouterr()
    assert "uploading" in captured.err
    assert "1.0/1.0 MB" in captured.err or "1.0 MB" in captured.err
    assert captured.out.startswith(f"uploaded {MIB} bytes to imports/")
