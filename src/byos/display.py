"""Make text that came from a server or a configuration file safe to show on a terminal."""

from __future__ import annotations

import re

# C0 controls (tab and newline too: one value is one line), DEL, C1 controls (CSI, OSC, …), and the
# bidirectional marks, embeddings, overrides and isolates that reorder what a reader sees.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SHOWN_LIMIT = 80


def clean(text: str) -> str:
    """Return ``text`` without control characters (C0, DEL, C1, ESC) and bidi overrides.

    Tabs and line breaks become one space each (words stay apart, the value stays on one line); every
    other such character is removed. Apply it to every value from a server or a configuration file
    before it reaches a terminal; JSON output escapes such characters itself and keeps values exact.
    """
    return _UNSAFE.sub(_replacement, text)


def _replacement(found: re.Match[str]) -> str:
    return " " if found.group() in _SPACES else ""


_SPACES = frozenset("\t\n\v\f\r\x85")


def shown(value: object, limit: int = _SHOWN_LIMIT) -> str:
    """Return ``repr(value)`` for a one-line message, cut to about ``limit`` characters."""
    return clip(repr(value), limit)


def clip(text: str, limit: int = 4 * _SHOWN_LIMIT) -> str:
    """Return ``text`` cut to ``limit`` characters (the last one an ellipsis) when it is longer."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


# What ``json.dumps(..., ensure_ascii=False)`` leaves raw but a terminal may act on or reorder: DEL, C1
# controls, bidi controls, and the two line separators JavaScript does not accept in strings.
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def json_safe(document: str) -> str:
    r"""Escape, as ``\uXXXX``, what JSON text may carry raw but a terminal would act on; values stay exact.

    ``document`` must be the output of :func:`json.dumps`: outside strings it is ASCII, so every such
    character is inside a string, where the escape means the same character.
    """
    return _RAW_IN_JSON.sub(lambda found: f"\\u{ord(found.group()):04x}", document)
