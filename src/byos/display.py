"""Make text that came from a server or a configuration file safe to show on a terminal."""

from __future__ import annotations

import re

# C0 controls (tab and newline too: one value is one line), DEL, C1 controls (CSI, OSC, …), and the
# bidirectional marks, embeddings, overrides and isolates that reorder what a reader sees.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SHOWN_LIMIT = 80


def clean(text: str) -> str:
    """Return ``text`` without control characters (C0, DEL, C1, ESC) and bidi overrides.

    Apply it to every value from a server or a configuration file before it reaches a terminal; JSON
    output escapes such characters itself and keeps values exact.
    """
    return _UNSAFE.sub("", text)


def shown(value: object, limit: int = _SHOWN_LIMIT) -> str:
    """Return ``repr(value)`` for a one-line message, cut to about ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
