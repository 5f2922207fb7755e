"""The presign fast path's loader and the settings classes agree: same rules, same values, same errors.

:mod:`byos.config.quick` validates without pydantic through the rule table; the settings classes declare the
same fields with the same rule functions. Here: the table equals the classes field by field, and on every
configuration the tests use (the example files, every bad setting of test_config, the hostile values, and
hypothesis over every setting of every provider) the two loaders give the same destination or the same
one-line error, or the fast path declines and leaves the decision to the classes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator, BeforeValidator, SecretStr

from byos import presigner_cache
from byos.cli import main
from byos.config import PROVIDERS, destination_from_dict, load_destination
from byos.config.base import (
    CHOICE,
    DURATION,
    INT,
    LIST,
    PATH,
    REQUIRED,
    SECRET,
    STR,
    DestinationBase,
    Setting,
)
from byos.config.quick import QuickDestination, load_quick, quick_destination
from byos.config.rules import check_endpoint
from byos.config.sources import TABLES
from byos.errors import ConfigError
from tests.sigv4_verifier import verify_presigned_url
from tests.test_config import BAD_SETTINGS

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO / "config").rglob("*.toml"))
BASES: dict[str, dict[str, Any]] = {
    "s3": {"provider": "s3", "bucket": "acme-imports", "region": "eu-west-1"},
    "gcs": {"provider": "gcs", "bucket": "acme-imports", "location": "EU"},
    "azure": {"provider": "azure", "account_name": "acmeimports", "container": "uploads"},
}
FIELDS = sorted((provider, name) for provider, table in TABLES.items() for name in table)
_KINDS = {str: STR, int: INT, Path: PATH, SecretStr: SECRET, timedelta: DURATION}

Outcome = tuple[str, Any]


def _settings_of(destination: Any) -> dict[str, Any]:
    """Every setting's value, secrets revealed (to compare them), with its type."""
    values = {}
    for name in TABLES[destination.provider]:
        value = getattr(destination, name)
        secret = getattr(value, "get_secret_value", None)
        values[name] = ("secret", secret()) if callable(secret) else (type(value).__name__, value)
    return values


def full(data: dict[str, Any], **options: Any) -> Outcome:
    try:
        destination = destination_from_dict(dict(data), **options)
    except ConfigError as exc:
        return "error", (exc.field, str(exc))
    return "ok", (_settings_of(destination), destination.label)


def quick(data: dict[str, Any], **options: Any) -> Outcome:
    error: ConfigError | None = None
    try:
        destination = quick_destination(dict(data), **options)
    except ConfigError as exc:
        error = exc
    if error is not None:
        assert error.__context__ is None  # nothing chained that could hold the input
        assert error.__cause__ is None
        return "error", (error.field, str(error))
    if destination is None:
        return "declined", None
    assert isinstance(destination, QuickDestination)
    assert isinstance(destination, DestinationBase)
    return "ok", (_settings_of(destination), destination.label)


def assert_agree(data: dict[str, Any], **options: Any) -> Outcome:
    """The fast path gives what the settings class gives, or declines; returns the fast path's outcome."""
    fast, slow = quick(data, **options), full(data, **options)
    assert fast[0] == "declined" or fast == slow, (fast, slow)
    return fast


# --- the table is the classes ---


