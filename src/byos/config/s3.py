"""S3 settings: the bucket name rule, the table of every S3 setting and their cross check (no pydantic)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from byos.config.base import CHOICE, COMMON, SECRET, STR, Setting
from byos.config.rules import ProblemError, check_endpoint, no_path, pattern
from byos.display import shown
from byos.errors import InvalidInputError


def check_s3_bucket(name: str) -> str:
    """An S3 bucket name as AWS allows it (general purpose buckets)."""
    fix = "use 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name):
        raise ProblemError(f"{shown(name)} is not a valid S3 bucket name", fix)
    if ".." in name or ".-" in name or "-." in name:
        raise ProblemError(f"{shown(name)} has a dot next to a dot or hyphen", fix)
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        raise ProblemError(f"{shown(name)} looks like an IP address", fix)
    for start in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(start):
            raise ProblemError(f"{shown(name)} starts with the reserved {start!r}", fix)
    for end in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(end):
            raise ProblemError(f"{shown(name)} ends with the reserved {end!r}", fix)
    return name


check_role_arn = pattern(
    r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}",
    "IAM role ARN",
    "write it like arn:aws:iam::123456789012:role/byos-uploader",
)
check_external_id = pattern(r"[\w+=,.@:/-]{2,1224}", "external id", "use 2-1224 letters, digits or +=,.@:/-")

S3_SETTINGS: Final[Mapping[str, Setting]] = {
    **COMMON,
    "provider": Setting(CHOICE, "s3", choices=("s3",)),
    "bucket": Setting(STR, rules=(check_s3_bucket,)),
    "region": Setting(STR),
    "endpoint_url": Setting(STR, None, optional=True, rules=(check_endpoint,)),
    "addressing_style": Setting(CHOICE, "auto", choices=("auto", "virtual", "path")),
    "access_key_id": Setting(STR, None, optional=True),
    "secret_access_key": Setting(SECRET, None, optional=True),
    "session_token": Setting(SECRET, None, optional=True),
    "profile": Setting(STR, None, optional=True),
    "role_arn": Setting(STR, None, optional=True, rules=(check_role_arn,)),
    "external_id": Setting(STR, None, optional=True, rules=(check_external_id,)),
    "role_session_name": Setting(STR, "byos"),
    "sse_kms_key_id": Setting(STR, None, optional=True),
    "expected_bucket_owner": Setting(STR, None, optional=True),
}
"""Every S3 setting, in the order :class:`~byos.config.S3Destination` declares them."""


def check_s3(destination: Any) -> None:  # noqa: ANN401  (a settings class or a quick destination)
    """The cross checks of an S3 destination: endpoint and region as the signer takes them, credentials.

    Raises:
        ProblemError: A check fails (naming the setting).
    """
    no_path(destination.endpoint_url, "S3")
    from byos.signing.sigv4 import S3Endpoint  # noqa: PLC0415  (the signer's own rules, so presign agrees)

    try:
        S3Endpoint(destination.region, destination.endpoint_url, destination.addressing_style)
    except InvalidInputError as exc:
        raise ProblemError(exc.problem, exc.fix, exc.field) from None
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", destination.region):
        raise ProblemError(
            f"{shown(destination.region)} is not a region name",
            "write it like us-east-1 (or auto for R2)",
            "region",
        )
    if (destination.access_key_id is None) != (destination.secret_access_key is None):
        raise ProblemError(
            "must be given together with access_key_id",
            "set both, or neither to use the AWS default credential chain",
            "secret_access_key",
        )
    if destination.session_token is not None and destination.access_key_id is None:
        raise ProblemError("needs access_key_id and secret_access_key", "set all three", "session_token")
    if destination.access_key_id is not None and not re.fullmatch(
        r"[A-Za-z0-9]{3,128}", destination.access_key_id
    ):
        raise ProblemError(
            "is not an access key id", "copy it from the IAM console (like AKIA…)", "access_key_id"
        )
    if destination.external_id is not None and destination.role_arn is None:
        raise ProblemError("is set without role_arn", "set role_arn to the customer's role", "external_id")
    if destination.profile is not None and destination.access_key_id is not None:
        raise ProblemError(
            "is set together with access_key_id", "choose one source of credentials", "profile"
        )
    if destination.sse_kms_key_id is not None and not re.fullmatch(
        r"[A-Za-z0-9:/_.-]{1,2048}", destination.sse_kms_key_id
    ):
        raise ProblemError(
            "is not a KMS key id, ARN or alias",
            "copy the key's ARN from the KMS console",
            "sse_kms_key_id",
        )
    if destination.expected_bucket_owner is not None and not re.fullmatch(
        r"[0-9]{12}", destination.expected_bucket_owner
    ):
        raise ProblemError(
            f"{shown(destination.expected_bucket_owner)} is not a 12-digit AWS account id",
            "copy the customer's account id (aws sts get-caller-identity in their account), like "
            "111122223333",
            "expected_bucket_owner",
        )
    if not re.fullmatch(r"[\w+=,.@-]{2,64}", destination.role_session_name):
        raise ProblemError("is not valid", "use 2-64 letters, digits or +=,.@-", "role_session_name")
    if (
        destination.addressing_style == "virtual"
        and "." in destination.bucket
        and destination.endpoint_url is None
    ):
        raise ProblemError(
            "virtual-hosted addressing breaks TLS for bucket names with dots",
            "set addressing_style to auto or path",
            "addressing_style",
        )


def s3_label(destination: Any) -> str:  # noqa: ANN401
    """``s3://BUCKET/PREFIX``."""
    return f"s3://{destination.bucket}/{destination.prefix}"
