"""Drift between fleet runs: `byos check --fleet DIR --output RUN.jsonl --baseline LAST.jsonl`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient, CorsRule

from byos.checker.drift import MAX_LINE_BYTES, compare, read_baseline
from byos.cli import main
from byos.errors import ConfigError
from byos.models import CheckResult, Report, Status
from tests.azure_helpers import new_container, service
from tests.servers import AzuriteServer

ORIGIN = "https://app.example.com"


def report(name: str, **statuses: str) -> Report:
    return Report(
        name, tuple(CheckResult(i.replace("_", "."), Status(s), f"{i} {s}") for i, s in statuses.items())
    )


def line(name: str, **statuses: str) -> str:
    return json.dumps(report(name, **statuses).to_dict())


# --- comparing (pure) ---


def test_only_a_worse_status_is_a_regression() -> None:
    baseline = {
        "a": {"cors": Status.PASS, "upload": Status.WARN, "clock": Status.PASS, "lifetime": Status.SKIP},
        "b": {"cors": Status.FAIL},
        "gone": {"cors": Status.PASS},
    }
    drift = compare(
        baseline,
        [
            report("a", cors="warn", upload="fail", clock="skip", lifetime="fail"),
            report("b", cors="pass"),
            report("new", cors="fail"),
        ],
    )
    assert [(r.destination, r.check, r.before, r.after) for r in drift.regressions] == [
        ("a", "cors", Status.PASS, Status.WARN),
        ("a", "upload", Status.WARN, Status.FAIL),
    ]
    assert drift.marks == {"a": {"cors": Status.PASS, "upload": Status.WARN}}
    assert (drift.appeared, drift.vanished, drift.improved, drift.compared) == (("new",), ("gone",), 1, 2)
    assert drift.regressed
    assert drift.summary("last.jsonl") == (
        "drift since last.jsonl: 2 regressions in 1 destination, 1 appeared, 1 vanished, 1 improved "
        "(2 destinations compared)"
    )
    assert drift.lines()[0] == "  regressed  a: cors pass -> warn (cors warn)"


def test_nothing_worse_is_no_regression_even_when_checks_still_fail() -> None:
    drift = compare({"a": {"cors": Status.FAIL}}, [report("a", cors="fail")])
    assert not drift.regressed
    assert drift.lines() == []


# --- the baseline file is hostile input ---


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"not json\n", "line 1 is not JSON"),
        (line("a", cors="pass").encode() + b"\n[1, 2]\n", "line 2 is not a JSON object"),
        (b'{"destination": "a"}\n', "line 1 has no checks list"),
        (b'{"destination": 7, "checks": []}\n', "line 1 has no destination name"),
        (b'{"destination": "a", "checks": [{"id": "cors", "status": "great"}]}\n', "check status"),
        (b'{"destination": "a", "checks": [{"status": "pass"}]}\n', "check without an id"),
        ((line("a", cors="pass") + "\n") * 2, "line 2 repeats a destination"),
        (b"\xff\xfe\n", "line 1 is not UTF-8"),
        (b"[" * 100_000 + b"\n", "line 1 "),
        (b'"' + b"x" * (MAX_LINE_BYTES + 1) + b'"\n', "line 1 is over 1024 KiB"),
    ],
)
def test_a_bad_baseline_line_is_one_config_error_naming_the_line(
    tmp_path: Path, content: bytes | str, fragment: str
) -> None:
    path = tmp_path / "last.jsonl"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError) as caught:
        read_baseline(path)
    message = str(caught.value)
    assert message.startswith("--baseline: ")
    assert fragment in message
    assert "\n" not in message
    assert caught.value.__context__ is None


def test_a_missing_folder_or_device_baseline_is_refused(tmp_path: Path) -> None:
    for path, fragment in ((tmp_path / "nope.jsonl", "does not exist"), (tmp_path, "is not a regular file")):
        with pytest.raises(ConfigError, match=fragment):
            read_baseline(path)
    with pytest.raises(ConfigError, match="is not a regular file"):
        read_baseline("/dev/zero")  # a device would never end


def test_a_huge_baseline_is_refused_without_reading_it_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from byos.checker import drift  # noqa: PLC0415

    monkeypatch.setattr(drift, "MAX_BASELINE_BYTES", 1024)
    path = tmp_path / "last.jsonl"
    path.write_text((line("a", cors="pass") + "\n") * 100)
    with pytest.raises(ConfigError, match="is over 0 MiB"):
        read_baseline(path)


def test_cli_refuses_a_bad_baseline_with_exit_2_before_checking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "fleet"
    folder.mkdir()
    (folder / "a.toml").write_text('provider = "s3"\nbucket = "acme-imports"\nregion = "eu-west-1"\n')
    bad = tmp_path / "last.jsonl"
    bad.write_text("garbage\n")
    code = main(
        ["check", "--fleet", str(folder), "--baseline", str(bad), "--output", str(tmp_path / "run.jsonl")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "byos: error: --baseline: line 1 is not JSON; pass a file written by "
        "`byos check --fleet DIR --output FILE`\n"
    )
    assert not (tmp_path / "run.jsonl").exists()


def test_a_fleet_whose_files_share_a_name_cannot_be_kept_for_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "fleet"
    folder.mkdir()
    for file in ("a.toml", "b.toml"):
        (folder / file).write_text(
            'provider = "s3"\nname = "acme"\nbucket = "acme-imports"\nregion = "eu-west-1"\n'
        )
    code = main(["check", "--fleet", str(folder), "--output", str(tmp_path / "run.jsonl")])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "byos: error: --fleet: two files name the destination 'acme', so runs cannot be compared; give each "
        "destination its own name (or file name)\n"
    )
    assert not (tmp_path / "run.jsonl").exists()


@pytest.mark.parametrize(
    "arguments",
    [
        ["--config", "x.toml", "--baseline", "last.jsonl"],
        ["--config", "x.toml", "--output", "run.jsonl"],
        ["--fleet", "folder", "--fail-on-regression"],
    ],
)
def test_drift_options_need_a_fleet_and_a_baseline(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith("byos: error: --")
    assert err.count("\n") == 1


# --- a real fleet on Azurite ---


@pytest.fixture
def cors(azurite: AzuriteServer) -> Iterator[BlobServiceClient]:
    """The account's Blob service with a CORS rule for ORIGIN; put back as it was afterwards."""
    client = service(azurite)
    before = client.get_service_properties()["cors"]
    yield client
    client.set_service_properties(cors=before)


