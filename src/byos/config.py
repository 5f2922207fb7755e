"""Destination settings: one flat pydantic class per provider, from TOML, ``BYOS_*`` or ``.env``.

A destination is one customer's bucket (or container) and the credentials that may write to it. Load one
with :func:`load_destination` (a TOML file, with ``BYOS_*`` environment variables and ``.env`` filling what
the file leaves out, so secrets can stay out of files), or a folder of them with :func:`load_fleet`.

Every problem is reported at load time as a :class:`~byos.errors.ConfigError` whose one-line message names the
setting and the fix. Secrets are :class:`pydantic.SecretStr` and never printed.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from abc import abstractmethod
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from byos import keys
from byos.config_env import ENV_PREFIX, environment_values, read_env_file
from byos.display import clean, clip, shown
from byos.endpoint_policy import ALLOW_PRIVATE_ENDPOINTS_ENV, host_refusal, is_final, is_loopback_host
from byos.errors import ConfigError, InvalidInputError
from byos.log_redaction import remember
from byos.redaction import redact_userinfo

MIN_EXPIRES = timedelta(seconds=1)
MAX_EXPIRES = timedelta(days=7)
DEFAULT_EXPIRES = timedelta(minutes=30)
MAX_CONFIG_BYTES = 1024 * 1024
_MAX_KEY_FILE = 64 * 1024  # a service account key file is about 2.3 KiB

_DURATION_PART = re.compile(r"([0-9]+)\s*(d|h|m|s)")
_MAX_DURATION_DIGITS = 12
_TOO_LONG = 10**12  # seconds: far past 7 days, well inside what timedelta holds
_DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


class _ProblemError(ValueError):
    """A validator's failure, carrying the fix apart from the problem (and the field, for model checks)."""

    def __init__(self, problem: str, fix: str, field: str | None = None) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem = problem
        self.fix = fix
        self.field = field


# --- field validators ---


