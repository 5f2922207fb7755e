"""Independent checker of Azure Blob SAS URLs, from Microsoft's service SAS and user delegation SAS specs.

It plays the storage service's part: given a SAS URL, the key the service holds, the request method and the
service's clock, it rebuilds the string-to-sign from the URL's own fields, recomputes the HMAC-SHA256 and
checks the validity window, protocol, resource and permission. It shares no code with ``byos.signing``.

String-to-sign layouts (every field URL-decoded, joined with ``\\n``):

* Service SAS, ``sv`` 2020-12-06 and later: ``sp st se canonicalizedResource si sip spr sv sr snapshot ses
  rscc rscd rsce rscl rsct``; 2018-11-09 to 2020-10-02: the same without ``ses``.
* User delegation SAS, ``sv`` 2020-12-06 and later: ``sp st se canonicalizedResource skoid sktid skt ske sks
  skv saoid suoid scid sip spr sv sr snapshot ses rscc rscd rsce rscl rsct``; 2025-07-05 adds ``skdutid
  sduoid`` after ``scid``; 2026-04-06 adds ``srh srq`` after ``ses``.

``canonicalizedResource`` is ``/blob/ACCOUNT/CONTAINER/BLOB`` (``sr=b``) or ``/blob/ACCOUNT/CONTAINER``
(``sr=c``), with the names decoded from the URL path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import SplitResult, unquote, urlsplit

BLOB_PERMISSION_ORDER = "racwdxyltfmei"
"""Permission letters in the order Azure requires them."""


@dataclass(frozen=True)
class StoredPolicy:
    """A stored access policy on a container, as the service would hold it (times as SAS text)."""

    permission: str | None = None
    start: str | None = None
    expiry: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The service's answer: accepted, or refused with a reason."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


def _parse_time(text: str) -> datetime | None:
    """Parse a SAS time: ``YYYY-MM-DD``, ``YYYY-MM-DDThh:mmZ`` or ``YYYY-MM-DDThh:mm:ssZ`` (UTC)."""
    try:
        if len(text) == 10:
            return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        if not text.endswith("Z"):
            return None
        for layout in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
            try:
                return datetime.strptime(text, layout).replace(tzinfo=UTC)
            except ValueError:
                continue
    except ValueError:
        return None
    return None


def _query_fields(query: str) -> dict[str, str] | None:
    fields: dict[str, str] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name = unquote(name)
        if name in fields:
            return None
        fields[name] = unquote(value)
    return fields


class _RefusedError(Exception):
    """The service refuses the request; the message is the reason."""


def _required_permission(method: str, fields: Mapping[str, str], *, blob_exists: bool) -> str:
    """Return the permission letters of which one is needed."""
    comp = fields.get("comp")
    needed = None
    if method == "PUT":
        if comp in {"block", "blocklist"}:
            needed = "w"
        elif comp is None:
            needed = "w" if blob_exists else "cw"
    elif method in {"GET", "HEAD"}:
        needed = "l" if comp == "list" and fields.get("restype") == "container" else "r"
    elif method == "DELETE":
        needed = "d"
    if needed is None:
        raise _RefusedError("operation not allowed with a blob SAS")
    return needed


def _string_to_sign(fields: Mapping[str, str], resource: str, *, delegation: bool) -> str:
    version = fields.get("sv", "")
    value = fields.get
    head = [value("sp", ""), value("st", ""), value("se", ""), resource]
    tail_response = [value(name, "") for name in ("rscc", "rscd", "rsce", "rscl", "rsct")]
    network = [value("sip", ""), value("spr", ""), version, value("sr", ""), value("snapshot", "")]
    if not delegation:
        if version >= "2020-12-06":
            return "\n".join([*head, value("si", ""), *network, value("ses", ""), *tail_response])
        if version >= "2018-11-09":
            return "\n".join([*head, value("si", ""), *network, *tail_response])
        raise _RefusedError(f"unsupported signed version {version}")
    if version < "2020-12-06":
        raise _RefusedError(f"unsupported signed version {version}")
    key_fields = [
        value(name, "") for name in ("skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "scid")
    ]
    if version >= "2025-07-05":
        key_fields += [value("skdutid", ""), value("sduoid", "")]
    request = [value("srh", ""), value("srq", "")] if version >= "2026-04-06" else []
    return "\n".join([*head, *key_fields, *network, value("ses", ""), *request, *tail_response])


def _resource(url_parts: SplitResult, fields: Mapping[str, str], account_name: str) -> str:
    """Return the canonicalized resource of the URL's path: the account from the host or the first segment."""
    path = url_parts.path
    if url_parts.hostname is not None and url_parts.hostname.startswith(account_name + "."):
        rest = path[1:]
    elif path.startswith(f"/{account_name}/"):
        rest = path[len(account_name) + 2 :]
    else:
        raise _RefusedError("URL is not in the account")
    container, _, blob_encoded = rest.partition("/")
    container, blob = unquote(container), unquote(blob_encoded)
    resource_type = fields["sr"]
    if resource_type == "b":
        if not blob:
            raise _RefusedError("blob SAS used on a container")
        return f"/blob/{account_name}/{container}/{blob}"
    if resource_type == "c":
        return f"/blob/{account_name}/{container}"
    raise _RefusedError(f"unsupported sr={resource_type}")