def _validators(annotation: object) -> tuple[list[object], list[object], bool]:
    """(before funcs, after funcs, None allowed) of an annotation, looking inside Optional."""
    before: list[object] = []
    after: list[object] = []
    optional = False
    for arg in (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else [annotation]
    ):
        if arg is type(None):
            optional = True
        elif typing.get_origin(arg) is typing.Annotated:
            for meta in typing.get_args(arg)[1:]:
                (before if isinstance(meta, BeforeValidator) else after).append(meta.func)
    return before, after, optional


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_the_rule_table_is_the_settings_class(provider: str) -> None:
    fields = PROVIDERS[provider].model_fields
    table: dict[str, Setting] = dict(TABLES[provider])
    assert list(fields) == list(table)  # same names, same order (errors are reported in this order)
    for name, info in fields.items():
        setting = table[name]
        before, after, optional = _validators(info.annotation)
        for meta in info.metadata:  # Annotated[...] around the whole type (Endpoint)
            (before if isinstance(meta, BeforeValidator) else after).append(meta.func)
            assert isinstance(meta, BeforeValidator | AfterValidator)
        if setting.kind == LIST:
            (item,) = typing.get_args(info.annotation)
            before, after, _ = _validators(item)
        assert before == ([setting.before] if setting.before else []), name
        assert after == list(setting.rules), name
        assert optional == setting.optional, name
        if info.is_required():
            assert setting.default is REQUIRED, name
        elif setting.kind == LIST:
            assert info.default_factory is not None
            assert info.default_factory() == list(setting.default), name  # type: ignore[call-arg, call-overload]
        else:
            assert info.default == setting.default, name
        union = typing.get_origin(info.annotation) in (typing.Union, types.UnionType)
        base = [arg for arg in typing.get_args(info.annotation) if arg is not type(None)] if union else []
        base = base or [info.annotation]
        origin = typing.get_origin(base[0])
        if origin is typing.Literal:
            assert setting.kind == CHOICE, name
            assert typing.get_args(base[0]) == setting.choices, name
        elif origin is list:
            assert setting.kind == LIST, name
        else:
            plain = typing.get_args(base[0])[0] if origin is typing.Annotated else base[0]
            assert _KINDS[plain] == setting.kind, name


def test_an_empty_endpoint_rule_keeps_none() -> None:
    # Endpoint runs its rule on None too (the rule sits outside the Optional); the table skips None.
    assert check_endpoint(None) is None


# --- every configuration the tests use ---


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_example_file_loads_the_same(example: Path) -> None:
    fast = load_quick(example, env=False)
    slow = load_destination(example, env=False)
    assert fast is not None, "the fast path covers every example"
    assert _settings_of(fast) == _settings_of(slow)
    assert fast.label == slow.label


@pytest.mark.parametrize(("base", "changes", "field", "fragment"), BAD_SETTINGS)
def test_every_bad_setting_gives_the_same_error(
    base: dict[str, Any], changes: dict[str, Any], field: str, fragment: str
) -> None:
    fast = assert_agree({**base, **changes}, env=False)
    if fast[0] != "declined":
        assert fast[0] == "error"
        assert fast[1][0] == field
        assert fragment in fast[1][1]
    else:  # only a value whose type is not the plain one is declined
        assert changes == {"region": None}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"expires": "1h30m"},
        {"expires": 90},
        {"expires": "45"},
        {"origins": ["HTTPS://App.Example.com:443/", "http://localhost:5173"]},
        {"endpoint_url": ""},
        {"endpoint_url": "http://127.0.0.1:9000/"},
        {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "secret", "session_token": "token"},
        {"role_arn": "arn:aws:iam::123456789012:role/x", "external_id": "abc123"},
        {
            "prefix": "tenants/acme/",
            "tenant": "acme",
            "raw_key_template": "{prefix}{tenant}/{upload_id}-{filename}",
        },
        {"addressing_style": "path", "max_upload_bytes": 1024, "expected_bucket_owner": "111122223333"},
    ],
)
def test_good_s3_settings_give_the_same_destination(changes: dict[str, Any]) -> None:
    assert assert_agree({**BASES["s3"], **changes}, env=False)[0] == "ok"


@pytest.mark.parametrize(
    ("provider", "changes"),
    [
        ("gcs", {"location": " europe-west1 "}),
        ("gcs", {"hmac_access_id": "GOOG1EXAMPLE", "hmac_secret": "c2VjcmV0"}),
        ("azure", {"location": "West Europe", "account_key": "c2VjcmV0"}),
        ("azure", {"endpoint_url": "http://127.0.0.1:10000/devstoreaccount1"}),
    ],
)
def test_good_gcs_and_azure_settings_give_the_same_destination(
    provider: str, changes: dict[str, Any]
) -> None:
    assert assert_agree({**BASES[provider], **changes}, env=False)[0] == "ok"


