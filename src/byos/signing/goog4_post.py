"""GOOG4 POST policies: the signed form fields of a browser upload, and the conditions they hold."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from byos.errors import InvalidInputError
from byos.signing.goog4_checks import (
    _LOCATION,
    _TOKEN,
    DEFAULT_ENDPOINT,
    _check_bucket,
    _check_expires,
    _check_object_name,
    _check_unicode,
    _endpoint,
    _timestamp,
    _utc,
)

if TYPE_CHECKING:
    from byos.signing.goog4_signers import Goog4Signer

_POLICY_FIELDS: Final = frozenset(
    {
        "key",
        "policy",
        "x-goog-algorithm",
        "x-goog-credential",
        "x-goog-date",
        "x-goog-signature",
        "bucket",
        "file",
    }
)

PolicyCondition = Mapping[str, str] | Sequence[str | int]
"""One POST policy condition: ``{"field": "exact value"}``, ``["eq", "$field", value]``,
``["starts-with", "$field", prefix]`` or ``["content-length-range", min, max]``."""


def content_length_range(min_bytes: int, max_bytes: int) -> list[str | int]:
    """Return the POST policy condition ``["content-length-range", min_bytes, max_bytes]``."""
    return ["content-length-range", min_bytes, max_bytes]


def starts_with(field: str, prefix: str) -> list[str | int]:
    """Return the POST policy condition ``["starts-with", "$field", prefix]``."""
    return ["starts-with", f"${field}", prefix]


def presign_post(
    signer: Goog4Signer,
    bucket: str,
    key: str,
    *,
    conditions: Sequence[PolicyCondition] = (),
    fields: Mapping[str, str] | None = None,
    expires: int,
    now: datetime | None = None,
    endpoint: str = DEFAULT_ENDPOINT,
) -> tuple[str, dict[str, str]]:
    """Return ``(url, fields)`` of a V4 POST policy for a browser form upload.

    Equal to ``Client.generate_signed_post_policy_v4(bucket, key, expiration=timedelta(seconds=expires),
    conditions=conditions, fields=fields)`` of google-cloud-storage (its ``url`` and ``fields``, in order).
    The form sends every returned field, then the file last.

    Args:
        signer: Who signs.
        bucket: Bucket name.
        key: Object name; always an exact ``{"key": key}`` condition (it may contain ``${filename}``).
        conditions: Extra conditions, e.g. ``content_length_range(0, 10_000_000)``,
            ``{"Content-Type": "text/csv"}``, ``starts_with("key", "uploads/")``.
        fields: Extra form fields (``Content-Type``, ``x-goog-meta-*``, ``success_action_status``…); each
            also becomes an exact condition.
        expires: Lifetime in seconds, 1 to 604800 (7 days).
        now: The signing time (timezone-aware); the current time when omitted.
        endpoint: ``scheme://host[:port]``.

    Raises:
        InvalidInputError: An argument is invalid; the message names it.
    """
    _check_bucket(bucket)
    _check_object_name(key)
    _check_expires(expires)
    base, _ = _endpoint(endpoint)
    moment = _utc(now)

    policy_conditions: list[dict[str, str] | list[str | int]] = [
        _condition(i, condition, key) for i, condition in enumerate(_sequence(conditions))
    ]
    form = _form_fields(fields)
    policy_conditions.extend({name: value} for name, value in form.items())

    timestamp = _timestamp(moment)
    datestamp = timestamp[:8]
    credential = f"{signer.client_id}/{datestamp}/{_LOCATION}/storage/goog4_request"
    policy_conditions += [
        {"bucket": bucket},
        {"key": key},
        {"x-goog-date": timestamp},
        {"x-goog-credential": credential},
        {"x-goog-algorithm": signer.algorithm},
    ]
    expiration = (moment + timedelta(seconds=expires)).replace(tzinfo=None).isoformat() + "Z"
    document = json.dumps({"conditions": policy_conditions, "expiration": expiration}, separators=(",", ":"))
    policy = base64.b64encode(document.encode("utf-8"))
    signature = signer.sign(policy, datestamp).hex()

    form.update(
        {
            "key": key,
            "x-goog-algorithm": signer.algorithm,
            "x-goog-credential": credential,
            "x-goog-date": timestamp,
            "x-goog-signature": signature,
            "policy": policy.decode("ascii"),
        }
    )
    return f"{base}/{bucket}/", form


def _sequence(conditions: Sequence[PolicyCondition]) -> Sequence[PolicyCondition]:
    if isinstance(conditions, str | bytes | Mapping) or not isinstance(conditions, Sequence):
        raise InvalidInputError(
            "conditions", "is not a list of conditions", "pass a list such as [{...}, [...]]"
        )
    return conditions


def _condition(index: int, condition: PolicyCondition, key: str) -> dict[str, str] | list[str | int]:
    """Validate one POST policy condition and return it as the JSON value the policy holds."""
    field = f"conditions[{index}]"
    if isinstance(condition, Mapping):
        items = list(condition.items())
        if len(items) != 1 or not all(isinstance(part, str) for part in items[0]) or not items[0][0]:
            raise InvalidInputError(
                field, "must map one field name to one text value", 'e.g. {"Content-Type": "x"}'
            )
        name, value = items[0]
        _check_unicode(field, value)
        if name.lower() == "key" and value != key:
            raise InvalidInputError(
                field, "does not match the key being signed", "sign a key that satisfies it"
            )
        return {name: value}
    if isinstance(condition, str | bytes) or not isinstance(condition, Sequence) or len(condition) != 3:
        raise InvalidInputError(field, "is not a policy condition", "use a dict or a 3-item list")
    operator, first, second = condition
    if operator == "content-length-range":
        if not all(type(bound) is int for bound in (first, second)) or not 0 <= int(first) <= int(second):
            raise InvalidInputError(
                field, "needs two whole numbers 0 <= MIN <= MAX", "use content_length_range()"
            )
        return ["content-length-range", first, second]
    if operator not in ("eq", "starts-with"):
        raise InvalidInputError(
            field, f"has an unknown operator {operator!r}", "use eq, starts-with or a dict"
        )
    if (
        not isinstance(first, str)
        or not first.startswith("$")
        or len(first) < 2
        or not isinstance(second, str)
    ):
        raise InvalidInputError(
            field, "must be [operator, '$field', text]", 'e.g. ["starts-with", "$key", "a/"]'
        )
    _check_unicode(field, second)
    if first.lower() == "$key" and not (
        key.startswith(second) if operator == "starts-with" else key == second
    ):
        raise InvalidInputError(field, "does not match the key being signed", "sign a key that satisfies it")
    return [operator, first, second]


def _form_fields(fields: Mapping[str, str] | None) -> dict[str, str]:
    """Validate extra form fields; return them sorted by name, as the SDK orders them."""
    if fields is None:
        return {}
    if not isinstance(fields, Mapping):
        raise InvalidInputError("fields", "is not a mapping", "pass a dict of form field name to value")
    out: dict[str, str] = {}
    for name, value in sorted(fields.items()):
        field = f"fields[{name}]"
        if not isinstance(name, str) or _TOKEN.fullmatch(name) is None:
            raise InvalidInputError(
                "fields", f"{name!r} is not a valid field name", "use letters, digits and '-'"
            )
        lowered = name.lower()
        if lowered in _POLICY_FIELDS:
            raise InvalidInputError(field, "is set by the signer", "remove it")
        if lowered.startswith("x-ignore-"):
            raise InvalidInputError(
                field, "is ignored by Cloud Storage and left out of the policy", "remove it"
            )
        if not isinstance(value, str):
            raise InvalidInputError(field, "is not text", "pass a string value")
        _check_unicode(field, value)
        out[name] = value
    return out