def _parse_duration(value: object) -> object:
    """Accept ``90``, ``"90s"``, ``"30m"``, ``"1h30m"``, ``"7d"`` and ISO 8601 (``"PT30M"``) for durations."""
    if isinstance(value, bool):
        raise _ProblemError("must be a duration", 'write it like "30m", "2h" or "1d"')
    if isinstance(value, int | float):
        return _duration(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isascii() and text.isdigit():
            return _duration(_number(text))
        if text and _DURATION_PART.sub("", text).strip() == "":
            return _duration(sum(_number(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text)))
        if text.startswith("p"):
            return value
        raise _ProblemError(f"{shown(value)} is not a duration", 'write it like "30m", "2h" or "1d"')
    return value


def _number(digits: str) -> int:
    """A duration's number; more digits than any lifetime needs is out of range (and never parsed)."""
    return int(digits) if len(digits) <= _MAX_DURATION_DIGITS else _TOO_LONG


def _duration(seconds: float) -> timedelta:
    """``seconds`` as a timedelta, refusing what timedelta cannot hold (inf, nan, 1e300) as out of range."""
    if isinstance(seconds, float) and not math.isfinite(seconds):
        raise _ProblemError(f"{seconds} is not a duration", 'write it like "30m", "2h" or "1d"')
    if abs(seconds) >= _TOO_LONG:
        raise _ProblemError(
            f"{float(min(abs(seconds), 10**300)):.3g} seconds is out of range",
            "choose between 1s and 7d (presigned URLs live at most 7 days)",
        )
    return timedelta(seconds=seconds)


def parse_duration(text: str, *, field: str = "expires") -> timedelta:
    """Parse a duration as written in configuration (``"30m"``, ``"2h"``, ``"1d"``, ``"90"``) within 1 s..7 d.

    Raises:
        ConfigError: The text is not a duration or is out of range.
    """
    try:
        value = _parse_duration(text)
        return _check_expires(value if isinstance(value, timedelta) else _not_a_duration(text))
    except _ProblemError as exc:
        error = ConfigError(field, exc.problem, exc.fix)
    raise error  # outside the handler: the chain would hold the input


def _not_a_duration(text: str) -> timedelta:
    raise _ProblemError(f"{shown(text)} is not a duration", 'write it like "30m", "2h" or "1d"')


def _check_expires(value: timedelta) -> timedelta:
    if not MIN_EXPIRES <= value <= MAX_EXPIRES:
        raise _ProblemError(
            f"{_human(value)} is out of range",
            "choose between 1s and 7d (presigned URLs live at most 7 days)",
        )
    return value


def _human(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{value.total_seconds():g}s"


def _check_prefix(value: str) -> str:
    keys.check_prefix(value)
    return value


def _check_origin(value: str) -> str:
    text = value.strip()
    if text == "*":
        raise _ProblemError(
            "'*' allows every web site to upload", "list each origin, like https://app.example.com"
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _ProblemError(
            f"{shown(redact_userinfo(value))} is not an origin",
            "write scheme://host[:port], like https://app.example.com",
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise _ProblemError(
            f"{shown(redact_userinfo(value))} has more than scheme, host and port",
            "drop the path, query and credentials",
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise _ProblemError(f"{shown(value)} is plain http", "browsers should upload from an https origin")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = "" if parts.port in (None, default_port) else f":{parts.port}"
    return f"{parts.scheme}://{host}{port}"


def _check_endpoint(value: str | None) -> str | None:
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    fix = "write it like https://storage.example.com[:port]"
    if any(char.isspace() or not char.isprintable() for char in text):
        raise _ProblemError("contains spaces or control characters", fix)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise _ProblemError("is not a valid URL (bad port or brackets)", fix) from None
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _ProblemError("is not an http(s) URL with a host", fix)
    if "@" in parts.netloc:
        raise _ProblemError("must not carry credentials (user:password@)", "give only scheme://host[:port]")
    if "?" in text or "#" in text:
        raise _ProblemError("must not carry a query or fragment", "give only scheme://host[:port][/path]")
    host = parts.hostname
    if parts.scheme == "http" and not is_loopback_host(host):
        raise _ProblemError(
            "is plain http to a host that is not loopback, which would send presigned URLs in clear text",
            "use https (plain http is allowed only for 127.0.0.1, ::1 and localhost)",
        )
    refusal = host_refusal(host)
    if refusal is not None and is_final(refusal):
        raise _ProblemError(
            f"names {refusal}, where byos never connects", "use the storage service's own endpoint"
        )
    if refusal is not None:
        raise _ProblemError(
            f"names {refusal}, which a tenant must not point byos at",
            f"use a public endpoint, or set {ALLOW_PRIVATE_ENDPOINTS_ENV}=1 to allow private networks",
        )
    return text.rstrip("/")


def _no_path(endpoint_url: str | None, provider: str) -> None:
    if endpoint_url is not None and urlsplit(endpoint_url).path not in ("", "/"):
        raise _ProblemError(
            f"has a path; {provider} endpoints are scheme://host[:port]", "remove the path", "endpoint_url"
        )


def check_origin(origin: str, *, field: str = "origins") -> str:
    """Return ``origin`` as ``scheme://host[:port]``, or raise :class:`ConfigError` naming ``field``."""
    try:
        return _check_origin(origin)
    except _ProblemError as exc:
        error = ConfigError(field, exc.problem, exc.fix)
    raise error  # outside the handler: the chain would hold the origin, credentials and all


def _check_template(value: str) -> str:
    keys.check_template(value)
    return value


def _check_raw_template(value: str) -> str:
    keys.check_template(value, raw=True)
    return value


def _pattern(regex: str, what: str, fix: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise _ProblemError(f"{shown(value)} is not a valid {what}", fix)
        return value

    return AfterValidator(check)


Duration = Annotated[timedelta, BeforeValidator(_parse_duration), AfterValidator(_check_expires)]
Origin = Annotated[str, AfterValidator(_check_origin)]
Endpoint = Annotated[str | None, AfterValidator(_check_endpoint)]
Template = Annotated[str, AfterValidator(_check_template)]
RawTemplate = Annotated[str, AfterValidator(_check_raw_template)]
Prefix = Annotated[str, AfterValidator(_check_prefix)]


def _check_s3_bucket(name: str) -> str:
    fix = "use 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name):
        raise _ProblemError(f"{shown(name)} is not a valid S3 bucket name", fix)
    if ".." in name or ".-" in name or "-." in name:
        raise _ProblemError(f"{shown(name)} has a dot next to a dot or hyphen", fix)
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        raise _ProblemError(f"{shown(name)} looks like an IP address", fix)
    for start in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(start):
            raise _ProblemError(f"{shown(name)} starts with the reserved {start!r}", fix)
    for end in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(end):
            raise _ProblemError(f"{shown(name)} ends with the reserved {end!r}", fix)
    return name


def _check_gcs_bucket(name: str) -> str:
    fix = (
        "use 3-63 lowercase letters, digits, '-', '_' or '.' (up to 222 with dots), "
        "starting and ending with a letter or digit"
    )
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*[a-z0-9]", name) or len(name) > 222:
        raise _ProblemError(f"{shown(name)} is not a valid GCS bucket name", fix)
    if any(not 1 <= len(part) <= 63 for part in name.split(".")) or len(name) < 3:
        raise _ProblemError(f"{shown(name)} has a dot-separated part outside 1-63 characters", fix)
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        raise _ProblemError(f"{shown(name)} looks like an IP address", fix)
    if name.startswith("goog") or "google" in name or "g00gle" in name:
        raise _ProblemError(
            f"{shown(name)} starts with 'goog' or contains 'google'", "choose a name without them"
        )
    return name


S3Bucket = Annotated[str, AfterValidator(_check_s3_bucket)]
GCSBucket = Annotated[str, AfterValidator(_check_gcs_bucket)]
AzureAccount = Annotated[
    str,
    _pattern(r"[a-z0-9]{3,24}", "storage account name", "use 3-24 lowercase letters and digits"),
]
AzureContainer = Annotated[
    str,
    _pattern(
        r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]",
        "container name",
        "use 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit",
    ),
]
GcsLocation = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
    _pattern(r"[A-Z]+[A-Z0-9-]*[A-Z0-9]", "GCS location", "write it like EU, US or EUROPE-WEST1"),
]
AzureLocation = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().lower().replace(" ", "") if isinstance(v, str) else v),
    _pattern(r"[a-z]+[a-z0-9]*", "Azure region", "write it like westeurope or eastus2"),
]
RoleArn = Annotated[
    str,
    _pattern(
        r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}",
        "IAM role ARN",
        "write it like arn:aws:iam::123456789012:role/byos-uploader",
    ),
]
ExternalId = Annotated[
    str,
    _pattern(r"[\w+=,.@:/-]{2,1224}", "external id", "use 2-1224 letters, digits or +=,.@:/-"),
]


# --- settings classes ---


class DestinationBase(BaseModel):
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
    def _check_common(self) -> DestinationBase:
        if self.tenant is not None:
            keys.check_tenant(self.tenant)
        if self.max_upload_bytes is not None and not 1 <= self.max_upload_bytes <= 5 * 1024**4:
            raise _ProblemError(
                f"{shown(self.max_upload_bytes)} is out of range",
                "choose between 1 byte and 5 TiB",
                "max_upload_bytes",
            )
        keys.KeyLayout.from_destination(self)
        if not self.probe_prefix:
            raise _ProblemError(
                "is empty", "keep the default byos-probes/ or name another folder", "probe_prefix"
            )
        if not self.probe_prefix.endswith("/"):
            raise _ProblemError("must end with '/'", f"write {self.probe_prefix + '/'!r}", "probe_prefix")
        return self

    @model_validator(mode="after")
    def _remember_secrets(self) -> DestinationBase:
        """Register every secret setting for redaction from SDK logs (see :mod:`byos.log_redaction`)."""
        remember(
            *(value.get_secret_value() for value in self.__dict__.values() if isinstance(value, SecretStr))
        )
        return self

    @property
    def label(self) -> str:
        """The name shown in reports."""
        return self.name or self.default_label()

    @abstractmethod
    def default_label(self) -> str:
        """The label used when no ``name`` is configured."""

    def masked(self) -> dict[str, Any]:
        """Return the normalised settings as JSON-ready data, with every secret masked."""
        data = self.model_dump(mode="json")
        data["expires"] = _human(self.expires)
        return data


class S3Destination(DestinationBase):
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
        _no_path(self.endpoint_url, "S3")
        from byos.signing.sigv4 import S3Endpoint  # noqa: PLC0415  (the signer's own rules, so presign agrees)

        try:
            S3Endpoint(self.region, self.endpoint_url, self.addressing_style)
        except InvalidInputError as exc:
            raise _ProblemError(exc.problem, exc.fix, exc.field) from None
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", self.region):
            raise _ProblemError(
                f"{shown(self.region)} is not a region name",
                "write it like us-east-1 (or auto for R2)",
                "region",
            )
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise _ProblemError(
                "must be given together with access_key_id",
                "set both, or neither to use the AWS default credential chain",
                "secret_access_key",
            )
        if self.session_token is not None and self.access_key_id is None:
            raise _ProblemError("needs access_key_id and secret_access_key", "set all three", "session_token")
        if self.access_key_id is not None and not re.fullmatch(r"[A-Za-z0-9]{3,128}", self.access_key_id):
            raise _ProblemError(
                "is not an access key id", "copy it from the IAM console (like AKIA…)", "access_key_id"
            )
        if self.external_id is not None and self.role_arn is None:
            raise _ProblemError(
                "is set without role_arn", "set role_arn to the customer's role", "external_id"
            )
        if self.profile is not None and self.access_key_id is not None:
            raise _ProblemError(
                "is set together with access_key_id", "choose one source of credentials", "profile"
            )
        if self.sse_kms_key_id is not None and not re.fullmatch(
            r"[A-Za-z0-9:/_.-]{1,2048}", self.sse_kms_key_id
        ):
            raise _ProblemError(
                "is not a KMS key id, ARN or alias",
                "copy the key's ARN from the KMS console",
                "sse_kms_key_id",
            )
        if self.expected_bucket_owner is not None and not re.fullmatch(
            r"[0-9]{12}", self.expected_bucket_owner
        ):
            raise _ProblemError(
                f"{shown(self.expected_bucket_owner)} is not a 12-digit AWS account id",
                "copy the customer's account id (aws sts get-caller-identity in their account), like "
                "111122223333",
                "expected_bucket_owner",
            )
        if not re.fullmatch(r"[\w+=,.@-]{2,64}", self.role_session_name):
            raise _ProblemError("is not valid", "use 2-64 letters, digits or +=,.@-", "role_session_name")
        if self.addressing_style == "virtual" and "." in self.bucket and self.endpoint_url is None:
            raise _ProblemError(
                "virtual-hosted addressing breaks TLS for bucket names with dots",
                "set addressing_style to auto or path",
                "addressing_style",
            )
        return self

    def default_label(self) -> str:
        """``s3://BUCKET/PREFIX``."""
        return f"s3://{self.bucket}/{self.prefix}"


class GCSDestination(DestinationBase):
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
        _no_path(self.endpoint_url, "GCS")
        if (self.hmac_access_id is None) != (self.hmac_secret is None):
            raise _ProblemError(
                "must be given together with hmac_access_id", "set both, or neither", "hmac_secret"
            )
        if self.hmac_access_id is not None and self.service_account_file is not None:
            raise _ProblemError(
                "is set together with an HMAC key",
                "choose one way to sign (remove hmac_* or service_account_file)",
                "service_account_file",
            )
        if self.service_account_file is not None and not self.service_account_file.is_file():
            found = "is not a regular file" if self.service_account_file.exists() else "does not exist"
            raise _ProblemError(
                f"{shown(str(self.service_account_file))} {found}",
                "point it at the service account's JSON key file",
                "service_account_file",
            )
        if self.service_account_file is not None and self.service_account_file.stat().st_size > _MAX_KEY_FILE:
            raise _ProblemError(
                f"is over {_MAX_KEY_FILE // 1024} KiB, far larger than a key file",
                "point it at the service account's JSON key file",
                "service_account_file",
            )
        if self.service_account_email is not None and not re.fullmatch(
            r"[^@\s]+@[a-z0-9.-]+\.[a-z]+", self.service_account_email
        ):
            raise _ProblemError(
                "is not an email address",
                "write it like name@project.iam.gserviceaccount.com",
                "service_account_email",
            )
        return self

    def default_label(self) -> str:
        """``gs://BUCKET/PREFIX``."""
        return f"gs://{self.bucket}/{self.prefix}"


class AzureDestination(DestinationBase):
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
        if self.account_key is not None:
            _check_base64_key(self.account_key.get_secret_value())
        if self.client_secret is not None and (self.tenant_id is None or self.client_id is None):
            raise _ProblemError(
                "needs tenant_id and client_id", "set all three for a service principal", "client_secret"
            )
        if self.stored_access_policy is not None and not 1 <= len(self.stored_access_policy) <= 64:
            raise _ProblemError(
                "must be 1-64 characters", "use the policy's identifier", "stored_access_policy"
            )
        if (self.subscription_id is None) != (self.resource_group is None):
            raise _ProblemError(
                "must be given together with subscription_id",
                "set both to let the checker read the account's region",
                "resource_group",
            )
        return self

    @property
    def blob_endpoint(self) -> str:
        """The account's blob endpoint, without a trailing slash."""
        return self.endpoint_url or f"https://{self.account_name}.blob.core.windows.net"

    def default_label(self) -> str:
        """``azure://ACCOUNT/CONTAINER/PREFIX``."""
        return f"azure://{self.account_name}/{self.container}/{self.prefix}"


def _check_base64_key(value: str) -> None:
    import base64  # noqa: PLC0415  (only Azure keys need it)
    import binascii  # noqa: PLC0415

    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _ProblemError(
            "is not base64", "copy the key from the storage account's Access keys", "account_key"
        ) from None


Destination = S3Destination | GCSDestination | AzureDestination
PROVIDERS: dict[str, type[S3Destination] | type[GCSDestination] | type[AzureDestination]] = {
    "s3": S3Destination,
    "gcs": GCSDestination,
    "azure": AzureDestination,
}


# --- loading ---


def destination_from_dict(
    data: dict[str, Any], *, env: bool = True, env_file: str | Path | None = ".env", source: str = "config"
) -> Destination:
    """Build a destination from a mapping (for example a parsed TOML file).

    Values in ``data`` win; ``BYOS_*`` environment variables and ``env_file`` fill the settings it leaves out
    (when ``env`` is true), so secrets can stay out of files.

    Raises:
        ConfigError: a setting is missing or invalid; the message names it and says how to fix it.
    """
    provider = data.get("provider")
    if provider is None and env:
        try:
            provider = _env_value("provider", env_file)
        except (OSError, UnicodeDecodeError) as exc:
            env_error: ConfigError | None = _env_file_error(env_file, exc)
        else:
            env_error = None
        if env_error is not None:
            raise env_error
    if provider is None:
        raise ConfigError(
            "provider", "is missing", f"set provider to one of {', '.join(PROVIDERS)} in {source}"
        )
    cls = PROVIDERS.get(str(provider).strip().lower())
    if cls is None:
        raise ConfigError(
            "provider", f"{shown(provider)} is not supported", f"use one of {', '.join(PROVIDERS)}"
        )
    unknown = sorted(set(data) - set(cls.model_fields))
    if unknown:
        guess = difflib.get_close_matches(unknown[0], list(cls.model_fields), n=1)
        hint = f"did you mean {guess[0]}?" if guess else f"remove it from {source}"
        raise ConfigError(unknown[0], f"is not a setting of provider {cls.PROVIDER}", hint)
    values = {**data, "provider": cls.PROVIDER}
    try:
        if env:  # given values win over BYOS_* variables, which win over the env file
            values = {**environment_values(cls.model_fields, env_file), **values}
        return cls(**values)
    except ValidationError as exc:
        error = _to_config_error(exc)
    except ConfigError as exc:  # a list setting's variable that is not JSON
        error = ConfigError(exc.field, exc.problem, exc.fix)
    except (OSError, UnicodeDecodeError) as exc:
        error = _env_file_error(env_file, exc)
    # Raised outside the handlers, so no __context__ keeps the raw values (secrets among them).
    raise error


def load_destination(
    path: str | Path | None = None, *, env: bool = True, env_file: str | Path | None = ".env"
) -> Destination:
    """Load one destination from a TOML file, or from the environment alone when ``path`` is None.

    Raises:
        ConfigError: the file cannot be read or a setting is invalid.
    """
    if path is None:
        return destination_from_dict({}, env=env, env_file=env_file, source="the environment")
    file = Path(path)
    data = _read_toml(file)
    data.setdefault("name", file.stem)
    return destination_from_dict(data, env=env, env_file=env_file, source=file.name)


def _read_toml(file: Path) -> dict[str, Any]:
    """Parse a TOML file; every failure is a ConfigError without the file's text in its chain."""
    name = clean(str(file))
    try:
        return tomllib.loads(_read_text(file))
    except FileNotFoundError:
        error = ConfigError(name, "does not exist", "pass the path of a destination TOML file")
    except UnicodeDecodeError as exc:
        error = ConfigError(name, f"is not UTF-8 text (byte {exc.start})", "save the file as UTF-8")
    except OSError as exc:
        error = ConfigError(name, f"cannot be read ({exc.strerror or type(exc).__name__})", "check the file")
    except _ProblemError as exc:
        error = ConfigError(name, exc.problem, exc.fix)
    except tomllib.TOMLDecodeError as exc:
        error = ConfigError(name, f"is not valid TOML ({clean(str(exc))})", "fix the syntax")
    except RecursionError:
        error = ConfigError(name, "is nested too deeply", "fix the file")
    except ValueError:  # a path with a NUL byte
        error = ConfigError("path", "is not a valid file name", "pass the path of a destination TOML file")
    raise error


def _read_text(file: Path) -> str:
    """A regular file's text, at most ``MAX_CONFIG_BYTES`` (a device or FIFO would never end)."""
    if file.exists() and not file.is_file():
        raise _ProblemError("is not a regular file", "pass the path of a destination TOML file")
    with file.open("rb") as handle:
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise _ProblemError(
            f"is over {MAX_CONFIG_BYTES // 1024} KiB", "a destination's settings are far smaller"
        )
    return data.decode("utf-8")


def load_fleet(folder: str | Path, *, env: bool = False) -> list[tuple[Path, Destination | ConfigError]]:
    """Load every ``*.toml`` destination in ``folder``, sorted by name; a bad file yields its error.

    The environment is not consulted by default: a fleet's files must be complete on their own.
    """
    directory = Path(folder)
    if not directory.is_dir():
        raise ConfigError(str(directory), "is not a folder", "pass a folder of destination TOML files")
    loaded: list[tuple[Path, Destination | ConfigError]] = []
    for file in sorted(directory.glob("*.toml")):
        try:
            loaded.append((file, load_destination(file, env=env, env_file=None)))
        except ConfigError as exc:
            loaded.append((file, exc))
    return loaded


def _env_value(name: str, env_file: str | Path | None) -> str | None:
    import os  # noqa: PLC0415

    value = os.environ.get(ENV_PREFIX + name.upper())
    if value is None and env_file is not None and Path(env_file).is_file():
        for key, found in read_env_file(env_file).items():
            if key.upper() == ENV_PREFIX + name.upper():
                value = found
    return value


def _env_file_error(env_file: str | Path | None, exc: OSError | UnicodeDecodeError) -> ConfigError:
    name = clean(str(env_file or ".env"))
    if isinstance(exc, UnicodeDecodeError):
        return ConfigError(name, f"is not UTF-8 text (byte {exc.start})", "save the file as UTF-8")
    return ConfigError(name, f"cannot be read ({exc.strerror or type(exc).__name__})", "check the file")


def _to_config_error(exc: ValidationError) -> ConfigError:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error["loc"]) or "settings"
    if error["type"] == "missing":
        env_name = ENV_PREFIX + field.split(".")[0].upper()
        return ConfigError(field, "is required", f"set it in the config file or as {env_name}")
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, _ProblemError):
        return ConfigError(cause.field or field, clip(cause.problem), cause.fix)
    if isinstance(cause, ConfigError):
        return ConfigError(field if field != "settings" else cause.field, clip(cause.problem), cause.fix)
    return ConfigError(
        field, clip(error["msg"].removeprefix("Value error, ")), "fix the value in the config file"
    )
