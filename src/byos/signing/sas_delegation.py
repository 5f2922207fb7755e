"""The user delegation key and what it adds to a user delegation SAS: its fields, window and key."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import quote

from byos.signing.sas_rules import _EPOCH, _decode_key, _invalid, _microseconds, _parse_key_time

__all__ = ["Delegation", "UserDelegationKey", "load_delegation_key"]


class UserDelegationKey(NamedTuple):
    """A user delegation key, as Get User Delegation Key returns it.

    Attributes:
        signed_oid: Object ID of the Entra principal that requested the key (``skoid``).
        signed_tid: Entra tenant ID (``sktid``).
        signed_start: Start of the key's validity, ``YYYY-MM-DDThh:mm:ssZ`` (``skt``).
        signed_expiry: End of the key's validity (``ske``).
        signed_service: Service the key is for, ``b`` (``sks``).
        signed_version: Service version that issued the key (``skv``).
        value: The key itself, base64. Secret: never shown in ``repr``.
        signed_delegated_user_tid: Tenant of a delegated user (``skdutid``), if the key was made for one.
    """

    signed_oid: str
    signed_tid: str
    signed_start: str
    signed_expiry: str
    signed_service: str
    signed_version: str
    value: str
    signed_delegated_user_tid: str | None = None

    def __repr__(self) -> str:
        return (
            f"UserDelegationKey(signed_oid={self.signed_oid!r}, signed_tid={self.signed_tid!r}, "
            f"signed_start={self.signed_start!r}, signed_expiry={self.signed_expiry!r}, "
            f"signed_service={self.signed_service!r}, signed_version={self.signed_version!r}, "
            f"signed_delegated_user_tid={self.signed_delegated_user_tid!r})"
        )

    @classmethod
    def from_sdk(cls, key: Any) -> UserDelegationKey:  # noqa: ANN401 - duck-typed SDK object, no SDK import
        """Copy the fields of azure-storage-blob's ``UserDelegationKey`` (from ``get_user_delegation_key``).

        Raises:
            InvalidInputError: A required field is missing.
        """
        values: dict[str, str | None] = {}
        for name in (
            "signed_oid",
            "signed_tid",
            "signed_start",
            "signed_expiry",
            "signed_service",
            "signed_version",
            "value",
        ):
            value = getattr(key, name, None)
            if not isinstance(value, str) or not value:
                raise _invalid(
                    f"user_delegation_key.{name}",
                    "is missing",
                    "pass the key get_user_delegation_key returned",
                )
            values[name] = value
        delegated = getattr(key, "signed_delegated_user_tid", None)
        return cls(
            signed_oid=str(values["signed_oid"]),
            signed_tid=str(values["signed_tid"]),
            signed_start=str(values["signed_start"]),
            signed_expiry=str(values["signed_expiry"]),
            signed_service=str(values["signed_service"]),
            signed_version=str(values["signed_version"]),
            value=str(values["value"]),
            signed_delegated_user_tid=delegated if isinstance(delegated, str) and delegated else None,
        )


class Delegation(NamedTuple):
    """What a checked user delegation key gives a signer.

    Attributes:
        key_expiry: When the key expires.
        key_start_epoch: The key's start, in whole seconds rounded up: a SAS starts no earlier.
        key_expiry_epoch: The key's expiry, in whole seconds rounded down: a SAS ends no later.
        string_to_sign: The key's lines of the string-to-sign, between the signed resource and ``sip``.
        token: The key's query parameters (``skoid=…&sktid=…&…``), already encoded.
        secret: The decoded key. Secret: never shown.
    """

    key_expiry: datetime
    key_start_epoch: int
    key_expiry_epoch: int
    string_to_sign: str
    token: str
    secret: bytes

    def __repr__(self) -> str:
        return f"Delegation(key_expiry={self.key_expiry!r})"


def load_delegation_key(key: UserDelegationKey) -> Delegation:
    """Check a user delegation key and derive its part of every SAS it signs.

    Raises:
        InvalidInputError: The key is not a :class:`UserDelegationKey`, a field is empty, or its times are
            invalid.
    """
    if not isinstance(key, UserDelegationKey):
        raise _invalid(
            "user_delegation_key",
            "is not a byos UserDelegationKey",
            "wrap it: UserDelegationKey.from_sdk(key)",
        )
    for name in ("signed_oid", "signed_tid", "signed_service", "signed_version"):
        if not getattr(key, name):
            raise _invalid(
                f"user_delegation_key.{name}", "is empty", "pass the key get_user_delegation_key returned"
            )
    key_start = _parse_key_time(key.signed_start, "user_delegation_key.signed_start")
    key_expiry = _parse_key_time(key.signed_expiry, "user_delegation_key.signed_expiry")
    if key_expiry <= key_start:
        raise _invalid(
            "user_delegation_key.signed_expiry",
            "is not after signed_start",
            "request a new delegation key",
        )
    delegated_tid = key.signed_delegated_user_tid or ""
    # skoid, sktid, skt, ske, sks, skv, saoid, suoid, scid, skdutid, sduoid: the byos SAS sets no
    # authorized/unauthorized object ID, correlation ID or delegated user object ID.
    string_to_sign = "\n".join(
        (
            key.signed_oid,
            key.signed_tid,
            key.signed_start,
            key.signed_expiry,
            key.signed_service,
            key.signed_version,
            "",
            "",
            "",
            delegated_tid,
            "",
        )
    )
    pairs = [
        ("skoid", key.signed_oid),
        ("sktid", key.signed_tid),
        ("skt", key.signed_start),
        ("ske", key.signed_expiry),
        ("sks", key.signed_service),
        ("skv", key.signed_version),
        ("skdutid", delegated_tid),
    ]
    return Delegation(
        key_expiry=key_expiry,
        # Whole seconds: a SAS may start no earlier than the key, and end no later.
        key_start_epoch=-(-_microseconds(key_start - _EPOCH) // 1_000_000),
        key_expiry_epoch=_microseconds(key_expiry - _EPOCH) // 1_000_000,
        string_to_sign=string_to_sign,
        token="&".join(f"{name}={quote(value)}" for name, value in pairs if value),
        secret=_decode_key(key.value, "user_delegation_key.value"),
    )
