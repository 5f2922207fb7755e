"""The local storage servers start, answer real SDK calls, check what they claim to, and stop cleanly."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from tests.servers import (
    AzuriteServer,
    FakeGcsServer,
    LocalServer,
    LocalStackServer,
    MotoServer,
    ToolMissingError,
    port_accepts,
)
from tests.servers.base import REPO_ROOT, clean_environment


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _payload() -> bytes:
    return os.urandom(1024) + "naïve data ✓".encode()


def _s3_client(endpoint: str, region: str, key_id: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def _gcs_client(server: FakeGcsServer) -> Any:
    return storage.Client(
        project=server.project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call, unused-ignore]
        client_options={"api_endpoint": server.endpoint},
    )


def _process_gone(pid: int) -> bool:
    """A process is gone when it no longer exists or is a zombie nobody has reaped yet."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# -- Azure: Azurite ---------------------------------------------------------------------------------


@pytest.mark.emulator
def test_azurite_round_trip(azurite: AzuriteServer) -> None:
    assert azurite.blob_endpoint == f"{azurite.endpoint}/devstoreaccount1"
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.create_container(_name("smoke"))
    data = _payload()
    container.upload_blob("dir/hello.bin", data)
    assert container.download_blob("dir/hello.bin").readall() == data
    assert [blob.name for blob in container.list_blobs()] == ["dir/hello.bin"]


@pytest.mark.emulator
def test_azurite_rejects_a_wrong_account_key(azurite: AzuriteServer) -> None:
    wrong = azurite.connection_string.replace(azurite.account_key, "d3Jvbmcta2V5" * 8)
    with pytest.raises(HttpResponseError) as caught:
        BlobServiceClient.from_connection_string(wrong).create_container(_name("denied"))
    assert caught.value.status_code == 403


# -- S3: LocalStack ---------------------------------------------------------------------------------


@pytest.mark.emulator
def test_localstack_round_trip(localstack: LocalStackServer) -> None:
    s3 = _s3_client(localstack.endpoint, localstack.region, "AKIDSMOKETEST", localstack.secret_access_key)
    bucket = _name("smoke")
    s3.create_bucket(Bucket=bucket)
    data = _payload()
    s3.put_object(Bucket=bucket, Key="dir/hello.bin", Body=data)
    assert s3.get_object(Bucket=bucket, Key="dir/hello.bin")["Body"].read() == data


@pytest.mark.emulator
def test_localstack_checks_presigned_signatures(localstack: LocalStackServer) -> None:
    key_id = "AKIDSMOKETEST"
    s3 = _s3_client(localstack.endpoint, localstack.region, key_id, localstack.secret_access_key)
    bucket = _name("sig")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="object.txt", Body=b"signed")
    params = {"Bucket": bucket, "Key": "object.txt"}

    good_url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=300)
    good = requests.get(good_url, timeout=10)
    assert (good.status_code, good.content) == (200, b"signed")

    wrong_secret = _s3_client(localstack.endpoint, localstack.region, key_id, "not-the-secret")
    bad = requests.get(
        wrong_secret.generate_presigned_url("get_object", Params=params, ExpiresIn=300), timeout=10
    )
    assert bad.status_code == 403
    assert b"SignatureDoesNotMatch" in bad.content


# -- S3: moto -----------------------------------------------------------------------------------------


@pytest.mark.emulator
def test_moto_round_trip(moto_server: MotoServer) -> None:
    s3 = _s3_client(moto_server.endpoint, moto_server.region, moto_server.access_key_id, "anything")
    bucket = _name("smoke")
    s3.create_bucket(Bucket=bucket)
    data = _payload()
    s3.put_object(Bucket=bucket, Key="dir/hello.bin", Body=data)
    assert s3.get_object(Bucket=bucket, Key="dir/hello.bin")["Body"].read() == data


