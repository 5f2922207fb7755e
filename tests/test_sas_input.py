"""Azure SAS inputs: a bad input is a one-line InvalidInputError naming its field; block plans fit limits."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from byos.errors import InvalidInputError
from byos.signing.sas import (
    DEFAULT_BLOCK_SIZE,
    MAX_BLOB_SIZE,
    MAX_BLOCK_SIZE,
    MAX_BLOCKS,
    MIB,
    BlobSasSigner,
    UserDelegationKey,
    block_id,
    block_list_body,
    plan_blocks,
    put_block_list_url,
    put_block_url,
)

NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
KEY = base64.b64encode(b"k" * 64).decode()
SIGNER = BlobSasSigner("acct", account_key=KEY)
MINUTE = timedelta(minutes=1)


def delegation_key(**changes: Any) -> UserDelegationKey:
    fields: dict[str, Any] = {
        "signed_oid": "11111111-1111-1111-1111-111111111111",
        "signed_tid": "22222222-2222-2222-2222-222222222222",
        "signed_start": "2025-03-04T00:00:00Z",
        "signed_expiry": "2025-03-05T00:00:00Z",
        "signed_service": "b",
        "signed_version": "2026-10-06",
        "value": KEY,
    }
    fields.update(changes)
    return UserDelegationKey(**fields)


def sign(**changes: Any) -> object:
    arguments: dict[str, Any] = {"container": "uploads", "blob_name": "a.txt", "now": NOW, "expires": MINUTE}
    arguments.update(changes)
    return SIGNER.sign(arguments.pop("container"), arguments.pop("blob_name"), **arguments)


BAD_INPUTS: list[tuple[str, str, Callable[[], object]]] = [
    ("short account", "account_name", lambda: BlobSasSigner("ab", account_key=KEY)),
    ("long account", "account_name", lambda: BlobSasSigner("a" * 25, account_key=KEY)),
    ("uppercase account", "account_name", lambda: BlobSasSigner("MyAccount", account_key=KEY)),
    ("hyphen account", "account_name", lambda: BlobSasSigner("my-account", account_key=KEY)),
    ("no key", "account_key", lambda: BlobSasSigner("acct")),
    (
        "two keys",
        "account_key",
        lambda: BlobSasSigner("acct", account_key=KEY, user_delegation_key=delegation_key()),
    ),
    ("key not base64", "account_key", lambda: BlobSasSigner("acct", account_key="not base64!")),
    ("blank key", "account_key", lambda: BlobSasSigner("acct", account_key="  ")),
    ("ftp endpoint", "endpoint", lambda: BlobSasSigner("acct", account_key=KEY, endpoint="ftp://host")),
    (
        "endpoint without scheme",
        "endpoint",
        lambda: BlobSasSigner("acct", account_key=KEY, endpoint="acct.blob"),
    ),
    (
        "endpoint without host",
        "endpoint",
        lambda: BlobSasSigner("acct", account_key=KEY, endpoint="https://"),
    ),
    (
        "azure endpoint with path",
        "endpoint",
        lambda: BlobSasSigner("acct", account_key=KEY, endpoint="https://acct.blob.core.windows.net/c"),
    ),
    (
        "endpoint query",
        "endpoint",
        lambda: BlobSasSigner("acct", account_key=KEY, endpoint="https://h/?sig=x"),
    ),
    ("endpoint user", "endpoint", lambda: BlobSasSigner("acct", account_key=KEY, endpoint="https://u:p@h")),
    (
        "sdk key object",
        "user_delegation_key",
        lambda: BlobSasSigner("acct", user_delegation_key=SimpleNamespace()),  # type: ignore[arg-type]
    ),
    (
        "key expiry not a time",
        "user_delegation_key.signed_expiry",
        lambda: BlobSasSigner("acct", user_delegation_key=delegation_key(signed_expiry="tomorrow")),
    ),
    (
        "key start without zone",
        "user_delegation_key.signed_start",
        lambda: BlobSasSigner("acct", user_delegation_key=delegation_key(signed_start="2025-03-04T00:00:00")),
    ),
    (
        "key ends before it starts",
        "user_delegation_key.signed_expiry",
        lambda: BlobSasSigner(
            "acct", user_delegation_key=delegation_key(signed_expiry="2025-03-03T00:00:00Z")
        ),
    ),
    (
        "key without object id",
        "user_delegation_key.signed_oid",
        lambda: BlobSasSigner("acct", user_delegation_key=delegation_key(signed_oid="")),
    ),
    (
        "key value not base64",
        "user_delegation_key.value",
        lambda: BlobSasSigner("acct", user_delegation_key=delegation_key(value="%%%")),
    ),
    (
        "sdk key missing value",
        "user_delegation_key.value",
        lambda: UserDelegationKey.from_sdk(
            SimpleNamespace(
                signed_oid="o",
                signed_tid="t",
                signed_start="2025-03-04T00:00:00Z",
                signed_expiry="2025-03-05T00:00:00Z",
                signed_service="b",
                signed_version="v",
                value=None,
            )
        ),
    ),
    ("short container", "container", lambda: sign(container="ab")),
    ("long container", "container", lambda: sign(container="a" * 64)),
    ("uppercase container", "container", lambda: sign(container="Uploads")),
    ("leading hyphen container", "container", lambda: sign(container="-uploads")),
    ("trailing hyphen container", "container", lambda: sign(container="uploads-")),
    ("double hyphen container", "container", lambda: sign(container="up--loads")),
    ("underscore container", "container", lambda: sign(container="up_loads")),
    ("special container", "container", lambda: sign(container="$root")),
    ("empty blob", "blob_name", lambda: sign(blob_name="")),
    ("long blob", "blob_name", lambda: sign(blob_name="x" * 1025)),
    ("blob ends with dot", "blob_name", lambda: sign(blob_name="report.")),
    ("blob ends with slash", "blob_name", lambda: sign(blob_name="dir/")),
    ("blob is dots", "blob_name", lambda: sign(blob_name="..")),
    ("blob 255 segments", "blob_name", lambda: sign(blob_name="/".join(["a"] * 255))),
    ("blob NUL", "blob_name", lambda: sign(blob_name="a\x00b")),
    ("blob newline", "blob_name", lambda: sign(blob_name="a\nb")),
    ("blob DEL", "blob_name", lambda: sign(blob_name="a\x7fb")),
    ("blob dot segment", "blob_name", lambda: sign(blob_name="a/./b")),
    ("blob parent segment", "blob_name", lambda: sign(blob_name="../etc/passwd")),
    ("blob surrogate", "blob_name", lambda: sign(blob_name="a\ud800b")),
    ("zero lifetime", "expires", lambda: sign(expires=timedelta(0))),
    ("sub-second lifetime", "expires", lambda: sign(expires=timedelta(milliseconds=999))),
    ("negative lifetime", "expires", lambda: sign(expires=timedelta(seconds=-1))),
    ("lifetime over 7 days", "expires", lambda: sign(expires=timedelta(days=7, seconds=1))),
    ("lifetime missing", "expires", lambda: sign(expires=None)),
    ("lifetime as int", "expires", lambda: sign(expires=30)),
    ("naive now", "now", lambda: sign(now=datetime(2025, 3, 4))),  # noqa: DTZ001 - the naive time is the point
    ("now as text", "now", lambda: sign(now="2025-03-04T00:00:00Z")),
    ("now at the end of time", "now", lambda: sign(now=datetime.max.replace(tzinfo=UTC))),
    ("negative backdate", "start_backdate", lambda: sign(start_backdate=timedelta(seconds=-1))),
    ("backdate over 7 days", "start_backdate", lambda: sign(start_backdate=timedelta(days=8))),
    ("empty policy", "stored_access_policy", lambda: sign(stored_access_policy="")),
    ("long policy", "stored_access_policy", lambda: sign(stored_access_policy="p" * 65)),
    ("policy flags alone", "stored_access_policy", lambda: sign(policy_sets_permission=True)),
    ("policy expiry flag alone", "stored_access_policy", lambda: sign(policy_sets_expiry=True, expires=None)),
    ("expiry twice", "expires", lambda: sign(stored_access_policy="p", policy_sets_expiry=True)),
    (
        "policy with delegation key",
        "stored_access_policy",
        lambda: BlobSasSigner("acct", user_delegation_key=delegation_key()).sign(
            "uploads", "a", now=NOW, expires=MINUTE, stored_access_policy="p"
        ),
    ),
    (
        "lifetime past the delegation key",
        "expires",
        lambda: BlobSasSigner("acct", user_delegation_key=delegation_key()).sign(
            "uploads", "a", now=NOW, expires=timedelta(hours=19)
        ),
    ),
    ("block index negative", "index", lambda: block_id(-1)),
    ("block index too high", "index", lambda: block_id(MAX_BLOCKS)),
    ("block index bool", "index", lambda: block_id(True)),
    ("block id not base64", "block_id", lambda: put_block_url("https://h/c/b?sig=x", "not base64!")),
    ("block id empty", "block_id", lambda: put_block_url("https://h/c/b?sig=x", "")),
    (
        "block id too long",
        "block_id",
        lambda: put_block_url("https://h/c/b?sig=x", base64.b64encode(b"x" * 65).decode()),
    ),
    ("block ids of two lengths", "block_ids", lambda: block_list_body([block_id(0), "QUJD"])),
    ("too many block ids", "block_ids", lambda: block_list_body([block_id(0)] * (MAX_BLOCKS + 1))),
    ("negative size", "size", lambda: plan_blocks(-1)),
    ("size over the limit", "size", lambda: plan_blocks(MAX_BLOB_SIZE + 1)),
    ("size as float", "size", lambda: plan_blocks(1.5)),  # type: ignore[arg-type]
    ("zero block size", "min_block_size", lambda: plan_blocks(10, min_block_size=0)),
    ("huge block size", "min_block_size", lambda: plan_blocks(10, min_block_size=MAX_BLOCK_SIZE + 1)),
]


@pytest.mark.parametrize(
    ("field", "call"), [(f, c) for _, f, c in BAD_INPUTS], ids=[n for n, _, _ in BAD_INPUTS]
)
def test_bad_input_is_a_one_line_error_naming_the_field(field: str, call: Callable[[], object]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        call()
    message = str(caught.value)
    assert caught.value.field == field
    assert message.startswith(f"{field}: ")
    assert "\n" not in message
    assert "; " in message
    assert KEY not in message


def test_errors_never_echo_secrets() -> None:
    secret = "c2VjcmV0" + "!"
    with pytest.raises(InvalidInputError) as caught:
        BlobSasSigner("acct", account_key=secret)
    assert secret not in str(caught.value)
    assert "c2VjcmV0" not in str(caught.value)


def test_signer_repr_hides_the_key() -> None:
    signer = BlobSasSigner("acct", account_key=KEY)
    delegated = BlobSasSigner("acct", user_delegation_key=delegation_key())
    assert KEY not in repr(signer)
    assert KEY not in repr(delegated)
    assert KEY not in repr(delegation_key())
    assert "account-key" in repr(signer)
    assert "user-delegation" in repr(delegated)
    assert not hasattr(signer, "__dict__")


def test_limits_are_inclusive() -> None:
    signer = BlobSasSigner("acct", account_key=KEY)
    assert sign(blob_name="x" * 1024)
    assert sign(blob_name="/".join(["a"] * 254))
    assert sign(blob_name="a./b")
    assert sign(blob_name=".../x")
    assert sign(container="a" * 63)
    assert sign(container="a-b")
    longest = signer.sign("uploads", "a", now=NOW, expires=timedelta(days=7))
    assert longest.expires_at == NOW + timedelta(days=7)
    shortest = signer.sign("uploads", "a", now=NOW, expires=timedelta(seconds=1))
    assert shortest.expires_at == NOW + timedelta(seconds=1)
    assert BlobSasSigner("a" * 24, account_key=KEY).account_name == "a" * 24


def test_delegation_sas_starts_no_earlier_than_its_key_and_may_end_with_it() -> None:
    signer = BlobSasSigner("acct", user_delegation_key=delegation_key(signed_start="2025-03-04T05:04:00Z"))
    sas = signer.sign("uploads", "a", now=NOW, expires=timedelta(hours=18, minutes=53, seconds=53))
    assert sas.starts_at == datetime(2025, 3, 4, 5, 4, tzinfo=UTC)
    assert sas.expires_at == signer.key_expires_at == datetime(2025, 3, 5, tzinfo=UTC)


def test_policy_may_supply_permission_and_expiry() -> None:
    sas = SIGNER.sign(
        "uploads",
        "a",
        now=NOW,
        expires=None,
        start_backdate=None,
        stored_access_policy="write only",
        policy_sets_permission=True,
        policy_sets_expiry=True,
    )
    assert sas.token.startswith("spr=https&sv=")
    assert "&si=write%20only&sr=b&sig=" in sas.token
    assert sas.permission is None
    assert sas.expires_at is None
    assert sas.starts_at is None


def test_block_ids_have_equal_length_and_are_url_safe() -> None:
    ids = [block_id(i) for i in (0, 1, 9, 10, 12345, MAX_BLOCKS - 1)]
    assert len({len(i) for i in ids}) == 1
    assert len(set(ids)) == len(ids)
    assert all(i.isalnum() for i in ids)
    assert base64.b64decode(block_id(42)) == b"000042"


def test_block_urls_extend_the_sas_url() -> None:
    sas = SIGNER.sign("uploads", "big file.bin", now=NOW, expires=MINUTE, block_upload=True)
    assert sas.permission == "cw"
    assert sas.put_block_url(block_id(3)) == f"{sas.url}&comp=block&blockid={block_id(3)}"
    assert put_block_url(sas.url, "a+b/") == f"{sas.url}&comp=block&blockid=a%2Bb%2F"
    assert sas.put_block_list_url() == put_block_list_url(sas.url) == f"{sas.url}&comp=blocklist"


def test_block_list_body_lists_ids_in_order() -> None:
    body = block_list_body([block_id(0), block_id(1)])
    assert body == (
        b'<?xml version="1.0" encoding="utf-8"?><BlockList>'
        b"<Latest>MDAwMDAw</Latest><Latest>MDAwMDAx</Latest></BlockList>"
    )
    assert block_list_body([]) == b'<?xml version="1.0" encoding="utf-8"?><BlockList></BlockList>'


@pytest.mark.parametrize(
    "size",
    [
        0,
        1,
        DEFAULT_BLOCK_SIZE - 1,
        DEFAULT_BLOCK_SIZE,
        DEFAULT_BLOCK_SIZE + 1,
        10**12,
        200 * 10**12,
        MAX_BLOB_SIZE,
    ],
)
def test_block_plan_covers_the_file_within_limits(size: int) -> None:
    plan = plan_blocks(size)
    assert plan.count <= MAX_BLOCKS
    assert DEFAULT_BLOCK_SIZE <= plan.block_size <= MAX_BLOCK_SIZE
    assert plan.block_size % MIB == 0
    assert plan.count == -(-size // plan.block_size)
    if plan.count <= 2000:
        blocks = list(plan.blocks())
        assert sum(b.length for b in blocks) == size
        assert all(b.length > 0 for b in blocks)
        assert [b.offset for b in blocks] == [i * plan.block_size for i in range(plan.count)]
        assert [b.block_id for b in blocks] == plan.block_ids()


def test_block_plan_grows_blocks_only_when_needed() -> None:
    assert plan_blocks(MAX_BLOCKS * DEFAULT_BLOCK_SIZE).block_size == DEFAULT_BLOCK_SIZE
    assert plan_blocks(MAX_BLOCKS * DEFAULT_BLOCK_SIZE + 1).block_size == DEFAULT_BLOCK_SIZE + MIB
    assert plan_blocks(MAX_BLOB_SIZE).block_size == MAX_BLOCK_SIZE
    assert plan_blocks(MAX_BLOB_SIZE).count == MAX_BLOCKS
    assert plan_blocks(100, min_block_size=10).count == 10
    last = list(plan_blocks(25, min_block_size=10).blocks())[-1]
    assert (last.offset, last.length) == (20, 5)
