"""The compiled-presigner fast path returns exactly what the general path returns, and its cache is safe."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byos import keys, presigner_cache
from byos.config import destination_from_dict
from byos.errors import InvalidInputError
from byos.models import UploadOptions, UploadRequest
from byos.providers import get_provider
from byos.uploads import presign_upload

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
REAL_NEW_UPLOAD_ID = presigner_cache.new_upload_id
NOW = datetime(2026, 3, 14, 15, 9, 26, 535_897, tzinfo=UTC)
ACCOUNT_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="

S3_BASE = {
    "provider": "s3",
    "bucket": "acme-imports",
    "region": "eu-west-1",
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
AZURE_BASE = {
    "provider": "azure",
    "account_name": "acmeimports",
    "container": "uploads",
    "account_key": ACCOUNT_KEY,
}
GCS_BASE = {
    "provider": "gcs",
    "bucket": "acme-imports",
    "location": "EUROPE-WEST1",
    "hmac_access_id": "GOOG1EBENCHACCESSID0123456789ABCDEFGHIJKLMNOPQRSTUVWXY",
    "hmac_secret": "bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ",
}
DESTINATIONS: list[dict[str, Any]] = [
    S3_BASE,
    {**S3_BASE, "prefix": "imports/acme/", "expires": "2h"},
    {**S3_BASE, "session_token": "IQoJb3JpZ2luX2VjE+/=token", "sse_kms_key_id": "alias/uploads"},
    {**S3_BASE, "bucket": "dotted.bucket.name", "prefix": "a/"},
    {**S3_BASE, "expected_bucket_owner": "123456789012", "sse_kms_key_id": "alias/k"},
    {**S3_BASE, "endpoint_url": "http://127.0.0.1:9000", "region": "us-east-1", "addressing_style": "path"},
    {**S3_BASE, "tenant": "acme", "raw_key_template": "{prefix}{tenant}/{upload_id}/{stem}.{ext}.raw"},
    AZURE_BASE,
    {**AZURE_BASE, "prefix": "raw/", "stored_access_policy": "uploads-policy"},
    {**AZURE_BASE, "endpoint_url": "http://127.0.0.1:10000/acmeimports"},
    GCS_BASE,
    {**GCS_BASE, "prefix": "in/", "endpoint_url": "http://127.0.0.1:4443"},
]
NAMES = st.one_of(
    st.sampled_from(
        ["Quarterly report Q3.csv", "a.csv", "x", "../../etc/passwd", " lead.csv", "two  spaces"]
    ),
    st.text(min_size=1, max_size=40),
    st.text(alphabet='abcXYZ09 ._-()%"<>\\/', min_size=1, max_size=40),
)


@pytest.fixture(autouse=True)
def _fixed_upload_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys, "new_upload_id", lambda: UUID)
    monkeypatch.setattr(presigner_cache, "new_upload_id", lambda: UUID)


def general(destination: Any, filename: str, **options: Any) -> UploadRequest | Exception:
    """The general path: the provider's own presign_upload, never the compiled presigner."""
    try:
        return get_provider(destination.provider).presign_upload(
            destination, UploadOptions(filename=filename, **options)
        )
    except InvalidInputError as exc:
        return exc


def library(destination: Any, filename: str, **options: Any) -> UploadRequest | Exception:
    try:
        return presign_upload(destination, filename, **options)
    except InvalidInputError as exc:
        return exc


