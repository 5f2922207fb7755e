"""Key templates: their fields and rules, and their worst cases, checked once when a destination loads.

:func:`check_template` checks a template's form: known fields, ``{prefix}`` first, a unique part preceded
only by fixed-length fields. A template that renders one good sample key can still fail on every presign
later: a prefix of ``.well-known/`` under a template folder ``acme-challenge/``, a prefix and literal text
leaving no room for a file name (or over Azure's 254 segments), ``{ext}`` left empty by a file without an
extension (``a/{ext}`` ends with a slash, ``{ext}/{filename}`` gives ``//``), or a probe folder that a date
field reaches in one year only (``probe_prefix = "2026/"`` under ``{yyyy}/``). :func:`worst_case_problem`
renders every such case with the destination's own prefix and tenant; :func:`may_enter` tells whether any
rendering of a template can start with the probe folder.
"""

from __future__ import annotations

import functools
import re
import string
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from byos.errors import ConfigError
from byos.filenames import MAX_FILENAME_BYTES
from byos.key_rules import MAX_KEY_BYTES, SAFE_ID, TENANT_LABEL, check_tenant, key_problems

if TYPE_CHECKING:
    from byos.keys import KeyLayout

DEFAULT_RAW_TEMPLATE = "{prefix}{upload_id}-{filename}"
DEFAULT_RESULT_TEMPLATE = "{prefix}{import_id}.json"
DEFAULT_PROBE_PREFIX = "byos-probes/"

