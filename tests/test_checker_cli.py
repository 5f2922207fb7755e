"""`byos check` and scripts/verify_setup.py: JSON shape, exit codes, the table, and fleets."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from byos.checker import CHECK_IDS
from byos.cli import main
from tests.s3_helpers import new_bucket
from tests.servers import LocalStackServer
from tests.stub_servers import STUB_ORIGIN, StubS3

REPO = Path(__file__).resolve().parent.parent
VERIFY_SETUP = REPO / "scripts" / "verify_setup.py"
SECRET = "cli-secret-" + "0d4b8e2f6a1c3e5d7f9b"
REPORT_KEYS = {"destination", "ok", "checks"}
CHECK_KEYS = {"id", "status", "message", "remediation", "duration_ms"}
STATUSES = {"pass", "warn", "fail", "skip"}


def write_config(path: Path, **values: Any) -> Path:
    """Write a destination TOML file (strings and lists of strings)."""
    path.write_text("".join(f"{name} = {json.dumps(value)}\n" for name, value in values.items()))
    return path


STUB_OWNER = "111122223333"
"""The stub's bucket owner: with it set, ``bucket.owner`` passes once the probe upload is accepted."""


def s3_config(path: Path, endpoint: str, **values: Any) -> Path:
    settings: dict[str, Any] = {
        "provider": "s3",
        "bucket": "acme-imports",
        "region": "us-east-1",
        "endpoint_url": endpoint,
        "access_key_id": "AKIDSTUBEXAMPLE",
        "secret_access_key": SECRET,
        "prefix": "imports/",
        "expected_bucket_owner": STUB_OWNER,
        **values,
    }
    return write_config(path, **settings)


def assert_report_shape(report: dict[str, Any]) -> None:
    assert set(report) == REPORT_KEYS
    assert isinstance(report["destination"], str)
    assert isinstance(report["ok"], bool)
    assert isinstance(report["checks"], list)
    for item in report["checks"]:
        assert set(item) == CHECK_KEYS
        assert isinstance(item["id"], str)
        assert item["status"] in STATUSES
        assert isinstance(item["message"], str)
        assert isinstance(item["remediation"], str)
        assert isinstance(item["duration_ms"], int | float)
        assert item["duration_ms"] >= 0
    assert report["ok"] == all(item["status"] != "fail" for item in report["checks"])


def by_id(report: dict[str, Any]) -> dict[str, str]:
    return {item["id"]: item["status"] for item in report["checks"]}


@pytest.fixture
def stub() -> Iterator[StubS3]:
    with StubS3() as server:
        yield server


# --- one destination, in process ---


def test_json_output_shape_and_exit_0(
    tmp_path: Path, stub: StubS3, capsys: pytest.CaptureFixture[str]
) -> None:
    config = s3_config(tmp_path / "acme.toml", stub.endpoint, name="acme", origins=[STUB_ORIGIN])

    code = main(["check", "--config", str(config), "--json"])

    out = capsys.readouterr().out
    assert out.count("\n") == 1
    report = json.loads(out)
    assert_report_shape(report)
    assert report["destination"] == "acme"
    assert [item["id"] for item in report["checks"]] == list(CHECK_IDS)
    assert report["ok"] is True
    assert code == 0
    assert SECRET not in out


def test_a_failed_check_exits_1(tmp_path: Path, stub: StubS3, capsys: pytest.CaptureFixture[str]) -> None:
    config = s3_config(tmp_path / "d.toml", stub.endpoint, region="eu-west-1")  # the stub says us-east-1

    code = main(["check", "--config", str(config), "--json"])

    report = json.loads(capsys.readouterr().out)
    assert by_id(report)["bucket.region"] == "fail"
    assert report["ok"] is False
    assert code == 1


def test_strict_turns_a_warning_into_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with StubS3(expose_etag=False) as hidden:
        config = s3_config(tmp_path / "d.toml", hidden.endpoint)
        relaxed = main(["check", "--config", str(config), "--origin", STUB_ORIGIN, "--json"])
        relaxed_report = json.loads(capsys.readouterr().out)
        strict = main(["check", "--config", str(config), "--origin", STUB_ORIGIN, "--json", "--strict"])
        strict_report = json.loads(capsys.readouterr().out)

    for report in (relaxed_report, strict_report):
        statuses = by_id(report)
        assert statuses["cors"] == "warn"
        assert "fail" not in statuses.values()
    assert relaxed == 0
    assert strict == 1


