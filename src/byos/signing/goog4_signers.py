"""GOOG4 signers: a service-account key, IAM signBlob or an HMAC key, each signing V4 strings to sign."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Final
from urllib.parse import quote

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from byos.errors import ConfigError, CredentialsError
from byos.signing.goog4_checks import _LOCATION, HMAC_ALGORITHM, RSA_ALGORITHM, _identity

_PKCS1V15: Final = padding.PKCS1v15()
_SHA256: Final = hashes.SHA256()


class Goog4Signer(ABC):
    """One identity that signs V4 strings to sign.

    Attributes:
        algorithm: ``GOOG4-RSA-SHA256`` or ``GOOG4-HMAC-SHA256``.
    """

    algorithm: ClassVar[str]
    __slots__ = ("_client_id", "_credential_prefix")

    def __init__(self, client_id: str) -> None:
        self._client_id = client_id
        self._credential_prefix = quote(client_id, safe="~") + "%2F"

    @property
    def client_id(self) -> str:
        """The identity named in ``X-Goog-Credential``: service-account email or HMAC access id."""
        return self._client_id

    @abstractmethod
    def sign(self, message: bytes, datestamp: str) -> bytes:
        """Return the raw signature of ``message``.

        Args:
            message: The string to sign (signed URL) or the base64 policy (POST policy).
            datestamp: The ``YYYYMMDD`` of the credential scope (HMAC derives its key from it).
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self._client_id!r})"


class ServiceAccountSigner(Goog4Signer):
    """Signs with a service account's RSA private key (``GOOG4-RSA-SHA256``).

    Build it once per destination: the PEM key is parsed here, not per URL.
    """

    algorithm: ClassVar[str] = RSA_ALGORITHM
    __slots__ = ("_key",)

    def __init__(self, client_email: str, private_key: rsa.RSAPrivateKey) -> None:
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ConfigError(
                "private_key", "is not an RSA private key", "use the key file of a service account"
            )
        super().__init__(_identity("client_email", client_email, ConfigError))
        self._key = private_key

    @classmethod
    def from_service_account_info(
        cls, info: Mapping[str, Any], *, field: str = "service_account_info"
    ) -> ServiceAccountSigner:
        """Build a signer from the parsed JSON of a service-account key file.

        Args:
            info: The key file's JSON object.
            field: The setting named in error messages.

        Raises:
            ConfigError: ``info`` is not a service-account key (wrong ``type``, no ``client_email`` or no
                usable RSA ``private_key``).
        """
        fix = "download a JSON key of a service account (IAM > Service accounts > Keys)"
        if not isinstance(info, Mapping):
            raise ConfigError(field, "is not a JSON object", fix)
        kind = info.get("type")
        if kind != "service_account":
            shown = repr(kind) if isinstance(kind, str) and len(kind) <= 40 else "missing"
            raise ConfigError(field, f"is not a service account key (type {shown})", fix)
        email = info.get("client_email")
        if not isinstance(email, str) or not email:
            raise ConfigError(field, "has no client_email", fix)
        pem = info.get("private_key")
        if not isinstance(pem, str) or not pem.strip():
            raise ConfigError(field, "has no private_key", fix)
        key: object = None
        # Raised below, outside a handler: the chain must not keep the key's text.
        with contextlib.suppress(ValueError, TypeError, UnsupportedAlgorithm):
            key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
        if key is None:
            raise ConfigError(field, "private_key is not a readable unencrypted PEM key", fix)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError(field, "private_key is not an RSA key", fix)
        return cls(_identity(f"{field}.client_email", email, ConfigError), key)

    @classmethod
    def from_service_account_file(
        cls, path: str | Path, *, field: str = "service_account_file"
    ) -> ServiceAccountSigner:
        """Read a service-account JSON key file and build a signer.

        Raises:
            ConfigError: The file cannot be read, is not JSON, or is not a service-account key.
        """
        # Errors are raised outside the handlers: the chain would keep the file's text, private key and all.
        fix = "point it at a service-account JSON key file"
        problem = None
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problem = f"cannot read {path}: {getattr(exc, 'strerror', None) or type(exc).__name__}"
        if problem is not None:
            raise ConfigError(field, problem, fix)
        try:
            info = json.loads(text)
        except ValueError:
            problem = f"{path} is not JSON"
        if problem is not None:
            raise ConfigError(field, problem, fix)
        return cls.from_service_account_info(info, field=field)

    def sign(self, message: bytes, datestamp: str) -> bytes:  # noqa: ARG002 - RSA ignores the date
        """Return the PKCS#1 v1.5 SHA-256 signature of ``message``."""
        return self._key.sign(message, _PKCS1V15, _SHA256)


class SignBlobSigner(Goog4Signer):
    """Signs through a callable, for identities without a key (IAM Credentials ``signBlob``).

    The output equals :class:`ServiceAccountSigner`'s when the callable signs with the same
    service account's key: ``GOOG4-RSA-SHA256`` either way.
    """

    algorithm: ClassVar[str] = RSA_ALGORITHM
    __slots__ = ("_sign_bytes",)

    def __init__(self, client_email: str, sign_bytes: Callable[[bytes], bytes]) -> None:
        """Create the signer.

        Args:
            client_email: The service account whose key signs (``…@….iam.gserviceaccount.com``).
            sign_bytes: Returns the raw RSA-SHA256 signature of its argument (``signedBlob``, base64-decoded).
                Its exceptions propagate unchanged.
        """
        if not callable(sign_bytes):
            raise ConfigError("sign_bytes", "is not callable", "pass a function that signs bytes")
        super().__init__(_identity("service_account_email", client_email, ConfigError))
        self._sign_bytes = sign_bytes

    def sign(self, message: bytes, datestamp: str) -> bytes:  # noqa: ARG002 - RSA ignores the date
        """Return the signature the callable gives for ``message``."""
        signature = self._sign_bytes(message)
        if not isinstance(signature, bytes | bytearray) or not signature:
            raise CredentialsError("signBlob returned no signature bytes")
        return bytes(signature)


class HmacSigner(Goog4Signer):
    """Signs with an HMAC key (``GOOG4-HMAC-SHA256``): the SigV4 key derivation with Google's names."""

    algorithm: ClassVar[str] = HMAC_ALGORITHM
    __slots__ = ("_cache", "_root")

    def __init__(self, access_id: str, secret: str) -> None:
        if not isinstance(secret, str) or not secret:
            raise ConfigError("hmac_secret", "is empty", "set the secret of the HMAC key")
        super().__init__(_identity("hmac_access_id", access_id, ConfigError))
        self._root = b"GOOG4" + secret.encode("utf-8")
        self._cache: tuple[str, hmac.HMAC] | None = None

    def _mac(self, datestamp: str) -> hmac.HMAC:
        """Return an HMAC keyed for ``datestamp`` (``YYYYMMDD``); the last date's is kept."""
        cached = self._cache
        if cached is not None and cached[0] == datestamp:
            return cached[1]
        key = self._root
        for part in (datestamp, _LOCATION, "storage", "goog4_request"):
            key = hmac.digest(key, part.encode("ascii"), "sha256")
        mac = hmac.new(key, digestmod=hashlib.sha256)
        self._cache = (datestamp, mac)
        return mac

    def sign(self, message: bytes, datestamp: str) -> bytes:
        """Return HMAC-SHA256 of ``message`` under the key derived for ``datestamp``."""
        mac = self._mac(datestamp).copy()
        mac.update(message)
        return mac.digest()
