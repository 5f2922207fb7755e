"""The pydantic settings classes: one flat, frozen class per provider, declared with the rule table's rules.

Each field's validators are the functions its :class:`~byos.config.base.Setting` lists (a test holds the
classes and the tables equal), and each class's cross check is its provider module's plain function.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

from byos import keys
from byos.config import azure, gcs, s3
from byos.config.base import DestinationBase, check_common, remember_secrets
from byos.config.rules import (
    DEFAULT_EXPIRES,
    check_endpoint,
    check_expires,
    check_origin_value,
    check_prefix,
    check_raw_template,
    check_template,
    human_duration,
    parse_duration_value,
    pattern,
)

Duration = Annotated[timedelta, BeforeValidator(parse_duration_value), AfterValidator(check_expires)]
Origin = Annotated[str, AfterValidator(check_origin_value)]
Endpoint = Annotated[str | None, AfterValidator(check_endpoint)]
Template = Annotated[str, AfterValidator(check_template)]
RawTemplate = Annotated[str, AfterValidator(check_raw_template)]
Prefix = Annotated[str, AfterValidator(check_prefix)]
S3Bucket = Annotated[str, AfterValidator(s3.check_s3_bucket)]
GCSBucket = Annotated[str, AfterValidator(gcs.check_gcs_bucket)]
AzureAccount = Annotated[str, AfterValidator(azure.check_account_name)]
AzureContainer = Annotated[str, AfterValidator(azure.check_container)]
GcsLocation = Annotated[str, BeforeValidator(gcs.upper_location), AfterValidator(gcs.check_gcs_location)]
AzureLocation = Annotated[
    str, BeforeValidator(azure.lower_location), AfterValidator(azure.check_azure_location)
]
RoleArn = Annotated[str, AfterValidator(s3.check_role_arn)]
ExternalId = Annotated[str, AfterValidator(s3.check_external_id)]


def pattern_validator(regex: str, what: str, fix: str) -> AfterValidator:
    """A field validator: the value matches ``regex`` in full (see :func:`byos.config.rules.pattern`)."""
    return AfterValidator(pattern(regex, what, fix))


class DestinationSettings(BaseModel, DestinationBase):
    """Settings every destination has, whatever its provider (built by :func:`destination_from_dict`)."""

    model_config = ConfigDict(extra="ignore", frozen=True, validate_default=True, defer_build=True)

    provider: str
    name: str | None = Field(default=None, description="A label for reports; defaults to the file name.")
    prefix: Prefix = Field(default="", description="Every key byos writes starts with this prefix.")
    tenant: str | None = Field(default=None, description="Tenant label available to key templates.")
    expires: Duration = Field(default=DEFAULT_EXPIRES, description="Default upload URL lifetime.")
    origins: list[Origin] = Field(default_factory=list, description="Browser origins allowed to upload.")
    raw_key_template: RawTemplate = keys.DEFAULT_RAW_TEMPLATE
    result_key_template: Template = keys.DEFAULT_RESULT_TEMPLATE
    probe_prefix: Prefix = Field(default=keys.DEFAULT_PROBE_PREFIX, description="Reserved for setup probes.")
    max_upload_bytes: int | None = Field(default=None, description="Largest upload the presigner allows.")

    PROVIDER: ClassVar[str] = ""

    @model_validator(mode="after")
    def _check_common(self) -> DestinationSettings:
        check_common(self)
        return self

    @model_validator(mode="after")
    def _remember_secrets(self) -> DestinationSettings:
        """Register every secret setting for redaction from SDK logs (see :mod:`byos.log_redaction`)."""
        remember_secrets(self.__dict__)
        return self

    def masked(self) -> dict[str, Any]:
        """Return the normalised settings as JSON-ready data, with every secret masked."""
        data = self.model_dump(mode="json")
        data["expires"] = human_duration(self.expires)
        return data


class S3Destination(DestinationSettings):
    """An AWS S3 bucket (or an S3-compatible store reached through ``endpoint_url``)."""

    PROVIDER: ClassVar[str] = "s3"
    provider: Literal["s3"] = "s3"
    bucket: S3Bucket
    region: str
    endpoint_url: Endpoint = None
    addressing_style: Literal["auto", "virtual", "path"] = "auto"
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    profile: str | None = None
    role_arn: RoleArn | None = None
    external_id: ExternalId | None = None
    role_session_name: str = "byos"
    sse_kms_key_id: str | None = None
    expected_bucket_owner: str | None = Field(
        default=None, description="12-digit account id that must own the bucket (binds every request)."
    )

    @model_validator(mode="after")
    def _check_s3(self) -> S3Destination:
        s3.check_s3(self)
        return self

    def default_label(self) -> str:
        """``s3://BUCKET/PREFIX``."""
        return s3.s3_label(self)


class GCSDestination(DestinationSettings):
    """A Google Cloud Storage bucket."""

    PROVIDER: ClassVar[str] = "gcs"
    provider: Literal["gcs"] = "gcs"
    bucket: GCSBucket
    location: GcsLocation
    endpoint_url: Endpoint = None
    project: str | None = None
    service_account_file: Path | None = None
    service_account_email: str | None = None
    hmac_access_id: str | None = None
    hmac_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _check_gcs(self) -> GCSDestination:
        gcs.check_gcs(self)
        return self

    def default_label(self) -> str:
        """``gs://BUCKET/PREFIX``."""
        return gcs.gcs_label(self)


class AzureDestination(DestinationSettings):
    """An Azure Blob Storage container."""

    PROVIDER: ClassVar[str] = "azure"
    provider: Literal["azure"] = "azure"
    account_name: AzureAccount
    container: AzureContainer
    endpoint_url: Endpoint = None
    account_key: SecretStr | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    stored_access_policy: str | None = None
    location: AzureLocation | None = None
    subscription_id: str | None = None
    resource_group: str | None = None

    @model_validator(mode="after")
    def _check_azure(self) -> AzureDestination:
        azure.check_azure(self)
        return self

    @property
    def blob_endpoint(self) -> str:
        """The account's blob endpoint, without a trailing slash."""
        return azure.blob_endpoint(self)

    def default_label(self) -> str:
        """``azure://ACCOUNT/CONTAINER/PREFIX``."""
        return azure.azure_label(self)


Destination = S3Destination | GCSDestination | AzureDestination
PROVIDERS: dict[str, type[S3Destination] | type[GCSDestination] | type[AzureDestination]] = {
    "s3": S3Destination,
    "gcs": GCSDestination,
    "azure": AzureDestination,
}
