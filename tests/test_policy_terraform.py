"""`byos policy --format terraform`: Terraform JSON with the text output's content, in the documented shape.

No `terraform` or `tofu` binary can be installed from the package registries this project uses (Debian has
no package of either, npm's `terraform` is unrelated, PyPI has wrappers that download the binary at run time
and a 2019 build of 0.11), and `terraform validate` would need the provider plugins from the Terraform
registry as well. So the files are checked for
shape against each resource's documented arguments, as the providers' reference pages list them
(hashicorp/terraform-provider-aws `website/docs/r/*.html.markdown`, hashicorp/terraform-provider-google and
hashicorp/terraform-provider-azurerm likewise, Azure/terraform-provider-azapi
`docs/resources/update_resource.md`), and for content against the documents `byos policy` prints.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from byos.cli import main
from byos.config import Destination, destination_from_dict
from byos.policy import build_policy
from byos.policy_terraform import terraform_config, terraform_files

REPO = Path(__file__).resolve().parent.parent

# resource type -> (required arguments, optional arguments, nested blocks: name -> (required, optional))
Block = tuple[frozenset[str], frozenset[str]]
DOCUMENTED: dict[str, tuple[frozenset[str], frozenset[str], dict[str, Block]]] = {
    "aws_iam_role": (
        frozenset({"assume_role_policy"}),
        frozenset(
            {
                "description",
                "force_detach_policies",
                "max_session_duration",
                "name",
                "name_prefix",
                "path",
                "permissions_boundary",
                "tags",
            }
        ),
        {},
    ),
    "aws_iam_policy": (
        frozenset({"policy"}),
        frozenset({"description", "name", "name_prefix", "path", "tags"}),
        {},
    ),
    "aws_iam_role_policy_attachment": (frozenset({"role", "policy_arn"}), frozenset(), {}),
    "aws_iam_user_policy_attachment": (frozenset({"user", "policy_arn"}), frozenset(), {}),
    "aws_s3_bucket_cors_configuration": (
        frozenset({"bucket", "cors_rule"}),
        frozenset({"expected_bucket_owner", "region"}),
        {
            "cors_rule": (
                frozenset({"allowed_methods", "allowed_origins"}),
                frozenset({"allowed_headers", "expose_headers", "id", "max_age_seconds"}),
            )
        },
    ),
    "aws_s3_bucket_policy": (frozenset({"bucket", "policy"}), frozenset({"region"}), {}),
    "google_storage_bucket_iam_member": (
        frozenset({"bucket", "role", "member"}),
        frozenset({"condition"}),
        {"condition": (frozenset({"title", "expression"}), frozenset({"description"}))},
    ),
    "google_storage_bucket": (
        frozenset({"name", "location"}),
        frozenset(
            {
                "cors",
                "uniform_bucket_level_access",
                "force_destroy",
                "project",
                "storage_class",
                "labels",
                "versioning",
                "public_access_prevention",
            }
        ),
        {"cors": (frozenset(), frozenset({"origin", "method", "response_header", "max_age_seconds"}))},
    ),
    "google_service_account_iam_member": (
        frozenset({"service_account_id", "role", "member"}),
        frozenset({"condition"}),
        {},
    ),
    "azurerm_role_definition": (
        frozenset({"name", "scope", "permissions"}),
        frozenset({"role_definition_id", "description", "assignable_scopes"}),
        {
            "permissions": (
                frozenset(),
                frozenset({"actions", "data_actions", "not_actions", "not_data_actions"}),
            )
        },
    ),
    "azurerm_role_assignment": (
        frozenset({"scope", "principal_id"}),
        frozenset(
            {
                "role_definition_id",
                "role_definition_name",
                "name",
                "principal_type",
                "description",
                "condition",
                "condition_version",
                "skip_service_principal_aad_check",
            }
        ),
        {},
    ),
    "azapi_update_resource": (
        frozenset({"type"}),
        frozenset({"body", "resource_id", "parent_id", "name", "ignore_casing", "ignore_missing_property"}),
        {},
    ),
}
META_ARGUMENTS = frozenset({"count", "depends_on", "lifecycle", "provider", "for_each"})
TOP_LEVEL = frozenset({"//", "terraform", "provider", "variable", "resource", "output", "import"})
VARIABLE = re.compile(r"(?<!\$)\$\{var\.([a-z0-9_]+)\}")
REFERENCE = re.compile(r"(?<!\$)\$\{([a-z0-9_]+)\.([a-z0-9_]+)\.[a-z0-9_]+\}")
IMPORTER = "arn:aws:iam::111122223333:role/importer"


def _dest(data: dict[str, Any]) -> Destination:
    return destination_from_dict(data, env=False)


S3_ROLE = {
    "provider": "s3",
    "bucket": "acme-imports",
    "region": "eu-west-1",
    "prefix": "imports/acme*?$/",
    "role_arn": "arn:aws:iam::444455556666:role/team/byos-uploader",
    "external_id": "acme-7f3c",
    "origins": ["https://app.example.com"],
}
S3_KEYS = {
    "provider": "s3",
    "bucket": "acme-imports",
    "region": "eu-west-1",
    "prefix": "imports/",
    "access_key_id": "AKIAEXAMPLE",
    "secret_access_key": "s",
}
GCS_KEYLESS = {
    "provider": "gcs",
    "bucket": "acme-imports",
    "location": "EU",
    "prefix": "imports/acme/",
    "service_account_email": "uploader@acme-prod.iam.gserviceaccount.com",
    "origins": ["https://app.example.com"],
}
GCS_HMAC = {
    **GCS_KEYLESS,
    "service_account_email": None,
    "hmac_access_id": "GOOG1EXAMPLE",
    "hmac_secret": "x",
}
AZURE = {
    "provider": "azure",
    "account_name": "acmeimports",
    "container": "imports",
    "prefix": "acme/",
    "client_id": "00000000-0000-0000-0000-0000000000aa",
    "tenant_id": "00000000-0000-0000-0000-0000000000bb",
    "subscription_id": "00000000-0000-0000-0000-0000000000cc",
    "resource_group": "acme-rg",
    "origins": ["https://app.example.com"],
}
AZURE_UNKNOWN = {"provider": "azure", "account_name": "acmeimports", "container": "imports"}
CASES: dict[str, tuple[dict[str, Any], str | None]] = {
    "s3-role": (S3_ROLE, IMPORTER),
    "s3-keys": (S3_KEYS, None),
    "s3-compatible": ({**S3_KEYS, "endpoint_url": "https://storage.example.com"}, None),
    "gcs-keyless": (GCS_KEYLESS, "runner@acme-ops.iam.gserviceaccount.com"),
    "gcs-hmac": (GCS_HMAC, None),
    "azure": (AZURE, None),
    "azure-unknown": (AZURE_UNKNOWN, None),
}


def _config(case: str) -> tuple[Destination, dict[str, Any]]:
    data, principal = CASES[case]
    destination = _dest({k: v for k, v in data.items() if v is not None})
    (config,) = terraform_files(destination, import_service_principal=principal).values()
    return destination, config


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []


def _untemplated(text: str) -> str:
    """Undo the Terraform escaping and turn ``${var.x}`` back into the text output's ``<X>``."""
    text = VARIABLE.sub(lambda m: f"<{m.group(1).upper()}>", text)
    return text.replace("$${", "${").replace("%%{", "%{")