def _allow(client: BlobServiceClient) -> None:
    headers = ["content-md5", "if-none-match", "x-ms-blob-content-type", "x-ms-blob-type", "x-ms-meta-*"]
    headers.append("x-ms-meta-original_filename")
    client.set_service_properties(
        cors=[
            CorsRule(
                [ORIGIN],
                ["PUT", "OPTIONS"],
                allowed_headers=headers,
                exposed_headers=["etag"],
                max_age_in_seconds=60,
            )
        ]
    )


def _write(folder: Path, name: str, azurite: AzuriteServer, container: str) -> None:
    values: dict[str, Any] = {
        "provider": "azure",
        "account_name": azurite.account_name,
        "container": container,
        "endpoint_url": azurite.blob_endpoint,
        "account_key": azurite.account_key,
        "prefix": "imports/",
        "origins": [ORIGIN],
    }
    (folder / f"{name}.toml").write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))


def _run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["check", *arguments, "--deadline", "20"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.emulator
def test_a_fleet_run_compared_with_the_last_marks_regressions_and_changed_destinations(
    tmp_path: Path, azurite: AzuriteServer, cors: BlobServiceClient, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "fleet"
    folder.mkdir()
    for name in ("acme", "globex"):
        _write(folder, name, azurite, new_container(azurite))
    _allow(cors)
    first = tmp_path / "first.jsonl"
    code, out, _ = _run(capsys, "--fleet", str(folder), "--json", "--output", str(first))
    runs = [json.loads(text) for text in first.read_text().splitlines()]
    assert [r["destination"] for r in runs] == ["acme", "globex"]
    assert out.splitlines()
    assert all(json.loads(text) in runs for text in out.splitlines())
    assert {c["id"]: c["status"] for c in runs[0]["checks"]}["cors"] == "pass"
    assert code == 0  # warnings only: the account key and no region in Azure's data plane

    cors.set_service_properties(cors=[])  # the customer's CORS rules are gone
    (folder / "globex.toml").unlink()
    _write(folder, "initech", azurite, new_container(azurite))
    second = tmp_path / "second.jsonl"
    code, out, err = _run(
        capsys,
        "--fleet",
        str(folder),
        "--json",
        "--baseline",
        str(first),
        "--output",
        str(second),
        "--fail-on-regression",
    )
    assert code == 1
    summary = err.splitlines()[0]
    assert summary == (
        f"drift since {first}: 1 regression in 1 destination, 1 appeared, 1 vanished, 0 improved "
        "(1 destination compared)"
    )
    assert "  regressed  acme: cors pass -> fail (" in err
    assert "  appeared   initech" in err
    assert "  vanished   globex" in err
    printed = {r["destination"]: r for r in map(json.loads, out.splitlines())}
    assert set(printed) == {"acme", "initech"}
    acme_cors = next(c for c in printed["acme"]["checks"] if c["id"] == "cors")
    assert (acme_cors["status"], acme_cors["regressed_from"]) == ("fail", "pass")
    assert printed["initech"]["appeared"] is True
    assert "appeared" not in printed["acme"]
    saved = [json.loads(text) for text in second.read_text().splitlines()]
    assert all(
        "regressed_from" not in c for r in saved for c in r["checks"]
    )  # the run as it is, for next time

    # Nothing got worse since the second run: --fail-on-regression exits 0 though cors still fails.
    code, out, err = _run(capsys, "--fleet", str(folder), "--baseline", str(second), "--fail-on-regression")
    assert code == 0
    assert err.splitlines()[-1].startswith("2 destinations: 0 ok, 2 failed")
    assert out.splitlines()[0].startswith(f"drift since {second}: 0 regressions in 0 destinations")
    assert "fail (was" not in out


@pytest.mark.emulator
def test_the_table_marks_a_regressed_check(
    tmp_path: Path, azurite: AzuriteServer, cors: BlobServiceClient, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "fleet"
    folder.mkdir()
    _write(folder, "acme", azurite, new_container(azurite))
    _allow(cors)
    last = tmp_path / "last.jsonl"
    assert _run(capsys, "--fleet", str(folder), "--output", str(last))[0] == 0
    cors.set_service_properties(cors=[])
    code, out, _ = _run(capsys, "--fleet", str(folder), "--baseline", str(last))
    assert code == 1  # without --fail-on-regression: the usual exit code (a check failed)
    assert out.splitlines()[0].startswith(f"drift since {last}: 1 regression in 1 destination")
    assert "fail (was pass)" in out