@pytest.mark.parametrize(
    ("provider", "name"), [(p, n) for p, base in BASES.items() for n in base if n != "provider"]
)
def test_a_missing_required_setting_gives_the_same_error(provider: str, name: str) -> None:
    data = {key: value for key, value in BASES[provider].items() if key != name}
    assert assert_agree(data, env=False) == (
        "error",
        (name, f"{name}: is required; set it in the config file or as BYOS_{name.upper()}"),
    )


@pytest.mark.parametrize(
    "changes",
    [{"expires": "PT2H"}, {"max_upload_bytes": "1024"}, {"bucket": 5}, {"origins": "https://a.example.com"}],
)
def test_what_the_fast_path_declines_the_classes_decide(changes: dict[str, Any]) -> None:
    assert assert_agree({**BASES["s3"], **changes}, env=False)[0] == "declined"


def test_the_environment_and_dotenv_fill_in_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text('BYOS_REGION=eu-west-1\nBYOS_ORIGINS=["https://a.example.com"]\n', encoding="utf-8")
    monkeypatch.setenv("BYOS_SECRET_ACCESS_KEY", "from-env")
    monkeypatch.setenv("BYOS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    data = {"provider": "s3", "bucket": "acme-imports"}
    assert assert_agree(data, env_file=dotenv)[0] == "ok"
    monkeypatch.setenv("BYOS_ORIGINS", "not json")
    assert assert_agree(data, env_file=dotenv)[0] == "error"
    monkeypatch.setenv("BYOS_ORIGINS", '["https://a.example.com"]')
    monkeypatch.setenv("BYOS_MAX_UPLOAD_BYTES", "1024")  # a string for an integer: the classes decide
    assert assert_agree(data, env_file=dotenv)[0] == "declined"


VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "30m", "https://app.example.com", "http://127.0.0.1:1", "a/", "byos-probes/"]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=20), max_size=3),
)


@pytest.mark.parametrize(("provider", "name"), FIELDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES)
def test_any_value_of_any_setting_gives_the_same_outcome(provider: str, name: str, value: object) -> None:
    assert_agree({**BASES[provider], name: value}, env=False)


# --- the command line ---


def test_cli_presign_imports_no_pydantic(tmp_path: Path) -> None:
    config = tmp_path / "s3.toml"
    config.write_text(
        'provider = "s3"\nbucket = "acme-imports"\nregion = "eu-west-1"\n'
        'access_key_id = "AKIAEXAMPLE"\nsecret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n',
        encoding="utf-8",
    )
    program = (
        "import sys\nfrom byos.cli import main\n"
        f"code = main(['presign', '--config', {str(config)!r}, '--filename', 'report.csv', '--json'])\n"
        "print('PYDANTIC' if 'pydantic' in sys.modules else 'NO-PYDANTIC', code, file=sys.stderr)"
    )
    env = {**os.environ, "BYOS_ALLOW_PRIVATE_ENDPOINTS": ""}
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert done.stderr.strip().splitlines()[-1] == "NO-PYDANTIC 0", done.stderr
    assert '"url": "https://acme-imports.s3.eu-west-1.amazonaws.com/' in done.stdout
    assert "wJalrXUtnFEMI" not in done.stdout + done.stderr


def test_the_readme_example_runs_as_written() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("```python\nfrom byos.config.quick import load_quick")
    block = text[start + len("```python\n") : text.index("```", start + 10)]
    program = block + "print(repr(destination.label), 'pydantic' in __import__('sys').modules)\n"
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False, cwd=REPO
    )
    assert done.stdout.strip() == "'acme-s3' False", done.stderr


