"""`byos policy` documents: least privilege, provider schema shapes, CORS headers that presigns send."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.session
import jsonschema  # type: ignore[import-untyped]
import pytest
from botocore.validate import ParamValidator
from moto.iam.policy_validation import IAMPolicyDocumentValidator, IAMTrustPolicyDocumentValidator

from byos.config import AzureDestination, Destination, GCSDestination, S3Destination, destination_from_dict
from byos.errors import InvalidInputError
from byos.keys import KeyLayout
from byos.policy import (
    AZURE_DATA_ACTIONS,
    AZURE_DELEGATOR_ROLE,
    GCS_TOKEN_CREATOR_ROLE,
    GCS_UPLOAD_ROLE,
    PolicyDocuments,
    build_policy,
    cel_string,
    iam_literal,
)
from byos.signing.sigv4 import SigV4Signer
from byos.uploads import presign_upload

REPO = Path(__file__).resolve().parent.parent
CHECKER = REPO / "src" / "byos" / "checker"
NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
ORIGIN = "https://app.example.com"
ROLE_ARN = "arn:aws:iam::123456789012:role/byos/uploader"
IMPORTER = "arn:aws:iam::111122223333:role/importer"
SA = "byos-uploader@acme-prod.iam.gserviceaccount.com"
CLIENT_ID = "6f1c2b1e-8a1d-4c9b-9a53-2f4f1d7e0c11"
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
MD5 = "1B2M2Y8AsgTpgAmY7PhCfg=="
SHA256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

# --- schema shapes (each provider's documented format) ---

_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
_STRING_OR_STRINGS = {"anyOf": [{"type": "string", "minLength": 1}, _STRINGS]}
AWS_POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["Version", "Statement"],
    "additionalProperties": False,
    "properties": {
        "Version": {"const": "2012-10-17"},
        "Statement": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["Effect", "Action"],
                "additionalProperties": False,
                "properties": {
                    "Sid": {"type": "string", "pattern": "^[A-Za-z0-9]+$"},
                    "Effect": {"enum": ["Allow", "Deny"]},
                    "Principal": {"type": "object", "properties": {"AWS": _STRING_OR_STRINGS}},
                    "Action": {
                        "anyOf": [
                            {"type": "string", "pattern": "^[a-z0-9-]+:[A-Za-z*]+$"},
                            {
                                "type": "array",
                                "minItems": 1,
                                "items": {"type": "string", "pattern": "^[a-z0-9-]+:[A-Za-z*]+$"},
                            },
                        ]
                    },
                    "Resource": {"anyOf": [{"type": "string", "pattern": "^arn:"}, _STRINGS]},
                    "Condition": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "additionalProperties": _STRING_OR_STRINGS,
                        },
                    },
                },
            },
        },
    },
}
GCS_CORS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["origin", "method"],
        "properties": {
            "origin": _STRINGS,
            "method": {
                "type": "array",
                "items": {"enum": ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]},
            },
            "responseHeader": _STRINGS,
            "maxAgeSeconds": {"type": "integer", "minimum": 0},
        },
    },
}
GCS_CONDITION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "expression"],
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 100},
        "description": {"type": "string", "maxLength": 256},
        "expression": {"type": "string", "minLength": 1},
    },
}
GCS_BINDINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["bindings"],
    "properties": {
        "bindings": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["role", "members"],
                "properties": {
                    "role": {"type": "string", "pattern": "^roles/[A-Za-z.]+$"},
                    "members": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "string",
                            "pattern": "^(serviceAccount|user|group):(\\S+@\\S+|<[A-Z_]+>)$",
                        },
                    },
                    "condition": GCS_CONDITION_SCHEMA,
                },
            },
        }
    },
}
AZURE_ROLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["Name", "IsCustom", "Description", "Actions", "DataActions", "AssignableScopes"],
    "properties": {
        "Name": {"type": "string", "minLength": 1, "maxLength": 512, "pattern": "^[^/\\\\]+$"},
        "IsCustom": {"const": True},
        "Description": {"type": "string", "maxLength": 2048},
        "Actions": {"type": "array", "items": {"type": "string", "pattern": "^Microsoft\\."}},
        "NotActions": {"type": "array", "items": {"type": "string"}},
        "DataActions": {"type": "array", "items": {"type": "string", "pattern": "^Microsoft\\.Storage/"}},
        "NotDataActions": {"type": "array", "items": {"type": "string"}},
        "AssignableScopes": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "pattern": "^/subscriptions/[^/]+(/resourceGroups/[^/]+)?$"},
        },
    },
}
AZURE_CORS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["corsRules"],
    "properties": {
        "corsRules": {
            "type": "array",
            "minItems": 1,
            "maxItems": 5,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "allowedOrigins",
                    "allowedMethods",
                    "allowedHeaders",
                    "exposedHeaders",
                    "maxAgeInSeconds",
                ],
                "properties": {
                    "allowedOrigins": _STRINGS,
                    "allowedMethods": {
                        "type": "array",
                        "items": {
                            "enum": ["DELETE", "GET", "HEAD", "MERGE", "POST", "OPTIONS", "PUT", "PATCH"]
                        },
                    },
                    "allowedHeaders": _STRINGS,
                    "exposedHeaders": _STRINGS,
                    "maxAgeInSeconds": {"type": "integer", "minimum": 0},
                },
            },
        }
    },
}


# --- destinations ---


def s3_dest(**settings: Any) -> S3Destination:
    values: dict[str, Any] = {
        "provider": "s3",
        "bucket": "acme-uploads",
        "region": "eu-west-1",
        "prefix": "imports/acme/",
        "role_arn": ROLE_ARN,
        "external_id": "acme-7f3a9c",
        "origins": [ORIGIN],
        **settings,
    }
    built = destination_from_dict(values, env=False)
    assert isinstance(built, S3Destination)
    return built


def gcs_dest(**settings: Any) -> GCSDestination:
    values: dict[str, Any] = {
        "provider": "gcs",
        "bucket": "acme-uploads",
        "location": "EUROPE-WEST1",
        "prefix": "imports/acme/",
        "service_account_email": SA,
        "origins": [ORIGIN],
        **settings,
    }
    built = destination_from_dict(values, env=False)
    assert isinstance(built, GCSDestination)
    return built


def azure_dest(**settings: Any) -> AzureDestination:
    values: dict[str, Any] = {
        "provider": "azure",
        "account_name": "acmeuploads",
        "container": "imports",
        "prefix": "acme/",
        "client_id": CLIENT_ID,
        "subscription_id": "0b1f6471-1bf0-4dda-aec3-111122223333",
        "resource_group": "storage-rg",
        "origins": [ORIGIN],
        **settings,
    }
    built = destination_from_dict(values, env=False)
    assert isinstance(built, AzureDestination)
    return built


def all_policies() -> list[PolicyDocuments]:
    return [
        build_policy(s3_dest(sse_kms_key_id="alias/uploads"), import_service_principal=IMPORTER),
        build_policy(s3_dest(role_arn=None, external_id=None, origins=[])),
        build_policy(gcs_dest()),
        build_policy(gcs_dest(service_account_email=None, origins=[])),
        build_policy(azure_dest()),
        build_policy(azure_dest(client_id=None, subscription_id=None, resource_group=None)),
    ]


# --- helpers that reimplement each provider's matching rules ---


def iam_matches(pattern: str, value: str) -> bool:
    """IAM ARN matching: ``*`` any run, ``?`` one character, ``${*}``/``${?}``/``${$}`` literal characters."""
    regex, i = "", 0
    while i < len(pattern):
        if pattern.startswith(("${*}", "${?}", "${$}"), i):
            regex += re.escape(pattern[i + 2])
            i += 4
        else:
            regex += {"*": ".*", "?": "."}.get(pattern[i], re.escape(pattern[i]))
            i += 1
    return re.fullmatch(regex, value, re.DOTALL) is not None


def header_allowed(name: str, allowed: list[str]) -> bool:
    """S3 and Azure CORS header matching: case-insensitive, one ``*`` wildcard per entry."""
    return any(re.fullmatch(re.escape(a).replace(r"\*", ".*"), name, re.IGNORECASE) for a in allowed)


def cel_prefix(expression: str) -> str:
    match = re.fullmatch(r'resource\.name\.startsWith\("((?:[^"\\]|\\.)*)"\)', expression)
    assert match, expression
    return re.sub(r"\\(.)", r"\1", match.group(1))


def statements(policy: PolicyDocuments) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = policy.document("iam-policy.json")["Statement"]
    return result


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def option_values(argv: list[str], flag: str) -> list[str]:
    """Values after ``flag`` up to the next ``--option`` (az and aws style)."""
    start = argv.index(flag) + 1
    end = next((i for i in range(start, len(argv)) if argv[i].startswith("--")), len(argv))
    return argv[start:end]


def command(policy: PolicyDocuments, start: str) -> list[str]:
    found = [shlex.split(c) for c in policy.commands if c.startswith(start)]
    assert len(found) == 1, (start, policy.commands)
    return found[0]


def presigned_headers(destination: Destination, **options: Any) -> set[str]:
    request = presign_upload(destination, "Q3 report.csv", now=NOW, **options)
    return {name.lower() for name in request.headers if name.lower() not in ("content-length", "host")}


# --- S3 ---


def test_s3_iam_policy_allows_only_putting_and_aborting_under_the_prefix() -> None:
    dest = s3_dest()
    policy = build_policy(dest, import_service_principal=IMPORTER)
    (statement,) = statements(policy)
    assert statement["Effect"] == "Allow"
    assert sorted(actions(statement)) == ["s3:AbortMultipartUpload", "s3:PutObject"]
    assert statement["Resource"] == f"arn:aws:s3:::{dest.bucket}/{dest.prefix}*"
    layout = KeyLayout.from_destination(dest)
    inside = [layout.raw_key("report.csv"), layout.probe_key(), layout.result_key("imp-1")]
    assert layout.probe_key().startswith(layout.probe_folder)
    for key in inside:
        assert iam_matches(statement["Resource"], f"arn:aws:s3:::{dest.bucket}/{key}"), key
    for key in ("imports/other/x.csv", "x.csv", "imports/acm/e.csv"):
        assert not iam_matches(statement["Resource"], f"arn:aws:s3:::{dest.bucket}/{key}"), key
    assert not iam_matches(statement["Resource"], f"arn:aws:s3:::other-bucket/{inside[0]}")


def test_s3_grants_nothing_to_read_list_delete_or_configure() -> None:
    for dest in (s3_dest(), s3_dest(sse_kms_key_id="arn:aws:kms:eu-west-1:123456789012:key/1234abcd")):
        granted = {a for s in statements(build_policy(dest)) for a in actions(s)}
        assert granted <= {"s3:PutObject", "s3:AbortMultipartUpload", "kms:GenerateDataKey", "kms:Decrypt"}
        assert not any(
            word in a for a in granted for word in ("Get", "List", "Delete", "*", "Put" + "Bucket")
        )


def test_s3_without_multipart_grants_put_object_alone() -> None:
    policy = build_policy(s3_dest(sse_kms_key_id="1234abcd-12ab-34cd-56ef-1234567890ab"), multipart=False)
    assert [actions(s) for s in statements(policy)] == [["s3:PutObject"], ["kms:GenerateDataKey"]]
    assert "multipart" not in policy.section("IAM policy").text


@pytest.mark.parametrize(
    ("key_id", "resource", "alias"),
    [
        (
            "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            None,
        ),
        (
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            None,
        ),
        ("alias/uploads", "arn:aws:kms:eu-west-1:123456789012:key/*", "alias/uploads"),
        (
            "arn:aws:kms:eu-west-1:444455556666:alias/up",
            "arn:aws:kms:eu-west-1:444455556666:key/*",
            "alias/up",
        ),
    ],
)
def test_s3_kms_statement_names_the_key_and_works_only_through_s3(
    key_id: str, resource: str, alias: str | None
) -> None:
    policy = build_policy(s3_dest(sse_kms_key_id=key_id), import_service_principal=IMPORTER)
    kms = statements(policy)[1]
    assert sorted(actions(kms)) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["Resource"] == resource
    assert kms["Condition"]["StringEquals"] == {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    aliases = kms["Condition"].get("ForAnyValue:StringEquals", {}).get("kms:ResourceAliases")
    assert aliases == alias
    assert not policy.placeholders


def test_s3_kms_key_without_a_known_account_leaves_a_placeholder() -> None:
    dest = s3_dest(role_arn=None, external_id=None, sse_kms_key_id="1234abcd-12ab-34cd-56ef-1234567890ab")
    policy = build_policy(dest, import_service_principal="111122223333")
    assert statements(policy)[1]["Resource"] == (
        "arn:aws:kms:eu-west-1:<AWS_ACCOUNT_ID>:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    assert "<AWS_ACCOUNT_ID>" in policy.placeholders


def test_s3_partition_follows_the_region_and_the_role() -> None:
    china = build_policy(s3_dest(role_arn=None, external_id=None, region="cn-north-1", sse_kms_key_id="k1"))
    assert statements(china)[0]["Resource"].startswith("arn:aws-cn:s3:::")
    assert statements(china)[1]["Condition"]["StringEquals"]["kms:ViaService"] == (
        "s3.cn-north-1.amazonaws.com.cn"
    )
    gov = build_policy(s3_dest(role_arn="arn:aws-us-gov:iam::123456789012:role/u", region="us-gov-west-1"))
    assert statements(gov)[0]["Resource"].startswith("arn:aws-us-gov:s3:::")


def test_s3_prefix_wildcard_characters_match_only_themselves() -> None:
    dest = s3_dest(prefix="odd*name?$/")
    resource = statements(build_policy(dest))[0]["Resource"]
    assert resource == "arn:aws:s3:::acme-uploads/odd${*}name${?}${$}/*"
    assert iam_matches(resource, "arn:aws:s3:::acme-uploads/odd*name?$/x.csv")
    assert not iam_matches(resource, "arn:aws:s3:::acme-uploads/oddXXname!$/x.csv")
    assert iam_literal("a*b") == "a${*}b"


def test_s3_empty_prefix_covers_the_bucket_and_says_so() -> None:
    policy = build_policy(s3_dest(prefix=""))
    assert statements(policy)[0]["Resource"] == "arn:aws:s3:::acme-uploads/*"
    assert any("whole bucket" in note for note in policy.notes)


def test_s3_trust_policy_names_the_import_service_and_the_external_id() -> None:
    dest = s3_dest()
    trust = build_policy(dest, import_service_principal=IMPORTER).document("trust-policy.json")
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"AWS": IMPORTER}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": dest.external_id}}
    account = build_policy(dest, import_service_principal="111122223333").document("trust-policy.json")
    assert account["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}


def test_s3_unknown_principal_and_external_id_are_marked_placeholders() -> None:
    policy = build_policy(s3_dest(role_arn=None, external_id=None))
    (statement,) = policy.document("trust-policy.json")["Statement"]
    assert statement["Principal"]["AWS"] == "<IMPORT_SERVICE_PRINCIPAL>"
    assert statement["Condition"]["StringEquals"]["sts:ExternalId"] == "<EXTERNAL_ID>"
    assert {"<IMPORT_SERVICE_PRINCIPAL>", "<EXTERNAL_ID>", "<ROLE_NAME>"} <= set(policy.placeholders)
    assert "**Replace before applying:**" in policy.to_text()


@pytest.mark.parametrize("principal", ["importer", "arn:aws:s3:::bucket", "12345", "arn:aws:iam::1:role/x"])
def test_s3_malformed_principal_is_refused(principal: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^import_service_principal: "):
        build_policy(s3_dest(), import_service_principal=principal)


def test_s3_documents_pass_the_provider_validators() -> None:
    cors_shape = botocore.session.get_session().get_service_model("s3").operation_model("PutBucketCors")
    for dest in (s3_dest(), s3_dest(sse_kms_key_id="alias/uploads", prefix="")):
        policy = build_policy(dest, import_service_principal=IMPORTER)
        for name in ("iam-policy.json", "trust-policy.json"):
            jsonschema.validate(policy.document(name), AWS_POLICY_SCHEMA)
        IAMPolicyDocumentValidator(json.dumps(policy.document("iam-policy.json"))).validate()
        IAMTrustPolicyDocumentValidator(json.dumps(policy.document("trust-policy.json"))).validate()
        params = {"Bucket": dest.bucket, "CORSConfiguration": policy.document("cors.json")}
        report = ParamValidator().validate(params, cors_shape.input_shape)
        assert not report.has_errors(), report.generate_report()


def test_s3_cors_allows_every_header_a_presign_sends_and_exposes_etag() -> None:
    dest = s3_dest(
        role_arn=None,
        external_id=None,
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        sse_kms_key_id="alias/uploads",
    )
    (rule,) = build_policy(dest, metadata_names=["batch"]).document("cors.json")["CORSRules"]
    sent = presigned_headers(
        dest, content_type="text/csv", content_md5=MD5, checksum_sha256=SHA256, metadata={"batch": "7"}
    )
    part = SigV4Signer("AKIAIOSFODNN7EXAMPLE", "secret", "eu-west-1").presign_upload_part(
        dest.bucket,
        "imports/acme/x.csv",
        upload_id="u1",
        part_number=1,
        expires=60,
        now=NOW,
        content_length=5,
        content_md5=MD5,
        checksum_sha256=SHA256,
    )
    sent |= {name.lower() for name in part.headers if name.lower() != "content-length"}
    assert {"x-amz-server-side-encryption", "x-amz-meta-original-filename", "if-none-match"} <= sent
    assert [h for h in sent if not header_allowed(h, rule["AllowedHeaders"])] == []
    # named one by one too, for stores that answer a preflight with the rule's list instead of an echo
    assert sorted(sent - set(rule["AllowedHeaders"])) == []
    assert "x-amz-meta-*" in rule["AllowedHeaders"]
    assert all(h == h.lower() and h.count("*") <= 1 for h in rule["AllowedHeaders"])
    assert rule["AllowedMethods"] == ["PUT", "POST", "DELETE"]  # DELETE: a browser's multipart abort
    assert rule["ExposeHeaders"] == ["ETag"]
    assert rule["AllowedOrigins"] == [ORIGIN]
    plain = build_policy(s3_dest()).document("cors.json")["CORSRules"][0]["AllowedHeaders"]
    assert not any(h.startswith("x-amz-server-side") for h in plain)


def test_s3_commands_apply_the_documents_to_the_configured_role_and_bucket() -> None:
    policy = build_policy(s3_dest(endpoint_url="http://127.0.0.1:9000"), import_service_principal=IMPORTER)
    create = command(policy, "aws iam create-role")
    assert option_values(create, "--role-name") == ["uploader"]
    assert option_values(create, "--path") == ["/byos/"]
    assert option_values(create, "--assume-role-policy-document") == ["file://trust-policy.json"]
    put = command(policy, "aws iam put-role-policy")
    assert option_values(put, "--policy-document") == ["file://iam-policy.json"]
    cors = command(policy, "aws s3api put-bucket-cors")
    assert option_values(cors, "--bucket") == ["acme-uploads"]
    assert option_values(cors, "--cors-configuration") == ["file://cors.json"]
    assert option_values(cors, "--endpoint-url") == ["http://127.0.0.1:9000"]
    keys_only = build_policy(
        s3_dest(role_arn=None, external_id=None, access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key="x")
    )
    user = command(keys_only, "aws iam put-user-policy")
    assert option_values(user, "--user-name") == ["<UPLOADER_USER_NAME>"]


# --- GCS ---


def test_gcs_binding_is_object_creator_for_the_service_account_limited_to_the_prefix() -> None:
    dest = gcs_dest()
    policy = build_policy(dest)
    (binding,) = policy.document("iam-binding.json")["bindings"]
    assert binding["role"] == GCS_UPLOAD_ROLE == "roles/storage.objectCreator"
    assert binding["members"] == [f"serviceAccount:{SA}"]
    assert binding["condition"] == policy.document("iam-condition.json")
    allowed = cel_prefix(binding["condition"]["expression"])
    assert allowed == f"projects/_/buckets/{dest.bucket}/objects/{dest.prefix}"
    layout = KeyLayout.from_destination(dest)
    for key in (layout.raw_key("a.csv"), layout.probe_key()):
        assert f"projects/_/buckets/{dest.bucket}/objects/{key}".startswith(allowed)
    assert not f"projects/_/buckets/{dest.bucket}/objects/imports/other/a.csv".startswith(allowed)


def test_gcs_condition_escapes_quotes_in_the_prefix() -> None:
    dest = gcs_dest(prefix='say "hi"/')
    expression = build_policy(dest).document("iam-condition.json")["expression"]
    assert cel_prefix(expression) == f'projects/_/buckets/{dest.bucket}/objects/say "hi"/'
    assert cel_string('a\\b"c') == 'a\\\\b\\"c'


def test_gcs_documents_have_the_provider_shapes() -> None:
    for dest in (gcs_dest(), gcs_dest(service_account_email=None, origins=[])):
        policy = build_policy(dest, metadata_names=["batch"])
        jsonschema.validate(policy.document("cors.json"), GCS_CORS_SCHEMA)
        jsonschema.validate(policy.document("iam-condition.json"), GCS_CONDITION_SCHEMA)
        jsonschema.validate(policy.document("iam-binding.json"), GCS_BINDINGS_SCHEMA)
        jsonschema.validate(policy.document("token-creator-binding.json"), GCS_BINDINGS_SCHEMA)


def test_gcs_cors_lists_the_signed_headers_and_extra_metadata() -> None:
    (rule,) = build_policy(gcs_dest(), metadata_names=["Batch", "batch"]).document("cors.json")
    assert rule["origin"] == [ORIGIN]
    assert rule["method"] == ["PUT", "POST", "DELETE"]  # DELETE: a browser cancels a resumable session
    headers = {h.lower() for h in rule["responseHeader"]}
    assert {
        "content-type",
        "content-md5",
        "x-goog-if-generation-match",
        "x-goog-content-length-range",
        "x-goog-resumable",
        "x-goog-meta-original-filename",
        "x-goog-meta-batch",
        "content-range",
        "etag",
        "location",
        "range",
    } == headers
    with pytest.raises(InvalidInputError, match=r"^metadata_names: "):
        build_policy(gcs_dest(), metadata_names=["bad name"])


def test_gcs_cors_allows_every_header_a_gcs_presign_sends() -> None:
    dest = gcs_dest(hmac_access_id="GOOG1EXAMPLE", hmac_secret="c2VjcmV0", service_account_email=None)
    from byos.models import UploadOptions  # noqa: PLC0415
    from byos.providers import gcs  # noqa: PLC0415

    (rule,) = build_policy(dest).document("cors.json")
    allowed = {h.lower() for h in rule["responseHeader"]}
    sent = presigned_headers(dest, content_type="text/csv", content_md5=MD5, max_bytes=100)
    options = UploadOptions(filename="a.csv", content_type="text/csv", max_bytes=100, now=NOW)
    start = gcs.start_resumable(dest, options)
    sent |= {name.lower() for name in start.headers} | {"content-range"}
    assert {"x-goog-resumable", "x-goog-if-generation-match", "x-goog-meta-original-filename"} <= sent
    assert sent - allowed == set()


def test_gcs_keyless_signing_gets_the_token_creator_grant() -> None:
    policy = build_policy(gcs_dest(), import_service_principal="importer@vendor-prod.iam.gserviceaccount.com")
    (binding,) = policy.document("token-creator-binding.json")["bindings"]
    assert binding == {
        "role": GCS_TOKEN_CREATOR_ROLE,
        "members": ["serviceAccount:importer@vendor-prod.iam.gserviceaccount.com"],
    }
    argv = command(policy, "gcloud iam service-accounts add-iam-policy-binding")
    assert argv[4] == SA
    assert "--member=serviceAccount:importer@vendor-prod.iam.gserviceaccount.com" in argv
    assert f"--role={GCS_TOKEN_CREATOR_ROLE}" in argv
    assert "--project=acme-prod" in argv
    self_signing = build_policy(gcs_dest()).document("token-creator-binding.json")["bindings"][0]
    assert self_signing["members"] == [f"serviceAccount:{SA}"]
    with pytest.raises(InvalidInputError, match=r"^import_service_principal: "):
        build_policy(gcs_dest(), import_service_principal="not an identity")


def test_gcs_key_file_signing_needs_no_token_creator_and_names_the_key_s_account(tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text(
        json.dumps({"type": "service_account", "client_email": "keyed@p-1234.iam.gserviceaccount.com"})
    )
    policy = build_policy(gcs_dest(service_account_email=None, service_account_file=str(key)))
    assert "token-creator-binding.json" not in policy.documents
    assert not any("Token Creator" in s.title or "keyless" in s.title for s in policy.sections)
    members = policy.document("iam-binding.json")["bindings"][0]["members"]
    assert members == ["serviceAccount:keyed@p-1234.iam.gserviceaccount.com"]


def test_gcs_commands_add_the_same_binding_and_cors_file() -> None:
    policy = build_policy(gcs_dest())
    binding = policy.document("iam-binding.json")["bindings"][0]
    argv = command(policy, "gcloud storage buckets add-iam-policy-binding")
    assert argv[4] == "gs://acme-uploads"
    assert f"--member={binding['members'][0]}" in argv
    assert f"--role={binding['role']}" in argv
    assert "--condition-from-file=iam-condition.json" in argv
    assert "--uniform-bucket-level-access" in command(
        policy, "gcloud storage buckets update gs://acme-uploads --u"
    )
    assert "--cors-file=cors.json" in command(policy, "gcloud storage buckets update gs://acme-uploads --c")


# --- Azure ---


def test_azure_role_has_only_the_blob_write_and_add_data_actions() -> None:
    dest = azure_dest()
    role = build_policy(dest).document("role-definition.json")
    jsonschema.validate(role, AZURE_ROLE_SCHEMA)
    assert role["DataActions"] == list(AZURE_DATA_ACTIONS)
    assert set(role["DataActions"]) == {
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
    }
    assert role["Actions"] == []
    assert role["AssignableScopes"] == [f"/subscriptions/{dest.subscription_id}/resourceGroups/storage-rg"]


def test_azure_role_is_assigned_at_the_container_and_the_delegator_at_the_account() -> None:
    dest = azure_dest()
    policy = build_policy(dest)
    role = policy.document("role-definition.json")
    account_scope = (
        f"/subscriptions/{dest.subscription_id}/resourceGroups/storage-rg/providers/"
        "Microsoft.Storage/storageAccounts/acmeuploads"
    )
    assignments = [shlex.split(c) for c in policy.commands if c.startswith("az role assignment create")]
    scopes = {option_values(a, "--role")[0]: option_values(a, "--scope")[0] for a in assignments}
    assert scopes == {
        role["Name"]: f"{account_scope}/blobServices/default/containers/imports",
        AZURE_DELEGATOR_ROLE: account_scope,
    }
    assert all(option_values(a, "--assignee") == [CLIENT_ID] for a in assignments)
    definition = command(policy, "az role definition create")
    assert option_values(definition, "--role-definition") == ["@role-definition.json"]


def test_azure_cors_rule_and_its_az_command_say_the_same() -> None:
    policy = build_policy(azure_dest(origins=[ORIGIN, "https://admin.example.com"]))
    jsonschema.validate(policy.document("cors-rules.json"), AZURE_CORS_SCHEMA)
    (rule,) = policy.document("cors-rules.json")["corsRules"]
    argv = command(policy, "az storage cors add")
    assert option_values(argv, "--services") == ["b"]
    assert option_values(argv, "--methods") == rule["allowedMethods"] == ["PUT", "OPTIONS"]
    assert option_values(argv, "--origins") == rule["allowedOrigins"] == [ORIGIN, "https://admin.example.com"]
    assert option_values(argv, "--allowed-headers") == rule["allowedHeaders"]
    assert option_values(argv, "--exposed-headers") == rule["exposedHeaders"] == ["etag"]
    assert option_values(argv, "--max-age") == [str(rule["maxAgeInSeconds"])]
    assert option_values(argv, "--account-name") == ["acmeuploads"]
    literal = [h for h in rule["allowedHeaders"] if "*" not in h]
    prefixed = [h for h in rule["allowedHeaders"] if h.endswith("*")]
    assert len(literal) <= 64
    assert len(prefixed) <= 2
    for header in (
        "x-ms-blob-type",
        "if-none-match",
        "x-ms-blob-content-type",
        "x-ms-meta-original_filename",
    ):
        assert header_allowed(header, rule["allowedHeaders"]), header


def test_azure_cors_allows_every_header_an_azure_presign_sends() -> None:
    from byos.models import UploadOptions  # noqa: PLC0415
    from byos.providers import azure  # noqa: PLC0415

    dest = azure_dest(account_key="c2VjcmV0c2VjcmV0c2VjcmV0")
    (rule,) = build_policy(dest).document("cors-rules.json")["corsRules"]
    sent = presigned_headers(dest, content_type="text/csv", content_md5=MD5)
    options = UploadOptions(filename="big.csv", content_type="text/csv", metadata={"batch": "7"}, now=NOW)
    blocks = azure.start_block_upload(dest, options, 20 * 1024**2)
    for request in (*blocks.blocks[:1], blocks.commit):
        sent |= {name.lower() for name in request.headers}
    # a typed File body makes the browser send Content-Type; Put Block may carry each block's Content-MD5
    sent |= {"content-type", "content-md5"}
    assert {"x-ms-blob-type", "if-none-match", "x-ms-blob-content-type", "x-ms-meta-batch"} <= sent
    assert [h for h in sent if not header_allowed(h, rule["allowedHeaders"])] == []


def test_azure_account_key_is_called_out_and_bad_assignee_refused() -> None:
    text = build_policy(azure_dest(account_key="c2VjcmV0c2VjcmV0c2VjcmV0")).to_text()
    assert "remove account_key" in text
    with pytest.raises(InvalidInputError, match=r"^import_service_principal: "):
        build_policy(azure_dest(), import_service_principal="uploader@example.com")


# --- every provider ---


def checker_sections(provider: str) -> set[str]:
    """Section names the checker's remediation text points at: every policy_hint(...) in common.py and in
    the provider's checker module, given as a literal or as a module constant."""
    found = set()
    for name in ("common", provider):
        path = CHECKER / f"{name}.py"
        if not path.exists():
            continue
        source = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'policy_hint\(\s*"([^"]+)"', source))
        module = importlib.import_module(f"byos.checker.{name}")
        found |= {getattr(module, c) for c in re.findall(r"policy_hint\(\s*([A-Z][A-Z0-9_]*)\s*\)", source)}
    return found