TEMPLATE_FIELDS = frozenset(
    {"prefix", "tenant", "upload_id", "import_id", "filename", "stem", "ext", "yyyy", "mm", "dd", "date"}
)
UNIQUE_FIELDS = frozenset({"upload_id", "import_id"})
_RAW_UNIQUE_FIELDS = frozenset({"upload_id"})
_FIXED_LENGTH_FIELDS = frozenset({"prefix", "yyyy", "mm", "dd", "date"})
FILE_FIELDS = frozenset({"filename", "stem", "ext"})
DATE_FIELDS = frozenset({"yyyy", "mm", "dd", "date"})


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
    budget = MAX_KEY_BYTES - len(template.format_map(fixed).encode("utf-8"))
    if budget < 16:
        return [("", fixed)]  # reported as "leaves no room for a file name"
    longest = min(MAX_FILENAME_BYTES, budget)
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
        template: A template that already passed :func:`check_template`.
        prefix: The destination's prefix.
        tenant: The destination's tenant label (None: any label a caller may pass, up to 63 characters).
    """
    uses_files = bool(_fields(template) & {"filename", "stem", "ext"})
    for case, values in _cases(template, prefix, tenant):
        if (
            uses_files
            and MAX_KEY_BYTES
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
        problems = key_problems(key)
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


def template_fields(template: str) -> list[str]:
    """Return the field names used by ``template``, in order.

    Raises:
        ConfigError: the template is malformed, uses an unknown field, a format spec or a conversion.
    """
    fields: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError("template", f"{template!r} is malformed ({exc})", "balance the braces") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS:
            known = ", ".join(sorted(TEMPLATE_FIELDS))
            raise ConfigError("template", f"{template!r} uses unknown field {{{name}}}", f"use only {known}")
        if spec or conversion:
            raise ConfigError("template", f"{template!r} formats {{{name}}}", "write plain {field} names")
        fields.append(name)
    return fields


def check_template(template: str, *, raw: bool = False) -> str:
    """Validate a key template; raise :class:`ConfigError` naming the fix.

    A template must start with ``{prefix}`` (so keys never leave the prefix) and contain a unique part
    (``{upload_id}`` or ``{import_id}``; for a raw upload template, ``raw=True``, ``{upload_id}``) preceded
    only by fields of fixed length for a destination, or by ``{tenant}`` followed by ``/``; so two different
    ids can never render the same key. Every hint, followed, gives a template this function accepts.
    """
    fields = template_fields(template)
    if not template.startswith("{prefix}"):
        raise ConfigError(
            "template", f"{template!r} does not start with {{prefix}}", "begin it with {prefix}"
        )
    if fields.count("prefix") != 1:
        raise ConfigError(
            "template", f"{template!r} uses {{prefix}} more than once", "use it once, at the start"
        )
    unique = [name for name in fields if name in (_RAW_UNIQUE_FIELDS if raw else UNIQUE_FIELDS)]
    if not unique:
        raise ConfigError(
            "template",
            f"{template!r} has no unique part",
            "include {upload_id} right after {prefix}, so uploads never collide"
            if raw
            else "include {import_id} or {upload_id}",
        )
    head = template[: template.index("{" + unique[0] + "}")]
    for _literal, name, _spec, _conv in string.Formatter().parse(head):
        if name is None or name in _FIXED_LENGTH_FIELDS:
            continue
        if name == "tenant" and "{tenant}/" in head:
            continue
        raise ConfigError(
            "template",
            f"{template!r} puts {{{name}}} before {{{unique[0]}}}, so two ids could give one key",
            f"move {{{unique[0]}}} before {{{name}}}",
        )
    sample = render(template, sample_field_values())
    if any(segment in (".", "..") for segment in sample.split("/")) or "\\" in sample or "//" in sample:
        raise ConfigError(
            "template", f"{template!r} has '.', '..', '//' or a backslash", "use plain folder names"
        )
    problems = key_problems(sample)
    if problems:
        raise ConfigError(
            "template", f"{template!r} renders a key that {problems[0]}", "simplify the template"
        )
    return template


_FIELD_REGEXES = {
    "upload_id": "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "import_id": SAFE_ID.pattern,
    "tenant": TENANT_LABEL.pattern,
    "filename": ".*",
    "stem": ".*",
    "ext": ".*",
    "yyyy": "[0-9]{4}",
    "mm": "[0-9]{2}",
    "dd": "[0-9]{2}",
    "date": "[0-9]{4}-[0-9]{2}-[0-9]{2}",
}


@functools.lru_cache(maxsize=256)
def template_pattern(template: str, prefix: str) -> re.Pattern[str]:
    """A regular expression matching every key ``template`` can render under ``prefix`` (and maybe more).

    File-name fields match anything, so the pattern over-approximates: a key it does not match can never be
    rendered by the template.
    """
    parts: list[str] = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(re.escape(prefix) if name == "prefix" else f"(?:{_FIELD_REGEXES[name]})")
    return re.compile("".join(parts), re.DOTALL)


def sample_field_values() -> dict[str, str]:
    """One value per field, for a sample key that shows whether a template renders a good key at all."""
    return {
        "prefix": "p/",
        "tenant": "t",
        "upload_id": str(uuid.UUID(int=0)),
        "import_id": "i",
        "filename": "f.csv",
        "stem": "f",
        "ext": "csv",
        "yyyy": "2000",
        "mm": "01",
        "dd": "01",
        "date": "2000-01-01",
    }


def render(template: str, values: dict[str, str]) -> str:
    """Render ``template`` with ``values`` (one per field it uses)."""
    return template.format_map(values)


def checked_template(template: str, field: str, *, raw: bool = False) -> str:
    """``check_template``, its error naming the setting (``raw_key_template``…) rather than "template"."""
    try:
        return check_template(template, raw=raw)
    except ConfigError as exc:
        error = ConfigError(field, exc.problem, exc.fix)
    raise error


def check_layout(layout: KeyLayout) -> None:
    """Refuse a layout that would fail later for some file name, date or id (its worst cases, below)."""
    if layout.tenant is not None:
        check_tenant(layout.tenant)
    for name, template in (
        ("raw_key_template", layout.raw_template),
        ("result_key_template", layout.result_template),
    ):
        found = worst_case_problem(template, layout.prefix, layout.tenant)
        if found is not None:
            raise ConfigError(name, found.problem, found.fix)
    if may_enter(layout.raw_template, layout.prefix, layout.tenant, layout.probe_folder):
        # Name the setting that was changed from its default: the one to fix.
        if layout.probe_prefix == DEFAULT_PROBE_PREFIX:
            raise ConfigError(
                "raw_key_template",
                f"puts uploads in the probe folder {layout.probe_folder!r}",
                f"keep {layout.probe_prefix!r} for probes only",
            )
        raise ConfigError(
            "probe_prefix",
            f"{layout.probe_prefix!r} is a probe folder some upload keys fall into (by date or upload id)",
            f"name a folder no upload key can start with, like {DEFAULT_PROBE_PREFIX!r}",
        )
    probe_problems = key_problems(f"{layout.probe_folder}probe-{uuid.UUID(int=0)}.csv")
    if probe_problems:
        raise ConfigError(
            "probe_prefix",
            f"with prefix {layout.prefix!r} gives probe keys that {probe_problems[0]}",
            "rename it",
        )
