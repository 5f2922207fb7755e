"""What one SAS grants, checked: its start and expiry (within its delegation key's) and its stored policy."""

from __future__ import annotations

from datetime import timedelta

from byos.signing.sas_rules import (
    _ZERO,
    MAX_EXPIRES,
    MAX_POLICY_ID_LENGTH,
    MIN_EXPIRES,
    _invalid,
    _microseconds,
    _Moment,
    _moment,
)

__all__ = ["check_policy_id", "signing_window"]


def signing_window(  # noqa: PLR0917 - called once per SAS, positional for speed
    now_us: int,
    expires: timedelta | None,
    start_backdate: timedelta | None,
    policy_sets_expiry: bool,
    key_start_epoch: int | None,
    key_expiry_epoch: int | None,
) -> tuple[_Moment | None, _Moment | None]:
    """Return the SAS's start and expiry, or None for one the SAS leaves out.

    Args:
        now_us: The current time, in microseconds since the epoch.
        expires: The lifetime, 1 second to 7 days; None only when ``policy_sets_expiry``.
        start_backdate: How long before now the SAS starts (0 to 7 days), or None for no start time.
        policy_sets_expiry: The stored access policy sets the expiry.
        key_start_epoch: A user delegation key's start in whole seconds: the SAS starts no earlier.
        key_expiry_epoch: A user delegation key's expiry in whole seconds: the SAS may not end later.

    Raises:
        InvalidInputError: The lifetime or backdate is out of range or not a timedelta, or the SAS would
            outlive its delegation key.
    """
    if policy_sets_expiry:
        if expires is not None:
            raise _invalid(
                "expires",
                "must be None when the stored access policy sets the expiry",
                "pass expires=None or drop policy_sets_expiry",
            )
        expiry = None
    else:
        if not isinstance(expires, timedelta) or not MIN_EXPIRES <= expires <= MAX_EXPIRES:
            raise _invalid(
                "expires", "must be between 1 second and 7 days", "pass a lifetime such as 30 minutes"
            )
        expiry_epoch = (now_us + _microseconds(expires)) // 1_000_000
        if key_expiry_epoch is not None and expiry_epoch > key_expiry_epoch:
            raise _invalid(
                "expires",
                "reaches past the user delegation key's expiry",
                "use a shorter lifetime or request a fresh delegation key",
            )
        expiry = _moment(expiry_epoch)

    if start_backdate is None:
        return None, expiry
    if not isinstance(start_backdate, timedelta) or not _ZERO <= start_backdate <= MAX_EXPIRES:
        raise _invalid("start_backdate", "must be between 0 and 7 days", "pass for example 5 minutes")
    start_epoch = (now_us - _microseconds(start_backdate)) // 1_000_000
    if key_start_epoch is not None and start_epoch < key_start_epoch:
        start_epoch = key_start_epoch
    return _moment(start_epoch), expiry


def check_policy_id(policy_id: str, *, user_delegation: bool) -> None:
    """Check a stored access policy identifier (``si``): 1-64 characters, and an account-key signer.

    Raises:
        InvalidInputError: The signer uses a user delegation key, or the identifier is not 1-64 characters of
            valid UTF-8.
    """
    if user_delegation:
        raise _invalid(
            "stored_access_policy",
            "is not supported with a user delegation key",
            "sign with the account key or drop the policy",
        )
    if not isinstance(policy_id, str) or not 1 <= len(policy_id) <= MAX_POLICY_ID_LENGTH:
        raise _invalid("stored_access_policy", "must be 1-64 characters", "use the policy's identifier")
    try:
        policy_id.encode()
    except UnicodeEncodeError:
        raise _invalid("stored_access_policy", "is not valid UTF-8", "use the policy's identifier") from None