@pytest.mark.parametrize("policy", all_policies(), ids=lambda p: f"{p.provider}-{len(p.placeholders)}")
def test_every_section_the_checker_points_at_exists(policy: PolicyDocuments) -> None:
    wanted = checker_sections(policy.provider)
    assert {"write permission", "CORS rules"} <= wanted
    titles = [section.title for section in policy.sections]
    for name in wanted:
        assert any(name in title for title in titles), (name, titles)
        assert f"## {policy.section(name).title}\n" in policy.to_text()


@pytest.mark.parametrize("policy", all_policies(), ids=lambda p: f"{p.provider}-{len(p.placeholders)}")
def test_text_holds_every_document_command_and_placeholder(policy: PolicyDocuments) -> None:
    text = policy.to_text()
    for name, content in policy.documents.items():
        assert f"`{name}`:\n\n```json\n{json.dumps(content, indent=2, ensure_ascii=False)}\n```" in text
    for line in policy.commands:
        assert f"\n{line}\n" in text
    shown = set(PLACEHOLDER.findall(text))
    assert shown == set(policy.placeholders)
    in_documents = set(PLACEHOLDER.findall(json.dumps(policy.to_dict()["documents"])))
    in_commands = set(PLACEHOLDER.findall(" ".join(policy.commands)))
    assert in_documents | in_commands == set(policy.placeholders)
    for step_number in range(1, len(policy.steps) + 1):
        assert f"\n{step_number}. " in text


