"""Key templates checked against their worst cases, once, when a destination loads.

A template that renders one good sample key can still fail on every presign later: a prefix of
``.well-known/`` under a template folder ``acme-challenge/``, a prefix and literal text leaving no room for a
file name (or over Azure's 254 segments), ``{ext}`` left empty by a file without an extension (``a/{ext}``
ends with a slash, ``{ext}/{filename}`` gives ``//``), or a probe folder that a date field reaches in one year
only (``probe_prefix = "2026/"`` under ``{yyyy}/``). :func:`worst_case_problem` renders every such case with
the destination's own prefix and tenant; :func:`may_enter` tells whether any rendering of a template can
start with the probe folder.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from byos import keys

_LONGEST_TENANT = "t" * 63
_LONGEST_IMPORT_ID = "i" * 128
_UPLOAD_ID = "ffffffff-ffff-ffff-ffff-ffffffffffff"
_DATES = {"yyyy": "9999", "mm": "12", "dd": "31", "date": "9999-12-31"}
_HEX = frozenset("0123456789abcdef")
_DIGITS = frozenset("0123456789")
_FIELD_PATTERNS: dict[str, tuple[tuple[frozenset[str], int] | str, ...]] = {
    "yyyy": ((_DIGITS, 4),),
    "mm": ((_DIGITS, 2),),
    "dd": ((_DIGITS, 2),),
    "date": ((_DIGITS, 4), "-", (_DIGITS, 2), "-", (_DIGITS, 2)),
    "upload_id": ((_HEX, 8), "-", (_HEX, 4), "-", (_HEX, 4), "-", (_HEX, 4), "-", (_HEX, 12)),
}


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """Why a template fails in one worst case, and how to fix it."""

    problem: str
    fix: str


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _cases(template: str, prefix: str, tenant: str | None) -> list[tuple[str, dict[str, str]]]:
    """The renderings that can go wrong: no extension, the longest file name, the longest ids."""
    fixed = {
        **_DATES,
        "prefix": prefix,
        "tenant": tenant or _LONGEST_TENANT,
        "upload_id": _UPLOAD_ID,
        "import_id": _LONGEST_IMPORT_ID,
        "filename": "",
        "stem": "",
        "ext": "",
    }
    if not _fields(template) & {"filename", "stem", "ext"}:
        return [("", fixed)]
    budget = keys.MAX_KEY_BYTES - len(template.format_map(fixed).encode("utf-8"))
    if budget < 16:
        return [("", fixed)]  # reported as "leaves no room for a file name"
    longest = min(keys.MAX_FILENAME_BYTES, budget)
    ext = "e" * 16
    long_stem = "s" * (longest - len(ext) - 1)
    return [
        (" for a file name without an extension", {**fixed, "filename": "f", "stem": "f", "ext": ""}),
        (
            f" for a {longest}-byte file name",
            {**fixed, "filename": f"{long_stem}.{ext}", "stem": long_stem, "ext": ext},
        ),
    ]


def worst_case_problem(template: str, prefix: str, tenant: str | None) -> TemplateProblem | None:
    """The first worst case in which ``template`` renders a key some provider refuses (None: none does).

    Args:
        template: A template that already passed :func:`byos.keys.check_template`.
        prefix: The destination's prefix.
        tenant: The destination's tenant label (None: any label a caller may pass, up to 63 characters).
    """
    uses_files = bool(_fields(template) & {"filename", "stem", "ext"})
    for case, values in _cases(template, prefix, tenant):
        if (
            uses_files
            and keys.MAX_KEY_BYTES
            - len(template.format_map({**values, "filename": "", "stem": "", "ext": ""}).encode("utf-8"))
            < 16
        ):
            return TemplateProblem(
                "with the prefix leaves no room for a file name within 1024 bytes",
                "shorten the prefix or the template's fixed text",
            )
        key = template.format_map(values)
        if "//" in key:
            return TemplateProblem(
                f"renders '//' (an empty folder){case}",
                "files without an extension leave {ext} empty: use {filename} instead of {ext}, or put fixed "
                "text right after {ext}",
            )
        if key.endswith((".", "/")):
            return TemplateProblem(
                f"renders a key ending with a dot or slash{case}, which Azure refuses",
                "files without an extension leave {ext} empty: use {filename} instead of {ext}, or put fixed "
                "text right after {ext}",
            )
        problems = keys.key_problems(key)
        if problems:
            return TemplateProblem(
                f"with the prefix renders a key that {problems[0]}{case}",
                "shorten or rename the prefix or the template's fixed text",
            )
    return None


def may_enter(template: str, prefix: str, tenant: str | None, folder: str) -> bool:
    """Whether some upload id or date (any year) makes ``template`` render a key under ``folder``.

    Fields a caller chooses per upload (``{import_id}``, a tenant not configured, the file name) end the
    search: only that one value could collide, and rendering refuses it then.
    """
    tokens: list[tuple[frozenset[str], int] | str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        tokens.append(literal)
        if name is None:
            continue
        if name == "prefix":
            tokens.append(prefix)
        elif name == "tenant" and tenant is not None:
            tokens.append(tenant)
        elif name in _FIELD_PATTERNS:
            tokens.extend(_FIELD_PATTERNS[name])
        else:
            tokens.append((frozenset(), 1))  # matches nothing: the search stops here
    left = folder
    for token in tokens:
        if not left:
            return True
        if isinstance(token, str):
            if left.startswith(token):
                left = left[len(token) :]
                continue
            return token.startswith(left)
        chars, length = token
        head = left[:length]
        if any(char not in chars for char in head):
            return False
        left = left[length:]
    return not left
