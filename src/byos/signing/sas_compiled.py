"""A blob PUT SAS compiled once per container and options: per URL the two times, one HMAC and the URL."""

from __future__ import annotations

from binascii import b2a_base64
from collections.abc import Callable
from urllib.parse import quote

from byos.signing.sas_rules import (
    DEFAULT_START_BACKDATE,
    SAS_VERSION,
    _microseconds,
    _moment,
    validate_blob_name,
)
from byos.signing.sas_url import BlobSas
from byos.signing.sigv4_templates import encode_key_path

__all__ = ["compile_blob_put"]


def compile_blob_put(
    digest: Callable[[bytes], bytes],
    *,
    base_url: str,
    canonical_prefix: str,
    protocol_sts: str,
    protocol_token: str,
    container: str,
    permission: str,
    stored_access_policy: str | None,
    names_checked: bool,
) -> Callable[[str, int, int], BlobSas]:
    """Return ``sign(blob_name, now_epoch_seconds, seconds)`` for a checked container and options.

    Called by :meth:`byos.signing.sas.BlobSasSigner.compile_put`, which checks its arguments and documents the
    result; ``digest`` is the account key's HMAC-SHA256.
    """
    policy_token = "&si=" + quote(stored_access_policy) if stored_access_policy else ""
    token_middle = f"&sp={permission}&{protocol_token}{policy_token}&sr=b&sig="
    sts_path = f"\n{canonical_prefix}{container}/"
    sts_tail = f"\n{stored_access_policy or ''}\n\n{protocol_sts}\n{SAS_VERSION}\nb\n\n\n\n\n\n\n"
    url_head = f"{base_url}{container}/"
    backdate = _microseconds(DEFAULT_START_BACKDATE) // 1_000_000
    encode = encode_key_path

    def sign(blob_name: str, now: int, seconds: int) -> BlobSas:
        if not names_checked:
            validate_blob_name(blob_name)
        start = _moment(now - backdate)
        expiry = _moment(now + seconds)
        signature = b2a_base64(
            digest(f"{permission}\n{start[0]}\n{expiry[0]}{sts_path}{blob_name}{sts_tail}".encode()),
            newline=False,
        ).decode()
        token = f"{start[1]}&{expiry[2]}{token_middle}" + signature.replace("+", "%2B").replace("=", "%3D")
        return BlobSas(f"{url_head}{encode(blob_name)}?{token}", token, permission, start[3], expiry[3])

    return sign