def _check_block(
    where: str, body: dict[str, Any], required: frozenset[str], optional: frozenset[str]
) -> None:
    keys = set(body) - {"//"}
    assert required <= keys, (where, sorted(required - keys))
    assert keys <= required | optional | META_ARGUMENTS, (
        where,
        sorted(keys - required - optional - META_ARGUMENTS),
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_resource_uses_only_documented_arguments_and_all_required_ones(case: str) -> None:
    _, config = _config(case)
    assert set(config) <= TOP_LEVEL
    assert config["terraform"]["required_version"] == ">= 1.5"
    for resource_type, instances in config["resource"].items():
        required, optional, blocks = DOCUMENTED[resource_type]
        for name, body in instances.items():
            where = f"{resource_type}.{name}"
            _check_block(where, body, required, optional)
            for block, (block_required, block_optional) in blocks.items():
                if block in body:
                    assert isinstance(body[block], list), where  # JSON syntax: a list of block objects
                    for item in body[block]:
                        _check_block(f"{where}.{block}", item, block_required, block_optional)
        provider = resource_type.split("_", 1)[0]
        assert provider in config["terraform"]["required_providers"], resource_type


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_reference_is_declared_and_no_placeholder_marker_is_left(case: str) -> None:
    _, config = _config(case)
    texts = _strings(config)
    used = {name for text in texts for name in VARIABLE.findall(text)}
    declared = set(config.get("variable", {}))
    assert used <= declared
    assert declared - used <= {"enforce_bucket_policy"}  # used in a count expression only
    for text in texts:
        assert not re.search(r"<[A-Z][A-Z0-9_]*>", text), text
        for resource_type, name in REFERENCE.findall(text):
            if resource_type != "var":
                assert name in config["resource"][resource_type], text
    for item in config.get("import", []):
        resource_type, name = item["to"].split(".")
        assert name in config["resource"][resource_type]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_content_is_the_text_outputs(case: str) -> None:
    destination, config = _config(case)
    principal = CASES[case][1]
    documents = build_policy(destination, import_service_principal=principal)
    text = documents.to_text()
    resources = config["resource"]
    for marker in documents.placeholders:
        assert marker in text
    if destination.provider == "s3":
        pairs = {
            "iam-policy.json": resources["aws_iam_policy"]["byos_write_only"]["policy"],
            "trust-policy.json": resources["aws_iam_role"]["byos_uploader"]["assume_role_policy"],
            "bucket-policy.json": resources["aws_s3_bucket_policy"]["byos"]["policy"],
        }
        for name, policy in pairs.items():
            shown = _untemplated(policy).replace("${aws_iam_role.byos_uploader.arn}", "<UPLOADER_ARN>")
            assert json.loads(shown) == documents.document(name), name
        (rule,) = documents.document("cors.json")["CORSRules"]
        (block,) = resources["aws_s3_bucket_cors_configuration"]["byos"]["cors_rule"]
        assert [_untemplated(o) for o in block["allowed_origins"]] == rule["AllowedOrigins"]
        assert (block["allowed_methods"], block["allowed_headers"], block["expose_headers"]) == (
            rule["AllowedMethods"],
            rule["AllowedHeaders"],
            rule["ExposeHeaders"],
        )
    elif destination.provider == "gcs":
        (binding,) = documents.document("iam-binding.json")["bindings"]
        member = resources["google_storage_bucket_iam_member"]["byos_uploader"]
        assert (member["role"], _untemplated(member["member"])) == (binding["role"], binding["members"][0])
        assert member["condition"] == [binding["condition"]]
        (cors,) = documents.document("cors.json")
        (block,) = resources["google_storage_bucket"]["byos"]["cors"]
        assert (block["origin"], block["method"], block["response_header"], block["max_age_seconds"]) == (
            cors["origin"],
            cors["method"],
            cors["responseHeader"],
            cors["maxAgeSeconds"],
        )
        keyless = "token-creator-binding.json" in documents.documents
        assert ("google_service_account_iam_member" in resources) is keyless
        if keyless:
            grant = resources["google_service_account_iam_member"]["byos_token_creator"]
            assert (
                grant["member"]
                == documents.document("token-creator-binding.json")["bindings"][0]["members"][0]
            )
            assert grant["role"] == "roles/iam.serviceAccountTokenCreator"
    else:
        role = documents.document("role-definition.json")
        definition = resources["azurerm_role_definition"]["byos_uploader"]
        assert definition["permissions"][0]["data_actions"] == role["DataActions"]
        assert definition["permissions"][0]["actions"] == []
        assert _untemplated(definition["scope"]) == role["AssignableScopes"][0]
        assignments = resources["azurerm_role_assignment"]
        for name, command in zip(("byos_uploader", "byos_delegator"), documents.commands[1:3], strict=True):
            assert _untemplated(assignments[name]["scope"]) in command
            assert _untemplated(assignments[name]["principal_id"]) in command
        assert assignments["byos_delegator"]["role_definition_name"] == "Storage Blob Delegator"
        cors = resources["azapi_update_resource"]["byos_blob_cors"]
        assert cors["resource_id"].endswith("/blobServices/default")
        (rule,) = cors["body"]["properties"]["cors"]["corsRules"]
        assert {**rule, "allowedOrigins": [_untemplated(o) for o in rule["allowedOrigins"]]} == (
            documents.document("cors-rules.json")["corsRules"][0]
        )


def test_iam_wildcards_in_the_prefix_stay_literal_for_terraform() -> None:
    _, config = _config("s3-role")
    policy = config["resource"]["aws_iam_policy"]["byos_write_only"]["policy"]
    assert "imports/acme$${*}$${?}$${$}/*" in policy  # Terraform would read ${*} as a template
    assert json.loads(_untemplated(policy))["Statement"][0]["Resource"] == (
        "arn:aws:s3:::acme-imports/imports/acme${*}${?}${$}/*"
    )


def test_s3_bucket_policy_is_optional_and_requires_tls_and_if_none_match() -> None:
    _, config = _config("s3-role")
    policy = config["resource"]["aws_s3_bucket_policy"]["byos"]
    assert policy["count"] == "${var.enforce_bucket_policy ? 1 : 0}"
    assert config["variable"]["enforce_bucket_policy"]["default"] is False
    tls, write_once = json.loads(_untemplated(policy["policy"]))["Statement"]
    assert (tls["Effect"], tls["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    assert write_once["Principal"] == {"AWS": S3_ROLE["role_arn"]}
    assert write_once["Condition"] == {
        "Null": {"s3:if-none-match": "true"},
        "Bool": {"s3:ObjectCreationOperation": "true"},
    }
    _, keyless = _config("s3-keys")
    assert "aws_iam_user_policy_attachment" in keyless["resource"]
    assert "uploader_arn" in keyless["variable"]


def test_the_trust_policy_names_the_external_id_and_the_role_keeps_its_path() -> None:
    _, config = _config("s3-role")
    role = config["resource"]["aws_iam_role"]["byos_uploader"]
    assert (role["name"], role["path"]) == ("byos-uploader", "/team/")
    trust = json.loads(role["assume_role_policy"])["Statement"][0]
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "acme-7f3c"}}
    assert trust["Principal"] == {"AWS": IMPORTER}
    _, unknown = _config("s3-keys")
    trust = json.loads(unknown["resource"]["aws_iam_role"]["byos_uploader"]["assume_role_policy"])[
        "Statement"
    ][0]
    assert trust["Condition"]["StringEquals"]["sts:ExternalId"] == "${var.external_id}"


def test_an_s3_compatible_endpoint_is_called_out() -> None:
    _, config = _config("s3-compatible")
    assert "https://storage.example.com" in config["provider"]["aws"]["//"]
    _, aws = _config("s3-keys")
    assert "//" not in aws["provider"]["aws"]


def test_the_gcs_bucket_is_imported_and_never_destroyed() -> None:
    _, config = _config("gcs-keyless")
    bucket = config["resource"]["google_storage_bucket"]["byos"]
    assert bucket["lifecycle"] == {"prevent_destroy": True}
    assert bucket["uniform_bucket_level_access"] is True
    assert config["import"] == [{"to": "google_storage_bucket.byos", "id": "acme-imports"}]


def test_cli_prints_the_configuration_and_writes_the_tf_json_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = REPO / "config" / "azure.example.toml"
    assert main(["policy", "--config", str(config), "--format", "terraform"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert "azurerm_role_definition" in printed["resource"]
    assert main(["policy", "--config", str(config), "--format", "terraform", "--write", str(tmp_path)]) == 0
    written = tmp_path / "byos-azure.tf.json"
    assert json.loads(written.read_text(encoding="utf-8")) == printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["byos-azure.tf.json"]


def test_terraform_config_of_documents_equals_terraform_files() -> None:
    destination = _dest(AZURE)
    assert terraform_files(destination) == {
        "byos-azure.tf.json": terraform_config(destination, build_policy(destination))
    }
