"""SHA-256 and HMAC-SHA256 for the signers, each key's states computed once.

Loading OpenSSL (hashlib) costs about 3.4 MiB of resident memory, for what the built-in SHA-256 does about
two microseconds slower per URL. So the signers use CPython's built-in SHA-256 unless OpenSSL is loaded
already (any process that imported ``hashlib``, ``hmac`` or ``ssl``): :func:`best_sha256` decides when a key's
states are set up, and both give the same digests. A process that only presigns stays lean; a server that
has made one HTTPS connection signs faster.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, cast

if TYPE_CHECKING:
    from hashlib import _Hash

BLOCK_SIZE: Final = 64


def _load_sha256() -> Callable[[bytes], _Hash]:
    """Return CPython's built-in SHA-256, else hashlib's."""
    for name in ("_sha2", "_sha256"):  # Python 3.12+, 3.11
        try:
            return cast("Callable[[bytes], _Hash]", importlib.import_module(name).sha256)
        except (ImportError, AttributeError):
            continue
    from hashlib import sha256  # noqa: PLC0415 -- only where the built-in module is missing

    return sha256


sha256: Final = _load_sha256()


def best_sha256() -> Callable[[bytes], _Hash]:
    """Return OpenSSL's SHA-256 when OpenSSL is loaded already, else the built-in one (same digests)."""
    openssl = sys.modules.get("_hashlib")
    factory = getattr(openssl, "openssl_sha256", None)
    return cast("Callable[[bytes], _Hash]", factory) if factory is not None else sha256


class HmacSha256:
    """HMAC-SHA256 (RFC 2104) under one key: H((K ^ opad) || H((K ^ ipad) || m)).

    The SHA-256 states after the padded key blocks are taken once; copying them costs less than keying a new
    HMAC for every signature. The key never appears in ``repr``.

    Args:
        key: The HMAC key.
        factory: The SHA-256 implementation (built-in by default; :func:`best_sha256` for hot paths).
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes, factory: Callable[[bytes], _Hash] = sha256) -> None:
        if len(key) > BLOCK_SIZE:
            key = factory(key).digest()
        block = key.ljust(BLOCK_SIZE, b"\0")
        self._inner = factory(bytes(byte ^ 0x36 for byte in block))
        self._outer = factory(bytes(byte ^ 0x5C for byte in block))

    def __repr__(self) -> str:
        return "HmacSha256(<key hidden>)"

    def prefixed(self, prefix: bytes) -> HmacSha256:
        """Return the HMAC of messages that all start with ``prefix``, the prefix hashed once.

        ``h.prefixed(p).hexdigest(m)`` equals ``h.hexdigest(p + m)``.
        """
        mac = object.__new__(HmacSha256)
        inner = self._inner.copy()
        inner.update(prefix)
        mac._inner = inner
        mac._outer = self._outer
        return mac

    def digest(self, message: bytes) -> bytes:
        """Return the HMAC of ``message``."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def hexdigest(self, message: bytes) -> str:
        """Return the HMAC of ``message`` in lower-case hex."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """Return HMAC-SHA256(key, message) for a one-off key."""
    return HmacSha256(key).digest(message)