@pytest.mark.parametrize(
    "content",
    ['provider = "s3"\nbucket = \n', 'provider = "s3"\nbucket = "Bad_Name"\nregion = "us-east-1"\n'],
    ids=["invalid-toml", "invalid-value"],
)
def test_bad_config_exits_2_with_one_line(
    tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content)

    code = main(["check", "--config", str(config), "--json"])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith("byos: error: ")
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    "arguments",
    [
        ["check"],
        ["check", "--config", "a.toml", "--fleet", "folder"],
        ["check", "--config", "a.toml", "--concurrency", "many"],
        ["check", "--config", "a.toml", "--no-such-option"],
    ],
    ids=["no-target", "both-targets", "bad-number", "unknown-option"],
)
def test_bad_usage_exits_2_with_one_line(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(arguments)

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(("byos: error: ", "byos check: error: "))
    assert err.count("\n") == 1


def test_human_output_is_a_table_of_every_check(
    tmp_path: Path, stub: StubS3, capsys: pytest.CaptureFixture[str]
) -> None:
    config = s3_config(tmp_path / "acme.toml", stub.endpoint, name="acme", origins=[STUB_ORIGIN])

    code = main(["check", "--config", str(config)])

    out = capsys.readouterr().out
    assert code == 0
    assert "acme: OK" in out
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in out.splitlines()
        if line.count("│") >= 3
    }
    assert {check_id: rows.get(check_id) for check_id in CHECK_IDS} == {
        check_id: ("skip" if check_id == "encryption" else "pass") for check_id in CHECK_IDS
    }
    assert "1 destination: 1 ok, 0 failed; checks: 12 pass, 0 warn, 0 fail, 1 skip" in out
    assert SECRET not in out


# --- fleets and the ops script (LocalStack) ---


@pytest.fixture
def fleet(tmp_path: Path, localstack: LocalStackServer) -> Path:
    """A folder of three LocalStack destinations and one file that is not TOML."""
    folder = tmp_path / "fleet"
    folder.mkdir()
    for number in range(3):
        write_config(
            folder / f"customer-{number}.toml",
            provider="s3",
            name=f"customer-{number}",
            bucket=new_bucket(localstack),
            region=localstack.region,
            endpoint_url=localstack.endpoint,
            access_key_id=localstack.access_key_id,
            secret_access_key=localstack.secret_access_key,
            prefix="imports/",
        )
    (folder / "broken.toml").write_text("provider = 's3'\nbucket = [unclosed\n")
    return folder


def assert_fleet_lines(out: str) -> None:
    lines = out.splitlines()
    assert len(lines) == 4
    reports = {report["destination"]: report for report in map(json.loads, lines)}
    assert set(reports) == {"broken", "customer-0", "customer-1", "customer-2"}
    for report in reports.values():
        assert_report_shape(report)
    broken = reports.pop("broken")
    assert [(item["id"], item["status"]) for item in broken["checks"]] == [("config", "fail")]
    assert broken["ok"] is False
    for report in reports.values():
        statuses = by_id(report)
        assert [item["id"] for item in report["checks"]] == list(CHECK_IDS)
        assert statuses["upload"] == "pass"
        assert statuses["bucket.exists"] == "pass"
        # LocalStack lets anyone list a bucket (no anonymous-access control), so each of these fails too.
        assert statuses["public_access"] == "fail"


@pytest.mark.emulator
def test_fleet_json_one_line_per_destination(fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--fleet", str(fleet), "--json", "--concurrency", "4"])

    captured = capsys.readouterr()
    assert_fleet_lines(captured.out)
    assert "4 destinations: 0 ok, 4 failed" in captured.err
    assert code == 1


def run_script(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VERIFY_SETUP), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.emulator
def test_verify_setup_script_runs_the_same_checks(fleet: Path, tmp_path: Path) -> None:
    with StubS3() as server:
        config = s3_config(tmp_path / "acme.toml", server.endpoint, name="acme", origins=[STUB_ORIGIN])
        single = run_script("--config", str(config), "--json")
    fleet_run = run_script("--fleet", str(fleet), "--json", "--concurrency", "4")
    usage = run_script("--config", str(config), "--fleet", str(fleet))

    assert single.returncode == 0, single.stderr
    report = json.loads(single.stdout)
    assert_report_shape(report)
    assert report["destination"] == "acme"
    assert by_id(report) == {
        check_id: ("skip" if check_id == "encryption" else "pass") for check_id in CHECK_IDS
    }
    assert fleet_run.returncode == 1, fleet_run.stderr
    assert_fleet_lines(fleet_run.stdout)
    assert usage.returncode == 2
    assert usage.stderr.count("\n") == 1
    assert "Traceback" not in usage.stderr


@pytest.mark.emulator
def test_fleet_uses_the_origins_given_on_the_command_line(
    fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", "--fleet", str(fleet), "--json", "--origin", "https://elsewhere.example"])

    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    cors = [check for report in reports for check in report["checks"] if check["id"] == "cors"]
    assert len(cors) == 3  # the invalid file stops at its config check
    for check in cors:
        assert check["status"] == "fail"
        assert "https://elsewhere.example" in check["message"]
    assert code == 1
