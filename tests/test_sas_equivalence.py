"""byos Azure SAS tokens and URLs equal the SDK generate_blob_sas + BlobClient.url output, byte for byte."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import azure.storage.blob
import pytest
from azure.storage.blob import BlobClient, BlobSasPermissions, generate_blob_sas
from azure.storage.blob import UserDelegationKey as SdkUserDelegationKey
from azure.storage.blob._shared.constants import X_MS_VERSION
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byos.signing.sas import SAS_VERSION, BlobSasSigner, UserDelegationKey

ACCOUNT_KEY_EXAMPLES = 800
DELEGATION_EXAMPLES = 400
SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HOSTILE = [
    *" +%=~?#&;:@!$'()*,[]\\\"<>^`{}|",
    "😀",
    "👩‍👩‍👧",
    "é",
    "e\u0301",
    "名前",
    "ファイル",
    "\u202e",
    "\u00a0",
    "\u2028",
    "\ufeff",
    "\u0085",
    "\U0010fffd",
    "%2F",
    "%00",
    "..",
    ".",
    "~",
]

segment_chars = st.one_of(
    st.sampled_from(HOSTILE),
    st.characters(exclude_categories=["Cs"], exclude_characters="/\x7f", min_codepoint=0x20),
)
segments = (
    st.lists(segment_chars, min_size=1, max_size=24).map("".join).filter(lambda s: s not in {".", ".."})
)


@st.composite
def blob_names(draw: st.DrawFn) -> str:
    """Blob names byos accepts: hostile characters, Unicode, long names, many segments."""
    kind = draw(st.sampled_from(["segments", "segments", "segments", "long", "deep"]))
    if kind == "long":
        unit = draw(segments)
        name = (unit * (1024 // len(unit) + 1))[: draw(st.integers(900, 1024))]
        name = name.replace("/", "_")
    elif kind == "deep":
        name = "/".join(["d"] * draw(st.integers(100, 253))) + "/" + draw(segments)
    else:
        name = "/".join(draw(st.lists(segments, min_size=1, max_size=6)))
    if name.endswith("."):
        name = name[:-1] + "_"
    return name


accounts = st.from_regex(r"[a-z0-9]{3,24}", fullmatch=True)
containers = st.from_regex(r"[a-z0-9]{3,12}(-[a-z0-9]{1,12}){0,3}", fullmatch=True)
zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
# Hypothesis takes naive bounds and adds the zone itself.
moments = st.datetimes(
    min_value=datetime(2001, 1, 1),  # noqa: DTZ001 - naive bound, zone drawn from `zones`
    max_value=datetime(2090, 1, 1),  # noqa: DTZ001 - naive bound, zone drawn from `zones`
    timezones=zones,
)
lifetimes = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=7))
backdates = st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=2))
# Azure keys are 64 bytes (account) or 32 (delegation); other lengths exercise HMAC key padding and hashing.
account_keys = st.binary(min_size=1, max_size=100).map(lambda b: base64.b64encode(b).decode())


def endpoint_for(kind: str, account: str, port: int) -> str | None:
    return {
        "default": None,
        "azure": f"https://{account}.blob.core.windows.net",
        "azure-slash": f"https://{account}.blob.core.windows.net/",
        "sovereign": f"https://{account}.blob.core.chinacloudapi.cn",
        "azurite": f"http://127.0.0.1:{port}/{account}",
        "localhost": f"http://localhost:{port}/{account}/",
        "custom-domain": "https://files.example.com",
        "http-custom": f"http://storage.internal:{port}",
    }[kind]


endpoints = st.tuples(
    st.sampled_from(
        [
            "default",
            "azure",
            "azure-slash",
            "sovereign",
            "azurite",
            "localhost",
            "custom-domain",
            "http-custom",
        ]
    ),
    st.integers(1024, 65535),
)


@dataclass(frozen=True)
class Case:
    account: str
    container: str
    blob: str
    endpoint: str | None
    now: datetime
    expires: timedelta | None
    backdate: timedelta | None
    overwrite: bool
    block_upload: bool
    policy: str | None = None
    policy_sets_permission: bool = False
    policy_sets_expiry: bool = False


def sdk_url(case: Case, sas: str) -> str:
    account_url = case.endpoint or f"https://{case.account}.blob.core.windows.net"
    return BlobClient(account_url, case.container, case.blob).url + "?" + sas


def sdk_arguments(case: Case, key_start: datetime | None = None) -> dict[str, Any]:
    """The SDK arguments for a case, computed from the inputs alone (never from byos output)."""
    start = None if case.backdate is None else case.now - case.backdate
    if start is not None and key_start is not None and start < key_start:
        start = key_start
    https = (case.endpoint or "https://").startswith("https://")
    write = case.overwrite or case.block_upload
    return {
        "permission": None if case.policy_sets_permission else BlobSasPermissions(create=True, write=write),
        "expiry": None if case.expires is None else case.now + case.expires,
        "start": start,
        "policy_id": case.policy,
        "protocol": "https" if https else "https,http",
    }


def check_same(case: Case, signer: BlobSasSigner, sdk_token: str) -> None:
    sas = signer.sign(
        case.container,
        case.blob,
        now=case.now,
        expires=case.expires,
        overwrite=case.overwrite,
        block_upload=case.block_upload,
        start_backdate=case.backdate,
        stored_access_policy=case.policy,
        policy_sets_permission=case.policy_sets_permission,
        policy_sets_expiry=case.policy_sets_expiry,
    )
    assert sas.token == sdk_token
    assert sas.url == sdk_url(case, sdk_token)
    if case.expires is not None:
        assert sas.expires_at == (case.now + case.expires).astimezone(UTC).replace(microsecond=0)
    else:
        assert sas.expires_at is None


@st.composite
def account_key_cases(draw: st.DrawFn) -> tuple[Case, str]:
    account = draw(accounts)
    kind, port = draw(endpoints)
    policy = draw(st.none() | st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=64))
    sets_permission = policy is not None and draw(st.booleans())
    sets_expiry = policy is not None and draw(st.booleans())
    case = Case(
        account=account,
        container=draw(containers),
        blob=draw(blob_names()),
        endpoint=endpoint_for(kind, account, port),
        now=draw(moments),
        expires=None if sets_expiry else draw(lifetimes),
        backdate=draw(backdates),
        overwrite=draw(st.booleans()),
        block_upload=draw(st.booleans()),
        policy=policy,
        policy_sets_permission=sets_permission,
        policy_sets_expiry=sets_expiry,
    )
    return case, draw(account_keys)


@settings(SETTINGS, max_examples=ACCOUNT_KEY_EXAMPLES)
@given(account_key_cases())
def test_account_key_sas_equals_sdk(generated: tuple[Case, str]) -> None:
    case, key = generated
    token = generate_blob_sas(case.account, case.container, case.blob, account_key=key, **sdk_arguments(case))
    check_same(case, BlobSasSigner(case.account, account_key=key, endpoint=case.endpoint), token)


@st.composite
def delegation_cases(draw: st.DrawFn) -> tuple[Case, UserDelegationKey, datetime]:
    account = draw(accounts)
    kind, port = draw(endpoints)
    now = draw(moments)
    expires = draw(lifetimes)
    # Keys start on a whole second, no later than now (a SAS may last only a second), sometimes after the
    # backdated SAS start (so the start is clamped).
    key_start = (now - draw(st.timedeltas(timedelta(0), timedelta(hours=3)))).astimezone(UTC)
    key_start = key_start.replace(microsecond=0)
    key_expiry = (now + expires).astimezone(UTC).replace(microsecond=0) + draw(
        st.timedeltas(timedelta(0), timedelta(days=2))
    )
    key = UserDelegationKey(
        signed_oid=str(draw(st.uuids())),
        signed_tid=str(draw(st.uuids())),
        signed_start=key_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        signed_expiry=key_expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
        signed_service="b",
        signed_version=draw(st.sampled_from(["2025-11-05", "2026-02-06", X_MS_VERSION])),
        value=draw(account_keys),
        signed_delegated_user_tid=draw(st.none() | st.uuids().map(str)),
    )
    case = Case(
        account=account,
        container=draw(containers),
        blob=draw(blob_names()),
        endpoint=endpoint_for(kind, account, port),
        now=now,
        expires=expires,
        backdate=draw(backdates),
        overwrite=draw(st.booleans()),
        block_upload=draw(st.booleans()),
    )
    return case, key, key_start


def sdk_delegation_key(key: UserDelegationKey) -> Any:
    sdk_key = SdkUserDelegationKey()  # type: ignore[no-untyped-call]  # the SDK model is untyped
    sdk_key.signed_oid = key.signed_oid
    sdk_key.signed_tid = key.signed_tid
    sdk_key.signed_start = key.signed_start
    sdk_key.signed_expiry = key.signed_expiry
    sdk_key.signed_service = key.signed_service
    sdk_key.signed_version = key.signed_version
    sdk_key.signed_delegated_user_tid = key.signed_delegated_user_tid
    sdk_key.value = key.value
    return sdk_key


@settings(SETTINGS, max_examples=DELEGATION_EXAMPLES)
@given(delegation_cases())
def test_user_delegation_sas_equals_sdk(generated: tuple[Case, UserDelegationKey, datetime]) -> None:
    case, key, key_start = generated
    sdk_key = sdk_delegation_key(key)
    token = generate_blob_sas(
        case.account, case.container, case.blob, user_delegation_key=sdk_key, **sdk_arguments(case, key_start)
    )
    signer = BlobSasSigner(
        case.account, user_delegation_key=UserDelegationKey.from_sdk(sdk_key), endpoint=case.endpoint
    )
    check_same(case, signer, token)


NOW = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
KEY = base64.b64encode(bytes(range(64))).decode()

EDGE_NAMES = [
    "a",
    "report.csv",
    "dir/sub dir/file name.txt",
    "plus+and space",
    "100%/done=yes",
    "what?#fragment",
    "tilde~name",
    "emoji 😀/家族 👩‍👩‍👧.png",
    "Straße/résumé.pdf",
    "e\u0301\u202eexe.txt",
    "/leading/slash",
    "double//slash",
    "semi;colon,comma'quote\"",
    "back\\slash",
    "%2e%2e/%2F",
    "x" * 1024,
    "é" * 1024,
    "/".join(["s"] * 254),
]


@pytest.mark.parametrize("blob", EDGE_NAMES, ids=range(len(EDGE_NAMES)))
@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("endpoint", [None, "http://127.0.0.1:10000/devstoreaccount1"])
def test_edge_names_equal_sdk(blob: str, overwrite: bool, endpoint: str | None) -> None:
    account = "devstoreaccount1"
    case = Case(
        account, "uploads", blob, endpoint, NOW, timedelta(minutes=30), timedelta(minutes=5), overwrite, False
    )
    token = generate_blob_sas(account, "uploads", blob, account_key=KEY, **sdk_arguments(case))
    check_same(case, BlobSasSigner(account, account_key=KEY, endpoint=endpoint), token)


def test_signed_version_is_the_sdk_default() -> None:
    assert azure.storage.blob.__version__ == "12.31.1"
    assert SAS_VERSION == X_MS_VERSION


def test_permission_strings_follow_the_sdk_order() -> None:
    signer = BlobSasSigner("acct", account_key=KEY)
    create = signer.sign("uploads", "a", now=NOW, expires=timedelta(minutes=1))
    both = signer.sign("uploads", "a", now=NOW, expires=timedelta(minutes=1), overwrite=True)
    blocks = signer.sign("uploads", "a", now=NOW, expires=timedelta(minutes=1), block_upload=True)
    assert create.permission == str(BlobSasPermissions(create=True))
    assert both.permission == blocks.permission == str(BlobSasPermissions(create=True, write=True))


def test_default_sas_shape() -> None:
    sas = BlobSasSigner("acct", account_key=KEY).sign(
        "uploads", "a b", now=NOW, expires=timedelta(minutes=30)
    )
    assert sas.url.startswith("https://acct.blob.core.windows.net/uploads/a%20b?st=2025-03-04T05%3A01%3A07Z&")
    assert "&se=2025-03-04T05%3A36%3A07Z&sp=c&spr=https&sv=" in sas.url
    assert "&sr=b&sig=" in sas.url
    assert sas.starts_at == datetime(2025, 3, 4, 5, 1, 7, tzinfo=UTC)
    assert "sig=" not in repr(sas).replace("sig=REDACTED", "")


def test_sdk_puts_an_unsigned_si_on_delegation_sas_which_byos_refuses() -> None:
    """SDK quirk: with a user delegation key, policy_id lands in the token but not in the string-to-sign."""
    key = UserDelegationKey(
        signed_oid=str(uuid.UUID(int=1)),
        signed_tid=str(uuid.UUID(int=2)),
        signed_start="2025-03-04T00:00:00Z",
        signed_expiry="2025-03-05T00:00:00Z",
        signed_service="b",
        signed_version=X_MS_VERSION,
        value=KEY,
    )
    strings: list[str] = []
    token = generate_blob_sas(
        "acct",
        "uploads",
        "a",
        user_delegation_key=sdk_delegation_key(key),
        permission="c",
        expiry=NOW + timedelta(minutes=5),
        policy_id="revocable",
        sts_hook=strings.append,
    )
    assert "si=revocable" in token
    assert "revocable" not in strings[0]
    signer = BlobSasSigner("acct", user_delegation_key=key)
    with pytest.raises(ValueError, match="stored_access_policy"):
        signer.sign("uploads", "a", now=NOW, expires=timedelta(minutes=5), stored_access_policy="revocable")
