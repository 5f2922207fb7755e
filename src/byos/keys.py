"""Object key layouts (where uploads, results and probes go) and the key names: pure functions, no I/O.

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
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from byos.errors import ConfigError, InvalidInputError
from byos.filenames import (
    DEFAULT_FILENAME,
    MAX_FILENAME_BYTES,
    MAX_METADATA_BYTES,
    metadata_filename,
    sanitize_filename,
    split_extension,
)
from byos.key_rules import (
    MAX_KEY_BYTES,
    MAX_KEY_CHARS,
    MAX_PREFIX_BYTES,
    MAX_SEGMENTS,
    SAFE_ID,
    check_key,
    check_prefix,
    check_tenant,
    key_problems,
)
from byos.key_templates import (
    DATE_FIELDS,
    DEFAULT_PROBE_PREFIX,
    DEFAULT_RAW_TEMPLATE,
    DEFAULT_RESULT_TEMPLATE,
    FILE_FIELDS,
    TEMPLATE_FIELDS,
    UNIQUE_FIELDS,
    check_layout,
    check_template,
    checked_template,
    render,
    sample_field_values,
    template_fields,
    template_pattern,
)

__all__ = [
    "DEFAULT_FILENAME",
    "DEFAULT_PROBE_PREFIX",
    "DEFAULT_RAW_TEMPLATE",
    "DEFAULT_RESULT_TEMPLATE",
    "MAX_FILENAME_BYTES",
    "MAX_KEY_BYTES",
    "MAX_KEY_CHARS",
    "MAX_METADATA_BYTES",
    "MAX_PREFIX_BYTES",
    "MAX_SEGMENTS",
    "TEMPLATE_FIELDS",
    "UNIQUE_FIELDS",
    "KeyLayout",
    "check_key",
    "check_prefix",
    "check_template",
    "check_tenant",
    "key_problems",
    "metadata_filename",
    "new_upload_id",
    "sanitize_filename",
    "split_extension",
    "template_fields",
    "template_pattern",
]


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
    if not isinstance(value, str) or not SAFE_ID.fullmatch(value):
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
        raw_fields = frozenset(
            template_fields(checked_template(self.raw_template, "raw_key_template", raw=True))
        )
        result_fields = frozenset(
            template_fields(checked_template(self.result_template, "result_key_template"))
        )
        check_layout(self)
        sample_values = {**sample_field_values(), "prefix": self.prefix, "tenant": self.tenant or "t"}
        if render(self.raw_template, sample_values).startswith(self.prefix + self.probe_prefix):
            raise ConfigError(
                "raw_key_template",
                "puts uploads in the probe folder",
                f"keep {self.probe_prefix!r} for probes only",
            )
        object.__setattr__(
            self, "_fields", {self.raw_template: raw_fields, self.result_template: result_fields}
        )
        sample_result = render(self.result_template, {**sample_values, "import_id": "i"})
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
        if fields & DATE_FIELDS:
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
        if fields & FILE_FIELDS:
            budget = MAX_KEY_BYTES - len(render(template, values).encode("utf-8"))
            if budget < 16:
                raise InvalidInputError(
                    "prefix", "leaves no room for a file name", "shorten the prefix or template"
                )
            name = sanitize_filename(filename, min(MAX_FILENAME_BYTES, budget))
            stem, ext = split_extension(name)
            values.update(filename=name, stem=stem, ext=ext)
        key = render(template, values)
        in_probe_folder = key.startswith(self.probe_folder)
        if not key.startswith(self.prefix) or in_probe_folder:
            raise InvalidInputError(
                "key", "would leave its prefix or enter the probe folder", "fix the key template"
            )
        return check_key(key)


@functools.lru_cache(maxsize=1024)
def _layout(prefix: str, raw: str, result: str, probe_prefix: str, tenant: str | None) -> KeyLayout:
    return KeyLayout(prefix, raw, result, probe_prefix, tenant)
