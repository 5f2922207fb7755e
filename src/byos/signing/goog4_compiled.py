"""A V4 signed PUT whose checks were made once: what :func:`byos.signing.goog4.presign_url` builds.

:func:`compile_put` takes a signer, bucket and endpoint (checked once) and returns ``sign`` for keys and
header values its caller already checked as ``presign_url`` would (:mod:`byos.presigner_cache`: keys that
passed :func:`byos.keys.check_key`, header values that are printable ASCII and canonical). Per URL that
leaves one ``%`` format of the canonical request, one SHA-256 and the signer's signature; the query parts
of one date, lifetime and header set are built once. The tests compare it with ``presign_url``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from urllib.parse import quote

from byos.signing import goog4
from byos.signing.goog4_checks import _LOCATION, _endpoint
from byos.signing.sigv4_templates import encode_key_path, whole_second_stamp

__all__ = ["compile_put"]

_MAX_TEMPLATES = 64


def compile_put(
    signer: goog4.Goog4Signer, bucket: str, endpoint: str = goog4.DEFAULT_ENDPOINT
) -> Callable[[str, tuple[str, ...], Sequence[str], int, datetime], str]:
    """Return ``sign(key, names, values, expires, now)``: ``presign_url(signer, "PUT", bucket, key, ...)``.

    ``names`` are lower-case header names (not ``host``) in sorted order, ``values`` their canonical values;
    ``now`` is aware UTC; ``expires`` 1 to 604800 seconds.

    Raises:
        InvalidInputError: A bad bucket name or endpoint.
    """
    goog4.presign_url(signer, "PUT", bucket, "k", expires=1, endpoint=endpoint)  # checks bucket and endpoint
    base, host = _endpoint(endpoint)
    prefix = signer._credential_prefix
    algorithm = signer.algorithm
    templates: dict[tuple[str, int, tuple[str, ...]], tuple[str, str]] = {}

    def template(date: str, expires: int, names: tuple[str, ...]) -> tuple[str, str]:
        all_names = sorted((*names, "host"))
        signed = ";".join(all_names)
        query_head = (
            f"X-Goog-Algorithm={algorithm}&X-Goog-Credential={prefix}{date}%2F{_LOCATION}"
            "%2Fstorage%2Fgoog4_request&X-Goog-Date="
        )
        query_tail = f"&X-Goog-Expires={expires}&X-Goog-SignedHeaders={quote(signed, safe='~')}"
        headers = "".join(f"{name}:%s\n" for name in all_names)
        request = (
            "PUT\n/%s/%s\n"
            + query_head.replace("%", "%%")
            + "%s"
            + query_tail.replace("%", "%%")
            + "\n"
            + headers
            + "\n"
            + signed
            + "\nUNSIGNED-PAYLOAD"
        )
        made = (request, query_head + "\0" + query_tail)
        if len(templates) >= _MAX_TEMPLATES:
            templates.clear()
        templates[(date, expires, names)] = made
        return made

    positions: dict[tuple[str, ...], int] = {}

    def sign(key: str, names: tuple[str, ...], values: Sequence[str], expires: int, now: datetime) -> str:
        _, timestamp = whole_second_stamp(now)
        date = timestamp[:8]
        found = templates.get((date, expires, names)) or template(date, expires, names)
        at = positions.get(names)
        if at is None:
            at = positions[names] = sum(1 for name in names if name < "host")
        ordered = [*values[:at], host, *values[at:]]
        encoded = encode_key_path(key)
        request = found[0] % (bucket, encoded, timestamp, *ordered)
        digest = hashlib.sha256(request.encode("ascii")).hexdigest()
        string_to_sign = f"{algorithm}\n{timestamp}\n{date}/{_LOCATION}/storage/goog4_request\n{digest}"
        signature = signer.sign(string_to_sign.encode("ascii"), date).hex()
        query = found[1].replace("\0", timestamp)
        return f"{base}/{bucket}/{encoded}?{query}&X-Goog-Signature={signature}"

    return sign
