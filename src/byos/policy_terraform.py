"""``byos policy --format terraform``: the setup of :mod:`byos.policy` as Terraform JSON (``*.tf.json``).

One file per destination, ``byos-<provider>.tf.json``, holding the provider requirements, a variable for
every placeholder of the text output (``<EXTERNAL_ID>`` becomes ``var.external_id``), and the resources:

- **S3**: ``aws_iam_role`` (trust policy with the external id), ``aws_iam_policy`` (write-only) attached to
  the role (and to the access key's user, when the destination has one),
  ``aws_s3_bucket_cors_configuration``, and the optional ``aws_s3_bucket_policy`` (HTTPS only, write-once),
  created only with ``enforce_bucket_policy = true``.
- **GCS**: ``google_storage_bucket_iam_member`` (Storage Object Creator under the prefix, by IAM condition),
  the bucket's ``cors`` block and uniform bucket-level access on ``google_storage_bucket`` (imported, never
  destroyed), and ``google_service_account_iam_member`` (Token Creator) for keyless signing.
- **Azure**: ``azurerm_role_definition`` and two ``azurerm_role_assignment`` (the custom role on the
  container, Storage Blob Delegator on the account), and the Blob service CORS rule through
  ``azapi_update_resource``, which changes that one property of the existing account and leaves it as it is
  when destroyed.

Every document is the one the text output prints (policies as JSON strings, CORS rules as blocks): the
content is built once, in :func:`byos.policy.build_policy`.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from byos.config import AzureDestination, GCSDestination, S3Destination
from byos.policy import (
    AZURE_DELEGATOR_ROLE,
    GCS_TOKEN_CREATOR_ROLE,
    GCS_UPLOAD_ROLE,
    UPLOADER_ARN_PLACEHOLDER,
    PolicyDocuments,
    build_policy,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from byos.config import Destination

TERRAFORM_VERSION = ">= 1.5"  # import blocks
AZURE_BLOB_SERVICES_API = "Microsoft.Storage/storageAccounts/blobServices@2023-01-01"
_OBJECT_ID_NOTE = "principal_id is the identity's object id (az accepts a client id, Terraform does not)"
_MARKER = re.compile(r"<([A-Z][A-Z0-9_]*)>")


class _Ref(str):
    """A Terraform reference written by this module (``${aws_iam_role.byos_uploader.arn}``): not escaped."""

    __slots__ = ()


def _option(command: str, flag: str) -> str:
    """The value of ``--flag VALUE`` in one of the policy's shell commands (unquoted)."""
    words = shlex.split(command)
    return words[words.index(flag) + 1]


def terraform_files(
    destination: Destination,
    *,
    origins: Sequence[str] | None = None,
    import_service_principal: str | None = None,
    multipart: bool = True,
    metadata_names: Sequence[str] = (),
) -> dict[str, dict[str, Any]]:
    """Return ``{"byos-<provider>.tf.json": configuration}`` (the arguments are build_policy's).

    Raises:
        InvalidInputError: An origin, principal or metadata name is malformed (nothing is built).
    """
    documents = build_policy(
        destination,
        origins=origins,
        import_service_principal=import_service_principal,
        multipart=multipart,
        metadata_names=metadata_names,
    )
    return {f"byos-{destination.provider}.tf.json": terraform_config(destination, documents)}


