"""byos.signing.sas still offers every name it held before its parts moved to their own modules."""

from __future__ import annotations

import importlib

import pytest

from byos.signing import sas

MOVED = {
    "byos.signing.sas_delegation": ("UserDelegationKey",),
    "byos.signing.sas_url": ("BlobSas",),
    "byos.signing.sas_blocks": (
        "Block",
        "BlockPlan",
        "block_id",
        "block_list_body",
        "plan_blocks",
        "put_block_list_url",
        "put_block_url",
    ),
    "byos.signing.sas_rules": (
        "DEFAULT_BLOCK_SIZE",
        "DEFAULT_START_BACKDATE",
        "MAX_BLOB_NAME_LENGTH",
        "MAX_BLOB_SIZE",
        "MAX_BLOCKS",
        "MAX_BLOCK_SIZE",
        "MAX_EXPIRES",
        "MAX_PATH_SEGMENTS",
        "MAX_POLICY_ID_LENGTH",
        "MIB",
        "MIN_EXPIRES",
        "SAS_VERSION",
        "_ASCII_PATH_QUOTES",
        "_EPOCH",
        "_Moment",
        "_SERVICE_URL_SUFFIX",
        "_ZERO",
        "_check_flags",
        "_decode_key",
        "_epoch_microseconds",
        "_invalid",
        "_microseconds",
        "_moment",
        "_parse_key_time",
        "validate_account_name",
        "validate_blob_name",
        "validate_container_name",
    ),
    "byos.signing.hmac_sha256": ("HmacSha256", "best_sha256"),
    "byos.signing.sigv4_templates": ("encode_key_path",),
    "byos.redaction": ("redact_url",),
}
"""Where each name byos.signing.sas held before the split lives now."""

PUBLIC = (
    "DEFAULT_BLOCK_SIZE",
    "DEFAULT_START_BACKDATE",
    "MAX_BLOB_NAME_LENGTH",
    "MAX_BLOB_SIZE",
    "MAX_BLOCKS",
    "MAX_BLOCK_SIZE",
    "MAX_EXPIRES",
    "MIN_EXPIRES",
    "SAS_VERSION",
    "BlobSas",
    "BlobSasSigner",
    "Block",
    "BlockPlan",
    "UserDelegationKey",
    "block_id",
    "block_list_body",
    "plan_blocks",
    "put_block_list_url",
    "put_block_url",
    "validate_account_name",
    "validate_blob_name",
    "validate_container_name",
)

SIGNER_INTERNALS = (
    "_account_name",
    "_base_url",
    "_canonical_prefix",
    "_delegation_sts",
    "_delegation_token",
    "_endpoint",
    "_key_expiry",
    "_key_expiry_epoch",
    "_key_start_epoch",
    "_mac",
    "_protocol_sts",
    "_protocol_token",
)


@pytest.mark.parametrize(("home", "name"), [(home, name) for home, names in MOVED.items() for name in names])
def test_every_name_is_still_importable_from_sas(home: str, name: str) -> None:
    assert getattr(sas, name) is getattr(importlib.import_module(home), name)


def test_the_public_names_are_unchanged() -> None:
    assert sorted(sas.__all__) == sorted(PUBLIC)


def test_the_signer_keeps_its_attributes_and_methods() -> None:
    assert sas.BlobSasSigner.__slots__ == SIGNER_INTERNALS
    signer = sas.BlobSasSigner("acct", account_key="a2V5")
    for name in SIGNER_INTERNALS:
        getattr(signer, name)  # set by __init__ for either kind of key
    for method in ("_sign", "_check_policy_id", "_load_delegation_key", "_parse_endpoint", "compile_put"):
        assert callable(getattr(signer, method))
