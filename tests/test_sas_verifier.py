"""The independent SAS verifier accepts byos and SDK SAS URLs and refuses tampered, expired, misused ones."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from azure.storage.blob import BlobClient, generate_blob_sas
from hypothesis import given, settings
from hypothesis import strategies as st

from byos.signing.sas import BlobSas, BlobSasSigner, UserDelegationKey, block_id
from tests.sas_verifier import StoredPolicy, Verdict, verify_blob_sas
from tests.test_sas_equivalence import (
    SETTINGS,
    account_keys,
    accounts,
    blob_names,
    containers,
    lifetimes,
    moments,
    sdk_delegation_key,
)

NOW = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
KEY = base64.b64encode(bytes(range(64))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 65))).decode()
ACCOUNT = "devstoreaccount1"
AZURITE = f"http://127.0.0.1:10000/{ACCOUNT}"
SECOND = timedelta(seconds=1)


def delegation_key(value: str = KEY) -> UserDelegationKey:
    return UserDelegationKey(
        signed_oid="11111111-1111-1111-1111-111111111111",
        signed_tid="22222222-2222-2222-2222-222222222222",
        signed_start="2025-03-04T00:00:00Z",
        signed_expiry="2025-03-05T00:00:00Z",
        signed_service="b",
        signed_version="2026-10-06",
        value=value,
    )


def check(url: str, method: str = "PUT", *, now: datetime = NOW, **kwargs: Any) -> Verdict:
    options: dict[str, Any] = {"account_name": ACCOUNT, "account_key": KEY, "delegation_key": KEY}
    options.update(kwargs)
    return verify_blob_sas(url, method=method, now=now, **options)


def sign(*, endpoint: str | None = AZURITE, delegated: bool = False, **kwargs: Any) -> BlobSas:
    signer = (
        BlobSasSigner(ACCOUNT, user_delegation_key=delegation_key(), endpoint=endpoint)
        if delegated
        else BlobSasSigner(ACCOUNT, account_key=KEY, endpoint=endpoint)
    )
    options: dict[str, Any] = {"now": NOW, "expires": timedelta(minutes=30)}
    options.update(kwargs)
    return signer.sign("uploads", "dir/a file+.txt", **options)


def with_query_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    pairs = [p if not p.startswith(name + "=") else f"{name}={value}" for p in parts.query.split("&")]
    return urlunsplit(parts._replace(query="&".join(pairs)))


@settings(SETTINGS, max_examples=150)
@given(
    account=accounts,
    container=containers,
    blob=blob_names(),
    now=moments,
    expires=lifetimes,
    backdate=st.none() | st.timedeltas(timedelta(0), timedelta(hours=1)),
    overwrite=st.booleans(),
    http=st.booleans(),
    key=account_keys,
)
def test_verifier_accepts_byos_sas_and_bounds_it(
    *,
    account: str,
    container: str,
    blob: str,
    now: datetime,
    expires: timedelta,
    backdate: timedelta | None,
    overwrite: bool,
    http: bool,
    key: str,
) -> None:
    endpoint = f"http://127.0.0.1:10000/{account}" if http else None
    signer = BlobSasSigner(account, account_key=key, endpoint=endpoint)
    sas = signer.sign(container, blob, now=now, expires=expires, overwrite=overwrite, start_backdate=backdate)
    assert sas.expires_at is not None

    def verdict(url: str = sas.url, method: str = "PUT", at: datetime = now, **kwargs: Any) -> Verdict:
        return verify_blob_sas(url, account_name=account, method=method, now=at, account_key=key, **kwargs)

    assert verdict()
    assert verdict(at=sas.expires_at - SECOND)
    assert verdict(blob_exists=True).ok is overwrite
    assert verdict(url=sas.put_block_url(block_id(0))).ok is overwrite
    assert verdict(at=sas.expires_at).reason == "expired"
    if sas.starts_at is not None:
        assert verdict(at=sas.starts_at)
        assert verdict(at=sas.starts_at - SECOND).reason == "not yet valid"
    for method in ("GET", "HEAD", "DELETE"):
        assert not verdict(method=method)
    path, _, query = sas.url.partition("?")
    assert verdict(url=f"{path}x?{query}").reason == "signature mismatch"
    assert verify_blob_sas(
        sas.url, account_name=account, method="PUT", now=now, account_key=OTHER_KEY
    ).reason == ("signature mismatch")


@settings(SETTINGS, max_examples=100)
@given(blob=blob_names(), expires=st.timedeltas(SECOND, timedelta(hours=18)), overwrite=st.booleans())
def test_verifier_accepts_byos_delegation_sas(blob: str, expires: timedelta, overwrite: bool) -> None:
    signer = BlobSasSigner(ACCOUNT, user_delegation_key=delegation_key(), endpoint=AZURITE)
    sas = signer.sign("uploads", blob, now=NOW, expires=expires, overwrite=overwrite)
    assert check(sas.url)
    assert check(sas.url, blob_exists=True).ok is overwrite
    assert check(sas.url, delegation_key=OTHER_KEY).reason == "signature mismatch"
    assert check(sas.url, now=datetime(2025, 3, 5, tzinfo=UTC)).reason == "expired"


def test_verifier_accepts_sdk_sas() -> None:
    blob = "dir/a file+.txt"
    url = BlobClient(AZURITE, "uploads", blob).url
    token = generate_blob_sas(
        ACCOUNT, "uploads", blob, account_key=KEY, permission="c", expiry=NOW + timedelta(minutes=5)
    )
    assert check(f"{url}?{token}")
    delegated = generate_blob_sas(
        ACCOUNT,
        "uploads",
        blob,
        user_delegation_key=sdk_delegation_key(delegation_key()),
        permission="cw",
        start=NOW - timedelta(minutes=1),
        expiry=NOW + timedelta(minutes=5),
        protocol="https,http",
    )
    assert check(f"{url}?{delegated}", blob_exists=True)


@pytest.mark.parametrize("delegated", [False, True], ids=["account-key", "user-delegation"])
def test_verifier_refuses_tampering(delegated: bool) -> None:
    sas = sign(delegated=delegated)
    assert check(sas.url)
    wrong_key = (
        check(sas.url, delegation_key=OTHER_KEY) if delegated else check(sas.url, account_key=OTHER_KEY)
    )
    assert wrong_key.reason == "signature mismatch"
    signature = sas.url.rsplit("sig=", 1)[1]
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert check(with_query_param(sas.url, "sig", flipped)).reason == "signature mismatch"
    assert check(with_query_param(sas.url, "sp", "cw"), blob_exists=True).reason == "signature mismatch"
    later = (NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H%%3A%M%%3A%SZ")
    assert check(with_query_param(sas.url, "se", later)).reason == "signature mismatch"
    other_blob = sas.url.replace("/dir/a%20file%2B.txt?", "/dir/other.txt?")
    assert check(other_blob).reason == "signature mismatch"
    other_container = sas.url.replace("/uploads/", "/private/")
    assert check(other_container).reason == "signature mismatch"


def test_verifier_enforces_the_validity_window() -> None:
    sas = sign()
    assert sas.starts_at is not None
    assert sas.expires_at is not None
    assert check(sas.url, now=sas.starts_at)
    assert check(sas.url, now=sas.starts_at - SECOND).reason == "not yet valid"
    assert check(sas.url, now=sas.expires_at - SECOND)
    assert check(sas.url, now=sas.expires_at).reason == "expired"
    delegated = sign(delegated=True)
    assert check(delegated.url, now=datetime(2025, 3, 3, 23, 59, tzinfo=UTC)).reason == "not yet valid"


@pytest.mark.parametrize("overwrite", [False, True], ids=["c", "cw"])
def test_verifier_enforces_permissions(overwrite: bool) -> None:
    sas = sign(overwrite=overwrite)
    assert check(sas.url)
    assert check(sas.url, blob_exists=True).ok is overwrite
    assert check(sas.put_block_url(block_id(0))).ok is overwrite
    assert check(sas.put_block_list_url()).ok is overwrite
    for method in ("GET", "HEAD", "DELETE"):
        assert "does not allow" in check(sas.url, method).reason
    container_url = f"{AZURITE}/uploads?restype=container&comp=list&{sas.token}"
    assert not check(container_url, "GET")


def test_verifier_enforces_https_only() -> None:
    sas = sign(endpoint=f"https://{ACCOUNT}.blob.core.windows.net")
    assert "spr=https&" in sas.token
    assert check(sas.url)
    assert check(sas.url.replace("https://", "http://", 1)).reason == "https required"
    local = sign()
    assert "spr=https%2Chttp&" in local.token
    assert check(local.url)


def test_verifier_applies_stored_access_policies() -> None:
    policies = {"uploads-policy": StoredPolicy(permission="c", expiry="2025-03-04T06:00:00Z")}
    sas = sign(
        expires=None,
        stored_access_policy="uploads-policy",
        policy_sets_permission=True,
        policy_sets_expiry=True,
    )
    assert check(sas.url, stored_policies=policies)
    assert not check(sas.url, blob_exists=True, stored_policies=policies)
    assert (
        check(sas.url, now=datetime(2025, 3, 4, 6, tzinfo=UTC), stored_policies=policies).reason == "expired"
    )
    assert check(sas.url, stored_policies={}).reason == "unknown stored access policy"
    both = sign(stored_access_policy="uploads-policy")
    assert "set by both" in check(both.url, stored_policies=policies).reason
    assert check(both.url, stored_policies={"uploads-policy": StoredPolicy()})


def test_verifier_refuses_the_sdk_delegation_sas_with_an_unsigned_policy() -> None:
    blob = "a.txt"
    token = generate_blob_sas(
        ACCOUNT,
        "uploads",
        blob,
        user_delegation_key=sdk_delegation_key(delegation_key()),
        permission="c",
        expiry=NOW + timedelta(minutes=5),
        policy_id="p",
    )
    url = f"{BlobClient(AZURITE, 'uploads', blob).url}?{token}"
    assert "not supported for user delegation" in check(url).reason


def test_verifier_refuses_delegation_sas_outliving_its_key() -> None:
    key = delegation_key()._replace(signed_expiry="2025-03-04T05:30:00Z")
    signer = BlobSasSigner(ACCOUNT, user_delegation_key=key, endpoint=AZURITE)
    sas = signer.sign("uploads", "a", now=NOW, expires=timedelta(minutes=20))
    assert check(sas.url)
    stretched = generate_blob_sas(
        ACCOUNT,
        "uploads",
        "a",
        user_delegation_key=sdk_delegation_key(key),
        permission="c",
        expiry=NOW + timedelta(hours=1),
        protocol="https,http",
    )
    assert check(f"{AZURITE}/uploads/a?{stretched}").reason == "SAS outlives the user delegation key"