def _toml(data: dict[str, Any]) -> str:
    """A TOML document of strings, integers and lists of strings (what these settings need)."""
    lines = []
    for name, value in data.items():
        if isinstance(value, list):
            lines.append(f"{name} = [{', '.join(json.dumps(item) for item in value)}]")
        else:
            lines.append(f"{name} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "case", [case for case in BAD_SETTINGS if None not in case[1].values()]
)  # no TOML null
def test_cli_presign_refuses_every_bad_setting_in_one_line_with_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: tuple[dict[str, Any], dict[str, Any], str, str],
) -> None:
    base, changes, field, fragment = case
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    data = {**base, **changes}
    if data.get("provider") == "s3" and "access_key_id" not in data:
        data = {"access_key_id": "AKIAEXAMPLE", "secret_access_key": secret, **data}
    config = tmp_path / "bad.toml"
    config.write_text(_toml(data), encoding="utf-8")
    assert main(["presign", "--config", str(config), "--filename", "a.csv", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"byos: error: {field}: ")
    assert captured.err.count("\n") == 1
    assert fragment in captured.err
    assert secret not in captured.err


def test_cli_presign_through_the_fast_path_passes_the_verifier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    config = tmp_path / "s3.toml"
    config.write_text(
        _toml(
            {**BASES["s3"], "prefix": "imports/", "access_key_id": "AKIAEXAMPLE", "secret_access_key": secret}
        ),
        encoding="utf-8",
    )
    taken: list[object] = []
    original = presigner_cache.fast_request

    def spy(destination: Any, *args: Any, **kwargs: Any) -> Any:
        taken.append(type(destination))
        return original(destination, *args, **kwargs)

    monkeypatch.setattr(presigner_cache, "fast_request", spy)
    argv = [
        "presign",
        "--config",
        str(config),
        "--filename",
        "q3.csv",
        "--content-type",
        "text/csv",
        "--json",
    ]
    assert main(argv) == 0
    request = json.loads(capsys.readouterr().out)
    assert taken == [QuickDestination]  # the CLI's own fast path, not the library's general one
    verified = verify_presigned_url(
        "PUT", request["url"], request["headers"], secret_access_key=secret, now=datetime.now(UTC)
    )
    assert verified.path == "/" + request["key"]
    assert verified.access_key_id == "AKIAEXAMPLE"
    assert request["key"].startswith("imports/")
    assert request["headers"]["If-None-Match"] == "*"


@pytest.mark.parametrize("name", ["raw_key_template", "result_key_template"])
def test_a_rule_that_quotes_a_raw_value_still_gives_one_line(name: str) -> None:
    # The template rules name the unknown field as written; a line break in it must not break the line.
    fast = assert_agree({**BASES["azure"], name: "{prefix}{upload_id}{\n}"}, env=False)
    assert fast[0] == "error"
    assert fast[1][0] == name
    assert "\n" not in fast[1][1]


# Every name the single module byos/config.py defined before it became a package (and what it imported).
OLD_NAMES = [
    "AzureAccount",
    "AzureContainer",
    "AzureDestination",
    "AzureLocation",
    "DEFAULT_EXPIRES",
    "Destination",
    "DestinationBase",
    "Duration",
    "Endpoint",
    "ExternalId",
    "GCSBucket",
    "GCSDestination",
    "GcsLocation",
    "MAX_CONFIG_BYTES",
    "MAX_EXPIRES",
    "MIN_EXPIRES",
    "Origin",
    "PROVIDERS",
    "Prefix",
    "RawTemplate",
    "RoleArn",
    "S3Bucket",
    "S3Destination",
    "Template",
    "_DURATION_PART",
    "_DURATION_UNITS",
    "_MAX_DURATION_DIGITS",
    "_MAX_KEY_FILE",
    "_ProblemError",
    "_TOO_LONG",
    "_check_base64_key",
    "_check_endpoint",
    "_check_expires",
    "_check_gcs_bucket",
    "_check_origin",
    "_check_prefix",
    "_check_raw_template",
    "_check_s3_bucket",
    "_check_template",
    "_duration",
    "_env_file_error",
    "_env_value",
    "_human",
    "_no_path",
    "_not_a_duration",
    "_number",
    "_parse_duration",
    "_pattern",
    "_read_text",
    "_read_toml",
    "_to_config_error",
    "check_origin",
    "destination_from_dict",
    "load_destination",
    "load_fleet",
    "parse_duration",
    "ENV_PREFIX",
    "keys",
    "ConfigError",
    "InvalidInputError",
    "SecretStr",
    "environment_values",
    "read_env_file",
]


def test_every_name_of_the_old_module_is_still_importable() -> None:
    program = (
        "import sys, byos.config as c\n"
        "light = 'pydantic' not in sys.modules\n"
        f"missing = [n for n in {OLD_NAMES!r} if not hasattr(c, n)]\n"
        "print(light, missing)"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "True []", done.stderr  # and importing the package loads no pydantic
