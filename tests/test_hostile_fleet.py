"""A fleet check ends within (destinations / concurrency + 1) x deadline, however stuck one destination is."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from byos.checker import CHECK_IDS, check_fleet
from byos.checker.fleet import run_fleet
from byos.cli import main
from byos.config import Destination, destination_from_dict
from byos.models import CheckResult, Report, Status
from tests.hostile_servers import BEHAVIOURS, HostileServer
from tests.stub_servers import StubS3

SECRET = "fleet-secret-" + "3f6a2c9d1e"


def s3(endpoint: str, name: str) -> Destination:
    return destination_from_dict(
        {
            "provider": "s3",
            "name": name,
            "bucket": "acme-imports",
            "region": "us-east-1",
            "endpoint_url": endpoint,
            "access_key_id": "AKIDFLEETEXAMPLE",
            "secret_access_key": SECRET,
            "prefix": "imports/",
        },
        env=False,
    )


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of a test, so a stuck check's thread ends too."""
    event = threading.Event()
    yield event
    event.set()


def test_a_stuck_check_is_given_up_at_its_deadline_and_the_others_go_on(release: threading.Event) -> None:
    destinations = [s3(f"http://127.0.0.1:{9000 + n}", f"tenant-{n}") for n in range(6)]
    seen: list[str] = []

    def check(destination: Destination, _origins: Any, *, timeout: float, deadline: float) -> Report:
        assert timeout <= deadline < 1.0
        seen.append(destination.label)
        if destination.label == "tenant-2":
            release.wait(60)  # never answers while the fleet runs
        else:
            time.sleep(0.2)
        return Report(destination.label, (CheckResult("config", Status.PASS, "fine", "", 1.0),))

    started = time.monotonic()
    reports = list(
        run_fleet(
            destinations, check, origins=None, concurrency=2, timeout=10, deadline=1.0, check_ids=CHECK_IDS
        )
    )
    elapsed = time.monotonic() - started

    assert elapsed <= (6 / 2 + 1) * 1.0, f"the fleet took {elapsed:.2f} s"
    assert sorted(r.destination for r in reports) == sorted(d.label for d in destinations)
    assert sorted(seen) == sorted(d.label for d in destinations)
    stuck = next(r for r in reports if r.destination == "tenant-2")
    assert [c.id for c in stuck.checks] == list(CHECK_IDS)
    assert all(c.status is Status.FAIL for c in stuck.checks)
    assert "deadline of 1 s was reached" in stuck.checks[0].message
    assert all(r.ok for r in reports if r is not stuck)


def test_a_fleet_with_a_hanging_endpoint_finishes_within_its_bound() -> None:
    deadline, concurrency = 2.0, 2
    with StubS3() as good, HostileServer(BEHAVIOURS["accept-and-hang"]) as bad:
        destinations = [s3(good.endpoint, f"good-{n}") for n in range(3)] + [s3(bad.endpoint, "stuck")]
        started = time.monotonic()
        reports = {
            r.destination: r
            for r in check_fleet(destinations, concurrency=concurrency, timeout=10, deadline=deadline)
        }
        elapsed = time.monotonic() - started

    assert elapsed <= (len(destinations) / concurrency + 1) * deadline, f"{elapsed:.2f} s"
    assert set(reports) == {"good-0", "good-1", "good-2", "stuck"}
    stuck = {c.id: c for c in reports["stuck"].checks}
    assert stuck["credentials"].status is Status.FAIL
    assert "deadline" in " ".join(c.message for c in stuck.values())
    for name in ("good-0", "good-1", "good-2"):
        found = {c.id: c.status for c in reports[name].checks}
        assert found["credentials"] is Status.PASS, reports[name]
        assert found["upload"] is Status.PASS, reports[name]


def test_byos_check_fleet_prints_every_report_and_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "fleet"
    folder.mkdir()
    with StubS3() as good, HostileServer(BEHAVIOURS["drip-headers"]) as bad:
        for name, endpoint in (("good-a", good.endpoint), ("good-b", good.endpoint), ("stuck", bad.endpoint)):
            values = {
                "provider": "s3",
                "bucket": "acme-imports",
                "region": "us-east-1",
                "endpoint_url": endpoint,
                "access_key_id": "AKIDFLEETEXAMPLE",
                "secret_access_key": SECRET,
            }
            (folder / f"{name}.toml").write_text(
                "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())
            )
        started = time.monotonic()
        code = main(
            [
                "check",
                "--fleet",
                str(folder),
                "--json",
                "--deadline",
                "2",
                "--timeout",
                "10",
                "--concurrency",
                "2",
            ]
        )
        elapsed = time.monotonic() - started

    captured = capsys.readouterr()
    assert code == 1
    assert elapsed <= (3 / 2 + 1) * 2.0
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert sorted(line["destination"] for line in lines) == ["good-a", "good-b", "stuck"]
    stuck = next(line for line in lines if line["destination"] == "stuck")
    assert not stuck["ok"]
    assert any("deadline" in check["message"] for check in stuck["checks"])
    assert "3 destinations: " in captured.err
    assert SECRET not in captured.out + captured.err