@pytest.mark.parametrize("policy", all_policies(), ids=lambda p: f"{p.provider}-{len(p.placeholders)}")
def test_commands_use_only_documents_that_exist(policy: PolicyDocuments) -> None:
    referenced = set()
    for line in policy.commands:
        for arg in shlex.split(line):
            value = arg.split("=", 1)[1] if arg.startswith("--") and "=" in arg else arg
            for start in ("file://", "@"):
                if value.startswith(start) and value.endswith(".json"):
                    referenced.add(value.removeprefix(start))
            if value.endswith(".json") and not value.startswith(("file://", "@")):
                referenced.add(value)
    assert referenced
    assert referenced <= set(policy.documents)
    for section in policy.sections:
        assert set(section.documents) <= set(policy.documents)


def test_to_dict_is_json_and_write_files_writes_each_document(tmp_path: Path) -> None:
    for policy in all_policies():
        data = json.loads(json.dumps(policy.to_dict()))
        assert data["provider"] == policy.provider
        assert [s["title"] for s in data["sections"]] == [s.title for s in policy.sections]
        folder = tmp_path / policy.provider / str(len(policy.placeholders))
        written = policy.write_files(folder)
        assert sorted(p.name for p in written) == sorted(policy.documents)
        for path in written:
            assert json.loads(path.read_text(encoding="utf-8")) == policy.document(path.name)