def _check_signature(fields: Mapping[str, str], resource: str, key: str | None, *, delegation: bool) -> None:
    if key is None:
        raise _RefusedError("no key for this kind of SAS")
    string_to_sign = _string_to_sign(fields, resource, delegation=delegation)
    expected = base64.b64encode(
        hmac.new(base64.b64decode(key), string_to_sign.encode(), hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(expected, fields["sig"]):
        raise _RefusedError("signature mismatch")


def _effective_terms(
    fields: Mapping[str, str], stored_policies: Mapping[str, StoredPolicy] | None
) -> tuple[str, str | None, str]:
    """Return permission, start and expiry, completed from the stored access policy named by ``si``."""
    permission, start, expiry = fields.get("sp"), fields.get("st"), fields.get("se")
    if "si" in fields:
        policy = (stored_policies or {}).get(fields["si"])
        if policy is None:
            raise _RefusedError("unknown stored access policy")
        for name, in_sas, in_policy in (
            ("permission", permission, policy.permission),
            ("start", start, policy.start),
            ("expiry", expiry, policy.expiry),
        ):
            if in_sas and in_policy:
                raise _RefusedError(f"{name} set by both the SAS and the stored access policy")
        permission, start, expiry = (
            permission or policy.permission,
            start or policy.start,
            expiry or policy.expiry,
        )
    if not permission or not expiry:
        raise _RefusedError("permission and expiry are required")
    order = iter(BLOB_PERMISSION_ORDER)
    if not all(letter in order for letter in permission):
        raise _RefusedError("permission letters unknown or out of order")
    return permission, start, expiry


def _check_window(fields: Mapping[str, str], start_text: str | None, expiry_text: str, now: datetime) -> None:
    expiry = _parse_time(expiry_text)
    start = _parse_time(start_text) if start_text else None
    if expiry is None or (start_text and start is None):
        raise _RefusedError("malformed st or se")
    if start is not None and now < start:
        raise _RefusedError("not yet valid")
    if now >= expiry:
        raise _RefusedError("expired")
    if "skoid" in fields:
        key_start, key_expiry = _parse_time(fields.get("skt", "")), _parse_time(fields.get("ske", ""))
        if key_start is None or key_expiry is None:
            raise _RefusedError("malformed skt or ske")
        if not key_start <= now < key_expiry:
            raise _RefusedError("user delegation key not valid now")
        if expiry > key_expiry or key_expiry - key_start > timedelta(days=7):
            raise _RefusedError("SAS outlives the user delegation key")


def verify_blob_sas(
    url: str,
    *,
    account_name: str,
    method: str,
    now: datetime,
    account_key: str | None = None,
    delegation_key: str | None = None,
    blob_exists: bool = False,
    stored_policies: Mapping[str, StoredPolicy] | None = None,
) -> Verdict:
    """Decide as the Blob service would whether ``url`` authorises ``method`` at ``now``.

    Args:
        url: The full request URL, SAS included.
        account_name: The storage account the service hosts.
        method: HTTP method of the request.
        now: The service's clock.
        account_key: The account key (base64) the service holds, for a service SAS.
        delegation_key: The user delegation key value (base64), for a user delegation SAS.
        blob_exists: Whether the addressed blob exists already (a Put Blob then overwrites).
        stored_policies: Stored access policies on the container, by identifier.

    Returns:
        The verdict, with the first reason for refusal.
    """
    try:
        _verify(
            urlsplit(url),
            account_name=account_name,
            method=method.upper(),
            now=now,
            key=(account_key, delegation_key),
            blob_exists=blob_exists,
            stored_policies=stored_policies,
        )
    except _RefusedError as refused:
        return Verdict(False, str(refused))
    return Verdict(True)


def _verify(
    parts: SplitResult,
    *,
    account_name: str,
    method: str,
    now: datetime,
    key: tuple[str | None, str | None],
    blob_exists: bool,
    stored_policies: Mapping[str, StoredPolicy] | None,
) -> None:
    fields = _query_fields(parts.query)
    if fields is None:
        raise _RefusedError("duplicate query parameter")
    for name in ("sv", "sr", "sig"):
        if not fields.get(name):
            raise _RefusedError(f"missing {name}")
    if "sip" in fields or "srh" in fields or "srq" in fields:
        raise _RefusedError("sip/srh/srq are not supported by this verifier")
    delegation = "skoid" in fields
    if delegation and "si" in fields:
        raise _RefusedError("stored access policies are not supported for user delegation SAS")

    resource = _resource(parts, fields, account_name)
    _check_signature(fields, resource, key[1] if delegation else key[0], delegation=delegation)
    permission, start, expiry = _effective_terms(fields, stored_policies)
    _check_window(fields, start, expiry, now)

    protocol = fields.get("spr", "https,http")
    if protocol not in {"https", "https,http"}:
        raise _RefusedError("malformed spr")
    if protocol == "https" and parts.scheme != "https":
        raise _RefusedError("https required")

    needed = _required_permission(method, fields, blob_exists=blob_exists)
    if needed == "l" and fields["sr"] != "c":
        raise _RefusedError("listing needs a container SAS")
    if not any(letter in permission for letter in needed):
        raise _RefusedError(f"permission {permission!r} does not allow {method} (needs one of {needed!r})")