@pytest.mark.emulator
def test_moto_reset_auth_turns_iam_checks_on_and_off(moto_server: MotoServer) -> None:
    iam = boto3.client(
        "iam",
        endpoint_url=moto_server.endpoint,
        region_name=moto_server.region,
        aws_access_key_id="AKIDADMIN",
        aws_secret_access_key="admin",
    )
    user = _name("smoke-user")
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="list-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    known = _s3_client(moto_server.endpoint, moto_server.region, key["AccessKeyId"], key["SecretAccessKey"])
    unknown = _s3_client(moto_server.endpoint, moto_server.region, "AKIDUNKNOWN", "whatever")

    with moto_server.auth():
        known.list_buckets()  # a real IAM key with the right policy passes
        with pytest.raises(ClientError) as denied:
            unknown.list_buckets()
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        with pytest.raises(ClientError) as forbidden:
            known.create_bucket(Bucket=_name("not-allowed"))
        assert forbidden.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    unknown.list_buckets()  # auth is off again: anything goes


# -- GCS: fake-gcs-server -----------------------------------------------------------------------------


@pytest.mark.emulator
def test_fake_gcs_round_trip_and_location(fake_gcs: FakeGcsServer) -> None:
    client = _gcs_client(fake_gcs)
    bucket = client.create_bucket(_name("smoke"))
    data = _payload()
    bucket.blob("dir/hello.bin").upload_from_string(data)
    assert bucket.blob("dir/hello.bin").download_as_bytes() == data
    assert fake_gcs.location == "EUROPE-WEST1"
    assert client.get_bucket(bucket.name).location == fake_gcs.location


@pytest.mark.emulator
def test_second_fake_gcs_reports_its_own_location(
    fake_gcs: FakeGcsServer, start_fake_gcs: Callable[[str], FakeGcsServer]
) -> None:
    other = start_fake_gcs("us-east1")
    assert other.port != fake_gcs.port
    assert start_fake_gcs("US-EAST1") is other
    assert start_fake_gcs(fake_gcs.location) is fake_gcs
    client = _gcs_client(other)
    bucket = client.create_bucket(_name("region"))
    assert client.get_bucket(bucket.name).location == "US-EAST1"
    assert _gcs_client(fake_gcs).lookup_bucket(bucket.name) is None  # separate servers, separate state


# -- lifecycle ----------------------------------------------------------------------------------------


SERVER_CLASSES: list[type[LocalServer]] = [FakeGcsServer, AzuriteServer, MotoServer, LocalStackServer]


@pytest.mark.emulator
@pytest.mark.parametrize("server_class", SERVER_CLASSES, ids=lambda cls: cls.name)
def test_stop_closes_the_port_and_ends_the_process_group(server_class: type[LocalServer]) -> None:
    try:
        server = server_class().start()
    except ToolMissingError as exc:
        pytest.fail(str(exc), pytrace=False)
    pid = server.pid
    assert pid is not None
    workdir = server.workdir
    try:
        assert port_accepts(server.port)
        assert os.getpgid(pid) == pid  # its own process group, apart from pytest's
        assert os.getpgid(pid) != os.getpgrp()
    finally:
        server.stop()
    assert not port_accepts(server.port)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # no process of the group survives
    assert not workdir.exists()
    server.stop()  # idempotent


_CHILD = textwrap.dedent(
    """
    import signal
    import time
    from tests.servers import FakeGcsServer
    # As in an interactive shell, even when this suite runs where these signals are ignored (nohup, &).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    server = FakeGcsServer().start()
    print(server.pid, server.port, server.workdir, flush=True)
    time.sleep(120)
    """
)

INTERRUPTS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]
if sys.platform.startswith("linux"):
    INTERRUPTS.append(signal.SIGKILL)  # covered by PR_SET_PDEATHSIG, which only Linux has


