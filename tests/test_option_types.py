"""Every public upload option is type-checked first: a wrong type is InvalidInputError naming the field.

Property tests over all three providers: whatever wrongly-typed value a caller passes (a web form's
``"false"``, a JSON number, bytes, a naive datetime), presigning refuses it by name, and an upload URL
without write-once is returned only when ``overwrite`` is exactly ``True``.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byos.config import Destination, destination_from_dict
from byos.errors import InvalidInputError
from byos.models import UploadOptions, UploadRequest
from byos.providers import azure, gcs, s3
from byos.uploads import presign_upload
from tests.gcs_helpers import HMAC_ACCESS_ID, HMAC_SECRET

NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
DESTINATIONS: dict[str, dict[str, Any]] = {
    "s3": {
        "provider": "s3",
        "bucket": "acme-imports",
        "region": "eu-west-1",
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    },
    "gcs": {
        "provider": "gcs",
        "bucket": "acme-imports",
        "location": "EU",
        "hmac_access_id": HMAC_ACCESS_ID,
        "hmac_secret": HMAC_SECRET,
    },
    "azure": {
        "provider": "azure",
        "account_name": "acmeimports",
        "container": "uploads",
        "account_key": base64.b64encode(bytes(range(64))).decode(),
    },
}
PROVIDERS = sorted(DESTINATIONS)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def destination(provider: str) -> Destination:
    return destination_from_dict(DESTINATIONS[provider], env=False)


_anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["false", "False", "0", "", "no", "off", "true", "1"]),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(timedelta(minutes=5)),
    st.just(NOW.replace(tzinfo=None)),
    st.just(date(2026, 11, 2)),
)
_not_text = _anything.filter(lambda v: not isinstance(v, str))
WRONG: dict[str, st.SearchStrategy[Any]] = {
    "filename": _not_text,
    "content_type": _not_text.filter(lambda v: v is not None),
    "checksum_sha256": _not_text.filter(lambda v: v is not None),
    "content_md5": _not_text.filter(lambda v: v is not None),
    "upload_id": _not_text.filter(lambda v: v is not None),
    "import_id": _not_text.filter(lambda v: v is not None),
    "content_length": _anything.filter(lambda v: v is not None and (type(v) is not int or v < 0)),
    "min_bytes": _anything.filter(lambda v: v is not None and (type(v) is not int or v < 0)),
    "max_bytes": _anything.filter(lambda v: v is not None and (type(v) is not int or v < 0)),
    "overwrite": _anything.filter(lambda v: v is not True and v is not False),
    "expires": _anything.filter(lambda v: v is not None and not isinstance(v, timedelta)),
    "now": st.one_of(
        _anything.filter(lambda v: v is not None and not isinstance(v, datetime)),
        st.datetimes(timezones=st.none()),
    ),
    "method": st.one_of(
        _anything, st.sampled_from(["put", "GET", "DELETE", "PUT ", "POST\n"]), st.just(b"PUT")
    ).filter(lambda v: v not in ("PUT", "POST") or not isinstance(v, str)),
    "metadata": st.one_of(
        st.text(min_size=1, max_size=5),
        st.integers(),
        st.lists(st.tuples(st.just("a"), st.just("b")), min_size=1, max_size=2),
        st.dictionaries(st.just("batch"), st.one_of(st.integers(), st.binary(), st.none()), min_size=1),
        st.dictionaries(st.integers(), st.just("x"), min_size=1, max_size=2),
    ),
}


def is_write_once(provider: str, request: UploadRequest) -> bool:
    """Whether the signed request can only create a new object, as each provider enforces it."""
    signed = parse_qs(urlsplit(request.url).query)
    if provider == "s3":
        return request.headers.get("If-None-Match") == "*" and "if-none-match" in signed[
            "X-Amz-SignedHeaders"
        ][0].split(";")
    if provider == "gcs":
        return request.headers.get("x-goog-if-generation-match") == "0" and "x-goog-if-generation-match" in (
            signed["X-Goog-SignedHeaders"][0].split(";")
        )
    return request.headers.get("If-None-Match") == "*" and signed["sp"] == ["c"]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("field", sorted(WRONG))
@SETTINGS
@given(data=st.data())
def test_a_wrongly_typed_option_is_refused_by_name(provider: str, field: str, data: st.DataObject) -> None:
    value = data.draw(WRONG[field], label=field)
    arguments: dict[str, Any] = {"filename": "report.csv", "now": NOW, field: value}
    filename = arguments.pop("filename")
    with pytest.raises(InvalidInputError) as caught:
        presign_upload(destination(provider), filename, **arguments)
    assert caught.value.field == field
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("provider", PROVIDERS)
@SETTINGS
@given(overwrite=_anything)
def test_only_exactly_true_gives_a_url_without_write_once(provider: str, overwrite: object) -> None:
    if overwrite is not True and overwrite is not False:
        with pytest.raises(InvalidInputError, match=r"^overwrite: must be True or False"):
            presign_upload(destination(provider), "report.csv", overwrite=overwrite, now=NOW)  # type: ignore[arg-type]
        return
    request = presign_upload(destination(provider), "report.csv", overwrite=overwrite, now=NOW)
    assert is_write_once(provider, request) is (overwrite is False)


@SETTINGS
@given(overwrite=_anything)
def test_resumable_and_block_uploads_keep_write_once_unless_exactly_true(overwrite: object) -> None:
    if overwrite is not True and overwrite is not False:
        with pytest.raises(InvalidInputError, match=r"^overwrite: must be True or False"):
            UploadOptions(filename="big.bin", overwrite=overwrite, now=NOW)  # type: ignore[arg-type]
        return
    options = UploadOptions(filename="big.bin", overwrite=overwrite, now=NOW)
    start = gcs.start_resumable(destination("gcs"), options)
    assert is_write_once("gcs", start) is (overwrite is False)
    blocks = azure.start_block_upload(destination("azure"), options, 10)
    assert (blocks.commit.headers.get("If-None-Match") == "*") is (overwrite is False)


@pytest.mark.parametrize("field", ["overwrite", "probe"])
@pytest.mark.parametrize("value", ["false", 0, 1, None, 0.0, "True", b"", [False]])
def test_upload_options_refuse_flags_that_are_not_bool(field: str, value: object) -> None:
    with pytest.raises(InvalidInputError, match=f"^{field}: must be True or False"):
        UploadOptions(filename="a.csv", **{field: value})  # type: ignore[arg-type]


def test_metadata_is_copied_so_a_later_change_cannot_alter_the_options() -> None:
    metadata = {"batch": "7"}
    options = UploadOptions(filename="a.csv", metadata=metadata)
    metadata["batch"] = "8"
    assert options.metadata == {"batch": "7"}


@pytest.mark.parametrize("size", ["10", 10.0, True, None, -1, [10]])
def test_provider_entry_points_refuse_a_size_of_the_wrong_type(size: object) -> None:
    options = UploadOptions(filename="big.bin", now=NOW)
    with pytest.raises(InvalidInputError, match=r"^size: "):
        azure.start_block_upload(destination("azure"), options, size)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"^size: "):
        s3.start_multipart(destination("s3"), options, size)  # type: ignore[arg-type]


@pytest.mark.parametrize("part_size", ["8388608", 8388608.0, True])
def test_multipart_part_size_must_be_an_int(part_size: object) -> None:
    options = UploadOptions(filename="big.bin", now=NOW)
    with pytest.raises(InvalidInputError, match=r"^part_size: "):
        s3.start_multipart(destination("s3"), options, 10 * 1024**2, part_size=part_size)  # type: ignore[arg-type]


@pytest.mark.parametrize("overwrite", ["false", 0, None])
def test_completing_a_multipart_upload_keeps_write_once_on_a_type_mistake(overwrite: object) -> None:
    upload = s3.MultipartUpload("imports/a.bin", "upload-1", 5 * 1024**2, 1, (), NOW)
    with pytest.raises(InvalidInputError, match=r"^overwrite: must be True or False"):
        s3.complete_multipart(destination("s3"), upload, [], overwrite=overwrite)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, {"provider": "s3"}, "acme.toml", 0])
def test_presigning_needs_a_loaded_destination(value: object) -> None:
    with pytest.raises(InvalidInputError, match=r"^destination: is a \w+, not a destination"):
        presign_upload(value, "a.csv")  # type: ignore[arg-type]
    for provider in (s3, gcs, azure):
        with pytest.raises(InvalidInputError, match=r"^destination: is a \w+, not a destination"):
            provider.presign_upload(value, UploadOptions(filename="a.csv"))


VALID: dict[str, st.SearchStrategy[Any]] = {
    "filename": st.sampled_from(["report.csv", "Q3 (final).xlsx", "../x.csv"]),
    "content_type": st.sampled_from([None, "text/csv"]),
    "content_length": st.sampled_from([None, 10]),
    "min_bytes": st.none(),
    "max_bytes": st.none(),
    "checksum_sha256": st.none(),
    "content_md5": st.none(),
    "upload_id": st.none(),
    "import_id": st.none(),
    "overwrite": st.booleans(),
    "expires": st.sampled_from([None, timedelta(minutes=5)]),
    "now": st.just(NOW),
    "method": st.just("PUT"),
    "metadata": st.sampled_from([{}, {"batch": "7"}]),
}


@pytest.mark.parametrize("provider", PROVIDERS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_type_checks_come_first_and_write_once_survives_any_mix(provider: str, data: st.DataObject) -> None:
    wrong = data.draw(st.sets(st.sampled_from(sorted(WRONG)), max_size=4), label="wrongly typed")
    arguments = {
        name: data.draw(WRONG[name] if name in wrong else VALID[name], label=name) for name in sorted(VALID)
    }
    filename = arguments.pop("filename")
    if wrong:
        with pytest.raises(InvalidInputError) as caught:
            presign_upload(destination(provider), filename, **arguments)
        assert caught.value.field in wrong
        return
    if provider == "azure" and arguments["content_length"] is not None:  # an Azure SAS locks no size
        with pytest.raises(InvalidInputError, match=r"^content_length: an Azure SAS cannot limit"):
            presign_upload(destination(provider), filename, **arguments)
        return
    request = presign_upload(destination(provider), filename, **arguments)
    assert is_write_once(provider, request) is (arguments["overwrite"] is False)


@pytest.mark.parametrize("value", ["false", 0, 1, None, ""])
def test_the_signers_write_once_flags_must_be_bool(value: object) -> None:
    from byos.signing.sas import BlobSasSigner  # noqa: PLC0415
    from byos.signing.sigv4 import SigV4Signer  # noqa: PLC0415

    sas = BlobSasSigner("acmeimports", account_key=DESTINATIONS["azure"]["account_key"])
    for flag in ("overwrite", "block_upload", "policy_sets_permission"):
        with pytest.raises(InvalidInputError, match=rf"^{flag}: must be True or False"):
            sas.sign("uploads", "a.csv", now=NOW, expires=timedelta(minutes=5), **{flag: value})  # type: ignore[arg-type]
    sigv4 = SigV4Signer("AKIAIOSFODNN7EXAMPLE", "secret", "eu-west-1")
    with pytest.raises(InvalidInputError, match=r"^if_none_match: must be True or False"):
        sigv4.presign_put("acme-imports", "a.csv", expires=300, now=NOW, if_none_match=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"origins": "https://app.example.com"}, "origins"),
        ({"origins": [b"https://app.example.com"]}, "origins"),
        ({"origins": {"https://app.example.com": 1}}, "origins"),
        ({"timeout": "10"}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"deadline": float("inf")}, "deadline"),
        ({"deadline": 0}, "deadline"),
        ({"deadline": -1}, "deadline"),
    ],
)
def test_check_setup_type_checks_its_options_before_anything_is_sent(
    arguments: dict[str, Any], field: str
) -> None:
    from byos.checker import check_fleet, check_setup  # noqa: PLC0415

    sent: list[str] = []

    def transport(method: str, url: str, **_: Any) -> Any:
        sent.append(f"{method} {url}")
        raise AssertionError("nothing may be sent")

    with pytest.raises(InvalidInputError) as caught:
        check_setup(destination("s3"), transport=transport, **arguments)
    assert caught.value.field == field
    with pytest.raises(InvalidInputError) as fleet:
        check_fleet([destination("s3")], **arguments)
    assert fleet.value.field == field
    assert sent == []


@pytest.mark.parametrize("concurrency", [0, -1, True, 2.0, "8"])
def test_check_fleet_concurrency_is_a_whole_number(concurrency: object) -> None:
    from byos.checker import check_fleet  # noqa: PLC0415

    with pytest.raises(InvalidInputError, match=r"^concurrency: "):
        check_fleet([destination("s3")], concurrency=concurrency)  # type: ignore[arg-type]


def test_check_setup_needs_a_loaded_destination() -> None:
    from byos.checker import check_setup  # noqa: PLC0415

    with pytest.raises(InvalidInputError, match=r"^destination: is a dict, not a destination"):
        check_setup({"provider": "s3"})  # type: ignore[arg-type]