def test_documents_are_copies_the_caller_cannot_change() -> None:
    policy = build_policy(s3_dest())
    policy.document("cors.json")["CORSRules"].clear()
    assert policy.document("cors.json")["CORSRules"]


def test_origins_argument_overrides_and_is_normalised() -> None:
    policy = build_policy(s3_dest(), origins=["HTTPS://Admin.Example.com:443/", "https://admin.example.com"])
    assert policy.document("cors.json")["CORSRules"][0]["AllowedOrigins"] == ["https://admin.example.com"]
    for bad in ("*", "ftp://x.example.com", "http://app.example.com", "https://a.example.com/path"):
        with pytest.raises(InvalidInputError, match=r"^origins: "):
            build_policy(s3_dest(), origins=[bad])


def test_no_origin_anywhere_leaves_a_placeholder_in_every_provider() -> None:
    for dest in (s3_dest(origins=[]), gcs_dest(origins=[]), azure_dest(origins=[])):
        policy = build_policy(dest)
        assert "<BROWSER_ORIGIN>" in policy.placeholders
        assert "<BROWSER_ORIGIN>" in json.dumps(policy.to_dict()["documents"])


def test_importing_the_policy_module_loads_no_cloud_sdk() -> None:
    code = (
        "import sys, byos.policy; "
        "sdks = ('boto3', 'botocore', 'google', 'azure'); "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in sdks); "
        "print(','.join(loaded))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