@pytest.mark.emulator
@pytest.mark.parametrize("signum", INTERRUPTS, ids=lambda s: s.name)
def test_an_interrupted_run_leaves_no_server_behind(signum: signal.Signals) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        cwd=REPO_ROOT,
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    line = ""
    try:
        assert child.stdout is not None
        line = child.stdout.readline().decode()
        assert line, child.stderr.read().decode() if child.stderr else "child printed nothing"
        pid_text, port_text, workdir_text = line.split()
        server_pid, port, workdir = int(pid_text), int(port_text), Path(workdir_text)
        assert port_accepts(port)
        child.send_signal(signum)
        child.wait(timeout=30)
        # A dying multi-threaded server can show as a zombie while its threads still hold the socket.
        assert _wait_until(lambda: _process_gone(server_pid) and not port_accepts(port)), (
            "server outlived the interrupted run"
        )
        if signum != signal.SIGKILL:
            assert not workdir.exists()  # stop() ran in the child: the handlers, not just PDEATHSIG
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
        if line:
            shutil.rmtree(line.split()[2], ignore_errors=True)  # a killed child cannot clean up


# -- the harness itself: isolation and the live tier ---------------------------------------------------


def test_environment_is_isolated() -> None:
    leaked = sorted(
        name
        for name in os.environ
        if name.startswith(("BYOS_", "AWS_", "GOOGLE_", "AZURE_", "CLOUDSDK_", "STORAGE_EMULATOR_HOST"))
    )
    assert leaked == ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"]
    for name in leaked:
        assert not Path(os.environ[name]).exists()


_INNER_TESTS = """
import os
import pytest

def test_plain():
    assert "BYOS_SECRET" not in os.environ
    assert "AWS_PROFILE" not in os.environ
    assert "GOOGLE_CLOUD_PROJECT" not in os.environ
    assert not os.path.exists(os.environ["AWS_CONFIG_FILE"])

@pytest.mark.live("s3")
def test_live_s3(live_config):
    assert live_config.name == "s3.toml"
    assert os.environ["AWS_PROFILE"] == "dev"  # live tests keep the provider environment
    assert "BYOS_SECRET" not in os.environ

@pytest.mark.live("gcs")
def test_live_gcs(live_config):
    raise AssertionError("must be skipped")
"""


def test_isolation_and_live_tier_in_a_fresh_session(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(
        "[pytest]\n"
        "addopts = -ra -p no:cacheprovider\n"
        "markers =\n    emulator: local server\n    live: real cloud\n"
        "filterwarnings = error\n"
    )
    pytester.makeconftest('pytest_plugins = ["tests.conftest"]\n')
    pytester.makepyfile(test_inner=_INNER_TESTS)
    s3_config = pytester.path / "s3.toml"
    s3_config.write_text('provider = "s3"\n')
    monkeypatch.setenv("BYOS_SECRET", "x")
    monkeypatch.setenv("AWS_PROFILE", "dev")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    monkeypatch.setenv("BYOS_LIVE_S3_CONFIG", str(s3_config))
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))

    result = pytester.runpytest_subprocess()

    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*live tier: s3 on, gcs off, azure off*",
            "byos: 2 passed, 1 skipped (skip reasons in the short test summary below)",
            "SKIPPED*test_inner.py*live tier off for gcs: set BYOS_LIVE_GCS_CONFIG*",
        ]
    )


def test_a_missing_tool_fails_its_fixture_with_the_install_hint(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tests.servers.localstack.LOCALSTACK_PYTHON", pytester.path / "no-such-python")
    pytester.makeini("[pytest]\nmarkers =\n    emulator: local server\n    live: real cloud\n")
    pytester.makeconftest('pytest_plugins = ["tests.conftest"]\n')
    pytester.makepyfile(test_inner="def test_needs_localstack(localstack):\n    pass\n")

    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(errors=1)  # an error, not a skip: CI must notice
    result.stdout.fnmatch_lines(["*LocalStack is not installed*no-such-python*run scripts/test*"])