def write_terraform(files: dict[str, dict[str, Any]], directory: str | Path) -> list[Path]:
    """Write each configuration as ``DIRECTORY/<file name>`` (creating the folder); return the paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, config in files.items():
        path = folder / name
        path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def terraform_config(destination: Destination, documents: PolicyDocuments) -> dict[str, Any]:
    """The Terraform JSON configuration applying ``documents`` (from :func:`byos.policy.build_policy`)."""
    references: dict[str, str] = {}
    if isinstance(destination, S3Destination):
        if destination.access_key_id is None:
            references[UPLOADER_ARN_PLACEHOLDER] = _Ref("${aws_iam_role.byos_uploader.arn}")
        config = _s3(destination, documents)
    elif isinstance(destination, GCSDestination):
        config = _gcs(destination, documents)
    elif isinstance(destination, AzureDestination):
        config = _azure(documents)
    else:  # pragma: no cover - Destination is exhaustive
        raise TypeError(type(destination).__name__)
    variables = {
        _variable_name(marker): {"type": "string", "description": meaning}
        for marker, meaning in documents.placeholders.items()
        if marker.strip("<>") not in references
    }
    known = frozenset(marker.strip("<>") for marker in documents.placeholders) | frozenset(references)
    config = _with_variables(config, references, known)
    config.setdefault("variable", {}).update(variables)
    if not config["variable"]:
        del config["variable"]
    return {
        "//": f"byos setup for {documents.destination}, generated by `byos policy --format terraform`",
        **config,
    }


def _variable_name(marker: str) -> str:
    return marker.strip("<>").lower()


def _with_variables(value: Any, references: dict[str, str], known: frozenset[str]) -> Any:  # noqa: ANN401  (any JSON value)
    """Escape Terraform's template syntax in every string, then turn ``<NAME>`` markers into references.

    Only the markers the documents define (``known``) become references: a ``<NAME>`` in a setting (a
    prefix, a resource group) stays literal text, never a Terraform expression.
    """
    if isinstance(value, dict):
        return {key: _with_variables(item, references, known) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_variables(item, references, known) for item in value]
    if not isinstance(value, str) or isinstance(value, _Ref):  # our own references stay as they are
        return value
    escaped = value.replace("${", "$${").replace("%{", "%%{")

    def reference(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in known:
            return found.group(0)
        return references.get(name, "${var." + name.lower() + "}")

    return _MARKER.sub(reference, escaped)


def _policy(documents: PolicyDocuments, name: str) -> str:
    return json.dumps(documents.document(name), indent=2)


def _required(**providers: tuple[str, str]) -> dict[str, Any]:
    return {
        "required_version": TERRAFORM_VERSION,
        "required_providers": {
            name: {"source": source, "version": version} for name, (source, version) in providers.items()
        },
    }


# --- S3 ---


def _s3(dest: S3Destination, documents: PolicyDocuments) -> dict[str, Any]:
    iam_commands = documents.section("write permission").commands
    create_role = documents.section("Trust policy").commands[0]
    role_path = _option(create_role, "--path") if " --path " in create_role else "/"
    (rule,) = documents.document("cors.json")["CORSRules"]
    bucket_name = dest.bucket
    resources: dict[str, Any] = {
        "aws_iam_role": {
            "byos_uploader": {
                "name": _option(create_role, "--role-name"),
                "path": role_path,
                "description": f"byos write-only uploads to s3://{bucket_name}/{dest.prefix}",
                "assume_role_policy": _policy(documents, "trust-policy.json"),
                "max_session_duration": 3600,
            }
        },
        "aws_iam_policy": {
            "byos_write_only": {
                "name": f"byos-write-only-{bucket_name}"[:128],
                "description": f"Create objects under s3://{bucket_name}/{dest.prefix} only (byos)",
                "policy": _policy(documents, "iam-policy.json"),
            }
        },
        "aws_iam_role_policy_attachment": {
            "byos_write_only": {
                "role": _Ref("${aws_iam_role.byos_uploader.name}"),
                "policy_arn": _Ref("${aws_iam_policy.byos_write_only.arn}"),
            }
        },
        "aws_s3_bucket_cors_configuration": {
            "byos": {
                "bucket": bucket_name,
                "cors_rule": [
                    {
                        "id": rule["ID"],
                        "allowed_origins": rule["AllowedOrigins"],
                        "allowed_methods": rule["AllowedMethods"],
                        "allowed_headers": rule["AllowedHeaders"],
                        "expose_headers": rule["ExposeHeaders"],
                        "max_age_seconds": rule["MaxAgeSeconds"],
                    }
                ],
            }
        },
        "aws_s3_bucket_policy": {
            "byos": {
                "count": _Ref("${var.enforce_bucket_policy ? 1 : 0}"),
                "bucket": bucket_name,
                "policy": _policy(documents, "bucket-policy.json"),
            }
        },
    }
    if any("put-user-policy" in command for command in iam_commands):
        resources["aws_iam_user_policy_attachment"] = {
            "byos_write_only": {
                "user": "<UPLOADER_USER_NAME>",
                "policy_arn": _Ref("${aws_iam_policy.byos_write_only.arn}"),
            }
        }
    provider: dict[str, Any] = {"region": dest.region}
    if dest.endpoint_url is not None:
        provider["//"] = (
            f"endpoint_url is {dest.endpoint_url}: these documents are written for AWS; an S3-compatible "
            "store may use its own permission model"
        )
    return {
        "terraform": _required(aws=("hashicorp/aws", ">= 5.0")),
        "provider": {"aws": provider},
        "variable": {
            "enforce_bucket_policy": {
                "type": "bool",
                "default": False,
                "description": (
                    "Apply the optional bucket policy (HTTPS only; uploads must carry If-None-Match, which "
                    "refuses POST form uploads). It replaces the bucket's policy: merge existing statements "
                    "first."
                ),
            }
        },
        "resource": resources,
        "output": {
            "role_arn": {
                "description": "Set as role_arn in the byos destination",
                "value": _Ref("${aws_iam_role.byos_uploader.arn}"),
            }
        },
    }


# --- GCS ---


def _gcs(dest: GCSDestination, documents: PolicyDocuments) -> dict[str, Any]:
    (binding,) = documents.document("iam-binding.json")["bindings"]
    (cors,) = documents.document("cors.json")
    condition = binding["condition"]
    resources: dict[str, Any] = {
        "google_storage_bucket_iam_member": {
            "byos_uploader": {
                "bucket": dest.bucket,
                "role": GCS_UPLOAD_ROLE,
                "member": binding["members"][0],
                "condition": [
                    {
                        "title": condition["title"],
                        "description": condition["description"],
                        "expression": condition["expression"],
                    }
                ],
                "depends_on": ["google_storage_bucket.byos"],
            }
        },
        "google_storage_bucket": {
            "byos": {
                "//": (
                    "the existing bucket, imported (see the import block) for its cors block and uniform "
                    "bucket-level access; review the plan: Terraform now manages its other settings too"
                ),
                "name": dest.bucket,
                "location": dest.location,
                "uniform_bucket_level_access": True,
                "cors": [
                    {
                        "origin": cors["origin"],
                        "method": cors["method"],
                        "response_header": cors["responseHeader"],
                        "max_age_seconds": cors["maxAgeSeconds"],
                    }
                ],
                "lifecycle": {"prevent_destroy": True},
            }
        },
    }
    if "token-creator-binding.json" in documents.documents:
        (grant,) = documents.document("token-creator-binding.json")["bindings"]
        email = binding["members"][0].split(":", 1)[1]
        resources["google_service_account_iam_member"] = {
            "byos_token_creator": {
                "service_account_id": f"projects/-/serviceAccounts/{email}",
                "role": GCS_TOKEN_CREATOR_ROLE,
                "member": grant["members"][0],
            }
        }
    return {
        "terraform": _required(google=("hashicorp/google", ">= 5.0")),
        "import": [{"to": "google_storage_bucket.byos", "id": dest.bucket}],
        "resource": resources,
    }


# --- Azure ---


def _azure(documents: PolicyDocuments) -> dict[str, Any]:
    role = documents.document("role-definition.json")
    (rule,) = documents.document("cors-rules.json")["corsRules"]
    assignment = documents.section("custom role").commands[1]
    assignee = _option(assignment, "--assignee")
    container_scope = _option(assignment, "--scope")
    account_scope = container_scope.split("/blobServices/", 1)[0]
    group_scope = role["AssignableScopes"][0]
    subscription = group_scope.split("/")[2]
    return {
        "terraform": _required(azurerm=("hashicorp/azurerm", ">= 3.0"), azapi=("Azure/azapi", ">= 2.0")),
        "provider": {"azurerm": {"features": {}, "subscription_id": subscription}},
        "resource": {
            "azurerm_role_definition": {
                "byos_uploader": {
                    "name": role["Name"],
                    "scope": group_scope,
                    "description": role["Description"],
                    "permissions": [
                        {
                            "actions": role["Actions"],
                            "not_actions": role["NotActions"],
                            "data_actions": role["DataActions"],
                            "not_data_actions": role["NotDataActions"],
                        }
                    ],
                    "assignable_scopes": role["AssignableScopes"],
                }
            },
            "azurerm_role_assignment": {
                "byos_uploader": {
                    "//": _OBJECT_ID_NOTE,
                    "scope": container_scope,
                    "role_definition_id": _Ref(
                        "${azurerm_role_definition.byos_uploader.role_definition_resource_id}"
                    ),
                    "principal_id": assignee,
                },
                "byos_delegator": {
                    "//": _OBJECT_ID_NOTE,
                    "scope": account_scope,
                    "role_definition_name": AZURE_DELEGATOR_ROLE,
                    "principal_id": assignee,
                },
            },
            "azapi_update_resource": {
                "byos_blob_cors": {
                    "type": AZURE_BLOB_SERVICES_API,
                    "resource_id": f"{account_scope}/blobServices/default",
                    "body": {"properties": {"cors": {"corsRules": [rule]}}},
                }
            },
        },
    }