def same(left: UploadRequest | Exception, right: UploadRequest | Exception) -> bool:
    """Equal requests (headers in the same order too, as the JSON shows them), or the same error."""
    if isinstance(left, Exception) or isinstance(right, Exception):
        return type(left) is type(right) and str(left) == str(right)
    return (
        left == right and left.url == right.url and list(left.headers.items()) == list(right.headers.items())
    )


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    settings_index=st.integers(0, len(DESTINATIONS) - 1),
    filename=NAMES,
    content_type=st.sampled_from([None, "text/csv", "application/vnd.ms-excel", " text/csv", ""]),
    content_length=st.sampled_from([None, 0, 48_213_773, -1, 6 * 1024**3]),
    overwrite=st.booleans(),
    expires=st.sampled_from([None, timedelta(minutes=5), timedelta(days=8), timedelta(seconds=0)]),
    now=st.sampled_from([NOW, NOW.astimezone(UTC).replace(tzinfo=None), NOW + timedelta(hours=30)]),
)
def test_the_fast_path_equals_the_general_path(
    *,
    settings_index: int,
    filename: str,
    content_type: str | None,
    content_length: int | None,
    overwrite: bool,
    expires: timedelta | None,
    now: datetime,
) -> None:
    destination = destination_from_dict(DESTINATIONS[settings_index], env=False)
    options = {
        "content_type": content_type,
        "content_length": content_length,
        "overwrite": overwrite,
        "expires": expires,
        "now": now,
    }
    assert same(library(destination, filename, **options), general(destination, filename, **options))


@pytest.mark.parametrize("settings_index", range(len(DESTINATIONS)))
def test_common_uploads_take_the_fast_path(settings_index: int) -> None:
    destination = destination_from_dict(DESTINATIONS[settings_index], env=False)
    fast = presigner_cache.fast_request(
        destination, "Quarterly report Q3.csv", content_type="text/csv", now=NOW, plain=True
    )
    assert fast is not None
    assert same(fast, general(destination, "Quarterly report Q3.csv", content_type="text/csv", now=NOW))


def test_uncommon_options_take_the_general_path() -> None:
    destination = destination_from_dict(S3_BASE, env=False)
    assert presigner_cache.fast_request(destination, "a.csv", plain=False) is None
    assert presigner_cache.fast_request(destination, b"a.csv", plain=True) is None
    assert presigner_cache.fast_request(destination, "a.csv", overwrite=1, plain=True) is None
    dated = destination_from_dict(
        {**S3_BASE, "raw_key_template": "{prefix}{yyyy}/{upload_id}-{filename}"}, env=False
    )
    assert presigner_cache.fast_request(dated, "a.csv", plain=True) is None
    role = destination_from_dict(
        {
            "provider": "s3",
            "bucket": "acme-imports",
            "region": "eu-west-1",
            "role_arn": "arn:aws:iam::123456789012:role/r",
        },
        env=False,
    )
    assert presigner_cache.fast_request(role, "a.csv", plain=True) is None


def test_rotated_credentials_get_a_new_presigner() -> None:
    old = destination_from_dict(S3_BASE, env=False)
    new = destination_from_dict({**S3_BASE, "secret_access_key": "rotated-secret"}, env=False)
    twin = destination_from_dict(S3_BASE, env=False)
    assert presigner_cache.fingerprint(old) != presigner_cache.fingerprint(new)
    assert presigner_cache.fingerprint(old) == presigner_cache.fingerprint(twin)
    first = presigner_cache.fast_request(old, "a.csv", now=NOW, plain=True)
    second = presigner_cache.fast_request(new, "a.csv", now=NOW, plain=True)
    assert first is not None
    assert second is not None
    assert first.url != second.url
    assert same(second, general(new, "a.csv", now=NOW))


def test_no_secret_in_a_fingerprint_or_repr() -> None:
    destination = destination_from_dict(S3_BASE, env=False)
    presigner_cache.fast_request(destination, "a.csv", now=NOW, plain=True)
    secret = S3_BASE["secret_access_key"]
    texts = [presigner_cache.fingerprint(destination), repr(presigner_cache._CACHE)]
    texts.extend(repr(p) for p in presigner_cache._CACHE._lru.values())
    assert texts
    assert all(secret not in text and "EXAMPLEKEY" not in text for text in texts)


