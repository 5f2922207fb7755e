"""File names from untrusted input: sanitised for object keys, and kept as ASCII metadata."""

from __future__ import annotations

import functools
import re
import unicodedata
from urllib.parse import quote

from byos.errors import InvalidInputError
from byos.key_rules import REMOVED_CATEGORIES

DEFAULT_FILENAME = "upload"
MAX_FILENAME_BYTES = 255
MAX_METADATA_BYTES = 1024

_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,16})$")
_KEPT_PUNCTUATION = frozenset("-_.()")
_KEPT_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No"})
_METADATA_SAFE = " !#$&'()*+,-./:;=?@[]^_`{|}~"


def sanitize_filename(name: str, max_bytes: int = MAX_FILENAME_BYTES) -> str:
    """Turn an untrusted file name into a safe, single key segment of at most ``max_bytes`` UTF-8 bytes.

    Unicode is NFC-normalised; directory parts (either slash kind, drive letters) are dropped; control,
    bidi-override and other invisible characters are removed; characters the providers advise against become
    ``_``; whitespace runs become one space; leading and trailing dots and spaces go (so no ``.``/``..``
    segment and no trailing dot); an empty result becomes ``upload``. A long name is cut at a character
    boundary, keeping its extension.

    Args:
        name: The name as the browser or caller sent it.
        max_bytes: The UTF-8 byte budget for the result (at least 16).
    """
    if max_bytes < 16:
        raise InvalidInputError(
            "max_bytes", f"{max_bytes} is too small", "allow at least 16 bytes for a file name"
        )
    text = re.split(r"[/\\]", name)[-1]
    text = re.sub(r"^[A-Za-z]:", "", text)
    # Normalised after invisible characters go, so "e\u200b\u0301" becomes "\u00e9", not "e\u0301".
    cleaned = unicodedata.normalize("NFC", "".join(map(_safe_char, text)))
    cleaned = re.sub(r" {2,}", " ", cleaned)
    cleaned = re.sub(r"_{2,}", "_", cleaned)
    bare_extension = re.fullmatch(r" *\.+([A-Za-z0-9]{1,16}) *", cleaned)
    cleaned = f"{DEFAULT_FILENAME}.{bare_extension.group(1)}" if bare_extension else _trim_start(cleaned)
    stem, extension = split_extension(cleaned)
    if not stem.strip("_ ."):
        cleaned = DEFAULT_FILENAME + (f".{extension}" if extension else "")
    return _nfc_cut(_truncate(cleaned, max_bytes))


def _trim_start(text: str) -> str:
    """Drop dots and spaces at both ends, and combining marks at the start.

    A leading mark would join what precedes the name in a key (an upload id's last digit) and change under
    NFC.
    """
    while True:
        trimmed = text.strip(" .")
        while trimmed and unicodedata.category(trimmed[0]).startswith("M"):
            trimmed = trimmed[1:]
        if trimmed == text:
            return text
        text = trimmed


def _nfc_cut(name: str) -> str:
    """``name`` if it is NFC; else shortened from the end until it is (a cut may leave a lone mark's base)."""
    while name and not unicodedata.is_normalized("NFC", name):
        name = name[:-1]
    return name or DEFAULT_FILENAME


@functools.lru_cache(maxsize=4096)
def _safe_char(char: str) -> str:
    """Map one character to itself, a space, ``_`` (advised against by a provider), or nothing (invisible)."""
    category = unicodedata.category(char)
    if char.isspace() or category in ("Zs", "Zl", "Zp"):
        return " "
    if category in REMOVED_CATEGORIES:
        return ""
    if category in _KEPT_CATEGORIES or char in _KEPT_PUNCTUATION:
        return char
    return "_"


def _truncate(name: str, max_bytes: int) -> str:
    if len(name.encode("utf-8")) <= max_bytes:
        return name
    match = _EXTENSION.search(name)
    extension = match.group(0) if match else ""
    if (
        max_bytes - len(extension) < 4
    ):  # no room for a stem beside the extension: keep the stem, drop the extension
        extension = ""
    stem = name[: len(name) - len(extension)]
    budget = max_bytes - len(extension)  # extensions are ASCII
    cut = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    cut = cut.rstrip(" .")
    return (cut or DEFAULT_FILENAME[:budget]) + extension


def split_extension(filename: str) -> tuple[str, str]:
    """Split a sanitised file name into stem and extension (without the dot; empty when there is none)."""
    match = _EXTENSION.search(filename)
    if not match or match.start() == 0:
        return filename, ""
    return filename[: match.start()], match.group(1)


def metadata_filename(name: str) -> str:
    """Return the original file name in an ASCII-safe, reversible form for object metadata.

    Printable ASCII stays as it is (but for spaces at either end or in runs, which HTTP header values lose);
    everything else (and ``%``) is percent-encoded as UTF-8, so
    ``urllib.parse.unquote`` gives the original back (a lone surrogate, which UTF-8 cannot carry, becomes
    ``?``).
    Cut to 1024 bytes at an escape boundary.
    """
    text = name.encode("utf-8", errors="replace").decode("utf-8")
    encoded = quote(unicodedata.normalize("NFC", text), safe=_METADATA_SAFE)
    # HTTP trims header values and folds runs of spaces: encode those spaces so the name survives the trip.
    encoded = re.sub(r"^ +| +$| {2,}", lambda m: "%20" * len(m.group(0)), encoded)
    if len(encoded) > MAX_METADATA_BYTES:
        encoded = encoded[:MAX_METADATA_BYTES]
        tail = encoded.rfind("%", len(encoded) - 2)
        if tail != -1:
            encoded = encoded[:tail]
    return encoded
