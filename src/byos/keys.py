"""Object key layouts and file-name sanitising for untrusted names: pure functions, no I/O.

A key is rendered from a template with named fields::

    {prefix}   the destination's key prefix            {tenant}   the destination's (or caller's) tenant label
    {upload_id} a UUID, new for every upload            {import_id} the caller's import identifier
    {filename} the sanitised file name with extension  {stem} / {ext}  its parts ("report", "csv")
    {yyyy} {mm} {dd} {date}  the upload's UTC date parts

Defaults follow the importer's layout: raw upload ``{prefix}{upload_id}-{filename}``, cleaned result
``{prefix}{import_id}.json``. Setup-check probes go under ``{prefix}{probe_prefix}``, a reserved folder that
upload keys can never fall into (they start with a UUID's hex digit or a fixed literal).

Every key is checked against all three providers' rules at once (S3 and GCS: at most 1024 UTF-8 bytes;
GCS: no CR or LF, not under ``.well-known/acme-challenge/``; Azure: at most 1024 characters, no trailing
dot or slash, at most 254 path segments) and must stay inside its prefix.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

from byos.errors import ConfigError, InvalidInputError

DEFAULT_RAW_TEMPLATE = "{prefix}{upload_id}-{filename}"
DEFAULT_RESULT_TEMPLATE = "{prefix}{import_id}.json"
DEFAULT_PROBE_PREFIX = "byos-probes/"
DEFAULT_FILENAME = "upload"
MAX_KEY_BYTES = 1024
MAX_KEY_CHARS = 1024
MAX_FILENAME_BYTES = 255
MAX_PREFIX_BYTES = 512
MAX_METADATA_BYTES = 1024
MAX_SEGMENTS = 254

TEMPLATE_FIELDS = frozenset(
    {"prefix", "tenant", "upload_id", "import_id", "filename", "stem", "ext", "yyyy", "mm", "dd", "date"}
)
UNIQUE_FIELDS = frozenset({"upload_id", "import_id"})
_RAW_UNIQUE_FIELDS = frozenset({"upload_id"})
_FIXED_LENGTH_FIELDS = frozenset({"prefix", "yyyy", "mm", "dd", "date"})
_FILE_FIELDS = frozenset({"filename", "stem", "ext"})
_DATE_FIELDS = frozenset({"yyyy", "mm", "dd", "date"})

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,16})$")
_KEPT_PUNCTUATION = frozenset("-_.()")
# Categories removed outright: controls, format characters (bidi overrides, zero-width, BOM), surrogates,
# private use and unassigned code points.
_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_KEPT_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No"})
_METADATA_SAFE = " !#$&'()*+,-./:;=?@[]^_`{|}~"


class _LayoutSettings(Protocol):
    """What a key layout needs from a destination."""

    @property
    def prefix(self) -> str: ...
    @property
    def tenant(self) -> str | None: ...
    @property
    def raw_key_template(self) -> str: ...
    @property
    def result_key_template(self) -> str: ...
    @property
    def probe_prefix(self) -> str: ...


# --- file names ---


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
    if category in _REMOVED_CATEGORIES:
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


# --- provider key rules ---


def key_problems(key: str) -> list[str]:
    """Return every provider rule ``key`` breaks (empty when it is valid on S3, GCS and Azure alike)."""
    problems: list[str] = []
    if not key:
        problems.append("is empty")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        problems.append(f"is {len(key.encode('utf-8'))} UTF-8 bytes, over S3's and GCS's 1024")
    if len(key) > MAX_KEY_CHARS:
        problems.append(f"is {len(key)} characters, over Azure's 1024")
    if "\r" in key or "\n" in key:
        problems.append("contains CR or LF, which GCS refuses")
    if key.startswith(".well-known/acme-challenge/"):
        problems.append("is under .well-known/acme-challenge/, which GCS refuses")
    if key.endswith((".", "/")):
        problems.append("ends with a dot or slash, which Azure refuses")
    if key.count("/") + 1 > MAX_SEGMENTS:
        problems.append(f"has more than {MAX_SEGMENTS} path segments, which Azure refuses")
    segments = key.split("/")
    if any(segment in (".", "..") for segment in segments):
        problems.append("has a '.' or '..' segment")
    # str.isprintable() is False for every removed category, so a printable key needs no per-character look.
    if not key.isprintable() and any(unicodedata.category(char) in _REMOVED_CATEGORIES for char in key):
        problems.append("contains control or invisible characters")
    return problems


def check_key(key: str, field: str = "key") -> str:
    """Return ``key`` if every provider accepts it, else raise :class:`InvalidInputError`."""
    problems = key_problems(key)
    if problems:
        raise InvalidInputError(field, problems[0], "shorten or rename it")
    return key


def check_prefix(prefix: str, field: str = "prefix") -> str:
    """Return ``prefix`` if keys may start with it, else raise :class:`ConfigError`."""
    fix = "use a relative folder path like imports/acme/"
    if prefix.startswith("/"):
        raise ConfigError(field, "starts with '/'", fix)
    if "//" in prefix or "\\" in prefix:
        raise ConfigError(field, "contains '//' or a backslash", fix)
    if len(prefix.encode("utf-8")) > MAX_PREFIX_BYTES:
        raise ConfigError(field, f"is over {MAX_PREFIX_BYTES} UTF-8 bytes", "shorten it")
    if any(part in (".", "..") for part in prefix.split("/")):
        raise ConfigError(field, "has a '.' or '..' segment", fix)
    if prefix.startswith(".well-known/acme-challenge"):
        raise ConfigError(field, "is under .well-known/acme-challenge/, which GCS refuses", fix)
    if any(unicodedata.category(char) in _REMOVED_CATEGORIES or char in "\r\n" for char in prefix):
        raise ConfigError(field, "contains control or invisible characters", "remove them")
    return prefix


def check_tenant(tenant: str, field: str = "tenant") -> str:
    """Return ``tenant`` if it is a safe label, else raise :class:`ConfigError`."""
    if not _TENANT.fullmatch(tenant) or ".." in tenant:
        raise ConfigError(
            field, f"{tenant!r} is not a safe label", "use 1-63 letters, digits, '.', '_' or '-'"
        )
    return tenant


# --- templates ---


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
    sample = _render(template, _sample_values())
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


_FIELD_PATTERNS = {
    "upload_id": "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "import_id": _ID.pattern,
    "tenant": _TENANT.pattern,
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
            parts.append(re.escape(prefix) if name == "prefix" else f"(?:{_FIELD_PATTERNS[name]})")
    return re.compile("".join(parts), re.DOTALL)


def _sample_values() -> dict[str, str]:
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


def _render(template: str, values: dict[str, str]) -> str:
    return template.format_map(values)


def _named(template: str, field: str, *, raw: bool = False) -> str:
    """``check_template``, its error naming the setting (``raw_key_template``…) rather than "template"."""
    try:
        return check_template(template, raw=raw)
    except ConfigError as exc:
        error = ConfigError(field, exc.problem, exc.fix)
    raise error


def _check_worst_cases(layout: KeyLayout) -> None:
    """Refuse a layout that would fail later for some file name, date or id (see byos.key_templates)."""
    if layout.tenant is not None:
        check_tenant(layout.tenant)
    from byos.key_templates import may_enter, worst_case_problem  # noqa: PLC0415  (imports this module)

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


# --- layout ---


def new_upload_id() -> str:
    """Return a fresh upload id (a random UUID in canonical form)."""
    return str(uuid.uuid4())


def _canonical_upload_id(upload_id: str | uuid.UUID) -> str:
    try:
        return str(upload_id if isinstance(upload_id, uuid.UUID) else uuid.UUID(upload_id))
    except (ValueError, AttributeError, TypeError):
        raise InvalidInputError(
            "upload_id", f"{upload_id!r} is not a UUID", "omit it to get a new one"
        ) from None


def _check_id(value: str, field: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidInputError(field, f"{value!r} is not a safe id", "use 1-128 letters, digits, '_' or '-'")
    return value


@dataclass(frozen=True, slots=True)
class KeyLayout:
    """Renders the keys of one destination.

    Attributes:
        prefix: Every key starts with it.
        raw_template: Template of raw upload keys.
        result_template: Template of cleaned-result keys.
        probe_prefix: Folder (under ``prefix``) reserved for setup-check probes.
        tenant: Default tenant label.
    """

    prefix: str = ""
    raw_template: str = DEFAULT_RAW_TEMPLATE
    result_template: str = DEFAULT_RESULT_TEMPLATE
    probe_prefix: str = DEFAULT_PROBE_PREFIX
    tenant: str | None = None
    _fields: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_prefix(self.prefix)
        check_prefix(self.probe_prefix, "probe_prefix")
        raw_fields = frozenset(template_fields(_named(self.raw_template, "raw_key_template", raw=True)))
        result_fields = frozenset(template_fields(_named(self.result_template, "result_key_template")))
        _check_worst_cases(self)
        sample_values = {**_sample_values(), "prefix": self.prefix, "tenant": self.tenant or "t"}
        if _render(self.raw_template, sample_values).startswith(self.prefix + self.probe_prefix):
            raise ConfigError(
                "raw_key_template",
                "puts uploads in the probe folder",
                f"keep {self.probe_prefix!r} for probes only",
            )
        object.__setattr__(
            self, "_fields", {self.raw_template: raw_fields, self.result_template: result_fields}
        )
        sample_result = _render(self.result_template, {**sample_values, "import_id": "i"})
        if template_pattern(self.raw_template, self.prefix).fullmatch(sample_result):
            raise ConfigError(
                "result_key_template",
                "renders keys that a raw upload could also have",
                "give results their own folder, e.g. {prefix}results/{import_id}.json",
            )
        if self.tenant is not None:
            check_tenant(self.tenant)

    @classmethod
    def from_destination(cls, destination: _LayoutSettings) -> KeyLayout:
        """Return the layout a destination configures (built and validated once per distinct setting)."""
        return _layout(
            destination.prefix,
            destination.raw_key_template,
            destination.result_key_template,
            destination.probe_prefix,
            destination.tenant,
        )

    def raw_key(
        self,
        filename: str,
        *,
        upload_id: str | uuid.UUID | None = None,
        import_id: str | None = None,
        tenant: str | None = None,
        when: datetime | None = None,
    ) -> str:
        """Return the key of a raw upload of ``filename`` (sanitised here).

        Args:
            filename: The untrusted name the user gave the file.
            upload_id: A UUID for this upload; a new random one when omitted.
            import_id: The caller's import id, for templates that use it.
            tenant: Overrides the destination's tenant label.
            when: The upload time for date fields (UTC now when omitted).
        """
        return self._key(
            self.raw_template, filename, upload_id=upload_id, import_id=import_id, tenant=tenant, when=when
        )

    def result_key(
        self,
        import_id: str,
        *,
        filename: str = "result.json",
        tenant: str | None = None,
        when: datetime | None = None,
    ) -> str:
        """Return the key of the cleaned result of import ``import_id``.

        A result key is never one a raw upload could have (with the default layout, an ``import_id`` shaped
        like ``<uuid>-name`` would give ``{prefix}<uuid>-name.json``, a raw upload's key for ``name.json``).

        Raises:
            InvalidInputError: ``import_id`` is not a safe id, or gives a key a raw upload could also have.
        """
        key = self._key(
            self.result_template, filename, upload_id=None, import_id=import_id, tenant=tenant, when=when
        )
        if template_pattern(self.raw_template, self.prefix).fullmatch(key):
            raise InvalidInputError(
                "import_id",
                f"{import_id!r} gives the result key {key!r}, which a raw upload could also have",
                "use an import id that does not start with a UUID and '-'",
            )
        return key

    def probe_key(self, probe_id: str | None = None) -> str:
        """Return a key under the reserved probe folder, named as a probe."""
        name = _check_id(probe_id, "probe_id") if probe_id is not None else new_upload_id()
        return check_key(f"{self.prefix}{self.probe_prefix}probe-{name}.csv")

    @property
    def probe_folder(self) -> str:
        """The reserved folder every probe key starts with."""
        return f"{self.prefix}{self.probe_prefix}"

    def _key(
        self,
        template: str,
        filename: str,
        *,
        upload_id: str | uuid.UUID | None,
        import_id: str | None,
        tenant: str | None,
        when: datetime | None,
    ) -> str:
        fields = self._fields[template]
        values = {
            "prefix": self.prefix,
            "upload_id": _canonical_upload_id(upload_id) if upload_id is not None else new_upload_id(),
            "import_id": "",
            "tenant": "",
            "yyyy": "",
            "mm": "",
            "dd": "",
            "date": "",
            "filename": "",
            "stem": "",
            "ext": "",
        }
        if fields & _DATE_FIELDS:
            moment = (when or datetime.now(UTC)).astimezone(UTC)
            values.update(
                yyyy=f"{moment.year:04d}",
                mm=f"{moment.month:02d}",
                dd=f"{moment.day:02d}",
                date=f"{moment:%Y-%m-%d}",
            )
        if "import_id" in fields:
            if import_id is None:
                raise InvalidInputError(
                    "import_id", "is required by the key template", "pass the import's id"
                )
            values["import_id"] = _check_id(import_id, "import_id")
        if "tenant" in fields:
            label = tenant if tenant is not None else self.tenant
            if label is None:
                raise InvalidInputError(
                    "tenant", "is required by the key template", "configure or pass a tenant"
                )
            values["tenant"] = check_tenant(label)
        if fields & _FILE_FIELDS:
            budget = MAX_KEY_BYTES - len(_render(template, values).encode("utf-8"))
            if budget < 16:
                raise InvalidInputError(
                    "prefix", "leaves no room for a file name", "shorten the prefix or template"
                )
            name = sanitize_filename(filename, min(MAX_FILENAME_BYTES, budget))
            stem, ext = split_extension(name)
            values.update(filename=name, stem=stem, ext=ext)
        key = _render(template, values)
        in_probe_folder = key.startswith(self.probe_folder)
        if not key.startswith(self.prefix) or in_probe_folder:
            raise InvalidInputError(
                "key", "would leave its prefix or enter the probe folder", "fix the key template"
            )
        return check_key(key)


@functools.lru_cache(maxsize=1024)
def _layout(prefix: str, raw: str, result: str, probe_prefix: str, tenant: str | None) -> KeyLayout:
    return KeyLayout(prefix, raw, result, probe_prefix, tenant)