def test_the_cache_stays_bounded_and_threads_share_it(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = presigner_cache._Cache(8)
    monkeypatch.setattr(presigner_cache, "_CACHE", cache)
    tenants = [destination_from_dict({**S3_BASE, "prefix": f"t{i}/"}, env=False) for i in range(40)]
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for index in range(200):
                destination = tenants[(index + offset) % len(tenants)]
                fast = presigner_cache.fast_request(destination, "a.csv", now=NOW, plain=True)
                assert fast is not None
                assert fast.key == f"{destination.prefix}{UUID}-a.csv"
        except BaseException as exc:  # noqa: BLE001 - collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(cache._lru) <= 8
    assert len(cache._seen) <= 8


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(name=NAMES, budget=st.integers(16, 255))
def test_fast_name_helpers_equal_the_keys_module(name: str, budget: int) -> None:
    assert presigner_cache.fast_sanitize(name, budget) == keys.sanitize_filename(name, budget)
    assert presigner_cache.fast_metadata_filename(name) == keys.metadata_filename(name)


def test_upload_ids_are_version_4_uuids() -> None:
    ids = [REAL_NEW_UPLOAD_ID() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    settings_index=st.integers(0, len(DESTINATIONS) - 1),
    filename=NAMES,
    size=st.sampled_from([None, 0, 1, 8 * 1024**2]),
    content_type=st.sampled_from([None, "text/csv"]),
)
def test_one_request_plans_equal_the_planners(
    settings_index: int, filename: str, size: int | None, content_type: str | None
) -> None:
    from byos import planner  # noqa: PLC0415

    destination = destination_from_dict(DESTINATIONS[settings_index], env=False)
    options = UploadOptions(filename=filename, content_type=content_type, now=NOW)

    def plan_or_error(build: Any) -> Any:
        try:
            return build()
        except InvalidInputError as exc:
            return str(exc)

    fast = plan_or_error(
        lambda: planner.presign_upload(destination, filename, size=size, content_type=content_type, now=NOW)
    )
    general_plan = plan_or_error(lambda: planner._single(destination, options, size, None))
    assert fast == general_plan
    if not isinstance(fast, str):
        assert json.dumps(fast.to_dict()) == json.dumps(general_plan.to_dict())


def test_shared_header_constructors_equal_the_dataclasses() -> None:
    from byos.plans import Step  # noqa: PLC0415
    from byos.signing.sigv4 import SigV4Signer  # noqa: PLC0415

    signer = SigV4Signer("AKIDEXAMPLE", "secret", "eu-west-1")
    signed = signer.presign_parts("acme-imports", "k", upload_id="u", lengths=[5, 3], expires=60, now=NOW)
    requests = presigner_cache.part_requests("s3", signed, "k")
    assert requests == [UploadRequest("s3", "PUT", p.url, p.headers, {}, "k", p.expires_at) for p in signed]
    spans = [(0, 5), (5, 8)]
    steps = presigner_cache.part_steps(requests, spans)
    expected = tuple(
        Step(
            method="PUT",
            url=r.url,
            headers=r.headers,
            body="range",
            range=span,
            part_number=n,
            expect=(200,),
            collect="etag",
        )
        for n, (r, span) in enumerate(zip(requests, spans, strict=True), start=1)
    )
    assert steps == expected
    assert [s.to_dict() for s in steps] == [s.to_dict() for s in expected]
    with pytest.raises(TypeError):
        steps[0].headers["Content-Length"] = "9"  # type: ignore[index]


@pytest.mark.parametrize("metadata", [[], "", 0, (), False])
def test_wrongly_typed_empty_metadata_is_refused_on_both_entry_points(metadata: Any) -> None:
    from byos import planner  # noqa: PLC0415

    destination = destination_from_dict(S3_BASE, env=False)
    with pytest.raises(InvalidInputError) as from_plan:
        planner.presign_upload(destination, "a.csv", metadata=metadata)
    with pytest.raises(InvalidInputError) as from_request:
        presign_upload(destination, "a.csv", metadata=metadata)
    assert from_plan.value.field == from_request.value.field == "metadata"
