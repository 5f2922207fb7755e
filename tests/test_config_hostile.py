"""No configuration or environment value gives a traceback: every bad one is one ConfigError line.

Cases from hostile tenants (``expires = inf``, a non-JSON ``BYOS_ORIGINS``, non-UTF-8 files) and
hypothesis over every setting of every provider, from TOML values, ``BYOS_*`` variables and ``.env`` bytes.
No error keeps the raw input in its ``__context__`` or ``__cause__``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byos.config import PROVIDERS, Destination, destination_from_dict, load_destination, load_fleet
from byos.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
BASES: dict[str, dict[str, Any]] = {
    "s3": {"provider": "s3", "bucket": "acme-imports", "region": "eu-west-1"},
    "gcs": {"provider": "gcs", "bucket": "acme-imports", "location": "EU"},
    "azure": {"provider": "azure", "account_name": "acmeimports", "container": "uploads"},
}
FIELDS = sorted((provider, name) for provider, cls in PROVIDERS.items() for name in cls.model_fields)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_clean_error(error: BaseException) -> None:
    """One line, a ConfigError, and nothing chained that could hold the input."""
    assert isinstance(error, ConfigError), f"{type(error).__name__}: {error}"
    text = str(error)
    assert "\n" not in text
    assert "\r" not in text
    assert len(text) < 600, text[:100]
    assert error.__cause__ is None
    assert error.__context__ is None


def load_or_error(data: dict[str, Any], **options: Any) -> Destination | ConfigError:
    try:
        return destination_from_dict(data, **options)
    except Exception as exc:  # noqa: BLE001  (any other exception is the failure under test)
        assert_clean_error(exc)
        return exc if isinstance(exc, ConfigError) else ConfigError("settings", "unexpected", "report it")


@contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


@pytest.mark.parametrize(
    ("settings_", "field"),
    [
        ({"expires": float("inf")}, "expires"),
        ({"expires": float("-inf")}, "expires"),
        ({"expires": float("nan")}, "expires"),
        ({"expires": 1e300}, "expires"),
        ({"expires": 10**400}, "expires"),
        ({"expires": "99999999999999999999d"}, "expires"),
        ({"expires": "9" * 5000}, "expires"),
        ({"expires": "1" * 40 + "s"}, "expires"),
        ({"expires": "P99999999999D"}, "expires"),
        ({"max_upload_bytes": 10**400}, "max_upload_bytes"),
        ({"max_upload_bytes": 1e300}, "max_upload_bytes"),
        ({"endpoint_url": "https://[::1"}, "endpoint_url"),
        ({"endpoint_url": "https://storage.example.com:99999"}, "endpoint_url"),
        ({"origins": ["https://app.example.com:99999"]}, "origins.0"),
        ({"origins": ["https://[::1"]}, "origins.0"),
        ({"bucket": "x" * 100_000}, "bucket"),
    ],
)
def test_hostile_values_are_one_line_errors(settings_: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        destination_from_dict({**BASES["s3"], **settings_}, env=False)
    assert_clean_error(caught.value)
    assert caught.value.field == field


def test_origins_from_the_environment_that_are_not_json_are_one_line() -> None:
    with environment(BYOS_ORIGINS="https://x"), pytest.raises(ConfigError) as caught:
        destination_from_dict(BASES["s3"], env_file=None)
    assert_clean_error(caught.value)
    assert caught.value.field == "origins"
    assert "BYOS_ORIGINS" in str(caught.value)


@pytest.mark.parametrize("data", [{}, {"provider": "s3", "region": "eu-west-1"}])
def test_a_non_utf8_env_file_is_one_line(tmp_path: Path, data: dict[str, Any]) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(
        b"BYOS_PROVIDER=s3\nBYOS_BUCKET=acme\xff\xfe-imports\nBYOS_SECRET_ACCESS_KEY=k\xe9y\n"
    )
    with pytest.raises(ConfigError, match="is not UTF-8 text") as caught:
        destination_from_dict(data, env_file=env_file)
    assert_clean_error(caught.value)


@pytest.mark.parametrize(
    "content",
    [
        b'provider = "s3"\nbucket = "acme\xff-imports"\nregion = "eu-west-1"\n',
        b"\xfe\xff\x00p\x00r",
        b'provider = "s3"\nbucket = [[[[' + b"[" * 5000,
        b'provider = "s3"\nx = ' + b"[" * 100_000 + b"]" * 100_000 + b"\n",
        b'provider = "s3\x1b[2J"\n',
    ],
)
def test_unreadable_toml_files_are_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "dest.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_destination(path, env=False)
    assert_clean_error(caught.value)
    assert "\x1b" not in str(caught.value)


_toml_scalars = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["\x1b[2J" * 3000, "{" + "x" * 9000 + "}", "a" * 100_000]),
    st.sampled_from(["inf", "1e300", "99999999999999999999d", "PT1e300S", "-1s", "٣٣s", "²s", "", " "]),
    st.datetimes(timezones=st.one_of(st.none(), st.just(UTC))),
    st.dates(),
    st.times(),
)
_toml_values = st.one_of(
    _toml_scalars,
    st.lists(_toml_scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), _toml_scalars, max_size=2),
)


@pytest.mark.parametrize(("provider", "field"), FIELDS)
@FUZZ
@given(value=_toml_values)
def test_any_toml_value_of_any_setting_loads_or_is_one_line(provider: str, field: str, value: object) -> None:
    load_or_error({**BASES[provider], field: value}, env=False)


_env_text = st.one_of(
    st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=40),
    st.sampled_from(["https://x", "[1", '["https://x"', "{}", "null", "inf", "1e300", "true", "[]", "[[]]"]),
)


@pytest.mark.parametrize(("provider", "field"), FIELDS)
@FUZZ
@given(value=_env_text)
def test_any_environment_value_of_any_setting_loads_or_is_one_line(
    provider: str, field: str, value: str
) -> None:
    data = {name: setting for name, setting in BASES[provider].items() if name != field}
    with environment(**{f"BYOS_{field.upper()}": value}):
        load_or_error(data, env_file=None)


@FUZZ
@given(content=st.binary(max_size=200), provider=st.sampled_from(sorted(BASES)))
def test_any_env_file_bytes_load_or_are_one_line(
    tmp_path_factory: pytest.TempPathFactory, content: bytes, provider: str
) -> None:
    env_file = tmp_path_factory.mktemp("env") / ".env"
    env_file.write_bytes(content)
    load_or_error({"provider": provider}, env_file=env_file)


@FUZZ
@given(content=st.binary(max_size=200))
def test_any_toml_bytes_load_or_are_one_line(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    path = tmp_path_factory.mktemp("toml") / "dest.toml"
    path.write_bytes(b'provider = "s3"\n' + content)
    try:
        load_destination(path, env=False)
    except Exception as exc:  # noqa: BLE001  (any other exception is the failure under test)
        assert_clean_error(exc)


@pytest.mark.parametrize(
    ("content", "env"),
    [
        (b'provider = "s3"\nbucket = "acme-imports"\nregion = "eu-west-1"\nexpires = inf\n', {}),
        (b'provider = "s3"\nbucket = "acme-imports"\nregion = "eu-west-1"\nexpires = 1e300\n', {}),
        (
            (
                b'provider = "s3"\nbucket = "acme-imports"\nregion = "eu-west-1"\n'
                b'expires = "99999999999999999999d"\n'
            ),
            {},
        ),
        (b'provider = "s3"\nbucket = "acme-imports"\nregion = "eu-west-1"\n', {"BYOS_ORIGINS": "https://x"}),
        (b'provider = "s3"\nbucket = "acme\xff-imports"\n', {}),
    ],
)
def test_the_cli_prints_one_line_and_exits_2(tmp_path: Path, content: bytes, env: dict[str, str]) -> None:
    path = tmp_path / "dest.toml"
    path.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "byos.cli", "config", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("byos: error: ")
    assert "Traceback" not in result.stderr


def test_a_non_utf8_env_file_in_the_working_folder_fails_the_cli_in_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"BYOS_SECRET_ACCESS_KEY=s\xffcret\n")
    path = tmp_path / "dest.toml"
    path.write_text('provider = "s3"\nbucket = "acme-imports"\nregion = "eu-west-1"\n')
    result = subprocess.run(
        [sys.executable, "-m", "byos.cli", "config", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == "byos: error: .env: is not UTF-8 text (byte 24); save the file as UTF-8\n"


def test_paths_that_are_not_regular_files_are_one_line(tmp_path: Path) -> None:
    for path in ("a\x00b.toml", "/dev/zero", str(tmp_path)):
        with pytest.raises(ConfigError) as caught:
            load_destination(path, env=False)
        assert_clean_error(caught.value)


def test_a_config_file_over_1_mib_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text('provider = "s3"\n' + "# padding\n" * 120_000)
    with pytest.raises(ConfigError, match="is over 1024 KiB") as caught:
        load_destination(path, env=False)
    assert_clean_error(caught.value)


def test_a_fleet_file_that_never_ends_is_one_bad_destination(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text('provider = "s3"\nbucket = "good-bucket"\nregion = "us-east-1"\n')
    (tmp_path / "endless.toml").symlink_to("/dev/zero")
    results = {path.name: item for path, item in load_fleet(tmp_path)}
    assert isinstance(results["endless.toml"], ConfigError)
    assert "is not a regular file" in str(results["endless.toml"])
    assert not isinstance(results["good.toml"], ConfigError)


def test_a_service_account_file_far_larger_than_a_key_is_refused(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (65 * 1024))
    with pytest.raises(ConfigError, match=r"^service_account_file: is over 64 KiB") as caught:
        destination_from_dict({**BASES["gcs"], "service_account_file": str(huge)}, env=False)
    assert_clean_error(caught.value)
    with pytest.raises(ConfigError, match=r"^service_account_file: '/dev/zero' is not a regular file"):
        destination_from_dict({**BASES["gcs"], "service_account_file": "/dev/zero"}, env=False)


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1", "1e300"])
def test_check_timeouts_that_bound_nothing_are_one_line(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from byos.cli import main  # noqa: PLC0415

    for option in ("--timeout", "--deadline"):
        assert main(["check", "--config", "unused.toml", option, value]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"byos: error: {option}: must be ")
        assert err.count("\n") == 1
